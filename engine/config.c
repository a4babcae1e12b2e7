/* config.c — config.json → pali_config (config.h).
 *
 * Reference: transformers 5.12.1's PaliGemmaConfig, Gemma2Config and
 * SiglipVisionConfig.  Hub configs were written by transformers 4.47 with
 * keys equal to the class defaults left out (softcaps, window, eps, RoPE
 * θ, head_dim…), so every absent key takes the default the reference
 * applies; transformers-5 configs spell everything out, some keys under
 * new names (rope_parameters.rope_theta for rope_theta, "dtype" for
 * "torch_dtype").  The processor and generation configs are read in
 * config-processor.c. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json-value.h"

/* Gemma2Config class defaults (the gemma-2-2b values). */
#define GEMMA2_VOCAB         256000
#define GEMMA2_HIDDEN        2304
#define GEMMA2_INTERMEDIATE  9216
#define GEMMA2_LAYERS        26
#define GEMMA2_HEADS         8
#define GEMMA2_KV_HEADS      4
#define GEMMA2_HEAD_DIM      256
#define GEMMA2_QPAS          256.0 /* query_pre_attn_scalar */
#define GEMMA2_MAX_POSITIONS 8192
#define GEMMA2_RMS_EPS       1e-6
#define GEMMA2_WINDOW        4096 /* sliding_window, in positions */
#define GEMMA2_ATTN_SOFTCAP  50.0 /* attn_logit_softcapping */
#define GEMMA2_FINAL_SOFTCAP 30.0 /* final_logit_softcapping */
#define GEMMA2_PAD_ID        0
#define GEMMA2_EOS_ID        1
#define GEMMA2_BOS_ID        2
#define ROPE_DEFAULT_THETA   10000.0 /* RotaryEmbeddingConfigMixin */
#define GELU_TANH            "gelu_pytorch_tanh"

/* SiglipVisionConfig class defaults (siglip-base-patch16-224). */
#define SIGLIP_HIDDEN       768
#define SIGLIP_INTERMEDIATE 3072
#define SIGLIP_LAYERS       12
#define SIGLIP_HEADS        12
#define SIGLIP_IMAGE_SIZE   224
#define SIGLIP_PATCH_SIZE   16
#define SIGLIP_CHANNELS     3
#define SIGLIP_LN_EPS       1e-6

/* What PaliGemmaConfig builds when vision_config is absent altogether. */
#define PALIGEMMA_VISION_HIDDEN       1152
#define PALIGEMMA_VISION_INTERMEDIATE 4096
#define PALIGEMMA_VISION_LAYERS       27
#define PALIGEMMA_VISION_HEADS        16
#define PALIGEMMA_VISION_PATCH        14

/* PaliGemmaConfig class defaults. */
#define PALIGEMMA_IMAGE_TOKEN_ID 256000
#define PALIGEMMA_PROJECTION_DIM 2048

/* Sanity limits: far above every released model, low enough that no size
 * computed from them overflows. */
#define MAX_HIDDEN       65536
#define MAX_INTERMEDIATE (1 << 20)
#define MAX_LAYERS       1024
#define MAX_HEADS        1024
#define MAX_HEAD_DIM     4096
#define MAX_VOCAB        (1 << 24)
#define MAX_IMAGE_SIZE   4096 /* pixels; 896 is the largest released */
#define MAX_POSITIONS    (1 << 24)

/* The released PaliGemma 2 sizes (REAL_CONFIGS.md). */
typedef struct variant_dims {
    const char *name;
    int text_hidden, text_intermediate, text_layers;
    int n_heads, n_kv_heads, head_dim;
    float qpas;
} variant_dims;

static const variant_dims variants[] = {
    { "3b", 2304, 9216, 26, 8, 4, 256, 256.0f },
    { "10b", 3584, 14336, 42, 16, 8, 256, 256.0f },
    { "28b", 4608, 36864, 46, 32, 16, 128, 144.0f },
};
static const int variant_image_sizes[] = { 224, 448, 896 };
#define REAL_VISION_HIDDEN       1152
#define REAL_VISION_INTERMEDIATE 4304
#define REAL_VISION_LAYERS       27
#define REAL_VISION_HEADS        16
#define REAL_PATCH_SIZE          14
#define REAL_VOCAB_ROWS          257216
#define REAL_IMAGE_TOKEN_ID      257152

/* image_size / patch_size: an integer, or [h, w] with h == w. */
static pali_status get_square(const pali_json_reader *r, const pali_json *obj,
                              const char *key, int def, int max, int *out)
{
    const pali_json *v = pali_json_get(obj, key);
    if (!pali_json_is(v, PALI_JSON_ARRAY))
        return pali_json_get_int(r, obj, key, def, 1, max, out);
    char k[128];
    pali_json_full_key(r, key, k, sizeof(k));
    int64_t hw[2] = { 0, 0 };
    if (v->len != 2)
        return pali_json_type_error(v, r->path, k, "an integer or [h, w]",
                                    r->err);
    for (int i = 0; i < 2; i++) {
        pali_status s = pali_json_read_int(&v->u.items[i], r->path, k, 1, max,
                                           &hw[i], r->err);
        if (s != PALI_OK)
            return s;
    }
    if (hw[0] != hw[1])
        return pali_fail(r->err, PALI_ERR_UNSUPPORTED,
                         "%s: %s: %lld × %lld is not square", r->path, k,
                         (long long)hw[0], (long long)hw[1]);
    *out = (int)hw[0];
    return PALI_OK;
}

/* A token id: an integer, or (eos: max_ids > 1) a list of them.  null is
 * "none" (-1) for a single id and keeps the earlier value for eos. */
static pali_status get_ids(const pali_json_reader *r, const pali_json *obj,
                           const char *key, int32_t *ids, int max_ids,
                           int *n_ids)
{
    const pali_json *v = pali_json_get(obj, key);
    if (v == NULL || (max_ids > 1 && v->type == PALI_JSON_NULL))
        return PALI_OK; /* keep what the caller had */
    char k[128];
    pali_json_full_key(r, key, k, sizeof(k));
    if (v->type == PALI_JSON_NULL) {
        ids[0] = -1;
        *n_ids = 1;
        return PALI_OK;
    }
    const pali_json *items = v;
    uint32_t n = 1;
    if (v->type == PALI_JSON_ARRAY && max_ids > 1) {
        items = v->u.items;
        n = v->len;
        if (n == 0 || n > (uint32_t)max_ids)
            return pali_json_type_error(
                v, r->path, k, "a token id or a list of 1 to 8 ids", r->err);
    }
    for (uint32_t i = 0; i < n; i++) {
        int64_t x = 0;
        pali_status s = pali_json_read_int(&items[i], r->path, k, 0,
                                           MAX_VOCAB - 1, &x, r->err);
        if (s != PALI_OK)
            return s;
        ids[i] = (int32_t)x;
    }
    *n_ids = (int)n;
    return PALI_OK;
}

static pali_status check_activation(const pali_json_reader *r,
                                    const pali_json *obj, const char *key)
{
    const char *act;
    pali_status s = pali_json_get_string(r, obj, key, GELU_TANH, &act);
    if (s == PALI_OK && strcmp(act, GELU_TANH) != 0)
        s = pali_fail(r->err, PALI_ERR_UNSUPPORTED,
                      "%s: %s%s is \"%s\": only \"%s\" (Gemma 2 and SigLIP's "
                      "activation) is supported",
                      r->path, r->prefix, key, act, GELU_TANH);
    return s;
}

/* rope_parameters (transformers 5) or rope_scaling / rope_theta (4.x):
 * only the default (unscaled) RoPE exists in Gemma 2. */
static pali_status parse_rope(const pali_json_reader *r, const pali_json *text,
                              double *theta)
{
    pali_status s;
    double legacy;
    if ((s = pali_json_get_positive(r, text, "rope_theta", ROPE_DEFAULT_THETA,
                                    1e12, false, &legacy)))
        return s;
    const pali_json *params = pali_json_get(text, "rope_scaling");
    const char *params_key = "rope_scaling";
    if (params == NULL || params->type == PALI_JSON_NULL) {
        params = pali_json_get(text, "rope_parameters");
        params_key = "rope_parameters";
    }
    *theta = legacy;
    if (params == NULL || params->type == PALI_JSON_NULL)
        return PALI_OK;
    char k[128];
    snprintf(k, sizeof(k), "%s%s", r->prefix, params_key);
    if (!pali_json_is(params, PALI_JSON_OBJECT))
        return pali_json_type_error(params, r->path, k, "an object", r->err);
    for (uint32_t i = 0; i < params->len; i++) {
        if (pali_json_is(pali_json_value_at(params, i), PALI_JSON_OBJECT))
            return pali_fail(r->err, PALI_ERR_UNSUPPORTED,
                             "%s: %s: per-layer RoPE parameters are not "
                             "supported",
                             r->path, k);
    }
    pali_json_reader sub = { r->path, NULL, r->err };
    char prefix[140];
    snprintf(prefix, sizeof(prefix), "%s.", k);
    sub.prefix = prefix;
    const char *type;
    if ((s = pali_json_get_string(&sub, params, "type", "default", &type)) ||
        (s = pali_json_get_string(&sub, params, "rope_type", type, &type)))
        return s;
    if (strcmp(type, "default") != 0)
        return pali_fail(r->err, PALI_ERR_UNSUPPORTED,
                         "%s: %s.rope_type is \"%s\": only the default RoPE "
                         "(Gemma 2's) is supported",
                         r->path, k, type);
    return pali_json_get_positive(&sub, params, "rope_theta", legacy, 1e12,
                                  false, theta);
}

static pali_status parse_layer_types(const pali_json_reader *r,
                                     const pali_json *text, pali_config *cfg)
{
    int n = cfg->info.text_layers;
    cfg->layer_sliding = pali_calloc_array((size_t)n, sizeof(bool));
    if (cfg->layer_sliding == NULL)
        return pali_fail(r->err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    const pali_json *v = pali_json_get(text, "layer_types");
    if (v == NULL || v->type == PALI_JSON_NULL) {
        /* Gemma2Config.__post_init__: sliding if (i + 1) % 2, i.e. layers
         * 0, 2, 4, … */
        for (int i = 0; i < n; i++)
            cfg->layer_sliding[i] = (i + 1) % 2 != 0;
        return PALI_OK;
    }
    char k[128];
    pali_json_full_key(r, "layer_types", k, sizeof(k));
    if (!pali_json_is(v, PALI_JSON_ARRAY) || v->len != (uint32_t)n) {
        char what[96];
        snprintf(what, sizeof(what), "a list of %d layer types", n);
        return pali_json_type_error(v, r->path, k, what, r->err);
    }
    for (int i = 0; i < n; i++) {
        const pali_json *t = &v->u.items[i];
        bool sliding = pali_json_is(t, PALI_JSON_STRING) &&
                       strcmp(t->u.string, "sliding_attention") == 0;
        bool full = pali_json_is(t, PALI_JSON_STRING) &&
                    strcmp(t->u.string, "full_attention") == 0;
        if (!sliding && !full) {
            char ki[160];
            snprintf(ki, sizeof(ki), "%s[%d]", k, i);
            return pali_json_type_error(
                t, r->path, ki, "\"sliding_attention\" or \"full_attention\"",
                r->err);
        }
        cfg->layer_sliding[i] = sliding;
    }
    return PALI_OK;
}

static pali_status parse_text(const pali_json_reader *r, const pali_json *text,
                              pali_config *cfg)
{
    pali_model_info *in = &cfg->info;
    pali_status s;
    bool bias = false, tied = true;
    double qpas = 0, attn_cap = 0, final_cap = 0, eps = 0, theta = 0;
    if ((s = pali_json_get_int(r, text, "vocab_size", GEMMA2_VOCAB, 1,
                               MAX_VOCAB, &in->vocab_rows)) ||
        (s = pali_json_get_int(r, text, "hidden_size", GEMMA2_HIDDEN, 1,
                               MAX_HIDDEN, &in->text_hidden)) ||
        (s = pali_json_get_int(r, text, "intermediate_size",
                               GEMMA2_INTERMEDIATE, 1, MAX_INTERMEDIATE,
                               &in->text_intermediate)) ||
        (s = pali_json_get_int(r, text, "num_hidden_layers", GEMMA2_LAYERS, 1,
                               MAX_LAYERS, &in->text_layers)) ||
        (s = pali_json_get_int(r, text, "num_attention_heads", GEMMA2_HEADS, 1,
                               MAX_HEADS, &in->n_heads)) ||
        (s = pali_json_get_int(r, text, "num_key_value_heads", GEMMA2_KV_HEADS,
                               1, MAX_HEADS, &in->n_kv_heads)) ||
        (s = pali_json_get_int(r, text, "head_dim", GEMMA2_HEAD_DIM, 1,
                               MAX_HEAD_DIM, &in->head_dim)) ||
        (s = pali_json_get_int(r, text, "max_position_embeddings",
                               GEMMA2_MAX_POSITIONS, 1, MAX_POSITIONS,
                               &in->max_positions)) ||
        (s = pali_json_get_int(r, text, "sliding_window", GEMMA2_WINDOW, 1,
                               MAX_POSITIONS, &in->sliding_window)) ||
        (s = pali_json_get_positive(r, text, "query_pre_attn_scalar",
                                    GEMMA2_QPAS, 1e9, false, &qpas)) ||
        (s = pali_json_get_positive(r, text, "attn_logit_softcapping",
                                    GEMMA2_ATTN_SOFTCAP, 1e9, true,
                                    &attn_cap)) ||
        (s = pali_json_get_positive(r, text, "final_logit_softcapping",
                                    GEMMA2_FINAL_SOFTCAP, 1e9, true,
                                    &final_cap)) ||
        (s = pali_json_get_positive(r, text, "rms_norm_eps", GEMMA2_RMS_EPS,
                                    1.0, false, &eps)) ||
        (s = parse_rope(r, text, &theta)) ||
        (s = check_activation(r, text, "hidden_activation")) ||
        (s = pali_json_get_bool(r, text, "attention_bias", false, &bias)) ||
        (s = pali_json_get_bool(r, text, "tie_word_embeddings", true, &tied)))
        return s;
    in->query_pre_attn_scalar = (float)qpas;
    in->attn_softcap = (float)attn_cap;
    in->final_softcap = (float)final_cap;
    in->rms_norm_eps = (float)eps;
    in->rope_theta = (float)theta;
    if (bias)
        return pali_fail(r->err, PALI_ERR_UNSUPPORTED,
                         "%s: %sattention_bias is true: Gemma 2 attention "
                         "has no biases",
                         r->path, r->prefix);
    if (!tied)
        return pali_fail(r->err, PALI_ERR_UNSUPPORTED,
                         "%s: %stie_word_embeddings is false: PaliGemma 2's "
                         "output layer is its embedding",
                         r->path, r->prefix);
    if (in->text_hidden % in->n_heads != 0)
        /* Gemma2Config.validate_architecture refuses it too */
        return pali_fail(r->err, PALI_ERR_FORMAT,
                         "%s: %shidden_size %d is not a multiple of "
                         "num_attention_heads %d",
                         r->path, r->prefix, in->text_hidden, in->n_heads);
    if (in->n_heads % in->n_kv_heads != 0)
        return pali_fail(r->err, PALI_ERR_FORMAT,
                         "%s: %snum_attention_heads %d is not a multiple of "
                         "num_key_value_heads %d",
                         r->path, r->prefix, in->n_heads, in->n_kv_heads);
    int32_t ids[1];
    int n = 0;
    in->pad_id = GEMMA2_PAD_ID;
    in->bos_id = GEMMA2_BOS_ID;
    cfg->eos_ids[0] = GEMMA2_EOS_ID;
    cfg->n_eos = 1;
    if ((s = get_ids(r, text, "pad_token_id", ids, 1, &n)))
        return s;
    if (n > 0)
        in->pad_id = ids[0];
    n = 0;
    if ((s = get_ids(r, text, "bos_token_id", ids, 1, &n)))
        return s;
    if (n > 0)
        in->bos_id = ids[0];
    if ((s = get_ids(r, text, "eos_token_id", cfg->eos_ids, PALI_MAX_EOS_IDS,
                     &cfg->n_eos)))
        return s;
    return parse_layer_types(r, text, cfg);
}

static pali_status parse_vision(const pali_json_reader *r,
                                const pali_json *vision, pali_config *cfg)
{
    pali_model_info *in = &cfg->info;
    /* PaliGemmaConfig builds its own SigLIP config when there is none */
    bool absent = vision == NULL;
    pali_status s;
    int channels = 0;
    double eps = 0;
    const char *type;
    if ((s = pali_json_get_string(r, vision, "model_type",
                                  "siglip_vision_model", &type)))
        return s;
    if (strcmp(type, "siglip_vision_model") != 0)
        return pali_fail(r->err, PALI_ERR_UNSUPPORTED,
                         "%s: vision_config.model_type is \"%s\": only "
                         "SigLIP (\"siglip_vision_model\") is supported",
                         r->path, type);
    if ((s = pali_json_get_int(r, vision, "hidden_size",
                               absent ? PALIGEMMA_VISION_HIDDEN : SIGLIP_HIDDEN,
                               1, MAX_HIDDEN, &in->vision_hidden)) ||
        (s = pali_json_get_int(
             r, vision, "intermediate_size",
             absent ? PALIGEMMA_VISION_INTERMEDIATE : SIGLIP_INTERMEDIATE, 1,
             MAX_INTERMEDIATE, &in->vision_intermediate)) ||
        (s = pali_json_get_int(r, vision, "num_hidden_layers",
                               absent ? PALIGEMMA_VISION_LAYERS : SIGLIP_LAYERS,
                               1, MAX_LAYERS, &in->vision_layers)) ||
        (s = pali_json_get_int(r, vision, "num_attention_heads",
                               absent ? PALIGEMMA_VISION_HEADS : SIGLIP_HEADS,
                               1, MAX_HEADS, &in->vision_heads)) ||
        (s = pali_json_get_int(r, vision, "num_channels", SIGLIP_CHANNELS, 1,
                               16, &channels)) ||
        (s = get_square(r, vision, "image_size", SIGLIP_IMAGE_SIZE,
                        MAX_IMAGE_SIZE, &in->image_size)) ||
        (s = get_square(r, vision, "patch_size",
                        absent ? PALIGEMMA_VISION_PATCH : SIGLIP_PATCH_SIZE,
                        MAX_IMAGE_SIZE, &in->patch_size)) ||
        (s = pali_json_get_positive(r, vision, "layer_norm_eps", SIGLIP_LN_EPS,
                                    1.0, false, &eps)) ||
        (s = check_activation(r, vision, "hidden_act")) ||
        /* SiglipVisionTransformer: use_head = True unless the config
         * says otherwise */
        (s = pali_json_get_bool(r, vision, "vision_use_head",
                                absent ? false : true, &cfg->vision_use_head)))
        return s;
    in->vision_norm_eps = (float)eps;
    if (channels != SIGLIP_CHANNELS)
        return pali_fail(r->err, PALI_ERR_UNSUPPORTED,
                         "%s: vision_config.num_channels is %d: only RGB (3) "
                         "is supported",
                         r->path, channels);
    if (cfg->vision_use_head)
        return pali_fail(r->err, PALI_ERR_UNSUPPORTED,
                         "%s: vision_config.vision_use_head is %s: PaliGemma "
                         "uses SigLIP without its pooling head (false)",
                         r->path,
                         pali_json_get(vision, "vision_use_head")
                             ? "true"
                             : "absent (SigLIP's default: true)");
    if (in->vision_hidden % in->vision_heads != 0)
        return pali_fail(r->err, PALI_ERR_FORMAT,
                         "%s: vision_config.hidden_size %d is not a multiple "
                         "of num_attention_heads %d",
                         r->path, in->vision_hidden, in->vision_heads);
    if (in->image_size % in->patch_size != 0)
        return pali_fail(r->err, PALI_ERR_FORMAT,
                         "%s: vision_config.image_size %d is not a multiple "
                         "of patch_size %d",
                         r->path, in->image_size, in->patch_size);
    int side = in->image_size / in->patch_size;
    in->n_image_tokens = side * side;
    return PALI_OK;
}

/* text_config.num_image_tokens and vision_config.num_image_tokens are
 * recomputed by transformers; a different stored value means the file
 * describes another model. */
static pali_status check_image_tokens(const pali_json_reader *r,
                                      const pali_json *obj,
                                      const pali_config *cfg)
{
    int n;
    pali_status s = pali_json_get_int(
        r, obj, "num_image_tokens", cfg->info.n_image_tokens, 1, INT32_MAX, &n);
    if (s == PALI_OK && n != cfg->info.n_image_tokens)
        s = pali_fail(r->err, PALI_ERR_FORMAT,
                      "%s: %snum_image_tokens is %d, but image_size %d and "
                      "patch_size %d give (%d/%d)² = %d",
                      r->path, r->prefix, n, cfg->info.image_size,
                      cfg->info.patch_size, cfg->info.image_size,
                      cfg->info.patch_size, cfg->info.n_image_tokens);
    return s;
}

static void name_variant(pali_config *cfg)
{
    const pali_model_info *in = &cfg->info;
    snprintf(cfg->variant, sizeof(cfg->variant), "custom");
    if (in->vision_hidden != REAL_VISION_HIDDEN ||
        in->vision_intermediate != REAL_VISION_INTERMEDIATE ||
        in->vision_layers != REAL_VISION_LAYERS ||
        in->vision_heads != REAL_VISION_HEADS ||
        in->patch_size != REAL_PATCH_SIZE ||
        in->vocab_rows != REAL_VOCAB_ROWS ||
        in->image_token_id != REAL_IMAGE_TOKEN_ID)
        return;
    bool size_ok = false;
    for (size_t i = 0; i < PALI_ARRAY_LEN(variant_image_sizes); i++)
        size_ok |= in->image_size == variant_image_sizes[i];
    if (!size_ok)
        return;
    for (size_t i = 0; i < PALI_ARRAY_LEN(variants); i++) {
        const variant_dims *v = &variants[i];
        if (in->text_hidden == v->text_hidden &&
            in->text_intermediate == v->text_intermediate &&
            in->text_layers == v->text_layers && in->n_heads == v->n_heads &&
            in->n_kv_heads == v->n_kv_heads && in->head_dim == v->head_dim &&
            in->query_pre_attn_scalar == v->qpas)
            snprintf(cfg->variant, sizeof(cfg->variant), "%s-%d", v->name,
                     in->image_size);
    }
}

static pali_status check_ids(const pali_json_reader *r, const pali_config *cfg)
{
    const pali_model_info *in = &cfg->info;
    if (in->image_token_id >= in->vocab_rows)
        return pali_fail(r->err, PALI_ERR_FORMAT,
                         "%s: image_token_index %d is outside the %d-row "
                         "embedding (text_config.vocab_size)",
                         r->path, in->image_token_id, in->vocab_rows);
    struct {
        const char *name;
        int32_t id;
    } ids[] = { { "bos_token_id", in->bos_id },
                { "pad_token_id", in->pad_id } };
    for (size_t i = 0; i < PALI_ARRAY_LEN(ids); i++) {
        if (ids[i].id >= in->vocab_rows)
            return pali_fail(r->err, PALI_ERR_FORMAT,
                             "%s: %s %d is outside the %d-row embedding",
                             r->path, ids[i].name, ids[i].id, in->vocab_rows);
    }
    for (int i = 0; i < cfg->n_eos; i++) {
        if (cfg->eos_ids[i] < 0 || cfg->eos_ids[i] >= in->vocab_rows)
            return pali_fail(r->err, PALI_ERR_FORMAT,
                             "%s: eos_token_id %d is outside the %d-row "
                             "embedding",
                             r->path, cfg->eos_ids[i], in->vocab_rows);
    }
    if (in->bos_id < 0)
        return pali_fail(r->err, PALI_ERR_FORMAT,
                         "%s: bos_token_id is null: PaliGemma prompts start "
                         "with <bos>",
                         r->path);
    return PALI_OK;
}

pali_status pali_config_parse_model(const pali_json *root, const char *path,
                                    pali_config *cfg, pali_error *err)
{
    pali_json_reader top = { path, "", err };
    pali_status s;
    if (!pali_json_is(root, PALI_JSON_OBJECT))
        return pali_json_type_error(root, path, "(top level)", "an object",
                                    err);
    const pali_json *mt = pali_json_get(root, "model_type");
    const char *type;
    if (mt == NULL)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: model_type: missing (expected \"paligemma\")",
                         path);
    if ((s = pali_json_read_string(mt, path, "model_type", &type, err)))
        return s;
    if (strcmp(type, "paligemma") != 0)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: model_type is \"%s\": only PaliGemma 2 "
                         "(\"paligemma\") models are supported",
                         path, type);
    const pali_json *text = pali_json_get(root, "text_config");
    if (!pali_json_is(text, PALI_JSON_OBJECT)) {
        if (text == NULL || text->type == PALI_JSON_NULL)
            return pali_fail(err, PALI_ERR_UNSUPPORTED,
                             "%s: text_config: missing, which transformers "
                             "reads as PaliGemma 1's Gemma decoder; only "
                             "PaliGemma 2 (gemma2) is supported",
                             path);
        return pali_json_type_error(text, path, "text_config", "an object",
                                    err);
    }
    const pali_json *tt = pali_json_get(text, "model_type");
    const char *ttype = "gemma"; /* PaliGemmaConfig's default */
    if (tt != NULL && (s = pali_json_read_string(
                           tt, path, "text_config.model_type", &ttype, err)))
        return s;
    if (strcmp(ttype, "gemma") == 0)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: text_config.model_type is %s\"gemma\": this is "
                         "a PaliGemma 1 model, which is not supported (only "
                         "PaliGemma 2, \"gemma2\")",
                         path, tt ? "" : "absent, i.e. ");
    if (strcmp(ttype, "gemma2") != 0)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: text_config.model_type is \"%s\": only Gemma 2 "
                         "(\"gemma2\") is supported",
                         path, ttype);
    const pali_json *vision = pali_json_get(root, "vision_config");
    if (vision != NULL && vision->type == PALI_JSON_NULL)
        vision = NULL;
    if (vision != NULL && !pali_json_is(vision, PALI_JSON_OBJECT))
        return pali_json_type_error(vision, path, "vision_config", "an object",
                                    err);

    pali_json_reader tr = { path, "text_config.", err };
    pali_json_reader vr = { path, "vision_config.", err };
    bool tied = true;
    if ((s = parse_text(&tr, text, cfg)) ||
        (s = parse_vision(&vr, vision, cfg)) ||
        (s = check_image_tokens(&tr, text, cfg)) ||
        (s = check_image_tokens(&vr, vision, cfg)) ||
        (s = pali_json_get_int(&top, root, "projection_dim",
                               PALIGEMMA_PROJECTION_DIM, 1, MAX_HIDDEN,
                               &cfg->projection_dim)) ||
        (s = pali_json_get_int(&top, root, "image_token_index",
                               PALIGEMMA_IMAGE_TOKEN_ID, 0, MAX_VOCAB - 1,
                               &cfg->info.image_token_id)) ||
        /* attribute_map: image_token_id is the same field */
        (s = pali_json_get_int(&top, root, "image_token_id",
                               cfg->info.image_token_id, 0, MAX_VOCAB - 1,
                               &cfg->info.image_token_id)) ||
        (s = pali_json_get_bool(&top, root, "tie_word_embeddings", true,
                                &tied)))
        return s;
    if (!tied)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: tie_word_embeddings is false: PaliGemma 2's "
                         "output layer is its embedding",
                         path);
    if (cfg->projection_dim != cfg->info.text_hidden)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: projection_dim %d differs from "
                         "text_config.hidden_size %d (the projector maps "
                         "image features into the text model)",
                         path, cfg->projection_dim, cfg->info.text_hidden);
    if (cfg->info.n_image_tokens + 2 > cfg->info.max_positions)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: %d image tokens do not fit in "
                         "text_config.max_position_embeddings %d",
                         path, cfg->info.n_image_tokens,
                         cfg->info.max_positions);
    /* top-level ids override the text config's (PaliGemmaConfig keeps
     * its own bos/eos/pad) */
    int32_t id[1];
    int n = 0;
    if ((s = get_ids(&top, root, "pad_token_id", id, 1, &n)))
        return s;
    if (n > 0)
        cfg->info.pad_id = id[0];
    n = 0;
    if ((s = get_ids(&top, root, "bos_token_id", id, 1, &n)))
        return s;
    if (n > 0)
        cfg->info.bos_id = id[0];
    if ((s = get_ids(&top, root, "eos_token_id", cfg->eos_ids, PALI_MAX_EOS_IDS,
                     &cfg->n_eos)) ||
        (s = check_ids(&top, cfg)))
        return s;
    cfg->info.eos_id = cfg->eos_ids[0];
    name_variant(cfg);
    cfg->info.variant = cfg->variant;
    cfg->info.dtype = cfg->dtype;
    return PALI_OK;
}

pali_status pali_config_load(const char *dir, pali_config *cfg, pali_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    char *path = pali_path_join(dir, PALI_CONFIG_NAME);
    if (path == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    pali_json_doc *doc = NULL;
    /* a config.json is a few KB; 16 MB is clearly something else */
    pali_status s = pali_json_parse_file(path, 16u << 20, &doc, err);
    if (s == PALI_OK)
        s = pali_config_parse_model(pali_json_root(doc), path, cfg, err);
    pali_json_free(doc);
    free(path);
    if (s == PALI_OK)
        s = pali_config_load_processor(dir, cfg, err);
    if (s == PALI_OK)
        s = pali_config_load_generation(dir, cfg, err);
    if (s != PALI_OK)
        pali_config_clear(cfg);
    return s;
}

void pali_config_clear(pali_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->layer_sliding);
    memset(cfg, 0, sizeof(*cfg));
}
