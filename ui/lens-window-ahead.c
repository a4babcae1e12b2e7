/* lens-window-ahead.c — LensWindow's work ahead of a run (Preferences ›
 * Work ahead).  Once a picture and a model are there, the engine encodes
 * the picture (the vision tower: it does not depend on the task) and then
 * reads the prompt of the task the panel shows (the prefill; the session
 * keeps it), while the user looks, picks a task and types: 4 and 11 of the
 * 16 s before the first token of the 3B at 896 px.  A run started
 * meanwhile takes the job over when it is the run's own (the encoding, or
 * its prompt's prefill); another prompt's prefill is stopped
 * (lens-window.c: run_action).  A change in the panel stops the prefill
 * and reads the new prompt once the typing pauses. */
#include "config.h"

#include <string.h>

#include "lens-window-private.h"

/* Pause after a change in the task panel before its prompt is read
 * ahead. */
#define READ_AHEAD_DELAY_MS 600

/* The run's arguments: the task panel's, and max-new-tokens. */
static char *run_key(LensWindow *self)
{
    LensTaskPanel *panel = self->task_panel;
    return g_strdup_printf(
        "%d\x1f%s\x1f%s\x1f%d", (int)lens_task_panel_get_task(panel),
        lens_task_panel_get_language(panel),
        lens_task_panel_get_text(panel) ? lens_task_panel_get_text(panel) : "",
        g_settings_get_int(self->settings, "max-new-tokens"));
}

gboolean _lens_window_ahead_serves_run(LensWindow *self)
{
    if (self->ahead_key == NULL)
        return TRUE;
    g_autofree char *key = run_key(self);
    return strcmp(key, self->ahead_key) == 0;
}

static void on_looked_ahead(GObject *source, GAsyncResult *result,
                            gpointer data)
{
    g_autoptr(LensWindow) self = data;
    g_autoptr(GError) error = NULL;
    const gboolean read = self->ahead_key != NULL;
    gboolean ok =
        read
            ? lens_engine_prefill_finish(LENS_ENGINE(source), result, &error)
            : lens_engine_set_image_finish(LENS_ENGINE(source), result, &error);
    gboolean adopted = self->ahead_adopted;
    g_clear_object(&self->ahead_cancellable);
    g_clear_pointer(&self->ahead_key, g_free);
    self->ahead_adopted = FALSE;
    if (self->engine == NULL) /* disposed */
        return;
    if (adopted) {
        /* the run waited this long for the rest of the prompt's prefill */
        if (read && ok)
            self->run_prompt_wait_ms =
                (double)(g_get_monotonic_time() - self->run_start_us) / 1000.0;
        if (!ok && !g_cancellable_is_cancelled(self->run_cancellable))
            _lens_window_run_encode(self); /* stopped before the run came, or
                                 failed: the run's own job reports it */
        else
            _lens_window_run_image_set(self, ok, error);
        return;
    }
    _lens_window_update_actions(self);
    if (self->pending_model != NULL) {
        g_autofree char *dir = g_steal_pointer(&self->pending_model);
        _lens_window_start_model_load(self, dir);
        return;
    }
    /* encoded: on to the prompt; stopped for a new picture, new settings
     * or a new prompt: what is there now (a failure is left to the run,
     * which reports it) */
    if ((ok && !read) ||
        g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _lens_window_look_ahead(self);
}

void _lens_window_look_ahead(LensWindow *self)
{
    if (self->engine == NULL || self->ahead_cancellable != NULL ||
        !g_settings_get_boolean(self->settings, "work-ahead") ||
        self->running || self->loading_model || self->picture == NULL ||
        lens_engine_get_model_info(self->engine) == NULL ||
        lens_engine_get_busy(self->engine))
        return;
    _lens_window_apply_session_settings(self);
    // the picture encoded, then the prompt (its prefill is kept; the same
    // one again costs only its tokenization)
    const gboolean read = lens_engine_image_ready(
        self->engine, lens_picture_get_pixels(self->picture));
    if (read && (self->read_ahead_timeout != 0 ||
                 !lens_task_panel_is_ready(self->task_panel)))
        return;
    self->ahead_cancellable = g_cancellable_new();
    self->ahead_adopted = FALSE;
    if (read) {
        LensTaskPanel *panel = self->task_panel;
        self->ahead_key = run_key(self);
        lens_engine_prefill_async(
            self->engine, lens_task_panel_get_task(panel),
            lens_task_panel_get_language(panel),
            lens_task_panel_get_text(panel),
            g_settings_get_int(self->settings, "max-new-tokens"),
            self->ahead_cancellable, on_looked_ahead, g_object_ref(self));
    } else {
        _lens_window_encode_picture(self, self->ahead_cancellable,
                                    on_looked_ahead);
    }
    _lens_window_update_actions(self);
}

void _lens_window_stop_look_ahead(LensWindow *self)
{
    if (self->ahead_cancellable != NULL && !self->ahead_adopted)
        g_cancellable_cancel(self->ahead_cancellable);
}

/* New threads or precision: the picture is encoded again ahead, in the
 * session that the next run will use. */
static void on_session_setting_changed(LensWindow *self)
{
    _lens_window_stop_look_ahead(self);
    _lens_window_look_ahead(self);
}

static gboolean read_ahead_due(gpointer data)
{
    LensWindow *self = data;
    self->read_ahead_timeout = 0;
    _lens_window_look_ahead(self);
    return G_SOURCE_REMOVE;
}

/* Another task, language, text or length: the prefill ahead (of the last
 * prompt) stops, and the new prompt is read once the changes pause. */
static void on_prompt_changed(LensWindow *self)
{
    if (self->ahead_key != NULL && !self->ahead_adopted)
        g_cancellable_cancel(self->ahead_cancellable);
    g_clear_handle_id(&self->read_ahead_timeout, g_source_remove);
    self->read_ahead_timeout =
        g_timeout_add(READ_AHEAD_DELAY_MS, read_ahead_due, self);
}

/* handler(self) on each of instance's signals, for self's lifetime. */
static void connect_each(gpointer instance, const char *const *signals, gsize n,
                         GCallback handler, LensWindow *self)
{
    for (gsize i = 0; i < n; i++)
        g_signal_connect_object(instance, signals[i], handler, self,
                                G_CONNECT_SWAPPED);
}

void _lens_window_init_ahead(LensWindow *self)
{
    static const char *const session_keys[] = { "changed::precision",
                                                "changed::threads",
                                                "changed::work-ahead" };
    static const char *const prompt_keys[] = { "changed::max-new-tokens" };
    static const char *const prompt_props[] = { "notify::task",
                                                "notify::language",
                                                "notify::text" };
    connect_each(self->settings, session_keys, G_N_ELEMENTS(session_keys),
                 G_CALLBACK(on_session_setting_changed), self);
    connect_each(self->settings, prompt_keys, G_N_ELEMENTS(prompt_keys),
                 G_CALLBACK(on_prompt_changed), self);
    connect_each(self->task_panel, prompt_props, G_N_ELEMENTS(prompt_props),
                 G_CALLBACK(on_prompt_changed), self);
}

void _lens_window_dispose_ahead(LensWindow *self)
{
    g_cancellable_cancel(self->ahead_cancellable);
    g_clear_object(&self->ahead_cancellable);
    g_clear_pointer(&self->ahead_key, g_free);
    g_clear_pointer(&self->pending_model, g_free);
    g_clear_handle_id(&self->read_ahead_timeout, g_source_remove);
}
