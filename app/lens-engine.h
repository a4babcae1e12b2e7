/* lens-engine.h — LensEngine, the GObject bridge between the GTK application
 * and libpali.  It owns one model, its mask decoder and ONE session (so the
 * image encoding is cached while the task or prompt changes), and runs every
 * engine call in a GTask thread with an _async/_finish pair.  Progress and
 * streamed text reach the main thread through one coalesced source (about
 * 30 Hz) as the "progress" and "partial" signals; cancelling the
 * GCancellable makes the engine's abort callback stop the call.
 *
 * One job at a time: a call made while another runs fails at once with
 * G_IO_ERROR_BUSY.  Errors are LENS_ENGINE_ERROR with the pali_status as the
 * code (an aborted call is G_IO_ERROR_CANCELLED). */
#pragma once

#include <gio/gio.h>

#include "lens-answer.h"
#include "pali.h"

G_BEGIN_DECLS

#define LENS_ENGINE_ERROR (lens_engine_error_quark())
GQuark lens_engine_error_quark(void);

/* ---- LensEngine -------------------------------------------------------- */

#define LENS_TYPE_ENGINE (lens_engine_get_type())
G_DECLARE_FINAL_TYPE(LensEngine, lens_engine, LENS, ENGINE, GObject)

LensEngine *lens_engine_new(void);

/* Session parameters for the next job (a change makes a new session, and
 * the image is encoded again). */
void lens_engine_set_threads(LensEngine *self, int n_threads);
void lens_engine_set_precision(LensEngine *self, pali_precision precision);
/* The weight format for the next model load (pali_model_params weights). */
void lens_engine_set_weights(LensEngine *self, pali_weights weights);
/* The mask decoder file for the next model load (palilens --vae FILE);
 * NULL: look for vae-oid.npz beside the model and in the user data
 * directory (pali_vae_find). */
void lens_engine_set_mask_decoder_path(LensEngine *self, const char *path);
/* Teacher forcing for the screenshots of tools/screenshots.sh: while set,
 * every generation feeds the model's tokenization of `text` instead of
 * sampled tokens (pali_generate_params.forced_ids), so prefill, decode,
 * streaming, parsing and masks all run for a chosen output.  NULL: the
 * model writes its own answer (always, outside the screenshot mode). */
void lens_engine_set_forced_output(LensEngine *self, const char *text);

gboolean lens_engine_get_busy(LensEngine *self);
/* The loaded model's description, or NULL. */
const pali_model_info *lens_engine_get_model_info(LensEngine *self);
const char *lens_engine_get_model_dir(LensEngine *self);
/* Whether segmentation masks can be decoded (vae-oid.npz was found). */
gboolean lens_engine_has_mask_decoder(LensEngine *self);
/* Why there is no mask decoder (not found, or failed to load), or NULL. */
const char *lens_engine_get_mask_decoder_problem(LensEngine *self);

/* Loads the model in `dir` and its mask decoder (vae-oid.npz beside it or
 * in ~/.local/share/palilens/, optional), replacing the current model on
 * success.  The "progress" signal reports PALI_PHASE_LOAD. */
void lens_engine_load_model_async(LensEngine *self, const char *dir,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean lens_engine_load_model_finish(LensEngine *self, GAsyncResult *result,
                                       GError **error);

/* Encodes an image (RGB8 or RGBA8 rows of `stride` bytes, kept by
 * reference).  Setting the image that is already set returns at once. */
void lens_engine_set_image_async(LensEngine *self, GBytes *pixels, int width,
                                 int height, gsize stride,
                                 pali_pixel_format format,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
gboolean lens_engine_set_image_finish(LensEngine *self, GAsyncResult *result,
                                      GError **error);
/* Whether `pixels` is the image the session holds. */
gboolean lens_engine_has_image(LensEngine *self, GBytes *pixels);
/* ... and the session has the threads and precision set now: a run on
 * `pixels` would start with the prompt. */
gboolean lens_engine_image_ready(LensEngine *self, GBytes *pixels);

/* Runs a task on the current image.  `lang` NULL: English; `text` the
 * question, objects or prompt; max_new_tokens 0: the task's default.
 * "partial" is emitted with the streamed answer; the finish returns the
 * final one (full reference). */
void lens_engine_generate_async(LensEngine *self, pali_task task,
                                const char *lang, const char *text,
                                int max_new_tokens, GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data);
LensAnswer *lens_engine_generate_finish(LensEngine *self, GAsyncResult *result,
                                        GError **error);

/* Reads the task's prompt on the current image ahead of a run with the
 * same arguments (pali_session_prefill), which then starts with its first
 * token. */
void lens_engine_prefill_async(LensEngine *self, pali_task task,
                               const char *lang, const char *text,
                               int max_new_tokens, GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
gboolean lens_engine_prefill_finish(LensEngine *self, GAsyncResult *result,
                                    GError **error);

G_END_DECLS
