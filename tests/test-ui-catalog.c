/* test-ui-catalog.c — finding checkpoints for the model picker
 * (ui/lens-model-catalog.c), without a display: hub-named folders, folders
 * classified by their config.json, the Hugging Face cache layout
 * (HF_HUB_CACHE), disk sizes through the cache's symlinks, memory
 * estimates, the mask decoder beside a model, and folders that are not
 * checkpoints. */
#include <glib/gstdio.h>

#include "lens-model-catalog.h"
#include "testutil.h"
#include "ui-testutil.h"

/* A checkpoint-shaped folder: config.json and `shards` safetensors files of
 * `bytes` bytes each (content is never read by the catalogue). */
static char *make_model_dir(const char *parent, const char *name,
                            const char *config, int shards, gsize bytes)
{
    char *dir = g_build_filename(parent, name, NULL);
    g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
    g_autofree char *cfg = g_build_filename(dir, "config.json", NULL);
    g_assert_true(g_file_set_contents(cfg, config, -1, NULL));
    for (int i = 0; i < shards; i++) {
        g_autofree char *shard = g_strdup_printf(
            "%s/model-%05d-of-%05d.safetensors", dir, i + 1, shards);
        g_autofree char *zeros = g_malloc0(bytes);
        g_assert_true(g_file_set_contents(shard, zeros, bytes, NULL));
    }
    return dir;
}

static void test_hub_name(void)
{
    g_autofree char *root = g_build_filename(test_tmpdir(), "named", NULL);
    g_autofree char *dir =
        make_model_dir(root, "paligemma2-10b-pt-896", "{}", 3, 1000);
    g_autoptr(LensModelEntry) e = lens_model_catalog_examine(dir);
    g_assert_nonnull(e);
    g_assert_cmpint(e->size, ==, LENS_MODEL_SIZE_10B);
    g_assert_cmpint(e->resolution, ==, 896);
    g_assert_cmpstr(e->flavour, ==, "pt");
    g_assert_cmpuint(e->disk_bytes, ==, 3000);
    /* weights + an f32 KV cache for 4096 image tokens and more: 42 layers
     * × 8 KV heads × 256 × 2 (K, V) × 4 bytes × 4608 positions ≈ 3.2 GB */
    g_assert_cmpuint(e->memory_bytes, >, e->disk_bytes + 3000000000ull);
    g_assert_false(e->has_mask_decoder);

    /* the mask decoder beside the model is noticed */
    g_autofree char *vae = g_build_filename(dir, "vae-oid.npz", NULL);
    g_assert_true(g_file_set_contents(vae, "x", 1, NULL));
    g_autoptr(LensModelEntry) e2 = lens_model_catalog_examine(dir);
    g_assert_true(e2->has_mask_decoder);
}

static void test_by_config(void)
{
    g_autofree char *root = g_build_filename(test_tmpdir(), "config", NULL);
    /* an unnamed folder: the Gemma 2 hidden size says 3B, the vision
     * image_size 448 */
    g_autofree char *dir = make_model_dir(
        root, "my-model",
        "{\"text_config\": {\"hidden_size\": 2304, \"num_hidden_layers\": 26},"
        " \"vision_config\": {\"hidden_size\": 1152, \"image_size\": 448}}",
        1, 10);
    g_autoptr(LensModelEntry) e = lens_model_catalog_examine(dir);
    g_assert_nonnull(e);
    g_assert_cmpint(e->size, ==, LENS_MODEL_SIZE_3B);
    g_assert_cmpint(e->resolution, ==, 448);
    g_assert_null(e->flavour);

    /* a small test model: not one of the released sizes */
    g_autofree char *tiny = make_model_dir(
        root, "tiny",
        "{\"text_config\": {\"hidden_size\": 64}, \"vision_config\": "
        "{\"hidden_size\": 64, \"image_size\": 224}}",
        1, 10);
    g_autoptr(LensModelEntry) t = lens_model_catalog_examine(tiny);
    g_assert_nonnull(t);
    g_assert_cmpint(t->size, ==, LENS_MODEL_SIZE_CUSTOM);
    g_assert_cmpint(t->resolution, ==, 224);

    /* not checkpoints: no config.json, or no weights */
    g_autofree char *no_weights = make_model_dir(root, "empty", "{}", 0, 0);
    g_assert_null(lens_model_catalog_examine(no_weights));
    g_autofree char *missing = g_build_filename(root, "missing", NULL);
    g_assert_null(lens_model_catalog_examine(missing));
}

static void on_scanned(GObject *source, GAsyncResult *result, gpointer data)
{
    GPtrArray **out = data;
    g_autoptr(GError) error = NULL;
    *out = lens_model_catalog_scan_finish(result, &error);
    g_assert_no_error(error);
}

static gboolean scanned(gpointer data)
{
    return *(GPtrArray **)data != NULL;
}

static void test_hf_cache(void)
{
    /* the hub cache: models--google--paligemma2-X/snapshots/REV with
     * symlinks into blobs/ */
    g_autofree char *hub = g_build_filename(test_tmpdir(), "hub", NULL);
    g_setenv("HF_HUB_CACHE", hub, TRUE);
    g_autofree char *repo =
        g_build_filename(hub, "models--google--paligemma2-28b-mix-224", NULL);
    g_autofree char *blobs = g_build_filename(repo, "blobs", NULL);
    g_autofree char *snap =
        g_build_filename(repo, "snapshots", "0123abcd", NULL);
    g_assert_cmpint(g_mkdir_with_parents(blobs, 0755), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(snap, 0755), ==, 0);
    g_autofree char *blob = g_build_filename(blobs, "deadbeef", NULL);
    g_autofree char *zeros = g_malloc0(4096);
    g_assert_true(g_file_set_contents(blob, zeros, 4096, NULL));
    g_autofree char *link = g_build_filename(snap, "model.safetensors", NULL);
    g_assert_cmpint(symlink(blob, link), ==, 0);
    g_autofree char *cfg = g_build_filename(snap, "config.json", NULL);
    g_assert_true(g_file_set_contents(cfg, "{}", -1, NULL));
    /* other repositories are not PaliGemma 2 */
    g_autofree char *other = g_build_filename(hub, "models--google--gemma-2-2b",
                                              "snapshots", "x", NULL);
    g_assert_cmpint(g_mkdir_with_parents(other, 0755), ==, 0);

    g_autoptr(GPtrArray) snapshots = lens_model_catalog_hf_snapshots();
    g_assert_cmpuint(snapshots->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(snapshots, 0), ==, snap);

    /* a scan: the cache plus a folder added by the person, sorted by size */
    g_autofree char *root = g_build_filename(test_tmpdir(), "scan", NULL);
    g_autofree char *added =
        make_model_dir(root, "paligemma2-3b-mix-448", "{}", 1, 100);
    const char *dirs[] = { added, added, NULL }; /* duplicates once */
    GPtrArray *entries = NULL;
    lens_model_catalog_scan_async(dirs, NULL, on_scanned, &entries);
    g_assert_true(ui_test_wait_until(scanned, &entries, 10000));
    g_assert_cmpuint(entries->len, ==, 2);
    LensModelEntry *first = g_ptr_array_index(entries, 0);
    LensModelEntry *second = g_ptr_array_index(entries, 1);
    g_assert_cmpint(first->size, ==, LENS_MODEL_SIZE_3B);
    g_assert_cmpint(second->size, ==, LENS_MODEL_SIZE_28B);
    g_assert_cmpint(second->resolution, ==, 224);
    g_assert_cmpuint(second->disk_bytes, ==, 4096); /* through the link */
    g_ptr_array_unref(entries);
    g_unsetenv("HF_HUB_CACHE");
}

static void test_how_to_get(void)
{
    g_autofree char *hub = lens_model_hub_name(LENS_MODEL_SIZE_10B, 448);
    g_assert_cmpstr(hub, ==, "google/paligemma2-10b-mix-448");
    g_autofree char *cmd = lens_model_download_command(LENS_MODEL_SIZE_3B, 224);
    g_assert_cmpstr(cmd, ==,
                    "huggingface-cli download google/paligemma2-3b-mix-224 "
                    "--local-dir ~/models/paligemma2-3b-mix-224");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ui/catalog/hub-name", test_hub_name);
    g_test_add_func("/ui/catalog/by-config", test_by_config);
    g_test_add_func("/ui/catalog/hf-cache", test_hf_cache);
    g_test_add_func("/ui/catalog/how-to-get", test_how_to_get);
    return g_test_run();
}
