/* tokenizer.c — loading a Hugging Face tokenizer.json (BPE model) and the
 * per-id queries of pali.h and tokenizer.h.
 *
 * Follows the reference library (Hugging Face tokenizers, serialization.rs
 * and models/bpe): the vocabulary and merges build the BPE model (a merge
 * is "a b" or ["a", "b"], its rank is its position, and both halves and
 * their concatenation must be in the vocabulary); added tokens are then
 * registered one by one, taking the vocabulary id of their content or the
 * next free id — a file whose declared id disagrees is refused, where the
 * reference would only warn and renumber.  Nothing about ids is assumed:
 * byte tokens, specials, unk and the post-processor's ids all come from
 * the file.  What the file declares and this build does not implement is
 * PALI_ERR_UNSUPPORTED naming it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tokenizer-impl.h"

/* Largest tokenizer.json read (the Gemma 3 one is 33 MB). */
#define TOK_FILE_MAX_BYTES (1024u * 1024u * 1024u)
/* Code points with a direct id table (the Basic Multilingual Plane). */
#define TOK_BMP_SIZE 0x10000

static pali_status oom(const pali_tokenizer *tok, pali_error *err)
{
    return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                     tok->path);
}

/* A JSON boolean member: absent → dflt; anything but true/false → error. */
static bool get_bool(const pali_json *obj, const char *key, bool dflt,
                     bool *out)
{
    const pali_json *v = pali_json_get(obj, key);
    if (v == NULL) {
        *out = dflt;
        return true;
    }
    if (!pali_json_is(v, PALI_JSON_TRUE) && !pali_json_is(v, PALI_JSON_FALSE))
        return false;
    *out = pali_json_is(v, PALI_JSON_TRUE);
    return true;
}

static bool is_null_or_absent(const pali_json *v)
{
    return v == NULL || pali_json_is(v, PALI_JSON_NULL);
}

static bool valid_id(const pali_json *v)
{
    return pali_json_is(v, PALI_JSON_NUMBER) && v->is_integer &&
           v->integer >= 0 && v->integer <= TOK_MAX_ID;
}

/* ---- model ---------------------------------------------------------------- */

static pali_status check_model_options(pali_tokenizer *tok,
                                       const pali_json *model, pali_error *err)
{
    const pali_json *type = pali_json_get(model, "type");
    if (type != NULL) {
        if (!pali_json_is(type, PALI_JSON_STRING))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.type is not a string", tok->path);
        if (strcmp(type->u.string, "BPE") != 0)
            return pali_fail(err, PALI_ERR_UNSUPPORTED,
                             "%s: model type \"%.64s\" is not supported "
                             "(only BPE)",
                             tok->path, type->u.string);
    }
    const pali_json *dropout = pali_json_get(model, "dropout");
    if (!is_null_or_absent(dropout)) {
        if (!pali_json_is(dropout, PALI_JSON_NUMBER) ||
            dropout->u.number < 0 || dropout->u.number > 1)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.dropout must be null or in [0, 1]",
                             tok->path);
        if (dropout->u.number != 0)
            return pali_fail(err, PALI_ERR_UNSUPPORTED,
                             "%s: model.dropout %g is not supported (random "
                             "merges; only null or 0)",
                             tok->path, dropout->u.number);
    }
    static const char *const affixes[] = { "continuing_subword_prefix",
                                           "end_of_word_suffix" };
    for (size_t i = 0; i < PALI_ARRAY_LEN(affixes); i++) {
        const pali_json *v = pali_json_get(model, affixes[i]);
        if (!is_null_or_absent(v))
            return pali_fail(err, PALI_ERR_UNSUPPORTED,
                             "%s: model.%s is not supported (only null)",
                             tok->path, affixes[i]);
    }
    static const char *const flags[] = { "fuse_unk", "byte_fallback",
                                         "ignore_merges" };
    bool *dst[] = { &tok->fuse_unk, &tok->byte_fallback, &tok->ignore_merges };
    for (size_t i = 0; i < PALI_ARRAY_LEN(flags); i++)
        if (!get_bool(model, flags[i], false, dst[i]))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.%s is not a boolean", tok->path,
                             flags[i]);
    const pali_json *unk = pali_json_get(model, "unk_token");
    if (!is_null_or_absent(unk)) {
        if (!pali_json_is(unk, PALI_JSON_STRING))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.unk_token is not a string", tok->path);
        if (!tok_pool_add(&tok->pool, unk->u.string, unk->len, &tok->unk_off))
            return oom(tok, err);
        tok->unk_len = unk->len;
        tok->has_unk = true;
    }
    return PALI_OK;
}

/* Pass 1 over model.vocab: types and the largest id. */
static pali_status scan_vocab(pali_tokenizer *tok, const pali_json *vocab,
                              int32_t *max_id, pali_error *err)
{
    if (!pali_json_is(vocab, PALI_JSON_OBJECT))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: model.vocab is missing or not an object",
                         tok->path);
    for (uint32_t i = 0; i < vocab->len; i++) {
        const pali_json *id = pali_json_value_at(vocab, i);
        if (!valid_id(id))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.vocab[\"%.64s\"] is not an integer id "
                             "in 0..%d",
                             tok->path, pali_json_key_at(vocab, i)->u.string,
                             TOK_MAX_ID);
        if (id->integer > *max_id)
            *max_id = (int32_t)id->integer;
    }
    return PALI_OK;
}

static pali_status load_vocab(pali_tokenizer *tok, const pali_json *vocab,
                              pali_error *err)
{
    if (!tok_strmap_init(&tok->vocab, vocab->len))
        return oom(tok, err);
    for (uint32_t i = 0; i < vocab->len; i++) {
        const pali_json *key = pali_json_key_at(vocab, i);
        int32_t id = (int32_t)pali_json_value_at(vocab, i)->integer;
        tok_id_info *info = &tok->info[id];
        if (info->flags & TOK_ID_IN_VOCAB)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.vocab gives id %d to both \"%.64s\" "
                             "and \"%.64s\"",
                             tok->path, id, tok_str(tok, info->str_off),
                             key->u.string);
        uint32_t off;
        int32_t existing;
        if (!tok_pool_add(&tok->pool, key->u.string, key->len, &off) ||
            !tok_strmap_put(&tok->vocab, &tok->pool, off, key->len, id,
                            &existing))
            return oom(tok, err);
        if (existing >= 0)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.vocab lists \"%.64s\" twice",
                             tok->path, key->u.string);
        info->str_off = off;
        info->str_len = key->len;
        info->flags |= TOK_ID_IN_VOCAB;
    }
    tok->n_vocab = (int32_t)vocab->len;
    return PALI_OK;
}

/* The two halves of merge i: ["a", "b"] or "a b" (exactly one space, as
 * the reference's legacy format requires).  *skip is set for the legacy
 * "#version" header line, which has no rank. */
static pali_status merge_halves(pali_tokenizer *tok, const pali_json *m,
                                uint32_t i, bool legacy, const char **a,
                                size_t *a_len, const char **b, size_t *b_len,
                                bool *skip, pali_error *err)
{
    *skip = false;
    if (legacy) {
        if (!pali_json_is(m, PALI_JSON_STRING))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.merges[%u] is not a string like the "
                             "first merge",
                             tok->path, i);
        if (m->len >= 8 && memcmp(m->u.string, "#version", 8) == 0) {
            *skip = true;
            return PALI_OK;
        }
        const char *sp = memchr(m->u.string, ' ', m->len);
        if (sp == NULL || memchr(sp + 1, ' ', m->len - (size_t)(sp + 1 -
                                                                m->u.string)))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.merges[%u] \"%.64s\" is not two tokens "
                             "separated by one space",
                             tok->path, i, m->u.string);
        *a = m->u.string;
        *a_len = (size_t)(sp - m->u.string);
        *b = sp + 1;
        *b_len = m->len - *a_len - 1;
        return PALI_OK;
    }
    if (!pali_json_is(m, PALI_JSON_ARRAY) || m->len != 2 ||
        !pali_json_is(&m->u.items[0], PALI_JSON_STRING) ||
        !pali_json_is(&m->u.items[1], PALI_JSON_STRING))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: model.merges[%u] is not a pair of strings like "
                         "the first merge",
                         tok->path, i);
    *a = m->u.items[0].u.string;
    *a_len = m->u.items[0].len;
    *b = m->u.items[1].u.string;
    *b_len = m->u.items[1].len;
    return PALI_OK;
}

/* Merges are resolved in batches: hashing and prefetching every lookup of
 * a batch before doing any hides the cache misses of ~1.5 million random
 * accesses (three lookups and one insertion per merge). */
#define MERGE_BATCH 64

typedef struct merge_key {
    const char *s;
    size_t n;
    uint32_t hash, slot;
} merge_key;

static pali_status load_merges(pali_tokenizer *tok, const pali_json *merges,
                               pali_error *err)
{
    if (!pali_json_is(merges, PALI_JSON_ARRAY))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: model.merges is missing or not an array",
                         tok->path);
    if (!tok_pairmap_init(&tok->merges, merges->len))
        return oom(tok, err);
    bool legacy = merges->len > 0 &&
                  pali_json_is(&merges->u.items[0], PALI_JSON_STRING);
    tok_buf joined = { 0 };
    merge_key keys[MERGE_BATCH][3]; /* a, b, a+b */
    size_t joined_off[MERGE_BATCH];
    uint32_t index[MERGE_BATCH];
    int32_t ids[MERGE_BATCH][3];
    uint32_t rank = 0;
    pali_status st = PALI_OK;
    for (uint32_t base = 0; base < merges->len && st == PALI_OK;
         base += MERGE_BATCH) {
        int count = 0;
        joined.len = 0;
        for (uint32_t i = base; i < merges->len && i < base + MERGE_BATCH;
             i++) {
            merge_key *k = keys[count];
            bool skip;
            st = merge_halves(tok, &merges->u.items[i], i, legacy, &k[0].s,
                              &k[0].n, &k[1].s, &k[1].n, &skip, err);
            if (st != PALI_OK)
                break;
            if (skip)
                continue;
            joined_off[count] = joined.len;
            if (!tok_buf_append(&joined, k[0].s, k[0].n) ||
                !tok_buf_append(&joined, k[1].s, k[1].n)) {
                st = oom(tok, err);
                break;
            }
            k[2].n = k[0].n + k[1].n;
            index[count++] = i;
        }
        for (int j = 0; j < count && st == PALI_OK; j++) {
            keys[j][2].s = joined.data + joined_off[j];
            for (int k = 0; k < 3; k++) {
                keys[j][k].hash = tok_hash_bytes(keys[j][k].s, keys[j][k].n);
                tok_strmap_prefetch(&tok->vocab, keys[j][k].hash);
            }
        }
        for (int j = 0; j < count && st == PALI_OK; j++)
            for (int k = 0; k < 3; k++)
                keys[j][k].slot = tok_strmap_candidate(&tok->vocab, &tok->pool,
                                                       keys[j][k].hash);
        for (int j = 0; j < count && st == PALI_OK; j++) {
            for (int k = 0; k < 3; k++) {
                const merge_key *key = &keys[j][k];
                ids[j][k] = tok_strmap_get_hashed(&tok->vocab, &tok->pool,
                                                  key->s, key->n, key->hash,
                                                  key->slot);
                if (ids[j][k] < 0) {
                    st = pali_fail(err, PALI_ERR_FORMAT,
                                   "%s: model.merges[%u] needs \"%.*s\", "
                                   "which is not in model.vocab",
                                   tok->path, index[j],
                                   (int)(key->n < 64 ? key->n : 64), key->s);
                    break;
                }
            }
            if (st == PALI_OK)
                tok_pairmap_prefetch(&tok->merges, ids[j][0], ids[j][1]);
        }
        for (int j = 0; j < count && st == PALI_OK; j++)
            tok_pairmap_put(&tok->merges, ids[j][0], ids[j][1], rank++,
                            ids[j][2]);
    }
    tok_buf_free(&joined);
    return st;
}

/* Which characters come right before each BMP character inside vocabulary
 * tokens (up to TOK_PRED_MAX of them; more is only counted). */
static bool build_pred_table(pali_tokenizer *tok)
{
    tok->pred_n = pali_calloc_array(TOK_BMP_SIZE, 1);
    tok->preds = pali_malloc_array(TOK_BMP_SIZE, sizeof(*tok->preds));
    if (tok->pred_n == NULL || tok->preds == NULL)
        return false;
    for (int32_t id = 0; id < tok->n_ids; id++) {
        const tok_id_info *info = &tok->info[id];
        if (!(info->flags & TOK_ID_IN_VOCAB))
            continue;
        const unsigned char *s =
            (const unsigned char *)tok_str(tok, info->str_off);
        size_t n = info->str_len, i = 0;
        uint32_t prev = 0;
        while (i < n) {
            uint32_t cp;
            size_t len = tok_utf8_next(s + i, n - i, &cp);
            if (len == 0)
                break; /* cannot happen: the JSON reader checked UTF-8 */
            uint8_t *count = &tok->pred_n[cp < TOK_BMP_SIZE ? cp : 0];
            if (i > 0 && cp < TOK_BMP_SIZE && *count <= TOK_PRED_MAX) {
                int k = 0;
                while (k < *count && tok->preds[cp][k] != prev)
                    k++;
                if (k == *count) {
                    if (*count < TOK_PRED_MAX)
                        tok->preds[cp][k] = prev;
                    (*count)++;
                }
            }
            prev = cp;
            i += len;
        }
    }
    return true;
}

/* Direct tables for the BPE inner loop: single code points, byte tokens,
 * unk. */
static pali_status build_char_tables(pali_tokenizer *tok, pali_error *err)
{
    tok->bmp_ids = pali_malloc_array(TOK_BMP_SIZE, sizeof(int32_t));
    if (tok->bmp_ids == NULL)
        return oom(tok, err);
    for (uint32_t i = 0; i < TOK_BMP_SIZE; i++)
        tok->bmp_ids[i] = -1;
    for (int32_t id = 0; id < tok->n_ids; id++) {
        const tok_id_info *info = &tok->info[id];
        if (!(info->flags & TOK_ID_IN_VOCAB))
            continue;
        uint32_t cp;
        const unsigned char *s =
            (const unsigned char *)tok_str(tok, info->str_off);
        if (info->str_len > 0 && info->str_len <= 3 &&
            tok_utf8_next(s, info->str_len, &cp) == info->str_len)
            tok->bmp_ids[cp] = id;
    }
    if (!build_pred_table(tok))
        return oom(tok, err);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof(name), "<0x%02X>", b);
        tok->byte_ids[b] = tok_strmap_get(&tok->vocab, &tok->pool, name, 6);
    }
    tok->unk_id = tok->has_unk ? tok_strmap_get(&tok->vocab, &tok->pool,
                                                tok_str(tok, tok->unk_off),
                                                tok->unk_len)
                               : -1;
    return PALI_OK;
}

/* ---- added tokens ----------------------------------------------------------- */

static pali_status scan_added(pali_tokenizer *tok, const pali_json *added,
                              int32_t *max_id, pali_error *err)
{
    if (is_null_or_absent(added))
        return PALI_OK;
    if (!pali_json_is(added, PALI_JSON_ARRAY))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: added_tokens is not an array", tok->path);
    static const char *const flags[] = { "special", "normalized", "lstrip",
                                         "rstrip", "single_word" };
    for (uint32_t i = 0; i < added->len; i++) {
        const pali_json *t = &added->u.items[i];
        const pali_json *id = pali_json_get(t, "id");
        const pali_json *content = pali_json_get(t, "content");
        if (!pali_json_is(t, PALI_JSON_OBJECT) || !valid_id(id))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: added_tokens[%u] needs an integer \"id\" "
                             "in 0..%d",
                             tok->path, i, TOK_MAX_ID);
        if (!pali_json_is(content, PALI_JSON_STRING) || content->len == 0)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: added_tokens[%u] needs a non-empty string "
                             "\"content\"",
                             tok->path, i);
        for (size_t k = 0; k < PALI_ARRAY_LEN(flags); k++) {
            const pali_json *f = pali_json_get(t, flags[k]);
            if (!pali_json_is(f, PALI_JSON_TRUE) &&
                !pali_json_is(f, PALI_JSON_FALSE))
                return pali_fail(err, PALI_ERR_FORMAT,
                                 "%s: added_tokens[%u] (\"%.64s\") needs a "
                                 "boolean \"%s\"",
                                 tok->path, i, content->u.string, flags[k]);
        }
        if (pali_json_is(pali_json_get(t, "single_word"), PALI_JSON_TRUE))
            return pali_fail(err, PALI_ERR_UNSUPPORTED,
                             "%s: added_tokens[%u] (\"%.64s\"): single_word "
                             "is not supported",
                             tok->path, i, content->u.string);
        if (id->integer > *max_id)
            *max_id = (int32_t)id->integer;
    }
    return PALI_OK;
}

static pali_status load_added(pali_tokenizer *tok, const pali_json *added,
                              pali_error *err)
{
    uint32_t n = pali_json_is(added, PALI_JSON_ARRAY) ? added->len : 0;
    tok->added = pali_calloc_array(n, sizeof(*tok->added));
    if (tok->added == NULL || !tok_strmap_init(&tok->added_map, n))
        return oom(tok, err);
    int32_t max_added = -1;
    for (uint32_t i = 0; i < n; i++) {
        const pali_json *t = &added->u.items[i];
        const pali_json *content = pali_json_get(t, "content");
        int32_t file_id = (int32_t)pali_json_get(t, "id")->integer;
        /* the id the reference gives it (AddedVocabulary::add_tokens) */
        int32_t id = tok_strmap_get(&tok->vocab, &tok->pool, content->u.string,
                                    content->len);
        if (id < 0) {
            if (max_added < 0)
                id = tok->n_vocab;
            else
                id = max_added >= tok->n_vocab || tok->n_vocab == 0
                         ? max_added + 1
                         : tok->n_vocab;
        }
        if (id != file_id)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: added_tokens[%u] (\"%.64s\") has id %d, but "
                             "the vocabulary gives it id %d",
                             tok->path, i, content->u.string, file_id, id);
        tok_added *a = &tok->added[tok->n_added];
        int32_t existing;
        if (!tok_pool_add(&tok->pool, content->u.string, content->len,
                          &a->content_off) ||
            !tok_strmap_put(&tok->added_map, &tok->pool, a->content_off,
                            content->len, id, &existing))
            return oom(tok, err);
        if (existing >= 0)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: added_tokens[%u] (\"%.64s\") repeats an "
                             "earlier added token",
                             tok->path, i, content->u.string);
        a->id = id;
        a->content_len = content->len;
        a->special = pali_json_is(pali_json_get(t, "special"), PALI_JSON_TRUE);
        a->normalized =
            pali_json_is(pali_json_get(t, "normalized"), PALI_JSON_TRUE);
        a->lstrip = pali_json_is(pali_json_get(t, "lstrip"), PALI_JSON_TRUE);
        a->rstrip = pali_json_is(pali_json_get(t, "rstrip"), PALI_JSON_TRUE);
        tok->n_added++;
        if (id > max_added)
            max_added = id;
        tok_id_info *info = &tok->info[id];
        info->str_off = a->content_off;
        info->str_len = a->content_len;
        info->flags |= TOK_ID_ADDED | (a->special ? TOK_ID_SPECIAL : 0);
    }
    return PALI_OK;
}

/* The two tries: special tokens first, then the others, each in file
 * order (the reference's pattern order); normalized tokens are matched by
 * their normalized content. */
static pali_status build_tries(pali_tokenizer *tok, pali_error *err)
{
    if (!tok_trie_init(&tok->raw_trie) || !tok_trie_init(&tok->norm_trie))
        return oom(tok, err);
    tok_buf norm = { 0 }, tmp = { 0 };
    pali_status st = PALI_OK;
    for (int pass = 0; pass < 2 && st == PALI_OK; pass++) {
        for (int32_t i = 0; i < tok->n_added && st == PALI_OK; i++) {
            const tok_added *a = &tok->added[i];
            if (a->special != (pass == 0))
                continue;
            const char *s = tok_str(tok, a->content_off);
            size_t n = a->content_len;
            tok_trie *trie = &tok->raw_trie;
            if (a->normalized) {
                if (!tok_normalize(tok, s, n, &norm, &tmp)) {
                    st = oom(tok, err);
                    break;
                }
                s = norm.data;
                n = norm.len;
                trie = &tok->norm_trie;
            }
            int32_t existing;
            if (n > 0 && !tok_trie_add(trie, s, n, i, &existing))
                st = oom(tok, err);
        }
    }
    tok_buf_free(&norm);
    tok_buf_free(&tmp);
    return st;
}

/* ---- per-id facts --------------------------------------------------------------- */

static int digits_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static pali_status build_id_info(pali_tokenizer *tok, pali_error *err)
{
    for (int b = 0; b < 256; b++)
        if (tok->byte_ids[b] >= 0)
            tok->info[tok->byte_ids[b]].fallback_byte = (int16_t)b;
    tok_buf piece = { 0 }, pre = { 0 }, t1 = { 0 }, t2 = { 0 };
    pali_status st = PALI_OK;
    const tok_decoder *d = &tok->dec;
    for (int32_t id = 0; id < tok->n_ids && st == PALI_OK; id++) {
        tok_id_info *info = &tok->info[id];
        if (info->str_off == TOK_NONE)
            continue;
        const char *s = tok_str(tok, info->str_off);
        size_t n = info->str_len;
        if (n == 9 && memcmp(s, "<loc", 4) == 0 && s[8] == '>')
            info->loc = (int16_t)digits_value(s + 4, 4);
        if (n == 8 && memcmp(s, "<seg", 4) == 0 && s[7] == '>')
            info->seg = (int16_t)digits_value(s + 4, 3);
        /* what the decoder chain makes of this token on its own */
        pre.len = piece.len = 0;
        bool ok = tok_apply_dec_steps(tok, d->pre, d->n_pre, s, n, &pre, &t1,
                                      &t2);
        int byte = ok && d->byte_fallback
                       ? tok_parse_byte_token(pre.data, pre.len)
                       : -1;
        info->dec_byte = (int16_t)byte;
        if (ok && byte < 0)
            ok = tok_apply_dec_steps(tok, d->post, d->n_post, pre.data,
                                     pre.len, &piece, &t1, &t2);
        if (!ok) {
            st = oom(tok, err);
            break;
        }
        if (byte >= 0) {
            info->piece_off = TOK_NONE;
        } else if (piece.len == n && memcmp(piece.data, s, n) == 0) {
            info->piece_off = info->str_off;
            info->piece_len = info->str_len;
        } else if (!tok_pool_add(&tok->pool, piece.data, piece.len,
                                 &info->piece_off)) {
            st = oom(tok, err);
        } else {
            info->piece_len = (uint32_t)piece.len;
        }
    }
    /* an invalid byte run decodes to U+FFFD per byte, then the post steps */
    piece.len = 0;
    if (st == PALI_OK &&
        (!tok_apply_dec_steps(tok, d->post, d->n_post, "\xEF\xBF\xBD", 3,
                              &piece, &t1, &t2) ||
         !tok_pool_add(&tok->pool, piece.data ? piece.data : "", piece.len,
                       &tok->repl_off)))
        st = oom(tok, err);
    tok->repl_len = (uint32_t)piece.len;
    tok_buf_free(&piece);
    tok_buf_free(&pre);
    tok_buf_free(&t1);
    tok_buf_free(&t2);
    return st;
}

/* ---- the whole file ---------------------------------------------------------------- */

static pali_status check_top_level(pali_tokenizer *tok, const pali_json *root,
                                   pali_error *err)
{
    if (!pali_json_is(root, PALI_JSON_OBJECT))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: not a JSON object (tokenizer.json expected)",
                         tok->path);
    const pali_json *version = pali_json_get(root, "version");
    if (version != NULL &&
        (!pali_json_is(version, PALI_JSON_STRING) ||
         strcmp(version->u.string, "1.0") != 0))
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: tokenizer.json version is not \"1.0\"",
                         tok->path);
    static const char *const params[] = { "truncation", "padding" };
    for (size_t i = 0; i < PALI_ARRAY_LEN(params); i++)
        if (!is_null_or_absent(pali_json_get(root, params[i])))
            return pali_fail(err, PALI_ERR_UNSUPPORTED,
                             "%s: \"%s\" is not supported (only null)",
                             tok->path, params[i]);
    const pali_json *model = pali_json_get(root, "model");
    if (!pali_json_is(model, PALI_JSON_OBJECT))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: \"model\" is missing or not an object",
                         tok->path);
    return PALI_OK;
}

static pali_status load_from_json(pali_tokenizer *tok, const pali_json *root,
                                  pali_error *err)
{
    pali_status st = check_top_level(tok, root, err);
    if (st != PALI_OK)
        return st;
    const pali_json *model = pali_json_get(root, "model");
    const pali_json *vocab = pali_json_get(model, "vocab");
    const pali_json *added = pali_json_get(root, "added_tokens");
    int32_t max_id = -1;
    if ((st = check_model_options(tok, model, err)) != PALI_OK ||
        (st = scan_vocab(tok, vocab, &max_id, err)) != PALI_OK ||
        (st = scan_added(tok, added, &max_id, err)) != PALI_OK)
        return st;
    tok->n_ids = max_id + 1;
    tok->info = pali_malloc_array((size_t)tok->n_ids + 1, sizeof(*tok->info));
    if (tok->info == NULL)
        return oom(tok, err);
    for (int32_t id = 0; id < tok->n_ids; id++)
        tok->info[id] = (tok_id_info){ .str_off = TOK_NONE,
                                       .piece_off = TOK_NONE,
                                       .dec_byte = -1,
                                       .fallback_byte = -1,
                                       .loc = -1,
                                       .seg = -1 };
    if ((st = load_vocab(tok, vocab, err)) != PALI_OK ||
        (st = load_merges(tok, pali_json_get(model, "merges"), err)) !=
            PALI_OK ||
        (st = build_char_tables(tok, err)) != PALI_OK ||
        (st = load_added(tok, added, err)) != PALI_OK ||
        (st = tok_parse_normalizer(tok, pali_json_get(root, "normalizer"),
                                   err)) != PALI_OK ||
        (st = tok_parse_pre_tokenizer(tok,
                                      pali_json_get(root, "pre_tokenizer"),
                                      err)) != PALI_OK ||
        (st = tok_parse_decoder(tok, pali_json_get(root, "decoder"), err)) !=
            PALI_OK ||
        (st = tok_parse_post_processor(
             tok, pali_json_get(root, "post_processor"), err)) != PALI_OK ||
        (st = build_tries(tok, err)) != PALI_OK ||
        (st = build_id_info(tok, err)) != PALI_OK)
        return st;
    return PALI_OK;
}

pali_status pali_tokenizer_load(const char *path, pali_tokenizer **out,
                                pali_error *err)
{
    if (out == NULL || path == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_tokenizer_load: NULL argument");
    *out = NULL;
    pali_tokenizer *tok = calloc(1, sizeof(*tok));
    if (tok == NULL || (tok->path = pali_strdup(path)) == NULL) {
        free(tok);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         path);
    }
    pali_json_doc *doc = NULL;
    pali_status st =
        pali_json_parse_file(path, TOK_FILE_MAX_BYTES, &doc, err);
    if (st == PALI_OK)
        st = load_from_json(tok, pali_json_root(doc), err);
    pali_json_free(doc);
    if (st != PALI_OK) {
        pali_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return PALI_OK;
}

void pali_tokenizer_free(pali_tokenizer *tok)
{
    if (tok == NULL)
        return;
    free(tok->path);
    free(tok->pool.data);
    free(tok->info);
    tok_strmap_free(&tok->vocab);
    tok_pairmap_free(&tok->merges);
    free(tok->bmp_ids);
    free(tok->pred_n);
    free(tok->preds);
    free(tok->added);
    tok_strmap_free(&tok->added_map);
    tok_trie_free(&tok->raw_trie);
    tok_trie_free(&tok->norm_trie);
    free(tok->norm);
    free(tok->split);
    free(tok->dec.pre);
    free(tok->dec.post);
    free(tok->dec.final);
    free(tok->post_before);
    free(tok->post_after);
    free(tok);
}

/* ---- queries ------------------------------------------------------------------------ */

int pali_tokenizer_size(const pali_tokenizer *tok)
{
    return tok ? tok->n_ids : 0;
}

int32_t pali_tokenizer_token_id(const pali_tokenizer *tok, const char *piece)
{
    if (tok == NULL || piece == NULL)
        return -1;
    size_t n = strlen(piece);
    int32_t id = tok_strmap_get(&tok->added_map, &tok->pool, piece, n);
    return id >= 0 ? id : tok_strmap_get(&tok->vocab, &tok->pool, piece, n);
}

static const tok_id_info *id_info(const pali_tokenizer *tok, int32_t id)
{
    if (tok == NULL || id < 0 || id >= tok->n_ids ||
        tok->info[id].str_off == TOK_NONE)
        return NULL;
    return &tok->info[id];
}

const char *pali_tokenizer_id_to_piece(const pali_tokenizer *tok, int32_t id,
                                       size_t *len)
{
    const tok_id_info *info = id_info(tok, id);
    if (len)
        *len = info ? info->str_len : 0;
    return info ? tok_str(tok, info->str_off) : NULL;
}

bool pali_tokenizer_is_special(const pali_tokenizer *tok, int32_t id)
{
    const tok_id_info *info = id_info(tok, id);
    return info && (info->flags & TOK_ID_SPECIAL);
}

bool pali_tokenizer_is_added(const pali_tokenizer *tok, int32_t id)
{
    const tok_id_info *info = id_info(tok, id);
    return info && (info->flags & TOK_ID_ADDED);
}

int pali_tokenizer_byte_value(const pali_tokenizer *tok, int32_t id)
{
    const tok_id_info *info = id_info(tok, id);
    return info ? info->fallback_byte : -1;
}

int pali_tokenizer_loc_value(const pali_tokenizer *tok, int32_t id)
{
    const tok_id_info *info = id_info(tok, id);
    return info ? info->loc : -1;
}

int pali_tokenizer_seg_value(const pali_tokenizer *tok, int32_t id)
{
    const tok_id_info *info = id_info(tok, id);
    return info ? info->seg : -1;
}
