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
 * per-call scratch, grown to the longest word seen. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer-impl.h"

/* One symbol of the word being merged: a node of the linked list. */
typedef struct tok_symbol {
    int32_t id;
    int32_t prev, next; /* neighbours' indices, -1 at the ends */
    uint32_t len;       /* bytes covered; 0 once merged into the left */
} tok_symbol;

/* A candidate merge of the symbol at pos with its right neighbour. */
typedef struct tok_merge {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
} tok_merge;

void tok_bpe_scratch_free(tok_bpe_scratch *s)
{
    free(s->symbols);
    free(s->heap);
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

/* ---- min-heap on (rank, pos) ------------------------------------------------ */

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

/* ---- the word ------------------------------------------------------------------- */

static inline void add_symbol(tok_symbol *sym, size_t *n, int32_t id,
                              uint32_t len)
{
    size_t i = (*n)++;
    sym[i] = (tok_symbol){ .id = id,
                           .prev = (int32_t)i - 1,
                           .next = -1,
                           .len = len };
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
        size_t len = p[i] < 0x80 ? (cp = p[i], 1)
                                 : tok_utf8_next(p + i, n - i, &cp);
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
static void merge_all(const tok_pairmap *merges, tok_symbol *sym,
                      size_t count, tok_merge *heap)
{
    size_t n_heap = 0;
    for (size_t i = 0; i + 1 < count; i++) {
        const tok_pair_slot *m =
            tok_pairmap_get(merges, sym[i].id, sym[i + 1].id);
        if (m != NULL)
            heap_push(heap, &n_heap,
                      (tok_merge){ m->rank, (uint32_t)i, m->new_id });
    }
    while (n_heap > 0) {
        tok_merge top = heap_pop(heap, &n_heap);
        tok_symbol *left = &sym[top.pos];
        if (left->len == 0 || left->next < 0)
            continue;
        tok_symbol right = sym[left->next];
        const tok_pair_slot *now = tok_pairmap_get(merges, left->id, right.id);
        if (now == NULL || now->new_id != top.new_id)
            continue; /* stale entry */
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
                          (tok_merge){ m->rank, (uint32_t)left->prev,
                                       m->new_id });
        }
        if (left->next >= 0) {
            const tok_pair_slot *m =
                tok_pairmap_get(merges, left->id, sym[left->next].id);
            if (m != NULL)
                heap_push(heap, &n_heap,
                          (tok_merge){ m->rank, top.pos, m->new_id });
        }
    }
}

pali_status tok_bpe_word(const pali_tokenizer *tok, tok_bpe_scratch *s,
                         const char *w, size_t n, tok_ids *out,
                         pali_error *err)
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
