/* quant.c — the q8 and q4 block formats (quant.h): quantizing a row and
 * reading any weight tensor as f32, the reference dequantization that
 * every kernel is checked against.
 *
 * Scales are binary16 (ggml's Q8_0/Q4_0 choice: 0.5 bit per weight, and
 * 11 significant bits against bf16's 8).  The codes are computed from the
 * rounded scale, so d·q is as close to w as the stored d allows. */
#include "quant.h"

#include <math.h>
#include <string.h>

/* The largest q8 code: symmetric, so −128 is never used. */
#define Q8_MAX 127
/* The q4 code the block's largest-magnitude weight maps to (−8 + zero). */
#define Q4_EXTREME (-8)
/* The largest finite binary16 value: scales beyond it would be infinite. */
#define F16_MAX 65504.0f

bool pali_quant_fits(const pali_tensor *t)
{
    return t->n_dims >= 2 && pali_tensor_cols(t) > 0 &&
           pali_tensor_cols(t) % PALI_QUANT_BLOCK == 0;
}

/* d rounded to binary16 (clamped to its range; NaN gives 0), and 1/d
 * (0 for d = 0) for coding. */
static uint16_t scale_of(float d, float *inv)
{
    if (!(fabsf(d) <= F16_MAX)) /* also NaN: a broken row codes as zero */
        d = isnan(d) ? 0.0f : copysignf(F16_MAX, d);
    uint16_t h = pali_f32_to_f16(d);
    float r = pali_f16_to_f32(h);
    *inv = r != 0.0f ? 1.0f / r : 0.0f;
    return h;
}

static void quantize_block_q8(const float *w, uint8_t *codes, uint16_t *scale)
{
    float amax = 0;
    for (int i = 0; i < PALI_QUANT_BLOCK; i++)
        if (fabsf(w[i]) > amax)
            amax = fabsf(w[i]);
    float inv;
    *scale = scale_of(amax / Q8_MAX, &inv);
    for (int i = 0; i < PALI_QUANT_BLOCK; i++) {
        float q = rintf(w[i] * inv);
        q = q > Q8_MAX ? Q8_MAX : q < -Q8_MAX ? -Q8_MAX : q;
        codes[i] = (uint8_t)(int8_t)q;
    }
}

static void quantize_block_q4(const float *w, uint8_t *codes, uint16_t *scale)
{
    float extreme = 0;
    for (int i = 0; i < PALI_QUANT_BLOCK; i++)
        if (fabsf(w[i]) > fabsf(extreme))
            extreme = w[i];
    float inv;
    *scale = scale_of(extreme / Q4_EXTREME, &inv);
    const int half = PALI_QUANT_BLOCK / 2;
    for (int i = 0; i < half; i++) {
        int q[2];
        for (int j = 0; j < 2; j++) {
            float v = rintf(w[i + j * half] * inv) + PALI_Q4_ZERO;
            q[j] = v < 0 ? 0 : v > 15 ? 15 : (int)v;
        }
        codes[i] = (uint8_t)(q[0] | (q[1] << 4));
    }
}

void pali_quantize_row(pali_dtype fmt, const float *w, int64_t cols,
                       uint8_t *codes, uint16_t *scales)
{
    const int64_t blocks = cols / PALI_QUANT_BLOCK;
    const int64_t block_bytes =
        pali_quant_row_bytes(fmt, PALI_QUANT_BLOCK); // 32 or 16
    for (int64_t b = 0; b < blocks; b++) {
        const float *src = w + b * PALI_QUANT_BLOCK;
        uint8_t *dst = codes + b * block_bytes;
        if (fmt == PALI_DTYPE_Q8)
            quantize_block_q8(src, dst, &scales[b]);
        else
            quantize_block_q4(src, dst, &scales[b]);
    }
}

/* Weight c of a quantized row, exactly d·q. */
static float dequant_at(pali_dtype fmt, const uint8_t *codes,
                        const uint16_t *scales, int64_t c)
{
    const float d = pali_f16_to_f32(scales[c / PALI_QUANT_BLOCK]);
    if (fmt == PALI_DTYPE_Q8)
        return d * (float)(int8_t)codes[c];
    const int64_t in_block = c % PALI_QUANT_BLOCK, half = PALI_QUANT_BLOCK / 2;
    const uint8_t byte = codes[(c / PALI_QUANT_BLOCK) * half + in_block % half];
    const int q = in_block < half ? (byte & 0xf) : (byte >> 4);
    return d * (float)(q - PALI_Q4_ZERO);
}

void pali_weights_read_f32(const pali_tensor *t, int64_t start, int64_t n,
                           float *out)
{
    if (!pali_dtype_is_quant(t->dtype)) {
        pali_tensor_read_f32(t, start, n, out);
        return;
    }
    const int64_t cols = pali_tensor_cols(t);
    for (int64_t i = 0; i < n;) {
        const int64_t row = (start + i) / cols, c0 = (start + i) % cols;
        const uint8_t *codes = pali_quant_codes(t, row);
        const uint16_t *scales = pali_quant_scales(t, row);
        for (int64_t c = c0; c < cols && i < n; c++, i++)
            out[i] = dequant_at(t->dtype, codes, scales, c);
    }
}
