/* lens-application.h — LensApplication, the GtkApplication of PaliLens:
 * command line (palilens [--model DIR] [IMAGE…]), app actions (about,
 * preferences, quit), CSS, and the hidden screenshot mode used by
 * tools/screenshots.sh. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LENS_TYPE_APPLICATION (lens_application_get_type())
G_DECLARE_FINAL_TYPE(LensApplication, lens_application, LENS, APPLICATION,
                     GtkApplication)

LensApplication *lens_application_new(void);

G_END_DECLS
