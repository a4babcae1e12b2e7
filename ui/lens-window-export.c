/* lens-window-export.c — the annotated image: the picture with the
 * answer's boxes, labels and masks drawn at its full resolution (not a
 * screenshot) by lens_overlay (app/lens-overlay.c), saved as PNG (Ctrl+S)
 * or copied to the clipboard (Ctrl+Shift+C).  Rendering runs in a thread
 * on data of its own, so a 24-megapixel photo never freezes the window. */
#include "config.h"

#include "lens-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "lens-overlay.h"

/* What an export thread needs, all its own: the answer is immutable and
 * reference counted, the pixels too. */
typedef struct {
    LensAnswer *answer; /* or NULL: the plain image */
    GdkPixbuf *image;
    LensOverlayStyle style;
    char *path; /* NULL: render for the clipboard */
} ExportJob;

static void export_job_free(ExportJob *job)
{
    g_clear_pointer(&job->answer, lens_answer_unref);
    g_clear_object(&job->image);
    g_free(job->path);
    g_free(job);
}

static ExportJob *export_job_new(LensWindow *self, const char *path)
{
    ExportJob *job = g_new0(ExportJob, 1);
    job->answer = self->answer ? lens_answer_ref(self->answer) : NULL;
    GBytes *pixels = lens_picture_get_pixels(self->picture);
    job->image =
        gdk_pixbuf_new_from_bytes(pixels, GDK_COLORSPACE_RGB, FALSE, 8,
                                  lens_picture_get_width(self->picture),
                                  lens_picture_get_height(self->picture),
                                  (int)lens_picture_get_stride(self->picture));
    /* the on-screen style; its sizes apply to image pixels here */
    job->style = lens_image_view_get_style(self->image_view);
    job->style.highlighted = -1;
    job->path = g_strdup(path);
    return job;
}

static LensOverlay *export_overlay(ExportJob *job)
{
    pali_result empty = {
        .width = gdk_pixbuf_get_width(job->image),
        .height = gdk_pixbuf_get_height(job->image),
    };
    return lens_overlay_new(job->answer ? lens_answer_get_result(job->answer)
                                        : &empty);
}

static void export_thread(GTask *task, gpointer source, gpointer data,
                          GCancellable *cancellable)
{
    ExportJob *job = data;
    g_autoptr(LensOverlay) overlay = export_overlay(job);
    GError *error = NULL;
    if (job->path != NULL) {
        if (lens_overlay_save_png(overlay, job->image, &job->style, job->path,
                                  &error))
            g_task_return_pointer(task, NULL, NULL);
        else
            g_task_return_error(task, error);
        return;
    }
    cairo_surface_t *surface =
        lens_overlay_render(overlay, job->image, &job->style);
    cairo_surface_flush(surface);
    /* cairo's ARGB32 is GDK_MEMORY_DEFAULT: no conversion */
    int w = cairo_image_surface_get_width(surface);
    int h = cairo_image_surface_get_height(surface);
    int stride = cairo_image_surface_get_stride(surface);
    GBytes *bytes = g_bytes_new_with_free_func(
        cairo_image_surface_get_data(surface), (gsize)stride * h,
        (GDestroyNotify)cairo_surface_destroy, surface);
    GdkTexture *texture =
        gdk_memory_texture_new(w, h, GDK_MEMORY_DEFAULT, bytes, stride);
    g_bytes_unref(bytes);
    g_task_return_pointer(task, texture, g_object_unref);
}

static void on_exported(GObject *source, GAsyncResult *result, gpointer data)
{
    LensWindow *self = LENS_WINDOW(source);
    ExportJob *job = g_task_get_task_data(G_TASK(result));
    g_autoptr(GError) error = NULL;
    g_autoptr(GdkTexture) texture =
        g_task_propagate_pointer(G_TASK(result), &error);
    if (error != NULL) {
        _lens_window_show_message(self, GTK_MESSAGE_ERROR,
                                  _("The annotated image could not be saved"),
                                  error->message);
        return;
    }
    if (job->path == NULL)
        gdk_clipboard_set_texture(gtk_widget_get_clipboard(GTK_WIDGET(self)),
                                  texture);
}

static void start_export(LensWindow *self, const char *path)
{
    g_autoptr(GTask) task = g_task_new(self, NULL, on_exported, NULL);
    g_task_set_task_data(task, export_job_new(self, path),
                         (GDestroyNotify)export_job_free);
    g_task_run_in_thread(task, export_thread);
}

static void on_export_response(GtkNativeDialog *dialog, int response,
                               LensWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT && self->picture != NULL) {
        g_autoptr(GFile) file =
            gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        g_autofree char *path = file ? g_file_get_path(file) : NULL;
        if (path != NULL)
            start_export(self, path);
    }
    g_object_unref(dialog);
}

static void export_action(GtkWidget *widget, const char *name, GVariant *param)
{
    LensWindow *self = LENS_WINDOW(widget);
    if (self->picture == NULL)
        return;
    GtkFileChooserNative *dialog = gtk_file_chooser_native_new(
        _("Save Annotated Image"), GTK_WINDOW(self),
        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
    g_autofree char *stem = g_strdup(lens_picture_get_title(self->picture));
    char *dot = strrchr(stem, '.');
    if (dot != NULL && dot != stem)
        *dot = '\0';
    /* Translators: name of an exported image; %s is the original's */
    g_autofree char *name_png = g_strdup_printf(_("%s-annotated.png"), stem);
    gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(dialog), name_png);
    GFile *current = lens_picture_get_file(self->picture);
    if (current != NULL) {
        g_autoptr(GFile) dir = g_file_get_parent(current);
        if (dir != NULL)
            gtk_file_chooser_set_current_folder(GTK_FILE_CHOOSER(dialog), dir,
                                                NULL);
    }
    g_signal_connect(dialog, "response", G_CALLBACK(on_export_response), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

static void copy_image_action(GtkWidget *widget, const char *name,
                              GVariant *param)
{
    LensWindow *self = LENS_WINDOW(widget);
    if (self->picture != NULL)
        start_export(self, NULL);
}

void _lens_window_class_init_export(GtkWidgetClass *widget_class)
{
    gtk_widget_class_install_action(widget_class, "win.export", NULL,
                                    export_action);
    gtk_widget_class_install_action(widget_class, "win.copy-image", NULL,
                                    copy_image_action);
}
