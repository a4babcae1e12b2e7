/* test-ui-progress.c — LensProgress under Xvfb: the fill drawn matches the
 * fraction (the bar rendered to a texture: filled left of the fraction,
 * trough right of it), a pulse stops at the next fraction, and moving the
 * bar never lays the window out again (no "compute-size" of its surface:
 * under X11 each one costs round trips to the X server, which is what made
 * a bar moved for every streamed token stall the main loop). */
#include "config.h"

#include "lens-progress.h"
#include "testutil.h"

#define BAR_W 200
#define BAR_H 8
/* The accent colour against the trough's 15 % of it: far apart on every
 * channel that differs; this much apart at least. */
#define MIN_CONTRAST 60

static int n_compute_size;

static void on_compute_size(GdkToplevel *toplevel, GdkToplevelSize *size,
                            gpointer data)
{
    n_compute_size++;
}

static void iterate(void)
{
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

/* The bar rendered alone, as ARGB32 pixels of its middle row. */
static guint32 *render_row(GtkWidget *bar)
{
    GtkSnapshot *snapshot = gtk_snapshot_new();
    GTK_WIDGET_GET_CLASS(bar)->snapshot(bar, snapshot);
    g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node(snapshot);
    g_assert_nonnull(node);
    GskRenderer *renderer = gtk_native_get_renderer(gtk_widget_get_native(bar));
    g_autoptr(GdkTexture) texture = gsk_renderer_render_texture(
        renderer, node, &GRAPHENE_RECT_INIT(0, 0, BAR_W, BAR_H));
    g_autofree guint32 *pixels = g_new(guint32, BAR_W * BAR_H);
    gdk_texture_download(texture, (guchar *)pixels, BAR_W * 4);
    guint32 *row = g_new(guint32, BAR_W);
    memcpy(row, pixels + (BAR_H / 2) * BAR_W, BAR_W * 4);
    return row;
}

static int distance(guint32 a, guint32 b)
{
    int d = 0;
    for (int shift = 0; shift < 32; shift += 8)
        d = MAX(d,
                ABS((int)((a >> shift) & 0xff) - (int)((b >> shift) & 0xff)));
    return d;
}

static void test_progress(void)
{
    GtkWidget *window = gtk_window_new();
    GtkWidget *bar = lens_progress_new();
    gtk_widget_set_size_request(bar, BAR_W, BAR_H);
    gtk_widget_set_halign(bar, GTK_ALIGN_START);
    gtk_widget_set_valign(bar, GTK_ALIGN_START);
    gtk_window_set_child(GTK_WINDOW(window), bar);
    gtk_window_present(GTK_WINDOW(window));
    gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (gtk_widget_get_width(bar) != BAR_W && g_get_monotonic_time() < end)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpint(gtk_widget_get_width(bar), ==, BAR_W);
    iterate();
    GdkSurface *surface = gtk_native_get_surface(GTK_NATIVE(window));
    g_signal_connect(surface, "compute-size", G_CALLBACK(on_compute_size),
                     NULL);

    /* a streamed run's worth of moves: drawn, never laid out */
    n_compute_size = 0;
    for (int i = 0; i <= 64; i++) {
        lens_progress_set_fraction(LENS_PROGRESS(bar), i / 64.0);
        iterate();
    }
    g_assert_cmpint(n_compute_size, ==, 0);

    /* half: filled on the left, trough on the right */
    lens_progress_set_fraction(LENS_PROGRESS(bar), 0.5);
    g_assert_cmpfloat(lens_progress_get_fraction(LENS_PROGRESS(bar)), ==, 0.5);
    g_autofree guint32 *row = render_row(bar);
    guint32 fill = row[BAR_W / 4], trough = row[BAR_W * 3 / 4];
    g_assert_cmpint(distance(fill, trough), >=, MIN_CONTRAST);
    g_assert_cmpint(distance(row[BAR_W / 2 - 4], fill), <=, 2);
    g_assert_cmpint(distance(row[BAR_W / 2 + 4], trough), <=, 2);

    /* a pulse, then a fraction stops it */
    lens_progress_pulse(LENS_PROGRESS(bar));
    g_assert_true(lens_progress_get_pulsing(LENS_PROGRESS(bar)));
    iterate();
    lens_progress_set_fraction(LENS_PROGRESS(bar), 1.0);
    g_assert_false(lens_progress_get_pulsing(LENS_PROGRESS(bar)));
    g_autofree guint32 *full = render_row(bar);
    g_assert_cmpint(distance(full[BAR_W * 3 / 4], fill), <=, 2);
    g_assert_cmpint(n_compute_size, ==, 0);

    gtk_window_destroy(GTK_WINDOW(window));
    iterate();
}

int main(int argc, char **argv)
{
    gtk_test_init(&argc, &argv, NULL);
    g_test_add_func("/ui/progress/draw-only", test_progress);
    return g_test_run();
}
