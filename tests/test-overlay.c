/* test-overlay.c — overlays drawn on cairo image surfaces: box edges land
 * on the right pixels at scale 1 and 2, masks blend with their opacity,
 * colours follow labels, hit-testing picks the right object, and the
 * full-resolution PNG renders and reads back. */
#include <math.h>
#include <string.h>

#include "lens-overlay.h"
#include "seg-testutil.h"
#include "testutil.h"

#define IMG_W 100
#define IMG_H 80

/* A hand-made result: "cat" with a mask (a filled 20×16 rectangle inside
 * its 40×30 box at 10,10), "dog" with a box only, another "cat " without a
 * mask, an empty box, and a text span. */
static pali_result *make_result(void)
{
    pali_result *r = g_new0(pali_result, 1);
    r->width = IMG_W;
    r->height = IMG_H;
    r->n_spans = 5;
    r->spans = g_new0(pali_object, r->n_spans);
    pali_object *t = &r->spans[0];
    t->kind = PALI_SPAN_TEXT;
    t->content = g_strdup("Here: ");

    pali_object *cat = &r->spans[1];
    cat->kind = PALI_SPAN_OBJECT;
    cat->content = g_strdup("…");
    cat->name = g_strdup("cat ");
    int cb[4] = { 10, 10, 50, 40 };
    memcpy(cat->box, cb, sizeof(cb));
    cat->has_codes = TRUE;
    cat->mask_x = 10;
    cat->mask_y = 10;
    cat->mask_w = 40;
    cat->mask_h = 30;
    cat->mask = g_malloc0(40 * 30);
    for (int y = 5; y < 21; y++)
        for (int x = 10; x < 30; x++)
            cat->mask[y * 40 + x] = 255;
    cat->mask[0] = 100; /* a faint pixel below 50 % */

    pali_object *dog = &r->spans[2];
    dog->kind = PALI_SPAN_OBJECT;
    dog->content = g_strdup("…");
    dog->name = g_strdup("dog");
    int db[4] = { 60, 20, 90, 70 };
    memcpy(dog->box, db, sizeof(db));

    pali_object *cat2 = &r->spans[3];
    cat2->kind = PALI_SPAN_OBJECT;
    cat2->content = g_strdup("…");
    cat2->name = g_strdup("cat");
    int c2[4] = { 70, 30, 80, 40 }; /* inside dog's box, smaller */
    memcpy(cat2->box, c2, sizeof(c2));

    pali_object *empty = &r->spans[4];
    empty->kind = PALI_SPAN_OBJECT;
    empty->content = g_strdup("…");
    int eb[4] = { 30, 60, 20, 70 };
    memcpy(empty->box, eb, sizeof(eb));
    empty->flags = PALI_OBJECT_BOX_EMPTY;
    return r;
}

static void free_result(pali_result *r)
{
    for (size_t i = 0; i < r->n_spans; i++) {
        g_free(r->spans[i].content);
        g_free(r->spans[i].name);
        g_free(r->spans[i].mask);
    }
    g_free(r->spans);
    g_free(r);
}

static cairo_surface_t *white_surface(int w, int h)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_destroy(cr);
    return s;
}

/* The pixel's red, green, blue (opaque surfaces). */
static void pixel(cairo_surface_t *s, int x, int y, int rgb[3])
{
    cairo_surface_flush(s);
    const guint8 *d = cairo_image_surface_get_data(s);
    guint32 v =
        *(const guint32 *)(const void *)(d +
                                         y * cairo_image_surface_get_stride(s) +
                                         4 * x);
    rgb[0] = (int)(v >> 16 & 0xff);
    rgb[1] = (int)(v >> 8 & 0xff);
    rgb[2] = (int)(v & 0xff);
}

static void assert_color(cairo_surface_t *s, int x, int y, LensColor c,
                         double alpha, int tolerance)
{
    int rgb[3];
    pixel(s, x, y, rgb);
    double want[3] = { c.red, c.green, c.blue };
    for (int k = 0; k < 3; k++) {
        /* over white: c·α + 1·(1 − α) */
        int w = (int)lround(255 * (want[k] * alpha + (1 - alpha)));
        if (abs(rgb[k] - w) > tolerance)
            g_error("pixel %d,%d channel %d: %d, want %d", x, y, k, rgb[k], w);
    }
}

static LensOverlayStyle plain_style(void)
{
    LensOverlayStyle st = lens_overlay_style_default();
    st.show_labels = FALSE;
    st.line_width = 2;
    st.mask_opacity = 0.5;
    return st;
}

static void test_objects(void)
{
    pali_result *r = make_result();
    g_autoptr(LensOverlay) ov = lens_overlay_new(r);
    g_assert_cmpint(lens_overlay_get_width(ov), ==, IMG_W);
    g_assert_cmpint(lens_overlay_get_height(ov), ==, IMG_H);
    g_assert_cmpint(lens_overlay_get_n_objects(ov), ==, 4);
    const LensOverlayObject *cat = lens_overlay_get_object(ov, 0);
    const LensOverlayObject *dog = lens_overlay_get_object(ov, 1);
    const LensOverlayObject *cat2 = lens_overlay_get_object(ov, 2);
    g_assert_cmpstr(cat->label, ==, "cat");
    g_assert_cmpint(cat->span_index, ==, 1);
    g_assert_cmpint(cat->area, ==, 20 * 16);
    g_assert_nonnull(cat->mask);
    g_assert_cmpint(dog->area, ==, 30 * 50);
    /* "cat " and "cat" share a colour, "dog" has its own */
    g_assert_cmpint(cat->color_index, ==, cat2->color_index);
    g_assert_cmpint(cat->color_index, !=, dog->color_index);
    int n;
    const LensColor *pal = lens_overlay_palette(&n);
    g_assert_cmpint(n, >=, 8);
    g_assert_cmpfloat(cat->color.red, ==, pal[cat->color_index].red);
    free_result(r);
}

static void test_draw_scale_1(void)
{
    pali_result *r = make_result();
    g_autoptr(LensOverlay) ov = lens_overlay_new(r);
    free_result(r); /* the overlay owns copies */
    LensOverlayStyle st = plain_style();
    cairo_surface_t *s = white_surface(IMG_W, IMG_H);
    cairo_t *cr = cairo_create(s);
    lens_overlay_draw(ov, cr, 0, 0, 1.0, &st);
    cairo_destroy(cr);
    const LensOverlayObject *cat = lens_overlay_get_object(ov, 0);
    const LensOverlayObject *dog = lens_overlay_get_object(ov, 1);
    LensColor white = { 1, 1, 1 };
    /* dog's box (60,20)-(90,70): a 2-px frame just inside the box */
    assert_color(s, 60, 45, dog->color, 1.0, 1);
    assert_color(s, 61, 45, dog->color, 1.0, 1);
    assert_color(s, 59, 45, white, 1.0, 0);
    assert_color(s, 62, 45, white, 1.0, 0);
    assert_color(s, 89, 45, dog->color, 1.0, 1);
    assert_color(s, 90, 45, white, 1.0, 0);
    assert_color(s, 75, 20, dog->color, 1.0, 1);
    assert_color(s, 75, 19, white, 1.0, 0);
    assert_color(s, 75, 69, dog->color, 1.0, 1);
    assert_color(s, 75, 70, white, 1.0, 0);
    /* inside cat's mask (image 20..39 × 15..30): colour at 50 % */
    assert_color(s, 30, 22, cat->color, 0.5, 2);
    /* in cat's box but outside its mask: untouched */
    assert_color(s, 15, 30, white, 1.0, 0);
    /* the empty box draws nothing at its corner */
    assert_color(s, 25, 65, white, 1.0, 0);
    cairo_surface_destroy(s);

    /* masks off: the mask's inside stays white; boxes off: no frames */
    st.show_masks = FALSE;
    st.show_boxes = FALSE;
    s = white_surface(IMG_W, IMG_H);
    cr = cairo_create(s);
    lens_overlay_draw(ov, cr, 0, 0, 1.0, &st);
    cairo_destroy(cr);
    assert_color(s, 30, 22, white, 1.0, 0);
    assert_color(s, 60, 45, white, 1.0, 0);
    cairo_surface_destroy(s);
}

static void test_draw_scaled(void)
{
    /* zoom 2 with an offset: geometry scales, line width does not */
    pali_result *r = make_result();
    g_autoptr(LensOverlay) ov = lens_overlay_new(r);
    free_result(r);
    LensOverlayStyle st = plain_style();
    st.line_width = 1;
    cairo_surface_t *s = white_surface(2 * IMG_W + 10, 2 * IMG_H + 10);
    cairo_t *cr = cairo_create(s);
    lens_overlay_draw(ov, cr, 5, 7, 2.0, &st);
    cairo_destroy(cr);
    const LensOverlayObject *cat = lens_overlay_get_object(ov, 0);
    const LensOverlayObject *dog = lens_overlay_get_object(ov, 1);
    LensColor white = { 1, 1, 1 };
    int left = 5 + 60 * 2, top = 7 + 20 * 2;
    assert_color(s, left, top + 30, dog->color, 1.0, 1);
    assert_color(s, left + 1, top + 30, white, 1.0, 0); /* 1 px wide */
    assert_color(s, left - 1, top + 30, white, 1.0, 0);
    assert_color(s, left + 20, top, dog->color, 1.0, 1);
    /* mask pixel (30, 22) covers device (65..67, 51..53) */
    assert_color(s, 5 + 30 * 2 + 1, 7 + 22 * 2 + 1, cat->color, 0.5, 2);
    cairo_surface_destroy(s);
}

static void test_highlight_and_labels(void)
{
    pali_result *r = make_result();
    g_autoptr(LensOverlay) ov = lens_overlay_new(r);
    free_result(r);
    const LensOverlayObject *dog = lens_overlay_get_object(ov, 1);
    LensColor white = { 1, 1, 1 };
    LensOverlayStyle st = plain_style();
    st.highlighted = 1; /* dog: lines twice as wide */
    cairo_surface_t *s = white_surface(IMG_W, IMG_H);
    cairo_t *cr = cairo_create(s);
    lens_overlay_draw(ov, cr, 0, 0, 1.0, &st);
    cairo_destroy(cr);
    assert_color(s, 63, 45, dog->color, 1.0, 1);
    assert_color(s, 64, 45, white, 1.0, 0);
    cairo_surface_destroy(s);

    /* labels: a tag in the label's colour right above dog's box */
    st = lens_overlay_style_default();
    st.show_masks = FALSE;
    st.font_size = 10;
    s = white_surface(IMG_W, IMG_H);
    cr = cairo_create(s);
    lens_overlay_draw(ov, cr, 0, 0, 1.0, &st);
    cairo_destroy(cr);
    int rgb[3], tagged = 0;
    for (int x = 60; x < 70; x++) {
        pixel(s, x, 18, rgb);
        tagged += rgb[0] != 255 || rgb[1] != 255 || rgb[2] != 255;
    }
    g_assert_cmpint(tagged, >=, 8);
    /* the mask-less "cat" near the top: its tag fits above too */
    cairo_surface_destroy(s);
}

static void test_hit_test(void)
{
    pali_result *r = make_result();
    g_autoptr(LensOverlay) ov = lens_overlay_new(r);
    free_result(r);
    g_assert_cmpint(lens_overlay_hit_test(ov, 30.5, 22.5), ==, 0); /* mask */
    g_assert_cmpint(lens_overlay_hit_test(ov, 15, 30), ==,
                    -1); /* box, no mask */
    g_assert_cmpint(lens_overlay_hit_test(ov, 10.2, 10.2), ==, -1); /* faint */
    g_assert_cmpint(lens_overlay_hit_test(ov, 65, 25), ==, 1);      /* dog */
    g_assert_cmpint(lens_overlay_hit_test(ov, 75, 35), ==, 2);  /* smaller */
    g_assert_cmpint(lens_overlay_hit_test(ov, 90, 35), ==, -1); /* x2 out */
    g_assert_cmpint(lens_overlay_hit_test(ov, 25, 65), ==, -1); /* empty */
    g_assert_cmpint(lens_overlay_hit_test(ov, -5, -5), ==, -1);
    g_assert_cmpint(lens_overlay_hit_test(ov, 1e9, 1e9), ==, -1);
}

static void test_render_png(void)
{
    pali_result *r = make_result();
    g_autoptr(LensOverlay) ov = lens_overlay_new(r);
    free_result(r);
    GdkPixbuf *img = gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, IMG_W, IMG_H);
    gdk_pixbuf_fill(img, 0x336699ff);
    LensOverlayStyle st = plain_style();
    g_autofree char *path = g_build_filename(test_tmpdir(), "ov.png", NULL);
    g_autoptr(GError) error = NULL;
    g_assert_true(lens_overlay_save_png(ov, img, &st, path, &error));
    g_assert_no_error(error);
    GdkPixbuf *back = gdk_pixbuf_new_from_file(path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(gdk_pixbuf_get_width(back), ==, IMG_W);
    g_assert_cmpint(gdk_pixbuf_get_height(back), ==, IMG_H);
    const guint8 *px = gdk_pixbuf_read_pixels(back);
    int rs = gdk_pixbuf_get_rowstride(back),
        nc = gdk_pixbuf_get_n_channels(back);
    /* the image shows where nothing is drawn, the box colour on the edge */
    const guint8 *bg = px + 5 * rs + 5 * nc;
    g_assert_cmpint(bg[0], ==, 0x33);
    g_assert_cmpint(bg[1], ==, 0x66);
    g_assert_cmpint(bg[2], ==, 0x99);
    const LensOverlayObject *dog = lens_overlay_get_object(ov, 1);
    const guint8 *edge = px + 45 * rs + 60 * nc;
    g_assert_cmpint(abs(edge[0] - (int)lround(dog->color.red * 255)), <=, 1);
    g_object_unref(back);
    /* an unwritable path fails cleanly */
    g_assert_false(
        lens_overlay_save_png(ov, img, &st, "/nonexistent/x.png", &error));
    g_assert_nonnull(error);
    g_object_unref(img);
}

static void test_real_masks(void)
{
    /* Masks from the decoder through pali_result_parse, drawn: every
     * pixel with mask ≥ 128 is tinted, pixels outside every box are not. */
    g_autofree char *vpath = test_data_path("segmentation/vae-random.npz");
    pali_vae *vae = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_vae_load(vpath, &vae, &err), ==, PALI_OK);
    pali_result *r = NULL;
    const char *text =
        "<loc0100><loc0100><loc0400><loc0500><seg048><seg022><seg020>"
        "<seg023><seg060><seg054><seg076><seg107><seg072><seg105><seg019>"
        "<seg037><seg040><seg034><seg095><seg075> cat";
    g_assert_cmpint(pali_result_parse(text, 320, 240, vae, &r, &err), ==,
                    PALI_OK);
    g_autoptr(LensOverlay) ov = lens_overlay_new(r);
    LensOverlayStyle st = plain_style();
    st.show_boxes = FALSE;
    st.line_width = 0; /* no outline either */
    cairo_surface_t *s = white_surface(320, 240);
    cairo_t *cr = cairo_create(s);
    lens_overlay_draw(ov, cr, 0, 0, 1.0, &st);
    cairo_destroy(cr);
    const pali_object *o = &r->spans[0];
    int checked = 0;
    for (int y = 0; y < 240; y += 3)
        for (int x = 0; x < 320; x += 3) {
            int v = 0;
            if (x >= o->mask_x && x < o->mask_x + o->mask_w && y >= o->mask_y &&
                y < o->mask_y + o->mask_h)
                v = o->mask[(y - o->mask_y) * o->mask_w + x - o->mask_x];
            assert_color(s, x, y, lens_overlay_get_object(ov, 0)->color,
                         0.5 * v / 255.0, 2);
            checked += v >= 128;
        }
    g_assert_cmpint(checked, >, 100);
    cairo_surface_destroy(s);
    pali_result_free(r);
    pali_vae_free(vae);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/app/overlay/objects", test_objects);
    g_test_add_func("/app/overlay/draw-scale-1", test_draw_scale_1);
    g_test_add_func("/app/overlay/draw-scaled", test_draw_scaled);
    g_test_add_func("/app/overlay/highlight-and-labels",
                    test_highlight_and_labels);
    g_test_add_func("/app/overlay/hit-test", test_hit_test);
    g_test_add_func("/app/overlay/render-png", test_render_png);
    g_test_add_func("/app/overlay/real-masks", test_real_masks);
    return g_test_run();
}
