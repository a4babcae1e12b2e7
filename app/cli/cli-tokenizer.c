/* cli-tokenizer.c — palilens-cli's tokenizer mode:
 *
 *   palilens-cli --tokenizer FILE --encode-jsonl IN.jsonl
 *       For each line of IN.jsonl (a JSON object with a string "text";
 *       "-" reads stdin) prints one line {"ids": [...], "decoded": "...",
 *       "decoded_skip_special": "..."}: the encoding without special
 *       tokens and its two decodings, as Hugging Face tokenizers'
 *       encode(add_special_tokens=False) / decode(skip_special_tokens).
 *   palilens-cli --tokenizer FILE --decode 5,17,2 [--json]
 *       Prints the decoded text (special tokens kept), or with --json one
 *       object {"text": ..., "text_skip_special": ...}.
 *
 * --model DIR stands for --tokenizer DIR/tokenizer.json.  A bad line or id
 * stops with a message naming it (exit 1); bad usage exits 2.  Strings may
 * hold U+0000, so lengths are kept explicit throughout. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lens-json.h"

/* Deepest JSON nesting accepted in an input line. */
#define JSONL_MAX_DEPTH 64

/* ---- a strict reader for one JSON line ----------------------------------- */

typedef struct {
    const char *p, *end, *start;
    const char *error; /* set on the first error */
} LineReader;

static gboolean reader_fail(LineReader *r, const char *error)
{
    if (r->error == NULL)
        r->error = error;
    return FALSE;
}

static void skip_ws(LineReader *r)
{
    while (r->p < r->end &&
           (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n'))
        r->p++;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Reads a string at r->p (on its quote); appends its value to out when
 * out is not NULL. */
static gboolean read_string(LineReader *r, GString *out)
{
    r->p++;
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p;
        if (c < 0x20)
            return reader_fail(r, "control character in a string");
        if (c != '\\') {
            if (out)
                g_string_append_c(out, (char)c);
            r->p++;
            continue;
        }
        if (r->end - r->p < 2)
            return reader_fail(r, "unterminated escape");
        char e = r->p[1];
        r->p += 2;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != 0 && simple != NULL) {
            static const char values[] = "\"\\/\b\f\n\r\t";
            if (out)
                g_string_append_c(out, values[simple - "\"\\/bfnrt"]);
            continue;
        }
        if (e != 'u' || r->end - r->p < 4)
            return reader_fail(r, "bad escape");
        int cp = hex4(r->p);
        r->p += 4;
        if (cp < 0)
            return reader_fail(r, "bad \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return reader_fail(r, "lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
                return reader_fail(r, "high surrogate without a low one");
            int lo = hex4(r->p + 2);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return reader_fail(r, "high surrogate without a low one");
            r->p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (out)
            g_string_append_unichar(out, (gunichar)cp);
    }
    if (r->p >= r->end)
        return reader_fail(r, "unterminated string");
    r->p++;
    return TRUE;
}

static gboolean read_number(LineReader *r)
{
    const char *q = r->p;
    if (q < r->end && *q == '-')
        q++;
    if (q >= r->end || !g_ascii_isdigit(*q))
        return reader_fail(r, "bad number");
    if (*q == '0')
        q++;
    else
        while (q < r->end && g_ascii_isdigit(*q))
            q++;
    if (q < r->end && *q == '.') {
        if (++q >= r->end || !g_ascii_isdigit(*q))
            return reader_fail(r, "bad number");
        while (q < r->end && g_ascii_isdigit(*q))
            q++;
    }
    if (q < r->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < r->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= r->end || !g_ascii_isdigit(*q))
            return reader_fail(r, "bad number");
        while (q < r->end && g_ascii_isdigit(*q))
            q++;
    }
    r->p = q;
    return TRUE;
}

/* Reads (and checks) any value; at depth 0 an object whose "text" member
 * is stored in *text (the last one wins, as in most JSON readers). */
static gboolean read_value(LineReader *r, int depth, GString **text)
{
    if (depth > JSONL_MAX_DEPTH)
        return reader_fail(r, "nesting too deep");
    skip_ws(r);
    if (r->p >= r->end)
        return reader_fail(r, "value expected");
    char c = *r->p;
    if (c == '"')
        return read_string(r, NULL);
    if (c == '-' || g_ascii_isdigit(c))
        return read_number(r);
    static const char *const words[] = { "true", "false", "null" };
    for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(r->end - r->p) >= n && memcmp(r->p, words[i], n) == 0) {
            r->p += n;
            return TRUE;
        }
    }
    if (c != '[' && c != '{')
        return reader_fail(r, "unexpected character");
    char close = c == '[' ? ']' : '}';
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return TRUE;
    }
    for (;;) {
        if (close == '}') {
            skip_ws(r);
            if (r->p >= r->end || *r->p != '"')
                return reader_fail(r, "object key expected");
            GString *key = g_string_new(NULL);
            gboolean ok = read_string(r, key);
            gboolean is_text = ok && depth == 0 && key->len == 4 &&
                               memcmp(key->str, "text", 4) == 0;
            g_string_free(key, TRUE);
            if (!ok)
                return FALSE;
            skip_ws(r);
            if (r->p >= r->end || *r->p != ':')
                return reader_fail(r, "':' expected");
            r->p++;
            skip_ws(r);
            if (is_text && r->p < r->end && *r->p == '"') {
                if (*text != NULL)
                    g_string_free(*text, TRUE);
                *text = g_string_new(NULL);
                if (!read_string(r, *text))
                    return FALSE;
            } else if (is_text) {
                return reader_fail(r, "\"text\" is not a string");
            } else if (!read_value(r, depth + 1, text)) {
                return FALSE;
            }
        } else if (!read_value(r, depth + 1, text)) {
            return FALSE;
        }
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return TRUE;
        }
        return reader_fail(r, close == '}' ? "',' or '}' expected"
                                           : "',' or ']' expected");
    }
}

/* The "text" of one line, or NULL with *error set. */
static GString *line_text(const char *line, size_t len, const char **error,
                          size_t *column)
{
    LineReader r = { .p = line, .end = line + len, .start = line };
    GString *text = NULL;
    const char *bad_utf8 = NULL;
    if (!g_utf8_validate_len(line, len, &bad_utf8)) {
        *error = "not valid UTF-8 (or a NUL byte)";
        *column = (size_t)(bad_utf8 - line) + 1;
        return NULL;
    }
    skip_ws(&r);
    if (r.p >= r.end) {
        *error = "empty line";
        *column = 1;
        return NULL;
    }
    if (*r.p != '{')
        reader_fail(&r, "not a JSON object");
    else if (read_value(&r, 0, &text)) {
        skip_ws(&r);
        if (r.p != r.end)
            reader_fail(&r, "trailing characters after the object");
        else if (text == NULL)
            reader_fail(&r, "no \"text\" member");
    }
    if (r.error != NULL) {
        if (text != NULL)
            g_string_free(text, TRUE);
        *error = r.error;
        *column = (size_t)(r.p - r.start) + 1;
        return NULL;
    }
    return text;
}

/* ---- output -------------------------------------------------------------- */

static gboolean decode_both(const pali_tokenizer *tok, const int32_t *ids,
                            size_t n, char **keep, size_t *keep_len,
                            char **skip, size_t *skip_len, pali_error *err)
{
    *keep = *skip = NULL;
    if (pali_tokenizer_decode(tok, ids, n, false, keep, keep_len, err) !=
            PALI_OK ||
        pali_tokenizer_decode(tok, ids, n, true, skip, skip_len, err) !=
            PALI_OK) {
        pali_free(*keep);
        *keep = NULL;
        return FALSE;
    }
    return TRUE;
}

static void print_json(LensJson *json)
{
    g_autofree char *s = lens_json_free_to_string(json);
    fputs(s, stdout);
    fputc('\n', stdout);
}

/* The whole input: a file, or stdin for "-". */
static char *read_input(const char *path, gsize *size, GError **error)
{
    char *data = NULL;
    if (strcmp(path, "-") != 0)
        return g_file_get_contents(path, &data, size, error) ? data : NULL;
    GString *in = g_string_new(NULL);
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), stdin)) > 0)
        g_string_append_len(in, buf, (gssize)got);
    *size = in->len;
    return g_string_free(in, FALSE);
}

static int encode_jsonl(const pali_tokenizer *tok, const char *path)
{
    gsize size = 0;
    g_autoptr(GError) error = NULL;
    g_autofree char *data = read_input(path, &size, &error);
    if (data == NULL)
        return cli_fail("%s", error->message);
    size_t line_no = 0;
    for (const char *p = data, *end = data + size; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        line_no++;
        const char *reason = NULL;
        size_t column = 0;
        GString *text = line_text(p, (size_t)(stop - p), &reason, &column);
        if (text == NULL)
            return cli_fail("%s:%zu:%zu: %s", path, line_no, column, reason);
        int32_t *ids = NULL;
        size_t n = 0;
        char *keep = NULL, *skip = NULL;
        size_t keep_len = 0, skip_len = 0;
        pali_error err = { 0 };
        if (pali_tokenizer_encode(tok, text->str, text->len, &ids, &n, &err) !=
                PALI_OK ||
            !decode_both(tok, ids, n, &keep, &keep_len, &skip, &skip_len,
                         &err)) {
            g_string_free(text, TRUE);
            pali_free(ids);
            return cli_fail("%s:%zu: %s", path, line_no, err.message);
        }
        LensJson *json = lens_json_new(FALSE);
        lens_json_begin_object(json);
        lens_json_key(json, "ids");
        lens_json_begin_array(json);
        for (size_t i = 0; i < n; i++)
            lens_json_int(json, ids[i]);
        lens_json_end_array(json);
        lens_json_key(json, "decoded");
        lens_json_string_len(json, keep, (gssize)keep_len);
        lens_json_key(json, "decoded_skip_special");
        lens_json_string_len(json, skip, (gssize)skip_len);
        lens_json_end_object(json);
        print_json(json);
        g_string_free(text, TRUE);
        pali_free(ids);
        pali_free(keep);
        pali_free(skip);
        p = stop + 1;
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_fail("cannot write output");
}

/* "5,17,2" → ids (g_free; "" is no ids); FALSE with a message for
 * anything else. */
static gboolean parse_ids(const char *list, int32_t **out, size_t *n,
                          char **message)
{
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    g_auto(GStrv) items = g_strsplit(list, ",", -1);
    gboolean empty_list = list[strspn(list, " ")] == 0;
    for (size_t i = 0; !empty_list && items[i] != NULL; i++) {
        const char *s = items[i];
        while (*s == ' ')
            s++;
        size_t len = strlen(s);
        while (len > 0 && s[len - 1] == ' ')
            len--;
        gint64 v = 0;
        size_t k = 0;
        while (k < len && g_ascii_isdigit(s[k]) && v <= G_MAXINT32)
            v = v * 10 + (s[k++] - '0');
        if (len == 0 || k != len || v > G_MAXINT32) {
            *message = g_strdup_printf("--decode: item %zu (\"%s\") is not an "
                                       "id (0..%d)",
                                       i + 1, items[i], G_MAXINT32);
            g_array_free(ids, TRUE);
            return FALSE;
        }
        int32_t id = (int32_t)v;
        g_array_append_val(ids, id);
    }
    *n = ids->len;
    *out = (int32_t *)g_array_free(ids, FALSE);
    return TRUE;
}

static int decode_ids(const pali_tokenizer *tok, const char *list,
                      gboolean as_json)
{
    size_t n = 0;
    g_autofree char *message = NULL;
    g_autofree int32_t *ids = NULL;
    if (!parse_ids(list, &ids, &n, &message))
        return cli_fail("%s", message);
    char *keep = NULL, *skip = NULL;
    size_t keep_len = 0, skip_len = 0;
    pali_error err = { 0 };
    if (!decode_both(tok, ids, n, &keep, &keep_len, &skip, &skip_len, &err))
        return cli_fail_engine(&err);
    if (as_json) {
        LensJson *json = lens_json_new(FALSE);
        lens_json_begin_object(json);
        lens_json_key(json, "text");
        lens_json_string_len(json, keep, (gssize)keep_len);
        lens_json_key(json, "text_skip_special");
        lens_json_string_len(json, skip, (gssize)skip_len);
        lens_json_end_object(json);
        print_json(json);
    } else {
        fwrite(keep, 1, keep_len, stdout);
        fputc('\n', stdout);
    }
    pali_free(keep);
    pali_free(skip);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_fail("cannot write output");
}

int cli_tokenizer(const CliOptions *opt)
{
    if ((opt->encode_jsonl != NULL) == (opt->decode != NULL))
        return cli_usage("the tokenizer mode needs exactly one of "
                         "--encode-jsonl IN.jsonl or --decode IDS");
    if (opt->tokenizer == NULL && opt->model == NULL)
        return cli_usage("%s needs --tokenizer FILE (or --model DIR)",
                         opt->decode ? "--decode" : "--encode-jsonl");
    const char *other = opt->image         ? "--image"
                        : opt->prompt      ? "--prompt"
                        : opt->task        ? "--task"
                        : opt->info        ? "--info"
                        : opt->parse       ? "--parse"
                        : opt->decode_mask ? "--decode-mask"
                        : opt->batch       ? "--batch"
                                           : NULL;
    if (other != NULL)
        return cli_usage("%s cannot be used with --encode-jsonl or --decode",
                         other);
    g_autofree char *path =
        opt->tokenizer ? g_strdup(opt->tokenizer)
                       : g_build_filename(opt->model, "tokenizer.json", NULL);
    pali_tokenizer *tok = NULL;
    pali_error err = { 0 };
    if (pali_tokenizer_load(path, &tok, &err) != PALI_OK)
        return cli_fail_engine(&err);
    int rc = opt->encode_jsonl ? encode_jsonl(tok, opt->encode_jsonl)
                               : decode_ids(tok, opt->decode, opt->json);
    pali_tokenizer_free(tok);
    return rc;
}
