/* test-make-model.c — palilens-make-model's tiny models: both layouts and
 * dtypes load in the engine with the right info, layouts hold the same
 * weights, output is byte-for-byte deterministic per seed, sharding,
 * custom dimensions, the tokenizer's id layout, the weight distributions,
 * palilens-cli --info (prose, --json, exit statuses) and palilens-bench
 * --json's interface. */
#include <math.h>
#include <string.h>

#include "json.h"
#include "model.h"
#include "safetensors.h"
#include "testutil.h"

static char *build_path(const char *relative)
{
    const char *root = g_getenv("PALI_BUILD_ROOT");
    g_assert_nonnull(root);
    return g_build_filename(root, relative, NULL);
}

/* Runs a program; returns its exit status, stdout and stderr. */
static int run(char **argv, char **out, char **err)
{
    int status = 0;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
                      &status, &error))
        g_error("%s: %s", argv[0], error->message);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    g_error("%s died: status %d", argv[0], status);
}

/* Runs argv, which must exit 0, and parses its standard output as JSON. */
static pali_json_doc *run_json(char **argv)
{
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint(run(argv, &out, &err), ==, 0);
    pali_json_doc *doc = NULL;
    pali_error e = { 0 };
    g_assert_cmpint(pali_json_parse(out, strlen(out), "stdout", &doc, &e), ==,
                    PALI_OK);
    return doc;
}

/* palilens-make-model PRESET tmp/NAME ARGS…; returns the directory. */
static char *make_model(const char *preset, const char *name, ...)
{
    g_autofree char *tool = build_path("tools/palilens-make-model");
    char *dir = g_build_filename(test_tmpdir(), name, NULL);
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, tool);
    g_ptr_array_add(argv, (char *)preset);
    g_ptr_array_add(argv, dir);
    g_ptr_array_add(argv, "--quiet");
    va_list ap;
    va_start(ap, name);
    char *arg;
    while ((arg = va_arg(ap, char *)) != NULL)
        g_ptr_array_add(argv, arg);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    g_autofree char *out = NULL, *err = NULL;
    int rc = run((char **)argv->pdata, &out, &err);
    if (rc != 0)
        g_error("palilens-make-model failed (%d): %s", rc, err);
    g_ptr_array_free(argv, TRUE);
    return dir;
}

static pali_model *load(const char *dir)
{
    pali_model *m = NULL;
    pali_error err = { 0 };
    if (pali_model_load(dir, NULL, &m, &err) != PALI_OK)
        g_error("%s: %s", dir, err.message);
    return m;
}

static gboolean exists(const char *dir, const char *file)
{
    g_autofree char *p = g_build_filename(dir, file, NULL);
    return g_file_test(p, G_FILE_TEST_EXISTS);
}

static void check_tiny_info(const pali_model_info *in, const char *dtype)
{
    g_assert_cmpstr(in->variant, ==, "custom");
    g_assert_cmpstr(in->dtype, ==, dtype);
    g_assert_cmpint(in->n_tensors, ==, 85);
    g_assert_cmpint(in->image_size, ==, 224);
    g_assert_cmpint(in->n_image_tokens, ==, 256);
    g_assert_cmpint(in->vision_hidden, ==, 64);
    g_assert_cmpint(in->vision_layers, ==, 2);
    g_assert_cmpint(in->text_hidden, ==, 64);
    g_assert_cmpint(in->text_layers, ==, 4);
    g_assert_cmpint(in->n_heads, ==, 4);
    g_assert_cmpint(in->n_kv_heads, ==, 2);
    g_assert_cmpint(in->head_dim, ==, 16);
    g_assert_cmpfloat(in->query_pre_attn_scalar, ==, 16.0f);
    g_assert_cmpfloat(in->attn_softcap, ==, 50.0f);
    g_assert_cmpfloat(in->final_softcap, ==, 30.0f);
    g_assert_cmpint(in->sliding_window, ==, 4096);
    g_assert_cmpint(in->vocab_rows, ==, 3264);
    g_assert_cmpint(in->image_token_id, ==, 3200);
    g_assert_cmpuint(in->weight_bytes, ==,
                     strcmp(dtype, "f32") == 0 ? 1931008 : 1931008 / 2);
}

/* Both layouts and dtypes; the layouts hold identical weights. */
static void test_layouts_and_dtypes(void)
{
    g_autofree char *hub =
        make_model("tiny", "hub-f32", "--dtype", "f32", NULL);
    g_autofree char *tf = make_model("tiny", "tf-f32", "--dtype", "f32",
                                     "--layout", "transformers", NULL);
    g_autofree char *hub16 = make_model("tiny", "hub-bf16", NULL);
    g_autofree char *tf16 = make_model("tiny", "tf-bf16", "--layout",
                                       "transformers", "--dtype", "bf16", NULL);
    pali_model *a = load(hub), *b = load(tf), *c = load(hub16), *d = load(tf16);
    check_tiny_info(pali_model_get_info(a), "f32");
    check_tiny_info(pali_model_get_info(b), "f32");
    check_tiny_info(pali_model_get_info(c), "bf16");
    check_tiny_info(pali_model_get_info(d), "bf16");
    /* hub layout: SigLIP under vision_model., preprocessor_config.json */
    g_assert_nonnull(pali_safetensors_find(
        a->files[0], "vision_tower.vision_model.post_layernorm.bias"));
    g_assert_nonnull(
        pali_safetensors_find(b->files[0], "vision_tower.post_layernorm.bias"));
    g_assert_true(exists(hub, "preprocessor_config.json"));
    g_assert_false(exists(hub, "processor_config.json"));
    g_assert_true(exists(tf, "processor_config.json"));
    g_assert_false(exists(tf, "preprocessor_config.json"));
    for (const char *const *f =
             (const char *const[]){ "config.json", "generation_config.json",
                                    "tokenizer.json", "tokenizer_config.json",
                                    "special_tokens_map.json", NULL };
         *f; f++) {
        g_assert_true(exists(hub, *f));
        g_assert_true(exists(tf, *f));
    }
    /* same values in both layouts; bf16 = f32 rounded */
    g_assert_cmpmem(a->embed.data, a->embed.nbytes, b->embed.data,
                    b->embed.nbytes);
    g_assert_cmpmem(a->vision[1].fc1_w.data, a->vision[1].fc1_w.nbytes,
                    b->vision[1].fc1_w.data, b->vision[1].fc1_w.nbytes);
    g_assert_cmpmem(c->text[3].down_w.data, c->text[3].down_w.nbytes,
                    d->text[3].down_w.data, d->text[3].down_w.nbytes);
    const float *af = a->text[2].q_w.data;
    const uint16_t *cb = c->text[2].q_w.data;
    for (int i = 0; i < 64 * 64; i++)
        g_assert_cmpuint(cb[i], ==, pali_f32_to_bf16(af[i]));
    g_assert_cmpfloat(c->final_norm[5], ==,
                      pali_bf16_to_f32(pali_f32_to_bf16(a->final_norm[5])));
    pali_model_free(a);
    pali_model_free(b);
    pali_model_free(c);
    pali_model_free(d);
}

static GBytes *read_in(const char *dir, const char *file)
{
    g_autofree char *p = g_build_filename(dir, file, NULL);
    return test_read_file(p);
}

static void test_deterministic(void)
{
    g_autofree char *x = make_model("tiny", "seed7-a", "--seed", "7", NULL);
    g_autofree char *y = make_model("tiny", "seed7-b", "--seed", "7", NULL);
    g_autofree char *z = make_model("tiny", "seed8", "--seed", "8", NULL);
    static const char *const files[] = {
        "config.json",
        "generation_config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "model.safetensors",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autoptr(GBytes) a = read_in(x, files[i]);
        g_autoptr(GBytes) b = read_in(y, files[i]);
        g_autoptr(GBytes) c = read_in(z, files[i]);
        g_assert_true(g_bytes_equal(a, b));
        /* another seed changes the weights only */
        if (strcmp(files[i], "model.safetensors") == 0)
            g_assert_false(g_bytes_equal(a, c));
        else
            g_assert_true(g_bytes_equal(a, c));
    }
}

/* --shard-size splits the weights like the hub, with an index; the values
 * are those of the single file. */
static void test_sharded(void)
{
    g_autofree char *one = make_model("tiny", "one", NULL);
    g_autofree char *many =
        make_model("tiny", "many", "--shard-size", "300000", NULL);
    g_assert_false(exists(many, "model.safetensors"));
    g_assert_true(exists(many, "model.safetensors.index.json"));
    g_assert_true(exists(many, "model-00001-of-00003.safetensors"));
    g_assert_true(exists(many, "model-00003-of-00003.safetensors"));
    pali_model *a = load(one), *b = load(many);
    g_assert_cmpint(b->n_files, ==, 3);
    g_assert_cmpint(pali_model_get_info(b)->n_tensors, ==, 85);
    g_assert_cmpuint(pali_model_get_info(b)->weight_bytes, ==,
                     pali_model_get_info(a)->weight_bytes);
    g_assert_cmpmem(a->embed.data, a->embed.nbytes, b->embed.data,
                    b->embed.nbytes);
    /* the norms and biases: same values at the same places, whatever
     * order the shards were mapped in */
    const float *const va[] = {
        a->vision[0].ln1_w,    a->vision[1].fc1_b,       a->post_ln_b,
        a->text[0].input_norm, a->text[3].post_ffw_norm, a->final_norm
    };
    const float *const vb[] = {
        b->vision[0].ln1_w,    b->vision[1].fc1_b,       b->post_ln_b,
        b->text[0].input_norm, b->text[3].post_ffw_norm, b->final_norm
    };
    for (size_t i = 0; i < G_N_ELEMENTS(va); i++) {
        g_assert_cmpint(va[i] - a->vectors, ==, vb[i] - b->vectors);
        g_assert_cmpmem(va[i], 64 * sizeof(float), vb[i], 64 * sizeof(float));
    }
    /* the index: total_size and a weight_map entry per tensor */
    g_autofree char *ipath =
        g_build_filename(many, "model.safetensors.index.json", NULL);
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_json_parse_file(ipath, 1 << 20, &doc, &err), ==,
                    PALI_OK);
    const pali_json *root = pali_json_root(doc);
    g_assert_cmpint(
        pali_json_get(pali_json_get(root, "metadata"), "total_size")->integer,
        ==, 1931008 / 2);
    g_assert_cmpuint(pali_json_get(root, "weight_map")->len, ==, 85);
    pali_json_free(doc);
    /* rewriting into the same directory replaces the old shards */
    g_autofree char *again = make_model("tiny", "many", NULL);
    g_assert_true(exists(again, "model.safetensors"));
    g_assert_false(exists(again, "model-00001-of-00003.safetensors"));
    g_assert_false(exists(again, "model.safetensors.index.json"));
    pali_model_free(a);
    pali_model_free(b);
}

static void test_custom(void)
{
    g_autofree char *dir =
        make_model("custom", "custom", "--image-size", "448", "--text-layers",
                   "3", "--text-hidden", "96", "--heads", "6", "--kv-heads",
                   "3", "--query-pre-attn-scalar", "24", "--attn-softcap", "0",
                   "--final-softcap", "0", "--sliding-window", "1000",
                   "--layout", "transformers", NULL);
    pali_model *m = load(dir);
    const pali_model_info *in = pali_model_get_info(m);
    g_assert_cmpint(in->image_size, ==, 448);
    g_assert_cmpint(in->n_image_tokens, ==, 1024);
    g_assert_cmpint(in->text_layers, ==, 3);
    g_assert_cmpint(in->text_hidden, ==, 96);
    g_assert_cmpint(in->n_heads, ==, 6);
    g_assert_cmpint(in->n_kv_heads, ==, 3);
    g_assert_cmpfloat(in->query_pre_attn_scalar, ==, 24.0f);
    g_assert_cmpfloat(in->attn_softcap, ==, 0.0f);
    g_assert_cmpfloat(in->final_softcap, ==, 0.0f);
    g_assert_cmpint(in->sliding_window, ==, 1000);
    g_assert_cmpint(in->n_tensors, ==, 5 + 16 * 2 + 2 + 2 + 11 * 3);
    g_assert_true(m->cfg.layer_sliding[0] && !m->cfg.layer_sliding[1] &&
                  m->cfg.layer_sliding[2]);
    pali_model_free(m);
    /* the same options in the hub layout (defaults left out) agree */
    g_autofree char *hub = make_model(
        "custom", "custom-hub", "--image-size", "448", "--text-layers", "3",
        "--text-hidden", "96", "--heads", "6", "--kv-heads", "3",
        "--query-pre-attn-scalar", "24", "--attn-softcap", "0",
        "--final-softcap", "0", "--sliding-window", "1000", NULL);
    m = load(hub);
    g_assert_cmpfloat(pali_model_get_info(m)->attn_softcap, ==, 0.0f);
    g_assert_cmpint(pali_model_get_info(m)->sliding_window, ==, 1000);
    pali_model_free(m);
}

static void test_bad_arguments(void)
{
    g_autofree char *tool = build_path("tools/palilens-make-model");
    g_autofree char *dir = g_build_filename(test_tmpdir(), "bad", NULL);
    char *cases[][6] = {
        { tool, "huge", dir, NULL },
        { tool, "tiny", NULL },
        { tool, "tiny", dir, "--dtype", "f16", NULL },
        { tool, "tiny", dir, "--layout", "gguf", NULL },
        { tool, "tiny", dir, "--image-size", "230", NULL },
        { tool, "tiny", dir, "--heads", "3", NULL },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL, *err = NULL;
        g_assert_cmpint(run(cases[i], &out, &err), ==, 2);
        g_assert_true(g_str_has_prefix(err, "palilens-make-model: "));
    }
    g_autofree char *out = NULL, *err = NULL;
    char *help[] = { tool, "--help", NULL };
    g_assert_cmpint(run(help, &out, &err), ==, 0);
    g_assert_nonnull(strstr(out, "28b-896"));
    g_assert_nonnull(strstr(out, "--text-hidden"));
}

/* The tokenizer's id layout (golden/README.md) and BPE consistency. */
static void test_tokenizer(void)
{
    g_autofree char *hub = make_model("tiny", "tok-hub", NULL);
    g_autofree char *tf =
        make_model("tiny", "tok-tf", "--layout", "transformers", NULL);
    const char *dirs[2] = { hub, tf };
    for (int k = 0; k < 2; k++) {
        g_autofree char *path =
            g_build_filename(dirs[k], "tokenizer.json", NULL);
        pali_json_doc *doc = NULL;
        pali_error err = { 0 };
        g_assert_cmpint(pali_json_parse_file(path, 64 << 20, &doc, &err), ==,
                        PALI_OK);
        const pali_json *root = pali_json_root(doc);
        const pali_json *model = pali_json_get(root, "model");
        g_assert_cmpstr(pali_json_get(model, "type")->u.string, ==, "BPE");
        g_assert_true(pali_json_get(model, "byte_fallback")->type ==
                      PALI_JSON_TRUE);
        const pali_json *vocab = pali_json_get(model, "vocab");
        g_assert_cmpuint(vocab->len, ==, 3200);
        struct {
            const char *piece;
            int id;
        } fixed[] = { { "<pad>", 0 },        { "<eos>", 1 },
                      { "<bos>", 2 },        { "<unk>", 3 },
                      { "<mask>", 4 },       { "<0x00>", 5 },
                      { "<0x0A>", 15 },      { "<0xFF>", 260 },
                      { "<loc0000>", 2048 }, { "<loc1023>", 3071 },
                      { "<seg000>", 3072 },  { "<seg127>", 3199 } };
        for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
            g_assert_cmpint(pali_json_get(vocab, fixed[i].piece)->integer, ==,
                            fixed[i].id);
        /* ids are 0..3199 in order; every piece is unique */
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        for (uint32_t i = 0; i < vocab->len; i++) {
            g_assert_cmpint(pali_json_value_at(vocab, i)->integer, ==, i);
            g_assert_true(g_hash_table_add(
                seen, (gpointer)pali_json_key_at(vocab, i)->u.string));
        }
        g_assert_cmpint(pali_json_get(vocab, "\n")->integer, >=, 261);
        g_assert_nonnull(pali_json_get(vocab, "\xe2\x96\x81the"));
        /* every merge joins two pieces into a third */
        const pali_json *merges = pali_json_get(model, "merges");
        g_assert_cmpuint(merges->len, >, 1000);
        for (uint32_t i = 0; i < merges->len; i++) {
            const pali_json *pair = &merges->u.items[i];
            g_assert_cmpuint(pair->len, ==, 2);
            const char *a = pair->u.items[0].u.string;
            const char *b = pair->u.items[1].u.string;
            g_assert_nonnull(pali_json_get(vocab, a));
            g_assert_nonnull(pali_json_get(vocab, b));
            g_autofree char *ab = g_strconcat(a, b, NULL);
            g_assert_nonnull(pali_json_get(vocab, ab));
        }
        /* <image> is a special added token; loc/seg are listed (not
         * special) only in the transformers layout */
        const pali_json *added = pali_json_get(root, "added_tokens");
        const pali_json *last = &added->u.items[added->len - 1];
        g_assert_cmpint(pali_json_get(last, "id")->integer, ==, 3200);
        g_assert_cmpstr(pali_json_get(last, "content")->u.string, ==,
                        "<image>");
        g_assert_true(pali_json_get(last, "special")->type == PALI_JSON_TRUE);
        g_assert_cmpuint(added->len, ==, k == 0 ? 6 : 6 + 1152);
        if (k == 1) {
            const pali_json *loc = &added->u.items[5];
            g_assert_cmpstr(pali_json_get(loc, "content")->u.string, ==,
                            "<loc0000>");
            g_assert_true(pali_json_get(loc, "special")->type ==
                          PALI_JSON_FALSE);
        }
        const pali_json *pre = pali_json_get(root, "pre_tokenizer");
        g_assert_true(k == 0 ? pre->type == PALI_JSON_NULL
                             : pre->type == PALI_JSON_OBJECT);
        g_assert_cmpstr(
            pali_json_get(pali_json_get(root, "normalizer"), "content")
                ->u.string,
            ==, "\xe2\x96\x81");
        pali_json_free(doc);
    }
}

static double mean_of(const float *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s / n;
}

/* The distributions of golden/README.md: norms, biases, padding rows. */
static void test_distributions(void)
{
    g_autofree char *dir = make_model("tiny", "dist", "--dtype", "f32", NULL);
    pali_model *m = load(dir);
    /* 64 values each: means within 4 standard errors (0.1 / 8 · 4) */
    g_assert_cmpfloat(fabs(mean_of(m->final_norm, 64) - 3.0), <, 0.05);
    g_assert_cmpfloat(fabs(mean_of(m->text[1].post_attn_norm, 64) - 1.5), <,
                      0.05);
    g_assert_cmpfloat(fabs(mean_of(m->text[1].input_norm, 64)), <, 0.05);
    g_assert_cmpfloat(fabs(mean_of(m->vision[0].ln1_w, 64) - 1.0), <, 0.05);
    g_assert_cmpfloat(fabs(mean_of(m->vision[0].q_b, 64)), <, 0.025);
    /* the <image> row and the padding rows sit near the mean row */
    const float *e = m->embed.data;
    double mean0 = 0, pad_dev = 0, row_dev = 0;
    for (int r = 0; r < 3200; r++)
        mean0 += e[r * 64];
    mean0 /= 3200;
    for (int r = 3200; r < 3264; r++)
        pad_dev = fmax(pad_dev, fabs(e[r * 64] - mean0));
    for (int r = 0; r < 3200; r++)
        row_dev = fmax(row_dev, fabs(e[r * 64] - mean0));
    g_assert_cmpfloat(pad_dev, <, 0.05); /* N(0, 0.01): within 5σ */
    g_assert_cmpfloat(row_dev, >, 0.25); /* N(0, 0.1) over 3200 rows */
    /* text q is 4× wider than v (attention logits large) */
    double q2 = 0, v2 = 0;
    const float *q = m->text[0].q_w.data, *v = m->text[0].v_w.data;
    for (int i = 0; i < 32 * 64; i++) {
        q2 += (double)q[i] * q[i];
        v2 += (double)v[i] * v[i];
    }
    g_assert_cmpfloat(sqrt(q2 / v2), >, 3.5);
    g_assert_cmpfloat(sqrt(q2 / v2), <, 4.5);
    pali_model_free(m);
}

static void test_cli_info(void)
{
    g_autofree char *dir = make_model("tiny", "cli", NULL);
    g_autofree char *cli = build_path("app/palilens-cli");
    char *argv[] = { cli, "--model", dir, "--info", "--json", NULL };
    pali_json_doc *doc = run_json(argv);
    const pali_json *o = pali_json_root(doc);
    g_assert_cmpstr(pali_json_get(o, "variant")->u.string, ==, "custom");
    g_assert_cmpstr(pali_json_get(o, "dtype")->u.string, ==, "bf16");
    g_assert_cmpstr(pali_json_get(o, "dir")->u.string, ==, dir);
    struct {
        const char *key;
        int64_t value;
    } ints[] = {
        { "n_tensors", 85 },
        { "image_size", 224 },
        { "patch_size", 14 },
        { "n_image_tokens", 256 },
        { "vision_hidden", 64 },
        { "vision_layers", 2 },
        { "text_hidden", 64 },
        { "text_intermediate", 128 },
        { "text_layers", 4 },
        { "n_heads", 4 },
        { "n_kv_heads", 2 },
        { "head_dim", 16 },
        { "query_pre_attn_scalar", 16 },
        { "attn_softcap", 50 },
        { "final_softcap", 30 },
        { "sliding_window", 4096 },
        { "vocab_rows", 3264 },
        { "image_token_id", 3200 },
        { "weight_bytes", 1931008 / 2 },
        { "rope_theta", 10000 },
        { "tokenizer_size", 3201 }, /* 3200 pieces and <image> */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ints); i++) {
        const pali_json *v = pali_json_get(o, ints[i].key);
        if (v == NULL || !v->is_integer || v->integer != ints[i].value)
            g_error("--json: %s is not %" G_GINT64_FORMAT, ints[i].key,
                    ints[i].value);
    }
    g_assert_cmpfloat(pali_json_get(o, "rms_norm_eps")->u.number, ==, 1e-6);
    pali_json_free(doc);

    /* null soft-caps come out as null */
    g_autofree char *nocap = make_model("tiny", "cli-nocap", "--attn-softcap",
                                        "0", "--final-softcap", "0", NULL);
    char *argv_nocap[] = { cli, "--model", nocap, "--info", "--json", NULL };
    doc = run_json(argv_nocap);
    g_assert_true(pali_json_get(pali_json_root(doc), "attn_softcap")->type ==
                  PALI_JSON_NULL);
    g_assert_true(pali_json_get(pali_json_root(doc), "final_softcap")->type ==
                  PALI_JSON_NULL);
    pali_json_free(doc);

    /* prose */
    char *argv_prose[] = { cli, "--model", dir, "--info", NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint(run(argv_prose, &out, &err), ==, 0);
    g_assert_nonnull(strstr(out, "variant         custom"));
    g_assert_nonnull(strstr(out, "bf16, 85 tensors"));
    g_assert_nonnull(strstr(out, "query_pre_attn_scalar 16, soft-cap 50"));

    /* errors: a broken model is status 1, a missing --model is usage (2) */
    g_autofree char *cfg = g_build_filename(dir, "config.json", NULL);
    g_assert_true(g_file_set_contents(cfg, "{\"model_type\": 7}", -1, NULL));
    g_free(out);
    g_free(err);
    g_assert_cmpint(run(argv, &out, &err), ==, 1);
    g_assert_cmpstr(out, ==, "");
    g_assert_nonnull(strstr(err, "config.json: model_type: expected a string"));
    char *argv_usage[] = { cli, "--info", NULL };
    g_free(out);
    g_free(err);
    g_assert_cmpint(run(argv_usage, &out, &err), ==, 2);
    g_assert_nonnull(strstr(err, "--model"));
}

/* A number member of obj (asserted present). */
static double number_at(const pali_json *obj, const char *key)
{
    const pali_json *v = pali_json_get(obj, key);
    if (v == NULL || v->type != PALI_JSON_NUMBER)
        g_error("palilens-bench --json: no number '%s'", key);
    return v->u.number;
}

/* palilens-bench's interface (issue 6, used by other checks): --json gives
 * one object with the phases' medians, peak RSS and the limits; the run
 * itself is the tiny model's, so the figures are only checked to be
 * measured, never against a time.  A broken model directory is status 1
 * with a message that names it. */
static void test_bench_json(void)
{
    g_autofree char *dir = make_model("tiny", "bench", NULL);
    g_autofree char *bench = build_path("tools/palilens-bench");
    char *argv[] = { bench,       "--model",    dir,
                     "--prompt",  "caption en", "--new-tokens",
                     "3",         "--repeat",   "2",
                     "--threads", "2",          "--quick-limits",
                     "--json",    NULL };
    pali_json_doc *doc = run_json(argv);
    const pali_json *root = pali_json_root(doc);
    static const char *const phases[] = {
        "load_ms",    "preprocess_ms", "vision_ms",
        "prefill_ms", "ttft_ms",       "decode_ms_per_token",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(phases); i++)
        g_assert_cmpfloat(number_at(root, phases[i]), >, 0);
    g_assert_cmpfloat(number_at(root, "ttft_ms"), >=,
                      number_at(root, "prefill_ms"));
    g_assert_cmpfloat(number_at(root, "peak_rss_mb"), >, 0);
    // a share of the weights in memory (-1: no /proc/self/smaps)
    const double huge = number_at(root, "weights_huge_fraction");
    g_assert_true(huge == -1 || (huge >= 0 && huge <= 1));
    g_assert_cmpfloat(number_at(root, "new_tokens"), ==, 3);
    g_assert_cmpfloat(number_at(root, "threads"), ==, 2);
    g_assert_cmpfloat(number_at(root, "repeat"), ==, 2);
    const pali_json *limits = pali_json_get(root, "limits");
    g_assert_nonnull(limits);
    g_assert_cmpfloat(number_at(limits, "read_gbps"), >, 0);
    // the model's own weights read after each run, and decode against
    // that rate
    g_assert_cmpfloat(number_at(limits, "weights_read_gbps"), >, 0);
    g_assert_cmpfloat(
        number_at(pali_json_get(root, "ratios"), "decode_over_weights_read"), >,
        0);
    const pali_json *mm = pali_json_get(limits, "matmul_gflops");
    g_assert_true(mm != NULL && mm->type == PALI_JSON_OBJECT);
    g_assert_cmpfloat(number_at(mm, "scalar"), >, 0); // every machine has it
    for (uint32_t i = 0; i < mm->len; i++)
        g_assert_cmpfloat(pali_json_value_at(mm, i)->u.number, >=, 0);
    // the per-phase samples: one per repeat
    const pali_json *ttfts =
        pali_json_get(pali_json_get(root, "samples"), "ttft_ms");
    g_assert_true(ttfts != NULL && ttfts->type == PALI_JSON_ARRAY);
    g_assert_cmpuint(ttfts->len, ==, 2);
    const pali_json *reads =
        pali_json_get(pali_json_get(root, "samples"), "weights_read_gbps");
    g_assert_true(reads != NULL && reads->type == PALI_JSON_ARRAY);
    g_assert_cmpuint(reads->len, ==, 2);
    pali_json_free(doc);

    // --ahead: each run followed by one whose image and prompt were
    // prepared ahead, which uses the kept prefill
    char *argv_ahead[] = {
        bench,          "--model", dir,        "--prompt", "caption en",
        "--new-tokens", "3",       "--repeat", "2",        "--quick-limits",
        "--ahead",      "--json",  NULL
    };
    doc = run_json(argv_ahead);
    root = pali_json_root(doc);
    g_assert_cmpfloat(number_at(root, "ahead_ttft_ms"), >, 0);
    g_assert_cmpfloat(number_at(root, "ahead_prefill_reused"), ==, 2);
    const pali_json *aheads =
        pali_json_get(pali_json_get(root, "samples"), "ahead_ttft_ms");
    g_assert_true(aheads != NULL && aheads->type == PALI_JSON_ARRAY);
    g_assert_cmpuint(aheads->len, ==, 2);
    pali_json_free(doc);

    g_autofree char *missing = g_build_filename(dir, "absent", NULL);
    char *argv_bad[] = { bench,    "--model", missing, "--quick-limits",
                         "--json", NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint(run(argv_bad, &out, &err), ==, 1);
    g_assert_nonnull(strstr(err, missing));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/tools/make-model/layouts-dtypes",
                    test_layouts_and_dtypes);
    g_test_add_func("/tools/make-model/deterministic", test_deterministic);
    g_test_add_func("/tools/make-model/sharded", test_sharded);
    g_test_add_func("/tools/make-model/custom", test_custom);
    g_test_add_func("/tools/make-model/bad-arguments", test_bad_arguments);
    g_test_add_func("/tools/make-model/tokenizer", test_tokenizer);
    g_test_add_func("/tools/bench/json", test_bench_json);
    g_test_add_func("/tools/make-model/distributions", test_distributions);
    g_test_add_func("/app/cli/info", test_cli_info);
    return g_test_run();
}
