/* lens-image-loader.c — reads an image file, picks the decoder (PNG and
 * JPEG our own, Pillow-exact; everything else GdkPixbuf), applies the EXIF
 * orientation when asked (as PIL.ImageOps.exif_transpose) and wraps the RGB
 * pixels in a LensImage.  See lens-image-loader.h for the behaviour. */
#include "config.h"

#include "lens-image-loader.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens-image-decode.h"

struct _LensImage {
    int width, height;
    gsize stride;
    GBytes *bytes; /* (height, stride) RGB8 */
    char *format;
    int orientation;
    gboolean oriented;
    gboolean had_alpha;
};

G_DEFINE_QUARK(lens - image - error - quark, lens_image_error)

G_DEFINE_BOXED_TYPE(LensImage, lens_image, lens_image_ref, lens_image_unref)

/* EXIF (TIFF) structure: byte-order mark, magic 42, IFD0 offset; each IFD
 * entry is tag, type, count, value (12 bytes). */
#define TIFF_HEADER_BYTES    8
#define TIFF_MAGIC           42
#define TIFF_ENTRY_BYTES     12
#define TIFF_TYPE_SHORT      3
#define TIFF_TYPE_LONG       4
#define EXIF_TAG_ORIENTATION 0x0112

void lens_image_set_error(GError **error, const char *name, LensImageError code,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, LENS_IMAGE_ERROR, (int)code, "%s: %s", name, msg);
}

gboolean lens_image_check_size(const char *name, gint64 width, gint64 height,
                               GError **error)
{
    if (width <= 0 || height <= 0) {
        lens_image_set_error(error, name, LENS_IMAGE_ERROR_EMPTY,
                             "the image is %" G_GINT64_FORMAT
                             "×%" G_GINT64_FORMAT " pixels: nothing to show",
                             width, height);
        return FALSE;
    }
    if (width > G_MAXINT / 3 || height > G_MAXINT ||
        width * height > LENS_IMAGE_MAX_PIXELS) {
        lens_image_set_error(error, name, LENS_IMAGE_ERROR_TOO_LARGE,
                             "the image is %" G_GINT64_FORMAT
                             "×%" G_GINT64_FORMAT
                             " pixels, more than the %lld-pixel limit",
                             width, height, (long long)LENS_IMAGE_MAX_PIXELS);
        return FALSE;
    }
    return TRUE;
}

guint8 *lens_image_alloc_rgb(const char *name, int width, int height,
                             GError **error)
{
    guint8 *p = g_try_malloc((gsize)width * (gsize)height * 3);
    if (p == NULL)
        lens_image_set_error(error, name, LENS_IMAGE_ERROR_NO_MEMORY,
                             "out of memory for %d×%d pixels", width, height);
    return p;
}

static guint read_u16(const guint8 *p, gboolean big)
{
    return big ? ((guint)p[0] << 8) | p[1] : ((guint)p[1] << 8) | p[0];
}

static guint32 read_u32(const guint8 *p, gboolean big)
{
    return big ? ((guint32)p[0] << 24) | ((guint32)p[1] << 16) |
                     ((guint32)p[2] << 8) | p[3]
               : ((guint32)p[3] << 24) | ((guint32)p[2] << 16) |
                     ((guint32)p[1] << 8) | p[0];
}

int lens_exif_orientation(const guint8 *tiff, gsize len)
{
    if (tiff == NULL || len < TIFF_HEADER_BYTES)
        return 1;
    gboolean big;
    if (tiff[0] == 'I' && tiff[1] == 'I')
        big = FALSE;
    else if (tiff[0] == 'M' && tiff[1] == 'M')
        big = TRUE;
    else
        return 1;
    if (read_u16(tiff + 2, big) != TIFF_MAGIC)
        return 1;
    guint32 ifd = read_u32(tiff + 4, big);
    if (ifd > len || len - ifd < 2)
        return 1;
    guint n = read_u16(tiff + ifd, big);
    for (guint i = 0; i < n; i++) {
        gsize off = (gsize)ifd + 2 + (gsize)i * TIFF_ENTRY_BYTES;
        if (off + TIFF_ENTRY_BYTES > len)
            return 1;
        const guint8 *entry = tiff + off;
        if (read_u16(entry, big) != EXIF_TAG_ORIENTATION)
            continue;
        guint type = read_u16(entry + 2, big);
        if (read_u32(entry + 4, big) < 1)
            return 1;
        guint32 v;
        if (type == TIFF_TYPE_SHORT)
            v = read_u16(entry + 8, big);
        else if (type == TIFF_TYPE_LONG)
            v = read_u32(entry + 8, big);
        else
            return 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* ImageOps.exif_transpose's transposition for `orientation` on packed RGB:
 * the new image's pixel (x, y) comes from source pixel (sx, sy). */
static guint8 *orient_rgb(const guint8 *src, int w, int h, int orientation,
                          int *out_w, int *out_h)
{
    const gboolean swap = orientation >= 5; /* 5..8 exchange the axes */
    const int ow = swap ? h : w, oh = swap ? w : h;
    guint8 *dst = g_try_malloc((gsize)w * (gsize)h * 3);
    if (dst == NULL)
        return NULL;
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy;
            switch (orientation) {
            case 2: sx = w - 1 - x, sy = y; break;         /* FLIP_LEFT_RIGHT */
            case 3: sx = w - 1 - x, sy = h - 1 - y; break; /* ROTATE_180 */
            case 4: sx = x, sy = h - 1 - y; break;         /* FLIP_TOP_BOTTOM */
            case 5: sx = y, sy = x; break;                 /* TRANSPOSE */
            case 6: sx = y, sy = h - 1 - x; break;         /* ROTATE_270 */
            case 7: sx = w - 1 - y, sy = h - 1 - x; break; /* TRANSVERSE */
            case 8: sx = w - 1 - y, sy = x; break;         /* ROTATE_90 */
            default: sx = x, sy = y; break;
            }
            memcpy(dst + ((gsize)y * ow + x) * 3,
                   src + ((gsize)sy * w + sx) * 3, 3);
        }
    }
    *out_w = ow;
    *out_h = oh;
    return dst;
}

static LensImage *image_new(LensDecoded *d, const char *format,
                            gboolean oriented)
{
    LensImage *image = g_atomic_rc_box_new0(LensImage);
    image->width = d->width;
    image->height = d->height;
    image->stride = (gsize)d->width * 3;
    image->bytes = g_bytes_new_take(g_steal_pointer(&d->pixels),
                                    image->stride * (gsize)d->height);
    image->format = g_strdup(format);
    image->orientation = d->orientation;
    image->oriented = oriented;
    image->had_alpha = d->had_alpha;
    return image;
}

static void image_free(gpointer data)
{
    LensImage *image = data;
    g_bytes_unref(image->bytes);
    g_free(image->format);
}

LensImage *lens_image_ref(LensImage *image)
{
    return g_atomic_rc_box_acquire(image);
}

void lens_image_unref(LensImage *image)
{
    if (image != NULL)
        g_atomic_rc_box_release_full(image, image_free);
}

/* GdkPixbuf's loaders report the size before allocating; refuse there.
 * Setting the size to 0×0 makes every loader stop without allocating, as
 * gdk_pixbuf_get_file_info() does. */
typedef struct {
    gint64 width, height;
    gboolean refused;
} SizeCheck;

static void on_size_prepared(GdkPixbufLoader *loader, int width, int height,
                             gpointer user_data)
{
    SizeCheck *check = user_data;
    check->width = width;
    check->height = height;
    if (width <= 0 || height <= 0 ||
        (gint64)width * height > LENS_IMAGE_MAX_PIXELS) {
        check->refused = TRUE;
        gdk_pixbuf_loader_set_size(loader, 0, 0);
    }
}

/* Drops alpha from an 8-bit RGB(A) pixbuf into packed RGB. */
static gboolean pixbuf_to_rgb(GdkPixbuf *pixbuf, const char *name,
                              LensDecoded *out, GError **error)
{
    const int w = gdk_pixbuf_get_width(pixbuf);
    const int h = gdk_pixbuf_get_height(pixbuf);
    const int n = gdk_pixbuf_get_n_channels(pixbuf);
    if (gdk_pixbuf_get_colorspace(pixbuf) != GDK_COLORSPACE_RGB ||
        gdk_pixbuf_get_bits_per_sample(pixbuf) != 8 || n < 3 || n > 4) {
        lens_image_set_error(error, name, LENS_IMAGE_ERROR_UNSUPPORTED,
                             "a %d-channel, %d-bit pixbuf is not 8-bit RGB", n,
                             gdk_pixbuf_get_bits_per_sample(pixbuf));
        return FALSE;
    }
    if (!lens_image_check_size(name, w, h, error))
        return FALSE;
    guint8 *rgb = lens_image_alloc_rgb(name, w, h, error);
    if (rgb == NULL)
        return FALSE;
    const guint8 *src = gdk_pixbuf_read_pixels(pixbuf);
    const gsize stride = (gsize)gdk_pixbuf_get_rowstride(pixbuf);
    for (int y = 0; y < h; y++) {
        const guint8 *in = src + (gsize)y * stride;
        guint8 *o = rgb + (gsize)y * w * 3;
        for (int x = 0; x < w; x++)
            memcpy(o + 3 * x, in + n * x, 3);
    }
    out->pixels = rgb;
    out->width = w;
    out->height = h;
    out->had_alpha = gdk_pixbuf_get_has_alpha(pixbuf);
    return TRUE;
}

/* TIFF is always oriented: Pillow's TiffImagePlugin applies the
 * Orientation tag itself when it loads the image (and drops the tag), so
 * Image.open(tiff) is already upright; libtiff under GdkPixbuf performs
 * the flips and GdkPixbuf reports the rest as its "orientation" option. */
static gboolean decode_with_pixbuf(const guint8 *data, gsize len,
                                   const char *name, LensImageLoadFlags flags,
                                   LensDecoded *out, char **format,
                                   gboolean *oriented_out, GError **error)
{
    g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new();
    SizeCheck check = { 0 };
    g_signal_connect(loader, "size-prepared", G_CALLBACK(on_size_prepared),
                     &check);
    g_autoptr(GError) local = NULL;
    gboolean ok = gdk_pixbuf_loader_write(loader, data, len, &local);
    /* close even after a failed write, so the loader is finished */
    ok = gdk_pixbuf_loader_close(loader, ok ? &local : NULL) && ok;

    GdkPixbufFormat *fmt = gdk_pixbuf_loader_get_format(loader);
    g_autofree char *fmt_name =
        fmt ? gdk_pixbuf_format_get_name(fmt) : g_strdup("pixbuf");
    if (check.refused) {
        lens_image_check_size(name, check.width, check.height, error);
        return FALSE;
    }
    if (!ok || gdk_pixbuf_loader_get_pixbuf(loader) == NULL) {
        if (fmt == NULL)
            lens_image_set_error(error, name, LENS_IMAGE_ERROR_UNSUPPORTED,
                                 "not an image format this program can read");
        else
            lens_image_set_error(error, name, LENS_IMAGE_ERROR_CORRUPT,
                                 "cannot decode this %s image: %s", fmt_name,
                                 local ? local->message : "no image data");
        return FALSE;
    }

    /* For an animation this is its first frame. */
    GdkPixbuf *pixbuf = gdk_pixbuf_loader_get_pixbuf(loader);
    const char *opt = gdk_pixbuf_get_option(pixbuf, "orientation");
    int orientation = opt != NULL ? atoi(opt) : 1;
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    const gboolean always = g_str_equal(fmt_name, "tiff");
    g_autoptr(GdkPixbuf) oriented = NULL;
    *oriented_out = FALSE;
    if ((always || (flags & LENS_IMAGE_LOAD_ORIENT)) && orientation != 1) {
        oriented = gdk_pixbuf_apply_embedded_orientation(pixbuf);
        if (oriented == NULL) {
            lens_image_set_error(error, name, LENS_IMAGE_ERROR_NO_MEMORY,
                                 "out of memory rotating the image");
            return FALSE;
        }
        pixbuf = oriented;
        *oriented_out = TRUE;
    }
    if (!pixbuf_to_rgb(pixbuf, name, out, error))
        return FALSE;
    out->orientation = orientation;
    *format = g_steal_pointer(&fmt_name);
    return TRUE;
}

LensImage *lens_image_load_bytes(GBytes *data, const char *name,
                                 LensImageLoadFlags flags, GError **error)
{
    g_return_val_if_fail(data != NULL, NULL);
    if (name == NULL)
        name = "image";
    gsize len = 0;
    const guint8 *p = g_bytes_get_data(data, &len);
    if (len == 0) {
        lens_image_set_error(error, name, LENS_IMAGE_ERROR_EMPTY,
                             "the file is empty (0 bytes)");
        return NULL;
    }
    if (len > LENS_IMAGE_MAX_FILE_BYTES) {
        lens_image_set_error(error, name, LENS_IMAGE_ERROR_TOO_LARGE,
                             "%" G_GSIZE_FORMAT " bytes, more than the "
                             "%" G_GSIZE_FORMAT "-byte limit",
                             len, (gsize)LENS_IMAGE_MAX_FILE_BYTES);
        return NULL;
    }

    LensDecoded d = { 0 };
    g_autofree char *format = NULL;
    gboolean pixbuf_path = FALSE, pixbuf_oriented = FALSE;
    if (lens_png_sniff(p, len)) {
        if (!lens_png_decode(p, len, name, &d, error))
            return NULL;
        format = g_strdup("png");
    } else if (lens_jpeg_sniff(p, len)) {
        if (!lens_jpeg_decode(p, len, name, &d, error))
            return NULL;
        format = g_strdup("jpeg");
    } else {
        if (!decode_with_pixbuf(p, len, name, flags, &d, &format,
                                &pixbuf_oriented, error))
            return NULL;
        pixbuf_path = TRUE; /* oriented there already when asked */
    }

    gboolean oriented = pixbuf_oriented;
    if ((flags & LENS_IMAGE_LOAD_ORIENT) && d.orientation != 1) {
        oriented = TRUE;
        if (!pixbuf_path) {
            int w = 0, h = 0;
            guint8 *o =
                orient_rgb(d.pixels, d.width, d.height, d.orientation, &w, &h);
            if (o == NULL) {
                g_free(d.pixels);
                lens_image_set_error(error, name, LENS_IMAGE_ERROR_NO_MEMORY,
                                     "out of memory rotating the image");
                return NULL;
            }
            g_free(d.pixels);
            d.pixels = o;
            d.width = w;
            d.height = h;
        }
    }
    return image_new(&d, format, oriented);
}

LensImage *lens_image_load(const char *path, LensImageLoadFlags flags,
                           GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autofree char *display = g_filename_display_name(path);
    GStatBuf sb;
    if (g_stat(path, &sb) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s: cannot open the image: %s", display, g_strerror(e));
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_ISDIR,
                    "%s: is a directory, not an image file", display);
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: is not a regular file", display);
        return NULL;
    }
    if ((guint64)sb.st_size > LENS_IMAGE_MAX_FILE_BYTES) {
        lens_image_set_error(error, display, LENS_IMAGE_ERROR_TOO_LARGE,
                             "%" G_GUINT64_FORMAT " bytes, more than the "
                             "%" G_GSIZE_FORMAT "-byte limit",
                             (guint64)sb.st_size,
                             (gsize)LENS_IMAGE_MAX_FILE_BYTES);
        return NULL;
    }
    char *contents = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &contents, &len, &local)) {
        g_set_error(error, G_FILE_ERROR, local->code,
                    "%s: cannot read the image: %s", display, local->message);
        return NULL;
    }
    g_autoptr(GBytes) bytes = g_bytes_new_take(contents, len);
    return lens_image_load_bytes(bytes, display, flags, error);
}

LensImage *lens_image_new_from_pixbuf(GdkPixbuf *pixbuf, GError **error)
{
    g_return_val_if_fail(GDK_IS_PIXBUF(pixbuf), NULL);
    LensDecoded d = { 0 };
    if (!pixbuf_to_rgb(pixbuf, "pixbuf", &d, error))
        return NULL;
    d.orientation = 1;
    return image_new(&d, "pixbuf", FALSE);
}

int lens_image_get_width(const LensImage *image)
{
    return image->width;
}

int lens_image_get_height(const LensImage *image)
{
    return image->height;
}

gsize lens_image_get_stride(const LensImage *image)
{
    return image->stride;
}

const guint8 *lens_image_get_pixels(const LensImage *image)
{
    return g_bytes_get_data(image->bytes, NULL);
}

GBytes *lens_image_get_bytes(const LensImage *image)
{
    return image->bytes;
}

const char *lens_image_get_format(const LensImage *image)
{
    return image->format;
}

int lens_image_get_orientation(const LensImage *image)
{
    return image->orientation;
}

gboolean lens_image_get_oriented(const LensImage *image)
{
    return image->oriented;
}

gboolean lens_image_get_had_alpha(const LensImage *image)
{
    return image->had_alpha;
}

pali_image lens_image_as_pali(const LensImage *image)
{
    pali_image view = {
        .pixels = lens_image_get_pixels(image),
        .width = image->width,
        .height = image->height,
        .stride = image->stride,
        .format = PALI_PIXEL_RGB8,
    };
    return view;
}

GdkPixbuf *lens_image_to_pixbuf(LensImage *image)
{
    return gdk_pixbuf_new_from_bytes(image->bytes, GDK_COLORSPACE_RGB, FALSE, 8,
                                     image->width, image->height,
                                     (int)image->stride);
}
