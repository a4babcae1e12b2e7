/* kernels-avx512bf16.c — the AVX512-BF16 kernel set: fast-precision
 * products on vdpbf16ps (each f32 lane += a₀b₀ + a₁b₁ over a pair of bf16
 * values, round to nearest even, denormals flushed), the exact precision
 * and the row operations on the AVX-512 set's kernels.
 *
 *   - many rows (GEMM): a (KC/2, 32, 2) "VNNI" panel of W — 32 columns,
 *     each 32-bit element a pair of consecutive k — times MR rows of x
 *     converted to bf16, the pair of x broadcast to every lane;
 *   - few rows (GEMV, decode): 32 weights per instruction straight from
 *     the bf16 checkpoint; q8 and q4 weights, one row of x, on vpdpwssd
 *     (AVX512-VNNI) with x as 16-bit integers per block of 32 (2⁻¹⁶ of
 *     the block's largest value: vdpbf16ps retires one per two cycles
 *     here, and unpacking codes to bf16 costs more than the FMAs it
 *     saves);
 *   - attention on the bf16 layout (kernels.h), whose K blocks and V pairs
 *     are exactly such panels. */
#include "kernels-avx512bf16.h"

#include <string.h>

#include "quant.h"

#define BF_MR 12  /* rows of x per GEMM block: 24 accumulators */
#define BF_NR 32  /* columns per panel: two vectors */
#define BF_KC 512 /* k per packed panel: (256 pairs, 32) bf16 = 32 KB */
/* Bytes ahead of the weight stream a GEMV prefetches (16 cache lines: the
 * hardware prefetcher alone leaves a decode step ~15 % short of the read
 * bandwidth) — bf16 rows and q8 codes; q4's codes, half the bytes a
 * weight, twice as far (Q4_PREFETCH).  For q8, 1 KB against 2 KB:
 * 3B-224 decode 150–157 against 172–176 ms/token (512 B: 156–161, none:
 * 168–176; 3 interleaved rounds); for q4, 1 KB is no better than 2. */
#define GEMV_PREFETCH 1024
#define Q4_PREFETCH   (2 * GEMV_PREFETCH)

static inline __m512bh as_bh(__m512i v)
{
    return (__m512bh)v;
}

static inline __m512i pair_at(const uint16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return _mm512_set1_epi32(v);
}

void pali_bf16_from_f32(const float *x, int64_t n, int64_t pad, uint16_t *out)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(out + i), (__m256i)_mm512_cvtneps_pbh(
                                                      _mm512_loadu_ps(x + i)));
    if (i < n) {
        const __m512 v = _mm512_maskz_loadu_ps(mask_n((int)(n - i)), x + i);
        _mm256_mask_storeu_epi16(out + i, mask_n((int)(n - i)),
                                 (__m256i)_mm512_cvtneps_pbh(v));
    }
    for (i = n; i < pad; i++)
        out[i] = 0;
}

/* Whole blocks [c0, c0 + n) of a q8/q4 row straight to bf16: codes to
 * f32, times the block's scale, rounded (as pali_bf16_from_f32 would). */
static void quant_row_bf16(const pali_tensor *w, int64_t r, int64_t c0,
                           int64_t n, uint16_t *out)
{
    const uint8_t *codes = pali_quant_codes(w, r);
    const uint16_t *scales = pali_quant_scales(w, r);
    const bool q8 = w->dtype == PALI_DTYPE_Q8;
    const __m512i low = _mm512_set1_epi32(0xf);
    const __m512 zero = _mm512_set1_ps(PALI_Q4_ZERO);
    for (int64_t i = 0; i < n; i += PALI_QUANT_BLOCK) {
        const int64_t b = (c0 + i) / PALI_QUANT_BLOCK;
        const __m512 d = _mm512_set1_ps(_cvtsh_ss(scales[b]));
        __m512 lo, hi;
        if (q8) {
            const __m256i q =
                _mm256_loadu_si256((const __m256i *)(codes + 32 * b));
            lo = _mm512_cvtepi32_ps(
                _mm512_cvtepi8_epi32(_mm256_castsi256_si128(q)));
            hi = _mm512_cvtepi32_ps(
                _mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1)));
        } else {
            const __m512i q = _mm512_cvtepu8_epi32(
                _mm_loadu_si128((const __m128i *)(codes + 16 * b)));
            lo = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_and_si512(q, low)),
                               zero);
            hi = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(q, 4)),
                               zero);
        }
        _mm512_storeu_si512(out + i,
                            (__m512i)_mm512_cvtne2ps_pbh(_mm512_mul_ps(hi, d),
                                                         _mm512_mul_ps(lo, d)));
    }
}

void pali_bf16_weight_row(const pali_tensor *w, int64_t r, int64_t c0,
                          int64_t n, int64_t pad, float *tmp, uint16_t *out)
{
    if (pali_dtype_is_quant(w->dtype) && c0 % PALI_QUANT_BLOCK == 0 &&
        n % PALI_QUANT_BLOCK == 0) {
        quant_row_bf16(w, r, c0, n, out);
        for (int64_t i = n; i < pad; i++)
            out[i] = 0;
        return;
    }
    if (w->dtype == PALI_DTYPE_BF16) {
        const int64_t k = pali_tensor_cols(w);
        memcpy(out, (const uint16_t *)w->data + r * k + c0,
               (size_t)n * sizeof(uint16_t));
        for (int64_t i = n; i < pad; i++)
            out[i] = 0;
        return;
    }
    pali_avx512_weight_row_f32(w, r, c0, n, true, tmp);
    pali_bf16_from_f32(tmp, n, pad, out);
}

/* ---- GEMM -----------------------------------------------------------------
 */

/* c (mr, nc) [+]= alpha · a (mr, 2·kp bf16 at lda) · b, where b's pair row
 * p holds columns 0..15 at b0 + p·ldb and 16..31 at b1 + p·ldb (32 bf16
 * each: 16 columns × the pair).  nc ≤ 16 never reads b1. */
static inline __attribute__((always_inline)) void
kern_bf16(const int mr, int64_t kp, const uint16_t *a, int64_t lda,
          const uint16_t *b0, const uint16_t *b1, int64_t ldb, float *c,
          int64_t ldc, int nc, bool accumulate, float alpha)
{
    __m512 c0[BF_MR], c1[BF_MR];
    const int n0 = nc < 16 ? nc : 16, n1 = nc > 16 ? nc - 16 : 0;
#pragma GCC unroll 16
    for (int i = 0; i < BF_MR; i++)
        if (i < mr) {
            c0[i] = accumulate ? vf_load_n(c + i * ldc, n0) : vf_zero();
            c1[i] = accumulate ? vf_load_n(c + i * ldc + 16, n1) : vf_zero();
        }
    if (n1 > 0) {
        for (int64_t p = 0; p < kp; p++) {
            const __m512i bv0 = _mm512_loadu_si512(b0 + p * ldb);
            const __m512i bv1 = _mm512_loadu_si512(b1 + p * ldb);
#pragma GCC unroll 16
            for (int i = 0; i < BF_MR; i++)
                if (i < mr) {
                    const __m512i ai = pair_at(a + i * lda + 2 * p);
                    c0[i] = _mm512_dpbf16_ps(c0[i], as_bh(ai), as_bh(bv0));
                    c1[i] = _mm512_dpbf16_ps(c1[i], as_bh(ai), as_bh(bv1));
                }
        }
    } else {
        for (int64_t p = 0; p < kp; p++) {
            const __m512i bv0 = _mm512_loadu_si512(b0 + p * ldb);
#pragma GCC unroll 16
            for (int i = 0; i < BF_MR; i++)
                if (i < mr) {
                    const __m512i ai = pair_at(a + i * lda + 2 * p);
                    c0[i] = _mm512_dpbf16_ps(c0[i], as_bh(ai), as_bh(bv0));
                }
        }
    }
    const __m512 al = _mm512_set1_ps(alpha);
#pragma GCC unroll 16
    for (int i = 0; i < BF_MR; i++)
        if (i < mr) {
            if (alpha != 1.0f) {
                c0[i] = _mm512_mul_ps(c0[i], al);
                c1[i] = _mm512_mul_ps(c1[i], al);
            }
            vf_store_n(c + i * ldc, c0[i], n0);
            if (n1 > 0)
                vf_store_n(c + i * ldc + 16, c1[i], n1);
        }
}

static void kern_bf16_rows(int mr, int64_t kp, const uint16_t *a, int64_t lda,
                           const uint16_t *b0, const uint16_t *b1, int64_t ldb,
                           float *c, int64_t ldc, int nc, bool accumulate,
                           float alpha)
{
    switch (mr) {
#define KERN_CASE(R)                                                           \
    case R:                                                                    \
        kern_bf16(R, kp, a, lda, b0, b1, ldb, c, ldc, nc, accumulate, alpha);  \
        return;
        KERN_CASE(1)
        KERN_CASE(2)
        KERN_CASE(3)
        KERN_CASE(4)
        KERN_CASE(5)
        KERN_CASE(6)
        KERN_CASE(7)
        KERN_CASE(8)
        KERN_CASE(9)
        KERN_CASE(10)
        KERN_CASE(11)
        KERN_CASE(12)
#undef KERN_CASE
    }
}

/* Transposes (16, 16) 32-bit elements from src (row stride lds elements)
 * into dst (row stride ldd). */
static void transpose32(const uint32_t *src, int64_t lds, uint32_t *dst,
                        int64_t ldd)
{
    __m512 r[16];
    for (int t = 0; t < 16; t++)
        r[t] = _mm512_loadu_ps((const float *)(src + t * lds));
    vf_transpose(r);
    for (int t = 0; t < 16; t++)
        _mm512_storeu_ps((float *)(dst + t * ldd), r[t]);
}

/* Rows [j0, j0 + nc) × columns [k0, k0 + kc) of W → bp (kp, 32, 2) bf16,
 * kp = ceil(kc / 2), zero past nc and kc.  rows holds (32, BF_KC) bf16,
 * tmp BF_KC floats. */
static void pack_panel_bf16(const pali_tensor *w, int64_t j0, int nc,
                            int64_t k0, int64_t kc, uint16_t *rows, float *tmp,
                            uint16_t *bp)
{
    const int64_t kp = (kc + 1) / 2, kp16 = (kp + 15) / 16 * 16;
    for (int c = 0; c < BF_NR; c++) {
        uint16_t *row = rows + c * BF_KC;
        if (c < nc)
            pali_bf16_weight_row(w, j0 + c, k0, kc, 2 * kp16, tmp, row);
        else
            memset(row, 0, (size_t)(2 * kp16) * sizeof(uint16_t));
    }
    // (32 columns, kp pairs) of 32-bit pairs → (kp pairs, 32 columns)
    for (int64_t p = 0; p < kp16; p += 16)
        for (int g = 0; g < BF_NR; g += 16)
            transpose32((const uint32_t *)(rows + g * BF_KC) + p, BF_KC / 2,
                        (uint32_t *)bp + p * BF_NR + g, BF_NR);
}

static size_t gemm_scratch(void)
{
    // rows (32, KC) bf16, panel (KC/2 + 16, 32, 2) bf16, x block (MR, KC)
    // bf16, one f32 row
    return (size_t)BF_NR * BF_KC * 2 + (size_t)(BF_KC + 32) * BF_NR * 2 +
           (size_t)BF_MR * BF_KC * 2 + (size_t)BF_KC * 4 + 256;
}

static void gemm_bf16(const pali_mm *mm, int64_t r0, int64_t r1, void *scratch)
{
    uint16_t *rows = scratch;                   // (32, BF_KC)
    uint16_t *bp = rows + BF_NR * BF_KC;        // (BF_KC/2 + 16, 32, 2)
    uint16_t *xa = bp + (BF_KC + 32) * BF_NR;   // (BF_MR, BF_KC)
    float *tmp = (float *)(xa + BF_MR * BF_KC); // (BF_KC)
    const int64_t n = mm->n, k = mm->k, m = mm->m;
    for (int64_t j0 = r0; j0 < r1; j0 += BF_NR) {
        const int nc = r1 - j0 < BF_NR ? (int)(r1 - j0) : BF_NR;
        for (int64_t k0 = 0; k0 < k; k0 += BF_KC) {
            const int64_t kc = k - k0 < BF_KC ? k - k0 : BF_KC;
            const int64_t kp = (kc + 1) / 2;
            pack_panel_bf16(mm->w, j0, nc, k0, kc, rows, tmp, bp);
            for (int64_t i0 = 0; i0 < n; i0 += BF_MR) {
                const int mr = n - i0 < BF_MR ? (int)(n - i0) : BF_MR;
                for (int i = 0; i < mr; i++)
                    pali_bf16_from_f32(mm->x + (i0 + i) * k + k0, kc, 2 * kp,
                                       xa + i * BF_KC);
                kern_bf16_rows(mr, kp, xa, BF_KC, bp, bp + 32, 2 * BF_NR,
                               mm->y + i0 * m + j0, m, nc, k0 > 0, 1.0f);
            }
        }
        if (mm->bias)
            for (int64_t i = 0; i < n; i++)
                for (int c = 0; c < nc; c++)
                    mm->y[i * m + j0 + c] += mm->bias[j0 + c];
    }
}

/* ---- GEMV -----------------------------------------------------------------
 */

static inline void gemv_store(const pali_mm *mm, int64_t r, const __m512 *acc)
{
    for (int i = 0; i < mm->n; i++) {
        const float v =
            _mm512_reduce_add_ps(_mm512_add_ps(acc[2 * i], acc[2 * i + 1]));
        mm->y[i * mm->m + r] = mm->bias ? v + mm->bias[r] : v;
    }
}

/* bf16 weights: 32 per vdpbf16ps, two partial sums per row of x. */
static void gemv_bf16_row(const pali_mm *mm, const uint16_t *xb, int64_t kpad,
                          const uint16_t *w, int64_t r)
{
    const int64_t k = mm->k;
    const int n = (int)mm->n;
    __m512 acc[2 * PALI_GEMV_MAX_ROWS];
    for (int i = 0; i < 2 * PALI_GEMV_MAX_ROWS; i++)
        acc[i] = _mm512_setzero_ps();
    int64_t kk = 0;
    for (; kk + 64 <= k; kk += 64) {
        _mm_prefetch((const char *)(w + kk) + GEMV_PREFETCH, _MM_HINT_T0);
        _mm_prefetch((const char *)(w + kk) + GEMV_PREFETCH + 64, _MM_HINT_T0);
        const __m512i w0 = _mm512_loadu_si512(w + kk);
        const __m512i w1 = _mm512_loadu_si512(w + kk + 32);
        for (int i = 0; i < n; i++) {
            const uint16_t *x = xb + i * kpad + kk;
            acc[2 * i] = _mm512_dpbf16_ps(
                acc[2 * i], as_bh(_mm512_loadu_si512(x)), as_bh(w0));
            acc[2 * i + 1] = _mm512_dpbf16_ps(
                acc[2 * i + 1], as_bh(_mm512_loadu_si512(x + 32)), as_bh(w1));
        }
    }
    for (; kk < k; kk += 32) {
        const int rem = k - kk < 32 ? (int)(k - kk) : 32;
        const __mmask32 mk = (__mmask32)(rem == 32 ? ~0u : (1u << rem) - 1u);
        const __m512i w0 = _mm512_maskz_loadu_epi16(mk, w + kk);
        for (int i = 0; i < n; i++)
            acc[2 * i] = _mm512_dpbf16_ps(
                acc[2 * i],
                as_bh(_mm512_maskz_loadu_epi16(mk, xb + i * kpad + kk)),
                as_bh(w0));
    }
    gemv_store(mm, r, acc);
}

static size_t gemv_scratch(int64_t max_k)
{
    return PALI_GEMV_X_HEAD +
           (size_t)PALI_GEMV_MAX_ROWS * (size_t)(max_k + 64) * 2;
}

static void gemv_bf16(const pali_mm *mm, int64_t r0, int64_t r1, void *scratch)
{
    const int64_t kpad = (mm->k + 63) / 64 * 64;
    uint16_t *xb =
        (uint16_t *)((char *)scratch + PALI_GEMV_X_HEAD); // (n, kpad)
    if (!pali_gemv_x_kept(mm, scratch)) {
        for (int64_t i = 0; i < mm->n; i++)
            pali_bf16_from_f32(mm->x + i * mm->k, mm->k, kpad, xb + i * kpad);
        pali_gemv_x_keep(mm, scratch, true);
    }
    for (int64_t r = r0; r < r1; r++)
        gemv_bf16_row(mm, xb, kpad, (const uint16_t *)mm->w->data + r * mm->k,
                      r);
}

/* ---- GEMV on 16-bit activations: q8 and q4 weights, one row of x ------
 * Unpacking codes to f32 holds quantized decode to ~7 weights per cycle
 * per core; as integers, vpdpwssd (AVX512-VNNI) takes 32 per instruction.
 * x, rounded to bf16 as fast precision rounds it, becomes per block of 32
 * the int16 values v = round(x · 32767 / a) and the scale s = a / 32767,
 * a the block's largest |x| (each |x − s·v| ≤ s/2, 2⁻¹⁶ of a).  Each
 * lane's share of a block's Σ q·v (2 products for q8, 8 and the zero
 * point's term for q4) is exact in int32 and in f32 (below 2²⁴), then
 * y += (d·s)·share in f32, lane by lane.
 *
 * q4: a 64-byte line of codes is 4 blocks; as 32 words, word j of block b
 * (bytes 2j, 2j + 1) holds q[2j], q[2j + 16], q[2j + 1], q[2j + 17] in its
 * four nibbles, so four masks and shifts give four vectors of 32 codes,
 * and x is laid out to match (xq_source); lanes 4b..4b + 3 of the sums
 * are block b's.  The zero point: Σ (q − 8)·v = Σ q·v − 8·Σ v, the second
 * term per lane, made once per x, is where the sums start. */

#define XQ_ONE 32767.0f
/* Weights per q4 group: one 64-byte line of codes. */
#define XQ_GROUP 128

/* The x element (0..127) of a q4 group that word j (0..31) of code
 * vector e (0..3) multiplies. */
static int xq_source(int e, int j)
{
    static const int nibble[4] = { 0, 16, 1, 17 };
    return (j / 8) * 32 + 2 * (j % 8) + nibble[e];
}

typedef struct xq {
    int16_t *v;    /* (k): q8 in order, q4 in group order */
    int32_t *zero; /* q4: (k / 128, 16) −8·Σ v per lane */
    float *scale;  /* (k / 32) s per block */
} xq;

static size_t xq_scratch(int64_t max_k)
{
    // the tag, v, the q4 reordering's source, zero, scale
    return PALI_GEMV_X_HEAD +
           (size_t)(max_k * 2 + max_k * 2 + max_k / 2 + max_k / 8) + 256;
}

/* Where xq of a row of k lies in scratch. */
static xq xq_at(int64_t k, void *scratch)
{
    xq q;
    q.v = (int16_t *)((char *)scratch + PALI_GEMV_X_HEAD);
    q.zero = (int32_t *)(q.v + 2 * k); // (after the reordering's source)
    q.scale = (float *)(q.zero + k / 8);
    return q;
}

/* One row of x (k a multiple of XQ_GROUP) as q (xq_at); false when x is
 * not finite (the f32 GEMV takes those). */
static bool xq_make(const float *x, int64_t k, bool q4, const xq *q)
{
    int16_t *order = q->v + k; // x's v in order, for q4's reordering
    int16_t *dst = q4 ? order : q->v;
    for (int64_t b = 0; b < k / 32; b++) {
        const __m512i h = (__m512i)_mm512_cvtne2ps_pbh(
            _mm512_loadu_ps(x + 32 * b + 16), _mm512_loadu_ps(x + 32 * b));
        const __m512 lo = _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm512_castsi512_si256(h)), 16));
        const __m512 hi = _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(h, 1)), 16));
        const float a = _mm512_reduce_max_ps(
            _mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
        if (!(a <= 3.4028235e38f))
            return false;
        const __m512 inv = _mm512_set1_ps(a > 0 ? XQ_ONE / a : 0);
        q->scale[b] = a / XQ_ONE;
        const int r = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        _mm256_storeu_si256((__m256i *)(dst + 32 * b),
                            _mm512_cvtsepi32_epi16(_mm512_cvt_roundps_epi32(
                                _mm512_mul_ps(lo, inv), r)));
        _mm256_storeu_si256((__m256i *)(dst + 32 * b + 16),
                            _mm512_cvtsepi32_epi16(_mm512_cvt_roundps_epi32(
                                _mm512_mul_ps(hi, inv), r)));
    }
    if (!q4)
        return true;
    // words 0–15 of each code vector come from blocks 0–1, 16–31 from 2–3
    int16_t idx[4][32];
    for (int e = 0; e < 4; e++)
        for (int j = 0; j < 32; j++)
            idx[e][j] = (int16_t)(xq_source(e, j) & 63);
    const __m512i m8 = _mm512_set1_epi16(-PALI_Q4_ZERO);
    for (int64_t g = 0; g < k / XQ_GROUP; g++) {
        const int16_t *src = order + g * XQ_GROUP;
        int16_t *out = q->v + g * XQ_GROUP;
        const __m512i s0 = _mm512_loadu_si512(src),
                      s1 = _mm512_loadu_si512(src + 32),
                      s2 = _mm512_loadu_si512(src + 64),
                      s3 = _mm512_loadu_si512(src + 96);
        __m512i zero = _mm512_setzero_si512();
        for (int e = 0; e < 4; e++) {
            const __m512i i = _mm512_loadu_si512(idx[e]);
            const __m512i v = _mm512_mask_blend_epi16(
                0xffff0000u, _mm512_permutex2var_epi16(s0, i, s1),
                _mm512_permutex2var_epi16(s2, i, s3));
            _mm512_storeu_si512(out + 32 * e, v);
            zero = _mm512_dpwssd_epi32(zero, v, m8);
        }
        _mm512_storeu_si512(q->zero + g * 16, zero);
    }
    return true;
}

/* Σ (q − 8)·v of the 4 blocks from blk (lanes 4b..4b + 3: block b), as
 * f32 (exact). */
static inline __m512 q4_group(const uint8_t *codes, const xq *q, int64_t blk)
{
    const __m512i nib = _mm512_set1_epi16(0xf);
    const uint8_t *line = codes + blk * 16;
    _mm_prefetch((const char *)line + Q4_PREFETCH, _MM_HINT_T0);
    const __m512i w = _mm512_loadu_si512(line);
    const int16_t *v = q->v + blk * 32;
    __m512i t = _mm512_loadu_si512(q->zero + blk * 4);
    __m512i u = _mm512_setzero_si512();
    t = _mm512_dpwssd_epi32(t, _mm512_and_si512(w, nib), _mm512_loadu_si512(v));
    u = _mm512_dpwssd_epi32(u, _mm512_and_si512(_mm512_srli_epi16(w, 4), nib),
                            _mm512_loadu_si512(v + 32));
    t = _mm512_dpwssd_epi32(t, _mm512_and_si512(_mm512_srli_epi16(w, 8), nib),
                            _mm512_loadu_si512(v + 64));
    u = _mm512_dpwssd_epi32(u, _mm512_srli_epi16(w, 12),
                            _mm512_loadu_si512(v + 96));
    return _mm512_cvtepi32_ps(_mm512_add_epi32(t, u));
}

static void gemv_q4_row(const pali_mm *mm, const xq *q, int64_t r)
{
    const int64_t nb = mm->k / PALI_QUANT_BLOCK;
    const uint8_t *codes = pali_quant_codes(mm->w, r);
    const uint16_t *scales = pali_quant_scales(mm->w, r);
    // lanes 4b..4b + 3 ← element b of a vector
    const __m512i quad =
        _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m512i four = _mm512_set1_epi32(4);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b += 16) {
        const int blocks = nb - b < 16 ? (int)(nb - b) : 16;
        const __mmask16 mk = mask_n(blocks);
        // d·s of the 16 blocks
        const __m512 ds = _mm512_mul_ps(
            _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mk, scales + b)),
            _mm512_maskz_loadu_ps(mk, q->scale + b));
        __m512i at = quad;
        for (int g = 0; g < blocks; g += 8) { // two groups: two chains
            acc0 = _mm512_fmadd_ps(q4_group(codes, q, b + g),
                                   _mm512_permutexvar_ps(at, ds), acc0);
            at = _mm512_add_epi32(at, four);
            if (g + 4 < blocks)
                acc1 = _mm512_fmadd_ps(q4_group(codes, q, b + g + 4),
                                       _mm512_permutexvar_ps(at, ds), acc1);
            at = _mm512_add_epi32(at, four);
        }
    }
    const float y = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    mm->y[r] = mm->bias ? y + mm->bias[r] : y;
}

/* Σ q·v of block blk times its d·s, added to acc. */
static inline __m512 q8_block(const int8_t *codes, const xq *q, int64_t blk,
                              float ds, __m512 acc)
{
    const int8_t *c = codes + blk * 32;
    const __m512i t = _mm512_dpwssd_epi32(
        _mm512_setzero_si512(),
        _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)c)),
        _mm512_loadu_si512(q->v + blk * 32));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_set1_ps(ds), acc);
}

static void gemv_q8_row(const pali_mm *mm, const xq *q, int64_t r)
{
    const int64_t nb = mm->k / PALI_QUANT_BLOCK;
    const int8_t *codes = (const int8_t *)pali_quant_codes(mm->w, r);
    const uint16_t *scales = pali_quant_scales(mm->w, r);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    float ds[16];
    for (int64_t b = 0; b < nb; b += 16) {
        const int blocks = nb - b < 16 ? (int)(nb - b) : 16;
        const __mmask16 mk = mask_n(blocks);
        _mm512_storeu_ps(
            ds, _mm512_mul_ps(
                    _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mk, scales + b)),
                    _mm512_maskz_loadu_ps(mk, q->scale + b)));
        for (int j = 0; j < blocks; j += 2) { // a line, two chains
            _mm_prefetch((const char *)(codes + (b + j) * 32) + GEMV_PREFETCH,
                         _MM_HINT_T0);
            acc0 = q8_block(codes, q, b + j, ds[j], acc0);
            if (j + 1 < blocks)
                acc1 = q8_block(codes, q, b + j + 1, ds[j + 1], acc1);
        }
    }
    const float y = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    mm->y[r] = mm->bias ? y + mm->bias[r] : y;
}

/* Rows [r0, r1) of a q8/q4 product of one row of x on 16-bit activations;
 * false (nothing written) when this path does not take it. */
static bool gemv_quant16(const pali_mm *mm, int64_t r0, int64_t r1,
                         void *scratch)
{
    if (mm->n != 1 || mm->k % XQ_GROUP != 0)
        return false;
    const bool q4 = mm->w->dtype == PALI_DTYPE_Q4;
    const xq q = xq_at(mm->k, scratch);
    // x is made over once per product, not per claim of its rows (3B-224
    // q4 decode: ~1 µs for each of ~3700 claims a token)
    if (!pali_gemv_x_kept(mm, scratch)) {
        const bool ok = xq_make(mm->x, mm->k, q4, &q);
        pali_gemv_x_keep(mm, scratch, ok);
        if (!ok)
            return false;
    }
    for (int64_t r = r0; r < r1; r++)
        if (q4)
            gemv_q4_row(mm, &q, r);
        else
            gemv_q8_row(mm, &q, r);
    return true;
}

size_t pali_avx512bf16_matmul_scratch(int64_t max_k)
{
    size_t a = gemm_scratch(), b = gemv_scratch(max_k),
           c = pali_avx512_matmul_scratch(max_k), d = xq_scratch(max_k);
    a = a > b ? a : b;
    a = a > c ? a : c;
    return a > d ? a : d;
}

void pali_avx512bf16_matmul(const pali_mm *mm, int64_t r0, int64_t r1,
                            void *scratch)
{
    if (!mm->fast) { // exact: f32 arithmetic
        pali_avx512_matmul(mm, r0, r1, scratch);
        return;
    }
    if (mm->n > PALI_GEMV_MAX_ROWS) {
        gemm_bf16(mm, r0, r1, scratch);
        return;
    }
    // decode: bf16 weights stream through vdpbf16ps, q8 and q4 through
    // vpdpwssd on 16-bit activations (one row of x); the rest (f32, f16:
    // converted and rounded; quantized weights for 2–4 rows) through the
    // AVX-512 GEMV on rounded activations
    if (mm->w->dtype == PALI_DTYPE_BF16)
        gemv_bf16(mm, r0, r1, scratch);
    else if (!pali_dtype_is_quant(mm->w->dtype) ||
             !gemv_quant16(mm, r0, r1, scratch)) {
        pali_avx512_matmul(mm, r0, r1, scratch);
        pali_gemv_x_keep(mm, scratch, false); // (its scratch, not x's)
    }
}

/* ---- attention on the bf16 layout ---------------------------------------- */

static int64_t round_up(int64_t n, int64_t to)
{
    return (n + to - 1) / to * to;
}

void pali_avx512bf16_attn_scores(const pali_attn_block *b)
{
    const pali_kv_layout *l = b->lay;
    if (!l->bf16) {
        pali_avx512_attn_scores(b);
        return;
    }
    uint16_t *qb = b->scratch; // (nq, hd_k) bf16
    for (int i = 0; i < b->nq; i++)
        pali_bf16_from_f32(b->q + i * b->q_stride, l->hd, l->hd_k,
                           qb + i * l->hd_k);
    const uint16_t *k = (const uint16_t *)b->k + (b->key0 / 16) * l->hd_k * 16;
    const int64_t n = round_up(b->n_keys, PALI_KV_BLOCK);
    const int64_t block = (int64_t)l->hd_k * 16; // one 16-key block
    for (int64_t j = 0; j < n; j += 32) {
        const uint16_t *k0 = k + (j / 16) * block;
        for (int i0 = 0; i0 < b->nq; i0 += BF_MR) {
            const int mr = b->nq - i0 < BF_MR ? b->nq - i0 : BF_MR;
            kern_bf16_rows(mr, l->hd_k / 2, qb + i0 * l->hd_k, l->hd_k, k0,
                           k0 + block, 32, b->s + i0 * b->s_stride + j,
                           b->s_stride, 32, false, 1.0f);
        }
    }
}

void pali_avx512bf16_attn_values(const pali_attn_block *b)
{
    const pali_kv_layout *l = b->lay;
    if (!l->bf16) {
        pali_avx512_attn_values(b);
        return;
    }
    const int64_t n = round_up(b->n_keys, PALI_KV_BLOCK);
    uint16_t *pb = b->scratch; // (nq, n) bf16
    for (int i = 0; i < b->nq; i++)
        pali_bf16_from_f32(b->s + i * b->s_stride, n, n, pb + i * n);
    const uint16_t *v = (const uint16_t *)b->v + (b->key0 / 2) * l->hd_v * 2;
    for (int c = 0; c < l->hd; c += 32) {
        const int nc = l->hd - c < 32 ? l->hd - c : 32;
        for (int i0 = 0; i0 < b->nq; i0 += BF_MR) {
            const int mr = b->nq - i0 < BF_MR ? b->nq - i0 : BF_MR;
            kern_bf16_rows(mr, n / 2, pb + i0 * n, n, v + 2 * c,
                           v + 2 * (c + 16), 2 * l->hd_v,
                           b->out + i0 * b->out_stride + c, b->out_stride, nc,
                           false, 1.0f);
        }
    }
}

/* kernels.h: kv_store16.  K: for each 32 columns, the 16 rows as bf16
 * pairs, transposed to (pair, position); V: positions two by two, their
 * bf16 columns interleaved. */
void pali_avx512bf16_kv_store16(const pali_kv_layout *l, uint16_t *k_head,
                                uint16_t *v_head, int64_t p0,
                                const float *k_rows, int64_t k_stride,
                                const float *v_rows, int64_t v_stride)
{
    const int hd = l->hd;
    uint16_t *kb = k_head + (p0 / 16) * (int64_t)l->hd_k * 16;
    for (int c = 0; c < hd; c += 32) {
        const int rem = hd - c >= 32 ? 32 : hd - c;
        const __mmask16 m0 = mask_n(rem < 16 ? rem : 16);
        const __mmask16 m1 = mask_n(rem > 16 ? rem - 16 : 0);
        __m512 r[16];
        for (int t = 0; t < 16; t++) {
            const float *src = k_rows + t * k_stride + c;
            r[t] =
                (__m512)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, src + 16),
                                            _mm512_maskz_loadu_ps(m0, src));
        }
        vf_transpose(r); // (position, pair) → (pair, position)
        const int pairs = (rem + 1) / 2;
        for (int i = 0; i < pairs; i++)
            _mm512_storeu_ps((float *)(kb + (c / 2 + i) * 32), r[i]);
    }
    for (int t = 0; t < 16; t += 2) {
        const float *a = v_rows + t * v_stride, *b = a + v_stride;
        uint16_t *vb = v_head + ((p0 + t) / 2) * (int64_t)l->hd_v * 2;
        for (int c = 0; c < hd; c += 16) {
            const __mmask16 mk = mask_n(hd - c < 16 ? hd - c : 16);
            const __m512i lo = _mm512_cvtepu16_epi32(
                (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mk, a + c)));
            const __m512i hi = _mm512_cvtepu16_epi32(
                (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mk, b + c)));
            _mm512_mask_storeu_epi32(
                vb + c * 2, mk, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
        }
    }
}

const pali_kernels pali_kernels_avx512bf16 = {
    .id = PALI_KERNEL_AVX512BF16,
    .bf16_attention = true,
    .matmul = pali_avx512bf16_matmul,
    .matmul_scratch = pali_avx512bf16_matmul_scratch,
    .attn_scores = pali_avx512bf16_attn_scores,
    .attn_values = pali_avx512bf16_attn_values,
    .kv_store16 = pali_avx512bf16_kv_store16,
    .softcap_softmax = pali_avx512_softcap_softmax,
    .gelu_tanh = pali_avx512_gelu_tanh,
    .gelu_tanh_mul = pali_avx512_gelu_tanh_mul,
    .softcap = pali_avx512_softcap,
    .layernorm = pali_avx512_layernorm,
    .rmsnorm = pali_avx512_rmsnorm,
    .q8_row_bound = pali_avx512_q8_row_bound,
    .q4_row = pali_avx512_q4_row,
};
