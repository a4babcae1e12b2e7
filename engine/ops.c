/* ops.c — row-wise and element-wise operations in f32 (see ops.h), written
 * to follow the reference's formulas: torch.nn.LayerNorm, Gemma2RMSNorm
 * (x·rsqrt(mean(x²)+eps)·(1+w)), gelu_pytorch_tanh, softmax in f32, and
 * transformers' default RoPE (inv_freq and angles computed in f32).
 * Reductions accumulate in double, which keeps them within float rounding
 * of torch's own (pairwise float) sums; the results are stored as f32. */
#include "ops.h"

#include <math.h>

#include "internal.h"

/* sqrt(2/π), the tanh-GELU's inner scale (torch: M_SQRT2·M_2_SQRTPI·0.5). */
#define GELU_BETA 0.7978845608028654f
/* The cubic coefficient of the tanh-GELU approximation. */
#define GELU_KAPPA 0.044715f

typedef struct rows_job {
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
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * j->d;
        float *o = j->out + r * j->d;
        double sum = 0;
        for (int64_t i = 0; i < j->d; i++)
            sum += x[i];
        const double mean = sum / (double)j->d;
        double var = 0;
        for (int64_t i = 0; i < j->d; i++) {
            double t = x[i] - mean;
            var += t * t;
        }
        var /= (double)j->d;
        const float rstd = (float)(1.0 / sqrt(var + (double)j->eps));
        const float fmean = (float)mean;
        for (int64_t i = 0; i < j->d; i++)
            o[i] = (x[i] - fmean) * rstd * j->w[i] + j->b[i];
    }
}

void pali_layernorm(const pali_compute *c, const float *x, int64_t n, int64_t d,
                    const float *w, const float *b, float eps, float *out)
{
    rows_job j = { x, n, d, w, b, eps, out };
    pali_pool_run(c->pool, layernorm_worker, &j);
}

static void rmsnorm_worker(void *arg, int ith, int nth)
{
    const rows_job *j = arg;
    int64_t r0, r1;
    pali_split(j->n, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * j->d;
        float *o = j->out + r * j->d;
        double ss = 0;
        for (int64_t i = 0; i < j->d; i++)
            ss += (double)x[i] * x[i];
        const float mean_sq = (float)(ss / (double)j->d);
        const float scale = 1.0f / sqrtf(mean_sq + j->eps);
        for (int64_t i = 0; i < j->d; i++)
            o[i] = (x[i] * scale) * (1.0f + j->w[i]);
    }
}

void pali_rmsnorm(const pali_compute *c, const float *x, int64_t n, int64_t d,
                  const float *w, float eps, float *out)
{
    rows_job j = { x, n, d, w, NULL, eps, out };
    pali_pool_run(c->pool, rmsnorm_worker, &j);
}

static inline float gelu_tanh(float x)
{
    float inner = GELU_BETA * (x + GELU_KAPPA * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
}

typedef struct elem_job {
    float *y;
    const float *x;
    int64_t n;
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
    for (int64_t i = b; i < e; i++)
        j->y[i] = gelu_tanh(j->y[i]);
}

void pali_gelu_tanh(const pali_compute *c, float *x, int64_t n)
{
    elem_job j = { x, NULL, n };
    pali_pool_run(c->pool, gelu_worker, &j);
}

static void gelu_mul_worker(void *arg, int ith, int nth)
{
    const elem_job *j = arg;
    int64_t b, e;
    elem_range(j->n, ith, nth, &b, &e);
    for (int64_t i = b; i < e; i++)
        j->y[i] = gelu_tanh(j->y[i]) * j->x[i];
}

void pali_gelu_tanh_mul(const pali_compute *c, float *gate, const float *up,
                        int64_t n)
{
    elem_job j = { gate, up, n };
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
    elem_job j = { y, x, n };
    pali_pool_run(c->pool, add_worker, &j);
}

void pali_softcap(float *x, int64_t n, float cap)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = tanhf(x[i] / cap) * cap;
}

void pali_softmax(float *x, int64_t n)
{
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (x[i] > max)
            max = x[i];
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
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

void pali_rope_apply(float *x, int64_t n, int n_heads, int hd,
                     const float *cos_t, const float *sin_t)
{
    const int half = hd / 2;
    for (int64_t r = 0; r < n; r++) {
        const float *cs = cos_t + r * half;
        const float *sn = sin_t + r * half;
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (r * n_heads + h) * hd;
            for (int i = 0; i < half; i++) {
                const float x1 = v[i], x2 = v[i + half];
                v[i] = x1 * cs[i] - x2 * sn[i];
                v[i + half] = x2 * cs[i] + x1 * sn[i];
            }
        }
    }
}
