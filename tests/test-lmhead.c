/* test-lmhead.c — the LM head's greedy pre-pass (engine/lmhead.h) chooses
 * what the full logits choose: on random bf16 models (with and without
 * the final soft-cap) made by palilens-make-model, for every kernel set
 * this CPU runs in both precisions, over activations from small to
 * saturating the cap; whenever it decides, its token is the sampler's,
 * and it must decide for most ordinary rows.  Whole greedy generations
 * with the pre-pass give the tokens of the full logits' path. */
#include <math.h>
#include <string.h>

#include "compute.h"
#include "cpu.h"
#include "forward.h"
#include "kernels.h"
#include "model.h"
#include "sampler.h"
#include "testutil.h"

/* Activation rows per kernel set, precision and scale. */
#define TRIALS 24

/* A bf16 model with a 20 000-row vocabulary (and the 1152 location and
 * segmentation rows: about 660 panels, so the pre-pass may compute 83),
 * its background work done. */
static pali_model *load_settled(const char *name, const char *final_cap)
{
    const char *const args[] = {
        "--text-vocab", "20000", "--text-hidden", "192", "--final-softcap",
        final_cap,      NULL
    };
    g_autofree char *dir = test_make_model("custom", name, args);
    pali_model *m = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_model_load(dir, NULL, &m, &err), ==, PALI_OK);
    pali_model_settle(m);
    g_assert_true(atomic_load(&m->lmhead.ready));
    return m;
}

static uint64_t rng_state = 12345;

/* A standard normal deviate (Box–Muller on splitmix64). */
static double normal(void)
{
    uint64_t z[2];
    for (int i = 0; i < 2; i++) {
        uint64_t x = (rng_state += 0x9e3779b97f4a7c15ULL);
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        z[i] = (x ^ (x >> 31)) >> 11;
    }
    const double u = (z[0] + 1.0) / 9007199254740993.0,
                 v = z[1] / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* The full path's choice: every logit, the cap, the sampler's greedy. */
static int32_t full_choice(const pali_model *m, const pali_compute *c,
                           const float *h, float *logits, int64_t allowed,
                           int32_t excluded)
{
    const pali_model_info *in = &m->cfg.info;
    pali_gemma_logits(m, c, h, logits);
    if (in->final_softcap > 0)
        c->kernels->softcap(logits, in->vocab_rows, in->final_softcap);
    pali_sampler s;
    g_assert_true(pali_sampler_init(&s, allowed));
    pali_sampler_configure(&s, 0, 0, 1, 0);
    const int32_t id = pali_sampler_pick(&s, logits, allowed, excluded);
    pali_sampler_clear(&s);
    return id;
}

/* Rows of activations at several scales through both paths. */
static void check_model(const pali_model *m)
{
    const pali_model_info *in = &m->cfg.info;
    const int64_t d = in->text_hidden, v = in->vocab_rows;
    const int64_t allowed = in->tokenizer_size < v ? in->tokenizer_size : v;
    const int32_t excluded =
        in->image_token_id < allowed ? in->image_token_id : -1;
    float *h = g_new(float, d), *xs = g_new(float, d);
    float *a = g_new(float, v), *b = g_new(float, v);
    int32_t *panels = g_new(int32_t, pali_matmul_panels(v) + 1);
    pali_cpu cpu;
    pali_cpu_detect(&cpu);
    // scales of the final norm's output: ordinary (1–3), tiny, and large
    // enough to push logits into the cap's flat reach
    const double scales[] = { 1, 3, 1e-3, 60 };
    for (int k = 0; k < PALI_KERNEL_COUNT; k++) {
        if (!pali_cpu_supports(&cpu, (pali_kernel)k))
            continue;
        for (int p = 0; p < 2; p++) {
            const pali_precision prec =
                p ? PALI_PRECISION_FAST : PALI_PRECISION_EXACT;
            pali_compute c;
            pali_error err = { 0 };
            g_assert_cmpint(
                pali_compute_init_kernel(&c, 2, prec, k, d,
                                         pali_matmul_scratch_bytes(k, d), &err),
                ==, PALI_OK);
            for (size_t si = 0; si < G_N_ELEMENTS(scales); si++) {
                int decided = 0;
                for (int t = 0; t < TRIALS; t++) {
                    for (int64_t j = 0; j < d; j++)
                        h[j] = (float)(scales[si] * normal());
                    const int32_t want =
                        full_choice(m, &c, h, a, allowed, excluded);
                    int32_t got = -7;
                    if (pali_lmhead_greedy(m, &c, h, allowed, excluded,
                                           in->final_softcap, b, xs, panels,
                                           &got)) {
                        decided++;
                        if (got != want)
                            g_error("%s %s scale %g trial %d: pre-pass %d, "
                                    "full logits %d",
                                    pali_kernel_name((pali_kernel)k),
                                    p ? "fast" : "exact", scales[si], t, got,
                                    want);
                    }
                }
                g_test_message("%s %s scale %g: decided %d of %d",
                               pali_kernel_name((pali_kernel)k),
                               p ? "fast" : "exact", scales[si], decided,
                               TRIALS);
                // ordinary rows: the pre-pass must do its job
                if (scales[si] >= 1 && scales[si] <= 3)
                    g_assert_cmpint(decided, >=, TRIALS * 3 / 4);
            }
            // a panel computed alone has the full product's bits: the
            // first, one inside and the last (short where V is not a
            // multiple of 32)
            for (int64_t j = 0; j < d; j++)
                h[j] = (float)normal();
            pali_gemma_logits(m, &c, h, a);
            const int64_t last = pali_matmul_panels(v) - 1;
            const int64_t picks[] = { 0, last / 2, last };
            for (size_t i = 0; i < G_N_ELEMENTS(picks); i++) {
                const int64_t r0 = picks[i] * PALI_MATMUL_PANEL;
                const int64_t r1 =
                    r0 + PALI_MATMUL_PANEL < v ? r0 + PALI_MATMUL_PANEL : v;
                const int32_t panel = (int32_t)picks[i];
                g_assert_true(pali_gemv_panels(&c, h, &m->embed, &panel, 1, b));
                g_assert_cmpmem(a + r0, (r1 - r0) * sizeof(float), b + r0,
                                (r1 - r0) * sizeof(float));
            }
            // all-zero activations: every logit ties, the first allowed
            // id wins, whichever path decides
            memset(h, 0, (size_t)d * sizeof(float));
            int32_t got = -7;
            const int32_t want = full_choice(m, &c, h, a, allowed, excluded);
            if (pali_lmhead_greedy(m, &c, h, allowed, excluded,
                                   in->final_softcap, b, xs, panels, &got))
                g_assert_cmpint(got, ==, want);
            // non-finite activations: left to the full path
            h[0] = NAN;
            g_assert_false(pali_lmhead_greedy(m, &c, h, allowed, excluded,
                                              in->final_softcap, b, xs, panels,
                                              &got));
            pali_compute_clear(&c);
        }
    }
    g_free(h);
    g_free(xs);
    g_free(a);
    g_free(b);
    g_free(panels);
}

static void test_choices_capped(void)
{
    pali_model *m = load_settled("capped", "30");
    g_assert_cmpfloat(m->cfg.info.final_softcap, ==, 30);
    check_model(m);
    pali_model_free(m);
}

static void test_choices_uncapped(void)
{
    pali_model *m = load_settled("uncapped", "0");
    g_assert_cmpfloat(m->cfg.info.final_softcap, ==, 0);
    check_model(m);
    pali_model_free(m);
}

/* A tensor tap makes the session compute every logit. */
static void ignore_tensor(const char *name, int step, const float *data,
                          int n_dims, const int64_t *shape, void *user)
{
    (void)name, (void)step, (void)data, (void)n_dims, (void)shape, (void)user;
}

static void test_generation(void)
{
    pali_model *m = load_settled("generate", "30");
    const int w = 64, hgt = 48;
    guint8 *px = g_malloc(w * hgt * 3);
    for (int i = 0; i < w * hgt * 3; i++)
        px[i] = (guint8)(i * 7 + i / 97);
    const pali_image img = { px, w, hgt, (size_t)w * 3, PALI_PIXEL_RGB8 };
    for (int p = 0; p < 2; p++) {
        pali_session_params sp = pali_session_default_params();
        sp.n_threads = 2;
        sp.precision = p ? PALI_PRECISION_FAST : PALI_PRECISION_EXACT;
        pali_session *s = NULL;
        pali_error err = { 0 };
        g_assert_cmpint(pali_session_new(m, &sp, &s, &err), ==, PALI_OK);
        g_assert_cmpint(pali_session_set_image(s, &img, NULL, &err), ==,
                        PALI_OK);
        pali_generate_params gp = pali_generate_default_params();
        gp.max_new_tokens = 24;
        const pali_callbacks full = { .tensor = ignore_tensor };
        const pali_output *out = NULL;
        g_assert_cmpint(
            pali_session_generate(s, "caption en", &gp, &full, &out, &err), ==,
            PALI_OK);
        g_assert_cmpint(out->timings.n_prepass, ==, 0);
        GArray *want = g_array_new(FALSE, FALSE, sizeof(int32_t));
        g_array_append_vals(want, out->generated_ids, (guint)out->n_generated);
        g_assert_cmpint(
            pali_session_generate(s, "caption en", &gp, NULL, &out, &err), ==,
            PALI_OK);
        g_test_message("%s: %d tokens, %d from the pre-pass",
                       p ? "fast" : "exact", out->n_generated,
                       out->timings.n_prepass);
        g_assert_cmpint(out->n_generated, ==, (int)want->len);
        g_assert_cmpmem(out->generated_ids, out->n_generated * sizeof(int32_t),
                        want->data, want->len * sizeof(int32_t));
        g_assert_cmpint(out->timings.n_prepass, >=, out->n_generated / 2);
        g_array_free(want, TRUE);
        pali_session_free(s);
    }
    g_free(px);
    pali_model_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/lmhead/choices-capped", test_choices_capped);
    g_test_add_func("/lmhead/choices-uncapped", test_choices_uncapped);
    g_test_add_func("/lmhead/generation", test_generation);
    return g_test_run();
}
