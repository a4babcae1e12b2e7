/* pil_resize.h — Pillow's Image.resize for one-channel images, bit-exact:
 * 8-bit "L" images (fixed-point weights) and float "F" images (double
 * accumulation), with its bilinear and bicubic filters.
 *
 * Both functions compute only a window of the output — pixels
 * [x0, x0 + w) × [y0, y0 + h) of the dw × dh resized image — and give the
 * same values a full resize followed by a crop would: the resize is
 * separable and each output pixel depends only on its own coordinate.  This
 * lets a mask be resized into a box that reaches outside the image without
 * allocating the whole box. */
#ifndef PALI_PIL_RESIZE_H
#define PALI_PIL_RESIZE_H

#include <stdint.h>

#include "pali.h"

typedef enum pali_pil_filter {
    PALI_PIL_BILINEAR, /* PIL.Image.BILINEAR (triangle, support 1) */
    PALI_PIL_BICUBIC,  /* PIL.Image.BICUBIC (a = −0.5, support 2) */
} pali_pil_filter;

/* src: (sh, sw) bytes, row-major; dst: (h, w) bytes, row-major.  Sizes
 * must be ≥ 1 (w or h may be 0: nothing to do) and the window inside
 * dw × dh. */
pali_status pali_pil_resize_u8(const uint8_t *src, int sw, int sh, int dw,
                               int dh, int x0, int y0, int w, int h,
                               pali_pil_filter filter, uint8_t *dst,
                               pali_error *err);
/* The same for float32 pixels. */
pali_status pali_pil_resize_f32(const float *src, int sw, int sh, int dw,
                                int dh, int x0, int y0, int w, int h,
                                pali_pil_filter filter, float *dst,
                                pali_error *err);

#endif /* PALI_PIL_RESIZE_H */
