/* lens-view-math.h — the image view's coordinate maths as pure functions:
 * zoom to fit, zoom steps and limits, scroll clamping, zooming around a
 * point so that it stays under the cursor, and widget ↔ image coordinates.
 * No GTK here, so the tests check it without a display (Loupe and gtk4-demo's
 * demo3widget keep the same maths apart from their widgets).
 *
 * Units: "image px" are pixels of the decoded image; "widget px" are the
 * view's logical (unscaled) pixels; zoom is widget px per image px.  The
 * zoomed image ("content", image size × zoom) is centred when smaller than
 * the view and scrolled when larger: scroll is the content coordinate of the
 * view's top-left corner. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Smallest and largest zoom: 2 % shows a 24-megapixel photo in a small
 * window; 32× is enough to see single pixels of a 224 px model input. */
#define LENS_VIEW_ZOOM_MIN 0.02
#define LENS_VIEW_ZOOM_MAX 32.0
/* One zoom-in step (keys, buttons, one wheel notch): 2^(1/4), so four
 * steps double the size and 100 % is always reachable from 100 %. */
#define LENS_VIEW_ZOOM_STEP 1.189207115002721

typedef struct {
    double image_width, image_height; /* image px; 0 when there is none */
    double view_width, view_height;   /* widget px */
    double zoom;                      /* widget px per image px */
    double scroll_x, scroll_y;        /* widget px into the content */
} LensViewState;

/* The zoom that shows the whole image in the view, within the limits; 1 when
 * there is no image or no view yet. */
double lens_view_fit_zoom(const LensViewState *s);
double lens_view_clamp_zoom(double zoom);
/* The next zoom up or down by one step, within the limits. */
double lens_view_zoom_step(double zoom, int steps);
gboolean lens_view_can_zoom_in(const LensViewState *s);
gboolean lens_view_can_zoom_out(const LensViewState *s);

/* Content size: image size × zoom (widget px). */
void lens_view_content_size(const LensViewState *s, double *width,
                            double *height);
/* Largest scroll offsets: content − view, or 0 when the content fits. */
void lens_view_scroll_limits(const LensViewState *s, double *max_x,
                             double *max_y);
/* Brings scroll_x/scroll_y inside [0, limit]. */
void lens_view_clamp_scroll(LensViewState *s);
/* Where the image's top-left corner is drawn, in widget px (centring
 * margin minus scroll). */
void lens_view_origin(const LensViewState *s, double *x, double *y);

void lens_view_widget_to_image(const LensViewState *s, double wx, double wy,
                               double *ix, double *iy);
void lens_view_image_to_widget(const LensViewState *s, double ix, double iy,
                               double *wx, double *wy);

/* Sets the zoom (clamped) and scrolls so that the image point under widget
 * point (wx, wy) stays there, as far as the scroll limits allow. */
void lens_view_zoom_at(LensViewState *s, double zoom, double wx, double wy);

G_END_DECLS
