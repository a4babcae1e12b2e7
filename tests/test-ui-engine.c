/* test-ui-engine.c — LensEngine, the GTask bridge to libpali, without a
 * display: loading (and failing to load) a model, encoding an image once,
 * generating with streamed answers delivered by the coalesced source (never
 * more often than about 30 Hz), refusing a second job while one runs, and
 * cancelling through the engine's abort callback with the session still
 * usable afterwards, and the screenshots' forced output (one token per
 * <loc>/<seg>, masks from the decoder given with --vae).  Uses a tiny random
 * model made by palilens-make-model. */
#include "lens-engine.h"
#include "testutil.h"
#include "ui-testutil.h"

/* The bridge delivers at most one update per 1/30 s; the main loop may run
 * the source a little late but never early. */
#define MIN_DELIVERY_GAP_US 30000
/* A stopped job must be over this quickly (the engine checks its abort
 * callback between layers and tokens). */
#define STOP_LATENCY_MAX_US 500000

typedef struct {
    LensEngine *engine;
    gboolean done;
    gboolean ok;
    GError *error;
    LensAnswer *answer;
    /* signals */
    int n_partial;
    int n_progress[PALI_PHASE_DECODE + 1];
    gint64 last_partial_us;
    gint64 min_partial_gap_us;
    gboolean partial_after_final;
} Fixture;

static void on_progress(LensEngine *engine, int phase, int done, int total,
                        Fixture *f)
{
    g_assert_cmpint(phase, >=, 0);
    g_assert_cmpint(phase, <=, PALI_PHASE_DECODE);
    f->n_progress[phase]++;
}

static void on_partial(LensEngine *engine, LensAnswer *answer, Fixture *f)
{
    gint64 now = g_get_monotonic_time();
    if (f->n_partial > 0)
        f->min_partial_gap_us =
            MIN(f->min_partial_gap_us, now - f->last_partial_us);
    f->last_partial_us = now;
    f->n_partial++;
    g_assert_false(lens_answer_is_final(answer));
    if (f->done)
        f->partial_after_final = TRUE;
}

static void fixture_reset(Fixture *f)
{
    f->done = FALSE;
    f->ok = FALSE;
    g_clear_error(&f->error);
    g_clear_pointer(&f->answer, lens_answer_unref);
    f->n_partial = 0;
    memset(f->n_progress, 0, sizeof(f->n_progress));
    f->min_partial_gap_us = G_MAXINT64;
}

static void fixture_set_up(Fixture *f, gconstpointer data)
{
    f->engine = lens_engine_new();
    g_signal_connect(f->engine, "progress", G_CALLBACK(on_progress), f);
    g_signal_connect(f->engine, "partial", G_CALLBACK(on_partial), f);
    fixture_reset(f);
}

static void fixture_tear_down(Fixture *f, gconstpointer data)
{
    fixture_reset(f);
    g_clear_object(&f->engine);
}

static void on_loaded(GObject *source, GAsyncResult *result, gpointer data)
{
    Fixture *f = data;
    f->ok = lens_engine_load_model_finish(f->engine, result, &f->error);
    f->done = TRUE;
}

static void on_image_set(GObject *source, GAsyncResult *result, gpointer data)
{
    Fixture *f = data;
    f->ok = lens_engine_set_image_finish(f->engine, result, &f->error);
    f->done = TRUE;
}

static void on_generated(GObject *source, GAsyncResult *result, gpointer data)
{
    Fixture *f = data;
    f->answer = lens_engine_generate_finish(f->engine, result, &f->error);
    f->ok = f->answer != NULL;
    f->done = TRUE;
}

static void load(Fixture *f, const char *dir)
{
    fixture_reset(f);
    lens_engine_load_model_async(f->engine, dir, NULL, on_loaded, f);
    g_assert_true(lens_engine_get_busy(f->engine));
    g_assert_true(ui_test_wait_for(&f->done, 60000));
    g_assert_false(lens_engine_get_busy(f->engine));
}

static GBytes *test_pixels(int width, int height)
{
    gsize n = (gsize)width * height * 3;
    guint8 *p = g_malloc(n);
    for (gsize i = 0; i < n; i++)
        p[i] = (guint8)(i * 7 % 251);
    return g_bytes_new_take(p, n);
}

static void set_image(Fixture *f, GBytes *pixels, int width, int height,
                      GCancellable *cancellable)
{
    fixture_reset(f);
    lens_engine_set_image_async(f->engine, pixels, width, height,
                                (gsize)width * 3, PALI_PIXEL_RGB8, cancellable,
                                on_image_set, f);
    g_assert_true(ui_test_wait_for(&f->done, 60000));
}

static void generate(Fixture *f, pali_task task, const char *text,
                     GCancellable *cancellable)
{
    fixture_reset(f);
    lens_engine_generate_async(f->engine, task, "en", text, 0, cancellable,
                               on_generated, f);
    g_assert_true(ui_test_wait_for(&f->done, 60000));
}

static void test_load_error(Fixture *f, gconstpointer data)
{
    g_autofree char *missing =
        g_build_filename(test_tmpdir(), "no-such-model", NULL);
    load(f, missing);
    g_assert_false(f->ok);
    g_assert_error(f->error, LENS_ENGINE_ERROR, f->error->code);
    g_assert_nonnull(strstr(f->error->message, "no-such-model"));
    g_assert_null(lens_engine_get_model_info(f->engine));

    /* nothing loaded: image and generate refuse at once */
    g_autoptr(GBytes) pixels = test_pixels(8, 8);
    set_image(f, pixels, 8, 8, NULL);
    g_assert_false(f->ok);
    g_assert_error(f->error, LENS_ENGINE_ERROR, PALI_ERR_INVALID_ARGUMENT);
}

static void test_run(Fixture *f, gconstpointer data)
{
    load(f, ui_test_tiny_model());
    g_assert_true(f->ok);
    g_assert_no_error(f->error);
    const pali_model_info *info = lens_engine_get_model_info(f->engine);
    g_assert_nonnull(info);
    g_assert_cmpint(info->image_size, >, 0);

    g_autoptr(GBytes) pixels = test_pixels(64, 48);
    set_image(f, pixels, 64, 48, NULL);
    g_assert_no_error(f->error);
    g_assert_true(lens_engine_has_image(f->engine, pixels));
    g_assert_cmpint(f->n_progress[PALI_PHASE_VISION], >, 0);

    /* the same pixels again: cached, no vision work */
    set_image(f, pixels, 64, 48, NULL);
    g_assert_no_error(f->error);
    g_assert_cmpint(f->n_progress[PALI_PHASE_VISION], ==, 0);

    generate(f, PALI_TASK_CAPTION, NULL, NULL);
    g_assert_no_error(f->error);
    g_assert_nonnull(f->answer);
    g_assert_true(lens_answer_is_final(f->answer));
    g_assert_nonnull(lens_answer_get_text(f->answer));
    g_assert_nonnull(lens_answer_get_result(f->answer));
    g_assert_nonnull(lens_answer_get_timings(f->answer));
    int n = lens_answer_get_n_generated(f->answer);
    g_assert_cmpint(n, >=, 1);
    /* coalesced: never more deliveries than tokens, never closer than the
     * interval, none after the final answer */
    g_assert_cmpint(f->n_partial, <=, n);
    if (f->n_partial >= 2)
        g_assert_cmpint(f->min_partial_gap_us, >=, MIN_DELIVERY_GAP_US);
    g_assert_false(f->partial_after_final);
    /* the image was encoded before: no vision work in this run */
    g_assert_cmpint(f->n_progress[PALI_PHASE_VISION], ==, 0);

    /* another task on the same image: no re-encoding (and the engine
     * reports the encoding's time only with the first answer) */
    generate(f, PALI_TASK_DETECT, "cat ; dog", NULL);
    g_assert_no_error(f->error);
    g_assert_cmpint(f->n_progress[PALI_PHASE_VISION], ==, 0);
    g_assert_cmpfloat(lens_answer_get_timings(f->answer)->vision_ms, ==, 0);

    /* new session parameters: a new session encodes the image again (its
     * vision progress may be coalesced into later phases; its time is
     * reported with the answer) */
    lens_engine_set_threads(f->engine, 1);
    generate(f, PALI_TASK_CAPTION, NULL, NULL);
    g_assert_no_error(f->error);
    g_assert_cmpfloat(lens_answer_get_timings(f->answer)->vision_ms, >, 0);
    g_assert_true(lens_engine_has_image(f->engine, pixels));
}

static void test_busy_and_cancel(Fixture *f, gconstpointer data)
{
    load(f, ui_test_tiny_model());
    g_assert_true(f->ok);
    g_autoptr(GBytes) pixels = test_pixels(32, 32);
    set_image(f, pixels, 32, 32, NULL);
    g_assert_no_error(f->error);

    /* a second job while one runs is refused at once */
    fixture_reset(f);
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    lens_engine_generate_async(f->engine, PALI_TASK_DESCRIBE, "en", NULL, 0,
                               cancellable, on_generated, f);
    Fixture other = { .engine = f->engine };
    lens_engine_set_image_async(f->engine, pixels, 32, 32, 32 * 3,
                                PALI_PIXEL_RGB8, NULL, on_image_set, &other);
    g_assert_true(ui_test_wait_for(&other.done, 1000));
    g_assert_error(other.error, G_IO_ERROR, G_IO_ERROR_BUSY);
    g_clear_error(&other.error);

    /* stop it: the engine's abort callback ends the run quickly */
    gint64 t0 = g_get_monotonic_time();
    g_cancellable_cancel(cancellable);
    g_assert_true(ui_test_wait_for(&f->done, 10000));
    gint64 latency = g_get_monotonic_time() - t0;
    g_assert_error(f->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_null(f->answer);
    g_assert_cmpint(latency, <, STOP_LATENCY_MAX_US);
    g_assert_false(lens_engine_get_busy(f->engine));

    /* still usable, image still encoded */
    generate(f, PALI_TASK_CAPTION, NULL, NULL);
    g_assert_no_error(f->error);
    g_assert_true(lens_answer_is_final(f->answer));
    g_assert_cmpint(f->n_progress[PALI_PHASE_VISION], ==, 0);
}

/* Sixteen <seg> codes. */
#define SEG16_TEXT                                                             \
    "<seg001><seg002><seg003><seg004><seg005><seg006><seg007><seg008>"         \
    "<seg009><seg010><seg011><seg012><seg013><seg014><seg015><seg016>"

/* Teacher forcing as the screenshot mode uses it: the model "writes" the
 * given text, one token per <loc>/<seg>, and the answer carries the boxes
 * and the masks of the decoder file given instead of vae-oid.npz. */
static void test_forced_output(Fixture *f, gconstpointer data)
{
    g_autofree char *vae = test_data_path("segmentation/vae-random.npz");
    lens_engine_set_mask_decoder_path(f->engine, vae);
    load(f, ui_test_tiny_model());
    g_assert_true(f->ok);
    g_assert_true(lens_engine_has_mask_decoder(f->engine));
    g_autoptr(GBytes) pixels = test_pixels(200, 100);
    set_image(f, pixels, 200, 100, NULL);
    g_assert_no_error(f->error);

    /* <loc> is y1 x1 y2 x2 in 1/1024: cat (20, 10)–(100, 60), dog with 16
     * codes (100, 20)–(200, 100) */
    const char *text =
        "<loc0102><loc0102><loc0614><loc0512> cat ; "
        "<loc0205><loc0512><loc1023><loc1023>"
        "<seg001><seg002><seg003><seg004><seg005><seg006><seg007><seg008>"
        "<seg009><seg010><seg011><seg012><seg013><seg014><seg015><seg016>"
        " dog<eos>";
    lens_engine_set_forced_output(f->engine, text);
    generate(f, PALI_TASK_SEGMENT, "cat ; dog", NULL);
    g_assert_no_error(f->error);
    g_assert_true(lens_answer_is_final(f->answer));
    g_assert_cmpstr(lens_answer_get_display_text(f->answer), ==, "cat ; dog");
    /* 4 + 4 + 16 location and code tokens, each one token, + <eos> + the
     * few tokens of " cat ; " and " dog" */
    int n = lens_answer_get_n_generated(f->answer);
    g_assert_cmpint(n, >, 4 + 4 + 16 + 1);
    g_assert_cmpint(n, <, 4 + 4 + 16 + 1 + 12);
    const pali_result *r = lens_answer_get_result(f->answer);
    g_assert_false(r->flags & PALI_RESULT_TRUNCATED);
    g_assert_cmpuint(r->n_spans, ==, 2);
    static const int want[2][4] = { { 20, 10, 100, 60 },
                                    { 100, 20, 200, 100 } };
    for (int i = 0; i < 2; i++) {
        const pali_object *o = &r->spans[i];
        g_assert_cmpint(o->kind, ==, PALI_SPAN_OBJECT);
        for (int k = 0; k < 4; k++)
            g_assert_cmpint(o->box[k], ==, want[i][k]);
    }
    g_assert_null(r->spans[0].mask);
    g_assert_nonnull(r->spans[1].mask);
    g_assert_cmpint(r->spans[1].mask_w, ==, 100);
    g_assert_cmpint(r->spans[1].codes[15], ==, 16);

    /* not forced any more: the model writes its own answer */
    lens_engine_set_forced_output(f->engine, NULL);
    generate(f, PALI_TASK_CAPTION, NULL, NULL);
    g_assert_no_error(f->error);
    g_assert_cmpstr(lens_answer_get_text(f->answer), !=, text);
}

/* Answers build their overlay on the worker; successive answers of a run
 * share it while the objects stay the same, and a new object (or a mask
 * decoded) makes a new one. */
static void test_answer_overlay(Fixture *f, gconstpointer data)
{
    g_autofree char *path = test_data_path("segmentation/vae-random.npz");
    pali_vae *vae = NULL;
    g_assert_cmpint(pali_vae_load(path, &vae, NULL), ==, PALI_OK);
    LensMaskCache *cache = lens_mask_cache_new(vae);
    const char *box = "<loc0100><loc0100><loc0500><loc0500>";
    g_autofree char *t1 = g_strconcat(box, " cat", NULL);
    g_autofree char *t2 = g_strconcat(box, " cat ; ", box, NULL);
    g_autofree char *t3 = g_strconcat(t2, SEG16_TEXT " dog", NULL);

    g_autoptr(LensAnswer) none =
        lens_answer_new("a cat", 100, 80, cache, NULL, NULL);
    g_assert_null(lens_answer_get_overlay(none));
    g_autoptr(LensAnswer) a = lens_answer_new(t1, 100, 80, cache, NULL, NULL);
    g_autoptr(LensAnswer) b = lens_answer_new(t1, 100, 80, cache, NULL, NULL);
    g_assert_nonnull(lens_answer_get_overlay(a));
    g_assert_true(lens_answer_get_overlay(a) == lens_answer_get_overlay(b));
    g_assert_cmpint(lens_overlay_get_n_objects(lens_answer_get_overlay(a)), ==,
                    1);
    g_autoptr(LensAnswer) c = lens_answer_new(t2, 100, 80, cache, NULL, NULL);
    g_assert_true(lens_answer_get_overlay(c) != lens_answer_get_overlay(a));
    g_assert_cmpint(lens_overlay_get_n_objects(lens_answer_get_overlay(c)), ==,
                    2);
    g_autoptr(LensAnswer) d = lens_answer_new(t3, 100, 80, cache, NULL, NULL);
    const LensOverlay *ov = lens_answer_get_overlay(d);
    g_assert_true(ov != lens_answer_get_overlay(c));
    g_assert_null(lens_overlay_get_object(ov, 0)->mask);
    g_assert_nonnull(lens_overlay_get_object(ov, 1)->mask);
    /* the answers keep their overlays after the cache is gone */
    lens_mask_cache_free(cache);
    g_assert_cmpint(lens_overlay_get_n_objects(lens_answer_get_overlay(a)), ==,
                    1);
    pali_vae_free(vae);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/ui/engine/load-error", Fixture, NULL, fixture_set_up,
               test_load_error, fixture_tear_down);
    g_test_add("/ui/engine/run", Fixture, NULL, fixture_set_up, test_run,
               fixture_tear_down);
    g_test_add("/ui/engine/busy-and-cancel", Fixture, NULL, fixture_set_up,
               test_busy_and_cancel, fixture_tear_down);
    g_test_add("/ui/engine/forced-output", Fixture, NULL, fixture_set_up,
               test_forced_output, fixture_tear_down);
    g_test_add("/ui/engine/answer-overlay", Fixture, NULL, fixture_set_up,
               test_answer_overlay, fixture_tear_down);
    return g_test_run();
}
