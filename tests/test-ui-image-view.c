/* test-ui-image-view.c — LensImageView under Xvfb: overlays are drawn where
 * they belong (the view is rendered to a texture and the pixels on the
 * box's edges, inside and outside it are checked in widget coordinates, at
 * two zoom levels, one of them scrolled, once the overlay's drawing made
 * in a thread is there), zooming keeps the point under the cursor, and the
 * scrollbars' adjustments follow the content. */
#include "config.h"

#include "lens-image-view.h"
#include "testutil.h"

#define VIEW_W  400
#define VIEW_H  300
#define IMAGE_W 200
#define IMAGE_H 100
#define GREY    128
/* The test image's box, x1 y1 x2 y2 in image pixels. */
static const int box[4] = { 40, 20, 160, 80 };
/* Per channel on 0..255: the stroke colour is drawn opaque, the image is a
 * flat grey; a few levels allow for the renderer's rounding. */
#define COLOR_TOLERANCE 8
/* The overlay is drawn in a thread: wait this long for it at most. */
#define OVERLAY_WAIT_US (10 * G_USEC_PER_SEC)

typedef struct {
    GtkWidget *window;
    LensImageView *view;
} Fixture;

static GdkTexture *grey_texture(void)
{
    gsize stride = IMAGE_W * 3;
    guint8 *p = g_malloc(stride * IMAGE_H);
    memset(p, GREY, stride * IMAGE_H);
    g_autoptr(GBytes) bytes = g_bytes_new_take(p, stride * IMAGE_H);
    return gdk_memory_texture_new(IMAGE_W, IMAGE_H, GDK_MEMORY_R8G8B8, bytes,
                                  stride);
}

/* One detected object, as pali_result_parse hands it over. */
static LensOverlay *one_box_overlay(void)
{
    pali_object object = {
        .kind = PALI_SPAN_OBJECT,
        .content = (char *)"<loc0205><loc0205><loc0819><loc0819> cat",
        .name = (char *)"cat",
        .unique_name = (char *)"cat",
        .box = { box[0], box[1], box[2], box[3] },
    };
    pali_result result = {
        .width = IMAGE_W,
        .height = IMAGE_H,
        .n_spans = 1,
        .spans = &object,
    };
    return lens_overlay_new(&result);
}

static void fixture_set_up(Fixture *f, gconstpointer data)
{
    f->window = gtk_window_new();
    gtk_window_set_default_size(GTK_WINDOW(f->window), VIEW_W, VIEW_H);
    gtk_window_set_decorated(GTK_WINDOW(f->window), FALSE);
    GtkWidget *scroller = gtk_scrolled_window_new();
    /* overlay scrollbars would draw over the pixels under test */
    gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroller),
                                   GTK_POLICY_EXTERNAL, GTK_POLICY_EXTERNAL);
    f->view = LENS_IMAGE_VIEW(lens_image_view_new());
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroller),
                                  GTK_WIDGET(f->view));
    gtk_window_set_child(GTK_WINDOW(f->window), scroller);
    g_autoptr(GdkTexture) texture = grey_texture();
    lens_image_view_set_texture(f->view, texture);
    gtk_window_present(GTK_WINDOW(f->window));
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while ((gtk_widget_get_width(GTK_WIDGET(f->view)) != VIEW_W ||
            gtk_widget_get_height(GTK_WIDGET(f->view)) != VIEW_H) &&
           g_get_monotonic_time() < end)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpint(gtk_widget_get_width(GTK_WIDGET(f->view)), ==, VIEW_W);
    g_assert_cmpint(gtk_widget_get_height(GTK_WIDGET(f->view)), ==, VIEW_H);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
    gtk_window_destroy(GTK_WINDOW(f->window));
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

/* The view rendered by its window's renderer, as 8-bit ARGB32 pixels
 * (what gtk_widget_snapshot_child would add to the window's frame). */
static guint32 *render_view(Fixture *f)
{
    while (g_main_context_iteration(NULL, FALSE))
        ;
    GtkWidget *w = GTK_WIDGET(f->view);
    /* the view's own drawing (image and overlay), as GTK asks for it, once
     * the overlay's drawing (made in a thread) is the current one */
    GskRenderNode *node = NULL;
    gint64 end = g_get_monotonic_time() + OVERLAY_WAIT_US;
    do {
        g_clear_pointer(&node, gsk_render_node_unref);
        while (g_main_context_iteration(NULL, FALSE))
            ;
        GtkSnapshot *snapshot = gtk_snapshot_new();
        GTK_WIDGET_GET_CLASS(w)->snapshot(w, snapshot);
        node = gtk_snapshot_free_to_node(snapshot);
        g_assert_nonnull(node);
        if (lens_image_view_get_overlay_pending(f->view))
            g_usleep(1000);
    } while (lens_image_view_get_overlay_pending(f->view) &&
             g_get_monotonic_time() < end);
    g_assert_false(lens_image_view_get_overlay_pending(f->view));
    GskRenderer *renderer = gtk_native_get_renderer(gtk_widget_get_native(w));
    g_autoptr(GdkTexture) texture = gsk_renderer_render_texture(
        renderer, node, &GRAPHENE_RECT_INIT(0, 0, VIEW_W, VIEW_H));
    g_assert_cmpint(gdk_texture_get_width(texture), ==, VIEW_W);
    guint32 *pixels = g_new(guint32, VIEW_W * VIEW_H);
    gdk_texture_download(texture, (guchar *)pixels, VIEW_W * 4);
    gsk_render_node_unref(node);
    return pixels;
}

static void assert_pixel(const guint32 *pixels, int x, int y, int r, int g,
                         int b, const char *what)
{
    g_assert_cmpint(x, >=, 0);
    g_assert_cmpint(y, >=, 0);
    g_assert_cmpint(x, <, VIEW_W);
    g_assert_cmpint(y, <, VIEW_H);
    guint32 p = pixels[y * VIEW_W + x];
    int pr = (p >> 16) & 0xff, pg = (p >> 8) & 0xff, pb = p & 0xff;
    if (ABS(pr - r) > COLOR_TOLERANCE || ABS(pg - g) > COLOR_TOLERANCE ||
        ABS(pb - b) > COLOR_TOLERANCE)
        g_error("%s: pixel (%d, %d) is %d,%d,%d, expected %d,%d,%d", what, x, y,
                pr, pg, pb, r, g, b);
}

/* The pixel just inside a box edge at widget coordinate `edge` (on the
 * left or top side; `after` is FALSE for the right and bottom sides).  The
 * test places edges on whole pixels, where a 2 px line covers this pixel
 * whether it is drawn centred on the edge or just inside it. */
static int inside(double edge, gboolean after)
{
    g_assert_cmpfloat(edge, ==, round(edge));
    return after ? (int)edge : (int)edge - 1;
}

static void check_overlay(Fixture *f, const char *zoom_name)
{
    const LensOverlay *overlay = lens_image_view_get_overlay(f->view);
    const LensOverlayObject *o = lens_overlay_get_object(overlay, 0);
    int r = (int)lround(o->color.red * 255);
    int g = (int)lround(o->color.green * 255);
    int b = (int)lround(o->color.blue * 255);
    g_autofree guint32 *pixels = render_view(f);

    double x1, y1, x2, y2, mx, my;
    lens_image_view_image_to_widget(f->view, box[0], box[1], &x1, &y1);
    lens_image_view_image_to_widget(f->view, box[2], box[3], &x2, &y2);
    lens_image_view_image_to_widget(f->view, (box[0] + box[2]) / 2.0,
                                    (box[1] + box[3]) / 2.0, &mx, &my);
    g_test_message("%s: box at widget %.2f,%.2f – %.2f,%.2f", zoom_name, x1, y1,
                   x2, y2);
    int cx = (int)mx, cy = (int)my;
    /* the four edges, half way along them (clipped to what is visible) */
    int vy = CLAMP(cy, (int)MAX(y1, 0) + 3, (int)MIN(y2, VIEW_H) - 3);
    int vx = CLAMP(cx, (int)MAX(x1, 0) + 3, (int)MIN(x2, VIEW_W) - 3);
    if (x1 >= 1)
        assert_pixel(pixels, inside(x1, TRUE), vy, r, g, b, "left edge");
    if (x2 < VIEW_W - 1)
        assert_pixel(pixels, inside(x2, FALSE), vy, r, g, b, "right edge");
    if (y1 >= 1)
        assert_pixel(pixels, vx, inside(y1, TRUE), r, g, b, "top edge");
    if (y2 < VIEW_H - 1)
        assert_pixel(pixels, vx, inside(y2, FALSE), r, g, b, "bottom edge");
    /* and just outside the edges: the image */
    if (x1 >= 2)
        assert_pixel(pixels, inside(x1, TRUE) - 2, vy, GREY, GREY, GREY,
                     "left of the box");
    if (x2 < VIEW_W - 2)
        assert_pixel(pixels, inside(x2, FALSE) + 2, vy, GREY, GREY, GREY,
                     "right of the box");
    /* inside the box, and outside it but on the image: the image itself */
    assert_pixel(pixels, vx, vy, GREY, GREY, GREY, "inside the box");
    double ox, oy;
    lens_image_view_image_to_widget(f->view, box[0] / 2.0, box[1] / 2.0, &ox,
                                    &oy);
    if (ox >= 0 && oy >= 0)
        assert_pixel(pixels, (int)ox, (int)oy, GREY, GREY, GREY,
                     "outside the box");
}

static void test_overlay_pixels(Fixture *f, gconstpointer data)
{
    g_object_set(f->view, "show-labels", FALSE, "show-masks", FALSE,
                 "line-width", 2.0, NULL);
    lens_image_view_set_overlay(f->view, one_box_overlay());

    /* fitted: 200×100 in 400×300 is 2×, centred */
    g_assert_cmpfloat(lens_image_view_get_zoom(f->view), ==, 2.0);
    check_overlay(f, "fit (200 %)");

    /* 3.5× around a point near the box's top-left corner: scrolled, the
     * box's left and top edges stay in view */
    lens_image_view_zoom_at(f->view, 3.5, 100, 80);
    g_assert_cmpfloat(lens_image_view_get_zoom(f->view), ==, 3.5);
    check_overlay(f, "350 %, scrolled");

    /* boxes off: the edge shows the image */
    g_object_set(f->view, "show-boxes", FALSE, NULL);
    g_autofree guint32 *pixels = render_view(f);
    double x1, y1, mx, my;
    lens_image_view_image_to_widget(f->view, box[0], box[1], &x1, &y1);
    lens_image_view_image_to_widget(f->view, box[0], box[1] + 10, &mx, &my);
    assert_pixel(pixels, inside(x1, TRUE), (int)my, GREY, GREY, GREY,
                 "left edge, boxes hidden");
}

static void test_zoom_keeps_point(Fixture *f, gconstpointer data)
{
    const double px = 130, py = 170;
    double ix0, iy0, ix, iy;
    lens_image_view_zoom_at(f->view, 4.0, px, py);
    lens_image_view_widget_to_image(f->view, px, py, &ix0, &iy0);
    lens_image_view_zoom_at(f->view, 6.0, px, py);
    lens_image_view_widget_to_image(f->view, px, py, &ix, &iy);
    g_assert_cmpfloat_with_epsilon(ix, ix0, 1e-6);
    g_assert_cmpfloat_with_epsilon(iy, iy0, 1e-6);
}

static void test_scrollable(Fixture *f, gconstpointer data)
{
    GtkAdjustment *h = gtk_scrollable_get_hadjustment(GTK_SCROLLABLE(f->view));
    GtkAdjustment *v = gtk_scrollable_get_vadjustment(GTK_SCROLLABLE(f->view));
    g_assert_nonnull(h);
    g_assert_nonnull(v);
    /* fitted: nothing to scroll */
    g_assert_cmpfloat(gtk_adjustment_get_upper(h), ==, VIEW_W);
    g_assert_cmpfloat(gtk_adjustment_get_page_size(h), ==, VIEW_W);
    lens_image_view_zoom_at(f->view, 5.0, -1, -1);
    g_assert_cmpfloat(gtk_adjustment_get_upper(h), ==, IMAGE_W * 5.0);
    g_assert_cmpfloat(gtk_adjustment_get_upper(v), ==, IMAGE_H * 5.0);
    /* moving the scrollbar moves the image */
    double before_x, before_y, after_x, after_y;
    lens_image_view_image_to_widget(f->view, 0, 0, &before_x, &before_y);
    gtk_adjustment_set_value(h, gtk_adjustment_get_value(h) + 50);
    lens_image_view_image_to_widget(f->view, 0, 0, &after_x, &after_y);
    g_assert_cmpfloat_with_epsilon(after_x, before_x - 50, 1e-9);
    g_assert_cmpfloat(after_y, ==, before_y);
    /* and zoom to fit brings everything back */
    lens_image_view_set_fit(f->view, TRUE);
    g_assert_cmpfloat(lens_image_view_get_zoom(f->view), ==, 2.0);
    g_assert_cmpfloat(gtk_adjustment_get_upper(h), ==, VIEW_W);
}

int main(int argc, char **argv)
{
    gtk_test_init(&argc, &argv, NULL);
#define ADD(path, fn)                                                          \
    g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("/ui/image-view/overlay-pixels", test_overlay_pixels);
    ADD("/ui/image-view/zoom-keeps-point", test_zoom_keeps_point);
    ADD("/ui/image-view/scrollable", test_scrollable);
#undef ADD
    return g_test_run();
}
