/* kernels-vec.h — the f32 vector kernels, written once over a small set of
 * primitives that kernels-avx2.c (8 lanes) and kernels-avx512.c (16 lanes)
 * define before including this file; every function here is static, so
 * each includer gets its own copy compiled for its instruction set.
 *
 * What is here (see kernels.h for the arithmetic):
 *   - exp and tanh on vectors (Cephes' expf reduction and polynomial; tanh
 *     as x + x³·P(x²) below 0.625, fitted to 0.9 ulp, else
 *     1 − 2/(e^{2|x|} + 1)), and the row operations built on them;
 *   - weight products: many rows (GEMM) multiply a packed (KC, NR) panel
 *     of W — converted to f32 and transposed once per panel and k block —
 *     by MR rows of x, each output one FMA chain in k order (so this
 *     GEMM gives the same bits on every vector set); few rows (GEMV,
 *     decode) stream each weight row once per dtype;
 *   - attention's score and value products on the f32 layout (kernels.h),
 *     the same register-blocked kernel with K blocks or V rows as panels.
 *
 * Primitives the includer defines: vf (VL floats), VL, MR (GEMM rows),
 * vf_zero, vf_set1, vf_load, vf_store, vf_load_n, vf_store_n, vf_add,
 * vf_sub, vf_mul, vf_fmadd (a·b + c), vf_max, vf_min, vf_abs,
 * vf_copysign, vf_blend_lt (a < b ? x : y), vf_recip, vf_round,
 * vf_ldexp, vf_all_lt, vf_hsum, vf_hmax, vf_from_bf16, vf_from_bf16_n,
 * vf_from_f16, vf_from_i8, vf_from_u4, vf_round_bf16, vf_transpose (VL
 * vectors). */
#ifndef PALI_KERNELS_VEC_H
#define PALI_KERNELS_VEC_H

#include <math.h>
#include <string.h>

#include "kernels-vecmath.h"
#include "kernels.h"
#include "quant.h"

/* GEMM output columns per panel: two vectors. */
#define NR (2 * VL)
/* k per packed panel: (KC, NR) f32 and MR rows of x stay in L1. */
#define KC 256

/* ---- row operations ----------------------------------------------------- */

static void vec_gelu_tanh(float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        vf_store(x + i, v_gelu_tanh(vf_load(x + i)));
    if (i < n)
        vf_store_n(x + i, v_gelu_tanh(vf_load_n(x + i, (int)(n - i))),
                   (int)(n - i));
}

static void vec_gelu_tanh_mul(float *g, const float *u, int64_t n)
{
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        vf_store(g + i, vf_mul(v_gelu_tanh(vf_load(g + i)), vf_load(u + i)));
    if (i < n) {
        const int r = (int)(n - i);
        vf_store_n(
            g + i,
            vf_mul(v_gelu_tanh(vf_load_n(g + i, r)), vf_load_n(u + i, r)), r);
    }
}

static void vec_softcap(float *x, int64_t n, float cap)
{
    const vf c = vf_set1(cap), inv = vf_set1(1.0f / cap);
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        vf_store(x + i, vf_mul(v_tanh(vf_mul(vf_load(x + i), inv)), c));
    if (i < n) {
        const int r = (int)(n - i);
        vf_store_n(x + i, vf_mul(v_tanh(vf_mul(vf_load_n(x + i, r), inv)), c),
                   r);
    }
}

/* The softmax up to its last step: x = exp(x' − max x') for x' = scale·x,
 * soft-capped when cap > 0; returns 1 / Σ, by which the caller scales. */
static float vec_softmax_exp(float *x, int64_t n, float scale, float cap)
{
    // x = scale·x, soft-capped, and the maximum, in one pass
    const vf sc = vf_set1(scale), c = vf_set1(cap);
    const vf inv_cap = vf_set1(1.0f / cap);
    vf vmax = vf_set1(-INFINITY), vmax1 = vf_set1(-INFINITY);
    int64_t i = 0;
    for (; i + 2 * VL <= n; i += 2 * VL) { // two max chains
        vf v = vf_mul(vf_load(x + i), sc), w = vf_mul(vf_load(x + i + VL), sc);
        if (cap > 0) {
            v = vf_mul(v_tanh(vf_mul(v, inv_cap)), c);
            w = vf_mul(v_tanh(vf_mul(w, inv_cap)), c);
        }
        vf_store(x + i, v);
        vf_store(x + i + VL, w);
        vmax = vf_max(vmax, v);
        vmax1 = vf_max(vmax1, w);
    }
    vmax = vf_max(vmax, vmax1);
    for (; i + VL <= n; i += VL) {
        vf v = vf_mul(vf_load(x + i), sc);
        if (cap > 0)
            v = vf_mul(v_tanh(vf_mul(v, inv_cap)), c);
        vf_store(x + i, v);
        vmax = vf_max(vmax, v);
    }
    if (i < n) {
        const int r = (int)(n - i);
        vf v = vf_mul(vf_load_n(x + i, r), sc);
        if (cap > 0)
            v = vf_mul(v_tanh(vf_mul(v, inv_cap)), c);
        vf_store_n(x + i, v, r);
    }
    float max = vf_hmax(vmax);
    for (; i < n; i++)
        max = x[i] > max ? x[i] : max;
    const vf m = vf_set1(max);
    vf s0 = vf_zero(), s1 = vf_zero();
    for (i = 0; i + 2 * VL <= n; i += 2 * VL) {
        const vf e0 = v_exp(vf_sub(vf_load(x + i), m));
        const vf e1 = v_exp(vf_sub(vf_load(x + i + VL), m));
        vf_store(x + i, e0);
        vf_store(x + i + VL, e1);
        s0 = vf_add(s0, e0);
        s1 = vf_add(s1, e1);
    }
    for (; i < n; i += VL) {
        const int r = n - i < VL ? (int)(n - i) : VL;
        const vf e = v_exp(vf_sub(vf_load_n(x + i, r), m));
        vf_store_n(x + i, e, r);
        s0 = vf_add(s0, vf_load_n(x + i, r)); // the r new values only
    }
    return (float)(1.0 / (double)vf_hsum(vf_add(s0, s1)));
}

static void vec_softcap_softmax(float *x, int64_t n, float scale, float cap)
{
    const vf inv = vf_set1(vec_softmax_exp(x, n, scale, cap));
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        vf_store(x + i, vf_mul(vf_load(x + i), inv));
    if (i < n)
        vf_store_n(x + i, vf_mul(vf_load_n(x + i, (int)(n - i)), inv),
                   (int)(n - i));
}

/* Σ x (or Σ (x − c)² when squares) over n values: four vector partial
 * sums in a fixed order, then their lanes, finished in double. */
static double vec_sum(const float *x, int64_t n, bool squares, float c)
{
    vf s[4] = { vf_zero(), vf_zero(), vf_zero(), vf_zero() };
    const vf vc = vf_set1(c);
    int64_t i = 0;
    for (; i + 4 * VL <= n; i += 4 * VL)
        for (int j = 0; j < 4; j++) {
            const vf v = vf_sub(vf_load(x + i + j * VL), vc);
            s[j] = squares ? vf_fmadd(v, v, s[j]) : vf_add(s[j], v);
        }
    double tail = 0;
    for (; i < n; i++) {
        const double v = (double)x[i] - c;
        tail += squares ? v * v : v;
    }
    return (double)vf_hsum(vf_add(vf_add(s[0], s[1]), vf_add(s[2], s[3]))) +
           tail;
}

static void vec_layernorm(const float *x, int64_t d, const float *w,
                          const float *b, float eps, float *out)
{
    const float mean = (float)(vec_sum(x, d, false, 0) / (double)d);
    const double var = vec_sum(x, d, true, mean) / (double)d;
    const vf rstd = vf_set1((float)(1.0 / sqrt(var + (double)eps)));
    const vf m = vf_set1(mean);
    int64_t i = 0;
    for (; i + VL <= d; i += VL) {
        const vf t = vf_mul(vf_sub(vf_load(x + i), m), rstd);
        vf_store(out + i, vf_fmadd(t, vf_load(w + i), vf_load(b + i)));
    }
    if (i < d) {
        const int r = (int)(d - i);
        const vf t = vf_mul(vf_sub(vf_load_n(x + i, r), m), rstd);
        vf_store_n(out + i,
                   vf_fmadd(t, vf_load_n(w + i, r), vf_load_n(b + i, r)), r);
    }
}

static void vec_rmsnorm(const float *x, int64_t d, const float *w, float eps,
                        float *out)
{
    const float mean_sq = (float)(vec_sum(x, d, true, 0) / (double)d);
    const vf scale = vf_set1(1.0f / sqrtf(mean_sq + eps));
    const vf one = vf_set1(1.0f);
    int64_t i = 0;
    for (; i + VL <= d; i += VL)
        vf_store(out + i, vf_mul(vf_mul(vf_load(x + i), scale),
                                 vf_add(one, vf_load(w + i))));
    if (i < d) {
        const int r = (int)(d - i);
        vf_store_n(out + i,
                   vf_mul(vf_mul(vf_load_n(x + i, r), scale),
                          vf_add(one, vf_load_n(w + i, r))),
                   r);
    }
}

static void vec_round_bf16_row(const float *x, int64_t n, float *out)
{
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        vf_store(out + i, vf_round_bf16(vf_load(x + i)));
    if (i < n)
        vf_store_n(out + i, vf_round_bf16(vf_load_n(x + i, (int)(n - i))),
                   (int)(n - i));
}

/* ---- weights as f32 ----------------------------------------------------- */

/* Block scales converted per this many blocks (binary16 → f32 in vectors:
 * the scalar conversion per block would cost as much as the block). */
#define SCALE_CHUNK 64

/* Scales [b, b + n) of a quantized row as f32, n ≤ SCALE_CHUNK. */
static inline void scales_f32(const uint16_t *scales, int64_t b, int n,
                              float *out)
{
    int i = 0;
    for (; i + VL <= n; i += VL)
        vf_store(out + i, vf_from_f16(scales + b + i));
    for (; i < n; i++)
        out[i] = _cvtsh_ss(scales[b + i]); // F16C: both sets have it
}

/* Columns [c0, c0 + n) of row r of W as f32 (rounded to bf16 values when
 * fast: f32 and f16 weights; bf16 ones already are, and quantized ones
 * stay exact, which the fast tolerance allows). */
static void weight_row_f32(const pali_tensor *w, int64_t r, int64_t c0,
                           int64_t n, bool fast, float *out)
{
    const int64_t k = pali_tensor_cols(w);
    int64_t i = 0;
    switch (w->dtype) {
    case PALI_DTYPE_F32: {
        const float *src = (const float *)w->data + r * k + c0;
        if (fast)
            vec_round_bf16_row(src, n, out);
        else
            memcpy(out, src, (size_t)n * sizeof(float));
        return;
    }
    case PALI_DTYPE_BF16: {
        const uint16_t *src = (const uint16_t *)w->data + r * k + c0;
        for (; i + VL <= n; i += VL)
            vf_store(out + i, vf_from_bf16(src + i));
        if (i < n)
            vf_store_n(out + i, vf_from_bf16_n(src + i, (int)(n - i)),
                       (int)(n - i));
        return;
    }
    case PALI_DTYPE_F16: {
        const uint16_t *src = (const uint16_t *)w->data + r * k + c0;
        for (; i + VL <= n; i += VL) {
            const vf v = vf_from_f16(src + i);
            vf_store(out + i, fast ? vf_round_bf16(v) : v);
        }
        for (; i < n; i++) {
            const float v = pali_f16_to_f32(src[i]);
            out[i] = fast ? pali_round_bf16(v) : v;
        }
        return;
    }
    case PALI_DTYPE_Q8:
    case PALI_DTYPE_Q4:
        if (c0 % PALI_QUANT_BLOCK == 0 && n % PALI_QUANT_BLOCK == 0) {
            const uint8_t *codes = pali_quant_codes(w, r);
            const uint16_t *scales = pali_quant_scales(w, r);
            float sc[SCALE_CHUNK];
            for (int64_t b = c0 / PALI_QUANT_BLOCK; i < n;
                 b++, i += PALI_QUANT_BLOCK) {
                const int64_t at = (b - c0 / PALI_QUANT_BLOCK) % SCALE_CHUNK;
                if (at == 0) {
                    const int64_t left = (n - i) / PALI_QUANT_BLOCK;
                    scales_f32(scales, b,
                               (int)(left < SCALE_CHUNK ? left : SCALE_CHUNK),
                               sc);
                }
                const vf d = vf_set1(sc[at]);
                for (int part = 0; part < PALI_QUANT_BLOCK / 2; part += VL) {
                    vf lo, hi;
                    if (w->dtype == PALI_DTYPE_Q8) {
                        lo = vf_from_i8((const int8_t *)codes + b * 32 + part);
                        hi = vf_from_i8((const int8_t *)codes + b * 32 + 16 +
                                        part);
                    } else {
                        vf_from_u4c(codes + b * 16 + part, &lo, &hi);
                    }
                    vf_store(out + i + part, vf_mul(lo, d));
                    vf_store(out + i + 16 + part, vf_mul(hi, d));
                }
            }
            return;
        }
        pali_weights_read_f32(w, r * k + c0, n, out);
        return;
    }
}

/* ---- GEMM: MR rows of x times a packed (kc, NR) panel ------------------- */

/* c (mr, nc) [+]= alpha · a (mr, kc) · b (kc, ≤ NR at ldb), a's element
 * (i, kk) at a[i·lda + kk·ldk]; columns past
 * nc are neither read from b nor stored.  `accumulate` continues the sums
 * already in c (the next k block): one FMA chain per element in k order. */
static inline __attribute__((always_inline)) void
kern(const int mr, int64_t kc, const float *a, int64_t lda, int64_t ldk,
     const float *b, int64_t ldb, float *c, int64_t ldc, int nc,
     bool accumulate, float alpha)
{
    vf c0[MR], c1[MR];
    const int n0 = nc < VL ? nc : VL, n1 = nc > VL ? nc - VL : 0;
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
        if (i < mr) {
            c0[i] = accumulate ? vf_load_n(c + i * ldc, n0) : vf_zero();
            c1[i] = accumulate ? vf_load_n(c + i * ldc + VL, n1) : vf_zero();
        }
    if (nc == NR) {
        for (int64_t kk = 0; kk < kc; kk++) {
            const vf b0 = vf_load(b + kk * ldb),
                     b1 = vf_load(b + kk * ldb + VL);
#pragma GCC unroll 16
            for (int i = 0; i < MR; i++)
                if (i < mr) {
                    const vf ai = vf_set1(a[i * lda + kk * ldk]);
                    c0[i] = vf_fmadd(ai, b0, c0[i]);
                    c1[i] = vf_fmadd(ai, b1, c1[i]);
                }
        }
    } else {
        for (int64_t kk = 0; kk < kc; kk++) {
            const vf b0 = vf_load_n(b + kk * ldb, n0);
            const vf b1 = vf_load_n(b + kk * ldb + VL, n1);
#pragma GCC unroll 16
            for (int i = 0; i < MR; i++)
                if (i < mr) {
                    const vf ai = vf_set1(a[i * lda + kk * ldk]);
                    c0[i] = vf_fmadd(ai, b0, c0[i]);
                    c1[i] = vf_fmadd(ai, b1, c1[i]);
                }
        }
    }
    const vf al = vf_set1(alpha);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
        if (i < mr) {
            if (alpha != 1.0f) {
                c0[i] = vf_mul(c0[i], al);
                c1[i] = vf_mul(c1[i], al);
            }
            vf_store_n(c + i * ldc, c0[i], n0);
            vf_store_n(c + i * ldc + VL, c1[i], n1);
        }
}

/* One case per row count 1..MR, each kern with a constant row count: the
 * includer of KERN_CASES defines KERN_CASE(R). */
// clang-format off
#if MR > 6
#define KERN_CASES_HI \
    KERN_CASE(7) KERN_CASE(8) KERN_CASE(9) KERN_CASE(10) KERN_CASE(11) \
    KERN_CASE(12)
#else
#define KERN_CASES_HI
#endif
#define KERN_CASES \
    KERN_CASE(1) KERN_CASE(2) KERN_CASE(3) KERN_CASE(4) KERN_CASE(5) \
    KERN_CASE(6) KERN_CASES_HI
// clang-format on

/* kern with mr as a compile-time constant, for 1 ≤ mr ≤ MR. */
static void kern_rows(int mr, int64_t kc, const float *a, int64_t lda,
                      const float *b, int64_t ldb, float *c, int64_t ldc,
                      int nc, bool accumulate, float alpha)
{
#define KERN_CASE(R)                                                           \
    case R:                                                                    \
        kern(R, kc, a, lda, 1, b, ldb, c, ldc, nc, accumulate, alpha);         \
        return;
    switch (mr) {
        KERN_CASES
    }
#undef KERN_CASE
}

/* Rows [j0, j0 + nc) × columns [k0, k0 + kc) of W → bp (kc, NR), f32,
 * zero past nc.  tmp holds (NR, KC) floats. */
static void pack_panel(const pali_tensor *w, int64_t j0, int nc, int64_t k0,
                       int64_t kc, bool fast, float *tmp, float *bp)
{
    for (int c = 0; c < NR; c++) {
        if (c < nc)
            weight_row_f32(w, j0 + c, k0, kc, fast, tmp + c * KC);
        else
            memset(tmp + c * KC, 0, (size_t)kc * sizeof(float));
    }
    int64_t kk = 0;
    for (; kk + VL <= kc; kk += VL)
        for (int g = 0; g < NR; g += VL) {
            vf rows[VL];
            for (int t = 0; t < VL; t++)
                rows[t] = vf_load(tmp + (g + t) * KC + kk);
            vf_transpose(rows);
            for (int t = 0; t < VL; t++)
                vf_store(bp + (kk + t) * NR + g, rows[t]);
        }
    for (; kk < kc; kk++)
        for (int c = 0; c < NR; c++)
            bp[kk * NR + c] = tmp[c * KC + kk];
}

/* kern on a packed block of x: a (kc, MR) k-major, so every broadcast is
 * one base register and a constant offset. */
static void kern_packed_rows(int mr, int64_t kc, const float *a, const float *b,
                             float *c, int64_t ldc, int nc, bool accumulate)
{
#define KERN_CASE(R)                                                           \
    case R: kern(R, kc, a, 1, MR, b, NR, c, ldc, nc, accumulate, 1.0f); return;
    switch (mr) {
        KERN_CASES
    }
#undef KERN_CASE
}

/* Bytes of packed x per thread: rows of x are taken in chunks that fit. */
#define GEMM_PACK_BYTES (8u << 20)

static int64_t gemm_chunk_rows(int64_t k)
{
    int64_t rows = (int64_t)GEMM_PACK_BYTES / (int64_t)sizeof(float) / k;
    rows = rows / MR * MR;
    return rows < MR ? MR : rows;
}

static size_t vec_gemm_scratch(int64_t max_k)
{
    // tmp (NR, KC), bp (KC, NR), packed x (chunk rows, k): for every
    // k ≤ max_k, at most GEMM_PACK_BYTES, or MR rows where k is wider
    // (a narrower k packs more rows than max_k does, not more bytes)
    const size_t packed = (size_t)(MR * max_k) * sizeof(float);
    return (size_t)(2 * NR * KC) * sizeof(float) +
           (packed > GEMM_PACK_BYTES ? packed : GEMM_PACK_BYTES);
}

/* Rows [0, rows) of x (k wide) → ap: blocks of MR rows, each (k, MR)
 * k-major, zero past `rows`; rounded to bf16 values when fast.  VL columns
 * of a block at a time: its MR rows (MR ≤ VL; zero vectors below)
 * transposed, each column's first MR lanes stored. */
static void pack_rows(const float *x, int64_t rows, int64_t k, bool fast,
                      float *ap)
{
    for (int64_t b = 0; b < rows; b += MR) {
        float *dst = ap + b * k;
        const int valid = rows - b < MR ? (int)(rows - b) : MR;
        for (int64_t kk = 0; kk < k; kk += VL) {
            const int w = k - kk < VL ? (int)(k - kk) : VL;
            vf r[VL];
            for (int i = 0; i < VL; i++) {
                r[i] =
                    i < valid ? vf_load_n(x + (b + i) * k + kk, w) : vf_zero();
                if (fast)
                    r[i] = vf_round_bf16(r[i]);
            }
            vf_transpose(r);
            for (int t = 0; t < w; t++)
                vf_store_n(dst + (kk + t) * MR, r[t], MR);
        }
    }
}

/* The weight lines of rows [j, j + nc) × columns [k0, k0 + kc) of a bf16,
 * f16 or f32 W in its own storage (none for other formats), to fetch a
 * few at a time: per row, one every 64 bytes of its `bytes` and its last
 * byte's, which covers a row that starts anywhere in a line.  (row, at):
 * the next one. */
typedef struct block_lines {
    const char *first;
    int64_t stride, bytes;
    int per_row, total;
    int row;
    int64_t at;
} block_lines;

/* Fetches the next `count` lines of bl into L2. */
static inline void block_lines_fetch(block_lines *bl, int count)
{
    for (; count > 0 && bl->row * bl->per_row < bl->total; count--) {
        __builtin_prefetch(bl->first + bl->row * bl->stride +
                               (bl->at < bl->bytes ? bl->at : bl->bytes - 1),
                           0, 2);
        bl->at += 64;
        if (bl->at >= bl->bytes + 64) {
            bl->at = 0;
            bl->row++;
        }
    }
}

static block_lines weight_block_lines(const pali_tensor *w, int64_t j, int nc,
                                      int64_t k0, int64_t kc)
{
    block_lines bl = { NULL, 0, 0, 0, 0, 0, 0 };
    const int esz = w->dtype == PALI_DTYPE_F32    ? 4
                    : w->dtype == PALI_DTYPE_BF16 ? 2
                    : w->dtype == PALI_DTYPE_F16  ? 2
                                                  : 0;
    if (esz == 0 || nc <= 0)
        return bl;
    const int64_t k = pali_tensor_cols(w);
    bl.first = (const char *)w->data + (j * k + k0) * esz;
    bl.stride = k * esz;
    bl.bytes = kc * esz;
    bl.per_row = (int)((bl.bytes + 63) / 64) + 1;
    bl.total = bl.per_row * nc;
    return bl;
}

static void vec_gemm(const pali_mm *mm, int64_t r0, int64_t r1, void *scratch)
{
    float *tmp = scratch;      // (NR, KC)
    float *bp = tmp + NR * KC; // (KC, NR)
    float *ap = bp + KC * NR;  // (chunk rows / MR, k, MR)
    const int64_t n = mm->n, k = mm->k, m = mm->m;
    const int64_t chunk = gemm_chunk_rows(k);
    for (int64_t c0 = 0; c0 < n; c0 += chunk) {
        const int64_t rows = n - c0 < chunk ? n - c0 : chunk;
        pack_rows(mm->x + c0 * k, rows, k, mm->fast, ap);
        for (int64_t j0 = r0; j0 < r1; j0 += NR) {
            const int nc = r1 - j0 < NR ? (int)(r1 - j0) : NR;
            for (int64_t k0 = 0; k0 < k; k0 += KC) {
                const int64_t kc = k - k0 < KC ? k - k0 : KC;
                pack_panel(mm->w, j0, nc, k0, kc, mm->fast, tmp, bp);
                // the next block's weights, fetched into L2 over this
                // one's token blocks (its 32 rows' pieces are too
                // scattered for the hardware prefetcher; into L1 they
                // would evict the packed panel): 3B-224 exact time to
                // first token 2.7 % shorter, 6 interleaved pairs
                block_lines next = { NULL, 0, 0, 0, 0, 0, 0 };
                if (k0 + KC < k)
                    next =
                        weight_block_lines(mm->w, j0, nc, k0 + KC,
                                           k - k0 - KC < KC ? k - k0 - KC : KC);
                else if (j0 + NR < r1)
                    next = weight_block_lines(
                        mm->w, j0 + NR,
                        r1 - j0 - NR < NR ? (int)(r1 - j0 - NR) : NR, 0,
                        k < KC ? k : KC);
                const int64_t steps = (rows + MR - 1) / MR;
                const int per_step = (int)((next.total + steps - 1) / steps);
                for (int64_t i0 = 0; i0 < rows; i0 += MR) {
                    const int mr = rows - i0 < MR ? (int)(rows - i0) : MR;
                    block_lines_fetch(&next, per_step);
                    kern_packed_rows(mr, kc, ap + i0 * k + k0 * MR, bp,
                                     mm->y + (c0 + i0) * m + j0, m, nc, k0 > 0);
                }
            }
            if (mm->bias)
                for (int64_t i = c0; i < c0 + rows; i++)
                    for (int c = 0; c < nc; c += VL) {
                        const int w = nc - c < VL ? nc - c : VL;
                        float *yr = mm->y + i * m + j0 + c;
                        vf_store_n(yr,
                                   vf_add(vf_load_n(yr, w),
                                          vf_load_n(mm->bias + j0 + c, w)),
                                   w);
                    }
        }
    }
}

/* ---- GEMV: up to PALI_GEMV_MAX_ROWS rows of x ---------------------------
 * Each weight row is read once for all rows of x; two partial sums per
 * row of x (even and odd vectors) then a fixed-order horizontal sum. */

#define GEMV_ROWS PALI_GEMV_MAX_ROWS
/* Bytes ahead of the weight stream a GEMV prefetches (32 cache lines: the
 * hardware prefetcher alone leaves a decode step ~15 % short of the read
 * bandwidth; 16 lines left q8 decode ~9 % slower than 32). */
#define GEMV_PREFETCH 2048

static inline void gemv_store(const pali_mm *mm, int64_t r, const vf *acc)
{
    for (int i = 0; i < mm->n; i++) {
        const float v = vf_hsum(vf_add(acc[2 * i], acc[2 * i + 1]));
        mm->y[i * mm->m + r] = mm->bias ? v + mm->bias[r] : v;
    }
}

/* Weights already as f32 (f32 rows, or f16 rows converted into wrow). */
static void gemv_f32_row(const pali_mm *mm, const float *x, const float *w,
                         int64_t r)
{
    const int64_t k = mm->k;
    const int n = (int)mm->n;
    vf acc[2 * GEMV_ROWS];
    for (int i = 0; i < 2 * GEMV_ROWS; i++)
        acc[i] = vf_zero();
    int64_t kk = 0;
    for (; kk + 2 * VL <= k; kk += 2 * VL) {
        const vf w0 = vf_load(w + kk), w1 = vf_load(w + kk + VL);
        for (int i = 0; i < n; i++) {
            acc[2 * i] = vf_fmadd(vf_load(x + i * k + kk), w0, acc[2 * i]);
            acc[2 * i + 1] =
                vf_fmadd(vf_load(x + i * k + kk + VL), w1, acc[2 * i + 1]);
        }
    }
    for (; kk < k; kk += VL) {
        const int rem = k - kk < VL ? (int)(k - kk) : VL;
        const vf w0 = vf_load_n(w + kk, rem);
        for (int i = 0; i < n; i++)
            acc[2 * i] =
                vf_fmadd(vf_load_n(x + i * k + kk, rem), w0, acc[2 * i]);
    }
    gemv_store(mm, r, acc);
}

static void gemv_bf16_row(const pali_mm *mm, const float *x, const uint16_t *w,
                          int64_t r)
{
    const int64_t k = mm->k;
    const int n = (int)mm->n;
    vf acc[2 * GEMV_ROWS];
    for (int i = 0; i < 2 * GEMV_ROWS; i++)
        acc[i] = vf_zero();
    int64_t kk = 0;
    for (; kk + 2 * VL <= k; kk += 2 * VL) {
        _mm_prefetch((const char *)(w + kk) + GEMV_PREFETCH, _MM_HINT_T0);
        const vf w0 = vf_from_bf16(w + kk), w1 = vf_from_bf16(w + kk + VL);
        for (int i = 0; i < n; i++) {
            acc[2 * i] = vf_fmadd(vf_load(x + i * k + kk), w0, acc[2 * i]);
            acc[2 * i + 1] =
                vf_fmadd(vf_load(x + i * k + kk + VL), w1, acc[2 * i + 1]);
        }
    }
    for (; kk < k; kk += VL) {
        const int rem = k - kk < VL ? (int)(k - kk) : VL;
        const vf w0 = vf_from_bf16_n(w + kk, rem);
        for (int i = 0; i < n; i++)
            acc[2 * i] =
                vf_fmadd(vf_load_n(x + i * k + kk, rem), w0, acc[2 * i]);
    }
    gemv_store(mm, r, acc);
}

/* One block of 32 quantized weights as two f32 vectors per VL lanes:
 * lo holds weights [part, part + VL), hi [16 + part, 16 + part + VL). */
static inline __attribute__((always_inline)) void
quant_block(bool q8, const uint8_t *codes, int64_t b, int part, vf *lo, vf *hi)
{
    if (q8) {
        *lo = vf_from_i8((const int8_t *)codes + b * 32 + part);
        *hi = vf_from_i8((const int8_t *)codes + b * 32 + 16 + part);
    } else {
        vf_from_u4c(codes + b * 16 + part, lo, hi);
    }
}

/* q8/q4 weights, n rows of x (a compile-time constant): per block,
 * t = Σ q·x over its 32 weights, then acc += d·t, even blocks into acc0
 * and odd ones into acc1 (two chains: the FMA latency is hidden). */
static inline __attribute__((always_inline)) void
gemv_quant_n(const pali_mm *mm, const float *x, int64_t r, const int n)
{
    const int64_t k = mm->k, nb = k / PALI_QUANT_BLOCK;
    const bool q8 = mm->w->dtype == PALI_DTYPE_Q8;
    const uint8_t *codes = pali_quant_codes(mm->w, r);
    const uint16_t *scales = pali_quant_scales(mm->w, r);
    vf acc[2 * GEMV_ROWS];
#pragma GCC unroll 8
    for (int i = 0; i < 2 * GEMV_ROWS; i++)
        acc[i] = vf_zero();
    float sc[SCALE_CHUNK];
    for (int64_t b = 0; b < nb; b += 2) {
        if (b % SCALE_CHUNK == 0)
            scales_f32(scales, b,
                       (int)(nb - b < SCALE_CHUNK ? nb - b : SCALE_CHUNK), sc);
#pragma GCC unroll 2
        for (int j = 0; j < 2; j++) {
            if (b + j >= nb)
                break;
            const vf d = vf_set1(sc[(b + j) % SCALE_CHUNK]);
            const float *xb = x + (b + j) * PALI_QUANT_BLOCK;
            vf t[GEMV_ROWS];
#pragma GCC unroll 4
            for (int i = 0; i < GEMV_ROWS; i++)
                t[i] = vf_zero();
#pragma GCC unroll 2
            for (int part = 0; part < PALI_QUANT_BLOCK / 2; part += VL) {
                vf lo, hi;
                quant_block(q8, codes, b + j, part, &lo, &hi);
#pragma GCC unroll 4
                for (int i = 0; i < GEMV_ROWS; i++)
                    if (i < n) {
                        t[i] = vf_fmadd(vf_load(xb + i * k + part), lo, t[i]);
                        t[i] =
                            vf_fmadd(vf_load(xb + i * k + 16 + part), hi, t[i]);
                    }
            }
#pragma GCC unroll 4
            for (int i = 0; i < GEMV_ROWS; i++)
                if (i < n)
                    acc[2 * i + j] = vf_fmadd(t[i], d, acc[2 * i + j]);
        }
    }
    gemv_store(mm, r, acc);
}

/* The decode case, one row of x, written out: two blocks per step into
 * two accumulators, nothing on the stack. */
static void gemv_quant_1(const pali_mm *mm, const float *x, int64_t r)
{
    const int64_t nb = mm->k / PALI_QUANT_BLOCK;
    const bool q8 = mm->w->dtype == PALI_DTYPE_Q8;
    const uint8_t *codes = pali_quant_codes(mm->w, r);
    const uint16_t *scales = pali_quant_scales(mm->w, r);
    vf acc0 = vf_zero(), acc1 = vf_zero();
    float sc[SCALE_CHUNK];
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        if (b % SCALE_CHUNK == 0)
            scales_f32(scales, b,
                       (int)(nb - b < SCALE_CHUNK ? nb - b : SCALE_CHUNK), sc);
        const float *x0 = x + b * PALI_QUANT_BLOCK, *x1 = x0 + 32;
        // a pair of blocks is one or half a cache line
        _mm_prefetch((const char *)codes + (q8 ? 32 : 16) * b + GEMV_PREFETCH,
                     _MM_HINT_T0);
        vf t0 = vf_zero(), t1 = vf_zero();
#pragma GCC unroll 2
        for (int part = 0; part < PALI_QUANT_BLOCK / 2; part += VL) {
            vf lo0, hi0, lo1, hi1;
            quant_block(q8, codes, b, part, &lo0, &hi0);
            quant_block(q8, codes, b + 1, part, &lo1, &hi1);
            t0 = vf_fmadd(vf_load(x0 + part), lo0, t0);
            t1 = vf_fmadd(vf_load(x1 + part), lo1, t1);
            t0 = vf_fmadd(vf_load(x0 + 16 + part), hi0, t0);
            t1 = vf_fmadd(vf_load(x1 + 16 + part), hi1, t1);
        }
        acc0 = vf_fmadd(t0, vf_set1(sc[b % SCALE_CHUNK]), acc0);
        acc1 = vf_fmadd(t1, vf_set1(sc[(b + 1) % SCALE_CHUNK]), acc1);
    }
    if (b < nb) { // an odd last block
        if (b % SCALE_CHUNK == 0)
            scales_f32(scales, b, 1, sc);
        const float *x0 = x + b * PALI_QUANT_BLOCK;
        vf t0 = vf_zero();
        for (int part = 0; part < PALI_QUANT_BLOCK / 2; part += VL) {
            vf lo0, hi0;
            quant_block(q8, codes, b, part, &lo0, &hi0);
            t0 = vf_fmadd(vf_load(x0 + part), lo0, t0);
            t0 = vf_fmadd(vf_load(x0 + 16 + part), hi0, t0);
        }
        acc0 = vf_fmadd(t0, vf_set1(sc[b % SCALE_CHUNK]), acc0);
    }
    const vf acc[2] = { acc0, acc1 };
    gemv_store(mm, r, acc);
}

static void gemv_quant_row(const pali_mm *mm, const float *x, int64_t r)
{
    switch (mm->n) {
    case 1: gemv_quant_1(mm, x, r); break;
    case 2: gemv_quant_n(mm, x, r, 2); break;
    case 3: gemv_quant_n(mm, x, r, 3); break;
    default: gemv_quant_n(mm, x, r, 4); break;
    }
}

static size_t vec_gemv_scratch(int64_t max_k)
{
    // rounded x (GEMV_ROWS, k) and one converted weight row (k)
    return (size_t)(GEMV_ROWS + 1) * (size_t)max_k * sizeof(float);
}

static void vec_gemv(const pali_mm *mm, int64_t r0, int64_t r1, void *scratch)
{
    const int64_t k = mm->k;
    const float *x = mm->x;
    float *wrow = (float *)scratch + GEMV_ROWS * k; // (k)
    if (mm->fast) {
        float *xr = scratch; // (n, k)
        vec_round_bf16_row(mm->x, mm->n * k, xr);
        x = xr;
    }
    for (int64_t r = r0; r < r1; r++) {
        switch (mm->w->dtype) {
        case PALI_DTYPE_F32:
            if (!mm->fast) {
                gemv_f32_row(mm, x, (const float *)mm->w->data + r * k, r);
                break;
            }
            __attribute__((fallthrough)); // rounded to bf16 first
        case PALI_DTYPE_F16:
            weight_row_f32(mm->w, r, 0, k, mm->fast, wrow);
            gemv_f32_row(mm, x, wrow, r);
            break;
        case PALI_DTYPE_BF16:
            gemv_bf16_row(mm, x, (const uint16_t *)mm->w->data + r * k, r);
            break;
        case PALI_DTYPE_Q8:
        case PALI_DTYPE_Q4: gemv_quant_row(mm, x, r); break;
        }
    }
}

static size_t vec_matmul_scratch(int64_t max_k)
{
    const size_t a = vec_gemm_scratch(max_k), b = vec_gemv_scratch(max_k);
    return a > b ? a : b;
}

static void vec_matmul(const pali_mm *mm, int64_t r0, int64_t r1, void *scratch)
{
    if (mm->n <= PALI_GEMV_MAX_ROWS)
        vec_gemv(mm, r0, r1, scratch);
    else
        vec_gemm(mm, r0, r1, scratch);
}

/* ---- attention on the f32 layout ---------------------------------------- */

static int64_t vec_round_up(int64_t n, int64_t to)
{
    return (n + to - 1) / to * to;
}

static void vec_attn_scores(const pali_attn_block *b)
{
    const pali_kv_layout *l = b->lay;
    const int hd = l->hd;
    const float *q = b->q;
    int64_t lda = b->q_stride;
    if (l->round) {             // fast precision: bf16 values in f32
        float *qr = b->scratch; // (nq, hd)
        for (int i = 0; i < b->nq; i++)
            vec_round_bf16_row(b->q + i * b->q_stride, hd, qr + i * hd);
        q = qr;
        lda = hd;
    }
    const float *k = (const float *)b->k + b->key0 * hd;
    const int64_t n = vec_round_up(b->n_keys, PALI_KV_BLOCK);
    for (int64_t j = 0; j < n; j += PALI_KV_BLOCK) {
        const float *blk = k + j * hd; // (hd, 32)
        for (int c = 0; c < PALI_KV_BLOCK; c += NR)
            for (int i0 = 0; i0 < b->nq; i0 += MR) {
                const int mr = b->nq - i0 < MR ? b->nq - i0 : MR;
                kern_rows(mr, hd, q + i0 * lda, lda, blk + c, PALI_KV_BLOCK,
                          b->s + i0 * b->s_stride + j + c, b->s_stride, NR,
                          false, 1.0f);
            }
    }
}

static void vec_attn_values(const pali_attn_block *b)
{
    const pali_kv_layout *l = b->lay;
    const int hd = l->hd;
    const int64_t n = vec_round_up(b->n_keys, PALI_KV_BLOCK);
    const float *v = (const float *)b->v + b->key0 * hd;
    if (l->round)
        for (int i = 0; i < b->nq; i++)
            vec_round_bf16_row(b->s + i * b->s_stride, n,
                               b->s + i * b->s_stride);
    for (int c = 0; c < hd; c += NR) {
        const int nc = hd - c < NR ? hd - c : NR;
        for (int i0 = 0; i0 < b->nq; i0 += MR) {
            const int mr = b->nq - i0 < MR ? b->nq - i0 : MR;
            kern_rows(mr, n, b->s + i0 * b->s_stride, b->s_stride, v + c, hd,
                      b->out + i0 * b->out_stride + c, b->out_stride, nc, false,
                      1.0f);
        }
    }
}

#endif /* PALI_KERNELS_VEC_H */
