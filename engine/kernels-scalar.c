/* kernels-scalar.c — the reference kernel set (kernels.h), in portable C:
 * what every vector set is tested against, and what PALI_KERNEL=scalar
 * runs the whole engine on.
 *
 * Written for clarity over speed: one dot product per output element,
 * summed in k order in f32 (fast precision first rounds both operands to
 * bf16, so each product is exact in f32 and only the summation rounds);
 * the row operations use libm's tanhf and expf and sum the softmax in
 * double, following the reference formulas (gelu_pytorch_tanh, Gemma 2's
 * cap·tanh(x/cap), softmax with the maximum subtracted). */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "kernels.h"
#include "quant.h"

/* sqrt(2/π), the tanh-GELU's inner scale (torch: M_SQRT2·M_2_SQRTPI·0.5). */
#define GELU_BETA 0.7978845608028654f
/* The cubic coefficient of the tanh-GELU approximation. */
#define GELU_KAPPA 0.044715f
/* Rows of W converted at a time by the reference matmul. */
#define REF_ROWS 8

void pali_weights_rows_f32(const pali_tensor *w, int64_t r0, int64_t r1,
                           int64_t c0, int64_t n, bool fast, float *out,
                           int64_t ld)
{
    const int64_t k = pali_tensor_cols(w);
    for (int64_t r = r0; r < r1; r++) {
        float *o = out + (r - r0) * ld;
        pali_weights_read_f32(w, r * k + c0, n, o);
        if (fast)
            for (int64_t i = 0; i < n; i++)
                o[i] = pali_round_bf16(o[i]);
    }
}

size_t pali_ref_matmul_scratch(int64_t max_k)
{
    // REF_ROWS converted weight rows and one rounded activation row
    return (size_t)(REF_ROWS + 1) * (size_t)max_k * sizeof(float);
}

void pali_ref_matmul(const pali_mm *mm, int64_t r0, int64_t r1, void *scratch)
{
    const int64_t k = mm->k;
    float *wrows = scratch;             // (REF_ROWS, k)
    float *xrow = wrows + REF_ROWS * k; // (k)
    for (int64_t rb = r0; rb < r1; rb += REF_ROWS) {
        const int64_t re = rb + REF_ROWS < r1 ? rb + REF_ROWS : r1;
        pali_weights_rows_f32(mm->w, rb, re, 0, k, mm->fast, wrows, k);
        for (int64_t i = 0; i < mm->n; i++) {
            const float *x = mm->x + i * k;
            if (mm->fast) {
                for (int64_t j = 0; j < k; j++)
                    xrow[j] = pali_round_bf16(x[j]);
                x = xrow;
            }
            for (int64_t r = rb; r < re; r++) {
                const float *w = wrows + (r - rb) * k;
                float acc = 0;
                for (int64_t j = 0; j < k; j++)
                    acc += x[j] * w[j];
                mm->y[i * mm->m + r] = mm->bias ? acc + mm->bias[r] : acc;
            }
        }
    }
}

/* Element d of key j (relative to the head's base) as f32. */
static float key_at(const pali_attn_block *b, int64_t j, int d)
{
    const pali_kv_layout *l = b->lay;
    if (!l->bf16) {
        const float *k = b->k;
        return k[(j / PALI_KV_BLOCK) * l->hd * PALI_KV_BLOCK +
                 (int64_t)d * PALI_KV_BLOCK + j % PALI_KV_BLOCK];
    }
    const uint16_t *k = b->k;
    const int64_t at = (j / 16) * (int64_t)l->hd_k * 16 +
                       (int64_t)(d / 2) * 32 + (j % 16) * 2 + d % 2;
    return pali_bf16_to_f32(k[at]);
}

static float value_at(const pali_attn_block *b, int64_t j, int c)
{
    const pali_kv_layout *l = b->lay;
    if (!l->bf16)
        return ((const float *)b->v)[j * l->hd + c];
    const uint16_t *v = b->v;
    return pali_bf16_to_f32(v[(j / 2) * l->hd_v * 2 + (int64_t)c * 2 + j % 2]);
}

static int64_t round_up(int64_t n, int64_t to)
{
    return (n + to - 1) / to * to;
}

void pali_ref_attn_scores(const pali_attn_block *b)
{
    const int hd = b->lay->hd;
    const int64_t n = round_up(b->n_keys, 32);
    for (int i = 0; i < b->nq; i++) {
        const float *q = b->q + i * b->q_stride;
        float *s = b->s + i * b->s_stride;
        for (int64_t j = 0; j < n; j++) {
            float acc = 0;
            for (int d = 0; d < hd; d++) {
                const float qd = b->lay->round ? pali_round_bf16(q[d]) : q[d];
                acc += qd * key_at(b, b->key0 + j, d);
            }
            s[j] = acc;
        }
    }
}

void pali_ref_attn_values(const pali_attn_block *b)
{
    const int hd = b->lay->hd;
    const int64_t n = round_up(b->n_keys, 32);
    for (int i = 0; i < b->nq; i++) {
        const float *p = b->s + i * b->s_stride;
        float *out = b->out + i * b->out_stride;
        for (int c = 0; c < hd; c++) {
            float acc = 0;
            for (int64_t j = 0; j < n; j++) {
                const float pj = b->lay->round ? pali_round_bf16(p[j]) : p[j];
                acc += pj * value_at(b, b->key0 + j, c);
            }
            out[c] = acc;
        }
    }
}

static void ref_softcap(float *x, int64_t n, float cap)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = tanhf(x[i] / cap) * cap;
}

static void ref_softcap_softmax(float *x, int64_t n, float scale, float cap)
{
    for (int64_t i = 0; i < n; i++)
        x[i] *= scale;
    if (cap > 0)
        ref_softcap(x, n, cap);
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

static inline float gelu_tanh(float x)
{
    const float inner = GELU_BETA * (x + GELU_KAPPA * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
}

static void ref_gelu_tanh(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = gelu_tanh(x[i]);
}

static void ref_gelu_tanh_mul(float *g, const float *u, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        g[i] = gelu_tanh(g[i]) * u[i];
}

/* torch.nn.LayerNorm: biased variance; sums in double, which keeps them
 * within float rounding of torch's own (pairwise float) sums. */
static void ref_layernorm(const float *x, int64_t d, const float *w,
                          const float *b, float eps, float *out)
{
    double sum = 0;
    for (int64_t i = 0; i < d; i++)
        sum += x[i];
    const double mean = sum / (double)d;
    double var = 0;
    for (int64_t i = 0; i < d; i++) {
        const double t = x[i] - mean;
        var += t * t;
    }
    var /= (double)d;
    const float rstd = (float)(1.0 / sqrt(var + (double)eps));
    const float fmean = (float)mean;
    for (int64_t i = 0; i < d; i++)
        out[i] = (x[i] - fmean) * rstd * w[i] + b[i];
}

/* Gemma2RMSNorm: x·rsqrt(mean(x²) + eps)·(1 + w), in f32. */
static void ref_rmsnorm(const float *x, int64_t d, const float *w, float eps,
                        float *out)
{
    double ss = 0;
    for (int64_t i = 0; i < d; i++)
        ss += (double)x[i] * x[i];
    const float mean_sq = (float)(ss / (double)d);
    const float scale = 1.0f / sqrtf(mean_sq + eps);
    for (int64_t i = 0; i < d; i++)
        out[i] = (x[i] * scale) * (1.0f + w[i]);
}

const pali_kernels pali_kernels_scalar = {
    .id = PALI_KERNEL_SCALAR,
    .matmul = pali_ref_matmul,
    .matmul_scratch = pali_ref_matmul_scratch,
    .attn_scores = pali_ref_attn_scores,
    .attn_values = pali_ref_attn_values,
    .softcap_softmax = ref_softcap_softmax,
    .gelu_tanh = ref_gelu_tanh,
    .gelu_tanh_mul = ref_gelu_tanh_mul,
    .softcap = ref_softcap,
    .layernorm = ref_layernorm,
    .rmsnorm = ref_rmsnorm,
};

const pali_kernels *pali_kernels_get(pali_kernel k)
{
    switch (k) {
#if defined(__x86_64__)
    case PALI_KERNEL_AVX2: return &pali_kernels_avx2;
    case PALI_KERNEL_AVX512: return &pali_kernels_avx512;
    case PALI_KERNEL_AVX512BF16: return &pali_kernels_avx512bf16;
    case PALI_KERNEL_AMX: return &pali_kernels_amx;
#endif
    default: return &pali_kernels_scalar;
    }
}
