/* lens-task-panel.c — LensTaskPanel (see lens-task-panel.h).  The prompt
 * itself is built by the engine (pali_task_prompt); this panel only
 * collects the task, its text and the language.  The "task" and "language"
 * properties hold the engine's names and codes so GSettings binds them. */
#include "config.h"

#include "lens-task-panel.h"

#include <glib/gi18n.h>

#include "lens-languages.h"

struct _LensTaskPanel {
    GtkBox parent_instance;

    /* template widgets */
    GtkDropDown *task_dropdown;
    GtkDropDown *language_dropdown;
    GtkEntry *text_entry;
    GtkStack *run_stack;
    GtkButton *run_button;
    GtkButton *stop_button;
};

G_DEFINE_FINAL_TYPE(LensTaskPanel, lens_task_panel, GTK_TYPE_BOX)

enum {
    PROP_0,
    PROP_TASK,
    PROP_LANGUAGE,
    PROP_TEXT,
    N_PROPS,
};
static GParamSpec *properties[N_PROPS];

/* The dropdown lists the tasks in pali_task order. */
G_STATIC_ASSERT(PALI_TASK_RAW == 7 && PALI_TASK_COUNT_ == 8);

static gboolean task_takes_language(pali_task task)
{
    return task == PALI_TASK_CAPTION || task == PALI_TASK_DESCRIBE ||
           task == PALI_TASK_ANSWER || task == PALI_TASK_QUESTION;
}

static gboolean task_takes_text(pali_task task)
{
    return task == PALI_TASK_ANSWER || task == PALI_TASK_QUESTION ||
           task == PALI_TASK_DETECT || task == PALI_TASK_SEGMENT ||
           task == PALI_TASK_RAW;
}

static const char *task_placeholder(pali_task task)
{
    switch (task) {
    case PALI_TASK_ANSWER: return _("Question, e.g. What is on the table?");
    case PALI_TASK_QUESTION: return _("Answer to ask about, e.g. a red car");
    case PALI_TASK_DETECT:
    case PALI_TASK_SEGMENT: return _("Objects, e.g. cat ; dog");
    case PALI_TASK_RAW: return _("Prompt, e.g. caption es");
    default: return "";
    }
}

static void update_for_task(LensTaskPanel *self)
{
    pali_task task = lens_task_panel_get_task(self);
    gtk_widget_set_visible(GTK_WIDGET(self->text_entry), task_takes_text(task));
    /* alone on its row, the Run button still sits at the end */
    gtk_widget_set_hexpand(GTK_WIDGET(self->run_stack), !task_takes_text(task));
    gtk_widget_set_visible(GTK_WIDGET(self->language_dropdown),
                           task_takes_language(task));
    gtk_entry_set_placeholder_text(self->text_entry, task_placeholder(task));
}

static void on_task_selected(LensTaskPanel *self)
{
    update_for_task(self);
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_TASK]);
}

static void on_language_selected(LensTaskPanel *self)
{
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_LANGUAGE]);
}

static void on_text_changed(LensTaskPanel *self)
{
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_TEXT]);
}

static void on_entry_activate(LensTaskPanel *self)
{
    gtk_widget_activate_action(GTK_WIDGET(self), "win.run", NULL);
}

/* ---- public API ------------------------------------------------------- */

pali_task lens_task_panel_get_task(LensTaskPanel *self)
{
    guint selected = gtk_drop_down_get_selected(self->task_dropdown);
    return selected < PALI_TASK_COUNT_ ? (pali_task)selected
                                       : PALI_TASK_CAPTION;
}

void lens_task_panel_set_task(LensTaskPanel *self, pali_task task)
{
    g_return_if_fail(task < PALI_TASK_COUNT_);
    gtk_drop_down_set_selected(self->task_dropdown, task);
}

const char *lens_task_panel_get_text(LensTaskPanel *self)
{
    if (!task_takes_text(lens_task_panel_get_task(self)))
        return "";
    return gtk_editable_get_text(GTK_EDITABLE(self->text_entry));
}

void lens_task_panel_set_text(LensTaskPanel *self, const char *text)
{
    gtk_editable_set_text(GTK_EDITABLE(self->text_entry), text ? text : "");
}

const char *lens_task_panel_get_language(LensTaskPanel *self)
{
    return lens_language_drop_down_get_code(self->language_dropdown);
}

void lens_task_panel_set_language(LensTaskPanel *self, const char *code)
{
    lens_language_drop_down_set_code(self->language_dropdown, code);
}

void lens_task_panel_set_running(LensTaskPanel *self, gboolean running)
{
    gtk_stack_set_visible_child_name(self->run_stack, running ? "stop" : "run");
}

gboolean lens_task_panel_is_ready(LensTaskPanel *self)
{
    pali_task task = lens_task_panel_get_task(self);
    if (!task_takes_text(task))
        return TRUE;
    g_autofree char *text =
        g_strstrip(g_strdup(lens_task_panel_get_text(self)));
    return text[0] != '\0';
}

void lens_task_panel_focus_input(LensTaskPanel *self)
{
    if (gtk_widget_get_visible(GTK_WIDGET(self->text_entry)))
        gtk_widget_grab_focus(GTK_WIDGET(self->text_entry));
    else
        gtk_widget_grab_focus(GTK_WIDGET(self->run_button));
}

/* ---- GObject ---------------------------------------------------------- */

static void lens_task_panel_get_property(GObject *object, guint prop_id,
                                         GValue *value, GParamSpec *pspec)
{
    LensTaskPanel *self = LENS_TASK_PANEL(object);
    switch (prop_id) {
    case PROP_TASK:
        g_value_set_string(value,
                           pali_task_name(lens_task_panel_get_task(self)));
        break;
    case PROP_LANGUAGE:
        g_value_set_string(value, lens_task_panel_get_language(self));
        break;
    case PROP_TEXT:
        g_value_set_string(value, lens_task_panel_get_text(self));
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_task_panel_set_property(GObject *object, guint prop_id,
                                         const GValue *value, GParamSpec *pspec)
{
    LensTaskPanel *self = LENS_TASK_PANEL(object);
    switch (prop_id) {
    case PROP_TASK: {
        pali_task task;
        const char *name = g_value_get_string(value);
        if (name != NULL && pali_task_from_name(name, &task))
            lens_task_panel_set_task(self, task);
        break;
    }
    case PROP_LANGUAGE:
        lens_task_panel_set_language(self, g_value_get_string(value));
        break;
    case PROP_TEXT:
        lens_task_panel_set_text(self, g_value_get_string(value));
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_task_panel_dispose(GObject *object)
{
    gtk_widget_dispose_template(GTK_WIDGET(object), LENS_TYPE_TASK_PANEL);
    G_OBJECT_CLASS(lens_task_panel_parent_class)->dispose(object);
}

static void lens_task_panel_class_init(LensTaskPanelClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

    object_class->get_property = lens_task_panel_get_property;
    object_class->set_property = lens_task_panel_set_property;
    object_class->dispose = lens_task_panel_dispose;

    properties[PROP_TASK] = g_param_spec_string(
        "task", NULL, NULL, "caption",
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_LANGUAGE] = g_param_spec_string(
        "language", NULL, NULL, "en",
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    properties[PROP_TEXT] = g_param_spec_string(
        "text", NULL, NULL, "",
        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(object_class, N_PROPS, properties);

    gtk_widget_class_set_template_from_resource(
        widget_class, "/org/palilens/PaliLens/lens-task-panel.ui");
    gtk_widget_class_bind_template_child(widget_class, LensTaskPanel,
                                         task_dropdown);
    gtk_widget_class_bind_template_child(widget_class, LensTaskPanel,
                                         language_dropdown);
    gtk_widget_class_bind_template_child(widget_class, LensTaskPanel,
                                         text_entry);
    gtk_widget_class_bind_template_child(widget_class, LensTaskPanel,
                                         run_stack);
    gtk_widget_class_bind_template_child(widget_class, LensTaskPanel,
                                         run_button);
    gtk_widget_class_bind_template_child(widget_class, LensTaskPanel,
                                         stop_button);
    gtk_widget_class_bind_template_callback(widget_class, on_entry_activate);
}

static void lens_task_panel_init(LensTaskPanel *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));

    lens_language_drop_down_setup(self->language_dropdown);

    g_signal_connect_swapped(self->task_dropdown, "notify::selected",
                             G_CALLBACK(on_task_selected), self);
    g_signal_connect_swapped(self->language_dropdown, "notify::selected",
                             G_CALLBACK(on_language_selected), self);
    g_signal_connect_swapped(self->text_entry, "changed",
                             G_CALLBACK(on_text_changed), self);
    update_for_task(self);
}
