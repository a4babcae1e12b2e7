/* lens-picture.h — LensPicture, an opened image: its decoded RGB pixels for
 * the engine and a GdkTexture of the same pixels for the view, loaded off
 * the main thread. */
#pragma once

#include <gtk/gtk.h>

#include "pali.h"

G_BEGIN_DECLS

typedef struct _LensPicture LensPicture;

#define LENS_TYPE_PICTURE (lens_picture_get_type())
GType lens_picture_get_type(void) G_GNUC_CONST;
LensPicture *lens_picture_ref(LensPicture *picture);
void lens_picture_unref(LensPicture *picture);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LensPicture, lens_picture_unref)

/* Decodes a file in a thread.  Errors name the file and the problem. */
void lens_picture_load_async(GFile *file, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
LensPicture *lens_picture_load_finish(GAsyncResult *result, GError **error);
/* From a texture (a pasted image); alpha is dropped as for files. */
LensPicture *lens_picture_new_from_texture(GdkTexture *texture);

GFile *lens_picture_get_file(const LensPicture *picture); /* NULL: pasted */
/* The file's name, or "Pasted image". */
const char *lens_picture_get_title(const LensPicture *picture);
GdkTexture *lens_picture_get_texture(const LensPicture *picture);
/* RGB8 pixels, `stride` bytes per row, top row first. */
GBytes *lens_picture_get_pixels(const LensPicture *picture);
int lens_picture_get_width(const LensPicture *picture);
int lens_picture_get_height(const LensPicture *picture);
gsize lens_picture_get_stride(const LensPicture *picture);

G_END_DECLS
