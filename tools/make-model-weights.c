/* make-model-weights.c — random PaliGemma 2 weights for
 * palilens-make-model, streamed to safetensors files.
 *
 * Distributions follow the golden tiny models (golden/README.md "Weights
 * are random…"), so every parameter matters and outputs vary: Gemma
 * RMSNorm weights (used as 1 + w) input/pre-ffw ~N(0, 0.1),
 * post-attention/post-ffw ~N(1.5, 0.1), final ~N(3, 0.1); SigLIP LayerNorm
 * weights 1 + N(0, 0.1); biases N(0, 0.05); matrices N(0, clamp(1/√fan_in,
 * 0.02, 0.1)), text q/k ×4 (large attention logits, so the soft-cap
 * matters); the embedding N(0, 0.1) with the <image> and padding rows at
 * the mean embedding + N(0, 0.01), as the conversion script sets them.
 * The embedding and final norm are rescaled for sizes other than the
 * goldens' (EMBED_INPUT_RMS).
 *
 * Determinism: each tensor has its own generator seeded from --seed and
 * the tensor's canonical (layout-independent) name, so both layouts hold
 * identical values and the bytes do not depend on order or sharding.
 * Normals come from integer arithmetic only (a sum of eight uniform
 * 16-bit draws, Irwin–Hall, rescaled to unit variance) — no libm — so
 * the files are identical on every machine.
 *
 * Files: one model.safetensors when everything fits in one shard, else
 * model-0000k-of-0000n.safetensors split in module order as
 * huggingface_hub's split_torch_state_dict_into_shards does, each file's
 * header sorted by name and padded to 8 bytes ({"format": "pt"} metadata,
 * as the safetensors library writes), plus model.safetensors.index.json. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "make-model.h"
#include "tensor.h"

/* Elements generated per write: bounded memory whatever the tensor. */
#define CHUNK_ELEMS (1u << 20)
/* Writes go through a large stdio buffer. */
#define WRITE_BUFFER_BYTES (8u << 20)
/* Distribution constants (golden/README.md). */
#define MATRIX_STD_MIN 0.02
#define MATRIX_STD_MAX 0.1
#define TEXT_QK_SCALE  4.0
/* The goldens' text width and depth: the recipe above is theirs, and the
 * embedding and final norm are rescaled from it for other sizes. */
#define GOLDEN_TEXT_HIDDEN 64
#define GOLDEN_TEXT_LAYERS 4
/* Embedding std 0.1 at the goldens' size gives scaled input rows (× √Dt)
 * of RMS 0.8.  With the LM head tied, the current token's own row adds
 * about (input RMS · √Dt / final-state RMS) standard deviations to its
 * next-token logit; the final state's RMS grows as √layers, so at a fixed
 * 0.1 a 3B model mostly repeats its input token.  The input RMS is scaled
 * by √(64/Dt) · √(layers/4) to keep that bias at the goldens' level, and
 * the final norm (1 + w) grows by the inverse factor so the logits keep
 * their spread (std ≈ 3.2 at every size). */
#define EMBED_INPUT_RMS 0.8
/* <image> and padding rows: mean + noise of a tenth of the rows' std */
#define EMBED_PAD_RATIO 0.1
#define NORM_STD        0.1
#define BIAS_STD        0.05
#define POST_NORM_MEAN  1.5
#define FINAL_NORM_MEAN 3.0 /* at the goldens' size, see below */
#define SIGLIP_LN_MEAN  1.0

typedef enum {
    INIT_NORMAL,
    INIT_EMBED
} InitKind;

typedef struct {
    char *canon; /* transformers-5 name: the generator's seed */
    char *name;  /* as written (layout) */
    int n_dims;
    int64_t shape[4];
    uint64_t numel, nbytes;
    InitKind kind;
    double mean, std;
    int shard;
    uint64_t offset; /* in its shard's data section */
} Plan;

typedef struct {
    const MakeSpec *spec;
    GPtrArray *plans; /* Plan*, module order */
} Planner;

static void plan_free(gpointer p)
{
    Plan *t = p;
    g_free(t->canon);
    g_free(t->name);
    g_free(t);
}

static void add_plan(Planner *pl, const char *canon, int n_dims,
                     const int64_t *shape, InitKind kind, double mean,
                     double std)
{
    Plan *t = g_new0(Plan, 1);
    t->canon = g_strdup(canon);
    const char *vt = "vision_tower.";
    if (pl->spec->hub_layout && g_str_has_prefix(canon, vt))
        t->name =
            g_strconcat("vision_tower.vision_model.", canon + strlen(vt), NULL);
    else
        t->name = g_strdup(canon);
    t->n_dims = n_dims;
    t->numel = 1;
    for (int i = 0; i < n_dims; i++) {
        t->shape[i] = shape[i];
        t->numel *= (uint64_t)shape[i];
    }
    t->nbytes = t->numel * (pl->spec->bf16 ? 2 : 4);
    t->kind = kind;
    t->mean = mean;
    t->std = std;
    g_ptr_array_add(pl->plans, t);
}

static double matrix_std(int64_t fan_in, double scale)
{
    double s = 1.0 / sqrt((double)fan_in);
    return CLAMP(s, MATRIX_STD_MIN, MATRIX_STD_MAX) * scale;
}

static void add_matrix(Planner *pl, const char *canon, int64_t rows,
                       int64_t cols, double scale)
{
    add_plan(pl, canon, 2, (int64_t[]){ rows, cols }, INIT_NORMAL, 0,
             matrix_std(cols, scale));
}

static void add_vector(Planner *pl, const char *canon, int64_t n, double mean,
                       double std)
{
    add_plan(pl, canon, 1, &n, INIT_NORMAL, mean, std);
}

static void make_plan(Planner *pl)
{
    const MakeSpec *s = pl->spec;
    const int64_t dv = s->vision_hidden, iv = s->vision_intermediate;
    const int64_t p = s->patch_size, n = make_image_tokens(s);
    const int64_t dt = s->text_hidden, it = s->text_intermediate;
    const int64_t q = (int64_t)s->n_heads * s->head_dim;
    const int64_t kv = (int64_t)s->n_kv_heads * s->head_dim;
    char name[160];

    /* SigLIP */
    add_plan(pl, "vision_tower.embeddings.patch_embedding.weight", 4,
             (int64_t[]){ dv, 3, p, p }, INIT_NORMAL, 0,
             matrix_std(3 * p * p, 1));
    add_vector(pl, "vision_tower.embeddings.patch_embedding.bias", dv, 0,
               BIAS_STD);
    add_matrix(pl, "vision_tower.embeddings.position_embedding.weight", n, dv,
               1);
    for (int i = 0; i < s->vision_layers; i++) {
#define V(suffix)                                                              \
    (g_snprintf(name, sizeof(name), "vision_tower.encoder.layers.%d.%s", i,    \
                suffix),                                                       \
     name)
        static const char *const proj[] = { "k_proj", "v_proj", "q_proj",
                                            "out_proj" };
        for (int k = 0; k < 4; k++) {
            char w[64], b[64];
            g_snprintf(w, sizeof(w), "self_attn.%s.weight", proj[k]);
            g_snprintf(b, sizeof(b), "self_attn.%s.bias", proj[k]);
            add_matrix(pl, V(w), dv, dv, 1);
            add_vector(pl, V(b), dv, 0, BIAS_STD);
        }
        add_vector(pl, V("layer_norm1.weight"), dv, SIGLIP_LN_MEAN, NORM_STD);
        add_vector(pl, V("layer_norm1.bias"), dv, 0, BIAS_STD);
        add_matrix(pl, V("mlp.fc1.weight"), iv, dv, 1);
        add_vector(pl, V("mlp.fc1.bias"), iv, 0, BIAS_STD);
        add_matrix(pl, V("mlp.fc2.weight"), dv, iv, 1);
        add_vector(pl, V("mlp.fc2.bias"), dv, 0, BIAS_STD);
        add_vector(pl, V("layer_norm2.weight"), dv, SIGLIP_LN_MEAN, NORM_STD);
        add_vector(pl, V("layer_norm2.bias"), dv, 0, BIAS_STD);
#undef V
    }
    add_vector(pl, "vision_tower.post_layernorm.weight", dv, SIGLIP_LN_MEAN,
               NORM_STD);
    add_vector(pl, "vision_tower.post_layernorm.bias", dv, 0, BIAS_STD);

    /* projector */
    add_matrix(pl, "multi_modal_projector.linear.weight", dt, dv, 1);
    add_vector(pl, "multi_modal_projector.linear.bias", dt, 0, BIAS_STD);

    /* Gemma 2 */
    /* input rows' RMS relative to the goldens' (see EMBED_INPUT_RMS) */
    double input_scale = sqrt((double)GOLDEN_TEXT_HIDDEN / (double)dt) *
                         sqrt((double)s->text_layers / GOLDEN_TEXT_LAYERS);
    add_plan(pl, "language_model.model.embed_tokens.weight", 2,
             (int64_t[]){ make_vocab_rows(s), dt }, INIT_EMBED, 0,
             EMBED_INPUT_RMS * input_scale / sqrt((double)dt));
    for (int j = 0; j < s->text_layers; j++) {
#define T(suffix)                                                              \
    (g_snprintf(name, sizeof(name), "language_model.model.layers.%d.%s", j,    \
                suffix),                                                       \
     name)
        add_matrix(pl, T("self_attn.q_proj.weight"), q, dt, TEXT_QK_SCALE);
        add_matrix(pl, T("self_attn.k_proj.weight"), kv, dt, TEXT_QK_SCALE);
        add_matrix(pl, T("self_attn.v_proj.weight"), kv, dt, 1);
        add_matrix(pl, T("self_attn.o_proj.weight"), dt, q, 1);
        add_matrix(pl, T("mlp.gate_proj.weight"), it, dt, 1);
        add_matrix(pl, T("mlp.up_proj.weight"), it, dt, 1);
        add_matrix(pl, T("mlp.down_proj.weight"), dt, it, 1);
        add_vector(pl, T("input_layernorm.weight"), dt, 0, NORM_STD);
        add_vector(pl, T("post_attention_layernorm.weight"), dt, POST_NORM_MEAN,
                   NORM_STD);
        add_vector(pl, T("pre_feedforward_layernorm.weight"), dt, 0, NORM_STD);
        add_vector(pl, T("post_feedforward_layernorm.weight"), dt,
                   POST_NORM_MEAN, NORM_STD);
#undef T
    }
    add_vector(pl, "language_model.model.norm.weight", dt,
               (1 + FINAL_NORM_MEAN) / input_scale - 1, NORM_STD);
}

/* ---- random numbers ----------------------------------------------------- */

typedef struct {
    uint64_t state;
} Rng;

static uint64_t rng_next(Rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static Rng rng_for(uint64_t seed, const char *name, const char *stream)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over name and stream */
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    for (const char *p = stream; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    Rng r = { seed ^ h };
    rng_next(&r);
    return r;
}

/* ≈ N(0, 1): eight uniform 16-bit draws summed (mean 8 · 32767.5, variance
 * 8 · (65536² − 1) / 12), centred and scaled; within ±4.9σ. */
static double rng_normal(Rng *r)
{
    uint64_t a = rng_next(r), b = rng_next(r);
    int64_t sum = 0;
    for (int i = 0; i < 4; i++) {
        sum += (int64_t)((a >> (16 * i)) & 0xffff);
        sum += (int64_t)((b >> (16 * i)) & 0xffff);
    }
    const double center = 8 * 32767.5;
    /* sqrt is correctly rounded (IEEE 754), so this is the same
     * everywhere */
    const double std = sqrt(8.0 * (65536.0 * 65536.0 - 1.0) / 12.0);
    return ((double)sum - center) / std;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct {
    FILE *f;
    const char *path;
    bool bf16;
    float *buf;     /* (CHUNK_ELEMS) */
    uint16_t *half; /* (CHUNK_ELEMS) */
    size_t fill;
    GError **error;
    bool failed;
} Sink;

static void sink_flush(Sink *s)
{
    if (s->fill == 0 || s->failed)
        return;
    size_t n;
    if (s->bf16) {
        for (size_t i = 0; i < s->fill; i++)
            s->half[i] = pali_f32_to_bf16(s->buf[i]);
        n = fwrite(s->half, 2, s->fill, s->f);
    } else {
        n = fwrite(s->buf, 4, s->fill, s->f);
    }
    if (n != s->fill) {
        g_set_error(s->error, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "%s: write failed (disk full?)", s->path);
        s->failed = true;
    }
    s->fill = 0;
}

static void sink_put(Sink *s, float x)
{
    s->buf[s->fill++] = x;
    if (s->fill == CHUNK_ELEMS)
        sink_flush(s);
}

static void write_normal(Sink *s, const Plan *t, uint64_t seed)
{
    Rng r = rng_for(seed, t->canon, "");
    for (uint64_t i = 0; i < t->numel && !s->failed; i++)
        sink_put(s, (float)(t->mean + t->std * rng_normal(&r)));
}

/* Rows below the <image> id are N(0, std); <image> and the padding rows
 * sit at the mean of those rows + N(0, std / 10).  Two passes over the same
 * generator: the first only sums the columns. */
static void write_embedding(Sink *s, const Plan *t, const MakeSpec *spec)
{
    int64_t rows = t->shape[0], dim = t->shape[1];
    int64_t real = make_image_token_id(spec);
    double *mean = g_new0(double, dim);
    Rng r = rng_for(spec->seed, t->canon, "");
    for (int64_t i = 0; i < real; i++)
        for (int64_t d = 0; d < dim; d++)
            mean[d] += (float)(t->std * rng_normal(&r));
    for (int64_t d = 0; d < dim; d++)
        mean[d] /= (double)real;
    r = rng_for(spec->seed, t->canon, "");
    for (int64_t i = 0; i < real && !s->failed; i++)
        for (int64_t d = 0; d < dim; d++)
            sink_put(s, (float)(t->std * rng_normal(&r)));
    Rng pad = rng_for(spec->seed, t->canon, "#padding");
    for (int64_t i = real; i < rows && !s->failed; i++)
        for (int64_t d = 0; d < dim; d++)
            sink_put(s, (float)(mean[d] +
                                EMBED_PAD_RATIO * t->std * rng_normal(&pad)));
    g_free(mean);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    const Plan *x = *(Plan *const *)a, *y = *(Plan *const *)b;
    return strcmp(x->name, y->name);
}

static char *shard_name(int k, int n)
{
    if (n == 1)
        return g_strdup("model.safetensors");
    return g_strdup_printf("model-%05d-of-%05d.safetensors", k + 1, n);
}

/* The safetensors header of one shard (offsets already assigned). */
static GString *shard_header(GPtrArray *members, const MakeSpec *spec)
{
    GString *h = g_string_new("{\"__metadata__\":{\"format\":\"pt\"}");
    for (guint i = 0; i < members->len; i++) {
        const Plan *t = g_ptr_array_index(members, i);
        g_string_append_printf(h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                               t->name, spec->bf16 ? "BF16" : "F32");
        for (int d = 0; d < t->n_dims; d++)
            g_string_append_printf(h, "%s%" G_GINT64_FORMAT, d ? "," : "",
                                   t->shape[d]);
        g_string_append_printf(h,
                               "],\"data_offsets\":[%" G_GUINT64_FORMAT
                               ",%" G_GUINT64_FORMAT "]}",
                               t->offset, t->offset + t->nbytes);
    }
    g_string_append_c(h, '}');
    while (h->len % 8 != 0)
        g_string_append_c(h, ' ');
    return h;
}

static gboolean write_shard(const MakeSpec *spec, const char *dir,
                            GPtrArray *members, const char *file, int k,
                            int n_shards, bool verbose, GError **error)
{
    g_ptr_array_sort(members, compare_names);
    uint64_t off = 0;
    for (guint i = 0; i < members->len; i++) {
        Plan *t = g_ptr_array_index(members, i);
        t->offset = off;
        off += t->nbytes;
    }
    GString *h = shard_header(members, spec);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "%s: cannot create: %s", path, g_strerror(errno));
        g_string_free(h, TRUE);
        return FALSE;
    }
    setvbuf(f, NULL, _IOFBF, WRITE_BUFFER_BYTES);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)h->len >> (8 * i));
    Sink s = { .f = f, .path = path, .bf16 = spec->bf16, .error = error };
    s.buf = g_new(float, CHUNK_ELEMS);
    s.half = g_new(uint16_t, CHUNK_ELEMS);
    if (fwrite(len, 1, 8, f) != 8 || fwrite(h->str, 1, h->len, f) != h->len) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: write failed",
                    path);
        s.failed = true;
    }
    for (guint i = 0; i < members->len && !s.failed; i++) {
        const Plan *t = g_ptr_array_index(members, i);
        if (t->kind == INIT_EMBED)
            write_embedding(&s, t, spec);
        else
            write_normal(&s, t, spec->seed);
        sink_flush(&s);
        if (verbose && (i + 1) % 64 == 0)
            g_printerr("  %s: %u/%u tensors\r", file, i + 1, members->len);
    }
    if (fclose(f) != 0 && !s.failed) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "%s: write failed (disk full?)", path);
        s.failed = true;
    }
    if (verbose && !s.failed)
        g_printerr("  %s: %u tensors (shard %d of %d)      \n", file,
                   members->len, k + 1, n_shards);
    g_free(s.buf);
    g_free(s.half);
    g_string_free(h, TRUE);
    return !s.failed;
}

static gboolean write_index(const MakeSpec *spec, const char *dir,
                            GPtrArray *plans, char **shard_files,
                            GError **error)
{
    uint64_t total = 0, params = 0;
    GPtrArray *sorted = g_ptr_array_new();
    for (guint i = 0; i < plans->len; i++) {
        const Plan *t = g_ptr_array_index(plans, i);
        total += t->nbytes;
        params += t->numel;
        g_ptr_array_add(sorted, (gpointer)t);
    }
    g_ptr_array_sort(sorted, compare_names);
    GString *j = g_string_new("{\n  \"metadata\": {\n");
    /* transformers 5 also records the parameter count */
    if (!spec->hub_layout)
        g_string_append_printf(
            j, "    \"total_parameters\": %" G_GUINT64_FORMAT ",\n", params);
    g_string_append_printf(j,
                           "    \"total_size\": %" G_GUINT64_FORMAT
                           "\n  },\n  \"weight_map\": {\n",
                           total);
    for (guint i = 0; i < sorted->len; i++) {
        const Plan *t = g_ptr_array_index(sorted, i);
        g_string_append_printf(j, "    \"%s\": \"%s\"%s\n", t->name,
                               shard_files[t->shard],
                               i + 1 < sorted->len ? "," : "");
    }
    g_string_append(j, "  }\n}\n");
    g_autofree char *path =
        g_build_filename(dir, "model.safetensors.index.json", NULL);
    gboolean ok = g_file_set_contents(path, j->str, (gssize)j->len, error);
    g_string_free(j, TRUE);
    g_ptr_array_free(sorted, TRUE);
    return ok;
}

gboolean make_model_write_weights(const MakeSpec *spec, const char *dir,
                                  bool verbose, GError **error)
{
    Planner pl = { spec, g_ptr_array_new_with_free_func(plan_free) };
    make_plan(&pl);
    /* split in module order; a new shard starts when the next tensor
     * would overflow the current one */
    int n_shards = 0;
    uint64_t fill = 0;
    for (guint i = 0; i < pl.plans->len; i++) {
        Plan *t = g_ptr_array_index(pl.plans, i);
        if (n_shards == 0 ||
            (fill > 0 && fill + t->nbytes > spec->shard_bytes)) {
            n_shards++;
            fill = 0;
        }
        t->shard = n_shards - 1;
        fill += t->nbytes;
    }
    char **files = g_new0(char *, n_shards + 1);
    for (int k = 0; k < n_shards; k++)
        files[k] = shard_name(k, n_shards);
    gboolean ok = TRUE;
    for (int k = 0; k < n_shards && ok; k++) {
        GPtrArray *members = g_ptr_array_new();
        for (guint i = 0; i < pl.plans->len; i++) {
            Plan *t = g_ptr_array_index(pl.plans, i);
            if (t->shard == k)
                g_ptr_array_add(members, t);
        }
        ok = write_shard(spec, dir, members, files[k], k, n_shards, verbose,
                         error);
        g_ptr_array_free(members, TRUE);
    }
    if (ok && n_shards > 1)
        ok = write_index(spec, dir, pl.plans, files, error);
    g_strfreev(files);
    g_ptr_array_free(pl.plans, TRUE);
    return ok;
}
