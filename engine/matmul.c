/* matmul.c — the one entry point for weight products, y = x·Wᵀ + b.
 *
 * Exact precision (f32 arithmetic on f32/bf16/f16 weights): the output
 * columns are cut into panels of MATMUL_PANEL rows of W on a fixed grid, and
 * threads take whole panels, so every output element is computed by the
 * same call with the same inputs whatever the thread count.  Each panel is
 * converted to f32 in the thread's scratch when needed and multiplied with
 * BLAS (many rows) or a lane-wise dot kernel (a few rows: decode).
 * The dot kernel keeps MATMUL_LANES independent partial sums and adds them
 * in a fixed order, so it needs no reassociation and is deterministic. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "internal.h"

/* Rows of W per panel: a multiple of the vector width, small enough that a
 * converted panel of the widest layer (36864 inputs) stays in L2-ish sizes. */
#define MATMUL_PANEL 32
/* Up to this many activation rows use the dot kernel instead of BLAS. */
#define MATMUL_DOT_MAX_ROWS 4
/* Independent partial sums per dot product (vectorisable without
 * reassociation: lane l only ever adds element k ≡ l mod MATMUL_LANES). */
#define MATMUL_LANES 16

int64_t pali_matmul_scratch_floats(int64_t max_k)
{
    return (int64_t)MATMUL_PANEL * max_k;
}

pali_status pali_compute_init(pali_compute *c, int n_threads,
                              pali_precision precision, int64_t scratch_floats,
                              pali_error *err)
{
    memset(c, 0, sizeof(*c));
    c->precision = precision;
    pali_status st = pali_pool_new(n_threads, &c->pool, err);
    if (st != PALI_OK)
        return st;
    /* Our pool does the threading; BLAS runs single-threaded inside it. */
    openblas_set_num_threads(1);
    c->scratch_floats = (size_t)scratch_floats;
    c->scratch = calloc((size_t)n_threads, sizeof(float *));
    if (c->scratch == NULL) {
        pali_compute_clear(c);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < n_threads; i++) {
        c->scratch[i] = pali_aligned_alloc(c->scratch_floats * sizeof(float));
        if (c->scratch[i] == NULL) {
            pali_compute_clear(c);
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                             "out of memory for matmul scratch");
        }
    }
    return PALI_OK;
}

void pali_compute_clear(pali_compute *c)
{
    if (c->scratch) {
        int n = pali_pool_size(c->pool);
        for (int i = 0; i < n; i++)
            pali_aligned_free(c->scratch[i]);
        free(c->scratch);
    }
    pali_pool_free(c->pool);
    memset(c, 0, sizeof(*c));
}

/* dot(x, w) over k elements, w in f32. */
static float dot_f32(const float *x, const float *w, int64_t k)
{
    float acc[MATMUL_LANES] = { 0 };
    int64_t i = 0;
    for (; i + MATMUL_LANES <= k; i += MATMUL_LANES)
        for (int l = 0; l < MATMUL_LANES; l++)
            acc[l] += x[i + l] * w[i + l];
    for (int l = 0; i < k; i++, l++)
        acc[l] += x[i] * w[i];
    float s = 0;
    for (int l = 0; l < MATMUL_LANES; l++)
        s += acc[l];
    return s;
}

static float dot_bf16(const float *x, const uint16_t *w, int64_t k)
{
    float acc[MATMUL_LANES] = { 0 };
    int64_t i = 0;
    for (; i + MATMUL_LANES <= k; i += MATMUL_LANES)
        for (int l = 0; l < MATMUL_LANES; l++)
            acc[l] += x[i + l] * pali_bf16_to_f32(w[i + l]);
    for (int l = 0; i < k; i++, l++)
        acc[l] += x[i] * pali_bf16_to_f32(w[i]);
    float s = 0;
    for (int l = 0; l < MATMUL_LANES; l++)
        s += acc[l];
    return s;
}

typedef struct matmul_job {
    const pali_compute *c;
    const float *x; /* (n, k) */
    int64_t n, k, m;
    const pali_tensor *w; /* (m, k) */
    const float *bias;    /* (m) or NULL */
    float *y;             /* (n, m) */
} matmul_job;

/* Few activation rows: one dot product per output, weights read once. */
static void matmul_dot_panel(const matmul_job *job, int64_t r0, int64_t r1,
                             float *scratch)
{
    const int64_t k = job->k;
    for (int64_t r = r0; r < r1; r++) {
        const float *wf = NULL;
        const uint16_t *wb = NULL;
        switch (job->w->dtype) {
        case PALI_DTYPE_F32: wf = (const float *)job->w->data + r * k; break;
        case PALI_DTYPE_BF16:
            wb = (const uint16_t *)job->w->data + r * k;
            break;
        default:
            pali_tensor_read_f32(job->w, r * k, k, scratch);
            wf = scratch;
            break;
        }
        for (int64_t i = 0; i < job->n; i++) {
            const float *xi = job->x + i * k;
            float v = wf ? dot_f32(xi, wf, k) : dot_bf16(xi, wb, k);
            job->y[i * job->m + r] = v;
        }
    }
}

/* Many activation rows: BLAS on the (converted) panel. */
static void matmul_blas_panel(const matmul_job *job, int64_t r0, int64_t r1,
                              float *scratch)
{
    const int64_t k = job->k;
    const float *wp;
    if (job->w->dtype == PALI_DTYPE_F32) {
        wp = (const float *)job->w->data + r0 * k;
    } else {
        pali_tensor_read_f32(job->w, r0 * k, (r1 - r0) * k, scratch);
        wp = scratch;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)job->n,
                (int)(r1 - r0), (int)k, 1.0f, job->x, (int)k, wp, (int)k, 0.0f,
                job->y + r0, (int)job->m);
}

static void matmul_worker(void *arg, int ith, int nth)
{
    const matmul_job *job = arg;
    int64_t n_panels = (job->m + MATMUL_PANEL - 1) / MATMUL_PANEL;
    int64_t p0, p1;
    pali_split(n_panels, ith, nth, &p0, &p1);
    float *scratch = job->c->scratch[ith];
    for (int64_t p = p0; p < p1; p++) {
        int64_t r0 = p * MATMUL_PANEL;
        int64_t r1 = r0 + MATMUL_PANEL < job->m ? r0 + MATMUL_PANEL : job->m;
        if (job->n <= MATMUL_DOT_MAX_ROWS)
            matmul_dot_panel(job, r0, r1, scratch);
        else
            matmul_blas_panel(job, r0, r1, scratch);
        if (job->bias)
            for (int64_t i = 0; i < job->n; i++)
                for (int64_t r = r0; r < r1; r++)
                    job->y[i * job->m + r] += job->bias[r];
    }
}

void pali_matmul(const pali_compute *c, const float *x, int64_t n,
                 const pali_tensor *w, const float *bias, float *y)
{
    matmul_job job = {
        .c = c,
        .x = x,
        .n = n,
        .k = pali_tensor_cols(w),
        .m = pali_tensor_rows(w),
        .w = w,
        .bias = bias,
        .y = y,
    };
    if (n <= 0 || job.m <= 0)
        return;
    pali_pool_run(c->pool, matmul_worker, &job);
}

void pali_sgemm_nt(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float *y,
                   int64_t ldy)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k,
                alpha, a, (int)lda, b, (int)ldb, 0.0f, y, (int)ldy);
}

void pali_sgemm_nn(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float *y, int64_t ldy)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0f, a, (int)lda, b, (int)ldb, 0.0f, y, (int)ldy);
}
