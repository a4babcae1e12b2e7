/* strmap.c — string → index hash table (see strmap.h): FNV-1a hashing,
 * linear probing, load factor at most one half. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The smallest table: a few slots, grown by doubling. */
#define STRMAP_MIN_CAP 16

static uint64_t hash_string(const char *s)
{
    /* FNV-1a, 64-bit */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

static size_t slot_of(const pali_strmap *map, const char *key, bool *found)
{
    size_t mask = map->cap - 1;
    size_t i = (size_t)hash_string(key) & mask;
    while (map->keys[i] != NULL) {
        if (strcmp(map->keys[i], key) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return i;
}

static bool alloc_table(pali_strmap *map, size_t cap)
{
    map->keys = pali_calloc_array(cap, sizeof(*map->keys));
    map->values = pali_malloc_array(cap, sizeof(*map->values));
    if (map->keys == NULL || map->values == NULL) {
        free(map->keys);
        free(map->values);
        map->keys = NULL;
        map->values = NULL;
        return false;
    }
    map->cap = cap;
    return true;
}

pali_status pali_strmap_init(pali_strmap *map, size_t expected, pali_error *err)
{
    memset(map, 0, sizeof(*map));
    size_t cap = STRMAP_MIN_CAP;
    while (cap < SIZE_MAX / 4 && cap < 2 * expected)
        cap *= 2;
    if (!alloc_table(map, cap))
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "out of memory for a %zu-entry name table", expected);
    return PALI_OK;
}

void pali_strmap_clear(pali_strmap *map)
{
    if (map == NULL)
        return;
    free(map->keys);
    free(map->values);
    memset(map, 0, sizeof(*map));
}

static bool grow(pali_strmap *map)
{
    pali_strmap bigger = { 0 };
    if (map->cap > SIZE_MAX / 4 || !alloc_table(&bigger, map->cap * 2))
        return false;
    for (size_t i = 0; i < map->cap; i++) {
        if (map->keys[i] == NULL)
            continue;
        bool found;
        size_t j = slot_of(&bigger, map->keys[i], &found);
        bigger.keys[j] = map->keys[i];
        bigger.values[j] = map->values[i];
    }
    bigger.len = map->len;
    free(map->keys);
    free(map->values);
    *map = bigger;
    return true;
}

pali_status pali_strmap_put(pali_strmap *map, const char *key, int value,
                            int *existing, pali_error *err)
{
    if (2 * (map->len + 1) > map->cap && !grow(map))
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "out of memory growing a name table");
    bool found;
    size_t i = slot_of(map, key, &found);
    if (found) {
        if (existing != NULL)
            *existing = map->values[i];
        return PALI_OK;
    }
    if (existing != NULL)
        *existing = -1;
    map->keys[i] = key;
    map->values[i] = value;
    map->len++;
    return PALI_OK;
}

int pali_strmap_get(const pali_strmap *map, const char *key)
{
    if (map->cap == 0)
        return -1;
    bool found;
    size_t i = slot_of(map, key, &found);
    return found ? map->values[i] : -1;
}
