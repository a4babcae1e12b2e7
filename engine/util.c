/* util.c — error reporting, checked allocation, paths and clocks shared by
 * the engine (declared in internal.h), and the public pali_free and
 * pali_status_to_string. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Vector kernels want cache-line aligned buffers. */
#define PALI_ALIGNMENT 64
/* Buffers of this size and more (activations of hundreds of tokens,
 * attention's scores, the KV cache) start on a 2 MB boundary and ask for
 * 2 MB pages (pali_advise_huge): the products stream them many times
 * over, and through 4 KB pages every 4 KB is a TLB miss. */
#define PALI_HUGE_BUFFER (4u << 20)
#define PALI_HUGE_PAGE   (2u << 20)

const char *pali_status_to_string(pali_status status)
{
    switch (status) {
    case PALI_OK: return "success";
    case PALI_ERR_INVALID_ARGUMENT: return "invalid argument";
    case PALI_ERR_IO: return "input/output error";
    case PALI_ERR_FORMAT: return "format error";
    case PALI_ERR_UNSUPPORTED: return "unsupported";
    case PALI_ERR_OUT_OF_MEMORY: return "out of memory";
    case PALI_ERR_TOO_LONG: return "too long";
    case PALI_ERR_ENCODING: return "invalid UTF-8";
    case PALI_ERR_NOT_FOUND: return "not found";
    case PALI_ERR_ABORTED: return "aborted";
    }
    return "unknown status";
}

void pali_free(void *ptr)
{
    free(ptr);
}

pali_status pali_fail(pali_error *err, pali_status status, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return status;
}

void pali_error_prefix(pali_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[PALI_ERROR_MESSAGE_MAX];
    char old[PALI_ERROR_MESSAGE_MAX];
    char both[2 * PALI_ERROR_MESSAGE_MAX + 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof(old));
    old[sizeof(old) - 1] = 0;
    snprintf(both, sizeof(both), "%s: %s", prefix, old);
    memcpy(err->message, both, sizeof(err->message) - 1);
    err->message[sizeof(err->message) - 1] = 0;
}

void *pali_malloc_array(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return malloc(n != 0 && size != 0 ? n * size : 1);
}

void *pali_calloc_array(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *pali_aligned_alloc(size_t size)
{
    void *ptr = NULL;
    if (size == 0)
        size = PALI_ALIGNMENT;
    const bool huge = size >= PALI_HUGE_BUFFER;
    if (posix_memalign(&ptr, huge ? PALI_HUGE_PAGE : PALI_ALIGNMENT, size) != 0)
        return NULL;
    if (huge)
        pali_advise_huge(ptr, size);
    return ptr;
}

/* n up to a whole number of 2 MB pages (0 where that overflows). */
static uintptr_t huge_round(uintptr_t n)
{
    const uintptr_t up = n + PALI_HUGE_PAGE - 1;
    return up < n ? 0 : up / PALI_HUGE_PAGE * PALI_HUGE_PAGE;
}

void *pali_zeroed_alloc(size_t size)
{
    if (size < PALI_HUGE_BUFFER) {
        void *ptr = pali_aligned_alloc(size);
        if (ptr)
            memset(ptr, 0, size);
        return ptr;
    }
    // a mapping one 2 MB page longer, trimmed to a 2 MB boundary
    const size_t len = huge_round(size);
    if (len == 0 || len + PALI_HUGE_PAGE < len)
        return NULL;
    char *raw = mmap(NULL, len + PALI_HUGE_PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *ptr = (char *)huge_round((uintptr_t)raw);
    if (ptr > raw)
        (void)munmap(raw, (size_t)(ptr - raw));
    if (raw + PALI_HUGE_PAGE > ptr)
        (void)munmap(ptr + len, (size_t)(raw + PALI_HUGE_PAGE - ptr));
    pali_advise_huge(ptr, len);
    return ptr;
}

void pali_zeroed_free(void *ptr, size_t size)
{
    if (ptr == NULL)
        return;
    if (size < PALI_HUGE_BUFFER) {
        pali_aligned_free(ptr);
        return;
    }
    (void)munmap(ptr, huge_round(size));
}

void pali_page_span(const void *p, size_t n, uintptr_t *begin, uintptr_t *end)
{
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    *begin = (uintptr_t)p / page * page;
    *end = ((uintptr_t)p + n + page - 1) / page * page;
}

void pali_advise_huge(const void *p, size_t n)
{
#if defined(MADV_HUGEPAGE)
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t a = ((uintptr_t)p + page - 1) / page * page,
                    b = ((uintptr_t)p + n) / page * page;
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

void pali_aligned_free(void *ptr)
{
    free(ptr);
}

char *pali_strdup(const char *s)
{
    return s ? pali_strndup(s, strlen(s)) : NULL;
}

char *pali_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *pali_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + slash + b + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, a);
    if (slash)
        p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

double pali_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

int pali_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
