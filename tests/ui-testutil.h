/* ui-testutil.h — helpers for the ui suite: a tiny random model made by
 * palilens-make-model at test time, test images, and running the main
 * loop until something happens. */
#pragma once

#include <gio/gio.h>

/* Makes (once per process) a tiny model with tools/palilens-make-model in
 * the test's temporary directory and returns its folder. */
const char *ui_test_tiny_model(void);
/* Writes a w×h RGB PNG with a simple pattern (PNG via GdkPixbuf) into the
 * temporary directory and returns its path (owned by the caller). */
char *ui_test_write_png(const char *name, int width, int height);
/* Iterates the default main context until *flag is TRUE or `timeout_ms`
 * passes; returns *flag. */
gboolean ui_test_wait_for(const gboolean *flag, guint timeout_ms);
/* Iterates until `done(data)` returns TRUE or the timeout passes. */
gboolean ui_test_wait_until(gboolean (*done)(gpointer data), gpointer data,
                            guint timeout_ms);
