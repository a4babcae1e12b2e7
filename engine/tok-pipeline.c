/* tok-pipeline.c — the parts of tokenizer.json around the BPE model:
 * normalizer, pre_tokenizer, decoder and post_processor.  Each is read
 * into the steps of tokenizer-impl.h, and this file also applies the
 * per-string steps (normalizing, decoder Replace/Strip, ByteFallback's
 * reading of "<0xNN>").
 *
 * Implemented, as Hugging Face tokenizers defines them:
 *   normalizer     Replace (String pattern), Prepend, Sequence, null
 *   pre_tokenizer  Split (String pattern, any behaviour, invert), Sequence,
 *                  null
 *   decoder        Replace (String pattern), ByteFallback, Fuse, Strip,
 *                  Sequence, null
 *   post_processor TemplateProcessing, Sequence, null
 * Anything else a file declares (another type, a Regex pattern, a decoder
 * step after Fuse other than Strip) is refused with PALI_ERR_UNSUPPORTED
 * naming it, never ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tokenizer-impl.h"

/* Room for a path like "decoder.decoders[3].decoders[12]". */
#define WHERE_MAX 96

/* ---- small JSON helpers (errors name the file and the key path) ---------- */

static pali_status bad(const pali_tokenizer *tok, pali_error *err,
                       const char *where, const char *what)
{
    return pali_fail(err, PALI_ERR_FORMAT, "%s: %s %s", tok->path, where, what);
}

static pali_status unsupported(const pali_tokenizer *tok, pali_error *err,
                               const char *where, const char *what)
{
    return pali_fail(err, PALI_ERR_UNSUPPORTED, "%s: %s: %s", tok->path, where,
                     what);
}

static const char *type_of(const pali_json *v)
{
    const pali_json *t = pali_json_get(v, "type");
    return pali_json_is(t, PALI_JSON_STRING) ? t->u.string : NULL;
}

/* The literal pattern of {"String": "..."}; Regex patterns are refused. */
static pali_status string_pattern(pali_tokenizer *tok, const pali_json *v,
                                  const char *where, uint32_t *off,
                                  uint32_t *len, pali_error *err)
{
    const pali_json *pat = pali_json_get(v, "pattern");
    if (!pali_json_is(pat, PALI_JSON_OBJECT) || pat->len != 1)
        return bad(tok, err, where,
                   "needs \"pattern\": {\"String\": ...} or {\"Regex\": ...}");
    const pali_json *key = pali_json_key_at(pat, 0);
    const pali_json *val = pali_json_value_at(pat, 0);
    if (strcmp(key->u.string, "Regex") == 0)
        return unsupported(tok, err, where,
                           "Regex patterns are not supported (only String)");
    if (strcmp(key->u.string, "String") != 0 ||
        !pali_json_is(val, PALI_JSON_STRING))
        return bad(tok, err, where, "has a pattern that is not a String");
    if (val->len == 0)
        return unsupported(tok, err, where, "an empty String pattern");
    if (!tok_pool_add(&tok->pool, val->u.string, val->len, off))
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         tok->path);
    *len = val->len;
    return PALI_OK;
}

static pali_status string_field(pali_tokenizer *tok, const pali_json *v,
                                const char *where, const char *key,
                                uint32_t *off, uint32_t *len, pali_error *err)
{
    const pali_json *s = pali_json_get(v, key);
    if (!pali_json_is(s, PALI_JSON_STRING)) {
        char msg[64];
        snprintf(msg, sizeof(msg), "needs a string \"%s\"", key);
        return bad(tok, err, where, msg);
    }
    if (!tok_pool_add(&tok->pool, s->u.string, s->len, off))
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         tok->path);
    *len = s->len;
    return PALI_OK;
}

/* The items of a Sequence's array member, with the nesting checked. */
static pali_status sequence_items(const pali_tokenizer *tok, const pali_json *v,
                                  const char *where, const char *key, int depth,
                                  const pali_json **items, pali_error *err)
{
    if (depth >= TOK_MAX_NESTING)
        return unsupported(tok, err, where, "Sequence nested too deeply");
    *items = pali_json_get(v, key);
    if (!pali_json_is(*items, PALI_JSON_ARRAY)) {
        char msg[64];
        snprintf(msg, sizeof(msg), "needs an array \"%s\"", key);
        return bad(tok, err, where, msg);
    }
    return PALI_OK;
}

/* ---- normalizer ---------------------------------------------------------- */

static pali_status parse_norm(pali_tokenizer *tok, const pali_json *v,
                              const char *where, int depth, pali_error *err)
{
    if (v == NULL || pali_json_is(v, PALI_JSON_NULL))
        return PALI_OK;
    const char *type = type_of(v);
    if (!pali_json_is(v, PALI_JSON_OBJECT) || type == NULL)
        return bad(tok, err, where, "must be an object with a \"type\"");
    if (strcmp(type, "Sequence") == 0) {
        const pali_json *items = NULL;
        pali_status st =
            sequence_items(tok, v, where, "normalizers", depth, &items, err);
        for (uint32_t i = 0; st == PALI_OK && i < items->len; i++) {
            char sub[WHERE_MAX];
            snprintf(sub, sizeof(sub), "%s.normalizers[%u]", where, i);
            st = parse_norm(tok, &items->u.items[i], sub, depth + 1, err);
        }
        return st;
    }
    if (tok->n_norm >= TOK_MAX_STEPS)
        return unsupported(tok, err, where, "too many normalizer steps");
    tok_norm_step step = { 0 };
    pali_status st;
    if (strcmp(type, "Replace") == 0) {
        step.kind = TOK_NORM_REPLACE;
        st = string_pattern(tok, v, where, &step.pattern_off, &step.pattern_len,
                            err);
        if (st == PALI_OK)
            st = string_field(tok, v, where, "content", &step.content_off,
                              &step.content_len, err);
    } else if (strcmp(type, "Prepend") == 0) {
        step.kind = TOK_NORM_PREPEND;
        st = string_field(tok, v, where, "prepend", &step.content_off,
                          &step.content_len, err);
    } else {
        char msg[128];
        snprintf(msg, sizeof(msg), "normalizer type \"%.64s\" is not supported",
                 type);
        return unsupported(tok, err, where, msg);
    }
    if (st != PALI_OK)
        return st;
    tok->norm[tok->n_norm++] = step;
    return PALI_OK;
}

pali_status tok_parse_normalizer(pali_tokenizer *tok, const pali_json *v,
                                 pali_error *err)
{
    tok->norm = pali_calloc_array(TOK_MAX_STEPS, sizeof(*tok->norm));
    if (tok->norm == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    return parse_norm(tok, v, "normalizer", 0, err);
}

/* ---- pre-tokenizer ------------------------------------------------------- */

static pali_status parse_pre(pali_tokenizer *tok, const pali_json *v,
                             const char *where, int depth, pali_error *err)
{
    if (v == NULL || pali_json_is(v, PALI_JSON_NULL))
        return PALI_OK;
    const char *type = type_of(v);
    if (!pali_json_is(v, PALI_JSON_OBJECT) || type == NULL)
        return bad(tok, err, where, "must be an object with a \"type\"");
    if (strcmp(type, "Sequence") == 0) {
        const pali_json *items = NULL;
        pali_status st =
            sequence_items(tok, v, where, "pretokenizers", depth, &items, err);
        for (uint32_t i = 0; st == PALI_OK && i < items->len; i++) {
            char sub[WHERE_MAX];
            snprintf(sub, sizeof(sub), "%s.pretokenizers[%u]", where, i);
            st = parse_pre(tok, &items->u.items[i], sub, depth + 1, err);
        }
        return st;
    }
    if (strcmp(type, "Split") != 0) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "pre_tokenizer type \"%.64s\" is not supported", type);
        return unsupported(tok, err, where, msg);
    }
    if (tok->n_split >= TOK_MAX_STEPS)
        return unsupported(tok, err, where, "too many pre_tokenizer steps");
    tok_split_step step = { 0 };
    pali_status st = string_pattern(tok, v, where, &step.pattern_off,
                                    &step.pattern_len, err);
    if (st != PALI_OK)
        return st;
    static const struct {
        const char *name;
        tok_split_behavior behavior;
    } behaviors[] = {
        { "Removed", TOK_SPLIT_REMOVED },
        { "Isolated", TOK_SPLIT_ISOLATED },
        { "MergedWithPrevious", TOK_SPLIT_MERGED_WITH_PREVIOUS },
        { "MergedWithNext", TOK_SPLIT_MERGED_WITH_NEXT },
        { "Contiguous", TOK_SPLIT_CONTIGUOUS },
    };
    const pali_json *b = pali_json_get(v, "behavior");
    if (!pali_json_is(b, PALI_JSON_STRING))
        return bad(tok, err, where, "needs a string \"behavior\"");
    size_t k = 0;
    while (k < PALI_ARRAY_LEN(behaviors) &&
           strcmp(behaviors[k].name, b->u.string) != 0)
        k++;
    if (k == PALI_ARRAY_LEN(behaviors))
        return bad(tok, err, where, "has an unknown \"behavior\"");
    step.behavior = behaviors[k].behavior;
    const pali_json *inv = pali_json_get(v, "invert");
    if (inv != NULL && !pali_json_is(inv, PALI_JSON_TRUE) &&
        !pali_json_is(inv, PALI_JSON_FALSE))
        return bad(tok, err, where, "has a non-boolean \"invert\"");
    step.invert = pali_json_is(inv, PALI_JSON_TRUE);
    tok->split[tok->n_split++] = step;
    return PALI_OK;
}

pali_status tok_parse_pre_tokenizer(pali_tokenizer *tok, const pali_json *v,
                                    pali_error *err)
{
    tok->split = pali_calloc_array(TOK_MAX_STEPS, sizeof(*tok->split));
    if (tok->split == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    return parse_pre(tok, v, "pre_tokenizer", 0, err);
}

/* ---- decoder ------------------------------------------------------------- */

/* Where the steps go while reading the chain. */
typedef struct dec_state {
    bool fused;
} dec_state;

static pali_status add_dec_step(pali_tokenizer *tok, dec_state *ds,
                                const tok_dec_step *step, const char *where,
                                pali_error *err)
{
    tok_decoder *d = &tok->dec;
    if (d->n_pre + d->n_post + d->n_final >= TOK_MAX_STEPS)
        return unsupported(tok, err, where, "too many decoder steps");
    if (ds->fused) {
        if (step->kind != TOK_DEC_STRIP)
            return unsupported(tok, err, where,
                               "only Strip is supported after Fuse");
        d->final[d->n_final++] = *step;
    } else if (d->byte_fallback) {
        d->post[d->n_post++] = *step;
    } else {
        d->pre[d->n_pre++] = *step;
    }
    return PALI_OK;
}

static pali_status uint_field(const pali_tokenizer *tok, const pali_json *v,
                              const char *where, const char *key, uint32_t *out,
                              pali_error *err)
{
    const pali_json *n = pali_json_get(v, key);
    if (!pali_json_is(n, PALI_JSON_NUMBER) || !n->is_integer ||
        n->integer < 0 || n->integer > UINT32_MAX) {
        char msg[80];
        snprintf(msg, sizeof(msg), "needs a non-negative integer \"%s\"", key);
        return bad(tok, err, where, msg);
    }
    *out = (uint32_t)n->integer;
    return PALI_OK;
}

static pali_status parse_dec(pali_tokenizer *tok, dec_state *ds,
                             const pali_json *v, const char *where, int depth,
                             pali_error *err)
{
    const char *type = type_of(v);
    if (!pali_json_is(v, PALI_JSON_OBJECT) || type == NULL)
        return bad(tok, err, where, "must be an object with a \"type\"");
    if (strcmp(type, "Sequence") == 0) {
        const pali_json *items = NULL;
        pali_status st =
            sequence_items(tok, v, where, "decoders", depth, &items, err);
        for (uint32_t i = 0; st == PALI_OK && i < items->len; i++) {
            char sub[WHERE_MAX];
            snprintf(sub, sizeof(sub), "%s.decoders[%u]", where, i);
            st = parse_dec(tok, ds, &items->u.items[i], sub, depth + 1, err);
        }
        return st;
    }
    tok_dec_step step = { 0 };
    pali_status st;
    if (strcmp(type, "ByteFallback") == 0) {
        if (ds->fused)
            return unsupported(tok, err, where,
                               "ByteFallback after Fuse is not supported");
        if (tok->dec.byte_fallback)
            return unsupported(tok, err, where, "a second ByteFallback");
        tok->dec.byte_fallback = true;
        return PALI_OK;
    }
    if (strcmp(type, "Fuse") == 0) {
        ds->fused = true;
        return PALI_OK;
    }
    if (strcmp(type, "Replace") == 0) {
        step.kind = TOK_DEC_REPLACE;
        st = string_pattern(tok, v, where, &step.pattern_off, &step.pattern_len,
                            err);
        if (st == PALI_OK)
            st = string_field(tok, v, where, "content", &step.content_off,
                              &step.content_len, err);
    } else if (strcmp(type, "Strip") == 0) {
        step.kind = TOK_DEC_STRIP;
        const pali_json *c = pali_json_get(v, "content");
        uint32_t cp = 0;
        if (!pali_json_is(c, PALI_JSON_STRING) || c->len == 0 ||
            tok_utf8_next((const unsigned char *)c->u.string, c->len, &cp) !=
                c->len)
            return bad(tok, err, where, "needs a one-character \"content\"");
        step.strip_char = cp;
        st = uint_field(tok, v, where, "start", &step.strip_start, err);
        if (st == PALI_OK)
            st = uint_field(tok, v, where, "stop", &step.strip_stop, err);
    } else {
        char msg[128];
        snprintf(msg, sizeof(msg), "decoder type \"%.64s\" is not supported",
                 type);
        return unsupported(tok, err, where, msg);
    }
    if (st != PALI_OK)
        return st;
    return add_dec_step(tok, ds, &step, where, err);
}

pali_status tok_parse_decoder(pali_tokenizer *tok, const pali_json *v,
                              pali_error *err)
{
    tok_decoder *d = &tok->dec;
    d->pre = pali_calloc_array(TOK_MAX_STEPS, sizeof(*d->pre));
    d->post = pali_calloc_array(TOK_MAX_STEPS, sizeof(*d->post));
    d->final = pali_calloc_array(TOK_MAX_STEPS, sizeof(*d->final));
    if (!d->pre || !d->post || !d->final)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    if (v == NULL || pali_json_is(v, PALI_JSON_NULL))
        return PALI_OK;
    d->present = true;
    dec_state ds = { .fused = false };
    return parse_dec(tok, &ds, v, "decoder", 0, err);
}

/* ---- post-processor -------------------------------------------------------
 * The reference post-processes a list of encodings: [A] for one input.
 * TemplateProcessing rebuilds the list from its "single" template when
 * the list has one part and from "pair" when it has two, $A and $B being
 * parts 0 and 1 and each SpecialToken a new part; a Sequence applies its
 * processors in turn to the list (so a second template sees two parts and
 * uses "pair"); the parts are then joined.  Since that depends on the file
 * alone, it is worked out here once, for both add_special_tokens values. */

/* The most parts a post-processor may build. */
#define TOK_MAX_POST_PARTS 64

typedef struct post_part {
    bool text;       /* the encoded text (else special ids) */
    uint32_t off, n; /* special ids: in the id list */
} post_part;

typedef struct post_state {
    post_part parts[TOK_MAX_POST_PARTS];
    int n_parts;
    tok_ids ids; /* every special id any part refers to */
    bool add_special;
} post_state;

/* The ids of special_tokens[name] of a TemplateProcessing. */
static pali_status template_special(const pali_tokenizer *tok,
                                    const pali_json *specials, const char *name,
                                    const char *where, const pali_json **ids,
                                    pali_error *err)
{
    const pali_json *entry = pali_json_get(specials, name);
    if (entry == NULL) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "uses SpecialToken \"%.64s\", missing from special_tokens",
                 name);
        return bad(tok, err, where, msg);
    }
    *ids = pali_json_get(entry, "ids");
    if (!pali_json_is(*ids, PALI_JSON_ARRAY))
        return bad(tok, err, where, "has a special_tokens entry without ids");
    for (uint32_t i = 0; i < (*ids)->len; i++) {
        const pali_json *id = &(*ids)->u.items[i];
        if (!pali_json_is(id, PALI_JSON_NUMBER) || !id->is_integer ||
            id->integer < 0 || id->integer >= tok->n_ids ||
            tok->info[id->integer].str_off == TOK_NONE)
            return bad(tok, err, where,
                       "has a special_tokens id that is not a known token");
    }
    return PALI_OK;
}

/* Checks template `key` ("single" or "pair"); when `st` is given, applies
 * it to st's parts. */
static pali_status apply_template(const pali_tokenizer *tok, const pali_json *v,
                                  const char *key, const char *where,
                                  post_state *st, pali_error *err)
{
    const pali_json *items = pali_json_get(v, key);
    const pali_json *specials = pali_json_get(v, "special_tokens");
    char at[WHERE_MAX];
    snprintf(at, sizeof(at), "%s.%s", where, key);
    if (!pali_json_is(items, PALI_JSON_ARRAY))
        return bad(tok, err, at, "must be an array");
    if (!pali_json_is(specials, PALI_JSON_OBJECT))
        return bad(tok, err, where, "needs a \"special_tokens\" object");
    post_part out[TOK_MAX_POST_PARTS];
    int n_out = 0;
    for (uint32_t i = 0; i < items->len; i++) {
        const pali_json *item = &items->u.items[i];
        if (!pali_json_is(item, PALI_JSON_OBJECT) || item->len != 1)
            return bad(tok, err, at,
                       "has an item that is not "
                       "{\"Sequence\"|\"SpecialToken\": ...}");
        const char *kind = pali_json_key_at(item, 0)->u.string;
        const pali_json *body = pali_json_value_at(item, 0);
        const pali_json *id = pali_json_get(body, "id");
        if (!pali_json_is(id, PALI_JSON_STRING))
            return bad(tok, err, at, "has an item without a string \"id\"");
        if (n_out == TOK_MAX_POST_PARTS)
            return unsupported(tok, err, at, "too many template items");
        if (strcmp(kind, "Sequence") == 0) {
            int part = strcmp(id->u.string, "A") == 0   ? 0
                       : strcmp(id->u.string, "B") == 0 ? 1
                                                        : -1;
            if (part < 0)
                return bad(tok, err, at, "has a Sequence that is not A or B");
            if (strcmp(key, "single") == 0 && part == 1)
                return bad(tok, err, at, "(single) uses $B");
            if (st != NULL && part >= st->n_parts)
                return unsupported(tok, err, at,
                                   "uses $B where there is no second part");
            if (st != NULL)
                out[n_out++] = st->parts[part];
        } else if (strcmp(kind, "SpecialToken") == 0) {
            const pali_json *ids = NULL;
            pali_status r =
                template_special(tok, specials, id->u.string, at, &ids, err);
            if (r != PALI_OK)
                return r;
            if (st == NULL || !st->add_special)
                continue;
            post_part p = { .text = false,
                            .off = (uint32_t)st->ids.len,
                            .n = ids->len };
            for (uint32_t k = 0; k < ids->len; k++)
                if (!tok_ids_push(&st->ids, (int32_t)ids->u.items[k].integer))
                    return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                                     "out of memory");
            out[n_out++] = p;
        } else {
            return bad(tok, err, at, "has an unknown item kind");
        }
    }
    if (st != NULL) {
        memcpy(st->parts, out, (size_t)n_out * sizeof(out[0]));
        st->n_parts = n_out;
    }
    return PALI_OK;
}

static pali_status run_post(const pali_tokenizer *tok, const pali_json *v,
                            const char *where, int depth, post_state *st,
                            pali_error *err)
{
    if (v == NULL || pali_json_is(v, PALI_JSON_NULL))
        return PALI_OK;
    const char *type = type_of(v);
    if (!pali_json_is(v, PALI_JSON_OBJECT) || type == NULL)
        return bad(tok, err, where, "must be an object with a \"type\"");
    if (strcmp(type, "Sequence") == 0) {
        const pali_json *items = NULL;
        pali_status r =
            sequence_items(tok, v, where, "processors", depth, &items, err);
        for (uint32_t i = 0; r == PALI_OK && i < items->len; i++) {
            char sub[WHERE_MAX];
            snprintf(sub, sizeof(sub), "%s.processors[%u]", where, i);
            r = run_post(tok, &items->u.items[i], sub, depth + 1, st, err);
        }
        return r;
    }
    if (strcmp(type, "TemplateProcessing") != 0) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "post_processor type \"%.64s\" is not supported", type);
        return unsupported(tok, err, where, msg);
    }
    /* both templates are checked; the list's length picks the one used */
    pali_status r = apply_template(tok, v, "single", where, NULL, err);
    if (r == PALI_OK)
        r = apply_template(tok, v, "pair", where, NULL, err);
    if (r == PALI_OK && st->n_parts > 2)
        r = unsupported(tok, err, where,
                        "a template applied to more than two parts");
    if (r == PALI_OK)
        r = apply_template(tok, v, st->n_parts == 1 ? "single" : "pair", where,
                           st, err);
    return r;
}

/* Runs the post-processor on [text]; the result must hold the text once. */
static pali_status simulate_post(const pali_tokenizer *tok, const pali_json *v,
                                 post_state *st, pali_error *err)
{
    st->parts[0] = (post_part){ .text = true };
    st->n_parts = 1;
    pali_status r = run_post(tok, v, "post_processor", 0, st, err);
    int n_text = 0;
    for (int i = 0; r == PALI_OK && i < st->n_parts; i++)
        n_text += st->parts[i].text;
    if (r == PALI_OK && n_text != 1)
        r = unsupported(tok, err, "post_processor",
                        "the encoded text would appear other than once");
    return r;
}

pali_status tok_parse_post_processor(pali_tokenizer *tok, const pali_json *v,
                                     pali_error *err)
{
    post_state plain = { .add_special = false };
    post_state with = { .add_special = true };
    pali_status r = simulate_post(tok, v, &plain, err);
    if (r == PALI_OK && plain.n_parts != 1)
        r = unsupported(tok, err, "post_processor",
                        "it changes the encoding without special tokens");
    if (r == PALI_OK)
        r = simulate_post(tok, v, &with, err);
    tok_ids before = { 0 }, after = { 0 };
    bool seen_text = false;
    for (int i = 0; r == PALI_OK && i < with.n_parts; i++) {
        const post_part *p = &with.parts[i];
        seen_text = seen_text || p->text;
        for (uint32_t k = 0; !p->text && k < p->n && r == PALI_OK; k++)
            if (!tok_ids_push(seen_text ? &after : &before,
                              with.ids.data[p->off + k]))
                r = pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    }
    free(plain.ids.data);
    free(with.ids.data);
    if (r != PALI_OK) {
        free(before.data);
        free(after.data);
        return r;
    }
    tok->post_before = before.data;
    tok->n_post_before = (int)before.len;
    tok->post_after = after.data;
    tok->n_post_after = (int)after.len;
    return PALI_OK;
}

/* ---- applying steps ------------------------------------------------------ */

/* Appends s[0..n) to out with every (non-overlapping, leftmost) occurrence
 * of pat replaced by rep — a literal-string Replace. */
static bool replace_all(const char *s, size_t n, const char *pat,
                        size_t pat_len, const char *rep, size_t rep_len,
                        tok_buf *out)
{
    size_t i = 0;
    while (i < n) {
        const char *hit =
            pat_len <= n - i ? memmem(s + i, n - i, pat, pat_len) : NULL;
        if (hit == NULL)
            break;
        size_t at = (size_t)(hit - s);
        if (!tok_buf_append(out, s + i, at - i) ||
            !tok_buf_append(out, rep, rep_len))
            return false;
        i = at + pat_len;
    }
    return tok_buf_append(out, s + i, n - i);
}

bool tok_normalize(const pali_tokenizer *tok, const char *s, size_t n,
                   tok_buf *out, tok_buf *tmp)
{
    out->len = 0;
    if (!tok_buf_append(out, s, n))
        return false;
    for (int k = 0; k < tok->n_norm; k++) {
        const tok_norm_step *st = &tok->norm[k];
        tmp->len = 0;
        if (st->kind == TOK_NORM_PREPEND) {
            if (out->len == 0)
                continue;
            if (!tok_buf_append(tmp, tok_str(tok, st->content_off),
                                st->content_len))
                return false;
            if (!tok_buf_append(tmp, out->data, out->len))
                return false;
        } else if (!replace_all(out->data, out->len,
                                tok_str(tok, st->pattern_off), st->pattern_len,
                                tok_str(tok, st->content_off), st->content_len,
                                tmp)) {
            return false;
        }
        tok_buf swap = *out;
        *out = *tmp;
        *tmp = swap;
    }
    return true;
}

void tok_strip_range(const tok_dec_step *step, const char *s, size_t n,
                     size_t *begin, size_t *end)
{
    /* The reference works on chars: up to `start` leading and `stop`
     * trailing copies of the character are cut. */
    char c[4];
    size_t c_len;
    uint32_t cp = step->strip_char;
    if (cp < 0x80) {
        c[0] = (char)cp;
        c_len = 1;
    } else if (cp < 0x800) {
        c[0] = (char)(0xC0 | cp >> 6);
        c[1] = (char)(0x80 | (cp & 0x3F));
        c_len = 2;
    } else if (cp < 0x10000) {
        c[0] = (char)(0xE0 | cp >> 12);
        c[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        c[2] = (char)(0x80 | (cp & 0x3F));
        c_len = 3;
    } else {
        c[0] = (char)(0xF0 | cp >> 18);
        c[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        c[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        c[3] = (char)(0x80 | (cp & 0x3F));
        c_len = 4;
    }
    size_t b = 0, e = n;
    for (uint32_t k = 0; k < step->strip_start && e - b >= c_len &&
                         memcmp(s + b, c, c_len) == 0;
         k++)
        b += c_len;
    /* The reference counts the trailing cut on the whole token, so it may
     * overlap the leading one; the kept text is then empty. */
    size_t e2 = n;
    for (uint32_t k = 0; k < step->strip_stop && e2 >= c_len &&
                         memcmp(s + e2 - c_len, c, c_len) == 0;
         k++)
        e2 -= c_len;
    e = e2 < b ? b : e2;
    *begin = b;
    *end = e;
}

bool tok_apply_dec_steps(const pali_tokenizer *tok, const tok_dec_step *steps,
                         int n_steps, const char *s, size_t n, tok_buf *out,
                         tok_buf *tmp, tok_buf *tmp2)
{
    if (n_steps == 0)
        return tok_buf_append(out, s, n);
    tmp->len = 0;
    if (!tok_buf_append(tmp, s, n))
        return false;
    for (int k = 0; k < n_steps; k++) {
        const tok_dec_step *st = &steps[k];
        tmp2->len = 0;
        bool ok;
        if (st->kind == TOK_DEC_STRIP) {
            size_t b, e;
            tok_strip_range(st, tmp->data, tmp->len, &b, &e);
            ok = tok_buf_append(tmp2, tmp->data + b, e - b);
        } else {
            ok = replace_all(tmp->data, tmp->len, tok_str(tok, st->pattern_off),
                             st->pattern_len, tok_str(tok, st->content_off),
                             st->content_len, tmp2);
        }
        if (!ok)
            return false;
        tok_buf swap = *tmp;
        *tmp = *tmp2;
        *tmp2 = swap;
    }
    return tok_buf_append(out, tmp->data, tmp->len);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tok_parse_byte_token(const char *s, size_t n)
{
    /* ByteFallback: six bytes "<0x" XX ">", XX read by Rust's
     * u8::from_str_radix(_, 16), which also takes a leading '+'. */
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    if (s[3] == '+')
        return hex_value(s[4]);
    int hi = hex_value(s[3]), lo = hex_value(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}
