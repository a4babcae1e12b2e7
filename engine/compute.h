/* compute.h — the thread pool and the one matrix-product entry point every
 * forward pass uses.  Only matmul*.c talks to BLAS or to vector kernels.
 *
 * Determinism: work is split over output rows/columns only, never over the
 * reduction dimension, so results do not depend on the thread count. */
#ifndef PALI_COMPUTE_H
#define PALI_COMPUTE_H

#include <stdint.h>

#include "pali.h"
#include "tensor.h"

/* ---- thread pool -------------------------------------------------------- */

typedef struct pali_pool pali_pool;

/* Runs on every thread of the pool: ith in [0, nth). */
typedef void (*pali_pool_fn)(void *arg, int ith, int nth);

/* n_threads counts the caller, which works too (1: no extra threads). */
pali_status pali_pool_new(int n_threads, pali_pool **out, pali_error *err);
void pali_pool_free(pali_pool *pool);
int pali_pool_size(const pali_pool *pool);
/* Calls fn on all threads and returns when every call has returned.  One
 * caller at a time (the session's thread).  A NULL pool runs fn(arg, 0, 1). */
void pali_pool_run(pali_pool *pool, pali_pool_fn fn, void *arg);

/* The [begin, end) share of `n` items for thread ith of nth. */
static inline void pali_split(int64_t n, int ith, int nth, int64_t *begin,
                              int64_t *end)
{
    int64_t per = n / nth, extra = n % nth;
    *begin = ith * per + (ith < extra ? ith : extra);
    *end = *begin + per + (ith < extra ? 1 : 0);
}

/* ---- matrix products ---------------------------------------------------- */

typedef struct pali_compute {
    pali_pool *pool;
    pali_precision precision;
} pali_compute;

/* y (n, m) = x (n, k) · wᵀ + bias, where w is an (m, k) weight tensor in any
 * dtype (matrix view: pali_tensor_rows × pali_tensor_cols) and bias (m) may
 * be NULL.  x and y are f32 and must not overlap. */
void pali_matmul(const pali_compute *c, const float *x, int64_t n,
                 const pali_tensor *w, const float *bias, float *y);

/* C (m, n) = alpha · A (m, k) · B (n, k)ᵀ for f32 activations (attention
 * scores and such); lda/ldb/ldc are row strides in elements. */
void pali_gemm_f32_nt(const pali_compute *c, int64_t m, int64_t n, int64_t k,
                      float alpha, const float *a, int64_t lda, const float *b,
                      int64_t ldb, float *y, int64_t ldc);
/* C (m, n) = A (m, k) · B (k, n), f32. */
void pali_gemm_f32_nn(const pali_compute *c, int64_t m, int64_t n, int64_t k,
                      const float *a, int64_t lda, const float *b, int64_t ldb,
                      float *y, int64_t ldc);

#endif /* PALI_COMPUTE_H */
