/* lens-model-catalog.h — finding PaliGemma 2 checkpoints: folders the
 * person added (GSettings "model-dirs") and the Hugging Face cache
 * (~/.cache/huggingface/hub/models--google--paligemma2-X/snapshots/REV, or
 * $HF_HUB_CACHE / $HF_HOME/hub), each with its size (3B / 10B / 28B),
 * resolution (224 / 448 / 896), disk size and the memory it needs.  No
 * GTK: the tests check it without a display. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The released sizes, in picker order. */
typedef enum {
    LENS_MODEL_SIZE_3B,
    LENS_MODEL_SIZE_10B,
    LENS_MODEL_SIZE_28B,
    LENS_MODEL_SIZE_CUSTOM, /* not recognised (e.g. a test model) */
} LensModelSize;

#define LENS_N_RESOLUTIONS 3
extern const int lens_model_resolutions[LENS_N_RESOLUTIONS]; /* 224 448 896 */

typedef struct {
    char *dir;
    LensModelSize size;
    int resolution;       /* image px, 0 when unknown */
    char *flavour;        /* "pt", "mix" or NULL */
    guint64 disk_bytes;   /* safetensors files */
    guint64 memory_bytes; /* weights + KV cache + activations, estimated */
    gboolean has_mask_decoder;
} LensModelEntry;

void lens_model_entry_free(LensModelEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LensModelEntry, lens_model_entry_free)

/* "3B", "10B", "28B" or "Custom" (translated). */
const char *lens_model_size_name(LensModelSize size);
/* The hub repository for a size and resolution, e.g.
 * "google/paligemma2-3b-mix-448". */
char *lens_model_hub_name(LensModelSize size, int resolution);
/* The command that downloads it into ~/models/… */
char *lens_model_download_command(LensModelSize size, int resolution);

/* Examines one folder; NULL when it holds no checkpoint (no config.json or
 * no .safetensors file). */
LensModelEntry *lens_model_catalog_examine(const char *dir);
/* The Hugging Face cache's PaliGemma 2 snapshot folders. */
GPtrArray *lens_model_catalog_hf_snapshots(void);

/* Examines `dirs` and the Hugging Face cache in a thread; the result is a
 * GPtrArray of LensModelEntry sorted by size, resolution and folder. */
void lens_model_catalog_scan_async(const char *const *dirs,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
GPtrArray *lens_model_catalog_scan_finish(GAsyncResult *result, GError **error);

G_END_DECLS
