/* tokenizer-impl.h — the layout of a loaded pali_tokenizer, shared by the
 * files that implement it: tokenizer.c (loading tokenizer.json, added
 * tokens, per-id facts), tok-model.c (the BPE model section),
 * tok-pipeline.c (normalizer, pre-tokenizer, decoder and post-processor
 * configuration), tok-tables.c (hash maps, the added-token trie, UTF-8),
 * bpe.c (the merge loop), tok-encode.c (encoding, prompt ids) and detok.c
 * (decoding, streaming).  Outside them only the tests include it.
 *
 * Everything here is written once by pali_tokenizer_load() and only read
 * afterwards, so one tokenizer may serve any number of threads; every call
 * keeps its scratch memory to itself. */
#ifndef PALI_TOKENIZER_IMPL_H
#define PALI_TOKENIZER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "tokenizer.h"

/* Largest token id accepted (ids index dense per-id tables).  The largest
 * real vocabularies are about 262,000 entries; a file with larger ids is
 * refused rather than allocating gigabytes for a corrupt number. */
#define TOK_MAX_ID ((1 << 22) - 1)
/* Predecessors remembered per character for safe word cuts (bpe.c). */
#define TOK_PRED_MAX 4
/* Deepest Sequence nesting accepted in the pipeline sections. */
#define TOK_MAX_NESTING 8
/* Most steps in a normalizer, pre-tokenizer or decoder chain. */
#define TOK_MAX_STEPS 32
/* "No string" marker for pool offsets. */
#define TOK_NONE UINT32_MAX

/* ---- string pool --------------------------------------------------------
 * Every string the tokenizer keeps (token spellings, decoded pieces,
 * patterns) lives in one growing buffer and is named by its offset, so the
 * buffer may move while loading.  Each string is NUL-terminated. */
typedef struct tok_pool {
    char *data;
    size_t len, cap;
} tok_pool;

/* Appends n bytes plus a NUL; *off receives the offset.  False on OOM or
 * when the pool would pass 4 GiB. */
bool tok_pool_add(tok_pool *pool, const char *s, size_t n, uint32_t *off);

/* ---- string → id map (open addressing, keys in the pool) ----------------- */
typedef struct tok_strmap_slot {
    uint32_t hash;
    uint32_t key_off; /* TOK_NONE: empty slot */
    uint32_t key_len;
    int32_t value;
} tok_strmap_slot;

typedef struct tok_strmap {
    tok_strmap_slot *slots; /* (mask + 1) */
    uint32_t mask, count;
} tok_strmap;

bool tok_strmap_init(tok_strmap *map, size_t expected);
void tok_strmap_free(tok_strmap *map);
uint32_t tok_hash_bytes(const char *s, size_t n);
/* The value stored for key s[0..n), or -1. */
int32_t tok_strmap_get(const tok_strmap *map, const tok_pool *pool,
                       const char *s, size_t n);
/* Batched lookups hide cache misses (loading looks up ~1.5 million
 * strings): tok_strmap_candidate() finds the first slot whose hash
 * matches h (or the empty slot ending the probe) and prefetches its key;
 * tok_strmap_get_hashed() then confirms from that slot on. */
static inline void tok_strmap_prefetch(const tok_strmap *map, uint32_t h)
{
    __builtin_prefetch(&map->slots[h & map->mask]);
}
uint32_t tok_strmap_candidate(const tok_strmap *map, const tok_pool *pool,
                              uint32_t h);
int32_t tok_strmap_get_hashed(const tok_strmap *map, const tok_pool *pool,
                              const char *s, size_t n, uint32_t h,
                              uint32_t from);
/* Inserts key (already in the pool at key_off) → value.  Returns false on
 * OOM; *existing receives the previous value when the key was present (the
 * map is then left unchanged), else -1. */
bool tok_strmap_put(tok_strmap *map, const tok_pool *pool, uint32_t key_off,
                    uint32_t key_len, int32_t value, int32_t *existing);

/* ---- merge table: (left id, right id) → (rank, merged id) ---------------- */
typedef struct tok_pair_slot {
    uint64_t key; /* left << 32 | right; TOK_PAIR_EMPTY: free */
    uint32_t rank;
    int32_t new_id;
} tok_pair_slot;

#define TOK_PAIR_EMPTY UINT64_MAX

typedef struct tok_pairmap {
    tok_pair_slot *slots; /* (mask + 1) */
    uint32_t mask, count;
} tok_pairmap;

bool tok_pairmap_init(tok_pairmap *map, size_t expected);
void tok_pairmap_free(tok_pairmap *map);
/* Inserts or overwrites (a later merge of the same pair wins, as in the
 * reference, which collects the merges into a hash map). */
void tok_pairmap_prefetch(const tok_pairmap *map, int32_t left, int32_t right);
void tok_pairmap_put(tok_pairmap *map, int32_t left, int32_t right,
                     uint32_t rank, int32_t new_id);

static inline uint64_t tok_pair_key(int32_t left, int32_t right)
{
    return (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
}

static inline const tok_pair_slot *tok_pairmap_get(const tok_pairmap *map,
                                                   int32_t left, int32_t right)
{
    uint64_t key = tok_pair_key(left, right);
    uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & map->mask;
    for (;;) {
        const tok_pair_slot *s = &map->slots[i];
        if (s->key == key)
            return s;
        if (s->key == TOK_PAIR_EMPTY)
            return NULL;
        i = (i + 1) & map->mask;
    }
}

/* ---- added-token trie ------------------------------------------------------
 * A byte trie over added-token contents, searched leftmost-longest like
 * the reference's Aho-Corasick automaton (MatchKind::LeftmostLongest):
 * at each position the longest token starting there wins, and the scan
 * resumes after it. */
typedef struct tok_trie_edge {
    uint32_t key; /* (node << 8 | byte) + 1; 0: free slot */
    int32_t child;
} tok_trie_edge;

typedef struct tok_trie {
    int32_t *node_token;     /* (n_nodes) token id, or -1 */
    uint8_t *node_has_child; /* (n_nodes) */
    int32_t n_nodes, cap_nodes;
    tok_trie_edge *edges; /* (edge_mask + 1) */
    uint32_t edge_mask, n_edges;
    int32_t root_child[256]; /* first-byte table, -1: none */
    int32_t n_tokens;        /* tokens inserted */
} tok_trie;

bool tok_trie_init(tok_trie *trie);
void tok_trie_free(tok_trie *trie);
/* Adds s[0..n) (n > 0) for token `id`.  False on OOM.  When the same
 * content is already present, *existing receives its id (kept). */
bool tok_trie_add(tok_trie *trie, const char *s, size_t n, int32_t id,
                  int32_t *existing);
/* Longest token starting at s (n bytes available): its id and length,
 * or -1. */
int32_t tok_trie_longest(const tok_trie *trie, const char *s, size_t n,
                         size_t *match_len);
/* The node reached by s[0..n) (-1 if none). */
int32_t tok_trie_find(const tok_trie *trie, const char *s, size_t n);

/* ---- UTF-8 ----------------------------------------------------------------
 */

/* Length of the well-formed UTF-8 sequence at p (at most n bytes), 0 when
 * it is not (overlong, surrogate, beyond U+10FFFF, truncated); decodes the
 * code point into *cp. */
size_t tok_utf8_next(const unsigned char *p, size_t n, uint32_t *cp);
/* Offset of the first byte that does not start a well-formed sequence, or
 * n when all n bytes are valid UTF-8. */
size_t tok_utf8_invalid_at(const char *s, size_t n);
/* Unicode White_Space (what the reference's regex \s matches). */
bool tok_is_white_space(uint32_t cp);

/* ---- pipeline steps --------------------------------------------------------
 * The parts of tokenizer.json around the model, reduced to the steps this
 * build implements (tok-pipeline.c parses them; anything else is refused
 * as unsupported). */

typedef enum tok_norm_kind {
    TOK_NORM_REPLACE, /* Replace, literal String pattern */
    TOK_NORM_PREPEND, /* Prepend (only to non-empty text) */
} tok_norm_kind;

typedef struct tok_norm_step {
    tok_norm_kind kind;
    uint32_t pattern_off, pattern_len; /* REPLACE: what is replaced */
    uint32_t content_off, content_len; /* REPLACE: by what; PREPEND: what */
} tok_norm_step;

/* Split pre-tokenizer behaviours (SplitDelimiterBehavior). */
typedef enum tok_split_behavior {
    TOK_SPLIT_REMOVED,
    TOK_SPLIT_ISOLATED,
    TOK_SPLIT_MERGED_WITH_PREVIOUS,
    TOK_SPLIT_MERGED_WITH_NEXT,
    TOK_SPLIT_CONTIGUOUS,
} tok_split_behavior;

typedef struct tok_split_step {
    uint32_t pattern_off, pattern_len; /* literal String pattern */
    tok_split_behavior behavior;
    bool invert;
} tok_split_step;

typedef enum tok_dec_kind {
    TOK_DEC_REPLACE, /* Replace, literal String pattern */
    TOK_DEC_STRIP,   /* Strip content, start, stop */
} tok_dec_kind;

typedef struct tok_dec_step {
    tok_dec_kind kind;
    uint32_t pattern_off, pattern_len; /* REPLACE */
    uint32_t content_off, content_len; /* REPLACE */
    uint32_t strip_char;               /* STRIP: a code point */
    uint32_t strip_start, strip_stop;  /* STRIP: most chars removed */
} tok_dec_step;

/* The decoder chain, regrouped: per-token steps before ByteFallback,
 * ByteFallback, per-token steps after it, Fuse (joining everything), then
 * steps on the joined text.  A decoder without Fuse still joins with ""
 * at the end (the reference's Decoder::decode); no decoder at all joins
 * the token strings with " ". */
typedef struct tok_decoder {
    bool present;        /* false: "decoder": null */
    bool byte_fallback;  /* a ByteFallback step */
    tok_dec_step *pre;   /* (n_pre) per token, before ByteFallback */
    tok_dec_step *post;  /* (n_post) per piece, after ByteFallback */
    tok_dec_step *final; /* (n_final) Strip steps after Fuse */
    int n_pre, n_post, n_final;
} tok_decoder;

/* ---- added tokens ----------------------------------------------------------
 * As the reference's AddedVocabulary (tokenizers 0.23): a map content → id,
 * a map id → the AddedToken last registered for that id (its content in
 * tok_id_info.str, its flags in tok_id_info.flags), from which the two
 * tries are built, and the set of contents registered as special (what
 * decode(skip_special) drops). */
/* One token to register (the reference's AddedToken; single_word is not
 * supported and so always false). */
typedef struct tok_token_spec {
    const char *content;
    size_t len;
    bool special, normalized, lstrip, rstrip;
} tok_token_spec;

/* ---- per-id table -----------------------------------------------------------
 */
enum tok_id_flags {
    TOK_ID_SPECIAL = 1u << 0,  /* its spelling is a special token's
                                * content: skipped with skip_special */
    TOK_ID_ADDED = 1u << 1,    /* an added token */
    TOK_ID_IN_VOCAB = 1u << 2, /* in model.vocab */
    /* the flags of the AddedToken registered for this id */
    TOK_ID_AS_SPECIAL = 1u << 3,
    TOK_ID_NORMALIZED = 1u << 4,
    TOK_ID_LSTRIP = 1u << 5,
    TOK_ID_RSTRIP = 1u << 6,
};

typedef struct tok_id_info {
    uint32_t str_off, str_len;     /* content (added first); TOK_NONE */
    uint32_t spell_off, spell_len; /* what the decoder is given: the
                                    * content, or for a normalized added
                                    * token its normalized content (as
                                    * the reference's normalized_cache) */
    uint32_t piece_off, piece_len; /* decoded text when not a byte */
    int16_t dec_byte;              /* ByteFallback's byte, or -1 */
    int16_t fallback_byte;         /* produced by byte fallback for, or -1 */
    int16_t loc, seg;              /* <locNNNN> / <segNNN> value, or -1 */
    uint8_t flags;                 /* enum tok_id_flags */
} tok_id_info;

struct pali_tokenizer {
    char *path; /* for error messages */
    tok_pool pool;

    /* ids */
    int32_t n_ids;     /* largest id + 1 (pali_tokenizer_size) */
    tok_id_info *info; /* (info_cap >= n_ids) */
    int32_t info_cap;

    /* model: BPE */
    tok_strmap vocab; /* model.vocab: spelling → id */
    int32_t n_vocab;  /* entries in model.vocab */
    tok_pairmap merges;
    int32_t *bmp_ids; /* (0x10000) id of each one-code-point BMP token */
    /* The characters found right before each BMP character inside
     * vocabulary tokens, when there are at most TOK_PRED_MAX of them
     * (pred_n > TOK_PRED_MAX: more).  No merge can join c1|c2 when c1
     * never precedes c2 inside a token, so a word may be cut there (see
     * bpe.c). */
    uint8_t *pred_n;                 /* (0x10000) */
    uint32_t (*preds)[TOK_PRED_MAX]; /* (0x10000, TOK_PRED_MAX) */
    int32_t byte_ids[256];           /* <0xNN> ids for byte fallback, -1 */
    bool byte_fallback, fuse_unk, ignore_merges;
    bool has_unk;   /* model.unk_token set */
    int32_t unk_id; /* its id, -1 when not in the vocab */
    uint32_t unk_off, unk_len;

    /* added tokens (tok-added.c) */
    int32_t max_added_id;   /* largest id given to an added token, or -1 */
    tok_strmap added_map;   /* content → id */
    tok_strmap special_map; /* contents of the special list → id */
    tok_trie raw_trie;      /* normalized: false — matched on raw text */
    tok_trie norm_trie;     /* normalized: true — matched after normalizing */

    /* pipeline */
    tok_norm_step *norm; /* (n_norm) */
    int n_norm;
    tok_split_step *split; /* (n_split) */
    int n_split;
    tok_decoder dec;
    /* post-processor: the special ids around a single input's encoding
     * when special tokens are added (see tok-pipeline.c) */
    int32_t *post_before, *post_after; /* (n_post_before), (n_post_after) */
    int n_post_before, n_post_after;

    /* U+FFFD after the post-ByteFallback steps (invalid byte runs) */
    uint32_t repl_off, repl_len;
};

static inline const char *tok_str(const pali_tokenizer *tok, uint32_t off)
{
    return tok->pool.data + off;
}

/* ---- loading (tokenizer.c, tok-model.c) ------------------------------------
 */

/* Code points with a direct id table (the Basic Multilingual Plane). */
#define TOK_BMP_SIZE 0x10000

struct pali_json;
pali_status tok_oom(const pali_tokenizer *tok, pali_error *err);
/* A boolean member: absent → dflt; false when it is not true/false. */
bool tok_json_bool(const struct pali_json *obj, const char *key, bool dflt,
                   bool *out);
bool tok_json_null_or_absent(const struct pali_json *v);
/* An integer in 0..TOK_MAX_ID. */
bool tok_json_valid_id(const struct pali_json *v);

/* The model's options, then the vocabulary in two passes (types and the
 * largest id; then, with tok->info allocated, the entries), the merges
 * and the direct tables of the merge loop. */
pali_status tok_model_options(pali_tokenizer *tok,
                              const struct pali_json *model, pali_error *err);
pali_status tok_scan_vocab(pali_tokenizer *tok, const struct pali_json *vocab,
                           int32_t *max_id, pali_error *err);
pali_status tok_load_vocab(pali_tokenizer *tok, const struct pali_json *vocab,
                           pali_error *err);
pali_status tok_load_merges(pali_tokenizer *tok, const struct pali_json *merges,
                            pali_error *err);
pali_status tok_build_char_tables(pali_tokenizer *tok, pali_error *err);

/* ---- the added vocabulary (tok-added.c) ------------------------------------
 */

/* Checks the file's added_tokens array (types, flags) and raises *max_id
 * to its largest id. */
pali_status tok_scan_added(pali_tokenizer *tok, const struct pali_json *added,
                           int32_t *max_id, pali_error *err);
/* Registers the file's added_tokens (needs the vocabulary and the
 * normalizer); a declared id the reference would not give, or a repeated
 * content, is refused. */
pali_status tok_load_added(pali_tokenizer *tok, const struct pali_json *added,
                           pali_error *err);
/* The tries (each added id by its content, or its normalized content when
 * normalized) and the special marks, from the registered tokens (need
 * the per-id spellings: after tok_describe_ids()). */
pali_status tok_build_tries(pali_tokenizer *tok, pali_error *err);
void tok_mark_specials(pali_tokenizer *tok);

/* ---- per-id facts (tokenizer.c) -------------------------------------------
 */

/* Fills the spelling, decoded piece, byte and loc/seg values of `ids`
 * (n of them; all ids when ids is NULL) from their content and flags. */
pali_status tok_describe_ids(pali_tokenizer *tok, const int32_t *ids, size_t n,
                             pali_error *err);
/* Makes id a valid index of tok->info (new entries empty), raising n_ids. */
bool tok_ensure_id(pali_tokenizer *tok, int32_t id);

/* ---- tok-pipeline.c ---------------------------------------------------------
 */

/* Parse the "normalizer", "pre_tokenizer", "decoder" and "post_processor"
 * sections (each may be absent or null) into tok.  The post-processor
 * needs the added tokens and vocabulary loaded first. */
pali_status tok_parse_normalizer(pali_tokenizer *tok, const struct pali_json *v,
                                 pali_error *err);
pali_status tok_parse_pre_tokenizer(pali_tokenizer *tok,
                                    const struct pali_json *v, pali_error *err);
pali_status tok_parse_decoder(pali_tokenizer *tok, const struct pali_json *v,
                              pali_error *err);
pali_status tok_parse_post_processor(pali_tokenizer *tok,
                                     const struct pali_json *v,
                                     pali_error *err);

/* ---- growable byte buffer (scratch, amortised growth) ---------------------
 */
typedef struct tok_buf {
    char *data;
    size_t len, cap;
} tok_buf;

bool tok_buf_reserve(tok_buf *b, size_t extra);
bool tok_buf_append(tok_buf *b, const char *s, size_t n);
void tok_buf_free(tok_buf *b);

/* Applies the normalizer steps to s[0..n) into out (replacing its
 * contents).  False on OOM. */
bool tok_normalize(const pali_tokenizer *tok, const char *s, size_t n,
                   tok_buf *out, tok_buf *tmp);
/* Applies per-token decoder steps to s[0..n), appending to out; tmp and
 * tmp2 are scratch (s must not point into them). */
bool tok_apply_dec_steps(const pali_tokenizer *tok, const tok_dec_step *steps,
                         int n_steps, const char *s, size_t n, tok_buf *out,
                         tok_buf *tmp, tok_buf *tmp2);
/* One Strip step on s[0..n): the kept byte range. */
void tok_strip_range(const tok_dec_step *step, const char *s, size_t n,
                     size_t *begin, size_t *end);
/* ByteFallback's reading of a token: its byte, or -1. */
int tok_parse_byte_token(const char *s, size_t n);

/* ---- bpe.c --------------------------------------------------------------- */

/* Growable id list. */
typedef struct tok_ids {
    int32_t *data;
    size_t len, cap;
} tok_ids;

bool tok_ids_push(tok_ids *ids, int32_t id);

/* Per-call cache of chunk encodings (a chunk → its ids). */
typedef struct tok_chunk_slot {
    uint32_t hash;
    uint32_t key_off; /* into keys; TOK_NONE: empty */
    uint32_t key_len;
    uint32_t ids_off; /* into ids */
    uint32_t n_ids;
} tok_chunk_slot;

typedef struct tok_chunk_cache {
    tok_chunk_slot *slots; /* (mask + 1) */
    uint32_t mask, count;
    tok_buf keys;
    tok_ids ids;
} tok_chunk_cache;

/* Per-call scratch of the BPE model. */
typedef struct tok_bpe_scratch {
    struct tok_symbol *symbols;
    size_t symbols_cap;
    struct tok_merge *heap;
    size_t heap_cap;
    tok_chunk_cache cache;
} tok_bpe_scratch;

void tok_bpe_scratch_free(tok_bpe_scratch *s);
/* Encodes one pre-tokenized word w[0..n) (valid UTF-8, n > 0) with the
 * BPE model, appending ids: cut into chunks where no merge can reach
 * across, each chunk merged on its own (or found in the call's cache). */
pali_status tok_bpe_encode(const pali_tokenizer *tok, tok_bpe_scratch *s,
                           const char *w, size_t n, tok_ids *out,
                           pali_error *err);
/* The same without cutting or caching: the reference algorithm as is. */
pali_status tok_bpe_word(const pali_tokenizer *tok, tok_bpe_scratch *s,
                         const char *w, size_t n, tok_ids *out,
                         pali_error *err);

#endif /* PALI_TOKENIZER_IMPL_H */
