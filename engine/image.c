/* image.c — the reference processor's resize and normalisation, bit-exact:
 * torch's anti-aliased uint8 resampling (UpSampleKernel.cpp,
 * `_upsample_bicubic2d_aa` / `_upsample_bilinear2d_aa` on uint8, which is
 * what torchvision's resize(antialias=True) runs on a uint8 tensor) and
 * transformers 5's fused rescale + normalize in float32.  See image.h for
 * the arithmetic; the comments below name the torch function each step
 * mirrors. */
#include "image.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Keys' cubic convolution parameter.  torch uses a = −0.5 for the
 * anti-aliased bicubic (Pillow compatibility) and −0.75 only without
 * antialiasing, which the processor never asks for. */
#define KEYS_A (-0.5)

/* The filters' half-widths at scale 1, in input pixels (torch's
 * interp_size / 2: 4 taps for cubic, 2 for linear). */
#define CUBIC_SUPPORT  2.0
#define LINEAR_SUPPORT 1.0

/* Fixed-point weights are int16 (torch stores them so for its AVX2
 * madd_epi16 kernel); the precision search stops at 22 fractional bits. */
#define WEIGHT_LIMIT         (1 << 15)
#define WEIGHT_PRECISION_MAX 22

/* One resampled axis: for each output index, the first input index, the
 * number of taps and where its fixed-point weights start. */
typedef struct resample_axis {
    int in_size, out_size;
    int *first;      /* (out_size) first input index of each output */
    int *taps;       /* (out_size) number of input samples it reads */
    size_t *offset;  /* (out_size) index of its first weight in `weight` */
    int16_t *weight; /* (Σ taps) fixed point, `precision` fractional bits */
    int precision;
} resample_axis;

/* torch HelperInterpCubic::aa_filter<double, true> (cubic_convolution1/2 in
 * UpSample.h, same operation order). */
static double filter_cubic(double x)
{
    const double a = KEYS_A;
    x = fabs(x);
    if (x < 1.0)
        return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2.0)
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0;
}

/* torch HelperInterpLinear::aa_filter<double>. */
static double filter_linear(double x)
{
    x = fabs(x);
    if (x < 1.0)
        return 1.0 - x;
    return 0.0;
}

static void axis_clear(resample_axis *axis)
{
    free(axis->first);
    free(axis->taps);
    free(axis->offset);
    free(axis->weight);
    memset(axis, 0, sizeof(*axis));
}

/* The float64 weights of output `i`, as
 * HelperInterpBase::_compute_indices_min_size_weights_aa: written to
 * `w` (max_taps), returns the tap count and sets *first; *normalized is
 * false when the weights summed to 0 and were left as they are (torch then
 * leaves them out of the largest weight). */
static int axis_weights_f64(double (*filter)(double), double scale,
                            double support, int max_taps, int in_size, int i,
                            double *w, int *first, bool *normalized)
{
    double center = scale * (i + 0.5);
    double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    int64_t xmin = (int64_t)(center - support + 0.5);
    int64_t xmax = (int64_t)(center + support + 0.5);
    if (xmin < 0)
        xmin = 0;
    if (xmax > in_size)
        xmax = in_size;
    int64_t n = xmax - xmin;
    /* torch clips the rare count that rounding pushes one past the table */
    if (n < 0)
        n = 0;
    if (n > max_taps)
        n = max_taps;

    double total = 0.0;
    for (int64_t j = 0; j < n; j++) {
        w[j] = filter(((double)(j + xmin) - center + 0.5) * invscale);
        total += w[j];
    }
    *normalized = total != 0.0;
    if (*normalized)
        for (int64_t j = 0; j < n; j++)
            w[j] /= total;
    *first = (int)xmin;
    return (int)n;
}

/* HelperInterpBase::_compute_index_ranges_int16_weights: the taps and
 * weights of every output, then one fixed-point precision for the axis. */
static pali_status axis_init(resample_axis *axis, pali_resample filter,
                             int in_size, int out_size, pali_error *err)
{
    memset(axis, 0, sizeof(*axis));
    axis->in_size = in_size;
    axis->out_size = out_size;

    double (*fn)(double) =
        filter == PALI_RESAMPLE_BICUBIC ? filter_cubic : filter_linear;
    double base =
        filter == PALI_RESAMPLE_BICUBIC ? CUBIC_SUPPORT : LINEAR_SUPPORT;
    /* area_pixel_compute_scale(align_corners=false, no scale factor) */
    double scale = (double)in_size / out_size;
    double support = scale >= 1.0 ? base * scale : base;
    double max_taps_f = ceil(support) * 2 + 1;
    if (max_taps_f > (double)in_size + 2)
        max_taps_f = (double)in_size + 2; /* never more than the input */
    int max_taps = (int)max_taps_f;

    double *w = pali_malloc_array((size_t)max_taps, sizeof(double));
    axis->first = pali_malloc_array((size_t)out_size, sizeof(int));
    axis->taps = pali_malloc_array((size_t)out_size, sizeof(int));
    axis->offset = pali_malloc_array((size_t)out_size, sizeof(size_t));
    if (w == NULL || axis->first == NULL || axis->taps == NULL ||
        axis->offset == NULL)
        goto oom;

    /* First sweep: tap ranges, table size and the largest weight. */
    double w_max = 0.0;
    size_t total_taps = 0;
    for (int i = 0; i < out_size; i++) {
        bool normalized;
        int n = axis_weights_f64(fn, scale, support, max_taps, in_size, i, w,
                                 &axis->first[i], &normalized);
        axis->taps[i] = n;
        axis->offset[i] = total_taps;
        total_taps += (size_t)n;
        for (int j = 0; normalized && j < n; j++)
            if (w[j] > w_max)
                w_max = w[j];
    }

    /* The largest p with round(w_max · 2^(p+1)) < 2^15 (capped at 22). */
    int p = 0;
    for (p = 0; p < WEIGHT_PRECISION_MAX; p++) {
        int next = (int)(0.5 + w_max * (double)(1 << (p + 1)));
        if (next >= WEIGHT_LIMIT)
            break;
    }
    /* torch asserts p > 0; only absurd weights (a sum near zero) get here */
    if (p == 0) {
        free(w);
        axis_clear(axis);
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "resize: degenerate weights for %d → %d", in_size,
                         out_size);
    }
    axis->precision = p;

    /* Second sweep (the same arithmetic, so the same doubles): round each
     * weight half away from zero into the table. */
    axis->weight = pali_malloc_array(total_taps, sizeof(int16_t));
    if (axis->weight == NULL)
        goto oom;
    for (int i = 0; i < out_size; i++) {
        int first;
        bool normalized;
        int n = axis_weights_f64(fn, scale, support, max_taps, in_size, i, w,
                                 &first, &normalized);
        int16_t *dst = axis->weight + axis->offset[i];
        for (int j = 0; j < n; j++) {
            double v = w[j] * (double)(1 << p);
            dst[j] = (int16_t)(v < 0 ? (int)(-0.5 + v) : (int)(0.5 + v));
        }
    }
    free(w);
    return PALI_OK;

oom:
    free(w);
    axis_clear(axis);
    return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                     "resize: out of memory for the %d → %d weight table",
                     in_size, out_size);
}

/* (acc >> p) clamped to 0..255, with acc already holding the 2^(p−1)
 * rounding term; a negative sum clamps to 0 without shifting it. */
static inline uint8_t fixed_to_u8(int64_t acc, int precision)
{
    if (acc < 0)
        return 0;
    acc >>= precision;
    return acc > 255 ? 255 : (uint8_t)acc;
}

/* basic_loop_aa_horizontal<uint8_t>: resamples `rows` rows along x.
 * src rows: `src_stride` bytes, pixels `src_bpp` bytes apart;
 * dst rows: out_size · channels bytes, packed. */
static void resample_horizontal(const resample_axis *ax, const uint8_t *src,
                                size_t src_stride, int src_bpp, int channels,
                                int rows, uint8_t *dst)
{
    const int64_t round = (int64_t)1 << (ax->precision - 1);
    const size_t dst_row = (size_t)ax->out_size * (size_t)channels;
    for (int y = 0; y < rows; y++) {
        const uint8_t *in = src + (size_t)y * src_stride;
        uint8_t *out = dst + (size_t)y * dst_row;
        for (int x = 0; x < ax->out_size; x++) {
            const int16_t *w = ax->weight + ax->offset[x];
            const uint8_t *px = in + (size_t)ax->first[x] * (size_t)src_bpp;
            int n = ax->taps[x];
            if (channels == 3) {
                /* RGB: one pass over the taps for the three channels */
                int64_t r = round, g = round, b = round;
                for (int j = 0; j < n; j++, px += src_bpp) {
                    r += (int64_t)w[j] * px[0];
                    g += (int64_t)w[j] * px[1];
                    b += (int64_t)w[j] * px[2];
                }
                out[(size_t)x * 3 + 0] = fixed_to_u8(r, ax->precision);
                out[(size_t)x * 3 + 1] = fixed_to_u8(g, ax->precision);
                out[(size_t)x * 3 + 2] = fixed_to_u8(b, ax->precision);
                continue;
            }
            for (int c = 0; c < channels; c++) {
                int64_t acc = round;
                const uint8_t *p = px + c;
                for (int j = 0; j < n; j++, p += src_bpp)
                    acc += (int64_t)w[j] * *p;
                out[(size_t)x * (size_t)channels + (size_t)c] =
                    fixed_to_u8(acc, ax->precision);
            }
        }
    }
}

/* basic_loop_aa_vertical<uint8_t>: resamples along y.  src rows are
 * `src_stride` bytes apart and `row_bytes` of each are resampled (pixels
 * `src_bpp` bytes apart, the first `channels` kept); dst rows are packed.
 * `acc` is scratch of width · channels int64. */
static void resample_vertical(const resample_axis *ay, const uint8_t *src,
                              size_t src_stride, int width, int src_bpp,
                              int channels, uint8_t *dst, int64_t *acc)
{
    const int64_t round = (int64_t)1 << (ay->precision - 1);
    const size_t n_out = (size_t)width * (size_t)channels;
    for (int y = 0; y < ay->out_size; y++) {
        for (size_t i = 0; i < n_out; i++)
            acc[i] = round;
        const int16_t *w = ay->weight + ay->offset[y];
        for (int k = 0; k < ay->taps[y]; k++) {
            const uint8_t *row = src + (size_t)(ay->first[y] + k) * src_stride;
            const int64_t wk = w[k];
            if (src_bpp == channels) {
                for (size_t i = 0; i < n_out; i++)
                    acc[i] += wk * row[i];
            } else {
                for (int x = 0; x < width; x++)
                    for (int c = 0; c < channels; c++)
                        acc[(size_t)x * (size_t)channels + (size_t)c] +=
                            wk * row[(size_t)x * (size_t)src_bpp + (size_t)c];
            }
        }
        uint8_t *out = dst + (size_t)y * n_out;
        for (size_t i = 0; i < n_out; i++)
            out[i] = fixed_to_u8(acc[i], ay->precision);
    }
}

static pali_status check_size(const char *what, int width, int height,
                              pali_error *err)
{
    if (width < 1 || height < 1)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "%s size %d×%d: must be at least 1×1", what, width,
                         height);
    if ((long long)width * (long long)height > PALI_IMAGE_MAX_PIXELS)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "%s size %d×%d: more than %lld pixels", what, width,
                         height, (long long)PALI_IMAGE_MAX_PIXELS);
    return PALI_OK;
}

pali_status pali_resize_aa_u8(pali_resample filter, const uint8_t *src,
                              int width, int height, size_t stride, int src_bpp,
                              int channels, uint8_t *dst, int out_width,
                              int out_height, pali_error *err)
{
    if (filter != PALI_RESAMPLE_BICUBIC && filter != PALI_RESAMPLE_BILINEAR)
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "resize: resample filter %d is not supported "
                         "(2 = bilinear and 3 = bicubic are)",
                         (int)filter);
    if (src == NULL || dst == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT, "resize: no %s buffer",
                         src == NULL ? "input" : "output");
    if (channels < 1 || channels > 4 || src_bpp < channels)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "resize: %d channels in %d-byte pixels", channels,
                         src_bpp);
    pali_status st = check_size("resize: input", width, height, err);
    if (st == PALI_OK)
        st = check_size("resize: output", out_width, out_height, err);
    if (st != PALI_OK)
        return st;
    if (stride < (size_t)width * (size_t)src_bpp)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "resize: stride %zu is less than width %d × %d bytes",
                         stride, width, src_bpp);

    const bool need_h = out_width != width;
    const bool need_v = out_height != height;
    const size_t out_row = (size_t)out_width * (size_t)channels;

    /* separable_upsample_generic_Nd_kernel_impl: same size → copy. */
    if (!need_h && !need_v) {
        for (int y = 0; y < height; y++) {
            const uint8_t *in = src + (size_t)y * stride;
            uint8_t *out = dst + (size_t)y * out_row;
            if (src_bpp == channels)
                memcpy(out, in, out_row);
            else
                for (int x = 0; x < width; x++)
                    memcpy(out + (size_t)x * (size_t)channels,
                           in + (size_t)x * (size_t)src_bpp, (size_t)channels);
        }
        return PALI_OK;
    }

    resample_axis ax = { 0 }, ay = { 0 };
    uint8_t *tmp = NULL;
    int64_t *acc = NULL;
    if (need_h)
        st = axis_init(&ax, filter, width, out_width, err);
    if (st == PALI_OK && need_v)
        st = axis_init(&ay, filter, height, out_height, err);
    if (st != PALI_OK)
        goto done;

    /* Horizontal first, over every input row; then vertical. */
    const uint8_t *v_src = src;
    size_t v_stride = stride;
    int v_bpp = src_bpp;
    if (need_h) {
        uint8_t *h_dst = dst;
        if (need_v) {
            tmp = pali_malloc_array((size_t)height, out_row);
            if (tmp == NULL) {
                st = pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                               "resize: out of memory for a %d×%d buffer",
                               out_width, height);
                goto done;
            }
            h_dst = tmp;
        }
        resample_horizontal(&ax, src, stride, src_bpp, channels, height, h_dst);
        v_src = tmp;
        v_stride = out_row;
        v_bpp = channels;
    }
    if (need_v) {
        acc = pali_malloc_array(out_row, sizeof(int64_t));
        if (acc == NULL) {
            st = pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                           "resize: out of memory for a row of %d pixels",
                           out_width);
            goto done;
        }
        resample_vertical(&ay, v_src, v_stride, out_width, v_bpp, channels, dst,
                          acc);
    }

done:
    free(acc);
    free(tmp);
    axis_clear(&ax);
    axis_clear(&ay);
    return st;
}

pali_status pali_resize_bicubic_aa_u8(const uint8_t *src, int width, int height,
                                      size_t stride, int channels, uint8_t *dst,
                                      int out_width, int out_height,
                                      pali_error *err)
{
    return pali_resize_aa_u8(PALI_RESAMPLE_BICUBIC, src, width, height, stride,
                             channels, channels, dst, out_width, out_height,
                             err);
}

static int pixel_bytes(pali_pixel_format format)
{
    switch (format) {
    case PALI_PIXEL_RGB8: return 3;
    case PALI_PIXEL_RGBA8: return 4;
    }
    return 0;
}

pali_status pali_image_validate(const pali_image *image, pali_error *err)
{
    if (image == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT, "image: none given");
    int bpp = pixel_bytes(image->format);
    if (bpp == 0)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "image: unknown pixel format %d", (int)image->format);
    pali_status st = check_size("image", image->width, image->height, err);
    if (st != PALI_OK)
        return st;
    if (image->pixels == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "image: no pixel data");
    if (image->stride < (size_t)image->width * (size_t)bpp)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "image: stride %zu is less than width %d × %d bytes "
                         "per pixel",
                         image->stride, image->width, bpp);
    return PALI_OK;
}

/* transformers' rescale_and_normalize as a per-channel table of the 256
 * possible results: the same float32 operations, evaluated once per
 * value.  TorchvisionBackend._fuse_mean_std_and_rescale_factor computes
 * torch.tensor(mean) * (1.0 / rescale_factor): a float32 tensor times a
 * Python float, which torch rounds to float32 before multiplying; then
 * torchvision's normalize does image.sub(mean).div_(std) in float32. */
static pali_status normalize_tables(const pali_preprocess_config *pre,
                                    float table[3][256], pali_error *err)
{
    for (int c = 0; c < 3; c++) {
        if (pre->do_normalize && (!isfinite(pre->mean[c]) ||
                                  !isfinite(pre->std[c]) || pre->std[c] == 0))
            return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                             "processor config: image_mean[%d] = %g, "
                             "image_std[%d] = %g: need finite values and a "
                             "nonzero std",
                             c, pre->mean[c], c, pre->std[c]);
    }
    if (pre->do_rescale &&
        (!isfinite(pre->rescale_factor) || pre->rescale_factor == 0))
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "processor config: rescale_factor %g: need a finite "
                         "nonzero value",
                         pre->rescale_factor);

    for (int c = 0; c < 3; c++) {
        float mean = (float)pre->mean[c];
        float std = (float)pre->std[c];
        if (pre->do_rescale && pre->do_normalize) {
            float inv = (float)(1.0 / pre->rescale_factor);
            mean = mean * inv;
            std = std * inv;
        }
        float rescale = (float)pre->rescale_factor;
        for (int v = 0; v < 256; v++) {
            float x = (float)v;
            if (pre->do_normalize)
                table[c][v] = (x - mean) / std;
            else if (pre->do_rescale)
                table[c][v] = x * rescale;
            else
                table[c][v] = x;
        }
    }
    return PALI_OK;
}

pali_status pali_image_preprocess(const pali_image *image,
                                  const pali_preprocess_config *pre, float *out,
                                  uint8_t *resized, pali_error *err)
{
    pali_status st = pali_image_validate(image, err);
    if (st != PALI_OK)
        return st;
    if (pre == NULL || out == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT, "preprocess: no %s",
                         pre == NULL ? "processor config" : "output buffer");
    const int w = pre->width, h = pre->height;
    if (w < 1 || h < 1 || w > PALI_PREPROCESS_MAX_SIDE ||
        h > PALI_PREPROCESS_MAX_SIDE)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "processor config: size %d×%d is outside 1..%d", w, h,
                         PALI_PREPROCESS_MAX_SIDE);
    pali_resample filter = PALI_RESAMPLE_BICUBIC;
    if (pre->do_resize) {
        if (pre->resample != PALI_RESAMPLE_BICUBIC &&
            pre->resample != PALI_RESAMPLE_BILINEAR)
            return pali_fail(err, PALI_ERR_UNSUPPORTED,
                             "processor config: resample %d is not supported "
                             "(2 = bilinear and 3 = bicubic are)",
                             pre->resample);
        filter = (pali_resample)pre->resample;
    } else if (image->width != w || image->height != h) {
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "preprocess: the image is %d×%d, the processor does "
                         "not resize and the model needs %d×%d",
                         image->width, image->height, w, h);
    }

    float table[3][256];
    st = normalize_tables(pre, table, err);
    if (st != PALI_OK)
        return st;

    const size_t n = (size_t)w * (size_t)h;
    /* (h, w, 3) */
    uint8_t *rgb = resized != NULL ? resized : pali_malloc_array(n, 3);
    if (rgb == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "preprocess: out of memory for a %d×%d image", w, h);
    /* Same size: a copy that drops alpha, as torchvision returns the input
     * unchanged. */
    st = pali_resize_aa_u8(filter, image->pixels, image->width, image->height,
                           image->stride, pixel_bytes(image->format), 3, rgb, w,
                           h, err);
    if (st == PALI_OK) {
        /* (h, w, 3) uint8 → (3, h, w) float */
        for (int c = 0; c < 3; c++) {
            float *plane = out + (size_t)c * n;
            for (size_t i = 0; i < n; i++)
                plane[i] = table[c][rgb[i * 3 + (size_t)c]];
        }
    } else {
        pali_error_prefix(err, "preprocess");
    }
    if (rgb != resized)
        free(rgb);
    return st;
}
