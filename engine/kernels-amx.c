/* kernels-amx.c — WIP */
#include "kernels-avx512.h"

const pali_kernels pali_kernels_amx = {
    .id = PALI_KERNEL_AMX,
    .matmul = pali_avx512_matmul,
    .matmul_scratch = pali_avx512_matmul_scratch,
    .attn_scores = pali_avx512_attn_scores,
    .attn_values = pali_avx512_attn_values,
    .softcap_softmax = pali_avx512_softcap_softmax,
    .gelu_tanh = pali_avx512_gelu_tanh,
    .gelu_tanh_mul = pali_avx512_gelu_tanh_mul,
    .softcap = pali_avx512_softcap,
    .layernorm = pali_avx512_layernorm,
    .rmsnorm = pali_avx512_rmsnorm,
};
