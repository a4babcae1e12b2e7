/* lens-view-math.c — coordinate maths of the image view (see
 * lens-view-math.h).  Pure functions over a LensViewState. */
#include "lens-view-math.h"

#include <math.h>

/* Zoom steps snap to a whole number of steps from 100 % when they land
 * within this relative distance of one, so that rounding after many steps
 * never leaves the zoom at 99.9999 %. */
#define ZOOM_SNAP_EPSILON 1e-6

double lens_view_clamp_zoom(double zoom)
{
    if (!(zoom > 0.0)) /* also catches NaN */
        return 1.0;
    return CLAMP(zoom, LENS_VIEW_ZOOM_MIN, LENS_VIEW_ZOOM_MAX);
}

double lens_view_fit_zoom(const LensViewState *s)
{
    if (s->image_width <= 0 || s->image_height <= 0 || s->view_width <= 0 ||
        s->view_height <= 0)
        return 1.0;
    double zx = s->view_width / s->image_width;
    double zy = s->view_height / s->image_height;
    return lens_view_clamp_zoom(MIN(zx, zy));
}

double lens_view_zoom_step(double zoom, int steps)
{
    zoom = lens_view_clamp_zoom(zoom);
    /* Position on the ladder of steps through 100 %, then move along it. */
    double rung = log(zoom) / log(LENS_VIEW_ZOOM_STEP);
    double nearest = round(rung);
    if (fabs(rung - nearest) < ZOOM_SNAP_EPSILON)
        rung = nearest;
    double target = steps > 0 ? floor(rung) + steps : ceil(rung) + steps;
    return lens_view_clamp_zoom(pow(LENS_VIEW_ZOOM_STEP, target));
}

gboolean lens_view_can_zoom_in(const LensViewState *s)
{
    return s->image_width > 0 && s->zoom < LENS_VIEW_ZOOM_MAX;
}

gboolean lens_view_can_zoom_out(const LensViewState *s)
{
    return s->image_width > 0 && s->zoom > LENS_VIEW_ZOOM_MIN;
}

void lens_view_content_size(const LensViewState *s, double *width,
                            double *height)
{
    *width = s->image_width * s->zoom;
    *height = s->image_height * s->zoom;
}

void lens_view_scroll_limits(const LensViewState *s, double *max_x,
                             double *max_y)
{
    double cw, ch;
    lens_view_content_size(s, &cw, &ch);
    *max_x = MAX(0.0, cw - s->view_width);
    *max_y = MAX(0.0, ch - s->view_height);
}

void lens_view_clamp_scroll(LensViewState *s)
{
    double max_x, max_y;
    lens_view_scroll_limits(s, &max_x, &max_y);
    s->scroll_x = isfinite(s->scroll_x) ? CLAMP(s->scroll_x, 0.0, max_x) : 0;
    s->scroll_y = isfinite(s->scroll_y) ? CLAMP(s->scroll_y, 0.0, max_y) : 0;
}

void lens_view_origin(const LensViewState *s, double *x, double *y)
{
    double cw, ch;
    lens_view_content_size(s, &cw, &ch);
    *x = MAX(0.0, (s->view_width - cw) / 2.0) - s->scroll_x;
    *y = MAX(0.0, (s->view_height - ch) / 2.0) - s->scroll_y;
}

void lens_view_widget_to_image(const LensViewState *s, double wx, double wy,
                               double *ix, double *iy)
{
    double ox, oy;
    lens_view_origin(s, &ox, &oy);
    *ix = (wx - ox) / s->zoom;
    *iy = (wy - oy) / s->zoom;
}

void lens_view_image_to_widget(const LensViewState *s, double ix, double iy,
                               double *wx, double *wy)
{
    double ox, oy;
    lens_view_origin(s, &ox, &oy);
    *wx = ox + ix * s->zoom;
    *wy = oy + iy * s->zoom;
}

void lens_view_zoom_at(LensViewState *s, double zoom, double wx, double wy)
{
    double ix, iy;
    lens_view_widget_to_image(s, wx, wy, &ix, &iy);
    s->zoom = lens_view_clamp_zoom(zoom);
    /* The centring margin depends on the new content size: compute it with
     * no scroll, then scroll by whatever moves the point back under wx. */
    s->scroll_x = 0;
    s->scroll_y = 0;
    double nx, ny;
    lens_view_image_to_widget(s, ix, iy, &nx, &ny);
    s->scroll_x = nx - wx;
    s->scroll_y = ny - wy;
    lens_view_clamp_scroll(s);
}
