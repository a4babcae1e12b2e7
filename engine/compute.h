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

/* What a forward pass computes with: the pool, the precision, and per-thread
 * scratch for converting weight panels.  Owned by a session. */
typedef struct pali_compute {
    pali_pool *pool;
    pali_precision precision;
    float **scratch; /* (n_threads) buffers of scratch_floats each */
    size_t scratch_floats;
} pali_compute;

/* Sets up a pool of n_threads and scratch_floats of scratch per thread
 * (at least pali_matmul_scratch_floats of the widest weight row, and what
 * attention needs). */
pali_status pali_compute_init(pali_compute *c, int n_threads,
                              pali_precision precision, int64_t scratch_floats,
                              pali_error *err);
void pali_compute_clear(pali_compute *c);

/* Scratch floats per thread pali_matmul needs for rows of max_k inputs. */
int64_t pali_matmul_scratch_floats(int64_t max_k);

/* y (n, m) = x (n, k) · wᵀ + bias, where w is an (m, k) weight tensor in any
 * dtype (matrix view: pali_tensor_rows × pali_tensor_cols) and bias (m) may
 * be NULL.  x and y are f32 and must not overlap.  Runs on the pool. */
void pali_matmul(const pali_compute *c, const float *x, int64_t n,
                 const pali_tensor *w, const float *bias, float *y);

/* Single-threaded f32 products for use inside a pool job (attention):
 * y (m, n) = alpha · a (m, k) · b (n, k)ᵀ, and y (m, n) = a (m, k) · b (k, n).
 * lda/ldb/ldy are row strides in elements. */
void pali_sgemm_nt(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float *y,
                   int64_t ldy);
void pali_sgemm_nn(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float *y, int64_t ldy);

#endif /* PALI_COMPUTE_H */
