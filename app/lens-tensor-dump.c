/* lens-tensor-dump.c — safetensors writer for --dump (see the header).
 * Layout: u64 little-endian header length, a JSON header mapping each name
 * to dtype ("F32", or "U8" for lens_tensor_dump_add_u8), shape and
 * data_offsets, padded with spaces to 8 bytes,
 * then the raw little-endian data in header order. */
#include "config.h"

#include "lens-tensor-dump.h"

#include <string.h>

#include "lens-json.h"

#define DUMP_MAX_DIMS 8

typedef struct {
    char *name;
    const char *dtype; /* "F32", or "U8" (lens_tensor_dump_add_u8) */
    int n_dims;        /* of one row when steps are appended: stored with +1 */
    int64_t shape[DUMP_MAX_DIMS];
    GByteArray *data;
    gboolean stepped; /* rows appended per step: shape[0] counts them */
} DumpTensor;

struct _LensTensorDump {
    GHashTable *tensors; /* name → DumpTensor */
};

static void dump_tensor_free(gpointer p)
{
    DumpTensor *t = p;
    g_free(t->name);
    g_byte_array_unref(t->data);
    g_free(t);
}

LensTensorDump *lens_tensor_dump_new(void)
{
    LensTensorDump *self = g_new0(LensTensorDump, 1);
    self->tensors =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, dump_tensor_free);
    return self;
}

void lens_tensor_dump_free(LensTensorDump *self)
{
    if (self == NULL)
        return;
    g_hash_table_unref(self->tensors);
    g_free(self);
}

static gsize numel(int n_dims, const int64_t *shape)
{
    gsize n = 1;
    for (int i = 0; i < n_dims; i++)
        n *= (gsize)shape[i];
    return n;
}

void lens_tensor_dump_add(LensTensorDump *self, const char *name,
                          const float *data, int n_dims, const int64_t *shape)
{
    g_return_if_fail(n_dims >= 0 && n_dims < DUMP_MAX_DIMS);
    DumpTensor *t = g_new0(DumpTensor, 1);
    t->name = g_strdup(name);
    t->dtype = "F32";
    t->n_dims = n_dims;
    memcpy(t->shape, shape, (gsize)n_dims * sizeof(int64_t));
    t->data = g_byte_array_new();
    g_byte_array_append(t->data, (const guint8 *)data,
                        (guint)(numel(n_dims, shape) * sizeof(float)));
    g_hash_table_replace(self->tensors, t->name, t);
}

void lens_tensor_dump_add_u8(LensTensorDump *self, const char *name,
                             const uint8_t *data, int n_dims,
                             const int64_t *shape)
{
    g_return_if_fail(n_dims >= 0 && n_dims < DUMP_MAX_DIMS);
    DumpTensor *t = g_new0(DumpTensor, 1);
    t->name = g_strdup(name);
    t->dtype = "U8";
    t->n_dims = n_dims;
    memcpy(t->shape, shape, (gsize)n_dims * sizeof(int64_t));
    t->data = g_byte_array_new();
    g_byte_array_append(t->data, data, (guint)numel(n_dims, shape));
    g_hash_table_replace(self->tensors, t->name, t);
}

gboolean lens_tensor_dump_has(LensTensorDump *self, const char *name)
{
    return g_hash_table_contains(self->tensors, name);
}

void lens_tensor_dump_collect(const char *name, int step, const float *data,
                              int n_dims, const int64_t *shape, void *user_data)
{
    LensTensorDump *self = user_data;
    if (step < 0) {
        lens_tensor_dump_add(self, name, data, n_dims, shape);
        return;
    }
    /* A per-step row of shape [1, ...] (or [...]): append along dim 0. */
    const int64_t *row_shape = shape;
    int row_dims = n_dims;
    if (n_dims > 1 && shape[0] == 1) {
        row_shape = shape + 1;
        row_dims = n_dims - 1;
    }
    DumpTensor *t = g_hash_table_lookup(self->tensors, name);
    if (step == 0 || t == NULL || !t->stepped) {
        int64_t s[DUMP_MAX_DIMS] = { 1 };
        memcpy(s + 1, row_shape, (gsize)row_dims * sizeof(int64_t));
        lens_tensor_dump_add(self, name, data, row_dims + 1, s);
        t = g_hash_table_lookup(self->tensors, name);
        t->stepped = TRUE;
        return;
    }
    g_byte_array_append(t->data, (const guint8 *)data,
                        (guint)(numel(row_dims, row_shape) * sizeof(float)));
    t->shape[0]++;
}

const float *lens_tensor_dump_get(LensTensorDump *self, const char *name,
                                  gsize *numel, int *n_dims, int64_t *shape)
{
    DumpTensor *t = g_hash_table_lookup(self->tensors, name);
    if (t == NULL)
        return NULL;
    if (numel)
        *numel = t->data->len / sizeof(float);
    if (n_dims)
        *n_dims = t->n_dims;
    if (shape)
        memcpy(shape, t->shape, (gsize)t->n_dims * sizeof(int64_t));
    return (const float *)t->data->data;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

gboolean lens_tensor_dump_write(LensTensorDump *self, const char *path,
                                GError **error)
{
    guint n = 0;
    g_autofree const char **names =
        (const char **)g_hash_table_get_keys_as_array(self->tensors, &n);
    qsort(names, n, sizeof(char *), compare_names);

    g_autoptr(LensJson) json = lens_json_new(FALSE);
    lens_json_begin_object(json);
    guint64 offset = 0;
    for (guint i = 0; i < n; i++) {
        DumpTensor *t = g_hash_table_lookup(self->tensors, names[i]);
        lens_json_key(json, t->name);
        lens_json_begin_object(json);
        lens_json_key(json, "dtype");
        lens_json_string(json, t->dtype);
        lens_json_key(json, "shape");
        lens_json_begin_array(json);
        for (int d = 0; d < t->n_dims; d++)
            lens_json_int(json, t->shape[d]);
        lens_json_end_array(json);
        lens_json_key(json, "data_offsets");
        lens_json_begin_array(json);
        lens_json_int(json, (gint64)offset);
        offset += t->data->len;
        lens_json_int(json, (gint64)offset);
        lens_json_end_array(json);
        lens_json_end_object(json);
    }
    lens_json_end_object(json);

    g_autoptr(GString) header = g_string_new(lens_json_peek(json));
    while (header->len % 8 != 0)
        g_string_append_c(header, ' ');
    g_autoptr(GByteArray) file = g_byte_array_new();
    guint8 len_le[8];
    guint64 hlen = header->len;
    for (int i = 0; i < 8; i++)
        len_le[i] = (guint8)(hlen >> (8 * i));
    g_byte_array_append(file, len_le, 8);
    g_byte_array_append(file, (const guint8 *)header->str, header->len);
    for (guint i = 0; i < n; i++) {
        DumpTensor *t = g_hash_table_lookup(self->tensors, names[i]);
        g_byte_array_append(file, t->data->data, t->data->len);
    }
    return g_file_set_contents(path, (const char *)file->data, file->len,
                               error);
}
