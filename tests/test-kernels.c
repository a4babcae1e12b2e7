/* test-kernels.c — every kernel set this CPU runs (cpu.h: scalar, avx2,
 * avx512, avx512bf16, amx) against the scalar reference (kernels.h), with
 * tolerances derived from each computation's arithmetic:
 *
 *   - a sum of k products in f32 is within γ_k·Σ|x·w| of the exact sum
 *     (γ_k = k·u/(1 − k·u), u = 2⁻²⁴, Higham, Accuracy and Stability,
 *     §3.1); kernel and reference each are, so they differ by at most
 *     2·γ_k·Σ|x·w| (plus one rounding of the bias add);
 *   - fast precision rounds both operands to bf16 (u_bf16 = 2⁻⁸) in kernel
 *     and reference alike, so the bound is the same 2·γ_k over the rounded
 *     operands; quantized weights may be rounded to bf16 by the kernels
 *     that feed bf16 units, which adds u_bf16·Σ|x̃·w|;
 *   - attention: score errors ε_s (as above, times the scale), exp and
 *     tanh within 4 ulp (ε_f = 2⁻²¹), move each softmax weight by a factor
 *     within e^{±2(ε_s + ε_f)}, so the output moves by at most
 *     4(ε_s + ε_f)·Σ p|v| to first order (doubled for the second order),
 *     plus 2·γ_n·Σ p|v| for the value sum, plus, in fast precision, one
 *     bf16 rounding of p that may land either side (2·u_bf16·Σ p|v|);
 *   - row operations: vector exp/tanh within 4 ulp, f32 lane sums in the
 *     norms (γ over the lane length) against the reference's double sums.
 *
 * Each product also runs on 1 and 2 threads: the bits must not change. */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "compute.h"
#include "cpu.h"
#include "internal.h"
#include "kernels.h"
#include "ops.h"
#include "quant.h"
#include "testutil.h"

#define U_F32  0x1p-24
#define U_BF16 0x1p-8
/* Vector exp/tanh/rcp: within 4 ulp of libm (2 ulp measured). */
#define EPS_FN 0x1p-21

static double gamma_k(int64_t k)
{
    return (double)k * U_F32 / (1.0 - (double)k * U_F32);
}

/* ---- helpers ------------------------------------------------------------ */

static void fill(GRand *rng, float *x, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(g_rand_double_range(rng, -1, 1) * scale);
}

/* A weight tensor of dtype `dt` made from f32 values (rounded to the
 * format; quantized ones through pali_quantize_row).  Owns its data. */
typedef struct {
    pali_tensor t;
    void *data;
} TestWeights;

static void weights_make(TestWeights *tw, pali_dtype dt, const float *w,
                         int64_t m, int64_t k)
{
    memset(tw, 0, sizeof(*tw));
    size_t bytes;
    if (pali_dtype_is_quant(dt))
        bytes = pali_quant_nbytes(dt, m, k);
    else
        bytes = (size_t)(m * k) * (dt == PALI_DTYPE_F32 ? 4 : 2);
    tw->data = pali_aligned_alloc(bytes);
    tw->t = (pali_tensor){ .name = "w",
                           .dtype = dt,
                           .n_dims = 2,
                           .shape = { m, k },
                           .data = tw->data,
                           .nbytes = bytes };
    for (int64_t r = 0; r < m; r++) {
        const float *src = w + r * k;
        switch (dt) {
        case PALI_DTYPE_F32:
            memcpy((float *)tw->data + r * k, src, (size_t)k * 4);
            break;
        case PALI_DTYPE_BF16:
            for (int64_t i = 0; i < k; i++)
                ((uint16_t *)tw->data)[r * k + i] = pali_f32_to_bf16(src[i]);
            break;
        case PALI_DTYPE_F16:
            for (int64_t i = 0; i < k; i++)
                ((uint16_t *)tw->data)[r * k + i] = pali_f32_to_f16(src[i]);
            break;
        case PALI_DTYPE_Q8:
        case PALI_DTYPE_Q4:
            pali_quantize_row(dt, src, k,
                              (uint8_t *)pali_quant_codes(&tw->t, r),
                              (uint16_t *)pali_quant_scales(&tw->t, r));
            break;
        }
    }
}

static void weights_clear(TestWeights *tw)
{
    pali_aligned_free(tw->data);
}

static pali_compute *compute_new(int kernel, int threads, bool fast,
                                 int64_t max_k, int64_t max_keys, int hd)
{
    pali_compute *c = g_new0(pali_compute, 1);
    size_t scratch = pali_matmul_scratch_bytes(kernel, max_k);
    size_t a = pali_attention_scratch_bytes(max_keys, hd);
    pali_error err = { 0 };
    pali_status st = pali_compute_init_kernel(
        c, threads, fast ? PALI_PRECISION_FAST : PALI_PRECISION_EXACT, kernel,
        max_k, scratch > a ? scratch : a, &err);
    if (st != PALI_OK)
        g_error("compute: %s", err.message);
    return c;
}

static void compute_free(pali_compute *c)
{
    pali_compute_clear(c);
    g_free(c);
}

static bool supported(int kernel)
{
    pali_cpu cpu;
    pali_cpu_detect(&cpu);
    if (pali_cpu_supports(&cpu, (pali_kernel)kernel))
        return true;
    g_test_skip("this CPU does not run this kernel set");
    return false;
}

/* ---- cpu ---------------------------------------------------------------- */

static void test_cpu(void)
{
    pali_cpu cpu;
    pali_cpu_detect(&cpu);
    g_assert_true(pali_cpu_supports(&cpu, cpu.best));
    g_assert_true(pali_cpu_supports(&cpu, PALI_KERNEL_SCALAR));
    for (int k = 0; k < PALI_KERNEL_COUNT; k++) {
        pali_kernel back;
        g_assert_true(
            pali_kernel_from_name(pali_kernel_name((pali_kernel)k), &back));
        g_assert_cmpint(back, ==, k);
        // the sets are nested: each supported one implies those below
        if (k > 0 && pali_cpu_supports(&cpu, (pali_kernel)k))
            g_assert_true(pali_cpu_supports(&cpu, (pali_kernel)(k - 1)));
    }
    g_test_message("best kernel set: %s", pali_kernel_name(cpu.best));
    pali_kernel out;
    pali_error err = { 0 };
    g_assert_cmpint(pali_kernel_select(&cpu, NULL, &out, &err), ==, PALI_OK);
    g_assert_cmpint(out, ==, cpu.best);
    g_assert_cmpint(pali_kernel_select(&cpu, "scalar", &out, &err), ==,
                    PALI_OK);
    g_assert_cmpint(out, ==, PALI_KERNEL_SCALAR);
    g_assert_cmpint(pali_kernel_select(&cpu, "sse9", &out, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(err.message, "PALI_KERNEL=sse9"));
}

/* ---- quantization -------------------------------------------------------- */

static void test_quant_roundtrip(void)
{
    GRand *rng = g_rand_new_with_seed(11);
    enum {
        K = 256
    };
    float w[K], back[K];
    fill(rng, w, K, 0.05);
    w[5] = 0.3f; // a block with one large value
    w[40] = 0;   // and a block of zeros below
    for (int i = 64; i < 96; i++)
        w[i] = 0;
    for (int f = 0; f < 2; f++) {
        const pali_dtype dt = f ? PALI_DTYPE_Q4 : PALI_DTYPE_Q8;
        TestWeights tw;
        weights_make(&tw, dt, w, 1, K);
        pali_weights_read_f32(&tw.t, 0, K, back);
        const uint16_t *scales = pali_quant_scales(&tw.t, 0);
        for (int i = 0; i < K; i++) {
            const double d = fabs(pali_f16_to_f32(scales[i / 32]));
            float amax = 0;
            for (int j = i / 32 * 32; j < i / 32 * 32 + 32; j++)
                amax = fabsf(w[j]) > amax ? fabsf(w[j]) : amax;
            // q8: half a step, plus the binary16 rounding of the scale
            // stretching the grid (≤ 2⁻¹¹ of the block's range); q4: the
            // side opposite the extreme clamps at 7 steps, one step off
            const double tol = f ? d : 0.5 * d + 0x1p-11 * amax;
            if (fabs(back[i] - w[i]) > tol + 1e-12)
                g_error("%s weight %d: %g → %g (tolerance %g)",
                        pali_dtype_name(dt), i, w[i], back[i], tol);
        }
        for (int i = 64; i < 96; i++)
            g_assert_cmpfloat(back[i], ==, 0);
        weights_clear(&tw);
    }
    g_rand_free(rng);
}

/* A set's q8_row_bound against the reference: the codes and scales of
 * pali_quantize_row bit for bit, and a bound at least max |w − w̃| +
 * γ·max (|w| + |w̃|) (in double); +inf for a row with a NaN or an
 * infinity.  Its q4_row: the reference's codes and scales, false for
 * those rows.  Rows of every magnitude: subnormal scales, zeros, huge,
 * blocks whose extremes tie in magnitude. */
static void test_quant_rows(gconstpointer data)
{
    const int kernel = GPOINTER_TO_INT(data);
    if (!supported(kernel))
        return;
    const pali_kernels *ks = pali_kernels_get((pali_kernel)kernel);
    if (!ks->q8_row_bound)
        return;
    enum {
        K = 32 * 37 // a group of 16 blocks, twice, and a short one
    };
    GRand *rng = g_rand_new_with_seed(17);
    float w[K], back[K];
    uint16_t wb[K], scales[K / 32], want_scales[K / 32];
    uint8_t codes[K], want_codes[K];
    const double gamma = 3e-4;
    static const double mags[] = { 1e-40, 1e-9, 0.02, 1, 3e4, 1e30 };
    for (size_t mi = 0; mi < G_N_ELEMENTS(mags); mi++) {
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < K; i++) {
                // each block its own spread of magnitudes
                const double m =
                    mags[mi] *
                    exp(g_rand_double_range(rng, -8, 8) * (i / 32 % 3) / 2);
                wb[i] = pali_f32_to_bf16(
                    (float)(m * g_rand_double_range(rng, -1, 1)));
                w[i] = pali_bf16_to_f32(wb[i]);
            }
            for (int i = 64; i < 96; i++) // a block of zeros
                w[i] = pali_bf16_to_f32(wb[i] = 0);
            // a block whose largest magnitudes tie with opposite signs
            wb[130] = pali_f32_to_bf16((float)(100 * mags[mi]));
            wb[150] = wb[130] ^ 0x8000;
            w[130] = pali_bf16_to_f32(wb[130]);
            w[150] = pali_bf16_to_f32(wb[150]);
            pali_quantize_row(PALI_DTYPE_Q8, w, K, want_codes, want_scales);
            const float c = ks->q8_row_bound(wb, K, codes, scales, gamma);
            g_assert_cmpmem(codes, K, want_codes, K);
            g_assert_cmpmem(scales, sizeof(scales), want_scales,
                            sizeof(scales));
            TestWeights tw;
            weights_make(&tw, PALI_DTYPE_Q8, w, 1, K);
            pali_weights_read_f32(&tw.t, 0, K, back);
            weights_clear(&tw);
            double err = 0, mag = 0;
            for (int i = 0; i < K; i++) {
                err = fmax(err, fabs((double)w[i] - back[i]));
                mag = fmax(mag, fabs((double)w[i]) + fabs((double)back[i]));
            }
            g_assert_cmpfloat(c, >=, err + gamma * mag);
            g_assert_cmpfloat(c, <=, (err + gamma * mag) * 1.001 + 1e-44);
            if (ks->q4_row) { // and q4's codes, the reference's bits
                uint8_t q4[K / 2], want_q4[K / 2];
                g_assert_true(ks->q4_row(wb, K, q4, scales));
                pali_quantize_row(PALI_DTYPE_Q4, w, K, want_q4, want_scales);
                g_assert_cmpmem(q4, K / 2, want_q4, K / 2);
                g_assert_cmpmem(scales, sizeof(scales), want_scales,
                                sizeof(scales));
            }
        }
    }
    wb[100] = 0x7fc0; // NaN
    g_assert_true(isinf(ks->q8_row_bound(wb, K, codes, scales, gamma)));
    wb[100] = 0x7f80; // +inf
    g_assert_true(isinf(ks->q8_row_bound(wb, K, codes, scales, gamma)));
    if (ks->q4_row)
        g_assert_false(ks->q4_row(wb, K, codes, scales));
    wb[100] = 0x7fc0; // NaN
    if (ks->q4_row)
        g_assert_false(ks->q4_row(wb, K, codes, scales));
    g_rand_free(rng);
}

/* ---- matrix products ------------------------------------------------------
 */

typedef struct {
    int kernel;
    bool fast;
    pali_dtype dtype;
} MatmulCase;

typedef struct {
    int64_t n, k, m;
} Shape;

/* Small enough for the sanitizer build, shaped to reach every tail: rows
 * of x around the GEMV limit and the GEMM row blocks, k below, at and past
 * the packed panel (256) and AMX's 32, m around the 32-column panels; and
 * GEMVs of many claims (8 panels each), whose threads make x over once
 * for all of their claims (pali_gemv_x_kept). */
static const Shape shapes[] = {
    { 1, 64, 33 },    { 2, 96, 64 },    { 4, 608, 40 },  { 5, 32, 31 },
    { 13, 128, 97 },  { 16, 288, 64 },  { 33, 320, 48 }, { 40, 96, 129 },
    { 70, 544, 70 },  { 3, 1152, 17 },  { 1, 1152, 45 }, { 1, 512, 16 },
    { 1, 256, 1100 }, { 2, 128, 1030 },
};
/* Float formats also get k that is not a multiple of 32 (SigLIP's 588
 * patch inputs, 4304 MLP inputs). */
static const Shape odd_shapes[] = {
    { 1, 72, 20 },
    { 6, 100, 33 },
    { 24, 588, 36 },
    { 3, 17, 5 },
};

/* pali_matmul_act gives the bits of the product followed by the row
 * operation, on 2 threads and 1, whether or not the kernel set applies
 * it as it stores. */
static void check_fused_act(pali_compute *c2, pali_compute *c1, const float *x,
                            int64_t n, const pali_tensor *w, const float *b,
                            const float *plain, GRand *rng)
{
    const int64_t m = pali_tensor_rows(w);
    const size_t bytes = (size_t)(n * m) * sizeof(float);
    float *other = g_new(float, n *m), *want = g_new(float, n *m);
    float *got = g_new(float, n *m);
    fill(rng, other, n * m, 1.0);
    for (int act = PALI_ACT_GELU_TANH; act <= PALI_ACT_GELU_TANH_MUL; act++) {
        memcpy(want, plain, bytes);
        if (act == PALI_ACT_GELU_TANH)
            pali_gelu_tanh(c2, want, n * m);
        else
            pali_gelu_tanh_mul(c2, want, other, n * m);
        pali_compute *cs[2] = { c2, c1 };
        for (int i = 0; i < 2; i++) {
            memset(got, 0xff, bytes);
            pali_matmul_act(cs[i], x, n, w, b, got, (pali_act)act, other);
            g_assert_cmpmem(got, bytes, want, bytes);
        }
    }
    // two products of the same x in one call, the second's `other` the
    // first's output: each as if alone
    float *first = g_new(float, n *m);
    const pali_product many[2] = {
        { w, b, first, PALI_ACT_NONE, NULL },
        { w, b, got, PALI_ACT_GELU_TANH_MUL, first },
    };
    memcpy(want, plain, bytes);
    pali_gelu_tanh_mul(c2, want, plain, n * m);
    pali_matmul_many(c2, x, n, many, 2);
    g_assert_cmpmem(first, bytes, plain, bytes);
    g_assert_cmpmem(got, bytes, want, bytes);
    g_free(first);
    g_free(other);
    g_free(want);
    g_free(got);
}

/* What one row of x on 16-bit integers (the AVX512-BF16 set's quantized
 * GEMV) may add: per block of 32, x becomes v·s with s = max |x| / 32767,
 * each value off by at most s/2. */
static double quant16_error(const float *xr, const float *wf, int64_t k)
{
    double e = 0;
    for (int64_t b = 0; b + 32 <= k; b += 32) {
        double a = 0, w = 0;
        for (int j = 0; j < 32; j++) {
            a = fmax(a, fabs(xr[b + j]));
            w += fabs(wf[b + j]);
        }
        e += 0.5 * a / 32767 * w;
    }
    return e;
}

/* got (n, m) = x·Wᵀ (+ b) on mc's set against ref, the scalar set's:
 * within the bound of the bf16/f32 sums (quantized decode's 16-bit
 * activations added), and finite.  Returns the worst |diff| as a share
 * of its bound. */
static double check_product(const MatmulCase *mc, const float *x, int64_t n,
                            const pali_tensor *w, const float *b,
                            const float *got, const float *ref)
{
    const int64_t k = pali_tensor_cols(w), m = pali_tensor_rows(w);
    // the operands as the reference multiplies them
    float *wf = g_new(float, k), *xr = g_new(float, k);
    double worst = 0;
    for (int64_t r = 0; r < m; r++) {
        pali_weights_rows_f32(w, r, r + 1, 0, k, mc->fast, wf, k);
        for (int64_t i = 0; i < n; i++) {
            double mag = 0;
            for (int64_t j = 0; j < k; j++) {
                xr[j] = mc->fast ? pali_round_bf16(x[i * k + j]) : x[i * k + j];
                mag += fabs((double)xr[j] * wf[j]);
            }
            double tol = 2 * gamma_k(k) * mag;
            if (mc->fast && pali_dtype_is_quant(mc->dtype))
                tol += U_BF16 * mag + quant16_error(xr, wf, k);
            if (b)
                tol += 2 * U_F32 * (mag + fabs(b[r]));
            const double d = fabs((double)got[i * m + r] - ref[i * m + r]);
            if (!(d <= tol)) // (a NaN fails too)
                g_error("%s %s %s, weights %d bytes past a line, n=%lld "
                        "k=%lld m=%lld: y[%lld][%lld] = %.9g, reference %.9g, "
                        "|diff| %.3g > %.3g",
                        pali_kernel_name((pali_kernel)mc->kernel),
                        mc->fast ? "fast" : "exact", pali_dtype_name(mc->dtype),
                        (int)((uintptr_t)w->data % 64), (long long)n,
                        (long long)k, (long long)m, (long long)i, (long long)r,
                        got[i * m + r], ref[i * m + r], d, tol);
            if (tol > 0 && d / tol > worst)
                worst = d / tol;
        }
    }
    g_free(wf);
    g_free(xr);
    return worst;
}

static void run_matmul_case(const MatmulCase *mc, const Shape *sh, GRand *rng)
{
    const int64_t n = sh->n, k = sh->k, m = sh->m;
    float *x = g_new(float, n *k), *w = g_new(float, m *k);
    float *bias = g_new(float, m);
    fill(rng, x, n * k, 2.0);
    fill(rng, w, m * k, 0.1);
    fill(rng, bias, m, 0.5);
    x[0] = 1e-30f; // a subnormal-ish product must not upset anything
    TestWeights tw;
    weights_make(&tw, mc->dtype, w, m, k);
    float *ref = g_new(float, n *m), *got = g_new(float, n *m),
          *got1 = g_new(float, n *m);

    pali_compute *cr = compute_new(PALI_KERNEL_SCALAR, 1, mc->fast, k, 0, 0);
    pali_compute *c2 = compute_new(mc->kernel, 2, mc->fast, k, 0, 0);
    pali_compute *c1 = compute_new(mc->kernel, 1, mc->fast, k, 0, 0);
    const bool with_bias = (n + m) % 2 == 0;
    const float *b = with_bias ? bias : NULL;
    pali_matmul(cr, x, n, &tw.t, b, ref);
    pali_matmul(c2, x, n, &tw.t, b, got);
    pali_matmul(c1, x, n, &tw.t, b, got1);
    g_assert_cmpmem(got, (size_t)(n * m) * 4, got1, (size_t)(n * m) * 4);
    check_fused_act(c2, c1, x, n, &tw.t, b, got, rng);

    const double worst = check_product(mc, x, n, &tw.t, b, got, ref);
    g_test_message("n=%lld k=%lld m=%lld: worst |diff| = %.2f of tolerance",
                   (long long)n, (long long)k, (long long)m, worst);
    // a value that is not finite reaches every output as the reference
    // has it (the 16-bit activations of quantized decode cannot hold it)
    x[k / 2] = (n + k) % 2 ? INFINITY : NAN;
    pali_matmul(cr, x, n, &tw.t, b, ref);
    pali_matmul(c2, x, n, &tw.t, b, got);
    for (int64_t i = 0; i < n * m; i++)
        if (isnan(got[i]) != isnan(ref[i]) || isinf(got[i]) != isinf(ref[i]))
            g_error("%s %s %s n=%lld k=%lld: y[%lld] = %g with x[%lld] = %g, "
                    "reference %g",
                    pali_kernel_name((pali_kernel)mc->kernel),
                    mc->fast ? "fast" : "exact", pali_dtype_name(mc->dtype),
                    (long long)n, (long long)k, (long long)i, got[i],
                    (long long)(k / 2), x[k / 2], ref[i]);
    compute_free(cr);
    compute_free(c1);
    compute_free(c2);
    weights_clear(&tw);
    g_free(x);
    g_free(w);
    g_free(bias);
    g_free(ref);
    g_free(got);
    g_free(got1);
}

static void test_matmul(gconstpointer data)
{
    const MatmulCase *mc = data;
    if (!supported(mc->kernel))
        return;
    GRand *rng = g_rand_new_with_seed(1234 + mc->kernel * 10 + mc->dtype);
    for (size_t i = 0; i < G_N_ELEMENTS(shapes); i++)
        run_matmul_case(mc, &shapes[i], rng);
    if (!pali_dtype_is_quant(mc->dtype))
        for (size_t i = 0; i < G_N_ELEMENTS(odd_shapes); i++)
            run_matmul_case(mc, &odd_shapes[i], rng);
    g_rand_free(rng);
}

/* Long products in fast precision: the activations are converted in
 * chunks of rows (shared by the threads on AMX), sized from k, and the
 * buffers from the widest k the compute was made for.  Products much
 * narrower than that widest k, with rows around and past a chunk, give the
 * same bits whatever the widest k and the thread count, stay inside their
 * buffers (AddressSanitizer), and match the sums of the bf16 operands. */
static void test_matmul_chunks(gconstpointer data)
{
    const int kernel = GPOINTER_TO_INT(data);
    if (!supported(kernel))
        return;
    static const Shape long_shapes[] = { { 1800, 2304, 32 },
                                         { 2100, 64, 40 },
                                         { 1830, 1152, 33 } };
    GRand *rng = g_rand_new_with_seed(77);
    for (size_t s = 0; s < G_N_ELEMENTS(long_shapes); s++) {
        const int64_t n = long_shapes[s].n, k = long_shapes[s].k,
                      m = long_shapes[s].m;
        float *x = g_new(float, n *k), *w = g_new(float, m *k);
        fill(rng, x, n * k, 2.0);
        fill(rng, w, m * k, 0.1);
        TestWeights tw;
        weights_make(&tw, PALI_DTYPE_BF16, w, m, k);
        const size_t bytes = (size_t)(n * m) * sizeof(float);
        float *y[3];
        const int threads[3] = { 2, 2, 1 };
        const int64_t max_k[3] = { 9216, k, 9216 };
        for (int i = 0; i < 3; i++) {
            pali_compute *c =
                compute_new(kernel, threads[i], true, max_k[i], 0, 0);
            y[i] = g_new(float, n *m);
            pali_matmul(c, x, n, &tw.t, NULL, y[i]);
            compute_free(c);
        }
        g_assert_cmpmem(y[0], bytes, y[1], bytes);
        g_assert_cmpmem(y[0], bytes, y[2], bytes);
        float *wf = g_new(float, k);
        for (int t = 0; t < 64; t++) {
            const int64_t i = g_rand_int_range(rng, 0, (gint32)n);
            const int64_t r = g_rand_int_range(rng, 0, (gint32)m);
            pali_weights_rows_f32(&tw.t, r, r + 1, 0, k, true, wf, k);
            double sum = 0, mag = 0;
            for (int64_t j = 0; j < k; j++) {
                const double p = (double)pali_round_bf16(x[i * k + j]) * wf[j];
                sum += p;
                mag += fabs(p);
            }
            g_assert_cmpfloat(fabs(y[0][i * m + r] - sum), <=,
                              gamma_k(k) * mag);
        }
        g_free(wf);
        for (int i = 0; i < 3; i++)
            g_free(y[i]);
        weights_clear(&tw);
        g_free(x);
        g_free(w);
    }
    g_rand_free(rng);
}

/* ---- attention ----------------------------------------------------------- */

typedef struct {
    int kernel;
    bool fast;
} AttnCase;

typedef struct {
    int64_t nq;
    int heads, kv_heads, hd;
    int64_t begin, end, capacity;
    float softcap;
} AttnShape;

static const AttnShape attn_shapes[] = {
    { 40, 4, 2, 16, 0, 70, 70, 50 },    // tiny Gemma: prefix, soft-capped
    { 33, 2, 2, 72, 0, 33, 33, 0 },     // SigLIP's head dim 72
    { 1, 4, 2, 64, 0, 97, 128, 50 },    // decode, causal
    { 1, 2, 1, 32, 45, 100, 128, 0 },   // decode, sliding window
    { 17, 2, 1, 128, 0, 300, 320, 30 }, // wider head, more keys
    // AMX's grouped heads: keys past one 512-key pass of v, a range that
    // starts inside a block, a last query block under 16 rows
    { 50, 4, 2, 64, 0, 600, 608, 50 },
    { 20, 2, 1, 72, 40, 580, 608, 0 },
    // four query heads per kv head: one head per work item
    { 24, 8, 2, 32, 0, 100, 128, 30 },
    // 1024 keys: rows of scores a key block more than 4 KB apart
    { 36, 2, 2, 72, 0, 1024, 1024, 0 },
};

/* Runs attention on compute c over keys/values stored by c's layout. */
static void attention_run(pali_compute *c, const AttnShape *sh, const float *q,
                          const float *kr, const float *vr, float *out)
{
    pali_kv_layout lay;
    pali_kv_layout_init(&lay, c, sh->hd, sh->capacity);
    void *k = pali_aligned_alloc(pali_kv_k_bytes(&lay, sh->kv_heads));
    void *v = pali_aligned_alloc(pali_kv_v_bytes(&lay, sh->kv_heads));
    memset(k, 0, pali_kv_k_bytes(&lay, sh->kv_heads));
    memset(v, 0, pali_kv_v_bytes(&lay, sh->kv_heads));
    const int64_t kvw = (int64_t)sh->kv_heads * sh->hd;
    pali_kv_store(c, &lay, sh->kv_heads, k, v, 0, sh->end, kr, kvw, vr, kvw);
    const int64_t qw = (int64_t)sh->heads * sh->hd;
    pali_attention_args a = {
        .q = q,
        .q_stride = qw,
        .n_queries = sh->nq,
        .n_heads = sh->heads,
        .n_kv_heads = sh->kv_heads,
        .lay = &lay,
        .k = k,
        .v = v,
        .key_begin = sh->begin,
        .key_end = sh->end,
        .scale = 1.0f / sqrtf((float)sh->hd),
        .softcap = sh->softcap,
        .out = out,
        .out_stride = qw,
    };
    pali_attention(c, &a);
    pali_aligned_free(k);
    pali_aligned_free(v);
}

static void run_attention_case(const AttnCase *ac, const AttnShape *sh,
                               GRand *rng)
{
    const int64_t qw = (int64_t)sh->heads * sh->hd;
    const int64_t kvw = (int64_t)sh->kv_heads * sh->hd;
    float *q = g_new(float, sh->nq *qw), *kr = g_new(float, sh->end *kvw),
          *vr = g_new(float, sh->end *kvw);
    fill(rng, q, sh->nq * qw, 3.0); // scores of several units: soft-cap bites
    fill(rng, kr, sh->end * kvw, 3.0);
    fill(rng, vr, sh->end * kvw, 1.0);
    float *ref = g_new0(float, sh->nq *qw), *got = g_new0(float, sh->nq *qw),
          *got1 = g_new0(float, sh->nq *qw);
    pali_compute *cr =
        compute_new(PALI_KERNEL_SCALAR, 1, ac->fast, 64, sh->capacity, sh->hd);
    pali_compute *c2 =
        compute_new(ac->kernel, 2, ac->fast, 64, sh->capacity, sh->hd);
    pali_compute *c1 =
        compute_new(ac->kernel, 1, ac->fast, 64, sh->capacity, sh->hd);
    attention_run(cr, sh, q, kr, vr, ref);
    attention_run(c2, sh, q, kr, vr, got);
    attention_run(c1, sh, q, kr, vr, got1);
    g_assert_cmpmem(got, (size_t)(sh->nq * qw) * 4, got1,
                    (size_t)(sh->nq * qw) * 4);

    // the bound, from the operands as both sides round them
    const float scale = 1.0f / sqrtf((float)sh->hd);
    const int group = sh->heads / sh->kv_heads;
    double *p = g_new(double, sh->end);
    double worst = 0;
    for (int64_t i = 0; i < sh->nq; i++)
        for (int h = 0; h < sh->heads; h++) {
            const int g = h / group;
            double eps_s = 0, max = -INFINITY, sum = 0;
            for (int64_t j = sh->begin; j < sh->end; j++) {
                double s = 0, mag = 0;
                for (int d = 0; d < sh->hd; d++) {
                    double qd = q[i * qw + h * sh->hd + d];
                    double kd = kr[j * kvw + g * sh->hd + d];
                    if (ac->fast) {
                        qd = pali_round_bf16((float)qd);
                        kd = pali_round_bf16((float)kd);
                    }
                    s += qd * kd;
                    mag += fabs(qd * kd);
                }
                s *= scale;
                if (sh->softcap > 0)
                    s = sh->softcap * tanh(s / sh->softcap);
                p[j] = s;
                max = s > max ? s : max;
                const double e = 2 * gamma_k(sh->hd) * mag * scale;
                eps_s = e > eps_s ? e : eps_s;
            }
            for (int64_t j = sh->begin; j < sh->end; j++)
                sum += (p[j] = exp(p[j] - max));
            const double eps = 2 * 4 * (eps_s + EPS_FN + 2 * U_F32);
            for (int d = 0; d < sh->hd; d++) {
                double pv = 0;
                for (int64_t j = sh->begin; j < sh->end; j++) {
                    double vd = vr[j * kvw + g * sh->hd + d];
                    if (ac->fast)
                        vd = pali_round_bf16((float)vd);
                    pv += p[j] / sum * fabs(vd);
                }
                double tol = (eps + 2 * gamma_k(sh->end - sh->begin + 32)) * pv;
                if (ac->fast)
                    tol += 2 * U_BF16 * pv;
                const int64_t at = i * qw + h * sh->hd + d;
                const double diff = fabs((double)got[at] - ref[at]);
                if (diff > tol)
                    g_error("%s %s attention nq=%lld hd=%d keys [%lld, %lld): "
                            "out[%lld][%d][%d] = %.9g, reference %.9g, "
                            "|diff| %.3g > %.3g",
                            pali_kernel_name((pali_kernel)ac->kernel),
                            ac->fast ? "fast" : "exact", (long long)sh->nq,
                            sh->hd, (long long)sh->begin, (long long)sh->end,
                            (long long)i, h, d, got[at], ref[at], diff, tol);
                if (diff / tol > worst)
                    worst = diff / tol;
            }
        }
    g_test_message("nq=%lld hd=%d keys [%lld, %lld): worst |diff| = %.2f of "
                   "tolerance",
                   (long long)sh->nq, sh->hd, (long long)sh->begin,
                   (long long)sh->end, worst);
    g_free(p);
    compute_free(cr);
    compute_free(c1);
    compute_free(c2);
    g_free(q);
    g_free(kr);
    g_free(vr);
    g_free(ref);
    g_free(got);
    g_free(got1);
}

static void test_attention(gconstpointer data)
{
    const AttnCase *ac = data;
    if (!supported(ac->kernel))
        return;
    GRand *rng = g_rand_new_with_seed(77 + ac->kernel);
    for (size_t i = 0; i < G_N_ELEMENTS(attn_shapes); i++)
        run_attention_case(ac, &attn_shapes[i], rng);
    g_rand_free(rng);
}

/* ---- row operations ------------------------------------------------------ */

static double ulps(double got, double want)
{
    const double unit = fmax(fabs(want), 0x1p-126) * U_F32 * 2;
    return fabs(got - want) / unit;
}

/* The soft-cap against cap·tanh(v / cap) in double, for the bound the LM
 * head's pre-pass (engine/lmhead.c) relies on: within 2⁻¹⁷·cap for every
 * v, over a dense sweep of [−10·cap, 10·cap] (tanh's polynomial, its
 * exp branch and the seam between them), beyond, and at ±inf. */
static void test_softcap_bound(gconstpointer data)
{
    const int kernel = GPOINTER_TO_INT(data);
    if (!supported(kernel))
        return;
    const pali_kernels *ks = pali_kernels_get((pali_kernel)kernel);
    enum {
        N = 1 << 16
    };
    float *x = g_new(float, N), *y = g_new(float, N);
    static const float caps[] = { 30, 50, 1, 1000 };
    double worst = 0;
    for (size_t c = 0; c < G_N_ELEMENTS(caps); c++) {
        const float cap = caps[c];
        for (int round = 0; round < 40; round++) {
            for (int i = 0; i < N; i++) {
                // evenly over ±10 caps, offset per round; the last
                // values far out and infinite
                const double t = ((double)i + round / 40.0) / N;
                x[i] = (float)((20 * t - 10) * cap);
            }
            x[N - 1] = INFINITY;
            x[N - 2] = -INFINITY;
            x[N - 3] = 1e30f;
            x[N - 4] = -3e38f;
            memcpy(y, x, sizeof(float) * N);
            ks->softcap(y, N, cap);
            for (int i = 0; i < N; i++) {
                const double want = cap * tanh((double)x[i] / cap);
                const double e = fabs(y[i] - want) / cap;
                worst = e > worst ? e : worst;
                if (!(e <= 0x1p-17))
                    g_error("softcap(%.9g, cap %g) = %.9g, tanh gives %.9g",
                            x[i], cap, y[i], want);
            }
        }
    }
    g_test_message("softcap against cap·tanh: worst %.3g cap", worst);
    g_free(x);
    g_free(y);
}

static void test_rowops(gconstpointer data)
{
    const int kernel = GPOINTER_TO_INT(data);
    if (!supported(kernel))
        return;
    const pali_kernels *ks = pali_kernels_get((pali_kernel)kernel);
    const pali_kernels *ref = pali_kernels_get(PALI_KERNEL_SCALAR);
    GRand *rng = g_rand_new_with_seed(5);
    enum {
        N = 4103
    }; // not a multiple of any vector width
    float *x = g_new(float, N), *a = g_new(float, N), *b = g_new(float, N),
          *u = g_new(float, N), *w = g_new(float, N), *bias = g_new(float, N);
    fill(rng, x, N, 12.0);
    for (int i = 0; i < 64; i++) // small arguments: tanh's polynomial
        x[i] = (float)(i - 32) * 0.02f;
    x[100] = 200;  // beyond exp's range after the shift: 0
    x[101] = -200; // tanh saturates
    fill(rng, u, N, 1.0);
    fill(rng, w, N, 0.2);
    fill(rng, bias, N, 0.2);

    // gelu_tanh and gelu·up: 0.5x(1 + t) with t within 4 ulp of 1
    memcpy(a, x, sizeof(float) * N);
    memcpy(b, x, sizeof(float) * N);
    ks->gelu_tanh(a, N);
    ref->gelu_tanh(b, N);
    for (int i = 0; i < N; i++) {
        const double tol = EPS_FN * (fabs(x[i]) + fabs(b[i])) + 1e-37;
        if (fabs(a[i] - b[i]) > tol)
            g_error("gelu_tanh(%.9g) = %.9g, reference %.9g", x[i], a[i], b[i]);
    }
    memcpy(a, x, sizeof(float) * N);
    memcpy(b, x, sizeof(float) * N);
    ks->gelu_tanh_mul(a, u, N);
    ref->gelu_tanh_mul(b, u, N);
    for (int i = 0; i < N; i++) {
        const double tol = EPS_FN *
                               (fabs(x[i]) + fabs(b[i] / (u[i] ? u[i] : 1))) *
                               fabs(u[i]) +
                           1e-37;
        g_assert_cmpfloat(fabs(a[i] - b[i]), <=, tol);
    }
    // soft-cap: cap·tanh(x/cap), tanh within 4 ulp (and 1/cap: 1 ulp)
    memcpy(a, x, sizeof(float) * N);
    memcpy(b, x, sizeof(float) * N);
    ks->softcap(a, N, 30);
    ref->softcap(b, N, 30);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        const double e = ulps(a[i], b[i]);
        worst = e > worst ? e : worst;
        g_assert_cmpfloat(e, <=, 8);
    }
    g_test_message("softcap: worst %.2f ulp", worst);
    // soft-capped softmax over rows of several lengths: each weight within
    // (tanh + exp + sum) relative error of the reference's
    for (int len = 1; len <= N; len = len * 3 + 1) {
        memcpy(a, x, sizeof(float) * len);
        memcpy(b, x, sizeof(float) * len);
        ks->softcap_softmax(a, len, 0.125f, len % 2 ? 50 : 0);
        ref->softcap_softmax(b, len, 0.125f, len % 2 ? 50 : 0);
        const double tol_rel = 4 * EPS_FN + 2 * gamma_k(len);
        for (int i = 0; i < len; i++)
            if (fabs(a[i] - b[i]) > tol_rel * b[i] + 1e-38)
                g_error("softmax len %d [%d]: %.9g, reference %.9g", len, i,
                        a[i], b[i]);
    }
    // norms over Gemma's and SigLIP's widths
    const int widths[] = { 64, 1152, 2304, 4103 };
    for (size_t t = 0; t < G_N_ELEMENTS(widths); t++) {
        const int d = widths[t];
        // lane sums of d/64 terms and a handful of roundings after
        const double tol_rel = gamma_k(d / 64 + 8) + 8 * U_F32;
        ks->rmsnorm(x, d, w, 1e-6f, a);
        ref->rmsnorm(x, d, w, 1e-6f, b);
        for (int i = 0; i < d; i++)
            g_assert_cmpfloat(fabs(a[i] - b[i]), <=,
                              tol_rel * fabs(b[i]) + 1e-37);
        ks->layernorm(x, d, w, bias, 1e-6f, a);
        ref->layernorm(x, d, w, bias, 1e-6f, b);
        for (int i = 0; i < d; i++) {
            const double t_mag = fabs(b[i] - bias[i]) + fabs(bias[i]);
            g_assert_cmpfloat(fabs(a[i] - b[i]), <=, tol_rel * t_mag + 1e-37);
        }
    }
    g_free(x);
    g_free(a);
    g_free(b);
    g_free(u);
    g_free(w);
    g_free(bias);
    g_rand_free(rng);
}

/* ---- output layouts (compute.h) ------------------------------------------ */

static size_t packed_at(int64_t m, int64_t t, int64_t j)
{
    const int64_t half_pairs = (m + 31) / 32 * 16;
    return (size_t)(((t / 16) * half_pairs + j / 2) * 32 + (t % 16) * 2 +
                    j % 2);
}

/* packed (PACKED, n rows of m) holds rows (n, m) rounded to bf16 and
 * zeros in the padding. */
static void assert_packed(const uint16_t *packed, const float *rows, int64_t n,
                          int64_t m)
{
    const int64_t np = (n + 31) / 32 * 32, mp = (m + 31) / 32 * 32;
    for (int64_t t = 0; t < np; t++)
        for (int64_t j = 0; j < mp; j++) {
            const uint16_t g = packed[packed_at(m, t, j)];
            if (t < n && j < m)
                g_assert_cmpuint(g, ==, pali_f32_to_bf16(rows[t * m + j]));
            else
                g_assert_cmpuint(g, ==, 0);
        }
}

/* A product stored in PACKED holds, element by element, the bits of the
 * same product in ROWS rounded to bf16, zeros in the padding; the gated
 * product (gate and up in one pass, compute.h) holds those of the ROWS
 * chain up → gelu_tanh(gate)·up; and the MLP chain gated → down
 * (pali_matmul_prepacked) gives the bits of the chain in rows, for bf16
 * weights (read in place) and q8 (converted). */
static void test_layouts(gconstpointer data)
{
    const int kernel = GPOINTER_TO_INT(data);
    if (!supported(kernel))
        return;
    // rows of x, k, outputs of up/gate (= down's k), outputs of down
    static const int64_t layout_shapes[][4] = {
        { 40, 64, 80, 24 },
        { 16, 96, 64, 40 },
        { 33, 32, 100, 36 },
        { 300, 64, 96, 33 },
        { 17, 588, 48, 32 },
        { 70, 512, 200, 48 },
        // packed activations past AMX_WHOLE_BYTES: groups of panels
        { 600, 1152, 100, 40 },
    };
    pali_compute *c = compute_new(kernel, 2, true, 1024, 0, 0);
    if (!pali_matmul_layouts(c, 16)) {
        compute_free(c);
        return; // only the AMX set stores these layouts
    }
    g_assert_false(pali_matmul_layouts(c, 15));
    GRand *rng = g_rand_new_with_seed(31);
    static const pali_dtype dtypes[] = { PALI_DTYPE_BF16, PALI_DTYPE_Q8 };
    for (size_t s = 0; s < G_N_ELEMENTS(layout_shapes); s++)
        for (size_t di = 0; di < G_N_ELEMENTS(dtypes); di++) {
            const int64_t n = layout_shapes[s][0], k = layout_shapes[s][1],
                          ff = layout_shapes[s][2], d = layout_shapes[s][3];
            const pali_dtype dt = dtypes[di];
            if (pali_dtype_is_quant(dt) && k % PALI_QUANT_BLOCK != 0)
                continue;
            float *x = g_new(float, n *k), *wu = g_new(float, ff *k),
                  *wg = g_new(float, ff *k), *wd = g_new(float, d *ff),
                  *bias = g_new(float, ff);
            fill(rng, x, n * k, 2.0);
            fill(rng, wu, ff * k, 0.2);
            fill(rng, wg, ff * k, 0.2);
            fill(rng, wd, d * ff, 0.2);
            fill(rng, bias, ff, 0.5);
            TestWeights tu, tg, td;
            weights_make(&tu, dt, wu, ff, k);
            weights_make(&tg, dt, wg, ff, k);
            weights_make(&td, PALI_DTYPE_BF16, wd, d, ff);
            const size_t rows_bytes = (size_t)(n * ff) * sizeof(float);
            const size_t packed_bytes =
                pali_layout_bytes(PALI_LAYOUT_PACKED, n, ff);
            float *up = g_malloc(rows_bytes), *gate = g_malloc(rows_bytes);
            uint16_t *gate_p = g_malloc(packed_bytes);
            // garbage first: every element of the layout must be written
            memset(gate_p, 0x7f, packed_bytes);
            float *y = g_new(float, n *d), *y_p = g_new(float, n *d);

            // the chain, in rows and gated (gate with a bias)
            const pali_product rows[2] = {
                { &tu.t, NULL, up, PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS },
                { &tg.t, bias, gate, PALI_ACT_GELU_TANH_MUL, up,
                  PALI_LAYOUT_ROWS },
            };
            pali_matmul_many(c, x, n, rows, 2);
            pali_matmul(c, gate, n, &td.t, NULL, y);
            const pali_product gated = { &tg.t,
                                         bias,
                                         (float *)gate_p,
                                         PALI_ACT_GELU_TANH_MUL,
                                         NULL,
                                         PALI_LAYOUT_PACKED,
                                         &tu.t };
            pali_matmul_many(c, x, n, &gated, 1);
            pali_matmul_prepacked(c, gate_p, n, &td.t, NULL, y_p);
            g_assert_cmpmem(y, (size_t)(n * d) * 4, y_p, (size_t)(n * d) * 4);

            assert_packed(gate_p, gate, n, ff);

            // PACKED with a bias and an activation, not gated
            const pali_product act_rows = { &tg.t, bias,
                                            gate,  PALI_ACT_GELU_TANH,
                                            NULL,  PALI_LAYOUT_ROWS };
            const pali_product act_packed = { &tg.t,
                                              bias,
                                              (float *)gate_p,
                                              PALI_ACT_GELU_TANH,
                                              NULL,
                                              PALI_LAYOUT_PACKED };
            memset(gate_p, 0x7f, packed_bytes);
            pali_matmul_many(c, x, n, &act_rows, 1);
            pali_matmul_many(c, x, n, &act_packed, 1);
            assert_packed(gate_p, gate, n, ff);

            weights_clear(&tu);
            weights_clear(&tg);
            weights_clear(&td);
            g_free(x);
            g_free(wu);
            g_free(wg);
            g_free(wd);
            g_free(bias);
            g_free(up);
            g_free(gate);
            g_free(gate_p);
            g_free(y);
            g_free(y_p);
        }
    g_rand_free(rng);
    compute_free(c);
}

/* ---- weights off a 64-byte boundary ------------------------------------ */

/* bf16 weights (m, k) as a checkpoint may hold them: `off` bytes past a
 * 64-byte boundary, NaN in every byte around them (a product must not
 * read a value outside the tensor into a result). */
typedef struct {
    pali_tensor t;
    uint16_t *base;
} OffWeights;

static void off_weights_make(OffWeights *ow, const float *w, int64_t m,
                             int64_t k, int off)
{
    const size_t bytes = (size_t)(m * k) * 2, total = bytes + 256;
    ow->base = pali_aligned_alloc(total);
    for (size_t i = 0; i < total / 2; i++)
        ow->base[i] = 0xffc1; // a NaN
    uint16_t *data = (uint16_t *)((char *)ow->base + 64 + off);
    for (int64_t i = 0; i < m * k; i++)
        data[i] = pali_f32_to_bf16(w[i]);
    ow->t = (pali_tensor){ .name = "w",
                           .dtype = PALI_DTYPE_BF16,
                           .n_dims = 2,
                           .shape = { m, k },
                           .data = data,
                           .nbytes = bytes };
}

/* y = x·Wᵀ in fast precision on mc's set against the scalar set's
 * (check_product). */
static void assert_near_reference(pali_compute *cr, const MatmulCase *mc,
                                  const float *x, int64_t n,
                                  const pali_tensor *w, const float *y)
{
    float *ref = g_new(float, n *pali_tensor_rows(w));
    pali_matmul(cr, x, n, w, NULL, ref);
    check_product(mc, x, n, w, NULL, y, ref);
    g_free(ref);
}

/* Checkpoint tensors lie at any even byte offset from a cache line (the
 * AMX set then packs the activations shifted so that the rows read in
 * place load whole lines, kernels.h: pali_mm.shift): products read only
 * their own weights and stay within the reference's bound; products of
 * one x whose weights are off by different amounts (packed apart) give
 * each the bits it gives alone; and the gated product (gate and up off
 * alike: the bits of the ROWS chain; off differently: the bits of the
 * same product on aligned copies). */
static void test_matmul_offsets(gconstpointer data)
{
    const int kernel = GPOINTER_TO_INT(data);
    if (!supported(kernel))
        return;
    // rows of x, k, outputs: k read in place on AMX (a multiple of 32
    // whose row stride spreads over L1), at and past one k block, a
    // partial last panel, whole and in groups of panels; a last step
    // taken into the block before (k = 256, 288 and 1280 with the
    // shift's step, whole and in a group); rows on 2 and 4 offsets of
    // L1's sets, read in place only where the shift lines them up (k =
    // 1024 and 512: in place at 8, 24 and 40 bytes off, copied at 2 and
    // 62)
    static const int64_t off_shapes[][3] = {
        { 40, 64, 48 },   { 17, 96, 33 },    { 33, 256, 64 },
        { 70, 288, 100 }, { 600, 1152, 40 }, { 520, 1280, 32 },
        { 40, 1024, 40 }, { 300, 512, 72 },
    };
    static const int offs[] = { 0, 2, 8, 24, 40, 62 };
    pali_compute *cr = compute_new(PALI_KERNEL_SCALAR, 1, true, 1280, 0, 0);
    pali_compute *c = compute_new(kernel, 2, true, 1280, 0, 0);
    const bool layouts = pali_matmul_layouts(c, 16);
    const MatmulCase mc = { kernel, true, PALI_DTYPE_BF16 };
    GRand *rng = g_rand_new_with_seed(77);
    for (size_t s = 0; s < G_N_ELEMENTS(off_shapes); s++) {
        const int64_t n = off_shapes[s][0], k = off_shapes[s][1],
                      m = off_shapes[s][2];
        const size_t ybytes = (size_t)(n * m) * 4;
        float *x = g_new(float, n *k), *wa = g_new(float, m *k),
              *wb = g_new(float, m *k);
        fill(rng, x, n * k, 2.0);
        fill(rng, wa, m * k, 0.2);
        fill(rng, wb, m * k, 0.2);
        float *y[3], *alone[3];
        for (int i = 0; i < 3; i++) {
            y[i] = g_malloc(ybytes);
            alone[i] = g_malloc(ybytes);
        }
        for (size_t o = 0; o < G_N_ELEMENTS(offs); o++) {
            const int off = offs[o], other = (off + 8) % 64;
            OffWeights a, b, a2, aligned_a, aligned_b;
            off_weights_make(&a, wa, m, k, off);
            off_weights_make(&b, wb, m, k, off);
            off_weights_make(&a2, wa, m, k, other);
            off_weights_make(&aligned_a, wa, m, k, 0);
            off_weights_make(&aligned_b, wb, m, k, 0);
            pali_matmul(c, x, n, &a.t, NULL, alone[0]);
            assert_near_reference(cr, &mc, x, n, &a.t, alone[0]);
            pali_matmul(c, x, n, &b.t, NULL, alone[1]);
            pali_matmul(c, x, n, &a2.t, NULL, alone[2]);
            assert_near_reference(cr, &mc, x, n, &a2.t, alone[2]);
            // one x, weights off alike and not
            const pali_product many[3] = {
                { &a.t, NULL, y[0], PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS },
                { &b.t, NULL, y[1], PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS },
                { &a2.t, NULL, y[2], PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS },
            };
            for (int count = 2; count <= 3; count++) {
                pali_matmul_many(c, x, n, many, count);
                for (int i = 0; i < count; i++)
                    g_assert_cmpmem(y[i], ybytes, alone[i], ybytes);
            }
            if (!layouts)
                goto next;
            // gated, gate and up off alike: the ROWS chain's bits
            const size_t pbytes = pali_layout_bytes(PALI_LAYOUT_PACKED, n, m);
            uint16_t *packed = g_malloc(pbytes), *want = g_malloc(pbytes);
            const pali_product chain[2] = {
                { &b.t, NULL, y[1], PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS },
                { &a.t, NULL, y[0], PALI_ACT_GELU_TANH_MUL, y[1],
                  PALI_LAYOUT_ROWS },
            };
            pali_matmul_many(c, x, n, chain, 2);
            pali_product gated = { &a.t,
                                   NULL,
                                   (float *)packed,
                                   PALI_ACT_GELU_TANH_MUL,
                                   NULL,
                                   PALI_LAYOUT_PACKED,
                                   &b.t };
            pali_matmul_many(c, x, n, &gated, 1);
            assert_packed(packed, y[0], n, m);
            // off differently: as on aligned copies
            gated.w = &a2.t;
            pali_matmul_many(c, x, n, &gated, 1);
            gated.w = &aligned_a.t;
            gated.other_w = &aligned_b.t;
            gated.y = (float *)want;
            pali_matmul_many(c, x, n, &gated, 1);
            // (the layout of no reader; pbytes has room for a shift)
            const size_t lbytes =
                (size_t)((n + 31) / 32 * 32 * ((m + 31) / 32 * 32)) * 2;
            g_assert_cmpmem(packed, lbytes, want, lbytes);
            g_free(packed);
            g_free(want);
        next:
            pali_aligned_free(a.base);
            pali_aligned_free(b.base);
            pali_aligned_free(a2.base);
            pali_aligned_free(aligned_a.base);
            pali_aligned_free(aligned_b.base);
        }
        for (int i = 0; i < 3; i++) {
            g_free(y[i]);
            g_free(alone[i]);
        }
        g_free(x);
        g_free(wa);
        g_free(wb);
    }
    g_rand_free(rng);
    compute_free(c);
    compute_free(cr);
}

/* A PACKED output stored for a reader whose weights lie off a cache line
 * (pali_product.reader): the layout takes the reader's shift (compute.h:
 * its outputs `shift` columns on, zeros around them, every element
 * written), and the reader's pali_matmul_prepacked gives the bits of
 * pali_matmul on the same product in ROWS — with the reader's rows read
 * in place where that shift lines them up (down's k = 512 and 1024: two
 * and four offsets of L1's sets, kernels-amx.c), or copied where it
 * cannot be a whole pair (an odd shift). */
static void test_layout_shift(gconstpointer data)
{
    const int kernel = GPOINTER_TO_INT(data);
    if (!supported(kernel))
        return;
    // rows of x, k, outputs of up/gate (= down's k), outputs of down
    static const int64_t shift_shapes[][4] = {
        { 40, 64, 512, 24 },
        { 70, 96, 1024, 40 },
        { 17, 32, 512, 36 },
    };
    static const int offs[] = { 0, 8, 40, 6 };
    pali_compute *c = compute_new(kernel, 2, true, 1024, 0, 0);
    if (!pali_matmul_layouts(c, 16)) {
        compute_free(c);
        return;
    }
    GRand *rng = g_rand_new_with_seed(57);
    bool shifted = false;
    for (size_t si = 0; si < G_N_ELEMENTS(shift_shapes); si++) {
        const int64_t n = shift_shapes[si][0], k = shift_shapes[si][1],
                      ff = shift_shapes[si][2], d = shift_shapes[si][3];
        float *x = g_new(float, n *k), *wu = g_new(float, ff *k),
              *wg = g_new(float, ff *k), *wd = g_new(float, d *ff);
        fill(rng, x, n * k, 2.0);
        fill(rng, wu, ff * k, 0.2);
        fill(rng, wg, ff * k, 0.2);
        fill(rng, wd, d * ff, 0.2);
        TestWeights tu, tg;
        weights_make(&tu, PALI_DTYPE_BF16, wu, ff, k);
        weights_make(&tg, PALI_DTYPE_BF16, wg, ff, k);
        float *up = g_new(float, n *ff), *gate = g_new(float, n *ff);
        const size_t pbytes = pali_layout_bytes(PALI_LAYOUT_PACKED, n, ff);
        uint16_t *packed = g_malloc(pbytes);
        float *y = g_new(float, n *d), *y_p = g_new(float, n *d);
        const pali_product rows[2] = {
            { &tu.t, NULL, up, PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS },
            { &tg.t, NULL, gate, PALI_ACT_GELU_TANH_MUL, up, PALI_LAYOUT_ROWS },
        };
        pali_matmul_many(c, x, n, rows, 2);
        for (size_t o = 0; o < G_N_ELEMENTS(offs); o++) {
            OffWeights od;
            off_weights_make(&od, wd, d, ff, offs[o]);
            const int sh = pali_matmul_shift(c, n, &od.t);
            // an even shift where the offset is whole pairs, else none
            g_assert_cmpint(sh, ==, offs[o] % 4 == 0 ? offs[o] / 2 : 0);
            shifted = shifted || sh > 0;
            for (size_t i = 0; i < pbytes / 2; i++)
                packed[i] = 0xffc1; // NaN: every element must be written
            const pali_product gated = { &tg.t,
                                         NULL,
                                         (float *)packed,
                                         PALI_ACT_GELU_TANH_MUL,
                                         NULL,
                                         PALI_LAYOUT_PACKED,
                                         &tu.t,
                                         &od.t };
            pali_matmul_many(c, x, n, &gated, 1);
            const int64_t r = (ff + sh + 31) / 32 * 32;
            for (int64_t t = 0; t < (n + 31) / 32 * 32; t++)
                for (int64_t col = 0; col < r; col++) {
                    const uint16_t g =
                        packed[((t / 16) * (r / 2) + col / 2) * 32 +
                               (t % 16) * 2 + col % 2];
                    const bool in = t < n && col >= sh && col < sh + ff;
                    g_assert_cmpuint(
                        g, ==,
                        in ? pali_f32_to_bf16(gate[t * ff + col - sh]) : 0);
                }
            pali_matmul(c, gate, n, &od.t, NULL, y);
            pali_matmul_prepacked(c, packed, n, &od.t, NULL, y_p);
            g_assert_cmpmem(y, (size_t)(n * d) * 4, y_p, (size_t)(n * d) * 4);
            pali_aligned_free(od.base);
        }
        weights_clear(&tu);
        weights_clear(&tg);
        g_free(x);
        g_free(wu);
        g_free(wg);
        g_free(wd);
        g_free(up);
        g_free(gate);
        g_free(packed);
        g_free(y);
        g_free(y_p);
    }
    g_assert_true(shifted);
    g_rand_free(rng);
    compute_free(c);
}

/* ---- products of one x in one call ----------------------------------- */

/* pali_matmul_many runs the products of one x together (AMX: one claimed
 * run over all their panels, the next product's first rows fetched
 * during the last panel of the one before, a block's epilogue finished
 * during the next product's): each product's outputs get the bits they
 * get alone, whatever the mix of output counts (partial panels), biases
 * and weight formats, and past the most products a run takes; with few
 * rows (each panel a group, the next claim's rows fetched ahead), many
 * (groups of panels) and more than a chunk (runs per chunk), fast and
 * exact, on 2 threads. */
static void test_matmul_runs(gconstpointer data)
{
    const int kernel = GPOINTER_TO_INT(data);
    if (!supported(kernel))
        return;
    static const int64_t run_shapes[][2] = {
        { 40, 96 }, { 260, 256 }, { 600, 1152 }, { 1000, 64 }
    };
    static const int64_t outs[] = { 64, 45, 32, 100, 17, 96, 33 };
    static const pali_dtype formats[] = { PALI_DTYPE_BF16, PALI_DTYPE_Q8,
                                          PALI_DTYPE_BF16, PALI_DTYPE_Q4,
                                          PALI_DTYPE_F32,  PALI_DTYPE_BF16,
                                          PALI_DTYPE_F16 };
    enum {
        COUNT = G_N_ELEMENTS(outs)
    };
    GRand *rng = g_rand_new_with_seed(91);
    for (int f = 0; f < 2; f++) {
        pali_compute *c = compute_new(kernel, 2, f == 1, 1152, 0, 0);
        for (size_t s = 0; s < G_N_ELEMENTS(run_shapes); s++) {
            const int64_t n = run_shapes[s][0], k = run_shapes[s][1];
            float *x = g_new(float, n *k);
            fill(rng, x, n * k, 2.0);
            TestWeights tw[COUNT];
            pali_product many[COUNT];
            float *alone[COUNT], *bias[COUNT];
            for (int i = 0; i < COUNT; i++) {
                const int64_t m = outs[i];
                float *w = g_new(float, m *k);
                fill(rng, w, m * k, 0.2);
                weights_make(&tw[i], formats[i], w, m, k);
                g_free(w);
                bias[i] = NULL;
                if (i % 2 == 1) {
                    bias[i] = g_new(float, m);
                    fill(rng, bias[i], m, 0.5);
                }
                alone[i] = g_new(float, n *m);
                pali_matmul(c, x, n, &tw[i].t, bias[i], alone[i]);
                many[i] =
                    (pali_product){ &tw[i].t,      bias[i], g_new(float, n *m),
                                    PALI_ACT_NONE, NULL,    PALI_LAYOUT_ROWS };
            }
            for (int count = 2; count <= COUNT; count++) {
                for (int i = 0; i < count; i++)
                    memset(many[i].y, 0xff, (size_t)(n * outs[i]) * 4);
                pali_matmul_many(c, x, n, many, count);
                for (int i = 0; i < count; i++)
                    g_assert_cmpmem(many[i].y, (size_t)(n * outs[i]) * 4,
                                    alone[i], (size_t)(n * outs[i]) * 4);
            }
            for (int i = 0; i < COUNT; i++) {
                weights_clear(&tw[i]);
                g_free(bias[i]);
                g_free(alone[i]);
                g_free(many[i].y);
            }
            g_free(x);
        }
        compute_free(c);
    }
    g_rand_free(rng);
}

/* ---- work shared out in claims (pool.c) ------------------------------- */

typedef struct ClaimJob {
    pali_work *work;
    int64_t most;
    int slow;    /* this thread starts late */
    gint *owner; /* per unit: 1 + the thread that claimed it */
} ClaimJob;

static void claim_worker(void *arg, int ith, int nth)
{
    (void)nth;
    ClaimJob *j = arg;
    if (ith == j->slow)
        g_usleep(20000);
    int64_t b, e;
    while (pali_work_claim(j->work, ith, j->most, &b, &e)) {
        g_assert_cmpint(b, <, e);
        g_assert_cmpint(e - b, <=, j->most);
        for (int64_t u = b; u < e; u++)
            g_assert_true(
                g_atomic_int_compare_and_exchange(&j->owner[u], 0, ith + 1));
    }
}

/* Every unit goes to exactly one claim of at most `most` consecutive
 * units, whatever the thread count and share sizes; a thread that starts
 * late finds some of its share taken by the others (and they take
 * nothing more once all is claimed). */
static void test_work_claims(void)
{
    static const int64_t units[] = { 0, 1, 3, 72, 1000 };
    static const int64_t most[] = { 1, 4, 8 };
    for (int nth = 1; nth <= 4; nth++) {
        pali_pool *pool = NULL;
        pali_error err;
        g_assert_cmpint(pali_pool_new(nth, &pool, &err), ==, PALI_OK);
        pali_work *work = pali_work_new(nth);
        g_assert_nonnull(work);
        for (size_t u = 0; u < G_N_ELEMENTS(units); u++)
            for (size_t m = 0; m < G_N_ELEMENTS(most); m++) {
                ClaimJob j = { work, most[m], nth > 1 ? 1 : -1, NULL };
                j.owner = g_new0(gint, units[u] + 1);
                pali_work_reset(work, units[u]);
                pali_pool_run(pool, claim_worker, &j);
                int64_t shared_out = 0;
                for (int64_t i = 0; i < units[u]; i++)
                    shared_out += j.owner[i] != 0;
                g_assert_cmpint(shared_out, ==, units[u]);
                if (nth > 1 && units[u] >= 72) {
                    // the late thread's share [units/nth, 2·units/nth)
                    // starts with units another thread took
                    int64_t b, e;
                    pali_split(units[u], 1, nth, &b, &e);
                    g_assert_cmpint(j.owner[b], !=, 2);
                }
                g_free(j.owner);
            }
        pali_work_free(work);
        pali_pool_free(pool);
    }
}

/* ---- registration -------------------------------------------------------- */

/* Vector buffers are 64-byte aligned; buffers of 4 MB and more start on
 * a 2 MB boundary (so that they can sit in 2 MB pages), and all of each
 * is writable. */
static void test_aligned_alloc(void)
{
    const size_t sizes[] = {
        0, 1, 100, 4096, (4u << 20) - 1, 4u << 20, (5u << 20) + 3
    };
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        unsigned char *p = pali_aligned_alloc(sizes[i]);
        g_assert_nonnull(p);
        const uintptr_t align = sizes[i] >= (4u << 20) ? 2u << 20 : 64;
        g_assert_cmpuint((uintptr_t)p % align, ==, 0);
        memset(p, 0x5a, sizes[i]);
        if (sizes[i] > 0)
            g_assert_cmpuint(p[sizes[i] - 1], ==, 0x5a);
        pali_aligned_free(p);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/kernels/cpu", test_cpu);
    g_test_add_func("/engine/kernels/aligned-alloc", test_aligned_alloc);
    g_test_add_func("/engine/kernels/quant-roundtrip", test_quant_roundtrip);
    g_test_add_func("/engine/pool/work-claims", test_work_claims);
    static const pali_dtype dtypes[] = { PALI_DTYPE_F32, PALI_DTYPE_BF16,
                                         PALI_DTYPE_F16, PALI_DTYPE_Q8,
                                         PALI_DTYPE_Q4 };
    static MatmulCase mcases[PALI_KERNEL_COUNT][2][G_N_ELEMENTS(dtypes)];
    static AttnCase acases[PALI_KERNEL_COUNT][2];
    for (int k = 0; k < PALI_KERNEL_COUNT; k++) {
        const char *name = pali_kernel_name((pali_kernel)k);
        for (int f = 0; f < 2; f++) {
            for (size_t d = 0; d < G_N_ELEMENTS(dtypes); d++) {
                MatmulCase *mc = &mcases[k][f][d];
                *mc = (MatmulCase){ k, f == 1, dtypes[d] };
                g_autofree char *path = g_strdup_printf(
                    "/engine/kernels/%s/matmul-%s/%s", name,
                    f ? "fast" : "exact", pali_dtype_name(dtypes[d]));
                g_test_add_data_func(path, mc, test_matmul);
            }
            acases[k][f] = (AttnCase){ k, f == 1 };
            g_autofree char *path = g_strdup_printf(
                "/engine/kernels/%s/attention-%s", name, f ? "fast" : "exact");
            g_test_add_data_func(path, &acases[k][f], test_attention);
        }
        g_autofree char *path =
            g_strdup_printf("/engine/kernels/%s/rowops", name);
        g_test_add_data_func(path, GINT_TO_POINTER(k), test_rowops);
        g_autofree char *q8row =
            g_strdup_printf("/engine/kernels/%s/quant-rows", name);
        g_test_add_data_func(q8row, GINT_TO_POINTER(k), test_quant_rows);
        g_autofree char *capped =
            g_strdup_printf("/engine/kernels/%s/softcap-bound", name);
        g_test_add_data_func(capped, GINT_TO_POINTER(k), test_softcap_bound);
        g_autofree char *chunks =
            g_strdup_printf("/engine/kernels/%s/matmul-chunks", name);
        g_test_add_data_func(chunks, GINT_TO_POINTER(k), test_matmul_chunks);
        g_autofree char *layouts =
            g_strdup_printf("/engine/kernels/%s/layouts", name);
        g_test_add_data_func(layouts, GINT_TO_POINTER(k), test_layouts);
        g_autofree char *offsets =
            g_strdup_printf("/engine/kernels/%s/matmul-offsets", name);
        g_test_add_data_func(offsets, GINT_TO_POINTER(k), test_matmul_offsets);
        g_autofree char *shifted =
            g_strdup_printf("/engine/kernels/%s/layout-shift", name);
        g_test_add_data_func(shifted, GINT_TO_POINTER(k), test_layout_shift);
        g_autofree char *runs =
            g_strdup_printf("/engine/kernels/%s/matmul-runs", name);
        g_test_add_data_func(runs, GINT_TO_POINTER(k), test_matmul_runs);
    }
    return g_test_run();
}
