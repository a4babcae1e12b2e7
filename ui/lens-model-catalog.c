/* lens-model-catalog.c — finding checkpoints (see lens-model-catalog.h).
 *
 * A folder is classified by its hub name when its path contains one
 * ("paligemma2-3b-mix-448", as the Hugging Face cache and the README's
 * download command name them), otherwise by config.json: the Gemma 2
 * hidden size (2304 / 3584 / 4608, REAL_CONFIGS.md) gives the size and the
 * vision image_size the resolution.  Memory needs are estimated from the
 * real configurations: the weights as stored (mmapped), the f32 KV cache
 * for the image tokens plus a prompt and an answer, and the activations. */
#include "config.h"

#include "lens-model-catalog.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

const int lens_model_resolutions[LENS_N_RESOLUTIONS] = { 224, 448, 896 };

/* Per size: Gemma 2 layers, KV heads, head dim, hidden and MLP sizes
 * (golden/REAL_CONFIGS.md). */
static const struct {
    const char *tag; /* in hub names */
    int hidden, layers, kv_heads, head_dim, intermediate;
} sizes[] = {
    [LENS_MODEL_SIZE_3B] = { "3b", 2304, 26, 4, 256, 9216 },
    [LENS_MODEL_SIZE_10B] = { "10b", 3584, 42, 8, 256, 14336 },
    [LENS_MODEL_SIZE_28B] = { "28b", 4608, 46, 16, 128, 36864 },
};

/* SigLIP So400m/14: hidden and MLP width, patch size. */
#define VISION_HIDDEN       1152
#define VISION_INTERMEDIATE 4304
#define PATCH_PX            14
/* Room for the prompt and the answer beyond the image tokens: the engine's
 * default budget of new tokens fits well inside it. */
#define TEXT_TOKENS_BUDGET 512
#define F32_BYTES          4

void lens_model_entry_free(LensModelEntry *entry)
{
    if (entry == NULL)
        return;
    g_free(entry->dir);
    g_free(entry->flavour);
    g_free(entry);
}

const char *lens_model_size_name(LensModelSize size)
{
    switch (size) {
    case LENS_MODEL_SIZE_3B: return _("3B");
    case LENS_MODEL_SIZE_10B: return _("10B");
    case LENS_MODEL_SIZE_28B: return _("28B");
    case LENS_MODEL_SIZE_CUSTOM: return _("Other Models");
    }
    return "";
}

char *lens_model_hub_name(LensModelSize size, int resolution)
{
    g_return_val_if_fail(size < LENS_MODEL_SIZE_CUSTOM, NULL);
    return g_strdup_printf("google/paligemma2-%s-mix-%d", sizes[size].tag,
                           resolution);
}

char *lens_model_download_command(LensModelSize size, int resolution)
{
    g_autofree char *hub = lens_model_hub_name(size, resolution);
    return g_strdup_printf("huggingface-cli download %s --local-dir "
                           "~/models/%s",
                           hub, hub + strlen("google/"));
}

static guint64 estimate_memory(LensModelSize size, int resolution,
                               guint64 disk_bytes)
{
    if (size == LENS_MODEL_SIZE_CUSTOM || resolution <= 0)
        return disk_bytes + disk_bytes / 10;
    guint64 image_tokens =
        (guint64)(resolution / PATCH_PX) * (resolution / PATCH_PX);
    guint64 context = image_tokens + TEXT_TOKENS_BUDGET;
    /* K and V, every layer, f32 */
    guint64 kv = 2ull * sizes[size].layers * sizes[size].kv_heads *
                 sizes[size].head_dim * context * F32_BYTES;
    /* the widest activations live at once: the vision MLP over the image
     * tokens, and the text MLP over the prefix */
    guint64 vision =
        image_tokens * (VISION_INTERMEDIATE + 4 * VISION_HIDDEN) * F32_BYTES;
    guint64 text =
        context *
        (sizes[size].intermediate * 2ull + 4ull * sizes[size].hidden) *
        F32_BYTES;
    return disk_bytes + kv + MAX(vision, text);
}

/* size and resolution from a hub-style name anywhere in the path */
static gboolean classify_by_name(const char *dir, LensModelEntry *entry)
{
    g_autoptr(GRegex) re =
        g_regex_new("paligemma2-(3b|10b|28b)-(pt|mix)-(224|448|896)",
                    G_REGEX_CASELESS, 0, NULL);
    g_autoptr(GMatchInfo) m = NULL;
    if (!g_regex_match(re, dir, 0, &m))
        return FALSE;
    g_autofree char *size_tag = g_match_info_fetch(m, 1);
    g_autofree char *tag = g_ascii_strdown(size_tag, -1);
    for (int s = 0; s < LENS_MODEL_SIZE_CUSTOM; s++)
        if (strcmp(sizes[s].tag, tag) == 0)
            entry->size = s;
    g_autofree char *flavour = g_match_info_fetch(m, 2);
    entry->flavour = g_ascii_strdown(flavour, -1);
    g_autofree char *res = g_match_info_fetch(m, 3);
    entry->resolution = atoi(res);
    return TRUE;
}

/* Every integer value of `key` in a JSON text (nested objects included). */
static GArray *json_int_values(const char *json, const char *key)
{
    GArray *values = g_array_new(FALSE, FALSE, sizeof(int));
    g_autofree char *pattern =
        g_strdup_printf("\"%s\"\\s*:\\s*([0-9]{1,9})", key);
    g_autoptr(GRegex) re = g_regex_new(pattern, 0, 0, NULL);
    g_autoptr(GMatchInfo) m = NULL;
    g_regex_match(re, json, 0, &m);
    while (g_match_info_matches(m)) {
        g_autofree char *num = g_match_info_fetch(m, 1);
        int v = atoi(num);
        g_array_append_val(values, v);
        g_match_info_next(m, NULL);
    }
    return values;
}

static void classify_by_config(const char *config, LensModelEntry *entry)
{
    g_autoptr(GArray) hidden = json_int_values(config, "hidden_size");
    g_autoptr(GArray) projection = json_int_values(config, "projection_dim");
    g_array_append_vals(hidden, projection->data, projection->len);
    for (guint i = 0; i < hidden->len; i++)
        for (int s = 0; s < LENS_MODEL_SIZE_CUSTOM; s++)
            if (g_array_index(hidden, int, i) == sizes[s].hidden)
                entry->size = s;
    g_autoptr(GArray) image = json_int_values(config, "image_size");
    for (guint i = 0; i < image->len; i++)
        entry->resolution = g_array_index(image, int, i);
}

static gboolean mask_decoder_exists(const char *dir)
{
    g_autofree char *beside = g_build_filename(dir, "vae-oid.npz", NULL);
    g_autofree char *user = g_build_filename(g_get_user_data_dir(), "palilens",
                                             "vae-oid.npz", NULL);
    return g_file_test(beside, G_FILE_TEST_IS_REGULAR) ||
           g_file_test(user, G_FILE_TEST_IS_REGULAR);
}

LensModelEntry *lens_model_catalog_examine(const char *dir)
{
    g_autofree char *config_path = g_build_filename(dir, "config.json", NULL);
    g_autofree char *config = NULL;
    if (!g_file_get_contents(config_path, &config, NULL, NULL))
        return NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    if (d == NULL)
        return NULL;
    guint64 disk = 0;
    gboolean has_weights = FALSE;
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(name, ".safetensors"))
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        /* the hub cache links to blobs: follow them (stat, not lstat) */
        GStatBuf st;
        if (g_stat(path, &st) == 0) {
            disk += (guint64)st.st_size;
            has_weights = TRUE;
        }
    }
    if (!has_weights)
        return NULL;
    LensModelEntry *entry = g_new0(LensModelEntry, 1);
    entry->dir = g_strdup(dir);
    entry->size = LENS_MODEL_SIZE_CUSTOM;
    if (!classify_by_name(dir, entry))
        classify_by_config(config, entry);
    entry->disk_bytes = disk;
    entry->memory_bytes = estimate_memory(entry->size, entry->resolution, disk);
    entry->has_mask_decoder = mask_decoder_exists(dir);
    return entry;
}

static char *hf_hub_cache(void)
{
    const char *cache = g_getenv("HF_HUB_CACHE");
    if (cache != NULL && cache[0] != '\0')
        return g_strdup(cache);
    const char *home = g_getenv("HF_HOME");
    if (home != NULL && home[0] != '\0')
        return g_build_filename(home, "hub", NULL);
    return g_build_filename(g_get_home_dir(), ".cache", "huggingface", "hub",
                            NULL);
}

GPtrArray *lens_model_catalog_hf_snapshots(void)
{
    GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *hub = hf_hub_cache();
    g_autoptr(GDir) d = g_dir_open(hub, 0, NULL);
    if (d == NULL)
        return dirs;
    const char *repo;
    while ((repo = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_prefix(repo, "models--google--paligemma2-"))
            continue;
        g_autofree char *snapshots =
            g_build_filename(hub, repo, "snapshots", NULL);
        g_autoptr(GDir) s = g_dir_open(snapshots, 0, NULL);
        if (s == NULL)
            continue;
        const char *rev;
        while ((rev = g_dir_read_name(s)) != NULL)
            g_ptr_array_add(dirs, g_build_filename(snapshots, rev, NULL));
    }
    return dirs;
}

static int compare_entries(gconstpointer a, gconstpointer b)
{
    const LensModelEntry *ea = *(LensModelEntry *const *)a;
    const LensModelEntry *eb = *(LensModelEntry *const *)b;
    if (ea->size != eb->size)
        return ea->size < eb->size ? -1 : 1;
    if (ea->resolution != eb->resolution)
        return ea->resolution < eb->resolution ? -1 : 1;
    return g_strcmp0(ea->dir, eb->dir);
}

static void scan_thread(GTask *task, gpointer source, gpointer data,
                        GCancellable *cancellable)
{
    char **dirs = data;
    GPtrArray *entries =
        g_ptr_array_new_with_free_func((GDestroyNotify)lens_model_entry_free);
    g_autoptr(GPtrArray) all = lens_model_catalog_hf_snapshots();
    for (char **d = dirs; *d != NULL; d++)
        g_ptr_array_add(all, g_strdup(*d));
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < all->len; i++) {
        if (g_cancellable_is_cancelled(cancellable))
            break;
        const char *dir = g_ptr_array_index(all, i);
        if (!g_hash_table_add(seen, (gpointer)dir))
            continue;
        LensModelEntry *entry = lens_model_catalog_examine(dir);
        if (entry != NULL)
            g_ptr_array_add(entries, entry);
    }
    g_ptr_array_sort(entries, compare_entries);
    g_task_return_pointer(task, entries, (GDestroyNotify)g_ptr_array_unref);
}

void lens_model_catalog_scan_async(const char *const *dirs,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data)
{
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, lens_model_catalog_scan_async);
    g_task_set_task_data(task, g_strdupv((char **)dirs),
                         (GDestroyNotify)g_strfreev);
    g_task_run_in_thread(task, scan_thread);
}

GPtrArray *lens_model_catalog_scan_finish(GAsyncResult *result, GError **error)
{
    return g_task_propagate_pointer(G_TASK(result), error);
}
