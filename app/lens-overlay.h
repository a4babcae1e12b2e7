/* lens-overlay.h — detection boxes and segmentation masks as data, and
 * their drawing.
 *
 * A LensOverlay is built once from a pali_result (it copies what it needs:
 * the result may be freed afterwards) and then drawn on any cairo context
 * at any scale — the image view at any zoom, an exported PNG.  Geometry is
 * in image pixels; line widths and font sizes are in device pixels, so
 * zoomed views stay crisp.  Colours come from a fixed palette, one per
 * distinct label (labels compared without surrounding blanks), in order of
 * first appearance.  Masks are the demo's soft 8-bit masks (pali_object
 * mask), drawn with their alpha, and outlined where they reach 50 %. */
#pragma once

#include <cairo.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>

#include "pali.h"

G_BEGIN_DECLS

typedef struct {
    double red, green, blue; /* 0..1 */
} LensColor;

typedef struct {
    char *label;     /* the name without surrounding blanks; "" if none */
    int span_index;  /* index of the object in the result's spans */
    int box[4];      /* x1 y1 x2 y2 in image pixels, as parsed */
    int clip[4];     /* the box clipped to the image (may be empty) */
    gint64 area;     /* mask pixels ≥ 50 %, or the clipped box's area */
    int color_index; /* index into lens_overlay_palette() */
    LensColor color;
    cairo_surface_t *mask; /* CAIRO_FORMAT_A8, at mask_x, mask_y; or NULL */
    int mask_x, mask_y, mask_w, mask_h;
    unsigned flags; /* enum pali_object_flags */
} LensOverlayObject;

typedef struct {
    gboolean show_boxes, show_masks, show_labels;
    double mask_opacity; /* 0..1, multiplies the soft mask */
    int highlighted;     /* object index drawn emphasised; −1 for none */
    double line_width;   /* device pixels */
    double font_size;    /* device pixels */
} LensOverlayStyle;

/* Boxes, masks and labels on; opacity 0.45; lines 2 px; text 13 px. */
LensOverlayStyle lens_overlay_style_default(void);

/* The fixed palette (Tableau 10: readable on photos, distinct hues). */
const LensColor *lens_overlay_palette(int *n_colors);

typedef struct _LensOverlay LensOverlay;

/* Takes the objects of `result` (text spans are skipped). */
LensOverlay *lens_overlay_new(const pali_result *result);
void lens_overlay_free(LensOverlay *self);

int lens_overlay_get_width(const LensOverlay *self);
int lens_overlay_get_height(const LensOverlay *self);
int lens_overlay_get_n_objects(const LensOverlay *self);
/* Borrowed; valid as long as the overlay. */
const LensOverlayObject *lens_overlay_get_object(const LensOverlay *self,
                                                 int index);

/* Draws on cr, whose user space must be device pixels: image pixel (x, y)
 * lands at (origin_x + x·scale, origin_y + y·scale).  Masks first, then
 * boxes, then labels, so labels stay readable. */
void lens_overlay_draw(const LensOverlay *self, cairo_t *cr, double origin_x,
                       double origin_y, double scale,
                       const LensOverlayStyle *style);

/* The object under image point (x, y), or −1: a point inside a mask
 * (≥ 50 %) or, for objects without one, inside the clipped box; among
 * several, the smallest area wins (small objects inside large ones stay
 * reachable), then the one drawn last. */
int lens_overlay_hit_test(const LensOverlay *self, double x, double y);

/* The image with the overlay drawn at full resolution (ARGB32). */
cairo_surface_t *lens_overlay_render(const LensOverlay *self, GdkPixbuf *image,
                                     const LensOverlayStyle *style);
/* The same written as a PNG (temporary file + rename). */
gboolean lens_overlay_save_png(const LensOverlay *self, GdkPixbuf *image,
                               const LensOverlayStyle *style, const char *path,
                               GError **error);

/* A cairo ARGB32 copy of a pixbuf (RGB or RGBA, 8 bits). */
cairo_surface_t *lens_surface_from_pixbuf(GdkPixbuf *pixbuf);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LensOverlay, lens_overlay_free)

G_END_DECLS
