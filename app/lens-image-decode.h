/* lens-image-decode.h — the format decoders behind lens-image-loader.c
 * (private to it): each turns an encoded file held in memory into packed
 * RGB8 exactly as Pillow's open + convert("RGB") would, and reports the
 * EXIF orientation it found. */
#pragma once

#include <glib.h>

#include "lens-image-loader.h"

/* What a decoder returns: packed RGB8 (width · 3 bytes per row), owned. */
typedef struct {
    guint8 *pixels; /* (height, width, 3), g_free */
    int width, height;
    int orientation;    /* EXIF orientation 1..8; 1 when absent or invalid */
    gboolean had_alpha; /* an alpha channel or transparency was dropped */
} LensDecoded;

/* Sets a LensImageError whose message starts with "name: ". */
void lens_image_set_error(GError **error, const char *name, LensImageError code,
                          const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* Refuses 0-sized and oversized images (before any pixel allocation). */
gboolean lens_image_check_size(const char *name, gint64 width, gint64 height,
                               GError **error);

/* A packed RGB8 buffer for width × height pixels, or NULL with an error. */
guint8 *lens_image_alloc_rgb(const char *name, int width, int height,
                             GError **error);

/* The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block
 * (starting at the "II*\0"/"MM\0*" header), as Pillow's getexif() reads it;
 * 1 when absent, malformed or outside 1..8. */
int lens_exif_orientation(const guint8 *tiff, gsize len);

gboolean lens_png_sniff(const guint8 *data, gsize len);
gboolean lens_png_decode(const guint8 *data, gsize len, const char *name,
                         LensDecoded *out, GError **error);

gboolean lens_jpeg_sniff(const guint8 *data, gsize len);
gboolean lens_jpeg_decode(const guint8 *data, gsize len, const char *name,
                          LensDecoded *out, GError **error);
