/* model.c — pali_model_load: a PaliGemma 2 model directory → struct
 * pali_model (model.h), without copying or reading the weights.
 *
 * Tensor names follow TENSOR_NAMES.md: the hub layout (A, SigLIP under
 * "vision_tower.vision_model."), transformers 5's save_pretrained layout
 * (B, without "vision_model."), and transformers 5's module names (C, a
 * leading "model." and "language_model." without ".model"), all mapped to
 * one canonical form (B's).  Every tensor the config implies must be there
 * with exactly its shape, nothing else may be; a tied lm_head copy is
 * allowed and ignored (the LM head is the embedding).  Matrices stay
 * zero-copy views into the mmapped files; 1-D parameters (norms, biases)
 * are converted once to f32, which is the only tensor data read here. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "internal.h"
#include "model.h"
#include "quant.h"
#include "safetensors.h"
#include "strmap.h"
#include "tokenizer.h"

/* 1-D parameters start on 64-byte boundaries (16 floats) for the vector
 * kernels that read them. */
#define VECTOR_ALIGN_FLOATS 16
/* Canonical names are at most this long (the longest real one is 64). */
#define NAME_MAX_BYTES 160

#define HUB_VISION_PREFIX "vision_tower.vision_model."
#define CANON_LM_HEAD     "lm_head.weight"

/* One checkpoint tensor under its canonical name. */
typedef struct entry {
    const pali_tensor *t;
    const pali_safetensors *file;
    int file_index; /* in model->files */
    char *canon;
    bool used;
} entry;

/* A 1-D parameter waiting for its f32 copy. Its place in model->vectors
 * follows the order of binding, whatever the files; they are read in file
 * order. */
typedef struct pending_vector {
    const pali_tensor *t;
    const float **dst;
    int file_index;
    size_t at; /* floats into model->vectors */
} pending_vector;

typedef struct binder {
    pali_model *model;
    entry *entries; /* (n_entries) */
    int n_entries;
    pali_strmap by_canon;
    bool hub_layout; /* names in messages follow the checkpoint's layout */
    pending_vector *vectors;
    int n_vectors, cap_vectors;
    size_t vector_floats; /* with alignment padding */
    int n_bound;
    pali_error *err;
} binder;

pali_model_params pali_model_default_params(void)
{
    pali_model_params p;
    memset(&p, 0, sizeof(p));
    p.weights = PALI_WEIGHTS_AS_STORED;
    p.cache_dir = NULL;
    p.n_threads = 0;
    return p;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* TENSOR_NAMES.md "Loader rules": layouts A, B and C → B. */
static char *canonical_name(const char *name)
{
    char buf[NAME_MAX_BYTES * 2];
    const char *n = name;
    if (starts_with(n, "model."))
        n += strlen("model.");
    if (starts_with(n, HUB_VISION_PREFIX))
        snprintf(buf, sizeof(buf), "vision_tower.%s",
                 n + strlen(HUB_VISION_PREFIX));
    else if (starts_with(n, "language_model.lm_head."))
        snprintf(buf, sizeof(buf), "lm_head.%s",
                 n + strlen("language_model.lm_head."));
    else if (starts_with(n, "language_model.") &&
             !starts_with(n, "language_model.model."))
        snprintf(buf, sizeof(buf), "language_model.model.%s",
                 n + strlen("language_model."));
    else
        snprintf(buf, sizeof(buf), "%s", n);
    return pali_strdup(buf);
}

/* The canonical name as the checkpoint's layout would spell it. */
static void display_name(const binder *b, const char *canon, char *buf,
                         size_t size)
{
    if (b->hub_layout && starts_with(canon, "vision_tower."))
        snprintf(buf, size, "%s%s", HUB_VISION_PREFIX,
                 canon + strlen("vision_tower."));
    else
        snprintf(buf, size, "%s", canon);
}

static void format_shape(const int64_t *shape, int n_dims, char *buf,
                         size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n_dims && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? ", " : "",
                              (long long)shape[i]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

static pali_status index_tensors(binder *b)
{
    pali_model *m = b->model;
    size_t total = 0;
    for (int f = 0; f < m->n_files; f++)
        total += (size_t)pali_safetensors_count(m->files[f]);
    b->entries = pali_calloc_array(total, sizeof(*b->entries));
    if (b->entries == NULL)
        return pali_fail(b->err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    pali_status s = pali_strmap_init(&b->by_canon, total, b->err);
    if (s != PALI_OK)
        return s;
    for (int f = 0; f < m->n_files; f++) {
        const pali_safetensors *st = m->files[f];
        for (int i = 0; i < pali_safetensors_count(st); i++) {
            entry *e = &b->entries[b->n_entries];
            e->t = pali_safetensors_at(st, i);
            e->file = st;
            e->file_index = f;
            e->canon = canonical_name(e->t->name);
            if (e->canon == NULL)
                return pali_fail(b->err, PALI_ERR_OUT_OF_MEMORY,
                                 "out of memory");
            b->n_entries++;
            if (starts_with(e->t->name, HUB_VISION_PREFIX) ||
                starts_with(e->t->name, "model." HUB_VISION_PREFIX))
                b->hub_layout = true;
            int existing;
            if ((s = pali_strmap_put(&b->by_canon, e->canon, b->n_entries - 1,
                                     &existing, b->err)))
                return s;
            if (existing >= 0) {
                const entry *o = &b->entries[existing];
                return pali_fail(b->err, PALI_ERR_FORMAT,
                                 "%s: tensors '%s' and '%s' (%s) are the same "
                                 "parameter under two names",
                                 pali_safetensors_path(st), e->t->name,
                                 o->t->name, pali_safetensors_path(o->file));
            }
        }
    }
    return PALI_OK;
}

/* Finds the tensor `canon` and checks its shape. */
static pali_status find(binder *b, const char *canon, int n_dims,
                        const int64_t *shape, const pali_tensor **out)
{
    int i = pali_strmap_get(&b->by_canon, canon);
    char shown[NAME_MAX_BYTES + 32];
    display_name(b, canon, shown, sizeof(shown));
    char want[96];
    format_shape(shape, n_dims, want, sizeof(want));
    if (i < 0)
        return pali_fail(b->err, PALI_ERR_NOT_FOUND,
                         "%s: tensor '%s' %s is missing from the checkpoint",
                         b->model->dir, shown, want);
    entry *e = &b->entries[i];
    bool same = e->t->n_dims == n_dims;
    for (int d = 0; same && d < n_dims; d++)
        same = e->t->shape[d] == shape[d];
    if (!same) {
        char have[96];
        format_shape(e->t->shape, e->t->n_dims, have, sizeof(have));
        return pali_fail(b->err, PALI_ERR_FORMAT,
                         "%s: tensor '%s' has shape %s, but config.json "
                         "implies %s",
                         pali_safetensors_path(e->file), e->t->name, have,
                         want);
    }
    e->used = true;
    b->n_bound++;
    *out = e->t;
    return PALI_OK;
}

static pali_status bind_matrix(binder *b, pali_tensor *dst, int n_dims,
                               const int64_t *shape, const char *fmt, ...)
    PALI_PRINTF(5, 6);

static pali_status bind_matrix(binder *b, pali_tensor *dst, int n_dims,
                               const int64_t *shape, const char *fmt, ...)
{
    char canon[NAME_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(canon, sizeof(canon), fmt, ap);
    va_end(ap);
    const pali_tensor *t;
    pali_status s = find(b, canon, n_dims, shape, &t);
    if (s == PALI_OK)
        *dst = *t;
    return s;
}

static pali_status bind_vector(binder *b, const float **dst, int64_t len,
                               const char *fmt, ...) PALI_PRINTF(4, 5);

static pali_status bind_vector(binder *b, const float **dst, int64_t len,
                               const char *fmt, ...)
{
    char canon[NAME_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(canon, sizeof(canon), fmt, ap);
    va_end(ap);
    const pali_tensor *t;
    pali_status s = find(b, canon, 1, &len, &t);
    if (s != PALI_OK)
        return s;
    if (b->n_vectors == b->cap_vectors) {
        int cap = b->cap_vectors ? 2 * b->cap_vectors : 64;
        pending_vector *v =
            realloc(b->vectors, (size_t)cap * sizeof(*b->vectors));
        if (v == NULL)
            return pali_fail(b->err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
        b->vectors = v;
        b->cap_vectors = cap;
    }
    int file_index =
        b->entries[pali_strmap_get(&b->by_canon, canon)].file_index;
    b->vectors[b->n_vectors++] =
        (pending_vector){ t, dst, file_index, b->vector_floats };
    size_t padded = ((size_t)len + VECTOR_ALIGN_FLOATS - 1) /
                    VECTOR_ALIGN_FLOATS * VECTOR_ALIGN_FLOATS;
    b->vector_floats += padded;
    return PALI_OK;
}

static pali_status bind_vision(binder *b)
{
    pali_model *m = b->model;
    const pali_model_info *in = &m->cfg.info;
    const int64_t dv = in->vision_hidden, iv = in->vision_intermediate;
    const int64_t p = in->patch_size, n = in->n_image_tokens;
    const char *e = "vision_tower.embeddings";
    pali_status s;
    if ((s = bind_matrix(b, &m->patch_w, 4, (int64_t[]){ dv, 3, p, p },
                         "%s.patch_embedding.weight", e)) ||
        (s = bind_vector(b, &m->patch_b, dv, "%s.patch_embedding.bias", e)) ||
        (s = bind_matrix(b, &m->pos_emb, 2, (int64_t[]){ n, dv },
                         "%s.position_embedding.weight", e)))
        return s;
    m->vision =
        pali_calloc_array((size_t)in->vision_layers, sizeof(*m->vision));
    if (m->vision == NULL)
        return pali_fail(b->err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < in->vision_layers; i++) {
        pali_siglip_layer *l = &m->vision[i];
        char pre[64];
        snprintf(pre, sizeof(pre), "vision_tower.encoder.layers.%d", i);
        const int64_t sq[2] = { dv, dv }, up[2] = { iv, dv },
                      down[2] = { dv, iv };
        if ((s = bind_vector(b, &l->ln1_w, dv, "%s.layer_norm1.weight", pre)) ||
            (s = bind_vector(b, &l->ln1_b, dv, "%s.layer_norm1.bias", pre)) ||
            (s = bind_matrix(b, &l->q_w, 2, sq, "%s.self_attn.q_proj.weight",
                             pre)) ||
            (s = bind_vector(b, &l->q_b, dv, "%s.self_attn.q_proj.bias",
                             pre)) ||
            (s = bind_matrix(b, &l->k_w, 2, sq, "%s.self_attn.k_proj.weight",
                             pre)) ||
            (s = bind_vector(b, &l->k_b, dv, "%s.self_attn.k_proj.bias",
                             pre)) ||
            (s = bind_matrix(b, &l->v_w, 2, sq, "%s.self_attn.v_proj.weight",
                             pre)) ||
            (s = bind_vector(b, &l->v_b, dv, "%s.self_attn.v_proj.bias",
                             pre)) ||
            (s = bind_matrix(b, &l->o_w, 2, sq, "%s.self_attn.out_proj.weight",
                             pre)) ||
            (s = bind_vector(b, &l->o_b, dv, "%s.self_attn.out_proj.bias",
                             pre)) ||
            (s = bind_vector(b, &l->ln2_w, dv, "%s.layer_norm2.weight", pre)) ||
            (s = bind_vector(b, &l->ln2_b, dv, "%s.layer_norm2.bias", pre)) ||
            (s = bind_matrix(b, &l->fc1_w, 2, up, "%s.mlp.fc1.weight", pre)) ||
            (s = bind_vector(b, &l->fc1_b, iv, "%s.mlp.fc1.bias", pre)) ||
            (s = bind_matrix(b, &l->fc2_w, 2, down, "%s.mlp.fc2.weight",
                             pre)) ||
            (s = bind_vector(b, &l->fc2_b, dv, "%s.mlp.fc2.bias", pre)))
            return s;
    }
    if ((s = bind_vector(b, &m->post_ln_w, dv,
                         "vision_tower.post_layernorm.weight")) ||
        (s = bind_vector(b, &m->post_ln_b, dv,
                         "vision_tower.post_layernorm.bias")))
        return s;
    const int64_t dt = in->text_hidden;
    if ((s = bind_matrix(b, &m->proj_w, 2, (int64_t[]){ dt, dv },
                         "multi_modal_projector.linear.weight")) ||
        (s = bind_vector(b, &m->proj_b, dt,
                         "multi_modal_projector.linear.bias")))
        return s;
    return PALI_OK;
}

static pali_status bind_text(binder *b)
{
    pali_model *m = b->model;
    const pali_model_info *in = &m->cfg.info;
    const int64_t dt = in->text_hidden, it = in->text_intermediate;
    const int64_t q = (int64_t)in->n_heads * in->head_dim;
    const int64_t kv = (int64_t)in->n_kv_heads * in->head_dim;
    const char *lm = "language_model.model";
    pali_status s;
    if ((s = bind_matrix(b, &m->embed, 2, (int64_t[]){ in->vocab_rows, dt },
                         "%s.embed_tokens.weight", lm)))
        return s;
    m->text = pali_calloc_array((size_t)in->text_layers, sizeof(*m->text));
    if (m->text == NULL)
        return pali_fail(b->err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    for (int j = 0; j < in->text_layers; j++) {
        pali_gemma_layer *l = &m->text[j];
        char pre[64];
        snprintf(pre, sizeof(pre), "%s.layers.%d", lm, j);
        if ((s = bind_vector(b, &l->input_norm, dt, "%s.input_layernorm.weight",
                             pre)) ||
            (s = bind_matrix(b, &l->q_w, 2, (int64_t[]){ q, dt },
                             "%s.self_attn.q_proj.weight", pre)) ||
            (s = bind_matrix(b, &l->k_w, 2, (int64_t[]){ kv, dt },
                             "%s.self_attn.k_proj.weight", pre)) ||
            (s = bind_matrix(b, &l->v_w, 2, (int64_t[]){ kv, dt },
                             "%s.self_attn.v_proj.weight", pre)) ||
            (s = bind_matrix(b, &l->o_w, 2, (int64_t[]){ dt, q },
                             "%s.self_attn.o_proj.weight", pre)) ||
            (s = bind_vector(b, &l->post_attn_norm, dt,
                             "%s.post_attention_layernorm.weight", pre)) ||
            (s = bind_vector(b, &l->pre_ffw_norm, dt,
                             "%s.pre_feedforward_layernorm.weight", pre)) ||
            (s = bind_matrix(b, &l->gate_w, 2, (int64_t[]){ it, dt },
                             "%s.mlp.gate_proj.weight", pre)) ||
            (s = bind_matrix(b, &l->up_w, 2, (int64_t[]){ it, dt },
                             "%s.mlp.up_proj.weight", pre)) ||
            (s = bind_matrix(b, &l->down_w, 2, (int64_t[]){ dt, it },
                             "%s.mlp.down_proj.weight", pre)) ||
            (s = bind_vector(b, &l->post_ffw_norm, dt,
                             "%s.post_feedforward_layernorm.weight", pre)))
            return s;
    }
    return bind_vector(b, &m->final_norm, dt, "%s.norm.weight", lm);
}

/* A tied copy of the embedding is tolerated (the hub's conversion script
 * stored one); anything else left over is an error. */
static pali_status check_leftovers(binder *b)
{
    int i = pali_strmap_get(&b->by_canon, CANON_LM_HEAD);
    if (i >= 0) {
        entry *e = &b->entries[i];
        const pali_tensor *emb = &b->model->embed;
        bool same = e->t->n_dims == 2 && e->t->shape[0] == emb->shape[0] &&
                    e->t->shape[1] == emb->shape[1];
        if (!same) {
            char have[96], want[96];
            format_shape(e->t->shape, e->t->n_dims, have, sizeof(have));
            format_shape(emb->shape, emb->n_dims, want, sizeof(want));
            return pali_fail(b->err, PALI_ERR_FORMAT,
                             "%s: tensor '%s' has shape %s; a tied LM head "
                             "must match the embedding %s",
                             pali_safetensors_path(e->file), e->t->name, have,
                             want);
        }
        e->used = true; /* ignored: the LM head is the embedding */
    }
    for (int k = 0; k < b->n_entries; k++) {
        const entry *e = &b->entries[k];
        if (!e->used)
            return pali_fail(b->err, PALI_ERR_FORMAT,
                             "%s: unexpected tensor '%s': not part of a "
                             "PaliGemma 2 model with this config.json",
                             pali_safetensors_path(e->file), e->t->name);
    }
    return PALI_OK;
}

/* File order: by file, then by place in its mapping. */
static int compare_pending(const void *a, const void *b)
{
    const pending_vector *p = a, *q = b;
    if (p->file_index != q->file_index)
        return p->file_index < q->file_index ? -1 : 1;
    uintptr_t x = (uintptr_t)p->t->data, y = (uintptr_t)q->t->data;
    return x < y ? -1 : x > y;
}

/* Whether the pages of [p, p + n) were read before us: all resident
 * (mincore), or more than 16 pages (not a vector's).  Where it cannot
 * be told, resident: nothing is given back. */
static bool pages_resident(const void *p, size_t n)
{
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a, b;
    pali_page_span(p, n, &a, &b);
    unsigned char in[16];
    if ((b - a) / page > sizeof(in) || mincore((void *)a, b - a, in) != 0)
        return true;
    for (uintptr_t i = 0; i < (b - a) / page; i++)
        if (!(in[i] & 1))
            return false;
    return true;
}

/* Gives the page cache's pages of [p, p + n) back (MADV_PAGEOUT, Linux
 * 5.4; clean pages of a file only this process maps), so that the
 * forward pass reads their 2 MB stretch of the file into one 2 MB folio
 * (safetensors.h) where a 4 KB page read for a norm would keep the whole
 * stretch in 4 KB pages. */
static void give_back_pages(const void *p, size_t n)
{
#ifdef MADV_PAGEOUT
    uintptr_t a, b;
    pali_page_span(p, n, &a, &b);
    (void)madvise((void *)a, b - a, MADV_PAGEOUT);
#else
    (void)p;
    (void)n;
#endif
}

/* The one read of tensor data at load time: 1-D parameters → f32. */
static pali_status convert_vectors(binder *b)
{
    pali_model *m = b->model;
    m->vectors = pali_aligned_alloc(b->vector_floats * sizeof(float));
    if (m->vectors == NULL)
        return pali_fail(b->err, PALI_ERR_OUT_OF_MEMORY,
                         "out of memory for %zu norm and bias values",
                         b->vector_floats);
    memset(m->vectors, 0, b->vector_floats * sizeof(float)); /* the padding */
    /* read in file order, without the device's read-ahead: on a cold
     * cache each scattered page would otherwise pull in megabytes */
    qsort(b->vectors, (size_t)b->n_vectors, sizeof(*b->vectors),
          compare_pending);
    for (int f = 0; f < m->n_files; f++)
        pali_safetensors_advise_random(m->files[f], true);
    /* those read from the disk (a cold page cache) are given back after */
    bool *cold = pali_calloc_array((size_t)b->n_vectors, sizeof(bool));
    for (int i = 0; i < b->n_vectors; i++) {
        const pending_vector *v = &b->vectors[i];
        float *at = m->vectors + v->at;
        if (cold)
            cold[i] = !pages_resident(v->t->data, v->t->nbytes);
        pali_tensor_read_f32(v->t, 0, v->t->shape[0], at);
        *v->dst = at;
    }
    for (int i = 0; cold && i < b->n_vectors; i++)
        if (cold[i])
            give_back_pages(b->vectors[i].t->data, b->vectors[i].t->nbytes);
    free(cold);
    for (int f = 0; f < m->n_files; f++)
        pali_safetensors_advise_random(m->files[f], false);
    return PALI_OK;
}

/* info.dtype, n_tensors and weight_bytes, over the tensors the model uses. */
static void summarize(binder *b)
{
    pali_model *m = b->model;
    int first = -1;
    bool mixed = false;
    uint64_t bytes = 0;
    for (int k = 0; k < b->n_entries; k++) {
        const entry *e = &b->entries[k];
        if (strcmp(e->canon, CANON_LM_HEAD) == 0)
            continue;
        bytes += e->t->nbytes;
        if (first < 0)
            first = (int)e->t->dtype;
        else if ((int)e->t->dtype != first)
            mixed = true;
    }
    snprintf(m->cfg.dtype, sizeof(m->cfg.dtype), "%s",
             mixed ? "mixed" : pali_dtype_name((pali_dtype)first));
    m->n_tensors = b->n_bound;
    m->cfg.info.n_tensors = b->n_bound;
    m->cfg.info.weight_bytes = bytes;
}

static void binder_clear(binder *b)
{
    for (int k = 0; k < b->n_entries; k++)
        free(b->entries[k].canon);
    free(b->entries);
    free(b->vectors);
    pali_strmap_clear(&b->by_canon);
}

static pali_status bind_weights(pali_model *m, pali_error *err)
{
    binder b = { .model = m, .err = err };
    pali_status s;
    if ((s = index_tensors(&b)) == PALI_OK &&
        (s = bind_vision(&b)) == PALI_OK && (s = bind_text(&b)) == PALI_OK &&
        (s = check_leftovers(&b)) == PALI_OK &&
        (s = convert_vectors(&b)) == PALI_OK)
        summarize(&b);
    binder_clear(&b);
    return s;
}

/* The weight format asked for: as stored (zero-copy), bf16 (zero-copy
 * when stored so, else converted copies), q8 or q4 (the on-disk cache of
 * quant-cache.c, made on first use).  Then whatever it is must fit in RAM:
 * a model that does not is refused with the numbers, not left to thrash. */
static pali_status
apply_weights_param(pali_model *m, const pali_model_params *p, pali_error *err)
{
    pali_status s = PALI_OK;
    switch (p->weights) {
    case PALI_WEIGHTS_AS_STORED: break;
    case PALI_WEIGHTS_BF16:
        if (strcmp(m->cfg.dtype, "bf16") != 0)
            s = pali_weights_convert_bf16(m, p->n_threads, &p->callbacks, err);
        break;
    case PALI_WEIGHTS_Q8:
    case PALI_WEIGHTS_Q4: {
        const uint64_t need = pali_model_bytes_as(
            m, p->weights == PALI_WEIGHTS_Q8 ? PALI_DTYPE_Q8 : PALI_DTYPE_Q4);
        if (need > pali_ram_bytes())
            break; // refused below, before any conversion
        s = pali_quant_apply(
            m, p->weights == PALI_WEIGHTS_Q8 ? PALI_DTYPE_Q8 : PALI_DTYPE_Q4,
            p->cache_dir, p->n_threads, &p->callbacks, err);
        break;
    }
    default:
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "unknown weight format %d", (int)p->weights);
    }
    if (s != PALI_OK)
        return s;
    static const char *const names[] = { "as stored", "bf16", "q8", "q4" };
    const uint64_t have = pali_ram_bytes();
    uint64_t need = pali_model_resident_bytes(m);
    if (p->weights == PALI_WEIGHTS_Q8 || p->weights == PALI_WEIGHTS_Q4)
        need = pali_model_bytes_as(
            m, p->weights == PALI_WEIGHTS_Q8 ? PALI_DTYPE_Q8 : PALI_DTYPE_Q4);
    if (need > have) {
        char a[32], b[32], c[32], d[32];
        return pali_fail(
            err, PALI_ERR_OUT_OF_MEMORY,
            "%s: the %s weights (%s) need %s in memory; this machine has "
            "%s.  8-bit weights would need %s, 4-bit %s",
            m->dir, m->cfg.variant, names[p->weights],
            pali_format_bytes(need, a, sizeof(a)),
            pali_format_bytes(have, b, sizeof(b)),
            pali_format_bytes(pali_model_bytes_as(m, PALI_DTYPE_Q8), c,
                              sizeof(c)),
            pali_format_bytes(pali_model_bytes_as(m, PALI_DTYPE_Q4), d,
                              sizeof(d)));
    }
    return PALI_OK;
}

/* tokenizer.json beside the weights; its size bounds the ids the model
 * may generate (padding rows of the embedding are never chosen). */
static pali_status load_tokenizer(pali_model *m, pali_error *err)
{
    char *path = pali_path_join(m->dir, "tokenizer.json");
    if (path == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    pali_status s = pali_tokenizer_load(path, &m->tokenizer, err);
    free(path);
    // the tokenizer as PaliGemmaProcessor sets it up (<image>, <locNNNN>,
    // <segNNN> added tokens; no <bos> from the post-processor)
    if (s == PALI_OK)
        s = pali_tokenizer_add_paligemma_tokens(m->tokenizer, err);
    if (s != PALI_OK)
        return s;
    m->cfg.info.tokenizer_size = pali_tokenizer_size(m->tokenizer);
    return PALI_OK;
}

pali_status pali_model_load(const char *dir, const pali_model_params *params,
                            pali_model **out, pali_error *err)
{
    if (out == NULL || dir == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_model_load: no directory or output given");
    *out = NULL;
    pali_model_params defaults = pali_model_default_params();
    const pali_model_params *p = params ? params : &defaults;
    pali_model *m = calloc(1, sizeof(*m));
    if (m == NULL || (m->dir = pali_strdup(dir)) == NULL) {
        free(m);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    }
    pali_status s = pali_config_load(dir, &m->cfg, err);
    if (s == PALI_OK)
        s = pali_safetensors_open_dir(dir, &p->callbacks, &m->files,
                                      &m->n_files, err);
    if (s == PALI_OK)
        s = bind_weights(m, err);
    if (s == PALI_OK)
        s = apply_weights_param(m, p, err);
    if (s == PALI_OK)
        s = load_tokenizer(m, err);
    if (s != PALI_OK) {
        pali_model_free(m);
        return s;
    }
    m->cfg.info.dir = m->dir;
    m->prefault = pali_prefault_start(m);
    *out = m;
    return PALI_OK;
}

void pali_model_settle(pali_model *model)
{
    if (model)
        pali_prefault_wait(model->prefault);
}

void pali_model_free(pali_model *model)
{
    if (model == NULL)
        return;
    pali_prefault_stop(model->prefault); // before the mappings go
    pali_lmhead_clear(&model->lmhead);
    pali_tokenizer_free(model->tokenizer);
    pali_quant_release(model);
    pali_aligned_free(model->bf16_copy);
    pali_safetensors_close_all(model->files, model->n_files);
    pali_aligned_free(model->vectors);
    free(model->vision);
    free(model->text);
    pali_config_clear(&model->cfg);
    free(model->dir);
    free(model);
}

const pali_tokenizer *pali_model_get_tokenizer(const pali_model *model)
{
    return model ? model->tokenizer : NULL;
}

const pali_model_info *pali_model_get_info(const pali_model *model)
{
    return model ? &model->cfg.info : NULL;
}
