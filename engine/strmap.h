/* strmap.h — a string → index hash table (open addressing, FNV-1a) for
 * looking tensors up by name.  Keys are borrowed: they must outlive the
 * map.  Not thread-safe to modify; lookups on a finished map are. */
#ifndef PALI_STRMAP_H
#define PALI_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "pali.h"

typedef struct pali_strmap {
    const char **keys; /* (cap) NULL: empty slot */
    int *values;       /* (cap) */
    size_t cap;        /* a power of two, kept at least twice len */
    size_t len;
} pali_strmap;

/* Sizes the table for `expected` keys (it grows if more come). */
pali_status pali_strmap_init(pali_strmap *map, size_t expected,
                             pali_error *err);
void pali_strmap_clear(pali_strmap *map);

/* Adds key → value.  If the key is already there nothing changes and
 * *existing (when not NULL) receives its value; returns PALI_OK either way,
 * so callers decide whether a duplicate is an error. */
pali_status pali_strmap_put(pali_strmap *map, const char *key, int value,
                            int *existing, pali_error *err);

/* The value of `key`, or -1. */
int pali_strmap_get(const pali_strmap *map, const char *key);

#endif /* PALI_STRMAP_H */
