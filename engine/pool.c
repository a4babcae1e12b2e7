/* pool.c — a persistent thread pool: n − 1 workers plus the calling thread.
 *
 * pali_pool_run() publishes (fn, arg) under a new generation number; workers
 * spin briefly on the generation (a decode step issues hundreds of short
 * jobs, so a futex round trip per job would cost more than the job), then
 * sleep on a condition variable.  Completion is counted with an atomic and
 * the caller waits the same way.
 *
 * pali_work shares a job's units out in claims (compute.h): one counter per
 * share, each on its own cache line. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Spin iterations before sleeping: ~50–100 µs with pause, longer than the
 * gap between two jobs of a decode step, shorter than a time slice. */
#define POOL_SPIN_ITERATIONS 20000

struct pali_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t wake;    /* a new generation or stop */
    pthread_cond_t done;    /* the last worker finished */
    atomic_uint generation; /* bumped once per job */
    atomic_int pending;     /* workers still running the current job */
    atomic_bool stop;
    pali_pool_fn fn;
    void *arg;
};

typedef struct worker_start {
    pali_pool *pool;
    int ith;
} worker_start;

static void *worker_main(void *p)
{
    worker_start *start = p;
    pali_pool *pool = start->pool;
    int ith = start->ith;
    free(start);
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&pool->generation,
                                           memory_order_acquire)) == seen &&
               !atomic_load(&pool->stop) && spins < POOL_SPIN_ITERATIONS) {
            cpu_relax();
            spins++;
        }
        if (gen == seen && !atomic_load(&pool->stop)) {
            pthread_mutex_lock(&pool->mutex);
            while ((gen = atomic_load(&pool->generation)) == seen &&
                   !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->wake, &pool->mutex);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stop))
            return NULL;
        seen = gen;
        pool->fn(pool->arg, ith, pool->n_threads);
        if (atomic_fetch_sub_explicit(&pool->pending, 1,
                                      memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
}

pali_status pali_pool_new(int n_threads, pali_pool **out, pali_error *err)
{
    *out = NULL;
    if (n_threads < 1)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "thread count must be at least 1, got %d", n_threads);
    pali_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    pool->n_threads = n_threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->stop, false);
    if (n_threads > 1) {
        pool->threads = calloc((size_t)n_threads - 1, sizeof(pthread_t));
        if (pool->threads == NULL) {
            pali_pool_free(pool);
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
        }
    }
    for (int i = 1; i < n_threads; i++) {
        worker_start *start = malloc(sizeof(*start));
        int rc = start ? 0 : -1;
        if (start) {
            start->pool = pool;
            start->ith = i;
            rc =
                pthread_create(&pool->threads[i - 1], NULL, worker_main, start);
            if (rc != 0)
                free(start);
        }
        if (rc != 0) {
            pool->n_threads = i; /* only join what was started */
            pali_pool_free(pool);
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                             "cannot start thread %d of %d", i, n_threads);
        }
    }
    *out = pool;
    return PALI_OK;
}

void pali_pool_free(pali_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stop, true);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->n_threads; i++)
        pthread_join(pool->threads[i - 1], NULL);
    free(pool->threads);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    free(pool);
}

int pali_pool_size(const pali_pool *pool)
{
    return pool ? pool->n_threads : 1;
}

void pali_pool_run(pali_pool *pool, pali_pool_fn fn, void *arg)
{
    if (pool == NULL || pool->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    atomic_store_explicit(&pool->pending, pool->n_threads - 1,
                          memory_order_relaxed);
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);

    fn(arg, 0, pool->n_threads);

    int spins = 0;
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0 &&
           spins < POOL_SPIN_ITERATIONS) {
        cpu_relax();
        spins++;
    }
    if (atomic_load(&pool->pending) > 0) {
        pthread_mutex_lock(&pool->mutex);
        while (atomic_load(&pool->pending) > 0)
            pthread_cond_wait(&pool->done, &pool->mutex);
        pthread_mutex_unlock(&pool->mutex);
    }
}

typedef struct work_share {
    _Alignas(64) atomic_llong next; /* the share's first unclaimed unit */
    int64_t end;
} work_share;

struct pali_work {
    int n;
    work_share *share; /* (n) */
};

pali_work *pali_work_new(int n_threads)
{
    pali_work *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->n = n_threads < 1 ? 1 : n_threads;
    w->share = pali_aligned_alloc((size_t)w->n * sizeof(work_share));
    if (w->share == NULL) {
        free(w);
        return NULL;
    }
    pali_work_reset(w, 0);
    return w;
}

void pali_work_free(pali_work *w)
{
    if (w == NULL)
        return;
    pali_aligned_free(w->share);
    free(w);
}

void pali_work_reset(pali_work *w, int64_t units)
{
    for (int i = 0; i < w->n; i++) {
        int64_t begin, end;
        pali_split(units, i, w->n, &begin, &end);
        atomic_store_explicit(&w->share[i].next, begin, memory_order_relaxed);
        w->share[i].end = end;
    }
}

/* Up to `take` units from share s; false when it has none left. */
static bool share_claim(work_share *s, int64_t take, int64_t *begin,
                        int64_t *end)
{
    const int64_t at =
        atomic_fetch_add_explicit(&s->next, take, memory_order_relaxed);
    if (at >= s->end)
        return false;
    *begin = at;
    *end = at + take < s->end ? at + take : s->end;
    return true;
}

bool pali_work_claim(pali_work *w, int ith, int64_t most, int64_t *begin,
                     int64_t *end)
{
    most = most < 1 ? 1 : most;
    if (share_claim(&w->share[ith % w->n], most, begin, end))
        return true;
    for (int v = 1; v < w->n; v++) {
        work_share *s = &w->share[(ith + v) % w->n];
        for (;;) {
            // half of what is left, so that its owner keeps the rest
            const int64_t left =
                s->end - atomic_load_explicit(&s->next, memory_order_relaxed);
            if (left <= 0)
                break;
            const int64_t half = (left + 1) / 2;
            if (share_claim(s, half < most ? half : most, begin, end))
                return true;
        }
    }
    return false;
}
