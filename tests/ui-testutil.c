/* ui-testutil.c — helpers of the ui suite (see ui-testutil.h). */
#include "ui-testutil.h"

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "testutil.h"

const char *ui_test_tiny_model(void)
{
    static char *dir;
    if (dir != NULL)
        return dir;
    const char *build = g_getenv("PALI_BUILD_ROOT");
    g_assert_nonnull(build);
    g_autofree char *tool =
        g_build_filename(build, "tools", "palilens-make-model", NULL);
    dir = g_build_filename(test_tmpdir(), "tiny-model", NULL);
    const char *argv[] = { tool, "tiny", dir, NULL };
    g_autoptr(GError) error = NULL;
    int status = 0;
    g_autofree char *err_out = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, &err_out, &status, &error))
        g_error("cannot run %s: %s", tool, error->message);
    if (!g_spawn_check_wait_status(status, &error))
        g_error("%s tiny %s failed: %s\n%s", tool, dir, error->message,
                err_out);
    return dir;
}

char *ui_test_write_png(const char *name, int width, int height)
{
    g_autoptr(GdkPixbuf) pixbuf =
        gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, width, height);
    guint8 *pixels = gdk_pixbuf_get_pixels(pixbuf);
    int stride = gdk_pixbuf_get_rowstride(pixbuf);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            guint8 *p = pixels + y * stride + x * 3;
            p[0] = (guint8)(x * 255 / MAX(1, width - 1));
            p[1] = (guint8)(y * 255 / MAX(1, height - 1));
            p[2] = ((x / 16 + y / 16) % 2) ? 200 : 40;
        }
    char *path = g_build_filename(test_tmpdir(), name, NULL);
    g_autoptr(GError) error = NULL;
    if (!gdk_pixbuf_save(pixbuf, path, "png", &error, NULL))
        g_error("cannot write %s: %s", path, error->message);
    return path;
}

static gboolean flag_done(gpointer data)
{
    return *(const gboolean *)data;
}

gboolean ui_test_wait_for(const gboolean *flag, guint timeout_ms)
{
    return ui_test_wait_until(flag_done, (gpointer)flag, timeout_ms);
}

gboolean ui_test_wait_until(gboolean (*done)(gpointer data), gpointer data,
                            guint timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (!done(data) && g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000); /* nothing to do yet: the worker is busy */
    }
    return done(data);
}
