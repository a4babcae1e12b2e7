/* test-decode-alloc.c — no allocation on the per-token path: between the
 * second streamed token and the last, generation (decode steps, sampling,
 * detokenizing) calls no malloc, calloc, realloc or aligned allocator, in
 * exact and fast precision, greedy and sampled, with bf16 and q4 weights,
 * and greedy through the LM head's pre-pass on a bf16 model made by
 * palilens-make-model.
 *
 * The allocators are interposed by this program (the engine is linked in
 * statically) and count while a flag is set; under AddressSanitizer, which
 * owns the allocators, the test is skipped. */
#include <stdlib.h>
#include <string.h>

#include "pali.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define COUNTING 0
#else
#define COUNTING 1
#endif

static int counting;
static long allocations, at_last_token;

#if COUNTING
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

void *malloc(size_t size)
{
    if (counting)
        allocations++;
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    if (counting)
        allocations++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    if (counting)
        allocations++;
    return __libc_realloc(p, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (counting)
        allocations++;
    *out = __libc_memalign(align, size);
    return *out ? 0 : 12; // ENOMEM
}

void *aligned_alloc(size_t align, size_t size)
{
    if (counting)
        allocations++;
    return __libc_memalign(align, size);
}
#endif

/* Counts from the second token (the first includes the prefill) to the
 * last one (what follows, the whole text's decode, is once per call). */
static bool on_token(const pali_token_event *ev, void *data)
{
    if (ev->index == 1)
        counting = 1;
    at_last_token = allocations;
    return true;
}

typedef struct {
    pali_precision precision;
    pali_weights weights;
    float temperature;
    bool prepass; /* a made bf16 model, its LM head pre-pass built */
} DecodeCase;

static void test_no_alloc(gconstpointer data)
{
    const DecodeCase *dc = data;
    if (!COUNTING) {
        g_test_skip("the sanitizer owns the allocators");
        return;
    }
    // a vocabulary large enough for the pre-pass to decide (lmhead.h)
    const char *const args[] = { "--text-vocab", "20000", NULL };
    g_autofree char *dir = dc->prepass
                               ? test_make_model("custom", "prepass", args)
                               : test_data_path("golden/tiny-448");
    pali_model_params mp = pali_model_default_params();
    mp.weights = dc->weights;
    mp.cache_dir = test_tmpdir();
    pali_model *m = NULL;
    pali_error err = { 0 };
    if (pali_model_load(dir, &mp, &m, &err) != PALI_OK)
        g_error("%s", err.message);
    if (dc->prepass)
        pali_model_settle(m);
    pali_session_params sp = pali_session_default_params();
    sp.precision = dc->precision;
    sp.n_threads = 2;
    pali_session *s = NULL;
    g_assert_cmpint(pali_session_new(m, &sp, &s, &err), ==, PALI_OK);
    static uint8_t px[64 * 48 * 3];
    for (size_t i = 0; i < sizeof(px); i++)
        px[i] = (uint8_t)(i * 13);
    const pali_image img = { px, 64, 48, 64 * 3, PALI_PIXEL_RGB8 };
    g_assert_cmpint(pali_session_set_image(s, &img, NULL, &err), ==, PALI_OK);
    pali_generate_params gp = pali_generate_default_params();
    gp.max_new_tokens = 24;
    gp.temperature = dc->temperature;
    gp.top_k = dc->temperature > 0 ? 40 : 0;
    gp.top_p = dc->temperature > 0 ? 0.9f : 1.0f;
    gp.seed = 7;
    pali_callbacks cb = { 0 };
    cb.token = on_token;
    const pali_output *out = NULL;
    // twice: the second generation reuses what the first grew
    for (int run = 0; run < 2; run++) {
        allocations = at_last_token = 0;
        pali_status st =
            pali_session_generate(s, "caption en", &gp, &cb, &out, &err);
        counting = 0;
        g_assert_cmpint(st, ==, PALI_OK);
        g_test_message("run %d: %d tokens, %ld allocations between the first "
                       "and the last",
                       run, out->n_generated, at_last_token);
    }
    g_assert_cmpint(out->n_generated, >, 2);
    g_assert_cmpint(at_last_token, ==, 0);
    if (dc->prepass) // the path counted is the pre-pass's
        g_assert_cmpint(out->timings.n_prepass, >=, out->n_generated / 2);
    pali_session_free(s);
    pali_model_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    static const DecodeCase cases[] = {
        { PALI_PRECISION_EXACT, PALI_WEIGHTS_AS_STORED, 0 },
        { PALI_PRECISION_FAST, PALI_WEIGHTS_AS_STORED, 0 },
        { PALI_PRECISION_FAST, PALI_WEIGHTS_Q4, 0 },
        { PALI_PRECISION_EXACT, PALI_WEIGHTS_Q8, 0.8f },
        { PALI_PRECISION_FAST, PALI_WEIGHTS_AS_STORED, 0, true },
    };
    static const char *const names[] = { "exact-greedy", "fast-greedy",
                                         "fast-q4-greedy", "exact-q8-sampled",
                                         "fast-prepass-greedy" };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/engine/decode/no-allocation/%s", names[i]);
        g_test_add_data_func(path, &cases[i], test_no_alloc);
    }
    return g_test_run();
}
