/* gemma2.c — the Gemma 2 decoder of PaliGemma 2, as transformers 5
 * computes it with eager attention (golden/README.md, DESIGN.md §2):
 *
 *   x = embed(id)·sqrt(Dt) for text tokens; image features, unscaled, at
 *       the <image> positions
 *   per layer:  x = x + post_attn_norm(attn(input_norm(x)))
 *               x = x + post_ffw_norm(down(gelu_tanh(gate(h))·up(h))),
 *                   h = pre_ffw_norm(x)
 *   logits = final_norm(x) · embedᵀ          (tied LM head)
 *
 * RMSNorm uses (1 + w); attention is grouped-query with rotate-half RoPE at
 * 1-based positions, scale query_pre_attn_scalar^-0.5, scores soft-capped
 * when the config says so.  The whole prefix (image, <bos>, prompt, "\n")
 * attends to itself bidirectionally and the sliding window is ignored
 * there; decoded tokens attend causally, and on sliding layers only to the
 * last `sliding_window` positions including themselves. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "forward.h"
#include "internal.h"
#include "ops.h"
#include "quant.h"

/* Prefill MLP rows per chunk: bounds the (rows, It) gate/up buffers to
 * this many bytes (3B: 1365 rows, 28B: 341).  Each chunk streams the
 * MLP weights from memory once more, so chunks are as large as this
 * allows and equal (a ragged last chunk of a few rows would cost a whole
 * pass over the weights). */
#define GEMMA_MLP_CHUNK_BYTES (96u << 20)

/* Rows the prefill's last layer computes outputs for (the last row is the
 * one needed): enough that they take the same kernels, and so the same
 * bits, as the whole prefix would (AMX tiles from 16 rows, GEMM rather
 * than GEMV above PALI_GEMV_MAX_ROWS). */
#define GEMMA_LAST_ROWS 16

/* RoPE positions start at 1 in transformers' PaliGemma (the prefill uses
 * 1..L, the k-th decoded token L+1+k). */
#define GEMMA_FIRST_POSITION 1

/* Rows per MLP chunk for n rows of It values: equal chunks within
 * GEMMA_MLP_CHUNK_BYTES of gate and up. */
static int64_t mlp_chunk_rows(int64_t n, int64_t it)
{
    int64_t most = (int64_t)GEMMA_MLP_CHUNK_BYTES / (2 * it * 4);
    most = most < 1 ? 1 : most;
    const int64_t chunks = (n + most - 1) / most;
    return (n + chunks - 1) / chunks;
}

typedef struct gemma_dims {
    int64_t d, ff, q, kv; /* Dt, It, H·hd, KV·hd */
    int heads, kv_heads, hd;
    int64_t vocab;
} gemma_dims;

static gemma_dims dims_of(const pali_model *m)
{
    const pali_model_info *in = &m->cfg.info;
    gemma_dims g = {
        .d = in->text_hidden,
        .ff = in->text_intermediate,
        .q = (int64_t)in->n_heads * in->head_dim,
        .kv = (int64_t)in->n_kv_heads * in->head_dim,
        .heads = in->n_heads,
        .kv_heads = in->n_kv_heads,
        .hd = in->head_dim,
        .vocab = in->vocab_rows,
    };
    return g;
}

size_t pali_kv_cache_bytes(const pali_model *m, const pali_compute *c,
                           int64_t capacity)
{
    const gemma_dims g = dims_of(m);
    pali_kv_layout lay;
    pali_kv_layout_init(&lay, c, g.hd, capacity);
    return (size_t)m->cfg.info.text_layers *
           (pali_kv_k_bytes(&lay, g.kv_heads) +
            pali_kv_v_bytes(&lay, g.kv_heads));
}

pali_status pali_kv_cache_reserve(pali_kv_cache *kv, const pali_model *m,
                                  const pali_compute *c, int64_t capacity,
                                  pali_error *err)
{
    const gemma_dims g = dims_of(m);
    pali_kv_layout lay;
    pali_kv_layout_init(&lay, c, g.hd, capacity);
    if (kv->k != NULL && kv->capacity >= lay.capacity &&
        kv->lay.bf16 == lay.bf16 && kv->lay.round == lay.round)
        return PALI_OK;
    pali_kv_cache_clear(kv);
    const size_t layers = (size_t)m->cfg.info.text_layers;
    const size_t kb = pali_kv_k_bytes(&lay, g.kv_heads);
    const size_t vb = pali_kv_v_bytes(&lay, g.kv_heads);
    kv->k = pali_zeroed_alloc(layers * kb);
    kv->k_bytes = kv->k ? layers * kb : 0;
    kv->v = pali_zeroed_alloc(layers * vb);
    kv->v_bytes = kv->v ? layers * vb : 0;
    if (kv->k == NULL || kv->v == NULL) {
        pali_kv_cache_clear(kv);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "out of memory for a KV cache of %lld positions "
                         "(%.1f MB)",
                         (long long)capacity,
                         (double)(layers * (kb + vb)) / 1e6);
    }
    kv->lay = lay;
    kv->k_layer = kb;
    kv->v_layer = vb;
    kv->capacity = lay.capacity;
    kv->length = 0;
    return PALI_OK;
}

void pali_kv_cache_clear(pali_kv_cache *kv)
{
    pali_zeroed_free(kv->k, kv->k_bytes);
    pali_zeroed_free(kv->v, kv->v_bytes);
    memset(kv, 0, sizeof(*kv));
}

/* Floats of the gate or up buffer for MLP chunks of `rows` rows: in ROWS
 * or PACKED, whichever is larger (PACKED pads rows and columns to 32). */
static int64_t mlp_buffer_floats(int64_t rows, int64_t it)
{
    const size_t r = pali_layout_bytes(PALI_LAYOUT_ROWS, rows, it),
                 p = pali_layout_bytes(PALI_LAYOUT_PACKED, rows, it);
    return (int64_t)(((r > p ? r : p) + sizeof(float) - 1) / sizeof(float));
}

int64_t pali_gemma_work_floats(const pali_model *m, int64_t n)
{
    const gemma_dims g = dims_of(m);
    const int64_t chunk = mlp_chunk_rows(n, g.ff);
    // x, h, o (n, Dt); q, att (n, H·hd); k, v (n, KV·hd); gate, up
    // (chunk, It); rope cos/sin (n, hd/2); hidden-state taps (layers+1, Dt)
    return n * (3 * g.d + 2 * g.q + 2 * g.kv + g.hd) +
           2 * mlp_buffer_floats(chunk, g.ff) +
           ((int64_t)m->cfg.info.text_layers + 1) * g.d;
}

typedef struct gemma_work {
    float *x, *h, *o, *q, *att, *k, *v, *gate, *up, *cos, *sin, *hidden;
} gemma_work;

static gemma_work carve(const pali_model *m, int64_t n, float *w)
{
    const gemma_dims g = dims_of(m);
    const int64_t chunk = mlp_chunk_rows(n, g.ff);
    gemma_work b;
    b.x = w;                 // (n, Dt)
    b.h = b.x + n * g.d;     // (n, Dt)
    b.o = b.h + n * g.d;     // (n, Dt)
    b.q = b.o + n * g.d;     // (n, H·hd)
    b.att = b.q + n * g.q;   // (n, H·hd)
    b.k = b.att + n * g.q;   // (n, KV·hd)
    b.v = b.k + n * g.kv;    // (n, KV·hd)
    b.gate = b.v + n * g.kv; // (chunk, It), or in PACKED
    b.up = b.gate + mlp_buffer_floats(chunk, g.ff);
    b.cos = b.up + mlp_buffer_floats(chunk, g.ff); // (n, hd/2)
    b.sin = b.cos + n * g.hd / 2;                  // (n, hd/2)
    b.hidden = b.sin + n * g.hd / 2;               // (layers + 1, Dt)
    return b;
}

/* The embedding multiplier sqrt(Dt), a float32 value as the reference's
 * normalizer buffer is (computation is f32 even for bf16 weights). */
static float embed_scale(const gemma_dims *g)
{
    return (float)sqrt((double)g->d);
}

static void embed_token(const pali_model *m, const gemma_dims *g, int32_t id,
                        float *row)
{
    pali_weights_read_f32(&m->embed, (int64_t)id * g->d, g->d, row);
    const float s = embed_scale(g);
    for (int64_t i = 0; i < g->d; i++)
        row[i] *= s;
}

/* One decoder layer over n rows at cache positions [pos, pos + n).
 * key_begin..key_end is the visible key range of every row (the whole
 * prefix in the prefill; the causal / sliding range in decode).  Keys and
 * values are made for every row, the layer's outputs only for rows
 * [out0, n) (the prefill's last layer: nothing reads the others).  On
 * entry b->h holds the layer's input_norm(x); on return, below the last
 * layer, the next layer's. */
static void layer_forward(const pali_model *m, const pali_compute *c,
                          pali_kv_cache *kv, int l, int64_t pos, int64_t n,
                          int64_t out0, int64_t key_begin, int64_t key_end,
                          const gemma_work *b)
{
    const pali_model_info *in = &m->cfg.info;
    const gemma_dims g = dims_of(m);
    const pali_gemma_layer *L = &m->text[l];
    const float eps = in->rms_norm_eps;

    // x = x + post_attn_norm(o_proj(attn(input_norm(x)))), h holding
    // input_norm(x) already
    const pali_product qkv[3] = {
        { &L->q_w, NULL, b->q, PALI_ACT_NONE, NULL },
        { &L->k_w, NULL, b->k, PALI_ACT_NONE, NULL },
        { &L->v_w, NULL, b->v, PALI_ACT_NONE, NULL },
    };
    pali_matmul_many(c, b->h, n, qkv, 3);
    pali_rope_apply(c, b->q, n, g.heads, g.hd, b->cos, b->sin);
    pali_rope_apply(c, b->k, n, g.kv_heads, g.hd, b->cos, b->sin);
    void *layer_k = (char *)kv->k + (size_t)l * kv->k_layer;
    void *layer_v = (char *)kv->v + (size_t)l * kv->v_layer;
    pali_kv_store(c, &kv->lay, g.kv_heads, layer_k, layer_v, pos, n, b->k, g.kv,
                  b->v, g.kv);
    const int64_t rows_out = n - out0;
    float *x = b->x + out0 * g.d, *h = b->h + out0 * g.d,
          *o = b->o + out0 * g.d, *att = b->att + out0 * g.q;
    pali_attention_args attn = {
        .q = b->q + out0 * g.q,
        .q_stride = g.q,
        .n_queries = rows_out,
        .n_heads = g.heads,
        .n_kv_heads = g.kv_heads,
        .lay = &kv->lay,
        .k = layer_k,
        .v = layer_v,
        .key_begin = key_begin,
        .key_end = key_end,
        .scale = 1.0f / sqrtf(in->query_pre_attn_scalar),
        .softcap = in->attn_softcap,
        .out = att,
        .out_stride = g.q,
    };
    pali_attention(c, &attn);
    pali_matmul(c, att, rows_out, &L->o_w, NULL, o);
    pali_residual_rmsnorm(c, x, o, rows_out, g.d, L->post_attn_norm,
                          L->pre_ffw_norm, eps, h);

    // x = x + post_ffw_norm(down(gelu_tanh(gate(h)) · up(h))),
    // h = pre_ffw_norm(x); in row chunks to bound the (rows, It) buffers
    const int64_t chunk = mlp_chunk_rows(rows_out, g.ff);
    for (int64_t r = 0; r < rows_out; r += chunk) {
        const int64_t rows = rows_out - r < chunk ? rows_out - r : chunk;
        // where the kernel set allows, gate and up are one product whose
        // outputs leave as gelu_tanh(gate)·up in down's packed input (the
        // same bits, up never stored); else up first, and gate's outputs
        // become gelu_tanh(gate)·up as they are stored
        const float *hr = h + r * g.d;
        if (pali_matmul_layouts(c, rows)) {
            const pali_product gated = { &L->gate_w, NULL,
                                         b->gate,    PALI_ACT_GELU_TANH_MUL,
                                         NULL,       PALI_LAYOUT_PACKED,
                                         &L->up_w,   &L->down_w };
            pali_matmul_many(c, hr, rows, &gated, 1);
            pali_matmul_prepacked(c, b->gate, rows, &L->down_w, NULL,
                                  o + r * g.d);
            continue;
        }
        const pali_product mlp[2] = {
            { &L->up_w, NULL, b->up, PALI_ACT_NONE, NULL, PALI_LAYOUT_ROWS },
            { &L->gate_w, NULL, b->gate, PALI_ACT_GELU_TANH_MUL, b->up,
              PALI_LAYOUT_ROWS },
        };
        pali_matmul_many(c, hr, rows, mlp, 2);
        pali_matmul(c, b->gate, rows, &L->down_w, NULL, o + r * g.d);
    }
    // ... and h = the next layer's input_norm(x)
    const float *next_norm =
        l + 1 < in->text_layers ? m->text[l + 1].input_norm : NULL;
    pali_residual_rmsnorm(c, x, o, rows_out, g.d, L->post_ffw_norm, next_norm,
                          eps, h);
}

void pali_gemma_logits(const pali_model *m, const pali_compute *c,
                       const float *normed, float *logits)
{
    pali_matmul(c, normed, 1, &m->embed, NULL, logits);
}

/* normed (Dt) = final_norm(x_row); logits (V) = normed · embedᵀ unless
 * logits is NULL. */
static void lm_head(const pali_model *m, const pali_compute *c,
                    const float *x_row, float *normed, float *logits)
{
    const gemma_dims g = dims_of(m);
    pali_rmsnorm(c, x_row, 1, g.d, m->final_norm, m->cfg.info.rms_norm_eps,
                 normed);
    if (logits)
        pali_gemma_logits(m, c, normed, logits);
}

pali_status pali_gemma_prefill(const pali_model *m, const pali_compute *c,
                               pali_kv_cache *kv, const int32_t *ids, int64_t n,
                               const float *image_features, float *normed,
                               float *logits, float *work,
                               const pali_callbacks *cb, pali_error *err)
{
    const pali_model_info *in = &m->cfg.info;
    const gemma_dims g = dims_of(m);
    if (n <= 0 || n > kv->capacity)
        return pali_fail(err, PALI_ERR_TOO_LONG,
                         "prefill of %lld tokens does not fit a cache of "
                         "%lld positions",
                         (long long)n, (long long)kv->capacity);
    const gemma_work b = carve(m, n, work);

    // x = image features at <image> positions, embed(id)·sqrt(Dt) elsewhere
    int64_t n_image = 0;
    for (int64_t i = 0; i < n; i++) {
        float *row = b.x + i * g.d;
        if (ids[i] == in->image_token_id) {
            if (n_image == in->n_image_tokens)
                return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                                 "more <image> tokens than the %d image "
                                 "features (is \"<image>\" in the prompt?)",
                                 in->n_image_tokens);
            memcpy(row, image_features + n_image * g.d,
                   (size_t)g.d * sizeof(float));
            n_image++;
        } else if (ids[i] < 0 || ids[i] >= g.vocab) {
            return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                             "token id %d at position %lld is outside the "
                             "embedding's %lld rows",
                             ids[i], (long long)i, (long long)g.vocab);
        } else {
            embed_token(m, &g, ids[i], row);
        }
    }
    if (n_image != in->n_image_tokens)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "%lld <image> tokens for %d image features",
                         (long long)n_image, in->n_image_tokens);
    if (cb && cb->tensor) {
        // the text rows in order, wherever the image run sits
        int64_t rows = 0;
        for (int64_t i = 0; i < n; i++)
            if (ids[i] != in->image_token_id)
                memcpy(b.h + rows++ * g.d, b.x + i * g.d,
                       (size_t)g.d * sizeof(float));
        const int64_t shape[2] = { rows, g.d };
        pali_hooks_tensor(cb, "inputs_embeds_text", -1, b.h, 2, shape);
    }

    pali_rope_tables(GEMMA_FIRST_POSITION, n, g.hd, in->rope_theta, b.cos,
                     b.sin);
    memcpy(b.hidden, b.x + (n - 1) * g.d, (size_t)g.d * sizeof(float));
    pali_rmsnorm(c, b.x, n, g.d, m->text[0].input_norm, in->rms_norm_eps, b.h);
    for (int l = 0; l < in->text_layers; l++) {
        if (pali_hooks_abort(cb))
            return pali_fail(err, PALI_ERR_ABORTED, "aborted");
        pali_hooks_progress(cb, PALI_PHASE_PREFILL, l, in->text_layers);
        // the prefix is bidirectional: every row sees keys [0, n); the
        // last layer's outputs are needed for the last row only
        const int64_t out0 = l + 1 == in->text_layers && n > GEMMA_LAST_ROWS
                                 ? n - GEMMA_LAST_ROWS
                                 : 0;
        layer_forward(m, c, kv, l, 0, n, out0, 0, n, &b);
        memcpy(b.hidden + (int64_t)(l + 1) * g.d, b.x + (n - 1) * g.d,
               (size_t)g.d * sizeof(float));
    }
    kv->length = n;
    pali_hooks_progress(cb, PALI_PHASE_PREFILL, in->text_layers,
                        in->text_layers);

    lm_head(m, c, b.x + (n - 1) * g.d, normed, logits);
    const int64_t hidden_shape[2] = { in->text_layers + 1, g.d };
    pali_hooks_tensor(cb, "prefill_hidden_states_last", -1, b.hidden, 2,
                      hidden_shape);
    const int64_t d_shape[1] = { g.d };
    pali_hooks_tensor(cb, "prefill_final_norm_last", -1, normed, 1, d_shape);
    const int64_t v_shape[1] = { g.vocab };
    if (logits)
        pali_hooks_tensor(cb, "prefill_logits_last", -1, logits, 1, v_shape);
    return PALI_OK;
}

pali_status pali_gemma_decode(const pali_model *m, const pali_compute *c,
                              pali_kv_cache *kv, int32_t id, float *normed,
                              float *logits, float *work,
                              const pali_callbacks *cb, pali_error *err)
{
    const pali_model_info *in = &m->cfg.info;
    const gemma_dims g = dims_of(m);
    const int64_t t = kv->length; // cache position of this token
    if (t >= kv->capacity)
        return pali_fail(err, PALI_ERR_TOO_LONG,
                         "the KV cache is full (%lld positions)",
                         (long long)kv->capacity);
    if (id < 0 || id >= g.vocab)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "token id %d is outside the embedding's %lld rows", id,
                         (long long)g.vocab);
    const gemma_work b = carve(m, 1, work);
    embed_token(m, &g, id, b.x);
    pali_rope_tables(GEMMA_FIRST_POSITION + t, 1, g.hd, in->rope_theta, b.cos,
                     b.sin);
    pali_rmsnorm(c, b.x, 1, g.d, m->text[0].input_norm, in->rms_norm_eps, b.h);
    for (int l = 0; l < in->text_layers; l++) {
        if (pali_hooks_abort(cb))
            return pali_fail(err, PALI_ERR_ABORTED, "aborted");
        // causal; sliding layers see keys j > t − W (W keys with itself)
        int64_t begin = 0;
        if (m->cfg.layer_sliding[l] && in->sliding_window > 0 &&
            t - in->sliding_window + 1 > 0)
            begin = t - in->sliding_window + 1;
        layer_forward(m, c, kv, l, t, 1, 0, begin, t + 1, &b);
    }
    kv->length = t + 1;
    lm_head(m, c, b.x, normed, logits);
    return PALI_OK;
}
