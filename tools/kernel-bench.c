/* palilens-kernel-bench — one engine operation on the model's shapes,
 * timed alone (development use: the figures in PERFORMANCE.md that name
 * a single product or attention call come from here):
 *
 *   palilens-kernel-bench matmul N K M [--copies C] [--products P]
 *                                      [--repeat R] [--weights W]
 *                                      [--offset B]
 *       y (N, M) = x (N, K) · Wᵀ, bf16 (or q8, q4) weights, C distinct weight
 *       matrices in turn so that they stream from memory as a model's do;
 *       with P > 1, P products of the same x in one call (as attention's
 *       q, k and v are), C sets of P;
 *   palilens-kernel-bench mlp N D FF [--copies C] [--repeat R] [--offset B]
 *       Gemma 2's MLP the way gemma2.c runs it (gate and up as one gated
 *       product into down's packed input where the kernel set packs, else
 *       up, gelu(gate)·up and down in rows), C distinct sets of weights
 *       in turn (1: they stay in L3, as they do not in a forward pass);
 *   palilens-kernel-bench attention N HEADS KV_HEADS HEAD_DIM [SOFTCAP]
 *       a prefix of N tokens attending to itself.
 *
 * Fast precision (--exact: f32 arithmetic), the best kernel set (or
 * PALI_KERNEL), all cores unless --threads; prints the median time of
 * --repeat runs after one warm-up. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "compute.h"
#include "internal.h"
#include "quant.h"

/* g_copies 0: the operation's default (matmul 4, mlp 1) */
static int g_repeat = 5, g_copies = 0, g_threads = 0, g_products = 1;
/* bf16 weights start this many bytes past a cache line, as a
 * checkpoint's tensors do where the file puts them (safetensors aligns
 * them to 8 bytes only) */
static int g_offset = 0;
static gboolean g_exact;
static char *g_weights; /* matmul: bf16 (NULL), q8 or q4 */

/* The median of n times in ms (sorts t). */
static double median_ms(double *t, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            const double s = t[j];
            t[j] = t[j - 1];
            t[j - 1] = s;
        }
    return t[n / 2];
}

static float *random_floats(GRand *rng, int64_t n, double scale)
{
    float *x = pali_aligned_alloc((size_t)n * sizeof(float));
    for (int64_t i = 0; x && i < n; i++)
        x[i] = (float)(g_rand_double_range(rng, -1, 1) * scale);
    return x;
}

/* An (m, k) bf16 weight tensor of random values. */
static pali_tensor random_weights(GRand *rng, int64_t m, int64_t k)
{
    char *base = pali_aligned_alloc((size_t)(m * k) * sizeof(uint16_t) +
                                    (size_t)g_offset);
    uint16_t *w = base ? (uint16_t *)(base + g_offset) : NULL;
    for (int64_t i = 0; w && i < m * k; i++)
        w[i] = pali_f32_to_bf16((float)g_rand_double_range(rng, -0.05, 0.05));
    return (pali_tensor){ .name = "w",
                          .dtype = PALI_DTYPE_BF16,
                          .n_dims = 2,
                          .shape = { m, k },
                          .data = w,
                          .nbytes = (size_t)(m * k) * 2 };
}

/* Frees random_weights' (or quantize_weights') data. */
static void free_weights(const pali_tensor *w)
{
    const char *data = w->data;
    if (data != NULL && w->dtype == PALI_DTYPE_BF16)
        data -= g_offset;
    pali_aligned_free((void *)data);
}

/* w made q8 or q4 (fmt) in place of its bf16 values (which it frees);
 * false when k is no multiple of the quantization block. */
static bool quantize_weights(pali_tensor *w, pali_dtype fmt)
{
    const int64_t m = pali_tensor_rows(w), k = pali_tensor_cols(w);
    if (k % PALI_QUANT_BLOCK != 0 || w->data == NULL)
        return false;
    pali_tensor q = *w;
    q.dtype = fmt;
    q.nbytes = pali_quant_nbytes(fmt, m, k);
    void *data = pali_aligned_alloc(q.nbytes);
    float *row = g_new(float, k);
    q.data = data;
    for (int64_t r = 0; data && r < m; r++) {
        pali_weights_read_f32(w, r * k, k, row);
        pali_quantize_row(fmt, row, k, (uint8_t *)pali_quant_codes(&q, r),
                          (uint16_t *)pali_quant_scales(&q, r));
    }
    g_free(row);
    free_weights(w);
    *w = q;
    return data != NULL;
}

static bool compute_new(pali_compute *c, int64_t max_k, size_t extra)
{
    pali_error err = { 0 };
    int kernel;
    if (pali_compute_select_kernel(&kernel, &err) != PALI_OK ||
        pali_compute_init_kernel(
            c, g_threads > 0 ? g_threads : (int)g_get_num_processors(),
            g_exact ? PALI_PRECISION_EXACT : PALI_PRECISION_FAST, kernel, max_k,
            MAX(pali_matmul_scratch_bytes(kernel, max_k), extra),
            &err) != PALI_OK) {
        fprintf(stderr, "palilens-kernel-bench: %s\n", err.message);
        return false;
    }
    return true;
}

static int bench_matmul(GRand *rng, int64_t n, int64_t k, int64_t m)
{
    pali_compute c;
    if (!compute_new(&c, k, 0))
        return 1;
    const int np = g_products, copies = g_copies > 0 ? g_copies : 4;
    float *x = random_floats(rng, n * k, 1.0),
          *y = pali_aligned_alloc((size_t)(n * m * np) * 4);
    pali_tensor *w = g_new(pali_tensor, copies * np);
    pali_product *p = g_new0(pali_product, copies * np);
    const pali_dtype fmt = g_strcmp0(g_weights, "q8") == 0   ? PALI_DTYPE_Q8
                           : g_strcmp0(g_weights, "q4") == 0 ? PALI_DTYPE_Q4
                                                             : PALI_DTYPE_BF16;
    for (int i = 0; i < copies * np; i++) {
        w[i] = random_weights(rng, m, k);
        if (fmt != PALI_DTYPE_BF16 && !quantize_weights(&w[i], fmt)) {
            fprintf(stderr,
                    "palilens-kernel-bench: --weights %s needs K a "
                    "multiple of %d\n",
                    g_weights, PALI_QUANT_BLOCK);
            return 1;
        }
        p[i] = (pali_product){ &w[i],         NULL, y + (i % np) * n * m,
                               PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS };
    }
    double *t = g_new(double, g_repeat);
    pali_matmul_many(&c, x, n, p, np);
    for (int r = 0; r < g_repeat; r++) {
        const double t0 = pali_now_ms();
        for (int i = 0; i < copies; i++)
            pali_matmul_many(&c, x, n, p + i * np, np);
        t[r] = (pali_now_ms() - t0) / copies;
    }
    const double ms = median_ms(t, g_repeat);
    char times[16] = "";
    if (np > 1)
        snprintf(times, sizeof times, " ×%d", np);
    printf("matmul n=%lld k=%lld m=%lld%s (%s%s, %s): %.2f ms, %.0f GFLOP/s, "
           "weights %.1f GB/s\n",
           (long long)n, (long long)k, (long long)m, times,
           pali_compute_kernel_name(&c), g_exact ? ", exact" : "",
           pali_dtype_name(fmt), ms, 2.0 * n * k * m * np / ms / 1e6,
           (double)w[0].nbytes * np / ms / 1e6);
    for (int i = 0; i < copies * np; i++)
        free_weights(&w[i]);
    g_free(w);
    g_free(p);
    g_free(t);
    pali_aligned_free(x);
    pali_aligned_free(y);
    pali_compute_clear(&c);
    return 0;
}

static int bench_mlp(GRand *rng, int64_t n, int64_t d, int64_t ff)
{
    pali_compute c;
    if (!compute_new(&c, ff, 0))
        return 1;
    const bool tiled = pali_matmul_layouts(&c, n);
    float *x = random_floats(rng, n * d, 1.0);
    // the engine's MLP (gemma2.c): gate and up as one gated product into
    // down's packed input where the kernel set allows, else in rows
    float *up = pali_aligned_alloc((size_t)(n * ff) * 4);
    float *gate = pali_aligned_alloc(pali_layout_bytes(
        tiled ? PALI_LAYOUT_PACKED : PALI_LAYOUT_ROWS, n, ff));
    float *o = pali_aligned_alloc((size_t)(n * d) * 4);
    const int copies = g_copies > 0 ? g_copies : 1;
    pali_tensor *w = g_new(pali_tensor, 3 * copies); // up, gate, down
    for (int i = 0; i < 3 * copies; i++)
        w[i] = i % 3 == 2 ? random_weights(rng, d, ff)
                          : random_weights(rng, ff, d);
    double *t = g_new(double, g_repeat);
    for (int r = -1; r < g_repeat; r++) {
        const pali_tensor *wu = &w[3 * ((r + 1) % copies)], *wg = wu + 1,
                          *wd = wu + 2;
        const pali_product gated = { wg,   NULL,
                                     gate, PALI_ACT_GELU_TANH_MUL,
                                     NULL, PALI_LAYOUT_PACKED,
                                     wu,   wd };
        const pali_product p[2] = {
            { wu, NULL, up, PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS },
            { wg, NULL, gate, PALI_ACT_GELU_TANH_MUL, up, PALI_LAYOUT_ROWS },
        };
        const double t0 = pali_now_ms();
        if (tiled) {
            pali_matmul_many(&c, x, n, &gated, 1);
            pali_matmul_prepacked(&c, gate, n, wd, NULL, o);
        } else {
            pali_matmul_many(&c, x, n, p, 2);
            pali_matmul(&c, gate, n, wd, NULL, o);
        }
        if (r >= 0)
            t[r] = pali_now_ms() - t0;
    }
    const double ms = median_ms(t, g_repeat);
    printf("mlp n=%lld d=%lld ff=%lld (%s%s): %.2f ms, %.0f GFLOP/s\n",
           (long long)n, (long long)d, (long long)ff,
           pali_compute_kernel_name(&c), tiled ? ", gated, packed" : "", ms,
           6.0 * n * d * ff / ms / 1e6);
    for (int i = 0; i < 3 * copies; i++)
        free_weights(&w[i]);
    g_free(w);
    g_free(t);
    pali_aligned_free(x);
    pali_aligned_free(up);
    pali_aligned_free(gate);
    pali_aligned_free(o);
    pali_compute_clear(&c);
    return 0;
}

static int bench_attention(GRand *rng, int64_t n, int heads, int kv_heads,
                           int hd, float softcap)
{
    pali_compute c;
    if (!compute_new(&c, 64, pali_attention_scratch_bytes(n, hd)))
        return 1;
    pali_kv_layout lay;
    pali_kv_layout_init(&lay, &c, hd, n);
    void *k = pali_aligned_alloc(pali_kv_k_bytes(&lay, kv_heads));
    void *v = pali_aligned_alloc(pali_kv_v_bytes(&lay, kv_heads));
    memset(k, 0, pali_kv_k_bytes(&lay, kv_heads)); // padding reads as zero
    memset(v, 0, pali_kv_v_bytes(&lay, kv_heads));
    const int64_t qw = (int64_t)heads * hd, kvw = (int64_t)kv_heads * hd;
    float *q = random_floats(rng, n * qw, 1.0);
    float *kr = random_floats(rng, n * kvw, 1.0);
    float *vr = random_floats(rng, n * kvw, 1.0);
    float *out = pali_aligned_alloc((size_t)(n * qw) * 4);
    pali_kv_store(&c, &lay, kv_heads, k, v, 0, n, kr, kvw, vr, kvw);
    const pali_attention_args a = {
        .q = q,
        .q_stride = qw,
        .n_queries = n,
        .n_heads = heads,
        .n_kv_heads = kv_heads,
        .lay = &lay,
        .k = k,
        .v = v,
        .key_begin = 0,
        .key_end = n,
        .scale = 1.0f / sqrtf((float)hd),
        .softcap = softcap,
        .out = out,
        .out_stride = qw,
    };
    double *t = g_new(double, g_repeat);
    for (int r = -1; r < g_repeat; r++) {
        const double t0 = pali_now_ms();
        pali_attention(&c, &a);
        if (r >= 0)
            t[r] = pali_now_ms() - t0;
    }
    const double ms = median_ms(t, g_repeat);
    printf("attention n=%lld heads=%d kv=%d hd=%d softcap=%g (%s): %.1f ms, "
           "%.0f GFLOP/s\n",
           (long long)n, heads, kv_heads, hd, softcap,
           pali_compute_kernel_name(&c), ms,
           4.0 * heads * (double)n * n * hd / ms / 1e6);
    g_free(t);
    pali_aligned_free(k);
    pali_aligned_free(v);
    pali_aligned_free(q);
    pali_aligned_free(kr);
    pali_aligned_free(vr);
    pali_aligned_free(out);
    pali_compute_clear(&c);
    return 0;
}

int main(int argc, char **argv)
{
    const GOptionEntry entries[] = {
        { "repeat", 0, 0, G_OPTION_ARG_INT, &g_repeat, "Timed runs (5)", "R" },
        { "copies", 0, 0, G_OPTION_ARG_INT, &g_copies,
          "Weight sets in turn (matmul 4, mlp 1)", "C" },
        { "products", 0, 0, G_OPTION_ARG_INT, &g_products,
          "matmul: products of the same x per call (1)", "P" },
        { "offset", 0, 0, G_OPTION_ARG_INT, &g_offset,
          "bf16 weights this many bytes past a cache line (0; even, < 64)",
          "B" },
        { "threads", 0, 0, G_OPTION_ARG_INT, &g_threads,
          "Threads (default: all cores)", "N" },
        { "weights", 0, 0, G_OPTION_ARG_STRING, &g_weights,
          "matmul: bf16 (default), q8 or q4", "W" },
        { "exact", 0, 0, G_OPTION_ARG_NONE, &g_exact,
          "Exact precision (f32 arithmetic)", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "matmul N K M | mlp N D FF | attention N HEADS KV_HEADS HEAD_DIM "
        "[SOFTCAP]");
    g_option_context_set_summary(ctx, "Time one engine operation");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "palilens-kernel-bench: %s\n", error->message);
        return 2;
    }
    int64_t a[5] = { 0 };
    for (int i = 2; i < argc && i < 7; i++)
        a[i - 2] = g_ascii_strtoll(argv[i], NULL, 10);
    GRand *rng = g_rand_new_with_seed(1);
    int rc = 2;
    g_repeat = MAX(g_repeat, 1);
    g_copies = MAX(g_copies, 0);
    g_products = CLAMP(g_products, 1, 16);
    g_offset = CLAMP(g_offset, 0, 62) & ~1;
    if (argc == 5 && strcmp(argv[1], "matmul") == 0 && a[0] > 0 && a[1] > 0 &&
        a[2] > 0)
        rc = bench_matmul(rng, a[0], a[1], a[2]);
    else if (argc == 5 && strcmp(argv[1], "mlp") == 0 && a[0] > 0 && a[1] > 0 &&
             a[2] > 0)
        rc = bench_mlp(rng, a[0], a[1], a[2]);
    else if ((argc == 6 || argc == 7) && strcmp(argv[1], "attention") == 0 &&
             a[0] > 0 && a[1] > 0 && a[2] > 0 && a[1] % a[2] == 0 && a[3] > 0)
        rc = bench_attention(rng, a[0], (int)a[1], (int)a[2], (int)a[3],
                             argc == 7 ? (float)g_ascii_strtod(argv[6], NULL)
                                       : 0.0f);
    else {
        g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);
        fprintf(stderr, "%s", help);
    }
    g_rand_free(rng);
    return rc;
}
