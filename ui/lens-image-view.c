/* lens-image-view.c — LensImageView: a custom widget that shows an image
 * with zoom (Ctrl+scroll, pinch, keys, zoom to fit, 100 %), panning (drag,
 * scrollbars: it implements GtkScrollable), and the result overlays (boxes,
 * labels, masks) drawn with cairo at the screen's scale so they stay crisp.
 *
 * Overlays are a LensOverlay (app/lens-overlay.c) drawn over the visible
 * part only, in device pixels (sharp at any zoom and on HiDPI screens), by
 * a LensOverlayLayer: in a thread, the view only copying the result.  The
 * image is a texture node for GPU renderers.  GTK's cairo renderer
 * (software rendering) copies a texture into a new cairo surface every
 * time it draws it — every frame that touches the view, 100 MB for a
 * 24-megapixel photo — so with that renderer the view draws the image
 * itself from a cairo copy made once per image in a thread, into a render
 * node it keeps until the zoom, scroll or size change.
 * Follows gtk4-demo's demo3widget and Loupe: snapshot + measure, widget
 * actions enabled at their limits, zoom that keeps the point under the
 * cursor; the maths is in lens-view-math.c.  Nothing here knows the engine. */
#include "config.h"

#include "lens-image-view.h"

#include <string.h>

#include "lens-overlay-layer.h"
#include "lens-view-math.h"

struct _LensImageView {
    GtkWidget parent_instance;

    /* owned */
    GdkTexture *texture;
    LensOverlayLayer *layer;  /* the overlay, drawn in a thread */
    cairo_surface_t *surface; /* the texture as cairo ARGB32, or NULL */
    GCancellable *surface_cancellable; /* the copy being made */
    GskRenderNode *image_node;         /* the surface drawn, or NULL */
    double image_node_key[6];          /* …for origin, zoom, size, scale */
    GtkAdjustment *hadjustment;
    GtkAdjustment *vadjustment;

    /* state */
    LensViewState view;
    gboolean fit;
    guint hscroll_policy : 1;
    guint vscroll_policy : 1;
    double pointer_x, pointer_y;       /* widget px; < 0 when outside */
    double drag_start_x, drag_start_y; /* scroll at the start of a drag */
    double pinch_start_zoom;
    LensOverlayStyle style; /* sizes in widget px (scaled when drawn) */
};

enum {
    PROP_0,
    PROP_TEXTURE,
    PROP_ZOOM,
    PROP_FIT,
    PROP_HIGHLIGHTED,
    PROP_SHOW_BOXES,
    PROP_SHOW_MASKS,
    PROP_SHOW_LABELS,
    PROP_MASK_OPACITY,
    PROP_LINE_WIDTH,
    PROP_LABEL_SIZE,
    N_PROPS,
    /* GtkScrollable */
    PROP_HADJUSTMENT = N_PROPS,
    PROP_VADJUSTMENT,
    PROP_HSCROLL_POLICY,
    PROP_VSCROLL_POLICY,
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE_WITH_CODE(LensImageView, lens_image_view, GTK_TYPE_WIDGET,
                              G_IMPLEMENT_INTERFACE(GTK_TYPE_SCROLLABLE, NULL))

/* From this many device pixels per image pixel on, pixels are drawn as
 * squares (the photo's own pixels); below, smoothly filtered. */
#define PIXELATED_ZOOM 2.0

/* Scrollbar steps as a share of the visible size. */
#define SCROLL_STEP_FRACTION 0.1
#define SCROLL_PAGE_FRACTION 0.9

static void update_actions(LensImageView *self)
{
    gboolean has_image = self->texture != NULL;
    GtkWidget *w = GTK_WIDGET(self);
    gtk_widget_action_set_enabled(w, "view.zoom-in",
                                  lens_view_can_zoom_in(&self->view));
    gtk_widget_action_set_enabled(w, "view.zoom-out",
                                  lens_view_can_zoom_out(&self->view));
    gtk_widget_action_set_enabled(w, "view.zoom-fit", has_image);
    gtk_widget_action_set_enabled(w, "view.zoom-original", has_image);
}

static void configure_adjustment(GtkAdjustment *adj, double value,
                                 double content, double page)
{
    if (adj == NULL)
        return;
    gtk_adjustment_configure(adj, value, 0.0, MAX(content, page),
                             page * SCROLL_STEP_FRACTION,
                             page * SCROLL_PAGE_FRACTION, page);
}

/* Pushes the state into the adjustments (which clamp and notify the
 * scrollbars) and redraws. */
static void sync_adjustments(LensImageView *self)
{
    double cw, ch;
    lens_view_clamp_scroll(&self->view);
    lens_view_content_size(&self->view, &cw, &ch);
    configure_adjustment(self->hadjustment, self->view.scroll_x, cw,
                         self->view.view_width);
    configure_adjustment(self->vadjustment, self->view.scroll_y, ch,
                         self->view.view_height);
    update_actions(self);
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void set_zoom_internal(LensImageView *self, double zoom, double x,
                              double y)
{
    double old = self->view.zoom;
    if (x < 0 || y < 0) {
        x = self->view.view_width / 2.0;
        y = self->view.view_height / 2.0;
    }
    lens_view_zoom_at(&self->view, zoom, x, y);
    sync_adjustments(self);
    if (old != self->view.zoom)
        g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_ZOOM]);
}

static void apply_fit(LensImageView *self)
{
    double old = self->view.zoom;
    self->view.zoom = lens_view_fit_zoom(&self->view);
    self->view.scroll_x = 0;
    self->view.scroll_y = 0;
    sync_adjustments(self);
    if (old != self->view.zoom)
        g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_ZOOM]);
}

GtkWidget *lens_image_view_new(void)
{
    return g_object_new(LENS_TYPE_IMAGE_VIEW, NULL);
}

/* ---- the image as a cairo surface (for the cairo renderer) ------------ */

static void copy_surface_thread(GTask *task, gpointer source, gpointer data,
                                GCancellable *cancellable)
{
    GdkTexture *texture = data;
    int w = gdk_texture_get_width(texture), h = gdk_texture_get_height(texture);
    cairo_surface_t *surface =
        cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surface);
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                                "no cairo surface of %d × %d", w, h);
        return;
    }
    cairo_surface_flush(surface);
    /* cairo's ARGB32 is GDK_MEMORY_DEFAULT, gdk_texture_download's format */
    gdk_texture_download(texture, cairo_image_surface_get_data(surface),
                         (gsize)cairo_image_surface_get_stride(surface));
    cairo_surface_mark_dirty(surface);
    g_task_return_pointer(task, surface, (GDestroyNotify)cairo_surface_destroy);
}

static void on_surface_copied(GObject *source, GAsyncResult *result,
                              gpointer data)
{
    GTask *task = G_TASK(result);
    cairo_surface_t *surface = g_task_propagate_pointer(task, NULL);
    if (surface == NULL)
        return; /* cancelled (another image) or failed: the texture stays */
    LensImageView *self = data;
    g_clear_pointer(&self->surface, cairo_surface_destroy);
    g_clear_pointer(&self->image_node, gsk_render_node_unref);
    self->surface = surface;
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void start_surface_copy(LensImageView *self)
{
    g_cancellable_cancel(self->surface_cancellable);
    g_clear_object(&self->surface_cancellable);
    g_clear_pointer(&self->surface, cairo_surface_destroy);
    g_clear_pointer(&self->image_node, gsk_render_node_unref);
    if (self->texture == NULL)
        return;
    self->surface_cancellable = g_cancellable_new();
    g_autoptr(GTask) task =
        g_task_new(NULL, self->surface_cancellable, on_surface_copied, self);
    g_task_set_task_data(task, g_object_ref(self->texture), g_object_unref);
    g_task_set_return_on_cancel(task, TRUE);
    g_task_run_in_thread(task, copy_surface_thread);
}

static gboolean uses_cairo_renderer(LensImageView *self)
{
    GtkNative *native = gtk_widget_get_native(GTK_WIDGET(self));
    GskRenderer *renderer = native ? gtk_native_get_renderer(native) : NULL;
    return renderer != NULL && GSK_IS_CAIRO_RENDERER(renderer);
}

/* ---- public API ------------------------------------------------------- */

void lens_image_view_set_texture(LensImageView *self, GdkTexture *texture)
{
    g_return_if_fail(LENS_IS_IMAGE_VIEW(self));
    if (!g_set_object(&self->texture, texture))
        return;
    start_surface_copy(self);
    self->view.image_width = texture ? gdk_texture_get_width(texture) : 0;
    self->view.image_height = texture ? gdk_texture_get_height(texture) : 0;
    self->fit = TRUE;
    apply_fit(self);
    gtk_widget_queue_resize(GTK_WIDGET(self));
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_TEXTURE]);
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_FIT]);
}

GdkTexture *lens_image_view_get_texture(LensImageView *self)
{
    g_return_val_if_fail(LENS_IS_IMAGE_VIEW(self), NULL);
    return self->texture;
}

double lens_image_view_get_zoom(LensImageView *self)
{
    g_return_val_if_fail(LENS_IS_IMAGE_VIEW(self), 1.0);
    return self->view.zoom;
}

void lens_image_view_set_fit(LensImageView *self, gboolean fit)
{
    g_return_if_fail(LENS_IS_IMAGE_VIEW(self));
    fit = !!fit;
    if (fit)
        apply_fit(self);
    if (self->fit == fit)
        return;
    self->fit = fit;
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_FIT]);
}

gboolean lens_image_view_get_fit(LensImageView *self)
{
    g_return_val_if_fail(LENS_IS_IMAGE_VIEW(self), FALSE);
    return self->fit;
}

void lens_image_view_zoom_at(LensImageView *self, double zoom, double x,
                             double y)
{
    g_return_if_fail(LENS_IS_IMAGE_VIEW(self));
    lens_image_view_set_fit(self, FALSE);
    set_zoom_internal(self, zoom, x, y);
}

static void show_overlay(LensImageView *self, LensOverlay *owned,
                         LensAnswer *answer)
{
    const LensOverlay *old = lens_overlay_layer_get_overlay(self->layer);
    /* the layer redraws the view when the new overlay is drawn */
    if (lens_overlay_layer_set_overlay(self->layer, owned, answer))
        gtk_widget_queue_draw(GTK_WIDGET(self));
    const LensOverlay *overlay = lens_overlay_layer_get_overlay(self->layer);
    if (overlay == old)
        return;
    int n = overlay ? lens_overlay_get_n_objects(overlay) : 0;
    if (self->style.highlighted >= n)
        lens_image_view_set_highlighted(self, -1);
}

void lens_image_view_set_overlay(LensImageView *self, LensOverlay *overlay)
{
    g_return_if_fail(LENS_IS_IMAGE_VIEW(self));
    show_overlay(self, overlay, NULL);
}

void lens_image_view_show_answer(LensImageView *self, LensAnswer *answer)
{
    g_return_if_fail(LENS_IS_IMAGE_VIEW(self));
    show_overlay(self, NULL, answer);
}

gboolean lens_image_view_get_overlay_pending(LensImageView *self)
{
    g_return_val_if_fail(LENS_IS_IMAGE_VIEW(self), FALSE);
    return lens_overlay_layer_get_pending(self->layer);
}

const LensOverlay *lens_image_view_get_overlay(LensImageView *self)
{
    g_return_val_if_fail(LENS_IS_IMAGE_VIEW(self), NULL);
    return lens_overlay_layer_get_overlay(self->layer);
}

LensOverlayStyle lens_image_view_get_style(LensImageView *self)
{
    return self->style;
}

int lens_image_view_get_highlighted(LensImageView *self)
{
    g_return_val_if_fail(LENS_IS_IMAGE_VIEW(self), -1);
    return self->style.highlighted;
}

void lens_image_view_set_highlighted(LensImageView *self, int index)
{
    g_return_if_fail(LENS_IS_IMAGE_VIEW(self));
    const LensOverlay *overlay = lens_overlay_layer_get_overlay(self->layer);
    int n = overlay ? lens_overlay_get_n_objects(overlay) : 0;
    if (index < -1 || index >= n)
        index = -1;
    if (self->style.highlighted == index)
        return;
    self->style.highlighted = index;
    gtk_widget_queue_draw(GTK_WIDGET(self));
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_HIGHLIGHTED]);
}

void lens_image_view_widget_to_image(LensImageView *self, double wx, double wy,
                                     double *ix, double *iy)
{
    lens_view_widget_to_image(&self->view, wx, wy, ix, iy);
}

void lens_image_view_image_to_widget(LensImageView *self, double ix, double iy,
                                     double *wx, double *wy)
{
    lens_view_image_to_widget(&self->view, ix, iy, wx, wy);
}

/* ---- drawing and size ------------------------------------------------- */

/* The image at `scale` device pixels per image pixel, its top left at
 * (x, y) in device pixels. */
static void draw_surface(LensImageView *self, cairo_t *cr, double x, double y,
                         double scale)
{
    cairo_rectangle(cr, x, y, self->view.image_width * scale,
                    self->view.image_height * scale);
    cairo_clip(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, self->surface, 0, 0);
    cairo_pattern_t *pattern = cairo_get_source(cr);
    cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD);
    cairo_pattern_set_filter(pattern, scale >= PIXELATED_ZOOM
                                          ? CAIRO_FILTER_NEAREST
                                          : CAIRO_FILTER_GOOD);
    cairo_paint(cr);
}

/* The image for the cairo renderer: the node drawn last when nothing that
 * places it changed (an overlay or highlight redraws only the overlay). */
static GskRenderNode *image_node(LensImageView *self, int width, int height,
                                 int scale, double ox, double oy)
{
    double key[6] = { ox, oy, self->view.zoom, width, height, scale };
    if (self->image_node != NULL &&
        memcmp(key, self->image_node_key, sizeof(key)) == 0)
        return self->image_node;
    g_clear_pointer(&self->image_node, gsk_render_node_unref);
    GtkSnapshot *snapshot = gtk_snapshot_new();
    cairo_t *cr = gtk_snapshot_append_cairo(
        snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));
    cairo_scale(cr, 1.0 / scale, 1.0 / scale);
    draw_surface(self, cr, ox * scale, oy * scale, self->view.zoom * scale);
    cairo_destroy(cr);
    self->image_node = gtk_snapshot_free_to_node(snapshot);
    memcpy(self->image_node_key, key, sizeof(key));
    return self->image_node;
}

static void lens_image_view_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
    LensImageView *self = LENS_IMAGE_VIEW(widget);
    if (self->texture == NULL)
        return;
    int width = gtk_widget_get_width(widget);
    int height = gtk_widget_get_height(widget);
    int scale = gtk_widget_get_scale_factor(widget);
    double ox, oy, cw, ch;
    lens_view_origin(&self->view, &ox, &oy);
    lens_view_content_size(&self->view, &cw, &ch);

    gtk_snapshot_push_clip(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));
    if (self->surface != NULL && uses_cairo_renderer(self))
        gtk_snapshot_append_node(
            snapshot, image_node(self, width, height, scale, ox, oy));
    else
        gtk_snapshot_append_texture(snapshot, self->texture,
                                    &GRAPHENE_RECT_INIT(ox, oy, cw, ch));
    /* the overlay in device pixels */
    LensOverlayLayerSpec spec = {
        .width = width * scale,
        .height = height * scale,
        .origin_x = ox * scale,
        .origin_y = oy * scale,
        .scale = self->view.zoom * scale,
        .style = self->style,
    };
    spec.style.line_width *= scale;
    spec.style.font_size *= scale;
    lens_overlay_layer_snapshot(self->layer, snapshot, scale, &spec);
    gtk_snapshot_pop(snapshot);
}

static void lens_image_view_measure(GtkWidget *widget,
                                    GtkOrientation orientation, int for_size,
                                    int *minimum, int *natural,
                                    int *minimum_baseline,
                                    int *natural_baseline)
{
    LensImageView *self = LENS_IMAGE_VIEW(widget);
    /* Scrolled: no minimum; naturally the image at 100 %. */
    *minimum = 0;
    *natural = (int)ceil(orientation == GTK_ORIENTATION_HORIZONTAL
                             ? self->view.image_width
                             : self->view.image_height);
}

static void lens_image_view_size_allocate(GtkWidget *widget, int width,
                                          int height, int baseline)
{
    LensImageView *self = LENS_IMAGE_VIEW(widget);
    self->view.view_width = width;
    self->view.view_height = height;
    if (self->fit)
        apply_fit(self);
    else
        sync_adjustments(self);
}

/* ---- input ------------------------------------------------------------ */

static gboolean on_scroll(GtkEventControllerScroll *controller, double dx,
                          double dy, LensImageView *self)
{
    GdkModifierType mods = gtk_event_controller_get_current_event_state(
        GTK_EVENT_CONTROLLER(controller));
    if (!(mods & GDK_CONTROL_MASK) || self->texture == NULL)
        return FALSE; /* plain scrolling: the scrolled window's */
    /* One notch (dy = ±1) is one zoom step; smooth scrolling scales. */
    double zoom = self->view.zoom * pow(LENS_VIEW_ZOOM_STEP, -dy);
    lens_image_view_zoom_at(self, zoom, self->pointer_x, self->pointer_y);
    return TRUE;
}

static void on_motion(GtkEventControllerMotion *controller, double x, double y,
                      LensImageView *self)
{
    self->pointer_x = x;
    self->pointer_y = y;
    const LensOverlay *overlay = lens_overlay_layer_get_overlay(self->layer);
    if (overlay == NULL)
        return;
    double ix, iy;
    lens_view_widget_to_image(&self->view, x, y, &ix, &iy);
    lens_image_view_set_highlighted(self,
                                    lens_overlay_hit_test(overlay, ix, iy));
}

static void on_leave(GtkEventControllerMotion *controller, LensImageView *self)
{
    self->pointer_x = -1;
    self->pointer_y = -1;
    lens_image_view_set_highlighted(self, -1);
}

static void on_drag_begin(GtkGestureDrag *gesture, double x, double y,
                          LensImageView *self)
{
    double max_x, max_y;
    lens_view_scroll_limits(&self->view, &max_x, &max_y);
    if (max_x <= 0 && max_y <= 0) {
        /* Nothing to pan: let other gestures have the click. */
        gtk_gesture_set_state(GTK_GESTURE(gesture), GTK_EVENT_SEQUENCE_DENIED);
        return;
    }
    self->drag_start_x = self->view.scroll_x;
    self->drag_start_y = self->view.scroll_y;
    gtk_widget_set_cursor_from_name(GTK_WIDGET(self), "grabbing");
}

static void on_drag_update(GtkGestureDrag *gesture, double dx, double dy,
                           LensImageView *self)
{
    self->view.scroll_x = self->drag_start_x - dx;
    self->view.scroll_y = self->drag_start_y - dy;
    sync_adjustments(self);
}

static void on_drag_end(GtkGestureDrag *gesture, double dx, double dy,
                        LensImageView *self)
{
    gtk_widget_set_cursor(GTK_WIDGET(self), NULL);
}

static void on_pinch_begin(GtkGesture *gesture, GdkEventSequence *sequence,
                           LensImageView *self)
{
    self->pinch_start_zoom = self->view.zoom;
}

static void on_pinch_scale_changed(GtkGestureZoom *gesture, double scale,
                                   LensImageView *self)
{
    double cx, cy;
    if (!gtk_gesture_get_bounding_box_center(GTK_GESTURE(gesture), &cx, &cy))
        cx = cy = -1;
    lens_image_view_zoom_at(self, self->pinch_start_zoom * scale, cx, cy);
}

/* ---- actions ---------------------------------------------------------- */

static void zoom_in_action(GtkWidget *widget, const char *name, GVariant *param)
{
    LensImageView *self = LENS_IMAGE_VIEW(widget);
    lens_image_view_zoom_at(self, lens_view_zoom_step(self->view.zoom, 1),
                            self->pointer_x, self->pointer_y);
}

static void zoom_out_action(GtkWidget *widget, const char *name,
                            GVariant *param)
{
    LensImageView *self = LENS_IMAGE_VIEW(widget);
    lens_image_view_zoom_at(self, lens_view_zoom_step(self->view.zoom, -1),
                            self->pointer_x, self->pointer_y);
}

static void zoom_fit_action(GtkWidget *widget, const char *name,
                            GVariant *param)
{
    lens_image_view_set_fit(LENS_IMAGE_VIEW(widget), TRUE);
}

static void zoom_original_action(GtkWidget *widget, const char *name,
                                 GVariant *param)
{
    LensImageView *self = LENS_IMAGE_VIEW(widget);
    lens_image_view_zoom_at(self, 1.0, self->pointer_x, self->pointer_y);
}

/* ---- GtkScrollable ---------------------------------------------------- */

static void on_adjustment_changed(GtkAdjustment *adj, LensImageView *self)
{
    double value = gtk_adjustment_get_value(adj);
    if (adj == self->hadjustment)
        self->view.scroll_x = value;
    else
        self->view.scroll_y = value;
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void set_adjustment(LensImageView *self, GtkAdjustment **slot,
                           GtkAdjustment *adj)
{
    if (*slot == adj && adj != NULL)
        return;
    if (*slot != NULL) {
        g_signal_handlers_disconnect_by_func(*slot, on_adjustment_changed,
                                             self);
        g_clear_object(slot);
    }
    if (adj == NULL)
        adj = gtk_adjustment_new(0, 0, 0, 0, 0, 0);
    *slot = g_object_ref_sink(adj);
    g_signal_connect(adj, "value-changed", G_CALLBACK(on_adjustment_changed),
                     self);
    sync_adjustments(self);
}

/* ---- GObject ---------------------------------------------------------- */

static void set_style_property(LensImageView *self, guint prop_id,
                               const GValue *value)
{
    LensOverlayStyle *st = &self->style;
    switch (prop_id) {
    case PROP_SHOW_BOXES: st->show_boxes = g_value_get_boolean(value); break;
    case PROP_SHOW_MASKS: st->show_masks = g_value_get_boolean(value); break;
    case PROP_SHOW_LABELS: st->show_labels = g_value_get_boolean(value); break;
    case PROP_MASK_OPACITY: st->mask_opacity = g_value_get_double(value); break;
    case PROP_LINE_WIDTH: st->line_width = g_value_get_double(value); break;
    case PROP_LABEL_SIZE: st->font_size = g_value_get_double(value); break;
    default: g_assert_not_reached();
    }
    gtk_widget_queue_draw(GTK_WIDGET(self));
    g_object_notify_by_pspec(G_OBJECT(self), properties[prop_id]);
}

static void lens_image_view_get_property(GObject *object, guint prop_id,
                                         GValue *value, GParamSpec *pspec)
{
    LensImageView *self = LENS_IMAGE_VIEW(object);
    switch (prop_id) {
    case PROP_TEXTURE: g_value_set_object(value, self->texture); break;
    case PROP_ZOOM: g_value_set_double(value, self->view.zoom); break;
    case PROP_FIT: g_value_set_boolean(value, self->fit); break;
    case PROP_HIGHLIGHTED:
        g_value_set_int(value, self->style.highlighted);
        break;
    case PROP_SHOW_BOXES:
        g_value_set_boolean(value, self->style.show_boxes);
        break;
    case PROP_SHOW_MASKS:
        g_value_set_boolean(value, self->style.show_masks);
        break;
    case PROP_SHOW_LABELS:
        g_value_set_boolean(value, self->style.show_labels);
        break;
    case PROP_MASK_OPACITY:
        g_value_set_double(value, self->style.mask_opacity);
        break;
    case PROP_LINE_WIDTH:
        g_value_set_double(value, self->style.line_width);
        break;
    case PROP_LABEL_SIZE:
        g_value_set_double(value, self->style.font_size);
        break;
    case PROP_HADJUSTMENT: g_value_set_object(value, self->hadjustment); break;
    case PROP_VADJUSTMENT: g_value_set_object(value, self->vadjustment); break;
    case PROP_HSCROLL_POLICY:
        g_value_set_enum(value, self->hscroll_policy);
        break;
    case PROP_VSCROLL_POLICY:
        g_value_set_enum(value, self->vscroll_policy);
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_image_view_set_property(GObject *object, guint prop_id,
                                         const GValue *value, GParamSpec *pspec)
{
    LensImageView *self = LENS_IMAGE_VIEW(object);
    switch (prop_id) {
    case PROP_TEXTURE:
        lens_image_view_set_texture(self, g_value_get_object(value));
        break;
    case PROP_ZOOM:
        lens_image_view_zoom_at(self, g_value_get_double(value), -1, -1);
        break;
    case PROP_FIT:
        lens_image_view_set_fit(self, g_value_get_boolean(value));
        break;
    case PROP_HIGHLIGHTED:
        lens_image_view_set_highlighted(self, g_value_get_int(value));
        break;
    case PROP_SHOW_BOXES:
    case PROP_SHOW_MASKS:
    case PROP_SHOW_LABELS:
    case PROP_MASK_OPACITY:
    case PROP_LINE_WIDTH:
    case PROP_LABEL_SIZE: set_style_property(self, prop_id, value); break;
    case PROP_HADJUSTMENT:
        set_adjustment(self, &self->hadjustment, g_value_get_object(value));
        break;
    case PROP_VADJUSTMENT:
        set_adjustment(self, &self->vadjustment, g_value_get_object(value));
        break;
    case PROP_HSCROLL_POLICY:
        self->hscroll_policy = g_value_get_enum(value);
        gtk_widget_queue_resize(GTK_WIDGET(self));
        break;
    case PROP_VSCROLL_POLICY:
        self->vscroll_policy = g_value_get_enum(value);
        gtk_widget_queue_resize(GTK_WIDGET(self));
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_image_view_dispose(GObject *object)
{
    LensImageView *self = LENS_IMAGE_VIEW(object);
    g_clear_object(&self->texture);
    start_surface_copy(self); /* cancels a copy being made, frees the last */
    g_clear_pointer(&self->image_node, gsk_render_node_unref);
    g_clear_pointer(&self->layer, lens_overlay_layer_free);
    if (self->hadjustment != NULL)
        g_signal_handlers_disconnect_by_func(self->hadjustment,
                                             on_adjustment_changed, self);
    if (self->vadjustment != NULL)
        g_signal_handlers_disconnect_by_func(self->vadjustment,
                                             on_adjustment_changed, self);
    g_clear_object(&self->hadjustment);
    g_clear_object(&self->vadjustment);
    G_OBJECT_CLASS(lens_image_view_parent_class)->dispose(object);
}

static void lens_image_view_class_init(LensImageViewClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

    object_class->get_property = lens_image_view_get_property;
    object_class->set_property = lens_image_view_set_property;
    object_class->dispose = lens_image_view_dispose;
    widget_class->snapshot = lens_image_view_snapshot;
    widget_class->measure = lens_image_view_measure;
    widget_class->size_allocate = lens_image_view_size_allocate;

    properties[PROP_TEXTURE] = g_param_spec_object(
        "texture", NULL, NULL, GDK_TYPE_TEXTURE,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_ZOOM] = g_param_spec_double(
        "zoom", NULL, NULL, LENS_VIEW_ZOOM_MIN, LENS_VIEW_ZOOM_MAX, 1.0,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_FIT] = g_param_spec_boolean(
        "fit", NULL, NULL, TRUE,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_HIGHLIGHTED] = g_param_spec_int(
        "highlighted", NULL, NULL, -1, G_MAXINT, -1,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    /* overlay style, bound to the settings of the same names */
    properties[PROP_SHOW_BOXES] = g_param_spec_boolean(
        "show-boxes", NULL, NULL, TRUE,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_SHOW_MASKS] = g_param_spec_boolean(
        "show-masks", NULL, NULL, TRUE,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_SHOW_LABELS] = g_param_spec_boolean(
        "show-labels", NULL, NULL, TRUE,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_MASK_OPACITY] = g_param_spec_double(
        "mask-opacity", NULL, NULL, 0, 1, 0.45,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_LINE_WIDTH] = g_param_spec_double(
        "line-width", NULL, NULL, 0.1, 64, 2,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_LABEL_SIZE] = g_param_spec_double(
        "label-size", NULL, NULL, 1, 256, 13,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(object_class, N_PROPS, properties);
    g_object_class_override_property(object_class, PROP_HADJUSTMENT,
                                     "hadjustment");
    g_object_class_override_property(object_class, PROP_VADJUSTMENT,
                                     "vadjustment");
    g_object_class_override_property(object_class, PROP_HSCROLL_POLICY,
                                     "hscroll-policy");
    g_object_class_override_property(object_class, PROP_VSCROLL_POLICY,
                                     "vscroll-policy");

    gtk_widget_class_install_action(widget_class, "view.zoom-in", NULL,
                                    zoom_in_action);
    gtk_widget_class_install_action(widget_class, "view.zoom-out", NULL,
                                    zoom_out_action);
    gtk_widget_class_install_action(widget_class, "view.zoom-fit", NULL,
                                    zoom_fit_action);
    gtk_widget_class_install_action(widget_class, "view.zoom-original", NULL,
                                    zoom_original_action);

    static const struct {
        guint key;
        const char *action;
    } keys[] = {
        { GDK_KEY_plus, "view.zoom-in" },
        { GDK_KEY_equal, "view.zoom-in" },
        { GDK_KEY_KP_Add, "view.zoom-in" },
        { GDK_KEY_minus, "view.zoom-out" },
        { GDK_KEY_KP_Subtract, "view.zoom-out" },
        { GDK_KEY_0, "view.zoom-fit" },
        { GDK_KEY_KP_0, "view.zoom-fit" },
        { GDK_KEY_1, "view.zoom-original" },
        { GDK_KEY_KP_1, "view.zoom-original" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
        gtk_widget_class_add_binding_action(widget_class, keys[i].key, 0,
                                            keys[i].action, NULL);
        gtk_widget_class_add_binding_action(
            widget_class, keys[i].key, GDK_CONTROL_MASK, keys[i].action, NULL);
    }

    gtk_widget_class_set_css_name(widget_class, "lens-image-view");
    gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void lens_image_view_init(LensImageView *self)
{
    GtkWidget *widget = GTK_WIDGET(self);
    self->view.zoom = 1.0;
    self->fit = TRUE;
    self->layer = lens_overlay_layer_new(widget);
    self->style = lens_overlay_style_default();
    self->style.highlighted = -1;
    self->pointer_x = self->pointer_y = -1;
    gtk_widget_set_focusable(widget, TRUE);
    gtk_widget_set_overflow(widget, GTK_OVERFLOW_HIDDEN);

    GtkEventController *scroll =
        gtk_event_controller_scroll_new(GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
    g_signal_connect(scroll, "scroll", G_CALLBACK(on_scroll), self);
    gtk_widget_add_controller(widget, scroll);

    GtkEventController *motion = gtk_event_controller_motion_new();
    g_signal_connect(motion, "enter", G_CALLBACK(on_motion), self);
    g_signal_connect(motion, "motion", G_CALLBACK(on_motion), self);
    g_signal_connect(motion, "leave", G_CALLBACK(on_leave), self);
    gtk_widget_add_controller(widget, motion);

    GtkGesture *drag = gtk_gesture_drag_new();
    g_signal_connect(drag, "drag-begin", G_CALLBACK(on_drag_begin), self);
    g_signal_connect(drag, "drag-update", G_CALLBACK(on_drag_update), self);
    g_signal_connect(drag, "drag-end", G_CALLBACK(on_drag_end), self);
    gtk_widget_add_controller(widget, GTK_EVENT_CONTROLLER(drag));

    GtkGesture *pinch = gtk_gesture_zoom_new();
    g_signal_connect(pinch, "begin", G_CALLBACK(on_pinch_begin), self);
    g_signal_connect(pinch, "scale-changed", G_CALLBACK(on_pinch_scale_changed),
                     self);
    gtk_widget_add_controller(widget, GTK_EVENT_CONTROLLER(pinch));

    update_actions(self);
}
