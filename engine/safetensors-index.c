/* safetensors-index.c — a model directory's weight files (safetensors.h):
 * model.safetensors alone, or model.safetensors.index.json and its shards.
 *
 * Follows transformers' choice (modeling_utils: a single
 * model.safetensors wins over an index) and the hub's index format
 * ({"metadata": {"total_size": …}, "weight_map": {tensor: shard file}}).
 * The index and the shards must agree exactly: every listed tensor in the
 * shard named for it, no tensor in two shards, none missing from the
 * index.  Shard names are plain file names inside the directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "json-value.h"
#include "json.h"
#include "safetensors.h"
#include "strmap.h"

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* A shard name must stay inside the model directory. */
static bool shard_name_ok(const char *name)
{
    return name[0] != 0 && strchr(name, '/') == NULL &&
           strchr(name, '\\') == NULL && strstr(name, "..") == NULL;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool report_progress(const pali_callbacks *cb, int done, int total)
{
    if (cb == NULL)
        return true;
    if (cb->progress != NULL)
        cb->progress(PALI_PHASE_LOAD, done, total, cb->user_data);
    return cb->should_abort == NULL || !cb->should_abort(cb->user_data);
}

typedef struct index_state {
    const char *dir;
    char *index_path;
    pali_json_doc *doc;
    const pali_json *weight_map;
    const char **shard_names; /* (n_shards) sorted, borrowed from doc */
    int n_shards;
    pali_strmap shard_of; /* shard name → position in shard_names */
    pali_safetensors **files;
    int n_files; /* opened so far */
} index_state;

/* Reads the index: weight_map names and the distinct, sorted shards. */
static pali_status read_index(index_state *ix, pali_error *err)
{
    pali_status s = pali_json_parse_file(
        ix->index_path, PALI_SAFETENSORS_MAX_INDEX_BYTES, &ix->doc, err);
    if (s != PALI_OK)
        return s;
    const pali_json *root = pali_json_root(ix->doc);
    if (!pali_json_is(root, PALI_JSON_OBJECT))
        return pali_json_type_error(root, ix->index_path, "(top level)",
                                    "an object", err);
    const pali_json *meta = pali_json_get(root, "metadata");
    if (meta != NULL && !pali_json_is(meta, PALI_JSON_OBJECT) &&
        !pali_json_is(meta, PALI_JSON_NULL))
        return pali_json_type_error(meta, ix->index_path, "metadata",
                                    "an object", err);
    ix->weight_map = pali_json_get(root, "weight_map");
    if (ix->weight_map == NULL)
        return pali_fail(err, PALI_ERR_FORMAT, "%s: no \"weight_map\"",
                         ix->index_path);
    if (!pali_json_is(ix->weight_map, PALI_JSON_OBJECT))
        return pali_json_type_error(ix->weight_map, ix->index_path,
                                    "weight_map", "an object", err);
    uint32_t n = ix->weight_map->len;
    if (n == 0)
        return pali_fail(err, PALI_ERR_FORMAT, "%s: weight_map is empty",
                         ix->index_path);
    pali_strmap listed;
    if ((s = pali_strmap_init(&listed, n, err)))
        return s;
    if ((s = pali_strmap_init(&ix->shard_of, 16, err))) {
        pali_strmap_clear(&listed);
        return s;
    }
    ix->shard_names = pali_malloc_array(n, sizeof(*ix->shard_names));
    if (ix->shard_names == NULL)
        s = pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                      ix->index_path);
    for (uint32_t i = 0; s == PALI_OK && i < n; i++) {
        const pali_json *k = pali_json_key_at(ix->weight_map, i);
        const pali_json *v = pali_json_value_at(ix->weight_map, i);
        char key[PALI_ERROR_MESSAGE_MAX / 2];
        snprintf(key, sizeof(key), "weight_map.%s", k->u.string);
        const char *shard;
        if (strlen(k->u.string) != k->len) {
            s = pali_fail(err, PALI_ERR_FORMAT,
                          "%s: weight_map: a tensor name contains U+0000",
                          ix->index_path);
            break;
        }
        if ((s = pali_json_read_string(v, ix->index_path, key, &shard, err)))
            break;
        if (!shard_name_ok(shard)) {
            s = pali_fail(err, PALI_ERR_FORMAT,
                          "%s: %s: shard name \"%s\" is not a plain file "
                          "name in the model directory (refused)",
                          ix->index_path, key, shard);
            break;
        }
        int existing;
        if ((s = pali_strmap_put(&listed, k->u.string, 0, &existing, err)))
            break;
        if (existing >= 0) {
            s = pali_fail(err, PALI_ERR_FORMAT,
                          "%s: tensor '%s' is listed twice in weight_map",
                          ix->index_path, k->u.string);
            break;
        }
        if ((s = pali_strmap_put(&ix->shard_of, shard, ix->n_shards, &existing,
                                 err)))
            break;
        if (existing < 0)
            ix->shard_names[ix->n_shards++] = shard;
    }
    pali_strmap_clear(&listed);
    if (s != PALI_OK)
        return s;
    qsort(ix->shard_names, (size_t)ix->n_shards, sizeof(*ix->shard_names),
          compare_strings);
    /* re-point each name at its sorted position */
    pali_strmap_clear(&ix->shard_of);
    if ((s = pali_strmap_init(&ix->shard_of, (size_t)ix->n_shards, err)))
        return s;
    for (int i = 0; i < ix->n_shards; i++) {
        if ((s = pali_strmap_put(&ix->shard_of, ix->shard_names[i], i, NULL,
                                 err)))
            return s;
    }
    return PALI_OK;
}

static pali_status open_shards(index_state *ix, const pali_callbacks *cb,
                               pali_error *err)
{
    ix->files = pali_calloc_array((size_t)ix->n_shards, sizeof(*ix->files));
    if (ix->files == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < ix->n_shards; i++) {
        if (!report_progress(cb, i, ix->n_shards))
            return pali_fail(err, PALI_ERR_ABORTED, "loading aborted");
        char *path = pali_path_join(ix->dir, ix->shard_names[i]);
        if (path == NULL)
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
        if (!file_exists(path)) {
            /* name a tensor that needs the missing shard */
            const char *tensor = "?";
            for (uint32_t k = 0; k < ix->weight_map->len; k++) {
                const pali_json *v = pali_json_value_at(ix->weight_map, k);
                if (strcmp(v->u.string, ix->shard_names[i]) == 0) {
                    tensor = pali_json_key_at(ix->weight_map, k)->u.string;
                    break;
                }
            }
            pali_status s =
                pali_fail(err, PALI_ERR_NOT_FOUND,
                          "%s names shard '%s' (for tensor '%s' "
                          "and others), but %s does not exist",
                          ix->index_path, ix->shard_names[i], tensor, path);
            free(path);
            return s;
        }
        pali_status s = pali_safetensors_open(path, &ix->files[i], err);
        free(path);
        if (s != PALI_OK)
            return s;
        ix->n_files = i + 1;
    }
    report_progress(cb, ix->n_shards, ix->n_shards);
    return PALI_OK;
}

/* The index and the shards' own headers must describe the same tensors. */
static pali_status cross_check(index_state *ix, pali_error *err)
{
    size_t total = 0;
    for (int i = 0; i < ix->n_files; i++)
        total += (size_t)pali_safetensors_count(ix->files[i]);
    pali_strmap where; /* tensor → shard position */
    pali_status s = pali_strmap_init(&where, total, err);
    if (s != PALI_OK)
        return s;
    for (int i = 0; s == PALI_OK && i < ix->n_files; i++) {
        for (int t = 0; t < pali_safetensors_count(ix->files[i]); t++) {
            const char *name = pali_safetensors_at(ix->files[i], t)->name;
            int existing;
            if ((s = pali_strmap_put(&where, name, i, &existing, err)))
                break;
            if (existing >= 0) {
                s = pali_fail(err, PALI_ERR_FORMAT,
                              "tensor '%s' is in two shards: %s and %s", name,
                              pali_safetensors_path(ix->files[existing]),
                              pali_safetensors_path(ix->files[i]));
                break;
            }
        }
    }
    for (uint32_t k = 0; s == PALI_OK && k < ix->weight_map->len; k++) {
        const char *name = pali_json_key_at(ix->weight_map, k)->u.string;
        const char *shard = pali_json_value_at(ix->weight_map, k)->u.string;
        int want = pali_strmap_get(&ix->shard_of, shard);
        int have = pali_strmap_get(&where, name);
        if (have < 0)
            s = pali_fail(err, PALI_ERR_NOT_FOUND,
                          "%s lists tensor '%s' in shard '%s', but that "
                          "shard does not contain it",
                          ix->index_path, name, shard);
        else if (have != want)
            s = pali_fail(err, PALI_ERR_FORMAT,
                          "%s lists tensor '%s' in shard '%s', but it is in "
                          "%s",
                          ix->index_path, name, shard,
                          pali_safetensors_path(ix->files[have]));
    }
    if (s == PALI_OK && total != ix->weight_map->len) {
        /* more tensors in the shards than in the index: name one */
        pali_strmap listed;
        if ((s = pali_strmap_init(&listed, ix->weight_map->len, err)) ==
            PALI_OK) {
            for (uint32_t k = 0; k < ix->weight_map->len; k++)
                pali_strmap_put(&listed,
                                pali_json_key_at(ix->weight_map, k)->u.string,
                                0, NULL, NULL);
            for (int i = 0; s == PALI_OK && i < ix->n_files; i++) {
                for (int t = 0; t < pali_safetensors_count(ix->files[i]); t++) {
                    const char *name =
                        pali_safetensors_at(ix->files[i], t)->name;
                    if (pali_strmap_get(&listed, name) < 0) {
                        s = pali_fail(err, PALI_ERR_FORMAT,
                                      "%s: tensor '%s' is not listed in %s",
                                      pali_safetensors_path(ix->files[i]), name,
                                      ix->index_path);
                        break;
                    }
                }
            }
            pali_strmap_clear(&listed);
        }
    }
    pali_strmap_clear(&where);
    return s;
}

static pali_status open_single(const char *dir, const pali_callbacks *cb,
                               pali_safetensors ***files, int *n_files,
                               pali_error *err)
{
    char *path = pali_path_join(dir, PALI_SAFETENSORS_SINGLE_NAME);
    pali_safetensors **arr = calloc(1, sizeof(*arr));
    if (path == NULL || arr == NULL) {
        free(path);
        free(arr);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!report_progress(cb, 0, 1)) {
        free(path);
        free(arr);
        return pali_fail(err, PALI_ERR_ABORTED, "loading aborted");
    }
    pali_status s = pali_safetensors_open(path, &arr[0], err);
    free(path);
    if (s != PALI_OK) {
        free(arr);
        return s;
    }
    report_progress(cb, 1, 1);
    *files = arr;
    *n_files = 1;
    return PALI_OK;
}

pali_status pali_safetensors_open_dir(const char *dir,
                                      const pali_callbacks *callbacks,
                                      pali_safetensors ***files, int *n_files,
                                      pali_error *err)
{
    *files = NULL;
    *n_files = 0;
    char *single = pali_path_join(dir, PALI_SAFETENSORS_SINGLE_NAME);
    if (single == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    bool has_single = file_exists(single);
    free(single);
    if (has_single)
        return open_single(dir, callbacks, files, n_files, err);

    index_state ix = { .dir = dir };
    ix.index_path = pali_path_join(dir, PALI_SAFETENSORS_INDEX_NAME);
    if (ix.index_path == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    pali_status s;
    if (!file_exists(ix.index_path))
        s = pali_fail(err, PALI_ERR_NOT_FOUND,
                      "%s: no weights: neither %s nor %s is there", dir,
                      PALI_SAFETENSORS_SINGLE_NAME,
                      PALI_SAFETENSORS_INDEX_NAME);
    else if ((s = read_index(&ix, err)) == PALI_OK &&
             (s = open_shards(&ix, callbacks, err)) == PALI_OK)
        s = cross_check(&ix, err);
    if (s == PALI_OK) {
        *files = ix.files;
        *n_files = ix.n_files;
    } else {
        pali_safetensors_close_all(ix.files, ix.n_files);
    }
    pali_strmap_clear(&ix.shard_of);
    free(ix.shard_names);
    pali_json_free(ix.doc);
    free(ix.index_path);
    return s;
}

void pali_safetensors_close_all(pali_safetensors **files, int n_files)
{
    if (files == NULL)
        return;
    for (int i = 0; i < n_files; i++)
        pali_safetensors_close(files[i]);
    free(files);
}
