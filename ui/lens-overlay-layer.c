/* lens-overlay-layer.c — LensOverlayLayer (see lens-overlay-layer.h).
 *
 * One drawing at a time runs in a GTask thread with everything it needs
 * held by reference (the overlay's holder, the spec copied), so the layer,
 * the view or the answer may change or go meanwhile.  Only the thread that
 * draws touches the overlay's cairo surfaces: the main thread copies the
 * finished ARGB32 surface and reads mask bytes for hit-testing, nothing
 * else.  When a drawing finishes and the spec or overlay has moved on, the
 * next snapshot starts another; requests in between are merged. */
#include "config.h"

#include "lens-overlay-layer.h"

#include <string.h>

/* An overlay and whatever keeps it alive (atomic rc box). */
typedef struct {
    LensOverlay *owned; /* or NULL */
    LensAnswer *answer; /* or NULL */
    const LensOverlay *overlay;
} Hold;

struct _LensOverlayLayer {
    GtkWidget *widget; /* borrowed; NULL once freed */
    Hold *hold;        /* the overlay to show, or NULL */

    /* the latest drawing and what it was drawn for */
    cairo_surface_t *surface;
    Hold *surface_hold;
    LensOverlayLayerSpec surface_spec;

    /* state */
    gboolean drawing; /* a thread is drawing */
    LensOverlayLayerSpec wanted_spec;
    gboolean has_wanted;
};

typedef struct {
    LensOverlayLayer *layer; /* NULL once the layer is freed */
    Hold *hold;
    LensOverlayLayerSpec spec;
} Job;

static void hold_clear(gpointer data)
{
    Hold *hold = data;
    lens_overlay_free(hold->owned);
    if (hold->answer != NULL)
        lens_answer_unref(hold->answer);
}

static void hold_release(Hold *hold)
{
    if (hold != NULL)
        g_atomic_rc_box_release_full(hold, hold_clear);
}

static gboolean same_spec(const LensOverlayLayerSpec *a,
                          const LensOverlayLayerSpec *b)
{
    return a->width == b->width && a->height == b->height &&
           a->origin_x == b->origin_x && a->origin_y == b->origin_y &&
           a->scale == b->scale && a->style.show_boxes == b->style.show_boxes &&
           a->style.show_masks == b->style.show_masks &&
           a->style.show_labels == b->style.show_labels &&
           a->style.mask_opacity == b->style.mask_opacity &&
           a->style.highlighted == b->style.highlighted &&
           a->style.line_width == b->style.line_width &&
           a->style.font_size == b->style.font_size;
}

LensOverlayLayer *lens_overlay_layer_new(GtkWidget *widget)
{
    LensOverlayLayer *self = g_new0(LensOverlayLayer, 1);
    self->widget = widget;
    return self;
}

static void drop_surface(LensOverlayLayer *self)
{
    g_clear_pointer(&self->surface, cairo_surface_destroy);
    hold_release(g_steal_pointer(&self->surface_hold));
}

void lens_overlay_layer_free(LensOverlayLayer *self)
{
    if (self == NULL)
        return;
    hold_release(g_steal_pointer(&self->hold));
    drop_surface(self);
    self->widget = NULL;
    /* a running drawing finds the layer gone and frees it */
    if (!self->drawing)
        g_free(self);
}

static void start_drawing(LensOverlayLayer *self,
                          const LensOverlayLayerSpec *spec);

gboolean lens_overlay_layer_set_overlay(LensOverlayLayer *self,
                                        LensOverlay *owned, LensAnswer *answer)
{
    const LensOverlay *overlay = owned    ? owned
                                 : answer ? lens_answer_get_overlay(answer)
                                          : NULL;
    if (self->hold != NULL && self->hold->overlay == overlay &&
        overlay != NULL) {
        /* the same objects (a later answer of the run): keep them */
        if (owned != NULL && owned != self->hold->owned)
            lens_overlay_free(owned);
        return FALSE;
    }
    hold_release(g_steal_pointer(&self->hold));
    if (overlay == NULL) {
        lens_overlay_free(owned);
        drop_surface(self); /* nothing to show, not even the last one */
        return TRUE;
    }
    Hold *hold = g_atomic_rc_box_new0(Hold);
    hold->owned = owned;
    hold->answer = answer ? lens_answer_ref(answer) : NULL;
    hold->overlay = overlay;
    self->hold = hold;
    /* Draw it now where the last snapshot put the overlay; the view is
     * redrawn once, when the drawing is ready (a running drawing starts
     * the next when it ends). */
    if (!self->has_wanted)
        return TRUE;
    if (!self->drawing)
        start_drawing(self, &self->wanted_spec);
    return FALSE;
}

const LensOverlay *lens_overlay_layer_get_overlay(LensOverlayLayer *self)
{
    return self->hold ? self->hold->overlay : NULL;
}

/* ---- drawing (thread) -------------------------------------------------- */

static void draw_thread(GTask *task, gpointer source, gpointer data,
                        GCancellable *cancellable)
{
    Job *job = data;
    const LensOverlayLayerSpec *spec = &job->spec;
    cairo_surface_t *surface = cairo_image_surface_create(
        CAIRO_FORMAT_ARGB32, spec->width, spec->height);
    cairo_t *cr = cairo_create(surface);
    lens_overlay_draw(job->hold->overlay, cr, spec->origin_x, spec->origin_y,
                      spec->scale, &spec->style);
    cairo_destroy(cr);
    cairo_surface_flush(surface);
    g_task_return_pointer(task, surface, (GDestroyNotify)cairo_surface_destroy);
}

static void job_free(Job *job)
{
    hold_release(job->hold);
    g_free(job);
}

static void on_drawn(GObject *source, GAsyncResult *result, gpointer data)
{
    Job *job = g_task_get_task_data(G_TASK(result));
    LensOverlayLayer *self = job->layer;
    cairo_surface_t *surface = g_task_propagate_pointer(G_TASK(result), NULL);
    self->drawing = FALSE;
    if (self->widget == NULL) { /* freed meanwhile */
        cairo_surface_destroy(surface);
        g_free(self);
        return;
    }
    if (surface != NULL && self->hold == job->hold) {
        drop_surface(self);
        self->surface = surface;
        self->surface_hold = g_atomic_rc_box_acquire(job->hold);
        self->surface_spec = job->spec;
    } else if (surface != NULL) {
        cairo_surface_destroy(surface); /* for an overlay no longer shown */
    }
    /* what the last snapshot asked for, if it moved on meanwhile */
    if (self->has_wanted && self->hold != NULL &&
        (self->surface_hold != self->hold ||
         !same_spec(&self->surface_spec, &self->wanted_spec)))
        start_drawing(self, &self->wanted_spec);
    gtk_widget_queue_draw(self->widget);
}

static void start_drawing(LensOverlayLayer *self,
                          const LensOverlayLayerSpec *spec)
{
    if (spec->width <= 0 || spec->height <= 0)
        return;
    Job *job = g_new0(Job, 1);
    job->layer = self;
    job->hold = g_atomic_rc_box_acquire(self->hold);
    job->spec = *spec;
    self->drawing = TRUE;
    g_autoptr(GTask) task = g_task_new(NULL, NULL, on_drawn, NULL);
    g_task_set_task_data(task, job, (GDestroyNotify)job_free);
    g_task_run_in_thread(task, draw_thread);
}

/* ---- showing (main thread) --------------------------------------------- */

void lens_overlay_layer_snapshot(LensOverlayLayer *self, GtkSnapshot *snapshot,
                                 int device_scale,
                                 const LensOverlayLayerSpec *spec)
{
    self->wanted_spec = *spec;
    self->has_wanted = TRUE;
    gboolean current = self->surface != NULL &&
                       self->surface_hold == self->hold &&
                       same_spec(&self->surface_spec, spec);
    if (!current && self->hold != NULL && !self->drawing)
        start_drawing(self, spec);
    if (self->surface == NULL)
        return;

    /* The drawing in device pixels, moved and scaled from where it was
     * drawn to where the image is now: image pixel i was drawn at
     * o₀ + i·s₀ and belongs at o + i·s. */
    const LensOverlayLayerSpec *was = &self->surface_spec;
    double k = spec->scale / was->scale;
    double view_w = (double)spec->width / device_scale;
    double view_h = (double)spec->height / device_scale;
    cairo_t *cr = gtk_snapshot_append_cairo(
        snapshot, &GRAPHENE_RECT_INIT(0, 0, view_w, view_h));
    cairo_scale(cr, 1.0 / device_scale, 1.0 / device_scale);
    cairo_translate(cr, spec->origin_x - was->origin_x * k,
                    spec->origin_y - was->origin_y * k);
    cairo_scale(cr, k, k);
    cairo_set_source_surface(cr, self->surface, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), k == 1.0
                                                       ? CAIRO_FILTER_NEAREST
                                                       : CAIRO_FILTER_BILINEAR);
    cairo_paint(cr);
    cairo_destroy(cr);
}

gboolean lens_overlay_layer_get_pending(LensOverlayLayer *self)
{
    if (self->hold == NULL)
        return FALSE;
    return self->drawing || !self->has_wanted || self->surface == NULL ||
           self->surface_hold != self->hold ||
           !same_spec(&self->surface_spec, &self->wanted_spec);
}
