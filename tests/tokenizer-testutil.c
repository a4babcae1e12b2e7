/* tokenizer-testutil.c — see tokenizer-testutil.h. */
#include "tokenizer-testutil.h"

#include <string.h>

#include "testutil.h"
#include "tokenizer.h"

/* Messages show at most this many bytes of a string. */
#define SHOW_MAX_BYTES 80
/* Ids shown on each side of the first difference. */
#define DIFF_CONTEXT 4

void tok_jsonl_read(const char *relative, TokJsonl *out)
{
    g_autofree char *path = test_data_path(relative);
    g_autoptr(GBytes) bytes = test_read_file(path);
    gsize size = 0;
    const char *data = g_bytes_get_data(bytes, &size);
    GPtrArray *docs = g_ptr_array_new();
    size_t line = 0;
    for (const char *p = data, *end = data + size; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        line++;
        if (stop > p) {
            pali_json_doc *doc = NULL;
            pali_error err = { 0 };
            g_autofree char *what = g_strdup_printf("%s:%zu", path, line);
            if (pali_json_parse(p, (size_t)(stop - p), what, &doc, &err))
                g_error("%s", err.message);
            g_ptr_array_add(docs, doc);
        }
        p = stop + 1;
    }
    out->len = docs->len;
    out->docs = (pali_json_doc **)g_ptr_array_free(docs, FALSE);
}

void tok_jsonl_clear(TokJsonl *l)
{
    for (size_t i = 0; i < l->len; i++)
        pali_json_free(l->docs[i]);
    g_free(l->docs);
    l->docs = NULL;
    l->len = 0;
}

const pali_json *tok_jsonl_row(const TokJsonl *l, size_t i)
{
    return pali_json_root(l->docs[i]);
}

int32_t *tok_json_ids(const pali_json *array, size_t *n)
{
    g_assert_true(pali_json_is(array, PALI_JSON_ARRAY));
    int32_t *ids = g_new(int32_t, array->len + 1);
    for (uint32_t i = 0; i < array->len; i++) {
        g_assert_true(array->u.items[i].is_integer);
        ids[i] = (int32_t)array->u.items[i].integer;
    }
    *n = array->len;
    return ids;
}

static void show_ids(GString *s, const int32_t *ids, size_t n, size_t at)
{
    size_t lo = at > DIFF_CONTEXT ? at - DIFF_CONTEXT : 0;
    g_string_append_printf(s, "[%s", lo ? "… " : "");
    for (size_t i = lo; i < n && i < at + DIFF_CONTEXT; i++)
        g_string_append_printf(s, "%s%s%d", i > lo ? ", " : "",
                               i == at ? ">" : "", ids[i]);
    g_string_append_printf(s, "%s] (%zu ids)",
                           at + DIFF_CONTEXT < n ? " …" : "", n);
}

gboolean tok_ids_equal(const char *what, const int32_t *got, size_t n_got,
                       const int32_t *want, size_t n_want)
{
    size_t at = 0;
    while (at < n_got && at < n_want && got[at] == want[at])
        at++;
    if (at == n_got && at == n_want)
        return TRUE;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s: ids differ at %zu\n  got  ", what, at);
    show_ids(s, got, n_got, at);
    g_string_append(s, "\n  want ");
    show_ids(s, want, n_want, at);
    g_test_message("%s", s->str);
    g_string_free(s, TRUE);
    return FALSE;
}

pali_tokenizer *tok_load_data(const char *relative)
{
    g_autofree char *path = test_data_path(relative);
    pali_tokenizer *tok = NULL;
    pali_error err = { 0 };
    if (pali_tokenizer_load(path, &tok, &err) != PALI_OK)
        g_error("%s", err.message);
    return tok;
}

char *tok_show(const char *s, size_t n)
{
    GString *out = g_string_new("\"");
    for (size_t i = 0; i < n && i < SHOW_MAX_BYTES; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            g_string_append(out, "\\n");
        else if (c < 0x20 || c == 0x7f)
            g_string_append_printf(out, "\\x%02x", c);
        else
            g_string_append_c(out, (char)c);
    }
    g_string_append(out, n > SHOW_MAX_BYTES ? "\"…" : "\"");
    return g_string_free(out, FALSE);
}

gboolean tok_text_equals(const char *what, const char *got, size_t len,
                         const pali_json *want)
{
    if (len == want->len && memcmp(got, want->u.string, len) == 0)
        return TRUE;
    g_autofree char *a = tok_show(got, len);
    g_autofree char *b = tok_show(want->u.string, want->len);
    g_test_message("%s: got %s, want %s", what, a, b);
    return FALSE;
}

gboolean tok_decode_equals(const pali_tokenizer *tok, const char *what,
                           const int32_t *ids, size_t n, bool skip,
                           const pali_json *want)
{
    char *text = NULL;
    size_t len = 0;
    g_assert_cmpint(pali_tokenizer_decode(tok, ids, n, skip, &text, &len, NULL),
                    ==, PALI_OK);
    gboolean ok = tok_text_equals(what, text, len, want);
    pali_free(text);
    return ok;
}

/* Streams ids through a detokenizer; checks pieces and both texts. */
gboolean tok_stream_equals(const pali_tokenizer *tok, const char *what,
                           const int32_t *ids, size_t n,
                           const pali_json *want_skip,
                           const pali_json *want_keep)
{
    pali_detok *d = NULL;
    g_assert_cmpint(pali_detok_new(tok, &d, NULL), ==, PALI_OK);
    GString *pieces = g_string_new(NULL);
    const char *piece;
    size_t len;
    for (size_t i = 0; i < n; i++) {
        g_assert_cmpint(pali_detok_push(d, ids[i], &piece, &len, NULL), ==,
                        PALI_OK);
        g_string_append_len(pieces, piece, (gssize)len);
    }
    g_assert_cmpint(pali_detok_finish(d, &piece, &len, NULL), ==, PALI_OK);
    g_string_append_len(pieces, piece, (gssize)len);
    g_autofree char *w1 = g_strdup_printf("%s (stream pieces)", what);
    g_autofree char *w2 = g_strdup_printf("%s (stream with specials)", what);
    size_t keep_len;
    const char *keep = pali_detok_text_with_special(d, &keep_len);
    gboolean ok = tok_text_equals(w1, pieces->str, pieces->len, want_skip) &&
                  tok_text_equals(w2, keep, keep_len, want_keep);
    g_string_free(pieces, TRUE);
    pali_detok_free(d);
    return ok;
}
