/* kernels-avx2.c — the AVX2 + FMA + F16C kernel set: the vector kernels
 * of kernels-vec.h on 8 f32 lanes, 6-row GEMM blocks (12 accumulators of
 * the 16 registers).  Compiled with -mavx2 -mfma -mf16c; called only when
 * cpu.h says the CPU and OS run it. */
#include <immintrin.h>
#include <stdint.h>

#include "kernels.h"

typedef __m256 vf;
#define VL 8
#define MR 6

/* Lane masks for partial loads: the first n of 8 lanes. */
static const int32_t lane_mask_table[16] = { -1, -1, -1, -1, -1, -1, -1, -1,
                                             0,  0,  0,  0,  0,  0,  0,  0 };

static inline __m256i mask_n(int n)
{
    return _mm256_loadu_si256((const __m256i *)(lane_mask_table + 8 - n));
}

static inline vf vf_zero(void)
{
    return _mm256_setzero_ps();
}
static inline vf vf_set1(float f)
{
    return _mm256_set1_ps(f);
}
static inline vf vf_load(const float *p)
{
    return _mm256_loadu_ps(p);
}
static inline void vf_store(float *p, vf v)
{
    _mm256_storeu_ps(p, v);
}
static inline vf vf_load_n(const float *p, int n)
{
    return _mm256_maskload_ps(p, mask_n(n));
}
static inline void vf_store_n(float *p, vf v, int n)
{
    _mm256_maskstore_ps(p, mask_n(n), v);
}
static inline vf vf_add(vf a, vf b)
{
    return _mm256_add_ps(a, b);
}
static inline vf vf_sub(vf a, vf b)
{
    return _mm256_sub_ps(a, b);
}
static inline vf vf_mul(vf a, vf b)
{
    return _mm256_mul_ps(a, b);
}
static inline vf vf_fmadd(vf a, vf b, vf c)
{
    return _mm256_fmadd_ps(a, b, c);
}
static inline vf vf_max(vf a, vf b)
{
    return _mm256_max_ps(a, b);
}
static inline vf vf_min(vf a, vf b)
{
    return _mm256_min_ps(a, b);
}
static inline vf vf_abs(vf a)
{
    return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}
static inline vf vf_copysign(vf mag, vf sign)
{
    const vf m = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    return _mm256_or_ps(_mm256_and_ps(m, mag), _mm256_andnot_ps(m, sign));
}
/* a < b ? x : y, lane-wise. */
static inline vf vf_blend_lt(vf a, vf b, vf x, vf y)
{
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}
/* Whether a < b in every lane. */
static inline bool vf_all_lt(vf a, vf b)
{
    return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ)) == 0xff;
}
/* 1/x: the 12-bit estimate and one Newton step (~2^-23). */
static inline vf vf_recip(vf x)
{
    const vf r = _mm256_rcp_ps(x);
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(x, r, _mm256_set1_ps(2)));
}
static inline vf vf_round(vf x)
{
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
/* p·2^n for integral n in [−126, 127]: times 2^n built in the exponent
 * field. */
static inline vf vf_ldexp(vf p, vf n)
{
    const __m256i e =
        _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(e, 23)));
}
/* Horizontal sum in a fixed order: halves, then pairs, then the last two. */
static inline float vf_hsum(vf v)
{
    __m128 s =
        _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
static inline float vf_hmax(vf v)
{
    __m128 s =
        _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
static inline vf vf_from_bf16(const uint16_t *p)
{
    const __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
static inline vf vf_from_bf16_n(const uint16_t *p, int n)
{
    uint16_t tmp[8] = { 0 };
    memcpy(tmp, p, (size_t)n * sizeof(uint16_t));
    return vf_from_bf16(tmp);
}
static inline vf vf_from_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
static inline vf vf_from_i8(const int8_t *p)
{
    const __m128i b = _mm_loadl_epi64((const __m128i *)p);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
}
/* 8 bytes of 4-bit pairs → low nibbles and high nibbles (0..15). */
static inline void vf_from_u4(const uint8_t *p, vf *lo, vf *hi)
{
    const __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
    *lo = _mm256_cvtepi32_ps(_mm256_and_si256(b, _mm256_set1_epi32(0xf)));
    *hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(b, 4));
}
/* The same, centred: q − 8. */
static inline void vf_from_u4c(const uint8_t *p, vf *lo, vf *hi)
{
    vf_from_u4(p, lo, hi);
    *lo = _mm256_sub_ps(*lo, _mm256_set1_ps(8));
    *hi = _mm256_sub_ps(*hi, _mm256_set1_ps(8));
}
/* Rounds to the nearest bf16 value (ties to even), NaN stays NaN. */
static inline vf vf_round_bf16(vf x)
{
    const __m256i u = _mm256_castps_si256(x);
    const __m256i lsb =
        _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i r =
        _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
    const __m256i q = _mm256_or_si256(u, _mm256_set1_epi32(0x00400000));
    const vf nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    const vf v =
        _mm256_blendv_ps(_mm256_castsi256_ps(r), _mm256_castsi256_ps(q), nan);
    return _mm256_and_ps(
        v, _mm256_castsi256_ps(_mm256_set1_epi32((int)0xffff0000u)));
}
/* Transposes 8 rows of 8 floats in place. */
static inline void vf_transpose(vf r[8])
{
    vf t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

#include "kernels-vec.h"

static void avx2_attn_scores(const pali_attn_block *b)
{
    if (b->lay->bf16)
        pali_ref_attn_scores(b);
    else
        vec_attn_scores(b);
}

static void avx2_attn_values(const pali_attn_block *b)
{
    if (b->lay->bf16)
        pali_ref_attn_values(b);
    else
        vec_attn_values(b);
}

const pali_kernels pali_kernels_avx2 = {
    .id = PALI_KERNEL_AVX2,
    .matmul = vec_matmul,
    .matmul_scratch = vec_matmul_scratch,
    .attn_scores = avx2_attn_scores,
    .attn_values = avx2_attn_values,
    .softcap_softmax = vec_softcap_softmax,
    .gelu_tanh = vec_gelu_tanh,
    .gelu_tanh_mul = vec_gelu_tanh_mul,
    .softcap = vec_softcap,
    .layernorm = vec_layernorm,
    .rmsnorm = vec_rmsnorm,
};
