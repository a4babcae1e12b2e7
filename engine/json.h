/* json.h — a small, strict JSON (RFC 8259) reader for config.json,
 * tokenizer.json and safetensors headers.
 *
 * The whole document is parsed into one arena; values point into it and
 * live until pali_json_free().  Strings are unescaped, validated UTF-8 and
 * NUL-terminated, with their byte length kept (they may contain U+0000).
 * Objects keep their members in file order; duplicate keys are kept too, so
 * a caller that cares can detect them. */
#ifndef PALI_JSON_H
#define PALI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pali.h"

typedef enum pali_json_type {
    PALI_JSON_NULL,
    PALI_JSON_FALSE,
    PALI_JSON_TRUE,
    PALI_JSON_NUMBER,
    PALI_JSON_STRING,
    PALI_JSON_ARRAY,
    PALI_JSON_OBJECT,
} pali_json_type;

typedef struct pali_json pali_json;

struct pali_json {
    pali_json_type type;
    bool is_integer; /* NUMBER written without fraction or exponent, fits */
    uint32_t len;    /* STRING: bytes; ARRAY: items; OBJECT: members */
    union {
        double number;
        const char *string;
        pali_json *items;   /* ARRAY: len values */
        pali_json *members; /* OBJECT: 2·len values, key then value */
    } u;
    int64_t integer; /* valid when is_integer */
};

typedef struct pali_json_doc pali_json_doc;

/* Parses `len` bytes.  `what` names the source in error messages (a file
 * name).  Errors give the byte offset, line and column. */
pali_status pali_json_parse(const char *text, size_t len, const char *what,
                            pali_json_doc **out, pali_error *err);
void pali_json_free(pali_json_doc *doc);
const pali_json *pali_json_root(const pali_json_doc *doc);

/* Reads a whole file and parses it (files above max_bytes are refused). */
pali_status pali_json_parse_file(const char *path, size_t max_bytes,
                                 pali_json_doc **out, pali_error *err);

/* The last member named `key` of an object, or NULL (also for non-objects). */
const pali_json *pali_json_get(const pali_json *object, const char *key);
/* Member i of an object: key (a STRING value) and value. */
const pali_json *pali_json_key_at(const pali_json *object, uint32_t i);
const pali_json *pali_json_value_at(const pali_json *object, uint32_t i);

static inline bool pali_json_is(const pali_json *v, pali_json_type t)
{
    return v != NULL && v->type == t;
}

#endif /* PALI_JSON_H */
