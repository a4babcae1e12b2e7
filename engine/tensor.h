/* tensor.h — borrowed views of weight tensors and the number formats they
 * come in (f32, bf16, f16 from safetensors; q8/q4 blocks made by quant.c).
 * Row-major; a linear layer's weight is (out, in). */
#ifndef PALI_TENSOR_H
#define PALI_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PALI_TENSOR_MAX_DIMS 4

typedef enum pali_dtype {
    PALI_DTYPE_F32,
    PALI_DTYPE_BF16,
    PALI_DTYPE_F16,
    PALI_DTYPE_Q8, /* block-quantized 8-bit, see quant.h */
    PALI_DTYPE_Q4, /* block-quantized 4-bit, see quant.h */
} pali_dtype;

typedef struct pali_tensor {
    const char *name; /* the checkpoint's name, owned by the model */
    pali_dtype dtype;
    int n_dims;
    int64_t shape[PALI_TENSOR_MAX_DIMS];
    const void *data; /* mmapped or owned by the model; never NULL if valid */
    size_t nbytes;
} pali_tensor;

const char *pali_dtype_name(pali_dtype dtype);

static inline int64_t pali_tensor_numel(const pali_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++)
        n *= t->shape[i];
    return n;
}

/* A tensor seen as a matrix: the leading dimension counts rows and the
 * rest is one row, so the patch conv (Dv, 3, 14, 14) is (Dv, 588). */
static inline int64_t pali_tensor_rows(const pali_tensor *t)
{
    return t->n_dims > 0 ? t->shape[0] : 1;
}
static inline int64_t pali_tensor_cols(const pali_tensor *t)
{
    int64_t n = 1;
    for (int i = 1; i < t->n_dims; i++)
        n *= t->shape[i];
    return n;
}

static inline float pali_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Round to nearest even, as torch does; NaN stays NaN. */
static inline uint16_t pali_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float pali_f16_to_f32(uint16_t h);
uint16_t pali_f32_to_f16(float f);

/* Converts elements [start, start + n) of a float tensor (f32/bf16/f16,
 * flattened) to f32.  Quantized tensors: whole rows only (start and n
 * multiples of the row length). */
void pali_tensor_read_f32(const pali_tensor *t, int64_t start, int64_t n,
                          float *out);

#endif /* PALI_TENSOR_H */
