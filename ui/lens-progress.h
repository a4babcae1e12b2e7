/* lens-progress.h — LensProgress, the progress bar of a running task: a
 * fraction, or a pulse when the end is unknown.  It only redraws when it
 * changes: GtkProgressBar re-allocates itself for every new fraction, and
 * under X11 every allocation of a window's content asks the X server for
 * the monitor's work area (several round trips), so a bar moved for every
 * streamed token kept the main loop waiting on the display server. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LENS_TYPE_PROGRESS (lens_progress_get_type())
G_DECLARE_FINAL_TYPE(LensProgress, lens_progress, LENS, PROGRESS, GtkWidget)

GtkWidget *lens_progress_new(void);
/* 0..1; stops a pulse. */
void lens_progress_set_fraction(LensProgress *self, double fraction);
double lens_progress_get_fraction(LensProgress *self);
/* Moves a block to and fro until the next fraction is set. */
void lens_progress_pulse(LensProgress *self);
gboolean lens_progress_get_pulsing(LensProgress *self);

G_END_DECLS
