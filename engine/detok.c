/* detok.c — ids to text, as Hugging Face tokenizers' TokenizerImpl::decode:
 * ids become their spellings (added tokens first, a normalized added token
 * as its normalized content; unknown ids are dropped;
 * with skip_special the special tokens are dropped here, before the
 * decoder), then the decoder chain runs on the list of strings — per-token
 * Replace/Strip, ByteFallback (a run of "<0xNN>" tokens becomes its bytes
 * when they are valid UTF-8, else one U+FFFD per byte), Fuse, and Strip on
 * the joined text — and the strings are joined.  Without a decoder the
 * spellings are joined with " ".
 *
 * pali_tokenizer_decode() runs that chain literally on lists of strings.
 * The streaming detokenizer (pali_detok) reaches the same text one id at
 * a time from precomputed per-id pieces: it holds back a byte run until
 * it is complete, and trailing characters a final Strip might still cut;
 * the tests check the two against each other. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer-impl.h"

/* U+FFFD REPLACEMENT CHARACTER, UTF-8. */
#define TOK_REPLACEMENT     "\xEF\xBF\xBD"
#define TOK_REPLACEMENT_LEN 3

/* ---- decode: the chain on lists of strings --------------------------------
 */

typedef struct str_ref {
    size_t off, len; /* into the list's arena */
} str_ref;

typedef struct str_list {
    tok_buf arena;
    str_ref *items;
    size_t len, cap;
} str_list;

static void list_clear(str_list *l)
{
    l->arena.len = 0;
    l->len = 0;
}

static void list_free(str_list *l)
{
    tok_buf_free(&l->arena);
    free(l->items);
}

/* Opens a new item; the caller appends its bytes to l->arena. */
static bool list_open(str_list *l)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        str_ref *d = realloc(l->items, cap * sizeof(*d));
        if (d == NULL)
            return false;
        l->items = d;
        l->cap = cap;
    }
    l->items[l->len++] = (str_ref){ .off = l->arena.len, .len = 0 };
    return true;
}

static void list_close(str_list *l)
{
    str_ref *r = &l->items[l->len - 1];
    r->len = l->arena.len - r->off;
}

static bool list_push(str_list *l, const char *s, size_t n)
{
    if (!list_open(l) || !tok_buf_append(&l->arena, s, n))
        return false;
    list_close(l);
    return true;
}

static const char *item(const str_list *l, size_t i)
{
    return l->arena.data + l->items[i].off;
}

/* Per-token steps from `src` into `dst`. */
static bool list_steps(const pali_tokenizer *tok, const tok_dec_step *steps,
                       int n, const str_list *src, str_list *dst, tok_buf *t1,
                       tok_buf *t2)
{
    list_clear(dst);
    for (size_t i = 0; i < src->len; i++) {
        if (!list_open(dst) ||
            !tok_apply_dec_steps(tok, steps, n, item(src, i), src->items[i].len,
                                 &dst->arena, t1, t2))
            return false;
        list_close(dst);
    }
    return true;
}

static bool flush_bytes(str_list *dst, tok_buf *run)
{
    bool ok = true;
    if (run->len == 0)
        return true;
    if (tok_utf8_invalid_at(run->data, run->len) == run->len)
        ok = list_push(dst, run->data, run->len);
    else
        for (size_t k = 0; ok && k < run->len; k++)
            ok = list_push(dst, TOK_REPLACEMENT, TOK_REPLACEMENT_LEN);
    run->len = 0;
    return ok;
}

/* ByteFallback::decode_chain. */
static bool list_byte_fallback(const str_list *src, str_list *dst, tok_buf *run)
{
    list_clear(dst);
    run->len = 0;
    for (size_t i = 0; i < src->len; i++) {
        int b = tok_parse_byte_token(item(src, i), src->items[i].len);
        if (b >= 0) {
            char c = (char)b;
            if (!tok_buf_append(run, &c, 1))
                return false;
            continue;
        }
        if (!flush_bytes(dst, run) ||
            !list_push(dst, item(src, i), src->items[i].len))
            return false;
    }
    return flush_bytes(dst, run);
}

static bool decode_chain(const pali_tokenizer *tok, const int32_t *ids,
                         size_t n_ids, bool skip_special, tok_buf *out)
{
    const tok_decoder *d = &tok->dec;
    str_list a = { 0 }, b = { 0 };
    tok_buf t1 = { 0 }, t2 = { 0 };
    bool ok = true;
    /* ids → spellings */
    for (size_t i = 0; ok && i < n_ids; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= tok->n_ids || tok->info[id].str_off == TOK_NONE)
            continue;
        const tok_id_info *info = &tok->info[id];
        if (skip_special && (info->flags & TOK_ID_SPECIAL))
            continue;
        ok = list_push(&a, tok_str(tok, info->spell_off), info->spell_len);
    }
    if (ok && !d->present) {
        for (size_t i = 0; ok && i < a.len; i++)
            ok = (i == 0 || tok_buf_append(out, " ", 1)) &&
                 tok_buf_append(out, item(&a, i), a.items[i].len);
    } else if (ok) {
        ok = list_steps(tok, d->pre, d->n_pre, &a, &b, &t1, &t2);
        str_list *cur = &b, *other = &a;
        if (ok && d->byte_fallback) {
            ok = list_byte_fallback(cur, other, &t1);
            str_list *swap = cur;
            cur = other;
            other = swap;
        }
        if (ok) {
            ok = list_steps(tok, d->post, d->n_post, cur, other, &t1, &t2);
            cur = other;
        }
        /* Fuse (or the final join) */
        tok_buf *joined = &t1;
        joined->len = 0;
        for (size_t i = 0; ok && i < cur->len; i++)
            ok = tok_buf_append(joined, item(cur, i), cur->items[i].len);
        for (int k = 0; ok && k < d->n_final; k++) {
            size_t lo, hi;
            tok_strip_range(&d->final[k], joined->data, joined->len, &lo, &hi);
            if (lo > 0 && hi > lo)
                memmove(joined->data, joined->data + lo, hi - lo);
            joined->len = hi - lo;
        }
        ok = ok &&
             tok_buf_append(out, joined->data ? joined->data : "", joined->len);
    }
    list_free(&a);
    list_free(&b);
    tok_buf_free(&t1);
    tok_buf_free(&t2);
    return ok;
}

pali_status pali_tokenizer_decode(const pali_tokenizer *tok, const int32_t *ids,
                                  size_t n_ids, bool skip_special, char **text,
                                  size_t *len, pali_error *err)
{
    if (tok == NULL || text == NULL || (ids == NULL && n_ids > 0))
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "tokenizer: NULL argument to decode");
    *text = NULL;
    if (len)
        *len = 0;
    tok_buf out = { 0 };
    if (!decode_chain(tok, ids, n_ids, skip_special, &out) ||
        !tok_buf_append(&out, "", 0)) {
        tok_buf_free(&out);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "tokenizer: out of memory while decoding");
    }
    *text = out.data;
    if (len)
        *len = out.len;
    return PALI_OK;
}

/* ---- streaming ----------------------------------------------------------- */

/* One final Strip step's state (Strip after Fuse works on the whole text). */
typedef struct strip_state {
    uint32_t lead_cut; /* leading characters cut so far */
    bool lead_done;    /* a kept character was seen */
    uint32_t held;     /* trailing copies of the character held back */
    tok_buf out;       /* scratch for what this stage passes on */
} strip_state;

typedef struct detok_stream {
    bool skip_special;
    bool any;      /* a token got through (joins with " " without decoder) */
    tok_buf text;  /* released text */
    tok_buf run;   /* bytes of the pending byte-fallback run */
    tok_buf piece; /* scratch: a run's text after the post steps */
    tok_buf t1, t2;
    strip_state strip[TOK_MAX_STEPS];
} detok_stream;

struct pali_detok {
    const pali_tokenizer *tok;
    detok_stream plain;   /* special tokens skipped */
    detok_stream special; /* special tokens kept */
    bool finished;
};

static size_t utf8_encode(uint32_t cp, char *c)
{
    if (cp < 0x80) {
        c[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        c[0] = (char)(0xC0 | cp >> 6);
        c[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        c[0] = (char)(0xE0 | cp >> 12);
        c[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        c[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    c[0] = (char)(0xF0 | cp >> 18);
    c[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    c[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    c[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Passes s[0..n) through final stage k and the ones after it. */
static bool emit_stage(const pali_tokenizer *tok, detok_stream *ds, int k,
                       const char *s, size_t n)
{
    if (k == tok->dec.n_final)
        return tok_buf_append(&ds->text, s, n);
    const tok_dec_step *step = &tok->dec.final[k];
    strip_state *st = &ds->strip[k];
    char c[4];
    size_t cl = utf8_encode(step->strip_char, c);
    size_t i = 0;
    while (!st->lead_done && i < n) {
        if (st->lead_cut < step->strip_start && n - i >= cl &&
            memcmp(s + i, c, cl) == 0) {
            st->lead_cut++;
            i += cl;
        } else {
            st->lead_done = true;
        }
    }
    s += i;
    n -= i;
    if (n == 0)
        return true;
    if (step->strip_stop == 0)
        return emit_stage(tok, ds, k + 1, s, n);
    /* trailing copies of c in s, counted up to strip_stop */
    size_t t = 0, e = n;
    while (e >= cl && memcmp(s + e - cl, c, cl) == 0) {
        e -= cl;
        t++;
    }
    bool all = e == 0;
    uint64_t total = all ? (uint64_t)st->held + t : t;
    uint32_t keep =
        total < step->strip_stop ? (uint32_t)total : step->strip_stop;
    tok_buf *out = &st->out;
    out->len = 0;
    bool ok = true;
    if (all) {
        for (uint64_t r = total - keep; ok && r > 0; r--)
            ok = tok_buf_append(out, c, cl);
    } else {
        for (uint32_t r = st->held; ok && r > 0; r--)
            ok = tok_buf_append(out, c, cl);
        ok = ok && tok_buf_append(out, s, n - (size_t)keep * cl);
    }
    st->held = keep;
    return ok &&
           emit_stage(tok, ds, k + 1, out->data ? out->data : "", out->len);
}

static bool emit(const pali_tokenizer *tok, detok_stream *ds, const char *s,
                 size_t n)
{
    return emit_stage(tok, ds, 0, s, n);
}

static bool flush_run(const pali_tokenizer *tok, detok_stream *ds)
{
    if (ds->run.len == 0)
        return true;
    bool ok = true;
    if (tok_utf8_invalid_at(ds->run.data, ds->run.len) == ds->run.len) {
        ds->piece.len = 0;
        ok = tok_apply_dec_steps(tok, tok->dec.post, tok->dec.n_post,
                                 ds->run.data, ds->run.len, &ds->piece, &ds->t1,
                                 &ds->t2) &&
             emit(tok, ds, ds->piece.data ? ds->piece.data : "", ds->piece.len);
    } else {
        for (size_t k = 0; ok && k < ds->run.len; k++)
            ok = emit(tok, ds, tok_str(tok, tok->repl_off), tok->repl_len);
    }
    ds->run.len = 0;
    return ok;
}

static bool stream_push(const pali_tokenizer *tok, detok_stream *ds, int32_t id)
{
    if (id < 0 || id >= tok->n_ids || tok->info[id].str_off == TOK_NONE)
        return true; /* unknown ids are dropped */
    const tok_id_info *info = &tok->info[id];
    if (ds->skip_special && (info->flags & TOK_ID_SPECIAL))
        return true;
    if (!tok->dec.present) {
        bool ok = !ds->any || emit(tok, ds, " ", 1);
        ds->any = true;
        return ok &&
               emit(tok, ds, tok_str(tok, info->spell_off), info->spell_len);
    }
    if (info->dec_byte >= 0) {
        char b = (char)info->dec_byte;
        return tok_buf_append(&ds->run, &b, 1);
    }
    return flush_run(tok, ds) &&
           emit(tok, ds, tok_str(tok, info->piece_off), info->piece_len);
}

static bool stream_finish(const pali_tokenizer *tok, detok_stream *ds)
{
    if (!flush_run(tok, ds))
        return false;
    /* held trailing characters are what the final Strips cut */
    for (int k = 0; k < tok->dec.n_final; k++)
        ds->strip[k].held = 0;
    return true;
}

static void stream_reset(detok_stream *ds)
{
    ds->any = false;
    ds->text.len = 0;
    ds->run.len = 0;
    if (ds->text.data)
        ds->text.data[0] = 0;
    for (int k = 0; k < TOK_MAX_STEPS; k++) {
        ds->strip[k].lead_cut = 0;
        ds->strip[k].lead_done = false;
        ds->strip[k].held = 0;
    }
}

static void stream_free(detok_stream *ds)
{
    tok_buf_free(&ds->text);
    tok_buf_free(&ds->run);
    tok_buf_free(&ds->piece);
    tok_buf_free(&ds->t1);
    tok_buf_free(&ds->t2);
    for (int k = 0; k < TOK_MAX_STEPS; k++)
        tok_buf_free(&ds->strip[k].out);
}

pali_status pali_detok_new(const pali_tokenizer *tok, pali_detok **out,
                           pali_error *err)
{
    if (tok == NULL || out == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_detok_new: NULL argument");
    pali_detok *d = calloc(1, sizeof(*d));
    /* room for a typical generation up front */
    if (d == NULL || !tok_buf_reserve(&d->plain.text, 4096) ||
        !tok_buf_reserve(&d->special.text, 4096) ||
        !tok_buf_reserve(&d->plain.run, 16) ||
        !tok_buf_reserve(&d->special.run, 16)) {
        pali_detok_free(d);
        *out = NULL;
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "tokenizer: out of memory");
    }
    d->tok = tok;
    d->plain.skip_special = true;
    stream_reset(&d->plain);
    stream_reset(&d->special);
    *out = d;
    return PALI_OK;
}

void pali_detok_free(pali_detok *detok)
{
    if (detok == NULL)
        return;
    stream_free(&detok->plain);
    stream_free(&detok->special);
    free(detok);
}

void pali_detok_reset(pali_detok *detok)
{
    if (detok == NULL)
        return;
    stream_reset(&detok->plain);
    stream_reset(&detok->special);
    detok->finished = false;
}

static pali_status piece_since(pali_detok *d, size_t before, bool ok,
                               const char **piece, size_t *piece_len,
                               pali_error *err)
{
    if (!ok)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "tokenizer: out of memory while decoding");
    if (piece)
        *piece = d->plain.text.data ? d->plain.text.data + before : "";
    if (piece_len)
        *piece_len = d->plain.text.len - before;
    return PALI_OK;
}

pali_status pali_detok_push(pali_detok *detok, int32_t id, const char **piece,
                            size_t *piece_len, pali_error *err)
{
    if (detok == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_detok_push: NULL detokenizer");
    if (detok->finished)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_detok_push: the sequence was finished; reset "
                         "it first");
    size_t before = detok->plain.text.len;
    bool ok = stream_push(detok->tok, &detok->plain, id) &&
              stream_push(detok->tok, &detok->special, id);
    return piece_since(detok, before, ok, piece, piece_len, err);
}

pali_status pali_detok_finish(pali_detok *detok, const char **piece,
                              size_t *piece_len, pali_error *err)
{
    if (detok == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_detok_finish: NULL detokenizer");
    size_t before = detok->plain.text.len;
    bool ok = detok->finished || (stream_finish(detok->tok, &detok->plain) &&
                                  stream_finish(detok->tok, &detok->special));
    detok->finished = true;
    return piece_since(detok, before, ok, piece, piece_len, err);
}

const char *pali_detok_text(const pali_detok *detok, size_t *len)
{
    if (len)
        *len = detok ? detok->plain.text.len : 0;
    return detok && detok->plain.text.data ? detok->plain.text.data : "";
}

const char *pali_detok_text_with_special(const pali_detok *detok, size_t *len)
{
    if (len)
        *len = detok ? detok->special.text.len : 0;
    return detok && detok->special.text.data ? detok->special.text.data : "";
}
