/* lens-progress.c — LensProgress (see lens-progress.h).  Drawn in its
 * snapshot: a rounded trough in the CSS colour at TROUGH_ALPHA and the
 * filled part in the CSS colour (style.css sets the accent colour and the
 * height on the "lens-progress" node).  Setting a fraction only queues a
 * draw; pulsing is a tick callback that queues draws. */
#include "config.h"

#include "lens-progress.h"

/* The trough is the bar's colour, this transparent. */
#define TROUGH_ALPHA 0.15
/* The pulse block's width as a share of the bar, and the time it takes to
 * cross the bar, in µs. */
#define PULSE_BLOCK_FRACTION 0.25
#define PULSE_PERIOD_US      (1200 * 1000)

struct _LensProgress {
    GtkWidget parent_instance;

    /* state */
    double fraction;
    guint pulse_tick; /* tick callback id, or 0 */
    gint64 pulse_start_us;
};

G_DEFINE_FINAL_TYPE(LensProgress, lens_progress, GTK_TYPE_WIDGET)

enum {
    PROP_0,
    PROP_FRACTION,
    N_PROPS,
};
static GParamSpec *properties[N_PROPS];

static void stop_pulse(LensProgress *self)
{
    if (self->pulse_tick != 0)
        gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->pulse_tick);
    self->pulse_tick = 0;
}

static gboolean pulse_tick(GtkWidget *widget, GdkFrameClock *clock,
                           gpointer data)
{
    gtk_widget_queue_draw(widget);
    return G_SOURCE_CONTINUE;
}

/* The pulse block's left edge as a share of the free width: 0 → 1 → 0. */
static double pulse_position(LensProgress *self)
{
    GdkFrameClock *clock = gtk_widget_get_frame_clock(GTK_WIDGET(self));
    gint64 now =
        clock ? gdk_frame_clock_get_frame_time(clock) : g_get_monotonic_time();
    double t = (double)((now - self->pulse_start_us) % (2 * PULSE_PERIOD_US)) /
               PULSE_PERIOD_US;
    return t <= 1.0 ? t : 2.0 - t;
}

static void append_bar(GtkSnapshot *snapshot, const GdkRGBA *color, double x,
                       double width, double height)
{
    GskRoundedRect rect;
    double radius = height / 2;
    gsk_rounded_rect_init_from_rect(
        &rect, &GRAPHENE_RECT_INIT(x, 0, width, height), radius);
    gtk_snapshot_push_rounded_clip(snapshot, &rect);
    gtk_snapshot_append_color(snapshot, color,
                              &GRAPHENE_RECT_INIT(x, 0, width, height));
    gtk_snapshot_pop(snapshot);
}

static void lens_progress_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
    LensProgress *self = LENS_PROGRESS(widget);
    int width = gtk_widget_get_width(widget);
    int height = gtk_widget_get_height(widget);
    if (width <= 0 || height <= 0)
        return;
    GdkRGBA color;
    gtk_style_context_get_color(gtk_widget_get_style_context(widget), &color);
    GdkRGBA trough = color;
    trough.alpha *= TROUGH_ALPHA;
    append_bar(snapshot, &trough, 0, width, height);
    if (self->pulse_tick != 0) {
        double block = width * PULSE_BLOCK_FRACTION;
        append_bar(snapshot, &color, pulse_position(self) * (width - block),
                   block, height);
    } else if (self->fraction > 0) {
        double fill = MAX(self->fraction * width, height); /* a round dot */
        append_bar(snapshot, &color, 0, MIN(fill, width), height);
    }
}

/* ---- public API ------------------------------------------------------- */

GtkWidget *lens_progress_new(void)
{
    return g_object_new(LENS_TYPE_PROGRESS, NULL);
}

void lens_progress_set_fraction(LensProgress *self, double fraction)
{
    g_return_if_fail(LENS_IS_PROGRESS(self));
    fraction = CLAMP(fraction, 0.0, 1.0);
    gboolean was_pulsing = self->pulse_tick != 0;
    stop_pulse(self);
    if (self->fraction == fraction && !was_pulsing)
        return;
    self->fraction = fraction;
    gtk_accessible_update_property(
        GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_VALUE_NOW, fraction, -1);
    gtk_widget_queue_draw(GTK_WIDGET(self));
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_FRACTION]);
}

double lens_progress_get_fraction(LensProgress *self)
{
    g_return_val_if_fail(LENS_IS_PROGRESS(self), 0);
    return self->fraction;
}

void lens_progress_pulse(LensProgress *self)
{
    g_return_if_fail(LENS_IS_PROGRESS(self));
    if (self->pulse_tick != 0)
        return;
    self->pulse_start_us = g_get_monotonic_time();
    self->pulse_tick =
        gtk_widget_add_tick_callback(GTK_WIDGET(self), pulse_tick, NULL, NULL);
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

gboolean lens_progress_get_pulsing(LensProgress *self)
{
    g_return_val_if_fail(LENS_IS_PROGRESS(self), FALSE);
    return self->pulse_tick != 0;
}

/* ---- GObject ---------------------------------------------------------- */

static void lens_progress_get_property(GObject *object, guint prop_id,
                                       GValue *value, GParamSpec *pspec)
{
    LensProgress *self = LENS_PROGRESS(object);
    switch (prop_id) {
    case PROP_FRACTION: g_value_set_double(value, self->fraction); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_progress_set_property(GObject *object, guint prop_id,
                                       const GValue *value, GParamSpec *pspec)
{
    LensProgress *self = LENS_PROGRESS(object);
    switch (prop_id) {
    case PROP_FRACTION:
        lens_progress_set_fraction(self, g_value_get_double(value));
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_progress_dispose(GObject *object)
{
    stop_pulse(LENS_PROGRESS(object));
    G_OBJECT_CLASS(lens_progress_parent_class)->dispose(object);
}

static void lens_progress_class_init(LensProgressClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

    object_class->get_property = lens_progress_get_property;
    object_class->set_property = lens_progress_set_property;
    object_class->dispose = lens_progress_dispose;
    widget_class->snapshot = lens_progress_snapshot;

    properties[PROP_FRACTION] = g_param_spec_double(
        "fraction", NULL, NULL, 0, 1, 0,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(object_class, N_PROPS, properties);

    gtk_widget_class_set_css_name(widget_class, "lens-progress");
    gtk_widget_class_set_accessible_role(widget_class,
                                         GTK_ACCESSIBLE_ROLE_PROGRESS_BAR);
}

static void lens_progress_init(LensProgress *self)
{
    gtk_accessible_update_property(GTK_ACCESSIBLE(self),
                                   GTK_ACCESSIBLE_PROPERTY_VALUE_MIN, 0.0,
                                   GTK_ACCESSIBLE_PROPERTY_VALUE_MAX, 1.0,
                                   GTK_ACCESSIBLE_PROPERTY_VALUE_NOW, 0.0, -1);
}
