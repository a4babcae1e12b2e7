/* sampler.c — greedy and sampled token choice (see sampler.h).
 *
 * Sampling follows transformers' warper order and conventions:
 * scores / temperature; top-k keeps every score >= the k-th largest (ties
 * kept); top-p sorts ascending, drops tokens while the cumulative
 * probability stays <= 1 − top_p, and always keeps the most likely token;
 * then one draw from the softmax of what is left.  The generator is
 * splitmix64, so a seed gives the same tokens on every machine. */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>

#include "internal.h"

bool pali_sampler_init(pali_sampler *s, int64_t n)
{
    s->cand = pali_malloc_array((size_t)n, sizeof(*s->cand));
    s->capacity = s->cand ? n : 0;
    return s->cand != NULL;
}

void pali_sampler_clear(pali_sampler *s)
{
    free(s->cand);
    s->cand = NULL;
    s->capacity = 0;
}

void pali_sampler_configure(pali_sampler *s, float temperature, int top_k,
                            float top_p, uint64_t seed)
{
    s->temperature = temperature;
    s->top_k = top_k;
    s->top_p = top_p;
    s->state = seed;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static double uniform(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Descending score, then ascending id: a total order, so the result does
 * not depend on the sort algorithm. */
static int by_score_desc(const void *a, const void *b)
{
    const struct pali_candidate *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Heap sort by by_score_desc, in place: glibc's qsort allocates a merge
 * buffer for large arrays, and sampling runs once per generated token,
 * where nothing may allocate.  The order is total, so the result is the
 * one qsort gave. */
static void sift_down(struct pali_candidate *c, int64_t root, int64_t n)
{
    for (;;) {
        int64_t child = 2 * root + 1;
        if (child >= n)
            return;
        // the heap keeps the *last* candidate of the order on top
        if (child + 1 < n && by_score_desc(&c[child], &c[child + 1]) < 0)
            child++;
        if (by_score_desc(&c[root], &c[child]) >= 0)
            return;
        const struct pali_candidate t = c[root];
        c[root] = c[child];
        c[child] = t;
        root = child;
    }
}

static void sort_candidates(struct pali_candidate *c, int64_t n)
{
    for (int64_t i = n / 2 - 1; i >= 0; i--)
        sift_down(c, i, n);
    for (int64_t end = n - 1; end > 0; end--) {
        const struct pali_candidate t = c[0];
        c[0] = c[end];
        c[end] = t;
        sift_down(c, 0, end);
    }
}

int32_t pali_sampler_pick(pali_sampler *s, float *logits, int64_t n_allowed,
                          int32_t excluded)
{
    if (n_allowed > s->capacity)
        n_allowed = s->capacity;
    if (s->temperature <= 0) {
        int32_t best = -1;
        for (int64_t i = 0; i < n_allowed; i++) {
            if (i == excluded)
                continue;
            if (best < 0 || logits[i] > logits[best])
                best = (int32_t)i;
        }
        return best;
    }

    int64_t n = 0;
    for (int64_t i = 0; i < n_allowed; i++) {
        if (i == excluded || isnan(logits[i]))
            continue;
        s->cand[n].score = logits[i] / s->temperature;
        s->cand[n].id = (int32_t)i;
        n++;
    }
    if (n == 0)
        return -1;
    sort_candidates(s->cand, n);

    // top-k: keep scores >= the k-th largest
    if (s->top_k > 0 && s->top_k < n) {
        const float kth = s->cand[s->top_k - 1].score;
        int64_t keep = s->top_k;
        while (keep < n && s->cand[keep].score >= kth)
            keep++;
        n = keep;
    }

    // softmax over the survivors
    const float max = s->cand[0].score;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        s->cand[i].score = expf(s->cand[i].score - max);
        sum += s->cand[i].score;
    }
    for (int64_t i = 0; i < n; i++)
        s->cand[i].score = (float)(s->cand[i].score / sum);

    // top-p: drop the least likely while their cumulative mass <= 1 − p
    if (s->top_p < 1.0f) {
        double tail = 0;
        int64_t keep = n;
        while (keep > 1) {
            tail += s->cand[keep - 1].score;
            if (tail > 1.0 - s->top_p)
                break;
            keep--;
        }
        n = keep;
        sum = 0;
        for (int64_t i = 0; i < n; i++)
            sum += s->cand[i].score;
    } else {
        sum = 1.0;
    }

    double r = uniform(&s->state) * sum;
    for (int64_t i = 0; i < n; i++) {
        r -= s->cand[i].score;
        if (r < 0)
            return s->cand[i].id;
    }
    return s->cand[n - 1].id;
}
