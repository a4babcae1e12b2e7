/* ops.c — row-wise and element-wise operations of the forward passes (see
 * ops.h), split over the pool: the per-row arithmetic is the kernel set's
 * (kernels.h: the scalar reference follows torch.nn.LayerNorm,
 * Gemma2RMSNorm, gelu_pytorch_tanh and the soft-cap formula; the vector
 * sets compute the same within a few ulp), and RoPE follows transformers'
 * default (inv_freq and angles in f32). */
#include "ops.h"

#include <math.h>

#include "internal.h"
#include "kernels.h"

typedef struct rows_job {
    const pali_compute *c;
    const float *x;
    int64_t n, d;
    const float *w, *b;
    float eps;
    float *out;
} rows_job;

static void layernorm_worker(void *arg, int ith, int nth)
{
    const rows_job *j = arg;
    int64_t r0, r1;
    pali_split(j->n, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++)
        j->c->kernels->layernorm(j->x + r * j->d, j->d, j->w, j->b, j->eps,
                                 j->out + r * j->d);
}

void pali_layernorm(const pali_compute *c, const float *x, int64_t n, int64_t d,
                    const float *w, const float *b, float eps, float *out)
{
    rows_job j = { c, x, n, d, w, b, eps, out };
    pali_pool_run(c->pool, layernorm_worker, &j);
}

static void rmsnorm_worker(void *arg, int ith, int nth)
{
    const rows_job *j = arg;
    int64_t r0, r1;
    pali_split(j->n, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++)
        j->c->kernels->rmsnorm(j->x + r * j->d, j->d, j->w, j->eps,
                               j->out + r * j->d);
}

void pali_rmsnorm(const pali_compute *c, const float *x, int64_t n, int64_t d,
                  const float *w, float eps, float *out)
{
    rows_job j = { c, x, n, d, w, NULL, eps, out };
    if (n == 1) // decode: not worth waking the pool
        rmsnorm_worker(&j, 0, 1);
    else
        pali_pool_run(c->pool, rmsnorm_worker, &j);
}

typedef struct residual_job {
    const pali_compute *c;
    float *x, *o;
    int64_t n, d;
    const float *w_post, *w_next;
    float eps;
    float *h;
} residual_job;

static void residual_worker(void *arg, int ith, int nth)
{
    const residual_job *j = arg;
    const pali_kernels *k = j->c->kernels;
    int64_t r0, r1;
    pali_split(j->n, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        float *x = j->x + r * j->d, *o = j->o + r * j->d;
        k->rmsnorm(o, j->d, j->w_post, j->eps, o);
        for (int64_t i = 0; i < j->d; i++)
            x[i] += o[i];
        if (j->w_next)
            k->rmsnorm(x, j->d, j->w_next, j->eps, j->h + r * j->d);
    }
}

void pali_residual_rmsnorm(const pali_compute *c, float *x, float *o, int64_t n,
                           int64_t d, const float *w_post, const float *w_next,
                           float eps, float *h)
{
    residual_job j = { c, x, o, n, d, w_post, w_next, eps, h };
    if (n == 1) // decode: not worth waking the pool
        residual_worker(&j, 0, 1);
    else
        pali_pool_run(c->pool, residual_worker, &j);
}

typedef struct elem_job {
    const pali_compute *c;
    float *y;
    const float *x;
    int64_t n;
    float cap;
} elem_job;

/* Element ranges are split on 64-value boundaries (cache lines). */
static void elem_range(int64_t n, int ith, int nth, int64_t *b, int64_t *e)
{
    int64_t blocks = (n + 63) / 64;
    pali_split(blocks, ith, nth, b, e);
    *b *= 64;
    *e = *e * 64 < n ? *e * 64 : n;
}

static void gelu_worker(void *arg, int ith, int nth)
{
    const elem_job *j = arg;
    int64_t b, e;
    elem_range(j->n, ith, nth, &b, &e);
    if (b < e)
        j->c->kernels->gelu_tanh(j->y + b, e - b);
}

void pali_gelu_tanh(const pali_compute *c, float *x, int64_t n)
{
    elem_job j = { c, x, NULL, n, 0 };
    pali_pool_run(c->pool, gelu_worker, &j);
}

static void gelu_mul_worker(void *arg, int ith, int nth)
{
    const elem_job *j = arg;
    int64_t b, e;
    elem_range(j->n, ith, nth, &b, &e);
    if (b < e)
        j->c->kernels->gelu_tanh_mul(j->y + b, j->x + b, e - b);
}

void pali_gelu_tanh_mul(const pali_compute *c, float *gate, const float *up,
                        int64_t n)
{
    elem_job j = { c, gate, up, n, 0 };
    pali_pool_run(c->pool, gelu_mul_worker, &j);
}

static void add_worker(void *arg, int ith, int nth)
{
    const elem_job *j = arg;
    int64_t b, e;
    elem_range(j->n, ith, nth, &b, &e);
    for (int64_t i = b; i < e; i++)
        j->y[i] += j->x[i];
}

void pali_add(const pali_compute *c, float *y, const float *x, int64_t n)
{
    elem_job j = { c, y, x, n, 0 };
    if (n <= 64 * 64) // a decode row: not worth waking the pool
        add_worker(&j, 0, 1);
    else
        pali_pool_run(c->pool, add_worker, &j);
}

static void softcap_worker(void *arg, int ith, int nth)
{
    const elem_job *j = arg;
    int64_t b, e;
    elem_range(j->n, ith, nth, &b, &e);
    if (b < e)
        j->c->kernels->softcap(j->y + b, e - b, j->cap);
}

void pali_softcap(const pali_compute *c, float *x, int64_t n, float cap)
{
    elem_job j = { c, x, NULL, n, cap };
    pali_pool_run(c->pool, softcap_worker, &j);
}

void pali_rope_tables(int64_t pos0, int64_t n, int hd, float theta,
                      float *cos_out, float *sin_out)
{
    const int half = hd / 2;
    for (int i = 0; i < half; i++) {
        // inv_freq = 1 / theta^(2i / hd), as transformers computes it in f32
        const float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
        for (int64_t r = 0; r < n; r++) {
            const float angle = (float)(pos0 + r) * inv_freq;
            cos_out[r * half + i] = cosf(angle);
            sin_out[r * half + i] = sinf(angle);
        }
    }
}

typedef struct rope_job {
    float *x;
    int64_t n;
    int n_heads, hd;
    const float *cos_t, *sin_t;
} rope_job;

static void rope_worker(void *arg, int ith, int nth)
{
    const rope_job *j = arg;
    const int half = j->hd / 2;
    int64_t r0, r1;
    pali_split(j->n, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        const float *cs = j->cos_t + r * half;
        const float *sn = j->sin_t + r * half;
        for (int h = 0; h < j->n_heads; h++) {
            float *v = j->x + (r * j->n_heads + h) * j->hd;
            for (int i = 0; i < half; i++) {
                const float x1 = v[i], x2 = v[i + half];
                v[i] = x1 * cs[i] - x2 * sn[i];
                v[i + half] = x2 * cs[i] + x1 * sn[i];
            }
        }
    }
}

void pali_rope_apply(const pali_compute *c, float *x, int64_t n, int n_heads,
                     int hd, const float *cos_t, const float *sin_t)
{
    rope_job j = { x, n, n_heads, hd, cos_t, sin_t };
    if (n == 1)
        rope_worker(&j, 0, 1);
    else
        pali_pool_run(c->pool, rope_worker, &j);
}
