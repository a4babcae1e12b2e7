/* lens-image-loader.h — decodes image files to the RGB pixels the reference
 * pipeline sees, for palilens-cli --image and the application.
 *
 * The reference opens images with Pillow (`PIL.Image.open(f)` then
 * `.convert("RGB")`, which transformers' processor does for any non-RGB
 * image), so the pixels here are Pillow's, byte for byte:
 *  - PNG is decoded with libpng and converted as Pillow does: grayscale,
 *    palette (an index past the palette is black) and 1/2/4-bit images
 *    expand to RGB; 16-bit RGB, RGBA and gray+alpha keep the high byte;
 *    16-bit gray (Pillow's "I;16") is *clipped* to 0..255, not scaled (so a
 *    typical 16-bit gray photo comes out nearly white — that is what the
 *    reference feeds the model); alpha and tRNS are dropped, never
 *    composited.
 *  - JPEG is decoded with libjpeg-turbo with Pillow's settings (the library
 *    defaults: ISLOW DCT, fancy upsampling, block smoothing); gray expands
 *    to RGB; CMYK and YCCK are read with Adobe (inverted) polarity as Pillow
 *    assumes and converted with Pillow's cmyk2rgb.  Corrupt-data warnings
 *    are ignored as Pillow ignores them; a truncated file is an error, as
 *    Pillow's "image file is truncated".
 *  - Other formats go through GdkPixbuf, alpha dropped.  Checked equal to
 *    Pillow: GIF (first frame), BMP (24-bit, 32-bit, palette), TIFF (raw,
 *    LZW, deflate, JPEG, gray), WebP (lossy, lossless, with alpha; needs
 *    webp-pixbuf-loader), PPM, TGA.  Known to differ: transparent GIF
 *    pixels (GdkPixbuf gives 0, 0, 0; Pillow the palette colour), TIFF
 *    pixels with alpha below 255 (libtiff premultiplies them), CMYK TIFF
 *    (libtiff's conversion rounds differently: ±1).
 *
 * EXIF orientation.  transformers 5's processor does not apply it: a PIL
 * image is used as stored, and a path is decoded by torchvision's
 * decode_image(apply_exif_orientation=False).  Only transformers'
 * load_image() (used by its pipelines) calls ImageOps.exif_transpose.  So
 * the orientation is applied only when asked (LENS_IMAGE_LOAD_ORIENT):
 * without it the pixels are exactly those of
 * processor(images=Image.open(path)); with it, those of transformers'
 * pipelines and of what an image viewer shows.  Pass it wherever a person
 * sees the picture (the application, overlays), so that boxes and masks
 * land on the upright image; leave it out to reproduce the processor.  For
 * a file without an orientation tag both are the same.  Orientation is read
 * from JPEG APP1 Exif and the PNG eXIf chunk (as exif_transpose does).
 * TIFF is the exception: its Orientation tag is always applied, because
 * Pillow's TIFF plugin applies it itself when it loads the file.  EXIF in
 * other formats (WebP, …) is not read.
 *
 * Limits: files above LENS_IMAGE_MAX_FILE_BYTES and images above
 * LENS_IMAGE_MAX_PIXELS (the engine's PALI_IMAGE_MAX_PIXELS) are refused
 * from the header, before the pixels are allocated.
 *
 * Errors are LENS_IMAGE_ERROR (or G_FILE_ERROR for a file that cannot be
 * read) with a message that starts with the file name.  Any thread may load
 * images; a LensImage is immutable and reference counted. */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib-object.h>

#include "pali.h"

G_BEGIN_DECLS

/* Larger files are refused before reading them. */
#define LENS_IMAGE_MAX_FILE_BYTES ((gsize)1 << 30)
/* Larger images (width × height) are refused from their header. */
#define LENS_IMAGE_MAX_PIXELS PALI_IMAGE_MAX_PIXELS

#define LENS_IMAGE_ERROR (lens_image_error_quark())
GQuark lens_image_error_quark(void);

typedef enum {
    LENS_IMAGE_ERROR_EMPTY,       /* a zero-byte file, or a 0×0 image */
    LENS_IMAGE_ERROR_UNSUPPORTED, /* not an image format we can decode */
    LENS_IMAGE_ERROR_CORRUPT,     /* malformed data */
    LENS_IMAGE_ERROR_TRUNCATED,   /* the data ends before the image does */
    LENS_IMAGE_ERROR_TOO_LARGE,   /* above the size limits */
    LENS_IMAGE_ERROR_NO_MEMORY,   /* the pixels could not be allocated */
} LensImageError;

typedef enum {
    LENS_IMAGE_LOAD_DEFAULT = 0,
    /* Apply the EXIF / TIFF orientation (as ImageOps.exif_transpose). */
    LENS_IMAGE_LOAD_ORIENT = 1 << 0,
} LensImageLoadFlags;

typedef struct _LensImage LensImage;

#define LENS_TYPE_IMAGE (lens_image_get_type())
GType lens_image_get_type(void) G_GNUC_CONST;

/* Decodes the file at `path` (in the GLib filename encoding). */
LensImage *lens_image_load(const char *path, LensImageLoadFlags flags,
                           GError **error);
/* Decodes an encoded image held in memory; `name` is used in messages. */
LensImage *lens_image_load_bytes(GBytes *data, const char *name,
                                 LensImageLoadFlags flags, GError **error);
/* Copies the RGB channels of an 8-bit RGB or RGBA pixbuf (alpha dropped). */
LensImage *lens_image_new_from_pixbuf(GdkPixbuf *pixbuf, GError **error);

LensImage *lens_image_ref(LensImage *image);
void lens_image_unref(LensImage *image);

int lens_image_get_width(const LensImage *image);
int lens_image_get_height(const LensImage *image);
/* Bytes between rows (width × 3: rows are packed). */
gsize lens_image_get_stride(const LensImage *image);
/* RGB8, top row first; valid as long as the image. */
const guint8 *lens_image_get_pixels(const LensImage *image);
/* The same pixels as GBytes (borrowed), e.g. for gdk_memory_texture_new()
 * with GDK_MEMORY_R8G8B8. */
GBytes *lens_image_get_bytes(const LensImage *image);
/* "png", "jpeg", or GdkPixbuf's format name ("gif", "tiff", …);
 * "pixbuf" for lens_image_new_from_pixbuf(). */
const char *lens_image_get_format(const LensImage *image);
/* The EXIF orientation found in the file (1..8; 1 when there is none),
 * whether or not it was applied. */
int lens_image_get_orientation(const LensImage *image);
/* TRUE when the orientation was applied (the pixels are rotated/flipped). */
gboolean lens_image_get_oriented(const LensImage *image);
/* TRUE when the source had an alpha channel or transparency (dropped). */
gboolean lens_image_get_had_alpha(const LensImage *image);

/* A borrowed engine view of the pixels, valid as long as the image. */
pali_image lens_image_as_pali(const LensImage *image);
/* A new pixbuf sharing the pixels (no copy). */
GdkPixbuf *lens_image_to_pixbuf(LensImage *image);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LensImage, lens_image_unref)

G_END_DECLS
