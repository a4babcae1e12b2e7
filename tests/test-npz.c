/* test-npz.c — the .npz/.npy reader: files written by numpy itself (stored
 * and deflated, every supported dtype, refused layouts), and corruption of
 * every kind: truncation at every length, every byte flipped, and targeted
 * damage to the directory, offsets, CRC, deflate stream and .npy header. */
#include <string.h>
#include <zlib.h>

#include "npz.h"
#include "seg-testutil.h"
#include "testutil.h"

static char *data_file(const char *name)
{
    g_autofree char *rel = g_build_filename("seg-npz", name, NULL);
    return test_data_path(rel);
}

static void check_numpy_file(const char *name)
{
    g_autofree char *path = data_file(name);
    pali_npz *npz = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_npz_open(path, &npz, &err), ==, PALI_OK);
    g_assert_cmpuint(pali_npz_count(npz), ==, 7);
    g_assert_true(pali_npz_has(npz, "f32"));
    g_assert_false(pali_npz_has(npz, "f32.npy"));
    g_assert_false(pali_npz_has(npz, "nope"));
    g_assert_null(pali_npz_name(npz, 7));

    pali_npy_array a;
    g_assert_cmpint(pali_npz_read(npz, "f32", &a, &err), ==, PALI_OK);
    g_assert_cmpint(a.dtype, ==, PALI_NPY_F32);
    g_assert_cmpint(a.n_dims, ==, 2);
    g_assert_cmpint(a.shape[0], ==, 3);
    g_assert_cmpint(a.shape[1], ==, 4);
    for (int i = 0; i < 12; i++)
        g_assert_cmpfloat(((float *)a.data)[i], ==, i * 0.5f);
    char shape[32];
    pali_npy_shape_string(&a, shape, sizeof(shape));
    g_assert_cmpstr(shape, ==, "(3, 4)");
    pali_npy_array_clear(&a);

    g_assert_cmpint(pali_npz_read(npz, "f64", &a, &err), ==, PALI_OK);
    g_assert_cmpint(a.dtype, ==, PALI_NPY_F64);
    for (int i = 0; i < 6; i++)
        g_assert_cmpfloat(((double *)a.data)[i], ==, i - 2.5);
    pali_npy_array_clear(&a);

    g_assert_cmpint(pali_npz_read(npz, "i32", &a, &err), ==, PALI_OK);
    g_assert_cmpint(a.dtype, ==, PALI_NPY_I32);
    pali_npy_shape_string(&a, shape, sizeof(shape));
    g_assert_cmpstr(shape, ==, "(5,)");
    for (int i = 0; i < 5; i++)
        g_assert_cmpint(((int32_t *)a.data)[i], ==, i - 2);
    pali_npy_array_clear(&a);

    g_assert_cmpint(pali_npz_read(npz, "i64", &a, &err), ==, PALI_OK);
    g_assert_cmpint(a.dtype, ==, PALI_NPY_I64);
    g_assert_cmpint(((int64_t *)a.data)[3], ==, 3000000000000LL);
    pali_npy_array_clear(&a);

    g_assert_cmpint(pali_npz_read(npz, "u8", &a, &err), ==, PALI_OK);
    g_assert_cmpint(a.dtype, ==, PALI_NPY_U8);
    g_assert_cmpint(a.n_dims, ==, 3);
    for (int i = 0; i < 8; i++)
        g_assert_cmpint(((uint8_t *)a.data)[i], ==, i);
    pali_npy_array_clear(&a);

    g_assert_cmpint(pali_npz_read(npz, "scalar", &a, &err), ==, PALI_OK);
    g_assert_cmpint(a.n_dims, ==, 0);
    g_assert_cmpuint(a.numel, ==, 1);
    g_assert_cmpfloat(((float *)a.data)[0], ==, 7.0f);
    pali_npy_array_clear(&a);

    g_assert_cmpint(pali_npz_read(npz, "empty", &a, &err), ==, PALI_OK);
    g_assert_cmpuint(a.numel, ==, 0);
    g_assert_cmpint(a.shape[1], ==, 3);
    pali_npy_array_clear(&a);

    g_assert_cmpint(pali_npz_read(npz, "nope", &a, &err), ==,
                    PALI_ERR_NOT_FOUND);
    g_assert_nonnull(strstr(err.message, "'nope'"));
    pali_npz_close(npz);
}

static void test_stored(void)
{
    check_numpy_file("stored.npz");
}

static void test_deflated(void)
{
    check_numpy_file("compressed.npz");
}

static void expect_read_error(const char *file, pali_status status,
                              const char *needle)
{
    g_autofree char *path = data_file(file);
    pali_npz *npz = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_npz_open(path, &npz, &err), ==, PALI_OK);
    pali_npy_array a;
    g_assert_cmpint(pali_npz_read(npz, "a", &a, &err), ==, status);
    g_test_message("%s", err.message);
    g_assert_nonnull(strstr(err.message, file));
    g_assert_nonnull(strstr(err.message, "entry 'a'"));
    g_assert_nonnull(strstr(err.message, needle));
    g_assert_null(a.data);
    pali_npz_close(npz);
}

static void test_refused_layouts(void)
{
    expect_read_error("fortran.npz", PALI_ERR_UNSUPPORTED, "Fortran order");
    expect_read_error("bigendian.npz", PALI_ERR_UNSUPPORTED, "'>f4'");
    expect_read_error("complex.npz", PALI_ERR_UNSUPPORTED, "'<c8'");
    expect_read_error("structured.npz", PALI_ERR_UNSUPPORTED, "structured");
}

/* Opens and reads every entry of a (possibly damaged) archive; returns
 * whether everything succeeded.  Failures must say something. */
static gboolean open_and_read_all(const char *path)
{
    pali_npz *npz = NULL;
    pali_error err = { 0 };
    if (pali_npz_open(path, &npz, &err) != PALI_OK) {
        g_assert_cmpuint(strlen(err.message), >, 0);
        g_assert_null(npz);
        return FALSE;
    }
    gboolean ok = TRUE;
    for (size_t i = 0; i < pali_npz_count(npz); i++) {
        pali_npy_array a;
        memset(&err, 0, sizeof(err));
        if (pali_npz_read(npz, pali_npz_name(npz, i), &a, &err) != PALI_OK) {
            g_assert_cmpuint(strlen(err.message), >, 0);
            ok = FALSE;
        }
        pali_npy_array_clear(&a);
    }
    pali_npz_close(npz);
    return ok;
}

static GBytes *read_data(const char *name)
{
    g_autofree char *path = data_file(name);
    return test_read_file(path);
}

static void test_truncated_everywhere(void)
{
    const char *files[] = { "stored.npz", "compressed.npz" };
    for (size_t f = 0; f < G_N_ELEMENTS(files); f++) {
        g_autoptr(GBytes) bytes = read_data(files[f]);
        gsize len;
        const guint8 *d = g_bytes_get_data(bytes, &len);
        for (gsize n = 0; n < len; n++) {
            g_autofree char *path = seg_write_temp("cut.npz", d, n);
            g_assert_false(open_and_read_all(path));
        }
    }
}

static void test_flipped_everywhere(void)
{
    /* Every byte of both files, xor'ed with two patterns: the reader
     * either reads the file (a flip in a field it does not need) or
     * reports an error; it never reads out of bounds (ASan build). */
    const char *files[] = { "stored.npz", "compressed.npz" };
    const guint8 patterns[] = { 0xff, 0x01 };
    int failures = 0, total = 0;
    for (size_t f = 0; f < G_N_ELEMENTS(files); f++) {
        g_autoptr(GBytes) bytes = read_data(files[f]);
        gsize len;
        const guint8 *d = g_bytes_get_data(bytes, &len);
        guint8 *copy = g_memdup2(d, len);
        for (gsize i = 0; i < len; i++)
            for (size_t p = 0; p < G_N_ELEMENTS(patterns); p++) {
                copy[i] ^= patterns[p];
                g_autofree char *path = seg_write_temp("flip.npz", copy, len);
                failures += !open_and_read_all(path);
                total++;
                copy[i] ^= patterns[p];
            }
        g_free(copy);
    }
    g_test_message("%d of %d damaged files refused", failures, total);
    /* The CRC covers all array bytes: most flips must be caught. */
    g_assert_cmpint(failures, >, total / 2);
}

static uint32_t rd32(const guint8 *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void wr32(guint8 *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (guint8)(v >> (8 * i));
}

/* Damages a copy of stored.npz with fn, then expects `needle` in the error
 * of open (at_open) or of reading entry "f32". */
static void expect_damage(void (*fn)(guint8 *d, gsize len), gboolean at_open,
                          pali_status status, const char *needle)
{
    g_autoptr(GBytes) bytes = read_data("stored.npz");
    gsize len = g_bytes_get_size(bytes);
    guint8 *d = g_memdup2(g_bytes_get_data(bytes, NULL), len);
    fn(d, len);
    g_autofree char *path = seg_write_temp("damaged.npz", d, len);
    g_free(d);
    pali_npz *npz = NULL;
    pali_error err = { 0 };
    pali_status st = pali_npz_open(path, &npz, &err);
    if (!at_open) {
        g_assert_cmpint(st, ==, PALI_OK);
        pali_npy_array a;
        st = pali_npz_read(npz, "f32", &a, &err);
        pali_npz_close(npz);
    }
    g_test_message("%s", err.message);
    g_assert_cmpint(st, ==, status);
    g_assert_nonnull(strstr(err.message, "damaged.npz"));
    g_assert_nonnull(strstr(err.message, needle));
}

static gsize find_eocd(const guint8 *d, gsize len)
{
    for (gsize i = len - 22 + 1; i-- > 0;)
        if (rd32(d + i) == 0x06054b50)
            return i;
    g_assert_not_reached();
}

static void cd_offset_past_end(guint8 *d, gsize len)
{
    wr32(d + find_eocd(d, len) + 16, (uint32_t)len);
}

static void cd_entries_too_many(guint8 *d, gsize len)
{
    gsize e = find_eocd(d, len);
    d[e + 10] = d[e + 8] = 0xfe;
}

static void no_eocd(guint8 *d, gsize len)
{
    d[find_eocd(d, len)] = 'X';
}

static void zip64_without_locator(guint8 *d, gsize len)
{
    wr32(d + find_eocd(d, len) + 16, 0xffffffffu);
}

/* The central directory record of the first entry ("f32"). */
static guint8 *first_central(guint8 *d, gsize len)
{
    return d + rd32(d + find_eocd(d, len) + 16);
}

static void local_offset_past_data(guint8 *d, gsize len)
{
    wr32(first_central(d, len) + 42, rd32(d + find_eocd(d, len) + 16) + 5);
}

static void local_signature_broken(guint8 *d, gsize len)
{
    d[0] = 'Q';
}

static void size_past_data(guint8 *d, gsize len)
{
    guint8 *c = first_central(d, len);
    wr32(c + 20, 1u << 20);
    wr32(c + 24, 1u << 20);
}

static void crc_wrong(guint8 *d, gsize len)
{
    first_central(d, len)[16] ^= 0x55;
}

static void method_unknown(guint8 *d, gsize len)
{
    first_central(d, len)[10] = 12; /* bzip2 */
}

static void encrypted(guint8 *d, gsize len)
{
    first_central(d, len)[8] |= 1;
}

static void cd_name_too_long(guint8 *d, gsize len)
{
    first_central(d, len)[28] = 0xff;
    first_central(d, len)[29] = 0xff;
}

static void test_targeted_damage(void)
{
    expect_damage(cd_offset_past_end, TRUE, PALI_ERR_FORMAT,
                  "central directory");
    expect_damage(cd_entries_too_many, TRUE, PALI_ERR_FORMAT,
                  "does not fit the file");
    expect_damage(no_eocd, TRUE, PALI_ERR_FORMAT, "not a zip archive");
    expect_damage(zip64_without_locator, TRUE, PALI_ERR_FORMAT, "zip64");
    expect_damage(local_offset_past_data, TRUE, PALI_ERR_FORMAT,
                  "past the data area");
    expect_damage(cd_name_too_long, TRUE, PALI_ERR_FORMAT,
                  "runs past the directory");
    expect_damage(local_signature_broken, FALSE, PALI_ERR_FORMAT,
                  "no local header at byte 0");
    expect_damage(size_past_data, FALSE, PALI_ERR_FORMAT, "truncated file?");
    expect_damage(crc_wrong, FALSE, PALI_ERR_FORMAT, "CRC-32 mismatch");
    expect_damage(method_unknown, FALSE, PALI_ERR_UNSUPPORTED,
                  "compression method 12");
    expect_damage(encrypted, FALSE, PALI_ERR_UNSUPPORTED, "encrypted");
}

/* Archives built here: deflate damage and .npy header problems, each with
 * a valid zip around them so only the named problem remains. */
static void expect_built_error(GBytes *npy, gboolean deflate,
                               pali_status status, const char *needle)
{
    SegZipEntry e = { "a.npy", npy, deflate };
    g_autoptr(GBytes) zip = seg_zip_build(&e, 1);
    gsize len;
    const void *d = g_bytes_get_data(zip, &len);
    g_autofree char *path = seg_write_temp("built.npz", d, len);
    pali_npz *npz = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_npz_open(path, &npz, &err), ==, PALI_OK);
    pali_npy_array a;
    g_assert_cmpint(pali_npz_read(npz, "a", &a, &err), ==, status);
    if (status == PALI_OK) {
        g_assert_nonnull(a.data);
        pali_npy_array_clear(&a);
    } else {
        g_test_message("%s", err.message);
        g_assert_nonnull(strstr(err.message, "built.npz: entry 'a'"));
        g_assert_nonnull(strstr(err.message, needle));
    }
    pali_npz_close(npz);
    g_bytes_unref(npy);
}

static GBytes *npy_text(const char *header, size_t data_len)
{
    GByteArray *b = g_byte_array_new();
    guint8 pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0 };
    size_t hl = strlen(header);
    pre[8] = (guint8)hl;
    pre[9] = (guint8)(hl >> 8);
    g_byte_array_append(b, pre, 10);
    g_byte_array_append(b, (const guint8 *)header, (guint)hl);
    guint8 *zeros = g_malloc0(data_len + 1);
    g_byte_array_append(b, zeros, (guint)data_len);
    g_free(zeros);
    return g_byte_array_free_to_bytes(b);
}

static void test_npy_header_errors(void)
{
    const char *ok =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    g_autoptr(GBytes) good = npy_text(ok, 24);
    expect_built_error(g_bytes_ref(good), TRUE, PALI_OK, "");
    struct {
        const char *header;
        size_t data;
        pali_status st;
        const char *needle;
    } cases[] = {
        { ok, 20, PALI_ERR_FORMAT,
          "needs 24 bytes of data but the array holds 20" },
        { ok, 28, PALI_ERR_FORMAT, "holds 28" },
        { "{'descr': '<f4', 'shape': (2, 3), }", 24, PALI_ERR_FORMAT,
          "lacks descr" },
        { "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8,
          PALI_ERR_FORMAT, "malformed .npy header" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 8,
          PALI_ERR_FORMAT, "malformed" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}", 24,
          PALI_ERR_FORMAT, "malformed" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': "
          "(99999999999, 99999999999, 99999999999), }",
          0, PALI_ERR_FORMAT, "shape too large" },
        { "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", 4,
          PALI_ERR_UNSUPPORTED, "'<f2'" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,"
          "1,1), }",
          4, PALI_ERR_FORMAT, "malformed" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
          "'extra': 1}",
          8, PALI_ERR_FORMAT, "malformed" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8,
          PALI_OK, "" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        expect_built_error(npy_text(cases[i].header, cases[i].data), FALSE,
                           cases[i].st, cases[i].needle);
    /* header length beyond the array, bad magic, unknown version */
    GBytes *b = npy_text(ok, 24);
    guint8 *raw = g_memdup2(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
    gsize n = g_bytes_get_size(b);
    g_bytes_unref(b);
    raw[8] = 0xff;
    raw[9] = 0xff;
    expect_built_error(g_bytes_new(raw, n), FALSE, PALI_ERR_FORMAT,
                       "runs past");
    raw[8] = (guint8)strlen(ok);
    raw[9] = 0;
    raw[6] = 9;
    expect_built_error(g_bytes_new(raw, n), FALSE, PALI_ERR_UNSUPPORTED,
                       "version 9.0");
    raw[0] = 'X';
    expect_built_error(g_bytes_new(raw, n), FALSE, PALI_ERR_FORMAT,
                       "bad magic");
    expect_built_error(g_bytes_new(raw, 7), FALSE, PALI_ERR_FORMAT,
                       "bad magic");
    g_free(raw);
}

static void test_deflate_damage(void)
{
    /* A deflated entry whose stream is cut short or corrupted, with the
     * CRC and sizes left as they were. */
    g_autoptr(GBytes) bytes = read_data("compressed.npz");
    gsize len;
    const guint8 *d = g_bytes_get_data(bytes, &len);
    guint8 *copy = g_memdup2(d, len);
    /* the first local entry's data starts after its 30-byte header */
    gsize data_at =
        30 + (copy[26] | copy[27] << 8) + (copy[28] | copy[29] << 8);
    for (gsize i = data_at; i < data_at + 8; i++)
        copy[i] ^= 0xa5;
    g_autofree char *path = seg_write_temp("deflate.npz", copy, len);
    pali_npz *npz = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_npz_open(path, &npz, &err), ==, PALI_OK);
    pali_npy_array a;
    pali_status st = pali_npz_read(npz, pali_npz_name(npz, 0), &a, &err);
    g_test_message("%s", err.message);
    g_assert_cmpint(st, ==, PALI_ERR_FORMAT);
    g_assert_true(strstr(err.message, "corrupt deflate data") != NULL ||
                  strstr(err.message, "CRC-32") != NULL);
    pali_npz_close(npz);
    g_free(copy);
}

static void put_le(GByteArray *a, guint64 v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        guint8 b = (guint8)(v >> (8 * i));
        g_byte_array_append(a, &b, 1);
    }
}

/* One stored entry with every size and offset in zip64 form: 0xffffffff
 * in the central directory with a zip64 extra field, and the zip64 end of
 * central directory record and locator. */
static GBytes *zip64_archive(GBytes *npy)
{
    gsize len;
    const guint8 *d = g_bytes_get_data(npy, &len);
    guint32 crc = (guint32)crc32(crc32(0, NULL, 0), d, (uInt)len);
    const char *name = "a.npy";
    GByteArray *z = g_byte_array_new();
    put_le(z, 0x04034b50, 4);
    put_le(z, 45, 2);
    put_le(z, 0, 2);
    put_le(z, 0, 2);
    put_le(z, 0, 4);
    put_le(z, crc, 4);
    put_le(z, len, 4);
    put_le(z, len, 4);
    put_le(z, strlen(name), 2);
    put_le(z, 0, 2);
    g_byte_array_append(z, (const guint8 *)name, 5);
    g_byte_array_append(z, d, (guint)len);
    guint64 cd_at = z->len;
    put_le(z, 0x02014b50, 4);
    put_le(z, 45, 2);
    put_le(z, 45, 2);
    put_le(z, 0, 2);
    put_le(z, 0, 2);
    put_le(z, 0, 4);
    put_le(z, crc, 4);
    put_le(z, 0xffffffffu, 4);
    put_le(z, 0xffffffffu, 4);
    put_le(z, 5, 2);
    put_le(z, 28, 2);
    put_le(z, 0, 2);
    put_le(z, 0, 2);
    put_le(z, 0, 2);
    put_le(z, 0, 4);
    put_le(z, 0xffffffffu, 4);
    g_byte_array_append(z, (const guint8 *)name, 5);
    put_le(z, 0x0001, 2);
    put_le(z, 24, 2);
    put_le(z, len, 8); /* uncompressed, compressed, local offset */
    put_le(z, len, 8);
    put_le(z, 0, 8);
    guint64 cd_size = z->len - cd_at, rec_at = z->len;
    put_le(z, 0x06064b50, 4);
    put_le(z, 44, 8);
    put_le(z, 45, 2);
    put_le(z, 45, 2);
    put_le(z, 0, 4);
    put_le(z, 0, 4);
    put_le(z, 1, 8);
    put_le(z, 1, 8);
    put_le(z, cd_size, 8);
    put_le(z, cd_at, 8);
    put_le(z, 0x07064b50, 4);
    put_le(z, 0, 4);
    put_le(z, rec_at, 8);
    put_le(z, 1, 4);
    put_le(z, 0x06054b50, 4);
    put_le(z, 0, 2);
    put_le(z, 0, 2);
    put_le(z, 0xffff, 2);
    put_le(z, 0xffff, 2);
    put_le(z, 0xffffffffu, 4);
    put_le(z, 0xffffffffu, 4);
    put_le(z, 0, 2);
    return g_byte_array_free_to_bytes(z);
}

static void test_zip64(void)
{
    const float v[3] = { 1.5f, -2, 8 };
    const int64_t shape[1] = { 3 };
    g_autoptr(GBytes) npy = seg_npy_bytes("<f4", 1, shape, v, sizeof(v));
    g_autoptr(GBytes) zip = zip64_archive(npy);
    gsize len;
    const guint8 *d = g_bytes_get_data(zip, &len);
    g_autofree char *path = seg_write_temp("zip64.npz", d, len);
    pali_npz *npz = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_npz_open(path, &npz, &err), ==, PALI_OK);
    g_assert_cmpuint(pali_npz_count(npz), ==, 1);
    pali_npy_array a;
    g_assert_cmpint(pali_npz_read(npz, "a", &a, &err), ==, PALI_OK);
    g_assert_cmpmem(a.data, a.nbytes, v, sizeof(v));
    pali_npy_array_clear(&a);
    pali_npz_close(npz);
    /* the zip64 extra field cut short: an error naming the entry */
    guint8 *bad = g_memdup2(d, len);
    gsize cd = 30 + 5 + g_bytes_get_size(npy);
    bad[cd + 30] = 12; /* extra length 12 of the 28 bytes */
    bad[cd + 46 + 5 + 2] = 8;
    g_autofree char *bpath = seg_write_temp("zip64-bad.npz", bad, len);
    g_free(bad);
    g_assert_cmpint(pali_npz_open(bpath, &npz, &err), !=, PALI_OK);
    g_test_message("%s", err.message);
    g_assert_null(npz);
    /* every prefix of the zip64 archive is refused cleanly */
    for (gsize n = 0; n < len; n++) {
        g_autofree char *cut = seg_write_temp("zip64-cut.npz", d, n);
        g_assert_false(open_and_read_all(cut));
    }
}

static void test_bad_args(void)
{
    pali_npz *npz = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_npz_open(NULL, &npz, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_npz_open(test_tmpdir(), &npz, &err), ==, PALI_ERR_IO);
    g_assert_nonnull(strstr(err.message, "not a regular file"));
    pali_npz_close(NULL);
    pali_npy_array_clear(NULL);
    g_assert_cmpuint(pali_npz_count(NULL), ==, 0);
    g_assert_false(pali_npz_has(NULL, "a"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/npz/numpy-stored", test_stored);
    g_test_add_func("/engine/npz/numpy-deflated", test_deflated);
    g_test_add_func("/engine/npz/refused-layouts", test_refused_layouts);
    g_test_add_func("/engine/npz/truncated-everywhere",
                    test_truncated_everywhere);
    g_test_add_func("/engine/npz/flipped-everywhere", test_flipped_everywhere);
    g_test_add_func("/engine/npz/targeted-damage", test_targeted_damage);
    g_test_add_func("/engine/npz/npy-header-errors", test_npy_header_errors);
    g_test_add_func("/engine/npz/deflate-damage", test_deflate_damage);
    g_test_add_func("/engine/npz/zip64", test_zip64);
    g_test_add_func("/engine/npz/bad-args", test_bad_args);
    return g_test_run();
}
