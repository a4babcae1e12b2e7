/* lens-preferences.h — LensPreferences, the preferences window: threads,
 * maximum new tokens, default language, precision and overlay style, each
 * bound to the GSettings schema with g_settings_bind. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LENS_TYPE_PREFERENCES (lens_preferences_get_type())
G_DECLARE_FINAL_TYPE(LensPreferences, lens_preferences, LENS, PREFERENCES,
                     GtkWindow)

LensPreferences *lens_preferences_new(GtkWindow *parent);

G_END_DECLS
