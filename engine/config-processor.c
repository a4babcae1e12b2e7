/* config-processor.c — the image processor's config and
 * generation_config.json → pali_config (config.h).
 *
 * Reference: transformers 5.12.1's SiglipImageProcessor (defaults: resize
 * to 224×224 bicubic, rescale 1/255, normalize with mean = std = 0.5, all
 * do_* flags true; a null flag means the default) and
 * ImageProcessingMixin.from_pretrained, which prefers processor_config.json's
 * nested "image_processor" over preprocessor_config.json.  GenerationConfig:
 * eos_token_id may be one id or a list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "internal.h"
#include "json-value.h"

/* SiglipImageProcessor class defaults. */
#define SIGLIP_RESAMPLE_BICUBIC 3 /* PIL.Image.Resampling.BICUBIC */
#define SIGLIP_RESCALE          (1.0 / 255.0)
#define SIGLIP_MEAN_STD         0.5 /* IMAGENET_STANDARD_MEAN / _STD */
#define SIGLIP_DEFAULT_SIZE     224
/* PIL's resampling filters are numbered 0 (nearest) to 5 (lanczos). */
#define PIL_RESAMPLE_MAX 5
/* Processor and generation configs are well under a megabyte. */
#define SMALL_CONFIG_MAX_BYTES (16u << 20)

/* A do_* flag: true, false, or null / absent (the default, true). */
static pali_status get_flag(const pali_json_reader *r, const pali_json *obj,
                            const char *key, bool *out)
{
    const pali_json *v = pali_json_get(obj, key);
    if (v != NULL && v->type == PALI_JSON_NULL)
        v = NULL;
    *out = true;
    if (v == NULL)
        return PALI_OK;
    char k[160];
    pali_json_full_key(r, key, k, sizeof(k));
    return pali_json_read_bool(v, r->path, k, out, r->err);
}

/* image_mean / image_std: one number for all channels or three. */
static pali_status get_channels(const pali_json_reader *r, const pali_json *obj,
                                const char *key, bool positive, double out[3])
{
    const pali_json *v = pali_json_get(obj, key);
    out[0] = out[1] = out[2] = SIGLIP_MEAN_STD;
    if (v == NULL || v->type == PALI_JSON_NULL)
        return PALI_OK;
    char k[160];
    pali_json_full_key(r, key, k, sizeof(k));
    const pali_json *items = v;
    int n = 1;
    if (v->type == PALI_JSON_ARRAY) {
        if (v->len != 3)
            return pali_json_type_error(
                v, r->path, k, "a number or a list of 3 numbers", r->err);
        items = v->u.items;
        n = 3;
    }
    for (int i = 0; i < n; i++) {
        pali_status s =
            pali_json_read_number(&items[i], r->path, k, positive ? 0.0 : -1e6,
                                  positive, 1e6, &out[i], r->err);
        if (s != PALI_OK)
            return s;
    }
    if (n == 1)
        out[1] = out[2] = out[0];
    return PALI_OK;
}

pali_status pali_config_parse_processor(const pali_json *ip, const char *path,
                                        const char *prefix, pali_config *cfg,
                                        pali_error *err)
{
    pali_json_reader r = { path, prefix, err };
    pali_preprocess_config *pre = &cfg->pre;
    pali_status s;
    if (!pali_json_is(ip, PALI_JSON_OBJECT))
        return pali_json_type_error(
            ip, path, prefix[0] ? prefix : "(top level)", "an object", err);
    const pali_json *size = pali_json_get(ip, "size");
    pre->width = pre->height = SIGLIP_DEFAULT_SIZE;
    if (size != NULL) {
        char k[160];
        pali_json_full_key(&r, "size", k, sizeof(k));
        if (!pali_json_is(size, PALI_JSON_OBJECT) ||
            pali_json_get(size, "height") == NULL ||
            pali_json_get(size, "width") == NULL)
            return pali_json_type_error(size, path, k,
                                        "{\"height\": S, \"width\": S}", err);
        char sub_prefix[170];
        snprintf(sub_prefix, sizeof(sub_prefix), "%s.", k);
        pali_json_reader sr = { path, sub_prefix, err };
        if ((s = pali_json_get_int(&sr, size, "height", 0, 1, 1 << 16,
                                   &pre->height)) ||
            (s = pali_json_get_int(&sr, size, "width", 0, 1, 1 << 16,
                                   &pre->width)))
            return s;
    }
    double rescale = 0;
    if ((s = pali_json_get_int(&r, ip, "resample", SIGLIP_RESAMPLE_BICUBIC, 0,
                               PIL_RESAMPLE_MAX, &pre->resample)) ||
        (s = get_flag(&r, ip, "do_resize", &pre->do_resize)) ||
        (s = get_flag(&r, ip, "do_rescale", &pre->do_rescale)) ||
        (s = get_flag(&r, ip, "do_normalize", &pre->do_normalize)) ||
        (s = get_flag(&r, ip, "do_convert_rgb", &pre->do_convert_rgb)) ||
        (s = pali_json_get_positive(&r, ip, "rescale_factor", SIGLIP_RESCALE,
                                    1e6, false, &rescale)) ||
        (s = get_channels(&r, ip, "image_mean", false, pre->mean)) ||
        (s = get_channels(&r, ip, "image_std", true, pre->std)))
        return s;
    pre->rescale_factor = rescale;
    const pali_model_info *in = &cfg->info;
    if (pre->width != in->image_size || pre->height != in->image_size)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: %ssize is %d×%d, but the vision tower takes "
                         "%d×%d (vision_config.image_size)",
                         path, prefix, pre->width, pre->height, in->image_size,
                         in->image_size);
    int seq = 0;
    if ((s = pali_json_get_int(&r, ip, "image_seq_length", in->n_image_tokens,
                               1, INT32_MAX, &seq)))
        return s;
    if (seq != in->n_image_tokens)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: %simage_seq_length is %d, but the model has %d "
                         "image tokens",
                         path, prefix, seq, in->n_image_tokens);
    return PALI_OK;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

pali_status pali_config_load_processor(const char *dir, pali_config *cfg,
                                       pali_error *err)
{
    char *nested = pali_path_join(dir, PALI_PROCESSOR_CONFIG_NAME);
    char *flat = pali_path_join(dir, PALI_PREPROCESSOR_CONFIG_NAME);
    pali_status s = PALI_OK;
    pali_json_doc *doc = NULL;
    bool done = false;
    if (nested == NULL || flat == NULL)
        s = pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    if (s == PALI_OK && file_exists(nested)) {
        s = pali_json_parse_file(nested, SMALL_CONFIG_MAX_BYTES, &doc, err);
        const pali_json *ip =
            s == PALI_OK ? pali_json_get(pali_json_root(doc), "image_processor")
                         : NULL;
        if (ip != NULL) {
            s = pali_config_parse_processor(ip, nested, "image_processor.", cfg,
                                            err);
            done = true;
        }
        pali_json_free(doc);
        doc = NULL;
    }
    if (s == PALI_OK && !done) {
        if (!file_exists(flat)) {
            s = pali_fail(err, PALI_ERR_NOT_FOUND,
                          "%s: no image processor config: neither %s (with "
                          "\"image_processor\") nor %s is there",
                          dir, PALI_PROCESSOR_CONFIG_NAME,
                          PALI_PREPROCESSOR_CONFIG_NAME);
        } else if ((s = pali_json_parse_file(flat, SMALL_CONFIG_MAX_BYTES, &doc,
                                             err)) == PALI_OK) {
            s = pali_config_parse_processor(pali_json_root(doc), flat, "", cfg,
                                            err);
        }
    }
    pali_json_free(doc);
    free(nested);
    free(flat);
    return s;
}

pali_status pali_config_parse_generation(const pali_json *root,
                                         const char *path, pali_config *cfg,
                                         pali_error *err)
{
    if (!pali_json_is(root, PALI_JSON_OBJECT))
        return pali_json_type_error(root, path, "(top level)", "an object",
                                    err);
    pali_model_info *in = &cfg->info;
    struct {
        const char *key;
        int32_t *id;
        bool nullable;
    } single[] = {
        { "bos_token_id", &in->bos_id, false },
        { "pad_token_id", &in->pad_id, true },
    };
    for (size_t i = 0; i < PALI_ARRAY_LEN(single); i++) {
        const pali_json *v = pali_json_get(root, single[i].key);
        if (v == NULL)
            continue;
        if (v->type == PALI_JSON_NULL && single[i].nullable) {
            *single[i].id = -1;
            continue;
        }
        int64_t x = 0;
        pali_status s = pali_json_read_int(v, path, single[i].key, 0,
                                           in->vocab_rows - 1, &x, err);
        if (s != PALI_OK)
            return s;
        *single[i].id = (int32_t)x;
    }
    /* eos: one id or a list; null leaves the model config's */
    const pali_json *eos = pali_json_get(root, "eos_token_id");
    if (eos == NULL || eos->type == PALI_JSON_NULL)
        return PALI_OK;
    const pali_json *items = eos;
    uint32_t n = 1;
    if (eos->type == PALI_JSON_ARRAY) {
        if (eos->len == 0 || eos->len > PALI_MAX_EOS_IDS)
            return pali_json_type_error(eos, path, "eos_token_id",
                                        "a token id or a list of 1 to 8 ids",
                                        err);
        items = eos->u.items;
        n = eos->len;
    }
    for (uint32_t i = 0; i < n; i++) {
        int64_t x = 0;
        pali_status s = pali_json_read_int(&items[i], path, "eos_token_id", 0,
                                           in->vocab_rows - 1, &x, err);
        if (s != PALI_OK)
            return s;
        cfg->eos_ids[i] = (int32_t)x;
    }
    cfg->n_eos = (int)n;
    in->eos_id = cfg->eos_ids[0];
    return PALI_OK;
}

pali_status pali_config_load_generation(const char *dir, pali_config *cfg,
                                        pali_error *err)
{
    char *path = pali_path_join(dir, PALI_GENERATION_CONFIG_NAME);
    if (path == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    pali_status s = PALI_OK;
    if (file_exists(path)) {
        pali_json_doc *doc = NULL;
        s = pali_json_parse_file(path, SMALL_CONFIG_MAX_BYTES, &doc, err);
        if (s == PALI_OK)
            s = pali_config_parse_generation(pali_json_root(doc), path, cfg,
                                             err);
        pali_json_free(doc);
    }
    free(path);
    return s;
}
