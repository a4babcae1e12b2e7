/* test-ui-window.c — the main window under Xvfb with a tiny random model
 * made by palilens-make-model: it opens without and with a model, opens an
 * image through its action, runs a task to completion while the main loop
 * keeps responding, stops a run mid-prefill and stays usable, zooms, and
 * shows a clear message for an unreadable image. */
#include "config.h"

#include <glib/gi18n.h>

#include "lens-application.h"
#include "lens-model-picker.h"
#include "lens-window.h"
#include "testutil.h"
#include "ui-testutil.h"

/* The window must never freeze: the longest main-loop iteration while the
 * engine runs (the brief's bound). */
#define MAX_ITERATION_GAP_US (100 * 1000)
/* Stop must leave the app idle within a fraction of a second. */
#define STOP_LATENCY_MAX_US (500 * 1000)
#define WAIT_MS             60000

static GtkApplication *app;

typedef struct {
    LensWindow *window;
    gint64 max_gap_us; /* longest main-loop iteration while waiting */
} Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data)
{
    f->window = lens_window_new(app, NULL);
    gtk_window_present(GTK_WINDOW(f->window));
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
    gtk_window_destroy(GTK_WINDOW(f->window));
    /* let the window go before the next test */
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

static gboolean window_idle(gpointer data)
{
    return !lens_window_get_busy(LENS_WINDOW(data));
}

/* Iterates until the window is idle, timing every iteration. */
static void wait_idle(Fixture *f)
{
    gint64 end = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    while (!window_idle(f->window)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        gint64 t0 = g_get_monotonic_time();
        gboolean dispatched = g_main_context_iteration(NULL, FALSE);
        f->max_gap_us = MAX(f->max_gap_us, g_get_monotonic_time() - t0);
        if (!dispatched)
            g_usleep(500);
    }
    /* and let the last updates draw */
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

/* A visible label with exactly this text somewhere in the window. */
static gboolean find_label(GtkWidget *widget, const char *text)
{
    if (!gtk_widget_get_visible(widget))
        return FALSE;
    if (GTK_IS_LABEL(widget) &&
        g_strcmp0(gtk_label_get_text(GTK_LABEL(widget)), text) == 0)
        return gtk_widget_get_mapped(widget);
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c != NULL;
         c = gtk_widget_get_next_sibling(c))
        if (find_label(c, text))
            return TRUE;
    return FALSE;
}

static GtkWidget *find_check(GtkWidget *widget, const char *label)
{
    if (GTK_IS_CHECK_BUTTON(widget) &&
        g_strcmp0(gtk_check_button_get_label(GTK_CHECK_BUTTON(widget)),
                  label) == 0)
        return widget;
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c != NULL;
         c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *found = find_check(c, label);
        if (found != NULL)
            return found;
    }
    return NULL;
}

/* The action of the window's shortcut for `accelerator`, or NULL. */
static char *shortcut_action(GtkWidget *window, const char *accelerator)
{
    guint key;
    GdkModifierType mods;
    g_assert_true(gtk_accelerator_parse(accelerator, &key, &mods));
    g_autoptr(GListModel) controllers = gtk_widget_observe_controllers(window);
    for (guint c = 0; c < g_list_model_get_n_items(controllers); c++) {
        g_autoptr(GObject) controller = g_list_model_get_item(controllers, c);
        if (!GTK_IS_SHORTCUT_CONTROLLER(controller))
            continue;
        GListModel *shortcuts = G_LIST_MODEL(controller);
        for (guint i = 0; i < g_list_model_get_n_items(shortcuts); i++) {
            g_autoptr(GtkShortcut) s = g_list_model_get_item(shortcuts, i);
            GtkShortcutTrigger *t = gtk_shortcut_get_trigger(s);
            GtkShortcutAction *a = gtk_shortcut_get_action(s);
            if (GTK_IS_KEYVAL_TRIGGER(t) &&
                gtk_keyval_trigger_get_keyval(GTK_KEYVAL_TRIGGER(t)) == key &&
                gtk_keyval_trigger_get_modifiers(GTK_KEYVAL_TRIGGER(t)) ==
                    mods &&
                GTK_IS_NAMED_ACTION(a))
                return g_strdup(
                    gtk_named_action_get_action_name(GTK_NAMED_ACTION(a)));
        }
    }
    return NULL;
}

static void open_image(Fixture *f, const char *path)
{
    g_autoptr(GFile) file = g_file_new_for_path(path);
    g_autofree char *uri = g_file_get_uri(file);
    g_assert_true(gtk_widget_activate_action(GTK_WIDGET(f->window),
                                             "win.open-recent", "s", uri));
    wait_idle(f);
}

static void load_tiny_model(Fixture *f)
{
    lens_window_load_model(f->window, ui_test_tiny_model());
    g_assert_true(lens_window_get_busy(f->window));
    wait_idle(f);
    g_assert_null(lens_window_get_error(f->window));
    g_assert_nonnull(
        lens_engine_get_model_info(lens_window_get_engine(f->window)));
}

static void test_no_model(Fixture *f, gconstpointer data)
{
    wait_idle(f);
    GtkWidget *w = GTK_WIDGET(f->window);
    g_assert_true(gtk_widget_get_mapped(w));
    g_assert_null(
        lens_engine_get_model_info(lens_window_get_engine(f->window)));
    /* the welcome state says how to get a checkpoint */
    g_assert_true(find_label(w, _("Welcome to PaliLens")));
    g_assert_true(find_label(w, _("No model yet")));

    /* images can still be opened and viewed */
    g_autofree char *png = ui_test_write_png("nomodel.png", 120, 80);
    open_image(f, png);
    g_assert_null(lens_window_get_error(f->window));
    LensImageView *view = lens_window_get_image_view(f->window);
    GdkTexture *texture = lens_image_view_get_texture(view);
    g_assert_nonnull(texture);
    g_assert_cmpint(gdk_texture_get_width(texture), ==, 120);
    g_assert_cmpint(gdk_texture_get_height(texture), ==, 80);
    g_assert_true(gtk_widget_get_mapped(GTK_WIDGET(view)));

    /* running needs a model: nothing starts */
    gtk_widget_activate_action(w, "win.run", NULL);
    g_assert_false(lens_window_get_busy(f->window));
    g_assert_null(lens_window_get_answer(f->window));
}

static void test_open_error(Fixture *f, gconstpointer data)
{
    g_autofree char *bad = g_build_filename(test_tmpdir(), "bad.png", NULL);
    g_assert_true(g_file_set_contents(bad, "not an image", -1, NULL));
    open_image(f, bad);
    const char *error = lens_window_get_error(f->window);
    g_assert_nonnull(error);
    /* still usable: a good image opens and clears the message */
    g_autofree char *png = ui_test_write_png("good.png", 64, 64);
    open_image(f, png);
    g_assert_null(lens_window_get_error(f->window));
    g_assert_nonnull(
        lens_image_view_get_texture(lens_window_get_image_view(f->window)));
}

static void run_task(Fixture *f, pali_task task, const char *text)
{
    lens_window_set_task(f->window, task, text);
    g_assert_true(
        gtk_widget_activate_action(GTK_WIDGET(f->window), "win.run", NULL));
    g_assert_true(lens_window_get_busy(f->window));
    wait_idle(f);
}

/* Sixteen <seg> codes. */
#define SEG16                                                                  \
    "<seg010><seg020><seg030><seg040><seg050><seg060><seg070><seg080>"         \
    "<seg090><seg100><seg110><seg120><seg005><seg015><seg025><seg035>"

static void test_run(Fixture *f, gconstpointer data)
{
    /* masks for the forced segmentation below */
    g_autofree char *vae = test_data_path("segmentation/vae-random.npz");
    LensEngine *engine = lens_window_get_engine(f->window);
    lens_engine_set_mask_decoder_path(engine, vae);
    load_tiny_model(f);
    /* a photo-like size: masks placed at full resolution are real work */
    g_autofree char *png = ui_test_write_png("run.png", 800, 600);
    open_image(f, png);

    f->max_gap_us = 0;
    run_task(f, PALI_TASK_CAPTION, NULL);
    g_assert_null(lens_window_get_error(f->window));
    LensAnswer *answer = lens_window_get_answer(f->window);
    g_assert_nonnull(answer);
    g_assert_true(lens_answer_is_final(answer));
    g_assert_cmpint(lens_answer_get_n_generated(answer), >=, 1);

    /* another task on the same image, with its text */
    run_task(f, PALI_TASK_DETECT, "cat ; dog");
    g_assert_null(lens_window_get_error(f->window));
    g_assert_true(lens_answer_is_final(lens_window_get_answer(f->window)));

    /* segmentation streaming three large masks (the tiny model's own
     * output has none: forced, as the screenshots do) */
    lens_engine_set_forced_output(
        engine, "<loc0000><loc0000><loc1023><loc1023>" SEG16 " sky ; "
                "<loc0100><loc0200><loc0900><loc0800>" SEG16 " cat ; "
                "<loc0300><loc0100><loc1000><loc0600>" SEG16 " dog<eos>");
    run_task(f, PALI_TASK_SEGMENT, "sky ; cat ; dog");
    lens_engine_set_forced_output(engine, NULL);
    g_assert_null(lens_window_get_error(f->window));
    answer = lens_window_get_answer(f->window);
    g_assert_true(lens_answer_is_final(answer));
    const LensOverlay *overlay = lens_answer_get_overlay(answer);
    g_assert_nonnull(overlay);
    g_assert_cmpint(lens_overlay_get_n_objects(overlay), ==, 3);
    for (int i = 0; i < 3; i++)
        g_assert_nonnull(lens_overlay_get_object(overlay, i)->mask);
    g_assert_true(lens_image_view_get_overlay(
                      lens_window_get_image_view(f->window)) == overlay);

    g_test_message("longest main-loop iteration while running: %.1f ms",
                   f->max_gap_us / 1000.0);
    g_assert_cmpint(f->max_gap_us, <, MAX_ITERATION_GAP_US);
}

static void test_stop(Fixture *f, gconstpointer data)
{
    load_tiny_model(f);
    g_autofree char *png = ui_test_write_png("stop.png", 200, 200);
    open_image(f, png);
    run_task(f, PALI_TASK_CAPTION, NULL); /* encodes the image */
    g_assert_true(lens_answer_is_final(lens_window_get_answer(f->window)));

    /* The image is cached, so the run starts with the prefill: stop it
     * right away, as Escape does. */
    GtkWidget *w = GTK_WIDGET(f->window);
    lens_window_set_task(f->window, PALI_TASK_DESCRIBE, NULL);
    g_assert_true(gtk_widget_activate_action(w, "win.run", NULL));
    g_assert_true(lens_window_get_busy(f->window));
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(gtk_widget_activate_action(w, "win.stop", NULL));
    wait_idle(f);
    gint64 latency = g_get_monotonic_time() - t0;
    g_test_message("stopped in %.1f ms", latency / 1000.0);
    g_assert_cmpint(latency, <, STOP_LATENCY_MAX_US);
    g_assert_false(lens_engine_get_busy(lens_window_get_engine(f->window)));
    g_assert_null(lens_window_get_error(f->window));
    LensAnswer *stopped = lens_window_get_answer(f->window);
    g_assert_true(stopped == NULL || !lens_answer_is_final(stopped));

    /* idle and usable: the next run completes */
    run_task(f, PALI_TASK_CAPTION, NULL);
    g_assert_null(lens_window_get_error(f->window));
    g_assert_true(lens_answer_is_final(lens_window_get_answer(f->window)));
}

static GtkWidget *find_type(GtkWidget *widget, GType type)
{
    if (G_TYPE_CHECK_INSTANCE_TYPE(widget, type))
        return widget;
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c != NULL;
         c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *found = find_type(c, type);
        if (found != NULL)
            return found;
    }
    return NULL;
}

static GtkWidget *find_picker(void)
{
    GListModel *toplevels = gtk_window_get_toplevels();
    for (guint i = 0; i < g_list_model_get_n_items(toplevels); i++) {
        g_autoptr(GtkWidget) w = g_list_model_get_item(toplevels, i);
        if (LENS_IS_MODEL_PICKER(w))
            return w;
    }
    return NULL;
}

static GtkListBoxRow *find_row(GtkListBox *list, const char *tooltip_part)
{
    for (GtkWidget *row = gtk_widget_get_first_child(GTK_WIDGET(list));
         row != NULL; row = gtk_widget_get_next_sibling(row)) {
        const char *tip = gtk_widget_get_tooltip_text(row);
        if (tip != NULL && strstr(tip, tooltip_part) != NULL)
            return GTK_LIST_BOX_ROW(row);
    }
    return NULL;
}

static gboolean find_label_containing(GtkWidget *widget, const char *text)
{
    if (GTK_IS_LABEL(widget) &&
        strstr(gtk_label_get_text(GTK_LABEL(widget)), text) != NULL)
        return TRUE;
    for (GtkWidget *c = gtk_widget_get_first_child(widget); c != NULL;
         c = gtk_widget_get_next_sibling(c))
        if (find_label_containing(c, text))
            return TRUE;
    return FALSE;
}

static gboolean picker_scanned(gpointer data)
{
    GtkListBox *list = data;
    return find_row(list, "tiny-model") != NULL;
}

/* The model picker lists the folders added in the settings, says how to
 * get a size it does not have, and loads the one chosen. */
static void test_model_picker(Fixture *f, gconstpointer data)
{
    g_autofree char *empty_hub =
        g_build_filename(test_tmpdir(), "no-hub", NULL);
    g_setenv("HF_HUB_CACHE", empty_hub, TRUE);
    const char *model = ui_test_tiny_model();
    g_autoptr(GSettings) settings = g_settings_new(APP_ID);
    const char *dirs[] = { model, NULL };
    g_settings_set_strv(settings, "model-dirs", dirs);

    g_assert_true(gtk_widget_activate_action(GTK_WIDGET(f->window),
                                             "win.choose-model", NULL));
    GtkWidget *picker = find_picker();
    g_assert_nonnull(picker);
    GtkListBox *list = GTK_LIST_BOX(find_type(picker, GTK_TYPE_LIST_BOX));
    g_assert_true(ui_test_wait_until(picker_scanned, list, 10000));

    /* a size and resolution that is not installed: how to get it */
    GtkListBoxRow *missing = NULL;
    for (GtkWidget *row = gtk_widget_get_first_child(GTK_WIDGET(list));
         row != NULL && missing == NULL; row = gtk_widget_get_next_sibling(row))
        if (gtk_list_box_row_get_selectable(GTK_LIST_BOX_ROW(row)) &&
            gtk_widget_get_tooltip_text(row) == NULL)
            missing = GTK_LIST_BOX_ROW(row);
    g_assert_nonnull(missing); /* 3B at 224 px comes first */
    gtk_list_box_select_row(list, missing);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    GtkRevealer *howto = GTK_REVEALER(find_type(picker, GTK_TYPE_REVEALER));
    g_assert_true(gtk_revealer_get_reveal_child(howto));
    g_assert_true(find_label_containing(
        GTK_WIDGET(howto),
        "huggingface-cli download google/paligemma2-3b-mix-224"));

    /* the installed one loads */
    gtk_list_box_select_row(list, find_row(list, "tiny-model"));
    g_assert_true(gtk_widget_activate_action(picker, "picker.load", NULL));
    g_assert_true(lens_window_get_busy(f->window));
    wait_idle(f);
    g_assert_null(lens_window_get_error(f->window));
    const pali_model_info *info =
        lens_engine_get_model_info(lens_window_get_engine(f->window));
    g_assert_nonnull(info);
    g_assert_nonnull(strstr(info->dir, "tiny-model"));
    g_autofree char *last = g_settings_get_string(settings, "last-model");
    g_assert_nonnull(strstr(last, "tiny-model"));
    g_settings_reset(settings, "model-dirs");
    g_settings_reset(settings, "last-model");
    g_unsetenv("HF_HUB_CACHE");
}

/* The overlay toggles are check buttons that show the settings (their
 * state visible), the image view follows them, and each has a shortcut. */
static void test_overlay_toggles(Fixture *f, gconstpointer data)
{
    g_autofree char *png = ui_test_write_png("toggles.png", 64, 64);
    open_image(f, png);
    GtkWidget *boxes = find_check(GTK_WIDGET(f->window), _("Boxes"));
    g_assert_nonnull(boxes);
    g_assert_nonnull(find_check(GTK_WIDGET(f->window), _("Masks")));
    g_assert_nonnull(find_check(GTK_WIDGET(f->window), _("Labels")));
    LensImageView *view = lens_window_get_image_view(f->window);
    g_autoptr(GSettings) settings = g_settings_new(APP_ID);
    g_settings_set_boolean(settings, "show-boxes", TRUE);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    g_assert_true(gtk_check_button_get_active(GTK_CHECK_BUTTON(boxes)));
    g_assert_true(lens_image_view_get_style(view).show_boxes);
    /* clicking the toggle turns the setting and the view's boxes off */
    g_signal_emit_by_name(boxes, "activate");
    while (g_main_context_iteration(NULL, FALSE))
        ;
    g_assert_false(g_settings_get_boolean(settings, "show-boxes"));
    g_assert_false(lens_image_view_get_style(view).show_boxes);
    g_assert_false(gtk_check_button_get_active(GTK_CHECK_BUTTON(boxes)));
    g_settings_reset(settings, "show-boxes");

    /* Ctrl+Shift+B, M, L toggle them; the shortcut's action works */
    GtkWidget *w = GTK_WIDGET(f->window);
    static const char *const keys[][2] = {
        { "<Control><Shift>b", "overlay.show-boxes" },
        { "<Control><Shift>m", "overlay.show-masks" },
        { "<Control><Shift>l", "overlay.show-labels" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
        g_autofree char *action = shortcut_action(w, keys[i][0]);
        g_assert_cmpstr(action, ==, keys[i][1]);
    }
    g_assert_true(gtk_widget_activate_action(w, "overlay.show-masks", NULL));
    g_assert_false(g_settings_get_boolean(settings, "show-masks"));
    g_assert_false(lens_image_view_get_style(view).show_masks);
    g_settings_reset(settings, "show-masks");
}

/* The weight format of the preferences reaches the engine: changing it
 * loads the model again in that format; a load the engine refuses (here:
 * the cache of converted weights cannot be written) shows its error in the
 * window, with what to do, while the model loaded before stays. */
static void test_weights(Fixture *f, gconstpointer data)
{
    load_tiny_model(f);
    LensEngine *engine = lens_window_get_engine(f->window);
    g_autoptr(GSettings) settings = g_settings_new(APP_ID);
    g_settings_set_enum(settings, "weights", PALI_WEIGHTS_Q4);
    g_assert_true(lens_window_get_busy(f->window)); /* reloading */
    wait_idle(f);
    g_assert_null(lens_window_get_error(f->window));
    g_assert_nonnull(lens_engine_get_model_info(engine));

    /* q8 weights with nowhere to cache them */
    g_autofree char *cache = g_strdup(g_getenv("XDG_CACHE_HOME"));
    g_autofree char *not_a_dir =
        g_build_filename(test_tmpdir(), "cache-file", NULL);
    g_assert_true(g_file_set_contents(not_a_dir, "", 0, NULL));
    g_setenv("XDG_CACHE_HOME", not_a_dir, TRUE);
    g_settings_set_enum(settings, "weights", PALI_WEIGHTS_Q8);
    g_assert_true(lens_window_get_busy(f->window));
    wait_idle(f);
    g_assert_cmpstr(lens_window_get_error(f->window), ==,
                    _("The model could not be loaded"));
    g_assert_true(find_label_containing(GTK_WIDGET(f->window), "cache-file"));
    g_assert_true(
        find_label_containing(GTK_WIDGET(f->window), "under Weights"));
    g_assert_nonnull(lens_engine_get_model_info(engine)); /* still there */
    if (cache != NULL)
        g_setenv("XDG_CACHE_HOME", cache, TRUE);
    else
        g_unsetenv("XDG_CACHE_HOME");

    /* back to the checkpoint's own format: loads and clears the message */
    g_settings_reset(settings, "weights");
    g_assert_true(lens_window_get_busy(f->window));
    wait_idle(f);
    g_assert_null(lens_window_get_error(f->window));
    g_assert_nonnull(lens_engine_get_model_info(engine));

    /* fast precision: the next run makes a new session and completes */
    g_autofree char *png = ui_test_write_png("weights.png", 64, 64);
    open_image(f, png);
    g_settings_set_enum(settings, "precision", PALI_PRECISION_FAST);
    run_task(f, PALI_TASK_CAPTION, NULL);
    g_assert_null(lens_window_get_error(f->window));
    g_assert_true(lens_answer_is_final(lens_window_get_answer(f->window)));
    g_settings_reset(settings, "precision");
}

/* Iterates until the engine has no job. */
static void wait_engine_idle(Fixture *f)
{
    LensEngine *engine = lens_window_get_engine(f->window);
    gint64 end = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    while (lens_engine_get_busy(engine)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(500);
    }
}

/* What to do the moment an image has opened (the window's first "busy"
 * change to idle), when the picture's encoding ahead has just started. */
typedef enum {
    AT_OPEN_RUN,
    AT_OPEN_RUN_STOP,
    AT_OPEN_LOAD
} AtOpen;

typedef struct {
    AtOpen what;
    gboolean fired;
    gboolean engine_busy; /* the encoding ahead was under way */
} OpenHook;

static void on_open_busy(LensWindow *w, GParamSpec *pspec, OpenHook *h)
{
    if (h->fired || lens_window_get_busy(w))
        return;
    h->fired = TRUE;
    h->engine_busy = lens_engine_get_busy(lens_window_get_engine(w));
    if (h->what == AT_OPEN_LOAD) {
        lens_window_load_model(w, ui_test_tiny_model());
        g_assert_true(lens_window_get_busy(w));
        return;
    }
    lens_window_set_task(w, PALI_TASK_CAPTION, NULL);
    g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.run", NULL));
    g_assert_true(lens_window_get_busy(w));
    if (h->what == AT_OPEN_RUN_STOP)
        g_assert_true(
            gtk_widget_activate_action(GTK_WIDGET(w), "win.stop", NULL));
}

static void open_image_and(Fixture *f, const char *png, AtOpen what)
{
    OpenHook h = { what, FALSE, FALSE };
    gulong id = g_signal_connect(f->window, "notify::busy",
                                 G_CALLBACK(on_open_busy), &h);
    open_image(f, png); /* and waits for what the hook started */
    g_signal_handler_disconnect(f->window, id);
    g_assert_true(h.fired);
    g_assert_true(h.engine_busy);
}

/* A picture opened with a model loaded is encoded ahead, so the run that
 * follows starts with the prompt; a run started meanwhile takes that
 * encoding over, Stop stops it (and the engine stays idle), and a model
 * load waits for it. */
static void test_look_ahead(Fixture *f, gconstpointer data)
{
    load_tiny_model(f);
    LensEngine *engine = lens_window_get_engine(f->window);
    GtkWidget *w = GTK_WIDGET(f->window);
    g_autofree char *png = ui_test_write_png("ahead.png", 320, 240);
    open_image(f, png);
    wait_engine_idle(f); /* the encoding ahead, with nothing asked */
    run_task(f, PALI_TASK_CAPTION, NULL);
    g_assert_null(lens_window_get_error(f->window));
    LensAnswer *answer = lens_window_get_answer(f->window);
    g_assert_true(lens_answer_is_final(answer));
    /* the encoding is reported once, as done before the run */
    g_assert_cmpfloat(lens_answer_get_timings(answer)->vision_ms, >, 0);
    g_assert_true(find_label_containing(w, "image encoded ahead"));

    /* a run the moment the next image opens waits for its encoding */
    g_autofree char *png2 = ui_test_write_png("ahead2.png", 200, 300);
    open_image_and(f, png2, AT_OPEN_RUN);
    g_assert_null(lens_window_get_error(f->window));
    answer = lens_window_get_answer(f->window);
    g_assert_nonnull(answer);
    g_assert_true(lens_answer_is_final(answer));
    g_assert_cmpfloat(lens_answer_get_timings(answer)->vision_ms, >, 0);
    g_assert_false(find_label_containing(w, "image encoded ahead"));

    /* Stop then stops the encoding; nothing starts again by itself */
    g_autofree char *png3 = ui_test_write_png("ahead3.png", 120, 90);
    open_image_and(f, png3, AT_OPEN_RUN_STOP);
    g_assert_false(lens_engine_get_busy(engine));
    g_assert_null(lens_window_get_error(f->window));
    g_assert_true(find_label(w, _("Stopped.")));
    /* and the next run encodes the image itself */
    run_task(f, PALI_TASK_CAPTION, NULL);
    g_assert_null(lens_window_get_error(f->window));
    g_assert_true(lens_answer_is_final(lens_window_get_answer(f->window)));

    /* a model chosen while an image is encoded ahead loads after it */
    g_autofree char *png4 = ui_test_write_png("ahead4.png", 64, 48);
    open_image_and(f, png4, AT_OPEN_LOAD);
    g_assert_null(lens_window_get_error(f->window));
    g_assert_nonnull(lens_engine_get_model_info(engine));
    wait_engine_idle(f); /* the new model's session encodes it ahead */
    run_task(f, PALI_TASK_CAPTION, NULL);
    g_assert_null(lens_window_get_error(f->window));
    g_assert_true(lens_answer_is_final(lens_window_get_answer(f->window)));
    g_assert_true(find_label_containing(w, "image encoded ahead"));
}

/* On the engine's `at`-th job start: a run (of `task`, `text`, set
 * first). */
typedef struct {
    LensWindow *window;
    int at, starts;
    pali_task task;
    const char *text;
} JobHook;

static void on_engine_busy(LensEngine *engine, GParamSpec *pspec, JobHook *h)
{
    if (!lens_engine_get_busy(engine) || ++h->starts != h->at)
        return;
    lens_window_set_task(h->window, h->task, h->text);
    g_assert_true(
        gtk_widget_activate_action(GTK_WIDGET(h->window), "win.run", NULL));
}

/* Opens `png` and runs `task` at the engine's `at`-th job start after
 * that (1: the encoding ahead, 2: the prompt read ahead). */
static void open_and_run_at_job(Fixture *f, const char *png, int at,
                                pali_task task, const char *text)
{
    LensEngine *engine = lens_window_get_engine(f->window);
    JobHook h = { f->window, at, 0, task, text };
    gulong id = g_signal_connect(engine, "notify::busy",
                                 G_CALLBACK(on_engine_busy), &h);
    open_image(f, png);
    gint64 end = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    while (h.starts < at || lens_window_get_busy(f->window)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(500);
    }
    g_signal_handler_disconnect(engine, id);
    wait_idle(f);
}

/* Iterates the main loop for `ms`. */
static void iterate_for(int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end)
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
}

/* After the picture, the prompt of the task shown is read ahead (its
 * prefill kept), so the run starts with its first token; a run of that
 * task while it is read takes it over; a run of another task stops it;
 * a new prompt is read once the changes pause. */
static void test_read_ahead(Fixture *f, gconstpointer data)
{
    load_tiny_model(f);
    GtkWidget *w = GTK_WIDGET(f->window);
    lens_window_set_task(f->window, PALI_TASK_CAPTION, NULL);
    g_autofree char *png = ui_test_write_png("read.png", 160, 120);
    open_image(f, png);
    wait_engine_idle(f); /* the encoding, then the prompt */
    run_task(f, PALI_TASK_CAPTION, NULL);
    g_assert_null(lens_window_get_error(f->window));
    LensAnswer *answer = lens_window_get_answer(f->window);
    g_assert_true(lens_answer_is_final(answer));
    g_assert_cmpint(lens_answer_get_timings(answer)->prefill_reused, ==, 1);
    g_assert_true(find_label_containing(w, "read ahead"));

    /* a run of the same task while its prompt is being read (the
     * timings then give the wait for the rest of it) */
    g_autofree char *png2 = ui_test_write_png("read2.png", 150, 100);
    open_and_run_at_job(f, png2, 2, PALI_TASK_CAPTION, NULL);
    g_assert_null(lens_window_get_error(f->window));
    answer = lens_window_get_answer(f->window);
    g_assert_true(lens_answer_is_final(answer));
    g_assert_cmpint(lens_answer_get_timings(answer)->prefill_reused, ==, 1);
    g_assert_false(find_label_containing(w, "read ahead"));

    /* ... and of another task: that prompt read by the run itself */
    g_autofree char *png3 = ui_test_write_png("read3.png", 140, 90);
    open_and_run_at_job(f, png3, 2, PALI_TASK_DETECT, "cat");
    g_assert_null(lens_window_get_error(f->window));
    answer = lens_window_get_answer(f->window);
    g_assert_true(lens_answer_is_final(answer));
    g_assert_cmpint(lens_answer_get_timings(answer)->prefill_reused, ==, 0);

    /* a new question, read once the typing pauses */
    lens_window_set_task(f->window, PALI_TASK_DETECT, "dog");
    iterate_for(2 * 600);
    wait_engine_idle(f);
    run_task(f, PALI_TASK_DETECT, "dog");
    g_assert_null(lens_window_get_error(f->window));
    answer = lens_window_get_answer(f->window);
    g_assert_true(lens_answer_is_final(answer));
    g_assert_cmpint(lens_answer_get_timings(answer)->prefill_reused, ==, 1);

    /* Work ahead off (Preferences): the engine waits for Run */
    g_autoptr(GSettings) settings = g_settings_new(APP_ID);
    g_settings_set_boolean(settings, "work-ahead", FALSE);
    g_autofree char *png4 = ui_test_write_png("read4.png", 100, 70);
    open_image(f, png4);
    iterate_for(2 * 600);
    g_assert_false(lens_engine_get_busy(lens_window_get_engine(f->window)));
    run_task(f, PALI_TASK_DETECT, "dog");
    g_assert_null(lens_window_get_error(f->window));
    answer = lens_window_get_answer(f->window);
    g_assert_true(lens_answer_is_final(answer));
    g_assert_cmpint(lens_answer_get_timings(answer)->prefill_reused, ==, 0);
    g_assert_cmpfloat(lens_answer_get_timings(answer)->vision_ms, >, 0);
    g_assert_false(find_label_containing(w, "encoded ahead"));
    g_assert_false(find_label_containing(w, "read ahead"));
    g_settings_reset(settings, "work-ahead");
}

static void test_zoom(Fixture *f, gconstpointer data)
{
    g_autofree char *png = ui_test_write_png("zoom.png", 400, 300);
    open_image(f, png);
    LensImageView *view = lens_window_get_image_view(f->window);
    GtkWidget *w = GTK_WIDGET(f->window);
    g_assert_true(lens_image_view_get_fit(view));
    double fit = lens_image_view_get_zoom(view);
    gtk_widget_activate_action(w, "win.zoom-in", NULL);
    g_assert_false(lens_image_view_get_fit(view));
    g_assert_cmpfloat(lens_image_view_get_zoom(view), >, fit);
    gtk_widget_activate_action(w, "win.zoom-original", NULL);
    g_assert_cmpfloat(lens_image_view_get_zoom(view), ==, 1.0);
    for (int i = 0; i < 60; i++)
        gtk_widget_activate_action(w, "win.zoom-in", NULL);
    g_assert_cmpfloat(lens_image_view_get_zoom(view), ==, 32.0);
    gtk_widget_activate_action(w, "win.zoom-fit", NULL);
    g_assert_true(lens_image_view_get_fit(view));
    g_assert_cmpfloat(lens_image_view_get_zoom(view), ==, fit);
}

int main(int argc, char **argv)
{
    bindtextdomain(GETTEXT_PACKAGE, BUILD_LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
    gtk_test_init(&argc, &argv, NULL);

    app = GTK_APPLICATION(lens_application_new());
    g_application_set_flags(G_APPLICATION(app), G_APPLICATION_NON_UNIQUE);
    g_assert_true(g_application_register(G_APPLICATION(app), NULL, NULL));

#define ADD(path, fn)                                                          \
    g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("/ui/window/no-model", test_no_model);
    ADD("/ui/window/open-error", test_open_error);
    ADD("/ui/window/zoom", test_zoom);
    ADD("/ui/window/overlay-toggles", test_overlay_toggles);
    ADD("/ui/window/model-picker", test_model_picker);
    ADD("/ui/window/run", test_run);
    ADD("/ui/window/stop", test_stop);
    ADD("/ui/window/look-ahead", test_look_ahead);
    ADD("/ui/window/read-ahead", test_read_ahead);
    ADD("/ui/window/weights", test_weights);
#undef ADD
    int status = g_test_run();
    g_object_unref(app);
    return status;
}
