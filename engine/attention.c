/* attention.c — softmax(q·kᵀ·scale [soft-capped]) · v, blockwise.
 *
 * Work items are (head, block of ATTN_QUERY_BLOCK queries); a thread
 * computes the block's scores against all keys into its scratch
 * (block × n_keys), soft-caps them, takes the row softmax in f32 and
 * multiplies by v.  The full (n_queries × n_keys) matrix is never
 * materialised, so 4096-token prefixes need only ~2 MB per thread.  As in
 * transformers' eager attention: scores = (q·kᵀ)·scale, then
 * softcap·tanh(scores/softcap), then softmax in f32. */
#include "attention.h"

#include "internal.h"
#include "ops.h"

/* Queries per work item: enough rows for an efficient sgemm, few enough
 * that a block's scores fit in cache for long contexts. */
#define ATTN_QUERY_BLOCK 32

int64_t pali_attention_scratch_floats(int64_t n_keys)
{
    return (int64_t)ATTN_QUERY_BLOCK * n_keys;
}

typedef struct attention_job {
    const pali_compute *c;
    const pali_attention_args *a;
} attention_job;

static void attention_worker(void *arg, int ith, int nth)
{
    const attention_job *job = arg;
    const pali_compute *c = job->c;
    const pali_attention_args *a = job->a;
    const int hd = a->head_dim;
    const int group = a->n_heads / a->n_kv_heads;
    const int64_t n_blocks =
        (a->n_queries + ATTN_QUERY_BLOCK - 1) / ATTN_QUERY_BLOCK;
    float *scores = c->scratch[ith]; /* (ATTN_QUERY_BLOCK, n_keys) */
    int64_t t0, t1;
    pali_split(n_blocks * a->n_heads, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        const int h = (int)(t % a->n_heads);
        const int64_t i0 = (t / a->n_heads) * ATTN_QUERY_BLOCK;
        const int64_t nq = a->n_queries - i0 < ATTN_QUERY_BLOCK
                               ? a->n_queries - i0
                               : ATTN_QUERY_BLOCK;
        const float *q = a->q + i0 * a->q_stride + (int64_t)h * hd;
        const float *k = a->k + (int64_t)(h / group) * a->kv_head_stride;
        const float *v = a->v + (int64_t)(h / group) * a->kv_head_stride;
        float *out = a->out + i0 * a->out_stride + (int64_t)h * hd;

        // scores (nq, n_keys) = scale · q (nq, hd) · k (n_keys, hd)ᵀ
        pali_sgemm_nt(nq, a->n_keys, hd, a->scale, q, a->q_stride, k,
                      a->kv_row_stride, scores, a->n_keys);
        for (int64_t i = 0; i < nq; i++) {
            float *row = scores + i * a->n_keys;
            if (a->softcap > 0)
                pali_softcap(row, a->n_keys, a->softcap);
            pali_softmax(row, a->n_keys);
        }
        // out (nq, hd) = scores (nq, n_keys) · v (n_keys, hd)
        pali_sgemm_nn(nq, hd, a->n_keys, scores, a->n_keys, v, a->kv_row_stride,
                      out, a->out_stride);
    }
}

void pali_attention(const pali_compute *c, const pali_attention_args *a)
{
    if (a->n_queries <= 0 || a->n_keys <= 0)
        return;
    attention_job job = { c, a };
    pali_pool_run(c->pool, attention_worker, &job);
}
