/* image.h — image preprocessing for the vision tower, bit-exact with the
 * reference processor (internal API, not part of pali.h).
 *
 * transformers 5's SiglipImageProcessor is the torchvision backend: the RGB
 * uint8 image is squashed to S×S (no crop, aspect not kept) by
 * torchvision.transforms.v2.functional.resize(BICUBIC, antialias=True) on the
 * uint8 tensor, which runs torch's native anti-aliased uint8 kernel
 * (aten/src/ATen/native/cpu/UpSampleKernel.cpp, `_upsample_bicubic2d_aa`, and
 * its AVX2 twin UpSampleKernelAVXAntialias.h, which computes the same integer
 * arithmetic); then (x · rescale − mean) / std in float32, with rescale and
 * normalisation fused as transformers does.
 *
 * pali_resize_aa_u8() reproduces that kernel exactly:
 *  - separable: the horizontal pass (along x) runs first over every input
 *    row, then the vertical pass; a pass whose size does not change is
 *    skipped, and an image whose size does not change is copied;
 *  - per output index i (double precision): scale = in / out, support =
 *    filter_support · max(scale, 1), center = scale · (i + 0.5), taps
 *    [xmin, xmin + xsize) with xmin = max(trunc(center − support + 0.5), 0),
 *    weights filter((x − center + 0.5) / max(scale, 1)) normalised to sum 1;
 *  - the weights are converted to int16 fixed point with the largest
 *    precision p (≤ 22) for which round(max weight · 2^(p+1)) < 2^15 — one p
 *    per pass, from the largest weight of that pass;
 *  - each output is clamp((2^(p−1) + Σ w·x) >> p, 0, 255) in int32: the
 *    intermediate image is rounded and clamped to uint8 between the passes.
 * Filters: Keys cubic with a = −0.5 (support 2) for bicubic, triangle
 * (support 1) for bilinear, as torch's aa_filter functions.
 *
 * Every function is deterministic and single-threaded; none keeps state. */
#ifndef PALI_IMAGE_H
#define PALI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "pali.h"

/* Resampling filters, numbered as PIL and the processor config's "resample"
 * key are (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming);
 * only the two torch has a uint8 anti-aliased kernel for (and that
 * PaliGemma's processors use) are implemented. */
typedef enum pali_resample {
    PALI_RESAMPLE_BILINEAR = 2,
    PALI_RESAMPLE_BICUBIC = 3,
} pali_resample;

/* Resizes a uint8 image of `width` × `height` pixels to `out_width` ×
 * `out_height` with torch's anti-aliased uint8 kernel (see above).
 *
 * `src` rows are `stride` bytes apart; each pixel is `src_bpp` bytes of which
 * the first `channels` (1..4, ≤ src_bpp) are resampled, so an RGBA image can
 * be resized to RGB directly (alpha dropped).  `dst` receives out_height rows
 * of out_width · channels bytes, tightly packed.  Both sizes must be at least
 * 1×1 and at most PALI_IMAGE_MAX_PIXELS.  Allocates its scratch (the
 * intermediate image and weight tables) for the duration of the call.
 * Returns PALI_ERR_INVALID_ARGUMENT for impossible arguments,
 * PALI_ERR_UNSUPPORTED for another filter, PALI_ERR_OUT_OF_MEMORY. */
pali_status pali_resize_aa_u8(pali_resample filter, const uint8_t *src,
                              int width, int height, size_t stride, int src_bpp,
                              int channels, uint8_t *dst, int out_width,
                              int out_height, pali_error *err);

/* The bicubic case with src_bpp == channels: what the processor runs. */
pali_status pali_resize_bicubic_aa_u8(const uint8_t *src, int width, int height,
                                      size_t stride, int channels, uint8_t *dst,
                                      int out_width, int out_height,
                                      pali_error *err);

/* Checks a pali_image: pixels present, 1×1 ≤ size ≤ PALI_IMAGE_MAX_PIXELS,
 * a known format and stride ≥ width · bytes per pixel.  The message names
 * what is wrong.  PALI_ERR_INVALID_ARGUMENT on failure. */
pali_status pali_image_validate(const pali_image *image, pali_error *err);

/* Largest processor size accepted (pixels per side): 4.5 × the largest
 * PaliGemma resolution, far beyond any checkpoint, small enough that the
 * (3, S, S) float output stays modest. */
#define PALI_PREPROCESS_MAX_SIDE 4096

/* Preprocesses an image exactly as the checkpoint's processor: drop alpha,
 * resize to pre->height × pre->width (when do_resize), then rescale and
 * normalise in float32 as transformers does:
 *   rescale and normalize: (x − f32(f32(mean)·f32(1/rescale))) /
 *                          f32(f32(std)·f32(1/rescale))
 *   normalize only:        (x − f32(mean)) / f32(std)
 *   rescale only:          x · f32(rescale)
 *   neither:               x
 * For PaliGemma (1/255, 0.5, 0.5) that is (x − 127.5) / 127.5.
 * do_convert_rgb has nothing left to do: the input is RGB or RGBA already
 * (the app's loader converts files as Pillow's convert("RGB") does).
 *
 * `out` receives (3, H, W) floats, channel-major (R, G, B planes).
 * `resized`, when not NULL, receives the resized uint8 image (H, W, 3).
 * An image already of the target size is not resampled (as torchvision); an
 * image of another size with do_resize false is refused.  Errors: an invalid
 * image or config (PALI_ERR_INVALID_ARGUMENT), a resample filter other than
 * bilinear or bicubic (PALI_ERR_UNSUPPORTED), out of memory. */
pali_status pali_image_preprocess(const pali_image *image,
                                  const pali_preprocess_config *pre, float *out,
                                  uint8_t *resized, pali_error *err);

#endif /* PALI_IMAGE_H */
