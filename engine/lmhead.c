/* lmhead.c — the LM head's q8 pre-pass for greedy choices (lmhead.h).
 *
 * The proof the choice is exact, with l_i the logit the full product
 * computes, l̃_i the pre-pass's, B_i = c_i·‖x‖₁ (plus the flushed-denormal
 * slack below) and lo_i = l̃_i − B_i ≤ l_i ≤ l̃_i + B_i = hi_i:
 *   let j maximise lo over the allowed ids; a row i with hi_i < lo_j − μ
 *   has l_i < l_j − μ.  Uncapped (μ = 0) that is l_i < l_j: i is no
 *   maximum.  Capped, the kernel's g(v) lies within E of F(v) =
 *   cap·tanh(v / cap) (tests/test-kernels.c checks E = 2⁻¹⁷·cap), F climbs
 *   at least s = sech²(z / cap) on [l_j − μ, l_j] (|l_j| + 1 ≤ z), and
 *   μ = 3E / s gives g(l_i) ≤ F(l_j − μ) + E ≤ F(l_j) − 2E < g(l_j).
 * So every maximum is among the candidates, computed exactly, and the
 * first of them is the sampler's choice. */
#include "lmhead.h"

#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "internal.h"
#include "kernels.h"
#include "model.h"
#include "quant.h"

/* Rows per check of the stop flag while building, and the stretches in
 * which the rows read leave the mapping (a 2 MB page each). */
#define BUILD_CHECK_ROWS 256
#define DROP_STRETCH     (2u << 20)
/* How often a build that waits for sessions looks again. */
#define BUSY_WAIT_NS 2000000
/* The kernel's soft-cap against cap·tanh(v / cap), as a fraction of cap. */
#define SOFTCAP_ERROR 0x1p-17
/* Beyond this |logit| / cap the cap flattens too much to separate rows. */
#define SOFTCAP_REACH 4.0
/* At most this share of the panels are computed exactly (1/8: 148 MB of
 * the 3B's 1.18 GB, beside the copy's 0.63 GB): beyond it the full
 * product is about as cheap. */
#define PANEL_SHARE 8

uint64_t pali_lmhead_bytes(const pali_tensor *e)
{
    if (e->dtype != PALI_DTYPE_BF16 || e->data == NULL || !pali_quant_fits(e))
        return 0;
    const int64_t rows = pali_tensor_rows(e), cols = pali_tensor_cols(e);
    return pali_quant_nbytes(PALI_DTYPE_Q8, rows, cols) +
           (uint64_t)rows * sizeof(float);
}

/* γ for sums of k products: (k + 8)·u / (1 − (k + 8)·u), u = 2⁻²⁴ (8
 * more for a block's scale and the kernels' partial sums). */
static double gamma_of(int64_t k)
{
    const double nu = (double)(k + 8) * 0x1p-24;
    return nu / (1 - nu);
}

/* c_i of a row (cols, as f32) against its codes and scales: the kernel
 * sets' q8_row_bound, where a set has none. */
static float row_bound(const float *row, int64_t cols, const uint8_t *codes,
                       const uint16_t *scales, double gamma)
{
    double err = 0, mag = 0;
    for (int64_t b = 0; b < cols / PALI_QUANT_BLOCK; b++) {
        const float d = pali_f16_to_f32(scales[b]);
        for (int64_t j = b * PALI_QUANT_BLOCK; j < (b + 1) * PALI_QUANT_BLOCK;
             j++) {
            const double v = row[j], q = d * (float)(int8_t)codes[j];
            if (!isfinite(v))
                return INFINITY;
            err = fmax(err, fabs(v - q));
            mag = fmax(mag, fabs(v) + fabs(q));
        }
    }
    // double's own rounding (2⁻⁵³ relative) and the cast to float: up
    const double c = (err + gamma * mag) * (1 + 0x1p-40);
    float f = (float)c;
    if ((double)f < c)
        f = nextafterf(f, INFINITY);
    return isnan(f) ? INFINITY : f;
}

void pali_lmhead_drop_pages(const pali_model *m)
{
    if (!atomic_load(&m->lmhead.ready) || !m->lmhead.drop_pages)
        return;
    uintptr_t a, b;
    pali_page_span(m->embed.data, m->embed.nbytes, &a, &b);
    (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Waits while a session computes (checking `stop` every BUSY_WAIT_NS);
 * false when stopped. */
static bool wait_idle(pali_lmhead *f, const atomic_bool *stop)
{
    for (;;) {
        if (atomic_load_explicit(stop, memory_order_relaxed))
            return false;
        if (atomic_load_explicit(&f->busy, memory_order_relaxed) == 0)
            return true;
        const struct timespec pause = { 0, BUSY_WAIT_NS };
        nanosleep(&pause, NULL);
    }
}

bool pali_lmhead_build(pali_lmhead *f, const pali_model *m,
                       const atomic_bool *stop)
{
    const pali_tensor *e = &m->embed;
    const uint64_t bytes = pali_lmhead_bytes(e);
    // only where the weights and the copy both fit in RAM
    if (bytes == 0 || pali_model_resident_bytes(m) + bytes > pali_ram_bytes())
        return false;
    const int64_t rows = pali_tensor_rows(e), cols = pali_tensor_cols(e);
    pali_tensor q = *e;
    q.dtype = PALI_DTYPE_Q8;
    q.nbytes = pali_quant_nbytes(PALI_DTYPE_Q8, rows, cols);
    void *data = pali_aligned_alloc(q.nbytes);
    float *bound = pali_aligned_alloc((size_t)rows * sizeof(float));
    float *row = pali_malloc_array((size_t)cols, sizeof(float));
    bool ok = data && bound && row;
    q.data = data;
    const double gamma = gamma_of(cols);
    int kernel = PALI_KERNEL_SCALAR;
    (void)pali_compute_select_kernel(&kernel, NULL); // else the reference
    const pali_kernels *k = pali_kernels_get((pali_kernel)kernel);
    const bool drop = m->quant_map == NULL && m->bf16_copy == NULL;
    uintptr_t dropped, end;
    pali_page_span(e->data, e->nbytes, &dropped, &end);
    for (int64_t r = 0; ok && r < rows; r++) {
        if (r % BUILD_CHECK_ROWS == 0) {
            if (!wait_idle(f, stop)) {
                ok = false;
                break;
            }
            // the rows read so far leave the mapping in whole 2 MB
            // stretches: resident memory holds the copy in their place
            const uintptr_t upto =
                (uintptr_t)((const uint16_t *)e->data + r * cols) &
                ~(uintptr_t)(DROP_STRETCH - 1);
            if (drop && upto > dropped) {
                (void)madvise((void *)dropped, upto - dropped, MADV_DONTNEED);
                dropped = upto;
            }
        }
        const uint16_t *w = (const uint16_t *)e->data + r * cols;
        uint8_t *codes = (uint8_t *)pali_quant_codes(&q, r);
        uint16_t *scales = (uint16_t *)pali_quant_scales(&q, r);
        if (k->q8_row_bound) {
            bound[r] = k->q8_row_bound(w, cols, codes, scales, gamma);
            continue;
        }
        for (int64_t j = 0; j < cols; j++)
            row[j] = pali_bf16_to_f32(w[j]);
        pali_quantize_row(PALI_DTYPE_Q8, row, cols, codes, scales);
        bound[r] = row_bound(row, cols, codes, scales, gamma);
    }
    free(row);
    if (!ok) {
        pali_aligned_free(data);
        pali_aligned_free(bound);
        return false;
    }
    f->q8 = q;
    f->bound = bound;
    f->drop_pages = drop;
    atomic_store_explicit(&f->ready, true, memory_order_release);
    pali_lmhead_drop_pages(m);
    return true;
}

void pali_lmhead_clear(pali_lmhead *f)
{
    if (atomic_load(&f->ready)) {
        pali_aligned_free((void *)f->q8.data);
        pali_aligned_free(f->bound);
    }
    atomic_store(&f->ready, false);
    f->bound = NULL;
}

/* How far row i's logit may lie from its pre-pass value l: c_i·‖x‖₁
 * (scale), the denormal slack, and 2⁻⁴⁸·|l| for the rounding of these
 * sums in double (2⁻⁵³ each). */
static inline double reach(const pali_lmhead *f, float l, int64_t i,
                           double scale, double slack)
{
    return f->bound[i] * scale + slack + 0x1p-48 * fabs(l);
}

/* The soft-cap's margin μ (proof above) for a best row whose logit lies
 * in [lo, hi]; negative when the cap is too flat there. */
static double cap_margin(double lo, double hi, float cap)
{
    const double z = fmax(fabs(lo), fabs(hi)) + 1;
    if (!(z <= SOFTCAP_REACH * cap))
        return -1;
    const double ch = cosh(z / cap), slope = 1 / (ch * ch);
    const double mu = 3 * SOFTCAP_ERROR * cap / slope;
    return mu <= 1 ? mu : -1;
}

bool pali_lmhead_greedy(const pali_model *m, const pali_compute *c,
                        const float *h, int64_t n_allowed, int32_t excluded,
                        float cap, float *logits, float *x_scratch,
                        int32_t *panels, int32_t *id)
{
    const pali_lmhead *f = &m->lmhead;
    if (!atomic_load_explicit(&f->ready, memory_order_acquire))
        return false;
    const int64_t rows = pali_tensor_rows(&f->q8),
                  cols = pali_tensor_cols(&f->q8);
    if (n_allowed > rows)
        n_allowed = rows;
    // x as the full product sees it: rounded to bf16 in fast precision
    const bool fast = c->precision == PALI_PRECISION_FAST;
    double norm1 = 0;
    for (int64_t j = 0; j < cols; j++) {
        const float v = fast ? pali_round_bf16(h[j]) : h[j];
        if (!isfinite(v))
            return false;
        x_scratch[j] = v;
        norm1 += fabs(v);
    }
    pali_gemv_exact(c, x_scratch, &f->q8, logits);

    // ‖x‖₁ up (double's rounding) and the slack for denormals the bf16
    // kernels flush (inputs and products below 2⁻¹²⁶: c_i ≥ γ·|w_ij|)
    const double scale = norm1 * (1 + 0x1p-40) + 0x1p-100;
    const double slack = (double)(cols + 8) * 0x1p-120;
    double best_lo = -INFINITY;
    int64_t best = -1;
    for (int64_t i = 0; i < n_allowed; i++) {
        if (i == excluded)
            continue;
        if (!isfinite(logits[i]))
            return false;
        const double lo = logits[i] - reach(f, logits[i], i, scale, slack);
        if (lo > best_lo) {
            best_lo = lo;
            best = i;
        }
    }
    if (best < 0 || !isfinite(best_lo))
        return false;
    double margin = 0;
    if (cap > 0) {
        margin = cap_margin(
            best_lo, logits[best] + reach(f, logits[best], best, scale, slack),
            cap);
        if (margin < 0)
            return false;
    }

    // the panels of the rows that may hold the maximum
    const double floor = best_lo - margin;
    const int64_t limit = pali_matmul_panels(rows) / PANEL_SHARE + 1;
    int64_t n_panels = 0;
    for (int64_t i = 0; i < n_allowed; i++) {
        if (i == excluded ||
            logits[i] + reach(f, logits[i], i, scale, slack) < floor)
            continue;
        const int32_t p = (int32_t)(i / PALI_MATMUL_PANEL);
        if (n_panels > 0 && panels[n_panels - 1] == p)
            continue;
        if (n_panels == limit)
            return false;
        panels[n_panels++] = p;
    }

    // ... as the full product computes them, capped, and the first maximum
    if (!pali_gemv_panels(c, h, &m->embed, panels, n_panels, logits))
        return false;
    int32_t pick = -1;
    float pick_v = 0;
    for (int64_t k = 0; k < n_panels; k++) {
        const int64_t r0 = (int64_t)panels[k] * PALI_MATMUL_PANEL;
        const int64_t r1 =
            r0 + PALI_MATMUL_PANEL < rows ? r0 + PALI_MATMUL_PANEL : rows;
        if (cap > 0)
            c->kernels->softcap(logits + r0, r1 - r0, cap);
        for (int64_t i = r0; i < r1 && i < n_allowed; i++) {
            if (i == excluded)
                continue;
            if (!isfinite(logits[i]))
                return false;
            if (pick < 0 || logits[i] > pick_v) {
                pick = (int32_t)i;
                pick_v = logits[i];
            }
        }
    }
    if (pick < 0)
        return false;
    pali_lmhead_drop_pages(m);
    *id = pick;
    return true;
}
