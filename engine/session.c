/* session.c — a pali_session: the per-thread state of inference (compute
 * pool and scratch, the cached image encoding, the KV cache, outputs) and
 * the generate loop: prompt ids → prefill → greedy or sampled decode, one
 * token at a time, streaming each token's text.
 *
 * Generation follows transformers' generate() with the PaliGemma processor:
 * ids = <image>×N <bos> prompt "\n"; the first token comes from the prefill
 * logits, each next one from feeding the previous; stop after <eos>
 * (included in the output) or max_new_tokens.  The final logit soft-cap is
 * applied before choosing when the config sets it (it never changes the
 * argmax); taps get the uncapped logits, as the golden data hold them.
 * Padding rows of the embedding and <image> are never chosen. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "forward.h"
#include "image.h"
#include "internal.h"
#include "model.h"
#include "ops.h"
#include "sampler.h"
#include "tokenizer.h"

/* FNV-1a over the pixels identifies an image for the feature cache. */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

struct pali_session {
    const pali_model *model;
    pali_session_params params;
    pali_compute compute;
    int64_t max_context;

    /* image */
    bool has_image;
    uint64_t image_key;              /* hash of size, format and pixels */
    float *pixels;                   /* (3, S, S) */
    float *features;                 /* (N, Dt) */
    double preprocess_ms, vision_ms; /* of the current image, once */

    /* text */
    pali_kv_cache kv;
    float *work; /* the vision tower's, then the decoder's work space:
                    max(pali_siglip_work_bytes, pali_gemma_work_floats(n)) */
    int64_t work_floats;
    float *logits; /* (V) */
    float *normed; /* (Dt) the final norm's output */
    /* the last complete prefill, kept: a generate of the same ids on the
     * same image starts from it (the KV cache still holds its positions
     * until another prefill or a new cache) */
    bool prefix_valid;
    uint64_t prefix_image; /* image_key it ran on */
    int32_t *prefix_ids;   /* (prefix_len) */
    int64_t prefix_len, prefix_ids_capacity;
    float *prefix_normed; /* (Dt) its last position's final norm */
    float *x_lm;          /* (Dt) the LM head pre-pass's activations ... */
    int32_t *panels;      /* (V / 32 + 1) ... and candidate panels */
    pali_sampler sampler;
    pali_detok *detok;

    /* outputs of the last generate */
    int32_t *ids; /* input ids then generated ids */
    int64_t ids_capacity;
    double *token_ms;
    char *text, *text_special;
    pali_output out;
};

pali_session_params pali_session_default_params(void)
{
    pali_session_params p = {
        .n_threads = 0,
        .precision = PALI_PRECISION_EXACT,
        .max_context = 0,
    };
    return p;
}

pali_generate_params pali_generate_default_params(void)
{
    pali_generate_params p = {
        .max_new_tokens = 32,
        .temperature = 0.0f,
        .top_k = 0,
        .top_p = 1.0f,
        .seed = 0,
        .forced_ids = NULL,
        .n_forced = 0,
    };
    return p;
}

/* Ids the model may emit: the tokenizer's, except <image>, and never the
 * embedding's padding rows. */
static int64_t allowed_ids(const pali_model *m)
{
    int64_t n = m->cfg.info.vocab_rows;
    if (m->cfg.info.tokenizer_size > 0 && m->cfg.info.tokenizer_size < n)
        n = m->cfg.info.tokenizer_size;
    return n;
}

pali_status pali_session_new(const pali_model *model,
                             const pali_session_params *params,
                             pali_session **out, pali_error *err)
{
    *out = NULL;
    if (model == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT, "no model");
    pali_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    s->model = model;
    s->params = params ? *params : pali_session_default_params();
    const pali_model_info *in = &model->cfg.info;
    int threads =
        s->params.n_threads > 0 ? s->params.n_threads : pali_cpu_count();
    s->max_context = in->max_positions;
    if (s->params.max_context > 0 && s->params.max_context < s->max_context)
        s->max_context = s->params.max_context;

    // scratch per thread: what the kernel set needs for the widest weight
    // row, or one attention block's scores over the longest key range
    int64_t max_k = in->text_intermediate;
    const int64_t widths[] = { in->vision_intermediate, in->text_hidden,
                               (int64_t)in->n_heads * in->head_dim,
                               in->vision_hidden,
                               3LL * in->patch_size * in->patch_size };
    for (size_t i = 0; i < PALI_ARRAY_LEN(widths); i++)
        if (widths[i] > max_k)
            max_k = widths[i];
    int64_t keys = s->max_context > in->n_image_tokens ? s->max_context
                                                       : in->n_image_tokens;
    int kernel;
    pali_status st = pali_compute_select_kernel(&kernel, err);
    if (st != PALI_OK) {
        free(s);
        return st;
    }
    size_t scratch = pali_matmul_scratch_bytes(kernel, max_k);
    const int hd_max = in->head_dim > in->vision_hidden / in->vision_heads
                           ? in->head_dim
                           : in->vision_hidden / in->vision_heads;
    if (pali_attention_scratch_bytes(keys, hd_max) > scratch)
        scratch = pali_attention_scratch_bytes(keys, hd_max);
    st = pali_compute_init_kernel(&s->compute, threads, s->params.precision,
                                  kernel, max_k, scratch, err);
    if (st != PALI_OK) {
        free(s);
        return st;
    }
    const int64_t S = in->image_size, N = in->n_image_tokens;
    s->pixels = pali_aligned_alloc((size_t)(3 * S * S) * sizeof(float));
    s->features =
        pali_aligned_alloc((size_t)(N * in->text_hidden) * sizeof(float));
    s->logits = pali_aligned_alloc((size_t)in->vocab_rows * sizeof(float));
    s->normed = pali_aligned_alloc((size_t)in->text_hidden * sizeof(float));
    s->prefix_normed =
        pali_aligned_alloc((size_t)in->text_hidden * sizeof(float));
    s->x_lm = pali_aligned_alloc((size_t)in->text_hidden * sizeof(float));
    s->panels = pali_malloc_array(
        (size_t)(pali_matmul_panels(in->vocab_rows) + 1), sizeof(int32_t));
    if (!s->pixels || !s->features || !s->logits || !s->normed ||
        !s->prefix_normed || !s->x_lm || !s->panels ||
        !pali_sampler_init(&s->sampler, allowed_ids(model))) {
        pali_session_free(s);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "out of memory for a session");
    }
    st = pali_detok_new(model->tokenizer, &s->detok, err);
    if (st != PALI_OK) {
        pali_session_free(s);
        return st;
    }
    *out = s;
    return PALI_OK;
}

void pali_session_free(pali_session *s)
{
    if (s == NULL)
        return;
    pali_compute_clear(&s->compute);
    pali_aligned_free(s->pixels);
    pali_aligned_free(s->features);
    pali_kv_cache_clear(&s->kv);
    pali_aligned_free(s->work);
    pali_aligned_free(s->logits);
    pali_aligned_free(s->normed);
    pali_aligned_free(s->prefix_normed);
    free(s->prefix_ids);
    pali_aligned_free(s->x_lm);
    free(s->panels);
    pali_sampler_clear(&s->sampler);
    pali_detok_free(s->detok);
    free(s->ids);
    free(s->token_ms);
    free(s->text);
    free(s->text_special);
    free(s);
}

/* Prompt tokens (with <bos> and the final "\n") that set_image's work
 * space also fits the prefill of: a task's prompt with a question or a
 * list of objects. */
#define PROMPT_TOKENS_EXPECTED 64

/* Grows the work space to `floats` (never shrinks it). */
static pali_status reserve_work(pali_session *s, int64_t floats,
                                pali_error *err)
{
    if (floats <= s->work_floats)
        return PALI_OK;
    pali_aligned_free(s->work);
    s->work = pali_aligned_alloc((size_t)floats * sizeof(float));
    s->work_floats = s->work ? floats : 0;
    if (s->work == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "out of memory for %lld floats of work space",
                         (long long)floats);
    return PALI_OK;
}

static uint64_t image_key(const pali_image *img)
{
    uint64_t h = FNV_OFFSET;
    const uint64_t head[3] = { (uint64_t)img->width, (uint64_t)img->height,
                               (uint64_t)img->format };
    for (size_t i = 0; i < sizeof(head); i++) {
        h ^= ((const uint8_t *)head)[i];
        h *= FNV_PRIME;
    }
    const size_t bpp = img->format == PALI_PIXEL_RGBA8 ? 4 : 3;
    for (int y = 0; y < img->height; y++) {
        const uint8_t *row = img->pixels + (size_t)y * img->stride;
        for (size_t x = 0; x < (size_t)img->width * bpp; x++) {
            h ^= row[x];
            h *= FNV_PRIME;
        }
    }
    return h;
}

static pali_status set_image(pali_session *s, const pali_image *image,
                             const pali_callbacks *cb, pali_error *err)
{
    if (s == NULL || image == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT, "no image");
    const pali_model *m = s->model;
    pali_status st = pali_image_validate(image, err);
    if (st != PALI_OK)
        return st;
    const uint64_t key = image_key(image);
    // A tensor callback wants the intermediate tensors: compute them anew.
    if (s->has_image && s->image_key == key && !(cb && cb->tensor))
        return PALI_OK;
    s->has_image = false;

    double t0 = pali_now_ms();
    pali_hooks_progress(cb, PALI_PHASE_PREPROCESS, 0, 1);
    st = pali_image_preprocess(image, &m->cfg.pre, s->pixels, NULL, err);
    if (st != PALI_OK)
        return st;
    pali_hooks_progress(cb, PALI_PHASE_PREPROCESS, 1, 1);
    const int64_t S = m->cfg.info.image_size;
    const int64_t pshape[4] = { 1, 3, S, S };
    pali_hooks_tensor(cb, "pixel_values", -1, s->pixels, 4, pshape);
    double t1 = pali_now_ms();

    // the vision tower works in the decoder's work space (never both at
    // once): at 896 px that saves ~200 MB.  The space is made large
    // enough for a prefill of a prompt of up to PROMPT_TOKENS_EXPECTED
    // tokens as well, so that the pages the tower faulted in serve the
    // prefill too (a larger area for a longer prompt would be a new
    // mapping: at 896 px its 300 MB faulted in afresh).
    const size_t vbytes = pali_siglip_work_bytes(m, &s->compute);
    int64_t floats = (int64_t)((vbytes + sizeof(float) - 1) / sizeof(float));
    const int64_t text = pali_gemma_work_floats(m, m->cfg.info.n_image_tokens +
                                                       PROMPT_TOKENS_EXPECTED);
    st = reserve_work(s, floats > text ? floats : text, err);
    if (st != PALI_OK)
        return st;
    st = pali_siglip_forward(m, &s->compute, s->pixels, s->features, s->work,
                             cb, err);
    if (st != PALI_OK)
        return st;
    s->preprocess_ms = t1 - t0;
    s->vision_ms = pali_now_ms() - t1;
    s->image_key = key;
    s->has_image = true;
    return PALI_OK;
}

/* Grows the id and timing arrays and the prefill work area to need. */
static pali_status reserve_outputs(pali_session *s, int64_t n_ids,
                                   int64_t work_floats, pali_error *err)
{
    if (n_ids > s->ids_capacity) {
        int32_t *ids = realloc(s->ids, (size_t)n_ids * sizeof(*ids));
        if (ids == NULL)
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
        s->ids = ids;
        double *ms = realloc(s->token_ms, (size_t)n_ids * sizeof(*ms));
        if (ms == NULL)
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
        s->token_ms = ms;
        s->ids_capacity = n_ids;
    }
    return reserve_work(s, work_floats, err);
}

/* Refuses, with the numbers, a generation whose weights, session buffers,
 * work space and KV cache would not fit in RAM (model.h's
 * pali_ram_bytes), before anything is allocated. */
static pali_status check_fits(const pali_session *s, int64_t work_floats,
                              int64_t kv_positions, pali_error *err)
{
    const pali_model *m = s->model;
    const pali_model_info *in = &m->cfg.info;
    // (the LM head pre-pass's copy, where built, was checked against RAM
    // with the weights, and greedy decoding unmaps the embedding for it)
    const uint64_t weights = pali_model_resident_bytes(m);
    const uint64_t kv = pali_kv_cache_bytes(m, &s->compute, kv_positions);
    const uint64_t fixed =
        (uint64_t)pali_pool_size(s->compute.pool) * s->compute.scratch_bytes +
        (uint64_t)(3 * in->image_size * in->image_size +
                   (int64_t)in->n_image_tokens * in->text_hidden +
                   in->vocab_rows) *
            sizeof(float);
    uint64_t work = (uint64_t)work_floats * sizeof(float);
    if (pali_siglip_work_bytes(m, &s->compute) > work)
        work = pali_siglip_work_bytes(m, &s->compute);
    const uint64_t need = weights + kv + fixed + work, have = pali_ram_bytes();
    if (need <= have)
        return PALI_OK;
    char a[32], b[32], c[32], d[32], e[32];
    return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                     "%s needs %s (weights %s, KV cache for %lld positions "
                     "%s, buffers %s) but this machine has %s; try 8- or "
                     "4-bit weights, or fewer new tokens",
                     in->variant, pali_format_bytes(need, a, sizeof(a)),
                     pali_format_bytes(weights, b, sizeof(b)),
                     (long long)kv_positions,
                     pali_format_bytes(kv, c, sizeof(c)),
                     pali_format_bytes(fixed + work, d, sizeof(d)),
                     pali_format_bytes(have, e, sizeof(e)));
}

static bool is_eos(const pali_model *m, int32_t id)
{
    for (int i = 0; i < m->cfg.n_eos; i++)
        if (m->cfg.eos_ids[i] == id)
            return true;
    return id == m->cfg.info.eos_id;
}

/* The logits the model was trained with: Gemma 2's final soft-cap when the
 * config sets it (transformers 5's PaliGemma skips it; big_vision and
 * transformers 4 apply it; it never changes the argmax). */
static void final_softcap(pali_session *s)
{
    const pali_model_info *in = &s->model->cfg.info;
    if (in->final_softcap > 0)
        pali_softcap(&s->compute, s->logits, in->vocab_rows, in->final_softcap);
}

/* The id the sampler never picks: <image>, where it is an allowed id. */
static int32_t excluded_id(const pali_model *m)
{
    const int32_t image = m->cfg.info.image_token_id;
    return image < allowed_ids(m) ? image : -1;
}

/* Chooses the next token from the current (capped) logits. */
static int32_t choose(pali_session *s)
{
    return pali_sampler_pick(&s->sampler, s->logits, allowed_ids(s->model),
                             excluded_id(s->model));
}

/* Greedy choices without taps may come from the LM head's pre-pass
 * (lmhead.h) once it is built: then the full logits are only computed
 * where it cannot decide. */
static bool prepass_wanted(const pali_session *s,
                           const pali_generate_params *gp,
                           const pali_callbacks *cb)
{
    return gp->temperature <= 0 && gp->forced_ids == NULL &&
           !(cb && cb->tensor) &&
           atomic_load_explicit(&s->model->lmhead.ready, memory_order_acquire);
}

/* The greedy pre-pass's choice into *id (true), else the full logits in
 * s->logits (false). */
static bool prepass_choose(pali_session *s, int32_t *id)
{
    const pali_model *m = s->model;
    if (pali_lmhead_greedy(m, &s->compute, s->normed, allowed_ids(m),
                           excluded_id(m), m->cfg.info.final_softcap, s->logits,
                           s->x_lm, s->panels, id))
        return true;
    pali_gemma_logits(m, &s->compute, s->normed, s->logits);
    return false;
}

/* What a request needs before any work: a prompt, an image, and at
 * least one token to make. */
static pali_status check_request(const pali_session *s, const char *prompt,
                                 int max_new_tokens, pali_error *err)
{
    if (s == NULL || prompt == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT, "no prompt");
    if (!s->has_image)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "no image: call pali_session_set_image first");
    if (max_new_tokens <= 0)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "max_new_tokens must be positive, got %d",
                         max_new_tokens);
    return PALI_OK;
}

/* The ids of `prompt` (<image>×N <bos> prompt "\n") into s->ids[0, *L),
 * checked against the context and RAM, with room made for a generation
 * of max_new_tokens.  A KV cache made anew drops the kept prefill. */
static pali_status prepare_prompt(pali_session *s, const char *prompt,
                                  int max_new_tokens, int64_t *L_out,
                                  pali_error *err)
{
    const pali_model *m = s->model;
    const pali_model_info *in = &m->cfg.info;
    int32_t *prompt_ids = NULL;
    size_t n_prompt = 0;
    pali_status st = pali_prompt_ids(
        m->tokenizer, in->n_image_tokens, in->image_token_id, in->bos_id,
        prompt, strlen(prompt), &prompt_ids, &n_prompt, err);
    if (st != PALI_OK)
        return st;
    const int64_t L = (int64_t)n_prompt;
    // the last generated token is never fed back, hence the − 1
    const int64_t need = L + max_new_tokens - 1;
    if (L > s->max_context || need > s->max_context) {
        free(prompt_ids);
        if (L > s->max_context)
            return pali_fail(err, PALI_ERR_TOO_LONG,
                             "the prompt is %lld tokens (with %d image "
                             "tokens); the model takes at most %lld",
                             (long long)L, in->n_image_tokens,
                             (long long)s->max_context);
        return pali_fail(err, PALI_ERR_TOO_LONG,
                         "%lld prompt tokens + %d new tokens exceed the "
                         "model's %lld positions; lower max_new_tokens to "
                         "%lld",
                         (long long)L, max_new_tokens,
                         (long long)s->max_context,
                         (long long)(s->max_context - L + 1));
    }
    int64_t work = pali_gemma_work_floats(m, L);
    const int64_t capacity = s->kv.capacity;
    st = check_fits(s, work, need, err);
    if (st == PALI_OK)
        st = reserve_outputs(s, L + max_new_tokens, work, err);
    if (st == PALI_OK)
        st = pali_kv_cache_reserve(&s->kv, m, &s->compute, need, err);
    if (s->kv.capacity != capacity)
        s->prefix_valid = false;
    if (st != PALI_OK) {
        free(prompt_ids);
        return st;
    }
    memcpy(s->ids, prompt_ids, (size_t)L * sizeof(int32_t));
    free(prompt_ids);
    *L_out = L;
    return PALI_OK;
}

/* Whether the kept prefill is that of s->ids[0, L) on the current image. */
static bool prefix_matches(const pali_session *s, int64_t L)
{
    return s->prefix_valid && s->has_image && s->prefix_image == s->image_key &&
           s->prefix_len == L &&
           memcmp(s->prefix_ids, s->ids, (size_t)L * sizeof(int32_t)) == 0;
}

/* The prefill of s->ids[0, L) (logits too unless NULL), kept once
 * complete. */
static pali_status run_prefill(pali_session *s, int64_t L, float *logits,
                               const pali_callbacks *cb, pali_error *err)
{
    const pali_model *m = s->model;
    s->prefix_valid = false; // its positions are overwritten from here
    pali_status st =
        pali_gemma_prefill(m, &s->compute, &s->kv, s->ids, L, s->features,
                           s->normed, logits, s->work, cb, err);
    if (st != PALI_OK)
        return st;
    if (L > s->prefix_ids_capacity) {
        int32_t *ids = realloc(s->prefix_ids, (size_t)L * sizeof(*ids));
        if (ids == NULL)
            return PALI_OK; // not kept: only a later request is slower
        s->prefix_ids = ids;
        s->prefix_ids_capacity = L;
    }
    memcpy(s->prefix_ids, s->ids, (size_t)L * sizeof(int32_t));
    memcpy(s->prefix_normed, s->normed,
           (size_t)m->cfg.info.text_hidden * sizeof(float));
    s->prefix_len = L;
    s->prefix_image = s->image_key;
    s->prefix_valid = true;
    return PALI_OK;
}

static pali_status generate(pali_session *s, const char *prompt,
                            const pali_generate_params *params,
                            const pali_callbacks *cb, const pali_output **out,
                            pali_error *err)
{
    if (out)
        *out = NULL;
    pali_generate_params gp = params ? *params : pali_generate_default_params();
    if (gp.forced_ids != NULL && gp.n_forced > 0)
        gp.max_new_tokens = gp.n_forced;
    pali_status st = check_request(s, prompt, gp.max_new_tokens, err);
    if (st != PALI_OK)
        return st;
    const pali_model *m = s->model;
    const pali_model_info *in = &m->cfg.info;
    if (gp.temperature > 0 && (gp.top_p <= 0 || gp.top_p > 1))
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "top_p must be in (0, 1], got %g", gp.top_p);

    int64_t L = 0;
    st = prepare_prompt(s, prompt, gp.max_new_tokens, &L, err);
    if (st != PALI_OK)
        return st;
    int32_t *gen = s->ids + L;
    int n_gen = 0;

    pali_sampler_configure(&s->sampler, gp.temperature, gp.top_k, gp.top_p,
                           gp.seed);
    pali_detok_reset(s->detok);
    free(s->text);
    free(s->text_special);
    s->text = s->text_special = NULL;
    memset(&s->out, 0, sizeof(s->out));
    s->out.timings.preprocess_ms = s->preprocess_ms;
    s->out.timings.vision_ms = s->vision_ms;
    s->preprocess_ms = s->vision_ms = 0; // reported once per image

    double t0 = pali_now_ms();
    bool prepass = prepass_wanted(s, &gp, cb);
    if (!(cb && cb->tensor) && prefix_matches(s, L)) {
        // the kept prefill: its positions are still in the cache
        memcpy(s->normed, s->prefix_normed,
               (size_t)in->text_hidden * sizeof(float));
        s->kv.length = L;
        if (!prepass)
            pali_gemma_logits(m, &s->compute, s->normed, s->logits);
        s->out.timings.prefill_reused = 1;
    } else {
        st = run_prefill(s, L, prepass ? NULL : s->logits, cb, err);
        if (st != PALI_OK)
            return st;
    }
    // token 0 comes with the prefill: its time counts from the start
    double t_prev = t0;
    s->out.timings.prefill_ms = pali_now_ms() - t0;
    s->out.stop = PALI_STOP_MAX_TOKENS;

    for (int step = 0;; step++) {
        const int64_t vshape[2] = { 1, in->vocab_rows };
        int32_t id;
        if (prepass && prepass_choose(s, &id)) {
            s->out.timings.n_prepass++;
        } else {
            // taps: the uncapped logits under the golden name, then capped
            pali_hooks_tensor(cb, "gen_logits", step, s->logits, 2, vshape);
            final_softcap(s);
            pali_hooks_tensor(cb, "gen_logits_capped", step, s->logits, 2,
                              vshape);
            id = gp.forced_ids ? gp.forced_ids[step] : choose(s);
        }
        if (id < 0 || id >= in->vocab_rows)
            return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                             "token id %d at step %d is outside the "
                             "vocabulary",
                             id, step);
        gen[n_gen++] = id;
        double now = pali_now_ms();
        s->token_ms[n_gen - 1] = now - t_prev;
        t_prev = now;
        pali_hooks_progress(cb, PALI_PHASE_DECODE, n_gen, gp.max_new_tokens);

        // the text this token releases (at the end: with what was held)
        const bool eos = !gp.forced_ids && is_eos(m, id);
        const bool last = eos || n_gen == gp.max_new_tokens;
        size_t before = 0, after = 0;
        pali_detok_text(s->detok, &before);
        st = pali_detok_push(s->detok, id, NULL, NULL, err);
        if (st == PALI_OK && last)
            st = pali_detok_finish(s->detok, NULL, NULL, err);
        if (st != PALI_OK)
            return st;
        const char *text = pali_detok_text(s->detok, &after);
        if (cb && cb->token) {
            pali_token_event ev = {
                .id = id,
                .index = n_gen - 1,
                .piece = text + before,
                .text = text,
            };
            if (!cb->token(&ev, cb->user_data)) {
                s->out.stop = PALI_STOP_CALLBACK;
                break;
            }
        }
        if (eos) {
            s->out.stop = PALI_STOP_EOS;
            break;
        }
        if (n_gen == gp.max_new_tokens)
            break;
        if (pali_hooks_abort(cb))
            return pali_fail(err, PALI_ERR_ABORTED, "aborted");
        double td = pali_now_ms();
        prepass = prepass_wanted(s, &gp, cb);
        st = pali_gemma_decode(m, &s->compute, &s->kv, id, s->normed,
                               prepass ? NULL : s->logits, s->work, cb, err);
        if (st != PALI_OK)
            return st;
        s->out.timings.decode_ms += pali_now_ms() - td;
        s->out.timings.n_decoded++;
    }

    size_t len;
    st = pali_tokenizer_decode(m->tokenizer, gen, (size_t)n_gen, true, &s->text,
                               &len, err);
    if (st == PALI_OK)
        st = pali_tokenizer_decode(m->tokenizer, gen, (size_t)n_gen, false,
                                   &s->text_special, &len, err);
    if (st != PALI_OK)
        return st;
    s->out.input_ids = s->ids;
    s->out.n_input = (int)L;
    s->out.generated_ids = gen;
    s->out.n_generated = n_gen;
    s->out.text = s->text;
    s->out.text_with_special = s->text_special;
    s->out.token_ms = s->token_ms;
    if (out)
        *out = &s->out;
    return PALI_OK;
}

/* The model's background work (the LM head's pre-pass) waits while a
 * session computes: it would take memory bandwidth and cores from it. */
static void set_busy(const pali_session *s, int delta)
{
    if (s == NULL)
        return;
    pali_lmhead *f = (pali_lmhead *)&s->model->lmhead; // only the counter
    atomic_fetch_add(&f->busy, delta);
}

pali_status pali_session_set_image(pali_session *s, const pali_image *image,
                                   const pali_callbacks *cb, pali_error *err)
{
    set_busy(s, 1);
    const pali_status st = set_image(s, image, cb, err);
    set_busy(s, -1);
    return st;
}

static pali_status prefill(pali_session *s, const char *prompt,
                           int max_new_tokens, const pali_callbacks *cb,
                           pali_error *err)
{
    pali_status st = check_request(s, prompt, max_new_tokens, err);
    if (st != PALI_OK)
        return st;
    int64_t L = 0;
    st = prepare_prompt(s, prompt, max_new_tokens, &L, err);
    if (st != PALI_OK || prefix_matches(s, L))
        return st;
    return run_prefill(s, L, NULL, cb, err);
}

pali_status pali_session_prefill(pali_session *s, const char *prompt,
                                 int max_new_tokens, const pali_callbacks *cb,
                                 pali_error *err)
{
    set_busy(s, 1);
    const pali_status st = prefill(s, prompt, max_new_tokens, cb, err);
    set_busy(s, -1);
    return st;
}

pali_status pali_session_generate(pali_session *s, const char *prompt,
                                  const pali_generate_params *params,
                                  const pali_callbacks *cb,
                                  const pali_output **out, pali_error *err)
{
    set_busy(s, 1);
    const pali_status st = generate(s, prompt, params, cb, out, err);
    set_busy(s, -1);
    return st;
}
