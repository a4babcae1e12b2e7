/* siglip.c — the SigLIP vision tower and PaliGemma's projector, as
 * transformers' SiglipVisionTransformer (no head) + PaliGemmaMultiModal-
 * Projector compute them:
 *
 *   x = patch_conv(pixels) + bias, flattened row-major over the patch grid
 *   x = x + position_embedding
 *   per layer:  x = x + out_proj(attn(LN1(x)))     (q/k/v/out with biases,
 *                                                   scale head_dim^-0.5)
 *               x = x + fc2(gelu_tanh(fc1(LN2(x))))
 *   h = post_layernorm(x)                          → vision_last_hidden_state
 *   features = linear(h)                           → image_features
 *
 * The 14×14 stride-14 patch convolution is a matrix product: each patch
 * unrolled in (channel, ky, kx) order times the (Dv, 3·P·P) weight. */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "forward.h"
#include "internal.h"
#include "ops.h"

bool pali_hooks_abort(const pali_callbacks *cb)
{
    return cb && cb->should_abort && cb->should_abort(cb->user_data);
}

void pali_hooks_progress(const pali_callbacks *cb, pali_phase phase, int done,
                         int total)
{
    if (cb && cb->progress)
        cb->progress(phase, done, total, cb->user_data);
}

void pali_hooks_tensor(const pali_callbacks *cb, const char *name, int step,
                       const float *data, int n_dims, const int64_t *shape)
{
    if (cb && cb->tensor)
        cb->tensor(name, step, data, n_dims, shape, cb->user_data);
}

typedef struct siglip_dims {
    int64_t n;    /* patches N */
    int64_t d;    /* Dv */
    int64_t ff;   /* Iv */
    int64_t dt;   /* Dt */
    int64_t kdim; /* 3·P·P */
} siglip_dims;

static siglip_dims dims_of(const pali_model *m)
{
    const pali_model_info *in = &m->cfg.info;
    siglip_dims s = {
        .n = in->n_image_tokens,
        .d = in->vision_hidden,
        .ff = in->vision_intermediate,
        .dt = in->text_hidden,
        .kdim = 3LL * in->patch_size * in->patch_size,
    };
    return s;
}

static void kv_layout(const pali_model *m, const pali_compute *c,
                      pali_kv_layout *lay)
{
    const pali_model_info *in = &m->cfg.info;
    pali_kv_layout_init(lay, c, in->vision_hidden / in->vision_heads,
                        in->n_image_tokens);
}

/* Bytes rounded up to whole cache lines, so carved buffers stay aligned. */
static size_t lines(size_t bytes)
{
    return (bytes + 63) / 64 * 64;
}

/* Floats of the MLP buffer: (N, Iv) f32 or, for fc2's packed input, the
 * PACKED layout. */
static int64_t mlp_floats(const siglip_dims *s)
{
    const int64_t packed =
        (int64_t)((pali_layout_bytes(PALI_LAYOUT_PACKED, s->n, s->ff) + 3) / 4);
    return packed > s->n * s->ff ? packed : s->n * s->ff;
}

size_t pali_siglip_work_bytes(const pali_model *m, const pali_compute *c)
{
    const siglip_dims s = dims_of(m);
    pali_kv_layout lay;
    kv_layout(m, c, &lay);
    const int heads = m->cfg.info.vision_heads;
    // x, h, q, k, v, attn: 6 × (N, Dv); mlp (N, Iv); patches (N, 3P²);
    // the keys and values in attention's layout
    return lines((size_t)(s.n * (6 * s.d + s.kdim) + mlp_floats(&s)) *
                 sizeof(float)) +
           lines(pali_kv_k_bytes(&lay, heads)) +
           lines(pali_kv_v_bytes(&lay, heads));
}

/* Unrolls (3, S, S) pixels into patches (N, 3·P·P), (c, ky, kx) order. */
static void unroll_patches(const float *pixels, int size, int p, float *patches)
{
    const int grid = size / p;
    for (int gy = 0; gy < grid; gy++)
        for (int gx = 0; gx < grid; gx++) {
            float *dst = patches + ((int64_t)gy * grid + gx) * 3 * p * p;
            for (int ch = 0; ch < 3; ch++)
                for (int ky = 0; ky < p; ky++) {
                    const float *src =
                        pixels + ((int64_t)ch * size + gy * p + ky) * size +
                        (int64_t)gx * p;
                    memcpy(dst, src, (size_t)p * sizeof(float));
                    dst += p;
                }
        }
}

pali_status pali_siglip_forward(const pali_model *m, const pali_compute *c,
                                const float *pixels, float *features,
                                void *work_area, const pali_callbacks *cb,
                                pali_error *err)
{
    const pali_model_info *in = &m->cfg.info;
    const siglip_dims s = dims_of(m);
    const int heads = in->vision_heads;
    const int hd = (int)(s.d / heads);
    const float eps = in->vision_norm_eps;

    float *work = work_area;
    float *x = work;                       // (N, Dv) residual stream
    float *h = x + s.n * s.d;              // (N, Dv) normed input
    float *q = h + s.n * s.d;              // (N, Dv)
    float *k = q + s.n * s.d;              // (N, Dv)
    float *v = k + s.n * s.d;              // (N, Dv)
    float *att = v + s.n * s.d;            // (N, Dv)
    float *mlp = att + s.n * s.d;          // (N, Iv), or PACKED
    float *patches = mlp + mlp_floats(&s); // (N, 3·P·P)
    pali_kv_layout lay;
    kv_layout(m, c, &lay);
    char *kv_base = (char *)work +
                    lines((size_t)(s.n * (6 * s.d + s.kdim) + mlp_floats(&s)) *
                          sizeof(float));
    void *k_store = kv_base; // (heads) × K blocks
    void *v_store = kv_base + lines(pali_kv_k_bytes(&lay, heads));
    // the layout's padding is never written and must read as zeros (the
    // work space is shared with the decoder)
    memset(kv_base, 0,
           lines(pali_kv_k_bytes(&lay, heads)) +
               lines(pali_kv_v_bytes(&lay, heads)));

    // x = patch_embedding(pixels) + position_embedding
    unroll_patches(pixels, in->image_size, in->patch_size, patches);
    pali_matmul(c, patches, s.n, &m->patch_w, m->patch_b, x);
    pali_tensor_read_f32(&m->pos_emb, 0, s.n * s.d, h);
    pali_add(c, x, h, s.n * s.d);
    const int64_t shape_nd[3] = { 1, s.n, s.d };
    pali_hooks_tensor(cb, "vision_embeddings", -1, x, 3, shape_nd);

    pali_attention_args attn = {
        .q = q,
        .q_stride = s.d,
        .n_queries = s.n,
        .n_heads = heads,
        .n_kv_heads = heads,
        .lay = &lay,
        .k = k_store,
        .v = v_store,
        .key_begin = 0,
        .key_end = s.n,
        .scale = 1.0f / sqrtf((float)hd),
        .softcap = 0,
        .out = att,
        .out_stride = s.d,
    };

    for (int l = 0; l < in->vision_layers; l++) {
        if (pali_hooks_abort(cb))
            return pali_fail(err, PALI_ERR_ABORTED, "aborted");
        pali_hooks_progress(cb, PALI_PHASE_VISION, l, in->vision_layers);
        const pali_siglip_layer *L = &m->vision[l];

        // x = x + out_proj(attn(LN1(x)))
        pali_layernorm(c, x, s.n, s.d, L->ln1_w, L->ln1_b, eps, h);
        const pali_product qkv[3] = {
            { &L->q_w, L->q_b, q, PALI_ACT_NONE, NULL },
            { &L->k_w, L->k_b, k, PALI_ACT_NONE, NULL },
            { &L->v_w, L->v_b, v, PALI_ACT_NONE, NULL },
        };
        pali_matmul_many(c, h, s.n, qkv, 3);
        pali_kv_store(c, &lay, heads, k_store, v_store, 0, s.n, k, s.d, v, s.d);
        pali_attention(c, &attn);
        pali_matmul(c, att, s.n, &L->o_w, L->o_b, h);
        pali_add(c, x, h, s.n * s.d);

        // x = x + fc2(gelu_tanh(fc1(LN2(x))))
        pali_layernorm(c, x, s.n, s.d, L->ln2_w, L->ln2_b, eps, h);
        // where the kernel set allows, fc1's outputs are stored as fc2's
        // packed input (the same bits, a transposed store and a packing
        // less)
        if (pali_matmul_layouts(c, s.n)) {
            const pali_product fc1 = { &L->fc1_w, L->fc1_b,
                                       mlp,       PALI_ACT_GELU_TANH,
                                       NULL,      PALI_LAYOUT_PACKED,
                                       NULL,      &L->fc2_w };
            pali_matmul_many(c, h, s.n, &fc1, 1);
            pali_matmul_prepacked(c, mlp, s.n, &L->fc2_w, L->fc2_b, h);
        } else {
            pali_matmul_act(c, h, s.n, &L->fc1_w, L->fc1_b, mlp,
                            PALI_ACT_GELU_TANH, NULL);
            pali_matmul(c, mlp, s.n, &L->fc2_w, L->fc2_b, h);
        }
        pali_add(c, x, h, s.n * s.d);
    }
    pali_hooks_progress(cb, PALI_PHASE_VISION, in->vision_layers,
                        in->vision_layers);

    // h = post_layernorm(x); features = projector(h)
    pali_layernorm(c, x, s.n, s.d, m->post_ln_w, m->post_ln_b, eps, h);
    pali_hooks_tensor(cb, "vision_last_hidden_state", -1, h, 3, shape_nd);
    pali_matmul(c, h, s.n, &m->proj_w, m->proj_b, features);
    const int64_t shape_nt[3] = { 1, s.n, s.dt };
    pali_hooks_tensor(cb, "image_features", -1, features, 3, shape_nt);
    return PALI_OK;
}
