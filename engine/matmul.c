/* matmul.c — the one entry point for weight products, y = x·Wᵀ + b, and
 * the compute context that carries the kernel set (compute.h).
 *
 * The output columns are cut into panels of PALI_MATMUL_PANEL rows of W on
 * a fixed grid, and each thread takes a contiguous range of whole panels
 * (packed products: claims of panels, pali_work), so every output element
 * is computed with the same inputs in the same order whatever the thread
 * count or who computes it.  The kernel set (kernels.h) does
 * the arithmetic: AMX, AVX512-BF16, AVX-512, AVX2 or the scalar reference,
 * the best the CPU runs unless PALI_KERNEL names another.  Sets that
 * convert the activations to their own layout (AMX) get them converted
 * here first, once per chunk of rows for all products of the same x, by
 * all threads into a shared buffer.  No BLAS: the
 * sets' own f32 kernels are what the exact precision runs on, so no
 * library's CPU detection can make it silently slow. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "cpu.h"
#include "internal.h"
#include "kernels.h"

pali_status pali_compute_select_kernel(int *kernel, pali_error *err)
{
    pali_cpu cpu;
    pali_cpu_detect(&cpu);
    pali_kernel k;
    pali_status st = pali_kernel_select(&cpu, getenv(PALI_KERNEL_ENV), &k, err);
    *kernel = (int)k;
    return st;
}

pali_status pali_compute_init(pali_compute *c, int n_threads,
                              pali_precision precision, int64_t max_k,
                              size_t scratch_bytes, pali_error *err)
{
    memset(c, 0, sizeof(*c));
    int kernel;
    pali_status st = pali_compute_select_kernel(&kernel, err);
    if (st != PALI_OK)
        return st;
    return pali_compute_init_kernel(c, n_threads, precision, kernel, max_k,
                                    scratch_bytes, err);
}

pali_status pali_compute_init_kernel(pali_compute *c, int n_threads,
                                     pali_precision precision, int kernel,
                                     int64_t max_k, size_t scratch_bytes,
                                     pali_error *err)
{
    memset(c, 0, sizeof(*c));
    pali_cpu cpu;
    pali_cpu_detect(&cpu);
    if (kernel < 0 || kernel >= PALI_KERNEL_COUNT ||
        !pali_cpu_supports(&cpu, (pali_kernel)kernel))
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "kernel set %s does not run on this CPU (best: %s)",
                         pali_kernel_name((pali_kernel)kernel),
                         pali_kernel_name(cpu.best));
    c->precision = precision;
    c->kernels = pali_kernels_get((pali_kernel)kernel);
    pali_status st = pali_pool_new(n_threads, &c->pool, err);
    if (st != PALI_OK)
        return st;
    c->scratch_bytes = scratch_bytes;
    c->scratch = calloc((size_t)n_threads, sizeof(void *));
    c->work = pali_work_new(n_threads);
    if (c->scratch == NULL || c->work == NULL) {
        pali_compute_clear(c);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (c->kernels->pack_bytes && precision == PALI_PRECISION_FAST) {
        c->packed_bytes = c->kernels->pack_bytes(max_k);
        c->packed = pali_aligned_alloc(c->packed_bytes);
        if (c->packed == NULL) {
            pali_compute_clear(c);
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                             "out of memory for %zu bytes of packed "
                             "activations",
                             c->packed_bytes);
        }
    }
    for (int i = 0; i < n_threads; i++) {
        c->scratch[i] = pali_aligned_alloc(scratch_bytes);
        if (c->scratch[i] == NULL) {
            pali_compute_clear(c);
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                             "out of memory for %zu bytes of kernel scratch "
                             "per thread",
                             scratch_bytes);
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
    pali_aligned_free(c->packed);
    pali_work_free(c->work);
    pali_pool_free(c->pool);
    memset(c, 0, sizeof(*c));
}

const char *pali_compute_kernel_name(const pali_compute *c)
{
    return pali_kernel_name(c->kernels ? c->kernels->id : PALI_KERNEL_SCALAR);
}

size_t pali_matmul_scratch_bytes(int kernel, int64_t max_k)
{
    return pali_kernels_get((pali_kernel)kernel)->matmul_scratch(max_k);
}

/* Most products of one x that a packed run takes at once. */
#define RUN_MAX 4

typedef struct matmul_job {
    const pali_compute *c;
    pali_mm mm;
    int64_t t0, nt;       /* the packed chunk's rows (packed products) */
    const void *packed;   /* ... and where they are packed */
    pali_mm run[RUN_MAX]; /* packed products: the run's `count` products */
    int count;
} matmul_job;

/* This thread's columns: whole panels of the fixed grid. */
static bool thread_columns(int64_t m, int ith, int nth, int64_t *r0,
                           int64_t *r1)
{
    int64_t p0, p1;
    pali_split(pali_matmul_panels(m), ith, nth, &p0, &p1);
    *r0 = p0 * PALI_MATMUL_PANEL;
    *r1 = p1 * PALI_MATMUL_PANEL < m ? p1 * PALI_MATMUL_PANEL : m;
    return *r0 < *r1;
}

/* Panels per claim of a GEMV: 256 weight rows, 1.2 MB at k = 2304, long
 * against the claim itself and the kernel's conversion of x. */
#define GEMV_CLAIM_PANELS 8

/* mm->act on columns [r0, r1) of every row of y, after the product. */
static void apply_act(const pali_kernels *k, const pali_mm *mm, int64_t r0,
                      int64_t r1)
{
    for (int64_t i = 0; i < mm->n; i++) {
        float *y = mm->y + i * mm->m + r0;
        if (mm->act == PALI_ACT_GELU_TANH)
            k->gelu_tanh(y, r1 - r0);
        else
            k->gelu_tanh_mul(y, mm->other + i * mm->m + r0, r1 - r0);
    }
}

/* Columns [r0, r1) of job's product, then mm->act on them. */
static void product_columns(const matmul_job *job, int64_t r0, int64_t r1,
                            void *scratch)
{
    const pali_kernels *k = job->c->kernels;
    if (job->mm.act == PALI_ACT_NONE) {
        k->matmul(&job->mm, r0, r1, scratch);
        return;
    }
    pali_mm plain = job->mm;
    plain.act = PALI_ACT_NONE;
    k->matmul(&plain, r0, r1, scratch);
    apply_act(k, &job->mm, r0, r1);
}

/* A product of many rows: each thread its even share of the panels, for
 * which the kernel packs x once. */
static void matmul_worker(void *arg, int ith, int nth)
{
    const matmul_job *job = arg;
    int64_t r0, r1;
    if (thread_columns(job->mm.m, ith, nth, &r0, &r1))
        product_columns(job, r0, r1, job->c->scratch[ith]);
}

/* A GEMV (at most PALI_GEMV_MAX_ROWS rows of x; decode), bound by reading
 * the weights: its panels in claims of GEMV_CLAIM_PANELS, so that each
 * thread streams its own share in order and one that a neighbour on the
 * host slows down leaves the rest of its share to the others. */
static void gemv_worker(void *arg, int ith, int nth)
{
    (void)nth;
    const matmul_job *job = arg;
    const int64_t m = job->mm.m;
    int64_t p0, p1;
    while (pali_work_claim(job->c->work, ith, GEMV_CLAIM_PANELS, &p0, &p1)) {
        const int64_t r1 = p1 * PALI_MATMUL_PANEL;
        product_columns(job, p0 * PALI_MATMUL_PANEL, r1 < m ? r1 : m,
                        job->c->scratch[ith]);
    }
}

/* Blocks of the chunk [t0, t0 + nt) into the shared buffer. */
static void pack_worker(void *arg, int ith, int nth)
{
    const matmul_job *job = arg;
    const pali_kernels *k = job->c->kernels;
    int64_t b0, b1;
    pali_split(k->pack_blocks(job->nt), ith, nth, &b0, &b1);
    if (b0 < b1)
        k->pack(&job->mm, job->t0, job->nt, b0, b1, job->c->packed);
}

static void packed_worker(void *arg, int ith, int nth)
{
    (void)nth;
    const matmul_job *job = arg;
    job->c->kernels->matmul_packed(job->run, job->count, job->packed, job->t0,
                                   job->nt, job->c->work, ith,
                                   job->c->scratch[ith]);
}

/* job's `units` panels shared out in claims (a thread that a neighbour
 * slows down takes fewer): a run of packed products, or a GEMV. */
static void run_claimed(const pali_compute *c, matmul_job *job,
                        pali_pool_fn worker, int64_t units)
{
    // a serial for what the kernels make of x (pali_mm.x_serial): unique
    // in the process, whatever the session
    static atomic_uint_fast64_t serials;
    job->mm.x_serial = atomic_fetch_add(&serials, 1) + 1;
    pali_work_reset(c->work, units);
    pali_pool_run(c->pool, worker, job);
}

static pali_mm product_mm(const pali_compute *c, const float *x, int64_t n,
                          const pali_product *p)
{
    return (pali_mm){
        .x = x,
        .n = n,
        .k = pali_tensor_cols(p->w),
        .m = pali_tensor_rows(p->w),
        .w = p->w,
        .bias = p->bias,
        .y = p->y,
        .fast = c->precision == PALI_PRECISION_FAST,
        .act = p->act,
        .other = p->other,
        .layout = p->layout,
        .other_w = p->other_w,
        .y_shift = p->layout == PALI_LAYOUT_PACKED
                       ? pali_matmul_shift(c, n, p->reader)
                       : 0,
    };
}

/* Chunk [job->t0, + job->nt) of the packed products, in runs of up to
 * RUN_MAX (each product alone where one reads another's output: it must
 * wait for all of it). */
static void packed_runs(matmul_job *job, const float *x, int64_t n,
                        const pali_product *products, int count, int shift)
{
    bool reads = false;
    for (int i = 0; i < count; i++)
        reads = reads || products[i].other != NULL;
    for (int i = 0; i < count;) {
        int64_t units = 0;
        job->count = 0;
        for (; i < count && job->count < (reads ? 1 : RUN_MAX); i++) {
            pali_mm mi = product_mm(job->c, x, n, &products[i]);
            mi.shift = shift;
            if (mi.m > 0) {
                job->run[job->count++] = mi;
                units += pali_matmul_panels(mi.m);
            }
        }
        if (job->count > 0)
            run_claimed(job->c, job, packed_worker, units);
    }
}

/* Sets mm's shift and returns the rows per chunk in which the set packs
 * its activations: 0 where it does not (the product goes by columns). */
static int64_t packed_chunk_rows(const pali_compute *c, pali_mm *mm)
{
    const pali_kernels *k = c->kernels;
    mm->shift = k->pack_shift ? k->pack_shift(mm) : 0;
    return c->packed && k->pack_rows ? k->pack_rows(mm) : 0;
}

/* The columns of a PACKED layout of shift s > 0 that no output falls in
 * (compute.h; m a multiple of 32, pali_matmul_shift): [0, s) and
 * [s + m, R) of every 16-row block. */
static void packed_margins_zero(uint16_t *y, int64_t n, int64_t m, int s)
{
    const int64_t r = (m + s + 31) / 32 * 32, blocks = (n + 31) / 32 * 2;
    for (int64_t b = 0; b < blocks; b++) {
        uint16_t *block = y + b * r * 16;
        memset(block, 0, (size_t)s * 16 * sizeof(uint16_t));
        memset(block + (s + m) * 16, 0,
               (size_t)(r - s - m) * 16 * sizeof(uint16_t));
    }
}

int pali_matmul_shift(const pali_compute *c, int64_t n,
                      const pali_tensor *reader)
{
    const pali_kernels *k = c->kernels;
    if (reader == NULL || k->pack_shift == NULL)
        return 0;
    const pali_mm mm = {
        .n = n,
        .k = pali_tensor_cols(reader),
        .m = pali_tensor_rows(reader),
        .w = reader,
        .fast = c->precision == PALI_PRECISION_FAST,
    };
    const int s = k->pack_shift(&mm);
    // whole pairs of the layout, and its producer's panels ending on m
    return s % 2 == 0 && mm.k % 32 == 0 ? s : 0;
}

void pali_matmul_many(const pali_compute *c, const float *x, int64_t n,
                      const pali_product *products, int count)
{
    if (n <= 0 || count <= 0)
        return;
    const pali_kernels *k = c->kernels;
    matmul_job job = { .c = c, .mm = product_mm(c, x, n, &products[0]) };
    const int64_t rows = packed_chunk_rows(c, &job.mm);
    const int shift = job.mm.shift;
    for (int i = 1; i < count; i++) {
        const pali_mm mi = product_mm(c, x, n, &products[i]);
        if (mi.k != job.mm.k ||
            (k->pack_shift && k->pack_shift(&mi) != shift)) {
            // x cannot serve products of other widths, or packed for
            // other shifts: one at a time
            for (int j = 0; j < count; j++)
                pali_matmul_many(c, x, n, &products[j], 1);
            return;
        }
    }
    if (rows <= 0) {
        for (int i = 0; i < count; i++) {
            job.mm = product_mm(c, x, n, &products[i]);
            if (job.mm.m <= 0)
                continue;
            if (n > PALI_GEMV_MAX_ROWS)
                pali_pool_run(c->pool, matmul_worker, &job);
            else
                run_claimed(c, &job, gemv_worker, pali_matmul_panels(job.mm.m));
        }
        return;
    }
    job.packed = c->packed;
    for (job.t0 = 0; job.t0 < n; job.t0 += rows) {
        job.nt = n - job.t0 < rows ? n - job.t0 : rows;
        pali_pool_run(c->pool, pack_worker, &job);
        packed_runs(&job, x, n, products, count, shift);
    }
    for (int i = 0; i < count; i++) {
        const pali_mm mi = product_mm(c, x, n, &products[i]);
        if (mi.layout == PALI_LAYOUT_PACKED && mi.y_shift > 0)
            packed_margins_zero((uint16_t *)mi.y, n, mi.m, mi.y_shift);
    }
}

static int64_t round_up(int64_t n, int64_t to)
{
    return (n + to - 1) / to * to;
}

size_t pali_layout_bytes(pali_layout layout, int64_t n, int64_t m)
{
    if (layout == PALI_LAYOUT_ROWS)
        return (size_t)(n * m) * sizeof(float);
    // room for a shift (below 32)
    return (size_t)(round_up(n, 32) * (round_up(m, 32) + 32)) *
           sizeof(uint16_t);
}

bool pali_matmul_layouts(const pali_compute *c, int64_t n)
{
    const pali_kernels *k = c->kernels;
    if (!c->packed || !k->pack_rows)
        return false;
    const pali_mm mm = {
        .n = n,
        .k = 1,
        .fast = c->precision == PALI_PRECISION_FAST,
    };
    return k->pack_rows(&mm) > 0;
}

void pali_matmul_prepacked(const pali_compute *c, const void *xp, int64_t n,
                           const pali_tensor *w, const float *bias, float *y)
{
    if (n <= 0)
        return;
    const pali_product p = {
        w, bias, y, PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS
    };
    matmul_job job = { .c = c, .mm = product_mm(c, NULL, n, &p) };
    if (job.mm.m <= 0)
        return;
    // the chunks pali_matmul_many would pack, found where the producer
    // stored them: 16-row blocks of round_up(k + shift, 32) bf16
    job.mm.shift = pali_matmul_shift(c, n, w);
    const int64_t rows =
        c->kernels->pack_rows ? c->kernels->pack_rows(&job.mm) : 0;
    if (rows <= 0) // not a set that packs (pali_matmul_layouts is false)
        return;
    const int64_t kpad = round_up(job.mm.k + job.mm.shift, 32);
    for (job.t0 = 0; job.t0 < n; job.t0 += rows) {
        job.nt = n - job.t0 < rows ? n - job.t0 : rows;
        job.packed = (const uint16_t *)xp + (job.t0 / 16) * kpad * 16;
        job.run[0] = job.mm;
        job.count = 1;
        run_claimed(c, &job, packed_worker, pali_matmul_panels(job.mm.m));
    }
}

void pali_matmul(const pali_compute *c, const float *x, int64_t n,
                 const pali_tensor *w, const float *bias, float *y)
{
    pali_matmul_act(c, x, n, w, bias, y, PALI_ACT_NONE, NULL);
}

void pali_matmul_act(const pali_compute *c, const float *x, int64_t n,
                     const pali_tensor *w, const float *bias, float *y,
                     pali_act act, const float *other)
{
    const pali_product p = { w, bias, y, act, other, PALI_LAYOUT_ROWS };
    pali_matmul_many(c, x, n, &p, 1);
}

/* A product of one row of x through w into y, as pali_matmul sets it. */
static matmul_job one_row(const pali_compute *c, const float *x,
                          const pali_tensor *w, float *y)
{
    const pali_product p = {
        w, NULL, y, PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS
    };
    return (matmul_job){ .c = c, .mm = product_mm(c, x, 1, &p) };
}

void pali_gemv_exact(const pali_compute *c, const float *x,
                     const pali_tensor *w, float *y)
{
    matmul_job job = one_row(c, x, w, y);
    job.mm.fast = false;
    if (job.mm.m > 0)
        run_claimed(c, &job, gemv_worker, pali_matmul_panels(job.mm.m));
}

typedef struct panels_job {
    matmul_job job;
    const int32_t *panels;
} panels_job;

/* Listed panels, in claims of one. */
static void panels_worker(void *arg, int ith, int nth)
{
    (void)nth;
    const panels_job *pj = arg;
    const int64_t m = pj->job.mm.m;
    int64_t a, b;
    while (pali_work_claim(pj->job.c->work, ith, 1, &a, &b))
        for (int64_t i = a; i < b; i++) {
            const int64_t r0 = (int64_t)pj->panels[i] * PALI_MATMUL_PANEL;
            const int64_t r1 =
                r0 + PALI_MATMUL_PANEL < m ? r0 + PALI_MATMUL_PANEL : m;
            product_columns(&pj->job, r0, r1, pj->job.c->scratch[ith]);
        }
}

bool pali_gemv_panels(const pali_compute *c, const float *x,
                      const pali_tensor *w, const int32_t *panels, int64_t n,
                      float *y)
{
    panels_job pj = { one_row(c, x, w, y), panels };
    // only where pali_matmul_many takes this product by columns (and
    // then with the mm product_mm made)
    pali_mm probe = pj.job.mm;
    if (packed_chunk_rows(c, &probe) > 0)
        return false;
    if (n > 0)
        run_claimed(c, &pj.job, panels_worker, n);
    return true;
}
