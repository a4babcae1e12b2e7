/* test-parse-fuzz.c — the parser on thousands of random mixes of <loc>,
 * <seg>, separators, labels, newlines, odd Unicode (other-script digits,
 * Unicode spaces), special tokens, cut-off tokens and ill-formed UTF-8.
 * Checks invariants (spans rebuild the text, boxes follow the locs, masks
 * stay inside the image, unique names are unique) and, in the sanitizer
 * build, that nothing reads or writes out of bounds. */
#include <math.h>
#include <string.h>

#include "seg-testutil.h"
#include "testutil.h"

#define N_PLAIN    4000 /* random texts parsed without a mask decoder */
#define N_WITH_VAE 40   /* and with one (each mask costs a decode) */

static const char *const clean_pieces[] = {
    " ; ",      ";",      " ",
    "  ",       "\n",     "\r",
    "\t",       "cat",    "traffic light",
    "dog ",     "猫",     "🐱",
    "café",     "<b>",    ">",
    "x",        "\u3000", "\u00a0",
    "<loc",     "<seg",   "<lo",
    "<loc01",   "<seg9",  "<loc١٢٣٤>",
    "<seg٠١٢>", "'",      "</s>",
    "<",
};

static const char *const dirty_pieces[] = {
    "<eos>",    "<bos>",    "<pad>",        "\xff",
    "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
    "<eo",      "s>",
};

static void append_loc(GString *s, GRand *r)
{
    g_string_append_printf(s, "<loc%04d>",
                           g_rand_boolean(r) ? g_rand_int_range(r, 0, 1024)
                                             : g_rand_int_range(r, 0, 10000));
}

static void append_seg(GString *s, GRand *r, gboolean bad)
{
    g_string_append_printf(s, "<seg%03d>",
                           bad ? g_rand_int_range(r, 128, 1000)
                               : g_rand_int_range(r, 0, 128));
}

static char *random_text(GRand *r, gboolean dirty)
{
    GString *s = g_string_new(NULL);
    int n = g_rand_int_range(r, 0, 24);
    for (int i = 0; i < n; i++) {
        int kind = g_rand_int_range(r, 0, 10);
        if (kind < 3) {
            /* a (possibly incomplete) object */
            int locs =
                g_rand_int_range(r, 0, 6) ? 4 : g_rand_int_range(r, 1, 5);
            for (int k = 0; k < locs; k++)
                append_loc(s, r);
            if (g_rand_boolean(r)) {
                int segs =
                    g_rand_int_range(r, 0, 4) ? 16 : g_rand_int_range(r, 0, 18);
                int bad =
                    g_rand_int_range(r, 0, 6) ? -1 : g_rand_int_range(r, 0, 16);
                for (int k = 0; k < segs; k++)
                    append_seg(s, r, k == bad);
            }
        } else if (kind < 4) {
            append_loc(s, r);
        } else if (kind < 5) {
            append_seg(s, r, g_rand_int_range(r, 0, 8) == 0);
        } else if (dirty && kind < 6) {
            g_string_append(s, dirty_pieces[g_rand_int_range(
                                   r, 0, G_N_ELEMENTS(dirty_pieces))]);
        } else {
            g_string_append(s, clean_pieces[g_rand_int_range(
                                   r, 0, G_N_ELEMENTS(clean_pieces))]);
        }
    }
    if (g_rand_int_range(r, 0, 5) == 0 && s->len > 0) /* cut anywhere */
        g_string_truncate(s, g_rand_int_range(r, 0, (gint32)s->len));
    /* clean texts stay valid UTF-8 */
    while (!dirty && !g_utf8_validate(s->str, (gssize)s->len, NULL))
        g_string_truncate(s, s->len - 1);
    return g_string_free(s, FALSE);
}

static void check_result(const char *text, gboolean clean, int w, int h,
                         const pali_result *r)
{
    GString *all = g_string_new(NULL);
    for (size_t i = 0; i < r->n_spans; i++) {
        const pali_object *o = &r->spans[i];
        g_assert_nonnull(o->content);
        g_assert_cmpuint(strlen(o->content), >, 0);
        g_assert_true(g_utf8_validate(o->content, -1, NULL));
        g_string_append(all, o->content);
        if (o->kind == PALI_SPAN_TEXT) {
            g_assert_null(o->name);
            g_assert_null(o->mask);
            /* consecutive text spans never happen */
            if (i > 0)
                g_assert_cmpint(r->spans[i - 1].kind, ==, PALI_SPAN_OBJECT);
            continue;
        }
        g_assert_true(g_str_has_prefix(o->content, "<loc"));
        const int sizes[4] = { w, h, w, h };
        const int loc_of[4] = { 1, 0, 3, 2 };
        for (int k = 0; k < 4; k++)
            g_assert_cmpint(o->box[k], ==,
                            (int)rint(o->locs[loc_of[k]] / 1024.0 * sizes[k]));
        if (o->name != NULL) {
            g_assert_true(g_utf8_validate(o->name, -1, NULL));
            g_assert_null(strpbrk(o->name, ";<>"));
            g_assert_nonnull(strstr(o->content, o->name));
        }
        for (size_t j = 0; j < i; j++) {
            const pali_object *p = &r->spans[j];
            if (p->kind == PALI_SPAN_OBJECT)
                g_assert_false(g_strcmp0(p->unique_name, o->unique_name) == 0);
        }
        if (o->mask != NULL) {
            g_assert_true(o->has_codes);
            g_assert_nonnull(o->mask_raw);
            g_assert_cmpint(o->mask_x, >=, 0);
            g_assert_cmpint(o->mask_y, >=, 0);
            g_assert_cmpint(o->mask_x + o->mask_w, <=, w);
            g_assert_cmpint(o->mask_y + o->mask_h, <=, h);
            uint8_t *bin = g_malloc((size_t)o->mask_w * o->mask_h + 1);
            pali_error err = { 0 };
            g_assert_cmpint(pali_object_binary_mask(o, bin, &err), ==, PALI_OK);
            g_free(bin);
        }
        if (o->flags & PALI_OBJECT_CODES_INVALID)
            g_assert_null(o->mask);
    }
    if (clean)
        g_assert_cmpstr(all->str, ==, text);
    g_string_free(all, TRUE);
}

static void fuzz(int iterations, const pali_vae *vae, guint32 seed,
                 int max_side)
{
    GRand *r = g_rand_new_with_seed(seed);
    int objects = 0, masks = 0, truncated = 0;
    for (int it = 0; it < iterations; it++) {
        gboolean dirty = g_rand_int_range(r, 0, 3) == 0;
        char *text = random_text(r, dirty);
        int w = g_rand_int_range(r, 1, max_side),
            h = g_rand_int_range(r, 1, max_side);
        pali_result *res = NULL;
        pali_error err = { 0 };
        pali_status st = pali_result_parse(text, w, h, vae, &res, &err);
        if (st != PALI_OK)
            g_error("\"%s\": %s", text, err.message);
        check_result(text, !dirty, w, h, res);
        for (size_t i = 0; i < res->n_spans; i++) {
            objects += res->spans[i].kind == PALI_SPAN_OBJECT;
            masks += res->spans[i].mask != NULL;
        }
        truncated += (res->flags & PALI_RESULT_TRUNCATED) != 0;
        pali_result_free(res);
        g_free(text);
    }
    g_rand_free(r);
    g_test_message("%d texts: %d objects, %d masks, %d truncated", iterations,
                   objects, masks, truncated);
    g_assert_cmpint(objects, >, iterations);
    g_assert_cmpint(truncated, >, iterations / 20);
    if (vae != NULL)
        g_assert_cmpint(masks, >, iterations / 2);
}

static void test_random_plain(void)
{
    fuzz(N_PLAIN, NULL, 20240611, 2000);
}

static void test_random_with_vae(void)
{
    g_autofree char *path = test_data_path("segmentation/vae-random.npz");
    pali_vae *vae = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_vae_load(path, &vae, &err), ==, PALI_OK);
    fuzz(N_WITH_VAE, vae, 77, 300);
    pali_vae_free(vae);
}

/* Long inputs: many objects, a long text with no newline and no object,
 * and a deep run of '<'. */
static void test_long_inputs(void)
{
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 3000; i++)
        g_string_append_printf(s,
                               "<loc%04d><loc0001><loc%04d><loc0900> "
                               "cat ; ",
                               i % 1024, (i * 7) % 1024);
    pali_result *r = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_result_parse(s->str, 640, 480, NULL, &r, &err), ==,
                    PALI_OK);
    g_assert_cmpuint(r->n_spans, ==, 3000);
    /* the last one gets 2999 primes */
    g_assert_cmpuint(strlen(r->spans[2999].unique_name), ==, 4 + 2999);
    pali_result_free(r);
    g_string_truncate(s, 0);
    for (int i = 0; i < 200000; i++)
        g_string_append_c(s, i % 3 ? '<' : 'a');
    g_assert_cmpint(pali_result_parse(s->str, 10, 10, NULL, &r, &err), ==,
                    PALI_OK);
    g_assert_cmpuint(r->n_spans, ==, 1);
    pali_result_free(r);
    g_string_free(s, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/parse-fuzz/random", test_random_plain);
    g_test_add_func("/engine/parse-fuzz/random-with-masks",
                    test_random_with_vae);
    g_test_add_func("/engine/parse-fuzz/long-inputs", test_long_inputs);
    return g_test_run();
}
