/* lens-image-png.c — PNG to RGB8 with libpng, converted as Pillow 13's
 * PngImagePlugin + Image.convert("RGB") do (checked against Pillow's bytes
 * in tests/test-image-decode.c):
 *   gray 1/2/4/8-bit   → mode "1"/"L": scaled to 0..255 (×255, ×85, ×17)
 *   gray 16-bit        → mode "I;16": clipped to 0..255 (not scaled)
 *   gray+alpha 8/16    → "LA"/"RGBA;LA;16B": gray (high byte), alpha dropped
 *   RGB, RGBA 8/16     → high byte of each sample, alpha dropped
 *   palette 1..8-bit   → palette colour; an index past the palette is black
 * tRNS is ignored (Pillow keeps it as info that convert("RGB") drops);
 * gamma, sRGB and ICC chunks are ignored (Pillow does no colour
 * management).  Chunks after the image data are read for eXIf but a file
 * that ends there without IEND still loads, as in Pillow. */
#include "config.h"

#include <png.h>
#include <setjmp.h>
#include <string.h>

#include "lens-image-decode.h"

/* Color types as named in the PNG specification. */
enum {
    PNG_GRAY = 0,
    PNG_RGB = 2,
    PNG_PALETTE = 3,
    PNG_GRAY_ALPHA = 4,
    PNG_RGB_ALPHA = 6,
};

/* Pillow reads every entry of a PLTE chunk; PNG allows at most 256. */
#define PNG_PALETTE_MAX 256

typedef struct {
    const guint8 *data;
    gsize len, pos;
    gboolean truncated;
    char message[256];
    char warning[256]; /* the last warning: often the reason for an error */
} PngSource;

static void on_png_error(png_structp png, png_const_charp msg)
{
    PngSource *src = png_get_error_ptr(png);
    g_strlcpy(src->message, msg, sizeof(src->message));
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    /* Never printed (Pillow has no PNG warnings); kept for the error
     * message, e.g. "Image width is zero in IHDR" before "Invalid IHDR
     * data". */
    PngSource *src = png_get_error_ptr(png);
    g_strlcpy(src->warning, msg, sizeof(src->warning));
}

static void on_png_read(png_structp png, png_bytep out, size_t n)
{
    PngSource *src = png_get_io_ptr(png);
    if (src->len - src->pos < n) {
        src->truncated = TRUE;
        png_error(png, "the file ends before the image data does");
    }
    memcpy(out, src->data + src->pos, n);
    src->pos += n;
}

gboolean lens_png_sniff(const guint8 *data, gsize len)
{
    return len >= 8 && png_sig_cmp(data, 0, 8) == 0;
}

/* Everything the row conversion needs. */
typedef struct {
    int width;
    int color_type, bit_depth; /* after png_read_update_info */
    guint8 palette[PNG_PALETTE_MAX][3];
    int n_palette;
} PngLayout;

/* One decoded row (libpng's layout, 16-bit samples big-endian) to RGB8. */
static void convert_row(const PngLayout *lay, const guint8 *in, guint8 *out)
{
    const gboolean wide = lay->bit_depth == 16;
    for (int x = 0; x < lay->width; x++, out += 3) {
        switch (lay->color_type) {
        case PNG_GRAY:
            if (wide) {
                /* "I;16" → "RGB": Pillow clips, it does not scale */
                guint v = ((guint)in[2 * x] << 8) | in[2 * x + 1];
                out[0] = out[1] = out[2] = v > 255 ? 255 : (guint8)v;
            } else {
                out[0] = out[1] = out[2] = in[x];
            }
            break;
        case PNG_GRAY_ALPHA:
            out[0] = out[1] = out[2] = in[(wide ? 4 : 2) * x];
            break;
        case PNG_RGB:
        case PNG_RGB_ALPHA: {
            const int n = lay->color_type == PNG_RGB ? 3 : 4;
            const guint8 *p = in + (wide ? 2 * n : n) * x;
            const int step = wide ? 2 : 1; /* 16-bit: the high byte */
            out[0] = p[0];
            out[1] = p[step];
            out[2] = p[2 * step];
            break;
        }
        case PNG_PALETTE: {
            guint i = in[x];
            if ((int)i < lay->n_palette)
                memcpy(out, lay->palette[i], 3);
            else
                out[0] = out[1] = out[2] = 0;
            break;
        }
        }
    }
}

static int exif_orientation_of(png_structp png, png_infop info)
{
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 n = 0;
    png_bytep exif = NULL;
    if (info != NULL && png_get_eXIf_1(png, info, &n, &exif) != 0 &&
        exif != NULL)
        return lens_exif_orientation(exif, n);
#endif
    return 1;
}

gboolean lens_png_decode(const guint8 *data, gsize len, const char *name,
                         LensDecoded *out, GError **error)
{
    PngSource src = { .data = data, .len = len };
    memset(out, 0, sizeof(*out));

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src,
                                             on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_infop end = png ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL || end == NULL) {
        png_destroy_read_struct(&png, &info, &end);
        lens_image_set_error(error, name, LENS_IMAGE_ERROR_NO_MEMORY,
                             "out of memory starting the PNG decoder");
        return FALSE;
    }

    /* Everything freed on the error path lives here, not in locals that a
     * longjmp could leave stale. */
    struct {
        guint8 *rgb;
        guint8 *native;
        png_bytep *rows;
        gboolean size_error;
    } volatile st = { 0 };
    PngLayout lay = { 0 };

    if (setjmp(png_jmpbuf(png))) {
        if (!st.size_error)
            lens_image_set_error(error, name,
                                 src.truncated ? LENS_IMAGE_ERROR_TRUNCATED
                                               : LENS_IMAGE_ERROR_CORRUPT,
                                 "%s PNG: %s%s%s%s",
                                 src.truncated ? "truncated" : "corrupt",
                                 src.message, src.warning[0] ? " (" : "",
                                 src.warning, src.warning[0] ? ")" : "");
        g_free(st.rgb);
        g_free(st.native);
        g_free(st.rows);
        png_destroy_read_struct(&png, &info, &end);
        return FALSE;
    }

    png_set_read_fn(png, &src, on_png_read);
    /* Our own pixel limit decides; libpng still checks that rows fit. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type,
                 &interlace, NULL, NULL);
    if (!lens_image_check_size(name, width, height, error)) {
        st.size_error = TRUE;
        png_longjmp(png, 1);
    }

    out->had_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 ||
                     png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    if (color_type == PNG_PALETTE) {
        png_colorp plte = NULL;
        int n = 0;
        if (png_get_PLTE(png, info, &plte, &n) != 0 && plte != NULL) {
            lay.n_palette = MIN(n, PNG_PALETTE_MAX);
            for (int i = 0; i < lay.n_palette; i++) {
                lay.palette[i][0] = plte[i].red;
                lay.palette[i][1] = plte[i].green;
                lay.palette[i][2] = plte[i].blue;
            }
        }
        /* Pillow paints an index past the palette black; do not let
         * libpng treat it as an error. */
        png_set_check_for_invalid_index(png, -1);
        if (bit_depth < 8)
            png_set_packing(png); /* one index per byte, unscaled */
    } else if (color_type == PNG_GRAY && bit_depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png); /* ×255, ×85, ×17 */
    }
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    lay.width = (int)width;
    lay.color_type = png_get_color_type(png, info);
    lay.bit_depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);

    st.rgb = lens_image_alloc_rgb(name, (int)width, (int)height, error);
    if (st.rgb == NULL) {
        st.size_error = TRUE;
        png_longjmp(png, 1);
    }
    if (passes > 1) {
        /* Adam7: libpng fills the whole image pass by pass. */
        st.native = g_try_malloc(rowbytes * height);
        st.rows = g_try_new(png_bytep, height);
        if (st.native == NULL || st.rows == NULL) {
            lens_image_set_error(error, name, LENS_IMAGE_ERROR_NO_MEMORY,
                                 "out of memory for a %u×%u interlaced PNG",
                                 width, height);
            st.size_error = TRUE;
            png_longjmp(png, 1);
        }
        for (png_uint_32 y = 0; y < height; y++)
            st.rows[y] = st.native + (size_t)y * rowbytes;
        png_read_image(png, st.rows);
        for (png_uint_32 y = 0; y < height; y++)
            convert_row(&lay, st.rows[y], st.rgb + (size_t)y * width * 3);
    } else {
        st.native = g_try_malloc(rowbytes);
        if (st.native == NULL) {
            lens_image_set_error(error, name, LENS_IMAGE_ERROR_NO_MEMORY,
                                 "out of memory for a PNG row");
            st.size_error = TRUE;
            png_longjmp(png, 1);
        }
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(png, st.native, NULL);
            convert_row(&lay, st.native, st.rgb + (size_t)y * width * 3);
        }
    }

    out->orientation = exif_orientation_of(png, info);
    /* The chunks after the image (maybe eXIf): Pillow stops quietly at a
     * damaged or missing tail, so do we. */
    if (setjmp(png_jmpbuf(png)) == 0) {
        png_read_end(png, end);
        if (out->orientation == 1)
            out->orientation = exif_orientation_of(png, end);
    }

    out->pixels = st.rgb;
    out->width = (int)width;
    out->height = (int)height;
    g_free(st.native);
    g_free(st.rows);
    png_destroy_read_struct(&png, &info, &end);
    return TRUE;
}
