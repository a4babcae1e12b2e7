/* lens-engine.c — LensEngine, the GTask bridge to libpali (see
 * lens-engine.h).
 *
 * Every engine call runs in a GTask thread (g_task_run_in_thread, never
 * return-on-cancel: the worker owns the session until the engine returns).
 * The worker writes progress and the latest streamed answer into its job
 * under a mutex and arms ONE GSource per job on the caller's main context
 * with a ready time at most UPDATE_INTERVAL_US after the previous delivery,
 * so a flood of tokens becomes about 30 updates a second (as nautilus'
 * progress does).  Cancelling the job's GCancellable makes the engine's
 * should_abort callback return true between layers and tokens.  The model,
 * decoder and session pointers change only on the main thread, when a job
 * completes. */
#include "config.h"

#include "lens-engine.h"

#include <glib/gi18n.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* Updates reach the main thread at most this often (≈ 30 Hz): fluid
 * streaming, negligible main-loop load. */
#define UPDATE_INTERVAL_US (G_USEC_PER_SEC / 30)
/* Engine work yields to the interface: the worker thread, and the compute
 * threads the engine starts from it (they inherit it), run this much nicer
 * than the main thread, so the window keeps responding on a busy machine. */
#define WORKER_NICE 5
/* pali_vae_find writes a path into a buffer of this size. */
#define PATH_BUFFER_SIZE 4096

struct _LensEngine {
    GObject parent_instance;

    /* owned; touched only on the main thread, never while busy */
    pali_model *model;
    pali_vae *vae;
    pali_session *session;
    char *vae_problem;
    GBytes *image; /* the pixels the session holds, or NULL */
    int image_width, image_height;
    gsize image_stride;
    pali_pixel_format image_format;

    /* state */
    pali_session_params session_params; /* those of `session` */
    pali_session_params wanted_params;  /* for the next job */
    pali_weights weights;               /* for the next load */
    char *vae_path;                     /* for the next load, or NULL */
    char *forced_output;                /* teacher forcing, or NULL */
    gboolean busy;
};

G_DEFINE_FINAL_TYPE(LensEngine, lens_engine, G_TYPE_OBJECT)
G_DEFINE_QUARK(lens - engine - error - quark, lens_engine_error)

enum {
    PROP_0,
    PROP_BUSY,
    N_PROPS,
};
static GParamSpec *properties[N_PROPS];

enum {
    SIGNAL_PROGRESS,
    SIGNAL_PARTIAL,
    N_SIGNALS,
};
static guint signals[N_SIGNALS];

typedef enum {
    JOB_LOAD_MODEL,
    JOB_SET_IMAGE,
    JOB_GENERATE,
    JOB_PREFILL,
} JobKind;

/* One engine call: its inputs, the engine objects the worker borrows, what
 * it hands back, and the coalesced delivery of its updates. */
typedef struct {
    JobKind kind;
    LensEngine *engine; /* reference */
    GTask *outer;       /* the caller's task, completed on the main thread */
    GCancellable *cancellable;

    /* inputs */
    char *dir;
    GBytes *pixels;
    int width, height;
    gsize stride;
    pali_pixel_format format;
    gboolean image_needed; /* generate: the session lacks the image */
    pali_task task;
    char *lang;
    char *text;
    char *forced_output;  /* generate: the text to force, or NULL */
    char *vae_path;       /* load: the mask decoder file, or NULL */
    pali_weights weights; /* load */
    int max_new_tokens;
    pali_session_params params;
    gboolean new_session;

    /* engine objects: borrowed from the engine or made by the worker */
    const pali_model *model;
    pali_session *session;
    pali_session *old_session; /* replaced by the worker, freed by main */
    const pali_vae *vae;

    /* results (load) */
    pali_model *new_model;
    pali_vae *new_vae;
    char *vae_problem;
    gboolean image_set;
    LensMaskCache *masks;

    /* coalesced delivery, guarded by lock */
    GMutex lock;
    GSource *source;
    gboolean scheduled;
    gint64 last_delivery_us;
    gboolean has_progress;
    int phase, done, total;
    LensAnswer *partial;
} Job;

static void job_free(Job *job)
{
    if (job->source != NULL) {
        g_source_destroy(job->source);
        g_source_unref(job->source);
    }
    g_mutex_clear(&job->lock);
    g_clear_pointer(&job->partial, lens_answer_unref);
    g_clear_pointer(&job->masks, lens_mask_cache_free);
    pali_model_free(job->new_model);
    pali_vae_free(job->new_vae);
    g_free(job->vae_problem);
    g_free(job->dir);
    g_free(job->lang);
    g_free(job->text);
    g_free(job->forced_output);
    g_free(job->vae_path);
    g_clear_pointer(&job->pixels, g_bytes_unref);
    g_clear_object(&job->cancellable);
    g_clear_object(&job->outer);
    g_clear_object(&job->engine);
    g_free(job);
}

static void set_busy(LensEngine *self, gboolean busy)
{
    if (self->busy == busy)
        return;
    self->busy = busy;
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_BUSY]);
}

static void set_error_from_pali(GError **error, const pali_error *err)
{
    if (err->status == PALI_ERR_ABORTED)
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                            _("Stopped"));
    else
        g_set_error_literal(error, LENS_ENGINE_ERROR, err->status,
                            err->message[0]
                                ? err->message
                                : pali_status_to_string(err->status));
}

/* ---- coalesced delivery (worker → main thread) ------------------------ */

static gboolean deliver_updates(gpointer data)
{
    Job *job = data;
    g_mutex_lock(&job->lock);
    g_source_set_ready_time(job->source, -1);
    job->scheduled = FALSE;
    job->last_delivery_us = g_get_monotonic_time();
    gboolean has_progress = job->has_progress;
    int phase = job->phase, done = job->done, total = job->total;
    LensAnswer *partial = g_steal_pointer(&job->partial);
    job->has_progress = FALSE;
    g_mutex_unlock(&job->lock);

    if (has_progress)
        g_signal_emit(job->engine, signals[SIGNAL_PROGRESS], 0, phase, done,
                      total);
    if (partial != NULL) {
        g_signal_emit(job->engine, signals[SIGNAL_PARTIAL], 0, partial);
        lens_answer_unref(partial);
    }
    return G_SOURCE_CONTINUE;
}

static gboolean update_source_dispatch(GSource *source, GSourceFunc callback,
                                       gpointer user_data)
{
    return callback(user_data);
}

static GSourceFuncs update_source_funcs = {
    .dispatch = update_source_dispatch,
};

/* Called with job->lock held, from the worker. */
static void schedule_delivery(Job *job)
{
    if (job->scheduled)
        return;
    job->scheduled = TRUE;
    gint64 next = job->last_delivery_us + UPDATE_INTERVAL_US;
    g_source_set_ready_time(job->source, MAX(next, g_get_monotonic_time()));
}

static bool on_should_abort(void *user_data)
{
    Job *job = user_data;
    return g_cancellable_is_cancelled(job->cancellable);
}

static void on_progress(pali_phase phase, int done, int total, void *user_data)
{
    Job *job = user_data;
    g_mutex_lock(&job->lock);
    job->has_progress = TRUE;
    job->phase = phase;
    job->done = done;
    job->total = total;
    schedule_delivery(job);
    g_mutex_unlock(&job->lock);
}

static bool on_token(const pali_token_event *event, void *user_data)
{
    Job *job = user_data;
    /* Parsing (and decoding a newly complete mask) happens here, on the
     * worker, so the main thread only draws. */
    LensAnswer *answer = lens_answer_new(event->text, job->width, job->height,
                                         job->masks, NULL, NULL);
    if (answer != NULL) {
        g_mutex_lock(&job->lock);
        g_clear_pointer(&job->partial, lens_answer_unref);
        job->partial = answer;
        schedule_delivery(job);
        g_mutex_unlock(&job->lock);
    }
    return !g_cancellable_is_cancelled(job->cancellable);
}

static pali_callbacks job_callbacks(Job *job, gboolean tokens)
{
    pali_callbacks cb = {
        .should_abort = on_should_abort,
        .progress = on_progress,
        .token = tokens ? on_token : NULL,
        .user_data = job,
    };
    return cb;
}

/* ---- workers (GTask threads: engine calls only) ----------------------- */

static gboolean worker_load_model(Job *job, GError **error)
{
    pali_error err = { 0 };
    pali_model_params mp = pali_model_default_params();
    mp.n_threads = job->params.n_threads;
    mp.weights = job->weights;
    mp.callbacks = job_callbacks(job, FALSE);
    if (pali_model_load(job->dir, &mp, &job->new_model, &err) != PALI_OK) {
        set_error_from_pali(error, &err);
        return FALSE;
    }
    if (pali_session_new(job->new_model, &job->params, &job->session, &err) !=
        PALI_OK) {
        set_error_from_pali(error, &err);
        return FALSE;
    }
    char path[PATH_BUFFER_SIZE];
    if (job->vae_path != NULL)
        g_strlcpy(path, job->vae_path, sizeof(path));
    else if (pali_vae_find(job->dir, path, sizeof(path), &err) != PALI_OK) {
        job->vae_problem =
            g_strdup(_("No mask decoder (vae-oid.npz) was found beside the "
                       "model or in ~/.local/share/palilens/."));
        return TRUE;
    }
    if (pali_vae_load(path, &job->new_vae, &err) != PALI_OK)
        job->vae_problem = g_strdup_printf(
            _("The mask decoder could not be loaded: %s"), err.message);
    return TRUE;
}

/* Makes a new session when the parameters changed (the old one is freed
 * on the main thread), then encodes the image if needed. */
static gboolean worker_prepare(Job *job, GError **error)
{
    pali_error err = { 0 };
    if (job->new_session) {
        pali_session *session = NULL;
        if (pali_session_new(job->model, &job->params, &session, &err) !=
            PALI_OK) {
            set_error_from_pali(error, &err);
            return FALSE;
        }
        job->old_session = job->session;
        job->session = session;
    }
    if (job->image_needed) {
        pali_image image = {
            .pixels = g_bytes_get_data(job->pixels, NULL),
            .width = job->width,
            .height = job->height,
            .stride = job->stride,
            .format = job->format,
        };
        pali_callbacks cb = job_callbacks(job, FALSE);
        if (pali_session_set_image(job->session, &image, &cb, &err) !=
            PALI_OK) {
            set_error_from_pali(error, &err);
            return FALSE;
        }
        job->image_set = TRUE;
    }
    return TRUE;
}

/* The ids a model writes for `text` (teacher forcing): its encoding by the
 * model's tokenizer, which (set up as PaliGemmaProcessor does) makes each
 * <locNNNN>, <segNNN> and special token such as <eos> one token, as a
 * model emits it.  NULL on error (invalid UTF-8, nothing to force). */
static GArray *encode_forced(const pali_tokenizer *tok, const char *text,
                             pali_error *err)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (pali_tokenizer_encode(tok, text, strlen(text), &ids, &n, err) !=
        PALI_OK)
        return NULL;
    if (n == 0) {
        pali_free(ids);
        err->status = PALI_ERR_INVALID_ARGUMENT;
        g_strlcpy(err->message, "the forced output is empty",
                  sizeof(err->message));
        return NULL;
    }
    GArray *forced = g_array_sized_new(FALSE, FALSE, sizeof(int32_t), (guint)n);
    g_array_append_vals(forced, ids, (guint)n);
    pali_free(ids);
    return forced;
}

/* The job's task as the engine's prompt (NULL on error), and the most new
 * tokens (the setting, or the task's default). */
static char *job_prompt(Job *job, int *max_new_tokens, GError **error)
{
    pali_error err = { 0 };
    char *engine_prompt = NULL;
    if (pali_task_prompt(job->task, job->lang, job->text, &engine_prompt,
                         &err) != PALI_OK) {
        set_error_from_pali(error, &err);
        return NULL;
    }
    char *prompt = g_strdup(engine_prompt);
    pali_free(engine_prompt);
    *max_new_tokens = job->max_new_tokens > 0
                          ? job->max_new_tokens
                          : pali_task_max_new_tokens(job->task, job->text);
    return prompt;
}

static LensAnswer *worker_generate(Job *job, GError **error)
{
    pali_error err = { 0 };
    pali_generate_params gp = pali_generate_default_params();
    g_autofree char *prompt = job_prompt(job, &gp.max_new_tokens, error);
    if (prompt == NULL)
        return NULL;
    g_autoptr(GArray) forced = NULL;
    if (job->forced_output != NULL) {
        forced = encode_forced(pali_model_get_tokenizer(job->model),
                               job->forced_output, &err);
        if (forced == NULL) {
            set_error_from_pali(error, &err);
            return NULL;
        }
        gp.forced_ids = (const int32_t *)(void *)forced->data;
        gp.n_forced = (int)forced->len;
    }
    pali_callbacks cb = job_callbacks(job, TRUE);
    const pali_output *output = NULL;
    if (pali_session_generate(job->session, prompt, &gp, &cb, &output, &err) !=
        PALI_OK) {
        set_error_from_pali(error, &err);
        return NULL;
    }
    if (g_cancellable_set_error_if_cancelled(job->cancellable, error))
        return NULL;
    return lens_answer_new(output->text_with_special, job->width, job->height,
                           job->masks, output, error);
}

/* The task's prompt read ahead of a run (pali_session_prefill). */
static gboolean worker_prefill(Job *job, GError **error)
{
    pali_error err = { 0 };
    int max_new_tokens = 0;
    g_autofree char *prompt = job_prompt(job, &max_new_tokens, error);
    if (prompt == NULL)
        return FALSE;
    pali_callbacks cb = job_callbacks(job, FALSE);
    if (pali_session_prefill(job->session, prompt, max_new_tokens, &cb, &err) !=
        PALI_OK) {
        set_error_from_pali(error, &err);
        return FALSE;
    }
    return TRUE;
}

static void lower_thread_priority(void)
{
#ifdef __linux__
    /* per thread on Linux; raising the nice value needs no privilege */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE);
#endif
}

static void job_thread(GTask *task, gpointer source, gpointer data,
                       GCancellable *cancellable)
{
    Job *job = data;
    GError *error = NULL;
    lower_thread_priority();
    switch (job->kind) {
    case JOB_LOAD_MODEL:
        if (worker_load_model(job, &error))
            g_task_return_boolean(task, TRUE);
        else
            g_task_return_error(task, error);
        break;
    case JOB_SET_IMAGE:
        if (worker_prepare(job, &error))
            g_task_return_boolean(task, TRUE);
        else
            g_task_return_error(task, error);
        break;
    case JOB_PREFILL:
        if (worker_prepare(job, &error) && worker_prefill(job, &error))
            g_task_return_boolean(task, TRUE);
        else
            g_task_return_error(task, error);
        break;
    case JOB_GENERATE: {
        LensAnswer *answer = NULL;
        if (worker_prepare(job, &error))
            answer = worker_generate(job, &error);
        if (answer != NULL)
            g_task_return_pointer(task, answer,
                                  (GDestroyNotify)lens_answer_unref);
        else
            g_task_return_error(task, error);
        break;
    }
    }
}

/* ---- completion (main thread) ----------------------------------------- */

static void job_done(GObject *source, GAsyncResult *result, gpointer data)
{
    Job *job = data;
    LensEngine *self = job->engine;

    /* No update may follow the answer: stop the source, drop a pending
     * partial answer (the final one supersedes it) and deliver the last
     * progress now. */
    g_source_destroy(job->source);
    g_mutex_lock(&job->lock);
    g_clear_pointer(&job->partial, lens_answer_unref);
    g_mutex_unlock(&job->lock);
    deliver_updates(job);

    GError *error = NULL;
    if (job->kind == JOB_LOAD_MODEL) {
        if (g_task_propagate_boolean(G_TASK(result), &error)) {
            pali_session_free(self->session);
            pali_vae_free(self->vae);
            pali_model_free(self->model);
            self->model = g_steal_pointer(&job->new_model);
            self->vae = g_steal_pointer(&job->new_vae);
            self->session = g_steal_pointer(&job->session);
            g_free(self->vae_problem);
            self->vae_problem = g_steal_pointer(&job->vae_problem);
            self->session_params = job->params;
            g_clear_pointer(&self->image, g_bytes_unref);
        } else {
            pali_session_free(g_steal_pointer(&job->session));
        }
        set_busy(self, FALSE);
        if (error != NULL)
            g_task_return_error(job->outer, error);
        else
            g_task_return_boolean(job->outer, TRUE);
        job_free(job);
        return;
    }

    /* set image / generate: take the session back, maybe a new one. */
    if (job->old_session != NULL) {
        pali_session_free(job->old_session);
        self->session_params = job->params;
        g_clear_pointer(&self->image, g_bytes_unref);
    }
    self->session = job->session;
    if (job->image_set) {
        g_clear_pointer(&self->image, g_bytes_unref);
        self->image = g_bytes_ref(job->pixels);
        self->image_width = job->width;
        self->image_height = job->height;
        self->image_stride = job->stride;
        self->image_format = job->format;
    } else if (job->image_needed) {
        /* a failed or stopped encoding leaves no usable image */
        g_clear_pointer(&self->image, g_bytes_unref);
    }
    set_busy(self, FALSE);
    if (job->kind == JOB_SET_IMAGE || job->kind == JOB_PREFILL) {
        if (g_task_propagate_boolean(G_TASK(result), &error))
            g_task_return_boolean(job->outer, TRUE);
        else
            g_task_return_error(job->outer, error);
    } else {
        LensAnswer *answer = g_task_propagate_pointer(G_TASK(result), &error);
        if (answer != NULL)
            g_task_return_pointer(job->outer, answer,
                                  (GDestroyNotify)lens_answer_unref);
        else
            g_task_return_error(job->outer, error);
    }
    job_free(job);
}

/* Starts a job, or completes `outer` with an error when another runs or
 * nothing is loaded. */
static Job *job_new(LensEngine *self, JobKind kind, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data,
                    gpointer source_tag)
{
    g_autoptr(GTask) outer = g_task_new(self, cancellable, callback, user_data);
    g_task_set_source_tag(outer, source_tag);
    if (self->busy) {
        g_task_return_new_error(outer, G_IO_ERROR, G_IO_ERROR_BUSY,
                                _("The engine is busy"));
        return NULL;
    }
    if (kind != JOB_LOAD_MODEL && self->session == NULL) {
        g_task_return_new_error(outer, LENS_ENGINE_ERROR,
                                PALI_ERR_INVALID_ARGUMENT,
                                _("No model is loaded"));
        return NULL;
    }
    Job *job = g_new0(Job, 1);
    job->kind = kind;
    job->engine = g_object_ref(self);
    job->outer = g_steal_pointer(&outer);
    job->cancellable =
        cancellable ? g_object_ref(cancellable) : g_cancellable_new();
    g_mutex_init(&job->lock);
    job->params = self->wanted_params;
    job->model = self->model;
    job->session = self->session;
    job->vae = self->vae;
    job->new_session =
        self->session != NULL &&
        (self->wanted_params.n_threads != self->session_params.n_threads ||
         self->wanted_params.precision != self->session_params.precision);

    job->source = g_source_new(&update_source_funcs, sizeof(GSource));
    g_source_set_callback(job->source, deliver_updates, job, NULL);
    g_source_set_name(job->source, "LensEngine updates");
    g_source_set_ready_time(job->source, -1);
    g_autoptr(GMainContext) context = g_main_context_ref_thread_default();
    g_source_attach(job->source, context);
    return job;
}

static void job_start(Job *job)
{
    set_busy(job->engine, TRUE);
    g_autoptr(GTask) task =
        g_task_new(job->engine, job->cancellable, job_done, job);
    g_task_set_task_data(task, job, NULL);
    g_task_run_in_thread(task, job_thread);
}

/* ---- public API ------------------------------------------------------- */

LensEngine *lens_engine_new(void)
{
    return g_object_new(LENS_TYPE_ENGINE, NULL);
}

void lens_engine_set_threads(LensEngine *self, int n_threads)
{
    g_return_if_fail(LENS_IS_ENGINE(self));
    self->wanted_params.n_threads = MAX(0, n_threads);
}

void lens_engine_set_precision(LensEngine *self, pali_precision precision)
{
    g_return_if_fail(LENS_IS_ENGINE(self));
    self->wanted_params.precision = precision;
}

void lens_engine_set_weights(LensEngine *self, pali_weights weights)
{
    g_return_if_fail(LENS_IS_ENGINE(self));
    self->weights = weights;
}

void lens_engine_set_mask_decoder_path(LensEngine *self, const char *path)
{
    g_return_if_fail(LENS_IS_ENGINE(self));
    g_free(self->vae_path);
    self->vae_path = g_strdup(path);
}

void lens_engine_set_forced_output(LensEngine *self, const char *text)
{
    g_return_if_fail(LENS_IS_ENGINE(self));
    g_free(self->forced_output);
    self->forced_output = g_strdup(text);
}

gboolean lens_engine_get_busy(LensEngine *self)
{
    g_return_val_if_fail(LENS_IS_ENGINE(self), FALSE);
    return self->busy;
}

const pali_model_info *lens_engine_get_model_info(LensEngine *self)
{
    g_return_val_if_fail(LENS_IS_ENGINE(self), NULL);
    return self->model ? pali_model_get_info(self->model) : NULL;
}

const char *lens_engine_get_model_dir(LensEngine *self)
{
    const pali_model_info *info = lens_engine_get_model_info(self);
    return info ? info->dir : NULL;
}

gboolean lens_engine_has_mask_decoder(LensEngine *self)
{
    g_return_val_if_fail(LENS_IS_ENGINE(self), FALSE);
    return self->vae != NULL;
}

const char *lens_engine_get_mask_decoder_problem(LensEngine *self)
{
    g_return_val_if_fail(LENS_IS_ENGINE(self), NULL);
    return self->vae_problem;
}

gboolean lens_engine_has_image(LensEngine *self, GBytes *pixels)
{
    g_return_val_if_fail(LENS_IS_ENGINE(self), FALSE);
    return self->image != NULL && pixels != NULL && self->image == pixels;
}

gboolean lens_engine_image_ready(LensEngine *self, GBytes *pixels)
{
    return lens_engine_has_image(self, pixels) &&
           self->wanted_params.n_threads == self->session_params.n_threads &&
           self->wanted_params.precision == self->session_params.precision;
}

void lens_engine_load_model_async(LensEngine *self, const char *dir,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data)
{
    g_return_if_fail(LENS_IS_ENGINE(self));
    g_return_if_fail(dir != NULL);
    Job *job = job_new(self, JOB_LOAD_MODEL, cancellable, callback, user_data,
                       lens_engine_load_model_async);
    if (job == NULL)
        return;
    job->dir = g_strdup(dir);
    job->vae_path = g_strdup(self->vae_path);
    job->weights = self->weights;
    job->session = NULL; /* the worker makes the new model's session */
    job->new_session = FALSE;
    job_start(job);
}

gboolean lens_engine_load_model_finish(LensEngine *self, GAsyncResult *result,
                                       GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}

void lens_engine_set_image_async(LensEngine *self, GBytes *pixels, int width,
                                 int height, gsize stride,
                                 pali_pixel_format format,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
    g_return_if_fail(LENS_IS_ENGINE(self));
    g_return_if_fail(pixels != NULL);
    Job *job = job_new(self, JOB_SET_IMAGE, cancellable, callback, user_data,
                       lens_engine_set_image_async);
    if (job == NULL)
        return;
    job->pixels = g_bytes_ref(pixels);
    job->width = width;
    job->height = height;
    job->stride = stride;
    job->format = format;
    job->image_needed = job->new_session || self->image != pixels;
    job_start(job);
}

gboolean lens_engine_set_image_finish(LensEngine *self, GAsyncResult *result,
                                      GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}

/* A job on the current image for a task's prompt (generate, prefill),
 * or NULL with `callback` told why not. */
static Job *task_job_new(LensEngine *self, JobKind kind, pali_task task,
                         const char *lang, const char *text, int max_new_tokens,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data,
                         gpointer source_tag)
{
    if (self->session != NULL && self->image == NULL) {
        g_autoptr(GTask) outer =
            g_task_new(self, cancellable, callback, user_data);
        g_task_set_source_tag(outer, source_tag);
        g_task_return_new_error(outer, LENS_ENGINE_ERROR,
                                PALI_ERR_INVALID_ARGUMENT,
                                _("No image is set"));
        return NULL;
    }
    Job *job =
        job_new(self, kind, cancellable, callback, user_data, source_tag);
    if (job == NULL)
        return NULL;
    job->task = task;
    job->lang = g_strdup(lang);
    job->text = g_strdup(text);
    job->max_new_tokens = max_new_tokens;
    job->pixels = g_bytes_ref(self->image);
    job->width = self->image_width;
    job->height = self->image_height;
    job->stride = self->image_stride;
    job->format = self->image_format;
    job->image_needed = job->new_session;
    return job;
}

void lens_engine_generate_async(LensEngine *self, pali_task task,
                                const char *lang, const char *text,
                                int max_new_tokens, GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
    g_return_if_fail(LENS_IS_ENGINE(self));
    Job *job = task_job_new(self, JOB_GENERATE, task, lang, text,
                            max_new_tokens, cancellable, callback, user_data,
                            lens_engine_generate_async);
    if (job == NULL)
        return;
    job->forced_output = g_strdup(self->forced_output);
    job->masks = lens_mask_cache_new(self->vae);
    job_start(job);
}

void lens_engine_prefill_async(LensEngine *self, pali_task task,
                               const char *lang, const char *text,
                               int max_new_tokens, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(LENS_IS_ENGINE(self));
    Job *job = task_job_new(self, JOB_PREFILL, task, lang, text, max_new_tokens,
                            cancellable, callback, user_data,
                            lens_engine_prefill_async);
    if (job != NULL)
        job_start(job);
}

gboolean lens_engine_prefill_finish(LensEngine *self, GAsyncResult *result,
                                    GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}

LensAnswer *lens_engine_generate_finish(LensEngine *self, GAsyncResult *result,
                                        GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, self), NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- GObject ---------------------------------------------------------- */

static void lens_engine_get_property(GObject *object, guint prop_id,
                                     GValue *value, GParamSpec *pspec)
{
    LensEngine *self = LENS_ENGINE(object);
    switch (prop_id) {
    case PROP_BUSY: g_value_set_boolean(value, self->busy); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void lens_engine_finalize(GObject *object)
{
    LensEngine *self = LENS_ENGINE(object);
    /* A running job holds a reference, so nothing runs now. */
    pali_session_free(self->session);
    pali_vae_free(self->vae);
    pali_model_free(self->model);
    g_free(self->vae_problem);
    g_free(self->vae_path);
    g_free(self->forced_output);
    g_clear_pointer(&self->image, g_bytes_unref);
    G_OBJECT_CLASS(lens_engine_parent_class)->finalize(object);
}

static void lens_engine_class_init(LensEngineClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    object_class->get_property = lens_engine_get_property;
    object_class->finalize = lens_engine_finalize;

    properties[PROP_BUSY] = g_param_spec_boolean(
        "busy", NULL, NULL, FALSE,
        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(object_class, N_PROPS, properties);

    /* (phase: pali_phase, done, total) */
    signals[SIGNAL_PROGRESS] = g_signal_new(
        "progress", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
        NULL, G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_INT, G_TYPE_INT);
    /* (answer: the streamed answer so far) */
    signals[SIGNAL_PARTIAL] = g_signal_new(
        "partial", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
        NULL, G_TYPE_NONE, 1, LENS_TYPE_ANSWER | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void lens_engine_init(LensEngine *self)
{
    self->wanted_params = pali_session_default_params();
    self->weights = pali_model_default_params().weights;
    self->session_params = self->wanted_params;
}
