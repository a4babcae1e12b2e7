/* lens-preferences.c — LensPreferences (see lens-preferences.h).  Every
 * control is bound to its key; drop-downs map their position to the key's
 * string or enum value. */
#include "config.h"

#include "lens-preferences.h"

#include "pali.h"

struct _LensPreferences {
    GtkWindow parent_instance;

    /* template widgets */
    GtkSpinButton *threads_spin;
    GtkSpinButton *tokens_spin;
    GtkDropDown *language_dropdown;
    GtkDropDown *precision_dropdown;
    GtkCheckButton *boxes_check;
    GtkCheckButton *masks_check;
    GtkCheckButton *labels_check;
    GtkScale *opacity_scale;
    GtkSpinButton *line_spin;
    GtkSpinButton *label_spin;

    /* owned */
    GSettings *settings;
};

G_DEFINE_FINAL_TYPE(LensPreferences, lens_preferences, GTK_TYPE_WINDOW)

/* "language" (a code) ↔ the drop-down position in pali_task_languages() */
static gboolean language_get_mapping(GValue *value, GVariant *variant,
                                     gpointer data)
{
    const char *code = g_variant_get_string(variant, NULL);
    const char *const *codes = pali_task_languages();
    for (guint i = 0; codes[i] != NULL; i++)
        if (g_strcmp0(codes[i], code) == 0) {
            g_value_set_uint(value, i);
            return TRUE;
        }
    return FALSE;
}

static GVariant *language_set_mapping(const GValue *value,
                                      const GVariantType *type, gpointer data)
{
    guint i = g_value_get_uint(value);
    const char *const *codes = pali_task_languages();
    for (guint n = 0; codes[n] != NULL; n++)
        if (n == i)
            return g_variant_new_string(codes[i]);
    return NULL;
}

/* "precision" ("exact", "fast") ↔ positions 0, 1 */
static gboolean precision_get_mapping(GValue *value, GVariant *variant,
                                      gpointer data)
{
    const char *nick = g_variant_get_string(variant, NULL);
    g_value_set_uint(value, g_strcmp0(nick, "fast") == 0 ? 1 : 0);
    return TRUE;
}

static GVariant *precision_set_mapping(const GValue *value,
                                       const GVariantType *type, gpointer data)
{
    return g_variant_new_string(g_value_get_uint(value) == 1 ? "fast"
                                                             : "exact");
}

LensPreferences *lens_preferences_new(GtkWindow *parent)
{
    return g_object_new(LENS_TYPE_PREFERENCES, "transient-for", parent, NULL);
}

static void lens_preferences_dispose(GObject *object)
{
    LensPreferences *self = LENS_PREFERENCES(object);
    gtk_widget_dispose_template(GTK_WIDGET(self), LENS_TYPE_PREFERENCES);
    g_clear_object(&self->settings);
    G_OBJECT_CLASS(lens_preferences_parent_class)->dispose(object);
}

static void lens_preferences_class_init(LensPreferencesClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

    object_class->dispose = lens_preferences_dispose;

    gtk_widget_class_set_template_from_resource(
        widget_class, "/org/palilens/PaliLens/lens-preferences.ui");
#define BIND(name)                                                             \
    gtk_widget_class_bind_template_child(widget_class, LensPreferences, name)
    BIND(threads_spin);
    BIND(tokens_spin);
    BIND(language_dropdown);
    BIND(precision_dropdown);
    BIND(boxes_check);
    BIND(masks_check);
    BIND(labels_check);
    BIND(opacity_scale);
    BIND(line_spin);
    BIND(label_spin);
#undef BIND

    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0,
                                        "window.close", NULL);
}

static void lens_preferences_init(LensPreferences *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    self->settings = g_settings_new(APP_ID);

    g_autoptr(GtkStringList) languages = gtk_string_list_new(NULL);
    for (const char *const *code = pali_task_languages(); *code; code++)
        gtk_string_list_append(languages, *code);
    gtk_drop_down_set_model(self->language_dropdown, G_LIST_MODEL(languages));

    GSettings *s = self->settings;
    g_settings_bind(s, "threads", self->threads_spin, "value",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(s, "max-new-tokens", self->tokens_spin, "value",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind_with_mapping(s, "language", self->language_dropdown,
                                 "selected", G_SETTINGS_BIND_DEFAULT,
                                 language_get_mapping, language_set_mapping,
                                 NULL, NULL);
    g_settings_bind_with_mapping(s, "precision", self->precision_dropdown,
                                 "selected", G_SETTINGS_BIND_DEFAULT,
                                 precision_get_mapping, precision_set_mapping,
                                 NULL, NULL);
    g_settings_bind(s, "show-boxes", self->boxes_check, "active",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(s, "show-masks", self->masks_check, "active",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(s, "show-labels", self->labels_check, "active",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(s, "mask-opacity",
                    gtk_range_get_adjustment(GTK_RANGE(self->opacity_scale)),
                    "value", G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(s, "line-width", self->line_spin, "value",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(s, "label-size", self->label_spin, "value",
                    G_SETTINGS_BIND_DEFAULT);
}
