/* lens-recent.c — opened images into recently-used.xbel, off the main
 * thread (see lens-recent.h).  What is written follows GtkRecentManager's
 * own entries (gtk_recent_manager_add_full): the file's MIME type, this
 * application's name and "prgname %u" as its command, the time of use; the
 * manager's file monitor then re-reads the file and emits "changed", so the
 * Open Recent menu follows.  Writes of one process are serialised; like
 * GtkRecentManager, nothing guards against another program writing the
 * file at the same moment. */
#include "config.h"

#include "lens-recent.h"

#include <gtk/gtk.h>

/* One write at a time within this process. */
static GMutex write_lock;

typedef struct {
    GFile *file;
    char *path; /* recently-used.xbel */
    char *app_name;
    char *app_exec;
} AddJob;

static void add_job_free(AddJob *job)
{
    g_object_unref(job->file);
    g_free(job->path);
    g_free(job->app_name);
    g_free(job->app_exec);
    g_free(job);
}

static void add_thread(GTask *task, gpointer source, gpointer data,
                       GCancellable *cancellable)
{
    AddJob *job = data;
    GError *error = NULL;
    g_autoptr(GFileInfo) info =
        g_file_query_info(job->file, G_FILE_ATTRIBUTE_STANDARD_CONTENT_TYPE,
                          G_FILE_QUERY_INFO_NONE, cancellable, &error);
    if (info == NULL) {
        g_task_return_error(task, error);
        return;
    }
    const char *type = g_file_info_get_content_type(info);
    g_autofree char *mime = type ? g_content_type_get_mime_type(type) : NULL;
    g_autofree char *uri = g_file_get_uri(job->file);

    g_mutex_lock(&write_lock);
    g_autoptr(GBookmarkFile) bookmarks = g_bookmark_file_new();
    g_autoptr(GError) load_error = NULL;
    /* a missing file is a first entry; an unreadable one is replaced, as
     * GtkRecentManager does */
    g_bookmark_file_load_from_file(bookmarks, job->path, &load_error);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_bookmark_file_set_mime_type(bookmarks, uri,
                                  mime ? mime : "application/octet-stream");
    g_bookmark_file_add_application(bookmarks, uri, job->app_name,
                                    job->app_exec);
    g_bookmark_file_set_visited_date_time(bookmarks, uri, now);
    g_bookmark_file_set_modified_date_time(bookmarks, uri, now);
    gboolean ok = g_bookmark_file_to_file(bookmarks, job->path, &error);
    g_mutex_unlock(&write_lock);
    if (ok)
        g_task_return_boolean(task, TRUE);
    else
        g_task_return_error(task, error);
}

void lens_recent_add_async(GFile *file, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(G_IS_FILE(file));
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, lens_recent_add_async);
    gboolean enabled = TRUE;
    GtkSettings *settings = gtk_settings_get_default();
    if (settings != NULL)
        g_object_get(settings, "gtk-recent-files-enabled", &enabled, NULL);
    if (!enabled) {
        g_task_return_boolean(task, TRUE);
        return;
    }
    AddJob *job = g_new0(AddJob, 1);
    job->file = g_object_ref(file);
    g_object_get(gtk_recent_manager_get_default(), "filename", &job->path,
                 NULL);
    job->app_name = g_strdup(g_get_application_name());
    job->app_exec = g_strjoin(" ", g_get_prgname(), "%u", NULL);
    g_task_set_task_data(task, job, (GDestroyNotify)add_job_free);
    g_task_run_in_thread(task, add_thread);
}

gboolean lens_recent_add_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}
