/* lens-model-picker.h — LensModelPicker, the dialog that lists the
 * checkpoints found (grouped by size and resolution, with disk size and
 * memory needs), lets the person add folders, and says how to get a size
 * and resolution they do not have. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LENS_TYPE_MODEL_PICKER (lens_model_picker_get_type())
G_DECLARE_FINAL_TYPE(LensModelPicker, lens_model_picker, LENS, MODEL_PICKER,
                     GtkWindow)

/* `current` (may be NULL) is selected when found.  Emits
 * "model-chosen" (const char *dir) and closes when one is loaded. */
LensModelPicker *lens_model_picker_new(GtkWindow *parent, GSettings *settings,
                                       const char *current);

G_END_DECLS
