/* tok-tables.c — the tokenizer's data structures: the string pool, the
 * vocabulary and merge hash maps (open addressing, linear probing), the
 * byte trie that finds added tokens leftmost-longest (the reference uses
 * an Aho-Corasick automaton with MatchKind::LeftmostLongest; a trie walk
 * from each position gives the same matches), UTF-8 checks and the
 * growable scratch buffers of encode and decode calls. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer-impl.h"

/* Hash tables are kept at most half full: short probe runs. */
#define TOK_LOAD_FACTOR_INV 2
/* Initial scratch sizes (bytes / elements); they double from there. */
#define TOK_BUF_MIN  256
#define TOK_IDS_MIN  64
#define TOK_TRIE_MIN 64

/* ---- pool ------------------------------------------------------------------
 */

bool tok_pool_add(tok_pool *pool, const char *s, size_t n, uint32_t *off)
{
    if (n >= UINT32_MAX || pool->len + n + 1 >= (size_t)UINT32_MAX)
        return false;
    if (pool->len + n + 1 > pool->cap) {
        size_t cap = pool->cap ? pool->cap : 1u << 16;
        while (cap < pool->len + n + 1)
            cap *= 2;
        char *d = realloc(pool->data, cap);
        if (d == NULL)
            return false;
        pool->data = d;
        pool->cap = cap;
    }
    if (n)
        memcpy(pool->data + pool->len, s, n);
    pool->data[pool->len + n] = 0;
    *off = (uint32_t)pool->len;
    pool->len += n + 1;
    return true;
}

/* ---- hashing ------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    return x;
}

uint32_t tok_hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = mix64(h ^ w) * 0xFF51AFD7ED558CCDull;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = mix64(h ^ w ^ (uint64_t)n << 56);
    return (uint32_t)h;
}

static uint32_t table_size(size_t expected)
{
    size_t size = 16;
    while (size < expected * TOK_LOAD_FACTOR_INV)
        size *= 2;
    return size > (1u << 30) ? 0 : (uint32_t)size;
}

/* ---- string map ---------------------------------------------------------- */

bool tok_strmap_init(tok_strmap *map, size_t expected)
{
    uint32_t size = table_size(expected);
    map->slots = size ? pali_malloc_array(size, sizeof(*map->slots)) : NULL;
    if (map->slots == NULL)
        return false;
    for (uint32_t i = 0; i < size; i++)
        map->slots[i].key_off = TOK_NONE;
    map->mask = size - 1;
    map->count = 0;
    return true;
}

void tok_strmap_free(tok_strmap *map)
{
    free(map->slots);
    map->slots = NULL;
    map->mask = map->count = 0;
}

int32_t tok_strmap_get_hashed(const tok_strmap *map, const tok_pool *pool,
                              const char *s, size_t n, uint32_t h,
                              uint32_t from)
{
    for (uint32_t i = from & map->mask;; i = (i + 1) & map->mask) {
        const tok_strmap_slot *slot = &map->slots[i];
        if (slot->key_off == TOK_NONE)
            return -1;
        if (slot->hash == h && slot->key_len == n &&
            memcmp(pool->data + slot->key_off, s, n) == 0)
            return slot->value;
    }
}

int32_t tok_strmap_get(const tok_strmap *map, const tok_pool *pool,
                       const char *s, size_t n)
{
    if (map->slots == NULL)
        return -1;
    uint32_t h = tok_hash_bytes(s, n);
    return tok_strmap_get_hashed(map, pool, s, n, h, h);
}

uint32_t tok_strmap_candidate(const tok_strmap *map, const tok_pool *pool,
                              uint32_t h)
{
    uint32_t i = h & map->mask;
    while (map->slots[i].key_off != TOK_NONE && map->slots[i].hash != h)
        i = (i + 1) & map->mask;
    if (map->slots[i].key_off != TOK_NONE)
        __builtin_prefetch(pool->data + map->slots[i].key_off);
    return i;
}

static bool strmap_grow(tok_strmap *map, const tok_pool *pool)
{
    tok_strmap bigger;
    if (!tok_strmap_init(&bigger, (size_t)map->count * 2 + 16))
        return false;
    for (uint32_t i = 0; i <= map->mask; i++) {
        const tok_strmap_slot *slot = &map->slots[i];
        if (slot->key_off == TOK_NONE)
            continue;
        uint32_t j = slot->hash & bigger.mask;
        while (bigger.slots[j].key_off != TOK_NONE)
            j = (j + 1) & bigger.mask;
        bigger.slots[j] = *slot;
    }
    bigger.count = map->count;
    (void)pool;
    tok_strmap_free(map);
    *map = bigger;
    return true;
}

bool tok_strmap_put(tok_strmap *map, const tok_pool *pool, uint32_t key_off,
                    uint32_t key_len, int32_t value, int32_t *existing)
{
    *existing = -1;
    if ((size_t)(map->count + 1) * TOK_LOAD_FACTOR_INV >
            (size_t)map->mask + 1 &&
        !strmap_grow(map, pool))
        return false;
    const char *s = pool->data + key_off;
    uint32_t h = tok_hash_bytes(s, key_len);
    uint32_t i = h & map->mask;
    for (;; i = (i + 1) & map->mask) {
        tok_strmap_slot *slot = &map->slots[i];
        if (slot->key_off == TOK_NONE)
            break;
        if (slot->hash == h && slot->key_len == key_len &&
            memcmp(pool->data + slot->key_off, s, key_len) == 0) {
            *existing = slot->value;
            return true;
        }
    }
    map->slots[i] = (tok_strmap_slot){
        .hash = h, .key_off = key_off, .key_len = key_len, .value = value
    };
    map->count++;
    return true;
}

/* ---- pair map ------------------------------------------------------------ */

bool tok_pairmap_init(tok_pairmap *map, size_t expected)
{
    uint32_t size = table_size(expected);
    map->slots = size ? pali_malloc_array(size, sizeof(*map->slots)) : NULL;
    if (map->slots == NULL)
        return false;
    for (uint32_t i = 0; i < size; i++)
        map->slots[i].key = TOK_PAIR_EMPTY;
    map->mask = size - 1;
    map->count = 0;
    return true;
}

void tok_pairmap_free(tok_pairmap *map)
{
    free(map->slots);
    map->slots = NULL;
    map->mask = map->count = 0;
}

void tok_pairmap_prefetch(const tok_pairmap *map, int32_t left, int32_t right)
{
    uint64_t key = tok_pair_key(left, right);
    __builtin_prefetch(
        &map->slots[(uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) &
                    map->mask],
        1);
}

/* The table is sized for every merge before insertion starts, so it never
 * needs to grow. */
void tok_pairmap_put(tok_pairmap *map, int32_t left, int32_t right,
                     uint32_t rank, int32_t new_id)
{
    uint64_t key = tok_pair_key(left, right);
    uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & map->mask;
    while (map->slots[i].key != TOK_PAIR_EMPTY && map->slots[i].key != key)
        i = (i + 1) & map->mask;
    if (map->slots[i].key == TOK_PAIR_EMPTY)
        map->count++;
    map->slots[i] =
        (tok_pair_slot){ .key = key, .rank = rank, .new_id = new_id };
}

/* ---- trie ---------------------------------------------------------------- */

bool tok_trie_init(tok_trie *trie)
{
    memset(trie, 0, sizeof(*trie));
    for (int i = 0; i < 256; i++)
        trie->root_child[i] = -1;
    trie->cap_nodes = TOK_TRIE_MIN;
    trie->node_token = pali_malloc_array(TOK_TRIE_MIN, sizeof(int32_t));
    trie->node_has_child = pali_calloc_array(TOK_TRIE_MIN, 1);
    trie->edges = pali_calloc_array(TOK_TRIE_MIN, sizeof(tok_trie_edge));
    if (!trie->node_token || !trie->node_has_child || !trie->edges)
        return false;
    trie->edge_mask = TOK_TRIE_MIN - 1;
    trie->n_nodes = 1; /* the root */
    trie->node_token[0] = -1;
    return true;
}

void tok_trie_free(tok_trie *trie)
{
    free(trie->node_token);
    free(trie->node_has_child);
    free(trie->edges);
    memset(trie, 0, sizeof(*trie));
}

static inline uint32_t edge_slot(uint32_t key, uint32_t mask)
{
    return (uint32_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static int32_t trie_child(const tok_trie *trie, int32_t node, unsigned char c)
{
    if (node == 0)
        return trie->root_child[c];
    if (!trie->node_has_child[node])
        return -1;
    uint32_t key = ((uint32_t)node << 8 | c) + 1;
    for (uint32_t i = edge_slot(key, trie->edge_mask);;
         i = (i + 1) & trie->edge_mask) {
        if (trie->edges[i].key == key)
            return trie->edges[i].child;
        if (trie->edges[i].key == 0)
            return -1;
    }
}

static bool trie_grow_edges(tok_trie *trie)
{
    uint32_t size = (trie->edge_mask + 1) * 2;
    tok_trie_edge *e = pali_calloc_array(size, sizeof(*e));
    if (e == NULL)
        return false;
    for (uint32_t i = 0; i <= trie->edge_mask; i++) {
        uint32_t key = trie->edges[i].key;
        if (key == 0)
            continue;
        uint32_t j = edge_slot(key, size - 1);
        while (e[j].key != 0)
            j = (j + 1) & (size - 1);
        e[j] = trie->edges[i];
    }
    free(trie->edges);
    trie->edges = e;
    trie->edge_mask = size - 1;
    return true;
}

static int32_t trie_add_child(tok_trie *trie, int32_t node, unsigned char c)
{
    if (trie->n_nodes == trie->cap_nodes) {
        if (trie->cap_nodes > TOK_MAX_ID)
            return -1;
        int32_t cap = trie->cap_nodes * 2;
        int32_t *tokens = realloc(trie->node_token, (size_t)cap * 4);
        if (tokens == NULL)
            return -1;
        trie->node_token = tokens;
        uint8_t *has = realloc(trie->node_has_child, (size_t)cap);
        if (has == NULL)
            return -1;
        trie->node_has_child = has;
        trie->cap_nodes = cap;
    }
    int32_t child = trie->n_nodes++;
    trie->node_token[child] = -1;
    trie->node_has_child[child] = 0;
    trie->node_has_child[node] = 1;
    if (node == 0) {
        trie->root_child[c] = child;
        return child;
    }
    if ((size_t)(trie->n_edges + 1) * TOK_LOAD_FACTOR_INV >
            (size_t)trie->edge_mask + 1 &&
        !trie_grow_edges(trie))
        return -1;
    uint32_t key = ((uint32_t)node << 8 | c) + 1;
    uint32_t i = edge_slot(key, trie->edge_mask);
    while (trie->edges[i].key != 0)
        i = (i + 1) & trie->edge_mask;
    trie->edges[i] = (tok_trie_edge){ .key = key, .child = child };
    trie->n_edges++;
    return child;
}

bool tok_trie_add(tok_trie *trie, const char *s, size_t n, int32_t id,
                  int32_t *existing)
{
    *existing = -1;
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int32_t next = trie_child(trie, node, c);
        if (next < 0)
            next = trie_add_child(trie, node, c);
        if (next < 0)
            return false;
        node = next;
    }
    if (trie->node_token[node] >= 0) {
        *existing = trie->node_token[node];
        return true;
    }
    trie->node_token[node] = id;
    trie->n_tokens++;
    return true;
}

int32_t tok_trie_longest(const tok_trie *trie, const char *s, size_t n,
                         size_t *match_len)
{
    int32_t best = -1;
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        node = trie_child(trie, node, (unsigned char)s[i]);
        if (node < 0)
            break;
        if (trie->node_token[node] >= 0) {
            best = trie->node_token[node];
            *match_len = i + 1;
        }
    }
    return best;
}

int32_t tok_trie_find(const tok_trie *trie, const char *s, size_t n)
{
    int32_t node = 0;
    for (size_t i = 0; i < n && node >= 0; i++)
        node = trie_child(trie, node, (unsigned char)s[i]);
    return node;
}

/* ---- UTF-8 --------------------------------------------------------------- */

size_t tok_utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    uint32_t v = c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

size_t tok_utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* ASCII runs, eight bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = tok_utf8_next(p + i, n - i, &cp);
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

bool tok_is_white_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 ||
           cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

/* ---- scratch buffers ----------------------------------------------------- */

bool tok_buf_reserve(tok_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return false;
    size_t need = b->len + extra + 1; /* room for a NUL */
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : TOK_BUF_MIN;
    while (cap < need)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (d == NULL)
        return false;
    b->data = d;
    b->cap = cap;
    return true;
}

bool tok_buf_append(tok_buf *b, const char *s, size_t n)
{
    if (!tok_buf_reserve(b, n))
        return false;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
    return true;
}

void tok_buf_free(tok_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

bool tok_ids_push(tok_ids *ids, int32_t id)
{
    if (ids->len == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : TOK_IDS_MIN;
        int32_t *d = pali_malloc_array(cap, sizeof(*d));
        if (d == NULL)
            return false;
        if (ids->len)
            memcpy(d, ids->data, ids->len * sizeof(*d));
        free(ids->data);
        ids->data = d;
        ids->cap = cap;
    }
    ids->data[ids->len++] = id;
    return true;
}
