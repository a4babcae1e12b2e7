/* lens-recent.h — records opened images in the desktop's recent files
 * (recently-used.xbel, the list GtkRecentManager and file managers read),
 * writing the file in a thread: GtkRecentManager writes it on the main
 * thread with an fsync, which on a busy disk froze the window for tens to
 * hundreds of milliseconds. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Adds `file` (or marks it used again) for this application, in the
 * background; nothing when the user turned recent files off
 * (gtk-recent-files-enabled).  `callback` may be NULL. */
void lens_recent_add_async(GFile *file, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
gboolean lens_recent_add_finish(GAsyncResult *result, GError **error);

G_END_DECLS
