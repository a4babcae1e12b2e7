/* compute.h — the thread pool and the one matrix-product entry point every
 * forward pass uses.  The products themselves are the kernel sets' (kernels.h),
 * chosen at run time.
 *
 * Determinism: work is split over output rows/columns only, never over the
 * reduction dimension, so results do not depend on the thread count. */
#ifndef PALI_COMPUTE_H
#define PALI_COMPUTE_H

#include <stddef.h>
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

/* Units of work shared out in claims, for a job whose threads do not run
 * at the same speed (a busy neighbour on the host, an interrupt): each
 * thread starts on its own even share and claims from its front; one that
 * runs out claims from the front of another's, half of what is left
 * there.  Every unit goes to exactly one claim (a fetch-and-add on the
 * share), so the result cannot depend on who took what as long as each
 * unit's arithmetic does not. */
typedef struct pali_work pali_work;

pali_work *pali_work_new(int n_threads);
void pali_work_free(pali_work *w);
/* Units [0, units) in even shares; by the caller, before pali_pool_run. */
void pali_work_reset(pali_work *w, int64_t units);
/* Up to `most` consecutive units for thread ith: [*begin, *end); false
 * when every share is claimed. */
bool pali_work_claim(pali_work *w, int ith, int64_t most, int64_t *begin,
                     int64_t *end);

/* The [begin, end) share of `n` items for thread ith of nth. */
static inline void pali_split(int64_t n, int ith, int nth, int64_t *begin,
                              int64_t *end)
{
    int64_t per = n / nth, extra = n % nth;
    *begin = ith * per + (ith < extra ? ith : extra);
    *end = *begin + per + (ith < extra ? 1 : 0);
}

/* ---- matrix products ---------------------------------------------------- */

/* What a forward pass computes with: the pool, the precision, the kernel
 * set (cpu.h; PALI_KERNEL forces one) and per-thread scratch for the
 * kernels and attention.  Owned by a session. */
typedef struct pali_kernels pali_kernels;

typedef struct pali_compute {
    pali_pool *pool;
    pali_precision precision;
    const pali_kernels *kernels;
    void **scratch; /* (n_threads) buffers of scratch_bytes each, 64-aligned */
    size_t scratch_bytes;
    void *packed; /* the threads' shared activations (kernels.h), or NULL */
    size_t packed_bytes;
    pali_work *work; /* the output panels of a packed product */
} pali_compute;

/* Sets up a pool of n_threads, the kernel set — the best this CPU runs, or
 * the one named by the environment variable PALI_KERNEL — for products
 * of up to max_k inputs, and scratch_bytes of scratch per thread (at
 * least pali_matmul_scratch_bytes(kernel, max_k) and what attention
 * needs). */
pali_status pali_compute_init(pali_compute *c, int n_threads,
                              pali_precision precision, int64_t max_k,
                              size_t scratch_bytes, pali_error *err);
/* The same with the kernel set given (tests, the benchmark). */
pali_status pali_compute_init_kernel(pali_compute *c, int n_threads,
                                     pali_precision precision, int kernel,
                                     int64_t max_k, size_t scratch_bytes,
                                     pali_error *err);
void pali_compute_clear(pali_compute *c);
/* The kernel set PALI_KERNEL names (or the best), without a pool. */
pali_status pali_compute_select_kernel(int *kernel, pali_error *err);
/* The kernel set's name ("amx", … "scalar"). */
const char *pali_compute_kernel_name(const pali_compute *c);

/* Scratch bytes per thread the kernel set of `kernel` needs for weight
 * products with rows of up to max_k inputs. */
size_t pali_matmul_scratch_bytes(int kernel, int64_t max_k);

/* What a product's outputs go through as they are stored. */
typedef enum pali_act {
    PALI_ACT_NONE,
    PALI_ACT_GELU_TANH,     /* y = gelu_tanh(y) */
    PALI_ACT_GELU_TANH_MUL, /* y = gelu_tanh(y) · other */
} pali_act;

/* y (n, m) = x (n, k) · wᵀ + bias, where w is an (m, k) weight tensor in any
 * dtype (matrix view: pali_tensor_rows × pali_tensor_cols) and bias (m) may
 * be NULL.  x and y are f32 and must not overlap.  Runs on the pool, in
 * the compute's precision (kernels.h says what each computes). */
void pali_matmul(const pali_compute *c, const float *x, int64_t n,
                 const pali_tensor *w, const float *bias, float *y);
/* The same, each output then going through `act` (kernels.h) as it is
 * stored: y = gelu_tanh(x·wᵀ + bias) [· other].  The same bits as
 * pali_matmul followed by pali_gelu_tanh[_mul], one pass over y less.
 * other (n, m) must not overlap y. */
void pali_matmul_act(const pali_compute *c, const float *x, int64_t n,
                     const pali_tensor *w, const float *bias, float *y,
                     pali_act act, const float *other);

/* One row of x (k) through w (m, k) in exact arithmetic whatever the
 * compute's precision: y (m) = x · wᵀ, f32 products of x and w's values
 * as f32, summed in f32.  On the pool. */
void pali_gemv_exact(const pali_compute *c, const float *x,
                     const pali_tensor *w, float *y);
/* The outputs of pali_matmul(c, x, 1, w, NULL, y) in the listed panels
 * of PALI_MATMUL_PANEL rows (kernels.h; the last one possibly short), by
 * the same kernel calls: the same bits.  On the pool.  False (nothing
 * done) where that product does not go by columns. */
bool pali_gemv_panels(const pali_compute *c, const float *x,
                      const pali_tensor *w, const int32_t *panels, int64_t n,
                      float *y);

/* Where a product's outputs go.  ROWS: y (n, m) f32, row-major.  PACKED
 * only where pali_matmul_layouts says so: bf16, rounded to nearest even,
 * in the layout in which that set takes the x of a product with k = m
 * (pali_matmul_prepacked of the product's `reader`):
 * (2·NT, R/2, 16, 2), NT = ⌈n/32⌉, R = ⌈(m + s)/32⌉·32, output j of row t
 * at ((t/16)·(R/2) + (j + s)/2)·32 + (t%16)·2 + (j + s)%2, every other
 * element zero.  s, the layout's shift, is what the set asks of the
 * reader's weights (pali_matmul_shift: where they lie against cache
 * lines, an even number, 0 for most; 0 with no reader). */
typedef enum pali_layout {
    PALI_LAYOUT_ROWS,
    PALI_LAYOUT_PACKED,
} pali_layout;

/* Bytes of a product's output of n rows and m columns in `layout` (in
 * PACKED for any reader). */
size_t pali_layout_bytes(pali_layout layout, int64_t n, int64_t m);

/* The shift s of the PACKED layout of n rows for `reader` (compute.h
 * above; 0 for NULL). */
int pali_matmul_shift(const pali_compute *c, int64_t n,
                      const pali_tensor *reader);

/* One product of pali_matmul_many. */
typedef struct pali_product {
    const pali_tensor *w; /* (m, k) */
    const float *bias;    /* (m) or NULL */
    float *y;             /* (n, m), or as `layout` says */
    pali_act act;
    const float *other; /* for PALI_ACT_GELU_TANH_MUL in ROWS: (n, m) */
    pali_layout layout;
    /* for PALI_ACT_GELU_TANH_MUL in PACKED instead of `other`: (m, k), the
     * same dtype as w; other = x·other_wᵀ, made in the same pass as
     * x·wᵀ, the two never stored apart (the same bits as the product of
     * other_w in ROWS passed as `other`) */
    const pali_tensor *other_w;
    /* for PACKED: the weights of the product that will read y
     * (pali_matmul_prepacked's w), whose layout it is stored in; NULL:
     * shift 0, for a reader whose set asks none */
    const pali_tensor *reader;
} pali_product;

/* Several products of the same x (n, k), in order (a later one's `other`
 * may be an earlier one's y): the kernel set converts x once for all.
 * The same bits as one pali_matmul_act per product. */
void pali_matmul_many(const pali_compute *c, const float *x, int64_t n,
                      const pali_product *products, int count);

/* Whether products of n rows may store PACKED outputs (the AMX set in
 * fast precision, n ≥ 16). */
bool pali_matmul_layouts(const pali_compute *c, int64_t n);

/* y (n, m) = x · wᵀ + bias for an x of n rows that a product of w's k
 * columns stored as PALI_LAYOUT_PACKED with w as its reader
 * (pali_matmul_layouts must hold): the bits of pali_matmul on that
 * product's ROWS output. */
void pali_matmul_prepacked(const pali_compute *c, const void *xp, int64_t n,
                           const pali_tensor *w, const float *bias, float *y);

#endif /* PALI_COMPUTE_H */
