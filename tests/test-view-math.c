/* test-view-math.c — the image view's coordinate maths (ui/lens-view-math.c)
 * without a display: fit, zoom steps and limits, centring, scroll clamping,
 * widget ↔ image round trips and zooming around a point. */
#include <math.h>

#include "lens-view-math.h"
#include "testutil.h"

/* Positions are doubles computed in a few operations: equal to well below
 * a thousandth of a pixel. */
#define PX_EPS 1e-9

static LensViewState state(double iw, double ih, double vw, double vh,
                           double zoom)
{
    LensViewState s = { iw, ih, vw, vh, zoom, 0, 0 };
    return s;
}

static void test_fit(void)
{
    /* landscape image in a square view: width limits */
    LensViewState s = state(800, 400, 400, 400, 1);
    g_assert_cmpfloat_with_epsilon(lens_view_fit_zoom(&s), 0.5, PX_EPS);
    /* portrait: height limits */
    s = state(300, 900, 600, 300, 1);
    g_assert_cmpfloat_with_epsilon(lens_view_fit_zoom(&s), 1.0 / 3, PX_EPS);
    /* small image is enlarged to fill the view */
    s = state(224, 224, 448, 672, 1);
    g_assert_cmpfloat_with_epsilon(lens_view_fit_zoom(&s), 2.0, PX_EPS);
    /* limits */
    s = state(1, 1, 10000, 10000, 1);
    g_assert_cmpfloat(lens_view_fit_zoom(&s), ==, LENS_VIEW_ZOOM_MAX);
    s = state(1e6, 1e6, 10, 10, 1);
    g_assert_cmpfloat(lens_view_fit_zoom(&s), ==, LENS_VIEW_ZOOM_MIN);
    /* nothing to fit */
    s = state(0, 0, 400, 400, 1);
    g_assert_cmpfloat(lens_view_fit_zoom(&s), ==, 1.0);
    s = state(400, 400, 0, 0, 1);
    g_assert_cmpfloat(lens_view_fit_zoom(&s), ==, 1.0);
}

static void test_steps(void)
{
    /* four steps double, and come back exactly */
    double z = 1.0;
    for (int i = 0; i < 4; i++)
        z = lens_view_zoom_step(z, 1);
    g_assert_cmpfloat_with_epsilon(z, 2.0, 1e-12);
    for (int i = 0; i < 4; i++)
        z = lens_view_zoom_step(z, -1);
    g_assert_cmpfloat_with_epsilon(z, 1.0, 1e-12);
    /* from between two rungs, a step goes to the next rung, not past it */
    double between = sqrt(LENS_VIEW_ZOOM_STEP); /* half a step above 1 */
    g_assert_cmpfloat_with_epsilon(lens_view_zoom_step(between, 1),
                                   LENS_VIEW_ZOOM_STEP, 1e-12);
    g_assert_cmpfloat_with_epsilon(lens_view_zoom_step(between, -1), 1.0,
                                   1e-12);
    /* limits */
    g_assert_cmpfloat(lens_view_zoom_step(LENS_VIEW_ZOOM_MAX, 1), ==,
                      LENS_VIEW_ZOOM_MAX);
    g_assert_cmpfloat(lens_view_zoom_step(LENS_VIEW_ZOOM_MIN, -1), ==,
                      LENS_VIEW_ZOOM_MIN);
    g_assert_cmpfloat(lens_view_clamp_zoom(NAN), ==, 1.0);
    g_assert_cmpfloat(lens_view_clamp_zoom(-3), ==, 1.0);
    g_assert_cmpfloat(lens_view_clamp_zoom(1e9), ==, LENS_VIEW_ZOOM_MAX);

    LensViewState s = state(100, 100, 50, 50, LENS_VIEW_ZOOM_MAX);
    g_assert_false(lens_view_can_zoom_in(&s));
    g_assert_true(lens_view_can_zoom_out(&s));
    s.zoom = LENS_VIEW_ZOOM_MIN;
    g_assert_true(lens_view_can_zoom_in(&s));
    g_assert_false(lens_view_can_zoom_out(&s));
    s = state(0, 0, 50, 50, 1);
    g_assert_false(lens_view_can_zoom_in(&s));
    g_assert_false(lens_view_can_zoom_out(&s));
}

static void test_centring(void)
{
    /* 200×100 image at 2× = 400×200 content in a 600×300 view: centred */
    LensViewState s = state(200, 100, 600, 300, 2);
    double ox, oy, mx, my;
    lens_view_origin(&s, &ox, &oy);
    g_assert_cmpfloat_with_epsilon(ox, 100, PX_EPS);
    g_assert_cmpfloat_with_epsilon(oy, 50, PX_EPS);
    lens_view_scroll_limits(&s, &mx, &my);
    g_assert_cmpfloat(mx, ==, 0);
    g_assert_cmpfloat(my, ==, 0);
    /* scrolling a centred image is clamped back to 0 */
    s.scroll_x = 30;
    s.scroll_y = -5;
    lens_view_clamp_scroll(&s);
    g_assert_cmpfloat(s.scroll_x, ==, 0);
    g_assert_cmpfloat(s.scroll_y, ==, 0);

    /* larger content: no margin, scroll within [0, content - view] */
    s = state(1000, 500, 400, 300, 1);
    lens_view_scroll_limits(&s, &mx, &my);
    g_assert_cmpfloat(mx, ==, 600);
    g_assert_cmpfloat(my, ==, 200);
    s.scroll_x = 1e6;
    s.scroll_y = NAN;
    lens_view_clamp_scroll(&s);
    g_assert_cmpfloat(s.scroll_x, ==, 600);
    g_assert_cmpfloat(s.scroll_y, ==, 0);
    s.scroll_x = 250;
    lens_view_origin(&s, &ox, &oy);
    g_assert_cmpfloat(ox, ==, -250);
    g_assert_cmpfloat(oy, ==, 0);
}

static void test_round_trip(void)
{
    static const double zooms[] = { 0.1, 0.5, 1, 1.7, 4, 32 };
    for (gsize i = 0; i < G_N_ELEMENTS(zooms); i++) {
        LensViewState s = state(640, 360, 500, 400, zooms[i]);
        lens_view_zoom_at(&s, zooms[i], 123, 77); /* some scroll */
        double ix, iy, wx, wy;
        lens_view_widget_to_image(&s, 123.25, 77.5, &ix, &iy);
        lens_view_image_to_widget(&s, ix, iy, &wx, &wy);
        g_assert_cmpfloat_with_epsilon(wx, 123.25, PX_EPS);
        g_assert_cmpfloat_with_epsilon(wy, 77.5, PX_EPS);
        /* image corners land at origin and origin + content */
        double ox, oy, cw, ch;
        lens_view_origin(&s, &ox, &oy);
        lens_view_content_size(&s, &cw, &ch);
        lens_view_image_to_widget(&s, 640, 360, &wx, &wy);
        g_assert_cmpfloat_with_epsilon(wx, ox + cw, PX_EPS);
        g_assert_cmpfloat_with_epsilon(wy, oy + ch, PX_EPS);
    }
}

static void test_zoom_at_keeps_point(void)
{
    /* 2000×1000 image at 100 % in an 800×600 view, scrolled into the
     * middle, then zoomed in around a point: the image point under it
     * stays under it.  (While the content is smaller than the view it is
     * centred instead: see below.) */
    LensViewState s = state(2000, 1000, 800, 600, 1);
    s.scroll_x = 500;
    s.scroll_y = 200;
    const double px = 300, py = 250;
    double ix0, iy0;
    lens_view_widget_to_image(&s, px, py, &ix0, &iy0);
    double zoom = s.zoom;
    for (int i = 0; i < 10; i++) {
        zoom = lens_view_zoom_step(zoom, 1);
        lens_view_zoom_at(&s, zoom, px, py);
        double ix, iy;
        lens_view_widget_to_image(&s, px, py, &ix, &iy);
        g_assert_cmpfloat_with_epsilon(ix, ix0, 1e-6);
        g_assert_cmpfloat_with_epsilon(iy, iy0, 1e-6);
        g_assert_cmpfloat(s.zoom, ==, zoom);
    }
    /* near a corner the scroll limit wins: the content edge stays at the
     * view edge instead of showing empty space */
    s = state(2000, 1000, 800, 600, 1);
    lens_view_zoom_at(&s, 2, 0, 0);
    g_assert_cmpfloat(s.scroll_x, ==, 0);
    g_assert_cmpfloat(s.scroll_y, ==, 0);
    lens_view_zoom_at(&s, 0.1, 400, 300); /* zoom out below fit: centred */
    double ox, oy;
    lens_view_origin(&s, &ox, &oy);
    g_assert_cmpfloat_with_epsilon(ox, (800 - 200) / 2.0, PX_EPS);
    g_assert_cmpfloat_with_epsilon(oy, (600 - 100) / 2.0, PX_EPS);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ui/view-math/fit", test_fit);
    g_test_add_func("/ui/view-math/steps", test_steps);
    g_test_add_func("/ui/view-math/centring", test_centring);
    g_test_add_func("/ui/view-math/round-trip", test_round_trip);
    g_test_add_func("/ui/view-math/zoom-at-keeps-point",
                    test_zoom_at_keeps_point);
    return g_test_run();
}
