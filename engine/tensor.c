/* tensor.c — number formats of weight tensors (tensor.h): dtype names,
 * IEEE 754 binary16 ↔ binary32 conversion, and reading any float tensor
 * as f32.
 *
 * f16 follows IEEE 754 (and torch's Half): subnormals kept, overflow to
 * infinity, round to nearest even, NaN stays NaN (quieted).  bf16 is the
 * upper half of an f32 (tensor.h's inline helpers, as torch's BFloat16). */
#include "tensor.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
#define F16_EXP_MASK  0x7c00u
#define F16_MANT_MASK 0x03ffu
#define F16_EXP_BIAS  15
/* binary32: 1 sign, 8 exponent (bias 127), 23 mantissa bits. */
#define F32_EXP_BIAS 127

const char *pali_dtype_name(pali_dtype dtype)
{
    switch (dtype) {
    case PALI_DTYPE_F32: return "f32";
    case PALI_DTYPE_BF16: return "bf16";
    case PALI_DTYPE_F16: return "f16";
    case PALI_DTYPE_Q8: return "q8";
    case PALI_DTYPE_Q4: return "q4";
    }
    return "unknown";
}

static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static uint32_t f32_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

float pali_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h & F16_EXP_MASK) >> 10;
    uint32_t mant = h & F16_MANT_MASK;
    if (exp == 0x1f) /* infinity or NaN: keep the payload */
        return f32_from_bits(sign | 0x7f800000u | (mant << 13));
    if (exp != 0) /* normal */
        return f32_from_bits(
            sign | ((exp - F16_EXP_BIAS + F32_EXP_BIAS) << 23) | (mant << 13));
    if (mant == 0)
        return f32_from_bits(sign);
    /* subnormal: mant · 2^-24, exact in f32 */
    float v = (float)mant * 0x1p-24f;
    return sign ? -v : v;
}

uint16_t pali_f32_to_f16(float f)
{
    uint32_t u = f32_to_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) /* NaN: quiet, keep the top payload bits */
        return (uint16_t)(sign | 0x7e00u | ((abs >> 13) & F16_MANT_MASK));
    if (abs >= 0x477ff000u) /* rounds to ≥ 65520: infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (abs < 0x38800000u) {
        /* below 2^-14: subnormal or zero.  The value in units of 2^-24,
         * rounded to nearest even; 0x1p-25 and less round to zero. */
        if (abs < 0x33000000u)
            return sign;
        uint32_t exp = abs >> 23;
        uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
        /* value = mant · 2^(exp − 150), i.e. mant >> (126 − exp) units of
         * 2^-24; the shift is 14..24 here */
        uint32_t shift = 126 - exp;
        uint32_t q = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    /* normal: rebias, round the 13 dropped bits to nearest even (a carry
     * into the exponent is the correct result) */
    uint32_t r = abs - ((uint32_t)(F32_EXP_BIAS - F16_EXP_BIAS) << 23);
    r += 0x0fffu + ((r >> 13) & 1u);
    return (uint16_t)(sign | (r >> 13));
}

void pali_tensor_read_f32(const pali_tensor *t, int64_t start, int64_t n,
                          float *out)
{
    switch (t->dtype) {
    case PALI_DTYPE_F32: {
        memcpy(out, (const float *)t->data + start, (size_t)n * sizeof(float));
        return;
    }
    case PALI_DTYPE_BF16: {
        const uint16_t *src = (const uint16_t *)t->data + start;
        for (int64_t i = 0; i < n; i++)
            out[i] = pali_bf16_to_f32(src[i]);
        return;
    }
    case PALI_DTYPE_F16: {
        const uint16_t *src = (const uint16_t *)t->data + start;
        for (int64_t i = 0; i < n; i++)
            out[i] = pali_f16_to_f32(src[i]);
        return;
    }
    case PALI_DTYPE_Q8:
    case PALI_DTYPE_Q4: break;
    }
    /* Block-quantized rows are decoded by the quantizer's own reader
     * (quant.h); a quantized tensor reaching this function is a caller
     * bug, made loud rather than silently zero. */
    for (int64_t i = 0; i < n; i++)
        out[i] = NAN;
}
