/* lens-task-panel.h — LensTaskPanel: the task chooser (caption, describe,
 * OCR, question answering, detection, segmentation, raw prompt), its text
 * field, the answer language, and the Run / Stop button. */
#pragma once

#include <gtk/gtk.h>

#include "pali.h"

G_BEGIN_DECLS

#define LENS_TYPE_TASK_PANEL (lens_task_panel_get_type())
G_DECLARE_FINAL_TYPE(LensTaskPanel, lens_task_panel, LENS, TASK_PANEL, GtkBox)

pali_task lens_task_panel_get_task(LensTaskPanel *self);
void lens_task_panel_set_task(LensTaskPanel *self, pali_task task);
/* The question, objects or prompt; "" for tasks without one. */
const char *lens_task_panel_get_text(LensTaskPanel *self);
void lens_task_panel_set_text(LensTaskPanel *self, const char *text);
/* A code of pali_task_languages(). */
const char *lens_task_panel_get_language(LensTaskPanel *self);
void lens_task_panel_set_language(LensTaskPanel *self, const char *code);
/* Shows Stop instead of Run. */
void lens_task_panel_set_running(LensTaskPanel *self, gboolean running);
/* Whether the task needs text that is still empty. */
gboolean lens_task_panel_is_ready(LensTaskPanel *self);
/* Puts the keyboard focus where the person types next. */
void lens_task_panel_focus_input(LensTaskPanel *self);

G_END_DECLS
