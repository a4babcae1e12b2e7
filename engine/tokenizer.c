/* tokenizer.c — loading a Hugging Face tokenizer.json, its added tokens
 * and per-id facts, and the per-id queries of pali.h and tokenizer.h.
 *
 * Follows the reference library (Hugging Face tokenizers, serialization.rs
 * and added_vocabulary.rs): the model is built first (tok-model.c), then
 * the added tokens are registered one by one, each taking the id of an
 * earlier added token or vocabulary entry with its content, or else the
 * next free id — a file whose declared id disagrees is refused, where the
 * reference would only warn and renumber.  A "normalized" added token is
 * matched, and decoded, in its normalized form (the reference's
 * normalized_cache).  Nothing about ids is assumed: byte tokens, specials,
 * unk and the post-processor's ids all come from the file.  What the file
 * declares and this build does not implement is PALI_ERR_UNSUPPORTED
 * naming it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tokenizer-impl.h"

/* Largest tokenizer.json read (the Gemma 3 one is 33 MB). */
#define TOK_FILE_MAX_BYTES (1024u * 1024u * 1024u)

/* ---- JSON helpers (shared with tok-model.c) ------------------------------ */

pali_status tok_oom(const pali_tokenizer *tok, pali_error *err)
{
    return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                     tok->path);
}

/* A JSON boolean member: absent → dflt; anything but true/false → error. */
bool tok_json_bool(const pali_json *obj, const char *key, bool dflt, bool *out)
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

bool tok_json_null_or_absent(const pali_json *v)
{
    return v == NULL || pali_json_is(v, PALI_JSON_NULL);
}

bool tok_json_valid_id(const pali_json *v)
{
    return pali_json_is(v, PALI_JSON_NUMBER) && v->is_integer &&
           v->integer >= 0 && v->integer <= TOK_MAX_ID;
}

/* ---- added tokens -----------------------------------------------------------
 */

static pali_status scan_added(pali_tokenizer *tok, const pali_json *added,
                              int32_t *max_id, pali_error *err)
{
    if (tok_json_null_or_absent(added))
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
        if (!pali_json_is(t, PALI_JSON_OBJECT) || !tok_json_valid_id(id))
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

/* The reference skips a token when decoding with skip_special if its
 * spelling (see tok_id_info) is the content of a special added token. */
static pali_status mark_specials(pali_tokenizer *tok, pali_error *err)
{
    tok_strmap specials;
    if (!tok_strmap_init(&specials, (size_t)tok->n_added))
        return tok_oom(tok, err);
    pali_status st = PALI_OK;
    for (int32_t i = 0; i < tok->n_added && st == PALI_OK; i++) {
        const tok_added *a = &tok->added[i];
        int32_t existing;
        if (a->special && !tok_strmap_put(&specials, &tok->pool, a->content_off,
                                          a->content_len, a->id, &existing))
            st = tok_oom(tok, err);
    }
    for (int32_t id = 0; id < tok->n_ids && st == PALI_OK; id++) {
        tok_id_info *info = &tok->info[id];
        if (info->str_off != TOK_NONE &&
            tok_strmap_get(&specials, &tok->pool, tok_str(tok, info->spell_off),
                           info->spell_len) >= 0)
            info->flags |= TOK_ID_SPECIAL;
    }
    tok_strmap_free(&specials);
    return st;
}

static pali_status load_added(pali_tokenizer *tok, const pali_json *added,
                              pali_error *err)
{
    uint32_t n = pali_json_is(added, PALI_JSON_ARRAY) ? added->len : 0;
    tok->added = pali_calloc_array(n, sizeof(*tok->added));
    if (tok->added == NULL || !tok_strmap_init(&tok->added_map, n))
        return tok_oom(tok, err);
    int32_t max_added = -1;
    tok_buf norm = { 0 }, tmp = { 0 };
    pali_status st = PALI_OK;
    for (uint32_t i = 0; i < n && st == PALI_OK; i++) {
        const pali_json *t = &added->u.items[i];
        const pali_json *content = pali_json_get(t, "content");
        int32_t file_id = (int32_t)pali_json_get(t, "id")->integer;
        /* the id the reference gives it (AddedVocabulary::add_tokens):
         * an earlier added token's, the vocabulary's, or the next free */
        int32_t id = tok_strmap_get(&tok->added_map, &tok->pool,
                                    content->u.string, content->len);
        if (id < 0)
            id = tok_strmap_get(&tok->vocab, &tok->pool, content->u.string,
                                content->len);
        if (id < 0) {
            if (max_added < 0)
                id = tok->n_vocab;
            else
                id = max_added >= tok->n_vocab || tok->n_vocab == 0
                         ? max_added + 1
                         : tok->n_vocab;
        }
        if (id != file_id) {
            st = pali_fail(err, PALI_ERR_FORMAT,
                           "%s: added_tokens[%u] (\"%.64s\") has id %d, but "
                           "the vocabulary gives it id %d",
                           tok->path, i, content->u.string, file_id, id);
            break;
        }
        tok_added *a = &tok->added[tok->n_added];
        int32_t existing;
        if (!tok_pool_add(&tok->pool, content->u.string, content->len,
                          &a->content_off) ||
            !tok_strmap_put(&tok->added_map, &tok->pool, a->content_off,
                            content->len, id, &existing)) {
            st = tok_oom(tok, err);
            break;
        }
        if (existing >= 0) {
            st = pali_fail(err, PALI_ERR_FORMAT,
                           "%s: added_tokens[%u] (\"%.64s\") repeats an "
                           "earlier added token",
                           tok->path, i, content->u.string);
            break;
        }
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
        info->str_off = info->spell_off = a->content_off;
        info->str_len = info->spell_len = a->content_len;
        info->flags |= TOK_ID_ADDED;
        if (a->normalized && tok->n_norm > 0) {
            /* decoded from its normalized form (normalized_cache) */
            if (!tok_normalize(tok, content->u.string, content->len, &norm,
                               &tmp)) {
                st = tok_oom(tok, err);
                break;
            }
            bool differs = norm.len != content->len ||
                           memcmp(norm.data, content->u.string, norm.len) != 0;
            if (differs && !tok_pool_add(&tok->pool, norm.data, norm.len,
                                         &info->spell_off)) {
                st = tok_oom(tok, err);
                break;
            }
            if (differs)
                info->spell_len = (uint32_t)norm.len;
        }
    }
    tok_buf_free(&norm);
    tok_buf_free(&tmp);
    return st == PALI_OK ? mark_specials(tok, err) : st;
}

/* The two tries: special tokens first, then the others, each in file
 * order (the reference's pattern order); normalized tokens are matched by
 * their normalized content. */
static pali_status build_tries(pali_tokenizer *tok, pali_error *err)
{
    if (!tok_trie_init(&tok->raw_trie) || !tok_trie_init(&tok->norm_trie))
        return tok_oom(tok, err);
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
                    st = tok_oom(tok, err);
                    break;
                }
                s = norm.data;
                n = norm.len;
                trie = &tok->norm_trie;
            }
            int32_t existing;
            if (n > 0 && !tok_trie_add(trie, s, n, i, &existing))
                st = tok_oom(tok, err);
        }
    }
    tok_buf_free(&norm);
    tok_buf_free(&tmp);
    return st;
}

/* ---- per-id facts -------------------------------------------------------- */

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
        s = tok_str(tok, info->spell_off);
        n = info->spell_len;
        /* what the decoder chain makes of this token on its own */
        pre.len = piece.len = 0;
        bool ok =
            tok_apply_dec_steps(tok, d->pre, d->n_pre, s, n, &pre, &t1, &t2);
        int byte = ok && d->byte_fallback
                       ? tok_parse_byte_token(pre.data, pre.len)
                       : -1;
        info->dec_byte = (int16_t)byte;
        if (ok && byte < 0)
            ok = tok_apply_dec_steps(tok, d->post, d->n_post, pre.data, pre.len,
                                     &piece, &t1, &t2);
        if (!ok) {
            st = tok_oom(tok, err);
            break;
        }
        if (byte >= 0) {
            info->piece_off = TOK_NONE;
        } else if (piece.len == n && memcmp(piece.data, s, n) == 0) {
            info->piece_off = info->spell_off;
            info->piece_len = info->spell_len;
        } else if (!tok_pool_add(&tok->pool, piece.data, piece.len,
                                 &info->piece_off)) {
            st = tok_oom(tok, err);
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
        st = tok_oom(tok, err);
    tok->repl_len = (uint32_t)piece.len;
    tok_buf_free(&piece);
    tok_buf_free(&pre);
    tok_buf_free(&t1);
    tok_buf_free(&t2);
    return st;
}

/* ---- the whole file ------------------------------------------------------ */

static pali_status check_top_level(pali_tokenizer *tok, const pali_json *root,
                                   pali_error *err)
{
    if (!pali_json_is(root, PALI_JSON_OBJECT))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: not a JSON object (tokenizer.json expected)",
                         tok->path);
    const pali_json *version = pali_json_get(root, "version");
    if (version != NULL && (!pali_json_is(version, PALI_JSON_STRING) ||
                            strcmp(version->u.string, "1.0") != 0))
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: tokenizer.json version is not \"1.0\"",
                         tok->path);
    static const char *const params[] = { "truncation", "padding" };
    for (size_t i = 0; i < PALI_ARRAY_LEN(params); i++)
        if (!tok_json_null_or_absent(pali_json_get(root, params[i])))
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
    if ((st = tok_model_options(tok, model, err)) != PALI_OK ||
        (st = tok_scan_vocab(tok, vocab, &max_id, err)) != PALI_OK ||
        (st = scan_added(tok, added, &max_id, err)) != PALI_OK)
        return st;
    tok->n_ids = max_id + 1;
    tok->info = pali_malloc_array((size_t)tok->n_ids + 1, sizeof(*tok->info));
    if (tok->info == NULL)
        return tok_oom(tok, err);
    for (int32_t id = 0; id < tok->n_ids; id++)
        tok->info[id] = (tok_id_info){ .str_off = TOK_NONE,
                                       .spell_off = TOK_NONE,
                                       .piece_off = TOK_NONE,
                                       .dec_byte = -1,
                                       .fallback_byte = -1,
                                       .loc = -1,
                                       .seg = -1 };
    if ((st = tok_load_vocab(tok, vocab, err)) != PALI_OK ||
        (st = tok_load_merges(tok, pali_json_get(model, "merges"), err)) !=
            PALI_OK ||
        (st = tok_build_char_tables(tok, err)) != PALI_OK ||
        (st = tok_parse_normalizer(tok, pali_json_get(root, "normalizer"),
                                   err)) != PALI_OK ||
        (st = load_added(tok, added, err)) != PALI_OK ||
        (st = tok_parse_pre_tokenizer(tok, pali_json_get(root, "pre_tokenizer"),
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
    pali_status st = pali_json_parse_file(path, TOK_FILE_MAX_BYTES, &doc, err);
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

/* ---- queries ------------------------------------------------------------- */

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
        *len = info ? info->spell_len : 0;
    return info ? tok_str(tok, info->spell_off) : NULL;
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
