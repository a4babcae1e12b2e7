/* kernels-avx512.c — the AVX-512 (F, BW, DQ, VL) kernel set: the vector
 * kernels of kernels-vec.h on 16 f32 lanes, 12-row GEMM blocks (24
 * accumulators of the 32 registers).  Compiled with AVX-512 flags; called
 * only when cpu.h says the CPU and OS run it.  Also the primitives the
 * AVX512-BF16 and AMX sets build on (kernels-avx512.h). */
#include "kernels-avx512.h"

#include "kernels-vec.h"
#include "quant.h"

/* Attention on the bf16 layout belongs to the sets with bf16 arithmetic;
 * this set's sessions use the f32 layout, and anything else gets the
 * reference. */
static void avx512_attn_scores(const pali_attn_block *b)
{
    if (b->lay->bf16)
        pali_ref_attn_scores(b);
    else
        vec_attn_scores(b);
}

static void avx512_attn_values(const pali_attn_block *b)
{
    if (b->lay->bf16)
        pali_ref_attn_values(b);
    else
        vec_attn_values(b);
}

void pali_avx512_softcap_softmax(float *x, int64_t n, float scale, float cap)
{
    vec_softcap_softmax(x, n, scale, cap);
}

float pali_avx512_softmax_exp(float *x, int64_t n, float scale, float cap)
{
    return vec_softmax_exp(x, n, scale, cap);
}

void pali_avx512_matmul(const pali_mm *mm, int64_t r0, int64_t r1,
                        void *scratch)
{
    vec_matmul(mm, r0, r1, scratch);
}

size_t pali_avx512_matmul_scratch(int64_t max_k)
{
    return vec_matmul_scratch(max_k);
}

void pali_avx512_gelu_tanh(float *x, int64_t n)
{
    vec_gelu_tanh(x, n);
}

void pali_avx512_gelu_tanh_mul(float *g, const float *u, int64_t n)
{
    vec_gelu_tanh_mul(g, u, n);
}

void pali_avx512_softcap(float *x, int64_t n, float cap)
{
    vec_softcap(x, n, cap);
}

void pali_avx512_layernorm(const float *x, int64_t d, const float *w,
                           const float *b, float eps, float *out)
{
    vec_layernorm(x, d, w, b, eps, out);
}

void pali_avx512_rmsnorm(const float *x, int64_t d, const float *w, float eps,
                         float *out)
{
    vec_rmsnorm(x, d, w, eps, out);
}

void pali_avx512_weight_row_f32(const pali_tensor *w, int64_t r, int64_t c0,
                                int64_t n, bool fast, float *out)
{
    weight_row_f32(w, r, c0, n, fast, out);
}

void pali_avx512_attn_scores(const pali_attn_block *b)
{
    vec_attn_scores(b);
}

void pali_avx512_attn_values(const pali_attn_block *b)
{
    vec_attn_values(b);
}

/* 16 bf16 weights as f32. */
static inline __m512 bf16x16(const uint16_t *p)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(
        _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

/* One half-block: codes of v at scale r (1/r = inv), and the running
 * maxima of |v − r·q| and |v| + |r·q|. */
static inline void q8_half(__m512 v, __m512 r, __m512 inv, uint8_t *codes,
                           __m512 *err, __m512 *mag)
{
    const __m512 lim = _mm512_set1_ps(127);
    __m512 q = _mm512_roundscale_ps(
        _mm512_mul_ps(v, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_max_ps(_mm512_min_ps(q, lim),
                      _mm512_sub_ps(_mm512_setzero_ps(), lim));
    _mm_storeu_si128((__m128i *)codes,
                     _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(q)));
    const __m512 wq = _mm512_mul_ps(r, q);
    *err = _mm512_max_ps(*err, _mm512_abs_ps(_mm512_sub_ps(v, wq)));
    *mag =
        _mm512_max_ps(*mag, _mm512_add_ps(_mm512_abs_ps(v), _mm512_abs_ps(wq)));
}

/* Blocks per group whose scales are made together, one lane each. */
#define Q8_GROUP 16

/* Whether any of a block's 32 weights is not finite (v − v is NaN). */
static inline __mmask16 not_finite(__m512 v0, __m512 v1)
{
    const __m512 zero = _mm512_setzero_ps();
    return _mm512_cmp_ps_mask(_mm512_sub_ps(v0, v0), zero, _CMP_NEQ_UQ) |
           _mm512_cmp_ps_mask(_mm512_sub_ps(v1, v1), zero, _CMP_NEQ_UQ);
}

/* quant.c's scale rule for a group of n (≤ 16) blocks' d, finite and within
 * binary16's range: the n scales, rounded to nearest even as
 * pali_f32_to_f16 rounds, and per lane the scale as f32 and 1/it (0 for
 * 0). */
static inline void group_scales(__m512 d, int n, uint16_t *scales, float *r,
                                float *inv)
{
    const __m256i h = _mm512_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT);
    const __m512 rv = _mm512_cvtph_ps(h);
    _mm256_mask_storeu_epi16(scales, (__mmask16)((1u << n) - 1), h);
    _mm512_storeu_ps(r, rv);
    _mm512_storeu_ps(
        inv, _mm512_maskz_div_ps(
                 _mm512_cmp_ps_mask(rv, _mm512_setzero_ps(), _CMP_NEQ_OQ),
                 _mm512_set1_ps(1), rv));
}

float pali_avx512_q8_row_bound(const uint16_t *w, int64_t cols, uint8_t *codes,
                               uint16_t *scales, double gamma)
{
    const __m512 zero = _mm512_setzero_ps();
    __m512 err = zero, mag = zero;
    __mmask16 bad = 0;
    const int64_t blocks = cols / PALI_QUANT_BLOCK;
    for (int64_t g = 0; g < blocks; g += Q8_GROUP) {
        const int n = blocks - g < Q8_GROUP ? (int)(blocks - g) : Q8_GROUP;
        const uint16_t *src = w + g * PALI_QUANT_BLOCK;
        // each block's largest |w|, and whether any w is not finite (v − v
        // is NaN)
        float amax[Q8_GROUP] = { 0 };
        for (int b = 0; b < n; b++) {
            const __m512 v0 = bf16x16(src + 32 * b),
                         v1 = bf16x16(src + 32 * b + 16);
            bad |= not_finite(v0, v1);
            amax[b] = _mm512_reduce_max_ps(
                _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        }
        // the scales of amax / 127, overflow clamped (a row with a NaN
        // returns +inf below, whatever its codes)
        const __m512 d = _mm512_min_ps(
            _mm512_div_ps(_mm512_loadu_ps(amax), _mm512_set1_ps(127)),
            _mm512_set1_ps(65504.0f));
        float rs[Q8_GROUP], invs[Q8_GROUP];
        group_scales(d, n, scales + g, rs, invs);
        for (int b = 0; b < n; b++) {
            const __m512 rb = _mm512_set1_ps(rs[b]),
                         ib = _mm512_set1_ps(invs[b]);
            uint8_t *out = codes + (g + b) * PALI_QUANT_BLOCK;
            q8_half(bf16x16(src + 32 * b), rb, ib, out, &err, &mag);
            q8_half(bf16x16(src + 32 * b + 16), rb, ib, out + 16, &err, &mag);
        }
    }
    if (bad)
        return INFINITY;
    // f32's own rounding of the differences and sums (2⁻²⁴), then up
    const double c = ((double)_mm512_reduce_max_ps(err) +
                      gamma * (double)_mm512_reduce_max_ps(mag)) *
                     (1 + 0x1p-20);
    float f = (float)c;
    return (double)f < c ? nextafterf(f, INFINITY) : f;
}

/* q4's codes of one block of 32 at scale r (1/r = inv): byte i holds
 * q[i] in its low nibble and q[i + 16] in its high one. */
static inline void q4_block(__m512 v0, __m512 v1, __m512 r_inv, uint8_t *codes)
{
    const int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(15),
                 z = _mm512_set1_ps(PALI_Q4_ZERO);
    __m512 t0 =
        _mm512_add_ps(_mm512_roundscale_ps(_mm512_mul_ps(v0, r_inv), rn), z);
    __m512 t1 =
        _mm512_add_ps(_mm512_roundscale_ps(_mm512_mul_ps(v1, r_inv), rn), z);
    t0 = _mm512_min_ps(_mm512_max_ps(t0, zero), top);
    t1 = _mm512_min_ps(_mm512_max_ps(t1, zero), top);
    const __m512i b = _mm512_or_si512(
        _mm512_cvtps_epi32(t0), _mm512_slli_epi32(_mm512_cvtps_epi32(t1), 4));
    _mm_storeu_si128((__m128i *)codes, _mm512_cvtepi32_epi8(b));
}

bool pali_avx512_q4_row(const uint16_t *w, int64_t cols, uint8_t *codes,
                        uint16_t *scales)
{
    const int64_t blocks = cols / PALI_QUANT_BLOCK;
    for (int64_t g = 0; g < blocks; g += Q8_GROUP) {
        const int n = blocks - g < Q8_GROUP ? (int)(blocks - g) : Q8_GROUP;
        const uint16_t *src = w + g * PALI_QUANT_BLOCK;
        // each block's first weight of the largest magnitude, as quant.c
        // picks it
        float extreme[Q8_GROUP] = { 0 };
        for (int b = 0; b < n; b++) {
            const __m512 v0 = bf16x16(src + 32 * b),
                         v1 = bf16x16(src + 32 * b + 16);
            if (not_finite(v0, v1))
                return false; // the caller's reference takes the row
            const __m512 a0 = _mm512_abs_ps(v0), a1 = _mm512_abs_ps(v1);
            const float amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
            if (amax == 0)
                continue;
            const __mmask16 m0 =
                _mm512_cmp_ps_mask(a0, _mm512_set1_ps(amax), _CMP_EQ_OQ);
            const __mmask16 m1 =
                _mm512_cmp_ps_mask(a1, _mm512_set1_ps(amax), _CMP_EQ_OQ);
            const int at = m0 ? __builtin_ctz(m0) : 16 + __builtin_ctz(m1);
            extreme[b] = pali_bf16_to_f32(src[32 * b + at]);
        }
        // the scales of extreme / −8 for the group (finite here)
        __m512 d = _mm512_div_ps(_mm512_loadu_ps(extreme),
                                 _mm512_set1_ps(-PALI_Q4_ZERO));
        d = _mm512_min_ps(_mm512_max_ps(d, _mm512_set1_ps(-65504.0f)),
                          _mm512_set1_ps(65504.0f));
        float rs[Q8_GROUP], invs[Q8_GROUP];
        group_scales(d, n, scales + g, rs, invs);
        for (int b = 0; b < n; b++)
            q4_block(bf16x16(src + 32 * b), bf16x16(src + 32 * b + 16),
                     _mm512_set1_ps(invs[b]),
                     codes + (g + b) * (PALI_QUANT_BLOCK / 2));
    }
    return true;
}

const pali_kernels pali_kernels_avx512 = {
    .id = PALI_KERNEL_AVX512,
    .matmul = pali_avx512_matmul,
    .matmul_scratch = pali_avx512_matmul_scratch,
    .attn_scores = avx512_attn_scores,
    .attn_values = avx512_attn_values,
    .softcap_softmax = pali_avx512_softcap_softmax,
    .gelu_tanh = pali_avx512_gelu_tanh,
    .gelu_tanh_mul = pali_avx512_gelu_tanh_mul,
    .softcap = pali_avx512_softcap,
    .layernorm = pali_avx512_layernorm,
    .rmsnorm = pali_avx512_rmsnorm,
    .q8_row_bound = pali_avx512_q8_row_bound,
    .q4_row = pali_avx512_q4_row,
};
