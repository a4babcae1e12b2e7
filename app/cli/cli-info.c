/* cli-info.c — palilens-cli --model DIR --info [--json]: loads the model
 * (headers only; weights stay mapped, untouched) and describes it: variant,
 * the configuration values that shape the computation, stored dtype,
 * tensor count and size.  With --json, one object whose keys are the
 * pali_model_info field names ("variant", "n_tensors", "image_size",
 * "text_hidden", …); soft-caps that are not applied are null. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "lens-json.h"

/* A float config value as the shortest decimal that reads back as the
 * same float (1e-06, not 9.9999999747524271e-07). */
static double shortest(float value)
{
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        g_snprintf(buf, sizeof(buf), "%.*g", prec, (double)value);
        if (strtof(buf, NULL) == value)
            break;
    }
    return g_ascii_strtod(buf, NULL);
}

static char *format_float(float value)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof(buf), "%.9g", shortest(value));
    return g_strdup(buf);
}

static char *format_softcap(float cap)
{
    if (cap <= 0)
        return g_strdup("not applied");
    return format_float(cap);
}

static void print_json(const pali_model_info *in)
{
    g_autoptr(LensJson) j = lens_json_new(TRUE);
    lens_json_begin_object(j);
    lens_json_key(j, "variant");
    lens_json_string(j, in->variant);
    lens_json_key(j, "dir");
    lens_json_string(j, in->dir);
    lens_json_key(j, "dtype");
    lens_json_string(j, in->dtype);
    lens_json_key(j, "n_tensors");
    lens_json_int(j, in->n_tensors);
    lens_json_key(j, "weight_bytes");
    lens_json_int(j, (gint64)in->weight_bytes);
    const struct {
        const char *key;
        int value;
    } ints[] = {
        { "image_size", in->image_size },
        { "patch_size", in->patch_size },
        { "n_image_tokens", in->n_image_tokens },
        { "vision_hidden", in->vision_hidden },
        { "vision_intermediate", in->vision_intermediate },
        { "vision_layers", in->vision_layers },
        { "vision_heads", in->vision_heads },
        { "text_hidden", in->text_hidden },
        { "text_intermediate", in->text_intermediate },
        { "text_layers", in->text_layers },
        { "n_heads", in->n_heads },
        { "n_kv_heads", in->n_kv_heads },
        { "head_dim", in->head_dim },
        { "vocab_rows", in->vocab_rows },
        { "sliding_window", in->sliding_window },
        { "max_positions", in->max_positions },
        { "image_token_id", in->image_token_id },
        { "bos_id", in->bos_id },
        { "eos_id", in->eos_id },
        { "pad_id", in->pad_id },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ints); i++) {
        lens_json_key(j, ints[i].key);
        lens_json_int(j, ints[i].value);
    }
    /* 0 until a tokenizer is attached to the model */
    lens_json_key(j, "tokenizer_size");
    if (in->tokenizer_size > 0)
        lens_json_int(j, in->tokenizer_size);
    else
        lens_json_null(j);
    const struct {
        const char *key;
        float value;
        gboolean zero_is_null;
    } floats[] = {
        { "vision_norm_eps", in->vision_norm_eps, FALSE },
        { "query_pre_attn_scalar", in->query_pre_attn_scalar, FALSE },
        { "attn_softcap", in->attn_softcap, TRUE },
        { "final_softcap", in->final_softcap, TRUE },
        { "rope_theta", in->rope_theta, FALSE },
        { "rms_norm_eps", in->rms_norm_eps, FALSE },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(floats); i++) {
        lens_json_key(j, floats[i].key);
        double v = shortest(floats[i].value);
        if (floats[i].zero_is_null && floats[i].value <= 0)
            lens_json_null(j);
        else if (v == floor(v) && fabs(v) < 1e15) /* 10000, not 1e+04 */
            lens_json_int(j, (gint64)v);
        else
            lens_json_double(j, v);
    }
    lens_json_end_object(j);
    printf("%s\n", lens_json_peek(j));
}

static void print_prose(const pali_model_info *in)
{
    g_autofree char *size =
        g_format_size_full(in->weight_bytes, G_FORMAT_SIZE_LONG_FORMAT);
    g_autofree char *veps = format_float(in->vision_norm_eps);
    g_autofree char *qpas = format_float(in->query_pre_attn_scalar);
    g_autofree char *attn = format_softcap(in->attn_softcap);
    g_autofree char *final = format_softcap(in->final_softcap);
    g_autofree char *theta = format_float(in->rope_theta);
    g_autofree char *eps = format_float(in->rms_norm_eps);
    printf("PaliGemma 2 model %s\n", in->dir);
    printf("  variant         %s\n", in->variant);
    printf("  weights         %s, %d tensors, %s\n", in->dtype, in->n_tensors,
           size);
    printf("  image           %d×%d pixels, %d-pixel patches, %d image "
           "tokens\n",
           in->image_size, in->image_size, in->patch_size, in->n_image_tokens);
    printf("  vision (SigLIP) %d layers, width %d, MLP %d, %d heads, "
           "LayerNorm eps %s\n",
           in->vision_layers, in->vision_hidden, in->vision_intermediate,
           in->vision_heads, veps);
    printf("  text (Gemma 2)  %d layers, width %d, MLP %d, %d heads, %d "
           "key/value heads, head_dim %d\n",
           in->text_layers, in->text_hidden, in->text_intermediate, in->n_heads,
           in->n_kv_heads, in->head_dim);
    printf("  attention       query_pre_attn_scalar %s, soft-cap %s, "
           "sliding window %d\n",
           qpas, attn, in->sliding_window);
    printf("  final logits    soft-cap %s\n", final);
    printf("  positions       up to %d, RoPE theta %s, RMSNorm eps %s\n",
           in->max_positions, theta, eps);
    printf("  vocabulary      %d embedding rows", in->vocab_rows);
    if (in->tokenizer_size > 0)
        printf(", %d tokenizer ids", in->tokenizer_size);
    printf("; <image> %d, <bos> %d, <eos> %d, <pad> %d\n", in->image_token_id,
           in->bos_id, in->eos_id, in->pad_id);
}

int cli_info(const CliOptions *opt)
{
    if (opt->model == NULL)
        return cli_usage("--info needs --model DIR");
    if (opt->image != NULL || opt->prompt != NULL || opt->task != NULL)
        return cli_usage("--info takes only --model and --json");
    pali_model *model = NULL;
    pali_error err = { 0 };
    if (pali_model_load(opt->model, NULL, &model, &err) != PALI_OK)
        return cli_fail_engine(&err);
    const pali_model_info *in = pali_model_get_info(model);
    if (opt->json)
        print_json(in);
    else
        print_prose(in);
    pali_model_free(model);
    return CLI_EXIT_OK;
}
