/* test-resize.c — pali_resize_aa_u8() against torchvision's uint8
 * anti-aliased resize ($PALI_TEST_DATA/resize, made by
 * tests/data/gen/make_resize.py): up and down by small and large factors,
 * square and not, 1×1, 1×N and N×1, 1–4 channels, bicubic and bilinear,
 * processor sizes and odd ones — all bit-exact.  Also: RGBA input resized
 * to RGB equals the RGB input's result, padded strides, argument checks,
 * and the time of a 24-megapixel photo → 896². */
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "internal.h"
#include "json.h"
#include "testutil.h"

typedef struct {
    char *name;
    char *kind; /* natural, noise, pattern */
    int seed, x, y;
    int width, height, channels;
    int out_width, out_height;
    int filter;
    char *sha256;
    char *expect; /* whole output, or NULL */
    guint64 *row_sums;
} ResizeCase;

static void resize_case_free(gpointer data)
{
    ResizeCase *c = data;
    g_free(c->name);
    g_free(c->kind);
    g_free(c->sha256);
    g_free(c->expect);
    g_free(c->row_sums);
    g_free(c);
}

/* lowbias32 (Chris Wellons), as make_resize.py's mix32. */
static guint32 mix32(guint32 h)
{
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    return h;
}

/* The input of a case, (height, width, channels) packed: make_resize.py's
 * generated() or a crop of natural.rgb (300×200 RGB). */
static guint8 *make_input(const ResizeCase *c)
{
    const gsize w = (gsize)c->width, h = (gsize)c->height,
                ch = (gsize)c->channels;
    guint8 *img = g_malloc(w * h * ch);
    if (g_str_equal(c->kind, "natural")) {
        g_autofree char *path = test_data_path("resize/natural.rgb");
        g_autoptr(GBytes) nat = test_read_file(path);
        const guint8 *src = g_bytes_get_data(nat, NULL);
        g_assert_cmpuint(g_bytes_get_size(nat), ==, 300 * 200 * 3);
        for (gsize y = 0; y < h; y++)
            memcpy(img + y * w * 3,
                   src + ((y + (gsize)c->y) * 300 + (gsize)c->x) * 3, w * 3);
        return img;
    }
    const gboolean noise = g_str_equal(c->kind, "noise");
    for (guint32 y = 0; y < h; y++)
        for (guint32 x = 0; x < w; x++)
            for (guint32 k = 0; k < ch; k++) {
                guint32 v;
                if (noise) {
                    guint32 i = (y * (guint32)w + x) * (guint32)ch + k;
                    v = mix32(i * 0x9E3779B9u + (guint32)c->seed) >> 24;
                } else {
                    v = x * (k + 3) * 5 + y * (7 - k) * 3 +
                        ((x * x + y * y) >> 7) + (guint32)c->seed;
                }
                img[(y * w + x) * ch + k] = (guint8)v;
            }
    return img;
}

static char *sha256_hex(const guint8 *data, gsize n)
{
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, n);
}

static void check_output(const ResizeCase *c, const guint8 *got)
{
    const gsize row = (gsize)c->out_width * (gsize)c->channels;
    const gsize n = row * (gsize)c->out_height;
    g_autofree char *hash = sha256_hex(got, n);
    if (g_str_equal(hash, c->sha256))
        return;
    /* Diagnose: rows whose byte sum differs, and bytes when stored. */
    int bad_rows = 0;
    for (int y = 0; y < c->out_height; y++) {
        guint64 sum = 0;
        for (gsize i = 0; i < row; i++)
            sum += got[(gsize)y * row + i];
        bad_rows += sum != c->row_sums[y];
    }
    g_test_message("%s: output differs from torch (%d of %d rows by sum)",
                   c->name, bad_rows, c->out_height);
    if (c->expect != NULL) {
        g_autofree char *rel = g_build_filename("resize", c->expect, NULL);
        g_autofree char *path = test_data_path(rel);
        g_autoptr(GBytes) want = test_read_file(path);
        const guint8 *w = g_bytes_get_data(want, NULL);
        gsize differ = 0;
        int maxd = 0;
        for (gsize i = 0; i < n; i++) {
            int d = abs((int)got[i] - (int)w[i]);
            differ += d != 0;
            maxd = MAX(maxd, d);
        }
        g_test_message("%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                       " values differ, by up to %d",
                       differ, n, maxd);
    }
    g_assert_cmpstr(hash, ==, c->sha256);
}

static void test_case(gconstpointer data)
{
    const ResizeCase *c = data;
    g_autofree guint8 *src = make_input(c);
    const gsize out_n =
        (gsize)c->out_width * (gsize)c->out_height * (gsize)c->channels;
    g_autofree guint8 *dst = g_malloc(out_n);
    pali_error err = { 0 };
    double t0 = pali_now_ms();
    pali_status st =
        pali_resize_aa_u8((pali_resample)c->filter, src, c->width, c->height,
                          (gsize)c->width * (gsize)c->channels, c->channels,
                          c->channels, dst, c->out_width, c->out_height, &err);
    double ms = pali_now_ms() - t0;
    g_assert_cmpstr(err.message, ==, "");
    g_assert_cmpint(st, ==, PALI_OK);
    if ((gint64)c->width * c->height >= 20000000)
        g_test_message("%s: %d×%d → %d×%d in %.1f ms", c->name, c->width,
                       c->height, c->out_width, c->out_height, ms);
    check_output(c, dst);

    /* The same pixels with an alpha byte (dropped) and a padded stride
     * give the same result: what pali_image_preprocess does for RGBA. */
    if (c->channels == 3 && (gint64)c->width * c->height <= 1000000) {
        const gsize stride = (gsize)c->width * 4 + 7;
        g_autofree guint8 *rgba = g_malloc(stride * (gsize)c->height);
        for (int y = 0; y < c->height; y++)
            for (int x = 0; x < c->width; x++) {
                guint8 *p = rgba + (gsize)y * stride + (gsize)x * 4;
                memcpy(p, src + ((gsize)y * c->width + x) * 3, 3);
                p[3] = (guint8)(x * 7 + y);
            }
        g_autofree guint8 *dst4 = g_malloc(out_n);
        st = pali_resize_aa_u8((pali_resample)c->filter, rgba, c->width,
                               c->height, stride, 4, 3, dst4, c->out_width,
                               c->out_height, &err);
        g_assert_cmpint(st, ==, PALI_OK);
        g_assert_cmpmem(dst4, out_n, dst, out_n);
    }
}

/* The RGB fast path of the horizontal pass equals the generic per-channel
 * loop (one channel of the same 3-byte pixels at a time). */
static void test_rgb_path_is_generic_path(void)
{
    const int w = 301, h = 97;
    const int sizes[][2] = { { 224, 224 }, { 37, 5 }, { 896, 13 } };
    g_autofree guint8 *src = g_malloc((gsize)w * h * 3);
    for (gsize i = 0; i < (gsize)w * h * 3; i++)
        src[i] = (guint8)(mix32((guint32)i) >> 24);
    for (gsize s = 0; s < G_N_ELEMENTS(sizes); s++) {
        const int ow = sizes[s][0], oh = sizes[s][1];
        g_autofree guint8 *rgb = g_malloc((gsize)ow * oh * 3);
        g_autofree guint8 *one = g_malloc((gsize)ow * oh);
        pali_error err = { 0 };
        for (int filter = PALI_RESAMPLE_BILINEAR;
             filter <= PALI_RESAMPLE_BICUBIC; filter++) {
            g_assert_cmpint(pali_resize_aa_u8((pali_resample)filter, src, w, h,
                                              (gsize)w * 3, 3, 3, rgb, ow, oh,
                                              &err),
                            ==, PALI_OK);
            for (int c = 0; c < 3; c++) {
                g_assert_cmpint(pali_resize_aa_u8((pali_resample)filter,
                                                  src + c, w, h, (gsize)w * 3,
                                                  3, 1, one, ow, oh, &err),
                                ==, PALI_OK);
                for (gsize i = 0; i < (gsize)ow * oh; i++)
                    g_assert_cmpint(one[i], ==, rgb[i * 3 + (gsize)c]);
            }
        }
    }
}

static void test_bicubic_wrapper(void)
{
    guint8 src[4 * 3 * 3], a[5 * 2 * 3], b[5 * 2 * 3];
    for (gsize i = 0; i < sizeof(src); i++)
        src[i] = (guint8)(i * 37);
    pali_error err = { 0 };
    g_assert_cmpint(pali_resize_bicubic_aa_u8(src, 4, 3, 12, 3, a, 5, 2, &err),
                    ==, PALI_OK);
    g_assert_cmpint(pali_resize_aa_u8(PALI_RESAMPLE_BICUBIC, src, 4, 3, 12, 3,
                                      3, b, 5, 2, &err),
                    ==, PALI_OK);
    g_assert_cmpmem(a, sizeof(a), b, sizeof(b));
}

static void expect_fail(pali_status got, pali_status want,
                        const pali_error *err, const char *needle)
{
    g_assert_cmpint(got, ==, want);
    g_assert_cmpint(err->status, ==, want);
    if (strstr(err->message, needle) == NULL)
        g_error("message \"%s\" lacks \"%s\"", err->message, needle);
}

static void test_bad_arguments(void)
{
    guint8 px[64] = { 0 }, out[64];
    pali_error err = { 0 };
    expect_fail(pali_resize_aa_u8(PALI_RESAMPLE_BICUBIC, px, 0, 3, 9, 3, 3, out,
                                  2, 2, &err),
                PALI_ERR_INVALID_ARGUMENT, &err, "input size 0×3");
    expect_fail(pali_resize_aa_u8(PALI_RESAMPLE_BICUBIC, px, 3, 3, 9, 3, 3, out,
                                  2, -1, &err),
                PALI_ERR_INVALID_ARGUMENT, &err, "output size 2×-1");
    expect_fail(pali_resize_aa_u8(PALI_RESAMPLE_BICUBIC, px, 1 << 20, 1 << 20,
                                  (size_t)3 << 20, 3, 3, out, 2, 2, &err),
                PALI_ERR_INVALID_ARGUMENT, &err, "more than");
    expect_fail(pali_resize_aa_u8(PALI_RESAMPLE_BICUBIC, px, 3, 3, 8, 3, 3, out,
                                  2, 2, &err),
                PALI_ERR_INVALID_ARGUMENT, &err, "stride 8");
    expect_fail(pali_resize_aa_u8(PALI_RESAMPLE_BICUBIC, px, 3, 3, 9, 3, 5, out,
                                  2, 2, &err),
                PALI_ERR_INVALID_ARGUMENT, &err, "5 channels");
    expect_fail(
        pali_resize_aa_u8((pali_resample)1, px, 3, 3, 9, 3, 3, out, 2, 2, &err),
        PALI_ERR_UNSUPPORTED, &err, "filter 1");
    expect_fail(pali_resize_aa_u8(PALI_RESAMPLE_BICUBIC, NULL, 3, 3, 9, 3, 3,
                                  out, 2, 2, &err),
                PALI_ERR_INVALID_ARGUMENT, &err, "no input");
    /* NULL error pointer is allowed */
    g_assert_cmpint(pali_resize_aa_u8(PALI_RESAMPLE_BICUBIC, px, 0, 0, 0, 3, 3,
                                      out, 2, 2, NULL),
                    ==, PALI_ERR_INVALID_ARGUMENT);
}

static int json_int(const pali_json *obj, const char *key)
{
    const pali_json *v = pali_json_get(obj, key);
    g_assert_true(pali_json_is(v, PALI_JSON_NUMBER) && v->is_integer);
    return (int)v->integer;
}

static char *json_strdup(const pali_json *obj, const char *key)
{
    const pali_json *v = pali_json_get(obj, key);
    return pali_json_is(v, PALI_JSON_STRING) ? g_strdup(v->u.string) : NULL;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_autofree char *manifest = test_data_path("resize/cases.json");
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    if (pali_json_parse_file(manifest, 1 << 22, &doc, &err) != PALI_OK)
        g_error("%s", err.message);
    const pali_json *cases = pali_json_get(pali_json_root(doc), "cases");
    for (uint32_t i = 0; i < cases->len; i++) {
        const pali_json *j = &cases->u.items[i];
        const pali_json *in = pali_json_get(j, "input");
        ResizeCase *c = g_new0(ResizeCase, 1);
        c->name = json_strdup(j, "name");
        c->kind = json_strdup(in, "kind");
        if (pali_json_get(in, "seed") != NULL)
            c->seed = json_int(in, "seed");
        if (pali_json_get(in, "x") != NULL) {
            c->x = json_int(in, "x");
            c->y = json_int(in, "y");
        }
        c->width = json_int(j, "width");
        c->height = json_int(j, "height");
        c->channels = json_int(j, "channels");
        c->out_width = json_int(j, "out_width");
        c->out_height = json_int(j, "out_height");
        c->filter = json_int(j, "filter");
        c->sha256 = json_strdup(j, "sha256");
        c->expect = json_strdup(j, "expect");
        const pali_json *sums = pali_json_get(j, "row_sums");
        g_assert_cmpuint(sums->len, ==, (guint)c->out_height);
        c->row_sums = g_new(guint64, sums->len);
        for (uint32_t k = 0; k < sums->len; k++)
            c->row_sums[k] = (guint64)sums->u.items[k].integer;
        g_autofree char *path = g_strdup_printf("/engine/resize/%s", c->name);
        g_test_add_data_func_full(path, c, test_case, resize_case_free);
    }
    pali_json_free(doc);

    g_test_add_func("/engine/resize/rgb-path-is-generic-path",
                    test_rgb_path_is_generic_path);
    g_test_add_func("/engine/resize/bicubic-wrapper", test_bicubic_wrapper);
    g_test_add_func("/engine/resize/bad-arguments", test_bad_arguments);
    return g_test_run();
}
