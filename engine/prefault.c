/* prefault.c — the pages of an open model's matrices, mapped in the
 * background.
 *
 * Opening a model maps its files and reads only the norms and biases, so
 * it takes a fraction of a second; the first forward pass then faults in
 * every page of the matrices it reads — on a warm page cache ~0.3 s of
 * the 3B's first 1 s at 224 px, on a cold one the whole read from disk.
 * A thread started when the model opens asks the kernel to map them
 * (MADV_POPULATE_READ, Linux 5.14; where it is missing, nothing is done)
 * 2 MB at a time, at the idle scheduling class: it runs while
 * the user picks an image and a prompt, and gives way to any work.  The
 * pages it maps are the ones a forward pass would map (only the matrices
 * the model reads, in the files they are read from), so resident memory
 * ends where a first request would leave it.  Stopping (when the model
 * is freed) takes at most one chunk.  Then it builds the LM head's q8
 * pre-pass (lmhead.h), which stops between rows. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"
#include "model.h"
#include "safetensors.h"

/* Bytes per madvise call between checks of the stop flag: what freeing
 * the model may wait for (the application frees a model on its main
 * thread; 2 MB is a few milliseconds even from a slow disk). */
#define PREFAULT_CHUNK (2u << 20)

typedef struct range {
    uintptr_t begin, end; /* page-aligned */
} range;

struct pali_prefault {
    pthread_t thread;
    pali_model *model;
    bool joined;
    atomic_bool stop;
    range *ranges;
    int n_ranges;
};

static int compare_ranges(const void *a, const void *b)
{
    const uintptr_t x = ((const range *)a)->begin,
                    y = ((const range *)b)->begin;
    return x < y ? -1 : x > y;
}

static void *prefault_main(void *arg)
{
    pali_prefault *p = arg;
#ifdef SCHED_IDLE
    const struct sched_param none = { 0 };
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
#endif
#ifdef MADV_POPULATE_READ
    for (int i = 0; i < p->n_ranges; i++)
        for (uintptr_t a = p->ranges[i].begin; a < p->ranges[i].end;
             a += PREFAULT_CHUNK) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed))
                return NULL;
            const uintptr_t left = p->ranges[i].end - a;
            // a failure (an old kernel: EINVAL) only leaves the faults to
            // the first request
            if (madvise((void *)a,
                        left < PREFAULT_CHUNK ? left : PREFAULT_CHUNK,
                        MADV_POPULATE_READ) != 0)
                goto mapped;
        }
mapped:
#endif
    (void)pali_lmhead_build(&p->model->lmhead, p->model, &p->stop);
    return NULL;
}

/* Whether [p, p + n) lies inside one of the model's file mappings. */
static bool in_mapping(const pali_model *m, const void *p, size_t n)
{
    const uintptr_t a = (uintptr_t)p, b = a + n;
    for (int f = 0; f < m->n_files; f++) {
        const uintptr_t lo = (uintptr_t)pali_safetensors_map(m->files[f]);
        if (a >= lo && b <= lo + pali_safetensors_file_size(m->files[f]))
            return true;
    }
    const uintptr_t lo = (uintptr_t)m->quant_map;
    return m->quant_map && a >= lo && b <= lo + m->quant_bytes;
}

/* The page-aligned span of t's data into r[*k], where it lies in one of
 * the model's file mappings. */
static void add_range(const pali_model *m, const pali_tensor *t, range *r,
                      int *k)
{
    if (t->data == NULL || t->nbytes == 0 || !in_mapping(m, t->data, t->nbytes))
        return;
    pali_page_span(t->data, t->nbytes, &r[*k].begin, &r[*k].end);
    (*k)++;
}

pali_prefault *pali_prefault_start(pali_model *m)
{
    int n;
    pali_tensor **all = pali_model_matrices(m, &n);
    pali_prefault *p = calloc(1, sizeof(*p));
    range *r = pali_calloc_array((size_t)n + 1, sizeof(*r));
    if (all == NULL || p == NULL || r == NULL) {
        free(all);
        free(p);
        free(r);
        return NULL;
    }
    // the LM head's pre-pass reads the embedding once, then leaves it to
    // the page cache: mapping it first would only raise the peak
    const bool prepass = pali_lmhead_bytes(&m->embed) > 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (all[i] != &m->embed || !prepass)
            add_range(m, all[i], r, &k);
    add_range(m, &m->pos_emb, r, &k);
    free(all);
    // in address order (the files' read-ahead), overlaps merged
    qsort(r, (size_t)k, sizeof(*r), compare_ranges);
    int merged = 0;
    for (int i = 0; i < k; i++) {
        if (merged > 0 && r[i].begin <= r[merged - 1].end) {
            if (r[i].end > r[merged - 1].end)
                r[merged - 1].end = r[i].end;
        } else {
            r[merged++] = r[i];
        }
    }
    p->ranges = r;
    p->n_ranges = merged;
    p->model = m;
    atomic_init(&p->stop, false);
    // (with nothing to map, the pre-pass of converted weights may remain)
    if ((merged == 0 && !prepass) ||
        pthread_create(&p->thread, NULL, prefault_main, p) != 0) {
        free(r);
        free(p);
        return NULL;
    }
    return p;
}

void pali_prefault_wait(pali_prefault *p)
{
    if (p == NULL || p->joined)
        return;
    pthread_join(p->thread, NULL);
    p->joined = true;
}

void pali_prefault_stop(pali_prefault *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, true);
    pali_prefault_wait(p);
    free(p->ranges);
    free(p);
}
