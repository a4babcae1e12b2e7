/* tokenizer-testutil.h — helpers shared by the tokenizer tests: JSON Lines
 * files read with the engine's JSON reader, id-array comparison with a
 * readable diff, a tokenizer loaded once per test program. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "json.h"
#include "pali.h"

/* One parsed JSON document per non-empty line of a file. */
typedef struct {
    pali_json_doc **docs;
    size_t len;
} TokJsonl;

/* Reads $PALI_TEST_DATA/<relative>; fails the test on any error. */
void tok_jsonl_read(const char *relative, TokJsonl *out);
void tok_jsonl_clear(TokJsonl *l);
const pali_json *tok_jsonl_row(const TokJsonl *l, size_t i);

/* The integers of a JSON array as int32 (g_free). */
int32_t *tok_json_ids(const pali_json *array, size_t *n);

/* Compares id arrays; on a mismatch prints both around the first
 * difference with `what` and returns FALSE. */
gboolean tok_ids_equal(const char *what, const int32_t *got, size_t n_got,
                       const int32_t *want, size_t n_want);

/* Loads $PALI_TEST_DATA/<relative> (fails the test on error). */
pali_tokenizer *tok_load_data(const char *relative);

/* A printable, shortened form of a byte string for messages (g_free). */
char *tok_show(const char *s, size_t n);

/* Compares a decoded text with a JSON string; prints both on a mismatch. */
gboolean tok_text_equals(const char *what, const char *got, size_t len,
                         const pali_json *want);
/* pali_tokenizer_decode(ids, skip) equals want. */
gboolean tok_decode_equals(const pali_tokenizer *tok, const char *what,
                           const int32_t *ids, size_t n, bool skip,
                           const pali_json *want);
/* Streams ids through a detokenizer: the pieces equal want_skip and the
 * text with special tokens want_keep. */
gboolean tok_stream_equals(const pali_tokenizer *tok, const char *what,
                           const int32_t *ids, size_t n,
                           const pali_json *want_skip,
                           const pali_json *want_keep);
