/* tokenizer.c — loading a Hugging Face tokenizer.json, the per-id facts,
 * and the per-id queries of pali.h and tokenizer.h.
 *
 * Follows the reference library (Hugging Face tokenizers, serialization.rs):
 * the model is built first (tok-model.c), then the added tokens are
 * registered (tok-added.c), then the pipeline sections are read
 * (tok-pipeline.c).  A "normalized" added token is matched, and decoded,
 * in its normalized form (the reference's normalized_cache).  Nothing
 * about ids is assumed: byte tokens, specials, unk and the
 * post-processor's ids all come from the file.  What the file declares
 * and this build does not implement is PALI_ERR_UNSUPPORTED naming it. */
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

/* Scratch of tok_describe_ids(). */
typedef struct describe_scratch {
    tok_buf norm, tmp, piece, pre, t1, t2;
} describe_scratch;

static void describe_scratch_free(describe_scratch *s)
{
    tok_buf_free(&s->norm);
    tok_buf_free(&s->tmp);
    tok_buf_free(&s->piece);
    tok_buf_free(&s->pre);
    tok_buf_free(&s->t1);
    tok_buf_free(&s->t2);
}

/* One id's spelling, loc/seg value, ByteFallback byte and decoded piece
 * from its content and flags.  False on OOM. */
static bool describe_id(pali_tokenizer *tok, int32_t id, describe_scratch *sc)
{
    tok_id_info *info = &tok->info[id];
    info->loc = info->seg = info->dec_byte = -1;
    info->spell_off = info->piece_off = TOK_NONE;
    info->spell_len = info->piece_len = 0;
    if (info->str_off == TOK_NONE)
        return true;
    const char *s = tok_str(tok, info->str_off);
    size_t n = info->str_len;
    if (n == 9 && memcmp(s, "<loc", 4) == 0 && s[8] == '>')
        info->loc = (int16_t)digits_value(s + 4, 4);
    if (n == 8 && memcmp(s, "<seg", 4) == 0 && s[7] == '>')
        info->seg = (int16_t)digits_value(s + 4, 3);
    /* a normalized added token is decoded from its normalized form
     * (normalized_cache) */
    info->spell_off = info->str_off;
    info->spell_len = info->str_len;
    if ((info->flags & TOK_ID_ADDED) && (info->flags & TOK_ID_NORMALIZED) &&
        tok->n_norm > 0) {
        if (!tok_normalize(tok, s, n, &sc->norm, &sc->tmp))
            return false;
        if ((sc->norm.len != n || memcmp(sc->norm.data, s, n) != 0) &&
            !tok_pool_add(&tok->pool, sc->norm.data, sc->norm.len,
                          &info->spell_off))
            return false;
        if (info->spell_off != info->str_off)
            info->spell_len = (uint32_t)sc->norm.len;
    }
    s = tok_str(tok, info->spell_off);
    n = info->spell_len;
    /* what the decoder chain makes of this token on its own */
    const tok_decoder *d = &tok->dec;
    sc->pre.len = sc->piece.len = 0;
    if (!tok_apply_dec_steps(tok, d->pre, d->n_pre, s, n, &sc->pre, &sc->t1,
                             &sc->t2))
        return false;
    int byte =
        d->byte_fallback ? tok_parse_byte_token(sc->pre.data, sc->pre.len) : -1;
    info->dec_byte = (int16_t)byte;
    if (byte >= 0)
        return true;
    if (!tok_apply_dec_steps(tok, d->post, d->n_post, sc->pre.data, sc->pre.len,
                             &sc->piece, &sc->t1, &sc->t2))
        return false;
    if (sc->piece.len == n && memcmp(sc->piece.data, s, n) == 0) {
        info->piece_off = info->spell_off;
        info->piece_len = info->spell_len;
        return true;
    }
    if (!tok_pool_add(&tok->pool, sc->piece.data, sc->piece.len,
                      &info->piece_off))
        return false;
    info->piece_len = (uint32_t)sc->piece.len;
    return true;
}

pali_status tok_describe_ids(pali_tokenizer *tok, const int32_t *ids, size_t n,
                             pali_error *err)
{
    describe_scratch sc = { 0 };
    size_t count = ids ? n : (size_t)tok->n_ids;
    bool ok = true;
    for (size_t i = 0; ok && i < count; i++)
        ok = describe_id(tok, ids ? ids[i] : (int32_t)i, &sc);
    describe_scratch_free(&sc);
    return ok ? PALI_OK : tok_oom(tok, err);
}

bool tok_ensure_id(pali_tokenizer *tok, int32_t id)
{
    if (id < tok->n_ids)
        return true;
    if (id >= tok->info_cap) {
        int32_t cap = tok->info_cap * 2 > id + 1 ? tok->info_cap * 2 : id + 1;
        tok_id_info *info = realloc(tok->info, (size_t)cap * sizeof(*info));
        if (info == NULL)
            return false;
        tok->info = info;
        tok->info_cap = cap;
    }
    for (int32_t i = tok->n_ids; i <= id; i++)
        tok->info[i] = (tok_id_info){ .str_off = TOK_NONE,
                                      .spell_off = TOK_NONE,
                                      .piece_off = TOK_NONE,
                                      .dec_byte = -1,
                                      .fallback_byte = -1,
                                      .loc = -1,
                                      .seg = -1 };
    tok->n_ids = id + 1;
    return true;
}

/* Every id's facts, the byte-fallback table's bytes and the replacement
 * text of an invalid byte run. */
static pali_status build_id_info(pali_tokenizer *tok, pali_error *err)
{
    for (int b = 0; b < 256; b++)
        if (tok->byte_ids[b] >= 0)
            tok->info[tok->byte_ids[b]].fallback_byte = (int16_t)b;
    pali_status st = tok_describe_ids(tok, NULL, 0, err);
    if (st != PALI_OK)
        return st;
    /* an invalid byte run decodes to U+FFFD per byte, then the post steps */
    const tok_decoder *d = &tok->dec;
    tok_buf piece = { 0 }, t1 = { 0 }, t2 = { 0 };
    if (!tok_apply_dec_steps(tok, d->post, d->n_post, "\xEF\xBF\xBD", 3, &piece,
                             &t1, &t2) ||
        !tok_pool_add(&tok->pool, piece.data ? piece.data : "", piece.len,
                      &tok->repl_off))
        st = tok_oom(tok, err);
    tok->repl_len = (uint32_t)piece.len;
    tok_buf_free(&piece);
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
        (st = tok_scan_added(tok, added, &max_id, err)) != PALI_OK)
        return st;
    tok->info_cap = max_id + 2;
    tok->info = pali_malloc_array((size_t)tok->info_cap, sizeof(*tok->info));
    if (tok->info == NULL || !tok_ensure_id(tok, max_id))
        return tok_oom(tok, err);
    if ((st = tok_load_vocab(tok, vocab, err)) != PALI_OK ||
        (st = tok_load_merges(tok, pali_json_get(model, "merges"), err)) !=
            PALI_OK ||
        (st = tok_build_char_tables(tok, err)) != PALI_OK ||
        (st = tok_parse_normalizer(tok, pali_json_get(root, "normalizer"),
                                   err)) != PALI_OK ||
        (st = tok_load_added(tok, added, err)) != PALI_OK ||
        (st = tok_parse_pre_tokenizer(tok, pali_json_get(root, "pre_tokenizer"),
                                      err)) != PALI_OK ||
        (st = tok_parse_decoder(tok, pali_json_get(root, "decoder"), err)) !=
            PALI_OK ||
        (st = tok_parse_post_processor(
             tok, pali_json_get(root, "post_processor"), err)) != PALI_OK ||
        (st = build_id_info(tok, err)) != PALI_OK ||
        (st = tok_build_tries(tok, err)) != PALI_OK)
        return st;
    tok_mark_specials(tok);
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
    tok_strmap_free(&tok->added_map);
    tok_strmap_free(&tok->special_map);
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
