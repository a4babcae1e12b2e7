/* test-ui-languages.c — the language names of the task panel and the
 * preferences: every code the engine offers (pali_task_languages()) has a
 * name, names are distinct, the drop-down lists them sorted by name and
 * hands back the code that goes to pali_task_prompt, the task panel's
 * "language" property (bound to the settings) is the code, and the
 * preferences' drop-down writes the code into the settings. */
#include "config.h"

#include <glib/gi18n.h>

#include "lens-languages.h"
#include "lens-preferences.h"
#include "lens-task-panel.h"
#include "pali.h"
#include "testutil.h"

static void test_names(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (const char *const *code = pali_task_languages(); *code; code++) {
        const char *name = lens_language_name(*code);
        if (name == NULL)
            g_error("the language %s has no name", *code);
        g_assert_false(g_hash_table_contains(seen, name));
        g_hash_table_add(seen, (gpointer)name);
    }
    g_assert_cmpstr(lens_language_name("de"), ==, "German");
    g_assert_null(lens_language_name("xx"));
    g_autofree char *label = lens_language_label("en");
    g_assert_cmpstr(label, ==, "English (en)");
    g_autofree char *unknown = lens_language_label("xx");
    g_assert_cmpstr(unknown, ==, "xx");
}

static const char *item_string(GtkDropDown *dd, guint position)
{
    g_autoptr(GtkStringObject) item =
        g_list_model_get_item(gtk_drop_down_get_model(dd), position);
    return gtk_string_object_get_string(item);
}

static void test_drop_down(void)
{
    GtkDropDown *dd =
        GTK_DROP_DOWN(g_object_ref_sink(gtk_drop_down_new(NULL, NULL)));
    lens_language_drop_down_setup(dd);
    GListModel *model = gtk_drop_down_get_model(dd);
    guint n = g_list_model_get_n_items(model);
    g_assert_cmpuint(n, ==, g_strv_length((char **)pali_task_languages()));
    /* English by default */
    g_assert_cmpstr(lens_language_drop_down_get_code(dd), ==, "en");
    g_assert_cmpstr(item_string(dd, gtk_drop_down_get_selected(dd)), ==,
                    "English (en)");
    /* sorted by name: Arabic first, Chinese before Croatian */
    g_assert_cmpstr(item_string(dd, 0), ==, "Arabic (ar)");
    g_assert_cmpuint(lens_language_drop_down_find(dd, "zh"), <,
                     lens_language_drop_down_find(dd, "hr"));
    for (guint i = 1; i < n; i++)
        g_assert_cmpint(
            g_utf8_collate(item_string(dd, i - 1), item_string(dd, i)), <, 0);
    /* every code round-trips through its position */
    for (const char *const *code = pali_task_languages(); *code; code++) {
        g_assert_true(lens_language_drop_down_set_code(dd, *code));
        g_assert_cmpstr(lens_language_drop_down_get_code(dd), ==, *code);
        g_autofree char *label = lens_language_label(*code);
        g_assert_cmpstr(item_string(dd, gtk_drop_down_get_selected(dd)), ==,
                        label);
    }
    /* an unknown code leaves the selection as it was */
    g_assert_false(lens_language_drop_down_set_code(dd, "xx"));
    g_assert_cmpstr(lens_language_drop_down_get_code(dd), ==, "zh");
    g_assert_null(lens_language_drop_down_code_at(dd, n));
    g_object_unref(dd);
}

static GtkDropDown *find_language_drop_down(GtkWidget *widget)
{
    if (GTK_IS_DROP_DOWN(widget) &&
        lens_language_drop_down_find(GTK_DROP_DOWN(widget), "en") !=
            GTK_INVALID_LIST_POSITION)
        return GTK_DROP_DOWN(widget);
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c != NULL;
         c = gtk_widget_get_next_sibling(c)) {
        GtkDropDown *found = find_language_drop_down(c);
        if (found != NULL)
            return found;
    }
    return NULL;
}

/* The task panel shows names and its "language" property is the code. */
static void test_task_panel(void)
{
    GtkWidget *panel =
        g_object_ref_sink(g_object_new(LENS_TYPE_TASK_PANEL, NULL));
    GtkDropDown *dd = find_language_drop_down(panel);
    g_assert_nonnull(dd);
    g_object_set(panel, "language", "de", NULL);
    g_assert_cmpstr(item_string(dd, gtk_drop_down_get_selected(dd)), ==,
                    "German (de)");
    g_assert_cmpstr(lens_task_panel_get_language(LENS_TASK_PANEL(panel)), ==,
                    "de");
    gtk_drop_down_set_selected(dd, lens_language_drop_down_find(dd, "fil"));
    g_autofree char *code = NULL;
    g_object_get(panel, "language", &code, NULL);
    g_assert_cmpstr(code, ==, "fil");
    /* the prompt gets the code */
    char *prompt = NULL;
    g_assert_cmpint(
        pali_task_prompt(PALI_TASK_CAPTION,
                         lens_task_panel_get_language(LENS_TASK_PANEL(panel)),
                         NULL, &prompt, NULL),
        ==, PALI_OK);
    g_assert_cmpstr(prompt, ==, "caption fil");
    pali_free(prompt);
    g_object_unref(panel);
}

/* The preferences' default language is the code in the settings. */
static void test_preferences(void)
{
    g_autoptr(GSettings) settings = g_settings_new(APP_ID);
    g_settings_set_string(settings, "language", "ja");
    LensPreferences *prefs = lens_preferences_new(NULL);
    GtkDropDown *dd = find_language_drop_down(GTK_WIDGET(prefs));
    g_assert_nonnull(dd);
    g_assert_cmpstr(item_string(dd, gtk_drop_down_get_selected(dd)), ==,
                    "Japanese (ja)");
    gtk_drop_down_set_selected(dd, lens_language_drop_down_find(dd, "sw"));
    g_autofree char *code = g_settings_get_string(settings, "language");
    g_assert_cmpstr(code, ==, "sw");
    gtk_window_destroy(GTK_WINDOW(prefs));
    g_settings_reset(settings, "language");
}

int main(int argc, char **argv)
{
    /* English names whatever the machine's locale */
    g_setenv("LANGUAGE", "en", TRUE);
    g_setenv("LC_ALL", "C.UTF-8", TRUE);
    gtk_test_init(&argc, &argv, NULL);
    g_test_add_func("/ui/languages/names", test_names);
    g_test_add_func("/ui/languages/drop-down", test_drop_down);
    g_test_add_func("/ui/languages/task-panel", test_task_panel);
    g_test_add_func("/ui/languages/preferences", test_preferences);
    return g_test_run();
}
