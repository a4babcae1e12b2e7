/* lens-contour.h — the outlines of a binary mask as closed polygons along
 * pixel edges, for mask outlines (lens-overlay) and polygon exports
 * (lens-export).
 *
 * A pixel (x, y) covers [x, x + 1] × [y, y + 1]; polygon vertices are
 * pixel corners, so filling a polygon at pixel centres gives back exactly
 * the pixels it encloses.  Foreground is 8-connected (pixels touching at a
 * corner belong to one outline, as OpenCV's findContours has it), so
 * background is 4-connected; an outline may touch itself at such a
 * corner.  Holes get their own outlines, flagged. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
    int n_points;
    int *xy;       /* 2·n_points: x0, y0, x1, y1, … corners only */
    gboolean hole; /* the boundary of a hole inside a region */
    gint64 area;   /* enclosed area in pixels (holes: the hole's area) */
} LensContour;

void lens_contour_free(LensContour *contour);

/* Traces every boundary of the pixels with mask[y·stride + x] ≥ threshold
 * (threshold ≥ 1).  Outer boundaries run counter-clockwise on screen (y
 * down), holes clockwise.  Returns a GPtrArray of LensContour (freed with
 * the array), outer boundaries in order of their top-left pixel. */
GPtrArray *lens_contour_trace(const uint8_t *mask, int width, int height,
                              int stride, uint8_t threshold);

/* The outer boundary enclosing the largest area, or NULL. */
const LensContour *lens_contour_largest(GPtrArray *contours);

G_END_DECLS
