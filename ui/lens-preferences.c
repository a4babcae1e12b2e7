/* lens-preferences.c — LensPreferences (see lens-preferences.h).  Every
 * control is bound to its key; drop-downs map their position to the key's
 * string or enum value. */
#include "config.h"

#include "lens-preferences.h"

#include "lens-languages.h"
#include "pali.h"

struct _LensPreferences {
    GtkWindow parent_instance;

    /* template widgets */
    GtkSpinButton *threads_spin;
    GtkSpinButton *tokens_spin;
    GtkDropDown *language_dropdown;
    GtkDropDown *precision_dropdown;
    GtkDropDown *weights_dropdown;
    GtkCheckButton *ahead_check;
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

/* "language" (a code) ↔ the drop-down's position (sorted by name) */
static gboolean language_get_mapping(GValue *value, GVariant *variant,
                                     gpointer data)
{
    guint position =
        lens_language_drop_down_find(data, g_variant_get_string(variant, NULL));
    if (position == GTK_INVALID_LIST_POSITION)
        return FALSE;
    g_value_set_uint(value, position);
    return TRUE;
}

static GVariant *language_set_mapping(const GValue *value,
                                      const GVariantType *type, gpointer data)
{
    const char *code =
        lens_language_drop_down_code_at(data, g_value_get_uint(value));
    return code ? g_variant_new_string(code) : NULL;
}

/* Enum keys ↔ drop-down positions: the drop-downs list the values in the
 * schema's order, named by these nicks. */
static const char *const precision_nicks[] = { "exact", "fast", NULL };
static const char *const weights_nicks[] = { "as-stored", "bf16", "q8", "q4",
                                             NULL };
/* the schema's values are pali_precision's and pali_weights' */
G_STATIC_ASSERT(PALI_PRECISION_FAST == 1);
G_STATIC_ASSERT(PALI_WEIGHTS_AS_STORED == 0 && PALI_WEIGHTS_Q4 == 3);

static gboolean nick_get_mapping(GValue *value, GVariant *variant,
                                 gpointer data)
{
    const char *const *nicks = data;
    const char *nick = g_variant_get_string(variant, NULL);
    for (guint i = 0; nicks[i] != NULL; i++)
        if (g_strcmp0(nicks[i], nick) == 0) {
            g_value_set_uint(value, i);
            return TRUE;
        }
    return FALSE;
}

static GVariant *nick_set_mapping(const GValue *value, const GVariantType *type,
                                  gpointer data)
{
    const char *const *nicks = data;
    guint position = g_value_get_uint(value);
    if (position >= g_strv_length((char **)nicks))
        return NULL;
    return g_variant_new_string(nicks[position]);
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
    BIND(weights_dropdown);
    BIND(ahead_check);
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

    lens_language_drop_down_setup(self->language_dropdown);

    GSettings *s = self->settings;
    g_settings_bind(s, "threads", self->threads_spin, "value",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(s, "max-new-tokens", self->tokens_spin, "value",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind_with_mapping(s, "language", self->language_dropdown,
                                 "selected", G_SETTINGS_BIND_DEFAULT,
                                 language_get_mapping, language_set_mapping,
                                 self->language_dropdown, NULL);
    g_settings_bind_with_mapping(s, "precision", self->precision_dropdown,
                                 "selected", G_SETTINGS_BIND_DEFAULT,
                                 nick_get_mapping, nick_set_mapping,
                                 (gpointer)precision_nicks, NULL);
    g_settings_bind_with_mapping(s, "weights", self->weights_dropdown,
                                 "selected", G_SETTINGS_BIND_DEFAULT,
                                 nick_get_mapping, nick_set_mapping,
                                 (gpointer)weights_nicks, NULL);
    g_settings_bind(s, "work-ahead", self->ahead_check, "active",
                    G_SETTINGS_BIND_DEFAULT);
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
