/* test-session.c — the session's contract beyond the golden numbers:
 * sampling repeats for a seed and never picks padding or <image>; results
 * are bit-identical with 1 and 2 threads; the abort callback stops the
 * vision tower, the prefill and the decode, and the session stays usable;
 * too-long prompts and generations are refused before any work; the image
 * features are cached; streamed pieces add up to the text; bad input gets
 * clear errors. */
#include <string.h>

#include "pali.h"
#include "testutil.h"

#define MODEL "golden/tiny-224"
/* New tokens for the sampling tests: long enough that two seeds differ. */
#define SAMPLE_TOKENS 24

static pali_model *model;

typedef struct {
    guint8 *pixels;
    pali_image image;
} Picture;

/* A deterministic test picture: a colour gradient, varied by `seed`. */
static void picture_init(Picture *p, int w, int h, int seed)
{
    p->pixels = g_malloc((gsize)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            guint8 *px = p->pixels + ((gsize)y * w + x) * 3;
            px[0] = (guint8)(x * 255 / w);
            px[1] = (guint8)(y * 255 / h);
            px[2] = (guint8)((x + y + seed * 37) & 255);
        }
    pali_image img = { p->pixels, w, h, (size_t)w * 3, PALI_PIXEL_RGB8 };
    p->image = img;
}

static pali_session *new_session(int threads)
{
    pali_session_params sp = pali_session_default_params();
    sp.n_threads = threads;
    pali_session *s = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_session_new(model, &sp, &s, &err), ==, PALI_OK);
    return s;
}

static void set_picture(pali_session *s, int seed)
{
    Picture p;
    picture_init(&p, 97, 61, seed);
    pali_error err = { 0 };
    g_assert_cmpint(pali_session_set_image(s, &p.image, NULL, &err), ==,
                    PALI_OK);
    g_free(p.pixels);
}

static GArray *sample(pali_session *s, uint64_t seed)
{
    pali_generate_params gp = pali_generate_default_params();
    gp.max_new_tokens = SAMPLE_TOKENS;
    gp.temperature = 1.0f;
    gp.top_k = 50;
    gp.top_p = 0.95f;
    gp.seed = seed;
    const pali_output *out = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(
        pali_session_generate(s, "caption en", &gp, NULL, &out, &err), ==,
        PALI_OK);
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    g_array_append_vals(ids, out->generated_ids, (guint)out->n_generated);
    return ids;
}

static gboolean same_ids(const GArray *a, const GArray *b)
{
    return a->len == b->len &&
           memcmp(a->data, b->data, a->len * sizeof(int32_t)) == 0;
}

static void test_sampling(void)
{
    pali_session *s = new_session(2);
    set_picture(s, 0);
    g_autoptr(GArray) a = sample(s, 7);
    g_autoptr(GArray) b = sample(s, 7);
    g_autoptr(GArray) c = sample(s, 8);
    g_assert_true(same_ids(a, b));
    g_assert_false(same_ids(a, c));
    const pali_model_info *in = pali_model_get_info(model);
    for (guint i = 0; i < a->len; i++) {
        int32_t id = g_array_index(a, int32_t, i);
        g_assert_cmpint(id, <, in->tokenizer_size);
        g_assert_cmpint(id, !=, in->image_token_id);
    }
    pali_session_free(s);
    // the same seed on a session with another thread count
    s = new_session(1);
    set_picture(s, 0);
    g_autoptr(GArray) d = sample(s, 7);
    g_assert_true(same_ids(a, d));
    pali_session_free(s);
}

/* Collects named float tensors (copies) for a bitwise comparison. */
static void collect(const char *name, int step, const float *data, int n_dims,
                    const int64_t *shape, void *user_data)
{
    gsize n = 1;
    for (int i = 0; i < n_dims; i++)
        n *= (gsize)shape[i];
    g_autofree char *key = g_strdup_printf("%s#%d", name, step);
    g_hash_table_insert(user_data, g_steal_pointer(&key),
                        g_bytes_new(data, n * sizeof(float)));
}

static GHashTable *run_collecting(int threads)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)g_bytes_unref);
    pali_session *s = new_session(threads);
    Picture p;
    picture_init(&p, 300, 200, 1);
    pali_callbacks cb = { .tensor = collect, .user_data = t };
    pali_error err = { 0 };
    g_assert_cmpint(pali_session_set_image(s, &p.image, &cb, &err), ==,
                    PALI_OK);
    pali_generate_params gp = pali_generate_default_params();
    gp.max_new_tokens = 6;
    const pali_output *out = NULL;
    g_assert_cmpint(
        pali_session_generate(s, "detect cat", &gp, &cb, &out, &err), ==,
        PALI_OK);
    g_free(p.pixels);
    pali_session_free(s);
    return t;
}

static void test_threads_bitwise(void)
{
    g_autoptr(GHashTable) one = run_collecting(1);
    g_autoptr(GHashTable) two = run_collecting(2);
    g_assert_cmpuint(g_hash_table_size(one), ==, g_hash_table_size(two));
    g_assert_cmpuint(g_hash_table_size(one), >=, 10);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, one);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        GBytes *other = g_hash_table_lookup(two, key);
        g_assert_nonnull(other);
        if (!g_bytes_equal(value, other))
            g_error("%s differs between 1 and 2 threads", (char *)key);
    }
}

typedef struct {
    pali_phase phase; /* abort when this phase reports... */
    int after;        /* ...its after-th progress call */
    int seen;
    int tokens;
    GString *pieces;
    int stop_after_tokens; /* token callback returns false; 0: never */
} Probe;

static bool probe_abort(void *user_data)
{
    Probe *p = user_data;
    return p->after >= 0 && p->seen > p->after;
}

static void probe_progress(pali_phase phase, int done, int total,
                           void *user_data)
{
    Probe *p = user_data;
    if (phase == p->phase)
        p->seen++;
}

static bool probe_token(const pali_token_event *ev, void *user_data)
{
    Probe *p = user_data;
    p->tokens++;
    if (p->pieces)
        g_string_append(p->pieces, ev->piece);
    return p->stop_after_tokens == 0 || p->tokens < p->stop_after_tokens;
}

static pali_callbacks probe_callbacks(Probe *p)
{
    pali_callbacks cb = { .should_abort = probe_abort,
                          .progress = probe_progress,
                          .token = probe_token,
                          .user_data = p };
    return cb;
}

static pali_status generate(pali_session *s, const char *prompt, int n,
                            const pali_callbacks *cb, const pali_output **out,
                            pali_error *err)
{
    pali_generate_params gp = pali_generate_default_params();
    gp.max_new_tokens = n;
    return pali_session_generate(s, prompt, &gp, cb, out, err);
}

static void test_abort(void)
{
    pali_session *s = new_session(2);
    Picture p;
    picture_init(&p, 64, 64, 2);
    pali_error err = { 0 };

    // during the vision tower: aborted, and nothing is cached
    Probe vision = { .phase = PALI_PHASE_VISION, .after = 0 };
    pali_callbacks cb = probe_callbacks(&vision);
    g_assert_cmpint(pali_session_set_image(s, &p.image, &cb, &err), ==,
                    PALI_ERR_ABORTED);
    const pali_output *out = NULL;
    g_assert_cmpint(generate(s, "ocr", 4, NULL, &out, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_session_set_image(s, &p.image, NULL, &err), ==,
                    PALI_OK);

    // during the prefill, between layers
    Probe prefill = { .phase = PALI_PHASE_PREFILL, .after = 1 };
    cb = probe_callbacks(&prefill);
    g_assert_cmpint(generate(s, "ocr", 8, &cb, &out, &err), ==,
                    PALI_ERR_ABORTED);
    g_assert_cmpint(prefill.tokens, ==, 0);

    // between tokens
    Probe decode = { .phase = PALI_PHASE_DECODE, .after = 3 };
    cb = probe_callbacks(&decode);
    g_assert_cmpint(generate(s, "ocr", 20, &cb, &out, &err), ==,
                    PALI_ERR_ABORTED);
    g_assert_cmpint(decode.tokens, ==, 4);

    // and the session is as good as new
    g_assert_cmpint(generate(s, "ocr", 5, NULL, &out, &err), ==, PALI_OK);
    g_assert_cmpint(out->n_generated, ==, 5);
    g_free(p.pixels);
    pali_session_free(s);
}

static void test_stream_and_stop(void)
{
    pali_session *s = new_session(2);
    set_picture(s, 3);
    pali_error err = { 0 };
    Probe all = { .after = -1, .pieces = g_string_new(NULL) };
    pali_callbacks cb = probe_callbacks(&all);
    const pali_output *out = NULL;
    g_assert_cmpint(generate(s, "caption en", 24, &cb, &out, &err), ==,
                    PALI_OK);
    g_assert_cmpstr(all.pieces->str, ==, out->text);
    g_assert_cmpint(all.tokens, ==, out->n_generated);
    g_string_free(all.pieces, TRUE);

    Probe stop = { .after = -1, .stop_after_tokens = 3 };
    cb = probe_callbacks(&stop);
    g_assert_cmpint(generate(s, "caption en", 24, &cb, &out, &err), ==,
                    PALI_OK);
    g_assert_cmpint(out->stop, ==, PALI_STOP_CALLBACK);
    g_assert_cmpint(out->n_generated, ==, 3);
    pali_session_free(s);
}

static void test_image_cache(void)
{
    pali_session *s = new_session(2);
    Picture a, b;
    picture_init(&a, 80, 50, 4);
    picture_init(&b, 80, 50, 5);
    pali_error err = { 0 };
    Probe p = { .phase = PALI_PHASE_VISION, .after = -1 };
    pali_callbacks cb = probe_callbacks(&p);
    g_assert_cmpint(pali_session_set_image(s, &a.image, &cb, &err), ==,
                    PALI_OK);
    const int first = p.seen;
    g_assert_cmpint(first, >, 0);
    // the same pixels again: no vision work
    g_assert_cmpint(pali_session_set_image(s, &a.image, &cb, &err), ==,
                    PALI_OK);
    g_assert_cmpint(p.seen, ==, first);
    const pali_output *out = NULL;
    g_assert_cmpint(generate(s, "caption en", 3, NULL, &out, &err), ==,
                    PALI_OK);
    g_assert_cmpfloat(out->timings.vision_ms, >, 0);
    g_assert_cmpint(generate(s, "ocr", 3, NULL, &out, &err), ==, PALI_OK);
    g_assert_cmpfloat(out->timings.vision_ms, ==, 0); /* reused */
    // other pixels: encoded anew
    g_assert_cmpint(pali_session_set_image(s, &b.image, &cb, &err), ==,
                    PALI_OK);
    g_assert_cmpint(p.seen, ==, 2 * first);
    g_free(a.pixels);
    g_free(b.pixels);
    pali_session_free(s);
}

/* Greedy ids of `prompt` on picture `seed` from a session of its own. */
static GArray *fresh_ids(int seed, const char *prompt, int n)
{
    pali_session *s = new_session(2);
    set_picture(s, seed);
    const pali_output *out = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(generate(s, prompt, n, NULL, &out, &err), ==, PALI_OK);
    g_assert_cmpint(out->timings.prefill_reused, ==, 0);
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    g_array_append_vals(ids, out->generated_ids, (guint)out->n_generated);
    pali_session_free(s);
    return ids;
}

/* The output's ids against `want`, and whether its prefill was kept. */
static void check_run(const pali_output *out, const GArray *want, int reused)
{
    g_assert_cmpint(out->timings.prefill_reused, ==, reused);
    g_assert_cmpint(out->n_generated, ==, (int)want->len);
    g_assert_cmpmem(out->generated_ids, out->n_generated * sizeof(int32_t),
                    want->data, want->len * sizeof(int32_t));
}

static void no_tap(const char *name, int step, const float *data, int n_dims,
                   const int64_t *shape, void *user_data)
{
    (*(int *)user_data)++;
}

/* The last prefill is kept: the same prompt on the same image starts with
 * its first token (pali_session_prefill ahead, or an earlier generate),
 * with the ids a session of its own gives; another prompt, another image,
 * taps, a larger cache or an aborted prefill compute it again. */
static void test_prefill_kept(void)
{
    const int n = 10;
    g_autoptr(GArray) caption = fresh_ids(6, "caption en", n);
    g_autoptr(GArray) detect = fresh_ids(6, "detect cat", n);
    g_autoptr(GArray) detect7 = fresh_ids(7, "detect cat", n);
    g_autoptr(GArray) caption_long = fresh_ids(6, "caption en", 300);

    pali_session *s = new_session(2);
    set_picture(s, 6);
    pali_error err = { 0 };
    const pali_output *out = NULL;
    g_assert_cmpint(generate(s, "caption en", n, NULL, &out, &err), ==,
                    PALI_OK);
    check_run(out, caption, 0);
    Probe p = { .phase = PALI_PHASE_PREFILL, .after = -1 };
    pali_callbacks cb = probe_callbacks(&p);
    g_assert_cmpint(generate(s, "caption en", n, &cb, &out, &err), ==, PALI_OK);
    check_run(out, caption, 1);
    g_assert_cmpint(p.seen, ==, 0); /* no prefill work */

    // ahead of the request
    g_assert_cmpint(pali_session_prefill(s, "detect cat", n, NULL, &err), ==,
                    PALI_OK);
    g_assert_cmpint(generate(s, "detect cat", n, NULL, &out, &err), ==,
                    PALI_OK);
    check_run(out, detect, 1);
    // taps want the prefill's tensors: computed again
    int taps = 0;
    pali_callbacks tap = { .tensor = no_tap, .user_data = &taps };
    g_assert_cmpint(generate(s, "detect cat", n, &tap, &out, &err), ==,
                    PALI_OK);
    check_run(out, detect, 0);
    g_assert_cmpint(taps, >, 0);
    // another prompt in between replaces it
    g_assert_cmpint(pali_session_prefill(s, "caption en", n, NULL, &err), ==,
                    PALI_OK);
    g_assert_cmpint(generate(s, "ocr", 3, NULL, &out, &err), ==, PALI_OK);
    g_assert_cmpint(out->timings.prefill_reused, ==, 0);
    g_assert_cmpint(generate(s, "caption en", n, NULL, &out, &err), ==,
                    PALI_OK);
    check_run(out, caption, 0);
    // a cache too small for the request: made anew, computed again
    g_assert_cmpint(generate(s, "caption en", 300, NULL, &out, &err), ==,
                    PALI_OK);
    check_run(out, caption_long, 0);
    // an aborted prefill keeps nothing
    Probe stop = { .phase = PALI_PHASE_PREFILL, .after = 0 };
    cb = probe_callbacks(&stop);
    g_assert_cmpint(pali_session_prefill(s, "detect cat", n, &cb, &err), ==,
                    PALI_ERR_ABORTED);
    g_assert_cmpint(generate(s, "detect cat", n, NULL, &out, &err), ==,
                    PALI_OK);
    check_run(out, detect, 0);
    // another image
    set_picture(s, 7);
    g_assert_cmpint(generate(s, "detect cat", n, NULL, &out, &err), ==,
                    PALI_OK);
    check_run(out, detect7, 0);
    // refusals are generate's
    g_assert_cmpint(pali_session_prefill(s, "caption en", 0, NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_session_prefill(s, "caption en", 1 << 30, NULL, &err),
                    ==, PALI_ERR_TOO_LONG);
    pali_session_free(s);
}

static void test_refusals(void)
{
    pali_session *s = new_session(1);
    pali_error err = { 0 };
    const pali_output *out = NULL;
    g_assert_cmpint(generate(s, "ocr", 4, NULL, &out, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(err.message, "image"));
    set_picture(s, 6);

    // a prompt longer than the model's positions: refused before work
    const pali_model_info *in = pali_model_get_info(model);
    GString *longp = g_string_new(NULL);
    for (int i = 0; i < in->max_positions; i++)
        g_string_append(longp, "cat ");
    Probe p = { .phase = PALI_PHASE_PREFILL, .after = -1 };
    pali_callbacks cb = probe_callbacks(&p);
    g_assert_cmpint(generate(s, longp->str, 4, &cb, &out, &err), ==,
                    PALI_ERR_TOO_LONG);
    g_assert_cmpint(p.seen, ==, 0);
    g_string_free(longp, TRUE);
    // a generation that would overflow the cache
    g_assert_cmpint(generate(s, "ocr", in->max_positions, &cb, &out, &err), ==,
                    PALI_ERR_TOO_LONG);
    g_assert_nonnull(strstr(err.message, "max_new_tokens"));
    g_assert_cmpint(p.seen, ==, 0);
    g_assert_cmpint(generate(s, "ocr", 0, NULL, &out, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    // invalid UTF-8 and the image token twice in a prompt (once places
    // the image run there, as the processor does)
    g_assert_cmpint(generate(s, "caption \xff\xfe", 4, NULL, &out, &err), ==,
                    PALI_ERR_ENCODING);
    g_assert_cmpint(
        generate(s, "what is <image> <image>?", 4, NULL, &out, &err), ==,
        PALI_ERR_INVALID_ARGUMENT);
    // impossible images
    pali_image none = { NULL, 10, 10, 30, PALI_PIXEL_RGB8 };
    g_assert_cmpint(pali_session_set_image(s, &none, NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    guint8 px[12] = { 0 };
    pali_image narrow = { px, 2, 2, 3, PALI_PIXEL_RGB8 };
    g_assert_cmpint(pali_session_set_image(s, &narrow, NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    pali_image huge = { px, 1 << 20, 1 << 20, (size_t)3 << 20,
                        PALI_PIXEL_RGB8 };
    g_assert_cmpint(pali_session_set_image(s, &huge, NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    // a forced id outside the vocabulary
    pali_generate_params gp = pali_generate_default_params();
    const int32_t bad[] = { 5, 1 << 30 };
    gp.forced_ids = bad;
    gp.n_forced = 2;
    g_assert_cmpint(pali_session_generate(s, "ocr", &gp, NULL, &out, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    pali_session_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_autofree char *dir = test_data_path(MODEL);
    pali_error err = { 0 };
    if (pali_model_load(dir, NULL, &model, &err) != PALI_OK)
        g_error("%s", err.message);
    g_test_add_func("/engine/session/sampling", test_sampling);
    g_test_add_func("/engine/session/threads-bitwise", test_threads_bitwise);
    g_test_add_func("/engine/session/abort", test_abort);
    g_test_add_func("/engine/session/stream-and-stop", test_stream_and_stop);
    g_test_add_func("/engine/session/image-cache", test_image_cache);
    g_test_add_func("/engine/session/refusals", test_refusals);
    g_test_add_func("/engine/session/prefill-kept", test_prefill_kept);
    int rc = g_test_run();
    pali_model_free(model);
    return rc;
}
