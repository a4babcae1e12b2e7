/* test-ui-i18n.c — translations: po/POTFILES.in lists every file with
 * translatable strings, sorted; the German catalogue translates every
 * string xgettext extracts from those files (no untranslated or fuzzy
 * entry); and with LANGUAGE=de the window speaks German, language names
 * included. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "lens-application.h"
#include "lens-languages.h"
#include "lens-window.h"
#include "testutil.h"

static char *source_path(const char *relative)
{
    const char *root = g_getenv("PALI_SOURCE_ROOT");
    g_assert_nonnull(root);
    return g_build_filename(root, relative, NULL);
}

/* POTFILES.in entries, comments and blank lines skipped. */
static GPtrArray *read_potfiles(void)
{
    g_autofree char *path = source_path("po/POTFILES.in");
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        g_strstrip(*l);
        if (**l != '\0' && **l != '#')
            g_ptr_array_add(files, g_strdup(*l));
    }
    return files;
}

static gboolean has_translatable(const char *path)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    if (g_str_has_suffix(path, ".c"))
        return strstr(text, "_(\"") != NULL;
    if (g_str_has_suffix(path, ".ui"))
        return strstr(text, "translatable=\"yes\"") != NULL;
    /* desktop file, metainfo and schema: always translatable */
    return g_str_has_suffix(path, ".desktop.in") ||
           g_str_has_suffix(path, ".metainfo.xml.in") ||
           g_str_has_suffix(path, ".gschema.xml");
}

static void test_potfiles(void)
{
    g_autoptr(GPtrArray) files = read_potfiles();
    g_assert_cmpuint(files->len, >, 0);
    for (guint i = 0; i < files->len; i++) {
        const char *f = g_ptr_array_index(files, i);
        g_autofree char *path = source_path(f);
        if (!g_file_test(path, G_FILE_TEST_EXISTS))
            g_error("POTFILES.in lists %s, which does not exist", f);
        if (i > 0 && strcmp(g_ptr_array_index(files, i - 1), f) >= 0)
            g_error("POTFILES.in is not sorted at %s", f);
    }
    /* every file of the application with translatable strings is listed */
    static const char *const dirs[] = { "app", "ui", "resources" };
    for (gsize d = 0; d < G_N_ELEMENTS(dirs); d++) {
        g_autofree char *dir_path = source_path(dirs[d]);
        g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
        g_assert_nonnull(dir);
        const char *name;
        while ((name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *rel = g_build_filename(dirs[d], name, NULL);
            g_autofree char *path = source_path(rel);
            if (!has_translatable(path))
                continue;
            gboolean listed = FALSE;
            for (guint i = 0; i < files->len; i++)
                listed |= g_strcmp0(g_ptr_array_index(files, i), rel) == 0;
            if (!listed)
                g_error("%s has translatable strings but is not in "
                        "po/POTFILES.in",
                        rel);
        }
    }
}

static char *run(const char *const *argv, int *status)
{
    g_autoptr(GError) error = NULL;
    char *out = NULL, *err = NULL;
    g_autofree char *root = source_path(".");
    if (!g_spawn_sync(root, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                      NULL, &out, &err, status, &error))
        g_error("cannot run %s: %s", argv[0], error->message);
    char *both = g_strconcat(out, err, NULL);
    g_free(out);
    g_free(err);
    return both;
}

static void test_german_complete(void)
{
    g_autofree char *de = source_path("po/de.po");
    int status = 0;
    /* no untranslated or fuzzy entry, and valid formats */
    const char *check[] = { "msgfmt", "--check",   "--statistics",
                            "-o",     "/dev/null", de,
                            NULL };
    g_autofree char *stats = run(check, &status);
    g_assert_cmpint(status, ==, 0);
    g_assert_null(strstr(stats, "untranslated"));
    g_assert_null(strstr(stats, "fuzzy"));

    /* every string in the sources has its translation (not only those
     * that de.po happens to contain) */
    g_autofree char *pot =
        g_build_filename(test_tmpdir(), "palilens.pot", NULL);
    const char *extract[] = {
        "xgettext",
        "--files-from=po/POTFILES.in",
        "--from-code=UTF-8",
        "--keyword=_",
        "--keyword=N_",
        "--keyword=C_:1c,2",
        "--keyword=NC_:1c,2",
        "--keyword=g_dngettext:2,3",
        "-o",
        pot,
        NULL,
    };
    g_autofree char *xout = run(extract, &status);
    if (status != 0)
        g_error("xgettext failed: %s", xout);
    const char *compare[] = { "msgcmp", de, pot, NULL };
    g_autofree char *cmp = run(compare, &status);
    if (status != 0)
        g_error("po/de.po misses strings of the sources:\n%s", cmp);
}

static gboolean find_label(GtkWidget *widget, const char *text)
{
    if (GTK_IS_LABEL(widget) &&
        g_strcmp0(gtk_label_get_text(GTK_LABEL(widget)), text) == 0)
        return gtk_widget_get_mapped(widget);
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c != NULL;
         c = gtk_widget_get_next_sibling(c))
        if (find_label(c, text))
            return TRUE;
    return FALSE;
}

static void test_german_window(void)
{
    g_assert_cmpstr(_("Open Image"), ==, "Bild öffnen");
    g_autoptr(GtkApplication) app = GTK_APPLICATION(lens_application_new());
    g_application_set_flags(G_APPLICATION(app), G_APPLICATION_NON_UNIQUE);
    g_assert_true(g_application_register(G_APPLICATION(app), NULL, NULL));
    LensWindow *window = lens_window_new(app, NULL);
    gtk_window_present(GTK_WINDOW(window));
    while (g_main_context_iteration(NULL, FALSE))
        ;
    /* from the template (translatable="yes") and from C (_()) */
    g_assert_true(find_label(GTK_WIDGET(window), "Willkommen bei PaliLens"));
    g_assert_true(find_label(GTK_WIDGET(window), "Kein Modell"));
    /* language names: German, and the drop-down sorted in German */
    g_autofree char *label = lens_language_label("de");
    g_assert_cmpstr(label, ==, "Deutsch (de)");
    GtkDropDown *dd =
        GTK_DROP_DOWN(g_object_ref_sink(gtk_drop_down_new(NULL, NULL)));
    lens_language_drop_down_setup(dd);
    g_autoptr(GtkStringObject) selected = g_list_model_get_item(
        gtk_drop_down_get_model(dd), gtk_drop_down_get_selected(dd));
    g_assert_cmpstr(gtk_string_object_get_string(selected), ==,
                    "Englisch (en)");
    /* "Chinesisch" before "Dänisch" (Chinese after Danish in English) */
    g_assert_cmpuint(lens_language_drop_down_find(dd, "zh"), <,
                     lens_language_drop_down_find(dd, "da"));
    g_object_unref(dd);
    gtk_window_destroy(GTK_WINDOW(window));
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

int main(int argc, char **argv)
{
    /* German, whatever the machine's locale (C.UTF-8 always exists; in the
     * plain C locale gettext ignores LANGUAGE). */
    g_setenv("LC_ALL", "C.UTF-8", TRUE);
    g_setenv("LANGUAGE", "de", TRUE);
    setlocale(LC_ALL, "");
    bindtextdomain(GETTEXT_PACKAGE, BUILD_LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
    gtk_test_init(&argc, &argv, NULL);

    g_test_add_func("/ui/i18n/potfiles", test_potfiles);
    g_test_add_func("/ui/i18n/german-complete", test_german_complete);
    g_test_add_func("/ui/i18n/german-window", test_german_window);
    return g_test_run();
}
