/* ops.h — the element-wise and row-wise operations of the forward passes
 * (everything that is not a matrix product), in f32 as the reference
 * computes them, on the pool with the compute's kernel set.  Row-major;
 * x is (n, d). */
#ifndef PALI_OPS_H
#define PALI_OPS_H

#include <stdint.h>

#include "compute.h"

/* out = (x − mean) / sqrt(var + eps) · w + b per row (biased variance),
 * as torch.nn.LayerNorm.  out may equal x. */
void pali_layernorm(const pali_compute *c, const float *x, int64_t n, int64_t d,
                    const float *w, const float *b, float eps, float *out);

/* out = x · rsqrt(mean(x²) + eps) · (1 + w) per row, as Gemma2RMSNorm.
 * out may equal x. */
void pali_rmsnorm(const pali_compute *c, const float *x, int64_t n, int64_t d,
                  const float *w, float eps, float *out);

/* Gemma 2's residual step, row by row while the row is in cache:
 * o = rmsnorm(o; w_post), x += o, then h = rmsnorm(x; w_next) unless
 * w_next is NULL — the bits of pali_rmsnorm, pali_add and pali_rmsnorm
 * in turn. */
void pali_residual_rmsnorm(const pali_compute *c, float *x, float *o, int64_t n,
                           int64_t d, const float *w_post, const float *w_next,
                           float eps, float *h);

/* x = gelu_tanh(x) (GELU, tanh approximation: gelu_pytorch_tanh). */
void pali_gelu_tanh(const pali_compute *c, float *x, int64_t n);

/* gate = gelu_tanh(gate) · up, element-wise over n values. */
void pali_gelu_tanh_mul(const pali_compute *c, float *gate, const float *up,
                        int64_t n);

/* y += x over n values. */
void pali_add(const pali_compute *c, float *y, const float *x, int64_t n);

/* x = cap · tanh(x / cap) over n values (Gemma 2's soft-capping). */
void pali_softcap(const pali_compute *c, float *x, int64_t n, float cap);

/* RoPE tables for positions [pos0, pos0 + n): cos and sin (n, hd/2) of
 * pos · inv_freq[i], inv_freq[i] = theta^(−2i/hd), all in f32 as the
 * reference computes them. */
void pali_rope_tables(int64_t pos0, int64_t n, int hd, float theta,
                      float *cos_out, float *sin_out);

/* Rotates heads of x (n, n_heads, hd) in place with the rotate-half
 * convention: x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin (x1, x2 the
 * first and second halves).  Row r uses table row r. */
void pali_rope_apply(const pali_compute *c, float *x, int64_t n, int n_heads,
                     int hd, const float *cos_t, const float *sin_t);

#endif /* PALI_OPS_H */
