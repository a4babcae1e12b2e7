/* lens-window.h — LensWindow, the main window: image view, task panel,
 * answer, results and overlays, and the actions that drive them. */
#pragma once

#include <gtk/gtk.h>

#include "lens-answer.h"
#include "lens-engine.h"
#include "lens-image-view.h"

G_BEGIN_DECLS

#define LENS_TYPE_WINDOW (lens_window_get_type())
G_DECLARE_FINAL_TYPE(LensWindow, lens_window, LENS, WINDOW,
                     GtkApplicationWindow)

LensWindow *lens_window_new(GtkApplication *app, LensEngine *engine);

/* Opens an image file (decoded in the background). */
void lens_window_open_file(LensWindow *self, GFile *file);
/* Loads a model folder in the background and remembers it. */
void lens_window_load_model(LensWindow *self, const char *dir);

/* TRUE while an image or model loads or a task runs. */
gboolean lens_window_get_busy(LensWindow *self);
/* The last answer (partial while running), or NULL. */
LensAnswer *lens_window_get_answer(LensWindow *self);
/* The message shown in the info bar, or NULL when it is hidden. */
const char *lens_window_get_error(LensWindow *self);
LensImageView *lens_window_get_image_view(LensWindow *self);
LensEngine *lens_window_get_engine(LensWindow *self);

/* Chooses the task and its text, as the task panel would. */
void lens_window_set_task(LensWindow *self, pali_task task, const char *text);

G_END_DECLS
