/* safetensors.c — one safetensors file, mmapped read-only (safetensors.h).
 *
 * Format (huggingface/safetensors): 8 bytes little-endian header length H,
 * H bytes of UTF-8 JSON { name: {"dtype", "shape", "data_offsets":
 * [begin, end]}, "__metadata__": {string: string} }, then the data section;
 * offsets are relative to byte 8 + H.  Every field is checked the way the
 * reference reader does (and a little more: overlapping ranges, alignment)
 * before a tensor view is handed out.  No tensor data is read. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "json-value.h"
#include "json.h"
#include "strmap.h"

/* The length prefix: a little-endian u64. */
#define HEADER_PREFIX_BYTES 8
#define METADATA_KEY        "__metadata__"

struct pali_safetensors {
    char *path;
    const unsigned char *map; /* (size) the whole file, PROT_READ */
    size_t size;
    size_t data_start; /* 8 + header length */

    pali_tensor *tensors; /* (n_tensors) in header order */
    int n_tensors;
    char *names; /* all tensor names, NUL-separated; tensors point here */
    pali_strmap by_name;

    char **meta; /* (2 · n_meta) key, value, … ; NULL without metadata */
    int n_meta;
};

typedef struct dtype_info {
    const char *name;
    pali_dtype dtype;
    size_t size; /* bytes per element */
} dtype_info;

static const dtype_info supported_dtypes[] = {
    { "F32", PALI_DTYPE_F32, 4 },
    { "BF16", PALI_DTYPE_BF16, 2 },
    { "F16", PALI_DTYPE_F16, 2 },
};

/* Valid safetensors dtypes this engine does not compute with. */
static const char *const other_dtypes[] = {
    "F64", "I64",  "U64",     "I32",     "U32",     "I16",     "U16",     "I8",
    "U8",  "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",
    "C64", "I4",   "U4",      "I2",      "U2",      "I1",      "U1",
};

static pali_status read_dtype(const pali_safetensors *st, const char *tname,
                              const pali_json *v, const dtype_info **out,
                              pali_error *err)
{
    if (!pali_json_is(v, PALI_JSON_STRING)) {
        char got[96];
        pali_json_describe(v, got, sizeof(got));
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: tensor '%s': dtype: expected a string, got %s",
                         st->path, tname, got);
    }
    for (size_t i = 0; i < PALI_ARRAY_LEN(supported_dtypes); i++) {
        if (strcmp(v->u.string, supported_dtypes[i].name) == 0) {
            *out = &supported_dtypes[i];
            return PALI_OK;
        }
    }
    char got[96];
    pali_json_describe(v, got, sizeof(got));
    for (size_t i = 0; i < PALI_ARRAY_LEN(other_dtypes); i++) {
        if (strcmp(v->u.string, other_dtypes[i]) == 0)
            return pali_fail(err, PALI_ERR_UNSUPPORTED,
                             "%s: tensor '%s': dtype %s is not supported "
                             "(F32, BF16 and F16 are)",
                             st->path, tname, got);
    }
    return pali_fail(err, PALI_ERR_FORMAT, "%s: tensor '%s': unknown dtype %s",
                     st->path, tname, got);
}

static pali_status read_shape(const pali_safetensors *st, const char *tname,
                              const pali_json *v, size_t elem_size,
                              pali_tensor *t, pali_error *err)
{
    if (!pali_json_is(v, PALI_JSON_ARRAY)) {
        char got[96];
        pali_json_describe(v, got, sizeof(got));
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: tensor '%s': shape: expected an array, got %s",
                         st->path, tname, got);
    }
    if (v->len > PALI_TENSOR_MAX_DIMS)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: tensor '%s': %u dimensions; at most %d are "
                         "supported",
                         st->path, tname, v->len, PALI_TENSOR_MAX_DIMS);
    t->n_dims = (int)v->len;
    /* numel · elem_size must fit in the file, so any product beyond
     * SIZE_MAX is corrupt; checked before each multiply */
    uint64_t bytes = elem_size;
    for (uint32_t i = 0; i < v->len; i++) {
        const pali_json *d = &v->u.items[i];
        if (!pali_json_is(d, PALI_JSON_NUMBER) || !d->is_integer ||
            d->integer < 0 || d->integer > PALI_SAFETENSORS_MAX_DIM) {
            char got[96];
            pali_json_describe(d, got, sizeof(got));
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: tensor '%s': shape[%u]: expected an "
                             "integer from 0 to %" PRId64 ", got %s",
                             st->path, tname, i, PALI_SAFETENSORS_MAX_DIM, got);
        }
        uint64_t dim = (uint64_t)d->integer;
        if (dim != 0 && bytes > SIZE_MAX / dim)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: tensor '%s': the shape's element count "
                             "overflows",
                             st->path, tname);
        bytes *= dim;
        t->shape[i] = d->integer;
    }
    t->nbytes = (size_t)bytes;
    return PALI_OK;
}

static pali_status read_offsets(const pali_safetensors *st, const char *tname,
                                const pali_json *v, uint64_t *begin,
                                uint64_t *end, pali_error *err)
{
    if (!pali_json_is(v, PALI_JSON_ARRAY) || v->len != 2) {
        char got[96];
        pali_json_describe(v, got, sizeof(got));
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets: expected [begin, "
                         "end], got %s",
                         st->path, tname, got);
    }
    uint64_t o[2];
    for (int i = 0; i < 2; i++) {
        const pali_json *x = &v->u.items[i];
        if (!pali_json_is(x, PALI_JSON_NUMBER) || !x->is_integer ||
            x->integer < 0) {
            char got[96];
            pali_json_describe(x, got, sizeof(got));
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: tensor '%s': data_offsets[%d]: expected a "
                             "non-negative integer, got %s",
                             st->path, tname, i, got);
        }
        o[i] = (uint64_t)x->integer;
    }
    *begin = o[0];
    *end = o[1];
    return PALI_OK;
}

static pali_status read_tensor(pali_safetensors *st, const char *tname,
                               const pali_json *entry, pali_tensor *t,
                               pali_error *err)
{
    pali_status s;
    if (!pali_json_is(entry, PALI_JSON_OBJECT)) {
        char got[96];
        pali_json_describe(entry, got, sizeof(got));
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: tensor '%s': expected an object, got %s",
                         st->path, tname, got);
    }
    static const char *const fields[] = { "dtype", "shape", "data_offsets" };
    for (size_t i = 0; i < PALI_ARRAY_LEN(fields); i++) {
        if (pali_json_get(entry, fields[i]) == NULL)
            return pali_fail(err, PALI_ERR_FORMAT, "%s: tensor '%s': no \"%s\"",
                             st->path, tname, fields[i]);
    }
    const dtype_info *dt = NULL;
    if ((s = read_dtype(st, tname, pali_json_get(entry, "dtype"), &dt, err)))
        return s;
    t->dtype = dt->dtype;
    if ((s = read_shape(st, tname, pali_json_get(entry, "shape"), dt->size, t,
                        err)))
        return s;
    uint64_t begin = 0, end = 0;
    if ((s = read_offsets(st, tname, pali_json_get(entry, "data_offsets"),
                          &begin, &end, err)))
        return s;
    uint64_t data_len = st->size - st->data_start;
    if (end < begin)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets end %" PRIu64
                         " is before begin %" PRIu64,
                         st->path, tname, end, begin);
    if (end > data_len)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                         "] run past the data section (%" PRIu64
                         " bytes; the file is truncated or corrupt)",
                         st->path, tname, begin, end, data_len);
    if (end - begin != t->nbytes)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: tensor '%s': data_offsets span %" PRIu64
                         " bytes but the shape and dtype need %zu",
                         st->path, tname, end - begin, t->nbytes);
    uint64_t at = st->data_start + begin; /* file offset; the map is paged */
    if (t->nbytes != 0 && at % dt->size != 0)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: tensor '%s': data at byte %" PRIu64
                         " is not aligned to its %zu-byte elements",
                         st->path, tname, at, dt->size);
    t->data = st->map + at;
    return PALI_OK;
}

static pali_status read_metadata(pali_safetensors *st, const pali_json *v,
                                 pali_error *err)
{
    if (st->meta != NULL)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: \"__metadata__\" appears twice", st->path);
    if (!pali_json_is(v, PALI_JSON_OBJECT)) {
        char got[96];
        pali_json_describe(v, got, sizeof(got));
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: __metadata__: expected an object of strings, "
                         "got %s",
                         st->path, got);
    }
    st->meta = pali_calloc_array(2 * (size_t)v->len + 1, sizeof(char *));
    if (st->meta == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         st->path);
    for (uint32_t i = 0; i < v->len; i++) {
        const pali_json *k = pali_json_key_at(v, i);
        const pali_json *x = pali_json_value_at(v, i);
        char key[128];
        snprintf(key, sizeof(key), "__metadata__.%s", k->u.string);
        const char *str;
        pali_status s = pali_json_read_string(x, st->path, key, &str, err);
        if (s != PALI_OK)
            return s;
        if (strlen(k->u.string) != k->len)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: __metadata__: a key contains U+0000",
                             st->path);
        st->meta[2 * i] = pali_strdup(k->u.string);
        st->meta[2 * i + 1] = pali_strdup(str);
        st->n_meta = (int)i + 1;
        if (st->meta[2 * i] == NULL || st->meta[2 * i + 1] == NULL)
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                             st->path);
    }
    return PALI_OK;
}

static int compare_by_offset(const void *a, const void *b)
{
    const pali_tensor *x = *(const pali_tensor *const *)a;
    const pali_tensor *y = *(const pali_tensor *const *)b;
    const unsigned char *p = x->data, *q = y->data;
    if (p != q)
        return p < q ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* No two non-empty tensors may share a byte. */
static pali_status check_overlaps(pali_safetensors *st, pali_error *err)
{
    if (st->n_tensors < 2)
        return PALI_OK;
    const pali_tensor **order =
        pali_malloc_array((size_t)st->n_tensors, sizeof(*order));
    if (order == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         st->path);
    for (int i = 0; i < st->n_tensors; i++)
        order[i] = &st->tensors[i];
    qsort(order, (size_t)st->n_tensors, sizeof(*order), compare_by_offset);
    pali_status s = PALI_OK;
    const pali_tensor *prev = NULL; /* the non-empty tensor ending last */
    for (int i = 0; i < st->n_tensors; i++) {
        const pali_tensor *t = order[i];
        if (t->nbytes == 0)
            continue;
        const unsigned char *b = t->data;
        if (prev != NULL &&
            b < (const unsigned char *)prev->data + prev->nbytes) {
            s = pali_fail(err, PALI_ERR_FORMAT,
                          "%s: tensors '%s' and '%s' overlap (data bytes "
                          "%zu and %zu)",
                          st->path, prev->name, t->name,
                          (size_t)((const unsigned char *)prev->data - st->map -
                                   st->data_start),
                          (size_t)(b - st->map - st->data_start));
            break;
        }
        if (prev == NULL ||
            b + t->nbytes > (const unsigned char *)prev->data + prev->nbytes)
            prev = t;
    }
    free(order);
    return s;
}

static pali_status parse_header(pali_safetensors *st, const pali_json *root,
                                pali_error *err)
{
    if (!pali_json_is(root, PALI_JSON_OBJECT)) {
        char got[96];
        pali_json_describe(root, got, sizeof(got));
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: the header is not a JSON object (got %s)",
                         st->path, got);
    }
    /* the name pool and the tensor array, sized in one pass */
    size_t pool = 0;
    int n = 0;
    for (uint32_t i = 0; i < root->len; i++) {
        const pali_json *k = pali_json_key_at(root, i);
        if (strcmp(k->u.string, METADATA_KEY) == 0)
            continue;
        if (strlen(k->u.string) != k->len || k->len == 0)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: tensor %u has an empty name or one with "
                             "U+0000",
                             st->path, i);
        pool += k->len + 1;
        n++;
    }
    st->tensors = pali_calloc_array((size_t)n, sizeof(*st->tensors));
    st->names = pali_malloc_array(pool + 1, 1);
    if (st->tensors == NULL || st->names == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         st->path);
    pali_status s = pali_strmap_init(&st->by_name, (size_t)n, err);
    if (s != PALI_OK)
        return s;
    char *name = st->names;
    for (uint32_t i = 0; i < root->len; i++) {
        const pali_json *k = pali_json_key_at(root, i);
        const pali_json *v = pali_json_value_at(root, i);
        if (strcmp(k->u.string, METADATA_KEY) == 0) {
            if ((s = read_metadata(st, v, err)))
                return s;
            continue;
        }
        memcpy(name, k->u.string, k->len + 1);
        pali_tensor *t = &st->tensors[st->n_tensors];
        t->name = name;
        name += k->len + 1;
        if ((s = read_tensor(st, t->name, v, t, err)))
            return s;
        int existing;
        if ((s = pali_strmap_put(&st->by_name, t->name, st->n_tensors,
                                 &existing, err)))
            return s;
        if (existing >= 0)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: tensor '%s' appears twice in the header",
                             st->path, t->name);
        st->n_tensors++;
    }
    return check_overlaps(st, err);
}

static pali_status map_file(pali_safetensors *st, pali_error *err)
{
    int fd = open(st->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pali_fail(err,
                         errno == ENOENT ? PALI_ERR_NOT_FOUND : PALI_ERR_IO,
                         "%s: cannot open: %s", st->path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return pali_fail(err, PALI_ERR_IO, "%s: cannot stat: %s", st->path,
                         strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return pali_fail(err, PALI_ERR_IO, "%s: not a regular file", st->path);
    }
    if ((uint64_t)sb.st_size < HEADER_PREFIX_BYTES) {
        close(fd);
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: %lld bytes, shorter than the 8-byte header "
                         "length (truncated?)",
                         st->path, (long long)sb.st_size);
    }
    st->size = (size_t)sb.st_size;
    void *m = mmap(NULL, st->size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file */
    if (m == MAP_FAILED)
        return pali_fail(
            err, e == ENOMEM ? PALI_ERR_OUT_OF_MEMORY : PALI_ERR_IO,
            "%s: cannot map %zu bytes: %s", st->path, st->size, strerror(e));
    st->map = m;
    return PALI_OK;
}

pali_status pali_safetensors_open(const char *path, pali_safetensors **out,
                                  pali_error *err)
{
    *out = NULL;
    pali_safetensors *st = calloc(1, sizeof(*st));
    if (st == NULL || (st->path = pali_strdup(path)) == NULL) {
        free(st);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         path);
    }
    pali_status s = map_file(st, err);
    if (s != PALI_OK) {
        pali_safetensors_close(st);
        return s;
    }
    uint64_t hlen = 0;
    for (int i = 0; i < HEADER_PREFIX_BYTES; i++)
        hlen |= (uint64_t)st->map[i] << (8 * i);
    if (hlen > PALI_SAFETENSORS_MAX_HEADER_BYTES) {
        s = pali_fail(err, PALI_ERR_FORMAT,
                      "%s: header length %" PRIu64
                      " bytes is larger than the %u accepted (corrupt?)",
                      path, hlen, PALI_SAFETENSORS_MAX_HEADER_BYTES);
    } else if (hlen > st->size - HEADER_PREFIX_BYTES) {
        s = pali_fail(err, PALI_ERR_FORMAT,
                      "%s: header length %" PRIu64
                      " bytes runs past the end of the file (%zu bytes; "
                      "truncated?)",
                      path, hlen, st->size);
    }
    if (s != PALI_OK) {
        pali_safetensors_close(st);
        return s;
    }
    st->data_start = HEADER_PREFIX_BYTES + (size_t)hlen;
    pali_json_doc *doc = NULL;
    char *what = malloc(strlen(path) + sizeof(": header"));
    if (what == NULL) {
        pali_safetensors_close(st);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         path);
    }
    strcpy(what, path);
    strcat(what, ": header");
    /* the JSON reader checks UTF-8 and names the byte offset */
    s = pali_json_parse((const char *)st->map + HEADER_PREFIX_BYTES,
                        (size_t)hlen, what, &doc, err);
    free(what);
    if (s == PALI_OK)
        s = parse_header(st, pali_json_root(doc), err);
    pali_json_free(doc);
    if (s != PALI_OK) {
        pali_safetensors_close(st);
        return s;
    }
    *out = st;
    return PALI_OK;
}

void pali_safetensors_close(pali_safetensors *st)
{
    if (st == NULL)
        return;
    if (st->map != NULL)
        munmap((void *)st->map, st->size);
    for (int i = 0; st->meta != NULL && i < 2 * st->n_meta; i++)
        free(st->meta[i]);
    free(st->meta);
    pali_strmap_clear(&st->by_name);
    free(st->tensors);
    free(st->names);
    free(st->path);
    free(st);
}

const char *pali_safetensors_path(const pali_safetensors *st)
{
    return st->path;
}

uint64_t pali_safetensors_file_size(const pali_safetensors *st)
{
    return st->size;
}

const void *pali_safetensors_map(const pali_safetensors *st)
{
    return st->map;
}

int pali_safetensors_count(const pali_safetensors *st)
{
    return st->n_tensors;
}

const pali_tensor *pali_safetensors_at(const pali_safetensors *st, int i)
{
    return i >= 0 && i < st->n_tensors ? &st->tensors[i] : NULL;
}

const pali_tensor *pali_safetensors_find(const pali_safetensors *st,
                                         const char *name)
{
    int i = pali_strmap_get(&st->by_name, name);
    return i >= 0 ? &st->tensors[i] : NULL;
}

void pali_safetensors_advise_random(const pali_safetensors *st, bool random)
{
    /* only hints: a failure changes nothing but speed */
    (void)madvise((void *)st->map, st->size,
                  random ? MADV_RANDOM : MADV_NORMAL);
    /* no 2 MB folios for the scattered reads either: each would read
     * 2 MB (a cold open of the 3B 0.57 s instead of 0.39) */
    if (random)
        (void)madvise((void *)st->map, st->size, MADV_NOHUGEPAGE);
    else
        pali_advise_huge(st->map, st->size);
}

int pali_safetensors_metadata_count(const pali_safetensors *st)
{
    return st->n_meta;
}

const char *pali_safetensors_metadata_key(const pali_safetensors *st, int i)
{
    return i >= 0 && i < st->n_meta ? st->meta[2 * i] : NULL;
}

const char *pali_safetensors_metadata_get(const pali_safetensors *st,
                                          const char *key)
{
    for (int i = st->n_meta; i-- > 0;) {
        if (strcmp(st->meta[2 * i], key) == 0)
            return st->meta[2 * i + 1];
    }
    return NULL;
}
