/* test-safetensors.c — the safetensors reader on valid files and on every
 * kind of corruption: each must fail with the right status and a message
 * naming the file and (where there is one) the tensor. */
#include <string.h>

#include "safetensors.h"
#include "st-writer.h"
#include "testutil.h"

static char *tmp_path(const char *name)
{
    return g_build_filename(test_tmpdir(), name, NULL);
}

/* A file holding `header` (padded with spaces to 8 bytes, as writers do)
 * and `data_len` bytes of data. */
static char *write_file(const char *name, const char *header, size_t data_len)
{
    char *path = tmp_path(name);
    GString *h = g_string_new(header);
    while (h->len % 8 != 0)
        g_string_append_c(h, ' ');
    test_write_raw_safetensors(path, h->str, data_len);
    g_string_free(h, TRUE);
    return path;
}

/* Opens `path`, expecting `status` and each needle in the message; the
 * file's path is always one of them. */
static void expect_fail(const char *path, pali_status status,
                        const char *needle1, const char *needle2)
{
    pali_safetensors *st = NULL;
    pali_error err = { 0 };
    pali_status s = pali_safetensors_open(path, &st, &err);
    g_assert_null(st);
    if (s != status)
        g_error("%s: expected status %d, got %d: %s", path, status, s,
                err.message);
    g_assert_cmpint(err.status, ==, status);
    const char *needles[] = { path, needle1, needle2 };
    for (size_t i = 0; i < G_N_ELEMENTS(needles); i++) {
        if (needles[i] != NULL && strstr(err.message, needles[i]) == NULL)
            g_error("message '%s' lacks '%s'", err.message, needles[i]);
    }
}

static void test_valid(void)
{
    /* f32 [2,3] at 0, bf16 [4] at 24, f16 scalar at 32, an empty tensor,
     * then 2 bytes of slack at the end */
    const char *header =
        "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"x\"},"
        "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
        "\"data_offsets\":[0,24]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
        "\"c\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[32,34]},"
        "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],"
        "\"data_offsets\":[34,34]}}";
    g_autofree char *path = write_file("valid.safetensors", header, 36);
    pali_safetensors *st = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_safetensors_open(path, &st, &err), ==, PALI_OK);
    g_assert_cmpint(pali_safetensors_count(st), ==, 4);
    g_assert_cmpstr(pali_safetensors_path(st), ==, path);
    const pali_tensor *a = pali_safetensors_find(st, "a.weight");
    g_assert_nonnull(a);
    g_assert_true(a == pali_safetensors_at(st, 0));
    g_assert_cmpint(a->dtype, ==, PALI_DTYPE_F32);
    g_assert_cmpint(a->n_dims, ==, 2);
    g_assert_cmpint(a->shape[0], ==, 2);
    g_assert_cmpint(a->shape[1], ==, 3);
    g_assert_cmpuint(a->nbytes, ==, 24);
    const pali_tensor *b = pali_safetensors_find(st, "b");
    g_assert_cmpint(b->dtype, ==, PALI_DTYPE_BF16);
    g_assert_cmpint((const char *)b->data - (const char *)a->data, ==, 24);
    const pali_tensor *c = pali_safetensors_find(st, "c");
    g_assert_cmpint(c->dtype, ==, PALI_DTYPE_F16);
    g_assert_cmpint(c->n_dims, ==, 0);
    g_assert_cmpint(pali_tensor_numel(c), ==, 1);
    g_assert_cmpuint(pali_safetensors_find(st, "empty")->nbytes, ==, 0);
    g_assert_null(pali_safetensors_find(st, "missing"));
    g_assert_null(pali_safetensors_at(st, 4));
    g_assert_cmpint(pali_safetensors_metadata_count(st), ==, 2);
    g_assert_cmpstr(pali_safetensors_metadata_key(st, 1), ==, "note");
    g_assert_cmpstr(pali_safetensors_metadata_get(st, "format"), ==, "pt");
    g_assert_null(pali_safetensors_metadata_get(st, "nope"));
    g_assert_cmpuint(pali_safetensors_file_size(st), ==,
                     8 + (strlen(header) + 7) / 8 * 8 + 36);
    pali_safetensors_close(st);
    pali_safetensors_close(NULL);
}

/* The writer used by the other tests makes files this reader accepts. */
static void test_writer_roundtrip(void)
{
    float data[12];
    for (int i = 0; i < 12; i++)
        data[i] = (float)i * 0.5f;
    StWriter *w = stw_new();
    stw_add(w, "x", "F32", 2, (int64_t[]){ 3, 4 }, data, sizeof(data));
    stw_add(w, "y", "F32", 1, (int64_t[]){ 2 }, data, 8);
    g_autofree char *path = tmp_path("writer.safetensors");
    stw_write(w, path, "{\"format\":\"pt\"}");
    stw_free(w);
    pali_safetensors *st = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_safetensors_open(path, &st, &err), ==, PALI_OK);
    const pali_tensor *x = pali_safetensors_find(st, "x");
    g_assert_cmpmem(x->data, x->nbytes, data, sizeof(data));
    pali_safetensors_close(st);
}

static void test_too_short(void)
{
    g_autofree char *path = tmp_path("short.safetensors");
    test_write_bytes(path, "\x10\0\0\0\0", 5);
    expect_fail(path, PALI_ERR_FORMAT, "5 bytes", "shorter than the 8-byte");
    test_write_bytes(path, "", 0);
    expect_fail(path, PALI_ERR_FORMAT, "0 bytes", NULL);
}

static void test_header_length(void)
{
    g_autofree char *path = tmp_path("hlen.safetensors");
    /* 1000 bytes of header claimed, 12 present */
    test_write_bytes(path, "\xe8\x03\0\0\0\0\0\0{}  ", 12);
    expect_fail(path, PALI_ERR_FORMAT, "header length 1000",
                "past the end of the file");
    /* absurd: 2^62 */
    test_write_bytes(path, "\0\0\0\0\0\0\0\x40{}  ", 12);
    expect_fail(path, PALI_ERR_FORMAT, "4611686018427387904", "larger than");
}

static void test_header_not_json(void)
{
    g_autofree char *a = write_file("notjson.safetensors", "{\"t\": nope}", 0);
    expect_fail(a, PALI_ERR_FORMAT, "header: invalid JSON at byte 6", NULL);
    g_autofree char *b = write_file("utf8.safetensors", "{\"t\xff\": {}}", 0);
    expect_fail(b, PALI_ERR_FORMAT, "header: invalid JSON at byte", "UTF-8");
    g_autofree char *c = write_file("array.safetensors", "[1, 2]", 0);
    expect_fail(c, PALI_ERR_FORMAT, "not a JSON object", "an array");
    g_autofree char *d = write_file("nul.safetensors",
                                    "{\"a\\u0000b\": {\"dtype\": \"F32\", "
                                    "\"shape\": [], \"data_offsets\": [0, "
                                    "4]}}",
                                    4);
    expect_fail(d, PALI_ERR_FORMAT, "U+0000", NULL);
}

typedef struct {
    const char *name;
    const char *header;
    size_t data_len;
    pali_status status;
    const char *needle1, *needle2;
} BadCase;

static const BadCase bad_entries[] = {
    { "entry-type", "{\"w\": 5}", 0, PALI_ERR_FORMAT, "tensor 'w'",
      "expected an object, got 5" },
    { "no-dtype", "{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
      PALI_ERR_FORMAT, "tensor 'w'", "no \"dtype\"" },
    { "no-shape", "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4,
      PALI_ERR_FORMAT, "tensor 'w'", "no \"shape\"" },
    { "no-offsets", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4,
      PALI_ERR_FORMAT, "tensor 'w'", "no \"data_offsets\"" },
    { "dtype-type",
      "{\"w\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
      PALI_ERR_FORMAT, "tensor 'w'", "dtype: expected a string, got 32" },
    { "dtype-unknown",
      "{\"w\": {\"dtype\": \"F33\", \"shape\": [1], \"data_offsets\": [0, "
      "4]}}",
      4, PALI_ERR_FORMAT, "tensor 'w'", "unknown dtype \"F33\"" },
    { "dtype-unsupported",
      "{\"w\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, "
      "8]}}",
      8, PALI_ERR_UNSUPPORTED, "tensor 'w'", "dtype \"I64\" is not supported" },
    { "shape-type",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": 4, \"data_offsets\": [0, 16]}}",
      16, PALI_ERR_FORMAT, "tensor 'w'", "shape: expected an array" },
    { "shape-negative",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, "
      "8]}}",
      8, PALI_ERR_FORMAT, "tensor 'w'", "shape[1]" },
    { "shape-string",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, "
      "8]}}",
      8, PALI_ERR_FORMAT, "tensor 'w'", "shape[0]" },
    { "shape-huge",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2199023255553], "
      "\"data_offsets\": [0, 8]}}",
      8, PALI_ERR_FORMAT, "tensor 'w'", "2199023255553" },
    { "numel-overflow",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1099511627776, "
      "1099511627776], \"data_offsets\": [0, 8]}}",
      8, PALI_ERR_FORMAT, "tensor 'w'", "overflows" },
    { "too-many-dims",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1, 1, 1, 1, 1], "
      "\"data_offsets\": [0, 4]}}",
      4, PALI_ERR_UNSUPPORTED, "tensor 'w'", "5 dimensions" },
    { "offsets-type",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4,
      PALI_ERR_FORMAT, "tensor 'w'", "data_offsets: expected [begin, end]" },
    { "offsets-negative",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, "
      "0]}}",
      4, PALI_ERR_FORMAT, "tensor 'w'", "data_offsets[0]" },
    { "offsets-fraction",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, "
      "4.0]}}",
      4, PALI_ERR_FORMAT, "tensor 'w'", "data_offsets[1]" },
    { "end-before-begin",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, "
      "4]}}",
      8, PALI_ERR_FORMAT, "tensor 'w'", "end 4 is before begin 8" },
    { "out-of-range",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, "
      "16]}}",
      12, PALI_ERR_FORMAT, "tensor 'w'", "past the data section (12 bytes" },
    { "size-mismatch",
      "{\"w\": {\"dtype\": \"BF16\", \"shape\": [2, 3], \"data_offsets\": [0, "
      "16]}}",
      16, PALI_ERR_FORMAT, "tensor 'w'", "span 16 bytes but the shape" },
    { "overlap",
      "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, "
      "16]}, \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": "
      "[8, 24]}}",
      24, PALI_ERR_FORMAT, "tensors 'a' and 'b' overlap", NULL },
    { "overlap-contained",
      "{\"big\": {\"dtype\": \"F32\", \"shape\": [8], \"data_offsets\": [0, "
      "32]}, \"c\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": "
      "[24, 28]}, \"d\": {\"dtype\": \"F32\", \"shape\": [1], "
      "\"data_offsets\": [32, 36]}}",
      36, PALI_ERR_FORMAT, "'big' and 'c' overlap", NULL },
    { "duplicate",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, "
      "4]}, \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, "
      "8]}}",
      8, PALI_ERR_FORMAT, "tensor 'w' appears twice", NULL },
    { "misaligned",
      "{\"h\": {\"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0, "
      "2]}, \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [2, "
      "6]}}",
      8, PALI_ERR_UNSUPPORTED, "tensor 'w'", "not aligned" },
    { "empty-name",
      "{\"\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, "
      "4]}}",
      4, PALI_ERR_FORMAT, "empty name", NULL },
    { "metadata-type", "{\"__metadata__\": [1]}", 0, PALI_ERR_FORMAT,
      "__metadata__: expected an object", NULL },
    { "metadata-value", "{\"__metadata__\": {\"format\": 1}}", 0,
      PALI_ERR_FORMAT, "__metadata__.format: expected a string, got 1", NULL },
    { "metadata-twice", "{\"__metadata__\": {}, \"__metadata__\": {}}", 0,
      PALI_ERR_FORMAT, "\"__metadata__\" appears twice", NULL },
};

static void test_bad_entries(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_entries); i++) {
        const BadCase *c = &bad_entries[i];
        g_autofree char *name = g_strdup_printf("%s.safetensors", c->name);
        g_autofree char *path = write_file(name, c->header, c->data_len);
        expect_fail(path, c->status, c->needle1, c->needle2);
    }
}

/* Every truncation of a valid file is refused cleanly. */
static void test_truncations(void)
{
    const char *header =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[16,24]}}";
    g_autofree char *full = write_file("full.safetensors", header, 24);
    g_autoptr(GBytes) bytes = test_read_file(full);
    gsize len;
    const guint8 *d = g_bytes_get_data(bytes, &len);
    g_autofree char *path = tmp_path("cut.safetensors");
    for (gsize cut = 0; cut < len; cut++) {
        test_write_bytes(path, d, cut);
        pali_safetensors *st = NULL;
        pali_error err = { 0 };
        g_assert_cmpint(pali_safetensors_open(path, &st, &err), ==,
                        PALI_ERR_FORMAT);
        g_assert_null(st);
        g_assert_nonnull(strstr(err.message, path));
    }
}

static void test_not_a_file(void)
{
    g_autofree char *missing = tmp_path("absent.safetensors");
    expect_fail(missing, PALI_ERR_NOT_FOUND, "cannot open", NULL);
    expect_fail(test_tmpdir(), PALI_ERR_IO, "not a regular file", NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/safetensors/valid", test_valid);
    g_test_add_func("/engine/safetensors/writer", test_writer_roundtrip);
    g_test_add_func("/engine/safetensors/too-short", test_too_short);
    g_test_add_func("/engine/safetensors/header-length", test_header_length);
    g_test_add_func("/engine/safetensors/header-not-json",
                    test_header_not_json);
    g_test_add_func("/engine/safetensors/bad-entries", test_bad_entries);
    g_test_add_func("/engine/safetensors/truncations", test_truncations);
    g_test_add_func("/engine/safetensors/not-a-file", test_not_a_file);
    return g_test_run();
}
