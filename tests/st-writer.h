/* st-writer.h — test helper: writes safetensors files and model
 * directories (copies of the golden ones with edits), so the loader tests
 * can build every corrupt or unusual checkpoint they need in a temp dir. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "tensor.h"

typedef struct StWriter StWriter;

StWriter *stw_new(void);
void stw_free(StWriter *w);

/* Adds a tensor; `data` (nbytes) is borrowed until stw_write. */
void stw_add(StWriter *w, const char *name, const char *dtype, int n_dims,
             const int64_t *shape, const void *data, size_t nbytes);
/* Adds an engine tensor view under `name` (NULL: its own name). */
void stw_add_tensor(StWriter *w, const pali_tensor *t, const char *name);
/* Drops the tensor called `name`; returns whether there was one. */
gboolean stw_remove(StWriter *w, const char *name);
guint stw_count(StWriter *w);
const char *stw_name(StWriter *w, guint i);

/* Writes the tensors in insertion order with consecutive offsets and the
 * header padded to 8 bytes.  `metadata_json` (e.g. {"format":"pt"}) may be
 * NULL.  Aborts the test on I/O errors. */
void stw_write(StWriter *w, const char *path, const char *metadata_json);

/* Writes tensors [first, first + n) only. */
void stw_write_range(StWriter *w, const char *path, guint first, guint n);

/* Writes raw bytes to a file (aborts the test on error). */
void test_write_bytes(const char *path, const void *data, size_t len);
/* A safetensors file made of an explicit header and `data_len` zero bytes
 * (the header is written as given, after its length). */
void test_write_raw_safetensors(const char *path, const char *header,
                                size_t data_len);

/* Copies a model directory's JSON files (config, processor, generation,
 * tokenizer) from `src` into a new directory `dst`; weights are not
 * copied. */
void test_copy_model_configs(const char *src, const char *dst);
/* Rewrites `dir/file` (a JSON text) replacing the first occurrence of
 * `from` with `to`; fails the test when `from` is absent. */
void test_edit_file(const char *dir, const char *file, const char *from,
                    const char *to);
