/* lens-window.c — LensWindow (see lens-window.h): its state, messages,
 * models, runs and GObject parts; opening images is in lens-window-open.c,
 * the annotated image in lens-window-export.c (lens-window-private.h holds
 * the struct).  The window owns the opened picture, the folder around it,
 * the current run (one GCancellable), the last answer, and its engine
 * bridge (LensEngine: one model and session per window).  Everything here
 * runs on the main thread: the engine hands progress and streamed answers
 * over through its signals.  class_init reads as the table of contents:
 * template, children, callbacks, actions, shortcuts. */
#include "config.h"

#include "lens-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "lens-model-picker.h"
#include "lens-overlay.h"
#include "lens-picture.h"
#include "lens-results-list.h"
#include "lens-task-panel.h"

G_DEFINE_FINAL_TYPE(LensWindow, lens_window, GTK_TYPE_APPLICATION_WINDOW)

enum {
    PROP_0,
    PROP_ENGINE,
    PROP_BUSY,
    N_PROPS,
};
static GParamSpec *properties[N_PROPS];

/* ---- messages --------------------------------------------------------- */

void _lens_window_show_message(LensWindow *self, GtkMessageType type,
                               const char *title, const char *detail)
{
    g_free(self->error_message);
    self->error_message = g_strdup(title);
    gtk_info_bar_set_message_type(self->info_bar, type);
    gtk_label_set_text(self->info_title, title);
    gtk_label_set_text(self->info_detail, detail ? detail : "");
    gtk_widget_set_visible(GTK_WIDGET(self->info_detail),
                           detail != NULL && detail[0] != '\0');
    gtk_info_bar_set_revealed(self->info_bar, TRUE);
}

void _lens_window_hide_message(LensWindow *self)
{
    g_clear_pointer(&self->error_message, g_free);
    gtk_info_bar_set_revealed(self->info_bar, FALSE);
}

static void on_info_bar_response(LensWindow *self, int response)
{
    _lens_window_hide_message(self);
}

/* What to do about an engine error, in words. */
static const char *engine_error_hint(const GError *error)
{
    if (error->domain != LENS_ENGINE_ERROR)
        return NULL;
    switch ((pali_status)error->code) {
    case PALI_ERR_OUT_OF_MEMORY:
        return _("There is not enough memory for this model. Close other "
                 "programs, or choose a smaller model or resolution.");
    case PALI_ERR_IO:
    case PALI_ERR_FORMAT:
    case PALI_ERR_NOT_FOUND:
        return _("The model folder is incomplete or damaged. It needs "
                 "config.json, the model*.safetensors files, tokenizer.json "
                 "and preprocessor_config.json as the Hugging Face hub ships "
                 "them; download it again if a file is missing.");
    case PALI_ERR_UNSUPPORTED:
        return _("This checkpoint is not a PaliGemma 2 model this version "
                 "of PaliLens can run.");
    case PALI_ERR_TOO_LONG:
        return _("Shorten the text or lower the maximum of new tokens in "
                 "the preferences.");
    case PALI_ERR_INVALID_ARGUMENT:
    case PALI_ERR_ENCODING: return _("Check the task’s text and language.");
    default: return NULL;
    }
}

static void show_error(LensWindow *self, const char *title, const GError *error)
{
    const char *hint = engine_error_hint(error);
    /* a weight format other than the checkpoint's: converted weights,
     * cached on disk */
    if (self->loading_model && error->domain == LENS_ENGINE_ERROR &&
        (error->code == PALI_ERR_UNSUPPORTED || error->code == PALI_ERR_IO) &&
        g_settings_get_enum(self->settings, "weights") !=
            PALI_WEIGHTS_AS_STORED)
        hint = _("The weights are converted to the format chosen under "
                 "Weights in the preferences and cached in "
                 "~/.cache/palilens/weights. Check that this folder can be "
                 "written, or choose “As stored in the checkpoint” there.");
    g_autofree char *detail =
        hint ? g_strdup_printf("%s\n%s", error->message, hint)
             : g_strdup(error->message);
    _lens_window_show_message(self, GTK_MESSAGE_ERROR, title, detail);
}

/* ---- state ------------------------------------------------------------ */

void _lens_window_notify_busy(LensWindow *self)
{
    _lens_window_update_actions(self);
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_BUSY]);
}

static void update_model_label(LensWindow *self)
{
    const pali_model_info *info = lens_engine_get_model_info(self->engine);
    gtk_spinner_set_spinning(self->model_spinner, self->loading_model);
    gtk_widget_set_visible(GTK_WIDGET(self->model_spinner),
                           self->loading_model);
    if (self->loading_model) {
        gtk_label_set_text(self->model_label, _("Loading Model…"));
    } else if (info == NULL) {
        gtk_label_set_text(self->model_label, _("No Model"));
    } else {
        g_autofree char *base = g_path_get_basename(info->dir);
        g_autofree char *text =
            g_strcmp0(info->variant, "custom") == 0
                ? g_strdup(base)
                : g_strdup_printf("PaliGemma 2 %s", info->variant);
        gtk_label_set_text(self->model_label, text);
        gtk_widget_set_tooltip_text(GTK_WIDGET(self->model_label), info->dir);
    }
    gtk_widget_set_visible(self->model_help, info == NULL);
    gtk_widget_set_visible(self->no_model_box,
                           info == NULL && !self->loading_model);
}

static void update_zoom_label(LensWindow *self)
{
    double zoom = lens_image_view_get_zoom(self->image_view);
    g_autofree char *text = g_strdup_printf("%.0f %%", zoom * 100.0);
    gtk_label_set_text(self->zoom_label, text);
}

void _lens_window_update_actions(LensWindow *self)
{
    GtkWidget *w = GTK_WIDGET(self);
    gboolean has_model = lens_engine_get_model_info(self->engine) != NULL;
    gboolean has_picture = self->picture != NULL;
    gboolean engine_idle = !lens_engine_get_busy(self->engine);
    gboolean has_answer = self->answer != NULL;
    /* a run may start while the picture is encoded ahead: it waits for
     * that encoding instead of starting its own */
    gboolean engine_free = engine_idle || self->ahead_cancellable != NULL;
    gtk_widget_action_set_enabled(w, "win.run",
                                  has_model && has_picture && !self->running &&
                                      engine_free && !self->loading_model);
    gtk_widget_action_set_enabled(w, "win.stop", self->running);
    gtk_widget_action_set_enabled(w, "win.choose-model",
                                  !self->running && !self->loading_model);
    gtk_widget_action_set_enabled(w, "win.previous", self->folder_index > 0);
    gtk_widget_action_set_enabled(
        w, "win.next",
        self->folder != NULL && self->folder_index >= 0 &&
            self->folder_index + 1 < (int)self->folder->len);
    gtk_widget_action_set_enabled(w, "win.export", has_picture);
    gtk_widget_action_set_enabled(w, "win.copy-image", has_picture);
    gtk_widget_action_set_enabled(w, "win.copy-answer", has_answer);
    gtk_widget_action_set_enabled(w, "win.zoom-in", has_picture);
    gtk_widget_action_set_enabled(w, "win.zoom-out", has_picture);
    gtk_widget_action_set_enabled(w, "win.zoom-fit", has_picture);
    gtk_widget_action_set_enabled(w, "win.zoom-original", has_picture);
    lens_task_panel_set_running(self->task_panel, self->running);
}

/* Streamed text grows at its end: append instead of replacing, so the
 * text view lays out only the new words. */
static void show_answer_text(LensWindow *self, const char *text)
{
    GtkTextBuffer *buffer = gtk_text_view_get_buffer(self->answer_view);
    gsize shown = self->shown_text ? strlen(self->shown_text) : 0;
    if (self->shown_text != NULL && g_str_has_prefix(text, self->shown_text)) {
        if (text[shown] != '\0') {
            GtkTextIter end;
            gtk_text_buffer_get_end_iter(buffer, &end);
            gtk_text_buffer_insert(buffer, &end, text + shown, -1);
        }
    } else {
        gtk_text_buffer_set_text(buffer, text, -1);
    }
    g_free(self->shown_text);
    self->shown_text = g_strdup(text);
}

void _lens_window_set_answer(LensWindow *self, LensAnswer *answer)
{
    gboolean had_answer = self->answer != NULL;
    if (answer != NULL)
        lens_answer_ref(answer);
    g_clear_pointer(&self->answer, lens_answer_unref);
    self->answer = answer;
    show_answer_text(self, answer ? lens_answer_get_display_text(answer) : "");
    /* boxes as soon as their locations arrive, masks once decoded; the
     * overlay was built by the engine's worker and changes only with the
     * objects */
    const LensOverlay *overlay =
        answer ? lens_answer_get_overlay(answer) : NULL;
    lens_image_view_show_answer(self->image_view, answer);
    if (overlay != self->shown_overlay) {
        lens_results_list_set_overlay(self->results_list, overlay);
        self->shown_overlay = overlay;
    }
    if (had_answer != (answer != NULL))
        _lens_window_update_actions(self);
}

static void set_progress(LensWindow *self, const char *label, double fraction)
{
    gtk_widget_set_visible(self->progress_box, label != NULL);
    if (label == NULL)
        return;
    gtk_label_set_text(self->progress_label, label);
    if (fraction < 0)
        lens_progress_pulse(self->progress_bar);
    else
        lens_progress_set_fraction(self->progress_bar, fraction);
}

/* ---- models ----------------------------------------------------------- */

/* A new weight format takes effect by loading the model again: now, or
 * when the running task ends. */
static void reload_model(LensWindow *self)
{
    const char *dir = lens_engine_get_model_dir(self->engine);
    if (dir == NULL)
        return;
    if (self->running || self->loading_model) {
        self->reload_pending = TRUE;
        return;
    }
    g_autofree char *copy = g_strdup(dir);
    lens_window_load_model(self, copy);
}

static void on_model_loaded(GObject *source, GAsyncResult *result,
                            gpointer data)
{
    g_autoptr(LensWindow) self = data;
    g_autoptr(GError) error = NULL;
    gboolean ok = lens_engine_load_model_finish(self->engine, result, &error);
    if (!ok && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error(self, _("The model could not be loaded"), error);
    self->loading_model = FALSE;
    g_clear_object(&self->model_cancellable);
    set_progress(self, NULL, 0);
    update_model_label(self);
    _lens_window_notify_busy(self);
    if (ok) {
        _lens_window_hide_message(self);
        g_settings_set_string(self->settings, "last-model",
                              lens_engine_get_model_dir(self->engine));
    }
    if (self->reload_pending)
        reload_model(self);
    else
        _lens_window_look_ahead(self);
}

void _lens_window_start_model_load(LensWindow *self, const char *dir)
{
    lens_engine_set_weights(self->engine,
                            g_settings_get_enum(self->settings, "weights"));
    lens_engine_load_model_async(self->engine, dir, self->model_cancellable,
                                 on_model_loaded, g_object_ref(self));
}

void lens_window_load_model(LensWindow *self, const char *dir)
{
    g_return_if_fail(LENS_IS_WINDOW(self));
    if (self->running || self->loading_model)
        return;
    self->loading_model = TRUE;
    self->reload_pending = FALSE;
    self->model_cancellable = g_cancellable_new();
    update_model_label(self);
    _lens_window_notify_busy(self);
    set_progress(self, _("Loading the model…"), 0);
    if (self->ahead_cancellable != NULL) {
        /* the engine is free once the job ahead has stopped */
        g_free(self->pending_model);
        self->pending_model = g_strdup(dir);
        g_cancellable_cancel(self->ahead_cancellable);
        return;
    }
    _lens_window_start_model_load(self, dir);
}

static void on_weights_changed(LensWindow *self)
{
    reload_model(self);
}

static void on_model_chosen(LensModelPicker *picker, const char *dir,
                            LensWindow *self)
{
    lens_window_load_model(self, dir);
}

static void choose_model_action(GtkWidget *widget, const char *name,
                                GVariant *param)
{
    LensWindow *self = LENS_WINDOW(widget);
    LensModelPicker *picker =
        lens_model_picker_new(GTK_WINDOW(self), self->settings,
                              lens_engine_get_model_dir(self->engine));
    g_signal_connect_object(picker, "model-chosen", G_CALLBACK(on_model_chosen),
                            self, 0);
    gtk_window_present(GTK_WINDOW(picker));
}

/* ---- running a task --------------------------------------------------- */

static const char *phase_label(pali_phase phase)
{
    switch (phase) {
    case PALI_PHASE_LOAD: return _("Loading the model…");
    case PALI_PHASE_PREPROCESS:
    case PALI_PHASE_VISION: return _("Looking at the image…");
    case PALI_PHASE_PREFILL: return _("Reading the prompt…");
    case PALI_PHASE_DECODE: return _("Writing the answer…");
    }
    return "";
}

static void on_engine_progress(LensEngine *engine, int phase, int done,
                               int total, LensWindow *self)
{
    if (!self->running && !self->loading_model)
        return;
    set_progress(self, phase_label(phase),
                 total > 0 ? (double)done / total : -1.0);
}

static void on_engine_partial(LensEngine *engine, LensAnswer *answer,
                              LensWindow *self)
{
    if (self->running)
        _lens_window_set_answer(self, answer);
}

/* The run is over; a picture opened meanwhile is encoded ahead (not
 * after Stop: the engine stays idle until asked again). */
static void finish_run(LensWindow *self)
{
    self->running = FALSE;
    g_clear_object(&self->run_cancellable);
    set_progress(self, NULL, 0);
    _lens_window_notify_busy(self);
    if (self->reload_pending)
        reload_model(self);
    else if (!self->user_stopped)
        _lens_window_look_ahead(self);
}

/* "850 ms" or "2.31 s" */
static char *format_duration(double ms)
{
    return ms < 1000.0 ? g_strdup_printf(_("%.0f ms"), ms)
                       : g_strdup_printf(_("%.2f s"), ms / 1000.0);
}

static void show_timings(LensWindow *self, LensAnswer *answer)
{
    const pali_timings *t = lens_answer_get_timings(answer);
    int n = lens_answer_get_n_generated(answer);
    double image_ms = t->preprocess_ms + t->vision_ms;
    /* the image's encoding is reported with the first answer about it,
     * as done ahead when the run found it done; the total is the wait
     * from Run to the answer (which leaves out work done ahead and counts
     * the part of it the run waited for) */
    gboolean ahead = self->run_image_ahead && image_ms > 0;
    g_autofree char *total = format_duration(
        (double)(g_get_monotonic_time() - self->run_start_us) / 1000.0);
    g_autofree char *image_time = format_duration(image_ms);
    /* the prompt read ahead (its prefill kept from before the run): what
     * the run waited for the rest of it, if anything */
    g_autofree char *prompt = !t->prefill_reused
                                  ? format_duration(t->prefill_ms)
                              : self->run_prompt_wait_ms > 0
                                  ? format_duration(self->run_prompt_wait_ms)
                                  : g_strdup(_("read ahead"));
    g_autofree char *image =
        image_ms <= 0 ? g_strdup(_("image cached"))
        : ahead ? g_strdup_printf(_("image encoded ahead (%s)"), image_time)
                : g_strdup_printf(_("image %s"), image_time);
    /* tokens per second over the decode steps (the first token comes from
     * the prefill) */
    double rate = t->decode_ms > 0 ? t->n_decoded * 1000.0 / t->decode_ms : 0;
    g_autofree char *text =
        g_strdup_printf(_("%s: %s, prompt %s, %d tokens at %.1f tokens/s"),
                        total, image, prompt, n, rate);
    gtk_label_set_text(self->timings_label, text);
}

static void on_generated(GObject *source, GAsyncResult *result, gpointer data)
{
    g_autoptr(LensWindow) self = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(LensAnswer) answer =
        lens_engine_generate_finish(self->engine, result, &error);
    finish_run(self);
    if (answer == NULL) {
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            gtk_label_set_text(self->timings_label, _("Stopped."));
        else
            show_error(self, _("The task failed"), error);
        return;
    }
    _lens_window_set_answer(self, answer);
    show_timings(self, answer);
}

static void start_generate(LensWindow *self)
{
    LensTaskPanel *panel = self->task_panel;
    lens_engine_generate_async(
        self->engine, lens_task_panel_get_task(panel),
        lens_task_panel_get_language(panel), lens_task_panel_get_text(panel),
        g_settings_get_int(self->settings, "max-new-tokens"),
        self->run_cancellable, on_generated, g_object_ref(self));
}

void _lens_window_run_image_set(LensWindow *self, gboolean ok,
                                const GError *error)
{
    if (!ok) {
        finish_run(self);
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            gtk_label_set_text(self->timings_label, _("Stopped."));
        else
            show_error(self, _("The image could not be encoded"), error);
        return;
    }
    if (g_cancellable_is_cancelled(self->run_cancellable)) {
        finish_run(self);
        gtk_label_set_text(self->timings_label, _("Stopped."));
        return;
    }
    start_generate(self);
}

static void on_image_set(GObject *source, GAsyncResult *result, gpointer data)
{
    g_autoptr(LensWindow) self = data;
    g_autoptr(GError) error = NULL;
    if (self->engine == NULL) /* disposed */
        return;
    gboolean ok = lens_engine_set_image_finish(self->engine, result, &error);
    _lens_window_run_image_set(self, ok, error);
}

void _lens_window_encode_picture(LensWindow *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback)
{
    lens_engine_set_image_async(
        self->engine, lens_picture_get_pixels(self->picture),
        lens_picture_get_width(self->picture),
        lens_picture_get_height(self->picture),
        lens_picture_get_stride(self->picture), PALI_PIXEL_RGB8, cancellable,
        callback, g_object_ref(self));
}

void _lens_window_run_encode(LensWindow *self)
{
    if (self->picture == NULL) {
        finish_run(self);
        return;
    }
    GBytes *pixels = lens_picture_get_pixels(self->picture);
    self->run_image_ahead = lens_engine_has_image(self->engine, pixels);
    if (self->run_image_ahead) {
        set_progress(self, _("Reading the prompt…"), 0);
        start_generate(self);
        return;
    }
    set_progress(self, _("Looking at the image…"), 0);
    _lens_window_encode_picture(self, self->run_cancellable, on_image_set);
}

void _lens_window_apply_session_settings(LensWindow *self)
{
    lens_engine_set_threads(self->engine,
                            g_settings_get_int(self->settings, "threads"));
    lens_engine_set_precision(self->engine,
                              g_settings_get_enum(self->settings, "precision"));
}

static void run_action(GtkWidget *widget, const char *name, GVariant *param)
{
    LensWindow *self = LENS_WINDOW(widget);
    if (self->running || self->picture == NULL ||
        lens_engine_get_model_info(self->engine) == NULL)
        return;
    if (!lens_task_panel_is_ready(self->task_panel)) {
        lens_task_panel_focus_input(self->task_panel);
        return;
    }
    _lens_window_hide_message(self);
    pali_task task = lens_task_panel_get_task(self->task_panel);
    if (task == PALI_TASK_SEGMENT &&
        !lens_engine_has_mask_decoder(self->engine)) {
        g_autofree char *detail = g_strdup_printf(
            "%s\n%s", lens_engine_get_mask_decoder_problem(self->engine),
            _("Download big_vision’s vae-oid.npz "
              "(gs://big_vision/paligemma/vae-oid.npz) and put it beside the "
              "model or in ~/.local/share/palilens/, then load the model "
              "again. Boxes and labels are shown meanwhile."));
        _lens_window_show_message(self, GTK_MESSAGE_WARNING,
                                  _("Masks need the mask decoder"), detail);
    }
    _lens_window_apply_session_settings(self);
    /* the run reads its own prompt */
    g_clear_handle_id(&self->read_ahead_timeout, g_source_remove);
    self->running = TRUE;
    self->run_start_us = g_get_monotonic_time();
    self->run_prompt_wait_ms = 0;
    self->user_stopped = FALSE;
    _lens_window_set_answer(self, NULL);
    gtk_label_set_text(self->timings_label, "");
    if (self->ahead_cancellable != NULL) {
        /* the picture being encoded ahead, or the run's prompt read: the
         * run goes on from there (Stop stops that job); a job already
         * stopped (new settings), or another prompt's prefill, is waited
         * for, then the run does its own work */
        if (!_lens_window_ahead_serves_run(self))
            g_cancellable_cancel(self->ahead_cancellable);
        self->ahead_adopted = TRUE;
        self->run_image_ahead = FALSE;
        self->run_cancellable =
            g_cancellable_is_cancelled(self->ahead_cancellable)
                ? g_cancellable_new()
                : g_object_ref(self->ahead_cancellable);
        _lens_window_notify_busy(self);
        set_progress(self,
                     self->ahead_key ? _("Reading the prompt…")
                                     : _("Looking at the image…"),
                     -1);
        return;
    }
    self->run_cancellable = g_cancellable_new();
    _lens_window_notify_busy(self);
    _lens_window_run_encode(self);
}

static void stop_action(GtkWidget *widget, const char *name, GVariant *param)
{
    LensWindow *self = LENS_WINDOW(widget);
    self->user_stopped = self->running;
    g_cancellable_cancel(self->run_cancellable);
    if (self->running)
        set_progress(self, _("Stopping…"), -1);
}

static void copy_answer_action(GtkWidget *widget, const char *name,
                               GVariant *param)
{
    LensWindow *self = LENS_WINDOW(widget);
    if (self->answer == NULL)
        return;
    gdk_clipboard_set_text(gtk_widget_get_clipboard(widget),
                           lens_answer_get_display_text(self->answer));
}

/* ---- zoom (forwarded to the image view) ------------------------------- */

static void zoom_action(GtkWidget *widget, const char *name, GVariant *param)
{
    LensWindow *self = LENS_WINDOW(widget);
    /* "win.zoom-in" → "view.zoom-in" */
    g_autofree char *view_action = g_strconcat("view.", name + 4, NULL);
    gtk_widget_activate_action(GTK_WIDGET(self->image_view), view_action, NULL);
}

/* ---- public API ------------------------------------------------------- */

LensWindow *lens_window_new(GtkApplication *app, LensEngine *engine)
{
    return g_object_new(LENS_TYPE_WINDOW, "application", app, "engine", engine,
                        NULL);
}

gboolean lens_window_get_busy(LensWindow *self)
{
    g_return_val_if_fail(LENS_IS_WINDOW(self), FALSE);
    return self->running || self->opening || self->loading_model;
}

LensAnswer *lens_window_get_answer(LensWindow *self)
{
    g_return_val_if_fail(LENS_IS_WINDOW(self), NULL);
    return self->answer;
}

const char *lens_window_get_error(LensWindow *self)
{
    g_return_val_if_fail(LENS_IS_WINDOW(self), NULL);
    return self->error_message;
}

LensImageView *lens_window_get_image_view(LensWindow *self)
{
    g_return_val_if_fail(LENS_IS_WINDOW(self), NULL);
    return self->image_view;
}

LensEngine *lens_window_get_engine(LensWindow *self)
{
    g_return_val_if_fail(LENS_IS_WINDOW(self), NULL);
    return self->engine;
}

void lens_window_set_task(LensWindow *self, pali_task task, const char *text)
{
    g_return_if_fail(LENS_IS_WINDOW(self));
    lens_task_panel_set_task(self->task_panel, task);
    lens_task_panel_set_text(self->task_panel, text);
}

/* ---- GObject ---------------------------------------------------------- */

static void lens_window_constructed(GObject *object)
{
    LensWindow *self = LENS_WINDOW(object);
    G_OBJECT_CLASS(lens_window_parent_class)->constructed(object);
    if (self->engine == NULL)
        self->engine = lens_engine_new();
    g_signal_connect_object(self->engine, "progress",
                            G_CALLBACK(on_engine_progress), self, 0);
    g_signal_connect_object(self->engine, "partial",
                            G_CALLBACK(on_engine_partial), self, 0);
    g_signal_connect_object(self->engine, "notify::busy",
                            G_CALLBACK(_lens_window_update_actions), self,
                            G_CONNECT_SWAPPED);
    update_model_label(self);
    _lens_window_update_actions(self);
}

static void lens_window_get_property(GObject *object, guint prop_id,
                                     GValue *value, GParamSpec *pspec)
{
    LensWindow *self = LENS_WINDOW(object);
    switch (prop_id) {
    case PROP_ENGINE: g_value_set_object(value, self->engine); break;
    case PROP_BUSY:
        g_value_set_boolean(value, lens_window_get_busy(self));
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_window_set_property(GObject *object, guint prop_id,
                                     const GValue *value, GParamSpec *pspec)
{
    LensWindow *self = LENS_WINDOW(object);
    switch (prop_id) {
    case PROP_ENGINE: self->engine = g_value_dup_object(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_window_dispose(GObject *object)
{
    LensWindow *self = LENS_WINDOW(object);
    /* Stop everything this window started; the jobs hold their own
     * references and finish on their own. */
    g_cancellable_cancel(self->run_cancellable);
    g_cancellable_cancel(self->open_cancellable);
    g_cancellable_cancel(self->model_cancellable);
    g_cancellable_cancel(self->folder_cancellable);
    g_signal_handlers_disconnect_by_data(gtk_recent_manager_get_default(),
                                         self);
    gtk_widget_dispose_template(GTK_WIDGET(self), LENS_TYPE_WINDOW);
    g_clear_object(&self->run_cancellable);
    _lens_window_dispose_ahead(self);
    g_clear_object(&self->open_cancellable);
    g_clear_object(&self->model_cancellable);
    g_clear_object(&self->folder_cancellable);
    g_clear_pointer(&self->picture, lens_picture_unref);
    g_clear_pointer(&self->answer, lens_answer_unref);
    g_clear_pointer(&self->folder, g_ptr_array_unref);
    g_clear_pointer(&self->error_message, g_free);
    g_clear_pointer(&self->shown_text, g_free);
    g_clear_object(&self->settings);
    g_clear_object(&self->engine);
    G_OBJECT_CLASS(lens_window_parent_class)->dispose(object);
}

static void lens_window_class_init(LensWindowClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

    object_class->constructed = lens_window_constructed;
    object_class->get_property = lens_window_get_property;
    object_class->set_property = lens_window_set_property;
    object_class->dispose = lens_window_dispose;

    properties[PROP_ENGINE] = g_param_spec_object(
        "engine", NULL, NULL, LENS_TYPE_ENGINE,
        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
    properties[PROP_BUSY] = g_param_spec_boolean(
        "busy", NULL, NULL, FALSE,
        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(object_class, N_PROPS, properties);

    /* template */
    g_type_ensure(LENS_TYPE_IMAGE_VIEW);
    g_type_ensure(LENS_TYPE_TASK_PANEL);
    g_type_ensure(LENS_TYPE_RESULTS_LIST);
    g_type_ensure(LENS_TYPE_PROGRESS);
    gtk_widget_class_set_template_from_resource(
        widget_class, "/org/palilens/PaliLens/lens-window.ui");

    /* children */
#define BIND(name)                                                             \
    gtk_widget_class_bind_template_child(widget_class, LensWindow, name)
    BIND(title_label);
    BIND(subtitle_label);
    BIND(model_label);
    BIND(model_spinner);
    BIND(info_bar);
    BIND(info_title);
    BIND(info_detail);
    BIND(main_stack);
    BIND(model_help);
    BIND(no_model_box);
    BIND(welcome_open_button);
    BIND(model_help_label);
    BIND(image_view);
    BIND(zoom_label);
    BIND(task_panel);
    BIND(progress_box);
    BIND(progress_label);
    BIND(progress_bar);
    BIND(answer_view);
    BIND(timings_label);
    BIND(results_list);
    BIND(opacity_scale);
    BIND(recent_section);
#undef BIND

    /* callbacks */
    gtk_widget_class_bind_template_callback(widget_class, on_info_bar_response);

    /* actions (and the shortcuts of opening images) */
    _lens_window_class_init_open(widget_class);
    _lens_window_class_init_export(widget_class);
    gtk_widget_class_install_action(widget_class, "win.choose-model", NULL,
                                    choose_model_action);
    gtk_widget_class_install_action(widget_class, "win.run", NULL, run_action);
    gtk_widget_class_install_action(widget_class, "win.stop", NULL,
                                    stop_action);
    gtk_widget_class_install_action(widget_class, "win.copy-answer", NULL,
                                    copy_answer_action);
    gtk_widget_class_install_action(widget_class, "win.zoom-in", NULL,
                                    zoom_action);
    gtk_widget_class_install_action(widget_class, "win.zoom-out", NULL,
                                    zoom_action);
    gtk_widget_class_install_action(widget_class, "win.zoom-fit", NULL,
                                    zoom_action);
    gtk_widget_class_install_action(widget_class, "win.zoom-original", NULL,
                                    zoom_action);

    /* shortcuts */
    gtk_widget_class_add_binding_action(
        widget_class, GDK_KEY_m, GDK_CONTROL_MASK, "win.choose-model", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Return,
                                        GDK_CONTROL_MASK, "win.run", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0,
                                        "win.stop", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_plus,
                                        GDK_CONTROL_MASK, "win.zoom-in", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_equal,
                                        GDK_CONTROL_MASK, "win.zoom-in", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_minus,
                                        GDK_CONTROL_MASK, "win.zoom-out", NULL);
    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_0,
                                        GDK_CONTROL_MASK, "win.zoom-fit", NULL);
    gtk_widget_class_add_binding_action(
        widget_class, GDK_KEY_1, GDK_CONTROL_MASK, "win.zoom-original", NULL);
    /* the overlay toggles: "overlay.*", the settings' own actions */
    static const struct {
        guint key;
        const char *action;
    } toggles[] = {
        { GDK_KEY_b, "overlay.show-boxes" },
        { GDK_KEY_m, "overlay.show-masks" },
        { GDK_KEY_l, "overlay.show-labels" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(toggles); i++)
        gtk_widget_class_add_binding_action(widget_class, toggles[i].key,
                                            GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                            toggles[i].action, NULL);
}

static void lens_window_init(LensWindow *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    /* start on the obvious action, not inside the selectable help text */
    gtk_window_set_focus(GTK_WINDOW(self), self->welcome_open_button);
    self->folder_index = -1;
    self->settings = g_settings_new(APP_ID);

    g_settings_bind(self->settings, "window-width", self, "default-width",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(self->settings, "window-height", self, "default-height",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(self->settings, "window-maximized", self, "maximized",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(self->settings, "task", self->task_panel, "task",
                    G_SETTINGS_BIND_DEFAULT);
    g_settings_bind(self->settings, "language", self->task_panel, "language",
                    G_SETTINGS_BIND_GET);
    g_settings_bind(self->settings, "mask-opacity",
                    gtk_range_get_adjustment(GTK_RANGE(self->opacity_scale)),
                    "value", G_SETTINGS_BIND_DEFAULT);
    static const char *const style_keys[] = {
        "show-boxes",   "show-masks", "show-labels",
        "mask-opacity", "line-width", "label-size",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(style_keys); i++)
        g_settings_bind(self->settings, style_keys[i], self->image_view,
                        style_keys[i], G_SETTINGS_BIND_GET);
    g_object_bind_property(self->image_view, "highlighted", self->results_list,
                           "highlighted",
                           G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
    /* "overlay.show-boxes" …: stateful actions that are the settings */
    static const char *const toggles[] = { "show-boxes", "show-masks",
                                           "show-labels" };
    g_autoptr(GSimpleActionGroup) overlay = g_simple_action_group_new();
    for (gsize i = 0; i < G_N_ELEMENTS(toggles); i++) {
        g_autoptr(GAction) action =
            g_settings_create_action(self->settings, toggles[i]);
        g_action_map_add_action(G_ACTION_MAP(overlay), action);
    }
    gtk_widget_insert_action_group(GTK_WIDGET(self), "overlay",
                                   G_ACTION_GROUP(overlay));

    gtk_label_set_markup(
        self->model_help_label,
        _("PaliLens needs a PaliGemma 2 checkpoint from the Hugging Face "
          "hub, <b>google/paligemma2-{3b,10b,28b}-{pt,mix}-{224,448,896}</b> "
          "(the <i>mix</i> ones answer every task; 3B at 448 pixels is a "
          "good start):\n\n"
          "1. Accept the licence on the model’s page on huggingface.co.\n"
          "2. Download it, for example:\n"
          "<tt>huggingface-cli download google/paligemma2-3b-mix-448 "
          "--local-dir ~/models/paligemma2-3b-mix-448</tt>\n"
          "3. Choose that folder with Choose Model… (Ctrl+M). Models in the "
          "Hugging Face cache (~/.cache/huggingface/hub) are listed without "
          "help.\n"
          "4. For segmentation masks, also put big_vision’s "
          "<b>vae-oid.npz</b> (gs://big_vision/paligemma/vae-oid.npz) beside "
          "the model or in ~/.local/share/palilens/."));

    g_signal_connect_object(self->settings, "changed::weights",
                            G_CALLBACK(on_weights_changed), self,
                            G_CONNECT_SWAPPED);
    _lens_window_init_open(self);
    _lens_window_init_ahead(self);

    g_signal_connect_object(self->image_view, "notify::zoom",
                            G_CALLBACK(update_zoom_label), self,
                            G_CONNECT_SWAPPED);
    update_zoom_label(self);
}
