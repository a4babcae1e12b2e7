/* internal.h — helpers shared by every engine file: error reporting,
 * checked allocation, timing.  Not installed; not part of pali.h. */
#ifndef PALI_INTERNAL_H
#define PALI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pali.h"

#if defined(__GNUC__)
#define PALI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define PALI_UNUSED       __attribute__((unused))
#else
#define PALI_PRINTF(a, b)
#define PALI_UNUSED
#endif

#define PALI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Fills `err` (may be NULL) and returns `status`, so callers can write
 * `return pali_fail(err, PALI_ERR_FORMAT, "%s: ...", path);`. */
pali_status pali_fail(pali_error *err, pali_status status, const char *fmt, ...)
    PALI_PRINTF(3, 4);

/* Prepends "prefix: " to an error already filled in. */
void pali_error_prefix(pali_error *err, const char *fmt, ...) PALI_PRINTF(2, 3);

/* Allocation that refuses size overflow (returns NULL). */
void *pali_malloc_array(size_t n, size_t size);
void *pali_calloc_array(size_t n, size_t size);
/* 64-byte aligned, for vector kernels (from 4 MB on, 2 MB aligned and
 * in 2 MB pages where the kernel gives them); released with
 * pali_aligned_free. */
void *pali_aligned_alloc(size_t size);
void pali_aligned_free(void *ptr);
/* size bytes of zeros, aligned as pali_aligned_alloc's.  From 4 MB on
 * they are pages fresh from the kernel (an anonymous mapping, zero until
 * written), so nothing is written here: each page is faulted in, zeroed
 * by the kernel, when it is first used — by whichever thread uses it —
 * and never where it is not.  Released with pali_zeroed_free and the
 * same size. */
void *pali_zeroed_alloc(size_t size);
void pali_zeroed_free(void *ptr, size_t size);
/* Asks the kernel to back [p, p + n)'s whole pages with 2 MB pages where
 * it can (MADV_HUGEPAGE: anonymous memory, or file mappings whose page
 * cache takes large folios, e.g. ext4 on this machine's Linux 6.18).  Streaming
 * gigabytes of weights through 4 KB pages misses the TLB at every page; a hint
 * only, nothing changes where it is refused. */
void pali_advise_huge(const void *p, size_t n);
/* The whole pages that [p, p + n) touches: [*begin, *end). */
void pali_page_span(const void *p, size_t n, uintptr_t *begin, uintptr_t *end);
char *pali_strdup(const char *s);
char *pali_strndup(const char *s, size_t n);
/* Joins a directory and a file name into a new string. */
char *pali_path_join(const char *dir, const char *name);

/* Monotonic milliseconds. */
double pali_now_ms(void);

/* Number of online CPUs (at least 1). */
int pali_cpu_count(void);

#endif /* PALI_INTERNAL_H */
