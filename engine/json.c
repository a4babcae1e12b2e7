/* json.c — strict RFC 8259 JSON reader into a single arena.
 *
 * Recursive descent with a depth limit; every read is bounds-checked
 * against the input length (the input need not be NUL-terminated).  Strings
 * are checked to be valid UTF-8 (no surrogates, no overlongs) and \u escapes
 * are decoded, surrogate pairs included.  Containers are first collected on
 * a growing scratch stack and then copied into the arena, so every array or
 * object is one contiguous block. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Deeper nesting than this is refused (stack safety). */
#define JSON_MAX_DEPTH 256
/* Arena blocks start at about twice the input (values take 32 bytes, so
 * a small document fits one block) and double up to this size, large
 * enough that a 33 MB tokenizer.json needs few blocks. */
#define ARENA_BLOCK_BYTES     (4u << 20)
#define ARENA_MIN_BLOCK_BYTES 1024u

typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} arena_block;

struct pali_json_doc {
    arena_block *blocks;
    size_t next_block; /* size of the next block, bytes */
    pali_json root;
};

typedef struct parser {
    const unsigned char *p, *end, *start;
    const char *what;
    pali_json_doc *doc;
    pali_json *stack; /* scratch for container items */
    size_t stack_len, stack_cap;
    pali_error *err;
    pali_status status;
} parser;

static void *arena_alloc(pali_json_doc *doc, size_t size)
{
    size = (size + 15u) & ~(size_t)15u;
    arena_block *b = doc->blocks;
    if (b == NULL || b->size - b->used < size) {
        size_t cap = size > doc->next_block ? size : doc->next_block;
        arena_block *nb = malloc(sizeof(*nb) + cap);
        if (nb == NULL)
            return NULL;
        if (doc->next_block < ARENA_BLOCK_BYTES)
            doc->next_block *= 2;
        nb->used = 0;
        nb->size = cap;
        nb->next = b;
        doc->blocks = nb;
        b = nb;
    }
    void *ptr = b->data + b->used;
    b->used += size;
    return ptr;
}

static bool fail_at(parser *ps, pali_status status, const char *msg)
{
    if (ps->status != PALI_OK)
        return false;
    size_t off = (size_t)(ps->p - ps->start);
    size_t line = 1, col = 1;
    for (const unsigned char *q = ps->start; q < ps->p; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    ps->status = pali_fail(ps->err, status,
                           "%s: invalid JSON at byte %zu (line %zu, column "
                           "%zu): %s",
                           ps->what, off, line, col, msg);
    return false;
}

static bool oom(parser *ps)
{
    return fail_at(ps, PALI_ERR_OUT_OF_MEMORY, "out of memory");
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                               *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool push(parser *ps, const pali_json *v)
{
    if (ps->stack_len == ps->stack_cap) {
        size_t cap = ps->stack_cap ? ps->stack_cap * 2 : 256;
        pali_json *ns = pali_malloc_array(cap, sizeof(*ns));
        if (ns == NULL)
            return oom(ps);
        if (ps->stack_len)
            memcpy(ns, ps->stack, ps->stack_len * sizeof(*ns));
        free(ps->stack);
        ps->stack = ns;
        ps->stack_cap = cap;
    }
    ps->stack[ps->stack_len++] = *v;
    return true;
}

static bool parse_value(parser *ps, pali_json *out, int depth);

static int hex_digit(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

static bool read_hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4)
        return fail_at(ps, PALI_ERR_FORMAT, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(ps->p[i]);
        if (d < 0)
            return fail_at(ps, PALI_ERR_FORMAT, "bad hex digit in \\u escape");
        v = v * 16 + (unsigned)d;
    }
    ps->p += 4;
    *out = v;
    return true;
}

static size_t put_utf8(unsigned char *dst, unsigned cp)
{
    if (cp < 0x80) {
        dst[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (unsigned char)(0xC0 | (cp >> 6));
        dst[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (unsigned char)(0xE0 | (cp >> 12));
        dst[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (unsigned char)(0xF0 | (cp >> 18));
    dst[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at p (non-ASCII lead), or 0. */
static size_t utf8_seq_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static bool parse_string(parser *ps, pali_json *out)
{
    ps->p++; /* opening quote */
    /* First pass: find the end and check whether escapes occur. */
    const unsigned char *s = ps->p;
    bool has_escape = false;
    const unsigned char *q = s;
    while (q < ps->end && *q != '"') {
        if (*q == '\\') {
            has_escape = true;
            q++;
            if (q >= ps->end)
                break;
        }
        q++;
    }
    if (q >= ps->end)
        return fail_at(ps, PALI_ERR_FORMAT, "unterminated string");
    /* Decoded text is never longer than the raw text. */
    unsigned char *dst = arena_alloc(ps->doc, (size_t)(q - s) + 1);
    if (dst == NULL)
        return oom(ps);
    size_t n = 0;
    while (ps->p < q) {
        unsigned c = *ps->p;
        if (c < 0x20)
            return fail_at(ps, PALI_ERR_FORMAT,
                           "control character inside a string");
        if (c == '\\' && has_escape) {
            ps->p++;
            unsigned e = *ps->p++;
            switch (e) {
            case '"': dst[n++] = '"'; break;
            case '\\': dst[n++] = '\\'; break;
            case '/': dst[n++] = '/'; break;
            case 'b': dst[n++] = '\b'; break;
            case 'f': dst[n++] = '\f'; break;
            case 'n': dst[n++] = '\n'; break;
            case 'r': dst[n++] = '\r'; break;
            case 't': dst[n++] = '\t'; break;
            case 'u': {
                unsigned cp;
                if (!read_hex4(ps, &cp))
                    return false;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail_at(ps, PALI_ERR_FORMAT,
                                   "lone low surrogate in \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (q - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
                        return fail_at(ps, PALI_ERR_FORMAT,
                                       "high surrogate without a low one");
                    ps->p += 2;
                    if (!read_hex4(ps, &lo))
                        return false;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail_at(ps, PALI_ERR_FORMAT,
                                       "high surrogate without a low one");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                n += put_utf8(dst + n, cp);
                break;
            }
            default:
                ps->p--;
                return fail_at(ps, PALI_ERR_FORMAT, "unknown escape");
            }
        } else if (c < 0x80) {
            dst[n++] = (unsigned char)c;
            ps->p++;
        } else {
            size_t len = utf8_seq_len(ps->p, q);
            if (len == 0)
                return fail_at(ps, PALI_ERR_FORMAT,
                               "string is not valid UTF-8");
            memcpy(dst + n, ps->p, len);
            n += len;
            ps->p += len;
        }
    }
    ps->p = q + 1;
    dst[n] = 0;
    if (n > UINT32_MAX)
        return fail_at(ps, PALI_ERR_FORMAT, "string too long");
    out->type = PALI_JSON_STRING;
    out->is_integer = false;
    out->len = (uint32_t)n;
    out->u.string = (const char *)dst;
    return true;
}

static bool parse_number(parser *ps, pali_json *out)
{
    const unsigned char *s = ps->p, *q = ps->p;
    bool integral = true;
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end)
        return fail_at(ps, PALI_ERR_FORMAT, "truncated number");
    if (*q == '0') {
        q++;
    } else if (*q >= '1' && *q <= '9') {
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    } else {
        return fail_at(ps, PALI_ERR_FORMAT, "invalid number");
    }
    if (q < ps->end && *q == '.') {
        integral = false;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail_at(ps, PALI_ERR_FORMAT, "digit expected after '.'");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integral = false;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail_at(ps, PALI_ERR_FORMAT, "digit expected in exponent");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    char buf[128];
    size_t len = (size_t)(q - s);
    char *tmp = buf;
    if (len >= sizeof(buf)) {
        tmp = malloc(len + 1);
        if (tmp == NULL)
            return oom(ps);
    }
    memcpy(tmp, s, len);
    tmp[len] = 0;
    out->type = PALI_JSON_NUMBER;
    out->len = 0;
    errno = 0;
    out->u.number = strtod(tmp, NULL);
    out->is_integer = false;
    out->integer = 0;
    if (integral) {
        errno = 0;
        long long v = strtoll(tmp, NULL, 10);
        if (errno == 0) {
            out->is_integer = true;
            out->integer = v;
        }
    }
    if (tmp != buf)
        free(tmp);
    ps->p = q;
    return true;
}

static bool parse_literal(parser *ps, const char *word, pali_json_type type,
                          pali_json *out)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail_at(ps, PALI_ERR_FORMAT, "unexpected character");
    ps->p += n;
    memset(out, 0, sizeof(*out));
    out->type = type;
    return true;
}

/* Moves stack items [base, stack_len) into the arena. */
static bool collect(parser *ps, size_t base, pali_json **items)
{
    size_t count = ps->stack_len - base;
    *items = NULL;
    if (count) {
        *items = arena_alloc(ps->doc, count * sizeof(pali_json));
        if (*items == NULL)
            return oom(ps);
        memcpy(*items, ps->stack + base, count * sizeof(pali_json));
    }
    ps->stack_len = base;
    return true;
}

static bool parse_array(parser *ps, pali_json *out, int depth)
{
    size_t base = ps->stack_len;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
    } else {
        for (;;) {
            pali_json v;
            if (!parse_value(ps, &v, depth + 1) || !push(ps, &v))
                return false;
            skip_ws(ps);
            if (ps->p >= ps->end)
                return fail_at(ps, PALI_ERR_FORMAT, "unterminated array");
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == ']') {
                ps->p++;
                break;
            }
            return fail_at(ps, PALI_ERR_FORMAT, "',' or ']' expected");
        }
    }
    size_t count = ps->stack_len - base;
    if (count > UINT32_MAX)
        return fail_at(ps, PALI_ERR_FORMAT, "array too long");
    out->type = PALI_JSON_ARRAY;
    out->is_integer = false;
    out->len = (uint32_t)count;
    return collect(ps, base, &out->u.items);
}

static bool parse_object(parser *ps, pali_json *out, int depth)
{
    size_t base = ps->stack_len;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            pali_json k, v;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return fail_at(ps, PALI_ERR_FORMAT, "object key expected");
            if (!parse_string(ps, &k))
                return false;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return fail_at(ps, PALI_ERR_FORMAT, "':' expected");
            ps->p++;
            if (!parse_value(ps, &v, depth + 1))
                return false;
            if (!push(ps, &k) || !push(ps, &v))
                return false;
            skip_ws(ps);
            if (ps->p >= ps->end)
                return fail_at(ps, PALI_ERR_FORMAT, "unterminated object");
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == '}') {
                ps->p++;
                break;
            }
            return fail_at(ps, PALI_ERR_FORMAT, "',' or '}' expected");
        }
    }
    size_t count = (ps->stack_len - base) / 2;
    if (count > UINT32_MAX)
        return fail_at(ps, PALI_ERR_FORMAT, "object too large");
    out->type = PALI_JSON_OBJECT;
    out->is_integer = false;
    out->len = (uint32_t)count;
    return collect(ps, base, &out->u.members);
}

static bool parse_value(parser *ps, pali_json *out, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail_at(ps, PALI_ERR_FORMAT, "nesting too deep");
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail_at(ps, PALI_ERR_FORMAT, "unexpected end of input");
    switch (*ps->p) {
    case '{': return parse_object(ps, out, depth);
    case '[': return parse_array(ps, out, depth);
    case '"': return parse_string(ps, out);
    case 't': return parse_literal(ps, "true", PALI_JSON_TRUE, out);
    case 'f': return parse_literal(ps, "false", PALI_JSON_FALSE, out);
    case 'n': return parse_literal(ps, "null", PALI_JSON_NULL, out);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps, out);
        return fail_at(ps, PALI_ERR_FORMAT, "unexpected character");
    }
}

pali_status pali_json_parse(const char *text, size_t len, const char *what,
                            pali_json_doc **out, pali_error *err)
{
    *out = NULL;
    if (text == NULL && len > 0)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT, "no JSON text");
    pali_json_doc *doc = calloc(1, sizeof(*doc));
    if (doc == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    doc->next_block = len < ARENA_BLOCK_BYTES / 2 ? 2 * len : ARENA_BLOCK_BYTES;
    if (doc->next_block < ARENA_MIN_BLOCK_BYTES)
        doc->next_block = ARENA_MIN_BLOCK_BYTES;
    static const unsigned char empty[1];
    const unsigned char *start = text ? (const unsigned char *)text : empty;
    parser ps = {
        .p = start,
        .end = start + len,
        .start = start,
        .what = what ? what : "JSON",
        .doc = doc,
        .err = err,
        .status = PALI_OK,
    };
    if (parse_value(&ps, &doc->root, 0)) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            fail_at(&ps, PALI_ERR_FORMAT, "trailing characters after JSON");
    }
    free(ps.stack);
    if (ps.status != PALI_OK) {
        pali_json_free(doc);
        return ps.status;
    }
    *out = doc;
    return PALI_OK;
}

void pali_json_free(pali_json_doc *doc)
{
    if (doc == NULL)
        return;
    arena_block *b = doc->blocks;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(doc);
}

const pali_json *pali_json_root(const pali_json_doc *doc)
{
    return doc ? &doc->root : NULL;
}

pali_status pali_json_parse_file(const char *path, size_t max_bytes,
                                 pali_json_doc **out, pali_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return pali_fail(err,
                         errno == ENOENT ? PALI_ERR_NOT_FOUND : PALI_ERR_IO,
                         "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return pali_fail(err, PALI_ERR_IO, "%s: cannot seek", path);
    }
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return pali_fail(err, PALI_ERR_IO, "%s: cannot read its size", path);
    }
    if ((unsigned long)size > max_bytes) {
        fclose(f);
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: %ld bytes, more than the %zu accepted", path,
                         size, max_bytes);
    }
    char *buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        fclose(f);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         path);
    }
    size_t got = fread(buf, 1, (size_t)size, f);
    int read_error = ferror(f);
    fclose(f);
    if (got != (size_t)size || read_error) {
        free(buf);
        return pali_fail(err, PALI_ERR_IO, "%s: read error", path);
    }
    pali_status st = pali_json_parse(buf, (size_t)size, path, out, err);
    free(buf);
    return st;
}

const pali_json *pali_json_get(const pali_json *object, const char *key)
{
    if (!pali_json_is(object, PALI_JSON_OBJECT) || key == NULL)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = object->len; i-- > 0;) {
        const pali_json *k = &object->u.members[2 * i];
        if (k->len == klen && memcmp(k->u.string, key, klen) == 0)
            return &object->u.members[2 * i + 1];
    }
    return NULL;
}

const pali_json *pali_json_key_at(const pali_json *object, uint32_t i)
{
    if (!pali_json_is(object, PALI_JSON_OBJECT) || i >= object->len)
        return NULL;
    return &object->u.members[2 * i];
}

const pali_json *pali_json_value_at(const pali_json *object, uint32_t i)
{
    if (!pali_json_is(object, PALI_JSON_OBJECT) || i >= object->len)
        return NULL;
    return &object->u.members[2 * i + 1];
}
