/* kernels-avx512bf16.h — the AVX512-BF16 pieces the AMX set reuses:
 * conversions to bf16, the dpbf16 products for few rows (decode), and
 * attention on the bf16 layout for short query blocks.  Include only from
 * files compiled with AVX512-BF16 flags. */
#ifndef PALI_KERNELS_AVX512BF16_H
#define PALI_KERNELS_AVX512BF16_H

#include "kernels-avx512.h"

/* Columns [c0, c0 + n) of row r of W as bf16 into out (rounded to
 * nearest even; quantized weights dequantized first), zeros up to pad. */
void pali_bf16_weight_row(const pali_tensor *w, int64_t r, int64_t c0,
                          int64_t n, int64_t pad, float *tmp, uint16_t *out);
/* n floats → bf16 (round to nearest even), zeros up to pad. */
void pali_bf16_from_f32(const float *x, int64_t n, int64_t pad, uint16_t *out);

/* The AVX512-BF16 set's products, for what AMX does not take. */
void pali_avx512bf16_matmul(const pali_mm *mm, int64_t r0, int64_t r1,
                            void *scratch);
size_t pali_avx512bf16_matmul_scratch(int64_t max_k);
void pali_avx512bf16_attn_scores(const pali_attn_block *b);
void pali_avx512bf16_attn_values(const pali_attn_block *b);
void pali_avx512bf16_kv_store16(const pali_kv_layout *l, uint16_t *k_head,
                                uint16_t *v_head, int64_t p0,
                                const float *k_rows, int64_t k_stride,
                                const float *v_rows, int64_t v_stride);

#endif /* PALI_KERNELS_AVX512BF16_H */
