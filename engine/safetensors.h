/* safetensors.h — read-only, zero-copy access to safetensors checkpoints:
 * one file (model.safetensors) or a sharded set described by
 * model.safetensors.index.json.
 *
 * A file is mmapped read-only; its header is validated completely before
 * anything in it is trusted, and each tensor becomes a pali_tensor whose
 * data points into the mapping (valid until the file is closed).  Tensor
 * data itself is never read here.  An open file is immutable and may be
 * read from any number of threads. */
#ifndef PALI_SAFETENSORS_H
#define PALI_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pali.h"
#include "tensor.h"

/* Header lengths above this are refused as corrupt: the real 28B shards'
 * headers are about 100 KB, and the reference Rust reader caps at 100 MB. */
#define PALI_SAFETENSORS_MAX_HEADER_BYTES (100u * 1000u * 1000u)
/* A shape value above this is refused before any size arithmetic (2^40
 * elements along one axis is far beyond any checkpoint). */
#define PALI_SAFETENSORS_MAX_DIM (INT64_C(1) << 40)
/* model.safetensors.index.json is about 100 KB for the 28B model. */
#define PALI_SAFETENSORS_MAX_INDEX_BYTES (64u * 1000u * 1000u)

#define PALI_SAFETENSORS_SINGLE_NAME "model.safetensors"
#define PALI_SAFETENSORS_INDEX_NAME  "model.safetensors.index.json"

typedef struct pali_safetensors pali_safetensors;

/* Maps and validates one file: size, header length, JSON, every entry's
 * dtype (F32, BF16 and F16 accepted), shape and data_offsets, alignment,
 * duplicate names and overlapping data.  Errors name the file, the tensor
 * and what is wrong.  On success *out owns the mapping. */
pali_status pali_safetensors_open(const char *path, pali_safetensors **out,
                                  pali_error *err);
void pali_safetensors_close(pali_safetensors *st);

const char *pali_safetensors_path(const pali_safetensors *st);
uint64_t pali_safetensors_file_size(const pali_safetensors *st);
/* The start of the file's mapping (file_size bytes). */
const void *pali_safetensors_map(const pali_safetensors *st);

/* Tensors in header order; borrowed, valid until close. */
int pali_safetensors_count(const pali_safetensors *st);
const pali_tensor *pali_safetensors_at(const pali_safetensors *st, int i);
/* The tensor named exactly `name`, or NULL. */
const pali_tensor *pali_safetensors_find(const pali_safetensors *st,
                                         const char *name);

/* Access-pattern hint for the mapping: `random` (a few scattered pages
 * will be read, e.g. the 1-D parameters at load time: without it each
 * page fault reads ahead up to the device's read-ahead, megabytes), or
 * the forward passes' streams: the default read-ahead, and the pages in
 * 2 MB folios where the kernel can (pali_advise_huge). */
void pali_safetensors_advise_random(const pali_safetensors *st, bool random);

/* The "__metadata__" map (string → string); NULL when absent. */
int pali_safetensors_metadata_count(const pali_safetensors *st);
const char *pali_safetensors_metadata_key(const pali_safetensors *st, int i);
const char *pali_safetensors_metadata_get(const pali_safetensors *st,
                                          const char *key);

/* Opens a model directory's weights: model.safetensors if present (as
 * transformers prefers it), else model.safetensors.index.json and every
 * shard its weight_map names, checked against each other (shard absent,
 * tensor listed but not in its shard, tensor in two shards, tensor in a
 * shard but not in the index, shard names with '/' or '..').  Shards come
 * sorted by file name.  `callbacks` (may be NULL) gets PALI_PHASE_LOAD
 * progress per file and may abort between files.  On success *files (an
 * array of *n_files) is owned by the caller: pali_safetensors_close_all. */
pali_status pali_safetensors_open_dir(const char *dir,
                                      const pali_callbacks *callbacks,
                                      pali_safetensors ***files, int *n_files,
                                      pali_error *err);
void pali_safetensors_close_all(pali_safetensors **files, int n_files);

#endif /* PALI_SAFETENSORS_H */
