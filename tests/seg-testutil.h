/* seg-testutil.h — helpers for the segmentation tests: safetensors tensors
 * of any dtype (the goldens hold I32 and U8 too), JSON goldens through the
 * engine's reader, and a small writer of .npy / .npz files for corruption
 * tests. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "json.h"

typedef struct {
    char dtype[8]; /* "F32", "U8", "I32", … */
    int n_dims;
    int64_t shape[8];
    size_t nbytes;
    void *data;
} SegTensor;

/* Reads tensor `name` of a safetensors file (header parsed by pali_json);
 * FALSE when absent or malformed. */
gboolean seg_safetensors_read(const char *path, const char *name,
                              SegTensor *out);
void seg_tensor_clear(SegTensor *t);

/* Parses $PALI_TEST_DATA/<relative>; fails the test on error. */
pali_json_doc *seg_json_load(const char *relative);

/* The bytes of a .npy file (version 1.0) holding `data`. */
GBytes *seg_npy_bytes(const char *descr, int n_dims, const int64_t *shape,
                      const void *data, size_t nbytes);

/* One member of a zip written by seg_zip_write. */
typedef struct {
    const char *name; /* full member name, e.g. "a.npy" */
    GBytes *data;
    gboolean deflate; /* compress with zlib (method 8) */
} SegZipEntry;

/* A zip as Python's zipfile writes it (local headers, central directory,
 * end record; CRC-32 from zlib).  Returns the file's bytes. */
GBytes *seg_zip_build(const SegZipEntry *entries, int n);
/* Writes bytes to a new file under the test's temporary directory and
 * returns its path. */
char *seg_write_temp(const char *name, const void *data, size_t len);
