/* palilens-bench — how fast PaliLens runs a model on this machine, and how
 * close that is to the machine's limits, measured in one process:
 *
 *   palilens-bench --model DIR [--image FILE] [--prompt TEXT]
 *                  [--new-tokens N] [--precision exact|fast]
 *                  [--weights bf16|q8|q4] [--threads N] [--repeat N] [--json]
 *
 * The model at its resolution: load (a first load, reported apart, makes
 * any quantized cache; then --repeat opens), and on one open model and
 * one session, as an application keeps them, --repeat runs of
 * preprocess, vision, prefill and N decode steps (each on an image one
 * pixel away from the last, so that vision runs every time), medians
 * reported, the first run's time to first token apart; then the limits
 * (bench-limits.c: register peaks per instruction set, the engine's own matrix
 * products, OpenBLAS's sgemm, read bandwidth).  Each phase's FLOPs and bytes
 * come from the config (counted below), so the output gives achieved GFLOP/s
 * and GB/s and the ratio to the floors: time to first token against FLOPs ÷ the
 * precision's arithmetic peak (AMX bf16 tiles in fast precision, f32 FMA in
 * exact), decode against the weights' bytes ÷ read bandwidth — the
 * limits' (a 1 GB buffer, measured after the runs), and the rate at which
 * the same read loop streams the model's own mapped weights right after
 * each run's decode (the bandwidth of that minute, through the same
 * pages; median of the runs' ratios).  Peak resident
 * memory is the model runs' own, read before the limits are measured.
 * --json prints one JSON object (the keys other checks read: load_ms,
 * preprocess_ms, vision_ms, prefill_ms, ttft_ms, decode_ms_per_token,
 * peak_rss_mb, limits.matmul_gflops, limits.read_gbps), and what share of
 * the weights the kernel maps in 2 MB pages (weights_huge_fraction). */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-limits.h"
#include "compute.h"
#include "internal.h"
#include "lens-image-loader.h"
#include "lens-json.h"
#include "model.h"
#include "pali.h"
#include "safetensors.h"

/* The synthetic image used without --image: large enough that the
 * resize is a real downscale at every resolution. */
#define SYNTH_W 1024
#define SYNTH_H 768

typedef struct {
    char *model, *image, *prompt, *precision, *weights;
    int new_tokens, threads, repeat;
    gboolean json, quick_limits, greedy, ahead;
} Options;

static void options_clear(Options *o)
{
    g_free(o->model);
    g_free(o->image);
    g_free(o->prompt);
    g_free(o->precision);
    g_free(o->weights);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

/* FLOPs and bytes of each phase, from the configuration (multiply-adds ×
 * 2; softmax, norms and other element-wise work left out). */
typedef struct {
    double vision, prefill, decode_per_token;
    double decode_bytes_per_token;
    double text_weight_bytes;
} Work;

static double text_weight_bytes(const pali_model_info *in, const char *w)
{
    const double dt = in->text_hidden, it = in->text_intermediate;
    const double q = (double)in->n_heads * in->head_dim;
    const double kv = (double)in->n_kv_heads * in->head_dim;
    const double per_layer = dt * (q + 2 * kv) + q * dt + 3 * dt * it;
    const double params = in->text_layers * per_layer + in->vocab_rows * dt;
    // bytes per weight: codes plus a binary16 scale per 32
    const double b = strcmp(w, "q8") == 0   ? 1.0 + 2.0 / 32
                     : strcmp(w, "q4") == 0 ? 0.5 + 2.0 / 32
                     : strcmp(in->dtype, "f32") == 0 && strcmp(w, "bf16") != 0
                         ? 4.0
                         : 2.0;
    return params * b;
}

static Work count_work(const pali_model_info *in, int64_t prompt_tokens,
                       int new_tokens, const char *weights, bool fast)
{
    Work w = { 0 };
    const double n = in->n_image_tokens, dv = in->vision_hidden,
                 iv = in->vision_intermediate, dt = in->text_hidden;
    const double p2 = 3.0 * in->patch_size * in->patch_size;
    // SigLIP: patch embedding, per layer q/k/v/o + MLP + attention (q·kᵀ
    // and p·v over N keys), projector
    w.vision = 2 * n * dv * p2 +
               in->vision_layers *
                   (2 * n * (4 * dv * dv + 2 * dv * iv) + 4 * n * n * dv) +
               2 * n * dv * dt;
    const double it = in->text_intermediate;
    const double q = (double)in->n_heads * in->head_dim;
    const double kv = (double)in->n_kv_heads * in->head_dim;
    const double L = (double)prompt_tokens;
    const double mats = dt * (q + 2 * kv) + q * dt + 3 * dt * it;
    // Gemma 2: per layer the projections and MLP over L rows, attention
    // over L keys; the LM head for the last row only
    w.prefill = in->text_layers * (2 * L * mats + 4 * L * L * q) +
                2 * dt * in->vocab_rows;
    // decode at the middle of the generated range
    const double ctx = L + new_tokens / 2.0;
    w.decode_per_token =
        in->text_layers * (2 * mats + 4 * ctx * q) + 2 * dt * in->vocab_rows;
    w.text_weight_bytes = text_weight_bytes(in, weights);
    const double kv_bytes = in->text_layers * 2 * ctx * kv * (fast ? 2 : 4);
    w.decode_bytes_per_token = w.text_weight_bytes + kv_bytes;
    return w;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(GArray *a)
{
    if (a->len == 0)
        return 0;
    double *v = g_memdup2(a->data, a->len * sizeof(double));
    qsort(v, a->len, sizeof(double), cmp_double);
    const double m =
        a->len % 2 ? v[a->len / 2] : 0.5 * (v[a->len / 2 - 1] + v[a->len / 2]);
    g_free(v);
    return m;
}

/* Peak resident set since the last reset (/proc/self/status VmHWM). */
static double peak_rss_mb(void)
{
    g_autofree char *status = NULL;
    if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
        return 0;
    const char *p = strstr(status, "VmHWM:");
    return p ? g_ascii_strtod(p + 6, NULL) / 1024.0 : 0;
}

/* Whether `path` is `dir` or lies under it. */
static gboolean path_under(const char *path, const char *dir)
{
    const size_t n = strlen(dir);
    return dir[0] != '\0' && strncmp(path, dir, n) == 0 &&
           (path[n] == '\0' || path[n] == '/' || dir[n - 1] == '/');
}

/* The share of the model's weight bytes in memory — its files' mappings
 * under model_dir, and the quantized cache's under cache_dir — that the
 * kernel maps in 2 MB pages (/proc/self/smaps: FilePmdMapped ÷ Rss);
 * -1 where smaps cannot be read.  It follows how the page cache came to
 * hold the files (read cold by the engine, in 2 MB folios where the
 * kernel can; read earlier in 4 KB pages, they stay so until evicted),
 * and the same build's runs differ by it, so the output shows it. */
static double weights_huge_fraction(const char *model_dir,
                                    const char *cache_dir)
{
    g_autofree char *smaps = NULL;
    if (!g_file_get_contents("/proc/self/smaps", &smaps, NULL, NULL))
        return -1;
    char *dir = realpath(model_dir, NULL), *cache = realpath(cache_dir, NULL);
    double rss = 0, pmd = 0;
    gboolean ours = FALSE;
    for (char *line = smaps, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char perms[5];
        if (sscanf(line, "%*x-%*x %4s", perms) == 1) {
            // "start-end perms offset dev inode [path]": the path from
            // its first '/' (the fields before it have none)
            const char *path = strchr(line, '/');
            ours = path && ((dir && path_under(path, dir)) ||
                            (cache && path_under(path, cache)));
        } else if (ours && g_str_has_prefix(line, "Rss:")) {
            rss += g_ascii_strtod(line + 4, NULL);
        } else if (ours && g_str_has_prefix(line, "FilePmdMapped:")) {
            pmd += g_ascii_strtod(line + 14, NULL);
        }
    }
    free(dir);
    free(cache);
    return rss > 0 ? pmd / rss : 0;
}

/* Where the engine keeps quantized weights when not told (as
 * quant-cache.c chooses it). */
static char *default_weights_cache(void)
{
    const char *xdg = g_getenv("XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/')
        return g_build_filename(xdg, "palilens", "weights", NULL);
    return g_build_filename(g_get_home_dir(), ".cache", "palilens", "weights",
                            NULL);
}

static void reset_peak_rss(void)
{
    // "5" resets the high-water mark (Linux 4.0+, proc(5)); written in
    // place (g_file_set_contents would write a new file and rename it)
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

typedef struct {
    GArray *load, *preprocess, *vision, *prefill, *ttft, *decode;
    /* after each run: the weights' read rate, and decode against it */
    GArray *weights_read, *decode_over_read;
    /* --ahead: request to first token with the work done ahead */
    GArray *ahead_ttft;
} Samples;

static void samples_clear(Samples *s)
{
    GArray **all[] = { &s->load,         &s->preprocess,
                       &s->vision,       &s->prefill,
                       &s->ttft,         &s->decode,
                       &s->weights_read, &s->decode_over_read,
                       &s->ahead_ttft };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        g_clear_pointer(all[i], g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Samples, samples_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(pali_model, pali_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(pali_session, pali_session_free)

/* GB/s at which the bandwidth test's read loop streams the model's own
 * mapped weights on `threads` threads — the quantized cache where the
 * model reads one, else every checkpoint file (gigabytes, beyond any
 * cache): the bandwidth decode had in the same minute, through the same
 * pages.  0 where nothing is mapped. */
static double weights_read_gbps(const pali_model *m, int threads)
{
    double bytes = 0, seconds = 0;
    for (int f = 0; f < (m->quant_map ? 1 : m->n_files); f++) {
        const void *map =
            m->quant_map ? m->quant_map : pali_safetensors_map(m->files[f]);
        const size_t size = m->quant_map
                                ? m->quant_bytes
                                : pali_safetensors_file_size(m->files[f]);
        double s = 0;
        bytes += (double)bench_read_pass(map, size, threads, &s);
        seconds += s;
    }
    // the embedding back to the page cache, as the engine leaves it
    pali_lmhead_drop_pages(m);
    reset_peak_rss();
    return seconds > 0 ? bytes / seconds / 1e9 : 0;
}

/* The time of the first token's callback (--ahead). */
static bool first_token_at(const pali_token_event *ev, void *user_data)
{
    double *at = user_data;
    if (ev->index == 0)
        *at = pali_now_ms();
    return true;
}

static GArray *samples_new(void)
{
    return g_array_new(FALSE, FALSE, sizeof(double));
}

static void add(GArray *a, double v)
{
    g_array_append_val(a, v);
}

static gboolean parse_args(int argc, char **argv, Options *o)
{
    o->new_tokens = 16;
    o->repeat = 3;
    GOptionEntry entries[] = {
        { "model", 0, 0, G_OPTION_ARG_FILENAME, &o->model, "Model directory",
          "DIR" },
        { "image", 0, 0, G_OPTION_ARG_FILENAME, &o->image,
          "Image (default: a synthetic 1024×768 one)", "FILE" },
        { "prompt", 0, 0, G_OPTION_ARG_STRING, &o->prompt,
          "Prompt (default: caption en)", "TEXT" },
        { "new-tokens", 0, 0, G_OPTION_ARG_INT, &o->new_tokens,
          "Tokens to generate (default 16)", "N" },
        { "precision", 0, 0, G_OPTION_ARG_STRING, &o->precision,
          "exact (default) or fast", "P" },
        { "weights", 0, 0, G_OPTION_ARG_STRING, &o->weights,
          "bf16 (default: as stored), q8 or q4", "W" },
        { "threads", 0, 0, G_OPTION_ARG_INT, &o->threads,
          "Threads (default: all cores)", "N" },
        { "repeat", 0, 0, G_OPTION_ARG_INT, &o->repeat,
          "Runs to take medians over (default 3)", "N" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Print one JSON object",
          NULL },
        { "quick-limits", 0, 0, G_OPTION_ARG_NONE, &o->quick_limits,
          "Measure the limits on small sizes (tests)", NULL },
        { "greedy", 0, 0, G_OPTION_ARG_NONE, &o->greedy,
          "Choose tokens greedily (up to N, stopping at <eos>) instead of "
          "forcing N, once the model's background work is done (its "
          "LM head's pre-pass built)",
          NULL },
        { "ahead", 0, 0, G_OPTION_ARG_NONE, &o->ahead,
          "After each run, another on a new image whose encoding and "
          "prompt were prepared ahead (pali_session_prefill, as the "
          "application works ahead): the time from the request to its "
          "first token",
          NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- time PaliLens against this machine's limits");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "palilens-bench: %s\n", error->message);
        return FALSE;
    }
    if (o->model == NULL) {
        fprintf(stderr, "palilens-bench: --model DIR is required\n");
        return FALSE;
    }
    if (o->new_tokens < 1 || o->repeat < 1 || o->threads < 0) {
        fprintf(stderr, "palilens-bench: --new-tokens and --repeat must be "
                        "positive, --threads not negative\n");
        return FALSE;
    }
    if (o->precision && strcmp(o->precision, "exact") != 0 &&
        strcmp(o->precision, "fast") != 0) {
        fprintf(stderr, "palilens-bench: --precision must be exact or fast\n");
        return FALSE;
    }
    if (o->weights && strcmp(o->weights, "bf16") != 0 &&
        strcmp(o->weights, "q8") != 0 && strcmp(o->weights, "q4") != 0) {
        fprintf(stderr, "palilens-bench: --weights must be bf16, q8 or q4\n");
        return FALSE;
    }
    return TRUE;
}

static pali_weights weights_of(const char *w)
{
    if (w == NULL)
        return PALI_WEIGHTS_AS_STORED;
    return strcmp(w, "q8") == 0   ? PALI_WEIGHTS_Q8
           : strcmp(w, "q4") == 0 ? PALI_WEIGHTS_Q4
                                  : PALI_WEIGHTS_BF16;
}

/* A smooth synthetic RGB image (what the image is does not change the
 * work). */
static uint8_t *synthetic_image(pali_image *img)
{
    uint8_t *px = g_malloc((size_t)SYNTH_W * SYNTH_H * 3);
    for (int y = 0; y < SYNTH_H; y++)
        for (int x = 0; x < SYNTH_W; x++) {
            uint8_t *p = px + ((size_t)y * SYNTH_W + x) * 3;
            p[0] = (uint8_t)(x * 255 / SYNTH_W);
            p[1] = (uint8_t)(y * 255 / SYNTH_H);
            p[2] = (uint8_t)((x ^ y) & 0xff);
        }
    *img = (pali_image){ px, SYNTH_W, SYNTH_H, (size_t)SYNTH_W * 3,
                         PALI_PIXEL_RGB8 };
    return px;
}

static int fail(const pali_error *err)
{
    fprintf(stderr, "palilens-bench: %s\n", err->message);
    return 1;
}

static void json_kernels(LensJson *j, const char *key, const double *v)
{
    lens_json_key(j, key);
    lens_json_begin_object(j);
    for (int k = PALI_KERNEL_COUNT - 1; k >= 0; k--)
        if (v[k] > 0) {
            lens_json_key(j, pali_kernel_name((pali_kernel)k));
            lens_json_double(j, v[k]);
        }
    lens_json_end_object(j);
}

static void json_samples(LensJson *j, const char *key, GArray *a)
{
    lens_json_key(j, key);
    lens_json_begin_array(j);
    for (guint i = 0; i < a->len; i++)
        lens_json_double(j, g_array_index(a, double, i));
    lens_json_end_array(j);
}

int main(int argc, char **argv)
{
    g_auto(Options) o = { 0 };
    if (!parse_args(argc, argv, &o))
        return 2;
    const bool fast = o.precision && strcmp(o.precision, "fast") == 0;
    const int threads = o.threads > 0 ? o.threads : (int)g_get_num_processors();
    const char *prompt = o.prompt ? o.prompt : "caption en";
    const char *weights = o.weights ? o.weights : "as stored";
    pali_error err = { 0 };
    int kernel;
    if (pali_compute_select_kernel(&kernel, &err) != PALI_OK)
        return fail(&err);

    reset_peak_rss();

    pali_image img;
    g_autofree uint8_t *synth = NULL;
    g_autoptr(LensImage) owner = NULL;
    if (o.image) {
        g_autoptr(GError) error = NULL;
        owner = lens_image_load(o.image, LENS_IMAGE_LOAD_ORIENT, &error);
        if (owner == NULL) {
            fprintf(stderr, "palilens-bench: %s\n", error->message);
            return 1;
        }
        img = lens_image_as_pali(owner);
    } else {
        synth = synthetic_image(&img);
    }

    pali_model_params mp = pali_model_default_params();
    mp.weights = weights_of(o.weights);
    mp.n_threads = threads;
    // the first load makes a quantized cache if there is none: timed apart
    double t0 = pali_now_ms();
    g_autoptr(pali_model) model = NULL;
    if (pali_model_load(o.model, &mp, &model, &err) != PALI_OK)
        return fail(&err);
    const double first_load_ms = pali_now_ms() - t0;
    // the info outlives the model: its strings are copied
    pali_model_info info = *pali_model_get_info(model);
    g_autofree char *variant = g_strdup(info.variant);
    g_autofree char *stored_dtype = g_strdup(info.dtype);
    info.variant = variant;
    info.dtype = stored_dtype;
    info.dir = NULL;
    const double weights_mb = (double)pali_model_resident_bytes(model) / 1e6;
    g_clear_pointer(&model, pali_model_free);

    g_auto(Samples) s = { samples_new(), samples_new(), samples_new(),
                          samples_new(), samples_new(), samples_new(),
                          samples_new(), samples_new(), samples_new() };
    int64_t prompt_tokens = 0;
    // opening, --repeat times; then one model for every run, as an
    // application keeps it (each run a new session: vision runs again)
    for (int r = 0; r < o.repeat; r++) {
        t0 = pali_now_ms();
        if (pali_model_load(o.model, &mp, &model, &err) != PALI_OK)
            return fail(&err);
        add(s.load, pali_now_ms() - t0);
        if (r + 1 < o.repeat)
            g_clear_pointer(&model, pali_model_free);
    }
    // One session for every run, as the application keeps one between
    // requests (its buffers, faulted in by the first run, are reused);
    // each run's image differs from the last in one pixel, so that every
    // run preprocesses and encodes it (the session reuses the features
    // of the same pixels).  The first run, on fresh buffers, is reported
    // apart (first_ttft_ms).
    pali_session_params sp = pali_session_default_params();
    sp.n_threads = threads;
    sp.precision = fast ? PALI_PRECISION_FAST : PALI_PRECISION_EXACT;
    g_autoptr(pali_session) session = NULL;
    if (pali_session_new(model, &sp, &session, &err) != PALI_OK)
        return fail(&err);
    const size_t img_bytes = img.stride * (size_t)img.height;
    g_autofree uint8_t *pixels = g_memdup2(img.pixels, img_bytes);
    const uint8_t first_pixel = pixels[0];
    img.pixels = pixels;
    // greedy runs time the model as it is once it has been open a while
    double settle_ms = 0;
    if (o.greedy) {
        const double t_settle = pali_now_ms();
        pali_model_settle(model);
        settle_ms = pali_now_ms() - t_settle;
    }
    int prepass_tokens = 0, greedy_tokens = 0, ahead_reused = 0;
    double run_peak = 0;
    for (int r = 0; r < o.repeat; r++) {
        pixels[0] = (uint8_t)(first_pixel ^ (r % 2 ? 1 : 2));
        if (pali_session_set_image(session, &img, NULL, &err) != PALI_OK)
            return fail(&err);
        // teacher-forced so every run decodes exactly N tokens
        g_autofree int32_t *forced = g_new(int32_t, o.new_tokens);
        const int32_t filler =
            info.tokenizer_size > 1000 ? 1000 : info.tokenizer_size / 2;
        for (int i = 0; i < o.new_tokens; i++)
            forced[i] = filler;
        pali_generate_params gp = pali_generate_default_params();
        if (o.greedy) {
            gp.max_new_tokens = o.new_tokens;
        } else {
            gp.forced_ids = forced;
            gp.n_forced = o.new_tokens;
        }
        const pali_output *out = NULL;
        if (pali_session_generate(session, prompt, &gp, NULL, &out, &err) !=
            PALI_OK)
            return fail(&err);
        const pali_timings *t = &out->timings;
        prompt_tokens = out->n_input;
        prepass_tokens += t->n_prepass;
        greedy_tokens += o.greedy ? out->n_generated : 0;
        add(s.preprocess, t->preprocess_ms);
        add(s.vision, t->vision_ms);
        add(s.prefill, t->prefill_ms);
        add(s.ttft, t->preprocess_ms + t->vision_ms + t->prefill_ms);
        add(s.decode, t->n_decoded ? t->decode_ms / t->n_decoded : 0);
        // the bandwidth of the minute decode ran in, for its floor; the
        // read pass maps every page of the files, which the engine's own
        // figures leave out (peak_rss: the largest before each pass)
        run_peak = MAX(run_peak, peak_rss_mb());
        // --ahead: another image, encoded and its prompt read before the
        // request (as the application works ahead), then the request
        if (o.ahead) {
            pixels[0] = (uint8_t)(first_pixel ^ (r % 2 ? 5 : 6));
            const int max_new = o.greedy ? gp.max_new_tokens : gp.n_forced;
            if (pali_session_set_image(session, &img, NULL, &err) != PALI_OK ||
                pali_session_prefill(session, prompt, max_new, NULL, &err) !=
                    PALI_OK)
                return fail(&err);
            double first = 0;
            pali_callbacks cb = { .token = first_token_at,
                                  .user_data = &first };
            const double asked = pali_now_ms();
            const pali_output *ahead = NULL;
            if (pali_session_generate(session, prompt, &gp, &cb, &ahead,
                                      &err) != PALI_OK)
                return fail(&err);
            add(s.ahead_ttft, first - asked);
            ahead_reused += ahead->timings.prefill_reused;
        }
        if (t->n_decoded > 0) {
            const double gbps = weights_read_gbps(model, threads);
            const Work wr = count_work(&info, out->n_input, o.new_tokens,
                                       o.weights ? o.weights : "", fast);
            add(s.weights_read, gbps);
            if (gbps > 0)
                add(s.decode_over_read,
                    t->decode_ms / t->n_decoded /
                        (wr.decode_bytes_per_token / gbps / 1e6));
        }
    }
    g_clear_pointer(&session, pali_session_free);
    g_clear_pointer(&pixels, g_free);
    g_autofree char *cache_dir = default_weights_cache();
    const double huge = weights_huge_fraction(o.model, cache_dir);
    g_clear_pointer(&model, pali_model_free);
    const double rss = MAX(run_peak, peak_rss_mb());
    // the limits after the model: their buffers and OpenBLAS's threads do
    // not touch the model's memory figures or its runs
    BenchLimits lim;
    bench_limits_measure(&lim, threads, o.quick_limits);

    const Work w = count_work(&info, prompt_tokens, o.new_tokens,
                              o.weights ? o.weights : "", fast);
    const double m_load = median(s.load), m_pre = median(s.preprocess),
                 m_vis = median(s.vision), m_pre_fill = median(s.prefill),
                 m_ttft = median(s.ttft), m_dec = median(s.decode),
                 m_wread = median(s.weights_read),
                 m_dec_read = median(s.decode_over_read);
    const double first_ttft_ms = g_array_index(s.ttft, double, 0);
    // floors: FLOPs ÷ the precision's peak, bytes ÷ read bandwidth
    const double peak = fast ? (lim.peak_gflops[PALI_KERNEL_AMX] > 0
                                    ? lim.peak_gflops[PALI_KERNEL_AMX]
                                    : lim.peak_gflops[PALI_KERNEL_AVX512BF16])
                             : (lim.peak_gflops[PALI_KERNEL_AVX512] > 0
                                    ? lim.peak_gflops[PALI_KERNEL_AVX512]
                                    : lim.peak_gflops[PALI_KERNEL_AVX2]);
    double f32_matmul = lim.openblas_gflops;
    for (int k = 0; k < PALI_KERNEL_COUNT; k++)
        f32_matmul = lim.matmul_exact_gflops[k] > f32_matmul
                         ? lim.matmul_exact_gflops[k]
                         : f32_matmul;
    const double ttft_flops = w.vision + w.prefill;
    const double ttft_floor = peak > 0 ? ttft_flops / peak / 1e6 : 0;
    const double ttft_floor_matmul =
        fast ? 0 : (f32_matmul > 0 ? ttft_flops / f32_matmul / 1e6 : 0);
    const double decode_floor =
        lim.read_gbps > 0 ? w.decode_bytes_per_token / lim.read_gbps / 1e6 : 0;
    // and FLOPs ÷ what AMX tiles do once an operand streams from L2
    const double ttft_floor_loop =
        fast && lim.amx_tile_loop_gflops > 0
            ? ttft_flops / lim.amx_tile_loop_gflops / 1e6
            : 0;

    if (o.json) {
        LensJson *j = lens_json_new(TRUE);
        lens_json_begin_object(j);
        lens_json_key(j, "model");
        lens_json_string(j, o.model);
        lens_json_key(j, "variant");
        lens_json_string(j, variant);
        lens_json_key(j, "precision");
        lens_json_string(j, fast ? "fast" : "exact");
        lens_json_key(j, "weights");
        lens_json_string(j, weights);
        lens_json_key(j, "kernel");
        lens_json_string(j, pali_kernel_name((pali_kernel)kernel));
        lens_json_key(j, "threads");
        lens_json_int(j, threads);
        lens_json_key(j, "repeat");
        lens_json_int(j, o.repeat);
        lens_json_key(j, "image_size");
        lens_json_int(j, info.image_size);
        lens_json_key(j, "prompt_tokens");
        lens_json_int(j, prompt_tokens);
        lens_json_key(j, "new_tokens");
        lens_json_int(j, o.new_tokens);
        lens_json_key(j, "greedy");
        lens_json_bool(j, o.greedy);
        if (o.greedy) {
            lens_json_key(j, "greedy_tokens");
            lens_json_int(j, greedy_tokens);
            lens_json_key(j, "prepass_tokens");
            lens_json_int(j, prepass_tokens);
            lens_json_key(j, "settle_ms");
            lens_json_double(j, settle_ms);
        }
        if (o.ahead) {
            lens_json_key(j, "ahead_ttft_ms");
            lens_json_double(j, median(s.ahead_ttft));
            lens_json_key(j, "ahead_prefill_reused");
            lens_json_int(j, ahead_reused);
        }
        lens_json_key(j, "first_load_ms");
        lens_json_double(j, first_load_ms);
        lens_json_key(j, "load_ms");
        lens_json_double(j, m_load);
        lens_json_key(j, "preprocess_ms");
        lens_json_double(j, m_pre);
        lens_json_key(j, "vision_ms");
        lens_json_double(j, m_vis);
        lens_json_key(j, "prefill_ms");
        lens_json_double(j, m_pre_fill);
        lens_json_key(j, "ttft_ms");
        lens_json_double(j, m_ttft);
        lens_json_key(j, "first_ttft_ms");
        lens_json_double(j, first_ttft_ms);
        lens_json_key(j, "decode_ms_per_token");
        lens_json_double(j, m_dec);
        lens_json_key(j, "peak_rss_mb");
        lens_json_double(j, rss);
        lens_json_key(j, "weights_mb");
        lens_json_double(j, weights_mb);
        lens_json_key(j, "rss_over_weights");
        lens_json_double(j, weights_mb > 0 ? rss / weights_mb : 0);
        lens_json_key(j, "weights_huge_fraction");
        lens_json_double(j, huge);
        lens_json_key(j, "work");
        lens_json_begin_object(j);
        lens_json_key(j, "vision_gflop");
        lens_json_double(j, w.vision / 1e9);
        lens_json_key(j, "prefill_gflop");
        lens_json_double(j, w.prefill / 1e9);
        lens_json_key(j, "decode_gflop_per_token");
        lens_json_double(j, w.decode_per_token / 1e9);
        lens_json_key(j, "decode_gb_per_token");
        lens_json_double(j, w.decode_bytes_per_token / 1e9);
        lens_json_end_object(j);
        lens_json_key(j, "achieved");
        lens_json_begin_object(j);
        lens_json_key(j, "vision_gflops");
        lens_json_double(j, m_vis > 0 ? w.vision / m_vis / 1e6 : 0);
        lens_json_key(j, "prefill_gflops");
        lens_json_double(j, m_pre_fill > 0 ? w.prefill / m_pre_fill / 1e6 : 0);
        lens_json_key(j, "ttft_gflops");
        lens_json_double(j, m_ttft > 0 ? ttft_flops / m_ttft / 1e6 : 0);
        lens_json_key(j, "decode_gbps");
        lens_json_double(j, m_dec > 0 ? w.decode_bytes_per_token / m_dec / 1e6
                                      : 0);
        lens_json_end_object(j);
        lens_json_key(j, "floors");
        lens_json_begin_object(j);
        lens_json_key(j, "ttft_ms");
        lens_json_double(j, ttft_floor);
        if (!fast) {
            lens_json_key(j, "ttft_ms_at_f32_matmul");
            lens_json_double(j, ttft_floor_matmul);
        }
        if (ttft_floor_loop > 0) {
            lens_json_key(j, "ttft_ms_at_tile_loop");
            lens_json_double(j, ttft_floor_loop);
        }
        lens_json_key(j, "decode_ms_per_token");
        lens_json_double(j, decode_floor);
        lens_json_end_object(j);
        lens_json_key(j, "ratios");
        lens_json_begin_object(j);
        lens_json_key(j, "ttft_over_floor");
        lens_json_double(j, ttft_floor > 0 ? m_ttft / ttft_floor : 0);
        if (!fast) {
            lens_json_key(j, "ttft_over_f32_matmul_floor");
            lens_json_double(
                j, ttft_floor_matmul > 0 ? m_ttft / ttft_floor_matmul : 0);
        }
        if (ttft_floor_loop > 0) {
            lens_json_key(j, "ttft_over_tile_loop_floor");
            lens_json_double(j, m_ttft / ttft_floor_loop);
        }
        lens_json_key(j, "decode_over_floor");
        lens_json_double(j, decode_floor > 0 ? m_dec / decode_floor : 0);
        lens_json_key(j, "decode_over_weights_read");
        lens_json_double(j, m_dec_read);
        lens_json_end_object(j);
        lens_json_key(j, "limits");
        lens_json_begin_object(j);
        lens_json_key(j, "threads");
        lens_json_int(j, lim.threads);
        double natural[PALI_KERNEL_COUNT];
        for (int k = 0; k < PALI_KERNEL_COUNT; k++)
            natural[k] = k >= PALI_KERNEL_AVX512BF16
                             ? lim.matmul_fast_gflops[k]
                             : lim.matmul_exact_gflops[k];
        json_kernels(j, "matmul_gflops", natural);
        json_kernels(j, "matmul_exact_gflops", lim.matmul_exact_gflops);
        json_kernels(j, "matmul_fast_gflops", lim.matmul_fast_gflops);
        json_kernels(j, "register_peak_gflops", lim.peak_gflops);
        lens_json_key(j, "amx_tile_loop_gflops");
        lens_json_double(j, lim.amx_tile_loop_gflops);
        lens_json_key(j, "matmul_shape");
        lens_json_begin_array(j);
        lens_json_int(j, lim.mm_n);
        lens_json_int(j, lim.mm_k);
        lens_json_int(j, lim.mm_m);
        lens_json_end_array(j);
        lens_json_key(j, "openblas_sgemm_gflops");
        lens_json_double(j, lim.openblas_gflops);
        lens_json_key(j, "openblas_grid_gflops");
        lens_json_double(j, lim.openblas_grid_gflops);
        lens_json_key(j, "openblas_core");
        lens_json_string(j, lim.openblas_core);
        lens_json_key(j, "openblas_coretype");
        lens_json_string(j, lim.openblas_coretype);
        lens_json_key(j, "read_gbps");
        lens_json_double(j, lim.read_gbps);
        lens_json_key(j, "read_gbps_1thread");
        lens_json_double(j, lim.read_gbps_1thread);
        lens_json_key(j, "weights_read_gbps");
        lens_json_double(j, m_wread);
        lens_json_end_object(j);
        lens_json_key(j, "samples");
        lens_json_begin_object(j);
        json_samples(j, "load_ms", s.load);
        json_samples(j, "vision_ms", s.vision);
        json_samples(j, "prefill_ms", s.prefill);
        json_samples(j, "ttft_ms", s.ttft);
        if (o.ahead)
            json_samples(j, "ahead_ttft_ms", s.ahead_ttft);
        json_samples(j, "decode_ms_per_token", s.decode);
        json_samples(j, "weights_read_gbps", s.weights_read);
        json_samples(j, "decode_over_weights_read", s.decode_over_read);
        lens_json_end_object(j);
        lens_json_end_object(j);
        char *text = lens_json_free_to_string(j);
        printf("%s\n", text);
        g_free(text);
    } else {
        printf("machine    %d threads; kernel set %s; read %.1f GB/s "
               "(%.1f on 1 thread)\n",
               threads, pali_kernel_name((pali_kernel)kernel), lim.read_gbps,
               lim.read_gbps_1thread);
        for (int k = PALI_KERNEL_COUNT - 1; k >= 0; k--)
            if (lim.matmul_exact_gflops[k] > 0)
                printf("  %-11s register peak %7.0f GFLOP/s (%s); matmul "
                       "exact %6.1f, fast %6.1f GFLOP/s\n",
                       pali_kernel_name((pali_kernel)k), lim.peak_gflops[k],
                       lim.peak_what[k] ? lim.peak_what[k] : "-",
                       lim.matmul_exact_gflops[k], lim.matmul_fast_gflops[k]);
        if (lim.amx_tile_loop_gflops > 0)
            printf("  amx         tile loop %7.0f GFLOP/s (A in L1, B "
                   "streaming from L2, C tiles in and out per 256 k)\n",
                   lim.amx_tile_loop_gflops);
        printf("  openblas    sgemm %.1f GFLOP/s own threads, %.1f on the "
               "engine's 32-column grid (core %s, OPENBLAS_CORETYPE %s)\n",
               lim.openblas_gflops, lim.openblas_grid_gflops, lim.openblas_core,
               lim.openblas_coretype);
        printf("model      %s (%s), %s precision, weights %s, %lld prompt "
               "tokens, %d new, median of %d\n",
               o.model, variant, fast ? "fast" : "exact", weights,
               (long long)prompt_tokens, o.new_tokens, o.repeat);
        printf("load       %9.1f ms   (first load %.1f ms)\n", m_load,
               first_load_ms);
        if (o.greedy)
            printf("greedy     %d tokens in all, %d chosen by the LM head's "
                   "pre-pass (background work after the last load: %.0f "
                   "ms)\n",
                   greedy_tokens, prepass_tokens, settle_ms);
        printf("preprocess %9.1f ms\n", m_pre);
        printf("vision     %9.1f ms   %7.1f GFLOP  %7.1f GFLOP/s\n", m_vis,
               w.vision / 1e9, m_vis > 0 ? w.vision / m_vis / 1e6 : 0);
        printf("prefill    %9.1f ms   %7.1f GFLOP  %7.1f GFLOP/s\n", m_pre_fill,
               w.prefill / 1e9,
               m_pre_fill > 0 ? w.prefill / m_pre_fill / 1e6 : 0);
        printf("ttft       %9.1f ms   floor %.1f ms (%.0f GFLOP/s peak): "
               "%.2f× the floor\n",
               m_ttft, ttft_floor, peak,
               ttft_floor > 0 ? m_ttft / ttft_floor : 0);
        printf("           first run %.1f ms (fresh session buffers, and "
               "the weights' pages mapped)\n",
               first_ttft_ms);
        if (o.ahead)
            printf("           %.1f ms with the image and prompt prepared "
                   "ahead (the kept prefill used in %d of %d runs)\n",
                   median(s.ahead_ttft), ahead_reused, o.repeat);
        if (ttft_floor_loop > 0)
            printf("           tile loop floor %.1f ms (%.0f GFLOP/s): "
                   "%.2f×\n",
                   ttft_floor_loop, lim.amx_tile_loop_gflops,
                   m_ttft / ttft_floor_loop);
        if (!fast)
            printf("           f32 matmul floor %.1f ms (%.0f GFLOP/s): "
                   "%.2f×\n",
                   ttft_floor_matmul, f32_matmul,
                   ttft_floor_matmul > 0 ? m_ttft / ttft_floor_matmul : 0);
        printf("decode     %9.1f ms/token  %.2f GB/token  %.1f GB/s: %.2f× "
               "the floor %.1f ms\n",
               m_dec, w.decode_bytes_per_token / 1e9,
               m_dec > 0 ? w.decode_bytes_per_token / m_dec / 1e6 : 0,
               decode_floor > 0 ? m_dec / decode_floor : 0, decode_floor);
        if (m_wread > 0)
            printf("           %.2f× the weights' own read rate after each "
                   "run (%.1f GB/s)\n",
                   m_dec_read, m_wread);
        printf("memory     peak RSS %.0f MB, weights %.0f MB (%.2f×)", rss,
               weights_mb, weights_mb > 0 ? rss / weights_mb : 0);
        if (huge >= 0)
            printf("; %.0f %% of the weights in memory in 2 MB pages",
                   100 * huge);
        printf("\n");
    }
    return 0;
}
