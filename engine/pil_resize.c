/* pil_resize.c — Pillow 9.4's resampling (src/libImaging/Resample.c) for
 * one-channel images, computing only a window of the output (pil_resize.h).
 *
 * Per axis (precompute_coeffs): scale = in/out, filterscale = max(scale, 1),
 * support = filter support · filterscale; for output index xx the input
 * taps are [xmin, xmin + xmax) with center = (xx + 0.5)·scale,
 * xmin = (int)(center − support + 0.5) clamped at 0, xmax = (int)(center +
 * support + 0.5) clamped at in, minus xmin; weight k[x] = filter((x + xmin −
 * center + 0.5) · (1/filterscale)), normalised by their sum.  8-bit images
 * turn the weights into 22-bit fixed point (sign-aware rounding), start the
 * accumulator at 2^21 and clip acc >> 22 to 0..255; the horizontal pass
 * writes an 8-bit intermediate.  Float images accumulate in double and
 * store float after each pass.  The horizontal pass runs only when the
 * width changes, the vertical one only when the height does. */
#include "pil_resize.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Pillow's fixed-point precision for 8-bit images: 32 − 8 − 2 bits, so a
 * sum of 8-bit values times weights never overflows an int32. */
#define PIL_PRECISION_BITS 22
/* Cubic convolution parameter (Keys, a = −0.5), as Pillow uses. */
#define PIL_BICUBIC_A        (-0.5)
#define PIL_BICUBIC_SUPPORT  2.0
#define PIL_BILINEAR_SUPPORT 1.0

static double bicubic_filter(double x)
{
    const double a = PIL_BICUBIC_A;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double bilinear_filter(double x)
{
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return 1.0 - x;
    return 0.0;
}

/* Taps of n consecutive output indices starting at `first`. */
typedef struct {
    int ksize;    /* coefficients per output index */
    int *bounds;  /* (n, 2): xmin, count */
    double *kk;   /* (n, ksize) normalised weights */
    int32_t *kfp; /* (n, ksize) fixed-point weights (8-bit path only) */
} axis_coeffs;

static void axis_free(axis_coeffs *a)
{
    free(a->bounds);
    free(a->kk);
    free(a->kfp);
    memset(a, 0, sizeof(*a));
}

static bool axis_precompute(int in_size, int out_size, int first, int n,
                            pali_pil_filter filter, bool fixed_point,
                            axis_coeffs *a)
{
    memset(a, 0, sizeof(*a));
    double (*fn)(double) =
        filter == PALI_PIL_BICUBIC ? bicubic_filter : bilinear_filter;
    double base =
        filter == PALI_PIL_BICUBIC ? PIL_BICUBIC_SUPPORT : PIL_BILINEAR_SUPPORT;
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = base * filterscale;
    a->ksize = (int)ceil(support) * 2 + 1;
    size_t nk = (size_t)n * (size_t)a->ksize;
    a->bounds = pali_malloc_array((size_t)n * 2, sizeof(int));
    a->kk = pali_malloc_array(nk, sizeof(double));
    if (fixed_point)
        a->kfp = pali_malloc_array(nk, sizeof(int32_t));
    if (a->bounds == NULL || a->kk == NULL || (fixed_point && !a->kfp)) {
        axis_free(a);
        return false;
    }
    double ss = 1.0 / filterscale;
    for (int i = 0; i < n; i++) {
        int xx = first + i;
        double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        double *k = &a->kk[(size_t)i * a->ksize];
        double ww = 0.0;
        int x = 0;
        for (; x < xmax; x++) {
            double w = fn((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0)
                k[x] /= ww;
        for (; x < a->ksize; x++)
            k[x] = 0;
        a->bounds[2 * i] = xmin;
        a->bounds[2 * i + 1] = xmax;
        if (fixed_point) {
            int32_t *kf = &a->kfp[(size_t)i * a->ksize];
            for (x = 0; x < a->ksize; x++)
                kf[x] = k[x] < 0
                            ? (int32_t)(-0.5 + k[x] * (1 << PIL_PRECISION_BITS))
                            : (int32_t)(0.5 + k[x] * (1 << PIL_PRECISION_BITS));
        }
    }
    return true;
}

static uint8_t clip8(int64_t acc)
{
    if (acc < 0)
        return 0;
    acc >>= PIL_PRECISION_BITS;
    return acc > 255 ? 255 : (uint8_t)acc;
}

static pali_status check_args(const void *src, int sw, int sh, int dw, int dh,
                              int x0, int y0, int w, int h, const void *dst,
                              pali_error *err)
{
    if (src == NULL || dst == NULL || sw < 1 || sh < 1 || dw < 1 || dh < 1 ||
        w < 0 || h < 0 || x0 < 0 || y0 < 0 || x0 > dw - w || y0 > dh - h)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "resize: bad sizes (%dx%d to %dx%d, window %dx%d at "
                         "%d,%d)",
                         sw, sh, dw, dh, w, h, x0, y0);
    return PALI_OK;
}

/* The input rows the vertical pass reads: [*r0, *r1). */
static void rows_needed(const axis_coeffs *v, int h, int *r0, int *r1)
{
    *r0 = v->bounds[0];
    *r1 = v->bounds[0] + v->bounds[1];
    for (int i = 1; i < h; i++) {
        int a = v->bounds[2 * i], b = a + v->bounds[2 * i + 1];
        if (a < *r0)
            *r0 = a;
        if (b > *r1)
            *r1 = b;
    }
}

pali_status pali_pil_resize_u8(const uint8_t *src, int sw, int sh, int dw,
                               int dh, int x0, int y0, int w, int h,
                               pali_pil_filter filter, uint8_t *dst,
                               pali_error *err)
{
    pali_status st = check_args(src, sw, sh, dw, dh, x0, y0, w, h, dst, err);
    if (st != PALI_OK || w == 0 || h == 0)
        return st;
    bool need_h = dw != sw, need_v = dh != sh;
    axis_coeffs hc = { 0 }, vc = { 0 };
    if ((need_h && !axis_precompute(sw, dw, x0, w, filter, true, &hc)) ||
        (need_v && !axis_precompute(sh, dh, y0, h, filter, true, &vc))) {
        axis_free(&hc);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "resize: out of memory");
    }
    int r0 = y0, r1 = y0 + h;
    if (need_v)
        rows_needed(&vc, h, &r0, &r1);
    /* (r1 − r0, w): the horizontally resized rows, 8-bit as in Pillow. */
    uint8_t *tmp = pali_malloc_array((size_t)(r1 - r0), (size_t)w);
    if (tmp == NULL) {
        axis_free(&hc);
        axis_free(&vc);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "resize: out of memory");
    }
    const int64_t half = (int64_t)1 << (PIL_PRECISION_BITS - 1);
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = src + (size_t)r * sw;
        uint8_t *out = tmp + (size_t)(r - r0) * w;
        if (!need_h) {
            memcpy(out, row + x0, (size_t)w);
            continue;
        }
        for (int j = 0; j < w; j++) {
            int xmin = hc.bounds[2 * j], n = hc.bounds[2 * j + 1];
            const int32_t *k = &hc.kfp[(size_t)j * hc.ksize];
            int64_t acc = half;
            for (int x = 0; x < n; x++)
                acc += (int64_t)row[xmin + x] * k[x];
            out[j] = clip8(acc);
        }
    }
    for (int i = 0; i < h; i++) {
        uint8_t *out = dst + (size_t)i * w;
        if (!need_v) {
            memcpy(out, tmp + (size_t)(y0 + i - r0) * w, (size_t)w);
            continue;
        }
        int ymin = vc.bounds[2 * i], n = vc.bounds[2 * i + 1];
        const int32_t *k = &vc.kfp[(size_t)i * vc.ksize];
        for (int j = 0; j < w; j++) {
            int64_t acc = half;
            for (int y = 0; y < n; y++)
                acc += (int64_t)tmp[(size_t)(ymin + y - r0) * w + j] * k[y];
            out[j] = clip8(acc);
        }
    }
    free(tmp);
    axis_free(&hc);
    axis_free(&vc);
    return PALI_OK;
}

pali_status pali_pil_resize_f32(const float *src, int sw, int sh, int dw,
                                int dh, int x0, int y0, int w, int h,
                                pali_pil_filter filter, float *dst,
                                pali_error *err)
{
    pali_status st = check_args(src, sw, sh, dw, dh, x0, y0, w, h, dst, err);
    if (st != PALI_OK || w == 0 || h == 0)
        return st;
    bool need_h = dw != sw, need_v = dh != sh;
    axis_coeffs hc = { 0 }, vc = { 0 };
    if ((need_h && !axis_precompute(sw, dw, x0, w, filter, false, &hc)) ||
        (need_v && !axis_precompute(sh, dh, y0, h, filter, false, &vc))) {
        axis_free(&hc);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "resize: out of memory");
    }
    int r0 = y0, r1 = y0 + h;
    if (need_v)
        rows_needed(&vc, h, &r0, &r1);
    /* (r1 − r0, w): the horizontally resized rows, float as in Pillow. */
    float *tmp =
        pali_malloc_array((size_t)(r1 - r0) * (size_t)w, sizeof(float));
    if (tmp == NULL) {
        axis_free(&hc);
        axis_free(&vc);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "resize: out of memory");
    }
    for (int r = r0; r < r1; r++) {
        const float *row = src + (size_t)r * sw;
        float *out = tmp + (size_t)(r - r0) * w;
        if (!need_h) {
            memcpy(out, row + x0, (size_t)w * sizeof(float));
            continue;
        }
        for (int j = 0; j < w; j++) {
            int xmin = hc.bounds[2 * j], n = hc.bounds[2 * j + 1];
            const double *k = &hc.kk[(size_t)j * hc.ksize];
            double acc = 0.0;
            for (int x = 0; x < n; x++)
                acc += row[xmin + x] * k[x];
            out[j] = (float)acc;
        }
    }
    for (int i = 0; i < h; i++) {
        float *out = dst + (size_t)i * w;
        if (!need_v) {
            memcpy(out, tmp + (size_t)(y0 + i - r0) * w,
                   (size_t)w * sizeof(float));
            continue;
        }
        int ymin = vc.bounds[2 * i], n = vc.bounds[2 * i + 1];
        const double *k = &vc.kk[(size_t)i * vc.ksize];
        for (int j = 0; j < w; j++) {
            double acc = 0.0;
            for (int y = 0; y < n; y++)
                acc += tmp[(size_t)(ymin + y - r0) * w + j] * k[y];
            out[j] = (float)acc;
        }
    }
    free(tmp);
    axis_free(&hc);
    axis_free(&vc);
    return PALI_OK;
}
