/* test-quant.c — the quantized-weight cache (quant-cache.c) on copies of a
 * golden model: made on first use with the codes pali_quantize_row gives,
 * reused without rewriting, remade when the checkpoint changes (the stale
 * file removed), remade when corrupt, never left half-written (no temporary
 * files, aborting leaves nothing), q8 and q4 side by side; bf16 copies of
 * an f32 checkpoint; the RAM check refusing with the numbers. */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "pali.h"
#include "quant.h"
#include "testutil.h"

/* A copy of golden model `name` (top-level files only) in a fresh dir. */
static char *copy_model(const char *name, const char *as)
{
    g_autofree char *rel = g_build_filename("golden", name, NULL);
    g_autofree char *src = test_data_path(rel);
    char *dst = g_build_filename(test_tmpdir(), as, NULL);
    g_assert_cmpint(g_mkdir_with_parents(dst, 0755), ==, 0);
    GDir *dir = g_dir_open(src, 0, NULL);
    g_assert_nonnull(dir);
    const char *f;
    while ((f = g_dir_read_name(dir)) != NULL) {
        g_autofree char *from = g_build_filename(src, f, NULL);
        if (g_file_test(from, G_FILE_TEST_IS_DIR))
            continue;
        g_autofree char *to = g_build_filename(dst, f, NULL);
        g_autofree char *data = NULL;
        gsize len = 0;
        g_assert_true(g_file_get_contents(from, &data, &len, NULL));
        g_assert_true(g_file_set_contents(to, data, (gssize)len, NULL));
    }
    g_dir_close(dir);
    return dst;
}

/* Names in `dir` ending with `suffix`, sorted. */
static GPtrArray *list(const char *dir, const char *suffix)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
        return out;
    g_autoptr(GPtrArray) all = test_dir_names(dir);
    for (guint i = 0; i < all->len; i++) {
        const char *f = g_ptr_array_index(all, i);
        if (strstr(f, suffix) != NULL)
            g_ptr_array_add(out, g_strdup(f));
    }
    return out;
}

static pali_model *load(const char *dir, pali_weights w, const char *cache,
                        pali_status want, pali_error *err)
{
    pali_model_params p = pali_model_default_params();
    p.weights = w;
    p.cache_dir = cache;
    pali_model *m = NULL;
    pali_status st = pali_model_load(dir, &p, &m, err);
    if (st != want)
        g_error("load %s: status %d, wanted %d: %s", dir, st, want,
                err->message);
    return m;
}

/* Every text matrix is `fmt` and holds exactly the codes of the source. */
static void check_quantized(const pali_model *q, const pali_model *src,
                            pali_dtype fmt)
{
    const pali_tensor *pairs[][2] = {
        { &q->embed, &src->embed },
        { &q->text[0].q_w, &src->text[0].q_w },
        { &q->text[1].down_w, &src->text[1].down_w },
        { &q->text[q->cfg.info.text_layers - 1].gate_w,
          &src->text[src->cfg.info.text_layers - 1].gate_w },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
        const pali_tensor *a = pairs[i][0], *b = pairs[i][1];
        g_assert_cmpint(a->dtype, ==, fmt);
        const int64_t rows = pali_tensor_rows(b), cols = pali_tensor_cols(b);
        float *row = g_new(float, cols);
        uint8_t *codes = g_new(uint8_t, cols);
        uint16_t *scales = g_new(uint16_t, cols / PALI_QUANT_BLOCK);
        for (int64_t r = 0; r < rows; r += rows / 7 + 1) {
            pali_tensor_read_f32(b, r * cols, cols, row);
            pali_quantize_row(fmt, row, cols, codes, scales);
            g_assert_cmpmem(pali_quant_codes(a, r),
                            (gsize)pali_quant_row_bytes(fmt, cols), codes,
                            (gsize)pali_quant_row_bytes(fmt, cols));
            g_assert_cmpmem(pali_quant_scales(a, r),
                            (gsize)(cols / PALI_QUANT_BLOCK) * 2, scales,
                            (gsize)(cols / PALI_QUANT_BLOCK) * 2);
        }
        g_free(row);
        g_free(codes);
        g_free(scales);
    }
    // the vision tower stays as stored
    g_assert_cmpint(q->vision[0].q_w.dtype, ==, src->vision[0].q_w.dtype);
}

static void test_cache_lifecycle(void)
{
    g_autofree char *dir = copy_model("tiny-448", "life");
    g_autofree char *cache =
        g_build_filename(test_tmpdir(), "cache-life", NULL);
    pali_error err = { 0 };
    pali_model *src = load(dir, PALI_WEIGHTS_AS_STORED, NULL, PALI_OK, &err);

    // made on first use: one file, no temporary left
    pali_model *q = load(dir, PALI_WEIGHTS_Q8, cache, PALI_OK, &err);
    check_quantized(q, src, PALI_DTYPE_Q8);
    g_assert_cmpuint(pali_model_resident_bytes(q), ==,
                     pali_model_bytes_as(src, PALI_DTYPE_Q8));
    pali_model_free(q);
    g_autoptr(GPtrArray) files = list(cache, ".palq");
    g_assert_cmpuint(files->len, ==, 1);
    g_autoptr(GPtrArray) tmps = list(cache, ".tmp.");
    g_assert_cmpuint(tmps->len, ==, 0);
    g_autofree char *path =
        g_build_filename(cache, g_ptr_array_index(files, 0), NULL);
    GStatBuf before;
    g_assert_cmpint(g_stat(path, &before), ==, 0);

    // used again as it is
    q = load(dir, PALI_WEIGHTS_Q8, cache, PALI_OK, &err);
    GStatBuf after;
    g_assert_cmpint(g_stat(path, &after), ==, 0);
    g_assert_cmpint(before.st_mtime, ==, after.st_mtime);
    g_assert_cmpint(before.st_ino, ==, after.st_ino);
    pali_model_free(q);

    // q4 beside it
    q = load(dir, PALI_WEIGHTS_Q4, cache, PALI_OK, &err);
    check_quantized(q, src, PALI_DTYPE_Q4);
    pali_model_free(q);
    g_autoptr(GPtrArray) both = list(cache, ".palq");
    g_assert_cmpuint(both->len, ==, 2);
    pali_model_free(src);

    // a changed checkpoint: a new key, the old file gone, new codes
    g_autofree char *weights = g_build_filename(dir, "model.safetensors", NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(weights, &data, &len, NULL));
    data[len - 1] ^= 0x40; // the last weight (a text matrix value) changes
    g_assert_true(g_file_set_contents(weights, data, (gssize)len, NULL));
    src = load(dir, PALI_WEIGHTS_AS_STORED, NULL, PALI_OK, &err);
    q = load(dir, PALI_WEIGHTS_Q8, cache, PALI_OK, &err);
    check_quantized(q, src, PALI_DTYPE_Q8);
    pali_model_free(q);
    g_autoptr(GPtrArray) now = list(cache, ".palq");
    g_assert_cmpuint(now->len, ==, 2); // the new q8 and the old q4
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));

    // a corrupt file is made again
    g_autoptr(GPtrArray) q8 = list(cache, "-q8-");
    g_assert_cmpuint(q8->len, ==, 1);
    g_autofree char *p8 =
        g_build_filename(cache, g_ptr_array_index(q8, 0), NULL);
    g_autofree char *bytes = NULL;
    g_assert_true(g_file_get_contents(p8, &bytes, &len, NULL));
    bytes[3] ^= 1; // the magic
    g_assert_true(g_file_set_contents(p8, bytes, (gssize)len, NULL));
    q = load(dir, PALI_WEIGHTS_Q8, cache, PALI_OK, &err);
    check_quantized(q, src, PALI_DTYPE_Q8);
    pali_model_free(q);
    pali_model_free(src);
}

/* Aborts once the conversion has written its first tensor: the
 * conversion's progress counts the 1 + 7·layers quantized matrices. */
typedef struct {
    int done, total, calls;
} Progress;

static void on_progress(pali_phase phase, int done, int total, void *data)
{
    Progress *p = data;
    p->done = done;
    p->total = total;
    p->calls++;
}

static bool abort_in_conversion(void *data)
{
    const Progress *p = data;
    return p->total == 1 + 7 * 4 && p->done >= 1;
}

static void test_abort_leaves_nothing(void)
{
    g_autofree char *dir = copy_model("tiny-224", "abort");
    g_autofree char *cache =
        g_build_filename(test_tmpdir(), "cache-abort", NULL);
    pali_model_params p = pali_model_default_params();
    p.weights = PALI_WEIGHTS_Q4;
    p.cache_dir = cache;
    Progress prog = { 0 };
    p.callbacks.should_abort = abort_in_conversion;
    p.callbacks.progress = on_progress;
    p.callbacks.user_data = &prog;
    pali_model *m = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_model_load(dir, &p, &m, &err), ==, PALI_ERR_ABORTED);
    g_assert_null(m);
    g_assert_cmpint(prog.total, ==, 29); // it was converting
    g_assert_cmpint(prog.done, ==, 1);
    g_autoptr(GPtrArray) files = list(cache, ".palq");
    g_assert_cmpuint(files->len, ==, 0);
    g_autoptr(GPtrArray) tmps = list(cache, ".tmp.");
    g_assert_cmpuint(tmps->len, ==, 0);
}

static void test_bf16_copies(void)
{
    g_autofree char *dir = copy_model("tiny-224", "bf16"); // stored as f32
    pali_error err = { 0 };
    pali_model *src = load(dir, PALI_WEIGHTS_AS_STORED, NULL, PALI_OK, &err);
    pali_model *m = load(dir, PALI_WEIGHTS_BF16, NULL, PALI_OK, &err);
    const pali_tensor *a = &m->text[0].up_w, *b = &src->text[0].up_w;
    g_assert_cmpint(a->dtype, ==, PALI_DTYPE_BF16);
    g_assert_cmpint(m->vision[0].fc1_w.dtype, ==, PALI_DTYPE_BF16);
    for (int64_t i = 0; i < pali_tensor_numel(b); i++) {
        float f;
        pali_tensor_read_f32(b, i, 1, &f);
        g_assert_cmpuint(((const uint16_t *)a->data)[i], ==,
                         pali_f32_to_bf16(f));
    }
    g_assert_cmpuint(pali_model_resident_bytes(m), <,
                     pali_model_resident_bytes(src));
    pali_model_free(m);
    pali_model_free(src);
}

static void test_memory_refusal(void)
{
    g_autofree char *dir = copy_model("tiny-448", "ram");
    g_setenv(PALI_MEMORY_LIMIT_ENV, "100000", TRUE); // 100 kB "of RAM"
    pali_error err = { 0 };
    pali_model *m =
        load(dir, PALI_WEIGHTS_AS_STORED, NULL, PALI_ERR_OUT_OF_MEMORY, &err);
    g_assert_null(m);
    g_test_message("%s", err.message);
    g_assert_nonnull(strstr(err.message, "MB in memory"));
    g_assert_nonnull(strstr(err.message, "this machine has 0.1 MB"));
    g_assert_nonnull(strstr(err.message, "8-bit weights would need"));
    // nothing is converted for a format that would not fit either
    g_autofree char *cache = g_build_filename(test_tmpdir(), "cache-ram", NULL);
    m = load(dir, PALI_WEIGHTS_Q4, cache, PALI_ERR_OUT_OF_MEMORY, &err);
    g_autoptr(GPtrArray) files = list(cache, ".palq");
    g_assert_cmpuint(files->len, ==, 0);
    g_unsetenv(PALI_MEMORY_LIMIT_ENV);
    m = load(dir, PALI_WEIGHTS_AS_STORED, NULL, PALI_OK, &err);

    // weights that fit, a generation that does not: refused before it
    // allocates, with the parts named
    g_autofree char *limit = g_strdup_printf(
        "%" G_GUINT64_FORMAT, (guint64)pali_model_resident_bytes(m) + 1000);
    g_setenv(PALI_MEMORY_LIMIT_ENV, limit, TRUE);
    pali_session *s = NULL;
    g_assert_cmpint(pali_session_new(m, NULL, &s, &err), ==, PALI_OK);
    static uint8_t px[32 * 32 * 3];
    const pali_image img = { px, 32, 32, 32 * 3, PALI_PIXEL_RGB8 };
    g_assert_cmpint(pali_session_set_image(s, &img, NULL, &err), ==, PALI_OK);
    const pali_output *out = NULL;
    g_assert_cmpint(
        pali_session_generate(s, "caption en", NULL, NULL, &out, &err), ==,
        PALI_ERR_OUT_OF_MEMORY);
    g_test_message("%s", err.message);
    g_assert_nonnull(strstr(err.message, "KV cache for"));
    g_assert_nonnull(strstr(err.message, "this machine has"));
    g_unsetenv(PALI_MEMORY_LIMIT_ENV);
    g_assert_cmpint(
        pali_session_generate(s, "caption en", NULL, NULL, &out, &err), ==,
        PALI_OK);
    pali_session_free(s);
    pali_model_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/quant/cache-lifecycle", test_cache_lifecycle);
    g_test_add_func("/engine/quant/abort-leaves-nothing",
                    test_abort_leaves_nothing);
    g_test_add_func("/engine/quant/bf16-copies", test_bf16_copies);
    g_test_add_func("/engine/quant/memory-refusal", test_memory_refusal);
    return g_test_run();
}
