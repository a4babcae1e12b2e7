/* lmhead.h — the greedy choice from a pre-pass over an 8-bit copy of the
 * tied LM head, exact: the token it picks is the one the full bf16 logits
 * would give, bit for bit, from about half the bytes.
 *
 * A decode step reads every weight once; the LM head (the embedding,
 * 1.18 GB of the 3B's 5.2 GB in bf16) is the largest single read.  For a
 * greedy choice only the largest logit matters.  The pre-pass computes
 * every logit from a q8 copy of the embedding (quant.h's format), made in
 * the background after the model opens, with a bound per row on how far
 * that logit can lie from the one the full product computes:
 *
 *   |l_i − l̃_i| ≤ c_i · ‖x‖₁,  c_i = max_j |w_ij − w̃_ij| + γ·max_j (|w_ij| +
 * |w̃_ij|)
 *
 * (x the activations as the product sees them, γ = (k + 8)·2⁻²⁴ / (1 −
 * (k + 8)·2⁻²⁴) for the f32 summation of k products in any order by
 * either product).  Every row whose upper bound reaches the largest lower
 * bound is a candidate; the 32-row panels holding them are computed by
 * the same kernel call as the full product (the same bits), and the
 * choice is made among them as the sampler makes it (first maximum,
 * after the final soft-cap).  With a soft-cap, candidates reach a margin
 * further down, so that rows the cap rounds together are all candidates.
 * Whenever it cannot decide (not built yet, non-finite values, too many
 * candidates, a cap in saturation) it says so and the caller computes
 * the full logits. */
#ifndef PALI_LMHEAD_H
#define PALI_LMHEAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "compute.h"
#include "tensor.h"

typedef struct pali_lmhead {
    pali_tensor q8;    /* (V, D) q8 copy of the embedding; data owned */
    float *bound;      /* (V) c_i above */
    atomic_bool ready; /* set once q8 and bound are complete */
    atomic_int busy;   /* sessions computing: the build waits for none */
    bool drop_pages;   /* the embedding is a file mapping: its pages are
                        * given back after each choice */
} pali_lmhead;

typedef struct pali_model pali_model;

/* Bytes the copy takes for embedding e (0 where none is made: not bf16,
 * or its rows are not whole q8 blocks). */
uint64_t pali_lmhead_bytes(const pali_tensor *e);

/* Makes f from the model's embedding, checking `stop` between rows and
 * waiting while f->busy is not zero;
 * false (f left not ready, its memory freed) when stopped or out of
 * memory.  Runs on the model's background thread (prefault.c). */
bool pali_lmhead_build(pali_lmhead *f, const pali_model *m,
                       const atomic_bool *stop);
void pali_lmhead_clear(pali_lmhead *f);
/* Once the pre-pass is built over a mapped embedding, unmaps the
 * embedding's pages (the page cache keeps them): greedy decoding reads
 * the q8 copy in their place, and only the rows it looks up or checks
 * come back, until the next call (after each choice). */
void pali_lmhead_drop_pages(const pali_model *m);

/* The greedy choice among ids [0, n_allowed) except `excluded` (< 0:
 * none) from h, the final norm's output row, as pali_sampler_pick would
 * make it from the full logits soft-capped at `cap` (0: none).  `logits`
 * (V floats) is scratch; `panels` holds V / 32 + 1 ints.  True with *id
 * set when it could decide; false: compute the full logits. */
bool pali_lmhead_greedy(const pali_model *m, const pali_compute *c,
                        const float *h, int64_t n_allowed, int32_t excluded,
                        float cap, float *logits, float *x_scratch,
                        int32_t *panels, int32_t *id);

#endif /* PALI_LMHEAD_H */
