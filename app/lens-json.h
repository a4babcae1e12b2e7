/* lens-json.h — a small streaming JSON writer over a GString, used by the
 * CLI's --json output and the exporters.  Commas and nesting are tracked
 * for the caller; strings are escaped (valid UTF-8 is assumed: the engine
 * only hands out valid UTF-8). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LensJson LensJson;

LensJson *lens_json_new(gboolean pretty);
void lens_json_free(LensJson *self);
/* Returns the text and frees the writer. */
char *lens_json_free_to_string(LensJson *self);
const char *lens_json_peek(LensJson *self);

void lens_json_begin_object(LensJson *self);
void lens_json_end_object(LensJson *self);
void lens_json_begin_array(LensJson *self);
void lens_json_end_array(LensJson *self);
/* Inside an object: the next value's key. */
void lens_json_key(LensJson *self, const char *key);

void lens_json_string(LensJson *self, const char *value);
void lens_json_string_len(LensJson *self, const char *value, gssize len);
void lens_json_int(LensJson *self, gint64 value);
/* Shortest text that reads back as the same double; NaN/inf as null. */
void lens_json_double(LensJson *self, double value);
void lens_json_bool(LensJson *self, gboolean value);
void lens_json_null(LensJson *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LensJson, lens_json_free)

G_END_DECLS
