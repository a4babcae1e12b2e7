/* model.h — the loaded PaliGemma 2 model: configuration, weight views and
 * tokenizer.  Immutable after pali_model_load() returns; shared by sessions.
 *
 * Matrices stay in the checkpoint's mapping (zero-copy pali_tensor views);
 * one-dimensional parameters (norm weights, biases) are converted to owned
 * float32 arrays at load time, since every op reads them as f32. */
#ifndef PALI_MODEL_H
#define PALI_MODEL_H

#include <stdbool.h>

#include "pali.h"
#include "lmhead.h"
#include "tensor.h"

typedef struct pali_safetensors pali_safetensors; /* safetensors.h */

/* What the checkpoint's processor config says (preprocessor_config.json or
 * processor_config.json's "image_processor"). */
typedef struct pali_preprocess_config {
    int width, height; /* the squashed size S × S */
    int resample;      /* 3 = bicubic (PIL numbering) */
    bool do_resize, do_rescale, do_normalize, do_convert_rgb;
    double rescale_factor;  /* 1/255 */
    double mean[3], std[3]; /* 0.5 each for PaliGemma */
} pali_preprocess_config;

/* Stop ids a generation config may list (gemma-2-it lists two). */
#define PALI_MAX_EOS_IDS 8

typedef struct pali_config {
    pali_model_info info; /* the public view; strings point into here */
    char variant[16];
    char dtype[8];
    bool *layer_sliding;  /* (text_layers) true: sliding-window layer */
    bool vision_use_head; /* must be false for PaliGemma */
    int projection_dim;   /* == text_hidden */
    pali_preprocess_config pre;
    /* every id that ends generation (generation_config.json's eos_token_id
     * may be a list); eos_ids[0] == info.eos_id */
    int32_t eos_ids[PALI_MAX_EOS_IDS];
    int n_eos;
} pali_config;

typedef struct pali_siglip_layer {
    const float *ln1_w, *ln1_b;         /* (Dv) */
    pali_tensor q_w, k_w, v_w, o_w;     /* (Dv, Dv) */
    const float *q_b, *k_b, *v_b, *o_b; /* (Dv) */
    const float *ln2_w, *ln2_b;         /* (Dv) */
    pali_tensor fc1_w;                  /* (Iv, Dv) */
    const float *fc1_b;                 /* (Iv) */
    pali_tensor fc2_w;                  /* (Dv, Iv) */
    const float *fc2_b;                 /* (Dv) */
} pali_siglip_layer;

typedef struct pali_gemma_layer {
    const float *input_norm;     /* (Dt) RMSNorm weight, used as 1 + w */
    pali_tensor q_w;             /* (H·hd, Dt) */
    pali_tensor k_w, v_w;        /* (KV·hd, Dt) */
    pali_tensor o_w;             /* (Dt, H·hd) */
    const float *post_attn_norm; /* (Dt) */
    const float *pre_ffw_norm;   /* (Dt) */
    pali_tensor gate_w, up_w;    /* (It, Dt) */
    pali_tensor down_w;          /* (Dt, It) */
    const float *post_ffw_norm;  /* (Dt) */
} pali_gemma_layer;

struct pali_model {
    pali_config cfg;
    char *dir;

    /* checkpoint files, kept mapped for the model's lifetime */
    pali_safetensors **files;
    int n_files;
    int n_tensors;

    pali_tokenizer *tokenizer;

    /* SigLIP vision tower */
    pali_tensor patch_w;       /* (Dv, 3, P, P): a (Dv, 3·P·P) matrix */
    const float *patch_b;      /* (Dv) */
    pali_tensor pos_emb;       /* (N, Dv) */
    pali_siglip_layer *vision; /* (vision_layers) */
    const float *post_ln_w, *post_ln_b; /* (Dv) */

    /* multi-modal projector */
    pali_tensor proj_w;  /* (Dt, Dv) */
    const float *proj_b; /* (Dt) */

    /* Gemma 2 decoder */
    pali_tensor embed;       /* (V, Dt); also the tied LM head */
    pali_gemma_layer *text;  /* (text_layers) */
    const float *final_norm; /* (Dt) */

    /* owned f32 copies of the 1-D parameters above, freed with the model */
    float *vectors;

    /* weights not in the checkpoint's own format (quant-cache.c): the
     * mapped q8/q4 cache file, or bf16 copies of an f32/f16 checkpoint */
    void *quant_map;
    size_t quant_bytes;
    uint16_t *bf16_copy;

    /* the background mapping of the matrices' pages (prefault.c) */
    struct pali_prefault *prefault;
    /* the LM head's q8 pre-pass, built after them (lmhead.h) */
    pali_lmhead lmhead;
};

/* Every matrix a forward pass multiplies by, vision and text: a new
 * array of *n (free() it), NULL when out of memory. */
pali_tensor **pali_model_matrices(pali_model *m, int *n);

/* prefault.c: a thread that maps the pages of the model's matrices in the
 * background, then builds the LM head's pre-pass (NULL when there is
 * nothing to map or it cannot start), and stopping it, which waits for
 * it. */
typedef struct pali_prefault pali_prefault;
pali_prefault *pali_prefault_start(pali_model *m);
void pali_prefault_stop(pali_prefault *p);
/* Waits for it to finish its work (stop still frees it). */
void pali_prefault_wait(pali_prefault *p);

/* Bytes of weights a forward pass touches, as they are held now (mapped
 * checkpoint, cache or copies): what must fit in RAM. */
uint64_t pali_model_resident_bytes(const pali_model *m);
/* The same if the language model's matrices were stored as `d` (bf16,
 * q8 or q4), the rest as they are. */
uint64_t pali_model_bytes_as(const pali_model *m, pali_dtype d);
/* Physical memory of this machine, in bytes, or the environment variable
 * PALI_MEMORY_LIMIT (bytes) when that is smaller. */
#define PALI_MEMORY_LIMIT_ENV "PALI_MEMORY_LIMIT"
uint64_t pali_ram_bytes(void);
/* "12.3 GB" / "456.7 MB" into buf; returns buf. */
const char *pali_format_bytes(uint64_t bytes, char *buf, size_t size);

#endif /* PALI_MODEL_H */
