/* tok-model.c — the "model" section of tokenizer.json: a BPE model as
 * Hugging Face tokenizers' BpeBuilder and its deserializer build it.
 *
 * The vocabulary maps spellings to ids (each id once, each spelling
 * once).  Merges are ["a", "b"] pairs or legacy "a b" strings (exactly
 * one space; a "#version" header line is skipped); a merge's rank is its
 * position, a repeated pair keeps its last rank (the reference collects
 * them into a hash map), and both halves and their concatenation must be
 * in the vocabulary.  Options: unk_token, fuse_unk, byte_fallback,
 * ignore_merges; dropout must be null or 0 (random merges cannot be
 * reproduced) and continuing_subword_prefix / end_of_word_suffix null.
 * The file also builds the direct tables the merge loop reads: one id per
 * BMP character, the <0xNN> byte tokens, and which characters precede
 * which inside tokens (for safe word cuts, bpe.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tokenizer-impl.h"

/* ---- model ----------------------------------------------------------------
 */

pali_status tok_model_options(pali_tokenizer *tok, const pali_json *model,
                              pali_error *err)
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
    if (!tok_json_null_or_absent(dropout)) {
        if (!pali_json_is(dropout, PALI_JSON_NUMBER) || dropout->u.number < 0 ||
            dropout->u.number > 1)
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
        if (!tok_json_null_or_absent(v))
            return pali_fail(err, PALI_ERR_UNSUPPORTED,
                             "%s: model.%s is not supported (only null)",
                             tok->path, affixes[i]);
    }
    static const char *const flags[] = { "fuse_unk", "byte_fallback",
                                         "ignore_merges" };
    bool *dst[] = { &tok->fuse_unk, &tok->byte_fallback, &tok->ignore_merges };
    for (size_t i = 0; i < PALI_ARRAY_LEN(flags); i++)
        if (!tok_json_bool(model, flags[i], false, dst[i]))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.%s is not a boolean", tok->path,
                             flags[i]);
    const pali_json *unk = pali_json_get(model, "unk_token");
    if (!tok_json_null_or_absent(unk)) {
        if (!pali_json_is(unk, PALI_JSON_STRING))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.unk_token is not a string", tok->path);
        if (!tok_pool_add(&tok->pool, unk->u.string, unk->len, &tok->unk_off))
            return tok_oom(tok, err);
        tok->unk_len = unk->len;
        tok->has_unk = true;
    }
    return PALI_OK;
}

/* Pass 1 over model.vocab: types and the largest id. */
pali_status tok_scan_vocab(pali_tokenizer *tok, const pali_json *vocab,
                           int32_t *max_id, pali_error *err)
{
    if (!pali_json_is(vocab, PALI_JSON_OBJECT))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: model.vocab is missing or not an object",
                         tok->path);
    for (uint32_t i = 0; i < vocab->len; i++) {
        const pali_json *id = pali_json_value_at(vocab, i);
        if (!tok_json_valid_id(id))
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

pali_status tok_load_vocab(pali_tokenizer *tok, const pali_json *vocab,
                           pali_error *err)
{
    if (!tok_strmap_init(&tok->vocab, vocab->len))
        return tok_oom(tok, err);
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
            return tok_oom(tok, err);
        if (existing >= 0)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: model.vocab lists \"%.64s\" twice", tok->path,
                             key->u.string);
        info->str_off = info->spell_off = off;
        info->str_len = info->spell_len = key->len;
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
        if (sp == NULL ||
            memchr(sp + 1, ' ', m->len - (size_t)(sp + 1 - m->u.string)))
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

pali_status tok_load_merges(pali_tokenizer *tok, const pali_json *merges,
                            pali_error *err)
{
    if (!pali_json_is(merges, PALI_JSON_ARRAY))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: model.merges is missing or not an array",
                         tok->path);
    if (!tok_pairmap_init(&tok->merges, merges->len))
        return tok_oom(tok, err);
    bool legacy =
        merges->len > 0 && pali_json_is(&merges->u.items[0], PALI_JSON_STRING);
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
                st = tok_oom(tok, err);
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
                ids[j][k] =
                    tok_strmap_get_hashed(&tok->vocab, &tok->pool, key->s,
                                          key->n, key->hash, key->slot);
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

/* Records that `prev` comes right before `cp` (BMP) inside a token. */
static void note_pred(pali_tokenizer *tok, uint32_t cp, uint32_t prev)
{
    uint8_t *count = &tok->pred_n[cp];
    if (*count > TOK_PRED_MAX)
        return; /* already too many to list */
    for (int k = 0; k < *count; k++)
        if (tok->preds[cp][k] == prev)
            return;
    if (*count < TOK_PRED_MAX)
        tok->preds[cp][*count] = prev;
    (*count)++;
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
            if (i > 0 && cp < TOK_BMP_SIZE)
                note_pred(tok, cp, prev);
            prev = cp;
            i += len;
        }
    }
    return true;
}

/* Direct tables for the BPE inner loop: single code points, byte tokens,
 * unk. */
pali_status tok_build_char_tables(pali_tokenizer *tok, pali_error *err)
{
    tok->bmp_ids = pali_malloc_array(TOK_BMP_SIZE, sizeof(int32_t));
    if (tok->bmp_ids == NULL)
        return tok_oom(tok, err);
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
        return tok_oom(tok, err);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof(name), "<0x%02X>", b);
        tok->byte_ids[b] = tok_strmap_get(&tok->vocab, &tok->pool, name, 6);
    }
    tok->unk_id = tok->has_unk
                      ? tok_strmap_get(&tok->vocab, &tok->pool,
                                       tok_str(tok, tok->unk_off), tok->unk_len)
                      : -1;
    return PALI_OK;
}
