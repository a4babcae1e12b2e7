/* quant.h — block-quantized weights: the q8 and q4 formats, quantizing
 * rows, the reference dequantization, and the on-disk cache of a model's
 * quantized weights (quant-cache.c).
 *
 * A quantized (rows, cols) matrix, cols a multiple of PALI_QUANT_BLOCK, is
 * one allocation or mapping holding every row's codes, then every row's
 * scales (so a row's codes are contiguous for the vector kernels):
 *
 *   codes   q8: (rows, cols) int8 q ∈ [−127, 127]          w = d·q
 *           q4: (rows, cols/2) bytes, two 4-bit q ∈ [0, 15]  w = d·(q − 8)
 *   scales  (rows, cols/32) binary16 d, one per block of 32 weights of a row
 *
 * In a q4 block, byte i holds q[i] in its low nibble and q[i + 16] in its
 * high one (ggml's Q4_0 order), so one mask and one shift unpack a block
 * into its two halves.  q8 maps the block's largest |w| to ±127; q4 maps
 * the block's largest-magnitude value to −8 (ggml's Q4_0 rule, which uses
 * all 16 levels).  d·q is exact in f32 (11 + 8 significant bits), so the
 * dequantized weights are well defined and every kernel agrees on them. */
#ifndef PALI_QUANT_H
#define PALI_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pali.h"
#include "tensor.h"

/* Weights per scale: 32 keeps the q8 overhead at 0.5 bit per weight and
 * matches one AVX-512 bf16 vector / one AMX tile row of k. */
#define PALI_QUANT_BLOCK 32
/* q4's zero point: codes 0..15 stand for −8..7. */
#define PALI_Q4_ZERO 8

static inline bool pali_dtype_is_quant(pali_dtype d)
{
    return d == PALI_DTYPE_Q8 || d == PALI_DTYPE_Q4;
}

/* Bytes of codes in one row of `cols` weights. */
static inline int64_t pali_quant_row_bytes(pali_dtype d, int64_t cols)
{
    return d == PALI_DTYPE_Q4 ? cols / 2 : cols;
}

/* Bytes of a whole quantized (rows, cols) matrix: codes then scales. */
static inline size_t pali_quant_nbytes(pali_dtype d, int64_t rows, int64_t cols)
{
    return (size_t)(rows * pali_quant_row_bytes(d, cols) +
                    rows * (cols / PALI_QUANT_BLOCK) * 2);
}

/* Row r's codes and scales inside a quantized tensor. */
static inline const uint8_t *pali_quant_codes(const pali_tensor *t, int64_t r)
{
    const int64_t cols = pali_tensor_cols(t);
    return (const uint8_t *)t->data + r * pali_quant_row_bytes(t->dtype, cols);
}
static inline const uint16_t *pali_quant_scales(const pali_tensor *t, int64_t r)
{
    const int64_t rows = pali_tensor_rows(t), cols = pali_tensor_cols(t);
    const uint8_t *base =
        (const uint8_t *)t->data + rows * pali_quant_row_bytes(t->dtype, cols);
    return (const uint16_t *)base + r * (cols / PALI_QUANT_BLOCK);
}

/* Whether a matrix can take a quantized format: two dimensions after
 * flattening, a whole number of blocks per row. */
bool pali_quant_fits(const pali_tensor *t);

/* Quantizes one row of `cols` weights (cols % PALI_QUANT_BLOCK == 0)
 * into its codes (pali_quant_row_bytes) and cols/32 scales. */
void pali_quantize_row(pali_dtype fmt, const float *w, int64_t cols,
                       uint8_t *codes, uint16_t *scales);

/* Reads elements [start, start + n) of any weight tensor (flattened) as
 * f32: the float formats as tensor.c converts them, quantized ones as
 * d·q exactly.  The reference every kernel is checked against. */
void pali_weights_read_f32(const pali_tensor *t, int64_t start, int64_t n,
                           float *out);

/* ---- the on-disk cache (quant-cache.c) ---------------------------------- */

typedef struct pali_model pali_model;

/* Makes the model's language-model matrices quantized (fmt q8 or q4):
 * maps the cache file for this checkpoint and format if there is a valid
 * one, else writes it first, streaming tensor by tensor from the mapped
 * checkpoint in bounded memory, atomically (a temporary file renamed into
 * place).  The file name carries a key made from the checkpoint's files
 * (name, size, modification time, inode) and tensor table, so a changed
 * checkpoint is never served stale.  cache_dir NULL: the user cache
 * ($XDG_CACHE_HOME or ~/.cache, then palilens/weights).  Progress and
 * abort through `cb` (PALI_PHASE_LOAD). */
pali_status pali_quant_apply(pali_model *m, pali_dtype fmt,
                             const char *cache_dir, int n_threads,
                             const pali_callbacks *cb, pali_error *err);
/* Unmaps what pali_quant_apply mapped. */
void pali_quant_release(pali_model *m);

/* Makes every matrix of an f32/f16 checkpoint bf16 (owned copies, freed
 * with the model), converted on n_threads. */
pali_status pali_weights_convert_bf16(pali_model *m, int n_threads,
                                      const pali_callbacks *cb,
                                      pali_error *err);

#endif /* PALI_QUANT_H */
