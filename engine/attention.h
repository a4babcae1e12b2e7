/* attention.h — scaled dot-product attention of a block of queries against
 * a range of keys, every query seeing every key of the range (SigLIP, and
 * Gemma 2's bidirectional prefix), or one query in decode (the caller passes
 * the visible range: causal, and the sliding window on sliding layers). */
#ifndef PALI_ATTENTION_H
#define PALI_ATTENTION_H

#include <stdint.h>

#include "compute.h"

typedef struct pali_attention_args {
    const float *q; /* head h of query row i at q + i·q_stride + h·hd */
    int64_t q_stride;
    int64_t n_queries;
    int n_heads, n_kv_heads, head_dim; /* kv head of h: h / (H / KV) */
    const float *k, *v; /* key j of kv head g at k + g·kv_head_stride +
                           j·kv_row_stride (v alike) */
    int64_t kv_row_stride, kv_head_stride;
    int64_t n_keys;
    float scale;   /* applied to q·k */
    float softcap; /* > 0: scores = softcap·tanh(scores / softcap) */
    float *out;    /* head h of row i at out + i·out_stride + h·hd */
    int64_t out_stride;
} pali_attention_args;

/* Scratch floats per thread that attention over n_keys needs. */
int64_t pali_attention_scratch_floats(int64_t n_keys);

/* Runs on the pool; uses c->scratch (see pali_attention_scratch_floats). */
void pali_attention(const pali_compute *c, const pali_attention_args *a);

#endif /* PALI_ATTENTION_H */
