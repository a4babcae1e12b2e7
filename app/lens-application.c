/* lens-application.c — LensApplication (see lens-application.h).
 *
 * Command line: palilens [--model DIR] [--vae FILE] [IMAGE…].  Hidden
 * options drive the screenshot mode of tools/screenshots.sh: --task,
 * --text and --screenshot FILE run one task on the first image, render the
 * window to a PNG with GTK's own snapshot (not a screen grab) and quit;
 * --force-output TEXT makes the model emit TEXT (teacher forcing), for
 * screenshots with a random test model, which never writes four <loc>
 * tokens in a row on its own. */
#include "config.h"

#include "lens-application.h"

#include <glib/gi18n.h>

#include "lens-preferences.h"
#include "lens-window.h"

struct _LensApplication {
    GtkApplication parent_instance;

    /* owned */
    char *model_dir;    /* --model */
    char *vae_path;     /* --vae */
    char *screenshot;   /* --screenshot */
    char *force_output; /* --force-output */
    char *task;         /* --task */
    char *text;         /* --text */

    /* state: screenshot mode */
    gboolean screenshot_started;
};

G_DEFINE_FINAL_TYPE(LensApplication, lens_application, GTK_TYPE_APPLICATION)

/* Screenshot mode: time for the last frame to be laid out after the run
 * ends, and how long the whole thing may take before giving up. */
#define SCREENSHOT_SETTLE_MS 300
#define SCREENSHOT_TIMEOUT_S 600

static LensWindow *get_window(LensApplication *self)
{
    GtkWindow *window =
        gtk_application_get_active_window(GTK_APPLICATION(self));
    if (window == NULL) {
        window = GTK_WINDOW(lens_window_new(GTK_APPLICATION(self), NULL));
        LensEngine *engine = lens_window_get_engine(LENS_WINDOW(window));
        lens_engine_set_mask_decoder_path(engine, self->vae_path);
        lens_engine_set_forced_output(engine, self->force_output);
        const char *dir = self->model_dir;
        g_autoptr(GSettings) settings = g_settings_new(APP_ID);
        g_autofree char *last = g_settings_get_string(settings, "last-model");
        if (dir == NULL && last[0] != '\0' &&
            g_file_test(last, G_FILE_TEST_IS_DIR))
            dir = last;
        if (dir != NULL)
            lens_window_load_model(LENS_WINDOW(window), dir);
    }
    return LENS_WINDOW(window);
}

/* ---- screenshot mode -------------------------------------------------- */

static gboolean save_screenshot(gpointer data)
{
    LensApplication *self = data;
    GtkWidget *window = GTK_WIDGET(get_window(self));
    /* the overlay is drawn in a thread: wait for the last drawing */
    if (lens_image_view_get_overlay_pending(
            lens_window_get_image_view(LENS_WINDOW(window))))
        return G_SOURCE_CONTINUE;
    int width = gtk_widget_get_width(window);
    int height = gtk_widget_get_height(window);
    /* in device pixels, as the screen shows it (HiDPI included) */
    int scale = gtk_widget_get_scale_factor(window);
    g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new(window);
    GtkSnapshot *snapshot = gtk_snapshot_new();
    gtk_snapshot_scale(snapshot, scale, scale);
    gdk_paintable_snapshot(paintable, snapshot, width, height);
    g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node(snapshot);
    int status = 1;
    if (node != NULL) {
        GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(window));
        g_autoptr(GdkTexture) texture = gsk_renderer_render_texture(
            renderer, node,
            &GRAPHENE_RECT_INIT(0, 0, width * scale, height * scale));
        if (gdk_texture_save_to_png(texture, self->screenshot))
            status = 0;
        else
            g_printerr("palilens: could not write %s\n", self->screenshot);
    }
    const char *error = lens_window_get_error(LENS_WINDOW(window));
    if (error != NULL)
        g_printerr("palilens: %s\n", error);
    g_application_quit(G_APPLICATION(self));
    if (status != 0)
        exit(status);
    return G_SOURCE_REMOVE;
}

static void on_screenshot_busy(LensWindow *window, GParamSpec *pspec,
                               LensApplication *self)
{
    if (lens_window_get_busy(window))
        return;
    if (!self->screenshot_started && self->task != NULL &&
        lens_engine_get_model_info(lens_window_get_engine(window)) != NULL &&
        lens_window_get_error(window) == NULL) {
        pali_task task;
        if (!pali_task_from_name(self->task, &task)) {
            g_printerr("palilens: unknown task %s\n", self->task);
            exit(2);
        }
        self->screenshot_started = TRUE;
        lens_window_set_task(window, task, self->text);
        gtk_widget_activate_action(GTK_WIDGET(window), "win.run", NULL);
        if (lens_window_get_busy(window))
            return;
    }
    g_signal_handlers_disconnect_by_func(window, on_screenshot_busy, self);
    g_timeout_add(SCREENSHOT_SETTLE_MS, save_screenshot, self);
}

static gboolean screenshot_timeout(gpointer data)
{
    g_printerr("palilens: screenshot mode timed out\n");
    exit(1);
    return G_SOURCE_REMOVE;
}

static void start_screenshot_mode(LensApplication *self, LensWindow *window)
{
    g_signal_connect(window, "notify::busy", G_CALLBACK(on_screenshot_busy),
                     self);
    g_timeout_add_seconds(SCREENSHOT_TIMEOUT_S, screenshot_timeout, NULL);
    if (!lens_window_get_busy(window))
        on_screenshot_busy(window, NULL, self);
}

/* ---- GApplication ----------------------------------------------------- */

static void make_absolute(char **path)
{
    if (*path == NULL)
        return;
    g_autoptr(GFile) f = g_file_new_for_commandline_arg(*path);
    g_free(*path);
    *path = g_file_get_path(f);
}

static int lens_application_handle_local_options(GApplication *app,
                                                 GVariantDict *options)
{
    LensApplication *self = LENS_APPLICATION(app);
    if (g_variant_dict_contains(options, "version")) {
        g_print("palilens %s\n", PACKAGE_VERSION);
        return 0;
    }
    g_variant_dict_lookup(options, "model", "^ay", &self->model_dir);
    g_variant_dict_lookup(options, "vae", "^ay", &self->vae_path);
    g_variant_dict_lookup(options, "screenshot", "^ay", &self->screenshot);
    g_variant_dict_lookup(options, "task", "s", &self->task);
    g_variant_dict_lookup(options, "text", "s", &self->text);
    g_variant_dict_lookup(options, "force-output", "s", &self->force_output);
    if (self->force_output != NULL && self->screenshot == NULL) {
        g_printerr("palilens: --force-output works only with --screenshot\n");
        return 2;
    }
    /* relative to where palilens was started */
    make_absolute(&self->model_dir);
    make_absolute(&self->vae_path);
    if (self->screenshot != NULL)
        g_application_set_flags(app, g_application_get_flags(app) |
                                         G_APPLICATION_NON_UNIQUE);
    return -1;
}

static void lens_application_activate(GApplication *app)
{
    LensApplication *self = LENS_APPLICATION(app);
    LensWindow *window = get_window(self);
    gtk_window_present(GTK_WINDOW(window));
    if (self->screenshot != NULL)
        start_screenshot_mode(self, window);
}

static void lens_application_open(GApplication *app, GFile **files, int n_files,
                                  const char *hint)
{
    LensApplication *self = LENS_APPLICATION(app);
    LensWindow *window = get_window(self);
    if (n_files > 0)
        lens_window_open_file(window, files[0]);
    gtk_window_present(GTK_WINDOW(window));
    if (self->screenshot != NULL)
        start_screenshot_mode(self, window);
}

static void about_action(GSimpleAction *action, GVariant *param, gpointer data)
{
    GtkApplication *app = data;
    static const char *const authors[] = { "The PaliLens developers", NULL };
    gtk_show_about_dialog(
        gtk_application_get_active_window(app), "program-name", "PaliLens",
        "logo-icon-name", APP_ID, "version", PACKAGE_VERSION, "comments",
        _("Understand images with PaliGemma 2, on your own computer"),
        "license-type", GTK_LICENSE_APACHE_2_0, "authors", authors,
        /* Translators: your names, one per line */
        "translator-credits", _("translator-credits"), NULL);
}

static void preferences_action(GSimpleAction *action, GVariant *param,
                               gpointer data)
{
    GtkApplication *app = data;
    LensPreferences *prefs =
        lens_preferences_new(gtk_application_get_active_window(app));
    gtk_window_present(GTK_WINDOW(prefs));
}

static void quit_action(GSimpleAction *action, GVariant *param, gpointer data)
{
    GtkApplication *app = data;
    GList *windows = g_list_copy(gtk_application_get_windows(app));
    for (GList *l = windows; l != NULL; l = l->next)
        gtk_window_destroy(l->data);
    g_list_free(windows);
}

static void lens_application_startup(GApplication *app)
{
    G_APPLICATION_CLASS(lens_application_parent_class)->startup(app);

    static const GActionEntry entries[] = {
        { .name = "about", .activate = about_action },
        { .name = "preferences", .activate = preferences_action },
        { .name = "quit", .activate = quit_action },
    };
    g_action_map_add_action_entries(G_ACTION_MAP(app), entries,
                                    G_N_ELEMENTS(entries), app);

    static const struct {
        const char *action;
        const char *accels[3];
    } accels[] = {
        { "app.quit", { "<Control>q", NULL } },
        { "app.preferences", { "<Control>comma", NULL } },
        { "win.export", { "<Control>s", NULL } },
        { "win.copy-image", { "<Control><Shift>c", NULL } },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(accels); i++)
        gtk_application_set_accels_for_action(
            GTK_APPLICATION(app), accels[i].action, accels[i].accels);

    g_autoptr(GtkCssProvider) css = gtk_css_provider_new();
    gtk_css_provider_load_from_resource(css,
                                        "/org/palilens/PaliLens/style.css");
    gtk_style_context_add_provider_for_display(
        gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
        GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    gtk_window_set_default_icon_name(APP_ID);
}

LensApplication *lens_application_new(void)
{
    return g_object_new(LENS_TYPE_APPLICATION, "application-id", APP_ID,
                        "flags", G_APPLICATION_HANDLES_OPEN,
                        "resource-base-path", "/org/palilens/PaliLens", NULL);
}

static void lens_application_finalize(GObject *object)
{
    LensApplication *self = LENS_APPLICATION(object);
    g_free(self->model_dir);
    g_free(self->vae_path);
    g_free(self->screenshot);
    g_free(self->force_output);
    g_free(self->task);
    g_free(self->text);
    G_OBJECT_CLASS(lens_application_parent_class)->finalize(object);
}

static void lens_application_class_init(LensApplicationClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GApplicationClass *app_class = G_APPLICATION_CLASS(klass);
    object_class->finalize = lens_application_finalize;
    app_class->handle_local_options = lens_application_handle_local_options;
    app_class->activate = lens_application_activate;
    app_class->open = lens_application_open;
    app_class->startup = lens_application_startup;
}

static void lens_application_init(LensApplication *self)
{
    static const GOptionEntry options[] = {
        { "model", 'm', 0, G_OPTION_ARG_FILENAME, NULL,
          N_("Load the model in DIR"), N_("DIR") },
        { "vae", 0, 0, G_OPTION_ARG_FILENAME, NULL,
          N_("Decode segmentation masks with FILE (vae-oid.npz)"), N_("FILE") },
        { "version", 0, 0, G_OPTION_ARG_NONE, NULL,
          N_("Print the version and exit"), NULL },
        { "screenshot", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL,
          "Run the task on the image, save the window as PNG, quit", "FILE" },
        { "task", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
          "Task for --screenshot (caption, detect, segment, …)", "TASK" },
        { "text", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
          "The task's text for --screenshot", "TEXT" },
        { "force-output", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, NULL,
          "With --screenshot: make the model emit TEXT (teacher forcing)",
          "TEXT" },
        { NULL },
    };
    g_application_add_main_option_entries(G_APPLICATION(self), options);
    g_application_set_option_context_parameter_string(G_APPLICATION(self),
                                                      N_("[IMAGE…]"));
}
