/* test-vae.c — the VQ-VAE mask decoder against the segmentation goldens:
 * the 20 mask cases (raw, post-processed, 8-bit), every intermediate layer
 * of two cases, bad codes, broken weight files, and pali_vae_find. */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "npz.h"
#include "seg-testutil.h"
#include "testutil.h"
#include "vae.h"

/* Tolerances of segmentation/README.md §7. */
#define TOL_RAW            1e-4
#define TOL_POST           1e-4
#define U8_MAX_DIFF        1
#define U8_MAX_OFF_PERCENT 0.1

#define MASK_PIXELS (PALI_MASK_SIZE * PALI_MASK_SIZE)

static pali_vae *load_random_vae(void)
{
    g_autofree char *path = test_data_path("segmentation/vae-random.npz");
    pali_vae *vae = NULL;
    pali_error err = { 0 };
    pali_status st = pali_vae_load(path, &vae, &err);
    if (st != PALI_OK)
        g_error("%s", err.message);
    return vae;
}

static void test_mask_cases(void)
{
    g_autofree char *path =
        test_data_path("segmentation/mask_cases.safetensors");
    SegTensor codes, raw, post, u8;
    g_assert_true(seg_safetensors_read(path, "codes", &codes));
    g_assert_true(seg_safetensors_read(path, "mask_raw", &raw));
    g_assert_true(seg_safetensors_read(path, "mask_post", &post));
    g_assert_true(seg_safetensors_read(path, "mask_u8", &u8));
    g_assert_cmpstr(codes.dtype, ==, "I32");
    g_assert_cmpstr(u8.dtype, ==, "U8");
    int n = (int)codes.shape[0];
    g_assert_cmpint(n, ==, 20);
    pali_vae *vae = load_random_vae();
    double worst_raw = 0, worst_post = 0, ms = 0;
    int u8_off = 0;
    for (int c = 0; c < n; c++) {
        int cc[PALI_MASK_CODES];
        for (int i = 0; i < PALI_MASK_CODES; i++)
            cc[i] = ((const int32_t *)codes.data)[c * PALI_MASK_CODES + i];
        float out[MASK_PIXELS];
        pali_error err = { 0 };
        double t0 = pali_now_ms();
        g_assert_cmpint(pali_vae_decode(vae, cc, out, &err), ==, PALI_OK);
        ms += pali_now_ms() - t0;
        const float *want = (const float *)raw.data + c * MASK_PIXELS;
        double d = test_max_abs_diff(out, want, MASK_PIXELS);
        worst_raw = fmax(worst_raw, d);
        float p[MASK_PIXELS];
        for (int i = 0; i < MASK_PIXELS; i++) {
            float v = out[i] * 0.5f + 0.5f;
            p[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        worst_post = fmax(
            worst_post,
            test_max_abs_diff(p, (const float *)post.data + c * MASK_PIXELS,
                              MASK_PIXELS));
        uint8_t m8[MASK_PIXELS];
        pali_vae_mask_to_u8(out, m8, MASK_PIXELS);
        const uint8_t *w8 = (const uint8_t *)u8.data + c * MASK_PIXELS;
        for (int i = 0; i < MASK_PIXELS; i++) {
            int diff = abs((int)m8[i] - (int)w8[i]);
            g_assert_cmpint(diff, <=, U8_MAX_DIFF);
            u8_off += diff != 0;
        }
        /* The same codes decode to the same mask (no hidden state). */
        float again[MASK_PIXELS];
        g_assert_cmpint(pali_vae_decode(vae, cc, again, &err), ==, PALI_OK);
        g_assert_cmpmem(again, sizeof(again), out, sizeof(out));
    }
    g_test_message("max |raw - golden| %.3g, max |post - golden| %.3g, "
                   "u8 pixels off by one: %d of %d; %.2f ms per mask",
                   worst_raw, worst_post, u8_off, n * MASK_PIXELS, ms / n);
    g_assert_cmpfloat(worst_raw, <=, TOL_RAW);
    g_assert_cmpfloat(worst_post, <=, TOL_POST);
    g_assert_cmpfloat(100.0 * u8_off / (n * MASK_PIXELS), <=,
                      U8_MAX_OFF_PERCENT);
    pali_vae_free(vae);
    seg_tensor_clear(&codes);
    seg_tensor_clear(&raw);
    seg_tensor_clear(&post);
    seg_tensor_clear(&u8);
}

/* The 8-bit post-processing alone, fed the golden raw masks: truncation
 * exactly as numpy does it except right at integers. */
static void test_post_u8(void)
{
    g_autofree char *path =
        test_data_path("segmentation/mask_cases.safetensors");
    SegTensor raw, u8;
    g_assert_true(seg_safetensors_read(path, "mask_raw", &raw));
    g_assert_true(seg_safetensors_read(path, "mask_u8", &u8));
    size_t n = raw.nbytes / sizeof(float);
    uint8_t *m8 = g_malloc(n);
    pali_vae_mask_to_u8(raw.data, m8, (int)n);
    g_assert_cmpmem(m8, n, u8.data, u8.nbytes);
    g_free(m8);
    /* NaN and infinities stay in range. */
    float odd[4] = { NAN, INFINITY, -INFINITY, 0.0f };
    uint8_t o8[4];
    pali_vae_mask_to_u8(odd, o8, 4);
    g_assert_cmpint(o8[0], ==, 0);
    g_assert_cmpint(o8[1], ==, 255);
    g_assert_cmpint(o8[2], ==, 0);
    g_assert_cmpint(o8[3], ==, 127);
    seg_tensor_clear(&raw);
    seg_tensor_clear(&u8);
}

typedef struct {
    const char *case_name;
    const char *path;
    int checked;
    double worst;
} TraceCheck;

static void check_layer(pali_vae_layer layer, const float *data, int h, int w,
                        int c, void *user_data)
{
    TraceCheck *tc = user_data;
    g_autofree char *key =
        g_strdup_printf("%s.%s", tc->case_name, pali_vae_layer_name(layer));
    SegTensor t;
    g_assert_true(seg_safetensors_read(tc->path, key, &t));
    g_assert_cmpint(t.n_dims, ==, 3);
    g_assert_cmpint(t.shape[0], ==, h);
    g_assert_cmpint(t.shape[1], ==, w);
    g_assert_cmpint(t.shape[2], ==, c);
    double d =
        test_max_abs_diff(data, t.data, (size_t)h * (size_t)w * (size_t)c);
    if (d > TOL_RAW)
        g_error("%s: max |delta| %.3g > %.1g", key, d, TOL_RAW);
    tc->worst = fmax(tc->worst, d);
    tc->checked++;
    seg_tensor_clear(&t);
}

static void test_intermediates(void)
{
    pali_json_doc *doc = seg_json_load("segmentation/mask_cases.json");
    const pali_json *cases = pali_json_get(pali_json_root(doc), "cases");
    g_autofree char *path =
        test_data_path("segmentation/mask_intermediates.safetensors");
    pali_vae *vae = load_random_vae();
    const char *names[] = { "ramp_0_15", "random_0" };
    for (size_t k = 0; k < G_N_ELEMENTS(names); k++) {
        const pali_json *codes = NULL;
        for (uint32_t i = 0; i < cases->len; i++) {
            const pali_json *c = &cases->u.items[i];
            if (strcmp(pali_json_get(c, "name")->u.string, names[k]) == 0)
                codes = pali_json_get(c, "codes");
        }
        g_assert_nonnull(codes);
        int cc[PALI_MASK_CODES];
        for (int i = 0; i < PALI_MASK_CODES; i++)
            cc[i] = (int)codes->u.items[i].integer;
        TraceCheck tc = { names[k], path, 0, 0 };
        float raw[MASK_PIXELS];
        pali_error err = { 0 };
        g_assert_cmpint(
            pali_vae_decode_trace(vae, cc, raw, check_layer, &tc, &err), ==,
            PALI_OK);
        g_assert_cmpint(tc.checked, ==, PALI_VAE_N_LAYERS);
        g_test_message("%s: every layer within %.3g", names[k], tc.worst);
    }
    pali_vae_free(vae);
    pali_json_free(doc);
}

static void test_bad_codes(void)
{
    pali_vae *vae = load_random_vae();
    int cc[PALI_MASK_CODES] = { 0 };
    float raw[MASK_PIXELS];
    pali_error err = { 0 };
    cc[7] = 128;
    g_assert_cmpint(pali_vae_decode(vae, cc, raw, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(err.message, "index 7"));
    cc[7] = -1;
    g_assert_cmpint(pali_vae_decode(vae, cc, raw, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_vae_decode(NULL, cc, raw, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    pali_vae_free(vae);
    pali_vae_free(NULL);
}

/* Rewrites vae-random.npz with one array changed (or dropped: shape NULL). */
static char *modified_vae(const char *file, const char *victim, int n_dims,
                          const int64_t *shape, const char *descr)
{
    g_autofree char *src = test_data_path("segmentation/vae-random.npz");
    pali_npz *npz = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_npz_open(src, &npz, &err), ==, PALI_OK);
    size_t n = pali_npz_count(npz);
    SegZipEntry *entries = g_new0(SegZipEntry, n);
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = pali_npz_name(npz, i);
        pali_npy_array a;
        g_assert_cmpint(pali_npz_read(npz, name, &a, &err), ==, PALI_OK);
        GBytes *bytes;
        if (strcmp(name, victim) == 0) {
            if (shape == NULL) {
                pali_npy_array_clear(&a);
                continue;
            }
            size_t numel = 1;
            for (int d = 0; d < n_dims; d++)
                numel *= (size_t)shape[d];
            void *zeros = g_malloc0(numel * 8);
            bytes = seg_npy_bytes(descr, n_dims, shape, zeros,
                                  numel * (descr[2] == '8' ? 8 : 4));
            g_free(zeros);
        } else {
            bytes = seg_npy_bytes("<f4", a.n_dims, a.shape, a.data, a.nbytes);
        }
        entries[k].name = g_strdup_printf("%s.npy", name);
        entries[k].data = bytes;
        k++;
        pali_npy_array_clear(&a);
    }
    pali_npz_close(npz);
    GBytes *zip = seg_zip_build(entries, k);
    for (int i = 0; i < k; i++) {
        g_free((char *)entries[i].name);
        g_bytes_unref(entries[i].data);
    }
    g_free(entries);
    gsize len;
    const void *d = g_bytes_get_data(zip, &len);
    char *path = seg_write_temp(file, d, len);
    g_bytes_unref(zip);
    return path;
}

static void expect_load_error(const char *path, pali_status status,
                              const char *needle1, const char *needle2)
{
    pali_vae *vae = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_vae_load(path, &vae, &err), ==, status);
    g_assert_null(vae);
    g_test_message("%s", err.message);
    g_assert_nonnull(strstr(err.message, needle1));
    if (needle2)
        g_assert_nonnull(strstr(err.message, needle2));
}

static void test_bad_weights(void)
{
    /* a decoder array missing */
    g_autofree char *missing =
        modified_vae("missing.npz", "decoder.6.bias", 0, NULL, NULL);
    expect_load_error(missing, PALI_ERR_NOT_FOUND, "decoder.6.bias",
                      "missing.npz");
    /* a transposed conv stored (out, in) instead of (in, out) */
    const int64_t swapped[] = { 64, 128, 4, 4 };
    g_autofree char *shape =
        modified_vae("shape.npz", "decoder.6.weight", 4, swapped, "<f4");
    expect_load_error(shape, PALI_ERR_FORMAT, "decoder.6.weight",
                      "(64, 128, 4, 4), expected <f4 (128, 64, 4, 4)");
    /* the codebook as float64 */
    const int64_t cb[] = { 128, 512 };
    g_autofree char *dtype =
        modified_vae("dtype.npz", "_vq_vae._embedding", 2, cb, "<f8");
    expect_load_error(dtype, PALI_ERR_FORMAT, "_vq_vae._embedding", "<f8");
    /* an unused array with a wrong shape is still an error ... */
    const int64_t enc[] = { 16, 1, 3, 3 };
    g_autofree char *unused =
        modified_vae("unused.npz", "encoder.0.weight", 4, enc, "<f4");
    expect_load_error(unused, PALI_ERR_FORMAT, "encoder.0.weight", NULL);
    /* ... but a file without the EMA buffers loads and decodes. */
    g_autofree char *no_ema =
        modified_vae("no-ema.npz", "_vq_vae._ema_w", 0, NULL, NULL);
    pali_vae *vae = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_vae_load(no_ema, &vae, &err), ==, PALI_OK);
    pali_vae *ref = load_random_vae();
    int cc[PALI_MASK_CODES] = { 5,  9, 77, 127, 0, 3, 3, 3,
                                64, 1, 2,  3,   4, 5, 6, 7 };
    float a[MASK_PIXELS], b[MASK_PIXELS];
    g_assert_cmpint(pali_vae_decode(vae, cc, a, &err), ==, PALI_OK);
    g_assert_cmpint(pali_vae_decode(ref, cc, b, &err), ==, PALI_OK);
    g_assert_cmpmem(a, sizeof(a), b, sizeof(b));
    pali_vae_free(vae);
    pali_vae_free(ref);
    /* not a zip at all, and a missing file */
    g_autofree char *junk = seg_write_temp("junk.npz", "hello", 5);
    expect_load_error(junk, PALI_ERR_FORMAT, "junk.npz", "not a zip");
    g_autofree char *none = g_build_filename(test_tmpdir(), "none.npz", NULL);
    expect_load_error(none, PALI_ERR_NOT_FOUND, "none.npz", NULL);
}

static void test_find(void)
{
    const char *tmp = test_tmpdir();
    g_autofree char *model = g_build_filename(tmp, "model", NULL);
    g_autofree char *data = g_build_filename(tmp, "xdg", NULL);
    g_autofree char *user = g_build_filename(data, "palilens", NULL);
    g_autofree char *home = g_build_filename(tmp, "home", NULL);
    g_autofree char *home_dir =
        g_build_filename(home, ".local", "share", "palilens", NULL);
    g_assert_cmpint(g_mkdir_with_parents(model, 0700), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(user, 0700), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(home_dir, 0700), ==, 0);
    g_setenv("XDG_DATA_HOME", data, TRUE);
    g_setenv("HOME", home, TRUE);
    char buf[4096];
    pali_error err = { 0 };
    /* nothing anywhere */
    g_assert_cmpint(pali_vae_find(model, buf, sizeof(buf), &err), ==,
                    PALI_ERR_NOT_FOUND);
    g_assert_nonnull(strstr(err.message, "vae-oid.npz"));
    /* the user data directory */
    g_autofree char *in_user = g_build_filename(user, "vae-oid.npz", NULL);
    g_assert_true(g_file_set_contents(in_user, "x", 1, NULL));
    g_assert_cmpint(pali_vae_find(model, buf, sizeof(buf), &err), ==, PALI_OK);
    g_assert_cmpstr(buf, ==, in_user);
    g_assert_cmpint(pali_vae_find(NULL, buf, sizeof(buf), &err), ==, PALI_OK);
    /* beside the model wins */
    g_autofree char *in_model = g_build_filename(model, "vae-oid.npz", NULL);
    g_assert_true(g_file_set_contents(in_model, "x", 1, NULL));
    g_assert_cmpint(pali_vae_find(model, buf, sizeof(buf), &err), ==, PALI_OK);
    g_assert_cmpstr(buf, ==, in_model);
    /* a relative XDG_DATA_HOME is ignored: ~/.local/share */
    g_setenv("XDG_DATA_HOME", "relative", TRUE);
    g_autofree char *in_home = g_build_filename(home_dir, "vae-oid.npz", NULL);
    g_assert_true(g_file_set_contents(in_home, "x", 1, NULL));
    g_assert_cmpint(pali_vae_find(NULL, buf, sizeof(buf), &err), ==, PALI_OK);
    g_assert_cmpstr(buf, ==, in_home);
    /* a directory named vae-oid.npz is not a file */
    g_unlink(in_home);
    g_assert_cmpint(g_mkdir(in_home, 0700), ==, 0);
    g_assert_cmpint(pali_vae_find(NULL, buf, sizeof(buf), &err), ==,
                    PALI_ERR_NOT_FOUND);
    /* too small a buffer */
    char tiny[8];
    g_assert_cmpint(pali_vae_find(model, tiny, sizeof(tiny), &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/vae/mask-cases", test_mask_cases);
    g_test_add_func("/engine/vae/post-u8", test_post_u8);
    g_test_add_func("/engine/vae/intermediates", test_intermediates);
    g_test_add_func("/engine/vae/bad-codes", test_bad_codes);
    g_test_add_func("/engine/vae/bad-weights", test_bad_weights);
    g_test_add_func("/engine/vae/find", test_find);
    return g_test_run();
}
