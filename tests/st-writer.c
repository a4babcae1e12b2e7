/* st-writer.c — safetensors writer and model-directory helpers for the
 * loader tests (see st-writer.h). */
#include "st-writer.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
    char *name;
    char *dtype;
    int n_dims;
    int64_t shape[PALI_TENSOR_MAX_DIMS];
    const void *data;
    size_t nbytes;
} StwTensor;

struct StWriter {
    GPtrArray *tensors; /* StwTensor* */
};

static void tensor_free(gpointer p)
{
    StwTensor *t = p;
    g_free(t->name);
    g_free(t->dtype);
    g_free(t);
}

StWriter *stw_new(void)
{
    StWriter *w = g_new0(StWriter, 1);
    w->tensors = g_ptr_array_new_with_free_func(tensor_free);
    return w;
}

void stw_free(StWriter *w)
{
    if (w == NULL)
        return;
    g_ptr_array_free(w->tensors, TRUE);
    g_free(w);
}

void stw_add(StWriter *w, const char *name, const char *dtype, int n_dims,
             const int64_t *shape, const void *data, size_t nbytes)
{
    StwTensor *t = g_new0(StwTensor, 1);
    t->name = g_strdup(name);
    t->dtype = g_strdup(dtype);
    t->n_dims = n_dims;
    memcpy(t->shape, shape, (size_t)n_dims * sizeof(int64_t));
    t->data = data;
    t->nbytes = nbytes;
    g_ptr_array_add(w->tensors, t);
}

void stw_add_tensor(StWriter *w, const pali_tensor *t, const char *name)
{
    static const char *const names[] = { "F32", "BF16", "F16" };
    g_assert_cmpint(t->dtype, <=, PALI_DTYPE_F16);
    stw_add(w, name ? name : t->name, names[t->dtype], t->n_dims, t->shape,
            t->data, t->nbytes);
}

gboolean stw_remove(StWriter *w, const char *name)
{
    for (guint i = 0; i < w->tensors->len; i++) {
        StwTensor *t = g_ptr_array_index(w->tensors, i);
        if (strcmp(t->name, name) == 0) {
            g_ptr_array_remove_index(w->tensors, i);
            return TRUE;
        }
    }
    return FALSE;
}

guint stw_count(StWriter *w)
{
    return w->tensors->len;
}

const char *stw_name(StWriter *w, guint i)
{
    return ((StwTensor *)g_ptr_array_index(w->tensors, i))->name;
}

static void write_tensors(StWriter *w, const char *path, guint first, guint n,
                          const char *metadata_json)
{
    GString *h = g_string_new("{");
    if (metadata_json != NULL)
        g_string_append_printf(h, "\"__metadata__\":%s", metadata_json);
    size_t off = 0;
    for (guint i = first; i < first + n; i++) {
        StwTensor *t = g_ptr_array_index(w->tensors, i);
        if (h->len > 1)
            g_string_append_c(h, ',');
        g_string_append_printf(h, "\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                               t->name, t->dtype);
        for (int d = 0; d < t->n_dims; d++)
            g_string_append_printf(h, "%s%" G_GINT64_FORMAT, d ? "," : "",
                                   t->shape[d]);
        g_string_append_printf(h, "],\"data_offsets\":[%zu,%zu]}", off,
                               off + t->nbytes);
        off += t->nbytes;
    }
    g_string_append_c(h, '}');
    while ((h->len + 8) % 8 != 0)
        g_string_append_c(h, ' ');
    FILE *f = fopen(path, "wb");
    g_assert_nonnull(f);
    guint8 len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (guint8)((guint64)h->len >> (8 * i));
    g_assert_cmpuint(fwrite(len, 1, 8, f), ==, 8);
    g_assert_cmpuint(fwrite(h->str, 1, h->len, f), ==, h->len);
    for (guint i = first; i < first + n; i++) {
        StwTensor *t = g_ptr_array_index(w->tensors, i);
        if (t->nbytes > 0)
            g_assert_cmpuint(fwrite(t->data, 1, t->nbytes, f), ==, t->nbytes);
    }
    g_assert_cmpint(fclose(f), ==, 0);
    g_string_free(h, TRUE);
}

void stw_write(StWriter *w, const char *path, const char *metadata_json)
{
    write_tensors(w, path, 0, w->tensors->len, metadata_json);
}

void stw_write_range(StWriter *w, const char *path, guint first, guint n)
{
    g_assert_cmpuint(first + n, <=, w->tensors->len);
    write_tensors(w, path, first, n, "{\"format\":\"pt\"}");
}

void test_write_bytes(const char *path, const void *data, size_t len)
{
    g_autoptr(GError) error = NULL;
    if (!g_file_set_contents(path, data, (gssize)len, &error))
        g_error("%s", error->message);
}

void test_write_raw_safetensors(const char *path, const char *header,
                                size_t data_len)
{
    size_t hlen = strlen(header);
    size_t total = 8 + hlen + data_len;
    guint8 *buf = g_malloc0(total);
    for (int i = 0; i < 8; i++)
        buf[i] = (guint8)((guint64)hlen >> (8 * i));
    memcpy(buf + 8, header, hlen);
    test_write_bytes(path, buf, total);
    g_free(buf);
}

void test_copy_model_configs(const char *src, const char *dst)
{
    static const char *const files[] = {
        "config.json",
        "generation_config.json",
        "processor_config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    };
    g_assert_cmpint(g_mkdir_with_parents(dst, 0755), ==, 0);
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *from = g_build_filename(src, files[i], NULL);
        if (!g_file_test(from, G_FILE_TEST_EXISTS))
            continue;
        g_autofree char *to = g_build_filename(dst, files[i], NULL);
        char *contents;
        gsize len;
        g_assert_true(g_file_get_contents(from, &contents, &len, NULL));
        test_write_bytes(to, contents, len);
        g_free(contents);
    }
}

void test_edit_file(const char *dir, const char *file, const char *from,
                    const char *to)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    char *contents;
    gsize len;
    g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
    const char *at = strstr(contents, from);
    if (at == NULL)
        g_error("%s: '%s' not found", path, from);
    GString *s = g_string_new_len(contents, at - contents);
    g_string_append(s, to);
    g_string_append(s, at + strlen(from));
    test_write_bytes(path, s->str, s->len);
    g_string_free(s, TRUE);
    g_free(contents);
}
