/* seg-testutil.c — segmentation test helpers (see seg-testutil.h). */
#include "seg-testutil.h"

#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

#include "testutil.h"

gboolean seg_safetensors_read(const char *path, const char *name,
                              SegTensor *out)
{
    memset(out, 0, sizeof(*out));
    g_autoptr(GBytes) bytes = test_read_file(path);
    gsize size = 0;
    const guint8 *d = g_bytes_get_data(bytes, &size);
    if (size < 8)
        return FALSE;
    guint64 hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (guint64)d[i] << (8 * i);
    if (hlen > size - 8)
        return FALSE;
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    if (pali_json_parse((const char *)d + 8, hlen, path, &doc, &err) != PALI_OK)
        return FALSE;
    const pali_json *t = pali_json_get(pali_json_root(doc), name);
    const pali_json *dtype = pali_json_get(t, "dtype");
    const pali_json *shape = pali_json_get(t, "shape");
    const pali_json *off = pali_json_get(t, "data_offsets");
    gboolean ok = pali_json_is(dtype, PALI_JSON_STRING) &&
                  pali_json_is(shape, PALI_JSON_ARRAY) &&
                  pali_json_is(off, PALI_JSON_ARRAY) && off->len == 2 &&
                  shape->len <= 8 && dtype->len < sizeof(out->dtype);
    if (ok) {
        g_strlcpy(out->dtype, dtype->u.string, sizeof(out->dtype));
        out->n_dims = (int)shape->len;
        for (guint i = 0; i < shape->len; i++)
            out->shape[i] = shape->u.items[i].integer;
        guint64 a = (guint64)off->u.items[0].integer;
        guint64 b = (guint64)off->u.items[1].integer;
        ok = b >= a && 8 + hlen + b <= size;
        if (ok) {
            out->nbytes = (size_t)(b - a);
            out->data = g_malloc(out->nbytes + 1);
            memcpy(out->data, d + 8 + hlen + a, out->nbytes);
        }
    }
    pali_json_free(doc);
    return ok;
}

void seg_tensor_clear(SegTensor *t)
{
    g_free(t->data);
    memset(t, 0, sizeof(*t));
}

pali_json_doc *seg_json_load(const char *relative)
{
    g_autofree char *path = test_data_path(relative);
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    if (pali_json_parse_file(path, 64u << 20, &doc, &err) != PALI_OK)
        g_error("%s", err.message);
    return doc;
}

GBytes *seg_npy_bytes(const char *descr, int n_dims, const int64_t *shape,
                      const void *data, size_t nbytes)
{
    GString *h = g_string_new(NULL);
    g_string_append_printf(h,
                           "{'descr': '%s', 'fortran_order': False, "
                           "'shape': (",
                           descr);
    for (int i = 0; i < n_dims; i++)
        g_string_append_printf(h, "%s%" G_GINT64_FORMAT, i ? ", " : "",
                               shape[i]);
    g_string_append(h, n_dims == 1 ? ",), }" : "), }");
    /* numpy pads magic + header to a multiple of 64, ending with "\n". */
    while ((10 + h->len + 1) % 64 != 0)
        g_string_append_c(h, ' ');
    g_string_append_c(h, '\n');
    GByteArray *out = g_byte_array_new();
    guint8 pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0 };
    pre[8] = (guint8)(h->len & 0xff);
    pre[9] = (guint8)(h->len >> 8);
    g_byte_array_append(out, pre, 10);
    g_byte_array_append(out, (const guint8 *)h->str, (guint)h->len);
    g_byte_array_append(out, data, (guint)nbytes);
    g_string_free(h, TRUE);
    return g_byte_array_free_to_bytes(out);
}

static void put16(GByteArray *a, guint v)
{
    guint8 b[2] = { (guint8)v, (guint8)(v >> 8) };
    g_byte_array_append(a, b, 2);
}

static void put32(GByteArray *a, guint32 v)
{
    guint8 b[4] = { (guint8)v, (guint8)(v >> 8), (guint8)(v >> 16),
                    (guint8)(v >> 24) };
    g_byte_array_append(a, b, 4);
}

GBytes *seg_zip_build(const SegZipEntry *entries, int n)
{
    GByteArray *zip = g_byte_array_new();
    GByteArray *cd = g_byte_array_new();
    for (int i = 0; i < n; i++) {
        gsize len = 0;
        const guint8 *d = g_bytes_get_data(entries[i].data, &len);
        guint32 crc = (guint32)crc32(crc32(0, NULL, 0), d, (uInt)len);
        g_autofree guint8 *packed = NULL;
        gsize plen = len;
        if (entries[i].deflate) {
            z_stream zs;
            memset(&zs, 0, sizeof(zs));
            deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8,
                         Z_DEFAULT_STRATEGY);
            plen = deflateBound(&zs, len);
            packed = g_malloc(plen);
            zs.next_in = (Bytef *)d;
            zs.avail_in = (uInt)len;
            zs.next_out = packed;
            zs.avail_out = (uInt)plen;
            g_assert_cmpint(deflate(&zs, Z_FINISH), ==, Z_STREAM_END);
            plen = zs.total_out;
            deflateEnd(&zs);
        }
        guint name_len = (guint)strlen(entries[i].name);
        guint32 offset = zip->len;
        guint method = entries[i].deflate ? 8 : 0;
        put32(zip, 0x04034b50);
        put16(zip, 20);
        put16(zip, 0);
        put16(zip, method);
        put16(zip, 0);
        put16(zip, 0x21);
        put32(zip, crc);
        put32(zip, (guint32)plen);
        put32(zip, (guint32)len);
        put16(zip, name_len);
        put16(zip, 0);
        g_byte_array_append(zip, (const guint8 *)entries[i].name, name_len);
        g_byte_array_append(zip, entries[i].deflate ? packed : d, (guint)plen);

        put32(cd, 0x02014b50);
        put16(cd, 20);
        put16(cd, 20);
        put16(cd, 0);
        put16(cd, method);
        put16(cd, 0);
        put16(cd, 0x21);
        put32(cd, crc);
        put32(cd, (guint32)plen);
        put32(cd, (guint32)len);
        put16(cd, name_len);
        put16(cd, 0);
        put16(cd, 0);
        put16(cd, 0);
        put16(cd, 0);
        put32(cd, 0);
        put32(cd, offset);
        g_byte_array_append(cd, (const guint8 *)entries[i].name, name_len);
    }
    guint32 cd_offset = zip->len, cd_size = cd->len;
    g_byte_array_append(zip, cd->data, cd->len);
    put32(zip, 0x06054b50);
    put16(zip, 0);
    put16(zip, 0);
    put16(zip, (guint)n);
    put16(zip, (guint)n);
    put32(zip, cd_size);
    put32(zip, cd_offset);
    put16(zip, 0);
    g_byte_array_unref(cd);
    return g_byte_array_free_to_bytes(zip);
}

char *seg_write_temp(const char *name, const void *data, size_t len)
{
    char *path = g_build_filename(test_tmpdir(), name, NULL);
    g_autoptr(GError) error = NULL;
    /* no fsync: the corruption tests write thousands of these */
    g_unlink(path);
    if (!g_file_set_contents_full(path, data, (gssize)len,
                                  G_FILE_SET_CONTENTS_NONE, 0600, &error))
        g_error("%s", error->message);
    return path;
}
