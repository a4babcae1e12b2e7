/* lens-image-jpeg.c — JPEG to RGB8 with libjpeg-turbo, as Pillow 13's
 * JpegImagePlugin + Image.convert("RGB") do (checked against Pillow's bytes
 * in tests/test-image-decode.c).
 *
 * Pillow opens a JPEG without draft mode, so libjpeg runs with its defaults
 * (JDCT_ISLOW, fancy upsampling, block smoothing) and the output colour
 * space follows the component count: 1 → gray ("L", then replicated),
 * 3 → RGB (libjpeg's YCbCr → RGB), 4 → CMYK read as "CMYK;I" (Pillow always
 * assumes Adobe's inverted polarity) and converted with Pillow's cmyk2rgb:
 * R = clip(K' − K'·C/255) with K' = 255 − K, using its MULDIV255 rounding.
 * libjpeg's corrupt-data warnings are ignored, as Pillow ignores them; data
 * that ends early is an error, even when only the final EOI marker is
 * missing (libjpeg meets the end while finishing the last rows; Pillow
 * says "image file is truncated" for both).  The orientation comes from the
 * first APP1 "Exif" segment, the one Pillow keeps. */
#include "config.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "lens-image-decode.h"

/* APP1 segments longer than this are not EXIF worth reading (a segment
 * cannot exceed 65533 bytes of payload anyway). */
#define EXIF_SEGMENT_MAX 0xFFFF
/* "Exif\0\0" precedes the TIFF structure in APP1. */
static const guint8 exif_magic[6] = { 'E', 'x', 'i', 'f', 0, 0 };

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    gboolean eof; /* libjpeg met the end of the data and faked an EOI */
    char message[JMSG_LENGTH_MAX];
} JpegErrors;

static void on_jpeg_error(j_common_ptr cinfo)
{
    JpegErrors *e = (JpegErrors *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void on_jpeg_message(j_common_ptr cinfo, int level)
{
    /* level −1: a warning.  Only the end of the data matters; the rest
     * ("extraneous bytes before marker", …) Pillow ignores too. */
    JpegErrors *e = (JpegErrors *)cinfo->err;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        e->eof = TRUE;
}

static void on_jpeg_output(j_common_ptr cinfo)
{
    /* never print */
}

gboolean lens_jpeg_sniff(const guint8 *data, gsize len)
{
    return len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

/* Pillow's MULDIV255: a·b/255 rounded, in integers. */
static inline int muldiv255(int a, int b)
{
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

static inline guint8 clip8(int v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (guint8)v;
}

/* One output scanline of `n` components to RGB8. */
static void convert_scanline(const guint8 *in, int width, int n, guint8 *out)
{
    for (int x = 0; x < width; x++, out += 3) {
        if (n == 1) {
            out[0] = out[1] = out[2] = in[x];
        } else if (n == 3) {
            memcpy(out, in + 3 * x, 3);
        } else {
            /* "CMYK;I" unpacking inverts, then cmyk2rgb */
            const guint8 *p = in + 4 * x;
            int nk = p[3]; /* 255 − (255 − k) */
            for (int c = 0; c < 3; c++)
                out[c] = clip8(nk - muldiv255(255 - p[c], nk));
        }
    }
}

static int find_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, exif_magic, 6) == 0)
            return lens_exif_orientation(m->data + 6, m->data_length - 6);
    return 1;
}

gboolean lens_jpeg_decode(const guint8 *data, gsize len, const char *name,
                          LensDecoded *out, GError **error)
{
    struct jpeg_decompress_struct cinfo;
    JpegErrors jerr;
    memset(out, 0, sizeof(*out));
    memset(&jerr, 0, sizeof(jerr));

    /* Freed on the error path; volatile so longjmp leaves them valid. */
    struct {
        guint8 *rgb;
        guint8 *line;
        gboolean reported;
    } volatile st = { 0 };

    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_jpeg_error;
    jerr.pub.emit_message = on_jpeg_message;
    jerr.pub.output_message = on_jpeg_output;
    if (setjmp(jerr.jump)) {
        if (!st.reported) {
            if (jerr.eof)
                lens_image_set_error(error, name, LENS_IMAGE_ERROR_TRUNCATED,
                                     "truncated JPEG: the data ends before "
                                     "the image does (%s)",
                                     jerr.message);
            else
                lens_image_set_error(error, name, LENS_IMAGE_ERROR_CORRUPT,
                                     "corrupt JPEG: %s", jerr.message);
        }
        jpeg_destroy_decompress(&cinfo);
        g_free(st.rgb);
        g_free(st.line);
        return FALSE;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, EXIF_SEGMENT_MAX);
    jpeg_read_header(&cinfo, TRUE);

    if (!lens_image_check_size(name, cinfo.image_width, cinfo.image_height,
                               error)) {
        st.reported = TRUE;
        longjmp(jerr.jump, 1);
    }
    if (cinfo.data_precision != 8) {
        lens_image_set_error(error, name, LENS_IMAGE_ERROR_UNSUPPORTED,
                             "%d-bit JPEG samples are not supported",
                             cinfo.data_precision);
        st.reported = TRUE;
        longjmp(jerr.jump, 1);
    }
    switch (cinfo.num_components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo.out_color_space = JCS_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break;
    default:
        lens_image_set_error(error, name, LENS_IMAGE_ERROR_UNSUPPORTED,
                             "JPEG with %d components is not supported "
                             "(1, 3 or 4 are)",
                             cinfo.num_components);
        st.reported = TRUE;
        longjmp(jerr.jump, 1);
    }
    out->orientation = find_orientation(&cinfo);

    jpeg_start_decompress(&cinfo);
    const int width = (int)cinfo.output_width;
    const int height = (int)cinfo.output_height;
    const int n = cinfo.output_components;
    st.rgb = lens_image_alloc_rgb(name, width, height, error);
    st.line = g_try_malloc((gsize)width * (gsize)n);
    if (st.rgb == NULL || st.line == NULL) {
        if (st.rgb != NULL)
            lens_image_set_error(error, name, LENS_IMAGE_ERROR_NO_MEMORY,
                                 "out of memory for a JPEG scanline");
        st.reported = TRUE;
        longjmp(jerr.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = st.line;
        guint y = cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1)
            break;
        convert_scanline(st.line, width, n, st.rgb + (gsize)y * width * 3);
    }
    if (jerr.eof) {
        /* libjpeg filled the missing part with gray; Pillow refuses it */
        g_strlcpy(jerr.message, "premature end of data", sizeof(jerr.message));
        longjmp(jerr.jump, 1);
    }
    /* Every scanline is in; whatever follows (EOI, trailing bytes) is not
     * read, as Pillow stops there too. */
    jpeg_abort_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);

    out->pixels = st.rgb;
    out->width = width;
    out->height = height;
    g_free(st.line);
    return TRUE;
}
