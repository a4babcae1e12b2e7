/* lens-model-picker.c — LensModelPicker (see lens-model-picker.h).  The
 * list is rebuilt from a background scan (lens-model-catalog.c) whenever
 * the dialog opens or a folder is added: one group per size, one row per
 * resolution — a row per installed checkpoint, or a dimmed "not installed"
 * row that shows how to download it when selected. */
#include "config.h"

#include "lens-model-picker.h"

#include <glib/gi18n.h>

#include "lens-model-catalog.h"

struct _LensModelPicker {
    GtkWindow parent_instance;

    /* template widgets */
    GtkListBox *list;
    GtkSpinner *spinner;
    GtkRevealer *howto_revealer;
    GtkLabel *howto_label;
    GtkLabel *howto_command;

    /* owned */
    GSettings *settings;
    GCancellable *cancellable;
    GPtrArray *entries; /* LensModelEntry */
    char *current;
};

G_DEFINE_FINAL_TYPE(LensModelPicker, lens_model_picker, GTK_TYPE_WINDOW)

enum {
    SIGNAL_MODEL_CHOSEN,
    N_SIGNALS,
};
static guint signals[N_SIGNALS];

/* Row data keys. */
#define ROW_DIR        "lens-dir"
#define ROW_SIZE       "lens-size"
#define ROW_RESOLUTION "lens-resolution"

static char *format_bytes(guint64 bytes)
{
    return g_format_size_full(bytes, G_FORMAT_SIZE_DEFAULT);
}

static GtkWidget *header_row(const char *title)
{
    GtkWidget *label = gtk_label_new(title);
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_widget_add_css_class(label, "model-group-header");
    GtkWidget *row = gtk_list_box_row_new();
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), label);
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
    gtk_list_box_row_set_selectable(GTK_LIST_BOX_ROW(row), FALSE);
    return row;
}

static GtkWidget *two_line_row(const char *title, const char *subtitle,
                               gboolean dim)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
    gtk_widget_set_margin_top(box, 6);
    gtk_widget_set_margin_bottom(box, 6);
    gtk_widget_set_margin_start(box, 24);
    gtk_widget_set_margin_end(box, 12);
    GtkWidget *t = gtk_label_new(title);
    gtk_label_set_xalign(GTK_LABEL(t), 0);
    gtk_label_set_wrap(GTK_LABEL(t), TRUE);
    gtk_box_append(GTK_BOX(box), t);
    if (subtitle != NULL) {
        GtkWidget *s = gtk_label_new(subtitle);
        gtk_label_set_xalign(GTK_LABEL(s), 0);
        gtk_label_set_ellipsize(GTK_LABEL(s), PANGO_ELLIPSIZE_MIDDLE);
        gtk_widget_add_css_class(s, "dim-label");
        gtk_widget_add_css_class(s, "caption");
        gtk_box_append(GTK_BOX(box), s);
    }
    if (dim)
        gtk_widget_add_css_class(t, "dim-label");
    GtkWidget *row = gtk_list_box_row_new();
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
    return row;
}

static GtkWidget *entry_row(const LensModelEntry *e)
{
    g_autofree char *disk = format_bytes(e->disk_bytes);
    g_autofree char *memory = format_bytes(e->memory_bytes);
    g_autofree char *resolution =
        e->resolution > 0 ? g_strdup_printf(_("%d px"), e->resolution)
                          : g_strdup(_("unknown resolution"));
    g_autofree char *title = g_strdup_printf(
        /* e.g. "448 px · mix — 6.1 GB on disk, needs about 8.0 GB of memory" */
        _("%s%s%s — %s on disk, needs about %s of memory%s"), resolution,
        e->flavour ? " · " : "", e->flavour ? e->flavour : "", disk, memory,
        e->has_mask_decoder ? "" : _(" (no mask decoder)"));
    GtkWidget *row = two_line_row(title, e->dir, FALSE);
    gtk_widget_set_tooltip_text(row, e->dir);
    g_object_set_data_full(G_OBJECT(row), ROW_DIR, g_strdup(e->dir), g_free);
    return row;
}

static GtkWidget *missing_row(LensModelSize size, int resolution)
{
    g_autofree char *title =
        g_strdup_printf(_("%d px — not installed"), resolution);
    GtkWidget *row = two_line_row(title, NULL, TRUE);
    g_object_set_data(G_OBJECT(row), ROW_SIZE, GINT_TO_POINTER(size + 1));
    g_object_set_data(G_OBJECT(row), ROW_RESOLUTION,
                      GINT_TO_POINTER(resolution));
    return row;
}

static void rebuild(LensModelPicker *self)
{
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->list))))
        gtk_list_box_remove(self->list, child);
    GtkWidget *select = NULL;
    for (int size = 0; size <= LENS_MODEL_SIZE_CUSTOM; size++) {
        gboolean any = FALSE;
        for (guint i = 0; self->entries && i < self->entries->len; i++)
            any |=
                ((LensModelEntry *)g_ptr_array_index(self->entries, i))->size ==
                (LensModelSize)size;
        if (size == LENS_MODEL_SIZE_CUSTOM && !any)
            continue;
        gtk_list_box_append(self->list, header_row(lens_model_size_name(size)));
        for (int r = 0;
             r < LENS_N_RESOLUTIONS || size == LENS_MODEL_SIZE_CUSTOM; r++) {
            gboolean found = FALSE;
            for (guint i = 0; self->entries && i < self->entries->len; i++) {
                LensModelEntry *e = g_ptr_array_index(self->entries, i);
                if (e->size != (LensModelSize)size ||
                    (size != LENS_MODEL_SIZE_CUSTOM &&
                     e->resolution != lens_model_resolutions[r]))
                    continue;
                GtkWidget *row = entry_row(e);
                gtk_list_box_append(self->list, row);
                if (g_strcmp0(e->dir, self->current) == 0)
                    select = row;
                found = TRUE;
            }
            if (size == LENS_MODEL_SIZE_CUSTOM)
                break;
            if (!found)
                gtk_list_box_append(
                    self->list, missing_row(size, lens_model_resolutions[r]));
        }
    }
    if (select != NULL)
        gtk_list_box_select_row(self->list, GTK_LIST_BOX_ROW(select));
}

static void on_scanned(GObject *source, GAsyncResult *result, gpointer data)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *entries = lens_model_catalog_scan_finish(result, &error);
    if (entries == NULL)
        return; /* cancelled: the dialog is gone */
    LensModelPicker *self = LENS_MODEL_PICKER(data);
    gtk_spinner_stop(self->spinner);
    g_clear_pointer(&self->entries, g_ptr_array_unref);
    self->entries = entries;
    rebuild(self);
}

static void scan(LensModelPicker *self)
{
    g_cancellable_cancel(self->cancellable);
    g_clear_object(&self->cancellable);
    self->cancellable = g_cancellable_new();
    g_auto(GStrv) dirs = g_settings_get_strv(self->settings, "model-dirs");
    gtk_spinner_start(self->spinner);
    lens_model_catalog_scan_async((const char *const *)dirs, self->cancellable,
                                  on_scanned, self);
}

static void on_row_selected(LensModelPicker *self, GtkListBoxRow *row)
{
    /* the list unselects its rows while the dialog is disposed */
    if (self->howto_revealer == NULL)
        return;
    const char *dir = row ? g_object_get_data(G_OBJECT(row), ROW_DIR) : NULL;
    int size =
        row ? GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), ROW_SIZE)) - 1
            : -1;
    gtk_widget_action_set_enabled(GTK_WIDGET(self), "picker.load", dir != NULL);
    if (size < 0) {
        gtk_revealer_set_reveal_child(self->howto_revealer, FALSE);
        return;
    }
    int resolution =
        GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), ROW_RESOLUTION));
    g_autofree char *hub = lens_model_hub_name(size, resolution);
    g_autofree char *command = lens_model_download_command(size, resolution);
    g_autofree char *text = g_strdup_printf(
        _("PaliGemma 2 %s at %d px is not installed. Accept the licence on "
          "the model page of %s on the Hugging Face hub (the “pt” "
          "checkpoints are the pretrained ones, “mix” the ones fine-tuned on "
          "a mixture of tasks), then download it, and add the folder here:"),
        lens_model_size_name(size), resolution, hub);
    gtk_label_set_text(self->howto_label, text);
    gtk_label_set_text(self->howto_command, command);
    gtk_revealer_set_reveal_child(self->howto_revealer, TRUE);
}

static void choose(LensModelPicker *self, GtkListBoxRow *row)
{
    const char *dir = row ? g_object_get_data(G_OBJECT(row), ROW_DIR) : NULL;
    if (dir == NULL)
        return;
    g_signal_emit(self, signals[SIGNAL_MODEL_CHOSEN], 0, dir);
    gtk_window_close(GTK_WINDOW(self));
}

static void on_row_activated(LensModelPicker *self, GtkListBoxRow *row)
{
    choose(self, row);
}

static void load_action(GtkWidget *widget, const char *name, GVariant *param)
{
    LensModelPicker *self = LENS_MODEL_PICKER(widget);
    choose(self, gtk_list_box_get_selected_row(self->list));
}

static void copy_command_action(GtkWidget *widget, const char *name,
                                GVariant *param)
{
    LensModelPicker *self = LENS_MODEL_PICKER(widget);
    gdk_clipboard_set_text(gtk_widget_get_clipboard(widget),
                           gtk_label_get_text(self->howto_command));
}

static void on_folder_response(GtkNativeDialog *dialog, int response,
                               LensModelPicker *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) file =
            gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        g_autofree char *path = file ? g_file_get_path(file) : NULL;
        if (path != NULL) {
            g_auto(GStrv) dirs =
                g_settings_get_strv(self->settings, "model-dirs");
            if (!g_strv_contains((const char *const *)dirs, path)) {
                g_autoptr(GStrvBuilder) b = g_strv_builder_new();
                g_strv_builder_addv(b, (const char **)dirs);
                g_strv_builder_add(b, path);
                g_auto(GStrv) updated = g_strv_builder_end(b);
                g_settings_set_strv(self->settings, "model-dirs",
                                    (const char *const *)updated);
            }
            g_free(self->current);
            self->current = g_strdup(path);
            scan(self);
        }
    }
    g_object_unref(dialog);
}

static void add_folder_action(GtkWidget *widget, const char *name,
                              GVariant *param)
{
    LensModelPicker *self = LENS_MODEL_PICKER(widget);
    GtkFileChooserNative *dialog = gtk_file_chooser_native_new(
        _("Add Model Folder"), GTK_WINDOW(self),
        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Add"), _("_Cancel"));
    g_signal_connect(dialog, "response", G_CALLBACK(on_folder_response), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

LensModelPicker *lens_model_picker_new(GtkWindow *parent, GSettings *settings,
                                       const char *current)
{
    LensModelPicker *self =
        g_object_new(LENS_TYPE_MODEL_PICKER, "transient-for", parent, NULL);
    self->settings = g_object_ref(settings);
    self->current = g_strdup(current);
    scan(self);
    return self;
}

static void lens_model_picker_dispose(GObject *object)
{
    LensModelPicker *self = LENS_MODEL_PICKER(object);
    g_cancellable_cancel(self->cancellable);
    gtk_widget_dispose_template(GTK_WIDGET(self), LENS_TYPE_MODEL_PICKER);
    g_clear_object(&self->cancellable);
    g_clear_object(&self->settings);
    g_clear_pointer(&self->entries, g_ptr_array_unref);
    g_clear_pointer(&self->current, g_free);
    G_OBJECT_CLASS(lens_model_picker_parent_class)->dispose(object);
}

static void lens_model_picker_class_init(LensModelPickerClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

    object_class->dispose = lens_model_picker_dispose;

    signals[SIGNAL_MODEL_CHOSEN] = g_signal_new(
        "model-chosen", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
        NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

    gtk_widget_class_set_template_from_resource(
        widget_class, "/org/palilens/PaliLens/lens-model-picker.ui");
    gtk_widget_class_bind_template_child(widget_class, LensModelPicker, list);
    gtk_widget_class_bind_template_child(widget_class, LensModelPicker,
                                         spinner);
    gtk_widget_class_bind_template_child(widget_class, LensModelPicker,
                                         howto_revealer);
    gtk_widget_class_bind_template_child(widget_class, LensModelPicker,
                                         howto_label);
    gtk_widget_class_bind_template_child(widget_class, LensModelPicker,
                                         howto_command);
    gtk_widget_class_bind_template_callback(widget_class, on_row_selected);
    gtk_widget_class_bind_template_callback(widget_class, on_row_activated);

    gtk_widget_class_install_action(widget_class, "picker.load", NULL,
                                    load_action);
    gtk_widget_class_install_action(widget_class, "picker.add-folder", NULL,
                                    add_folder_action);
    gtk_widget_class_install_action(widget_class, "picker.copy-command", NULL,
                                    copy_command_action);

    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0,
                                        "window.close", NULL);
}

static void lens_model_picker_init(LensModelPicker *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    gtk_widget_action_set_enabled(GTK_WIDGET(self), "picker.load", FALSE);
}
