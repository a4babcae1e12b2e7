/* forward.h — the two forward passes: SigLIP + projector (siglip.c) and the
 * Gemma 2 decoder (gemma2.c).  They compute with a session's pali_compute
 * and buffers the caller owns; callbacks give progress, abort and taps. */
#ifndef PALI_FORWARD_H
#define PALI_FORWARD_H

#include <stdbool.h>
#include <stdint.h>

#include "attention.h"
#include "compute.h"
#include "model.h"

/* Callback helpers; cb and each of its members may be NULL. */
bool pali_hooks_abort(const pali_callbacks *cb);
void pali_hooks_progress(const pali_callbacks *cb, pali_phase phase, int done,
                         int total);
void pali_hooks_tensor(const pali_callbacks *cb, const char *name, int step,
                       const float *data, int n_dims, const int64_t *shape);

/* ---- SigLIP vision tower + projector ------------------------------------ */

/* Bytes of working memory pali_siglip_forward needs with compute c. */
size_t pali_siglip_work_bytes(const pali_model *m, const pali_compute *c);

/* pixels (3, S, S) normalised → features (N, Dt).  `work` holds
 * pali_siglip_work_bytes bytes, 64-byte aligned.  Taps: vision_embeddings,
 * vision_last_hidden_state, image_features.  PALI_ERR_ABORTED if asked. */
pali_status pali_siglip_forward(const pali_model *m, const pali_compute *c,
                                const float *pixels, float *features,
                                void *work, const pali_callbacks *cb,
                                pali_error *err);

/* ---- Gemma 2 decoder ------------------------------------------------------
 */

/* The KV cache: per layer, keys and values in the layout attention's
 * kernels want (attention.h), for `capacity` positions. */
typedef struct pali_kv_cache {
    pali_kv_layout lay;
    void *k, *v;             /* (layers) × pali_kv_k_bytes / pali_kv_v_bytes */
    size_t k_layer, v_layer; /* bytes per layer */
    size_t k_bytes, v_bytes; /* in all (pali_zeroed_alloc's) */
    int64_t capacity;        /* positions */
    int64_t length;          /* positions filled */
} pali_kv_cache;

/* Makes room for `capacity` positions (rounded up to PALI_KV_BLOCK) in
 * c's layout; keeps the cache when it is already big enough.  A new one is
 * zeros (pali_zeroed_alloc: no page is touched until a position is
 * stored), so positions past the end, and the layout's padding, read as
 * finite zeros; a kept one holds the finite values of earlier requests
 * there. */
pali_status pali_kv_cache_reserve(pali_kv_cache *kv, const pali_model *m,
                                  const pali_compute *c, int64_t capacity,
                                  pali_error *err);
/* Bytes a cache of `capacity` positions takes. */
size_t pali_kv_cache_bytes(const pali_model *m, const pali_compute *c,
                           int64_t capacity);
void pali_kv_cache_clear(pali_kv_cache *kv);

/* Working memory for a prefill of n tokens / one decode step. */
int64_t pali_gemma_work_floats(const pali_model *m, int64_t n_tokens);

/* Runs the prefix: ids (n) with the image features (N, Dt) at the
 * <image> positions; fills the cache from position 0 and writes the last
 * position's final-norm output (Dt) to normed and, unless logits is
 * NULL, its logits (V, before any final soft-cap).  Taps:
 * inputs_embeds_text, prefill_hidden_states_last, prefill_final_norm_last,
 * prefill_logits_last (with the logits). */
pali_status pali_gemma_prefill(const pali_model *m, const pali_compute *c,
                               pali_kv_cache *kv, const int32_t *ids, int64_t n,
                               const float *image_features, float *normed,
                               float *logits, float *work,
                               const pali_callbacks *cb, pali_error *err);

/* Feeds one token at the next cache position and writes its final-norm
 * output and, unless NULL, its logits, as pali_gemma_prefill does. */
pali_status pali_gemma_decode(const pali_model *m, const pali_compute *c,
                              pali_kv_cache *kv, int32_t id, float *normed,
                              float *logits, float *work,
                              const pali_callbacks *cb, pali_error *err);

/* logits (V) = normed · embedᵀ: the LM head of pali_gemma_prefill and
 * pali_gemma_decode, the same bits. */
void pali_gemma_logits(const pali_model *m, const pali_compute *c,
                       const float *normed, float *logits);

#endif /* PALI_FORWARD_H */
