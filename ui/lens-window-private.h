/* lens-window-private.h — LensWindow's instance struct and the helpers its
 * files share: lens-window.c (state, messages, models, runs),
 * lens-window-open.c (opening images, folder, recent files, paste, drop)
 * and lens-window-export.c (the annotated image).  As gnome-text-editor
 * splits EditorWindow. */
#pragma once

#include "lens-window.h"

#include "lens-picture.h"
#include "lens-progress.h"
#include "lens-results-list.h"
#include "lens-task-panel.h"

G_BEGIN_DECLS

struct _LensWindow {
    GtkApplicationWindow parent_instance;

    /* template widgets */
    GtkLabel *title_label;
    GtkLabel *subtitle_label;
    GtkLabel *model_label;
    GtkSpinner *model_spinner;
    GtkInfoBar *info_bar;
    GtkLabel *info_title;
    GtkLabel *info_detail;
    GtkStack *main_stack;
    GtkWidget *model_help;
    GtkWidget *no_model_box;
    GtkWidget *welcome_open_button;
    GtkLabel *model_help_label;
    LensImageView *image_view;
    GtkLabel *zoom_label;
    LensTaskPanel *task_panel;
    GtkWidget *progress_box;
    GtkLabel *progress_label;
    LensProgress *progress_bar;
    GtkTextView *answer_view;
    GtkLabel *timings_label;
    LensResultsList *results_list;
    GtkScale *opacity_scale;
    GMenu *recent_section;

    /* owned */
    GSettings *settings;
    LensEngine *engine;
    LensPicture *picture;
    LensAnswer *answer;
    GCancellable *run_cancellable;   /* the running task */
    GCancellable *ahead_cancellable; /* the picture encoded ahead, or the
                                        prompt read ahead */
    char *ahead_key;                 /* the latter: its run_key, else NULL */
    guint read_ahead_timeout;        /* the prompt changed: read it then */
    GCancellable *open_cancellable;  /* the image being decoded */
    GCancellable *model_cancellable; /* the model being loaded */
    GCancellable *folder_cancellable;
    GPtrArray *folder; /* GFile: images of the picture's folder, sorted */
    char *error_message;
    char *shown_text; /* in the answer view */

    /* borrowed from `answer` */
    const LensOverlay *shown_overlay; /* in the results list */

    /* state */
    int folder_index; /* of the picture in `folder`, or -1 */
    gboolean running;
    gboolean opening;
    gboolean loading_model;
    gboolean reload_pending;   /* the weight format changed while busy */
    gboolean ahead_adopted;    /* a run waits for the job ahead */
    gboolean user_stopped;     /* Stop ended the last run */
    gboolean run_image_ahead;  /* the run found its image encoded */
    gint64 run_start_us;       /* monotonic time of the last Run */
    double run_prompt_wait_ms; /* the run took over the prompt's prefill
                                  and waited this long for it; else 0 */
    char *pending_model;       /* to load once the job ahead stops */
};

/* lens-window.c */
void _lens_window_show_message(LensWindow *self, GtkMessageType type,
                               const char *title, const char *detail);
void _lens_window_hide_message(LensWindow *self);
void _lens_window_update_actions(LensWindow *self);
/* Updates the actions, then tells "busy" watchers. */
void _lens_window_notify_busy(LensWindow *self);
void _lens_window_set_answer(LensWindow *self, LensAnswer *answer);
/* The run's image is encoded (`ok`), or not (`error`): on to the prompt,
 * or the run ends. */
void _lens_window_run_image_set(LensWindow *self, gboolean ok,
                                const GError *error);
/* The run's picture: encoded now unless the session holds it. */
void _lens_window_run_encode(LensWindow *self);
/* The picture into the engine's session, `callback` getting a reference
 * to self as its data. */
void _lens_window_encode_picture(LensWindow *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback);
/* The threads and precision the preferences ask for, for the session
 * that the next engine job uses. */
void _lens_window_apply_session_settings(LensWindow *self);
void _lens_window_start_model_load(LensWindow *self, const char *dir);

/* lens-window-ahead.c: the work ahead of a run.  look_ahead encodes the
 * picture, or reads the prompt of the task shown, when a model is loaded
 * and the engine idle; stop_look_ahead stops that job unless a run took it
 * over; ahead_serves_run: whether the job is one the run wants done (the
 * encoding, or its own prompt's prefill). */
void _lens_window_init_ahead(LensWindow *self);
void _lens_window_dispose_ahead(LensWindow *self);
void _lens_window_look_ahead(LensWindow *self);
void _lens_window_stop_look_ahead(LensWindow *self);
gboolean _lens_window_ahead_serves_run(LensWindow *self);

/* lens-window-open.c: actions win.open, win.open-recent, win.previous,
 * win.next, win.paste and their shortcuts; the drop target and the Open
 * Recent menu. */
void _lens_window_class_init_open(GtkWidgetClass *widget_class);
void _lens_window_init_open(LensWindow *self);

/* lens-window-export.c: actions win.export and win.copy-image. */
void _lens_window_class_init_export(GtkWidgetClass *widget_class);

G_END_DECLS
