/* kernels-amx.c — the AMX kernel set: fast-precision products of many
 * rows on AMX tiles (TDPBF16PS: a 16×16 f32 tile += a 16×32 bf16 tile ·
 * a 32×16 bf16 tile in pairs, 16 cycles per instruction), everything else
 * on the AVX512-BF16 set (decode products, short query blocks) and the
 * AVX-512 set (exact precision, row operations).
 *
 * Weight products y = x·Wᵀ, n ≥ AMX_MIN_ROWS: the weights are the A tiles,
 * 32 rows × 256 k at a time, read in place from the mapped bf16
 * checkpoint where its row stride spreads them over L1's sets (the
 * activations packed with the columns shifted so that those loads start
 * on cache lines wherever the file put the tensor: amx_pack_shift), else
 * copied to a 512-byte stride (other formats, and a last partial panel,
 * converted to bf16), while the next block — or, for a short prompt, the
 * next panel's whole rows — is prefetched; the activations are the B
 * tiles, converted once per chunk of tokens into the pair-interleaved
 * layout (token blocks of 16, pairs of k, 16 tokens, 2) by all threads
 * together, for every product of the same x (kernels.h: pack).  Each 2×2
 * block of C tiles (32 weight rows × 32 tokens) accumulates one k block,
 * waits in L2, and after the last is transposed into y, + bias, through
 * mm->act — or stored as bf16 pairs in the activation layout of the next
 * product (PACKED, compute.h) — in slices between the tile products of
 * the next block (epilogue).  A gated product (mm->other_w: the MLP's
 * gate and up) takes 16 outputs per panel, their rows of w as the first
 * A tile and of other_w as the second, so that gate and up of the same
 * outputs and tokens meet in the C tiles: gelu_tanh(gate)·up leaves them
 * for PACKED, and up is never stored.  Every element sees the same k order
 * whatever the thread count, the layout or the gating.
 *
 * Attention, query blocks of at least 16: q (converted to bf16) and p are
 * the A tiles, the bf16 layout's K blocks and V pairs the B tiles; the
 * query heads that share a kv head go together (amx_attn_group). */
#include <math.h>
#include <string.h>

#include "kernels-avx512bf16.h"
#include "kernels-vecmath.h"
#include "quant.h"

/* Rows of x from which tiles beat vdpbf16ps (one 16-row tile at least). */
#define AMX_MIN_ROWS 16
/* The activation chunk's bf16 bytes: the weights stream from memory once
 * per chunk, so it is large; only one k block of it (chunk × AMX_KC)
 * needs to stay in L2. */
#define AMX_CHUNK_BYTES (8u << 20)
/* ... and at most this many tokens, which bounds the partial C tiles: a
 * group's (AMX_GROUP × 32 × 768 floats, 768 KB) and the k block of
 * activations (384 KB) take half of a 2 MB L2; at 2048 they took 3 MB
 * and went out to L3.  Against 2048, interleaved whole runs: 3B-448 time
 * to first token 3.70–3.88 s against 3.87–5.65 s (two chunks of 544 at
 * a cap of 544 or 768), 3B-896 19.8–20.0 s against 21.2–23.1 s.  The
 * weights that a second chunk streams again come from L3. */
#define AMX_CHUNK_ROWS 768
/* 32-row panels whose partial C tiles (group × chunk × 32 floats) stay in
 * L2 across the k blocks; each group reads the whole chunk of activations
 * once more (from L3), so it is as large as L2 lets it be (8: 7–8 %
 * faster than 4 at 1030 tokens, as fast at 266). */
#define AMX_GROUP 8
/* Packed activations of at most this many bytes (a 224 px prompt at
 * k = 2304: 260 tokens, 1.2 MB) stay in L2 beside a panel's whole rows
 * and the next one's (2 × 147 KB) and the partial C tiles. */
#define AMX_WHOLE_BYTES (1280u << 10)
/* k per pass over the chunk's token blocks: the 32-row block of A
 * (32 × 256 bf16 = 16 KB) stays in L1 while B streams from L2. */
#define AMX_KC 256

/* Tile register numbers: C tiles 0–3, A tiles 4–5, B tiles 6–7.  The
 * intrinsics paste their tile argument into the instruction text, so
 * these must reach them as literals: the wrappers below expand them. */
#define TC00                     0
#define TC01                     1
#define TC10                     2
#define TC11                     3
#define TA0                      4
#define TA1                      5
#define TB0                      6
#define TB1                      7
#define tile_zero(t)             _tile_zero(t)
#define tile_load(t, p, stride)  _tile_loadd(t, p, stride)
#define tile_store(t, p, stride) _tile_stored(t, p, stride)
#define tile_dp(c, a, b)         _tile_dpbf16ps(c, a, b)

/* The LDTILECFG operand (Intel SDM vol. 1, 18.2): palette 1, per tile
 * its row count and bytes per row. */
typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* Every tile 16 rows of 64 bytes: 16×16 f32 or 16×32 bf16. */
static void tiles_configure(void)
{
    tile_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

static int64_t round_up(int64_t n, int64_t to)
{
    return (n + to - 1) / to * to;
}

/* n clamped to [0, 16]: the valid rows or columns of one tile. */
static int clamp16(int64_t n)
{
    return n < 0 ? 0 : n > 16 ? 16 : (int)n;
}

/* The partial sums of a 2×2 block of C tiles in memory: TC00 at c, TC01
 * `right` floats on, TC10 `down` floats on, TC11 both; rows `stride`
 * bytes apart.  TC01 and TC11 only when `both` (else their B is all
 * padding and they are left out). */
static inline void c_tiles_load(const float *c, int64_t right, int64_t down,
                                int64_t stride, bool both)
{
    tile_load(TC00, c, stride);
    tile_load(TC10, c + down, stride);
    if (both) {
        tile_load(TC01, c + right, stride);
        tile_load(TC11, c + down + right, stride);
    }
}

static inline void c_tiles_store(float *c, int64_t right, int64_t down,
                                 int64_t stride, bool both)
{
    tile_store(TC00, c, stride);
    tile_store(TC10, c + down, stride);
    if (both) {
        tile_store(TC01, c + right, stride);
        tile_store(TC11, c + down + right, stride);
    }
}

static inline void c_tiles_zero(void)
{
    tile_zero(TC00);
    tile_zero(TC01);
    tile_zero(TC10);
    tile_zero(TC11);
}

/* A C tile stored in buf (16 weight rows × 16 tokens) into y at element
 * offset `at`: token j's outputs go to y[j][0..rows) (+ bias, then
 * mm->act). */
static void store_transposed(const float *buf, const pali_mm *mm, int64_t at,
                             int rows, int tokens, const float *bias)
{
    if (rows <= 0 || tokens <= 0)
        return;
    __m512 r[16];
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_loadu_ps(buf + i * 16);
    vf_transpose(r);
    const __mmask16 mk = mask_n(rows);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(mk, bias) : vf_zero();
    // the row operation on the registers: the ops (and bits) of
    // pali_avx512_gelu_tanh[_mul] on the stored row
    for (int j = 0; j < tokens; j++) {
        float *y = mm->y + at + j * mm->m;
        __m512 out = _mm512_add_ps(r[j], b);
        if (mm->act == PALI_ACT_GELU_TANH)
            out = v_gelu_tanh(out);
        else if (mm->act == PALI_ACT_GELU_TANH_MUL)
            out = _mm512_mul_ps(
                v_gelu_tanh(out),
                _mm512_maskz_loadu_ps(mk, mm->other + at + j * mm->m));
        _mm512_mask_storeu_ps(y, mk, out);
    }
}

/* A C tile stored in buf (16 output rows × 16 tokens) made final in
 * place: + bias, mm->act (other: the up tile of a gated product, in the
 * same order), zero outside rows × tokens.  The ops of store_transposed,
 * element by element. */
static void tile_finish(const pali_mm *mm, float *buf, int rows, int tokens,
                        const float *bias, const float *other)
{
    const __mmask16 tk = mask_n(tokens < 0 ? 0 : tokens);
    for (int i = 0; i < 16; i++) {
        __m512 v = vf_zero();
        if (i < rows && tokens > 0) {
            v = _mm512_loadu_ps(buf + i * 16);
            if (bias)
                v = _mm512_add_ps(v, _mm512_set1_ps(bias[i]));
            if (mm->act == PALI_ACT_GELU_TANH)
                v = v_gelu_tanh(v);
            else if (mm->act == PALI_ACT_GELU_TANH_MUL)
                v = _mm512_mul_ps(v_gelu_tanh(v),
                                  _mm512_loadu_ps(other + i * 16));
            v = _mm512_maskz_mov_ps(tk, v);
        }
        _mm512_storeu_ps(buf + i * 16, v);
    }
}

/* Rows 0–15 (lo) and 16–31 (hi; NULL for pairs ≤ 8) of a panel × 16
 * tokens, final, as the first `pairs` bf16 pairs of rows (2i, 2i + 1) in
 * the PACKED layout at dst. */
static void store_pairs(const float *lo, const float *hi, int pairs,
                        uint16_t *dst)
{
    // [row 2i: tokens 0–15 | row 2i + 1: tokens 0–15] → token-interleaved
    const __m512i order = _mm512_set_epi16(
        31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
        6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int i = 0; i < pairs; i++) {
        const float *even = i < 8 ? lo + 2 * i * 16 : hi + (2 * i - 16) * 16;
        const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(
            _mm512_loadu_ps(even + 16), _mm512_loadu_ps(even));
        _mm512_storeu_si512(dst + i * 32, _mm512_permutexvar_epi16(order, v));
    }
}

/* A finished 2×2 block of C tiles (the panel at output j0 × tokens
 * [tg, tg + 32); rows0/rows1 valid rows in the tile rows, tok0/tok1 valid
 * tokens in the tile columns), stored in buf as TC00, TC10, TC01, TC11,
 * whose epilogue — + bias, mm->act, the transposed store into y or the
 * PACKED one — runs in slices between the tile products of the blocks
 * that follow, so that the vector units work while the tiles multiply.
 * Run straight after the products it left the tiles idle (14–16 % of
 * `palilens-kernel-bench matmul 256 1152 1152` and `mlp 260 2304 9216`)
 * and read the tiles' stores back at once; spread out it hides only a
 * part of that, a slice's vector work being more than the 64 cycles of
 * the four products it sits between.  `slices` 0: nothing pending. */
typedef struct epilogue {
    const pali_mm *mm; /* the product whose block it is */
    float *buf;
    int64_t j0, tg;
    int rows0, rows1, tok0, tok1;
    int done, slices;
} epilogue;

/* Slices of an epilogue: in ROWS one per tile; in PACKED one per tile of
 * each 16-token half (the second storing the half's pairs), or, gated,
 * one per half: gelu_tanh(TC0h)·TC1h for 16 outputs. */
static int epilogue_slices(const pali_mm *mm)
{
    return mm->layout == PALI_LAYOUT_PACKED && mm->other_w ? 2 : 4;
}

/* The epilogue's next slice. */
static void epilogue_slice(epilogue *e)
{
    const pali_mm *mm = e->mm;
    const int s = e->done++;
    const float *bias0 = mm->bias && e->rows0 > 0 ? mm->bias + e->j0 : NULL;
    const float *bias1 =
        mm->bias && e->rows1 > 0 ? mm->bias + e->j0 + 16 : NULL;
    if (mm->layout == PALI_LAYOUT_ROWS) { // tile s: rows hi, tokens right
        const int hi = s & 1, right = s >> 1;
        store_transposed(e->buf + 256 * s, mm,
                         (e->tg + 16 * right) * mm->m + e->j0 + 16 * hi,
                         hi ? e->rows1 : e->rows0, right ? e->tok1 : e->tok0,
                         hi ? bias1 : bias0);
        return;
    }
    const bool gated = mm->other_w != NULL;
    const int h = gated ? s : s >> 1; // the 16-token half
    const int tok = h ? e->tok1 : e->tok0;
    float *lo = e->buf + 512 * h, *hi = lo + 256;
    uint16_t *dst =
        (uint16_t *)mm->y +
        ((e->tg / 16 + h) * (round_up(mm->m + mm->y_shift, 32) / 2) +
         (e->j0 + mm->y_shift) / 2) *
            32;
    if (gated) {
        tile_finish(mm, lo, e->rows0, tok, bias0, hi);
        store_pairs(lo, NULL, 8, dst);
    } else if ((s & 1) == 0) {
        tile_finish(mm, lo, e->rows0, tok, bias0, NULL);
    } else {
        tile_finish(mm, hi, e->rows1, tok, bias1, NULL);
        store_pairs(lo, hi, 16, dst);
    }
}

/* Slices of e until `upto` of them are done. */
static inline void epilogue_run(epilogue *e, int upto)
{
    while (e->done < upto)
        epilogue_slice(e);
}

/* Step `step` of `steps`' share of e: its slices spread evenly, all done
 * after the last. */
static inline void epilogue_share(epilogue *e, int step, int steps)
{
    if (e->done < e->slices)
        epilogue_run(e, ((step + 1) * e->slices + steps - 1) / steps);
}

/* The lanes i of a 16- or 32-element vector whose element first + i lies
 * in [0, k). */
static uint32_t lanes_in(int64_t first, int64_t k, int width)
{
    const int64_t lo = first < 0 ? -first : 0;
    const int64_t hi = k - first < width ? k - first : width;
    if (hi <= lo)
        return 0;
    const uint32_t upto = hi >= 32 ? ~0u : (1u << hi) - 1;
    return upto & ~((1u << lo) - 1);
}

/* 16-token blocks [b0, b1) of rows [t0, t0 + nt) of x (k wide) → xp
 * (⌈nt/32⌉·2 blocks, kpad/2, 16, 2) bf16, packed column c from x's column
 * c − shift (pali_mm), zero outside x's columns and past nt (up to a
 * multiple of 32). */
static void pack_tokens(const float *x, int64_t k, int64_t t0, int64_t nt,
                        int64_t kpad, int shift, int64_t b0, int64_t b1,
                        uint16_t *xp)
{
    for (int64_t blk = b0; blk < b1; blk++) {
        uint32_t *dst = (uint32_t *)xp + blk * (kpad / 2) * 16;
        for (int64_t c = 0; c < kpad; c += 32) {
            const int64_t first = c - shift;
            const __mmask16 m0 = (__mmask16)lanes_in(first, k, 16);
            const __mmask16 m1 = (__mmask16)lanes_in(first + 16, k, 16);
            __m512 r[16];
            for (int t = 0; t < 16; t++) {
                const int64_t row = blk * 16 + t;
                if (row >= nt) {
                    r[t] = vf_zero();
                    continue;
                }
                // (lanes outside x are masked: not read)
                const float *src = x + (t0 + row) * k + first;
                const __m512 lo = _mm512_maskz_loadu_ps(m0, src);
                const __m512 hi = _mm512_maskz_loadu_ps(m1, src + 16);
                r[t] = (__m512)_mm512_cvtne2ps_pbh(hi, lo);
            }
            // (16 tokens, 16 pairs) → (16 pairs, 16 tokens)
            vf_transpose(r);
            for (int p = 0; p < 16; p++)
                _mm512_storeu_ps((float *)(dst + (c / 2 + p) * 16), r[p]);
        }
    }
}

/* Most tokens per chunk for rows of kpad bf16: what fits AMX_CHUNK_BYTES,
 * at most AMX_CHUNK_ROWS, a multiple of 32. */
static int64_t chunk_most(int64_t kpad)
{
    int64_t most = (int64_t)AMX_CHUNK_BYTES / (2 * kpad) / 32 * 32;
    most = most > AMX_CHUNK_ROWS ? AMX_CHUNK_ROWS : most;
    return most < 32 ? 32 : most;
}

/* The chunk of tokens per pass: as many as fit, in equal chunks (a ragged
 * last chunk would stream the weights once more for a few tokens); at
 * most chunk_most(kpad) rounded up to 32. */
static int64_t chunk_tokens(int64_t n, int64_t kpad)
{
    const int64_t most = chunk_most(kpad);
    const int64_t chunks = (n + most - 1) / most;
    return round_up((n + chunks - 1) / chunks, 32);
}

/* Per thread: a converted 32 × KC weight block, one f32 row, the four C
 * tiles of a pending epilogue, the partial C tiles of a group of panels
 * over the largest chunk. */
static size_t amx_gemm_scratch(void)
{
    return (size_t)(32 * AMX_KC * 2 + AMX_KC * 4 + 4 * 16 * 16 * 4 +
                    AMX_GROUP * 32 * (AMX_CHUNK_ROWS + 32) * 4 + 256);
}

/* ---- packing, shared by the threads (kernels.h) ---------------------- */

/* Packed columns per token of mm's activations: k and the shift. */
static int64_t packed_k(const pali_mm *mm)
{
    return round_up(mm->k + mm->shift, 32);
}

static int64_t amx_pack_rows(const pali_mm *mm)
{
    if (!mm->fast || mm->n < AMX_MIN_ROWS)
        return 0;
    return chunk_tokens(mm->n, packed_k(mm));
}

static size_t amx_pack_bytes(int64_t max_k)
{
    // chunk_tokens ≤ chunk_most + 32 rows of kpad bf16, for every k ≤ max_k
    // and shift (chunk_most · kpad ≤ AMX_CHUNK_BYTES / 2 whenever it is
    // above 32)
    const int64_t kpad = round_up(max_k, 32) + 32;
    return (size_t)AMX_CHUNK_BYTES + (size_t)(64 * kpad * 2) + 256;
}

static int64_t amx_pack_blocks(int64_t nt)
{
    return round_up(nt, 32) / 16;
}

static void amx_pack(const pali_mm *mm, int64_t t0, int64_t nt, int64_t b0,
                     int64_t b1, void *packed)
{
    pack_tokens(mm->x, mm->k, t0, nt, packed_k(mm), mm->shift, b0, b1, packed);
}

/* Outputs per panel: 32 rows of w, or, gated, 16 outputs' rows of w and
 * of other_w. */
static int64_t panel_width(const pali_mm *mm)
{
    return mm->other_w ? 16 : 32;
}

/* The tensor and row that are row r (0–31) of the A operand of the panel
 * at output j0. */
static const pali_tensor *panel_row(const pali_mm *mm, int64_t j0, int r,
                                    int64_t *row)
{
    if (mm->other_w == NULL) {
        *row = j0 + r;
        return mm->w;
    }
    *row = j0 + (r & 15);
    return r < 16 ? mm->w : mm->other_w;
}

/* The A operand of one panel's k block: rows 0–15 (tile TA0) from lo,
 * rows 16–31 (TA1) from hi, lda bytes apart — but the block's first step
 * (32 columns) from head and its last from tail where they are not NULL:
 * 32 rows of 32 bf16, 64 bytes apart (the steps of rows read in place
 * that reach outside them, zero there). */
typedef struct a_operand {
    const uint16_t *lo, *hi;
    int64_t lda;
    const uint16_t *head, *tail;
} a_operand;

/* Whether the A operand comes straight from bf16 rows (staged or in
 * place), not converted. */
static bool direct_bf16(const pali_mm *mm)
{
    return mm->w->dtype == PALI_DTYPE_BF16 &&
           (mm->other_w == NULL || mm->other_w->dtype == PALI_DTYPE_BF16);
}

/* Whether tiles may read bf16 weights of k columns in place: k a multiple
 * of 32 (no padding to add) and a row stride that does not put every row
 * on the same sets of L1 (64 of them, a line each).  IN_PLACE: one that
 * spreads a tile's 16 rows over at least 8 offsets, so that a panel's
 * block (32 rows × 8 lines) stays in L1 across the token blocks at 4
 * lines per set (k = 2304, 1152).  IN_PLACE_ALIGNED: 2 or 4 offsets (k =
 * 9216, 3584, 4608): the block does not stay in L1, but reading it from
 * L2 beats copying it (whose loads wait on the rows' lines while the
 * tiles idle) — where the rows' lines start where the tiles' steps do
 * (the shift, amx_pack_shift), else not (`palilens-kernel-bench matmul N
 * K M --offset 40`, interleaved: 262 × 9216 × 2304 5.6–6.1 against
 * 6.2–6.9 ms copied, 6.7 with rows across lines; 16 tokens 1.55 against
 * 2.33; 1030 tokens 21.2–23.1 against 22.0–23.5; 262 × 3584 × 4096
 * 3.56 against 4.23–4.60, × 4608 4.44–4.68 against 5.36).  IN_PLACE_NONE: all
 * rows on the same sets (k = 2048, 14336, 36864: a stride of whole 4 KB
 * pages; 262 × 2048 × 2304 the same either way, × 36864 × 4608 100–107
 * against 89–91 ms copied). */
typedef enum in_place_kind {
    IN_PLACE_NONE,
    IN_PLACE,
    IN_PLACE_ALIGNED,
} in_place_kind;

static in_place_kind in_place_stride(int64_t k)
{
    if (k % 32 != 0)
        return IN_PLACE_NONE;
    int64_t lines = (2 * k / 64) % 64, g = 64; // gcd(lines, 64)
    while (lines != 0) {
        const int64_t t = g % lines;
        g = lines;
        lines = t;
    }
    return g <= 8 ? IN_PLACE : g < 64 ? IN_PLACE_ALIGNED : IN_PLACE_NONE;
}

/* The shift (pali_mm) that puts the tile loads of rows read in place on
 * whole cache lines.  A checkpoint's tensors lie where the file puts
 * them (safetensors aligns them to 8 bytes), so each 64-byte row of a
 * tile would span two lines — 12–15 % slower; starting the packed columns
 * `shift` before x's first makes the A tiles start where the rows cross
 * a 64-byte boundary.  (In place, k is a multiple of 32: every row is off
 * by the same bytes.)  Whole pairs of columns only — an offset of 4·i
 * bytes, as every 8-byte-aligned tensor's is — so that a producer can
 * store the activations so shifted (PACKED, compute.h) and its reader
 * give the bits it gives on them from f32.  A gated product's two tensors
 * must be off alike; 0 for other products. */
static int amx_pack_shift(const pali_mm *mm)
{
    if (!mm->fast || mm->n < AMX_MIN_ROWS || !direct_bf16(mm) ||
        in_place_stride(mm->k) == IN_PLACE_NONE)
        return 0;
    const uintptr_t off = (uintptr_t)mm->w->data % 64;
    if (off % 4 != 0 ||
        (mm->other_w && (uintptr_t)mm->other_w->data % 64 != off))
        return 0;
    return (int)(off / 2);
}

/* 32 columns of 32 rows (src, NULL for a zero row) from column `first`
 * (which may lie outside [0, k): zero there) to dst, `ld` elements
 * apart. */
static void stage_step(const uint16_t *const src[32], int64_t first, int64_t k,
                       uint16_t *dst, int64_t ld)
{
    const __mmask32 mk = lanes_in(first, k, 32);
    for (int r = 0; r < 32; r++)
        _mm512_storeu_si512(
            dst + r * ld, src[r] ? _mm512_maskz_loadu_epi16(mk, src[r] + first)
                                 : _mm512_setzero_si512());
}

/* Packed columns [k0, k0 + kc) (x's from k0 − mm->shift) of the panel at
 * output j0, with `rows` valid outputs (panel_width at most), as a
 * 32-row bf16 A operand, zero past the valid rows and outside the
 * weights' k columns.  bf16 rows (`direct`) are read in place when
 * `in_place` (in_place_stride; no copy to wait for: 10 % faster at 266
 * tokens than staging) — the steps that reach outside them staged into
 * wconv's head and tail — else staged at a 512-byte stride into wconv
 * (32, AMX_KC); other formats converted into it. */
static a_operand weight_block(const pali_mm *mm, int64_t j0, int rows,
                              int64_t k0, int64_t kc, bool direct,
                              bool in_place, uint16_t *wconv, float *row)
{
    const int width = (int)panel_width(mm);
    a_operand op = { wconv, wconv + 16 * AMX_KC, AMX_KC * 2, NULL, NULL };
    const int64_t first = k0 - mm->shift; // x's column of the block's first
    if (direct) {
        const uint16_t *src[32];
        for (int r = 0; r < 32; r++) {
            int64_t j;
            const pali_tensor *t = panel_row(mm, j0, r, &j);
            src[r] =
                j - j0 < rows ? (const uint16_t *)t->data + j * mm->k : NULL;
        }
        if (in_place && rows == width) {
            op = (a_operand){ src[0] + first, src[16] + first, mm->k * 2, NULL,
                              NULL };
            if (first < 0) {
                op.head = wconv;
                stage_step(src, first, mm->k, wconv, 32);
            }
            if (first + kc > mm->k) {
                op.tail = wconv + 32 * 32;
                stage_step(src, first + kc - 32, mm->k, wconv + 32 * 32, 32);
            }
            return op;
        }
        // Staged at a 512-byte row stride, where the checkpoint's own
        // would evict the rows from L1 between token blocks.
        for (int64_t c = 0; c < kc; c += 32)
            stage_step(src, first + c, mm->k, wconv + c, AMX_KC);
        return op;
    }
    // (other formats: shift 0, amx_pack_shift)
    const int64_t valid = mm->k - k0 < kc ? mm->k - k0 : kc;
    for (int r = 0; r < 32; r++) {
        int64_t j;
        const pali_tensor *t = panel_row(mm, j0, r, &j);
        if (j - j0 < rows && valid > 0)
            pali_bf16_weight_row(t, j, k0, valid, kc, row, wconv + r * AMX_KC);
        else
            memset(wconv + r * AMX_KC, 0, (size_t)kc * 2);
    }
    return op;
}

/* The end of the k block that starts at k0 of kpad packed columns:
 * AMX_KC on, but a block of rows read in place takes a last step that
 * would be a block of its own with it (a shifted k = 2304 is 73 steps:
 * its tenth block of one step would load and store the C tiles of every
 * token block for 4 tile products): `merge`, where every panel's rows
 * are read in place (staged and converted blocks fill wconv, AMX_KC
 * wide). */
static int64_t k_block_end(int64_t k0, int64_t kpad, bool merge)
{
    const int64_t end = k0 + AMX_KC;
    return end >= kpad || (merge && end + 32 >= kpad) ? kpad : end;
}

/* Weights to fetch ahead of the tile products that read them: per_row
 * cache lines of each of 32 rows, rows 0–15 from at[0] and 16–31 from
 * at[1], `stride` bytes apart; for q8/q4 also scale_lines lines of the
 * rows' scales from each of scales[0] and scales[1], scale_step bytes
 * apart.  total == 0: nothing to fetch. */
typedef struct next_block {
    const char *at[2], *scales[2];
    int64_t stride, scale_step;
    int per_row;     /* a block: 8 (bf16), 4 (q8), 2 (q4); whole rows: all */
    int scale_lines; /* per 16 rows: a block's one per row, or all */
    int total;       /* lines in all */
} next_block;

/* The cache line that holds p. */
static const char *line_start(const void *p)
{
    return (const char *)((uintptr_t)p & ~(uintptr_t)63);
}

/* The block that follows (j0, k0) in amx_gemm_packed's order (next panel
 * of the group [g0, g1), else the group's first panel at the next k
 * block, else the first block of the group at `following`, if any (< 0:
 * none)) in the weights' own storage: bf16 rows and q8/q4 codes and
 * scales (other formats are converted row by row, and a partial last
 * panel is not fetched). */
static next_block next_weight_block(const pali_mm *mm, int64_t g0, int64_t g1,
                                    int64_t following, int64_t j0, int64_t k0,
                                    int64_t kpad, bool merge)
{
    next_block nb = { 0 };
    const pali_tensor *w = mm->w;
    const bool quant = pali_dtype_is_quant(w->dtype);
    if ((w->dtype != PALI_DTYPE_BF16 &&
         !(quant && mm->k % PALI_QUANT_BLOCK == 0)) ||
        (mm->other_w && mm->other_w->dtype != w->dtype))
        return nb;
    const int64_t width = panel_width(mm);
    int64_t j = j0 + width, kn = k0;
    if (j >= g1) {
        j = g0;
        kn = k_block_end(k0, kpad, merge);
        if (kn >= kpad) {
            j = following;
            kn = 0;
        }
    }
    if (j < 0 || j + width > mm->m)
        return nb;
    bool straddle = false; // bf16 blocks that start inside a line
    for (int h = 0; h < 2; h++) {
        int64_t row;
        const pali_tensor *t = panel_row(mm, j, 16 * h, &row);
        if (!quant) { // (where a shifted block starts, a line before the row)
            const uint16_t *at =
                (const uint16_t *)t->data + row * mm->k + kn - mm->shift;
            straddle |= (uintptr_t)at % 64 != 0;
            nb.at[h] = line_start(at);
            continue;
        }
        const bool q8 = t->dtype == PALI_DTYPE_Q8;
        nb.at[h] = (const char *)pali_quant_codes(t, row) + (q8 ? kn : kn / 2);
        nb.scales[h] =
            (const char *)(pali_quant_scales(t, row) + kn / PALI_QUANT_BLOCK);
    }
    if (!quant) {
        nb.stride = mm->k * 2;
        nb.per_row = 8 + straddle; // a block's 512 bytes: 8 or 9 lines
        nb.total = 32 * nb.per_row;
        return nb;
    }
    nb.stride = pali_quant_row_bytes(w->dtype, mm->k);
    nb.per_row = w->dtype == PALI_DTYPE_Q8 ? 4 : 2;
    nb.scale_step = mm->k / PALI_QUANT_BLOCK * 2;
    nb.scale_lines = 16;
    nb.total = 32 * nb.per_row + 2 * nb.scale_lines;
    return nb;
}

/* The whole rows of the panel at output j (bf16, or q8/q4 codes and
 * scales; k a multiple of 32), none for a partial panel or j < 0: runs of
 * 16 consecutive rows, fetched in memory order. */
static next_block next_panel_rows(const pali_mm *mm, int64_t j)
{
    next_block nb = { 0 };
    if (j < 0 || j + panel_width(mm) > mm->m)
        return nb;
    const bool quant = pali_dtype_is_quant(mm->w->dtype);
    bool straddle = false; // bf16 rows that start inside a line
    for (int h = 0; h < 2; h++) {
        int64_t row;
        const pali_tensor *t = panel_row(mm, j, 16 * h, &row);
        if (!quant) {
            const uint16_t *at = (const uint16_t *)t->data + row * mm->k;
            straddle |= (uintptr_t)at % 64 != 0;
            nb.at[h] = line_start(at);
            continue;
        }
        nb.at[h] = (const char *)pali_quant_codes(t, row);
        nb.scales[h] = (const char *)pali_quant_scales(t, row);
    }
    nb.stride = quant ? pali_quant_row_bytes(mm->w->dtype, mm->k) : mm->k * 2;
    nb.per_row = (int)(nb.stride / 64) + straddle;
    if (quant) { // 16 rows' scales, k/32 of 2 bytes each, in a run
        nb.scale_step = 64;
        nb.scale_lines = (int)((16 * (mm->k / PALI_QUANT_BLOCK) * 2 + 63) / 64);
    }
    nb.total = 32 * nb.per_row + 2 * nb.scale_lines;
    return nb;
}

/* Line `line` of what nb describes. */
static inline const char *next_line(const next_block *nb, int line)
{
    const int codes = 32 * nb->per_row;
    if (line < codes) {
        const int r = line / nb->per_row;
        return nb->at[r >> 4] + (r & 15) * nb->stride +
               (int64_t)(line % nb->per_row) * 64;
    }
    const int r = line - codes;
    return nb->scales[r / nb->scale_lines] +
           (r % nb->scale_lines) * nb->scale_step;
}

/* amx_gemm_packed's panels [g0, g1) of mm (its outputs, on to the
 * padding of a gated product), the group at output `following` of
 * next_mm next (< 0: none; with whole, the next claim's panel, which may
 * be another product's); the tiles configured.  ep: the epilogue pending
 * from the blocks before, and on return this group's last (the tiles'
 * buffer in scratch).  Not inlined: GCC 12's code for it inlined ran
 * `palilens-kernel-bench mlp 266 2304 9216` 3–10 % slower. */
static __attribute__((noinline)) void
amx_gemm_group(const pali_mm *mm, const uint16_t *xp, int64_t t0, int64_t nt,
               int64_t g0, int64_t g1, const pali_mm *next_mm,
               int64_t following, bool whole, bool direct, bool in_place,
               epilogue *ep, void *scratch)
{
    const int64_t m = mm->m;
    const int64_t kpad = packed_k(mm);
    uint16_t *wconv = scratch;                   // (32, AMX_KC)
    float *row = (float *)(wconv + 32 * AMX_KC); // (AMX_KC)
    float *cbuf = row + AMX_KC;                  // (4, 16, 16)
    float *cpart = cbuf + 1024; // (AMX_GROUP, nt/32, 4 tiles, 16, 16)
    const int slices = epilogue_slices(mm);
    const int64_t ntb = round_up(nt, 32) / 32;
    const int64_t width = panel_width(mm);
    // what the tile products fetch ahead, line by line: with whole,
    // the next panel over all k blocks; else, per block, the next
    // block (set below).  Not for a chunk of one token block (the
    // prefill's last layer: 16 rows): with so little to compute between
    // them the fetches only pace the stream, which the hardware's
    // prefetcher runs faster alone (3B-224's gated product of 16 rows
    // 13–17 against 19–24 ms, down 9–11 against 11–15 ms, 3 runs each)
    next_block next = { 0 };
    int per_step = 0, line = 0;
    if (whole && ntb > 1) {
        next = next_panel_rows(next_mm, following);
        const int64_t steps = ntb * (kpad / 32);
        per_step = (int)((next.total + steps - 1) / steps);
    }
    // (a partial panel is staged: its blocks must fit wconv)
    const bool merge = in_place && g0 + round_up(g1 - g0, width) <= m;
    for (int64_t k0 = 0, k1; k0 < kpad; k0 = k1) {
        k1 = k_block_end(k0, kpad, merge);
        const int64_t kc = k1 - k0;
        const bool last = k1 == kpad;
        for (int64_t j0 = g0; j0 < g1; j0 += width) {
            const int rows =
                (int)(m - j0 < width ? (m > j0 ? m - j0 : 0) : width);
            const a_operand a = weight_block(mm, j0, rows, k0, kc, direct,
                                             in_place, wconv, row);
            const int rows0 = rows < 16 ? rows : 16, rows1 = rows - rows0;
            float *cgroup = cpart + ((j0 - g0) / width) * ntb * 1024;
            // The tile loads of A (and the conversion of q8/q4
            // codes) wait on memory unless the next block is on its
            // way: its lines, spread over this block's tile products.
            if (!whole) {
                next = next_weight_block(mm, g0, g1, following, j0, k0, kpad,
                                         merge);
                const int steps = (int)(ntb * (kc / 32));
                per_step = (next.total + steps - 1) / steps;
                line = 0;
            }
            for (int64_t tb = 0; tb < nt; tb += 32) {
                const uint16_t *b0 = xp + (tb / 16) * kpad * 16 + k0 * 16;
                const uint16_t *b1 = b0 + kpad * 16;
                float *cp = cgroup + (tb / 32) * 1024;
                // A last block of at most 16 tokens leaves out the
                // second token tile (whose B is all padding).
                const bool half = nt - tb <= 16;
                if (k0 == 0)
                    c_tiles_zero();
                else
                    c_tiles_load(cp, 256, 512, 64, !half);
                // (y's lines are not fetched for writing ahead of the
                // epilogue: with its stores spread over the next
                // block's steps, 8 prefetchw per step cost more than
                // they saved — 3B-224 prefill 3.6 % and 448 3 % faster
                // without them, 10 and 4 interleaved runs)
                const int steps = (int)(kc / 32);
                for (int64_t kk = 0; kk < kc; kk += 32) {
                    for (int p = 0; p < per_step && line < next.total;
                         p++, line++)
                        _mm_prefetch(next_line(&next, line), _MM_HINT_T0);
                    if (kk == 0 && a.head) {
                        tile_load(TA0, a.head, 64);
                        tile_load(TA1, a.head + 16 * 32, 64);
                    } else if (kk + 32 == kc && a.tail) {
                        tile_load(TA0, a.tail, 64);
                        tile_load(TA1, a.tail + 16 * 32, 64);
                    } else {
                        tile_load(TA0, a.lo + kk, a.lda);
                        tile_load(TA1, a.hi + kk, a.lda);
                    }
                    tile_load(TB0, b0 + kk * 16, 64);
                    if (half) {
                        tile_dp(TC00, TA0, TB0);
                        tile_dp(TC10, TA1, TB0);
                    } else {
                        tile_load(TB1, b1 + kk * 16, 64);
                        tile_dp(TC00, TA0, TB0);
                        tile_dp(TC01, TA0, TB1);
                        tile_dp(TC10, TA1, TB0);
                        tile_dp(TC11, TA1, TB1);
                    }
                    // while they multiply: a share of the pending
                    // epilogue, spread over the steps (the last step's
                    // finishes it, so cbuf is free below)
                    epilogue_share(ep, (int)(kk / 32), steps);
                }
                if (!last) {
                    c_tiles_store(cp, 256, 512, 64, !half);
                    continue;
                }
                // this block's epilogue waits for the next block's
                // products (a half block's right tiles are not stored:
                // no tokens there)
                tile_store(TC00, cbuf, 64);
                tile_store(TC10, cbuf + 256, 64);
                if (!half) {
                    tile_store(TC01, cbuf + 512, 64);
                    tile_store(TC11, cbuf + 768, 64);
                }
                *ep = (epilogue){ mm,
                                  cbuf,
                                  j0,
                                  t0 + tb,
                                  rows0,
                                  rows1,
                                  clamp16(nt - tb),
                                  clamp16(nt - tb - 16),
                                  0,
                                  slices };
            }
        }
    }
}

/* Whether mm's bf16 rows are read in place (in_place_stride): always
 * where their stride allows it, else where their lines start where the
 * tiles' steps do (the shift of the packed activations says where). */
static bool reads_in_place(const pali_mm *mm)
{
    const in_place_kind kind = in_place_stride(mm->k);
    if (kind != IN_PLACE_ALIGNED)
        return kind == IN_PLACE;
    const uintptr_t off = (uintptr_t)(2 * mm->shift);
    return ((uintptr_t)mm->w->data - off) % 64 == 0 &&
           (mm->other_w == NULL ||
            ((uintptr_t)mm->other_w->data - off) % 64 == 0);
}

/* Whether each panel of mm may be a group of its own (amx_gemm_packed):
 * weights read in place as bf16 or q8/q4 codes, k a multiple of 32. */
static bool whole_panels(const pali_mm *mm)
{
    const bool quant = pali_dtype_is_quant(mm->w->dtype);
    return (direct_bf16(mm) ||
            (quant &&
             (mm->other_w == NULL || mm->other_w->dtype == mm->w->dtype))) &&
           mm->k % 32 == 0;
}

/* The product that claim unit u falls in; *first: its first unit. */
static const pali_mm *unit_product(const pali_mm *mm, int count, int64_t u,
                                   int64_t *first)
{
    int64_t base = 0;
    for (int i = 0; i < count - 1; i++) {
        const int64_t units = pali_matmul_panels(mm[i].m);
        if (u < base + units) {
            *first = base;
            return &mm[i];
        }
        base += units;
    }
    *first = base;
    return &mm[count - 1];
}

/* Rows [t0, t0 + nt) of the outputs of the `count` products of one x (the
 * chunk's packed activations, amx_pack, shared by the threads), for the
 * units this thread claims from work: each product's 32-output panels in
 * turn, as one run, so that the threads part only once and the next
 * product's first rows are fetched during this one's last panel.
 * Blocking, innermost last: group of AMX_GROUP panels (one claim; one
 * panel when the chunk fits AMX_WHOLE_BYTES) → k block of AMX_KC → panel
 * → 32-token block.  Each weight element is read from memory once per
 * chunk; the chunk's k block of activations stays in L2 for the whole
 * group; the panel's k block of weights stays in L1 for all token
 * blocks; C tiles wait in the group's partial buffer (L2) between k
 * blocks. */
static void amx_gemm_packed(const pali_mm *mms, int count, const void *packed,
                            int64_t t0, int64_t nt, pali_work *work, int ith,
                            void *scratch)
{
    const int64_t kpad = packed_k(&mms[0]); // (k and shift alike)
    const uint16_t *xp = packed;            // (nt/16, kpad/2, 16, 2)
    // A short prompt's packed activations stay in L2 whole: then each
    // panel is a group of its own (nothing read again from L3), and what
    // is fetched ahead is the next panel's rows whole, one stream in
    // memory order, where the next block would be 32 pieces of 512 bytes
    // from as many pages.
    bool whole = nt * kpad * 2 <= AMX_WHOLE_BYTES;
    // claims of one group (a whole group's panels share the activations'
    // pass from L3), or with whole one 32-output panel, the next claimed
    // ahead so that its rows can be fetched during this one's products
    int64_t most = AMX_GROUP;
    for (int i = 0; i < count; i++) {
        whole = whole && whole_panels(&mms[i]);
        const int64_t g = panel_width(&mms[i]) * AMX_GROUP / PALI_MATMUL_PANEL;
        most = g < most ? g : most;
    }
    most = whole ? 1 : most;
    int64_t c0, c1, n0 = 0, n1 = 0;
    bool have = pali_work_claim(work, ith, most, &c0, &c1);
    epilogue ep = { 0 };
    tiles_configure();
    while (have) {
        const bool ahead = whole && pali_work_claim(work, ith, most, &n0, &n1);
        int64_t next_first = 0;
        const pali_mm *next_mm =
            ahead ? unit_product(mms, count, n0, &next_first) : NULL;
        const int64_t following =
            ahead ? (n0 - next_first) * PALI_MATMUL_PANEL : -1;
        // the claim's units, product by product
        for (int64_t u = c0; u < c1;) {
            int64_t first;
            const pali_mm *mm = unit_product(mms, count, u, &first);
            const int64_t after = first + pali_matmul_panels(mm->m);
            const int64_t u1 = after < c1 ? after : c1;
            const int64_t m = mm->m;
            const bool direct = direct_bf16(mm);
            const bool in_place = direct && reads_in_place(mm);
            const int64_t group = panel_width(mm) * (whole ? 1 : AMX_GROUP);
            const int64_t o1 = (u1 - first) * PALI_MATMUL_PANEL < m
                                   ? (u1 - first) * PALI_MATMUL_PANEL
                                   : m;
            // gated: 16 outputs per panel, on to the PACKED padding (the
            // last panel's end is m), whose panels store zeros
            const int64_t end = mm->other_w ? round_up(o1, 32) : o1;
            for (int64_t g0 = (u - first) * PALI_MATMUL_PANEL; g0 < end;
                 g0 += group) {
                const int64_t g1 = g0 + group < end ? g0 + group : end;
                const bool last = g1 == end && u1 == c1;
                amx_gemm_group(mm, xp, t0, nt, g0, g1, last ? next_mm : mm,
                               g1 < end ? g1
                               : last   ? following
                                        : -1,
                               whole, direct, in_place, &ep, scratch);
            }
            u = u1;
        }
        if (ahead) {
            c0 = n0;
            c1 = n1;
        } else {
            have = !whole && pali_work_claim(work, ith, most, &c0, &c1);
        }
    }
    epilogue_run(&ep, ep.slices); // the last block's
    _tile_release();
}

static size_t amx_matmul_scratch(int64_t max_k)
{
    const size_t a = amx_gemm_scratch(),
                 b = pali_avx512bf16_matmul_scratch(max_k);
    return a > b ? a : b;
}

/* Products that amx_pack_rows takes (fast, n ≥ AMX_MIN_ROWS) come through
 * amx_pack and amx_gemm_packed; the rest run on the AVX512-BF16 set. */
static void amx_matmul(const pali_mm *mm, int64_t r0, int64_t r1, void *scratch)
{
    pali_avx512bf16_matmul(mm, r0, r1, scratch);
}

/* ---- attention ------------------------------------------------------------
 */

/* C tile → out rows [0, rows) × columns [0, cols), row i times inv[i],
 * via buf (16×16). */
static void store_rows(int tile_id, float *buf, float *out, int64_t ldo,
                       int rows, int cols, const float *inv)
{
    if (rows <= 0 || cols <= 0)
        return;
    switch (tile_id) {
    case TC00: tile_store(TC00, buf, 64); break;
    case TC01: tile_store(TC01, buf, 64); break;
    case TC10: tile_store(TC10, buf, 64); break;
    default: tile_store(TC11, buf, 64); break;
    }
    const __mmask16 mk = mask_n(cols);
    for (int i = 0; i < rows; i++)
        _mm512_mask_storeu_ps(out + i * ldo, mk,
                              _mm512_mul_ps(_mm512_loadu_ps(buf + i * 16),
                                            _mm512_set1_ps(inv[i])));
}

/* Keys per pass of amx_attn_group's product with v: this many keys of v
 * (128 KB at hd 256) stay in L2 while every head's rows and columns go
 * over them, and a head's 32 rows of p over them (16 KB) mostly in L1
 * (4–7 % faster than 512 keys at 4100 tokens); the partial outputs wait
 * in f32 between passes, which keeps each one's sum in the order of a
 * single pass over all keys. */
#define AMX_ATTN_KEYS 256

/* Row x of scores (f32, from its start) → e = exp(v − max v) as bf16 in
 * its place over the visible [lo, hi), zero elsewhere up to n, for
 * v = scale·x soft-capped when cap > 0 (the cap as vec_softmax_exp
 * applies it; e by v_exp2); returns 1 / Σ e (of the f32 e, two
 * vector sums finished in double), by which the caller scales the row's
 * outputs instead of p.  Without a cap, max v is scale·max x (scale > 0),
 * from a read-only pass, and the scale goes into the exponent's FMA;
 * with one, v is stored on the way to its maximum.  Each vector is read
 * before the half-width result overwrites it. */
static float softmax_unscaled_bf16(float *x, int64_t lo, int64_t hi, int64_t n,
                                   float scale, float cap)
{
    uint16_t *p = (uint16_t *)x;
    const __m512 sc = _mm512_set1_ps(scale), c = _mm512_set1_ps(cap);
    const __m512 inv_cap = _mm512_set1_ps(1.0f / cap);
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0;
    int64_t i = lo;
    for (; i + 32 <= hi; i += 32) { // two max chains
        __m512 v = _mm512_loadu_ps(x + i), w = _mm512_loadu_ps(x + i + 16);
        if (cap > 0) {
            v = _mm512_mul_ps(
                v_tanh(_mm512_mul_ps(_mm512_mul_ps(v, sc), inv_cap)), c);
            w = _mm512_mul_ps(
                v_tanh(_mm512_mul_ps(_mm512_mul_ps(w, sc), inv_cap)), c);
            _mm512_storeu_ps(x + i, v);
            _mm512_storeu_ps(x + i + 16, w);
        }
        m0 = _mm512_max_ps(m0, v);
        m1 = _mm512_max_ps(m1, w);
    }
    for (; i < hi; i += 16) {
        const __mmask16 mk = mask_n(hi - i < 16 ? (int)(hi - i) : 16);
        __m512 v = _mm512_maskz_loadu_ps(mk, x + i);
        if (cap > 0) {
            v = _mm512_mul_ps(
                v_tanh(_mm512_mul_ps(_mm512_mul_ps(v, sc), inv_cap)), c);
            _mm512_mask_storeu_ps(x + i, mk, v);
        }
        m0 = _mm512_mask_max_ps(m0, mk, m0, v);
    }
    float max = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
    // uncapped: the exp pass scales
    const __m512 vs = cap > 0 ? _mm512_set1_ps(1) : sc;
    if (!(cap > 0))
        max = _mm512_cvtss_f32(_mm512_mul_ps(_mm512_set1_ps(max), sc));
    // e = 2^t, t = (x·vs − max)·log2 e in one FMA
    const __m512 a = _mm512_mul_ps(vs, _mm512_set1_ps(EXP_LOG2E));
    const __m512 b = _mm512_set1_ps(-max * EXP_LOG2E);
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    for (i = lo; i + 32 <= hi; i += 32) {
        const __m512 e0 = v_exp2(_mm512_fmadd_ps(_mm512_loadu_ps(x + i), a, b));
        const __m512 e1 =
            v_exp2(_mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), a, b));
        s0 = _mm512_add_ps(s0, e0);
        s1 = _mm512_add_ps(s1, e1);
        _mm512_storeu_si512(p + i, (__m512i)_mm512_cvtne2ps_pbh(e1, e0));
    }
    for (; i < hi; i += 16) {
        const __mmask16 mk = mask_n(hi - i < 16 ? (int)(hi - i) : 16);
        const __m512 e = _mm512_maskz_mov_ps(
            mk,
            v_exp2(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, x + i), a, b)));
        s0 = _mm512_add_ps(s0, e);
        _mm256_mask_storeu_epi16(p + i, mk, (__m256i)_mm512_cvtneps_pbh(e));
    }
    memset(p, 0, (size_t)lo * 2);
    memset(p + hi, 0, (size_t)(n - hi) * 2);
    return (float)(1.0 / (double)_mm512_reduce_add_ps(_mm512_add_ps(s0, s1)));
}

/* kernels.h: attn_group.  p is the unscaled exp (softmax_unscaled_bf16);
 * each output row is scaled by its 1 / Σ as it is stored.  Scratch after
 * the scores: the heads' queries (heads·32, hd_k) bf16, their partial
 * outputs (heads·32, hd_v) f32, a C tile and each row's 1 / Σ. */
static bool amx_attn_group(const pali_attn_block *b, int heads, int64_t lo,
                           int64_t hi, float scale, float cap)
{
    const pali_kv_layout *l = b->lay;
    if (!l->bf16 || b->nq < AMX_MIN_ROWS || heads > PALI_ATTN_GROUP_MAX ||
        !(scale > 0) || hi <= lo)
        return false;
    const int hk = l->hd_k, hv = l->hd_v, hd = l->hd;
    const int qb_rows = PALI_ATTN_QUERY_BLOCK;
    const int64_t n = round_up(b->n_keys, PALI_KV_BLOCK), ls = b->s_stride;
    uint16_t *qb = b->scratch;                         // (heads·32, hk)
    float *acc = (float *)(qb + heads * qb_rows * hk); // (heads·32, hv)
    float *cbuf = acc + heads * qb_rows * hv;          // (16, 16)
    float *inv = cbuf + 256;                           // (heads·32)
    for (int t = 0; t < heads; t++)
        for (int i = 0; i < qb_rows; i++) {
            uint16_t *dst = qb + (t * qb_rows + i) * hk;
            if (i < b->nq)
                pali_bf16_from_f32(b->q + i * b->q_stride + t * hd, hd, hk,
                                   dst);
            else
                memset(dst, 0, (size_t)hk * 2);
        }

    // scores: each 32-key block of k, loaded once, against every head
    const uint16_t *k = (const uint16_t *)b->k + (b->key0 / 16) * hk * 16;
    const int64_t block = (int64_t)hk * 16;
    tiles_configure();
    for (int64_t j = 0; j < n; j += 32) {
        const uint16_t *k0 = k + (j / 16) * block, *k1 = k0 + block;
        for (int t = 0; t < heads; t++) {
            const uint16_t *qa = qb + t * qb_rows * hk;
            c_tiles_zero();
            for (int kk = 0; kk < hk; kk += 32) {
                tile_load(TA0, qa + kk, hk * 2);
                tile_load(TA1, qa + 16 * hk + kk, hk * 2);
                tile_load(TB0, k0 + kk * 16, 64);
                tile_load(TB1, k1 + kk * 16, 64);
                tile_dp(TC00, TA0, TB0);
                tile_dp(TC01, TA0, TB1);
                tile_dp(TC10, TA1, TB0);
                tile_dp(TC11, TA1, TB1);
            }
            float *sc = b->s + t * qb_rows * ls + j;
            c_tiles_store(sc, 16, 16 * ls, ls * 4, true);
        }
    }

    // unscaled p in place of the scores, row by row (rows past nq: zero)
    for (int t = 0; t < heads; t++)
        for (int i = 0; i < qb_rows; i++) {
            float *row = b->s + (t * qb_rows + i) * ls;
            if (i < b->nq)
                inv[t * qb_rows + i] =
                    softmax_unscaled_bf16(row, lo, hi, n, scale, cap);
            else
                memset(row, 0, (size_t)n * 2);
        }

    // out = p · v, AMX_ATTN_KEYS keys of v at a time
    const uint16_t *v = (const uint16_t *)b->v + (b->key0 / 2) * hv * 2;
    const int64_t ldv = (int64_t)hv * 4, ldp = ls * 4, ldo = (int64_t)hv * 4;
    const int rows0 = b->nq < 16 ? b->nq : 16, rows1 = b->nq - rows0;
    for (int64_t c0 = 0; c0 < n; c0 += AMX_ATTN_KEYS) {
        const int64_t c1 = n - c0 < AMX_ATTN_KEYS ? n : c0 + AMX_ATTN_KEYS;
        // The next pass's v is fetched into L2 in order during the first
        // head's columns, which read this pass's v 64 bytes per 1 KB row.
        const char *next = (const char *)(v + (c1 / 2) * hv * 2);
        const int64_t next_lines =
            ((n - c1 < AMX_ATTN_KEYS ? n - c1 : AMX_ATTN_KEYS) * hv * 2) / 64;
        const int64_t steps = ((hv + 31) / 32) * ((c1 - c0) / 32);
        const int64_t per_step = (next_lines + steps - 1) / steps;
        int64_t line = 0;
        for (int t = 0; t < heads; t++) {
            const uint16_t *p = (const uint16_t *)(b->s + t * qb_rows * ls);
            for (int c = 0; c < hv; c += 32) {
                const bool two = c + 16 < hv;
                float *o = acc + t * qb_rows * hv + c;
                if (c0 == 0)
                    c_tiles_zero();
                else
                    c_tiles_load(o, 16, 16 * hv, ldo, two);
                for (int64_t kk = c0; kk < c1; kk += 32) {
                    const uint16_t *vb = v + (kk / 2) * hv * 2 + c * 2;
                    for (int64_t e = 0; e < per_step && line < next_lines;
                         e++, line++)
                        _mm_prefetch(next + line * 64, _MM_HINT_T1);
                    tile_load(TA0, (const char *)(p + kk), ldp);
                    tile_load(TA1, (const char *)(p + kk) + 16 * ldp, ldp);
                    tile_load(TB0, vb, ldv);
                    tile_dp(TC00, TA0, TB0);
                    tile_dp(TC10, TA1, TB0);
                    if (two) {
                        tile_load(TB1, vb + 32, ldv);
                        tile_dp(TC01, TA0, TB1);
                        tile_dp(TC11, TA1, TB1);
                    }
                }
                if (c1 < n) {
                    c_tiles_store(o, 16, 16 * hv, ldo, two);
                    continue;
                }
                const int cols0 = hd - c < 16 ? hd - c : 16;
                const int cols1 = hd - c - 16 < 16 ? hd - c - 16 : 16;
                float *out = b->out + t * hd + c;
                const float *inv0 = inv + t * qb_rows, *inv1 = inv0 + 16;
                store_rows(TC00, cbuf, out, b->out_stride, rows0, cols0, inv0);
                store_rows(TC10, cbuf, out + 16 * b->out_stride, b->out_stride,
                           rows1, cols0, inv1);
                if (two) {
                    store_rows(TC01, cbuf, out + 16, b->out_stride, rows0,
                               cols1, inv0);
                    store_rows(TC11, cbuf, out + 16 * b->out_stride + 16,
                               b->out_stride, rows1, cols1, inv1);
                }
            }
        }
    }
    _tile_release();
    return true;
}

const pali_kernels pali_kernels_amx = {
    .id = PALI_KERNEL_AMX,
    .bf16_attention = true,
    .matmul = amx_matmul,
    .matmul_scratch = amx_matmul_scratch,
    .pack_rows = amx_pack_rows,
    .pack_shift = amx_pack_shift,
    .pack_bytes = amx_pack_bytes,
    .pack_blocks = amx_pack_blocks,
    .pack = amx_pack,
    .matmul_packed = amx_gemm_packed,
    // what attn_group leaves (exact precision, blocks under 16 queries)
    .attn_scores = pali_avx512bf16_attn_scores,
    .attn_values = pali_avx512bf16_attn_values,
    .attn_group = amx_attn_group,
    .kv_store16 = pali_avx512bf16_kv_store16,
    .softcap_softmax = pali_avx512_softcap_softmax,
    .gelu_tanh = pali_avx512_gelu_tanh,
    .gelu_tanh_mul = pali_avx512_gelu_tanh_mul,
    .softcap = pali_avx512_softcap,
    .layernorm = pali_avx512_layernorm,
    .rmsnorm = pali_avx512_rmsnorm,
    .q8_row_bound = pali_avx512_q8_row_bound,
    .q4_row = pali_avx512_q4_row,
};
