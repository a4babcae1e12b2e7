/* json-value.h — typed reads of JSON values with error messages that name
 * the file and the key and show what was found instead, e.g.
 * `config.json: text_config.hidden_size: expected a positive integer, got
 * "big"`.  Shared by the config and safetensors readers. */
#ifndef PALI_JSON_VALUE_H
#define PALI_JSON_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "pali.h"

/* Writes a short description of `v` for messages: a string quoted (cut
 * after a few dozen bytes, control bytes escaped), a number as written
 * back, true/false/null, "an array", "an object", "nothing" for NULL. */
void pali_json_describe(const pali_json *v, char *buf, size_t size);

/* An integer (no fraction or exponent) in [min, max].  Fails with
 * PALI_ERR_FORMAT: "FILE: KEY: expected …, got …". */
pali_status pali_json_read_int(const pali_json *v, const char *file,
                               const char *key, int64_t min, int64_t max,
                               int64_t *out, pali_error *err);
/* A number in [min, max] (min_exclusive: > min). */
pali_status pali_json_read_number(const pali_json *v, const char *file,
                                  const char *key, double min,
                                  bool min_exclusive, double max, double *out,
                                  pali_error *err);
pali_status pali_json_read_bool(const pali_json *v, const char *file,
                                const char *key, bool *out, pali_error *err);
/* A string; *out is borrowed from the document.  Strings holding U+0000
 * are refused (they cannot be C strings). */
pali_status pali_json_read_string(const pali_json *v, const char *file,
                                  const char *key, const char **out,
                                  pali_error *err);

/* "FILE: KEY: expected WHAT, got …" (PALI_ERR_FORMAT). */
pali_status pali_json_type_error(const pali_json *v, const char *file,
                                 const char *key, const char *what,
                                 pali_error *err);

/* Keys of one JSON object read with defaults: an absent key (or a NULL
 * object) gives `def`; a present one must have the right type.  Messages
 * say "PATH: PREFIXkey: …". */
typedef struct pali_json_reader {
    const char *path;
    const char *prefix; /* "", "text_config.", … */
    pali_error *err;
} pali_json_reader;

/* PREFIXkey into buf. */
void pali_json_full_key(const pali_json_reader *r, const char *key, char *buf,
                        size_t size);
pali_status pali_json_get_int(const pali_json_reader *r, const pali_json *obj,
                              const char *key, int64_t def, int64_t min,
                              int64_t max, int *out);
/* A number > 0 and ≤ max; `nullable`: null reads as 0 ("not applied"). */
pali_status pali_json_get_positive(const pali_json_reader *r,
                                   const pali_json *obj, const char *key,
                                   double def, double max, bool nullable,
                                   double *out);
pali_status pali_json_get_bool(const pali_json_reader *r, const pali_json *obj,
                               const char *key, bool def, bool *out);
pali_status pali_json_get_string(const pali_json_reader *r,
                                 const pali_json *obj, const char *key,
                                 const char *def, const char **out);

#endif /* PALI_JSON_VALUE_H */
