/* sampler.h — choosing the next token from logits: greedy (argmax), or
 * temperature / top-k / top-p sampling in the order transformers' logits
 * warpers apply them, with a seeded generator so runs repeat exactly. */
#ifndef PALI_SAMPLER_H
#define PALI_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

struct pali_candidate {
    float score;
    int32_t id;
};

typedef struct pali_sampler {
    float temperature;           /* <= 0: greedy */
    int top_k;                   /* <= 0: off */
    float top_p;                 /* >= 1: off */
    uint64_t state;              /* generator state (splitmix64) */
    struct pali_candidate *cand; /* (capacity) scratch, owned */
    int64_t capacity;
} pali_sampler;

/* Allocates scratch for up to n logits.  Returns false when out of
 * memory. */
bool pali_sampler_init(pali_sampler *s, int64_t n);
void pali_sampler_clear(pali_sampler *s);
void pali_sampler_configure(pali_sampler *s, float temperature, int top_k,
                            float top_p, uint64_t seed);

/* Picks a token among ids [0, n_allowed) except `excluded` (< 0: none).
 * Greedy takes the first maximum, as torch.argmax does.  The logits may
 * be modified. */
int32_t pali_sampler_pick(pali_sampler *s, float *logits, int64_t n_allowed,
                          int32_t excluded);

#endif /* PALI_SAMPLER_H */
