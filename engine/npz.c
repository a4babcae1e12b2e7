/* npz.c — NumPy .npz (zip of .npy) and .npy reader (see npz.h).
 *
 * Follows the zip application note (PKWARE APPNOTE 6.3: end of central
 * directory, zip64 locator and record, central and local headers, the zip64
 * extra field 0x0001) as Python's zipfile writes it for np.savez (numpy
 * writes zip64 extras into local headers even for small entries), and the
 * .npy format of numpy/lib/format.py (magic, version, header dict literal).
 * Deflated entries are inflated by zlib; nothing here trusts a size or an
 * offset before checking it against the file. */
#define _POSIX_C_SOURCE 200809L
#include "npz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

/* Fixed record sizes and signatures (APPNOTE 4.3). */
#define ZIP_EOCD_SIZE       22
#define ZIP_EOCD_SIG        0x06054b50u
#define ZIP_MAX_COMMENT     0xffff
#define ZIP64_LOCATOR_SIZE  20
#define ZIP64_LOCATOR_SIG   0x07064b50u
#define ZIP64_EOCD_SIZE     56
#define ZIP64_EOCD_SIG      0x06064b50u
#define ZIP_CENTRAL_SIZE    46
#define ZIP_CENTRAL_SIG     0x02014b50u
#define ZIP_LOCAL_SIZE      30
#define ZIP_LOCAL_SIG       0x04034b50u
#define ZIP_EXTRA_ZIP64     0x0001u
#define ZIP_FLAG_ENCRYPTED  0x0001u
#define ZIP_METHOD_STORED   0
#define ZIP_METHOD_DEFLATED 8
#define ZIP_NAME_MAX        4096 /* longer names are not array names */
/* An entry above this is corrupt for our purposes (the real vae-oid.npz is
 * 8 MB); it bounds what a forged header can make us allocate. */
#define NPZ_MAX_ENTRY_BYTES ((uint64_t)2 << 30)
/* .npy header dicts are a few hundred bytes; v2+ allows 4 GiB. */
#define NPY_MAX_HEADER (1u << 20)
#define NPY_MAGIC_LEN  6

typedef struct npz_entry {
    char *name; /* without ".npy" */
    uint16_t method;
    uint16_t flags;
    uint32_t crc;
    uint64_t csize, usize;
    uint64_t local_offset;
} npz_entry;

struct pali_npz {
    char *path;
    int fd;
    uint64_t file_size;
    uint64_t data_end; /* entries must end before the central directory */
    npz_entry *entries;
    size_t n_entries;
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Reads exactly n bytes at offset; false on a short read or error. */
static bool read_at(int fd, void *buf, size_t n, uint64_t offset)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
        offset += (uint64_t)r;
    }
    return true;
}

void pali_npz_close(pali_npz *npz)
{
    if (npz == NULL)
        return;
    for (size_t i = 0; i < npz->n_entries; i++)
        free(npz->entries[i].name);
    free(npz->entries);
    if (npz->fd >= 0)
        close(npz->fd);
    free(npz->path);
    free(npz);
}

/* Finds the end-of-central-directory record in the file's last 64 KiB. */
static pali_status find_eocd(pali_npz *npz, uint8_t *eocd, uint64_t *offset,
                             pali_error *err)
{
    if (npz->file_size < ZIP_EOCD_SIZE)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: not a zip archive (%llu bytes is too short)",
                         npz->path, (unsigned long long)npz->file_size);
    uint64_t tail = npz->file_size < ZIP_EOCD_SIZE + ZIP_MAX_COMMENT
                        ? npz->file_size
                        : ZIP_EOCD_SIZE + ZIP_MAX_COMMENT;
    uint8_t *buf = malloc(tail);
    if (buf == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         npz->path);
    uint64_t start = npz->file_size - tail;
    if (!read_at(npz->fd, buf, tail, start)) {
        free(buf);
        return pali_fail(err, PALI_ERR_IO, "%s: cannot read: %s", npz->path,
                         strerror(errno));
    }
    for (uint64_t i = tail - ZIP_EOCD_SIZE + 1; i-- > 0;) {
        if (rd32(buf + i) != ZIP_EOCD_SIG)
            continue;
        uint16_t comment = rd16(buf + i + 20);
        if (i + ZIP_EOCD_SIZE + comment > tail)
            continue; /* a stray signature inside the comment */
        memcpy(eocd, buf + i, ZIP_EOCD_SIZE);
        *offset = start + i;
        free(buf);
        return PALI_OK;
    }
    free(buf);
    return pali_fail(err, PALI_ERR_FORMAT,
                     "%s: not a zip archive (no end of central directory)",
                     npz->path);
}

/* Reads the zip64 end-of-central-directory record via its locator. */
static pali_status read_zip64_eocd(pali_npz *npz, uint64_t eocd_offset,
                                   uint64_t *n_entries, uint64_t *cd_size,
                                   uint64_t *cd_offset, uint64_t *record_at,
                                   pali_error *err)
{
    uint8_t loc[ZIP64_LOCATOR_SIZE], rec[ZIP64_EOCD_SIZE];
    if (eocd_offset < ZIP64_LOCATOR_SIZE ||
        !read_at(npz->fd, loc, sizeof(loc), eocd_offset - ZIP64_LOCATOR_SIZE) ||
        rd32(loc) != ZIP64_LOCATOR_SIG)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: corrupt zip: zip64 sizes without a zip64 "
                         "locator before byte %llu",
                         npz->path, (unsigned long long)eocd_offset);
    uint64_t at = rd64(loc + 8);
    if (rd32(loc + 4) != 0 || rd32(loc + 16) > 1)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: multi-disk zip archives are not supported",
                         npz->path);
    if (at > eocd_offset - ZIP64_LOCATOR_SIZE ||
        eocd_offset - ZIP64_LOCATOR_SIZE - at < ZIP64_EOCD_SIZE ||
        !read_at(npz->fd, rec, sizeof(rec), at) || rd32(rec) != ZIP64_EOCD_SIG)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: corrupt zip: bad zip64 end of central directory "
                         "at byte %llu",
                         npz->path, (unsigned long long)at);
    *n_entries = rd64(rec + 32);
    *cd_size = rd64(rec + 40);
    *cd_offset = rd64(rec + 48);
    *record_at = at;
    return PALI_OK;
}

/* Applies a zip64 extra field to the 0xffffffff fields of a header. */
static bool apply_zip64_extra(const uint8_t *extra, size_t len, uint64_t *usize,
                              uint64_t *csize, uint64_t *offset)
{
    size_t i = 0;
    while (i + 4 <= len) {
        uint16_t id = rd16(extra + i), size = rd16(extra + i + 2);
        if (i + 4 + size > len)
            return false;
        if (id == ZIP_EXTRA_ZIP64) {
            const uint8_t *p = extra + i + 4;
            size_t left = size;
            uint64_t *fields[3] = { usize, csize, offset };
            for (int f = 0; f < 3; f++) {
                if (fields[f] == NULL || *fields[f] != 0xffffffffu)
                    continue;
                if (left < 8)
                    return false;
                *fields[f] = rd64(p);
                p += 8;
                left -= 8;
            }
            return true;
        }
        i += 4 + (size_t)size;
    }
    /* No zip64 field: fine unless one was needed. */
    return !((usize && *usize == 0xffffffffu) ||
             (csize && *csize == 0xffffffffu) ||
             (offset && *offset == 0xffffffffu));
}

static pali_status parse_central(pali_npz *npz, const uint8_t *cd,
                                 uint64_t cd_size, uint64_t n_entries,
                                 uint64_t cd_offset, pali_error *err)
{
    npz->entries = pali_calloc_array((size_t)n_entries, sizeof(npz_entry));
    if (npz->entries == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         npz->path);
    uint64_t pos = 0;
    for (uint64_t e = 0; e < n_entries; e++) {
        unsigned long long at = (unsigned long long)(cd_offset + pos);
        if (cd_size - pos < ZIP_CENTRAL_SIZE ||
            rd32(cd + pos) != ZIP_CENTRAL_SIG)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: corrupt zip: central directory entry %llu "
                             "at byte %llu is truncated or has a bad signature",
                             npz->path, (unsigned long long)e, at);
        const uint8_t *h = cd + pos;
        size_t name_len = rd16(h + 28), extra_len = rd16(h + 30),
               comment_len = rd16(h + 32);
        uint64_t rec = ZIP_CENTRAL_SIZE + name_len + extra_len + comment_len;
        if (rec > cd_size - pos)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: corrupt zip: central directory entry %llu "
                             "at byte %llu runs past the directory",
                             npz->path, (unsigned long long)e, at);
        npz_entry *ent = &npz->entries[npz->n_entries];
        ent->flags = rd16(h + 8);
        ent->method = rd16(h + 10);
        ent->crc = rd32(h + 16);
        ent->csize = rd32(h + 20);
        ent->usize = rd32(h + 24);
        ent->local_offset = rd32(h + 42);
        const char *name = (const char *)h + ZIP_CENTRAL_SIZE;
        if (!apply_zip64_extra(h + ZIP_CENTRAL_SIZE + name_len, extra_len,
                               &ent->usize, &ent->csize, &ent->local_offset))
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: corrupt zip: entry '%.*s' has a bad zip64 "
                             "extra field",
                             npz->path, (int)name_len, name);
        if (name_len == 0 || name_len > ZIP_NAME_MAX ||
            memchr(name, 0, name_len) != NULL)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: corrupt zip: central directory entry %llu "
                             "has an invalid name",
                             npz->path, (unsigned long long)e);
        pos += rec;
        /* Directories and other files are not arrays: skip them, as
         * np.load lists only the .npy members as arrays. */
        if (name_len < 5 || memcmp(name + name_len - 4, ".npy", 4) != 0)
            continue;
        ent->name = pali_strndup(name, name_len - 4);
        if (ent->name == NULL)
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                             npz->path);
        for (size_t j = 0; j < npz->n_entries; j++)
            if (strcmp(npz->entries[j].name, ent->name) == 0) {
                free(ent->name);
                ent->name = NULL;
                return pali_fail(err, PALI_ERR_FORMAT,
                                 "%s: corrupt zip: entry '%.*s' appears twice",
                                 npz->path, (int)name_len, name);
            }
        npz->n_entries++;
        if (ent->local_offset >= npz->data_end)
            return pali_fail(err, PALI_ERR_FORMAT,
                             "%s: corrupt zip: entry '%s' starts at byte %llu, "
                             "past the data area (%llu bytes)",
                             npz->path, ent->name,
                             (unsigned long long)ent->local_offset,
                             (unsigned long long)npz->data_end);
    }
    return PALI_OK;
}

pali_status pali_npz_open(const char *path, pali_npz **out, pali_error *err)
{
    if (path == NULL || out == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_npz_open: NULL argument");
    *out = NULL;
    pali_npz *npz = calloc(1, sizeof(*npz));
    if (npz == NULL || (npz->path = pali_strdup(path)) == NULL) {
        free(npz);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         path);
    }
    npz->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (npz->fd < 0) {
        pali_status st =
            pali_fail(err, errno == ENOENT ? PALI_ERR_NOT_FOUND : PALI_ERR_IO,
                      "%s: cannot open: %s", path, strerror(errno));
        pali_npz_close(npz);
        return st;
    }
    struct stat sb;
    if (fstat(npz->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        pali_npz_close(npz);
        return pali_fail(err, PALI_ERR_IO, "%s: not a regular file", path);
    }
    npz->file_size = (uint64_t)sb.st_size;

    uint8_t eocd[ZIP_EOCD_SIZE] = { 0 };
    uint64_t eocd_offset = 0;
    pali_status st = find_eocd(npz, eocd, &eocd_offset, err);
    if (st != PALI_OK) {
        pali_npz_close(npz);
        return st;
    }
    uint64_t n_entries = rd16(eocd + 10), cd_size = rd32(eocd + 12),
             cd_offset = rd32(eocd + 16), cd_end_limit = eocd_offset;
    if (rd16(eocd + 4) != 0 && rd16(eocd + 4) != 0xffff) {
        pali_npz_close(npz);
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: multi-disk zip archives are not supported", path);
    }
    if (n_entries == 0xffff || cd_size == 0xffffffffu ||
        cd_offset == 0xffffffffu) {
        st = read_zip64_eocd(npz, eocd_offset, &n_entries, &cd_size, &cd_offset,
                             &cd_end_limit, err);
        if (st != PALI_OK) {
            pali_npz_close(npz);
            return st;
        }
    }
    if (cd_offset > cd_end_limit || cd_size > cd_end_limit - cd_offset ||
        n_entries > cd_size / ZIP_CENTRAL_SIZE) {
        pali_npz_close(npz);
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: corrupt zip: central directory (%llu entries, "
                         "%llu bytes at byte %llu) does not fit the file",
                         path, (unsigned long long)n_entries,
                         (unsigned long long)cd_size,
                         (unsigned long long)cd_offset);
    }
    npz->data_end = cd_offset;
    uint8_t *cd = malloc(cd_size ? (size_t)cd_size : 1);
    if (cd == NULL) {
        pali_npz_close(npz);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         path);
    }
    if (!read_at(npz->fd, cd, (size_t)cd_size, cd_offset)) {
        free(cd);
        pali_npz_close(npz);
        return pali_fail(err, PALI_ERR_IO,
                         "%s: cannot read the central directory", path);
    }
    st = parse_central(npz, cd, cd_size, n_entries, cd_offset, err);
    free(cd);
    if (st != PALI_OK) {
        pali_npz_close(npz);
        return st;
    }
    *out = npz;
    return PALI_OK;
}

size_t pali_npz_count(const pali_npz *npz)
{
    return npz ? npz->n_entries : 0;
}

const char *pali_npz_name(const pali_npz *npz, size_t i)
{
    return npz && i < npz->n_entries ? npz->entries[i].name : NULL;
}

static const npz_entry *find_entry(const pali_npz *npz, const char *name)
{
    for (size_t i = 0; i < npz->n_entries; i++)
        if (strcmp(npz->entries[i].name, name) == 0)
            return &npz->entries[i];
    return NULL;
}

bool pali_npz_has(const pali_npz *npz, const char *name)
{
    return npz != NULL && name != NULL && find_entry(npz, name) != NULL;
}

/* Inflates a raw deflate stream of exactly `usize` bytes (both sizes are
 * below 4 GiB: checked by the caller). */
static pali_status inflate_entry(const pali_npz *npz, const npz_entry *e,
                                 const uint8_t *in, uint8_t *out,
                                 pali_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "%s: entry '%s': cannot start zlib", npz->path,
                         e->name);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)e->csize;
    zs.next_out = out;
    zs.avail_out = (uInt)e->usize;
    int zr = inflate(&zs, Z_FINISH);
    uint64_t produced = (uint64_t)zs.total_out;
    char msg[128];
    snprintf(msg, sizeof(msg), "%s",
             zs.msg               ? zs.msg
             : zr == Z_STREAM_END ? "wrong size"
             : zs.avail_out == 0  ? "more data than the header says"
                                  : "stream truncated");
    inflateEnd(&zs);
    if (zr != Z_STREAM_END || produced != e->usize)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: entry '%s': corrupt deflate data (%s; %llu of "
                         "%llu bytes)",
                         npz->path, e->name, msg, (unsigned long long)produced,
                         (unsigned long long)e->usize);
    return PALI_OK;
}

pali_status pali_npz_read(const pali_npz *npz, const char *name,
                          pali_npy_array *out, pali_error *err)
{
    if (npz == NULL || name == NULL || out == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_npz_read: NULL argument");
    memset(out, 0, sizeof(*out));
    const npz_entry *e = find_entry(npz, name);
    if (e == NULL)
        return pali_fail(err, PALI_ERR_NOT_FOUND, "%s: no array '%s'",
                         npz->path, name);
    if (e->flags & ZIP_FLAG_ENCRYPTED)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: entry '%s' is encrypted", npz->path, name);
    if (e->method != ZIP_METHOD_STORED && e->method != ZIP_METHOD_DEFLATED)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: entry '%s' uses compression method %u (only "
                         "stored and deflated are supported)",
                         npz->path, name, e->method);
    if (e->usize > NPZ_MAX_ENTRY_BYTES || e->csize > NPZ_MAX_ENTRY_BYTES ||
        (e->method == ZIP_METHOD_STORED && e->csize != e->usize))
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: entry '%s': implausible sizes (%llu compressed, "
                         "%llu uncompressed)",
                         npz->path, name, (unsigned long long)e->csize,
                         (unsigned long long)e->usize);

    uint8_t local[ZIP_LOCAL_SIZE];
    if (npz->data_end - e->local_offset < ZIP_LOCAL_SIZE ||
        !read_at(npz->fd, local, sizeof(local), e->local_offset) ||
        rd32(local) != ZIP_LOCAL_SIG)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: entry '%s': no local header at byte %llu",
                         npz->path, name, (unsigned long long)e->local_offset);
    uint64_t name_len = rd16(local + 26), extra_len = rd16(local + 28);
    uint64_t data_at = e->local_offset + ZIP_LOCAL_SIZE + name_len + extra_len;
    char local_name[ZIP_NAME_MAX];
    if (rd16(local + 8) != e->method || name_len != strlen(name) + 4 ||
        !read_at(npz->fd, local_name, (size_t)name_len,
                 e->local_offset + ZIP_LOCAL_SIZE) ||
        memcmp(local_name, name, name_len - 4) != 0)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: entry '%s': local header at byte %llu does not "
                         "match the central directory",
                         npz->path, name, (unsigned long long)e->local_offset);
    if (data_at > npz->data_end || e->csize > npz->data_end - data_at)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: entry '%s': %llu bytes of data at byte %llu run "
                         "past the data area (%llu bytes): truncated file?",
                         npz->path, name, (unsigned long long)e->csize,
                         (unsigned long long)data_at,
                         (unsigned long long)npz->data_end);

    uint8_t *raw = malloc(e->csize ? (size_t)e->csize : 1);
    if (raw == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "%s: entry '%s': out of memory", npz->path, name);
    if (!read_at(npz->fd, raw, (size_t)e->csize, data_at)) {
        free(raw);
        return pali_fail(err, PALI_ERR_IO, "%s: entry '%s': read failed",
                         npz->path, name);
    }
    uint8_t *data = raw;
    if (e->method == ZIP_METHOD_DEFLATED) {
        data = malloc(e->usize ? (size_t)e->usize : 1);
        if (data == NULL) {
            free(raw);
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                             "%s: entry '%s': out of memory", npz->path, name);
        }
        pali_status st = inflate_entry(npz, e, raw, data, err);
        free(raw);
        if (st != PALI_OK) {
            free(data);
            return st;
        }
    }
    uLong crc = crc32(crc32(0L, Z_NULL, 0), data, (uInt)e->usize);
    if ((uint32_t)crc != e->crc) {
        free(data);
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: entry '%s': CRC-32 mismatch (stored %08x, data "
                         "%08x): corrupt file",
                         npz->path, name, (unsigned)e->crc, (unsigned)crc);
    }
    char what[PALI_ERROR_MESSAGE_MAX];
    snprintf(what, sizeof(what), "%s: entry '%s'", npz->path, name);
    pali_status st = pali_npy_parse(data, (size_t)e->usize, what, out, err);
    free(data);
    return st;
}

/* ---- .npy --------------------------------------------------------------- */

static const struct {
    const char *descr;
    pali_npy_dtype dtype;
    size_t size;
} npy_types[] = {
    { "<f4", PALI_NPY_F32, 4 }, { "<f8", PALI_NPY_F64, 8 },
    { "<i4", PALI_NPY_I32, 4 }, { "<i8", PALI_NPY_I64, 8 },
    { "|u1", PALI_NPY_U8, 1 },  { "<u1", PALI_NPY_U8, 1 },
};

const char *pali_npy_dtype_name(pali_npy_dtype dtype)
{
    for (size_t i = 0; i < PALI_ARRAY_LEN(npy_types); i++)
        if (npy_types[i].dtype == dtype)
            return npy_types[i].descr;
    return "?";
}

void pali_npy_shape_string(const pali_npy_array *array, char *buf, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return;
    buf[0] = 0;
    n += (size_t)snprintf(buf, size, "(");
    for (int d = 0; d < array->n_dims && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", d ? ", " : "",
                              (long long)array->shape[d]);
    if (n < size)
        snprintf(buf + n, size - n, array->n_dims == 1 ? ",)" : ")");
}

void pali_npy_array_clear(pali_npy_array *array)
{
    if (array == NULL)
        return;
    free(array->data);
    memset(array, 0, sizeof(*array));
}

static bool host_is_big_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 0;
}

/* The file is little-endian; a big-endian host swaps every item. */
static void swap_items(uint8_t *p, size_t n, size_t item)
{
    for (size_t i = 0; i < n; i++, p += item)
        for (size_t a = 0, b = item - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* A cursor over the header's Python dict literal. */
typedef struct {
    const char *p, *end;
} npy_cursor;

static void skip_blank(npy_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n'))
        c->p++;
}

static bool eat(npy_cursor *c, char ch)
{
    skip_blank(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted string ('…' or "…", no escapes: numpy never writes them). */
static bool read_str(npy_cursor *c, const char **s, size_t *n)
{
    skip_blank(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return false;
    char q = *c->p++;
    const char *start = c->p;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\')
            return false;
        c->p++;
    }
    if (c->p >= c->end)
        return false;
    *s = start;
    *n = (size_t)(c->p - start);
    c->p++;
    return true;
}

static bool read_word(npy_cursor *c, const char *word)
{
    skip_blank(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* (a, b, c) or (a,) or () — non-negative integers (Python may write 16L). */
static bool read_shape(npy_cursor *c, pali_npy_array *a)
{
    if (!eat(c, '('))
        return false;
    a->n_dims = 0;
    for (;;) {
        if (eat(c, ')'))
            return true;
        skip_blank(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9' ||
            a->n_dims == PALI_NPY_MAX_DIMS)
            return false;
        int64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return false;
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L')
            c->p++;
        a->shape[a->n_dims++] = v;
        if (!eat(c, ',')) {
            return eat(c, ')');
        }
    }
}

pali_status pali_npy_parse(const uint8_t *buf, size_t len, const char *what,
                           pali_npy_array *out, pali_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len < NPY_MAGIC_LEN + 4 || memcmp(buf, "\x93NUMPY", NPY_MAGIC_LEN) != 0)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: not a .npy array (bad magic)", what);
    uint8_t major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = rd16(buf + 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return pali_fail(err, PALI_ERR_FORMAT, "%s: truncated .npy header",
                             what);
        hlen = rd32(buf + 8);
        hstart = 12;
    } else {
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: .npy format version %u.%u is not supported", what,
                         major, buf[7]);
    }
    if (hlen > NPY_MAX_HEADER || hlen > len - hstart)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: .npy header of %zu bytes runs past the %zu-byte "
                         "array",
                         what, hlen, len);

    npy_cursor c = { (const char *)buf + hstart,
                     (const char *)buf + hstart + hlen };
    const char *descr = NULL;
    size_t descr_len = 0;
    bool have_order = false, fortran = false, have_shape = false;
    if (!eat(&c, '{'))
        goto bad_header;
    while (!eat(&c, '}')) {
        const char *key;
        size_t key_len;
        if (!read_str(&c, &key, &key_len) || !eat(&c, ':'))
            goto bad_header;
        if (key_len == 5 && memcmp(key, "descr", 5) == 0) {
            if (!read_str(&c, &descr, &descr_len))
                return pali_fail(err, PALI_ERR_UNSUPPORTED,
                                 "%s: structured dtypes are not supported",
                                 what);
        } else if (key_len == 13 && memcmp(key, "fortran_order", 13) == 0) {
            if (read_word(&c, "True"))
                fortran = true;
            else if (!read_word(&c, "False"))
                goto bad_header;
            have_order = true;
        } else if (key_len == 5 && memcmp(key, "shape", 5) == 0) {
            if (!read_shape(&c, out))
                goto bad_header;
            have_shape = true;
        } else {
            goto bad_header;
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                goto bad_header;
            break;
        }
    }
    if (descr == NULL || !have_order || !have_shape)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: .npy header lacks descr, fortran_order or shape",
                         what);
    if (fortran)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: array is in Fortran order (only C order is "
                         "supported)",
                         what);
    size_t item = 0;
    for (size_t i = 0; i < PALI_ARRAY_LEN(npy_types); i++)
        if (strlen(npy_types[i].descr) == descr_len &&
            memcmp(npy_types[i].descr, descr, descr_len) == 0) {
            out->dtype = npy_types[i].dtype;
            item = npy_types[i].size;
        }
    if (item == 0)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s: dtype '%.*s' is not supported (f4, f8, i4, i8 "
                         "little-endian, u1)",
                         what, (int)(descr_len > 32 ? 32 : descr_len), descr);
    size_t numel = 1;
    for (int d = 0; d < out->n_dims; d++) {
        if (out->shape[d] != 0 &&
            numel > SIZE_MAX / item / (size_t)out->shape[d])
            return pali_fail(err, PALI_ERR_FORMAT, "%s: shape too large", what);
        numel *= (size_t)out->shape[d];
    }
    size_t data_len = len - hstart - hlen;
    if (numel * item != data_len)
        return pali_fail(err, PALI_ERR_FORMAT,
                         "%s: shape needs %zu bytes of data but the array "
                         "holds %zu",
                         what, numel * item, data_len);
    out->numel = numel;
    out->nbytes = numel * item;
    out->data = malloc(out->nbytes ? out->nbytes : 1);
    if (out->data == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         what);
    memcpy(out->data, buf + hstart + hlen, out->nbytes);
    if (host_is_big_endian())
        swap_items(out->data, numel, item);
    return PALI_OK;

bad_header:
    memset(out, 0, sizeof(*out));
    return pali_fail(err, PALI_ERR_FORMAT,
                     "%s: malformed .npy header near byte %zu", what,
                     (size_t)(c.p - (const char *)buf));
}
