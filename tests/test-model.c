/* test-model.c — pali_model_load on the golden model directories (info,
 * layouts, zero-copy views, f32 vectors) and on edited copies: missing,
 * unexpected, duplicate and wrongly shaped tensors, tied lm_head, the
 * three naming layouts, mixed dtypes, sharded checkpoints. */
#include <math.h>
#include <string.h>

#include "model.h"
#include "safetensors.h"
#include "st-writer.h"
#include "testutil.h"

typedef struct {
    const char *dir;
    const char *dtype;
    int image_size, n_image_tokens;
    int vision_layers;
    int text_hidden, text_intermediate;
    float qpas, attn_cap, final_cap;
    int window;
    int n_tensors;
} GoldenExpect;

static const GoldenExpect goldens[] = {
    { "tiny-224", "f32", 224, 256, 2, 64, 128, 16, 50, 30, 4096, 85 },
    { "tiny-224-hubnames", "f32", 224, 256, 2, 64, 128, 16, 50, 30, 4096, 85 },
    { "tiny-448", "bf16", 448, 1024, 2, 64, 128, 16, 50, 30, 4096, 85 },
    { "tiny-896-sw", "bf16", 896, 4096, 1, 64, 128, 16, 50, 30, 4000, 69 },
    { "tiny-27b-style", "f32", 224, 256, 2, 96, 192, 24, 0, 0, 4096, 85 },
};

static char *golden_dir(const char *name)
{
    g_autofree char *rel = g_build_filename("golden", name, NULL);
    return test_data_path(rel);
}

static pali_model *load_ok(const char *dir)
{
    pali_model *m = NULL;
    pali_error err = { 0 };
    pali_status st = pali_model_load(dir, NULL, &m, &err);
    if (st != PALI_OK)
        g_error("%s: %s", dir, err.message);
    g_assert_nonnull(m);
    return m;
}

/* Loads `dir`, expecting `status` and every needle in the message. */
static void load_fails(const char *dir, pali_status status, ...)
{
    pali_model *m = NULL;
    pali_error err = { 0 };
    pali_status st = pali_model_load(dir, NULL, &m, &err);
    g_assert_null(m);
    if (st != status)
        g_error("expected status %d, got %d: %s", status, st, err.message);
    g_assert_cmpint(err.status, ==, status);
    va_list ap;
    va_start(ap, status);
    const char *needle;
    while ((needle = va_arg(ap, const char *)) != NULL) {
        if (strstr(err.message, needle) == NULL)
            g_error("message '%s' lacks '%s'", err.message, needle);
    }
    va_end(ap);
}

static const pali_tensor *file_tensor(const pali_model *m, const char *name)
{
    for (int f = 0; f < m->n_files; f++) {
        const pali_tensor *t = pali_safetensors_find(m->files[f], name);
        if (t != NULL)
            return t;
    }
    return NULL;
}

static float first_value(const pali_tensor *t)
{
    float x;
    pali_tensor_read_f32(t, 0, 1, &x);
    return x;
}

static void test_goldens(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(goldens); i++) {
        const GoldenExpect *g = &goldens[i];
        g_autofree char *dir = golden_dir(g->dir);
        pali_model *m = load_ok(dir);
        const pali_model_info *in = pali_model_get_info(m);
        g_assert_cmpstr(in->variant, ==, "custom");
        g_assert_cmpstr(in->dir, ==, dir);
        g_assert_cmpstr(in->dtype, ==, g->dtype);
        g_assert_cmpint(in->n_tensors, ==, g->n_tensors);
        g_assert_cmpint(in->image_size, ==, g->image_size);
        g_assert_cmpint(in->patch_size, ==, 14);
        g_assert_cmpint(in->n_image_tokens, ==, g->n_image_tokens);
        g_assert_cmpint(in->vision_hidden, ==, 64);
        g_assert_cmpint(in->vision_intermediate, ==, 128);
        g_assert_cmpint(in->vision_layers, ==, g->vision_layers);
        g_assert_cmpint(in->vision_heads, ==, 4);
        g_assert_cmpfloat(in->vision_norm_eps, ==, 1e-6f);
        g_assert_cmpint(in->text_hidden, ==, g->text_hidden);
        g_assert_cmpint(in->text_intermediate, ==, g->text_intermediate);
        g_assert_cmpint(in->text_layers, ==, 4);
        g_assert_cmpint(in->n_heads, ==, 4);
        g_assert_cmpint(in->n_kv_heads, ==, 2);
        g_assert_cmpint(in->head_dim, ==, 16);
        g_assert_cmpint(in->vocab_rows, ==, 3264);
        g_assert_cmpint(in->tokenizer_size, ==, 3201);
        g_assert_cmpfloat(in->query_pre_attn_scalar, ==, g->qpas);
        g_assert_cmpfloat(in->attn_softcap, ==, g->attn_cap);
        g_assert_cmpfloat(in->final_softcap, ==, g->final_cap);
        g_assert_cmpint(in->sliding_window, ==, g->window);
        g_assert_cmpint(in->max_positions, ==, 8192);
        g_assert_cmpfloat(in->rope_theta, ==, 10000.0f);
        g_assert_cmpfloat(in->rms_norm_eps, ==, 1e-6f);
        g_assert_cmpint(in->image_token_id, ==, 3200);
        g_assert_cmpint(in->bos_id, ==, 2);
        g_assert_cmpint(in->eos_id, ==, 1);
        g_assert_cmpint(in->pad_id, ==, 0);
        g_assert_cmpint(m->cfg.n_eos, ==, 1);
        /* layer_types: sliding on 0 and 2 */
        for (int j = 0; j < 4; j++)
            g_assert_cmpint(m->cfg.layer_sliding[j], ==, j % 2 == 0);
        /* processor */
        const pali_preprocess_config *pre = &m->cfg.pre;
        g_assert_cmpint(pre->width, ==, g->image_size);
        g_assert_cmpint(pre->height, ==, g->image_size);
        g_assert_cmpint(pre->resample, ==, 3);
        g_assert_true(pre->do_resize && pre->do_rescale && pre->do_normalize &&
                      pre->do_convert_rgb);
        g_assert_cmpfloat(pre->rescale_factor, ==, 1.0 / 255.0);
        for (int c = 0; c < 3; c++) {
            g_assert_cmpfloat(pre->mean[c], ==, 0.5);
            g_assert_cmpfloat(pre->std[c], ==, 0.5);
        }
        /* weight bytes: the data section of the single file */
        g_assert_cmpint(m->n_files, ==, 1);
        uint64_t expect_bytes = 0;
        for (int t = 0; t < pali_safetensors_count(m->files[0]); t++)
            expect_bytes += pali_safetensors_at(m->files[0], t)->nbytes;
        g_assert_cmpuint(in->weight_bytes, ==, expect_bytes);
        /* matrices are views into the mapping */
        const pali_tensor *emb =
            file_tensor(m, "language_model.model.embed_tokens.weight");
        g_assert_nonnull(emb);
        g_assert_true(m->embed.data == emb->data);
        g_assert_cmpint(m->patch_w.n_dims, ==, 4);
        g_assert_cmpint(pali_tensor_cols(&m->patch_w), ==, 3 * 14 * 14);
        /* vectors are f32 copies of the stored values */
        const pali_tensor *norm = file_tensor(
            m, "language_model.model.layers.3.post_feedforward_layernorm."
               "weight");
        g_assert_true((const void *)m->text[3].post_ffw_norm != norm->data);
        g_assert_cmpfloat(m->text[3].post_ffw_norm[0], ==, first_value(norm));
        const char *fc2 = strcmp(g->dir, "tiny-224-hubnames") == 0
                              ? "vision_tower.vision_model.encoder.layers.0."
                                "mlp.fc2.bias"
                              : "vision_tower.encoder.layers.0.mlp.fc2.bias";
        const pali_tensor *fc2_b = file_tensor(m, fc2);
        g_assert_nonnull(fc2_b);
        float want[64];
        pali_tensor_read_f32(fc2_b, 0, 64, want);
        g_assert_cmpmem(m->vision[0].fc2_b, sizeof(want), want, sizeof(want));
        g_assert_cmpuint((uintptr_t)m->vision[0].fc2_b % 64, ==, 0);
        pali_model_free(m);
    }
}

/* tiny-224 and its hub-named twin hold the same values. */
static void test_layouts_agree(void)
{
    g_autofree char *a_dir = golden_dir("tiny-224");
    g_autofree char *b_dir = golden_dir("tiny-224-hubnames");
    pali_model *a = load_ok(a_dir), *b = load_ok(b_dir);
    g_assert_cmpmem(a->vision[1].q_w.data, a->vision[1].q_w.nbytes,
                    b->vision[1].q_w.data, b->vision[1].q_w.nbytes);
    g_assert_cmpmem(a->post_ln_b, 64 * sizeof(float), b->post_ln_b,
                    64 * sizeof(float));
    g_assert_cmpmem(a->pos_emb.data, a->pos_emb.nbytes, b->pos_emb.data,
                    b->pos_emb.nbytes);
    pali_model_free(a);
    pali_model_free(b);
}

/* A writer holding every tensor of tiny-224 (borrowed from `m`). */
static StWriter *writer_from(const pali_model *m)
{
    StWriter *w = stw_new();
    for (int i = 0; i < pali_safetensors_count(m->files[0]); i++)
        stw_add_tensor(w, pali_safetensors_at(m->files[0], i), NULL);
    return w;
}

/* A fresh copy of tiny-224's configs in the temp dir. */
static char *fresh_dir(const char *name)
{
    g_autofree char *src = golden_dir("tiny-224");
    char *dst = g_build_filename(test_tmpdir(), name, NULL);
    test_copy_model_configs(src, dst);
    return dst;
}

static char *weights_path(const char *dir)
{
    return g_build_filename(dir, "model.safetensors", NULL);
}

static void test_missing_tensor(void)
{
    g_autofree char *src = golden_dir("tiny-224");
    pali_model *m = load_ok(src);
    g_autofree char *dir = fresh_dir("missing");
    g_autofree char *w_path = weights_path(dir);
    StWriter *w = writer_from(m);
    g_assert_true(
        stw_remove(w, "language_model.model.layers.2.mlp.up_proj.weight"));
    stw_write(w, w_path, "{\"format\":\"pt\"}");
    load_fails(dir, PALI_ERR_NOT_FOUND,
               "language_model.model.layers.2.mlp.up_proj.weight", "[128, 64]",
               "missing", NULL);
    stw_free(w);
    pali_model_free(m);
}

static void test_unexpected_tensor(void)
{
    g_autofree char *src = golden_dir("tiny-224");
    pali_model *m = load_ok(src);
    g_autofree char *dir = fresh_dir("unexpected");
    g_autofree char *w_path = weights_path(dir);
    StWriter *w = writer_from(m);
    const pali_tensor *b = &m->embed;
    stw_add(w, "vision_tower.head.probe.weight", "F32", 1, (int64_t[]){ 16 },
            b->data, 64);
    stw_write(w, w_path, NULL);
    load_fails(dir, PALI_ERR_FORMAT, "model.safetensors",
               "unexpected tensor 'vision_tower.head.probe.weight'", NULL);
    stw_free(w);
    pali_model_free(m);
}

static void test_wrong_shape(void)
{
    g_autofree char *src = golden_dir("tiny-224");
    pali_model *m = load_ok(src);
    g_autofree char *dir = fresh_dir("shape");
    g_autofree char *w_path = weights_path(dir);
    StWriter *w = writer_from(m);
    const char *q = "language_model.model.layers.1.self_attn.q_proj.weight";
    g_assert_true(stw_remove(w, q));
    /* k_proj's [32, 64] data under q_proj's name */
    stw_add_tensor(w, &m->text[1].k_w, q);
    stw_write(w, w_path, NULL);
    load_fails(dir, PALI_ERR_FORMAT, "model.safetensors", q, "shape [32, 64]",
               "[64, 64]", NULL);
    /* the patch conv must be 4-D (Dv, 3, P, P), not flattened */
    w = (stw_free(w), writer_from(m));
    const char *pw = "vision_tower.embeddings.patch_embedding.weight";
    g_assert_true(stw_remove(w, pw));
    stw_add(w, pw, "F32", 2, (int64_t[]){ 64, 588 }, m->patch_w.data,
            m->patch_w.nbytes);
    stw_write(w, w_path, NULL);
    load_fails(dir, PALI_ERR_FORMAT, pw, "[64, 588]", "[64, 3, 14, 14]", NULL);
    stw_free(w);
    pali_model_free(m);
}

static void test_lm_head(void)
{
    g_autofree char *src = golden_dir("tiny-224");
    pali_model *m = load_ok(src);
    g_autofree char *dir = fresh_dir("lm-head");
    g_autofree char *w_path = weights_path(dir);
    /* a tied copy (the conversion script's language_model.lm_head) loads
     * and is ignored */
    StWriter *w = writer_from(m);
    stw_add_tensor(w, &m->embed, "language_model.lm_head.weight");
    stw_write(w, w_path, NULL);
    pali_model *t = load_ok(dir);
    g_assert_cmpint(pali_model_get_info(t)->n_tensors, ==, 85);
    g_assert_true(t->embed.data != NULL);
    pali_model_free(t);
    /* of another shape it cannot be the embedding */
    g_assert_true(stw_remove(w, "language_model.lm_head.weight"));
    stw_add(w, "lm_head.weight", "F32", 2, (int64_t[]){ 3200, 64 },
            m->embed.data, 3200 * 64 * 4);
    stw_write(w, w_path, NULL);
    load_fails(dir, PALI_ERR_FORMAT, "'lm_head.weight'", "[3200, 64]",
               "[3264, 64]", NULL);
    stw_free(w);
    pali_model_free(m);
}

/* Layout C (transformers 5 module names) loads; a parameter under two
 * layouts at once is refused. */
static void test_name_layouts(void)
{
    g_autofree char *src = golden_dir("tiny-224");
    pali_model *m = load_ok(src);
    g_autofree char *dir = fresh_dir("layout-c");
    g_autofree char *w_path = weights_path(dir);
    StWriter *w = stw_new();
    for (int i = 0; i < pali_safetensors_count(m->files[0]); i++) {
        const pali_tensor *t = pali_safetensors_at(m->files[0], i);
        const char *lm = "language_model.model.";
        g_autofree char *name = g_str_has_prefix(t->name, lm)
                                    ? g_strconcat("model.language_model.",
                                                  t->name + strlen(lm), NULL)
                                    : g_strconcat("model.", t->name, NULL);
        stw_add_tensor(w, t, name);
    }
    stw_write(w, w_path, NULL);
    pali_model *c = load_ok(dir);
    g_assert_cmpint(pali_model_get_info(c)->n_tensors, ==, 85);
    g_assert_cmpmem(c->text[2].down_w.data, c->text[2].down_w.nbytes,
                    m->text[2].down_w.data, m->text[2].down_w.nbytes);
    pali_model_free(c);
    stw_free(w);

    w = writer_from(m);
    stw_add(w, "vision_tower.vision_model.post_layernorm.bias", "F32", 1,
            (int64_t[]){ 64 }, m->embed.data, 256);
    stw_write(w, w_path, NULL);
    load_fails(dir, PALI_ERR_FORMAT, "vision_tower.post_layernorm.bias",
               "vision_tower.vision_model.post_layernorm.bias", "two names",
               NULL);
    stw_free(w);
    pali_model_free(m);
}

/* bf16 vectors are widened; a checkpoint of several dtypes is "mixed". */
static void test_mixed_dtypes(void)
{
    g_autofree char *src = golden_dir("tiny-224");
    pali_model *m = load_ok(src);
    g_autofree char *dir = fresh_dir("mixed");
    g_autofree char *w_path = weights_path(dir);
    StWriter *w = writer_from(m);
    const char *name = "language_model.model.norm.weight";
    g_assert_true(stw_remove(w, name));
    uint16_t bf[64];
    float want[64];
    for (int i = 0; i < 64; i++) {
        bf[i] = pali_f32_to_bf16(m->final_norm[i]);
        want[i] = pali_bf16_to_f32(bf[i]);
    }
    stw_add(w, name, "BF16", 1, (int64_t[]){ 64 }, bf, sizeof(bf));
    stw_write(w, w_path, NULL);
    pali_model *x = load_ok(dir);
    g_assert_cmpstr(pali_model_get_info(x)->dtype, ==, "mixed");
    g_assert_cmpmem(x->final_norm, sizeof(want), want, sizeof(want));
    pali_model_free(x);
    stw_free(w);
    pali_model_free(m);
}

/* Writes tiny-224 as three shards and an index; `edit` may change the
 * index text (from → to) before it is written. */
static void write_sharded(const pali_model *m, const char *dir,
                          const char *from, const char *to)
{
    StWriter *w = writer_from(m);
    guint n = stw_count(w), third = n / 3;
    const char *shards[3] = { "model-00001-of-00003.safetensors",
                              "model-00002-of-00003.safetensors",
                              "model-00003-of-00003.safetensors" };
    GString *index = g_string_new("{\"metadata\": {\"total_size\": 1}, "
                                  "\"weight_map\": {");
    for (int s = 0; s < 3; s++) {
        guint first = (guint)s * third;
        guint count = s == 2 ? n - first : third;
        g_autofree char *path = g_build_filename(dir, shards[s], NULL);
        stw_write_range(w, path, first, count);
        for (guint i = first; i < first + count; i++)
            g_string_append_printf(index, "%s\"%s\": \"%s\"", i ? ", " : "",
                                   stw_name(w, i), shards[s]);
    }
    g_string_append(index, "}}");
    if (from != NULL) {
        char *at = strstr(index->str, from);
        g_assert_nonnull(at);
        gssize pos = at - index->str;
        g_string_erase(index, pos, (gssize)strlen(from));
        g_string_insert(index, pos, to);
    }
    g_autofree char *ipath =
        g_build_filename(dir, "model.safetensors.index.json", NULL);
    test_write_bytes(ipath, index->str, index->len);
    g_string_free(index, TRUE);
    stw_free(w);
}

static void test_sharded(void)
{
    g_autofree char *src = golden_dir("tiny-224");
    pali_model *m = load_ok(src);
    g_autofree char *dir = fresh_dir("sharded");
    write_sharded(m, dir, NULL, NULL);
    pali_model *s = load_ok(dir);
    g_assert_cmpint(s->n_files, ==, 3);
    g_assert_cmpint(pali_model_get_info(s)->n_tensors, ==, 85);
    g_assert_cmpmem(s->proj_b, 64 * sizeof(float), m->proj_b,
                    64 * sizeof(float));
    g_assert_true(g_str_has_suffix(pali_safetensors_path(s->files[2]),
                                   "model-00003-of-00003.safetensors"));
    pali_model_free(s);
    pali_model_free(m);
}

static void test_sharded_errors(void)
{
    g_autofree char *src = golden_dir("tiny-224");
    pali_model *m = load_ok(src);
    const char *emb = "\"language_model.model.embed_tokens.weight\": "
                      "\"model-00001-of-00003.safetensors\"";
    struct {
        const char *name;
        const char *to;
        pali_status status;
        const char *needle1, *needle2;
        gboolean drop; /* remove the entry (and its comma) instead */
    } cases[] = {
        /* a shard named in the index that is not on disk */
        { "absent-shard",
          "\"language_model.model.embed_tokens.weight\": "
          "\"model-00004-of-00003.safetensors\"",
          PALI_ERR_NOT_FOUND, "model-00004-of-00003.safetensors",
          "language_model.model.embed_tokens.weight" },
        /* listed for the wrong shard: it is in 00001, not 00002 */
        { "wrong-shard",
          "\"language_model.model.embed_tokens.weight\": "
          "\"model-00002-of-00003.safetensors\"",
          PALI_ERR_FORMAT, "language_model.model.embed_tokens.weight",
          "model-00001-of-00003.safetensors" },
        /* a tensor the shards do not have */
        { "not-in-shard",
          "\"language_model.model.ghost.weight\": "
          "\"model-00001-of-00003.safetensors\", " /* keep emb */
          "\"language_model.model.embed_tokens.weight\": "
          "\"model-00001-of-00003.safetensors\"",
          PALI_ERR_NOT_FOUND, "language_model.model.ghost.weight",
          "does not contain it" },
        /* a tensor in a shard but not in the index */
        { "unlisted", "", PALI_ERR_FORMAT,
          "language_model.model.embed_tokens.weight", "not listed", TRUE },
        /* shard names must stay in the directory */
        { "slash",
          "\"language_model.model.embed_tokens.weight\": "
          "\"../model-00001-of-00003.safetensors\"",
          PALI_ERR_FORMAT, "../model-00001-of-00003.safetensors", "refused" },
        { "subdir",
          "\"language_model.model.embed_tokens.weight\": "
          "\"sub/model.safetensors\"",
          PALI_ERR_FORMAT, "sub/model.safetensors", "refused" },
        { "dotdot", "\"language_model.model.embed_tokens.weight\": \"..\"",
          PALI_ERR_FORMAT, "\"..\"", "refused" },
        { "duplicate",
          "\"language_model.model.embed_tokens.weight\": "
          "\"model-00001-of-00003.safetensors\", "
          "\"language_model.model.embed_tokens.weight\": "
          "\"model-00001-of-00003.safetensors\"",
          PALI_ERR_FORMAT, "language_model.model.embed_tokens.weight",
          "twice" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("shard-%s", cases[i].name);
        g_autofree char *dir = fresh_dir(name);
        g_autofree char *from =
            g_strconcat(emb, cases[i].drop ? ", " : "", NULL);
        write_sharded(m, dir, from, cases[i].to);
        load_fails(dir, cases[i].status, cases[i].needle1, cases[i].needle2,
                   NULL);
    }
    /* the same tensor in two shards */
    g_autofree char *dir = fresh_dir("shard-twice");
    write_sharded(m, dir, NULL, NULL);
    StWriter *w = stw_new();
    stw_add_tensor(w, &m->embed, "language_model.model.embed_tokens.weight");
    stw_add_tensor(w, &m->text[3].o_w,
                   "language_model.model.layers.3.self_attn.o_proj.weight");
    g_autofree char *p3 =
        g_build_filename(dir, "model-00003-of-00003.safetensors", NULL);
    stw_write(w, p3, NULL);
    load_fails(dir, PALI_ERR_FORMAT, "language_model.model.embed_tokens.weight",
               "two shards", NULL);
    stw_free(w);
    /* an index that is not JSON names the file */
    g_autofree char *ipath =
        g_build_filename(dir, "model.safetensors.index.json", NULL);
    test_write_bytes(ipath, "{\"weight_map\": ", 15);
    load_fails(dir, PALI_ERR_FORMAT, "model.safetensors.index.json",
               "invalid JSON", NULL);
    test_write_bytes(ipath, "{\"metadata\": {}}", 16);
    load_fails(dir, PALI_ERR_FORMAT, "model.safetensors.index.json",
               "weight_map", NULL);
    pali_model_free(m);
}

static void test_no_weights(void)
{
    g_autofree char *dir = fresh_dir("no-weights");
    load_fails(dir, PALI_ERR_NOT_FOUND, "model.safetensors",
               "model.safetensors.index.json", NULL);
    g_autofree char *missing =
        g_build_filename(test_tmpdir(), "does-not-exist", NULL);
    load_fails(missing, PALI_ERR_NOT_FOUND, "config.json", NULL);
}

static void test_default_params(void)
{
    pali_model_params p = pali_model_default_params();
    g_assert_cmpint(p.weights, ==, PALI_WEIGHTS_AS_STORED);
    g_assert_null(p.cache_dir);
    g_assert_cmpint(p.n_threads, ==, 0);
    g_assert_null(p.callbacks.progress);
    g_assert_null(p.callbacks.should_abort);
    pali_model_free(NULL);
    g_assert_null(pali_model_get_info(NULL));
}

typedef struct {
    int calls, last_done, last_total;
    gboolean abort;
} Progress;

static void on_progress(pali_phase phase, int done, int total, void *data)
{
    Progress *p = data;
    g_assert_cmpint(phase, ==, PALI_PHASE_LOAD);
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

static bool on_abort(void *data)
{
    return ((Progress *)data)->abort;
}

static void test_progress_and_abort(void)
{
    g_autofree char *src = golden_dir("tiny-224");
    pali_model *m = load_ok(src);
    g_autofree char *dir = fresh_dir("progress");
    write_sharded(m, dir, NULL, NULL);
    pali_model_free(m);
    Progress p = { 0 };
    pali_model_params params = pali_model_default_params();
    params.callbacks.progress = on_progress;
    params.callbacks.should_abort = on_abort;
    params.callbacks.user_data = &p;
    pali_error err = { 0 };
    g_assert_cmpint(pali_model_load(dir, &params, &m, &err), ==, PALI_OK);
    g_assert_cmpint(p.calls, ==, 4);
    g_assert_cmpint(p.last_done, ==, 3);
    g_assert_cmpint(p.last_total, ==, 3);
    pali_model_free(m);
    p.abort = TRUE;
    g_assert_cmpint(pali_model_load(dir, &params, &m, &err), ==,
                    PALI_ERR_ABORTED);
    g_assert_null(m);
    /* 8-bit weights come from a cache made on first use (quant-cache.c;
     * tested in test-quant.c) */
    params.callbacks = (pali_callbacks){ 0 };
    params.weights = PALI_WEIGHTS_Q8;
    params.cache_dir = dir;
    g_assert_cmpint(pali_model_load(dir, &params, &m, &err), ==, PALI_OK);
    pali_model_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/model/goldens", test_goldens);
    g_test_add_func("/engine/model/layouts-agree", test_layouts_agree);
    g_test_add_func("/engine/model/missing-tensor", test_missing_tensor);
    g_test_add_func("/engine/model/unexpected-tensor", test_unexpected_tensor);
    g_test_add_func("/engine/model/wrong-shape", test_wrong_shape);
    g_test_add_func("/engine/model/lm-head", test_lm_head);
    g_test_add_func("/engine/model/name-layouts", test_name_layouts);
    g_test_add_func("/engine/model/mixed-dtypes", test_mixed_dtypes);
    g_test_add_func("/engine/model/sharded", test_sharded);
    g_test_add_func("/engine/model/sharded-errors", test_sharded_errors);
    g_test_add_func("/engine/model/no-weights", test_no_weights);
    g_test_add_func("/engine/model/default-params", test_default_params);
    g_test_add_func("/engine/model/progress-abort", test_progress_and_abort);
    return g_test_run();
}
