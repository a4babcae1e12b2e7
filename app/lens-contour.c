/* lens-contour.c — crack-following contour tracing of binary masks (see
 * lens-contour.h).
 *
 * Every side of an inside pixel that faces outside (or the mask border) is
 * a directed edge between two pixel corners, oriented with the inside on
 * its left: top sides run west, left sides south, bottom sides east, right
 * sides north.  Each corner then has as many edges leaving as entering, and
 * following edges from corner to corner walks closed loops.  A corner with
 * two ways out is a diagonal meeting of two inside pixels; turning right
 * there joins them (8-connected foreground).  Only direction changes are
 * kept as polygon vertices. */
#include "config.h"

#include "lens-contour.h"

#include <string.h>

/* Directions of an edge, clockwise on screen (y down): a right turn is
 * (d + 1) % 4. */
enum {
    DIR_E,
    DIR_S,
    DIR_W,
    DIR_N,
    N_DIRS
};
static const int dir_dx[N_DIRS] = { 1, 0, -1, 0 };
static const int dir_dy[N_DIRS] = { 0, 1, 0, -1 };

void lens_contour_free(LensContour *contour)
{
    if (contour == NULL)
        return;
    g_free(contour->xy);
    g_free(contour);
}

/* (h + 1, w + 1) corners: bit d set when an edge in direction d leaves. */
typedef struct {
    int vw, vh; /* corners per row, rows */
    guint8 *out;
    guint8 *seen;
} CornerGrid;

static gboolean inside(const uint8_t *mask, int w, int h, int stride,
                       uint8_t threshold, int x, int y)
{
    return x >= 0 && y >= 0 && x < w && y < h &&
           mask[(gsize)y * stride + x] >= threshold;
}

static void add_edge(CornerGrid *g, int x, int y, int dir)
{
    g->out[(gsize)y * g->vw + x] |= (guint8)(1u << dir);
}

/* Follows the loop that starts with the edge (x, y, dir). */
static LensContour *follow(CornerGrid *g, int sx, int sy, int sdir)
{
    GArray *pts = g_array_new(FALSE, FALSE, sizeof(int));
    int x = sx, y = sy, d = sdir;
    g_array_append_val(pts, x);
    g_array_append_val(pts, y);
    do {
        g->seen[(gsize)y * g->vw + x] |= (guint8)(1u << d);
        x += dir_dx[d];
        y += dir_dy[d];
        guint8 out = g->out[(gsize)y * g->vw + x];
        int nd = d;
        if ((out & (out - 1)) != 0) {
            nd = (d + 1) % N_DIRS; /* two ways out: turn right */
        } else {
            for (int k = 0; k < N_DIRS; k++)
                if (out & (1u << k))
                    nd = k;
        }
        if (nd != d) {
            g_array_append_val(pts, x);
            g_array_append_val(pts, y);
        }
        d = nd;
    } while (!(x == sx && y == sy && d == sdir));
    /* The start corner is now either listed twice (a corner) or was no
     * corner at all (entered in the start direction). */
    int n = (int)pts->len / 2;
    int *p = (int *)(void *)pts->data;
    if (n > 1 && p[2 * (n - 1)] == sx && p[2 * (n - 1) + 1] == sy)
        g_array_set_size(pts, pts->len - 2);
    else
        g_array_remove_range(pts, 0, 2);

    LensContour *c = g_new0(LensContour, 1);
    c->n_points = (int)pts->len / 2;
    c->xy = (int *)(void *)g_array_free(pts, FALSE);
    gint64 twice = 0; /* shoelace: outer loops come out negative */
    for (int i = 0; i < c->n_points; i++) {
        int j = (i + 1) % c->n_points;
        twice += (gint64)c->xy[2 * i] * c->xy[2 * j + 1] -
                 (gint64)c->xy[2 * j] * c->xy[2 * i + 1];
    }
    c->hole = twice > 0;
    c->area = (twice < 0 ? -twice : twice) / 2;
    return c;
}

GPtrArray *lens_contour_trace(const uint8_t *mask, int width, int height,
                              int stride, uint8_t threshold)
{
    GPtrArray *result =
        g_ptr_array_new_with_free_func((GDestroyNotify)lens_contour_free);
    g_return_val_if_fail(threshold >= 1, result);
    if (mask == NULL || width <= 0 || height <= 0)
        return result;
    CornerGrid g = { width + 1, height + 1, NULL, NULL };
    gsize n = (gsize)g.vw * (gsize)g.vh;
    g.out = g_malloc0(n);
    g.seen = g_malloc0(n);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            if (!inside(mask, width, height, stride, threshold, x, y))
                continue;
            if (!inside(mask, width, height, stride, threshold, x, y - 1))
                add_edge(&g, x + 1, y, DIR_W); /* top side */
            if (!inside(mask, width, height, stride, threshold, x - 1, y))
                add_edge(&g, x, y, DIR_S); /* left side */
            if (!inside(mask, width, height, stride, threshold, x, y + 1))
                add_edge(&g, x, y + 1, DIR_E); /* bottom side */
            if (!inside(mask, width, height, stride, threshold, x + 1, y))
                add_edge(&g, x + 1, y + 1, DIR_N); /* right side */
        }
    for (int y = 0; y < g.vh; y++)
        for (int x = 0; x < g.vw; x++) {
            gsize i = (gsize)y * g.vw + x;
            guint8 todo;
            while ((todo = g.out[i] & ~g.seen[i]) != 0) {
                int d = 0;
                while (!(todo & (1u << d)))
                    d++;
                g_ptr_array_add(result, follow(&g, x, y, d));
            }
        }
    g_free(g.out);
    g_free(g.seen);
    return result;
}

const LensContour *lens_contour_largest(GPtrArray *contours)
{
    const LensContour *best = NULL;
    for (guint i = 0; contours != NULL && i < contours->len; i++) {
        const LensContour *c = g_ptr_array_index(contours, i);
        if (!c->hole && (best == NULL || c->area > best->area))
            best = c;
    }
    return best;
}
