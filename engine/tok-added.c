/* tok-added.c — the added vocabulary: the added_tokens of tokenizer.json,
 * the tokens PaliGemmaProcessor adds on top of them, and the tries that
 * find them in a text.
 *
 * Follows Hugging Face tokenizers 0.23 (AddedVocabulary::add_tokens and
 * refresh_added_tokens) and transformers 5.12 (PaliGemmaProcessor.__init__):
 *
 * - add_tokens(list): first each special token of the list joins the set
 *   of special contents; then each token in turn is ignored when an equal
 *   AddedToken (same content and flags) is registered, else it takes the
 *   id of its content (an earlier added token's, else the vocabulary's,
 *   else the next free one: one past the largest added id, or the
 *   vocabulary's size while no added id reaches it) and becomes the
 *   AddedToken of that id, its flags replacing the old ones.
 * - The tries are rebuilt from the id → AddedToken map: each id by its
 *   content in the raw trie, or, when normalized, by its normalized
 *   content in the normalized trie.  (So a content whose id now holds
 *   another AddedToken is no longer matched, as in the reference.)
 * - decode(skip_special) drops a token whose spelling is in the special
 *   set, whatever the flags of the id's AddedToken now say.
 *
 * Loading a file registers its added_tokens in one such call (a declared
 * id other than the one given, or a repeated content, is refused, where
 * the reference only warns or ignores it).
 * pali_tokenizer_add_paligemma_tokens() then makes the registrations the
 * processor makes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tokenizer-impl.h"

/* PaliGemmaProcessor's EXTRA_TOKENS: 1024 location bins <loc0000>..<loc1023>
 * (four digits) and 128 segmentation codes <seg000>..<seg127> (three
 * digits). */
#define PG_LOC_TOKENS   1024
#define PG_SEG_TOKENS   128
#define PG_EXTRA_TOKENS (PG_LOC_TOKENS + PG_SEG_TOKENS)
/* Longest EXTRA_TOKENS spelling ("<loc0000>") with its NUL. */
#define PG_EXTRA_MAX 10

/* ---- the file's added_tokens --------------------------------------------- */

pali_status tok_scan_added(pali_tokenizer *tok, const pali_json *added,
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

/* ---- registration -------------------------------------------------------- */

static uint8_t spec_flags(const tok_token_spec *t)
{
    return (uint8_t)((t->special ? TOK_ID_AS_SPECIAL : 0) |
                     (t->normalized ? TOK_ID_NORMALIZED : 0) |
                     (t->lstrip ? TOK_ID_LSTRIP : 0) |
                     (t->rstrip ? TOK_ID_RSTRIP : 0));
}

#define TOK_ID_ADDED_FLAGS                                                     \
    (TOK_ID_AS_SPECIAL | TOK_ID_NORMALIZED | TOK_ID_LSTRIP | TOK_ID_RSTRIP)

/* Whether the AddedToken registered for `id` equals t (content and every
 * flag: the reference's derived PartialEq). */
static bool registered_equal(const pali_tokenizer *tok, int32_t id,
                             const tok_token_spec *t)
{
    if (id < 0 || id >= tok->n_ids)
        return false;
    const tok_id_info *info = &tok->info[id];
    return (info->flags & TOK_ID_ADDED) && info->str_len == t->len &&
           memcmp(tok_str(tok, info->str_off), t->content, t->len) == 0 &&
           (info->flags & TOK_ID_ADDED_FLAGS) == spec_flags(t);
}

/* The id a new content gets: past the largest added id, or the
 * vocabulary's size while no added id reaches it. */
static int32_t next_free_id(const pali_tokenizer *tok)
{
    if (tok->max_added_id < 0)
        return tok->n_vocab;
    return tok->max_added_id >= tok->n_vocab || tok->n_vocab == 0
               ? tok->max_added_id + 1
               : tok->n_vocab;
}

/* AddedVocabulary::add_tokens for n tokens.  file_ids: the ids the file
 * declares (loading: a repeated content or another id is refused), or
 * NULL.  The ids whose AddedToken changed are appended to *touched (may
 * be NULL). */
static pali_status add_tokens(pali_tokenizer *tok, const tok_token_spec *specs,
                              size_t n, const int32_t *file_ids,
                              tok_ids *touched, pali_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const tok_token_spec *t = &specs[i];
        uint32_t off;
        int32_t existing;
        if (!t->special || tok_strmap_get(&tok->special_map, &tok->pool,
                                          t->content, t->len) >= 0)
            continue;
        if (!tok_pool_add(&tok->pool, t->content, t->len, &off) ||
            !tok_strmap_put(&tok->special_map, &tok->pool, off,
                            (uint32_t)t->len, 0, &existing))
            return tok_oom(tok, err);
    }
    for (size_t i = 0; i < n; i++) {
        const tok_token_spec *t = &specs[i];
        int32_t id =
            tok_strmap_get(&tok->added_map, &tok->pool, t->content, t->len);
        if (file_ids != NULL && id >= 0)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: added_tokens[%zu] (\"%.64s\") repeats an "
                             "earlier added token",
                             tok->path, i, t->content);
        if (id >= 0 && registered_equal(tok, id, t))
            continue; /* ignored, as an equal AddedToken is registered */
        bool known = id >= 0;
        if (!known)
            id = tok_strmap_get(&tok->vocab, &tok->pool, t->content, t->len);
        if (id < 0)
            id = next_free_id(tok);
        if (file_ids != NULL && id != file_ids[i])
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: added_tokens[%zu] (\"%.64s\") has id %d, "
                             "but the vocabulary gives it id %d",
                             tok->path, i, t->content, file_ids[i], id);
        if (id > TOK_MAX_ID)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: adding \"%.64s\" would need id %d, beyond "
                             "the largest supported id %d",
                             tok->path, t->content, id, TOK_MAX_ID);
        if (!tok_ensure_id(tok, id) || (touched && !tok_ids_push(touched, id)))
            return tok_oom(tok, err);
        tok_id_info *info = &tok->info[id];
        int32_t existing;
        if (!tok_pool_add(&tok->pool, t->content, t->len, &info->str_off) ||
            (!known &&
             !tok_strmap_put(&tok->added_map, &tok->pool, info->str_off,
                             (uint32_t)t->len, id, &existing)))
            return tok_oom(tok, err);
        info->str_len = (uint32_t)t->len;
        info->flags = (uint8_t)((info->flags & ~TOK_ID_ADDED_FLAGS) |
                                TOK_ID_ADDED | spec_flags(t));
        if (id > tok->max_added_id)
            tok->max_added_id = id;
    }
    return PALI_OK;
}

pali_status tok_load_added(pali_tokenizer *tok, const pali_json *added,
                           pali_error *err)
{
    uint32_t n = pali_json_is(added, PALI_JSON_ARRAY) ? added->len : 0;
    tok->max_added_id = -1;
    if (!tok_strmap_init(&tok->added_map, n) ||
        !tok_strmap_init(&tok->special_map, n))
        return tok_oom(tok, err);
    tok_token_spec *specs = pali_calloc_array(n ? n : 1, sizeof(*specs));
    int32_t *ids = pali_calloc_array(n ? n : 1, sizeof(*ids));
    pali_status st = PALI_OK;
    if (specs == NULL || ids == NULL)
        st = tok_oom(tok, err);
    for (uint32_t i = 0; i < n && st == PALI_OK; i++) {
        const pali_json *t = &added->u.items[i];
        const pali_json *content = pali_json_get(t, "content");
        specs[i] = (tok_token_spec){
            .content = content->u.string,
            .len = content->len,
            .special =
                pali_json_is(pali_json_get(t, "special"), PALI_JSON_TRUE),
            .normalized =
                pali_json_is(pali_json_get(t, "normalized"), PALI_JSON_TRUE),
            .lstrip = pali_json_is(pali_json_get(t, "lstrip"), PALI_JSON_TRUE),
            .rstrip = pali_json_is(pali_json_get(t, "rstrip"), PALI_JSON_TRUE),
        };
        ids[i] = (int32_t)pali_json_get(t, "id")->integer;
    }
    if (st == PALI_OK)
        st = add_tokens(tok, specs, n, ids, NULL, err);
    free(specs);
    free(ids);
    return st;
}

/* ---- tries and specials -------------------------------------------------- */

/* The two tries, from the id → AddedToken map (the reference iterates a
 * hash map; the order only matters for two ids with one pattern, which
 * no tokenizer here has: the lower id is kept). */
pali_status tok_build_tries(pali_tokenizer *tok, pali_error *err)
{
    tok_trie_free(&tok->raw_trie);
    tok_trie_free(&tok->norm_trie);
    if (!tok_trie_init(&tok->raw_trie) || !tok_trie_init(&tok->norm_trie))
        return tok_oom(tok, err);
    for (int32_t id = 0; id <= tok->max_added_id; id++) {
        const tok_id_info *info = &tok->info[id];
        if (!(info->flags & TOK_ID_ADDED))
            continue;
        /* normalized: by its normalized content (normalized_cache) */
        bool normalized = info->flags & TOK_ID_NORMALIZED;
        tok_trie *trie = normalized ? &tok->norm_trie : &tok->raw_trie;
        uint32_t off = normalized ? info->spell_off : info->str_off;
        uint32_t len = normalized ? info->spell_len : info->str_len;
        int32_t existing;
        if (len > 0 &&
            !tok_trie_add(trie, tok_str(tok, off), len, id, &existing))
            return tok_oom(tok, err);
    }
    return PALI_OK;
}

/* The reference skips a token when decoding with skip_special if its
 * spelling (see tok_id_info) is in the special set. */
void tok_mark_specials(pali_tokenizer *tok)
{
    for (int32_t id = 0; id < tok->n_ids; id++) {
        tok_id_info *info = &tok->info[id];
        info->flags &= (uint8_t)~TOK_ID_SPECIAL;
        if (info->str_off != TOK_NONE &&
            tok_strmap_get(&tok->special_map, &tok->pool,
                           tok_str(tok, info->spell_off), info->spell_len) >= 0)
            info->flags |= TOK_ID_SPECIAL;
    }
}

/* ---- PaliGemmaProcessor -------------------------------------------------- */

pali_status pali_tokenizer_add_paligemma_tokens(pali_tokenizer *tok,
                                                pali_error *err)
{
    if (tok == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_tokenizer_add_paligemma_tokens: NULL tokenizer");
    // tokenizer.add_special_tokens({"additional_special_tokens":
    //     [AddedToken("<image>", normalized=False, special=True)]})
    const tok_token_spec image = { .content = PALI_IMAGE_TOKEN,
                                   .len = strlen(PALI_IMAGE_TOKEN),
                                   .special = true };
    // tokenizer.add_tokens(EXTRA_TOKENS): plain strings become
    // AddedToken(s, special=False), whose normalized defaults to True
    /* (PG_EXTRA_TOKENS, PG_EXTRA_MAX) */
    char *names = pali_calloc_array(PG_EXTRA_TOKENS, PG_EXTRA_MAX);
    tok_token_spec *extra = pali_calloc_array(PG_EXTRA_TOKENS, sizeof(*extra));
    tok_ids touched = { 0 };
    pali_status st = PALI_OK;
    if (names == NULL || extra == NULL)
        st = tok_oom(tok, err);
    for (int i = 0; i < PG_EXTRA_TOKENS && st == PALI_OK; i++) {
        char *name = names + (size_t)i * PG_EXTRA_MAX;
        int len =
            i < PG_LOC_TOKENS
                ? snprintf(name, PG_EXTRA_MAX, "<loc%04d>", i)
                : snprintf(name, PG_EXTRA_MAX, "<seg%03d>", i - PG_LOC_TOKENS);
        extra[i] = (tok_token_spec){ .content = name,
                                     .len = (size_t)len,
                                     .normalized = true };
    }
    if (st == PALI_OK)
        st = add_tokens(tok, &image, 1, NULL, &touched, err);
    if (st == PALI_OK)
        st = add_tokens(tok, extra, PG_EXTRA_TOKENS, NULL, &touched, err);
    // refresh_added_tokens, and the per-id facts of what changed
    if (st == PALI_OK)
        st = tok_describe_ids(tok, touched.data, touched.len, err);
    if (st == PALI_OK)
        st = tok_build_tries(tok, err);
    if (st == PALI_OK)
        tok_mark_specials(tok);
    // add_bos_token = add_eos_token = False: update_post_processor()
    // leaves the template "$A:0", which adds nothing
    tok->n_post_before = tok->n_post_after = 0;
    free(names);
    free(extra);
    free(touched.data);
    return st;
}
