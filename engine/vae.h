/* vae.h — internals of the big_vision VQ-VAE mask decoder (vae.c) that the
 * result parser and the tests use beyond pali.h: the decoder's layers, one
 * by one, and the demo's post-processing to 8 bits. */
#ifndef PALI_VAE_H
#define PALI_VAE_H

#include <stdint.h>

#include "pali.h"

/* Codebook size: a <segNNN> code indexes one of 128 embeddings. */
#define PALI_VAE_CODEBOOK PALI_MASK_CODEBOOK

/* The decoder's stages, in order, named as in the golden
 * mask_intermediates file (layout [H][W][C], float32). */
typedef enum pali_vae_layer {
    PALI_VAE_EMBED,       /* 4×4×512: the gathered codebook vectors */
    PALI_VAE_CONV0_RELU,  /* 4×4×128 */
    PALI_VAE_RESBLOCK_0,  /* 4×4×128 */
    PALI_VAE_RESBLOCK_1,  /* 4×4×128 */
    PALI_VAE_CONVT0_RELU, /* 8×8×128 */
    PALI_VAE_CONVT1_RELU, /* 16×16×64 */
    PALI_VAE_CONVT2_RELU, /* 32×32×32 */
    PALI_VAE_CONVT3_RELU, /* 64×64×16 */
    PALI_VAE_OUT,         /* 64×64×1: the raw mask */
    PALI_VAE_N_LAYERS
} pali_vae_layer;

const char *pali_vae_layer_name(pali_vae_layer layer); /* "convT1_relu" */

/* Called after each stage with its output, [h][w][c], borrowed for the
 * duration of the call. */
typedef void (*pali_vae_trace_fn)(pali_vae_layer layer, const float *data,
                                  int h, int w, int c, void *user_data);

/* pali_vae_decode with a callback after every stage (trace may be NULL). */
pali_status pali_vae_decode_trace(const pali_vae *vae,
                                  const int codes[PALI_MASK_CODES],
                                  float raw[PALI_MASK_SIZE * PALI_MASK_SIZE],
                                  pali_vae_trace_fn trace, void *user_data,
                                  pali_error *err);

/* The HF Space's post-processing: u8 = (uint8)(clip(raw·0.5 + 0.5, 0, 1)
 * · 255) in float32 with truncation (numpy astype); NaN gives 0. */
void pali_vae_mask_to_u8(const float *raw, uint8_t *u8, int n);

#endif /* PALI_VAE_H */
