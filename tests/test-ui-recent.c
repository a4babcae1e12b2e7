/* test-ui-recent.c — opened images go into the desktop's recent files
 * (recently-used.xbel) from a thread: the entry names this application
 * with its command, the image's MIME type and the time, other entries of
 * the file are kept, GtkRecentManager (the Open Recent menu's source)
 * reads it back, and nothing is written when the user turned recent files
 * off. */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gtk/gtk.h>

#include "lens-recent.h"
#include "testutil.h"

#define WAIT_MS 10000

typedef struct {
    gboolean done, ok;
} Result;

static void on_added(GObject *source, GAsyncResult *result, gpointer data)
{
    Result *r = data;
    r->ok = lens_recent_add_finish(result, NULL);
    r->done = TRUE;
}

static void add(GFile *file)
{
    Result r = { 0 };
    lens_recent_add_async(file, NULL, on_added, &r);
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;
    while (!r.done && g_get_monotonic_time() < end)
        g_main_context_iteration(NULL, TRUE);
    g_assert_true(r.done);
    g_assert_true(r.ok);
}

static GFile *write_png(const char *name)
{
    g_autoptr(GdkPixbuf) pixbuf =
        gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, 4, 4);
    gdk_pixbuf_fill(pixbuf, 0x808080ff);
    g_autofree char *path = g_build_filename(test_tmpdir(), name, NULL);
    g_assert_true(gdk_pixbuf_save(pixbuf, path, "png", NULL, NULL));
    return g_file_new_for_path(path);
}

static char *xbel_path(void)
{
    char *path = NULL;
    g_object_get(gtk_recent_manager_get_default(), "filename", &path, NULL);
    return path;
}

/* The manager's entry for `uri` (its items, as the Open Recent menu reads
 * them), or NULL. */
static GtkRecentInfo *find_item(const char *uri)
{
    GList *items =
        gtk_recent_manager_get_items(gtk_recent_manager_get_default());
    GtkRecentInfo *found = NULL;
    for (GList *l = items; l != NULL; l = l->next)
        if (found == NULL &&
            g_strcmp0(gtk_recent_info_get_uri(l->data), uri) == 0)
            found = gtk_recent_info_ref(l->data);
    g_list_free_full(items, (GDestroyNotify)gtk_recent_info_unref);
    return found;
}

static void test_add(void)
{
    g_autofree char *path = xbel_path();
    g_assert_true(g_str_has_prefix(path, test_tmpdir()));
    /* someone else's entry, kept */
    g_autoptr(GBookmarkFile) other = g_bookmark_file_new();
    g_bookmark_file_add_application(other, "file:///tmp/other.txt", "editor",
                                    "editor %u");
    g_bookmark_file_set_mime_type(other, "file:///tmp/other.txt", "text/plain");
    g_assert_true(g_bookmark_file_to_file(other, path, NULL));

    g_autoptr(GFile) file = write_png("photo.png");
    g_autofree char *uri = g_file_get_uri(file);
    add(file);

    g_autoptr(GBookmarkFile) b = g_bookmark_file_new();
    g_assert_true(g_bookmark_file_load_from_file(b, path, NULL));
    g_assert_true(g_bookmark_file_has_item(b, "file:///tmp/other.txt"));
    g_assert_true(g_bookmark_file_has_item(b, uri));
    g_autofree char *mime = g_bookmark_file_get_mime_type(b, uri, NULL);
    g_assert_cmpstr(mime, ==, "image/png");
    g_assert_true(g_bookmark_file_has_application(
        b, uri, g_get_application_name(), NULL));
    g_autofree char *exec = NULL;
    g_assert_true(g_bookmark_file_get_application_info(
        b, uri, g_get_application_name(), &exec, NULL, NULL, NULL));
    /* "prgname %u", expanded by GBookmarkFile */
    g_autofree char *want = g_strconcat(g_get_prgname(), " ", uri, NULL);
    g_assert_cmpstr(exec, ==, want);

    /* GtkRecentManager sees it (it re-reads the file when it changes) */
    GtkRecentInfo *info = NULL;
    gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;
    while ((info = find_item(uri)) == NULL && g_get_monotonic_time() < end)
        g_main_context_iteration(NULL, FALSE);
    g_assert_nonnull(info);
    g_assert_true(
        gtk_recent_info_has_application(info, g_get_application_name()));
    g_assert_cmpstr(gtk_recent_info_get_mime_type(info), ==, "image/png");
    gtk_recent_info_unref(info);
}

static void test_disabled(void)
{
    GtkSettings *settings = gtk_settings_get_default();
    g_object_set(settings, "gtk-recent-files-enabled", FALSE, NULL);
    g_autoptr(GFile) file = write_png("private.png");
    g_autofree char *uri = g_file_get_uri(file);
    add(file);
    g_autofree char *path = xbel_path();
    g_autoptr(GBookmarkFile) b = g_bookmark_file_new();
    g_bookmark_file_load_from_file(b, path, NULL);
    g_assert_false(g_bookmark_file_has_item(b, uri));
    g_object_set(settings, "gtk-recent-files-enabled", TRUE, NULL);
}

int main(int argc, char **argv)
{
    /* a recently-used.xbel of this test's own */
    g_setenv("XDG_DATA_HOME", test_tmpdir(), TRUE);
    gtk_test_init(&argc, &argv, NULL);
    g_set_application_name("PaliLens test");
    g_test_add_func("/ui/recent/add", test_add);
    g_test_add_func("/ui/recent/disabled", test_disabled);
    return g_test_run();
}
