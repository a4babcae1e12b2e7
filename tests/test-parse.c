/* test-parse.c — pali_result_parse against every case of the segmentation
 * goldens (parse_cases.json, the 4 Python-re quirk cases included), and
 * the parser's own rules: special tokens, truncation, missing decoder,
 * invalid UTF-8, bad arguments. */
#include <math.h>
#include <string.h>

#include "seg-testutil.h"
#include "testutil.h"

/* segmentation/README.md §7: u8_sum within 1e-4 relative, nonzero ±0.1 %. */
#define TOL_U8_SUM_REL   1e-4
#define TOL_NONZERO_FRAC 1e-3

static pali_vae *vae;

static const char *jstr(const pali_json *o, const char *key)
{
    const pali_json *v = pali_json_get(o, key);
    return pali_json_is(v, PALI_JSON_STRING) ? v->u.string : NULL;
}

static int64_t jint(const pali_json *o, const char *key)
{
    const pali_json *v = pali_json_get(o, key);
    g_assert_true(pali_json_is(v, PALI_JSON_NUMBER) && v->is_integer);
    return v->integer;
}

static void check_mask(const char *id, const pali_json *want,
                       const pali_json *c, const pali_object *o)
{
    const pali_json *present = pali_json_get(want, "present");
    const char *raises = jstr(c, "reference_raises");
    if (pali_json_is(present, PALI_JSON_NULL)) {
        /* The Space raises here: we keep the object, flagged. */
        g_assert_nonnull(raises);
        if (g_str_has_prefix(raises, "ValueError")) {
            g_assert_true(o->flags & PALI_OBJECT_BOX_OUTSIDE);
            g_assert_nonnull(o->mask); /* the part inside the image */
        } else {
            g_assert_true(o->flags & PALI_OBJECT_CODES_INVALID);
            g_assert_null(o->mask);
            g_assert_null(o->mask_raw);
        }
        return;
    }
    g_assert_nonnull(o->mask);
    g_assert_nonnull(o->mask_raw);
    g_assert_false(o->flags & PALI_OBJECT_MASK_MISSING);
    bool nonempty = pali_json_get(want, "box_nonempty")->type == PALI_JSON_TRUE;
    g_assert_cmpint(nonempty, ==, !(o->flags & PALI_OBJECT_BOX_EMPTY));
    if (!nonempty)
        g_assert_cmpint(o->mask_w * o->mask_h, ==, 0);
    const pali_json *hw = pali_json_get(want, "shape_hw");
    g_assert_cmpint(hw->u.items[0].integer, ==, jint(c, "height"));
    g_assert_cmpint(hw->u.items[1].integer, ==, jint(c, "width"));
    g_assert_cmpint(o->mask_x + o->mask_w, <=, jint(c, "width"));
    g_assert_cmpint(o->mask_y + o->mask_h, <=, jint(c, "height"));
    int64_t sum = 0, nonzero = 0;
    for (int i = 0; i < o->mask_w * o->mask_h; i++) {
        sum += o->mask[i];
        nonzero += o->mask[i] != 0;
    }
    int64_t want_sum = jint(want, "u8_sum"),
            want_nz = jint(want, "nonzero_count");
    g_test_message("%s: mask sum %" G_GINT64_FORMAT " (golden %" G_GINT64_FORMAT
                   "), nonzero %" G_GINT64_FORMAT " (golden %" G_GINT64_FORMAT
                   ")",
                   id, sum, want_sum, nonzero, want_nz);
    double rel = want_sum ? fabs((double)(sum - want_sum)) / (double)want_sum
                          : (double)sum;
    if (rel > TOL_U8_SUM_REL ||
        fabs((double)(nonzero - want_nz)) > TOL_NONZERO_FRAC * (double)want_nz)
        g_error("%s: mask sum %" G_GINT64_FORMAT " (want %" G_GINT64_FORMAT
                "), nonzero %" G_GINT64_FORMAT " (want %" G_GINT64_FORMAT ")",
                id, sum, want_sum, nonzero, want_nz);
}

static void check_case(const pali_json *c, const pali_vae *decoder)
{
    const char *id = jstr(c, "id");
    const pali_json *text = pali_json_get(c, "text");
    int w = (int)jint(c, "width"), h = (int)jint(c, "height");
    pali_result *r = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_result_parse(text->u.string, w, h, decoder, &r, &err),
                    ==, PALI_OK);
    const pali_json *objs = pali_json_get(c, "objects");
    if (r->n_spans != objs->len)
        g_error("%s: %zu spans, want %u", id, r->n_spans, objs->len);
    g_assert_cmpint(r->width, ==, w);
    g_assert_cmpint(r->height, ==, h);
    for (uint32_t i = 0; i < objs->len; i++) {
        const pali_json *want = &objs->u.items[i];
        const pali_object *o = &r->spans[i];
        const char *kind = jstr(want, "kind");
        g_assert_cmpstr(o->content, ==, jstr(want, "content"));
        if (strcmp(kind, "text") == 0) {
            g_assert_cmpint(o->kind, ==, PALI_SPAN_TEXT);
            g_assert_null(o->name);
            continue;
        }
        g_assert_cmpint(o->kind, ==, PALI_SPAN_OBJECT);
        g_assert_cmpstr(o->name, ==, jstr(want, "name"));
        g_assert_cmpstr(o->unique_name, ==, jstr(want, "name_unique_labels"));
        const pali_json *locs = pali_json_get(want, "locs_y1x1y2x2");
        const pali_json *xyxy = pali_json_get(want, "xyxy");
        for (int k = 0; k < 4; k++) {
            g_assert_cmpint(o->locs[k], ==, locs->u.items[k].integer);
            g_assert_cmpint(o->box[k], ==, xyxy->u.items[k].integer);
        }
        g_assert_cmpfloat(o->box_norm[0], ==, (float)(o->locs[1] / 1024.0));
        g_assert_cmpfloat(o->box_norm[3], ==, (float)(o->locs[2] / 1024.0));
        bool empty = o->box[2] <= o->box[0] || o->box[3] <= o->box[1];
        g_assert_cmpint(empty, ==, !!(o->flags & PALI_OBJECT_BOX_EMPTY));
        const pali_json *codes = pali_json_get(want, "codes");
        g_assert_cmpint(o->has_codes, ==, !pali_json_is(codes, PALI_JSON_NULL));
        if (o->has_codes)
            for (int k = 0; k < PALI_MASK_CODES; k++)
                g_assert_cmpint(o->codes[k], ==, codes->u.items[k].integer);
        const pali_json *mask = pali_json_get(want, "mask");
        if (pali_json_is(mask, PALI_JSON_NULL)) {
            g_assert_null(o->mask);
            g_assert_null(o->mask_raw);
            continue;
        }
        if (decoder != NULL) {
            check_mask(id, mask, c, o);
        } else if (!(o->flags & PALI_OBJECT_CODES_INVALID)) {
            g_assert_true(o->flags & PALI_OBJECT_MASK_MISSING);
            g_assert_true(r->flags & PALI_RESULT_MASKS_MISSING);
            g_assert_null(o->mask);
        }
    }
    pali_result_free(r);
}

static void run_cases(const char *key, const pali_vae *decoder)
{
    pali_json_doc *doc = seg_json_load("segmentation/parse_cases.json");
    const pali_json *cases = pali_json_get(pali_json_root(doc), key);
    g_assert_true(pali_json_is(cases, PALI_JSON_ARRAY));
    g_assert_cmpuint(cases->len, >, 0);
    for (uint32_t i = 0; i < cases->len; i++)
        check_case(&cases->u.items[i], decoder);
    pali_json_free(doc);
}

static void test_golden_cases(void)
{
    run_cases("cases", vae);
}

static void test_golden_cases_no_vae(void)
{
    run_cases("cases", NULL);
}

static void test_quirk_cases(void)
{
    run_cases("python_re_quirk_cases", vae);
}

static pali_result *parse(const char *text, int w, int h)
{
    pali_result *r = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_result_parse(text, w, h, NULL, &r, &err), ==, PALI_OK);
    return r;
}

#define BOX   "<loc0100><loc0200><loc0300><loc0400>"
#define SEGS8 "<seg001><seg002><seg003><seg004><seg005><seg006><seg007><seg008>"

static void test_special_tokens(void)
{
    /* Special tokens never reach user-visible text. */
    pali_result *r =
        parse("<bos>" BOX " cat ; " BOX "<pad> dog<eos><pad>", 640, 480);
    g_assert_cmpuint(r->n_spans, ==, 2);
    g_assert_cmpstr(r->spans[0].name, ==, "cat ");
    g_assert_cmpstr(r->spans[1].name, ==, "dog");
    g_assert_cmpstr(r->spans[1].content, ==, BOX " dog");
    g_assert_cmpuint(r->flags & PALI_RESULT_TRUNCATED, ==, 0);
    pali_result_free(r);
    r = parse("A cat.<eos>", 10, 10);
    g_assert_cmpuint(r->n_spans, ==, 1);
    g_assert_cmpstr(r->spans[0].content, ==, "A cat.");
    pali_result_free(r);
    r = parse("<eos>", 10, 10);
    g_assert_cmpuint(r->n_spans, ==, 0);
    pali_result_free(r);
    /* Not special: kept as text. */
    r = parse("<EOS> <eos <unused0>", 10, 10);
    g_assert_cmpstr(r->spans[0].content, ==, "<EOS> <eos <unused0>");
    pali_result_free(r);
}

static void test_truncated(void)
{
    static const struct {
        const char *text;
        bool truncated;
    } cases[] = {
        { BOX " cat", false },
        { BOX " cat<eos>", false },
        { BOX, true },           /* label not generated yet */
        { BOX "<eos>", false },  /* the model chose no label */
        { BOX " cat ; ", true }, /* next object not generated */
        { BOX " cat ; <loc0001><loc0002>", true },
        { BOX " cat ; <loc0001><loc00", true },
        { BOX " cat ; <lo", true },
        { BOX SEGS8, true }, /* 8 of 16 seg codes */
        { BOX SEGS8 " ", true },
        { BOX SEGS8 SEGS8, true }, /* codes, no label yet */
        { BOX SEGS8 SEGS8 " cat", false },
        { BOX SEGS8 "<seg0", true },
        { BOX SEGS8 " cat", false }, /* malformed but complete */
        { "A cat sitting", false },  /* plain text: not an object */
        { "the <b>", false },
        { "", false },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        pali_result *r = parse(cases[i].text, 640, 480);
        gboolean t = (r->flags & PALI_RESULT_TRUNCATED) != 0;
        if (t != cases[i].truncated)
            g_error("\"%s\": truncated %d, want %d", cases[i].text, t,
                    cases[i].truncated);
        pali_result_free(r);
    }
}

static void test_flags(void)
{
    /* Boxes beyond the image and seg codes beyond the codebook are kept,
     * flagged; without a decoder, masks are reported missing. */
    pali_result *r = parse("<loc1024><loc2000><loc9999><loc1500> big ; "
                           "<loc0500><loc0100><loc0200><loc0400> inv",
                           640, 480);
    g_assert_cmpuint(r->n_spans, ==, 2);
    g_assert_true(r->spans[0].flags & PALI_OBJECT_BOX_OUTSIDE);
    g_assert_true(r->spans[0].flags & PALI_OBJECT_BOX_EMPTY); /* x2 < x1 */
    g_assert_true(r->spans[1].flags & PALI_OBJECT_BOX_EMPTY);
    g_assert_false(r->spans[1].flags & PALI_OBJECT_BOX_OUTSIDE);
    g_assert_cmpuint(r->flags & PALI_RESULT_MASKS_MISSING, ==, 0);
    pali_result_free(r);
    r = parse(BOX SEGS8 SEGS8 " a ; " BOX "<seg200>" SEGS8
                              "<seg001><seg002><seg003><seg004><seg005>"
                              "<seg006><seg007> b",
              640, 480);
    g_assert_cmpuint(r->n_spans, ==, 2);
    g_assert_true(r->spans[0].flags & PALI_OBJECT_MASK_MISSING);
    g_assert_true(r->spans[1].flags & PALI_OBJECT_CODES_INVALID);
    g_assert_false(r->spans[1].flags & PALI_OBJECT_MASK_MISSING);
    g_assert_cmpint(r->spans[1].codes[0], ==, 200);
    g_assert_true(r->flags & PALI_RESULT_MASKS_MISSING);
    pali_result_free(r);
}

static void test_mask_geometry(void)
{
    /* A box half outside the image: the mask covers the part inside, and
     * equals the same rows/columns of the box resized whole. */
    const char *outside =
        "<loc0512><loc0768><loc1536><loc1280>" SEGS8 SEGS8 " half";
    const char *inside =
        "<loc0000><loc0000><loc1024><loc1024>" SEGS8 SEGS8 " whole";
    pali_result *a = NULL, *b = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_result_parse(outside, 400, 200, vae, &a, &err), ==,
                    PALI_OK);
    g_assert_cmpint(pali_result_parse(inside, 200, 200, vae, &b, &err), ==,
                    PALI_OK);
    const pali_object *o = &a->spans[0], *full = &b->spans[0];
    /* box x 300..500, y 100..300 in a 400×200 image */
    g_assert_cmpint(o->box[0], ==, 300);
    g_assert_cmpint(o->box[2], ==, 500);
    g_assert_true(o->flags & PALI_OBJECT_BOX_OUTSIDE);
    g_assert_cmpint(o->mask_x, ==, 300);
    g_assert_cmpint(o->mask_y, ==, 100);
    g_assert_cmpint(o->mask_w, ==, 100);
    g_assert_cmpint(o->mask_h, ==, 100);
    /* the whole 200×200 box, decoded from the same codes */
    g_assert_cmpint(full->mask_w, ==, 200);
    g_assert_cmpint(full->mask_h, ==, 200);
    for (int y = 0; y < 100; y++)
        g_assert_cmpmem(o->mask + y * 100, 100, full->mask + y * 200, 100);
    /* the evaluator's binary mask has the same geometry */
    uint8_t *bin = g_malloc(100 * 100), *bin_full = g_malloc(200 * 200);
    g_assert_cmpint(pali_object_binary_mask(o, bin, &err), ==, PALI_OK);
    g_assert_cmpint(pali_object_binary_mask(full, bin_full, &err), ==, PALI_OK);
    int ones = 0;
    for (int y = 0; y < 100; y++) {
        g_assert_cmpmem(bin + y * 100, 100, bin_full + y * 200, 100);
        for (int x = 0; x < 100; x++) {
            g_assert_cmpint(bin[y * 100 + x], <=, 1);
            ones += bin[y * 100 + x];
        }
    }
    g_assert_cmpint(ones, >, 0);
    g_assert_cmpint(ones, <, 100 * 100);
    g_free(bin);
    g_free(bin_full);
    /* a box entirely outside: a mask of no pixels */
    pali_result *c = NULL;
    g_assert_cmpint(
        pali_result_parse("<loc2000><loc2000><loc3000><loc3000>" SEGS8 SEGS8
                          " gone",
                          100, 100, vae, &c, &err),
        ==, PALI_OK);
    g_assert_nonnull(c->spans[0].mask);
    g_assert_cmpint(c->spans[0].mask_w * c->spans[0].mask_h, ==, 0);
    uint8_t dummy = 7;
    g_assert_cmpint(pali_object_binary_mask(&c->spans[0], &dummy, &err), ==,
                    PALI_OK);
    g_assert_cmpint(dummy, ==, 7);
    /* no decoded mask: an error, not a crash */
    pali_result *d = parse(BOX " cat", 10, 10);
    g_assert_cmpint(pali_object_binary_mask(&d->spans[0], &dummy, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    pali_result_free(a);
    pali_result_free(b);
    pali_result_free(c);
    pali_result_free(d);
}

static void test_invalid_utf8(void)
{
    /* Ill-formed bytes become U+FFFD (one per maximal subpart). */
    pali_result *r = parse("a\xff" BOX " c\xe2\x82t", 10, 10);
    g_assert_cmpuint(r->n_spans, ==, 2);
    g_assert_cmpstr(r->spans[0].content, ==, "a\xef\xbf\xbd");
    g_assert_cmpstr(r->spans[1].name, ==, "c\xef\xbf\xbdt");
    pali_result_free(r);
    r = parse("\xf0\x9f\x90", 10, 10);
    g_assert_cmpstr(r->spans[0].content, ==, "\xef\xbf\xbd");
    pali_result_free(r);
    r = parse("\xed\xa0\x80x\xc0\xaf", 10, 10); /* surrogate, overlong */
    g_assert_cmpstr(r->spans[0].content, ==,
                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"
                    "\xef\xbf\xbd\xef\xbf\xbd");
    pali_result_free(r);
}

static void test_bad_args(void)
{
    pali_result *r = (pali_result *)&r;
    pali_error err = { 0 };
    g_assert_cmpint(pali_result_parse(NULL, 10, 10, NULL, &r, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_null(r);
    g_assert_cmpint(pali_result_parse("x", 0, 10, NULL, &r, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(err.message, "0x10"));
    g_assert_cmpint(pali_result_parse("x", 10, -1, NULL, &r, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_result_parse("x", 1 << 20, 1 << 20, NULL, &r, &err),
                    ==, PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_result_parse("x", 10, 10, NULL, NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_object_binary_mask(NULL, NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    pali_result_free(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_autofree char *path = test_data_path("segmentation/vae-random.npz");
    pali_error err = { 0 };
    if (pali_vae_load(path, &vae, &err) != PALI_OK)
        g_error("%s", err.message);
    g_test_add_func("/engine/parse/golden-cases", test_golden_cases);
    g_test_add_func("/engine/parse/golden-cases-no-vae",
                    test_golden_cases_no_vae);
    g_test_add_func("/engine/parse/python-re-quirks", test_quirk_cases);
    g_test_add_func("/engine/parse/special-tokens", test_special_tokens);
    g_test_add_func("/engine/parse/truncated", test_truncated);
    g_test_add_func("/engine/parse/flags", test_flags);
    g_test_add_func("/engine/parse/mask-geometry", test_mask_geometry);
    g_test_add_func("/engine/parse/invalid-utf8", test_invalid_utf8);
    g_test_add_func("/engine/parse/bad-args", test_bad_args);
    int rc = g_test_run();
    pali_vae_free(vae);
    return rc;
}
