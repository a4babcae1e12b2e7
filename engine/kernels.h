/* kernels.h — what the matmul layer, attention and the row operations ask
 * of a kernel set.  One table per set: the scalar reference
 * (kernels-scalar.c) and one per instruction set (matmul-avx2.c,
 * matmul-avx512.c, matmul-avx512bf16.c, matmul-amx.c), chosen at run time
 * (cpu.h).  Each set is tested against the reference with tolerances
 * derived from its arithmetic (tests/test-kernels.c).
 *
 * Arithmetic, per precision:
 *   exact  f32 products of the f32 activations and the weights as f32
 *          (bf16/f16 widened, q8/q4 dequantized exactly), accumulated in
 *          f32.
 *   fast   products of bf16-rounded activations and bf16 weights (f32 and
 *          f16 weights rounded to bf16; q8/q4 dequantized, possibly rounded
 *          to bf16), accumulated in f32: what AMX and AVX512-BF16 compute.
 *
 * Determinism: every output element is computed by one kernel call whose
 * inputs do not depend on the thread count; the summation order depends
 * only on the kernel set and the shapes. */
#ifndef PALI_KERNELS_H
#define PALI_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compute.h"
#include "cpu.h"
#include "tensor.h"

/* Output columns (rows of W) per unit of work: threads take whole panels
 * on this fixed grid.  A multiple of every kernel's column block. */
#define PALI_MATMUL_PANEL 32
/* Up to this many activation rows a product is a matrix-vector one
 * (decode): weights are streamed once, which is all that matters. */
#define PALI_GEMV_MAX_ROWS 4

/* Panels of m outputs: the grid's units of work. */
static inline int64_t pali_matmul_panels(int64_t m)
{
    return (m + PALI_MATMUL_PANEL - 1) / PALI_MATMUL_PANEL;
}

/* y (n, m) = act(x (n, k) · Wᵀ + bias). */
typedef struct pali_mm {
    const float *x; /* (n, k) */
    int64_t n, k, m;
    const pali_tensor *w; /* (m, k), any dtype */
    const float *bias;    /* (m) or NULL */
    float *y;             /* (n, m) */
    bool fast;
    pali_act act;
    const float *other; /* (n, m), for PALI_ACT_GELU_TANH_MUL in ROWS */
    /* y's layout (compute.h).  Only matmul_packed takes PACKED, and with
     * it other_w (pali_product) in place of other. */
    pali_layout layout;
    const pali_tensor *other_w;
    /* PACKED y: its layout's shift (compute.h) */
    int y_shift;
    /* Packed products only (pack, matmul_packed): the packed activations
     * start `shift` columns (0–31) before x's first, i.e. packed column c
     * holds x's column c − shift, zero outside [0, k).  pack_shift picks
     * it; for activations a producer stored in PACKED, that layout's
     * (pali_matmul_shift). */
    int shift;
    /* GEMVs: nonzero, the same for every call of one product (its claims
     * on the pool) and never reused for another, so that a kernel may keep
     * what it made of x in its thread's scratch from one call to the next
     * (pali_gemv_x_kept).  0: make it again. */
    uint64_t x_serial;
} pali_mm;

/* ---- attention's key/value layout ---------------------------------------
 * Exact (f32):  K per kv head (capacity/32, hd, 32): key j's element d at
 *               [j/32][d][j%32] — a block is a (hd, 32) panel, what the f32
 *               kernels multiply by;  V per kv head (capacity, hd).
 * Fast (bf16):  K per kv head (capacity/16, hd_k/2, 16, 2): key j's
 *               elements 2i, 2i+1 at [j/16][i][j%16][0..1] — a block is an
 *               AMX B tile / a dpbf16 operand;  V per kv head
 *               (capacity/2, hd_v, 2): keys 2p, 2p+1 of column c at
 *               [p][c][0..1].  hd_k pads hd to 32, hd_v to 16, with zeros. */
#define PALI_KV_BLOCK 32 /* capacity and key ranges align to this */

typedef struct pali_kv_layout {
    bool bf16;  /* stored as bf16 blocks (the sets with bf16 arithmetic) */
    bool round; /* fast precision: q, k, v and p are rounded to bf16 */
    int hd, hd_k, hd_v;
    int64_t capacity;       /* positions, a multiple of PALI_KV_BLOCK */
    int64_t k_head, v_head; /* elements per kv head */
} pali_kv_layout;

/* One block of queries of one head against keys [key0, key0 + n_keys). */
typedef struct pali_attn_block {
    const float *q; /* (nq, hd) rows at q_stride */
    int64_t q_stride;
    int nq;            /* ≤ PALI_ATTN_QUERY_BLOCK */
    const void *k, *v; /* this kv head's blocks (layout above) */
    const pali_kv_layout *lay;
    int64_t key0, n_keys; /* key0 a multiple of PALI_KV_BLOCK */
    float *s;             /* (nq, ≥ round_up(n_keys, 32)) at s_stride */
    int64_t s_stride;
    float *out; /* (nq, hd) at out_stride */
    int64_t out_stride;
    void *scratch; /* the thread's scratch after the scores */
} pali_attn_block;

/* Queries per attention work item. */
#define PALI_ATTN_QUERY_BLOCK 32
/* Most query heads per kv head that attn_group takes at once (Gemma 2 at
 * every PaliGemma 2 size has 2). */
#define PALI_ATTN_GROUP_MAX 2

typedef struct pali_kernels {
    pali_kernel id;
    bool bf16_attention; /* has kernels for the bf16 layout */
    /* Columns [r0, r1) of y for every row of x; r0 on the panel grid.
     * scratch: matmul_scratch(k) bytes, 64-byte aligned, the thread's. */
    void (*matmul)(const pali_mm *mm, int64_t r0, int64_t r1, void *scratch);
    size_t (*matmul_scratch)(int64_t max_k);
    /* Optional (AMX): products whose activations the set converts to its
     * own layout do it once per chunk of rows, into a buffer the threads
     * share (each packs some 16-row blocks), for every product of the
     * same x.  pack_rows: rows per chunk, 0 where matmul does it all;
     * pack_bytes: the buffer for products of up to max_k inputs;
     * pack_blocks: 16-row blocks of a chunk of nt rows; pack: blocks
     * [b0, b1) of rows [t0, t0 + nt); matmul_packed: rows [t0, t0 + nt)
     * of the y of `count` products of that x (the same k and shift; none
     * reading another's output) for the panels of PALI_MATMUL_PANEL
     * outputs that thread ith claims from work (units: each product's
     * ⌈m / PALI_MATMUL_PANEL⌉ panels in turn), until none are left.
     * matmul ignores mm->act (the matmul layer applies it to the thread's
     * columns afterwards); matmul_packed applies it as it stores y, while
     * the outputs are in L1.  Either way each output goes through the row
     * operation once: the same bits.
     * pack_shift (optional): the shift (pali_mm) mm's packed activations
     * should have; products packed together must agree on it. */
    int64_t (*pack_rows)(const pali_mm *mm);
    int (*pack_shift)(const pali_mm *mm);
    size_t (*pack_bytes)(int64_t max_k);
    int64_t (*pack_blocks)(int64_t nt);
    void (*pack)(const pali_mm *mm, int64_t t0, int64_t nt, int64_t b0,
                 int64_t b1, void *packed);
    void (*matmul_packed)(const pali_mm *mm, int count, const void *packed,
                          int64_t t0, int64_t nt, pali_work *work, int ith,
                          void *scratch);
    /* s = q·kᵀ for keys [key0, key0 + round_up(n_keys, 32)) (the scale
     * is applied by softcap_softmax). */
    void (*attn_scores)(const pali_attn_block *b);
    /* out = p · v over the same keys; p (in b->s) is zero outside the
     * visible keys and past n_keys up to the next multiple of 32. */
    void (*attn_values)(const pali_attn_block *b);
    /* Optional (AMX): the whole attention of a block for `heads` (at most
     * PALI_ATTN_GROUP_MAX) query heads that share b's kv head — head t's
     * queries at b->q + t·hd, its output at b->out + t·hd — with the
     * softmax over the visible keys [lo, hi) of the range as
     * softcap_softmax(scale, cap) takes it, the keys and values read once
     * for all the heads; each head gets the bits it would get alone.
     * b->s holds heads·PALI_ATTN_QUERY_BLOCK rows.  Returns false, having
     * done nothing, for a block it leaves to attn_scores, softcap_softmax
     * and attn_values. */
    bool (*attn_group)(const pali_attn_block *b, int heads, int64_t lo,
                       int64_t hi, float scale, float cap);
    /* Optional (sets with bf16 arithmetic): positions [p0, p0 + 16) of one
     * kv head into the bf16 layout, p0 a multiple of 16; position p's key
     * and value rows at k_rows/v_rows + (p − p0)·stride.  The bits of
     * pali_f32_to_bf16 element by element, but for subnormal inputs, which
     * become zero (the conversion instruction's rule). */
    void (*kv_store16)(const pali_kv_layout *l, uint16_t *k_head,
                       uint16_t *v_head, int64_t p0, const float *k_rows,
                       int64_t k_stride, const float *v_rows, int64_t v_stride);
    /* Row operations on n floats: x = scale·x, then cap·tanh(x/cap) when
     * cap > 0, then the softmax, in place; gelu_tanh(x); gelu_tanh(g)·u. */
    void (*softcap_softmax)(float *x, int64_t n, float scale, float cap);
    void (*gelu_tanh)(float *x, int64_t n);
    void (*gelu_tanh_mul)(float *g, const float *u, int64_t n);
    void (*softcap)(float *x, int64_t n, float cap);
    /* One row of d values: LayerNorm ((x − mean)/sqrt(var + eps)·w + b)
     * and Gemma's RMSNorm (x·rsqrt(mean(x²) + eps)·(1 + w)); out may be x. */
    void (*layernorm)(const float *x, int64_t d, const float *w, const float *b,
                      float eps, float *out);
    void (*rmsnorm)(const float *x, int64_t d, const float *w, float eps,
                    float *out);
    /* Optional: one row of cols bf16 weights (a multiple of 32) into q8
     * codes and scales, the bits of pali_quantize_row, and the bound the
     * LM head's pre-pass needs (lmhead.h): max |w − w̃| + gamma·max
     * (|w| + |w̃|) over the row, rounded up; +inf where a weight is not
     * finite. */
    float (*q8_row_bound)(const uint16_t *w, int64_t cols, uint8_t *codes,
                          uint16_t *scales, double gamma);
    /* Optional: the same for q4, without a bound: the bits of
     * pali_quantize_row; false (codes and scales unspecified) where a
     * weight is not finite. */
    bool (*q4_row)(const uint16_t *w, int64_t cols, uint8_t *codes,
                   uint16_t *scales);
} pali_kernels;

extern const pali_kernels pali_kernels_scalar;
extern const pali_kernels pali_kernels_avx2;
extern const pali_kernels pali_kernels_avx512;
extern const pali_kernels pali_kernels_avx512bf16;
extern const pali_kernels pali_kernels_amx;

/* The table of kernel set k (which the CPU must support). */
const pali_kernels *pali_kernels_get(pali_kernel k);

/* Scratch bytes per thread attention needs for n_keys keys and head
 * dimension hd (the scores block, bf16 copies of q and p). */
size_t pali_attn_scratch_bytes(int64_t n_keys, int hd);

/* A GEMV kernel that keeps what it made of x (converted, quantized) from
 * one call of a product to the next puts it PALI_GEMV_X_HEAD bytes into
 * its scratch, behind a tag: pali_gemv_x_kept says whether the scratch
 * holds it for mm's product; pali_gemv_x_keep marks it so once made (ok)
 * or not (!ok, and after anything else used the scratch). */
#define PALI_GEMV_X_HEAD 64

static inline bool pali_gemv_x_kept(const pali_mm *mm, const void *scratch)
{
    return mm->x_serial != 0 && *(const uint64_t *)scratch == mm->x_serial;
}

static inline void pali_gemv_x_keep(const pali_mm *mm, void *scratch, bool ok)
{
    *(uint64_t *)scratch = ok ? mm->x_serial : 0;
}

/* Reference pieces the vector sets reuse for what they do not speed up
 * (kernels-scalar.c). */
void pali_ref_matmul(const pali_mm *mm, int64_t r0, int64_t r1, void *scratch);
size_t pali_ref_matmul_scratch(int64_t max_k);
void pali_ref_attn_scores(const pali_attn_block *b);
void pali_ref_attn_values(const pali_attn_block *b);

/* Reads rows [r0, r1) of W, columns [c0, c0 + n), as f32 into out
 * (r1 − r0, ld) — rounded to bf16 values when `fast`. */
void pali_weights_rows_f32(const pali_tensor *w, int64_t r0, int64_t r1,
                           int64_t c0, int64_t n, bool fast, float *out,
                           int64_t ld);

/* Rounds f32 to bf16 and back (round to nearest even). */
static inline float pali_round_bf16(float f)
{
    return pali_bf16_to_f32(pali_f32_to_bf16(f));
}

#endif /* PALI_KERNELS_H */
