/* quant-cache.c — a model's quantized weights on disk (quant.h): made from
 * the checkpoint on first use, then mapped, never copied.
 *
 * What is quantized: the language model's matrices (the embedding, which
 * is also the LM head, and every layer's q, k, v, o, gate, up, down) —
 * what decode reads for every token.  The vision tower and projector run
 * once per image and stay as stored.
 *
 * One file per checkpoint and format, in the cache directory, named
 *   <dir key>-<q8|q4>-<checkpoint key>.palq
 * where the dir key hashes the model directory's real path and the
 * checkpoint key hashes every weight file's name, size, modification time
 * and inode, the quantized tensors' names, dtypes and shapes, the format
 * and this file's version: a changed checkpoint gets a new key, so it is
 * never served stale (older files of the same directory and format are
 * removed once the new one is in place).
 *
 * Layout (little-endian): a header (magic, version, format, block size,
 * key, tensor count, file size), a table of entries (name, rows, cols,
 * offset, bytes), then each tensor at a page-aligned offset in quant.h's
 * layout (codes, then scales).  It is written to a temporary file in the
 * same directory, tensor by tensor in chunks of rows (the 28B converts in
 * tens of MB), synced, and renamed into place: a crash leaves either no
 * file or a complete one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compute.h"
#include "forward.h"
#include "internal.h"
#include "kernels.h"
#include "model.h"
#include "quant.h"
#include "safetensors.h"

#define CACHE_MAGIC   "PALIQNT1"
#define CACHE_VERSION 1u
#define CACHE_SUFFIX  ".palq"
/* Header and tensors start on page boundaries, so each maps cleanly. */
#define CACHE_ALIGN 4096u
/* Entry names: role names such as "layers.45.down_proj" fit easily. */
#define CACHE_NAME_BYTES 64
/* Source bytes converted per chunk: bounds the conversion's memory. */
#define CACHE_CHUNK_BYTES (32u << 20)
/* FNV-1a, 64-bit. */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

typedef struct cache_header {
    char magic[8];
    uint32_t version, format; /* format: 8 or 4 bits */
    uint32_t block, n_tensors;
    uint64_t key[2];
    uint64_t file_bytes;
    uint8_t reserved[16];
} cache_header;

typedef struct cache_entry {
    char name[CACHE_NAME_BYTES];
    int64_t rows, cols;
    uint64_t offset, nbytes;
    uint8_t reserved[32];
} cache_entry;

/* A matrix of the model that is quantized, and its role name. */
typedef struct target {
    pali_tensor *t;
    char name[CACHE_NAME_BYTES];
} target;

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static int bits_of(pali_dtype fmt)
{
    return fmt == PALI_DTYPE_Q4 ? 4 : 8;
}

/* The language model's matrices, in a fixed order. */
static target *list_targets(pali_model *m, int *n)
{
    const int layers = m->cfg.info.text_layers;
    target *t = pali_calloc_array((size_t)(1 + 7 * layers), sizeof(*t));
    if (t == NULL)
        return NULL;
    int k = 0;
    t[k].t = &m->embed;
    snprintf(t[k++].name, CACHE_NAME_BYTES, "embed_tokens");
    static const char *const roles[7] = { "q_proj",   "k_proj",    "v_proj",
                                          "o_proj",   "gate_proj", "up_proj",
                                          "down_proj" };
    for (int l = 0; l < layers; l++) {
        pali_gemma_layer *L = &m->text[l];
        pali_tensor *mats[7] = { &L->q_w,    &L->k_w,  &L->v_w,   &L->o_w,
                                 &L->gate_w, &L->up_w, &L->down_w };
        for (int r = 0; r < 7; r++) {
            t[k].t = mats[r];
            snprintf(t[k++].name, CACHE_NAME_BYTES, "layers.%d.%s", l,
                     roles[r]);
        }
    }
    *n = k;
    return t;
}

/* The checkpoint key: its files as the file system sees them, and the
 * quantized tensors as the checkpoint describes them. */
static pali_status checkpoint_key(const pali_model *m, pali_dtype fmt,
                                  const target *t, int n, uint64_t key[2],
                                  pali_error *err)
{
    uint64_t h[2] = { FNV_OFFSET, FNV_OFFSET ^ 0x9e3779b97f4a7c15ULL };
    const uint32_t head[3] = { CACHE_VERSION, (uint32_t)bits_of(fmt),
                               PALI_QUANT_BLOCK };
    for (int j = 0; j < 2; j++)
        h[j] = fnv(h[j], head, sizeof(head));
    for (int f = 0; f < m->n_files; f++) {
        const char *path = pali_safetensors_path(m->files[f]);
        struct stat sb;
        if (stat(path, &sb) != 0)
            return pali_fail(err, PALI_ERR_IO, "%s: %s", path, strerror(errno));
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        const int64_t facts[5] = { (int64_t)sb.st_size,
                                   (int64_t)sb.st_mtim.tv_sec,
                                   (int64_t)sb.st_mtim.tv_nsec,
                                   (int64_t)sb.st_ino, (int64_t)sb.st_dev };
        for (int j = 0; j < 2; j++) {
            h[j] = fnv(h[j], base, strlen(base) + 1);
            h[j] = fnv(h[j], facts, sizeof(facts));
        }
    }
    for (int i = 0; i < n; i++) {
        const pali_tensor *x = t[i].t;
        const int64_t shape[3] = { (int64_t)x->dtype, pali_tensor_rows(x),
                                   pali_tensor_cols(x) };
        for (int j = 0; j < 2; j++) {
            h[j] = fnv(h[j], t[i].name, strlen(t[i].name) + 1);
            h[j] = fnv(h[j], x->name, strlen(x->name) + 1);
            h[j] = fnv(h[j], shape, sizeof(shape));
        }
    }
    key[0] = h[0];
    key[1] = h[1];
    return PALI_OK;
}

/* $XDG_CACHE_HOME/palilens/weights or ~/.cache/palilens/weights. */
static char *default_cache_dir(void)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    char buf[PATH_MAX];
    if (xdg && xdg[0] == '/')
        snprintf(buf, sizeof(buf), "%s/palilens/weights", xdg);
    else if (home && home[0])
        snprintf(buf, sizeof(buf), "%s/.cache/palilens/weights", home);
    else
        return NULL;
    return pali_strdup(buf);
}

/* mkdir -p. */
static pali_status make_dirs(const char *dir, pali_error *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "cache directory path too long: %s", dir);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            const char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return pali_fail(err, PALI_ERR_IO,
                                 "cannot create the weight cache "
                                 "directory %s: %s",
                                 buf, strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return PALI_OK;
}

static uint64_t align_up(uint64_t n)
{
    return (n + CACHE_ALIGN - 1) / CACHE_ALIGN * CACHE_ALIGN;
}

/* Header, entries and total size for the targets. */
static void plan(const target *t, int n, pali_dtype fmt, const uint64_t key[2],
                 cache_header *h, cache_entry *e)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, CACHE_MAGIC, 8);
    h->version = CACHE_VERSION;
    h->format = (uint32_t)bits_of(fmt);
    h->block = PALI_QUANT_BLOCK;
    h->n_tensors = (uint32_t)n;
    h->key[0] = key[0];
    h->key[1] = key[1];
    uint64_t at = align_up(sizeof(*h) + (uint64_t)n * sizeof(*e));
    for (int i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof(e[i]));
        memcpy(e[i].name, t[i].name, CACHE_NAME_BYTES);
        e[i].rows = pali_tensor_rows(t[i].t);
        e[i].cols = pali_tensor_cols(t[i].t);
        e[i].offset = at;
        e[i].nbytes = pali_quant_nbytes(fmt, e[i].rows, e[i].cols);
        at = align_up(at + e[i].nbytes);
    }
    h->file_bytes = at;
}

static pali_status write_all(int fd, const void *data, size_t n, uint64_t at,
                             const char *path, pali_error *err)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return pali_fail(err, PALI_ERR_IO, "%s: write failed: %s", path,
                             w < 0 ? strerror(errno) : "no space?");
        p += w;
        n -= (size_t)w;
        at += (uint64_t)w;
    }
    return PALI_OK;
}

typedef struct quant_job {
    const pali_tensor *src;
    pali_dtype fmt;
    int64_t r0, r1, cols;
    uint8_t *codes;              /* (r1 − r0) rows */
    uint16_t *scales;            /* (r1 − r0, cols/32) */
    float **rows;                /* per thread: one f32 row */
    const pali_kernels *kernels; /* a bf16 source's rows in one vector
                                  * pass where the set has it */
} quant_job;

/* Row r of a bf16 source by the kernel set's q8/q4 pass: the bits of
 * pali_quantize_row; false where the set has none or a weight is not
 * finite (the reference takes those rows). */
static bool quantize_bf16_row(const quant_job *j, int64_t r, uint8_t *codes,
                              uint16_t *scales)
{
    if (j->src->dtype != PALI_DTYPE_BF16)
        return false;
    const uint16_t *w = (const uint16_t *)j->src->data + (j->r0 + r) * j->cols;
    if (j->fmt == PALI_DTYPE_Q8 && j->kernels->q8_row_bound)
        return !isinf(j->kernels->q8_row_bound(w, j->cols, codes, scales, 0));
    if (j->fmt == PALI_DTYPE_Q4 && j->kernels->q4_row)
        return j->kernels->q4_row(w, j->cols, codes, scales);
    return false;
}

static void quant_worker(void *arg, int ith, int nth)
{
    const quant_job *j = arg;
    int64_t a, b;
    pali_split(j->r1 - j->r0, ith, nth, &a, &b);
    const int64_t row_bytes = pali_quant_row_bytes(j->fmt, j->cols);
    const int64_t blocks = j->cols / PALI_QUANT_BLOCK;
    for (int64_t r = a; r < b; r++) {
        if (quantize_bf16_row(j, r, j->codes + r * row_bytes,
                              j->scales + r * blocks))
            continue;
        pali_tensor_read_f32(j->src, (j->r0 + r) * j->cols, j->cols,
                             j->rows[ith]);
        pali_quantize_row(j->fmt, j->rows[ith], j->cols,
                          j->codes + r * row_bytes, j->scales + r * blocks);
    }
}

/* Writes the whole cache file to `tmp` (already created as fd). */
static pali_status write_cache(int fd, const char *tmp, const target *t, int n,
                               pali_dtype fmt, const cache_header *h,
                               const cache_entry *e, int n_threads,
                               const pali_callbacks *cb, pali_error *err)
{
    pali_status st = PALI_OK;
    if (ftruncate(fd, (off_t)h->file_bytes) != 0)
        return pali_fail(err, PALI_ERR_IO, "%s: cannot size to %llu bytes: %s",
                         tmp, (unsigned long long)h->file_bytes,
                         strerror(errno));
    pali_pool *pool = NULL;
    if ((st = pali_pool_new(n_threads, &pool, err)) != PALI_OK)
        return st;
    int kernel = PALI_KERNEL_SCALAR;
    (void)pali_compute_select_kernel(&kernel, NULL); // else the reference
    const pali_kernels *kernels = pali_kernels_get((pali_kernel)kernel);
    int64_t max_cols = 0;
    for (int i = 0; i < n; i++)
        max_cols = e[i].cols > max_cols ? e[i].cols : max_cols;
    // rows per chunk: CACHE_CHUNK_BYTES of f32 source at most
    const int64_t chunk_rows_max =
        (int64_t)CACHE_CHUNK_BYTES / (max_cols * 4) > 0
            ? (int64_t)CACHE_CHUNK_BYTES / (max_cols * 4)
            : 1;
    uint8_t *codes = malloc((size_t)(chunk_rows_max * max_cols));
    uint16_t *scales = malloc((size_t)(chunk_rows_max * max_cols / 16));
    float *rows[64] = { 0 };
    const int nt = pali_pool_size(pool) < 64 ? pali_pool_size(pool) : 64;
    bool ok = codes && scales;
    for (int i = 0; i < nt && ok; i++)
        ok = (rows[i] = malloc((size_t)max_cols * sizeof(float))) != NULL;
    if (!ok)
        st = pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                       "out of memory for weight conversion");
    for (int i = 0; i < n && st == PALI_OK; i++) {
        const pali_tensor *src = t[i].t;
        const int64_t rows_n = e[i].rows, cols = e[i].cols;
        const int64_t row_bytes = pali_quant_row_bytes(fmt, cols);
        const int64_t blocks = cols / PALI_QUANT_BLOCK;
        const uint64_t scale_at = e[i].offset + (uint64_t)(rows_n * row_bytes);
        for (int64_t r0 = 0; r0 < rows_n && st == PALI_OK;
             r0 += chunk_rows_max) {
            if (pali_hooks_abort(cb)) {
                st = pali_fail(err, PALI_ERR_ABORTED, "aborted");
                break;
            }
            const int64_t r1 =
                r0 + chunk_rows_max < rows_n ? r0 + chunk_rows_max : rows_n;
            quant_job job = { src,   fmt,    r0,   r1,     cols,
                              codes, scales, rows, kernels };
            pali_pool_run(pool, quant_worker, &job);
            st = write_all(fd, codes, (size_t)((r1 - r0) * row_bytes),
                           e[i].offset + (uint64_t)(r0 * row_bytes), tmp, err);
            if (st == PALI_OK)
                st =
                    write_all(fd, scales, (size_t)((r1 - r0) * blocks * 2),
                              scale_at + (uint64_t)(r0 * blocks * 2), tmp, err);
            // the source rows are done with: drop them from this process
            const size_t page = (size_t)sysconf(_SC_PAGESIZE);
            const size_t esz = src->dtype == PALI_DTYPE_F32 ? 4 : 2;
            uintptr_t a = (uintptr_t)src->data + (uintptr_t)(r0 * cols) * esz;
            uintptr_t b = (uintptr_t)src->data + (uintptr_t)(r1 * cols) * esz;
            a = (a + page - 1) / page * page;
            b = b / page * page;
            if (b > a)
                madvise((void *)a, b - a, MADV_DONTNEED);
        }
        // and the written pages from the page cache, once on disk
        if (st != PALI_OK)
            break;
        if (fdatasync(fd) == 0)
            posix_fadvise(fd, (off_t)e[i].offset, (off_t)e[i].nbytes,
                          POSIX_FADV_DONTNEED);
        pali_hooks_progress(cb, PALI_PHASE_LOAD, i + 1, n);
    }
    if (st == PALI_OK)
        st = write_all(fd, h, sizeof(*h), 0, tmp, err);
    if (st == PALI_OK)
        st = write_all(fd, e, (size_t)n * sizeof(*e), sizeof(*h), tmp, err);
    if (st == PALI_OK && fsync(fd) != 0)
        st = pali_fail(err, PALI_ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
    for (int i = 0; i < nt; i++)
        free(rows[i]);
    free(codes);
    free(scales);
    pali_pool_free(pool);
    return st;
}

/* Maps `path` and points the targets at it, if it is a complete cache for
 * exactly these tensors and key.  PALI_ERR_NOT_FOUND: absent; FORMAT: not
 * usable (the caller rebuilds it). */
static pali_status map_cache(pali_model *m, const char *path, const target *t,
                             int n, pali_dtype fmt, const uint64_t key[2],
                             pali_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT
                   ? pali_fail(err, PALI_ERR_NOT_FOUND, "%s: absent", path)
                   : pali_fail(err, PALI_ERR_IO, "%s: %s", path,
                               strerror(errno));
    struct stat sb;
    cache_header want;
    cache_entry *e = pali_calloc_array((size_t)n, sizeof(*e));
    if (e == NULL) {
        close(fd);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    }
    plan(t, n, fmt, key, &want, e);
    pali_status st = PALI_OK;
    void *map = MAP_FAILED;
    if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size != want.file_bytes)
        st = pali_fail(
            err, PALI_ERR_FORMAT, "%s: %lld bytes, expected %llu (incomplete?)",
            path, (long long)sb.st_size, (unsigned long long)want.file_bytes);
    if (st == PALI_OK) {
        map = mmap(NULL, (size_t)want.file_bytes, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
            st = pali_fail(err, PALI_ERR_IO, "%s: cannot map: %s", path,
                           strerror(errno));
    }
    close(fd);
    if (st == PALI_OK) {
        const cache_header *h = map;
        const cache_entry *have = (const cache_entry *)(h + 1);
        if (memcmp(h, &want, sizeof(want)) != 0 ||
            memcmp(have, e, (size_t)n * sizeof(*e)) != 0)
            st = pali_fail(err, PALI_ERR_FORMAT,
                           "%s: header does not match this checkpoint", path);
    }
    if (st != PALI_OK) {
        if (map != MAP_FAILED)
            munmap(map, (size_t)want.file_bytes);
        free(e);
        return st;
    }
    pali_advise_huge(map, (size_t)want.file_bytes);
    for (int i = 0; i < n; i++) {
        pali_tensor *x = t[i].t;
        x->dtype = fmt;
        x->data = (const char *)map + e[i].offset;
        x->nbytes = e[i].nbytes;
    }
    m->quant_map = map;
    m->quant_bytes = (size_t)want.file_bytes;
    free(e);
    return PALI_OK;
}

/* Removes other files of the same directory and format (older keys). */
static void remove_stale(const char *dir, const char *prefix, const char *keep)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    const size_t lp = strlen(prefix), ls = strlen(CACHE_SUFFIX);
    while ((de = readdir(d)) != NULL) {
        const size_t len = strlen(de->d_name);
        if (len > lp + ls && strncmp(de->d_name, prefix, lp) == 0 &&
            strcmp(de->d_name + len - ls, CACHE_SUFFIX) == 0 &&
            strcmp(de->d_name, keep) != 0) {
            char path[PATH_MAX];
            if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
                (int)sizeof(path))
                unlink(path);
        }
    }
    closedir(d);
}

pali_status pali_quant_apply(pali_model *m, pali_dtype fmt,
                             const char *cache_dir, int n_threads,
                             const pali_callbacks *cb, pali_error *err)
{
    int n = 0;
    target *t = list_targets(m, &n);
    if (t == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < n; i++)
        if (!pali_quant_fits(t[i].t) || pali_dtype_is_quant(t[i].t->dtype)) {
            pali_status st = pali_fail(
                err, PALI_ERR_UNSUPPORTED,
                "%s: tensor '%s' (%lld × %lld) cannot be block-quantized "
                "(its rows must be a multiple of %d)",
                m->dir, t[i].t->name, (long long)pali_tensor_rows(t[i].t),
                (long long)pali_tensor_cols(t[i].t), PALI_QUANT_BLOCK);
            free(t);
            return st;
        }
    uint64_t key[2];
    pali_status st = checkpoint_key(m, fmt, t, n, key, err);
    char *dir = cache_dir ? pali_strdup(cache_dir) : default_cache_dir();
    char real[PATH_MAX];
    if (st == PALI_OK && dir == NULL)
        st = pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                       "no cache directory for quantized weights: set "
                       "XDG_CACHE_HOME or HOME, or give one");
    if (st == PALI_OK && realpath(m->dir, real) == NULL)
        st = pali_fail(err, PALI_ERR_IO, "%s: %s", m->dir, strerror(errno));
    if (st == PALI_OK)
        st = make_dirs(dir, err);
    char prefix[64], name[128], path[PATH_MAX], tmp[PATH_MAX];
    if (st == PALI_OK) {
        const uint64_t dk = fnv(FNV_OFFSET, real, strlen(real));
        snprintf(prefix, sizeof(prefix), "%016llx-q%d-", (unsigned long long)dk,
                 bits_of(fmt));
        snprintf(name, sizeof(name), "%s%016llx%016llx%s", prefix,
                 (unsigned long long)key[0], (unsigned long long)key[1],
                 CACHE_SUFFIX);
        if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
                (int)sizeof(path) ||
            snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
                (int)sizeof(tmp))
            st = pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                           "cache path too long in %s", dir);
    }
    if (st == PALI_OK) {
        pali_error quiet = { 0 };
        st = map_cache(m, path, t, n, fmt, key, &quiet);
        if (st == PALI_ERR_NOT_FOUND || st == PALI_ERR_FORMAT) {
            // make it: write a temporary file, then rename it into place
            int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0) {
                st =
                    pali_fail(err, PALI_ERR_IO, "%s: %s", tmp, strerror(errno));
            } else {
                cache_header h;
                cache_entry *e = pali_calloc_array((size_t)n, sizeof(*e));
                st =
                    e ? PALI_OK
                      : pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
                if (st == PALI_OK) {
                    plan(t, n, fmt, key, &h, e);
                    st = write_cache(
                        fd, tmp, t, n, fmt, &h, e,
                        n_threads > 0 ? n_threads : pali_cpu_count(), cb, err);
                }
                free(e);
                close(fd);
                if (st == PALI_OK && rename(tmp, path) != 0)
                    st = pali_fail(err, PALI_ERR_IO, "rename %s → %s: %s", tmp,
                                   path, strerror(errno));
                if (st != PALI_OK)
                    unlink(tmp);
                if (st == PALI_OK) {
                    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                    if (dfd >= 0) {
                        fsync(dfd);
                        close(dfd);
                    }
                    remove_stale(dir, prefix, name);
                    st = map_cache(m, path, t, n, fmt, key, err);
                }
            }
        } else if (st != PALI_OK && err) {
            *err = quiet;
        }
    }
    free(dir);
    free(t);
    return st;
}

void pali_quant_release(pali_model *m)
{
    if (m->quant_map)
        munmap(m->quant_map, m->quant_bytes);
    m->quant_map = NULL;
    m->quant_bytes = 0;
}

/* ---- resident sizes and bf16 copies ------------------------------------- */

/* The matrices into out (up to cap); returns how many there are. */
static int collect_matrices(pali_model *m, pali_tensor **out, int cap)
{
    int n = 0;
#define ADD(t)                                                                 \
    do {                                                                       \
        if (n < cap)                                                           \
            out[n] = (t);                                                      \
        n++;                                                                   \
    } while (0)
    ADD(&m->patch_w);
    ADD(&m->proj_w);
    ADD(&m->embed);
    for (int l = 0; l < m->cfg.info.vision_layers; l++) {
        pali_siglip_layer *L = &m->vision[l];
        ADD(&L->q_w);
        ADD(&L->k_w);
        ADD(&L->v_w);
        ADD(&L->o_w);
        ADD(&L->fc1_w);
        ADD(&L->fc2_w);
    }
    for (int l = 0; l < m->cfg.info.text_layers; l++) {
        pali_gemma_layer *L = &m->text[l];
        ADD(&L->q_w);
        ADD(&L->k_w);
        ADD(&L->v_w);
        ADD(&L->o_w);
        ADD(&L->gate_w);
        ADD(&L->up_w);
        ADD(&L->down_w);
    }
#undef ADD
    return n;
}

pali_tensor **pali_model_matrices(pali_model *m, int *n)
{
    *n = collect_matrices(m, NULL, 0);
    pali_tensor **all = pali_calloc_array((size_t)*n, sizeof(*all));
    if (all != NULL)
        collect_matrices(m, all, *n);
    return all;
}

static bool is_text_matrix(const pali_model *m, const pali_tensor *t)
{
    if (t == &m->embed)
        return true;
    const pali_gemma_layer *first = m->text;
    const pali_gemma_layer *last = m->text + m->cfg.info.text_layers;
    return (const void *)t >= (const void *)first &&
           (const void *)t < (const void *)last;
}

uint64_t pali_model_bytes_as(const pali_model *m, pali_dtype d)
{
    pali_model *mm = (pali_model *)m; // only read
    int n;
    pali_tensor **all = pali_model_matrices(mm, &n);
    if (all == NULL)
        return UINT64_MAX;
    uint64_t bytes = m->pos_emb.nbytes;
    for (int i = 0; i < n; i++) {
        const pali_tensor *t = all[i];
        const int64_t rows = pali_tensor_rows(t), cols = pali_tensor_cols(t);
        if (!is_text_matrix(m, t))
            bytes += t->nbytes;
        else if (pali_dtype_is_quant(d))
            bytes += pali_quant_nbytes(d, rows, cols);
        else
            bytes += (uint64_t)(rows * cols) * (d == PALI_DTYPE_F32 ? 4 : 2);
    }
    free(all);
    return bytes;
}

uint64_t pali_model_resident_bytes(const pali_model *m)
{
    pali_model *mm = (pali_model *)m; // only read
    int n;
    pali_tensor **all = pali_model_matrices(mm, &n);
    if (all == NULL)
        return UINT64_MAX;
    uint64_t bytes = m->pos_emb.nbytes;
    for (int i = 0; i < n; i++)
        bytes += all[i]->nbytes;
    free(all);
    return bytes;
}

uint64_t pali_ram_bytes(void)
{
    const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t ram =
        pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_MAX;
    // PALI_MEMORY_LIMIT (bytes) plans for less than the machine has
    const char *limit = getenv(PALI_MEMORY_LIMIT_ENV);
    if (limit && limit[0]) {
        char *end;
        const unsigned long long v = strtoull(limit, &end, 10);
        if (*end == '\0' && v > 0 && v < ram)
            ram = v;
    }
    return ram;
}

const char *pali_format_bytes(uint64_t bytes, char *buf, size_t size)
{
    if (bytes >= 1000000000ULL)
        snprintf(buf, size, "%.1f GB", (double)bytes / 1e9);
    else
        snprintf(buf, size, "%.1f MB", (double)bytes / 1e6);
    return buf;
}

typedef struct bf16_job {
    const pali_tensor *src;
    uint16_t *dst;
    int64_t n;
} bf16_job;

static void bf16_worker(void *arg, int ith, int nth)
{
    const bf16_job *j = arg;
    enum {
        CHUNK = 4096
    };
    float buf[CHUNK];
    int64_t a, b;
    pali_split((j->n + CHUNK - 1) / CHUNK, ith, nth, &a, &b);
    for (int64_t c = a; c < b; c++) {
        const int64_t at = c * CHUNK;
        const int64_t len = j->n - at < CHUNK ? j->n - at : CHUNK;
        pali_tensor_read_f32(j->src, at, len, buf);
        for (int64_t i = 0; i < len; i++)
            j->dst[at + i] = pali_f32_to_bf16(buf[i]);
    }
}

pali_status pali_weights_convert_bf16(pali_model *m, int n_threads,
                                      const pali_callbacks *cb, pali_error *err)
{
    int n;
    pali_tensor **all = pali_model_matrices(m, &n);
    if (all == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (all[i]->dtype == PALI_DTYPE_F32 || all[i]->dtype == PALI_DTYPE_F16)
            total += (size_t)pali_tensor_numel(all[i]);
    pali_pool *pool = NULL;
    pali_status st = PALI_OK;
    if (total > 0) {
        m->bf16_copy = pali_aligned_alloc(total * sizeof(uint16_t));
        if (m->bf16_copy == NULL)
            st = pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                           "out of memory for %.1f GB of bf16 weights",
                           (double)total * 2 / 1e9);
    }
    if (st == PALI_OK && total > 0)
        st = pali_pool_new(n_threads > 0 ? n_threads : pali_cpu_count(), &pool,
                           err);
    uint16_t *at = m->bf16_copy;
    for (int i = 0; i < n && st == PALI_OK && total > 0; i++) {
        pali_tensor *t = all[i];
        if (t->dtype != PALI_DTYPE_F32 && t->dtype != PALI_DTYPE_F16)
            continue;
        if (pali_hooks_abort(cb)) {
            st = pali_fail(err, PALI_ERR_ABORTED, "aborted");
            break;
        }
        bf16_job job = { t, at, pali_tensor_numel(t) };
        pali_pool_run(pool, bf16_worker, &job);
        t->dtype = PALI_DTYPE_BF16;
        t->data = at;
        t->nbytes = (size_t)job.n * sizeof(uint16_t);
        at += job.n;
        pali_hooks_progress(cb, PALI_PHASE_LOAD, i + 1, n);
    }
    pali_pool_free(pool);
    free(all);
    return st;
}
