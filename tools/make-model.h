/* make-model.h — palilens-make-model's parts: the model description
 * (MakeSpec), the random-weight writer, the tokenizer generator and the
 * training corpus.  See palilens-make-model.c for the command line. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* PaliGemma's id layout after the text vocabulary (real: 256000 text ids):
 * 1024 <locNNNN>, 128 <segNNN>, then <image>; the embedding is padded
 * to a multiple of 64 rows after image id + 2 (the conversion script's
 * resize_token_embeddings(vocab + 2, pad_to_multiple_of=64)). */
#define MAKE_LOC_TOKENS      1024
#define MAKE_SEG_TOKENS      128
#define MAKE_EMBED_ROW_ALIGN 64
#define MAKE_TEXT_VOCAB_REAL 256000
/* Special tokens (<pad> <eos> <bos> <unk> <mask>) and the 256 byte-fallback
 * tokens come before the BPE pieces. */
#define MAKE_SPECIAL_TOKENS 5
#define MAKE_BYTE_TOKENS    256
#define MAKE_FIRST_PIECE    (MAKE_SPECIAL_TOKENS + MAKE_BYTE_TOKENS)

typedef struct {
    const char *preset; /* "tiny", "3b-224", …, "custom" */
    /* SigLIP */
    int image_size, patch_size;
    int vision_hidden, vision_intermediate, vision_layers, vision_heads;
    /* Gemma 2 */
    int text_hidden, text_intermediate, text_layers;
    int n_heads, n_kv_heads, head_dim;
    int qpas;                           /* query_pre_attn_scalar */
    double attn_softcap, final_softcap; /* 0: null in the config */
    int sliding_window;
    int text_vocab; /* ids before <loc0000> */
    /* output */
    uint64_t seed;
    bool bf16;
    bool hub_layout; /* else transformers 5's save_pretrained layout */
    uint64_t shard_bytes;
} MakeSpec;

static inline int make_image_token_id(const MakeSpec *s)
{
    return s->text_vocab + MAKE_LOC_TOKENS + MAKE_SEG_TOKENS;
}
static inline int make_vocab_rows(const MakeSpec *s)
{
    int n = make_image_token_id(s) + 2;
    return (n + MAKE_EMBED_ROW_ALIGN - 1) / MAKE_EMBED_ROW_ALIGN *
           MAKE_EMBED_ROW_ALIGN;
}
static inline int make_image_tokens(const MakeSpec *s)
{
    int side = s->image_size / s->patch_size;
    return side * side;
}

/* Writes the weights (model.safetensors, or shards of at most
 * spec->shard_bytes plus model.safetensors.index.json) into dir, streaming:
 * memory stays bounded whatever the model size.  Progress lines go to
 * stderr when `verbose`. */
gboolean make_model_write_weights(const MakeSpec *spec, const char *dir,
                                  bool verbose, GError **error);

/* Writes tokenizer.json with PaliGemma's id layout and deterministic BPE
 * pieces and merges (the same for every seed). */
gboolean make_model_write_tokenizer(const MakeSpec *spec, const char *dir,
                                    GError **error);

/* The training text: parts of space-separated words, most frequent first;
 * `starts_text`: the words also often begin a text (task prompts). */
typedef struct {
    const char *words;
    bool starts_text;
} MakeCorpusPart;
const MakeCorpusPart *make_model_corpus(size_t *n_parts);
