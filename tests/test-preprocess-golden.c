/* test-preprocess-golden.c — the image path end to end against the golden
 * data: for every $PALI_TEST_DATA/golden/<model>/cases/<case>, decode the
 * case's PNG with lens_image_load(), preprocess it with the model's own
 * processor config (processor_config.json's "image_processor", or
 * preprocessor_config.json) and compare with the golden `pixel_values`
 * written by transformers.  The goal is bit-exact; the test asserts at
 * least 99.9 % equal values and none off by more than one 8-bit level
 * (1/127.5), and reports the exact-match rate of each case. */
#include <math.h>
#include <string.h>

#include "image.h"
#include "json.h"
#include "lens-image-loader.h"
#include "testutil.h"

/* The brief's acceptance floor: ≥ 99.9 % of values equal, and a difference
 * never above one 8-bit level, (1/255) / (std 0.5) = 1/127.5. */
#define MIN_EXACT_FRACTION 0.999
#define MAX_DIFF           (1.0 / 127.5)

/* A processor config too big to be real. */
#define CONFIG_MAX_BYTES (1 << 20)

static double number_or(const pali_json *v, double fallback)
{
    if (!pali_json_is(v, PALI_JSON_NUMBER))
        return fallback;
    return v->is_integer ? (double)v->integer : v->u.number;
}

static bool bool_or(const pali_json *v, bool fallback)
{
    if (v != NULL && v->type == PALI_JSON_TRUE)
        return true;
    if (v != NULL && v->type == PALI_JSON_FALSE)
        return false;
    return fallback; /* absent or null: the class default */
}

/* image_mean / image_std: a list of three or one number for all. */
static void triple(const pali_json *v, double out[3])
{
    for (int k = 0; k < 3; k++) {
        if (pali_json_is(v, PALI_JSON_ARRAY))
            out[k] = number_or(&v->u.items[MIN((guint)k, v->len - 1)], NAN);
        else
            out[k] = number_or(v, NAN);
    }
}

/* SiglipImageProcessor's settings from a model directory, with the class
 * defaults for absent or null keys (transformers'
 * image_processing_siglip.py: bicubic, rescale 1/255, resize, normalise,
 * convert to RGB; size 224). */
static void load_processor_config(const char *model_dir,
                                  pali_preprocess_config *pre)
{
    g_autofree char *path =
        g_build_filename(model_dir, "processor_config.json", NULL);
    const char *key = "image_processor";
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_free(path);
        path = g_build_filename(model_dir, "preprocessor_config.json", NULL);
        key = NULL;
    }
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    if (pali_json_parse_file(path, CONFIG_MAX_BYTES, &doc, &err) != PALI_OK)
        g_error("%s", err.message);
    const pali_json *ip = pali_json_root(doc);
    if (key != NULL)
        ip = pali_json_get(ip, key);
    g_assert_true(pali_json_is(ip, PALI_JSON_OBJECT));

    const pali_json *size = pali_json_get(ip, "size");
    pre->width = (int)number_or(pali_json_get(size, "width"), 224);
    pre->height = (int)number_or(pali_json_get(size, "height"), 224);
    pre->resample = (int)number_or(pali_json_get(ip, "resample"), 3);
    pre->do_resize = bool_or(pali_json_get(ip, "do_resize"), true);
    pre->do_rescale = bool_or(pali_json_get(ip, "do_rescale"), true);
    pre->do_normalize = bool_or(pali_json_get(ip, "do_normalize"), true);
    pre->do_convert_rgb = bool_or(pali_json_get(ip, "do_convert_rgb"), true);
    pre->rescale_factor =
        number_or(pali_json_get(ip, "rescale_factor"), 1.0 / 255.0);
    triple(pali_json_get(ip, "image_mean"), pre->mean);
    triple(pali_json_get(ip, "image_std"), pre->std);
    pali_json_free(doc);
}

static void test_case(gconstpointer data)
{
    const char *case_dir = data;
    g_autofree char *case_json = g_build_filename(case_dir, "case.json", NULL);
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    if (pali_json_parse_file(case_json, 64 << 20, &doc, &err) != PALI_OK)
        g_error("%s", err.message);
    const pali_json *image_name = pali_json_get(pali_json_root(doc), "image");
    g_assert_true(pali_json_is(image_name, PALI_JSON_STRING));
    g_autofree char *image_path =
        g_build_filename(case_dir, image_name->u.string, NULL);
    pali_json_free(doc);

    /* cases/<case> → the model directory two levels up */
    g_autofree char *cases_dir = g_path_get_dirname(case_dir);
    g_autofree char *model_dir = g_path_get_dirname(cases_dir);
    pali_preprocess_config pre;
    load_processor_config(model_dir, &pre);

    g_autoptr(GError) error = NULL;
    g_autoptr(LensImage) image =
        lens_image_load(image_path, LENS_IMAGE_LOAD_DEFAULT, &error);
    g_assert_no_error(error);
    pali_image view = lens_image_as_pali(image);

    const gsize n = 3 * (gsize)pre.width * (gsize)pre.height;
    g_autofree float *pixels = g_new(float, n);
    double t0 = g_get_monotonic_time();
    g_assert_cmpint(pali_image_preprocess(&view, &pre, pixels, NULL, &err), ==,
                    PALI_OK);
    double ms = (g_get_monotonic_time() - t0) / 1000.0;

    g_autofree char *golden =
        g_build_filename(case_dir, "golden.safetensors", NULL);
    TestTensor ref;
    g_assert_true(test_safetensors_read(golden, "pixel_values", &ref));
    g_assert_cmpint(ref.n_dims, ==, 4);
    g_assert_cmpint(ref.shape[1], ==, 3);
    g_assert_cmpint(ref.shape[2], ==, pre.height);
    g_assert_cmpint(ref.shape[3], ==, pre.width);
    g_assert_cmpuint(ref.numel, ==, n);

    gsize exact = 0;
    for (gsize i = 0; i < n; i++)
        exact += memcmp(&pixels[i], &ref.data[i], sizeof(float)) == 0;
    double max_diff = test_max_abs_diff(pixels, ref.data, n);
    double rate = (double)exact / (double)n;
    g_test_message("%s: %dx%d -> %dx%d, exact %" G_GSIZE_FORMAT
                   "/%" G_GSIZE_FORMAT
                   " (%.4f %%), max |diff| %.6g, preprocess %.1f ms",
                   image_path, view.width, view.height, pre.width, pre.height,
                   exact, n, 100.0 * rate, max_diff, ms);
    g_assert_cmpfloat(rate, >=, MIN_EXACT_FRACTION);
    g_assert_cmpfloat(max_diff, <=, MAX_DIFF * (1 + 1e-6));
    test_tensor_clear(&ref);
}

/* g_ptr_array_sort passes pointers to the elements. */
static int compare_paths(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_autofree char *root = test_data_path("golden");
    GDir *models = g_dir_open(root, 0, NULL);
    g_assert_nonnull(models);
    GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
    const char *model;
    while ((model = g_dir_read_name(models)) != NULL) {
        g_autofree char *cases = g_build_filename(root, model, "cases", NULL);
        GDir *cd = g_dir_open(cases, 0, NULL);
        if (cd == NULL)
            continue; /* e.g. tiny-224-hubnames: weights only */
        const char *name;
        while ((name = g_dir_read_name(cd)) != NULL)
            g_ptr_array_add(dirs, g_build_filename(cases, name, NULL));
        g_dir_close(cd);
    }
    g_dir_close(models);
    g_assert_cmpuint(dirs->len, >, 0);
    g_ptr_array_sort(dirs, compare_paths);
    for (guint i = 0; i < dirs->len; i++) {
        const char *dir = g_ptr_array_index(dirs, i);
        g_autofree char *cases = g_path_get_dirname(dir);
        g_autofree char *model_dir = g_path_get_dirname(cases);
        g_autofree char *model_name = g_path_get_basename(model_dir);
        g_autofree char *case_name = g_path_get_basename(dir);
        g_autofree char *path =
            g_strdup_printf("/golden/preprocess/%s/%s", model_name, case_name);
        g_test_add_data_func(path, dir, test_case);
    }
    int rc = g_test_run();
    g_ptr_array_unref(dirs);
    return rc;
}
