/* test-golden-fast.c — the engine's fast precision (bf16 products with f32
 * accumulation), with bf16, 8-bit and 4-bit weights, on every golden case,
 * against transformers' float32 outputs (golden/README.md).
 *
 * Per case (`/golden-fast/<model>/<weights>/<case>`):
 *   - 1 and 2 threads give bit-identical logits and the same ids;
 *   - greedy ids equal the golden ids at every step before the first whose
 *     golden top-2 margin is within twice the largest logit error measured
 *     on the teacher-forced run: up to there no other token can win, so a
 *     difference would be a fault of the generate loop, not of precision;
 *   - the errors (max and mean |logit error|, KL of the softmaxes) are
 *     logged next to transformers' own bf16 errors on the same case.
 *
 * The accuracy criterion (`/golden-fast/~summary/<weights>`), issue 6's:
 * fast bf16 must be no less accurate than transformers' own bfloat16 mode
 * is against its float32 (tests/data/hf-bf16, made with hf_run.py).  Both
 * are the model's response to rounding: fast precision rounds the operands
 * of every matrix product to bf16 (relative ≤ 2⁻⁸), which is an exact
 * computation on inputs perturbed that much; transformers' bf16 makes the
 * same perturbations and also rounds every activation between operations.
 * No a-priori bound is useful here: the tiny golden models are built to be
 * sensitive (attention logits of 10–30), and a 2⁻⁸ perturbation of q or k
 * moves a score by ~0.1, the softmax by ~10 %, through every layer — per
 * case the two errors are of the same size and either may be the larger
 * (the realisations of the rounding differ).  So the criterion is taken
 * over all cases that ran: the mean over cases of the mean |error| of the
 * prefill logits and the mean KL must not exceed transformers' bf16.  For
 * 8-bit weights the same criterion applies (block-quantization error of
 * ≤ d/2 ≈ 2⁻⁸·|w|max per weight is of bf16's size); 4-bit weights (error
 * up to d ≈ 2⁻³·|w|max) are measured and reported, not held to it.
 *
 * Run one model with `-p /golden-fast/<model>`. */
#include <math.h>
#include <string.h>

#include "json.h"
#include "lens-image-loader.h"
#include "lens-tensor-dump.h"
#include "pali.h"
#include "testutil.h"

typedef struct {
    char *model, *name, *dir;
    pali_weights weights;
} FastCase;

typedef struct {
    char *prompt, *image;
    GArray *ids;     /* int32 generated */
    GArray *margins; /* double per step */
} CaseInfo;

static pali_json_doc *hf_doc;

typedef struct {
    double max_abs, mean_abs, kl, max_logit;
} LogitError;

typedef struct {
    const FastCase *fc;
    LogitError prefill, steps;
    double hf_max, hf_mean, hf_kl;
} CaseResult;

/* What the cases measured, for the summaries that run after them. */
#define MAX_RESULTS 64
static CaseResult results[MAX_RESULTS];
static int n_results;

static void case_read(const FastCase *fc, CaseInfo *ci)
{
    g_autofree char *path = g_build_filename(fc->dir, "case.json", NULL);
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_json_parse_file(path, 64 << 20, &doc, &err), ==,
                    PALI_OK);
    const pali_json *root = pali_json_root(doc);
    ci->prompt = g_strdup(pali_json_get(root, "prompt")->u.string);
    ci->image =
        g_build_filename(fc->dir, pali_json_get(root, "image")->u.string, NULL);
    ci->ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    ci->margins = g_array_new(FALSE, FALSE, sizeof(double));
    const pali_json *ids = pali_json_get(root, "generated_ids");
    const pali_json *margins = pali_json_get(root, "top2_margin_per_step");
    for (uint32_t i = 0; i < ids->len; i++) {
        int32_t id = (int32_t)ids->u.items[i].integer;
        double mg = margins->u.items[i].u.number;
        g_array_append_val(ci->ids, id);
        g_array_append_val(ci->margins, mg);
    }
    pali_json_free(doc);
}

static void case_clear(CaseInfo *ci)
{
    g_free(ci->prompt);
    g_free(ci->image);
    g_array_unref(ci->ids);
    g_array_unref(ci->margins);
}

/* transformers' bf16 errors for this case (tests/data/hf-bf16). */
static void hf_reference(const FastCase *fc, double *max_abs, double *mean_abs,
                         double *kl)
{
    g_autofree char *key = g_strdup_printf("%s/%s", fc->model, fc->name);
    const pali_json *c =
        pali_json_get(pali_json_get(pali_json_root(hf_doc), "cases"), key);
    g_assert_nonnull(c);
    *max_abs = pali_json_get(c, "max_abs")->u.number;
    *mean_abs = pali_json_get(c, "mean_abs")->u.number;
    *kl = pali_json_get(c, "kl")->u.number;
}

/* Errors of `got` (rows × V) against `want`, over the first v columns
 * (the real vocabulary; padding rows are never sampled). */
static LogitError logit_error(const float *got, const float *want, int rows,
                              int64_t stride, int64_t v)
{
    LogitError e = { 0 };
    double sum = 0;
    for (int r = 0; r < rows; r++) {
        const float *g = got + r * stride, *w = want + r * stride;
        double mg = -INFINITY, mw = -INFINITY;
        for (int64_t j = 0; j < v; j++) {
            const double d = fabs((double)g[j] - w[j]);
            e.max_abs = d > e.max_abs ? d : e.max_abs;
            sum += d;
            mg = g[j] > mg ? g[j] : mg;
            mw = w[j] > mw ? w[j] : mw;
            e.max_logit = fabs(w[j]) > e.max_logit ? fabs(w[j]) : e.max_logit;
        }
        // KL(want ‖ got) of the softmaxes
        double zg = 0, zw = 0;
        for (int64_t j = 0; j < v; j++) {
            zg += exp(g[j] - mg);
            zw += exp(w[j] - mw);
        }
        double kl = 0;
        for (int64_t j = 0; j < v; j++) {
            const double lw = w[j] - mw - log(zw), lg = g[j] - mg - log(zg);
            kl += exp(lw) * (lw - lg);
        }
        e.kl = kl > e.kl ? kl : e.kl;
    }
    e.mean_abs = sum / ((double)rows * (double)v);
    return e;
}

static const pali_output *run(pali_session *s, const CaseInfo *ci,
                              const pali_image *img, LensTensorDump *dump,
                              bool forced)
{
    pali_callbacks cb = { 0 };
    cb.tensor = dump ? lens_tensor_dump_collect : NULL;
    cb.user_data = dump;
    pali_error err = { 0 };
    g_assert_cmpint(pali_session_set_image(s, img, &cb, &err), ==, PALI_OK);
    pali_generate_params gp = pali_generate_default_params();
    gp.max_new_tokens = (int)ci->ids->len;
    if (forced) {
        gp.forced_ids = (const int32_t *)ci->ids->data;
        gp.n_forced = (int)ci->ids->len;
    }
    const pali_output *out = NULL;
    if (pali_session_generate(s, ci->prompt, &gp, &cb, &out, &err) != PALI_OK)
        g_error("generate: %s", err.message);
    return out;
}

static pali_session *session_new(pali_model *m, int threads)
{
    pali_session_params sp = pali_session_default_params();
    sp.n_threads = threads;
    sp.precision = PALI_PRECISION_FAST;
    pali_session *s = NULL;
    pali_error err = { 0 };
    if (pali_session_new(m, &sp, &s, &err) != PALI_OK)
        g_error("session: %s", err.message);
    return s;
}

static const char *weights_name(pali_weights w)
{
    return w == PALI_WEIGHTS_Q8 ? "q8" : w == PALI_WEIGHTS_Q4 ? "q4" : "bf16";
}

static void test_fast(gconstpointer data)
{
    const FastCase *fc = data;
    CaseInfo ci;
    case_read(fc, &ci);
    g_autofree char *rel = g_build_filename("golden", fc->model, NULL);
    g_autofree char *dir = test_data_path(rel);
    g_autofree char *golden =
        g_build_filename(fc->dir, "golden.safetensors", NULL);
    pali_model_params mp = pali_model_default_params();
    mp.weights = fc->weights;
    mp.cache_dir = test_tmpdir();
    pali_model *model = NULL;
    pali_error err = { 0 };
    if (pali_model_load(dir, &mp, &model, &err) != PALI_OK)
        g_error("%s: %s", dir, err.message);
    const pali_model_info *info = pali_model_get_info(model);
    const int64_t V = info->vocab_rows;
    const int64_t v = info->tokenizer_size < V ? info->tokenizer_size : V;

    g_autoptr(GError) error = NULL;
    LensImage *owner =
        lens_image_load(ci.image, LENS_IMAGE_LOAD_DEFAULT, &error);
    g_assert_no_error(error);
    const pali_image img = lens_image_as_pali(owner);

    // teacher-forced on the golden ids, 2 threads then 1
    pali_session *s2 = session_new(model, 2), *s1 = session_new(model, 1);
    g_autoptr(LensTensorDump) d2 = lens_tensor_dump_new();
    g_autoptr(LensTensorDump) d1 = lens_tensor_dump_new();
    run(s2, &ci, &img, d2, true);
    run(s1, &ci, &img, d1, true);
    gsize n2 = 0, n1 = 0;
    const float *gen2 = lens_tensor_dump_get(d2, "gen_logits", &n2, NULL, NULL);
    const float *gen1 = lens_tensor_dump_get(d1, "gen_logits", &n1, NULL, NULL);
    g_assert_cmpuint(n2, ==, n1);
    g_assert_cmpmem(gen2, n2 * sizeof(float), gen1, n1 * sizeof(float));

    TestTensor want_prefill, want_gen;
    g_assert_true(
        test_safetensors_read(golden, "prefill_logits_last", &want_prefill));
    g_assert_true(test_safetensors_read(golden, "gen_logits", &want_gen));
    const int steps = (int)ci.ids->len;
    g_assert_cmpuint(n2, ==, (gsize)steps * V);
    gsize np = 0;
    const float *prefill =
        lens_tensor_dump_get(d2, "prefill_logits_last", &np, NULL, NULL);
    g_assert_cmpuint(np, ==, (gsize)V);
    const LogitError ep = logit_error(prefill, want_prefill.data, 1, V, v);
    const LogitError eg = logit_error(gen2, want_gen.data, steps, V, v);

    CaseResult *res = &results[n_results++];
    res->fc = fc;
    res->prefill = ep;
    res->steps = eg;
    hf_reference(fc, &res->hf_max, &res->hf_mean, &res->hf_kl);
    g_test_message("%s/%s %s: prefill logits max |err| %.4g mean %.3g KL "
                   "%.3g; forced steps max %.4g mean %.3g KL %.3g; "
                   "transformers bf16 (prefill): max %.4g mean %.3g KL %.3g",
                   fc->model, fc->name, weights_name(fc->weights), ep.max_abs,
                   ep.mean_abs, ep.kl, eg.max_abs, eg.mean_abs, eg.kl,
                   res->hf_max, res->hf_mean, res->hf_kl);

    // greedy: the golden ids at every step before the first whose golden
    // margin is within twice the largest logit error measured above
    const double limit = fmax(ep.max_abs, eg.max_abs);
    const pali_output *o2 = run(s2, &ci, &img, NULL, false);
    int checked = 0;
    for (int i = 0; i < steps; i++) {
        if (g_array_index(ci.margins, double, i) <= 2 * limit)
            break;
        g_assert_cmpint(i, <, o2->n_generated);
        if (o2->generated_ids[i] != g_array_index(ci.ids, int32_t, i))
            g_error(
                "step %d: id %d, golden %d (margin %.4g, measured error %.4g)",
                i, o2->generated_ids[i], g_array_index(ci.ids, int32_t, i),
                g_array_index(ci.margins, double, i), limit);
        checked++;
    }
    g_test_message("greedy ids equal to golden for the %d steps before the "
                   "first margin within 2 x %.3g",
                   checked, limit);
    g_assert_cmpint(n_results, <=, MAX_RESULTS);
    int32_t *ids2 =
        g_memdup2(o2->generated_ids, (gsize)o2->n_generated * sizeof(int32_t));
    const int ng2 = o2->n_generated;
    const pali_output *o1 = run(s1, &ci, &img, NULL, false);
    g_assert_cmpmem(ids2, (gsize)ng2 * 4, o1->generated_ids,
                    (gsize)o1->n_generated * 4);
    g_free(ids2);

    test_tensor_clear(&want_prefill);
    test_tensor_clear(&want_gen);
    pali_session_free(s1);
    pali_session_free(s2);
    lens_image_unref(owner);
    pali_model_free(model);
    case_clear(&ci);
}

static void test_summary(gconstpointer data)
{
    const pali_weights weights = GPOINTER_TO_INT(data);
    double mean = 0, kl = 0, max = 0, hf_mean = 0, hf_kl = 0, hf_max = 0;
    int n = 0;
    for (int i = 0; i < n_results; i++) {
        const CaseResult *r = &results[i];
        if (r->fc->weights != weights)
            continue;
        mean += r->prefill.mean_abs;
        kl += r->prefill.kl;
        max = fmax(max, fmax(r->prefill.max_abs, r->steps.max_abs));
        hf_mean += r->hf_mean;
        hf_kl += r->hf_kl;
        hf_max = fmax(hf_max, r->hf_max);
        n++;
    }
    // the cases run first (g_test order); a summary of none is a failure
    g_assert_cmpint(n, >, 0);
    mean /= n;
    kl /= n;
    hf_mean /= n;
    hf_kl /= n;
    g_test_message("%s over %d cases: mean |logit error| %.4g, mean KL %.4g, "
                   "max |error| %.4g; transformers bf16: %.4g, %.4g, %.4g",
                   weights_name(weights), n, mean, kl, max, hf_mean, hf_kl,
                   hf_max);
    if (weights == PALI_WEIGHTS_Q4)
        return; // measured and reported, not held to bf16's accuracy
    g_assert_cmpfloat(mean, <=, hf_mean);
    g_assert_cmpfloat(kl, <=, hf_kl);
}

static void add_cases(const char *model_name, const char *case_model,
                      pali_weights weights)
{
    g_autofree char *rel =
        g_build_filename("golden", case_model, "cases", NULL);
    g_autofree char *root = test_data_path(rel);
    GPtrArray *names = test_dir_names(root);
    for (guint i = 0; i < names->len; i++) {
        FastCase *fc = g_new0(FastCase, 1);
        fc->model = g_strdup(model_name);
        fc->name = g_strdup(g_ptr_array_index(names, i));
        fc->dir = g_build_filename(root, fc->name, NULL);
        fc->weights = weights;
        g_autofree char *path =
            g_strdup_printf("/golden-fast/%s/%s/%s", model_name,
                            weights_name(weights), fc->name);
        g_test_add_data_func(path, fc, test_fast);
    }
    g_ptr_array_unref(names);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_autofree char *ref = test_data_path("hf-bf16/reference.json");
    pali_error err = { 0 };
    if (pali_json_parse_file(ref, 1 << 20, &hf_doc, &err) != PALI_OK)
        g_error("%s: %s", ref, err.message);
    const char *models[] = { "tiny-224", "tiny-448", "tiny-896-sw",
                             "tiny-27b-style" };
    const pali_weights formats[] = { PALI_WEIGHTS_AS_STORED, PALI_WEIGHTS_Q8,
                                     PALI_WEIGHTS_Q4 };
    // quantized weights on every model but the 4096-token one, whose bf16
    // cases already cover the long prefix (and take the most time)
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++)
        for (size_t f = 0; f < G_N_ELEMENTS(formats); f++)
            if (f == 0 || strcmp(models[i], "tiny-896-sw") != 0)
                add_cases(models[i], models[i], formats[f]);
    // after every case: suites run in the order they were made
    for (size_t f = 0; f < G_N_ELEMENTS(formats); f++) {
        g_autofree char *path = g_strdup_printf("/golden-fast/~summary/%s",
                                                weights_name(formats[f]));
        g_test_add_data_func(path, GINT_TO_POINTER(formats[f]), test_summary);
    }
    int rc = g_test_run();
    pali_json_free(hf_doc);
    return rc;
}
