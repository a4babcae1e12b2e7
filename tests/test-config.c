/* test-config.c — config.json, processor and generation configs: the
 * defaults transformers applies to keys the hub leaves out, variant
 * recognition, and every kind of wrong type, range or architecture, each
 * refused with a message naming the file and the key. */
#include <string.h>

#include "config.h"
#include "st-writer.h"
#include "testutil.h"

/* A tiny model's config; each %s is spliced into the top level, the text
 * config and the vision config.  The JSON reader's lookups take the last of
 * duplicate keys, so an appended key overrides the one before it. */
static const char base_config[] =
    "{\"model_type\": \"paligemma\", \"image_token_index\": 3200,"
    " \"projection_dim\": 64 %s,"
    " \"text_config\": {\"model_type\": \"gemma2\", \"hidden_size\": 64,"
    "  \"intermediate_size\": 128, \"num_hidden_layers\": 4,"
    "  \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
    "  \"head_dim\": 16, \"query_pre_attn_scalar\": 16,"
    "  \"vocab_size\": 3264 %s},"
    " \"vision_config\": {\"model_type\": \"siglip_vision_model\","
    "  \"hidden_size\": 64, \"intermediate_size\": 128,"
    "  \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
    "  \"image_size\": 224, \"patch_size\": 14,"
    "  \"vision_use_head\": false %s}}";

static const char base_processor[] =
    "{\"size\": {\"height\": 224, \"width\": 224}}";

static char *new_dir(void)
{
    static int counter;
    char name[32];
    g_snprintf(name, sizeof(name), "cfg-%d", counter++);
    char *dir = g_build_filename(test_tmpdir(), name, NULL);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    return dir;
}

static void put(const char *dir, const char *file, const char *text)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    test_write_bytes(path, text, strlen(text));
}

/* Writes config.json (+ processor, generation) into a new dir and loads
 * it.  NULL processor: the base one; "" : none. */
static pali_status load(const char *config, const char *processor,
                        const char *generation, pali_config *cfg,
                        pali_error *err, char **dir_out)
{
    char *dir = new_dir();
    put(dir, "config.json", config);
    if (processor == NULL)
        processor = base_processor;
    if (processor[0] != 0)
        put(dir, "preprocessor_config.json", processor);
    if (generation != NULL)
        put(dir, "generation_config.json", generation);
    memset(err, 0, sizeof(*err));
    pali_status s = pali_config_load(dir, cfg, err);
    if (dir_out != NULL)
        *dir_out = dir;
    else
        g_free(dir);
    return s;
}

static char *config_with(const char *top, const char *text, const char *vision)
{
    return g_strdup_printf(base_config, top ? top : "", text ? text : "",
                           vision ? vision : "");
}

/* Expects a failure whose message holds "<dir>/FILE: " and each needle. */
static void expect_error(const char *config, const char *processor,
                         const char *generation, pali_status status,
                         const char *file, const char *needle1,
                         const char *needle2)
{
    pali_config cfg;
    pali_error err;
    char *dir = NULL;
    pali_status s = load(config, processor, generation, &cfg, &err, &dir);
    if (s != status)
        g_error("expected status %d, got %d (%s) for %s", status, s,
                err.message, config);
    g_assert_cmpint(err.status, ==, status);
    g_autofree char *prefix = g_strdup_printf("%s/%s", dir, file);
    const char *needles[] = { prefix, needle1, needle2 };
    for (size_t i = 0; i < G_N_ELEMENTS(needles); i++) {
        if (needles[i] != NULL && strstr(err.message, needles[i]) == NULL)
            g_error("message '%s' lacks '%s'", err.message, needles[i]);
    }
    g_assert_null(cfg.layer_sliding);
    g_free(dir);
}

static void test_base(void)
{
    g_autofree char *text = config_with(NULL, NULL, NULL);
    pali_config cfg;
    pali_error err;
    g_assert_cmpint(load(text, NULL, NULL, &cfg, &err, NULL), ==, PALI_OK);
    const pali_model_info *in = &cfg.info;
    /* the keys the hub leaves out take Gemma2Config's defaults */
    g_assert_cmpfloat(in->attn_softcap, ==, 50.0f);
    g_assert_cmpfloat(in->final_softcap, ==, 30.0f);
    g_assert_cmpint(in->sliding_window, ==, 4096);
    g_assert_cmpfloat(in->rms_norm_eps, ==, 1e-6f);
    g_assert_cmpfloat(in->rope_theta, ==, 10000.0f);
    g_assert_cmpint(in->max_positions, ==, 8192);
    g_assert_cmpfloat(in->vision_norm_eps, ==, 1e-6f);
    g_assert_cmpint(in->bos_id, ==, 2);
    g_assert_cmpint(in->eos_id, ==, 1);
    g_assert_cmpint(in->pad_id, ==, 0);
    g_assert_cmpint(in->n_image_tokens, ==, 256);
    g_assert_cmpstr(in->variant, ==, "custom");
    g_assert_true(in->variant == cfg.variant);
    for (int j = 0; j < 4; j++)
        g_assert_cmpint(cfg.layer_sliding[j], ==, j % 2 == 0);
    g_assert_false(cfg.vision_use_head);
    g_assert_true(cfg.pre.do_convert_rgb);
    g_assert_cmpint(cfg.pre.resample, ==, 3);
    pali_config_clear(&cfg);
    pali_config_clear(NULL);
}

/* A config with almost nothing: every size from the class defaults. */
static void test_class_defaults(void)
{
    const char *text =
        "{\"model_type\": \"paligemma\", \"image_token_index\": 255999,"
        " \"projection_dim\": 2304,"
        " \"text_config\": {\"model_type\": \"gemma2\"},"
        " \"vision_config\": {\"vision_use_head\": false}}";
    pali_config cfg;
    pali_error err;
    g_assert_cmpint(load(text, NULL, NULL, &cfg, &err, NULL), ==, PALI_OK);
    const pali_model_info *in = &cfg.info;
    g_assert_cmpint(in->text_hidden, ==, 2304);
    g_assert_cmpint(in->text_intermediate, ==, 9216);
    g_assert_cmpint(in->text_layers, ==, 26);
    g_assert_cmpint(in->n_heads, ==, 8);
    g_assert_cmpint(in->n_kv_heads, ==, 4);
    g_assert_cmpint(in->head_dim, ==, 256);
    g_assert_cmpfloat(in->query_pre_attn_scalar, ==, 256.0f);
    g_assert_cmpint(in->vocab_rows, ==, 256000);
    /* SiglipVisionConfig's own defaults (not PaliGemma's) */
    g_assert_cmpint(in->vision_hidden, ==, 768);
    g_assert_cmpint(in->vision_intermediate, ==, 3072);
    g_assert_cmpint(in->vision_layers, ==, 12);
    g_assert_cmpint(in->vision_heads, ==, 12);
    g_assert_cmpint(in->patch_size, ==, 16);
    g_assert_cmpint(in->image_size, ==, 224);
    g_assert_cmpint(in->n_image_tokens, ==, 196);
    for (int j = 0; j < 26; j++)
        g_assert_cmpint(cfg.layer_sliding[j], ==, j % 2 == 0);
    pali_config_clear(&cfg);
}

static void test_transformers5_keys(void)
{
    /* rope_parameters, layer_types, null softcaps, eos list, image_size as
     * [h, w] */
    g_autofree char *text = config_with(
        ", \"eos_token_id\": [1, 107]",
        ", \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": "
        "500.0}, \"layer_types\": [\"full_attention\", \"full_attention\", "
        "\"sliding_attention\", \"full_attention\"], "
        "\"attn_logit_softcapping\": null, \"final_logit_softcapping\": null, "
        "\"sliding_window\": 4000, \"rms_norm_eps\": 1e-5",
        ", \"image_size\": [448, 448], \"layer_norm_eps\": 1e-5");
    pali_config cfg;
    pali_error err;
    g_assert_cmpint(load(text, "{\"size\": {\"height\": 448, \"width\": 448}}",
                         NULL, &cfg, &err, NULL),
                    ==, PALI_OK);
    const pali_model_info *in = &cfg.info;
    g_assert_cmpfloat(in->rope_theta, ==, 500.0f);
    g_assert_cmpfloat(in->attn_softcap, ==, 0.0f);
    g_assert_cmpfloat(in->final_softcap, ==, 0.0f);
    g_assert_cmpint(in->sliding_window, ==, 4000);
    g_assert_cmpfloat(in->rms_norm_eps, ==, 1e-5f);
    g_assert_cmpfloat(in->vision_norm_eps, ==, 1e-5f);
    g_assert_cmpint(in->image_size, ==, 448);
    g_assert_cmpint(in->n_image_tokens, ==, 1024);
    g_assert_false(cfg.layer_sliding[0]);
    g_assert_true(cfg.layer_sliding[2]);
    g_assert_cmpint(cfg.n_eos, ==, 2);
    g_assert_cmpint(cfg.eos_ids[1], ==, 107);
    g_assert_cmpint(in->eos_id, ==, 1);
    pali_config_clear(&cfg);

    /* transformers 4.x: rope_theta beside the other keys */
    g_autofree char *legacy =
        config_with(NULL, ", \"rope_theta\": 123.0", NULL);
    g_assert_cmpint(load(legacy, NULL, NULL, &cfg, &err, NULL), ==, PALI_OK);
    g_assert_cmpfloat(cfg.info.rope_theta, ==, 123.0f);
    pali_config_clear(&cfg);
}

static void test_processor(void)
{
    g_autofree char *text = config_with(NULL, NULL, NULL);
    pali_config cfg;
    pali_error err;
    char *dir = NULL;
    /* preprocessor_config.json (hub): flags, null flags, channels */
    g_assert_cmpint(
        load(text,
             "{\"do_resize\": null, \"do_rescale\": false, \"image_mean\": "
             "0.25, \"image_std\": [0.1, 0.2, 0.3], \"resample\": 2, "
             "\"rescale_factor\": 0.5, \"image_seq_length\": 256, "
             "\"do_convert_rgb\": null, \"size\": {\"height\": 224, "
             "\"width\": 224}}",
             NULL, &cfg, &err, &dir),
        ==, PALI_OK);
    const pali_preprocess_config *pre = &cfg.pre;
    g_assert_true(pre->do_resize);
    g_assert_false(pre->do_rescale);
    g_assert_true(pre->do_normalize);
    g_assert_true(pre->do_convert_rgb);
    g_assert_cmpint(pre->resample, ==, 2);
    g_assert_cmpfloat(pre->rescale_factor, ==, 0.5);
    g_assert_cmpfloat(pre->mean[2], ==, 0.25);
    g_assert_cmpfloat(pre->std[2], ==, 0.3);
    pali_config_clear(&cfg);
    /* transformers 5: processor_config.json's image_processor wins */
    put(dir, "processor_config.json",
        "{\"image_processor\": {\"size\": {\"height\": 224, \"width\": 224}, "
        "\"resample\": 3}, \"processor_class\": \"PaliGemmaProcessor\"}");
    g_assert_cmpint(pali_config_load(dir, &cfg, &err), ==, PALI_OK);
    g_assert_cmpint(cfg.pre.resample, ==, 3);
    g_assert_true(cfg.pre.do_rescale);
    pali_config_clear(&cfg);
    /* errors in it name processor_config.json and the nested key */
    put(dir, "processor_config.json",
        "{\"image_processor\": {\"size\": {\"height\": 224, \"width\": "
        "\"224\"}}}");
    g_assert_cmpint(pali_config_load(dir, &cfg, &err), ==, PALI_ERR_FORMAT);
    g_autofree char *want = g_strdup_printf(
        "%s/processor_config.json: image_processor.size.width: expected a "
        "positive integer",
        dir);
    g_assert_nonnull(strstr(err.message, want));
    g_free(dir);
}

static void test_generation(void)
{
    g_autofree char *text = config_with(NULL, NULL, NULL);
    pali_config cfg;
    pali_error err;
    g_assert_cmpint(load(text, NULL,
                         "{\"bos_token_id\": 2, \"eos_token_id\": [1, 3], "
                         "\"pad_token_id\": null}",
                         &cfg, &err, NULL),
                    ==, PALI_OK);
    g_assert_cmpint(cfg.n_eos, ==, 2);
    g_assert_cmpint(cfg.eos_ids[1], ==, 3);
    g_assert_cmpint(cfg.info.pad_id, ==, -1);
    pali_config_clear(&cfg);
    g_assert_cmpint(load(text, NULL, "{\"eos_token_id\": 7}", &cfg, &err, NULL),
                    ==, PALI_OK);
    g_assert_cmpint(cfg.info.eos_id, ==, 7);
    g_assert_cmpint(cfg.n_eos, ==, 1);
    pali_config_clear(&cfg);
    /* a null eos keeps the model config's */
    g_autofree char *null_eos =
        config_with(", \"eos_token_id\": null", NULL, NULL);
    g_assert_cmpint(
        load(null_eos, NULL, "{\"eos_token_id\": null}", &cfg, &err, NULL), ==,
        PALI_OK);
    g_assert_cmpint(cfg.info.eos_id, ==, 1);
    g_assert_cmpint(cfg.n_eos, ==, 1);
    pali_config_clear(&cfg);
    expect_error(text, NULL, "{\"eos_token_id\": \"<eos>\"}", PALI_ERR_FORMAT,
                 "generation_config.json", "eos_token_id", "\"<eos>\"");
    expect_error(text, NULL, "{\"eos_token_id\": [1, 99999]}", PALI_ERR_FORMAT,
                 "generation_config.json", "eos_token_id", "99999");
    expect_error(text, NULL, "[]", PALI_ERR_FORMAT, "generation_config.json",
                 "an object", NULL);
}

static void test_variants(void)
{
    static const struct {
        const char *text, *vision;
        int image_size;
        const char *variant;
    } cases[] = {
        { "\"hidden_size\": 2304, \"intermediate_size\": 9216, "
          "\"num_hidden_layers\": 26, \"num_attention_heads\": 8, "
          "\"num_key_value_heads\": 4, \"head_dim\": 256, "
          "\"query_pre_attn_scalar\": 256",
          "", 448, "3b-448" },
        { "\"hidden_size\": 3584, \"intermediate_size\": 14336, "
          "\"num_hidden_layers\": 42, \"num_attention_heads\": 16, "
          "\"num_key_value_heads\": 8, \"head_dim\": 256, "
          "\"query_pre_attn_scalar\": 256",
          "", 224, "10b-224" },
        { "\"hidden_size\": 4608, \"intermediate_size\": 36864, "
          "\"num_hidden_layers\": 46, \"num_attention_heads\": 32, "
          "\"num_key_value_heads\": 16, \"head_dim\": 128, "
          "\"query_pre_attn_scalar\": 144",
          "", 896, "28b-896" },
        /* 28B dims with head_dim's scale: not a released model */
        { "\"hidden_size\": 4608, \"intermediate_size\": 36864, "
          "\"num_hidden_layers\": 46, \"num_attention_heads\": 32, "
          "\"num_key_value_heads\": 16, \"head_dim\": 128, "
          "\"query_pre_attn_scalar\": 128",
          "", 896, "custom" },
        /* 3B text with a smaller vision tower */
        { "\"hidden_size\": 2304, \"intermediate_size\": 9216, "
          "\"num_hidden_layers\": 26, \"num_attention_heads\": 8, "
          "\"num_key_value_heads\": 4, \"head_dim\": 256, "
          "\"query_pre_attn_scalar\": 256",
          ", \"num_hidden_layers\": 26", 224, "custom" },
        /* 3B at an image size never released */
        { "\"hidden_size\": 2304, \"intermediate_size\": 9216, "
          "\"num_hidden_layers\": 26, \"num_attention_heads\": 8, "
          "\"num_key_value_heads\": 4, \"head_dim\": 256, "
          "\"query_pre_attn_scalar\": 256",
          "", 336, "custom" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int s = cases[i].image_size;
        g_autofree char *text = g_strdup_printf(
            "{\"model_type\": \"paligemma\", \"image_token_index\": 257152,"
            " \"projection_dim\": %d,"
            " \"text_config\": {\"model_type\": \"gemma2\", \"vocab_size\": "
            "257216, %s},"
            " \"vision_config\": {\"hidden_size\": 1152, "
            "\"intermediate_size\": 4304, \"num_hidden_layers\": 27, "
            "\"num_attention_heads\": 16, \"patch_size\": 14, "
            "\"image_size\": %d, \"vision_use_head\": false %s}}",
            strstr(cases[i].text, "4608")   ? 4608
            : strstr(cases[i].text, "3584") ? 3584
                                            : 2304,
            cases[i].text, s, cases[i].vision);
        g_autofree char *proc = g_strdup_printf(
            "{\"size\": {\"height\": %d, \"width\": %d}}", s, s);
        pali_config cfg;
        pali_error err;
        g_assert_cmpint(load(text, proc, NULL, &cfg, &err, NULL), ==, PALI_OK);
        g_assert_cmpstr(cfg.info.variant, ==, cases[i].variant);
        pali_config_clear(&cfg);
    }
}

typedef struct {
    const char *top, *text, *vision;
    pali_status status;
    const char *needle1, *needle2;
} ConfigCase;

static const ConfigCase bad_configs[] = {
    /* wrong types */
    { NULL, ", \"hidden_size\": \"big\"", NULL, PALI_ERR_FORMAT,
      "config.json: text_config.hidden_size: expected a positive integer, "
      "got \"big\"",
      NULL },
    { NULL, ", \"num_hidden_layers\": 4.5", NULL, PALI_ERR_FORMAT,
      "text_config.num_hidden_layers: expected a positive integer", "got 4.5" },
    { NULL, ", \"head_dim\": null", NULL, PALI_ERR_FORMAT,
      "text_config.head_dim", "got null" },
    { NULL, ", \"rms_norm_eps\": \"1e-6\"", NULL, PALI_ERR_FORMAT,
      "text_config.rms_norm_eps: expected a number", NULL },
    { NULL, ", \"attn_logit_softcapping\": -50.0", NULL, PALI_ERR_FORMAT,
      "text_config.attn_logit_softcapping", "-50" },
    { NULL, ", \"sliding_window\": null", NULL, PALI_ERR_FORMAT,
      "text_config.sliding_window", "got null" },
    { NULL, NULL, ", \"image_size\": [224, 448]", PALI_ERR_UNSUPPORTED,
      "vision_config.image_size", "not square" },
    { NULL, NULL, ", \"patch_size\": true", PALI_ERR_FORMAT,
      "vision_config.patch_size", "got true" },
    { NULL, ", \"layer_types\": [\"sliding_attention\"]", NULL, PALI_ERR_FORMAT,
      "text_config.layer_types: expected a list of 4", NULL },
    { NULL,
      ", \"layer_types\": [\"sliding_attention\", \"full_attention\", "
      "\"global\", \"full_attention\"]",
      NULL, PALI_ERR_FORMAT, "text_config.layer_types[2]", "\"global\"" },
    { ", \"image_token_index\": -1", NULL, NULL, PALI_ERR_FORMAT,
      "image_token_index: expected a non-negative integer", NULL },
    { ", \"tie_word_embeddings\": \"yes\"", NULL, NULL, PALI_ERR_FORMAT,
      "tie_word_embeddings: expected true or false", NULL },
    { NULL, ", \"rope_parameters\": [10000]", NULL, PALI_ERR_FORMAT,
      "text_config.rope_parameters: expected an object", NULL },
    /* ranges */
    { NULL, ", \"hidden_size\": 0", NULL, PALI_ERR_FORMAT,
      "text_config.hidden_size: expected a positive integer", "got 0" },
    { NULL, ", \"num_hidden_layers\": 100000", NULL, PALI_ERR_FORMAT,
      "text_config.num_hidden_layers", "up to 1024" },
    { NULL, ", \"num_attention_heads\": 3", NULL, PALI_ERR_FORMAT,
      "hidden_size 64 is not a multiple of num_attention_heads 3", NULL },
    { NULL, ", \"num_key_value_heads\": 3", NULL, PALI_ERR_FORMAT,
      "num_attention_heads 4 is not a multiple of num_key_value_heads 3",
      NULL },
    { NULL, NULL, ", \"num_attention_heads\": 5", PALI_ERR_FORMAT,
      "vision_config.hidden_size 64 is not a multiple", NULL },
    { NULL, NULL, ", \"image_size\": 230", PALI_ERR_FORMAT,
      "vision_config.image_size 230 is not a multiple of patch_size 14", NULL },
    { NULL, ", \"num_image_tokens\": 1024", NULL, PALI_ERR_FORMAT,
      "text_config.num_image_tokens is 1024", "= 256" },
    { NULL, ", \"vocab_size\": 3200", NULL, PALI_ERR_FORMAT,
      "image_token_index 3200 is outside the 3200-row embedding", NULL },
    { ", \"bos_token_id\": 5000", NULL, NULL, PALI_ERR_FORMAT,
      "bos_token_id 5000 is outside", NULL },
    { ", \"projection_dim\": 2048", NULL, NULL, PALI_ERR_FORMAT,
      "projection_dim 2048 differs from text_config.hidden_size 64", NULL },
    { NULL, ", \"max_position_embeddings\": 200", NULL, PALI_ERR_FORMAT,
      "256 image tokens do not fit", NULL },
    /* other architectures */
    { ", \"model_type\": \"llava\"", NULL, NULL, PALI_ERR_UNSUPPORTED,
      "model_type is \"llava\"", NULL },
    { NULL, ", \"model_type\": \"gemma\"", NULL, PALI_ERR_UNSUPPORTED,
      "PaliGemma 1", NULL },
    { NULL, ", \"model_type\": \"gemma3_text\"", NULL, PALI_ERR_UNSUPPORTED,
      "text_config.model_type is \"gemma3_text\"", NULL },
    { NULL, NULL, ", \"model_type\": \"clip_vision_model\"",
      PALI_ERR_UNSUPPORTED, "vision_config.model_type is \"clip_vision_model\"",
      NULL },
    { NULL, NULL, ", \"vision_use_head\": true", PALI_ERR_UNSUPPORTED,
      "vision_config.vision_use_head is true", NULL },
    { NULL, NULL, ", \"num_channels\": 1", PALI_ERR_UNSUPPORTED,
      "vision_config.num_channels is 1", NULL },
    { NULL, ", \"hidden_activation\": \"gelu\"", NULL, PALI_ERR_UNSUPPORTED,
      "text_config.hidden_activation is \"gelu\"", NULL },
    { NULL, NULL, ", \"hidden_act\": \"quick_gelu\"", PALI_ERR_UNSUPPORTED,
      "vision_config.hidden_act is \"quick_gelu\"", NULL },
    { NULL, ", \"attention_bias\": true", NULL, PALI_ERR_UNSUPPORTED,
      "text_config.attention_bias is true", NULL },
    { ", \"tie_word_embeddings\": false", NULL, NULL, PALI_ERR_UNSUPPORTED,
      "tie_word_embeddings is false", NULL },
    { NULL, ", \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2}",
      NULL, PALI_ERR_UNSUPPORTED,
      "text_config.rope_scaling.rope_type is "
      "\"linear\"",
      NULL },
};

static void test_bad_configs(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_configs); i++) {
        const ConfigCase *c = &bad_configs[i];
        g_autofree char *text = config_with(c->top, c->text, c->vision);
        expect_error(text, NULL, NULL, c->status, "config.json", c->needle1,
                     c->needle2);
    }
}

static void test_bad_structure(void)
{
    expect_error("{\"model_type\": \"paligemma\",", NULL, NULL, PALI_ERR_FORMAT,
                 "config.json", "invalid JSON", NULL);
    expect_error("[1]", NULL, NULL, PALI_ERR_FORMAT, "config.json",
                 "expected an object, got an array", NULL);
    expect_error("{\"text_config\": {}}", NULL, NULL, PALI_ERR_FORMAT,
                 "config.json", "model_type: missing", NULL);
    expect_error("{\"model_type\": \"paligemma\"}", NULL, NULL,
                 PALI_ERR_UNSUPPORTED, "config.json", "text_config: missing",
                 NULL);
    expect_error("{\"model_type\": \"paligemma\", \"text_config\": {}}", NULL,
                 NULL, PALI_ERR_UNSUPPORTED, "config.json", "PaliGemma 1",
                 NULL);
    /* SigLIP without vision_use_head keeps its pooling head */
    g_autofree char *no_head = g_strdup_printf(
        "{\"model_type\": \"paligemma\", \"image_token_index\": 3200, "
        "\"projection_dim\": 64, \"text_config\": {\"model_type\": "
        "\"gemma2\", \"hidden_size\": 64, \"vocab_size\": 3264, "
        "\"num_attention_heads\": 4, \"num_key_value_heads\": 2}, "
        "\"vision_config\": {\"image_size\": 224}}");
    expect_error(no_head, NULL, NULL, PALI_ERR_UNSUPPORTED, "config.json",
                 "vision_use_head is absent", NULL);
    g_autofree char *dir = new_dir();
    pali_config cfg;
    pali_error err = { 0 };
    g_assert_cmpint(pali_config_load(dir, &cfg, &err), ==, PALI_ERR_NOT_FOUND);
    g_assert_nonnull(strstr(err.message, "config.json"));
}

static void test_bad_processor(void)
{
    g_autofree char *text = config_with(NULL, NULL, NULL);
    expect_error(text, "{\"size\": {\"height\": 448, \"width\": 448}}", NULL,
                 PALI_ERR_FORMAT, "preprocessor_config.json", "size is 448×448",
                 "224×224");
    expect_error(text, "{\"size\": {\"shortest_edge\": 224}}", NULL,
                 PALI_ERR_FORMAT, "preprocessor_config.json: size: expected",
                 NULL, NULL);
    expect_error(text, "{\"image_std\": [0.5, 0, 0.5]}", NULL, PALI_ERR_FORMAT,
                 "preprocessor_config.json: image_std", "got 0", NULL);
    expect_error(text, "{\"image_mean\": [0.5, 0.5]}", NULL, PALI_ERR_FORMAT,
                 "preprocessor_config.json: image_mean", "list of 3", NULL);
    expect_error(text, "{\"do_normalize\": \"yes\"}", NULL, PALI_ERR_FORMAT,
                 "preprocessor_config.json: do_normalize", NULL, NULL);
    expect_error(text, "{\"resample\": 9}", NULL, PALI_ERR_FORMAT,
                 "preprocessor_config.json: resample", "up to 5", NULL);
    expect_error(text, "{\"image_seq_length\": 1024}", NULL, PALI_ERR_FORMAT,
                 "preprocessor_config.json: image_seq_length is 1024", NULL,
                 NULL);
    /* neither processor file */
    pali_config cfg;
    pali_error err;
    char *dir = NULL;
    g_assert_cmpint(load(text, "", NULL, &cfg, &err, &dir), ==,
                    PALI_ERR_NOT_FOUND);
    g_assert_nonnull(strstr(err.message, "preprocessor_config.json"));
    g_assert_nonnull(strstr(err.message, dir));
    /* a processor_config.json without "image_processor" does not count */
    put(dir, "processor_config.json", "{\"processor_class\": \"x\"}");
    g_assert_cmpint(pali_config_load(dir, &cfg, &err), ==, PALI_ERR_NOT_FOUND);
    g_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/config/base", test_base);
    g_test_add_func("/engine/config/class-defaults", test_class_defaults);
    g_test_add_func("/engine/config/transformers5-keys",
                    test_transformers5_keys);
    g_test_add_func("/engine/config/processor", test_processor);
    g_test_add_func("/engine/config/generation", test_generation);
    g_test_add_func("/engine/config/variants", test_variants);
    g_test_add_func("/engine/config/bad-values", test_bad_configs);
    g_test_add_func("/engine/config/bad-structure", test_bad_structure);
    g_test_add_func("/engine/config/bad-processor", test_bad_processor);
    return g_test_run();
}
