/* attention.h — scaled dot-product attention of a block of queries against
 * a range of keys, every query seeing every key of the range (SigLIP, and
 * Gemma 2's bidirectional prefix), or one query in decode (the caller passes
 * the visible range: causal, and the sliding window on sliding layers).
 *
 * Keys and values live in the layout the kernel set multiplies fastest
 * (kernels.h: f32 panels in exact precision, bf16 tiles in fast precision
 * on sets with bf16 arithmetic); pali_kv_store writes them there. */
#ifndef PALI_ATTENTION_H
#define PALI_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#include "compute.h"
#include "kernels.h"

/* The layout for head dimension hd and `capacity` positions (rounded up
 * to PALI_KV_BLOCK) under c's precision and kernel set. */
void pali_kv_layout_init(pali_kv_layout *lay, const pali_compute *c, int hd,
                         int64_t capacity);
/* Bytes of K (or V) for n_kv_heads heads in that layout. */
size_t pali_kv_k_bytes(const pali_kv_layout *lay, int n_kv_heads);
size_t pali_kv_v_bytes(const pali_kv_layout *lay, int n_kv_heads);

/* Writes positions [pos, pos + n) of every kv head: key rows (n, KV·hd) at
 * k_stride and value rows alike, into k and v (one layer, laid out as
 * `lay`).  Runs on the pool. */
void pali_kv_store(const pali_compute *c, const pali_kv_layout *lay,
                   int n_kv_heads, void *k, void *v, int64_t pos, int64_t n,
                   const float *k_rows, int64_t k_stride, const float *v_rows,
                   int64_t v_stride);

typedef struct pali_attention_args {
    const float *q; /* head h of query row i at q + i·q_stride + h·hd */
    int64_t q_stride;
    int64_t n_queries;
    int n_heads, n_kv_heads; /* kv head of h: h / (H / KV) */
    const pali_kv_layout *lay;
    const void *k, *v;          /* one layer, as pali_kv_store wrote it */
    int64_t key_begin, key_end; /* the visible keys */
    float scale;                /* applied to q·k */
    float softcap; /* > 0: scores = softcap·tanh(scores / softcap) */
    float *out;    /* head h of row i at out + i·out_stride + h·hd */
    int64_t out_stride;
} pali_attention_args;

/* Scratch bytes per thread that attention over n_keys keys of head
 * dimension hd needs. */
size_t pali_attention_scratch_bytes(int64_t n_keys, int hd);

/* Runs on the pool; uses c->scratch (see pali_attention_scratch_bytes). */
void pali_attention(const pali_compute *c, const pali_attention_args *a);

#endif /* PALI_ATTENTION_H */
