/* lens-overlay-layer.h — LensOverlayLayer, the overlay of the image view
 * drawn off the main thread.  Drawing an overlay costs time that grows
 * with the image (masks are full-resolution and filtered down, outlines
 * can be long): tens of milliseconds for a photo, every time an object
 * arrives, on the main thread.  The layer draws it in a thread into a
 * surface of the view's size in device pixels and the view only copies
 * that surface; until a new drawing is ready the last one is shown, moved
 * and scaled to the view's current zoom and scroll. */
#pragma once

#include <gtk/gtk.h>

#include "lens-answer.h"
#include "lens-overlay.h"

G_BEGIN_DECLS

typedef struct _LensOverlayLayer LensOverlayLayer;

/* `widget` is redrawn when a drawing is ready (borrowed; call
 * lens_overlay_layer_free before it goes). */
LensOverlayLayer *lens_overlay_layer_new(GtkWidget *widget);
void lens_overlay_layer_free(LensOverlayLayer *self);

/* The overlay to draw: `owned` (taken) or one borrowed from `answer`
 * (kept referenced while in use); both NULL: nothing.  A new overlay is
 * drawn at once where the last snapshot placed the layer, and the widget
 * redrawn when it is ready; returns TRUE when the caller must redraw the
 * widget itself (the overlay went, or no snapshot placed the layer yet). */
gboolean lens_overlay_layer_set_overlay(LensOverlayLayer *self,
                                        LensOverlay *owned, LensAnswer *answer);
const LensOverlay *lens_overlay_layer_get_overlay(LensOverlayLayer *self);

/* Where and how the overlay goes: image pixel (x, y) at device pixel
 * (origin_x + x·scale, origin_y + y·scale) of a view of width × height
 * device pixels; the style's sizes in device pixels. */
typedef struct {
    int width, height;
    double origin_x, origin_y, scale;
    LensOverlayStyle style;
} LensOverlayLayerSpec;

/* Appends the latest drawing to `snapshot` (in a view whose device scale
 * is `device_scale`), fitted to `spec`, and starts a new drawing when the
 * latest is not for this overlay and `spec`. */
void lens_overlay_layer_snapshot(LensOverlayLayer *self, GtkSnapshot *snapshot,
                                 int device_scale,
                                 const LensOverlayLayerSpec *spec);
/* TRUE while the overlay shown is not yet the one drawn for the last
 * snapshot's spec (a drawing is under way or needed). */
gboolean lens_overlay_layer_get_pending(LensOverlayLayer *self);

G_END_DECLS
