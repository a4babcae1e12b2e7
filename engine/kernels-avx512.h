/* kernels-avx512.h — AVX-512 primitives on 16 f32 lanes (what
 * kernels-vec.h is written over), and the AVX-512 kernels the AVX512-BF16
 * and AMX sets reuse.  Include only from files compiled with AVX-512
 * flags (engine/meson.build). */
#ifndef PALI_KERNELS_AVX512_H
#define PALI_KERNELS_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#include "kernels.h"

typedef __m512 vf;
#define VL 16
#define MR 12

static inline __mmask16 mask_n(int n)
{
    return (__mmask16)((1u << n) - 1u);
}

static inline vf vf_zero(void)
{
    return _mm512_setzero_ps();
}
static inline vf vf_set1(float f)
{
    return _mm512_set1_ps(f);
}
static inline vf vf_load(const float *p)
{
    return _mm512_loadu_ps(p);
}
static inline void vf_store(float *p, vf v)
{
    _mm512_storeu_ps(p, v);
}
static inline vf vf_load_n(const float *p, int n)
{
    return _mm512_maskz_loadu_ps(mask_n(n), p);
}
static inline void vf_store_n(float *p, vf v, int n)
{
    _mm512_mask_storeu_ps(p, mask_n(n), v);
}
static inline vf vf_add(vf a, vf b)
{
    return _mm512_add_ps(a, b);
}
static inline vf vf_sub(vf a, vf b)
{
    return _mm512_sub_ps(a, b);
}
static inline vf vf_mul(vf a, vf b)
{
    return _mm512_mul_ps(a, b);
}
static inline vf vf_fmadd(vf a, vf b, vf c)
{
    return _mm512_fmadd_ps(a, b, c);
}
static inline vf vf_max(vf a, vf b)
{
    return _mm512_max_ps(a, b);
}
static inline vf vf_min(vf a, vf b)
{
    return _mm512_min_ps(a, b);
}
static inline vf vf_abs(vf a)
{
    return _mm512_abs_ps(a);
}
static inline vf vf_copysign(vf mag, vf sign)
{
    const __m512i m = _mm512_set1_epi32(0x7fffffff);
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
        m, _mm512_castps_si512(mag), _mm512_castps_si512(sign), 0xca));
}
/* a < b ? x : y, lane-wise. */
static inline vf vf_blend_lt(vf a, vf b, vf x, vf y)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x);
}
/* Whether a < b in every lane. */
static inline bool vf_all_lt(vf a, vf b)
{
    return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ) == 0xffff;
}
/* 1/x to ~1 ulp: the 14-bit estimate and one Newton step. */
static inline vf vf_recip(vf x)
{
    const vf r = _mm512_rcp14_ps(x);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(x, r, _mm512_set1_ps(2)));
}
static inline vf vf_round(vf x)
{
    return _mm512_roundscale_ps(x,
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
/* p·2^n for integral n in [−126, 127], rounded once (VSCALEFPS: the
 * same bits as p times the power of two). */
static inline vf vf_ldexp(vf p, vf n)
{
    return _mm512_scalef_ps(p, n);
}
static inline float vf_hsum(vf v)
{
    return _mm512_reduce_add_ps(v);
}
static inline float vf_hmax(vf v)
{
    return _mm512_reduce_max_ps(v);
}
static inline vf vf_from_bf16(const uint16_t *p)
{
    const __m256i h = _mm256_loadu_si256((const __m256i *)p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
static inline vf vf_from_bf16_n(const uint16_t *p, int n)
{
    const __m256i h = _mm256_maskz_loadu_epi16(mask_n(n), p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
static inline vf vf_from_f16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}
static inline vf vf_from_i8(const int8_t *p)
{
    const __m128i b = _mm_loadu_si128((const __m128i *)p);
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b));
}
/* 16 bytes of 4-bit pairs → low nibbles and high nibbles (0..15). */
static inline void vf_from_u4(const uint8_t *p, vf *lo, vf *hi)
{
    const __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
    const __m512i m = _mm512_set1_epi32(0xf);
    *lo = _mm512_cvtepi32_ps(_mm512_and_si512(b, m));
    *hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(b, 4));
}
/* 16 bytes of 4-bit pairs → low and high nibbles as q − 8 (centred), by a
 * 16-entry table: vpermps reads only the low 4 bits of each index. */
static inline void vf_from_u4c(const uint8_t *p, vf *lo, vf *hi)
{
    const __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
    const __m512 table =
        _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    *lo = _mm512_permutexvar_ps(b, table);
    *hi = _mm512_permutexvar_ps(_mm512_srli_epi32(b, 4), table);
}
/* Rounds to the nearest bf16 value (ties to even), NaN stays NaN. */
static inline vf vf_round_bf16(vf x)
{
    const __m512i u = _mm512_castps_si512(x);
    const __m512i lsb =
        _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r =
        _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    r = _mm512_mask_or_epi32(r, nan, u, _mm512_set1_epi32(0x00400000));
    return _mm512_castsi512_ps(
        _mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u)));
}
/* Transposes 16 rows of 16 floats in place: unpack pairs, shuffle
 * quads, then a 4×4 transpose of 128-bit blocks. */
static inline void vf_transpose(vf r[16])
{
    vf t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    // r[4i + j], 128-bit lane L: column 4L + j of rows 4i..4i+3
    for (int j = 0; j < 4; j++) {
        const vf p = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
        const vf q = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);
        const vf s = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        const vf u = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
        t[j] = _mm512_shuffle_f32x4(p, s, 0x88);
        t[8 + j] = _mm512_shuffle_f32x4(p, s, 0xdd);
        t[4 + j] = _mm512_shuffle_f32x4(q, u, 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(q, u, 0xdd);
    }
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}

/* The AVX-512 kernels, for the sets built on this one. */
void pali_avx512_matmul(const pali_mm *mm, int64_t r0, int64_t r1,
                        void *scratch);
size_t pali_avx512_matmul_scratch(int64_t max_k);
void pali_avx512_softcap_softmax(float *x, int64_t n, float scale, float cap);
/* softcap_softmax but the last scaling: leaves exp(x' − max) in x and
 * returns 1 / Σ (x·that is what softcap_softmax leaves, to the bit). */
float pali_avx512_softmax_exp(float *x, int64_t n, float scale, float cap);
void pali_avx512_gelu_tanh(float *x, int64_t n);
void pali_avx512_gelu_tanh_mul(float *g, const float *u, int64_t n);
void pali_avx512_softcap(float *x, int64_t n, float cap);
void pali_avx512_layernorm(const float *x, int64_t d, const float *w,
                           const float *b, float eps, float *out);
void pali_avx512_rmsnorm(const float *x, int64_t d, const float *w, float eps,
                         float *out);
bool pali_avx512_q4_row(const uint16_t *w, int64_t cols, uint8_t *codes,
                        uint16_t *scales);
float pali_avx512_q8_row_bound(const uint16_t *w, int64_t cols, uint8_t *codes,
                               uint16_t *scales, double gamma);
/* Columns [c0, c0 + n) of row r of W as f32 (bf16 values when fast). */
void pali_avx512_weight_row_f32(const pali_tensor *w, int64_t r, int64_t c0,
                                int64_t n, bool fast, float *out);
/* Attention on the f32 layout (exact, or fast rounded values). */
void pali_avx512_attn_scores(const pali_attn_block *b);
void pali_avx512_attn_values(const pali_attn_block *b);

#endif /* PALI_KERNELS_AVX512_H */
