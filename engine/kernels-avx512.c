/* kernels-avx512.c — the AVX-512 (F, BW, DQ, VL) kernel set: the vector
 * kernels of kernels-vec.h on 16 f32 lanes, 12-row GEMM blocks (24
 * accumulators of the 32 registers).  Compiled with AVX-512 flags; called
 * only when cpu.h says the CPU and OS run it.  Also the primitives the
 * AVX512-BF16 and AMX sets build on (kernels-avx512.h). */
#include "kernels-avx512.h"

#include "kernels-vec.h"

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
};
