/* test-image-decode.c — lens_image_load() against Pillow: every file of
 * $PALI_TEST_DATA/images (made by tests/data/gen/make_images.py) must decode
 * to exactly Pillow's convert("RGB") bytes, with and without the EXIF
 * orientation; broken files, directories and missing files must give a
 * clear error naming the file. */
#include <glib/gstdio.h>
#include <string.h>

#include "json.h"
#include "lens-image-decode.h"
#include "lens-image-loader.h"
#include "testutil.h"

typedef struct {
    char *file;
    char *expect;
    char *format;
    char *ignore; /* (height, width) mask of pixels allowed to differ */
    int width, height;
    gboolean orient;
} DecodeCase;

typedef struct {
    char *file;
    LensImageError error;
} BadCase;

static void decode_case_free(gpointer data)
{
    DecodeCase *c = data;
    g_free(c->file);
    g_free(c->expect);
    g_free(c->format);
    g_free(c->ignore);
    g_free(c);
}

static void bad_case_free(gpointer data)
{
    BadCase *c = data;
    g_free(c->file);
    g_free(c);
}

static char *image_path(const char *file)
{
    g_autofree char *rel = g_build_filename("images", file, NULL);
    return test_data_path(rel);
}

static gboolean format_available(const char *name)
{
    if (g_str_equal(name, "png") || g_str_equal(name, "jpeg"))
        return TRUE; /* our own decoders */
    GSList *formats = gdk_pixbuf_get_formats();
    gboolean found = FALSE;
    for (GSList *l = formats; l != NULL; l = l->next) {
        g_autofree char *fmt = gdk_pixbuf_format_get_name(l->data);
        found = found || g_str_equal(fmt, name);
    }
    g_slist_free(formats);
    return found;
}

static void test_decode(gconstpointer data)
{
    const DecodeCase *c = data;
    if (!format_available(c->format)) {
        g_autofree char *why =
            g_strdup_printf("GdkPixbuf has no %s loader here", c->format);
        g_test_skip(why);
        return;
    }
    g_autofree char *path = image_path(c->file);
    g_autofree char *expect_path = image_path(c->expect);
    g_autoptr(GError) error = NULL;
    g_autoptr(LensImage) image = lens_image_load(
        path, c->orient ? LENS_IMAGE_LOAD_ORIENT : LENS_IMAGE_LOAD_DEFAULT,
        &error);
    g_assert_no_error(error);
    g_assert_nonnull(image);
    g_assert_cmpstr(lens_image_get_format(image), ==, c->format);
    g_assert_cmpint(lens_image_get_width(image), ==, c->width);
    g_assert_cmpint(lens_image_get_height(image), ==, c->height);
    g_assert_cmpuint(lens_image_get_stride(image), ==, (gsize)c->width * 3);

    g_autoptr(GBytes) want = test_read_file(expect_path);
    gsize n = 0;
    const guint8 *w = g_bytes_get_data(want, &n);
    g_assert_cmpuint(n, ==, (gsize)c->width * c->height * 3);
    const guint8 *got = lens_image_get_pixels(image);
    g_autoptr(GBytes) mask_bytes = NULL;
    const guint8 *mask = NULL;
    if (c->ignore != NULL) {
        g_autofree char *mask_path = image_path(c->ignore);
        mask_bytes = test_read_file(mask_path);
        g_assert_cmpuint(g_bytes_get_size(mask_bytes), ==, n / 3);
        mask = g_bytes_get_data(mask_bytes, NULL);
    }
    gsize differ = 0, first = n, ignored = 0;
    for (gsize i = 0; i < n; i++) {
        if (mask != NULL && mask[i / 3]) {
            ignored += got[i] != w[i];
            continue;
        }
        if (got[i] != w[i] && differ++ == 0)
            first = i;
    }
    if (mask != NULL)
        g_test_message("%s: %" G_GSIZE_FORMAT " values differ from Pillow "
                       "where GdkPixbuf is known to (the case's mask)",
                       c->file, ignored);
    if (differ != 0)
        g_test_message(
            "%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
            " bytes differ from Pillow, first at pixel %" G_GSIZE_FORMAT
            " (%u vs %u)",
            c->file, differ, n, first / 3, got[first], w[first]);
    g_assert_cmpuint(differ, ==, 0);

    /* the engine view and the pixbuf share the same pixels */
    pali_image view = lens_image_as_pali(image);
    g_assert_true(view.pixels == got);
    g_assert_cmpint(view.format, ==, PALI_PIXEL_RGB8);
    g_autoptr(GdkPixbuf) pixbuf = lens_image_to_pixbuf(image);
    g_assert_cmpint(gdk_pixbuf_get_width(pixbuf), ==, c->width);
    g_assert_cmpint(gdk_pixbuf_get_height(pixbuf), ==, c->height);
    g_assert_true(gdk_pixbuf_read_pixels(pixbuf) == got);
}

static void test_bad(gconstpointer data)
{
    const BadCase *c = data;
    g_autofree char *path = image_path(c->file);
    g_autoptr(GError) error = NULL;
    g_autoptr(LensImage) image =
        lens_image_load(path, LENS_IMAGE_LOAD_DEFAULT, &error);
    g_assert_null(image);
    g_assert_error(error, LENS_IMAGE_ERROR, (int)c->error);
    g_test_message("%s", error->message);
    g_assert_true(g_str_has_prefix(error->message, path));
}

static void test_missing(void)
{
    g_autofree char *path = image_path("no-such-file.png");
    g_autoptr(GError) error = NULL;
    g_autoptr(LensImage) image = lens_image_load(path, 0, &error);
    g_assert_null(image);
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_assert_true(g_str_has_prefix(error->message, path));
    g_assert_nonnull(strstr(error->message, "No such file"));
}

static void test_directory(void)
{
    g_autofree char *path = image_path("");
    g_autoptr(GError) error = NULL;
    g_autoptr(LensImage) image = lens_image_load(path, 0, &error);
    g_assert_null(image);
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_ISDIR);
    g_assert_nonnull(strstr(error->message, "is a directory"));
}

/* In-memory loading names the source given, and 1-byte-at-a-time
 * truncations of a PNG and a JPEG never crash or decode. */
static void test_bytes_truncations(void)
{
    const char *files[] = { "png_rgb8.png", "jpeg_420.jpg",
                            "jpeg_progressive.jpg", "png_adam7_rgb16.png" };
    for (gsize f = 0; f < G_N_ELEMENTS(files); f++) {
        g_autofree char *path = image_path(files[f]);
        g_autoptr(GBytes) whole = test_read_file(path);
        gsize len = g_bytes_get_size(whole);
        gsize ok = 0;
        for (gsize cut = 0; cut < len; cut += 1 + cut / 16) {
            g_autoptr(GBytes) part = g_bytes_new_from_bytes(whole, 0, cut);
            g_autoptr(GError) error = NULL;
            g_autoptr(LensImage) image =
                lens_image_load_bytes(part, "clipboard", 0, &error);
            if (image != NULL) {
                ok++; /* only a PNG missing its IEND tail may still load */
                g_assert_true(g_str_has_suffix(files[f], ".png"));
                continue;
            }
            g_assert_true(g_str_has_prefix(error->message, "clipboard: "));
        }
        g_assert_cmpuint(ok, <, 3);
        g_autoptr(GError) error = NULL;
        g_autoptr(LensImage) image =
            lens_image_load_bytes(whole, "clipboard", 0, &error);
        g_assert_no_error(error);
    }
}

/* Random byte changes in files of every decoder: each load either decodes
 * or fails with a message naming the source — never a crash, an
 * out-of-bounds access (the sanitizer build) or a critical warning. */
static void test_mutations(void)
{
    const char *files[] = { "png_rgb8.png",         "png_adam7_rgb16.png",
                            "png_palette8.png",     "jpeg_420.jpg",
                            "jpeg_progressive.jpg", "jpeg_exif6.jpg",
                            "gif_anim.gif",         "bmp_rgb24.bmp",
                            "tiff_lzw.tiff" };
    enum {
        ROUNDS = 40,
        MAX_CHANGES = 8
    };
    GRand *rand = g_rand_new_with_seed(20240611);
    guint decoded = 0, refused = 0;
    for (gsize f = 0; f < G_N_ELEMENTS(files); f++) {
        g_autofree char *path = image_path(files[f]);
        g_autoptr(GBytes) whole = test_read_file(path);
        gsize len = 0;
        const guint8 *orig = g_bytes_get_data(whole, &len);
        for (int round = 0; round < ROUNDS; round++) {
            guint8 *data = g_memdup2(orig, len);
            int changes = g_rand_int_range(rand, 1, MAX_CHANGES + 1);
            for (int k = 0; k < changes; k++)
                data[g_rand_int_range(rand, 0, (gint32)len)] =
                    (guint8)g_rand_int_range(rand, 0, 256);
            g_autoptr(GBytes) bytes = g_bytes_new_take(data, len);
            g_autoptr(GError) error = NULL;
            g_autoptr(LensImage) image = lens_image_load_bytes(
                bytes, "mutant", round % 2 ? LENS_IMAGE_LOAD_ORIENT : 0,
                &error);
            if (image != NULL) {
                decoded++;
                g_assert_cmpint(lens_image_get_width(image), >, 0);
            } else {
                refused++;
                g_assert_true(g_str_has_prefix(error->message, "mutant: "));
            }
        }
    }
    g_rand_free(rand);
    g_test_message("%u mutated files decoded, %u refused", decoded, refused);
}

/* The EXIF Orientation reader on hand-made TIFF blocks: both byte orders,
 * SHORT and LONG values, a tag that is not first, and malformed blocks. */
static void test_exif_orientation(void)
{
    /* II, 42, IFD0 at 8; 2 entries: 0x0100 (width), 0x0112 SHORT 6 */
    const guint8 ii[] = { 'I', 'I', 42, 0, 8, 0, 0,  0, 2, 0, 0x00, 0x01,
                          3,   0,   1,  0, 0, 0, 64, 0, 0, 0, 0x12, 0x01,
                          3,   0,   1,  0, 0, 0, 6,  0, 0, 0 };
    g_assert_cmpint(lens_exif_orientation(ii, sizeof(ii)), ==, 6);
    /* MM, LONG 8 */
    const guint8 mm[] = { 'M',  'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01,
                          0x12, 0,   4, 0,  0, 0, 1, 0, 0, 0, 8 };
    g_assert_cmpint(lens_exif_orientation(mm, sizeof(mm)), ==, 8);
    /* cut inside the entry, value 9, bad magic, IFD past the end */
    g_assert_cmpint(lens_exif_orientation(ii, sizeof(ii) - 1), ==, 1);
    guint8 bad[sizeof(ii)];
    memcpy(bad, ii, sizeof(ii));
    bad[30] = 9;
    g_assert_cmpint(lens_exif_orientation(bad, sizeof(bad)), ==, 1);
    memcpy(bad, ii, sizeof(ii));
    bad[2] = 43;
    g_assert_cmpint(lens_exif_orientation(bad, sizeof(bad)), ==, 1);
    memcpy(bad, ii, sizeof(ii));
    bad[4] = 200;
    g_assert_cmpint(lens_exif_orientation(bad, sizeof(bad)), ==, 1);
    g_assert_cmpint(lens_exif_orientation(NULL, 0), ==, 1);
}

static void test_from_pixbuf(void)
{
    /* RGBA pixbuf with a padded rowstride: alpha dropped, rows packed */
    g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new(GDK_COLORSPACE_RGB, TRUE, 8, 5, 3);
    guint8 *px = gdk_pixbuf_get_pixels(pb);
    int stride = gdk_pixbuf_get_rowstride(pb);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++)
            for (int c = 0; c < 4; c++)
                px[y * stride + x * 4 + c] = (guint8)(y * 50 + x * 10 + c);
    g_autoptr(GError) error = NULL;
    g_autoptr(LensImage) image = lens_image_new_from_pixbuf(pb, &error);
    g_assert_no_error(error);
    g_assert_true(lens_image_get_had_alpha(image));
    const guint8 *rgb = lens_image_get_pixels(image);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++)
            for (int c = 0; c < 3; c++)
                g_assert_cmpint(rgb[(y * 5 + x) * 3 + c], ==,
                                y * 50 + x * 10 + c);
}

static LensImageError error_from_name(const char *name)
{
    static const char *const names[] = {
        [LENS_IMAGE_ERROR_EMPTY] = "EMPTY",
        [LENS_IMAGE_ERROR_UNSUPPORTED] = "UNSUPPORTED",
        [LENS_IMAGE_ERROR_CORRUPT] = "CORRUPT",
        [LENS_IMAGE_ERROR_TRUNCATED] = "TRUNCATED",
        [LENS_IMAGE_ERROR_TOO_LARGE] = "TOO_LARGE",
        [LENS_IMAGE_ERROR_NO_MEMORY] = "NO_MEMORY",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++)
        if (g_str_equal(names[i], name))
            return (LensImageError)i;
    g_error("unknown error name %s in cases.json", name);
}

static const char *json_str(const pali_json *obj, const char *key)
{
    const pali_json *v = pali_json_get(obj, key);
    g_assert_true(pali_json_is(v, PALI_JSON_STRING));
    return v->u.string;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_autofree char *manifest = image_path("cases.json");
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    if (pali_json_parse_file(manifest, 1 << 20, &doc, &err) != PALI_OK)
        g_error("%s", err.message);
    const pali_json *root = pali_json_root(doc);

    const pali_json *cases = pali_json_get(root, "cases");
    for (uint32_t i = 0; i < cases->len; i++) {
        const pali_json *c = &cases->u.items[i];
        DecodeCase *dc = g_new0(DecodeCase, 1);
        dc->file = g_strdup(json_str(c, "file"));
        dc->expect = g_strdup(json_str(c, "expect"));
        dc->format = g_strdup(json_str(c, "format"));
        dc->width = (int)pali_json_get(c, "width")->integer;
        dc->height = (int)pali_json_get(c, "height")->integer;
        dc->orient = pali_json_get(c, "orient")->type == PALI_JSON_TRUE;
        if (pali_json_get(c, "ignore") != NULL)
            dc->ignore = g_strdup(json_str(c, "ignore"));
        g_autofree char *test_path =
            g_strdup_printf("/app/image-loader/pillow/%s%s", dc->file,
                            dc->orient ? "/oriented" : "");
        g_test_add_data_func_full(test_path, dc, test_decode, decode_case_free);
    }
    const pali_json *bad = pali_json_get(root, "bad");
    for (uint32_t i = 0; i < bad->len; i++) {
        const pali_json *c = &bad->u.items[i];
        BadCase *bc = g_new0(BadCase, 1);
        bc->file = g_strdup(json_str(c, "file"));
        bc->error = error_from_name(json_str(c, "error"));
        g_autofree char *test_path =
            g_strdup_printf("/app/image-loader/bad/%s", bc->file);
        g_test_add_data_func_full(test_path, bc, test_bad, bad_case_free);
    }
    pali_json_free(doc);

    g_test_add_func("/app/image-loader/missing", test_missing);
    g_test_add_func("/app/image-loader/directory", test_directory);
    g_test_add_func("/app/image-loader/bytes-truncations",
                    test_bytes_truncations);
    g_test_add_func("/app/image-loader/mutations", test_mutations);
    g_test_add_func("/app/image-loader/exif-orientation",
                    test_exif_orientation);
    g_test_add_func("/app/image-loader/from-pixbuf", test_from_pixbuf);
    return g_test_run();
}
