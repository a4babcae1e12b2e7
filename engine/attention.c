/* attention.c — softmax(q·kᵀ·scale [soft-capped]) · v, blockwise.
 *
 * Work items are (head, block of PALI_ATTN_QUERY_BLOCK queries); a thread
 * computes the block's scores against the visible keys into its scratch
 * (block × keys), soft-caps them, takes the row softmax in f32 and
 * multiplies by v.  A kernel set with attn_group takes the query heads of
 * one kv head in one item (Gemma 2: two), reading the keys and values once
 * for both.  The full (n_queries × n_keys) matrix is never materialised: a
 * 4102-token prefix needs 2 × 32 × 4128 floats per thread.  As
 * transformers' eager attention: scores = (q·kᵀ)·scale, then
 * softcap·tanh(scores/softcap), then softmax in f32, then · v.
 *
 * Keys are read from aligned blocks: a range starting inside a block (the
 * sliding window in decode) computes the block's first scores too and gives
 * them probability zero, as it does the padding after the last key. */
#include "attention.h"

#include <string.h>

#include "internal.h"

/* bf16 K blocks hold 16 keys of hd_k values, hd_k a multiple of 32 (one
 * AMX tile row, 32 bf16); V pairs hold hd_v columns, a multiple of 16 (one
 * AMX tile of f32 output columns). */
#define KV_BF16_K_ALIGN 32
#define KV_BF16_V_ALIGN 16
/* Key positions written per pali_kv_store work item. */
#define KV_STORE_ROWS PALI_KV_BLOCK

static int64_t round_up(int64_t n, int64_t to)
{
    return (n + to - 1) / to * to;
}

void pali_kv_layout_init(pali_kv_layout *lay, const pali_compute *c, int hd,
                         int64_t capacity)
{
    memset(lay, 0, sizeof(*lay));
    const bool fast = c->precision == PALI_PRECISION_FAST;
    lay->round = fast;
    lay->bf16 = fast && c->kernels->bf16_attention;
    lay->hd = hd;
    lay->hd_k = lay->bf16 ? (int)round_up(hd, KV_BF16_K_ALIGN) : hd;
    lay->hd_v = lay->bf16 ? (int)round_up(hd, KV_BF16_V_ALIGN) : hd;
    lay->capacity = round_up(capacity > 0 ? capacity : 1, PALI_KV_BLOCK);
    lay->k_head = lay->capacity * lay->hd_k;
    lay->v_head = lay->capacity * lay->hd_v;
}

static size_t elem_bytes(const pali_kv_layout *lay)
{
    return lay->bf16 ? sizeof(uint16_t) : sizeof(float);
}

size_t pali_kv_k_bytes(const pali_kv_layout *lay, int n_kv_heads)
{
    return (size_t)n_kv_heads * (size_t)lay->k_head * elem_bytes(lay);
}

size_t pali_kv_v_bytes(const pali_kv_layout *lay, int n_kv_heads)
{
    return (size_t)n_kv_heads * (size_t)lay->v_head * elem_bytes(lay);
}

typedef struct store_job {
    const pali_kernels *kern;
    const pali_kv_layout *lay;
    int n_kv_heads;
    void *k, *v;
    int64_t pos, n;
    const float *k_rows, *v_rows;
    int64_t k_stride, v_stride;
} store_job;

/* Positions [p0, p1) of kv head g. */
static void store_rows(const store_job *j, int g, int64_t p0, int64_t p1)
{
    const pali_kv_layout *l = j->lay;
    const int hd = l->hd;
    for (int64_t p = p0; p < p1; p++) {
        const float *kr = j->k_rows + (p - j->pos) * j->k_stride + g * hd;
        const float *vr = j->v_rows + (p - j->pos) * j->v_stride + g * hd;
        if (l->bf16 && j->kern->kv_store16 && p % 16 == 0 && p + 16 <= p1) {
            j->kern->kv_store16(l, (uint16_t *)j->k + g * l->k_head,
                                (uint16_t *)j->v + g * l->v_head, p, kr,
                                j->k_stride, vr, j->v_stride);
            p += 15;
            continue;
        }
        if (!l->bf16) {
            float *k = (float *)j->k + g * l->k_head +
                       (p / PALI_KV_BLOCK) * hd * PALI_KV_BLOCK +
                       p % PALI_KV_BLOCK;
            float *v = (float *)j->v + g * l->v_head + p * hd;
            for (int d = 0; d < hd; d++) {
                k[(int64_t)d * PALI_KV_BLOCK] =
                    l->round ? pali_round_bf16(kr[d]) : kr[d];
                v[d] = l->round ? pali_round_bf16(vr[d]) : vr[d];
            }
            continue;
        }
        // K: [p/16][d/2][p%16][d%2];  V: [p/2][c][p%2]
        uint16_t *k = (uint16_t *)j->k + g * l->k_head +
                      (p / 16) * (int64_t)l->hd_k * 16 + (p % 16) * 2;
        uint16_t *v = (uint16_t *)j->v + g * l->v_head +
                      (p / 2) * (int64_t)l->hd_v * 2 + p % 2;
        for (int d = 0; d < hd; d++) {
            k[(d / 2) * 32 + d % 2] = pali_f32_to_bf16(kr[d]);
            v[d * 2] = pali_f32_to_bf16(vr[d]);
        }
    }
}

static void store_worker(void *arg, int ith, int nth)
{
    const store_job *j = arg;
    // items: (kv head, aligned block of positions)
    const int64_t b0 = j->pos / KV_STORE_ROWS;
    const int64_t b1 = (j->pos + j->n + KV_STORE_ROWS - 1) / KV_STORE_ROWS;
    const int64_t per_head = b1 - b0;
    int64_t t0, t1;
    pali_split(per_head * j->n_kv_heads, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        const int g = (int)(t / per_head);
        const int64_t blk = b0 + t % per_head;
        int64_t p0 = blk * KV_STORE_ROWS, p1 = p0 + KV_STORE_ROWS;
        p0 = p0 < j->pos ? j->pos : p0;
        p1 = p1 > j->pos + j->n ? j->pos + j->n : p1;
        store_rows(j, g, p0, p1);
    }
}

void pali_kv_store(const pali_compute *c, const pali_kv_layout *lay,
                   int n_kv_heads, void *k, void *v, int64_t pos, int64_t n,
                   const float *k_rows, int64_t k_stride, const float *v_rows,
                   int64_t v_stride)
{
    store_job j = { c->kernels, lay,    n_kv_heads, k,        v,       pos,
                    n,          k_rows, v_rows,     k_stride, v_stride };
    if (n <= 0)
        return;
    if (n == 1) // decode: one row, not worth the pool
        for (int g = 0; g < n_kv_heads; g++)
            store_rows(&j, g, pos, pos + 1);
    else
        pali_pool_run(c->pool, store_worker, &j);
}

/* Floats between rows of a block's scores: n_keys rounded up to the key
 * block, and one block more where that would be a multiple of 4 KB —
 * rows 4 KB apart fall on the same L1 set, and a tile's 16 rows then
 * thrash one set's 12 ways (SigLIP at 448 and 896 px: 1024 and 4096
 * keys). */
static int64_t score_stride(int64_t n_keys)
{
    const int64_t s = round_up(n_keys, PALI_KV_BLOCK);
    return s * (int64_t)sizeof(float) % 4096 == 0 ? s + PALI_KV_BLOCK : s;
}

size_t pali_attention_scratch_bytes(int64_t n_keys, int hd)
{
    // (any range's score_stride, and a key block of slack)
    const int64_t keys = score_stride(n_keys) + PALI_KV_BLOCK;
    const int64_t q = PALI_ATTN_QUERY_BLOCK, g = PALI_ATTN_GROUP_MAX;
    const int64_t hd_pad = round_up(hd, KV_BF16_K_ALIGN);
    // one head: scores (q, keys) f32; bf16 copies of p (q, keys) and of
    // the queries (q, hd padded) or their f32 rounding; slack for alignment
    const size_t one =
        (size_t)(q * keys * 4 + q * keys * 2 + q * hd_pad * 4 + 4 * 64);
    // a group (attn_group): scores (g·q, keys) f32, p in their place; the
    // queries (g·q, hd padded) bf16; partial outputs (g·q, hd padded) f32;
    // a C tile; each row's 1 / Σ; slack
    const size_t group =
        (size_t)(g * q * keys * 4 + g * q * hd_pad * 2 + g * q * hd_pad * 4 +
                 16 * 16 * 4 + g * q * 4 + 4 * 64);
    return one > group ? one : group;
}

typedef struct attention_job {
    const pali_compute *c;
    const pali_attention_args *a;
    int64_t n_blocks; /* query blocks */
    int per_item;     /* query heads per item (of one kv head) */
} attention_job;

static void attention_worker(void *arg, int ith, int nth)
{
    const attention_job *job = arg;
    const pali_compute *c = job->c;
    const pali_attention_args *a = job->a;
    const pali_kv_layout *lay = a->lay;
    const int hd = lay->hd;
    const int group = a->n_heads / a->n_kv_heads;
    const size_t esize = lay->bf16 ? sizeof(uint16_t) : sizeof(float);
    const int64_t key0 = a->key_begin / PALI_KV_BLOCK * PALI_KV_BLOCK;
    const int64_t n_keys = a->key_end - key0;
    const int64_t s_stride = score_stride(n_keys);
    const int64_t lo = a->key_begin - key0, hi = a->key_end - key0;
    const int64_t n_blocks = job->n_blocks;
    const int per_item = job->per_item;
    float *scores = c->scratch[ith]; // (block, s_stride)
    void *rest =
        (char *)scores + round_up(PALI_ATTN_QUERY_BLOCK * s_stride * 4, 64);
    (void)nth;
    int64_t t, t_end;
    while (pali_work_claim(c->work, ith, 1, &t, &t_end)) {
        // head-major: a thread's consecutive blocks share the head's keys
        // and values, which then stay in its L2 (448 px: 0.4 MB per
        // vision head, 1 MB per Gemma kv head)
        const int h0 = (int)(t / n_blocks) * per_item;
        const int64_t i0 = (t % n_blocks) * PALI_ATTN_QUERY_BLOCK;
        const int64_t left = a->n_queries - i0;
        const int g = h0 / group;
        pali_attn_block b = {
            .q = a->q + i0 * a->q_stride + (int64_t)h0 * hd,
            .q_stride = a->q_stride,
            .nq = (int)(left < PALI_ATTN_QUERY_BLOCK ? left
                                                     : PALI_ATTN_QUERY_BLOCK),
            .k = (const char *)a->k + (size_t)g * lay->k_head * esize,
            .v = (const char *)a->v + (size_t)g * lay->v_head * esize,
            .lay = lay,
            .key0 = key0,
            .n_keys = n_keys,
            .s = scores,
            .s_stride = s_stride,
            .out = a->out + i0 * a->out_stride + (int64_t)h0 * hd,
            .out_stride = a->out_stride,
            .scratch = rest,
        };
        if (c->kernels->attn_group) {
            b.scratch =
                (char *)scores +
                round_up(per_item * PALI_ATTN_QUERY_BLOCK * s_stride * 4, 64);
            if (c->kernels->attn_group(&b, per_item, lo, hi, a->scale,
                                       a->softcap))
                continue;
            b.scratch = rest;
        }
        // One position (a decode step): the item's query heads are the
        // rows of one block, so that their kv head's keys and values are
        // read once (at 896 px, 0.44 GB a step), not once per head.
        const bool stacked = a->n_queries == 1 && per_item > 1;
        if (stacked) {
            b.q_stride = hd;
            b.out_stride = hd;
            b.nq = per_item;
        }
        for (int e = 0; e < (stacked ? 1 : per_item); e++) {
            b.q = a->q + i0 * a->q_stride + (int64_t)(h0 + e) * hd;
            b.out = a->out + i0 * a->out_stride + (int64_t)(h0 + e) * hd;
            // scores (nq, keys) = q (nq, hd) · k (keys, hd)ᵀ; then per row
            // scale, soft-cap and softmax (the reference's order)
            c->kernels->attn_scores(&b);
            for (int i = 0; i < b.nq; i++) {
                float *row = scores + i * s_stride;
                c->kernels->softcap_softmax(row + lo, hi - lo, a->scale,
                                            a->softcap);
                memset(row, 0, (size_t)lo * sizeof(float));
                memset(row + hi, 0, (size_t)(s_stride - hi) * sizeof(float));
            }
            // out (nq, hd) = p (nq, keys) · v (keys, hd)
            c->kernels->attn_values(&b);
        }
    }
}

void pali_attention(const pali_compute *c, const pali_attention_args *a)
{
    if (a->n_queries <= 0 || a->key_end <= a->key_begin)
        return;
    // items (query block, query heads of a kv head: the kernel set's
    // attn_group takes them at once), head-major, shared out in claims:
    // each thread starts on its own share of heads
    // (a single query position: the query heads of a kv head together on
    // every set, as the rows of one block)
    const int group = a->n_heads / a->n_kv_heads;
    const bool together =
        (c->kernels->attn_group && group <= PALI_ATTN_GROUP_MAX) ||
        (a->n_queries == 1 && group <= PALI_ATTN_QUERY_BLOCK);
    attention_job job = {
        c,
        a,
        (a->n_queries + PALI_ATTN_QUERY_BLOCK - 1) / PALI_ATTN_QUERY_BLOCK,
        together ? group : 1,
    };
    pali_work_reset(c->work, job.n_blocks * a->n_heads / job.per_item);
    pali_pool_run(c->pool, attention_worker, &job);
}
