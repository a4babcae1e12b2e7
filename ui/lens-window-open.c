/* lens-window-open.c — how LensWindow opens images: the file chooser
 * (Ctrl+O), Open Recent, the previous/next image of the folder (listed in
 * a thread, sorted as a file manager sorts names), pasting (Ctrl+V: an
 * image or copied files) and dropping files on the window.  Decoding
 * happens in a thread (lens-picture.c); the window shows an error in its
 * info bar when a file is not an image. */
#include "config.h"

#include "lens-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "lens-recent.h"

/* Most entries in the Open Recent menu. */
#define RECENT_MAX_ITEMS 10

static int compare_files(gconstpointer a, gconstpointer b)
{
    GFile *fa = *(GFile *const *)a, *fb = *(GFile *const *)b;
    g_autofree char *na = g_file_get_basename(fa);
    g_autofree char *nb = g_file_get_basename(fb);
    g_autofree char *ka = g_utf8_collate_key_for_filename(na, -1);
    g_autofree char *kb = g_utf8_collate_key_for_filename(nb, -1);
    return strcmp(ka, kb);
}

/* Lists the images of a folder, sorted as a file manager sorts them. */
static void list_folder_thread(GTask *task, gpointer source, gpointer data,
                               GCancellable *cancellable)
{
    GFile *dir = data;
    GError *error = NULL;
    g_autoptr(GFileEnumerator) e = g_file_enumerate_children(
        dir,
        G_FILE_ATTRIBUTE_STANDARD_NAME
        "," G_FILE_ATTRIBUTE_STANDARD_FAST_CONTENT_TYPE
        "," G_FILE_ATTRIBUTE_STANDARD_IS_HIDDEN,
        G_FILE_QUERY_INFO_NONE, cancellable, &error);
    if (e == NULL) {
        g_task_return_error(task, error);
        return;
    }
    GPtrArray *files = g_ptr_array_new_with_free_func(g_object_unref);
    GFileInfo *info;
    while ((info = g_file_enumerator_next_file(e, cancellable, NULL))) {
        const char *type = g_file_info_get_attribute_string(
            info, G_FILE_ATTRIBUTE_STANDARD_FAST_CONTENT_TYPE);
        g_autofree char *mime =
            type ? g_content_type_get_mime_type(type) : NULL;
        if (mime != NULL && g_str_has_prefix(mime, "image/") &&
            !g_file_info_get_is_hidden(info))
            g_ptr_array_add(files,
                            g_file_get_child(dir, g_file_info_get_name(info)));
        g_object_unref(info);
    }
    g_ptr_array_sort(files, compare_files);
    g_task_return_pointer(task, files, (GDestroyNotify)g_ptr_array_unref);
}

static void update_folder_index(LensWindow *self)
{
    self->folder_index = -1;
    GFile *file = self->picture ? lens_picture_get_file(self->picture) : NULL;
    if (self->folder != NULL && file != NULL)
        for (guint i = 0; i < self->folder->len; i++)
            if (g_file_equal(g_ptr_array_index(self->folder, i), file))
                self->folder_index = (int)i;
    _lens_window_update_actions(self);
}

static void on_folder_listed(GObject *source, GAsyncResult *result,
                             gpointer data)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *files = g_task_propagate_pointer(G_TASK(result), &error);
    if (files == NULL)
        return; /* cancelled or unreadable: no previous/next */
    LensWindow *self = LENS_WINDOW(data);
    g_clear_pointer(&self->folder, g_ptr_array_unref);
    self->folder = files;
    update_folder_index(self);
}

static void list_folder(LensWindow *self, GFile *file)
{
    g_autoptr(GFile) dir = g_file_get_parent(file);
    if (dir == NULL)
        return;
    g_cancellable_cancel(self->folder_cancellable);
    g_clear_object(&self->folder_cancellable);
    self->folder_cancellable = g_cancellable_new();
    g_autoptr(GTask) task =
        g_task_new(self, self->folder_cancellable, on_folder_listed, self);
    g_task_set_task_data(task, g_steal_pointer(&dir), g_object_unref);
    g_task_run_in_thread(task, list_folder_thread);
}

static void set_picture(LensWindow *self, LensPicture *picture)
{
    g_cancellable_cancel(self->run_cancellable);
    _lens_window_stop_look_ahead(self);
    if (picture != NULL)
        lens_picture_ref(picture);
    g_clear_pointer(&self->picture, lens_picture_unref);
    self->picture = picture;
    _lens_window_set_answer(self, NULL);
    gtk_label_set_text(self->timings_label, "");
    lens_image_view_set_texture(
        self->image_view, picture ? lens_picture_get_texture(picture) : NULL);
    const char *title = picture ? lens_picture_get_title(picture) : NULL;
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->image_view),
                                   GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   title ? title : "", -1);
    gtk_label_set_text(self->title_label, title ? title : "PaliLens");
    gtk_window_set_title(GTK_WINDOW(self), title ? title : "PaliLens");
    if (picture != NULL) {
        g_autofree char *size = g_strdup_printf(
            _("%d × %d pixels"), lens_picture_get_width(picture),
            lens_picture_get_height(picture));
        gtk_label_set_text(self->subtitle_label, size);
    }
    gtk_widget_set_visible(GTK_WIDGET(self->subtitle_label), picture != NULL);
    gtk_stack_set_visible_child_name(self->main_stack,
                                     picture ? "image" : "welcome");

    GFile *file = picture ? lens_picture_get_file(picture) : NULL;
    gboolean same_folder = FALSE;
    if (file != NULL && self->folder != NULL && self->folder->len > 0) {
        g_autoptr(GFile) a = g_file_get_parent(file);
        g_autoptr(GFile) b =
            g_file_get_parent(g_ptr_array_index(self->folder, 0));
        same_folder = a != NULL && b != NULL && g_file_equal(a, b);
    }
    if (file == NULL)
        g_clear_pointer(&self->folder, g_ptr_array_unref);
    else if (!same_folder)
        list_folder(self, file);
    if (file != NULL)
        lens_recent_add_async(file, NULL, NULL, NULL);
    update_folder_index(self);
    if (picture != NULL)
        lens_task_panel_focus_input(self->task_panel);
    _lens_window_look_ahead(self);
}

static void on_picture_loaded(GObject *source, GAsyncResult *result,
                              gpointer data)
{
    g_autoptr(LensWindow) self = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(LensPicture) picture = lens_picture_load_finish(result, &error);
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
    if (picture == NULL) {
        g_autofree char *detail = g_strdup_printf(
            "%s\n%s", error->message,
            _("PaliLens opens PNG, JPEG, WebP, GIF, BMP, TIFF and the other "
              "formats of the image libraries installed. Check that the file "
              "is a complete image, or convert it to PNG."));
        _lens_window_show_message(self, GTK_MESSAGE_ERROR,
                                  _("The image could not be opened"), detail);
    } else {
        _lens_window_hide_message(self);
        set_picture(self, picture);
    }
    self->opening = FALSE;
    _lens_window_notify_busy(self);
}

void lens_window_open_file(LensWindow *self, GFile *file)
{
    g_return_if_fail(LENS_IS_WINDOW(self));
    g_return_if_fail(G_IS_FILE(file));
    g_cancellable_cancel(self->open_cancellable);
    g_clear_object(&self->open_cancellable);
    self->open_cancellable = g_cancellable_new();
    self->opening = TRUE;
    _lens_window_notify_busy(self);
    lens_picture_load_async(file, self->open_cancellable, on_picture_loaded,
                            g_object_ref(self));
}

static void on_open_response(GtkNativeDialog *dialog, int response,
                             LensWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) file =
            gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        if (file != NULL)
            lens_window_open_file(self, file);
    }
    g_object_unref(dialog);
}

static void open_action(GtkWidget *widget, const char *name, GVariant *param)
{
    LensWindow *self = LENS_WINDOW(widget);
    GtkFileChooserNative *dialog = gtk_file_chooser_native_new(
        _("Open Image"), GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_OPEN,
        _("_Open"), _("_Cancel"));
    g_autoptr(GtkFileFilter) images = gtk_file_filter_new();
    gtk_file_filter_set_name(images, _("Images"));
    gtk_file_filter_add_pixbuf_formats(images);
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(dialog), images);
    g_autoptr(GtkFileFilter) all = gtk_file_filter_new();
    gtk_file_filter_set_name(all, _("All Files"));
    gtk_file_filter_add_pattern(all, "*");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(dialog), all);
    GFile *current =
        self->picture ? lens_picture_get_file(self->picture) : NULL;
    if (current != NULL) {
        g_autoptr(GFile) dir = g_file_get_parent(current);
        if (dir != NULL)
            gtk_file_chooser_set_current_folder(GTK_FILE_CHOOSER(dialog), dir,
                                                NULL);
    }
    g_signal_connect(dialog, "response", G_CALLBACK(on_open_response), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

static void open_recent_action(GtkWidget *widget, const char *name,
                               GVariant *param)
{
    g_autoptr(GFile) file =
        g_file_new_for_uri(g_variant_get_string(param, NULL));
    lens_window_open_file(LENS_WINDOW(widget), file);
}

static void step_folder(LensWindow *self, int delta)
{
    if (self->folder == NULL || self->folder_index < 0)
        return;
    int next = self->folder_index + delta;
    if (next < 0 || next >= (int)self->folder->len)
        return;
    lens_window_open_file(self, g_ptr_array_index(self->folder, next));
}

static void previous_action(GtkWidget *widget, const char *name,
                            GVariant *param)
{
    step_folder(LENS_WINDOW(widget), -1);
}

static void next_action(GtkWidget *widget, const char *name, GVariant *param)
{
    step_folder(LENS_WINDOW(widget), 1);
}

static void on_paste_texture(GObject *source, GAsyncResult *result,
                             gpointer data)
{
    g_autoptr(LensWindow) self = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GdkTexture) texture = gdk_clipboard_read_texture_finish(
        GDK_CLIPBOARD(source), result, &error);
    if (texture == NULL) {
        _lens_window_show_message(self, GTK_MESSAGE_WARNING,
                                  _("The clipboard holds no image"),
                                  error ? error->message : NULL);
        return;
    }
    g_autoptr(LensPicture) picture = lens_picture_new_from_texture(texture);
    _lens_window_hide_message(self);
    set_picture(self, picture);
}

static void on_paste_files(GObject *source, GAsyncResult *result, gpointer data)
{
    g_autoptr(LensWindow) self = data;
    const GValue *value =
        gdk_clipboard_read_value_finish(GDK_CLIPBOARD(source), result, NULL);
    GSList *files = value ? g_value_get_boxed(value) : NULL;
    if (files != NULL)
        lens_window_open_file(self, files->data);
}

static void paste_action(GtkWidget *widget, const char *name, GVariant *param)
{
    LensWindow *self = LENS_WINDOW(widget);
    GdkClipboard *clipboard = gtk_widget_get_clipboard(widget);
    GdkContentFormats *formats = gdk_clipboard_get_formats(clipboard);
    if (gdk_content_formats_contain_gtype(formats, GDK_TYPE_FILE_LIST))
        gdk_clipboard_read_value_async(clipboard, GDK_TYPE_FILE_LIST,
                                       G_PRIORITY_DEFAULT, NULL, on_paste_files,
                                       g_object_ref(self));
    else
        gdk_clipboard_read_texture_async(clipboard, NULL, on_paste_texture,
                                         g_object_ref(self));
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x,
                        double y, LensWindow *self)
{
    if (G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST)) {
        GSList *files = g_value_get_boxed(value);
        if (files == NULL)
            return FALSE;
        lens_window_open_file(self, files->data);
        return TRUE;
    }
    if (G_VALUE_HOLDS(value, G_TYPE_FILE)) {
        lens_window_open_file(self, g_value_get_object(value));
        return TRUE;
    }
    return FALSE;
}

/* ---- recent files ----------------------------------------------------- */

static int compare_recent(gconstpointer a, gconstpointer b)
{
    GDateTime *ta = gtk_recent_info_get_modified((GtkRecentInfo *)a);
    GDateTime *tb = gtk_recent_info_get_modified((GtkRecentInfo *)b);
    return g_date_time_compare(tb, ta);
}

static void update_recent_menu(LensWindow *self)
{
    GtkRecentManager *manager = gtk_recent_manager_get_default();
    GList *items = gtk_recent_manager_get_items(manager);
    items = g_list_sort(items, compare_recent);
    g_menu_remove_all(self->recent_section);
    int n = 0;
    for (GList *l = items; l != NULL && n < RECENT_MAX_ITEMS; l = l->next) {
        GtkRecentInfo *info = l->data;
        const char *mime = gtk_recent_info_get_mime_type(info);
        if (!gtk_recent_info_has_application(info, g_get_application_name()) ||
            mime == NULL || !g_str_has_prefix(mime, "image/") ||
            !gtk_recent_info_exists(info))
            continue;
        g_autoptr(GMenuItem) item =
            g_menu_item_new(gtk_recent_info_get_display_name(info), NULL);
        g_menu_item_set_action_and_target_value(
            item, "win.open-recent",
            g_variant_new_string(gtk_recent_info_get_uri(info)));
        g_menu_append_item(self->recent_section, item);
        n++;
    }
    if (n == 0) {
        g_autoptr(GMenuItem) none =
            g_menu_item_new(_("No Recent Images"), "win.no-recent");
        g_menu_append_item(self->recent_section, none);
    }
    g_list_free_full(items, (GDestroyNotify)gtk_recent_info_unref);
}

/* ---- setup ------------------------------------------------------------ */

void _lens_window_class_init_open(GtkWidgetClass *widget_class)
{
    gtk_widget_class_install_action(widget_class, "win.open", NULL,
                                    open_action);
    gtk_widget_class_install_action(widget_class, "win.open-recent", "s",
                                    open_recent_action);
    gtk_widget_class_install_action(widget_class, "win.previous", NULL,
                                    previous_action);
    gtk_widget_class_install_action(widget_class, "win.next", NULL,
                                    next_action);
    gtk_widget_class_install_action(widget_class, "win.paste", NULL,
                                    paste_action);

    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_o,
                                        GDK_CONTROL_MASK, "win.open", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_v,
                                        GDK_CONTROL_MASK, "win.paste", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Left,
                                        GDK_ALT_MASK, "win.previous", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Right,
                                        GDK_ALT_MASK, "win.next", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Page_Up, 0,
                                        "win.previous", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Page_Down, 0,
                                        "win.next", NULL);
}

void _lens_window_init_open(LensWindow *self)
{
    GtkDropTarget *drop = gtk_drop_target_new(G_TYPE_INVALID, GDK_ACTION_COPY);
    gtk_drop_target_set_gtypes(drop,
                               (GType[]){ GDK_TYPE_FILE_LIST, G_TYPE_FILE }, 2);
    g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
    gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));

    g_signal_connect_object(gtk_recent_manager_get_default(), "changed",
                            G_CALLBACK(update_recent_menu), self,
                            G_CONNECT_SWAPPED);
    update_recent_menu(self);
}
