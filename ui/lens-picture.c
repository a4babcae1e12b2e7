/* lens-picture.c — LensPicture (see lens-picture.h).
 *
 * Files are decoded by lens_image_load (app/lens-image-loader.c): the
 * pixels the reference sees (Pillow's), with the EXIF orientation applied
 * so that boxes and masks land on the picture as the person sees it.
 * Pasted images come as textures; alpha is dropped as for files. */
#include "config.h"

#include "lens-picture.h"

#include <glib/gi18n.h>

#include "lens-image-loader.h"

/* Bytes per pixel of the RGB8 buffers handed to the engine. */
#define RGB_BYTES 3

struct _LensPicture {
    GFile *file;
    char *title;
    GdkTexture *texture;
    GBytes *pixels; /* (height, stride) RGB8 */
    int width, height;
    gsize stride;
};

G_DEFINE_BOXED_TYPE(LensPicture, lens_picture, lens_picture_ref,
                    lens_picture_unref)

static void lens_picture_clear(gpointer data)
{
    LensPicture *picture = data;
    g_clear_object(&picture->file);
    g_free(picture->title);
    g_clear_object(&picture->texture);
    g_clear_pointer(&picture->pixels, g_bytes_unref);
}

LensPicture *lens_picture_ref(LensPicture *picture)
{
    return g_atomic_rc_box_acquire(picture);
}

void lens_picture_unref(LensPicture *picture)
{
    g_atomic_rc_box_release_full(picture, lens_picture_clear);
}

static LensPicture *picture_new(GBytes *pixels, int width, int height,
                                gsize stride)
{
    LensPicture *picture = g_atomic_rc_box_new0(LensPicture);
    picture->pixels = pixels;
    picture->width = width;
    picture->height = height;
    picture->stride = stride;
    picture->texture = gdk_memory_texture_new(width, height, GDK_MEMORY_R8G8B8,
                                              pixels, stride);
    return picture;
}

static void load_thread(GTask *task, gpointer source, gpointer data,
                        GCancellable *cancellable)
{
    GFile *file = data;
    GError *error = NULL;
    g_autoptr(LensImage) image = NULL;
    g_autofree char *path = g_file_get_path(file);
    if (path != NULL) {
        image = lens_image_load(path, LENS_IMAGE_LOAD_ORIENT, &error);
    } else {
        /* not a local file (e.g. a remote location the desktop mounted) */
        g_autofree char *name = g_file_get_parse_name(file);
        g_autoptr(GBytes) bytes =
            g_file_load_bytes(file, cancellable, NULL, &error);
        if (bytes != NULL)
            image = lens_image_load_bytes(bytes, name, LENS_IMAGE_LOAD_ORIENT,
                                          &error);
    }
    if (image == NULL) {
        g_task_return_error(task, error);
        return;
    }
    LensPicture *picture = picture_new(
        g_bytes_ref(lens_image_get_bytes(image)), lens_image_get_width(image),
        lens_image_get_height(image), lens_image_get_stride(image));
    picture->file = g_object_ref(file);
    picture->title = g_file_get_basename(file);
    g_task_return_pointer(task, picture, (GDestroyNotify)lens_picture_unref);
}

void lens_picture_load_async(GFile *file, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(G_IS_FILE(file));
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, lens_picture_load_async);
    g_task_set_task_data(task, g_object_ref(file), g_object_unref);
    g_task_run_in_thread(task, load_thread);
}

LensPicture *lens_picture_load_finish(GAsyncResult *result, GError **error)
{
    return g_task_propagate_pointer(G_TASK(result), error);
}

LensPicture *lens_picture_new_from_texture(GdkTexture *texture)
{
    g_return_val_if_fail(GDK_IS_TEXTURE(texture), NULL);
    int width = gdk_texture_get_width(texture);
    int height = gdk_texture_get_height(texture);
    /* gdk_texture_download gives cairo's ARGB32: premultiplied B G R A
     * in memory on little-endian, A R G B on big-endian. */
    gsize argb_stride = (gsize)width * 4;
    g_autofree guint8 *argb = g_malloc(argb_stride * height);
    gdk_texture_download(texture, argb, argb_stride);
    gsize stride = (gsize)width * RGB_BYTES;
    guint8 *rgb = g_malloc(stride * height);
    for (int y = 0; y < height; y++) {
        const guint32 *s = (const guint32 *)(argb + (gsize)y * argb_stride);
        guint8 *d = rgb + (gsize)y * stride;
        for (int x = 0; x < width; x++, d += RGB_BYTES) {
            guint32 p = s[x];
            guint a = p >> 24;
            guint c[3] = { (p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff };
            for (int k = 0; k < 3; k++)
                d[k] = a == 0 ? 0 : (guint8)MIN(255u, (c[k] * 255 + a / 2) / a);
        }
    }
    LensPicture *picture = picture_new(g_bytes_new_take(rgb, stride * height),
                                       width, height, stride);
    picture->title = g_strdup(_("Pasted image"));
    return picture;
}

GFile *lens_picture_get_file(const LensPicture *picture)
{
    return picture->file;
}

const char *lens_picture_get_title(const LensPicture *picture)
{
    return picture->title;
}

GdkTexture *lens_picture_get_texture(const LensPicture *picture)
{
    return picture->texture;
}

GBytes *lens_picture_get_pixels(const LensPicture *picture)
{
    return picture->pixels;
}

int lens_picture_get_width(const LensPicture *picture)
{
    return picture->width;
}

int lens_picture_get_height(const LensPicture *picture)
{
    return picture->height;
}

gsize lens_picture_get_stride(const LensPicture *picture)
{
    return picture->stride;
}
