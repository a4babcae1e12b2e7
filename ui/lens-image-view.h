/* lens-image-view.h — the zoomable, scrollable image view with the
 * detection and segmentation overlays drawn over it (see lens-image-view.c). */
#pragma once

#include <gtk/gtk.h>

#include "lens-answer.h"
#include "lens-overlay.h"

G_BEGIN_DECLS

#define LENS_TYPE_IMAGE_VIEW (lens_image_view_get_type())
G_DECLARE_FINAL_TYPE(LensImageView, lens_image_view, LENS, IMAGE_VIEW,
                     GtkWidget)

GtkWidget *lens_image_view_new(void);

/* The image shown; NULL shows nothing.  Setting one zooms to fit. */
void lens_image_view_set_texture(LensImageView *self, GdkTexture *texture);
GdkTexture *lens_image_view_get_texture(LensImageView *self);

double lens_image_view_get_zoom(LensImageView *self);
/* Zooms keeping the point under (x, y) in widget px where it is; x < 0
 * zooms around the centre of the view. */
void lens_image_view_zoom_at(LensImageView *self, double zoom, double x,
                             double y);
/* In fit mode the zoom follows the view's size. */
void lens_image_view_set_fit(LensImageView *self, gboolean fit);
gboolean lens_image_view_get_fit(LensImageView *self);

/* The boxes, labels and masks drawn over the image (taken; NULL: none).
 * Borrowed back with _get_overlay. */
void lens_image_view_set_overlay(LensImageView *self, LensOverlay *overlay);
/* Draws the overlay of `answer` (built off the main thread; the answer is
 * kept referenced while shown); NULL: none. */
void lens_image_view_show_answer(LensImageView *self, LensAnswer *answer);
/* TRUE while the overlay on screen is not yet drawn for the current
 * overlay, style, zoom and scroll (it is drawn in a thread). */
gboolean lens_image_view_get_overlay_pending(LensImageView *self);
const LensOverlay *lens_image_view_get_overlay(LensImageView *self);
/* The overlay style (toggles, opacity, sizes in screen px, highlighted
 * object), as the view's properties set it. */
LensOverlayStyle lens_image_view_get_style(LensImageView *self);
/* The highlighted object (hovered here or in the results list), or -1. */
int lens_image_view_get_highlighted(LensImageView *self);
void lens_image_view_set_highlighted(LensImageView *self, int index);

/* Widget px ↔ image px at the current zoom and scroll. */
void lens_image_view_widget_to_image(LensImageView *self, double wx, double wy,
                                     double *ix, double *iy);
void lens_image_view_image_to_widget(LensImageView *self, double ix, double iy,
                                     double *wx, double *wy);

G_END_DECLS
