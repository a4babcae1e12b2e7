/* test-preprocess.c — pali_image_preprocess(): the whole processor
 * (resize + float32 rescale/normalise) against transformers'
 * SiglipImageProcessor with PaliGemma's and other settings
 * ($PALI_TEST_DATA/resize/preprocess_*.f32, made by
 * tests/data/gen/make_resize.py), bit for bit; RGBA input, the optional
 * resized output, no-resize configs, and every invalid image or config. */
#include <math.h>
#include <string.h>

#include "image.h"
#include "json.h"
#include "testutil.h"

/* The natural.rgb crop of a case, as a (h, w, 3) buffer. */
static guint8 *natural_crop(int x0, int y0, int w, int h)
{
    g_autofree char *path = test_data_path("resize/natural.rgb");
    g_autoptr(GBytes) nat = test_read_file(path);
    const guint8 *src = g_bytes_get_data(nat, NULL);
    guint8 *img = g_malloc((gsize)w * h * 3);
    for (int y = 0; y < h; y++)
        memcpy(img + (gsize)y * w * 3, src + ((gsize)(y + y0) * 300 + x0) * 3,
               (gsize)w * 3);
    return img;
}

static pali_preprocess_config paligemma_config(int size)
{
    pali_preprocess_config pre = {
        .width = size,
        .height = size,
        .resample = 3,
        .do_resize = true,
        .do_rescale = true,
        .do_normalize = true,
        .do_convert_rgb = true,
        .rescale_factor = 1.0 / 255.0,
        .mean = { 0.5, 0.5, 0.5 },
        .std = { 0.5, 0.5, 0.5 },
    };
    return pre;
}

static double json_number(const pali_json *v)
{
    g_assert_true(pali_json_is(v, PALI_JSON_NUMBER));
    return v->is_integer ? (double)v->integer : v->u.number;
}

static void test_reference(gconstpointer data)
{
    const pali_json *c = data;
    const int w = (int)pali_json_get(c, "width")->integer;
    const int h = (int)pali_json_get(c, "height")->integer;
    g_autofree guint8 *img =
        natural_crop((int)pali_json_get(c, "x")->integer,
                     (int)pali_json_get(c, "y")->integer, w, h);
    const pali_json *size = pali_json_get(c, "size");
    pali_preprocess_config pre = {
        .width = (int)size->u.items[0].integer,
        .height = (int)size->u.items[1].integer,
        .resample = (int)pali_json_get(c, "resample")->integer,
        .do_resize = true,
        .do_rescale = pali_json_get(c, "do_rescale")->type == PALI_JSON_TRUE,
        .do_normalize =
            pali_json_get(c, "do_normalize")->type == PALI_JSON_TRUE,
        .do_convert_rgb = true,
        .rescale_factor = json_number(pali_json_get(c, "rescale_factor")),
    };
    for (int k = 0; k < 3; k++) {
        pre.mean[k] = json_number(&pali_json_get(c, "image_mean")->u.items[k]);
        pre.std[k] = json_number(&pali_json_get(c, "image_std")->u.items[k]);
    }
    const gsize n = 3 * (gsize)pre.width * pre.height;
    g_autofree float *out = g_new(float, n);
    pali_image image = { img, w, h, (size_t)w * 3, PALI_PIXEL_RGB8 };
    pali_error err = { 0 };
    g_assert_cmpint(pali_image_preprocess(&image, &pre, out, NULL, &err), ==,
                    PALI_OK);

    g_autofree char *rel =
        g_build_filename("resize", pali_json_get(c, "expect")->u.string, NULL);
    g_autofree char *path = test_data_path(rel);
    g_autoptr(GBytes) want = test_read_file(path);
    g_assert_cmpuint(g_bytes_get_size(want), ==, n * sizeof(float));
    const float *ref = g_bytes_get_data(want, NULL);
    gsize differ = 0;
    for (gsize i = 0; i < n; i++)
        differ += memcmp(&out[i], &ref[i], sizeof(float)) != 0;
    if (differ != 0)
        g_test_message("%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                       " values differ, max |diff| %g",
                       differ, n, test_max_abs_diff(out, ref, n));
    g_assert_cmpuint(differ, ==, 0);
}

/* RGBA (alpha ignored), a padded stride and the optional resized output. */
static void test_rgba_and_resized(void)
{
    const int w = 64, h = 48, s = 40;
    g_autofree guint8 *rgb = natural_crop(10, 10, w, h);
    const gsize stride = (gsize)w * 4 + 5;
    g_autofree guint8 *rgba = g_malloc0(stride * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            memcpy(rgba + y * stride + x * 4, rgb + ((gsize)y * w + x) * 3, 3);
            rgba[y * stride + x * 4 + 3] = (guint8)(255 - x);
        }
    pali_preprocess_config pre = paligemma_config(s);
    const gsize n = 3 * (gsize)s * s;
    g_autofree float *a = g_new(float, n);
    g_autofree float *b = g_new(float, n);
    g_autofree guint8 *resized = g_malloc((gsize)s * s * 3);
    g_autofree guint8 *direct = g_malloc((gsize)s * s * 3);
    pali_error err = { 0 };
    pali_image im_rgb = { rgb, w, h, (size_t)w * 3, PALI_PIXEL_RGB8 };
    pali_image im_rgba = { rgba, w, h, stride, PALI_PIXEL_RGBA8 };
    g_assert_cmpint(pali_image_preprocess(&im_rgb, &pre, a, NULL, &err), ==,
                    PALI_OK);
    g_assert_cmpint(pali_image_preprocess(&im_rgba, &pre, b, resized, &err), ==,
                    PALI_OK);
    g_assert_cmpmem(a, n * sizeof(float), b, n * sizeof(float));
    g_assert_cmpint(pali_resize_bicubic_aa_u8(rgb, w, h, (size_t)w * 3, 3,
                                              direct, s, s, &err),
                    ==, PALI_OK);
    g_assert_cmpmem(resized, (gsize)s * s * 3, direct, (gsize)s * s * 3);
    /* PaliGemma: (u8 − 127.5) / 127.5, exactly; u8 = value · 127.5 + 127.5 */
    for (int c = 0; c < 3; c++)
        for (gsize i = 0; i < (gsize)s * s; i++) {
            float v = a[(gsize)c * s * s + i];
            g_assert_true(v == ((float)resized[i * 3 + c] - 127.5f) / 127.5f);
            g_assert_true(v * 127.5f + 127.5f == (float)resized[i * 3 + c]);
        }
}

/* do_resize false: an image of the right size passes through unresampled;
 * any other size is refused.  An image already S×S is not resampled
 * either (torchvision returns it unchanged). */
static void test_no_resize(void)
{
    const int s = 24;
    g_autofree guint8 *rgb = natural_crop(0, 0, s, s);
    pali_preprocess_config pre = paligemma_config(s);
    g_autofree float *out = g_new(float, 3 * s * s);
    pali_image image = { rgb, s, s, (size_t)s * 3, PALI_PIXEL_RGB8 };
    pali_error err = { 0 };
    for (int resize = 0; resize < 2; resize++) {
        pre.do_resize = resize;
        g_assert_cmpint(pali_image_preprocess(&image, &pre, out, NULL, &err),
                        ==, PALI_OK);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < s * s; i++)
                g_assert_true(out[c * s * s + i] ==
                              ((float)rgb[i * 3 + c] - 127.5f) / 127.5f);
    }
    pre.do_resize = false;
    image.width = s - 1;
    g_assert_cmpint(pali_image_preprocess(&image, &pre, out, NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(err.message, "does not resize"));
}

static void expect_error(const pali_image *image,
                         const pali_preprocess_config *pre, pali_status want,
                         const char *needle)
{
    float out[3 * 8 * 8];
    pali_error err = { 0 };
    g_assert_cmpint(pali_image_preprocess(image, pre, out, NULL, &err), ==,
                    want);
    if (strstr(err.message, needle) == NULL)
        g_error("message \"%s\" lacks \"%s\"", err.message, needle);
}

static void test_invalid(void)
{
    guint8 px[4 * 4 * 4] = { 0 };
    const pali_image good = { px, 4, 4, 12, PALI_PIXEL_RGB8 };
    const pali_preprocess_config ok = paligemma_config(8);
    pali_image im;
    pali_preprocess_config pre;

    expect_error(NULL, &ok, PALI_ERR_INVALID_ARGUMENT, "none given");
    im = good, im.pixels = NULL;
    expect_error(&im, &ok, PALI_ERR_INVALID_ARGUMENT, "no pixel data");
    im = good, im.width = 0;
    expect_error(&im, &ok, PALI_ERR_INVALID_ARGUMENT, "0×4");
    im = good, im.height = -3;
    expect_error(&im, &ok, PALI_ERR_INVALID_ARGUMENT, "4×-3");
    im = good, im.width = im.height = 20000;
    im.stride = 60000;
    expect_error(&im, &ok, PALI_ERR_INVALID_ARGUMENT, "more than");
    im = good, im.stride = 11;
    expect_error(&im, &ok, PALI_ERR_INVALID_ARGUMENT, "stride 11");
    im = good, im.format = PALI_PIXEL_RGBA8;
    expect_error(&im, &ok, PALI_ERR_INVALID_ARGUMENT, "stride 12");
    im = good, im.format = (pali_pixel_format)7;
    expect_error(&im, &ok, PALI_ERR_INVALID_ARGUMENT, "pixel format 7");

    expect_error(&good, NULL, PALI_ERR_INVALID_ARGUMENT, "processor config");
    pre = ok, pre.width = 0;
    expect_error(&good, &pre, PALI_ERR_INVALID_ARGUMENT, "size 0×8");
    pre = ok, pre.height = PALI_PREPROCESS_MAX_SIDE + 1;
    expect_error(&good, &pre, PALI_ERR_INVALID_ARGUMENT, "outside");
    pre = ok, pre.resample = 1;
    expect_error(&good, &pre, PALI_ERR_UNSUPPORTED, "resample 1");
    pre = ok, pre.std[2] = 0;
    expect_error(&good, &pre, PALI_ERR_INVALID_ARGUMENT, "image_std[2] = 0");
    pre = ok, pre.mean[0] = NAN;
    expect_error(&good, &pre, PALI_ERR_INVALID_ARGUMENT, "image_mean[0]");
    pre = ok, pre.rescale_factor = 0;
    expect_error(&good, &pre, PALI_ERR_INVALID_ARGUMENT, "rescale_factor 0");
    /* without normalisation a zero std does not matter */
    pre = ok, pre.do_normalize = false, pre.std[0] = 0;
    float out[3 * 8 * 8];
    g_assert_cmpint(pali_image_preprocess(&good, &pre, out, NULL, NULL), ==,
                    PALI_OK);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_autofree char *manifest = test_data_path("resize/cases.json");
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    if (pali_json_parse_file(manifest, 1 << 22, &doc, &err) != PALI_OK)
        g_error("%s", err.message);
    const pali_json *pp = pali_json_get(pali_json_root(doc), "preprocess");
    for (uint32_t i = 0; i < pp->len; i++) {
        const pali_json *c = &pp->u.items[i];
        g_autofree char *path =
            g_strdup_printf("/engine/preprocess/transformers/%s",
                            pali_json_get(c, "name")->u.string);
        g_test_add_data_func(path, c, test_reference);
    }
    g_test_add_func("/engine/preprocess/rgba-and-resized",
                    test_rgba_and_resized);
    g_test_add_func("/engine/preprocess/no-resize", test_no_resize);
    g_test_add_func("/engine/preprocess/invalid", test_invalid);
    int rc = g_test_run();
    pali_json_free(doc);
    return rc;
}
