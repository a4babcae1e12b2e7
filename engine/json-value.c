/* json-value.c — typed reads of JSON values with messages naming the file,
 * the key and the offending value (see json-value.h). */
#include "json-value.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Strings shown in messages are cut after this many bytes. */
#define DESCRIBE_STRING_MAX 40

void pali_json_describe(const pali_json *v, char *buf, size_t size)
{
    if (size == 0)
        return;
    if (v == NULL) {
        snprintf(buf, size, "nothing");
        return;
    }
    switch (v->type) {
    case PALI_JSON_NULL: snprintf(buf, size, "null"); return;
    case PALI_JSON_FALSE: snprintf(buf, size, "false"); return;
    case PALI_JSON_TRUE: snprintf(buf, size, "true"); return;
    case PALI_JSON_ARRAY: snprintf(buf, size, "an array"); return;
    case PALI_JSON_OBJECT: snprintf(buf, size, "an object"); return;
    case PALI_JSON_NUMBER:
        if (v->is_integer)
            snprintf(buf, size, "%" PRId64, v->integer);
        else
            snprintf(buf, size, "%.17g", v->u.number);
        return;
    case PALI_JSON_STRING: break;
    }
    /* a quoted, shortened string; bytes below 0x20 and '"' escaped, and a
     * cut never splits a UTF-8 sequence */
    size_t o = 0;
    buf[o++] = '"';
    const unsigned char *s = (const unsigned char *)v->u.string;
    uint32_t i = 0;
    for (; i < v->len; i++) {
        if (i >= DESCRIBE_STRING_MAX && (s[i] & 0xc0) != 0x80)
            break;
        char tmp[8];
        size_t n;
        if (s[i] < 0x20 || s[i] == '"' || s[i] == '\\') {
            n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
        } else {
            tmp[0] = (char)s[i];
            n = 1;
        }
        if (o + n + 5 >= size)
            break;
        memcpy(buf + o, tmp, n);
        o += n;
    }
    if (i < v->len && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    if (o + 1 < size)
        buf[o++] = '"';
    buf[o < size ? o : size - 1] = 0;
}

pali_status pali_json_type_error(const pali_json *v, const char *file,
                                 const char *key, const char *what,
                                 pali_error *err)
{
    char got[96];
    pali_json_describe(v, got, sizeof(got));
    return pali_fail(err, PALI_ERR_FORMAT, "%s: %s: expected %s, got %s", file,
                     key, what, got);
}

pali_status pali_json_read_int(const pali_json *v, const char *file,
                               const char *key, int64_t min, int64_t max,
                               int64_t *out, pali_error *err)
{
    char what[96];
    if (min == 1)
        snprintf(what, sizeof(what), "a positive integer");
    else if (min == 0)
        snprintf(what, sizeof(what), "a non-negative integer");
    else
        snprintf(what, sizeof(what), "an integer");
    if (!pali_json_is(v, PALI_JSON_NUMBER) || !v->is_integer)
        return pali_json_type_error(v, file, key, what, err);
    if (v->integer < min || v->integer > max) {
        size_t n = strlen(what);
        if (min == 0 || min == 1)
            snprintf(what + n, sizeof(what) - n, " up to %" PRId64, max);
        else
            snprintf(what + n, sizeof(what) - n,
                     " from %" PRId64 " to %" PRId64, min, max);
        return pali_json_type_error(v, file, key, what, err);
    }
    *out = v->integer;
    return PALI_OK;
}

pali_status pali_json_read_number(const pali_json *v, const char *file,
                                  const char *key, double min,
                                  bool min_exclusive, double max, double *out,
                                  pali_error *err)
{
    if (!pali_json_is(v, PALI_JSON_NUMBER) || !isfinite(v->u.number))
        return pali_json_type_error(v, file, key, "a number", err);
    double x = v->u.number;
    if ((min_exclusive ? x <= min : x < min) || x > max) {
        char what[96];
        snprintf(what, sizeof(what), "a number %s %g and at most %g",
                 min_exclusive ? "above" : "from", min, max);
        return pali_json_type_error(v, file, key, what, err);
    }
    *out = x;
    return PALI_OK;
}

pali_status pali_json_read_bool(const pali_json *v, const char *file,
                                const char *key, bool *out, pali_error *err)
{
    if (pali_json_is(v, PALI_JSON_TRUE) || pali_json_is(v, PALI_JSON_FALSE)) {
        *out = v->type == PALI_JSON_TRUE;
        return PALI_OK;
    }
    return pali_json_type_error(v, file, key, "true or false", err);
}

pali_status pali_json_read_string(const pali_json *v, const char *file,
                                  const char *key, const char **out,
                                  pali_error *err)
{
    if (!pali_json_is(v, PALI_JSON_STRING))
        return pali_json_type_error(v, file, key, "a string", err);
    if (strlen(v->u.string) != v->len)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: %s: the string contains U+0000", file, key);
    *out = v->u.string;
    return PALI_OK;
}

void pali_json_full_key(const pali_json_reader *r, const char *key, char *buf,
                        size_t size)
{
    snprintf(buf, size, "%s%s", r->prefix, key);
}

pali_status pali_json_get_int(const pali_json_reader *r, const pali_json *obj,
                              const char *key, int64_t def, int64_t min,
                              int64_t max, int *out)
{
    const pali_json *v = pali_json_get(obj, key);
    if (v == NULL) {
        *out = (int)def;
        return PALI_OK;
    }
    char k[160];
    pali_json_full_key(r, key, k, sizeof(k));
    int64_t x = 0;
    pali_status s = pali_json_read_int(v, r->path, k, min, max, &x, r->err);
    if (s == PALI_OK)
        *out = (int)x;
    return s;
}

pali_status pali_json_get_positive(const pali_json_reader *r,
                                   const pali_json *obj, const char *key,
                                   double def, double max, bool nullable,
                                   double *out)
{
    const pali_json *v = pali_json_get(obj, key);
    if (v == NULL) {
        *out = def;
        return PALI_OK;
    }
    if (nullable && v->type == PALI_JSON_NULL) {
        *out = 0;
        return PALI_OK;
    }
    char k[160];
    pali_json_full_key(r, key, k, sizeof(k));
    return pali_json_read_number(v, r->path, k, 0, true, max, out, r->err);
}

pali_status pali_json_get_bool(const pali_json_reader *r, const pali_json *obj,
                               const char *key, bool def, bool *out)
{
    const pali_json *v = pali_json_get(obj, key);
    if (v == NULL) {
        *out = def;
        return PALI_OK;
    }
    char k[160];
    pali_json_full_key(r, key, k, sizeof(k));
    return pali_json_read_bool(v, r->path, k, out, r->err);
}

pali_status pali_json_get_string(const pali_json_reader *r,
                                 const pali_json *obj, const char *key,
                                 const char *def, const char **out)
{
    const pali_json *v = pali_json_get(obj, key);
    if (v == NULL) {
        *out = def;
        return PALI_OK;
    }
    char k[160];
    pali_json_full_key(r, key, k, sizeof(k));
    return pali_json_read_string(v, r->path, k, out, r->err);
}
