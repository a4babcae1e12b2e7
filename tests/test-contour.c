/* test-contour.c — mask outlines: known shapes, and on random masks the
 * polygons filled at pixel centres give back the mask exactly (outer
 * boundaries alone: the mask with its holes filled). */
#include <string.h>

#include "lens-contour.h"
#include "seg-testutil.h"

/* Even-odd: is the point inside the polygon? */
static gboolean point_in(const LensContour *c, double px, double py)
{
    gboolean in = FALSE;
    for (int i = 0, j = c->n_points - 1; i < c->n_points; j = i++) {
        double xi = c->xy[2 * i], yi = c->xy[2 * i + 1];
        double xj = c->xy[2 * j], yj = c->xy[2 * j + 1];
        if ((yi > py) != (yj > py) &&
            px < (xj - xi) * (py - yi) / (yj - yi) + xi)
            in = !in;
    }
    return in;
}

/* Fills contours at pixel centres: even-odd over all of them, or the
 * union of the outer ones. */
static guint8 *fill(GPtrArray *cs, int w, int h, gboolean outer_only)
{
    guint8 *m = g_malloc0((gsize)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int inside = 0;
            for (guint k = 0; k < cs->len; k++) {
                const LensContour *c = g_ptr_array_index(cs, k);
                if (outer_only && c->hole)
                    continue;
                if (point_in(c, x + 0.5, y + 0.5))
                    inside = outer_only ? 1 : !inside;
            }
            m[y * w + x] = (guint8)inside;
        }
    return m;
}

/* The mask with every hole (background not 4-connected to the border)
 * filled. */
static guint8 *fill_holes(const guint8 *mask, int w, int h)
{
    guint8 *out = g_malloc((gsize)w * h);
    guint8 *reach = g_malloc0((gsize)w * h);
    GArray *stack = g_array_new(FALSE, FALSE, sizeof(int));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) &&
                !mask[y * w + x]) {
                int i = y * w + x;
                reach[i] = 1;
                g_array_append_val(stack, i);
            }
    while (stack->len > 0) {
        int i = g_array_index(stack, int, stack->len - 1);
        g_array_set_size(stack, stack->len - 1);
        int x = i % w, y = i / w;
        const int nb[4][2] = { { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 } };
        for (int k = 0; k < 4; k++) {
            int nx = x + nb[k][0], ny = y + nb[k][1];
            if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                continue;
            int j = ny * w + nx;
            if (!mask[j] && !reach[j]) {
                reach[j] = 1;
                g_array_append_val(stack, j);
            }
        }
    }
    for (int i = 0; i < w * h; i++)
        out[i] = mask[i] || !reach[i];
    g_array_unref(stack);
    g_free(reach);
    return out;
}

static GPtrArray *trace_text(const char *rows[], int h, int *w_out,
                             guint8 **mask_out)
{
    int w = (int)strlen(rows[0]);
    guint8 *m = g_malloc((gsize)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            m[y * w + x] = rows[y][x] == '#' ? 200 : 3;
    *w_out = w;
    *mask_out = m;
    return lens_contour_trace(m, w, h, w, 128);
}

static void test_known_shapes(void)
{
    int w;
    guint8 *m;
    const char *pixel[] = { "#" };
    GPtrArray *cs = trace_text(pixel, 1, &w, &m);
    g_assert_cmpuint(cs->len, ==, 1);
    const LensContour *c = g_ptr_array_index(cs, 0);
    const int want[] = { 0, 0, 0, 1, 1, 1, 1, 0 }; /* counter-clockwise */
    g_assert_cmpint(c->n_points, ==, 4);
    g_assert_cmpmem(c->xy, sizeof(want), want, sizeof(want));
    g_assert_false(c->hole);
    g_assert_cmpint(c->area, ==, 1);
    g_ptr_array_unref(cs);
    g_free(m);

    const char *ring[] = { "###", "#.#", "###" };
    cs = trace_text(ring, 3, &w, &m);
    g_assert_cmpuint(cs->len, ==, 2);
    const LensContour *outer = g_ptr_array_index(cs, 0);
    const LensContour *hole = g_ptr_array_index(cs, 1);
    g_assert_false(outer->hole);
    g_assert_cmpint(outer->area, ==, 9);
    g_assert_cmpint(outer->n_points, ==, 4);
    g_assert_true(hole->hole);
    g_assert_cmpint(hole->area, ==, 1);
    g_assert_true(lens_contour_largest(cs) == outer);
    g_ptr_array_unref(cs);
    g_free(m);

    /* pixels meeting at a corner are one 8-connected region */
    const char *diag[] = { "#..", ".#.", "..#" };
    cs = trace_text(diag, 3, &w, &m);
    g_assert_cmpuint(cs->len, ==, 1);
    g_assert_cmpint(((LensContour *)g_ptr_array_index(cs, 0))->area, ==, 3);
    g_ptr_array_unref(cs);
    g_free(m);
    const char *anti[] = { ".#", "#." };
    cs = trace_text(anti, 2, &w, &m);
    g_assert_cmpuint(cs->len, ==, 1);
    g_ptr_array_unref(cs);
    g_free(m);

    /* an L shape keeps only its 6 corners */
    const char *ell[] = { "#..", "#..", "###" };
    cs = trace_text(ell, 3, &w, &m);
    g_assert_cmpuint(cs->len, ==, 1);
    g_assert_cmpint(((LensContour *)g_ptr_array_index(cs, 0))->n_points, ==, 6);
    g_ptr_array_unref(cs);
    g_free(m);

    /* nothing, and everything */
    guint8 zero[6] = { 0 }, full[6];
    memset(full, 1, sizeof(full));
    cs = lens_contour_trace(zero, 3, 2, 3, 1);
    g_assert_cmpuint(cs->len, ==, 0);
    g_assert_null(lens_contour_largest(cs));
    g_ptr_array_unref(cs);
    cs = lens_contour_trace(full, 3, 2, 3, 1);
    g_assert_cmpuint(cs->len, ==, 1);
    g_assert_cmpint(((LensContour *)g_ptr_array_index(cs, 0))->area, ==, 6);
    g_ptr_array_unref(cs);
    cs = lens_contour_trace(NULL, 0, 0, 0, 1);
    g_assert_cmpuint(cs->len, ==, 0);
    g_ptr_array_unref(cs);
}

static void test_random_masks(void)
{
    GRand *r = g_rand_new_with_seed(99);
    for (int it = 0; it < 300; it++) {
        int w = g_rand_int_range(r, 1, 24), h = g_rand_int_range(r, 1, 20);
        int stride = w + g_rand_int_range(r, 0, 3);
        double density = g_rand_double_range(r, 0.1, 0.9);
        guint8 *m = g_malloc0((gsize)stride * h);
        guint8 *bin = g_malloc0((gsize)w * h);
        gint64 count = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                gboolean on = g_rand_double(r) < density;
                m[y * stride + x] =
                    on ? (guint8)g_rand_int_range(r, 1, 256) : 0;
                bin[y * w + x] = (guint8)on;
                count += on;
            }
        GPtrArray *cs = lens_contour_trace(m, w, h, stride, 1);
        gint64 area = 0;
        for (guint k = 0; k < cs->len; k++) {
            const LensContour *c = g_ptr_array_index(cs, k);
            area += c->hole ? -c->area : c->area;
            g_assert_cmpint(c->n_points, >=, 4);
            g_assert_cmpint(c->n_points % 2, ==, 0); /* axis-aligned */
        }
        g_assert_cmpint(area, ==, count);
        guint8 *eo = fill(cs, w, h, FALSE);
        g_assert_cmpmem(eo, (gsize)w * h, bin, (gsize)w * h);
        guint8 *outer = fill(cs, w, h, TRUE);
        guint8 *filled = fill_holes(bin, w, h);
        g_assert_cmpmem(outer, (gsize)w * h, filled, (gsize)w * h);
        g_free(eo);
        g_free(outer);
        g_free(filled);
        g_ptr_array_unref(cs);
        g_free(m);
        g_free(bin);
    }
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/app/contour/known-shapes", test_known_shapes);
    g_test_add_func("/app/contour/random-masks", test_random_masks);
    return g_test_run();
}
