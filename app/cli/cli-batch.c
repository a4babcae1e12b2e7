/* cli-batch.c — palilens-cli --batch FOLDER_OR_LIST --out DIR: one task on
 * many images with the model loaded once.
 *
 * Each image gets a fresh pali_session_set_image and generate (nothing of
 * one image's output reaches the next); its output is saved as a small
 * record, DIR/results/<name>.result (a GKeyFile: image, size, prompt, model
 * and the generated text with special tokens), written to a temporary file
 * and renamed, so a killed run leaves no half-written file.  A rerun skips
 * every image whose record is there with the same model and prompt, and
 * only runs the rest.  A broken image is reported and skipped.  At the end
 * the records of every image are parsed again (parsing is deterministic)
 * and written in --format: COCO to DIR/annotations.json, VOC to
 * DIR/annotations/<name>.xml, YOLO to DIR/labels/<name>.txt with
 * DIR/classes.txt. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lens-export.h"
#include "lens-image-loader.h"

#define RECORD_GROUP  "result"
#define RECORD_SUFFIX ".result"
/* Progress bar width in characters. */
#define BAR_WIDTH 24

static const char *const image_suffixes[] = {
    ".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp",
};

typedef struct {
    char *path;    /* as opened */
    char *name;    /* unique stem for output files */
    char *error;   /* why it failed, or NULL */
    gboolean done; /* has a record */
} BatchItem;

static void batch_item_clear(gpointer p)
{
    BatchItem *it = p;
    g_free(it->path);
    g_free(it->name);
    g_free(it->error);
}

static gboolean is_image_name(const char *name)
{
    g_autofree char *lower = g_ascii_strdown(name, -1);
    for (guint i = 0; i < G_N_ELEMENTS(image_suffixes); i++)
        if (g_str_has_suffix(lower, image_suffixes[i]))
            return TRUE;
    return FALSE;
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The images of a folder (sorted by name) or of a list file (one path per
 * line, relative to the list's folder; blank lines and # comments
 * skipped). */
static GPtrArray *collect_paths(const char *source, GError **error)
{
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    if (g_file_test(source, G_FILE_TEST_IS_DIR)) {
        GDir *dir = g_dir_open(source, 0, error);
        if (dir == NULL) {
            g_ptr_array_unref(paths);
            return NULL;
        }
        const char *name;
        while ((name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *path = g_build_filename(source, name, NULL);
            if (is_image_name(name) &&
                g_file_test(path, G_FILE_TEST_IS_REGULAR))
                g_ptr_array_add(paths, g_steal_pointer(&path));
        }
        g_dir_close(dir);
        g_ptr_array_sort(paths, compare_strings);
        return paths;
    }
    g_autofree char *text = NULL;
    if (!g_file_get_contents(source, &text, NULL, error)) {
        g_ptr_array_unref(paths);
        return NULL;
    }
    if (!g_utf8_validate(text, -1, NULL)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: the list is not UTF-8 text", source);
        g_ptr_array_unref(paths);
        return NULL;
    }
    g_autofree char *base = g_path_get_dirname(source);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i] != NULL; i++) {
        char *line = g_strstrip(lines[i]);
        if (line[0] == 0 || line[0] == '#')
            continue;
        g_ptr_array_add(paths, g_path_is_absolute(line)
                                   ? g_strdup(line)
                                   : g_build_filename(base, line, NULL));
    }
    return paths;
}

/* Unique output names: the file's stem, with -2, -3, … on collisions. */
static GArray *make_items(GPtrArray *paths)
{
    GArray *items = g_array_new(FALSE, TRUE, sizeof(BatchItem));
    g_array_set_clear_func(items, batch_item_clear);
    g_autoptr(GHashTable) used =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < paths->len; i++) {
        const char *path = g_ptr_array_index(paths, i);
        g_autofree char *base = g_path_get_basename(path);
        char *dot = strrchr(base, '.');
        if (dot != NULL && dot != base)
            *dot = 0;
        char *name = g_strdup(base);
        for (int n = 2; g_hash_table_contains(used, name); n++) {
            g_free(name);
            name = g_strdup_printf("%s-%d", base, n);
        }
        g_hash_table_add(used, g_strdup(name));
        BatchItem it = { .path = g_strdup(path), .name = name };
        g_array_append_val(items, it);
    }
    return items;
}

static char *record_path(const char *out, const BatchItem *it)
{
    g_autofree char *file = g_strconcat(it->name, RECORD_SUFFIX, NULL);
    return g_build_filename(out, "results", file, NULL);
}

/* A record made by the same model and prompt for the same image. */
static gboolean record_valid(GKeyFile *kf, const BatchItem *it,
                             const char *model, const char *prompt)
{
    g_autofree char *image =
        g_key_file_get_string(kf, RECORD_GROUP, "image", NULL);
    g_autofree char *m = g_key_file_get_string(kf, RECORD_GROUP, "model", NULL);
    g_autofree char *p =
        g_key_file_get_string(kf, RECORD_GROUP, "prompt", NULL);
    g_autofree char *t =
        g_key_file_get_string(kf, RECORD_GROUP, "text_with_special", NULL);
    int w = g_key_file_get_integer(kf, RECORD_GROUP, "width", NULL);
    int h = g_key_file_get_integer(kf, RECORD_GROUP, "height", NULL);
    return image && m && p && t && w > 0 && h > 0 &&
           g_str_equal(image, it->path) && g_str_equal(m, model) &&
           g_str_equal(p, prompt);
}

static GKeyFile *record_load(const char *out, const BatchItem *it,
                             const char *model, const char *prompt)
{
    g_autofree char *path = record_path(out, it);
    GKeyFile *kf = g_key_file_new();
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL) ||
        !record_valid(kf, it, model, prompt)) {
        g_key_file_unref(kf);
        return NULL;
    }
    return kf;
}

static gboolean record_save(const char *out, const BatchItem *it,
                            const char *model, const char *prompt, int width,
                            int height, const pali_output *o, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_key_file_set_string(kf, RECORD_GROUP, "image", it->path);
    g_key_file_set_integer(kf, RECORD_GROUP, "width", width);
    g_key_file_set_integer(kf, RECORD_GROUP, "height", height);
    g_key_file_set_string(kf, RECORD_GROUP, "model", model);
    g_key_file_set_string(kf, RECORD_GROUP, "prompt", prompt);
    g_key_file_set_string(kf, RECORD_GROUP, "text", o->text);
    g_key_file_set_string(kf, RECORD_GROUP, "text_with_special",
                          o->text_with_special);
    g_key_file_set_integer(kf, RECORD_GROUP, "n_generated", o->n_generated);
    g_key_file_set_double(kf, RECORD_GROUP, "prefill_ms",
                          o->timings.prefill_ms);
    g_key_file_set_double(kf, RECORD_GROUP, "decode_ms", o->timings.decode_ms);
    g_autofree char *path = record_path(out, it);
    /* g_key_file_save_to_file writes a temporary file and renames it. */
    return g_key_file_save_to_file(kf, path, error);
}

static void progress(int done, int total, const char *name, double elapsed_s,
                     int ran)
{
    const gboolean tty = isatty(fileno(stderr));
    int filled = total > 0 ? done * BAR_WIDTH / total : BAR_WIDTH;
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = 0;
    g_autofree char *eta = NULL;
    if (ran > 0 && done < total) {
        double per = elapsed_s / ran;
        eta = g_strdup_printf("  %.1f s/image, about %.0f s left", per,
                              per * (total - done));
    }
    fprintf(stderr, "%s[%s] %d/%d %s%s%s", tty ? "\r\033[K" : "", bar, done,
            total, name ? name : "", eta ? eta : "", tty ? "" : "\n");
    fflush(stderr);
}

/* Runs one image; FALSE with it->error set when it cannot be done. */
static gboolean run_one(pali_session *session, BatchItem *it, const char *out,
                        const char *model, const char *prompt,
                        const pali_generate_params *gp)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(LensImage) image =
        lens_image_load(it->path, LENS_IMAGE_LOAD_ORIENT, &error);
    if (image == NULL) {
        it->error = g_strdup(error->message);
        return FALSE;
    }
    pali_image view = lens_image_as_pali(image);
    pali_error err = { 0 };
    const pali_output *o = NULL;
    if (pali_session_set_image(session, &view, NULL, &err) != PALI_OK ||
        pali_session_generate(session, prompt, gp, NULL, &o, &err) != PALI_OK) {
        it->error = g_strdup_printf("%s: %s", it->path, err.message);
        return FALSE;
    }
    if (!record_save(out, it, model, prompt, view.width, view.height, o,
                     &error)) {
        it->error = g_strdup(error->message);
        return FALSE;
    }
    return TRUE;
}

static gboolean make_dirs(const char *out, GError **error)
{
    const char *subs[] = { "results", "annotations", "labels" };
    for (guint i = 0; i < G_N_ELEMENTS(subs); i++) {
        g_autofree char *d = g_build_filename(out, subs[i], NULL);
        if (g_mkdir_with_parents(d, 0755) != 0) {
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                        "%s: cannot create: %s", d, g_strerror(errno));
            return FALSE;
        }
    }
    return TRUE;
}

/* Parses every record again and writes the export files. */
static gboolean write_exports(GArray *items, const CliOptions *opt,
                              const char *prompt, LensExportFormat format,
                              CliVae *vae, GError **error)
{
    g_autoptr(LensExport) exp = lens_export_new();
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    for (guint i = 0; i < items->len; i++) {
        BatchItem *it = &g_array_index(items, BatchItem, i);
        if (!it->done)
            continue;
        g_autoptr(GKeyFile) kf = record_load(opt->out, it, opt->model, prompt);
        if (kf == NULL) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "%s: the record of %s went missing", opt->out,
                        it->path);
            return FALSE;
        }
        g_autofree char *text =
            g_key_file_get_string(kf, RECORD_GROUP, "text_with_special", NULL);
        int w = g_key_file_get_integer(kf, RECORD_GROUP, "width", NULL);
        int h = g_key_file_get_integer(kf, RECORD_GROUP, "height", NULL);
        pali_result *r =
            cli_parse_output(text, w, h, vae, opt->vae, opt->model, error);
        if (r == NULL)
            return FALSE;
        g_autofree char *base = g_path_get_basename(it->path);
        int n = lens_export_add_image(exp, base, r, error);
        pali_result_free(r);
        if (n < 0)
            return FALSE;
        g_ptr_array_add(names, it->name);
    }
    if (format == LENS_EXPORT_COCO || format == LENS_EXPORT_COCO_RLE) {
        g_autofree char *path =
            g_build_filename(opt->out, "annotations.json", NULL);
        return lens_export_write_coco(exp, path, format == LENS_EXPORT_COCO_RLE,
                                      error);
    }
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        gboolean ok;
        if (format == LENS_EXPORT_VOC) {
            g_autofree char *file = g_strconcat(name, ".xml", NULL);
            g_autofree char *path =
                g_build_filename(opt->out, "annotations", file, NULL);
            ok = lens_export_write_voc(exp, (int)i, path, error);
        } else {
            g_autofree char *file = g_strconcat(name, ".txt", NULL);
            g_autofree char *path =
                g_build_filename(opt->out, "labels", file, NULL);
            ok = lens_export_write_yolo(
                exp, (int)i, format == LENS_EXPORT_YOLO_SEG, path, error);
        }
        if (!ok)
            return FALSE;
    }
    if (format == LENS_EXPORT_YOLO || format == LENS_EXPORT_YOLO_SEG) {
        g_autofree char *path = g_build_filename(opt->out, "classes.txt", NULL);
        return lens_export_write_yolo_classes(exp, path, error);
    }
    return TRUE;
}

int cli_batch(const CliOptions *opt)
{
    if (opt->model == NULL)
        return cli_usage("--batch needs --model DIR");
    if (opt->out == NULL)
        return cli_usage("--batch needs --out DIR");
    if (opt->image != NULL)
        return cli_usage("give either --image or --batch, not both");
    LensExportFormat format = LENS_EXPORT_COCO;
    if (opt->format != NULL &&
        !lens_export_format_from_name(opt->format, &format))
        return cli_usage("unknown --format '%s' (coco, coco-rle, voc, yolo, "
                         "yolo-seg)",
                         opt->format);
    pali_precision precision;
    pali_weights weights;
    if (!cli_parse_precision(opt->precision, &precision))
        return cli_usage("--precision must be exact or fast");
    if (!cli_parse_weights(opt->weights, &weights))
        return cli_usage("--weights must be bf16, q8 or q4");
    g_autofree char *prompt = NULL;
    pali_task task;
    int rc = cli_build_prompt(opt, &prompt, &task);
    if (rc != CLI_EXIT_OK)
        return rc;

    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) paths = collect_paths(opt->batch, &error);
    if (paths == NULL)
        return cli_fail("%s", error->message);
    if (paths->len == 0)
        return cli_fail("%s: no images found", opt->batch);
    g_autoptr(GArray) items = make_items(paths);
    if (!make_dirs(opt->out, &error))
        return cli_fail("%s", error->message);

    // resume: what earlier runs finished is skipped
    int todo = 0;
    for (guint i = 0; i < items->len; i++) {
        BatchItem *it = &g_array_index(items, BatchItem, i);
        GKeyFile *kf = record_load(opt->out, it, opt->model, prompt);
        it->done = kf != NULL;
        if (kf)
            g_key_file_unref(kf);
        todo += !it->done;
    }

    pali_error err = { 0 };
    pali_model_params mp = pali_model_default_params();
    mp.weights = weights;
    mp.n_threads = opt->threads;
    pali_model *model = NULL;
    pali_session *session = NULL;
    if (todo > 0) {
        if (pali_model_load(opt->model, &mp, &model, &err) != PALI_OK)
            return cli_fail_engine(&err);
        pali_session_params sp = pali_session_default_params();
        sp.n_threads = opt->threads;
        sp.precision = precision;
        if (pali_session_new(model, &sp, &session, &err) != PALI_OK) {
            pali_model_free(model);
            return cli_fail_engine(&err);
        }
    }
    pali_generate_params gp = pali_generate_default_params();
    gp.max_new_tokens = opt->max_new_tokens > 0
                            ? opt->max_new_tokens
                            : pali_task_max_new_tokens(task, opt->objects);
    gp.temperature = (float)opt->temperature;
    gp.top_k = opt->top_k;
    gp.top_p = (float)opt->top_p;
    gp.seed = (uint64_t)opt->seed;

    int done = (int)items->len - todo, ran = 0, failed = 0;
    gint64 start = g_get_monotonic_time();
    for (guint i = 0; i < items->len; i++) {
        BatchItem *it = &g_array_index(items, BatchItem, i);
        if (it->done)
            continue;
        progress(done, (int)items->len, it->name,
                 (g_get_monotonic_time() - start) / 1e6, ran);
        it->done = run_one(session, it, opt->out, opt->model, prompt, &gp);
        failed += !it->done;
        done++;
        ran++;
    }
    progress(done, (int)items->len, NULL, 0, 0);
    if (isatty(fileno(stderr)))
        fputc('\n', stderr);
    pali_session_free(session);
    pali_model_free(model);

    CliVae vae = { 0 };
    gboolean exported = write_exports(items, opt, prompt, format, &vae, &error);
    cli_vae_clear(&vae);
    if (!exported)
        return cli_fail("%s", error->message);

    int skipped = (int)items->len - todo;
    if (opt->json) {
        g_autoptr(LensJson) j = lens_json_new(FALSE);
        lens_json_begin_object(j);
        lens_json_key(j, "images");
        lens_json_int(j, items->len);
        lens_json_key(j, "ran");
        lens_json_int(j, ran - failed);
        lens_json_key(j, "resumed");
        lens_json_int(j, skipped);
        lens_json_key(j, "failed");
        lens_json_begin_array(j);
        for (guint i = 0; i < items->len; i++) {
            BatchItem *it = &g_array_index(items, BatchItem, i);
            if (it->error == NULL)
                continue;
            lens_json_begin_object(j);
            lens_json_key(j, "image");
            lens_json_string(j, it->path);
            lens_json_key(j, "error");
            lens_json_string(j, it->error);
            lens_json_end_object(j);
        }
        lens_json_end_array(j);
        lens_json_key(j, "format");
        lens_json_string(j, lens_export_format_name(format));
        lens_json_end_object(j);
        puts(lens_json_peek(j));
    } else {
        fprintf(stderr,
                "palilens-cli: %d images: %d ran, %d done by an earlier run, "
                "%d failed\n",
                (int)items->len, ran - failed, skipped, failed);
    }
    for (guint i = 0; i < items->len; i++) {
        BatchItem *it = &g_array_index(items, BatchItem, i);
        if (it->error != NULL)
            fprintf(stderr, "palilens-cli: failed: %s\n", it->error);
    }
    return failed > 0 ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}
