/* lens-results-list.h — LensResultsList, the list of detected or segmented
 * objects: a colour swatch (the object's overlay colour), the label, the
 * box in image pixels and the area.  Hovering a row highlights the object
 * ("highlighted", bound to the image view's), and the row of the object
 * hovered in the image is highlighted in turn. */
#pragma once

#include <gtk/gtk.h>

#include "lens-overlay.h"

G_BEGIN_DECLS

#define LENS_TYPE_RESULTS_LIST (lens_results_list_get_type())
G_DECLARE_FINAL_TYPE(LensResultsList, lens_results_list, LENS, RESULTS_LIST,
                     GtkBox)

/* Shows the objects of `overlay` (borrowed for the call) with their
 * overlay colours; NULL or no objects hides the list. */
void lens_results_list_set_overlay(LensResultsList *self,
                                   const LensOverlay *overlay);
int lens_results_list_get_n_objects(LensResultsList *self);
/* The highlighted object, or -1. */
int lens_results_list_get_highlighted(LensResultsList *self);
void lens_results_list_set_highlighted(LensResultsList *self, int index);

G_END_DECLS
