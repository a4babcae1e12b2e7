/* npz.h — reads NumPy .npz archives (a zip of .npy files, as np.savez and
 * np.savez_compressed write them) and single .npy buffers.
 *
 * Zip: the central directory is the authority (local headers are checked
 * against it); stored and deflated entries (zlib, raw deflate); zip64
 * sizes and offsets; CRC-32 verified.  .npy: format versions 1–3, C order,
 * little-endian (or byte-order-free) f32, f64, i32, i64, u8.  Every offset
 * and size read from the file is bounds-checked; errors name the file, the
 * entry and the problem. */
#ifndef PALI_NPZ_H
#define PALI_NPZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pali.h"

#define PALI_NPY_MAX_DIMS 8

typedef enum pali_npy_dtype {
    PALI_NPY_F32,
    PALI_NPY_F64,
    PALI_NPY_I32,
    PALI_NPY_I64,
    PALI_NPY_U8,
} pali_npy_dtype;

/* One array, owned: release with pali_npy_array_clear(). */
typedef struct pali_npy_array {
    pali_npy_dtype dtype;
    int n_dims;
    int64_t shape[PALI_NPY_MAX_DIMS];
    size_t numel;
    size_t nbytes; /* numel · item size */
    void *data;    /* numel items, native byte order, malloc-aligned */
} pali_npy_array;

typedef struct pali_npz pali_npz;

/* Opens the archive and reads its central directory (not the data). */
pali_status pali_npz_open(const char *path, pali_npz **out, pali_error *err);
void pali_npz_close(pali_npz *npz);

/* Entries, in central-directory order; names without the ".npy" suffix. */
size_t pali_npz_count(const pali_npz *npz);
const char *pali_npz_name(const pali_npz *npz, size_t i);
bool pali_npz_has(const pali_npz *npz, const char *name);

/* Reads, inflates, CRC-checks and parses entry `name` (without ".npy").
 * PALI_ERR_NOT_FOUND when there is no such entry. */
pali_status pali_npz_read(const pali_npz *npz, const char *name,
                          pali_npy_array *out, pali_error *err);

/* Parses a whole .npy file held in memory; `what` names it in errors. */
pali_status pali_npy_parse(const uint8_t *buf, size_t len, const char *what,
                           pali_npy_array *out, pali_error *err);
void pali_npy_array_clear(pali_npy_array *array);

const char *pali_npy_dtype_name(pali_npy_dtype dtype); /* "<f4", … */
/* "(16, 1, 4, 4)" into buf (always NUL-terminated). */
void pali_npy_shape_string(const pali_npy_array *array, char *buf, size_t size);

#endif /* PALI_NPZ_H */
