/* tok-encode.c — text to ids, in the order of Hugging Face tokenizers'
 * TokenizerImpl::encode_single_sequence with add_special_tokens=False:
 *
 * 1. AddedVocabulary::extract_and_normalize: added tokens that are not
 *    "normalized" are found in the raw text (leftmost-longest, anywhere,
 *    no word boundaries; lstrip/rstrip widen a match over Unicode white
 *    space); each stretch between them is normalized on its own and then
 *    searched for the "normalized" added tokens.
 * 2. The pre-tokenizer's Split steps cut each remaining stretch into
 *    words (for Gemma's files a no-op: the split pattern " " no longer
 *    occurs after the normalizer turned spaces into "▁").
 * 3. The BPE model encodes each word (bpe.c).
 *
 * Also the prompt ids of PaliGemmaProcessor and the post-processor's
 * special tokens.  All scratch memory belongs to the call, so any number
 * of threads may encode with one tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer-impl.h"

/* Most image tokens a prompt may ask for (896 px models use 4096). */
#define TOK_MAX_IMAGE_TOKENS (1 << 20)

/* A span of a piece being split by a pre-tokenizer step. */
typedef struct tok_span {
    size_t start, end;
    bool flag; /* is a match / is to be removed */
} tok_span;

typedef struct tok_spans {
    tok_span *data;
    size_t len, cap;
} tok_spans;

typedef struct enc_ctx {
    const pali_tokenizer *tok;
    tok_ids ids;
    tok_buf norm, tmp; /* the normalized stretch and its scratch */
    tok_bpe_scratch bpe;
    tok_spans spans[TOK_MAX_STEPS][2]; /* per split level: matches, pieces */
    pali_error *err;
} enc_ctx;

static void ctx_free(enc_ctx *c)
{
    tok_buf_free(&c->norm);
    tok_buf_free(&c->tmp);
    tok_bpe_scratch_free(&c->bpe);
    for (int i = 0; i < TOK_MAX_STEPS; i++) {
        free(c->spans[i][0].data);
        free(c->spans[i][1].data);
    }
}

static pali_status oom(enc_ctx *c)
{
    return pali_fail(c->err, PALI_ERR_OUT_OF_MEMORY,
                     "tokenizer: out of memory while encoding");
}

static bool span_push(tok_spans *v, size_t start, size_t end, bool flag)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        tok_span *d = realloc(v->data, cap * sizeof(*d));
        if (d == NULL)
            return false;
        v->data = d;
        v->cap = cap;
    }
    v->data[v->len++] = (tok_span){ start, end, flag };
    return true;
}

/* ---- pre-tokenizer: Split ------------------------------------------------ */

/* NormalizedString::split's fold of (span, is_match) into kept pieces. */
static bool split_fold(const tok_spans *m, tok_split_behavior behavior,
                       tok_spans *out)
{
    out->len = 0;
    bool prev_match = false;
    switch (behavior) {
    case TOK_SPLIT_ISOLATED:
        for (size_t i = 0; i < m->len; i++)
            if (!span_push(out, m->data[i].start, m->data[i].end, false))
                return false;
        return true;
    case TOK_SPLIT_REMOVED:
        for (size_t i = 0; i < m->len; i++)
            if (!span_push(out, m->data[i].start, m->data[i].end,
                           m->data[i].flag))
                return false;
        return true;
    case TOK_SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < m->len; i++) {
            bool is_match = m->data[i].flag;
            if (is_match == prev_match && out->len > 0)
                out->data[out->len - 1].end = m->data[i].end;
            else if (!span_push(out, m->data[i].start, m->data[i].end, false))
                return false;
            prev_match = is_match;
        }
        return true;
    case TOK_SPLIT_MERGED_WITH_PREVIOUS:
        for (size_t i = 0; i < m->len; i++) {
            bool is_match = m->data[i].flag;
            if (is_match && !prev_match && out->len > 0)
                out->data[out->len - 1].end = m->data[i].end;
            else if (!span_push(out, m->data[i].start, m->data[i].end, false))
                return false;
            prev_match = is_match;
        }
        return true;
    case TOK_SPLIT_MERGED_WITH_NEXT:
        /* built back to front, then reversed */
        for (size_t i = m->len; i-- > 0;) {
            bool is_match = m->data[i].flag;
            if (is_match && !prev_match && out->len > 0)
                out->data[out->len - 1].start = m->data[i].start;
            else if (!span_push(out, m->data[i].start, m->data[i].end, false))
                return false;
            prev_match = is_match;
        }
        for (size_t i = 0, j = out->len; i + 1 < j; i++, j--) {
            tok_span t = out->data[i];
            out->data[i] = out->data[j - 1];
            out->data[j - 1] = t;
        }
        return true;
    }
    return false;
}

/* Split step `level` (and the ones after it) over s[0..n), then BPE. */
static pali_status pretokenize(enc_ctx *c, int level, const char *s, size_t n)
{
    const pali_tokenizer *tok = c->tok;
    if (n == 0)
        return PALI_OK; /* empty pieces are dropped */
    if (level == tok->n_split)
        return tok_bpe_encode(tok, &c->bpe, s, n, &c->ids, c->err);
    const tok_split_step *st = &tok->split[level];
    const char *pat = tok_str(tok, st->pattern_off);
    size_t plen = st->pattern_len;
    const char *hit = plen <= n ? memmem(s, n, pat, plen) : NULL;
    if (hit == NULL && !st->invert) /* one unmatched span: kept whole */
        return pretokenize(c, level + 1, s, n);
    tok_spans *m = &c->spans[level][0], *out = &c->spans[level][1];
    m->len = 0;
    size_t prev = 0;
    while (hit != NULL) {
        size_t at = (size_t)(hit - s);
        if ((prev != at && !span_push(m, prev, at, false)) ||
            !span_push(m, at, at + plen, true))
            return oom(c);
        prev = at + plen;
        hit = plen <= n - prev ? memmem(s + prev, n - prev, pat, plen) : NULL;
    }
    if (prev != n && !span_push(m, prev, n, false))
        return oom(c);
    if (st->invert)
        for (size_t i = 0; i < m->len; i++)
            m->data[i].flag = !m->data[i].flag;
    if (!split_fold(m, st->behavior, out))
        return oom(c);
    /* deeper levels use their own span arrays, so `out` stays valid */
    for (size_t i = 0; i < out->len; i++) {
        if (out->data[i].flag)
            continue;
        pali_status r = pretokenize(c, level + 1, s + out->data[i].start,
                                    out->data[i].end - out->data[i].start);
        if (r != PALI_OK)
            return r;
    }
    return PALI_OK;
}

/* ---- added tokens -------------------------------------------------------- */

/* Start of the white space that ends s[0..n) (n when there is none). */
static size_t white_space_tail(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0) {
        size_t k = i - 1;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        uint32_t cp;
        if (tok_utf8_next((const unsigned char *)s + k, i - k, &cp) != i - k ||
            !tok_is_white_space(cp))
            break;
        i = k;
    }
    return i;
}

/* Length of the white space that starts s[0..n). */
static size_t white_space_head(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = tok_utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (len == 0 || !tok_is_white_space(cp))
            break;
        i += len;
    }
    return i;
}

typedef pali_status (*gap_fn)(enc_ctx *c, const char *s, size_t n);

/* AddedVocabulary::find_matches: the trie's matches in s[0..n) become
 * ids; the text around them goes to `gap`. */
static pali_status split_added(enc_ctx *c, const tok_trie *trie, const char *s,
                               size_t n, gap_fn gap)
{
    const pali_tokenizer *tok = c->tok;
    if (trie->n_tokens == 0)
        return gap(c, s, n);
    size_t start_offset = 0, pos = 0;
    while (pos < n) {
        while (pos < n && trie->root_child[(unsigned char)s[pos]] < 0)
            pos++;
        if (pos >= n)
            break;
        size_t mlen = 0;
        const int32_t id = tok_trie_longest(trie, s + pos, n - pos, &mlen);
        if (id < 0) {
            pos++;
            continue;
        }
        /* the strip flags of the match's AddedToken */
        const uint8_t flags = tok->info[id].flags;
        size_t start = pos, stop = pos + mlen;
        if (flags & TOK_ID_LSTRIP) {
            size_t ws = white_space_tail(s, start);
            start = ws > start_offset ? ws : start_offset;
        }
        if (flags & TOK_ID_RSTRIP)
            stop += white_space_head(s + stop, n - stop);
        if (start_offset < start) {
            pali_status st = gap(c, s + start_offset, start - start_offset);
            if (st != PALI_OK)
                return st;
        }
        if (!tok_ids_push(&c->ids, id))
            return oom(c);
        start_offset = stop;
        pos += mlen; /* the search resumes at the match, not the strip */
    }
    return start_offset < n ? gap(c, s + start_offset, n - start_offset)
                            : PALI_OK;
}

static pali_status normalized_gap(enc_ctx *c, const char *s, size_t n)
{
    return pretokenize(c, 0, s, n);
}

static pali_status raw_gap(enc_ctx *c, const char *s, size_t n)
{
    const pali_tokenizer *tok = c->tok;
    if (n == 0)
        return PALI_OK;
    if (tok->n_norm > 0) {
        if (!tok_normalize(tok, s, n, &c->norm, &c->tmp))
            return oom(c);
        s = c->norm.data;
        n = c->norm.len;
    }
    return split_added(c, &tok->norm_trie, s, n, normalized_gap);
}

static pali_status check_utf8(const char *what, const char *text, size_t len,
                              pali_error *err)
{
    size_t bad = tok_utf8_invalid_at(text, len);
    if (bad == len)
        return PALI_OK;
    return pali_fail(err, PALI_ERR_ENCODING,
                     "%s is not valid UTF-8: byte 0x%02X at offset %zu", what,
                     (unsigned char)text[bad], bad);
}

/* ---- public entry points ------------------------------------------------- */

static pali_status finish(enc_ctx *c, pali_status st, int32_t **ids,
                          size_t *n_ids)
{
    if (st == PALI_OK && c->ids.data == NULL) {
        c->ids.data = malloc(sizeof(int32_t)); /* never NULL on success */
        if (c->ids.data == NULL)
            st = oom(c);
    }
    if (st == PALI_OK) {
        *ids = c->ids.data;
        *n_ids = c->ids.len;
    } else {
        free(c->ids.data);
    }
    ctx_free(c);
    return st;
}

static pali_status check_args(const pali_tokenizer *tok, const char *text,
                              size_t len, int32_t **ids, size_t *n_ids,
                              pali_error *err)
{
    if (ids == NULL || n_ids == NULL || tok == NULL ||
        (text == NULL && len > 0))
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "tokenizer: NULL argument to encode");
    *ids = NULL;
    *n_ids = 0;
    return PALI_OK;
}

pali_status pali_tokenizer_encode(const pali_tokenizer *tok, const char *text,
                                  size_t len, int32_t **ids, size_t *n_ids,
                                  pali_error *err)
{
    pali_status st = check_args(tok, text, len, ids, n_ids, err);
    if (st != PALI_OK)
        return st;
    enc_ctx c = { .tok = tok, .err = err };
    st = check_utf8("text", text, len, err);
    if (st == PALI_OK && len > 0)
        st = split_added(&c, &tok->raw_trie, text, len, raw_gap);
    return finish(&c, st, ids, n_ids);
}

pali_status pali_tokenizer_encode_special(const pali_tokenizer *tok,
                                          const char *text, size_t len,
                                          int32_t **ids, size_t *n_ids,
                                          pali_error *err)
{
    pali_status st = check_args(tok, text, len, ids, n_ids, err);
    if (st != PALI_OK)
        return st;
    enc_ctx c = { .tok = tok, .err = err };
    st = check_utf8("text", text, len, err);
    for (int i = 0; st == PALI_OK && i < tok->n_post_before; i++)
        if (!tok_ids_push(&c.ids, tok->post_before[i]))
            st = oom(&c);
    if (st == PALI_OK && len > 0)
        st = split_added(&c, &tok->raw_trie, text, len, raw_gap);
    for (int i = 0; st == PALI_OK && i < tok->n_post_after; i++)
        if (!tok_ids_push(&c.ids, tok->post_after[i]))
            st = oom(&c);
    return finish(&c, st, ids, n_ids);
}

/* Whether "<image>"·N can be emitted directly: the image token is a raw
 * added token, without strip options, and no other raw added token
 * extends its spelling, so a leftmost-longest scan of the repeated
 * spelling yields exactly N image tokens and resumes right after them. */
static bool image_run_is_direct(const pali_tokenizer *tok, int32_t image_id,
                                const char *img, size_t img_len)
{
    const tok_trie *trie = &tok->raw_trie;
    int32_t node = tok_trie_find(trie, img, img_len);
    if (node <= 0 || trie->node_token[node] < 0 || trie->node_has_child[node])
        return false;
    const int32_t id = trie->node_token[node];
    return id == image_id &&
           !(tok->info[id].flags & (TOK_ID_LSTRIP | TOK_ID_RSTRIP));
}

pali_status pali_prompt_ids(const pali_tokenizer *tok, int n_image_tokens,
                            int32_t image_token_id, int32_t bos_id,
                            const char *prompt, size_t len, int32_t **ids,
                            size_t *n_ids, pali_error *err)
{
    pali_status st = check_args(tok, prompt, len, ids, n_ids, err);
    if (st != PALI_OK)
        return st;
    /* the processor writes its IMAGE_TOKEN literally and the tokenizer's
     * bos_token; the ids must then be the model's image_token_index */
    const char *img = PALI_IMAGE_TOKEN;
    const size_t img_len = strlen(PALI_IMAGE_TOKEN);
    size_t bos_len = 0;
    const char *bos = pali_tokenizer_id_to_piece(tok, bos_id, &bos_len);
    if (bos == NULL ||
        pali_tokenizer_id_to_piece(tok, image_token_id, NULL) == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "%s: the image token id %d or <bos> id %d is not in "
                         "the tokenizer",
                         tok->path, image_token_id, bos_id);
    if (n_image_tokens < 0 || n_image_tokens > TOK_MAX_IMAGE_TOKENS)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "prompt: %d image tokens is out of range",
                         n_image_tokens);
    if ((st = check_utf8("prompt", prompt, len, err)) != PALI_OK)
        return st;
    /* PaliGemmaProcessor.__call__: a prompt without the image token
     * becomes "<image>"·N + "<bos>" + prompt + "\n"; in one with it, the
     * occurrence expands to N image tokens and "<bos>" follows the last
     * of them (with N = 0: "<bos>" first). */
    const char *inside = len ? memmem(prompt, len, img, img_len) : NULL;
    size_t at = inside ? (size_t)(inside - prompt) : 0;
    const char *again =
        inside && len - at - img_len >= img_len
            ? memmem(inside + img_len, len - at - img_len, img, img_len)
            : NULL;
    if (again != NULL) /* the model would get 2N image tokens for N features */
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "prompt: contains the image token \"%s\" more than "
                         "once (at bytes %zu and %zu); the processor would "
                         "expand each to %d image tokens, but one image has "
                         "%d features",
                         img, at, (size_t)(again - prompt), n_image_tokens,
                         n_image_tokens);
    size_t n_img = (size_t)n_image_tokens;
    /* prefix + image run + "<bos>" + rest + "\n" */
    const char *rest = inside ? inside + img_len : prompt;
    size_t prefix_len = at, rest_len = len - (size_t)(rest - prompt);
    bool bos_first = inside != NULL && n_img == 0;
    bool direct = prefix_len == 0 &&
                  image_run_is_direct(tok, image_token_id, img, img_len);
    tok_buf text = { 0 };
    enc_ctx c = { .tok = tok, .err = err };
    bool ok = (!bos_first || tok_buf_append(&text, bos, bos_len)) &&
              (prefix_len == 0 || tok_buf_append(&text, prompt, prefix_len));
    for (size_t i = 0; ok && i < n_img; i++)
        ok = direct ? tok_ids_push(&c.ids, image_token_id)
                    : tok_buf_append(&text, img, img_len);
    ok = ok && (bos_first || tok_buf_append(&text, bos, bos_len)) &&
         (rest_len == 0 || tok_buf_append(&text, rest, rest_len)) &&
         tok_buf_append(&text, "\n", 1);
    st = ok ? split_added(&c, &tok->raw_trie, text.data, text.len, raw_gap)
            : oom(&c);
    tok_buf_free(&text);
    /* the model puts the image features where the image ids are: they
     * must be one run of exactly N, at the start unless the prompt placed
     * it */
    size_t first = 0, count = 0;
    while (first < c.ids.len && c.ids.data[first] != image_token_id)
        first++;
    for (size_t i = first; i < c.ids.len; i++)
        count += c.ids.data[i] == image_token_id;
    bool run = first + n_img <= c.ids.len && count == n_img &&
               (inside != NULL || first == 0 || n_img == 0);
    for (size_t i = first; run && i < first + n_img; i++)
        run = c.ids.data[i] == image_token_id;
    if (st == PALI_OK && !run)
        st = pali_fail(err, PALI_ERR_FORMAT,
                       "%s: the prompt \"%s\"×%d + \"%s\" + … does not "
                       "encode to one run of %d image tokens (id %d): %zu "
                       "found from position %zu",
                       tok->path, img, n_image_tokens, bos, n_image_tokens,
                       image_token_id, count, first);
    return finish(&c, st, ids, n_ids);
}
