/* lens-results-list.c — LensResultsList (see lens-results-list.h).  Rows
 * are rebuilt when the result changes (a streamed answer adds objects a few
 * times a second at most); the swatch is a tiny drawing area in the
 * object's overlay colour so the list and the image match, and the area is
 * the overlay's (mask pixels at 50 % or more, else the clipped box). */
#include "config.h"

#include "lens-results-list.h"

#include <glib/gi18n.h>

struct _LensResultsList {
    GtkBox parent_instance;

    /* template widgets */
    GtkLabel *heading;
    GtkListBox *list;

    /* state */
    int n_objects;
    int highlighted;
};

G_DEFINE_FINAL_TYPE(LensResultsList, lens_results_list, GTK_TYPE_BOX)

enum {
    PROP_0,
    PROP_HIGHLIGHTED,
    N_PROPS,
};
static GParamSpec *properties[N_PROPS];

#define SWATCH_PX    14
#define ROW_INDEX    "lens-object-index"
#define SWATCH_COLOR "lens-color"
#define ROW_TOOLTIP  "lens-tooltip"

static void draw_swatch(GtkDrawingArea *area, cairo_t *cr, int width,
                        int height, gpointer data)
{
    const GdkRGBA *c = g_object_get_data(G_OBJECT(area), SWATCH_COLOR);
    gdk_cairo_set_source_rgba(cr, c);
    cairo_rectangle(cr, 0, 0, width, height);
    cairo_fill(cr);
}

static void on_row_enter(GtkEventControllerMotion *motion, double x, double y,
                         LensResultsList *self)
{
    GtkWidget *row =
        gtk_event_controller_get_widget(GTK_EVENT_CONTROLLER(motion));
    lens_results_list_set_highlighted(
        self, GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), ROW_INDEX)));
}

static void on_row_leave(GtkEventControllerMotion *motion,
                         LensResultsList *self)
{
    lens_results_list_set_highlighted(self, -1);
}

/* Tooltips are given when asked for: gtk_widget_set_tooltip_text would
 * query the pointer from the display server for every row of every
 * streamed update. */
static gboolean on_query_tooltip(GtkWidget *widget, int x, int y,
                                 gboolean keyboard, GtkTooltip *tooltip,
                                 gpointer data)
{
    gtk_tooltip_set_text(tooltip,
                         g_object_get_data(G_OBJECT(widget), ROW_TOOLTIP));
    return TRUE;
}

/* Keyboard: the focused row highlights its object, as hovering does. */
static void on_row_focus_enter(GtkEventControllerFocus *focus,
                               LensResultsList *self)
{
    GtkWidget *row =
        gtk_event_controller_get_widget(GTK_EVENT_CONTROLLER(focus));
    lens_results_list_set_highlighted(
        self, GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), ROW_INDEX)));
}

static void on_row_focus_leave(GtkEventControllerFocus *focus,
                               LensResultsList *self)
{
    lens_results_list_set_highlighted(self, -1);
}

static GtkWidget *object_row(LensResultsList *self, const LensOverlay *overlay,
                             int index)
{
    const LensOverlayObject *o = lens_overlay_get_object(overlay, index);
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
    GdkRGBA *color = g_new(GdkRGBA, 1);
    *color = (GdkRGBA){ o->color.red, o->color.green, o->color.blue, 1.0 };
    GtkWidget *swatch = gtk_drawing_area_new();
    gtk_widget_set_size_request(swatch, SWATCH_PX, SWATCH_PX);
    gtk_widget_set_valign(swatch, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class(swatch, "object-swatch");
    g_object_set_data_full(G_OBJECT(swatch), SWATCH_COLOR, color, g_free);
    gtk_drawing_area_set_draw_func(GTK_DRAWING_AREA(swatch), draw_swatch, NULL,
                                   NULL);
    gtk_box_append(GTK_BOX(box), swatch);

    const char *name = o->label[0] ? o->label : _("(no label)");
    GtkWidget *label = gtk_label_new(name);
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_END);
    gtk_widget_set_hexpand(label, TRUE);
    gtk_box_append(GTK_BOX(box), label);

    /* x1, y1 – x2, y2 in image pixels */
    g_autofree char *where = g_strdup_printf(_("%d, %d – %d, %d"), o->box[0],
                                             o->box[1], o->box[2], o->box[3]);
    GtkWidget *coords = gtk_label_new(where);
    gtk_widget_add_css_class(coords, "dim-label");
    gtk_widget_add_css_class(coords, "timings");
    gtk_box_append(GTK_BOX(box), coords);

    double total = (double)lens_overlay_get_width(overlay) *
                   lens_overlay_get_height(overlay);
    double share = total > 0 ? 100.0 * (double)o->area / total : 0;
    g_autofree char *area = g_strdup_printf(_("%.1f %%"), share);
    GtkWidget *area_label = gtk_label_new(area);
    gtk_label_set_width_chars(GTK_LABEL(area_label), 7);
    gtk_label_set_xalign(GTK_LABEL(area_label), 1);
    gtk_widget_add_css_class(area_label, "timings");
    gtk_box_append(GTK_BOX(box), area_label);

    char *tip = g_strdup_printf(
        o->mask ? _("%s: box %d × %d px, mask %.1f %% of the image")
                : _("%s: box %d × %d px, %.1f %% of the image"),
        name, o->box[2] - o->box[0], o->box[3] - o->box[1], share);
    g_object_set_data_full(G_OBJECT(box), ROW_TOOLTIP, tip, g_free);
    g_signal_connect(box, "query-tooltip", G_CALLBACK(on_query_tooltip), NULL);
    gtk_widget_set_has_tooltip(box, TRUE);

    GtkWidget *row = gtk_list_box_row_new();
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
    g_object_set_data(G_OBJECT(row), ROW_INDEX, GINT_TO_POINTER(index));
    GtkEventController *motion = gtk_event_controller_motion_new();
    g_signal_connect(motion, "enter", G_CALLBACK(on_row_enter), self);
    g_signal_connect(motion, "leave", G_CALLBACK(on_row_leave), self);
    gtk_widget_add_controller(row, motion);
    GtkEventController *focus = gtk_event_controller_focus_new();
    g_signal_connect(focus, "enter", G_CALLBACK(on_row_focus_enter), self);
    g_signal_connect(focus, "leave", G_CALLBACK(on_row_focus_leave), self);
    gtk_widget_add_controller(row, focus);
    return row;
}

static void update_row_styles(LensResultsList *self)
{
    for (GtkWidget *row = gtk_widget_get_first_child(GTK_WIDGET(self->list));
         row != NULL; row = gtk_widget_get_next_sibling(row)) {
        int index =
            GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), ROW_INDEX));
        if (index == self->highlighted)
            gtk_widget_add_css_class(row, "highlighted");
        else
            gtk_widget_remove_css_class(row, "highlighted");
    }
}

void lens_results_list_set_overlay(LensResultsList *self,
                                   const LensOverlay *overlay)
{
    g_return_if_fail(LENS_IS_RESULTS_LIST(self));
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->list))))
        gtk_list_box_remove(self->list, child);
    self->n_objects = overlay ? lens_overlay_get_n_objects(overlay) : 0;
    for (int i = 0; i < self->n_objects; i++)
        gtk_list_box_append(self->list, object_row(self, overlay, i));
    g_autofree char *heading =
        g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%d Object", "%d Objects",
                                    self->n_objects),
                        self->n_objects);
    gtk_label_set_text(self->heading, heading);
    gtk_widget_set_visible(GTK_WIDGET(self), self->n_objects > 0);
    if (self->highlighted >= self->n_objects)
        lens_results_list_set_highlighted(self, -1);
    update_row_styles(self);
}

int lens_results_list_get_n_objects(LensResultsList *self)
{
    g_return_val_if_fail(LENS_IS_RESULTS_LIST(self), 0);
    return self->n_objects;
}

int lens_results_list_get_highlighted(LensResultsList *self)
{
    g_return_val_if_fail(LENS_IS_RESULTS_LIST(self), -1);
    return self->highlighted;
}

void lens_results_list_set_highlighted(LensResultsList *self, int index)
{
    g_return_if_fail(LENS_IS_RESULTS_LIST(self));
    if (index < -1 || index >= self->n_objects)
        index = -1;
    if (self->highlighted == index)
        return;
    self->highlighted = index;
    update_row_styles(self);
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_HIGHLIGHTED]);
}

static void lens_results_list_get_property(GObject *object, guint prop_id,
                                           GValue *value, GParamSpec *pspec)
{
    LensResultsList *self = LENS_RESULTS_LIST(object);
    switch (prop_id) {
    case PROP_HIGHLIGHTED: g_value_set_int(value, self->highlighted); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_results_list_set_property(GObject *object, guint prop_id,
                                           const GValue *value,
                                           GParamSpec *pspec)
{
    LensResultsList *self = LENS_RESULTS_LIST(object);
    switch (prop_id) {
    case PROP_HIGHLIGHTED:
        lens_results_list_set_highlighted(self, g_value_get_int(value));
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_results_list_dispose(GObject *object)
{
    gtk_widget_dispose_template(GTK_WIDGET(object), LENS_TYPE_RESULTS_LIST);
    G_OBJECT_CLASS(lens_results_list_parent_class)->dispose(object);
}

static void lens_results_list_class_init(LensResultsListClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

    object_class->get_property = lens_results_list_get_property;
    object_class->set_property = lens_results_list_set_property;
    object_class->dispose = lens_results_list_dispose;

    properties[PROP_HIGHLIGHTED] = g_param_spec_int(
        "highlighted", NULL, NULL, -1, G_MAXINT, -1,
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(object_class, N_PROPS, properties);

    gtk_widget_class_set_template_from_resource(
        widget_class, "/org/palilens/PaliLens/lens-results-list.ui");
    gtk_widget_class_bind_template_child(widget_class, LensResultsList,
                                         heading);
    gtk_widget_class_bind_template_child(widget_class, LensResultsList, list);
}

static void lens_results_list_init(LensResultsList *self)
{
    self->highlighted = -1;
    gtk_widget_init_template(GTK_WIDGET(self));
}
