/* palilens-make-model — writes a random PaliGemma 2 model directory in the
 * real checkpoint layout, for tests and benchmarks:
 *
 *   palilens-make-model PRESET OUTDIR [--seed N] [--dtype bf16|f32]
 *                       [--layout hub|transformers] [dimension options]
 *
 * PRESET: tiny (the golden tiny models' dimensions, a small tokenizer),
 * 3b-224 … 28b-896 (the released sizes, REAL_CONFIGS.md), or custom (tiny's
 * dimensions, changed by the dimension options, which apply to any preset).
 *
 * The directory holds what the hub ships (layout hub: transformers
 * 4.47-era config.json with class defaults left out, preprocessor_config.json,
 * shards of at most 5 GB, the conversion script's save_pretrained default)
 * or what transformers 5's save_pretrained writes (layout transformers:
 * every key spelled out, processor_config.json, 50 GB shards), plus
 * generation_config.json, tokenizer.json, tokenizer_config.json and
 * special_tokens_map.json shaped like golden/tiny-224-hubnames and
 * golden/tiny-224.  Weights: make-model-weights.c; tokenizer:
 * make-model-tokenizer.c.  The output loads in transformers unchanged. */
#include <glib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "make-model.h"

/* Shard limits: huggingface_hub's "5GB" (transformers 4.47's default, used
 * for the hub checkpoints) and transformers 5's "50GB". */
#define HUB_SHARD_BYTES          5000000000ull
#define TRANSFORMERS_SHARD_BYTES 50000000000ull
/* Gemma2Config defaults the hub configs leave out. */
#define DEFAULT_HEAD_DIM      256
#define DEFAULT_WINDOW        4096
#define DEFAULT_ATTN_SOFTCAP  50.0
#define DEFAULT_FINAL_SOFTCAP 30.0
#define SIGLIP_RESCALE_TEXT   "0.00392156862745098" /* 1/255 as Python prints */

typedef struct {
    const char *name;
    int image_size;
    int vision_hidden, vision_intermediate, vision_layers, vision_heads;
    int text_hidden, text_intermediate, text_layers;
    int n_heads, n_kv_heads, head_dim, qpas;
    int text_vocab;
    int num_positions; /* the hub configs' vestigial vision num_positions */
} Preset;

/* The golden tiny models (golden/README.md) and the released sizes
 * (REAL_CONFIGS.md; num_positions keyed by LLM size as the conversion
 * script wrote it). */
static const Preset presets[] = {
    { "tiny", 224, 64, 128, 2, 4, 64, 128, 4, 4, 2, 16, 16, 2048, 0 },
    { "3b-224", 224, 1152, 4304, 27, 16, 2304, 9216, 26, 8, 4, 256, 256, 256000,
      256 },
    { "3b-448", 448, 1152, 4304, 27, 16, 2304, 9216, 26, 8, 4, 256, 256, 256000,
      256 },
    { "3b-896", 896, 1152, 4304, 27, 16, 2304, 9216, 26, 8, 4, 256, 256, 256000,
      256 },
    { "10b-224", 224, 1152, 4304, 27, 16, 3584, 14336, 42, 16, 8, 256, 256,
      256000, 1024 },
    { "10b-448", 448, 1152, 4304, 27, 16, 3584, 14336, 42, 16, 8, 256, 256,
      256000, 1024 },
    { "10b-896", 896, 1152, 4304, 27, 16, 3584, 14336, 42, 16, 8, 256, 256,
      256000, 1024 },
    { "28b-224", 224, 1152, 4304, 27, 16, 4608, 36864, 46, 32, 16, 128, 144,
      256000, 4096 },
    { "28b-448", 448, 1152, 4304, 27, 16, 4608, 36864, 46, 32, 16, 128, 144,
      256000, 4096 },
    { "28b-896", 896, 1152, 4304, 27, 16, 4608, 36864, 46, 32, 16, 128, 144,
      256000, 4096 },
    { "custom", 224, 64, 128, 2, 4, 64, 128, 4, 4, 2, 16, 16, 2048, 0 },
};

/* Option values; -1 (or NaN for softcaps) = keep the preset's. */
typedef struct {
    gint64 seed;
    char *dtype, *layout;
    gint64 shard_size;
    int image_size, patch_size;
    int vision_hidden, vision_intermediate, vision_layers, vision_heads;
    int text_hidden, text_intermediate, text_layers;
    int heads, kv_heads, head_dim, qpas, window, text_vocab;
    double attn_softcap, final_softcap;
    gboolean quiet;
} Options;

static int usage(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static int usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "palilens-make-model: %s\nTry 'palilens-make-model "
            "--help'.\n",
            msg);
    return 2;
}

static void apply(int *field, int value)
{
    if (value >= 0)
        *field = value;
}

/* ---- JSON files --------------------------------------------------------- */

static const char *torch_dtype(const MakeSpec *s)
{
    return s->bf16 ? "bfloat16" : "float32";
}

/* Python's repr of a float as json.dumps writes it (the values used). */
static char *py_float(double x)
{
    if (x == 0)
        return g_strdup("0.0");
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof(buf), "%.17g", x);
    if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL)
        return g_strdup_printf("%s.0", buf);
    g_ascii_formatd(buf, sizeof(buf), "%g", x);
    return g_strdup(buf);
}

static char *softcap_json(double cap)
{
    return cap > 0 ? py_float(cap) : g_strdup("null");
}

static gboolean put_file(const char *dir, const char *file, GString *text,
                         GError **error)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    gboolean ok =
        g_file_set_contents(path, text->str, (gssize)text->len, error);
    g_string_free(text, TRUE);
    return ok;
}

static GString *config_transformers(const MakeSpec *s)
{
    g_autofree char *attn = softcap_json(s->attn_softcap);
    g_autofree char *fin = softcap_json(s->final_softcap);
    GString *j = g_string_new(NULL);
    g_string_append_printf(
        j,
        "{\n  \"architectures\": [\n    \"PaliGemmaForConditionalGeneration\""
        "\n  ],\n  \"bos_token_id\": 2,\n  \"dtype\": \"%s\",\n"
        "  \"eos_token_id\": 1,\n  \"hidden_size\": 2048,\n"
        "  \"image_token_index\": %d,\n  \"model_type\": \"paligemma\",\n"
        "  \"pad_token_id\": 0,\n  \"projection_dim\": %d,\n"
        "  \"text_config\": {\n    \"attention_bias\": false,\n"
        "    \"attention_dropout\": 0.0,\n"
        "    \"attn_logit_softcapping\": %s,\n    \"bos_token_id\": 2,\n"
        "    \"eos_token_id\": 1,\n    \"final_logit_softcapping\": %s,\n"
        "    \"head_dim\": %d,\n"
        "    \"hidden_activation\": \"gelu_pytorch_tanh\",\n"
        "    \"hidden_size\": %d,\n    \"initializer_range\": 0.02,\n"
        "    \"intermediate_size\": %d,\n    \"layer_types\": [\n",
        torch_dtype(s), make_image_token_id(s), s->text_hidden, attn, fin,
        s->head_dim, s->text_hidden, s->text_intermediate);
    for (int i = 0; i < s->text_layers; i++)
        g_string_append_printf(j, "      \"%s\"%s\n",
                               (i + 1) % 2 ? "sliding_attention"
                                           : "full_attention",
                               i + 1 < s->text_layers ? "," : "");
    g_string_append_printf(
        j,
        "    ],\n    \"max_position_embeddings\": 8192,\n"
        "    \"model_type\": \"gemma2\",\n"
        "    \"num_attention_heads\": %d,\n    \"num_hidden_layers\": %d,\n"
        "    \"num_image_tokens\": %d,\n    \"num_key_value_heads\": %d,\n"
        "    \"pad_token_id\": 0,\n    \"query_pre_attn_scalar\": %d,\n"
        "    \"rms_norm_eps\": 1e-06,\n    \"rope_parameters\": {\n"
        "      \"rope_theta\": 10000.0,\n      \"rope_type\": \"default\"\n"
        "    },\n    \"sliding_window\": %d,\n"
        "    \"tie_word_embeddings\": true,\n"
        "    \"use_bidirectional_attention\": true,\n"
        "    \"use_cache\": true,\n    \"vocab_size\": %d\n  },\n"
        "  \"tie_word_embeddings\": true,\n"
        "  \"transformers_version\": \"5.12.1\",\n"
        "  \"vision_config\": {\n    \"attention_dropout\": 0.0,\n"
        "    \"hidden_act\": \"gelu_pytorch_tanh\",\n"
        "    \"hidden_size\": %d,\n    \"image_size\": %d,\n"
        "    \"intermediate_size\": %d,\n    \"layer_norm_eps\": 1e-06,\n"
        "    \"model_type\": \"siglip_vision_model\",\n"
        "    \"num_attention_heads\": %d,\n    \"num_channels\": 3,\n"
        "    \"num_hidden_layers\": %d,\n    \"patch_size\": %d,\n"
        "    \"projection_dim\": %d,\n    \"vision_use_head\": false\n  },\n"
        "  \"vocab_size\": 257152\n}\n",
        s->n_heads, s->text_layers, make_image_tokens(s), s->n_kv_heads,
        s->qpas, s->sliding_window, make_vocab_rows(s), s->vision_hidden,
        s->image_size, s->vision_intermediate, s->vision_heads,
        s->vision_layers, s->patch_size, s->text_hidden);
    return j;
}

/* transformers 4.47's to_diff_dict: keys equal to the class defaults are
 * left out (golden/tiny-224-hubnames, REAL_CONFIGS.md). */
static GString *config_hub(const MakeSpec *s, int num_positions)
{
    GString *j = g_string_new(NULL);
    g_string_append_printf(
        j,
        "{\n  \"_vocab_size\": %d,\n  \"architectures\": [\n"
        "    \"PaliGemmaForConditionalGeneration\"\n  ],\n"
        "  \"bos_token_id\": 2,\n  \"eos_token_id\": 1,\n"
        "  \"hidden_size\": 2048,\n  \"image_token_index\": %d,\n"
        "  \"model_type\": \"paligemma\",\n  \"num_hidden_layers\": %d,\n"
        "  \"pad_token_id\": 0,\n  \"projection_dim\": %d,\n"
        "  \"text_config\": {\n",
        make_image_token_id(s), make_image_token_id(s), s->text_layers,
        s->text_hidden);
    if (s->attn_softcap != DEFAULT_ATTN_SOFTCAP) {
        g_autofree char *v = softcap_json(s->attn_softcap);
        g_string_append_printf(j, "    \"attn_logit_softcapping\": %s,\n", v);
    }
    if (s->final_softcap != DEFAULT_FINAL_SOFTCAP) {
        g_autofree char *v = softcap_json(s->final_softcap);
        g_string_append_printf(j, "    \"final_logit_softcapping\": %s,\n", v);
    }
    if (s->head_dim != DEFAULT_HEAD_DIM)
        g_string_append_printf(j, "    \"head_dim\": %d,\n", s->head_dim);
    g_string_append_printf(
        j,
        "    \"hidden_activation\": \"gelu_pytorch_tanh\",\n"
        "    \"hidden_size\": %d,\n    \"intermediate_size\": %d,\n"
        "    \"model_type\": \"gemma2\",\n    \"num_attention_heads\": %d,\n"
        "    \"num_hidden_layers\": %d,\n    \"num_image_tokens\": %d,\n"
        "    \"num_key_value_heads\": %d,\n"
        "    \"query_pre_attn_scalar\": %d,\n",
        s->text_hidden, s->text_intermediate, s->n_heads, s->text_layers,
        make_image_tokens(s), s->n_kv_heads, s->qpas);
    if (s->sliding_window != DEFAULT_WINDOW)
        g_string_append_printf(j, "    \"sliding_window\": %d,\n",
                               s->sliding_window);
    g_string_append_printf(
        j,
        "    \"torch_dtype\": \"%s\",\n    \"vocab_size\": %d\n  },\n"
        "  \"torch_dtype\": \"%s\",\n"
        "  \"transformers_version\": \"4.47.0.dev0\",\n"
        "  \"vision_config\": {\n    \"hidden_size\": %d,\n"
        "    \"image_size\": %d,\n    \"intermediate_size\": %d,\n"
        "    \"model_type\": \"siglip_vision_model\",\n"
        "    \"num_attention_heads\": %d,\n    \"num_hidden_layers\": %d,\n"
        "    \"num_image_tokens\": %d,\n    \"num_positions\": %d,\n"
        "    \"patch_size\": %d,\n    \"projection_dim\": %d,\n"
        "    \"torch_dtype\": \"%s\",\n    \"vision_use_head\": false\n"
        "  }\n}\n",
        torch_dtype(s), make_vocab_rows(s), torch_dtype(s), s->vision_hidden,
        s->image_size, s->vision_intermediate, s->vision_heads,
        s->vision_layers, make_image_tokens(s),
        num_positions > 0 ? num_positions : make_image_tokens(s), s->patch_size,
        s->text_hidden, torch_dtype(s));
    return j;
}

/* SiglipImageProcessor's fields, indented by `pad` */
static void image_processor_fields(GString *j, const MakeSpec *s,
                                   const char *pad, bool hub)
{
    g_string_append_printf(
        j,
        "%s\"do_convert_rgb\": %s,\n%s\"do_normalize\": true,\n"
        "%s\"do_rescale\": true,\n%s\"do_resize\": true,\n"
        "%s\"image_mean\": [\n%s  0.5,\n%s  0.5,\n%s  0.5\n%s],\n"
        "%s\"image_processor_type\": \"SiglipImageProcessor\",\n"
        "%s\"image_seq_length\": %d,\n"
        "%s\"image_std\": [\n%s  0.5,\n%s  0.5,\n%s  0.5\n%s],\n",
        pad, hub ? "null" : "true", pad, pad, pad, pad, pad, pad, pad, pad, pad,
        pad, make_image_tokens(s), pad, pad, pad, pad, pad);
    if (hub)
        g_string_append_printf(j,
                               "%s\"processor_class\": "
                               "\"PaliGemmaProcessor\",\n",
                               pad);
    g_string_append_printf(j,
                           "%s\"resample\": 3,\n"
                           "%s\"rescale_factor\": " SIGLIP_RESCALE_TEXT ",\n"
                           "%s\"size\": {\n%s  \"height\": %d,\n"
                           "%s  \"width\": %d\n%s}\n",
                           pad, pad, pad, pad, s->image_size, pad,
                           s->image_size, pad);
}

static gboolean write_processor(const MakeSpec *s, const char *dir,
                                GError **error)
{
    GString *j = g_string_new("{\n");
    if (s->hub_layout) {
        image_processor_fields(j, s, "  ", true);
        g_string_append(j, "}\n");
        return put_file(dir, "preprocessor_config.json", j, error);
    }
    g_string_append(j, "  \"image_processor\": {\n");
    image_processor_fields(j, s, "    ", false);
    g_string_append(j, "  },\n  \"processor_class\": \"PaliGemmaProcessor\""
                       "\n}\n");
    return put_file(dir, "processor_config.json", j, error);
}

static gboolean write_generation(const MakeSpec *s, const char *dir,
                                 GError **error)
{
    GString *j = g_string_new(NULL);
    if (s->hub_layout)
        g_string_append(j, "{\n  \"bos_token_id\": 2,\n  \"eos_token_id\": 1,"
                           "\n  \"pad_token_id\": 0,\n"
                           "  \"transformers_version\": \"4.47.0.dev0\"\n}\n");
    else
        g_string_append(j, "{\n  \"_from_model_config\": true,\n"
                           "  \"bos_token_id\": 2,\n  \"eos_token_id\": 1,\n"
                           "  \"output_attentions\": false,\n"
                           "  \"output_hidden_states\": false,\n"
                           "  \"pad_token_id\": 0,\n"
                           "  \"transformers_version\": \"5.12.1\",\n"
                           "  \"use_cache\": true\n}\n");
    return put_file(dir, "generation_config.json", j, error);
}

static void token_entry(GString *j, const char *indent, const char *content,
                        bool last)
{
    g_string_append_printf(
        j,
        "%s{\n%s  \"content\": \"%s\",\n%s  \"lstrip\": false,\n"
        "%s  \"normalized\": false,\n%s  \"rstrip\": false,\n"
        "%s  \"single_word\": false\n%s}%s\n",
        indent, indent, content, indent, indent, indent, indent, indent,
        last ? "" : ",");
}

static gboolean write_tokenizer_configs(const MakeSpec *s, const char *dir,
                                        GError **error)
{
    static const char *const names[] = { "<pad>", "<eos>", "<bos>", "<unk>",
                                         "<mask>" };
    GString *j = g_string_new(NULL);
    if (s->hub_layout) {
        g_string_append(j, "{\n  \"add_bos_token\": true,\n"
                           "  \"add_eos_token\": false,\n"
                           "  \"added_tokens_decoder\": {\n");
        for (int id = 0; id <= MAKE_SPECIAL_TOKENS; id++) {
            bool image = id == MAKE_SPECIAL_TOKENS;
            g_string_append_printf(
                j,
                "    \"%d\": {\n      \"content\": \"%s\",\n"
                "      \"lstrip\": false,\n      \"normalized\": false,\n"
                "      \"rstrip\": false,\n      \"single_word\": false,\n"
                "      \"special\": true\n    }%s\n",
                image ? make_image_token_id(s) : id,
                image ? "<image>" : names[id], image ? "" : ",");
        }
        g_string_append(
            j, "  },\n  \"additional_special_tokens\": [\n    \"<image>\"\n"
               "  ],\n  \"bos_token\": \"<bos>\",\n"
               "  \"clean_up_tokenization_spaces\": false,\n"
               "  \"eos_token\": \"<eos>\",\n  \"mask_token\": \"<mask>\",\n"
               "  \"model_max_length\": 1000000000000000019884624838656,\n"
               "  \"pad_token\": \"<pad>\",\n"
               "  \"processor_class\": \"PaliGemmaProcessor\",\n"
               "  \"sp_model_kwargs\": {},\n"
               "  \"spaces_between_special_tokens\": false,\n"
               "  \"tokenizer_class\": \"GemmaTokenizer\",\n"
               "  \"unk_token\": \"<unk>\",\n"
               "  \"use_default_system_prompt\": false\n}\n");
    } else {
        g_string_append(
            j, "{\n  \"backend\": \"tokenizers\",\n"
               "  \"bos_token\": \"<bos>\",\n  \"eos_token\": \"<eos>\",\n"
               "  \"extra_special_tokens\": [\n    \"<image>\"\n  ],\n"
               "  \"mask_token\": \"<mask>\",\n"
               "  \"model_max_length\": 1000000000000000019884624838656,\n"
               "  \"pad_token\": \"<pad>\",\n"
               "  \"processor_class\": \"PaliGemmaProcessor\",\n"
               "  \"tokenizer_class\": \"GemmaTokenizer\",\n"
               "  \"unk_token\": \"<unk>\"\n}\n");
    }
    if (!put_file(dir, "tokenizer_config.json", j, error))
        return FALSE;
    /* special_tokens_map.json: the same in both layouts */
    static const char *const roles[] = { "pad_token", "eos_token", "bos_token",
                                         "unk_token", "mask_token" };
    static const int order[] = { 2, 1, 0, 3, 4 }; /* bos eos pad unk mask */
    j = g_string_new("{\n  \"additional_special_tokens\": [\n");
    token_entry(j, "    ", "<image>", true);
    g_string_append(j, "  ],\n");
    for (int k = 0; k < 5; k++) {
        int i = order[k];
        g_string_append_printf(
            j,
            "  \"%s\": {\n    \"content\": \"%s\",\n    \"lstrip\": false,\n"
            "    \"normalized\": false,\n    \"rstrip\": false,\n"
            "    \"single_word\": false\n  }%s\n",
            roles[i], names[i], k + 1 < 5 ? "," : "");
    }
    g_string_append(j, "}\n");
    return put_file(dir, "special_tokens_map.json", j, error);
}

/* ---- main --------------------------------------------------------------- */

/* Earlier runs' weights would mix with the new ones. */
static void remove_old_weights(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d == NULL)
        return;
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (g_str_has_prefix(name, "model") &&
            (g_str_has_suffix(name, ".safetensors") ||
             strcmp(name, "model.safetensors.index.json") == 0)) {
            g_autofree char *p = g_build_filename(dir, name, NULL);
            g_unlink(p);
        }
    }
    g_dir_close(d);
}

static const char *check_spec(const MakeSpec *s)
{
    static char msg[160];
    if (s->image_size % s->patch_size != 0)
        return "--image-size must be a multiple of --patch-size";
    if (s->vision_hidden % s->vision_heads != 0)
        return "--vision-hidden must be a multiple of --vision-heads";
    if (s->text_hidden % s->n_heads != 0)
        return "--text-hidden must be a multiple of --heads";
    if (s->n_heads % s->n_kv_heads != 0)
        return "--heads must be a multiple of --kv-heads";
    if (s->text_vocab < MAKE_FIRST_PIECE + 128) {
        g_snprintf(msg, sizeof(msg), "--text-vocab must be at least %d",
                   MAKE_FIRST_PIECE + 128);
        return msg;
    }
    if (make_image_tokens(s) + 2 > 8192)
        return "too many image tokens for 8192 positions";
    return NULL;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    Options o = { .seed = 0, .shard_size = 0 };
    int *ints[] = { &o.image_size,    &o.patch_size,
                    &o.vision_hidden, &o.vision_intermediate,
                    &o.vision_layers, &o.vision_heads,
                    &o.text_hidden,   &o.text_intermediate,
                    &o.text_layers,   &o.heads,
                    &o.kv_heads,      &o.head_dim,
                    &o.qpas,          &o.window,
                    &o.text_vocab };
    for (size_t i = 0; i < G_N_ELEMENTS(ints); i++)
        *ints[i] = -1;
    o.attn_softcap = o.final_softcap = -1;
    GOptionEntry entries[] = {
        { "seed", 0, 0, G_OPTION_ARG_INT64, &o.seed, "Random seed (default 0)",
          "N" },
        { "dtype", 0, 0, G_OPTION_ARG_STRING, &o.dtype,
          "Stored weights: bf16 (default, as the hub) or f32", "TYPE" },
        { "layout", 0, 0, G_OPTION_ARG_STRING, &o.layout,
          "hub (default) or transformers (transformers 5's save_pretrained)",
          "LAYOUT" },
        { "shard-size", 0, 0, G_OPTION_ARG_INT64, &o.shard_size,
          "Largest shard in bytes (default: 5e9 hub, 5e10 transformers)",
          "BYTES" },
        { "image-size", 0, 0, G_OPTION_ARG_INT, &o.image_size,
          "Image side S in pixels", "S" },
        { "patch-size", 0, 0, G_OPTION_ARG_INT, &o.patch_size,
          "Patch side P (default 14)", "P" },
        { "vision-hidden", 0, 0, G_OPTION_ARG_INT, &o.vision_hidden,
          "SigLIP width Dv", "N" },
        { "vision-intermediate", 0, 0, G_OPTION_ARG_INT, &o.vision_intermediate,
          "SigLIP MLP width", "N" },
        { "vision-layers", 0, 0, G_OPTION_ARG_INT, &o.vision_layers,
          "SigLIP layers", "N" },
        { "vision-heads", 0, 0, G_OPTION_ARG_INT, &o.vision_heads,
          "SigLIP attention heads", "N" },
        { "text-hidden", 0, 0, G_OPTION_ARG_INT, &o.text_hidden,
          "Gemma 2 width Dt", "N" },
        { "text-intermediate", 0, 0, G_OPTION_ARG_INT, &o.text_intermediate,
          "Gemma 2 MLP width", "N" },
        { "text-layers", 0, 0, G_OPTION_ARG_INT, &o.text_layers,
          "Gemma 2 layers", "N" },
        { "heads", 0, 0, G_OPTION_ARG_INT, &o.heads, "Query heads", "N" },
        { "kv-heads", 0, 0, G_OPTION_ARG_INT, &o.kv_heads, "Key/value heads",
          "N" },
        { "head-dim", 0, 0, G_OPTION_ARG_INT, &o.head_dim, "Head dimension",
          "N" },
        { "query-pre-attn-scalar", 0, 0, G_OPTION_ARG_INT, &o.qpas,
          "Attention scale is this^-0.5", "N" },
        { "sliding-window", 0, 0, G_OPTION_ARG_INT, &o.window,
          "Sliding-window length (default 4096)", "N" },
        { "attn-softcap", 0, 0, G_OPTION_ARG_DOUBLE, &o.attn_softcap,
          "Attention logit soft-cap (default 50; 0: null)", "X" },
        { "final-softcap", 0, 0, G_OPTION_ARG_DOUBLE, &o.final_softcap,
          "Final logit soft-cap (default 30; 0: null)", "X" },
        { "text-vocab", 0, 0, G_OPTION_ARG_INT, &o.text_vocab,
          "Text ids before <loc0000> (256000 real, 2048 tiny)", "N" },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "No progress on stderr",
          NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(
        "PRESET OUTDIR - write a random PaliGemma 2 model");
    g_autoptr(GString) desc = g_string_new("Presets:");
    for (size_t i = 0; i < G_N_ELEMENTS(presets); i++)
        g_string_append_printf(desc, " %s", presets[i].name);
    g_string_append(desc, ".\n'custom' starts from tiny's dimensions; the "
                          "dimension options change any preset.");
    g_option_context_set_description(ctx, desc->str);
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error))
        return usage("%s", error->message);
    g_autofree char *dtype_option = o.dtype;
    g_autofree char *layout_option = o.layout;
    if (argc != 3)
        return usage("%s", "expected PRESET and OUTDIR");
    const Preset *p = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(presets); i++)
        if (strcmp(argv[1], presets[i].name) == 0)
            p = &presets[i];
    if (p == NULL)
        return usage("unknown preset '%s'", argv[1]);

    MakeSpec s = {
        .preset = p->name,
        .image_size = p->image_size,
        .patch_size = 14,
        .vision_hidden = p->vision_hidden,
        .vision_intermediate = p->vision_intermediate,
        .vision_layers = p->vision_layers,
        .vision_heads = p->vision_heads,
        .text_hidden = p->text_hidden,
        .text_intermediate = p->text_intermediate,
        .text_layers = p->text_layers,
        .n_heads = p->n_heads,
        .n_kv_heads = p->n_kv_heads,
        .head_dim = p->head_dim,
        .qpas = p->qpas,
        .attn_softcap = DEFAULT_ATTN_SOFTCAP,
        .final_softcap = DEFAULT_FINAL_SOFTCAP,
        .sliding_window = DEFAULT_WINDOW,
        .text_vocab = p->text_vocab,
        .seed = (uint64_t)o.seed,
        .bf16 = true,
        .hub_layout = true,
    };
    if (o.dtype != NULL) {
        if (strcmp(o.dtype, "f32") != 0 && strcmp(o.dtype, "bf16") != 0)
            return usage("--dtype must be bf16 or f32, not '%s'", o.dtype);
        s.bf16 = strcmp(o.dtype, "bf16") == 0;
    }
    if (o.layout != NULL) {
        if (strcmp(o.layout, "hub") != 0 &&
            strcmp(o.layout, "transformers") != 0)
            return usage("--layout must be hub or transformers, not '%s'",
                         o.layout);
        s.hub_layout = strcmp(o.layout, "hub") == 0;
    }
    int *fields[] = { &s.image_size,    &s.patch_size,
                      &s.vision_hidden, &s.vision_intermediate,
                      &s.vision_layers, &s.vision_heads,
                      &s.text_hidden,   &s.text_intermediate,
                      &s.text_layers,   &s.n_heads,
                      &s.n_kv_heads,    &s.head_dim,
                      &s.qpas,          &s.sliding_window,
                      &s.text_vocab };
    for (size_t i = 0; i < G_N_ELEMENTS(ints); i++) {
        if (*ints[i] == 0 || *ints[i] < -1)
            return usage("%s", "dimension options must be positive");
        apply(fields[i], *ints[i]);
    }
    if (o.attn_softcap >= 0)
        s.attn_softcap = o.attn_softcap;
    if (o.final_softcap >= 0)
        s.final_softcap = o.final_softcap;
    if (o.shard_size < 0)
        return usage("%s", "--shard-size must be positive");
    s.shard_bytes = o.shard_size > 0 ? (uint64_t)o.shard_size
                    : s.hub_layout   ? HUB_SHARD_BYTES
                                     : TRANSFORMERS_SHARD_BYTES;
    const char *bad = check_spec(&s);
    if (bad != NULL)
        return usage("%s", bad);

    const char *dir = argv[2];
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        fprintf(stderr, "palilens-make-model: %s: cannot create: %s\n", dir,
                g_strerror(errno));
        return 1;
    }
    remove_old_weights(dir);
    bool verbose = !o.quiet;
    GString *config = s.hub_layout ? config_hub(&s, p->num_positions)
                                   : config_transformers(&s);
    if (!put_file(dir, "config.json", config, &error) ||
        !write_processor(&s, dir, &error) ||
        !write_generation(&s, dir, &error) ||
        !write_tokenizer_configs(&s, dir, &error) ||
        !make_model_write_tokenizer(&s, dir, &error) ||
        !make_model_write_weights(&s, dir, verbose, &error)) {
        fprintf(stderr, "palilens-make-model: %s\n", error->message);
        return 1;
    }
    if (verbose)
        g_printerr("wrote %s: %s, %s, %s layout, seed %" G_GINT64_FORMAT "\n",
                   dir, s.preset, s.bf16 ? "bf16" : "f32",
                   s.hub_layout ? "hub" : "transformers", o.seed);
    return 0;
}
