/* bpe.c — the BPE model of tokenizer.json: one pre-tokenized word in, ids
 * out, exactly as Hugging Face tokenizers' BPE::merge_word and
 * Word::merge_all (models/bpe/{model,word}.rs) do it:
 *
 * 1. Each character becomes the vocabulary id of its spelling.  A
 *    character not in the vocabulary becomes one <0xNN> token per UTF-8
 *    byte when byte_fallback is on and all those byte tokens exist;
 *    otherwise it becomes unk_token (consecutive unknowns fused into one
 *    when fuse_unk is on), or vanishes when there is no unk_token.
 * 2. Merges are applied lowest rank first, equal ranks leftmost first,
 *    with a priority queue over a doubly linked list of symbols, so a word
 *    of n characters costs O(n log n), not O(n²).  A queued merge is
 *    dropped when its left symbol was absorbed, when it has no right
 *    neighbour, or when the pair now at its place merges into a different
 *    token (the reference compares the merged id, not the rank).
 *
 * With ignore_merges, a word that is itself in the vocabulary is one
 * token.  The merge loop allocates nothing: its arrays are the caller's
 * per-call scratch, grown to the longest word seen.
 *
 * Speed, without changing a single id: a long word is cut into chunks at
 * places no merge can reach across — between two characters c1 c2 that
 * both have vocabulary ids and never appear next to each other inside any
 * vocabulary token (every merged symbol is a vocabulary token, so none
 * can span the cut, and the merges on either side never interact).  In
 * Gemma's vocabulary that is before almost every "▁", so English text
 * falls into words, and repeated words come from a per-call cache, as
 * the reference caches words. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer-impl.h"

/* One symbol of the word being merged: a node of the linked list. */
typedef struct tok_symbol {
    int32_t id;
    int32_t prev, next; /* neighbours' indices, -1 at the ends */
    uint32_t len;       /* bytes covered; 0 once merged into the left */
} tok_symbol;

/* A candidate merge of the symbol at pos with its right neighbour, and
 * the pair's ids when it was queued. */
typedef struct tok_merge {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
    int32_t left, right;
} tok_merge;

/* Chunks up to this many bytes are cached (the reference caches words
 * under 256 bytes; chunks here are mostly single words). */
#define TOK_CACHE_MAX_CHUNK 64
/* Most cached chunks per call: bounds the cache at a few MB. */
#define TOK_CACHE_MAX_ENTRIES (1u << 17)
#define TOK_CACHE_MIN_SLOTS   256

void tok_bpe_scratch_free(tok_bpe_scratch *s)
{
    free(s->symbols);
    free(s->heap);
    free(s->cache.slots);
    tok_buf_free(&s->cache.keys);
    free(s->cache.ids.data);
    memset(s, 0, sizeof(*s));
}

static bool scratch_reserve(tok_bpe_scratch *s, size_t n_symbols)
{
    if (n_symbols > s->symbols_cap) {
        size_t cap = s->symbols_cap ? s->symbols_cap : 64;
        while (cap < n_symbols)
            cap *= 2;
        tok_symbol *sym = pali_malloc_array(cap, sizeof(*sym));
        if (sym == NULL)
            return false;
        free(s->symbols);
        s->symbols = sym;
        s->symbols_cap = cap;
    }
    /* Each merge queues at most two new candidates, after one initial
     * candidate per adjacent pair: fewer than 3n entries in all. */
    size_t heap_need = 3 * n_symbols + 4;
    if (heap_need > s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap : 256;
        while (cap < heap_need)
            cap *= 2;
        tok_merge *heap = pali_malloc_array(cap, sizeof(*heap));
        if (heap == NULL)
            return false;
        free(s->heap);
        s->heap = heap;
        s->heap_cap = cap;
    }
    return true;
}

/* ---- min-heap on (rank, pos) ------------------------------------------------
 */

static inline bool merge_before(const tok_merge *a, const tok_merge *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static inline void heap_push(tok_merge *heap, size_t *n, tok_merge m)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!merge_before(&m, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = m;
}

static inline tok_merge heap_pop(tok_merge *heap, size_t *n)
{
    tok_merge top = heap[0];
    tok_merge last = heap[--(*n)];
    size_t i = 0, count = *n;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= count)
            break;
        if (child + 1 < count && merge_before(&heap[child + 1], &heap[child]))
            child++;
        if (!merge_before(&heap[child], &last))
            break;
        heap[i] = heap[child];
        i = child;
    }
    if (count)
        heap[i] = last;
    return top;
}

/* ---- the word ------------------------------------------------------------ */

static inline void add_symbol(tok_symbol *sym, size_t *n, int32_t id,
                              uint32_t len)
{
    size_t i = (*n)++;
    sym[i] = (tok_symbol){
        .id = id, .prev = (int32_t)i - 1, .next = -1, .len = len
    };
    if (i > 0)
        sym[i - 1].next = (int32_t)i;
}

/* The vocabulary id of the one character c[0..len) (code point cp). */
static inline int32_t char_id(const pali_tokenizer *tok, const char *c,
                              size_t len, uint32_t cp)
{
    if (cp < 0x10000)
        return tok->bmp_ids[cp];
    return tok_strmap_get(&tok->vocab, &tok->pool, c, len);
}

/* Step 1: characters → symbols.  Returns the symbol count, or -1 when
 * unk_token is needed but not in the vocabulary. */
static long word_symbols(const pali_tokenizer *tok, const char *w, size_t n,
                         tok_symbol *sym)
{
    size_t count = 0;
    bool unk_pending = false;
    uint32_t unk_len = 0;
    const unsigned char *p = (const unsigned char *)w;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len =
            p[i] < 0x80 ? (cp = p[i], 1) : tok_utf8_next(p + i, n - i, &cp);
        if (len == 0) /* callers validate; never split a character */
            len = 1, cp = 0xFFFD;
        int32_t id = char_id(tok, w + i, len, cp);
        if (id >= 0) {
            if (unk_pending) {
                add_symbol(sym, &count, tok->unk_id, unk_len);
                unk_pending = false;
            }
            add_symbol(sym, &count, id, (uint32_t)len);
            i += len;
            continue;
        }
        if (tok->byte_fallback) {
            bool all = true;
            for (size_t k = 0; k < len; k++)
                all = all && tok->byte_ids[p[i + k]] >= 0;
            if (all) {
                /* As in the reference, a pending unk is not flushed here:
                 * it follows these byte tokens. */
                for (size_t k = 0; k < len; k++)
                    add_symbol(sym, &count, tok->byte_ids[p[i + k]], 1);
                i += len;
                continue;
            }
        }
        if (tok->has_unk) {
            if (tok->unk_id < 0)
                return -1;
            if (unk_pending && tok->fuse_unk) {
                unk_len += (uint32_t)len;
            } else {
                if (unk_pending)
                    add_symbol(sym, &count, tok->unk_id, unk_len);
                unk_pending = true;
                unk_len = (uint32_t)len;
            }
        }
        /* no unk_token: the reference drops the character */
        i += len;
    }
    if (unk_pending)
        add_symbol(sym, &count, tok->unk_id, unk_len);
    return (long)count;
}

/* Step 2: the merge loop (Word::merge_all without dropout). */
static void merge_all(const tok_pairmap *merges, tok_symbol *sym, size_t count,
                      tok_merge *heap)
{
    size_t n_heap = 0;
    for (size_t i = 0; i + 1 < count; i++) {
        const tok_pair_slot *m =
            tok_pairmap_get(merges, sym[i].id, sym[i + 1].id);
        if (m != NULL)
            heap_push(heap, &n_heap,
                      (tok_merge){ m->rank, (uint32_t)i, m->new_id, sym[i].id,
                                   sym[i + 1].id });
    }
    while (n_heap > 0) {
        tok_merge top = heap_pop(heap, &n_heap);
        tok_symbol *left = &sym[top.pos];
        if (left->len == 0 || left->next < 0)
            continue;
        tok_symbol right = sym[left->next];
        if (left->id != top.left || right.id != top.right) {
            /* the pair changed: still valid if it merges into the same
             * token (the reference compares only the merged id) */
            const tok_pair_slot *now =
                tok_pairmap_get(merges, left->id, right.id);
            if (now == NULL || now->new_id != top.new_id)
                continue; /* stale entry */
        }
        /* merge right into left */
        sym[left->next].len = 0;
        left->id = top.new_id;
        left->len += right.len;
        left->next = right.next;
        if (right.next >= 0)
            sym[right.next].prev = (int32_t)top.pos;
        if (left->prev >= 0) {
            const tok_pair_slot *m =
                tok_pairmap_get(merges, sym[left->prev].id, left->id);
            if (m != NULL)
                heap_push(heap, &n_heap,
                          (tok_merge){ m->rank, (uint32_t)left->prev, m->new_id,
                                       sym[left->prev].id, left->id });
        }
        if (left->next >= 0) {
            const tok_pair_slot *m =
                tok_pairmap_get(merges, left->id, sym[left->next].id);
            if (m != NULL)
                heap_push(heap, &n_heap,
                          (tok_merge){ m->rank, top.pos, m->new_id, left->id,
                                       sym[left->next].id });
        }
    }
}

pali_status tok_bpe_word(const pali_tokenizer *tok, tok_bpe_scratch *s,
                         const char *w, size_t n, tok_ids *out, pali_error *err)
{
    if (tok->ignore_merges) {
        int32_t id = tok_strmap_get(&tok->vocab, &tok->pool, w, n);
        if (id >= 0)
            return tok_ids_push(out, id)
                       ? PALI_OK
                       : pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                                   "tokenizer: out of memory");
    }
    /* at most one symbol per byte */
    if (!scratch_reserve(s, n))
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "tokenizer: out of memory for a %zu-byte word", n);
    long count = word_symbols(tok, w, n, s->symbols);
    if (count < 0)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: model.unk_token \"%s\" is needed for a "
                         "character but is not in model.vocab",
                         tok->path, tok_str(tok, tok->unk_off));
    if (count > 1)
        merge_all(&tok->merges, s->symbols, (size_t)count, s->heap);
    for (long i = 0; i < count; i++) {
        if (s->symbols[i].len == 0)
            continue;
        if (!tok_ids_push(out, s->symbols[i].id))
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                             "tokenizer: out of memory");
    }
    return PALI_OK;
}

/* ---- chunks and the per-call cache --------------------------------------- */

/* No vocabulary token holds c1 right before c2 (both with their own ids). */
static inline bool cut_is_safe(const pali_tokenizer *tok, uint32_t c1,
                               uint32_t c2)
{
    if (c2 >= 0x10000 || tok->pred_n[c2] > TOK_PRED_MAX)
        return false;
    for (int k = 0; k < tok->pred_n[c2]; k++)
        if (tok->preds[c2][k] == c1)
            return false;
    return true;
}

static bool cache_grow(tok_chunk_cache *c)
{
    uint32_t size = c->slots ? (c->mask + 1) * 2 : TOK_CACHE_MIN_SLOTS;
    tok_chunk_slot *slots = pali_malloc_array(size, sizeof(*slots));
    if (slots == NULL)
        return false;
    for (uint32_t i = 0; i < size; i++)
        slots[i].key_off = TOK_NONE;
    for (uint32_t i = 0; c->slots && i <= c->mask; i++) {
        if (c->slots[i].key_off == TOK_NONE)
            continue;
        uint32_t j = c->slots[i].hash & (size - 1);
        while (slots[j].key_off != TOK_NONE)
            j = (j + 1) & (size - 1);
        slots[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = slots;
    c->mask = size - 1;
    return true;
}

/* One chunk: from the cache, or merged and then cached. */
static pali_status encode_chunk(const pali_tokenizer *tok, tok_bpe_scratch *s,
                                const char *w, size_t n, tok_ids *out,
                                pali_error *err)
{
    tok_chunk_cache *c = &s->cache;
    if (n > TOK_CACHE_MAX_CHUNK)
        return tok_bpe_word(tok, s, w, n, out, err);
    if (c->slots == NULL && !cache_grow(c))
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "tokenizer: out of memory");
    uint32_t h = tok_hash_bytes(w, n);
    uint32_t i = h & c->mask;
    for (; c->slots[i].key_off != TOK_NONE; i = (i + 1) & c->mask) {
        const tok_chunk_slot *e = &c->slots[i];
        if (e->hash == h && e->key_len == n &&
            memcmp(c->keys.data + e->key_off, w, n) == 0) {
            for (uint32_t k = 0; k < e->n_ids; k++)
                if (!tok_ids_push(out, c->ids.data[e->ids_off + k]))
                    return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                                     "tokenizer: out of memory");
            return PALI_OK;
        }
    }
    size_t first = out->len;
    pali_status st = tok_bpe_word(tok, s, w, n, out, err);
    if (st != PALI_OK || c->count >= TOK_CACHE_MAX_ENTRIES)
        return st;
    /* remember it (a failed allocation only means no caching) */
    tok_chunk_slot e = { .hash = h,
                         .key_off = (uint32_t)c->keys.len,
                         .key_len = (uint32_t)n,
                         .ids_off = (uint32_t)c->ids.len,
                         .n_ids = (uint32_t)(out->len - first) };
    if (!tok_buf_append(&c->keys, w, n))
        return PALI_OK;
    for (size_t k = first; k < out->len; k++)
        if (!tok_ids_push(&c->ids, out->data[k]))
            return PALI_OK;
    if ((c->count + 1) * 2 > c->mask + 1) {
        if (!cache_grow(c))
            return PALI_OK;
        i = h & c->mask;
        while (c->slots[i].key_off != TOK_NONE)
            i = (i + 1) & c->mask;
    }
    c->slots[i] = e;
    c->count++;
    return PALI_OK;
}

pali_status tok_bpe_encode(const pali_tokenizer *tok, tok_bpe_scratch *s,
                           const char *w, size_t n, tok_ids *out,
                           pali_error *err)
{
    /* ignore_merges looks the whole word up first: no cutting */
    if (tok->ignore_merges)
        return tok_bpe_word(tok, s, w, n, out, err);
    const unsigned char *p = (const unsigned char *)w;
    size_t start = 0, i = 0;
    uint32_t prev_cp = 0;
    bool prev_known = false;
    while (i < n) {
        uint32_t cp;
        size_t len =
            p[i] < 0x80 ? (cp = p[i], 1) : tok_utf8_next(p + i, n - i, &cp);
        if (len == 0)
            len = 1, cp = 0xFFFD;
        bool known = char_id(tok, w + i, len, cp) >= 0;
        if (known && prev_known && i > start && cut_is_safe(tok, prev_cp, cp)) {
            pali_status st =
                encode_chunk(tok, s, w + start, i - start, out, err);
            if (st != PALI_OK)
                return st;
            start = i;
        }
        prev_known = known;
        prev_cp = cp;
        i += len;
    }
    return encode_chunk(tok, s, w + start, n - start, out, err);
}
