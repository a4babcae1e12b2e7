/* lens-tensor-dump.h — collects named float32 tensors and writes them as a
 * safetensors file (the format of the golden data), for --dump.  Plugs into
 * the engine's tensor callback: rows sent with step >= 0 are appended to one
 * tensor of that name, in step order ([n_steps, ...]). */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _LensTensorDump LensTensorDump;

LensTensorDump *lens_tensor_dump_new(void);
void lens_tensor_dump_free(LensTensorDump *self);

/* Matches pali_tensor_fn; user_data is the LensTensorDump. */
void lens_tensor_dump_collect(const char *name, int step, const float *data,
                              int n_dims, const int64_t *shape,
                              void *user_data);

/* Adds (or replaces) a tensor; data is copied. */
void lens_tensor_dump_add(LensTensorDump *self, const char *name,
                          const float *data, int n_dims, const int64_t *shape);
/* The same for 8-bit data, stored with dtype "U8". */
void lens_tensor_dump_add_u8(LensTensorDump *self, const char *name,
                             const uint8_t *data, int n_dims,
                             const int64_t *shape);
gboolean lens_tensor_dump_has(LensTensorDump *self, const char *name);
/* The collected data of `name` (NULL if absent): *numel values, and the
 * shape when `shape` (8 entries) is not NULL.  Borrowed. */
const float *lens_tensor_dump_get(LensTensorDump *self, const char *name,
                                  gsize *numel, int *n_dims, int64_t *shape);

/* Writes every tensor, names sorted, to `path` (atomically). */
gboolean lens_tensor_dump_write(LensTensorDump *self, const char *path,
                                GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LensTensorDump, lens_tensor_dump_free)

G_END_DECLS
