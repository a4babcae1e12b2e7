/* vae.c — big_vision's PaliGemma mask decoder: 16 VQ-VAE codes → 64×64 raw
 * mask, from the weights in vae-oid.npz (AiT's VQVAE state_dict).
 *
 * Follows big_vision/evaluators/proj/paligemma/transfers/segmentation.py
 * (Decoder, ResBlock, _quantized_values_from_codebook_indices) as the
 * segmentation README §3 spells it out: gather the 16 codebook rows into a
 * row-major 4×4 grid, 1×1 conv 512→128 + ReLU, two ResBlocks (3×3 conv +
 * ReLU, 3×3 conv + ReLU, 1×1 conv, add; no ReLU after the add), four
 * transposed convs (kernel 4, stride 2, padding 1, = torch ConvTranspose2d)
 * each + ReLU, 1×1 conv 16→1.  Activations are kept [H][W][C] and weights
 * are rearranged at load time to [ky][kx][in][out], so every inner loop
 * runs over contiguous output channels.  All arithmetic is float32. */
#define _POSIX_C_SOURCE 200809L
#include "vae.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "npz.h"

/* Architecture constants (AiT ait_insseg_vqvae.py / flax Decoder). */
#define VAE_GRID      4   /* 16 codes form a 4×4 grid */
#define VAE_EMBED_DIM 512 /* codebook vector length */
#define VAE_DIM       128 /* decoder width before upsampling */
#define VAE_UP_LAYERS 4   /* transposed convs, each doubling H and W */
#define VAE_UP_K      4   /* transposed-conv kernel size */
#define VAE_RES_K     3   /* ResBlock conv kernel size */
#define VAE_OUT_DIM   16  /* channels before the last 1×1 conv */
/* Output channels are processed in blocks of this many (every width of
 * the decoder is a multiple), so the compiler can vectorise the loop. */
#define VAE_LANES 16

static const int up_in[VAE_UP_LAYERS] = { 128, 128, 64, 32 };
static const int up_out[VAE_UP_LAYERS] = { 128, 64, 32, 16 };

/* What becomes of a checkpoint array at load time. */
typedef enum {
    W_UNUSED, /* checked, then dropped (encoder, EMA buffers) */
    W_COPY,   /* biases, codebook: as stored */
    W_CONV,   /* Conv2d (out, in, k, k) → [k][k][in][out] */
    W_CONV_T, /* ConvTranspose2d (in, out, k, k) → [k][k][in][out] */
} w_kind;

/* Where each decoder array goes. */
typedef enum {
    S_EMBED,
    S_CONV0_W,
    S_CONV0_B,
    S_RES_W, /* + 6·block + 2·conv: weight; + 1: bias */
    S_UP_W = S_RES_W + 12,
    S_OUT_W = S_UP_W + 2 * VAE_UP_LAYERS,
    S_OUT_B,
    S_COUNT
} w_slot;

typedef struct {
    const char *name;
    int64_t shape[4];
    int n_dims;
    w_kind kind;
    int slot;
} vae_array;

#define A4(a, b, c, d) { a, b, c, d }, 4
#define A2(a, b)       { a, b }, 2
#define A1(a)          { a }, 1

/* The 49 arrays of vae-oid.npz (segmentation README §2). */
static const vae_array vae_arrays[] = {
    { "encoder.0.weight", A4(16, 1, 4, 4), W_UNUSED, -1 },
    { "encoder.0.bias", A1(16), W_UNUSED, -1 },
    { "encoder.2.weight", A4(32, 16, 4, 4), W_UNUSED, -1 },
    { "encoder.2.bias", A1(32), W_UNUSED, -1 },
    { "encoder.4.weight", A4(64, 32, 4, 4), W_UNUSED, -1 },
    { "encoder.4.bias", A1(64), W_UNUSED, -1 },
    { "encoder.6.weight", A4(128, 64, 4, 4), W_UNUSED, -1 },
    { "encoder.6.bias", A1(128), W_UNUSED, -1 },
    { "encoder.8.net.0.weight", A4(128, 128, 3, 3), W_UNUSED, -1 },
    { "encoder.8.net.0.bias", A1(128), W_UNUSED, -1 },
    { "encoder.8.net.2.weight", A4(128, 128, 3, 3), W_UNUSED, -1 },
    { "encoder.8.net.2.bias", A1(128), W_UNUSED, -1 },
    { "encoder.8.net.4.weight", A4(128, 128, 1, 1), W_UNUSED, -1 },
    { "encoder.8.net.4.bias", A1(128), W_UNUSED, -1 },
    { "encoder.9.net.0.weight", A4(128, 128, 3, 3), W_UNUSED, -1 },
    { "encoder.9.net.0.bias", A1(128), W_UNUSED, -1 },
    { "encoder.9.net.2.weight", A4(128, 128, 3, 3), W_UNUSED, -1 },
    { "encoder.9.net.2.bias", A1(128), W_UNUSED, -1 },
    { "encoder.9.net.4.weight", A4(128, 128, 1, 1), W_UNUSED, -1 },
    { "encoder.9.net.4.bias", A1(128), W_UNUSED, -1 },
    { "encoder.10.weight", A4(512, 128, 1, 1), W_UNUSED, -1 },
    { "encoder.10.bias", A1(512), W_UNUSED, -1 },
    { "decoder.0.weight", A4(128, 512, 1, 1), W_CONV, S_CONV0_W },
    { "decoder.0.bias", A1(128), W_COPY, S_CONV0_B },
    { "decoder.2.net.0.weight", A4(128, 128, 3, 3), W_CONV, S_RES_W + 0 },
    { "decoder.2.net.0.bias", A1(128), W_COPY, S_RES_W + 1 },
    { "decoder.2.net.2.weight", A4(128, 128, 3, 3), W_CONV, S_RES_W + 2 },
    { "decoder.2.net.2.bias", A1(128), W_COPY, S_RES_W + 3 },
    { "decoder.2.net.4.weight", A4(128, 128, 1, 1), W_CONV, S_RES_W + 4 },
    { "decoder.2.net.4.bias", A1(128), W_COPY, S_RES_W + 5 },
    { "decoder.3.net.0.weight", A4(128, 128, 3, 3), W_CONV, S_RES_W + 6 },
    { "decoder.3.net.0.bias", A1(128), W_COPY, S_RES_W + 7 },
    { "decoder.3.net.2.weight", A4(128, 128, 3, 3), W_CONV, S_RES_W + 8 },
    { "decoder.3.net.2.bias", A1(128), W_COPY, S_RES_W + 9 },
    { "decoder.3.net.4.weight", A4(128, 128, 1, 1), W_CONV, S_RES_W + 10 },
    { "decoder.3.net.4.bias", A1(128), W_COPY, S_RES_W + 11 },
    { "decoder.4.weight", A4(128, 128, 4, 4), W_CONV_T, S_UP_W + 0 },
    { "decoder.4.bias", A1(128), W_COPY, S_UP_W + 1 },
    { "decoder.6.weight", A4(128, 64, 4, 4), W_CONV_T, S_UP_W + 2 },
    { "decoder.6.bias", A1(64), W_COPY, S_UP_W + 3 },
    { "decoder.8.weight", A4(64, 32, 4, 4), W_CONV_T, S_UP_W + 4 },
    { "decoder.8.bias", A1(32), W_COPY, S_UP_W + 5 },
    { "decoder.10.weight", A4(32, 16, 4, 4), W_CONV_T, S_UP_W + 6 },
    { "decoder.10.bias", A1(16), W_COPY, S_UP_W + 7 },
    { "decoder.12.weight", A4(1, 16, 1, 1), W_CONV, S_OUT_W },
    { "decoder.12.bias", A1(1), W_COPY, S_OUT_B },
    { "_vq_vae._embedding", A2(PALI_VAE_CODEBOOK, VAE_EMBED_DIM), W_COPY,
      S_EMBED },
    { "_vq_vae._ema_cluster_size", A1(PALI_VAE_CODEBOOK), W_UNUSED, -1 },
    { "_vq_vae._ema_w", A2(PALI_VAE_CODEBOOK, VAE_EMBED_DIM), W_UNUSED, -1 },
};

struct pali_vae {
    float *weights; /* one allocation holding every slot below */
    const float *w[S_COUNT];
};

static const char *const layer_names[PALI_VAE_N_LAYERS] = {
    "embed",       "conv0_relu",  "resblock_0",  "resblock_1", "convT0_relu",
    "convT1_relu", "convT2_relu", "convT3_relu", "out",
};

const char *pali_vae_layer_name(pali_vae_layer layer)
{
    return (unsigned)layer < PALI_VAE_N_LAYERS ? layer_names[layer] : "?";
}

void pali_vae_free(pali_vae *vae)
{
    if (vae == NULL)
        return;
    free(vae->weights);
    free(vae);
}

static int64_t numel_of(const vae_array *a)
{
    int64_t n = 1;
    for (int d = 0; d < a->n_dims; d++)
        n *= a->shape[d];
    return n;
}

static bool shape_matches(const vae_array *a, const pali_npy_array *arr)
{
    if (arr->n_dims != a->n_dims)
        return false;
    for (int d = 0; d < a->n_dims; d++)
        if (arr->shape[d] != a->shape[d])
            return false;
    return true;
}

/* Stores one checked array into its slot, rearranged for the decoder. */
static void place_array(const vae_array *a, const float *src, float *dst)
{
    if (a->kind == W_COPY) {
        memcpy(dst, src, (size_t)numel_of(a) * sizeof(float));
        return;
    }
    /* W_CONV: (out, in, k, k); W_CONV_T: (in, out, k, k).  Both become
     * [ky][kx][in][out]. */
    int64_t d0 = a->shape[0], d1 = a->shape[1], k = a->shape[2];
    int64_t ci = a->kind == W_CONV ? d1 : d0, co = a->kind == W_CONV ? d0 : d1;
    for (int64_t i0 = 0; i0 < d0; i0++)
        for (int64_t i1 = 0; i1 < d1; i1++)
            for (int64_t ky = 0; ky < k; ky++)
                for (int64_t kx = 0; kx < k; kx++) {
                    int64_t in = a->kind == W_CONV ? i1 : i0;
                    int64_t out = a->kind == W_CONV ? i0 : i1;
                    dst[((ky * k + kx) * ci + in) * co + out] =
                        src[((i0 * d1 + i1) * k + ky) * k + kx];
                }
}

pali_status pali_vae_load(const char *npz_path, pali_vae **out, pali_error *err)
{
    if (npz_path == NULL || out == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_vae_load: NULL argument");
    *out = NULL;
    pali_npz *npz = NULL;
    pali_status st = pali_npz_open(npz_path, &npz, err);
    if (st != PALI_OK)
        return st;

    size_t offsets[S_COUNT] = { 0 }, total = 0;
    for (size_t i = 0; i < PALI_ARRAY_LEN(vae_arrays); i++)
        if (vae_arrays[i].slot >= 0) {
            offsets[vae_arrays[i].slot] = total;
            total += (size_t)numel_of(&vae_arrays[i]);
        }
    pali_vae *vae = calloc(1, sizeof(*vae));
    if (vae == NULL || (vae->weights = malloc(total * sizeof(float))) == NULL) {
        free(vae);
        pali_npz_close(npz);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         npz_path);
    }
    for (int s = 0; s < S_COUNT; s++)
        vae->w[s] = vae->weights + offsets[s];

    for (size_t i = 0; i < PALI_ARRAY_LEN(vae_arrays); i++) {
        const vae_array *a = &vae_arrays[i];
        /* The encoder and the EMA buffers are not needed to decode: a file
         * without them loads, but one that has them must have them right. */
        if (a->kind == W_UNUSED && !pali_npz_has(npz, a->name))
            continue;
        if (!pali_npz_has(npz, a->name)) {
            st = pali_fail(err, PALI_ERR_NOT_FOUND,
                           "%s: array '%s' is missing: not a big_vision "
                           "vae-oid.npz mask decoder",
                           npz_path, a->name);
            break;
        }
        pali_npy_array arr;
        st = pali_npz_read(npz, a->name, &arr, err);
        if (st != PALI_OK)
            break;
        if (arr.dtype != PALI_NPY_F32 || !shape_matches(a, &arr)) {
            char got[96], want[96];
            pali_npy_shape_string(&arr, got, sizeof(got));
            pali_npy_array expect = { .n_dims = a->n_dims };
            memcpy(expect.shape, a->shape, sizeof(a->shape));
            pali_npy_shape_string(&expect, want, sizeof(want));
            st = pali_fail(err, PALI_ERR_FORMAT,
                           "%s: array '%s' is %s %s, expected <f4 %s", npz_path,
                           a->name, pali_npy_dtype_name(arr.dtype), got, want);
            pali_npy_array_clear(&arr);
            break;
        }
        if (a->slot >= 0)
            place_array(a, arr.data, vae->weights + offsets[a->slot]);
        pali_npy_array_clear(&arr);
    }
    pali_npz_close(npz);
    if (st != PALI_OK) {
        pali_vae_free(vae);
        return st;
    }
    *out = vae;
    return PALI_OK;
}

/* ---- layers ------------------------------------------------------------- */

/* o[0..co) += a · w[0..co), co a multiple of VAE_LANES. */
static inline void axpy(float *restrict o, const float *restrict w, float a,
                        int co)
{
    for (int j = 0; j < co; j += VAE_LANES)
        for (int t = 0; t < VAE_LANES; t++)
            o[j + t] += a * w[j + t];
}

static void relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* out (h, w, co) = b + conv_k×k(in (h, w, ci)), stride 1, zero padding
 * k/2; wt [k][k][ci][co]. */
static void conv2d(const float *in, int h, int w, int ci, const float *wt,
                   const float *b, int k, int co, float *out)
{
    int pad = k / 2;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *o = out + ((size_t)y * w + x) * co;
            memcpy(o, b, (size_t)co * sizeof(float));
            for (int ky = 0; ky < k; ky++) {
                int yy = y + ky - pad;
                if (yy < 0 || yy >= h)
                    continue;
                for (int kx = 0; kx < k; kx++) {
                    int xx = x + kx - pad;
                    if (xx < 0 || xx >= w)
                        continue;
                    const float *v = in + ((size_t)yy * w + xx) * ci;
                    const float *wk = wt + (size_t)(ky * k + kx) * ci * co;
                    for (int i = 0; i < ci; i++)
                        if (v[i] != 0.0f)
                            axpy(o, wk + (size_t)i * co, v[i], co);
                }
            }
        }
}

/* out (2h, 2w, co) = b + convT(in (h, w, ci)), kernel 4, stride 2, padding
 * 1: out[2y + ky − 1][2x + kx − 1] += in[y][x] · W[ky][kx]; wt
 * [4][4][ci][co]. */
static void conv_transpose(const float *in, int h, int w, int ci,
                           const float *wt, const float *b, int co, float *out)
{
    int oh = 2 * h, ow = 2 * w;
    for (int p = 0; p < oh * ow; p++)
        memcpy(out + (size_t)p * co, b, (size_t)co * sizeof(float));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const float *v = in + ((size_t)y * w + x) * ci;
            for (int ky = 0; ky < VAE_UP_K; ky++) {
                int oy = 2 * y + ky - 1;
                if (oy < 0 || oy >= oh)
                    continue;
                for (int kx = 0; kx < VAE_UP_K; kx++) {
                    int ox = 2 * x + kx - 1;
                    if (ox < 0 || ox >= ow)
                        continue;
                    float *o = out + ((size_t)oy * ow + ox) * co;
                    const float *wk =
                        wt + (size_t)(ky * VAE_UP_K + kx) * ci * co;
                    for (int i = 0; i < ci; i++)
                        if (v[i] != 0.0f)
                            axpy(o, wk + (size_t)i * co, v[i], co);
                }
            }
        }
}

/* Largest activation: 64×64×16 = 65,536 floats (the others, 4×4×512 up to
 * 32×32×32, are smaller). */
#define VAE_ACT_MAX (PALI_MASK_SIZE * PALI_MASK_SIZE * VAE_OUT_DIM)
#define VAE_SMALL   (VAE_GRID * VAE_GRID * VAE_DIM)

pali_status pali_vae_decode_trace(const pali_vae *vae,
                                  const int codes[PALI_MASK_CODES],
                                  float raw[PALI_MASK_SIZE * PALI_MASK_SIZE],
                                  pali_vae_trace_fn trace, void *user_data,
                                  pali_error *err)
{
    if (vae == NULL || codes == NULL || raw == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_vae_decode: NULL argument");
    for (int i = 0; i < PALI_MASK_CODES; i++)
        if (codes[i] < 0 || codes[i] >= PALI_VAE_CODEBOOK)
            return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                             "mask code %d (index %d) is outside 0..%d",
                             codes[i], i, PALI_VAE_CODEBOOK - 1);
    /* Ping-pong buffers a, b (VAE_ACT_MAX each) and three 4×4×128 ones for
     * the ResBlocks; 0.6 MB, allocated per mask (not a per-token path), so
     * decoding needs no state and any thread may decode. */
    float *work = malloc((2 * VAE_ACT_MAX + 3 * VAE_SMALL) * sizeof(float));
    if (work == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "mask decoder: out of memory");
    float *a = work, *b = work + VAE_ACT_MAX;
    float *r0 = b + VAE_ACT_MAX, *r1 = r0 + VAE_SMALL, *r2 = r1 + VAE_SMALL;
    const int g = VAE_GRID;

    // z[r][q] = E[codes[4r + q]]  (4, 4, 512)
    for (int i = 0; i < PALI_MASK_CODES; i++)
        memcpy(a + (size_t)i * VAE_EMBED_DIM,
               vae->w[S_EMBED] + (size_t)codes[i] * VAE_EMBED_DIM,
               VAE_EMBED_DIM * sizeof(float));
    if (trace)
        trace(PALI_VAE_EMBED, a, g, g, VAE_EMBED_DIM, user_data);

    // x = relu(conv1x1(z))  (4, 4, 128)
    conv2d(a, g, g, VAE_EMBED_DIM, vae->w[S_CONV0_W], vae->w[S_CONV0_B], 1,
           VAE_DIM, r0);
    relu(r0, VAE_SMALL);
    if (trace)
        trace(PALI_VAE_CONV0_RELU, r0, g, g, VAE_DIM, user_data);

    // x = x + conv1x1(relu(conv3x3(relu(conv3x3(x)))))  twice
    for (int blk = 0; blk < 2; blk++) {
        const float *const *w = &vae->w[S_RES_W + 6 * blk];
        conv2d(r0, g, g, VAE_DIM, w[0], w[1], VAE_RES_K, VAE_DIM, r1);
        relu(r1, VAE_SMALL);
        conv2d(r1, g, g, VAE_DIM, w[2], w[3], VAE_RES_K, VAE_DIM, r2);
        relu(r2, VAE_SMALL);
        conv2d(r2, g, g, VAE_DIM, w[4], w[5], 1, VAE_DIM, r1);
        for (int i = 0; i < VAE_SMALL; i++)
            r0[i] += r1[i];
        if (trace)
            trace(blk == 0 ? PALI_VAE_RESBLOCK_0 : PALI_VAE_RESBLOCK_1, r0, g,
                  g, VAE_DIM, user_data);
    }

    // x = relu(convT(x))  4→8→16→32→64
    const float *x = r0;
    int h = g;
    for (int l = 0; l < VAE_UP_LAYERS; l++) {
        float *y = l % 2 == 0 ? a : b;
        conv_transpose(x, h, h, up_in[l], vae->w[S_UP_W + 2 * l],
                       vae->w[S_UP_W + 2 * l + 1], up_out[l], y);
        h *= 2;
        relu(y, (size_t)h * h * up_out[l]);
        if (trace)
            trace((pali_vae_layer)(PALI_VAE_CONVT0_RELU + l), y, h, h,
                  up_out[l], user_data);
        x = y;
    }

    // raw = conv1x1(x)  (64, 64, 1)
    const float *wo = vae->w[S_OUT_W];
    float bo = vae->w[S_OUT_B][0];
    for (int p = 0; p < PALI_MASK_SIZE * PALI_MASK_SIZE; p++) {
        const float *v = x + (size_t)p * VAE_OUT_DIM;
        float s = bo;
        for (int i = 0; i < VAE_OUT_DIM; i++)
            s += v[i] * wo[i];
        raw[p] = s;
    }
    if (trace)
        trace(PALI_VAE_OUT, raw, PALI_MASK_SIZE, PALI_MASK_SIZE, 1, user_data);
    free(work);
    return PALI_OK;
}

pali_status pali_vae_decode(const pali_vae *vae,
                            const int codes[PALI_MASK_CODES],
                            float raw[PALI_MASK_SIZE * PALI_MASK_SIZE],
                            pali_error *err)
{
    return pali_vae_decode_trace(vae, codes, raw, NULL, NULL, err);
}

void pali_vae_mask_to_u8(const float *raw, uint8_t *u8, int n)
{
    for (int i = 0; i < n; i++) {
        /* numpy: float32 ops one at a time, then clip, then ·255, astype */
        float p = raw[i] * 0.5f;
        p = p + 0.5f;
        if (!(p > 0.0f))
            p = 0.0f; /* also NaN */
        if (p > 1.0f)
            p = 1.0f;
        float q = p * 255.0f;
        u8[i] = (uint8_t)q;
    }
}

void pali_mask_raw_to_u8(const float raw[PALI_MASK_SIZE * PALI_MASK_SIZE],
                         uint8_t u8[PALI_MASK_SIZE * PALI_MASK_SIZE])
{
    pali_vae_mask_to_u8(raw, u8, PALI_MASK_SIZE * PALI_MASK_SIZE);
}

/* ---- finding the file -----------------------------------------------------
 */

#define VAE_FILE_NAME "vae-oid.npz"

static bool is_regular_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static pali_status try_candidate(const char *dir, const char *sub, char *buf,
                                 size_t size, bool *found, pali_error *err)
{
    int n = snprintf(buf, size, "%s%s%s/%s", dir, sub[0] ? "/" : "", sub,
                     VAE_FILE_NAME);
    if (n < 0 || (size_t)n >= size)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_vae_find: a buffer of %zu bytes is too small "
                         "for %s/%s",
                         size, dir, VAE_FILE_NAME);
    *found = is_regular_file(buf);
    return PALI_OK;
}

pali_status pali_vae_find(const char *model_dir, char *buf, size_t size,
                          pali_error *err)
{
    if (buf == NULL || size == 0)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_vae_find: no buffer");
    buf[0] = 0;
    bool found = false;
    pali_status st;
    if (model_dir != NULL && model_dir[0]) {
        st = try_candidate(model_dir, "", buf, size, &found, err);
        if (st != PALI_OK || found)
            return st;
    }
    /* XDG base directories: $XDG_DATA_HOME if set and absolute, else
     * ~/.local/share. */
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/') {
        st = try_candidate(xdg, "palilens", buf, size, &found, err);
    } else if (home != NULL && home[0]) {
        st = try_candidate(home, ".local/share/palilens", buf, size, &found,
                           err);
    } else {
        buf[0] = 0;
        return pali_fail(err, PALI_ERR_NOT_FOUND,
                         "no %s beside the model and no home directory",
                         VAE_FILE_NAME);
    }
    if (st != PALI_OK || found)
        return st;
    char user_path[PALI_ERROR_MESSAGE_MAX / 2];
    snprintf(user_path, sizeof(user_path), "%s", buf);
    buf[0] = 0;
    if (model_dir != NULL && model_dir[0])
        return pali_fail(err, PALI_ERR_NOT_FOUND,
                         "no mask decoder: neither %s/%s nor %s exists",
                         model_dir, VAE_FILE_NAME, user_path);
    return pali_fail(err, PALI_ERR_NOT_FOUND,
                     "no mask decoder: %s does not "
                     "exist",
                     user_path);
}
