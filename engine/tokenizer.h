/* tokenizer.h — the engine's tokenizer API beyond pali.h: the prompt ids
 * PaliGemmaProcessor builds, a streaming detokenizer for generation,
 * encoding with the post-processor's special tokens, and per-id
 * classification for the result parser and the GUI.
 *
 * A pali_tokenizer is immutable once loaded: every function here and in
 * pali.h may be called from several threads at once on the same tokenizer.
 * A pali_detok is used by one thread at a time. */
#ifndef PALI_TOKENIZER_H
#define PALI_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pali.h"

/* ---- the processor's tokenizer ------------------------------------------- */

/* PaliGemmaProcessor's IMAGE_TOKEN, the text it writes for each image
 * position. */
#define PALI_IMAGE_TOKEN "<image>"

/* Registers on a freshly loaded tokenizer what transformers'
 * PaliGemmaProcessor registers on the one it loads, so that encoding,
 * decoding and prompt ids are the processor's:
 * - "<image>" as a special, non-normalized added token (the processor does
 *   this when the tokenizer has no image_token attribute, as with the
 *   hub's tokenizer_config.json files; the engine reads no
 *   tokenizer_config.json and always does it);
 * - "<loc0000>".."<loc1023>", "<seg000>".."<seg127>" as non-special,
 *   normalized added tokens without lstrip/rstrip (add_tokens of plain
 *   strings), so each is one token wherever it appears, even where the
 *   file lists them only as vocabulary entries (the hub's files);
 * - no <bos>/<eos> from the post-processor (add_bos_token =
 *   add_eos_token = False), so pali_tokenizer_encode_special() equals
 *   pali_tokenizer_encode().
 * A spelling already registered with the same flags is left alone; one in
 * the vocabulary or registered with other flags keeps its id and takes the
 * new flags (a token once special stays special); one absent from both
 * gets the next free id (one past the largest added id, or the vocabulary
 * size while no added id reaches it), in the order above, as the
 * reference's add_tokens does: pali_tokenizer_size() then grows.  Call it
 * once, before the tokenizer is shared; calling it again changes nothing.
 * On failure (PALI_ERR_OUT_OF_MEMORY, or PALI_ERR_FORMAT when an id would
 * pass the supported range) the tokenizer must be freed.
 * pali_tokenizer_load() alone stays the raw tokenizers library's view. */
pali_status pali_tokenizer_add_paligemma_tokens(pali_tokenizer *tok,
                                                pali_error *err);

/* ---- prompt -------------------------------------------------------------- */

/* The input ids of PaliGemmaProcessor for one image: the encoding of
 * "<image>"·n_image_tokens + "<bos>" + prompt + "\n", where "<bos>" is the
 * spelling of bos_id; when the prompt itself contains "<image>", that
 * occurrence becomes the n image tokens and "<bos>" follows them
 * ("caption <image> en" → caption ▁ <image>·n <bos> ▁en \n), as the
 * processor's second branch does.  The image tokens are not run through
 * BPE one by one.  Errors: PALI_ERR_ENCODING for invalid UTF-8 in the
 * prompt (byte offset named), PALI_ERR_INVALID_ARGUMENT when the prompt
 * contains "<image>" more than once (the processor would make 2n image
 * tokens, which the model refuses), PALI_ERR_FORMAT when the ids are not
 * one run of n image_token_id (the processor's token-count check, or the
 * model's).  Use a tokenizer set up by
 * pali_tokenizer_add_paligemma_tokens().  *ids is freed with
 * pali_free(). */
pali_status pali_prompt_ids(const pali_tokenizer *tok, int n_image_tokens,
                            int32_t image_token_id, int32_t bos_id,
                            const char *prompt, size_t len, int32_t **ids,
                            size_t *n_ids, pali_error *err);

/* Encodes like pali_tokenizer_encode() and then adds the post-processor's
 * special tokens for a single sequence (add_special_tokens=True), e.g.
 * "<bos> $A".  Without a post-processor it equals the plain encoding. */
pali_status pali_tokenizer_encode_special(const pali_tokenizer *tok,
                                          const char *text, size_t len,
                                          int32_t **ids, size_t *n_ids,
                                          pali_error *err);

/* ---- per-id facts -------------------------------------------------------- */

/* The spelling of an id as the reference's id_to_token gives it
 * (vocabulary form: "▁the", "<0x0A>", "<bos>"; a normalized added token
 * in its normalized form), borrowed from the tokenizer, NUL-terminated,
 * *len bytes (may be NULL); NULL for an id the tokenizer does not know. */
const char *pali_tokenizer_id_to_piece(const pali_tokenizer *tok, int32_t id,
                                       size_t *len);
/* A special token (skipped when decoding with skip_special). */
bool pali_tokenizer_is_special(const pali_tokenizer *tok, int32_t id);
/* An added token (special or not: "<image>", "<loc0001>" in some files). */
bool pali_tokenizer_is_added(const pali_tokenizer *tok, int32_t id);
/* The byte a byte-fallback token stands for (0..255), or -1. */
int pali_tokenizer_byte_value(const pali_tokenizer *tok, int32_t id);
/* N of a token spelled <locNNNN> (four digits) / <segNNN> (three digits),
 * or -1. */
int pali_tokenizer_loc_value(const pali_tokenizer *tok, int32_t id);
int pali_tokenizer_seg_value(const pali_tokenizer *tok, int32_t id);

/* ---- streaming detokenizer ------------------------------------------------
 * Feed generated ids one at a time; each call returns the text the id adds
 * to the decoded output.  The pieces concatenate to exactly
 * pali_tokenizer_decode(all ids, skip_special=true) once
 * pali_detok_finish() has been called: a run of byte-fallback tokens is
 * held back until a non-byte token or the end shows whether it is valid
 * UTF-8 (the reference turns an invalid run into one U+FFFD per byte).
 * The text with special tokens (skip_special=false) is kept alongside.
 * Buffers grow geometrically, so a long generation allocates O(log n)
 * times, not once per token. */
typedef struct pali_detok pali_detok;

/* `tok` must outlive the detokenizer.  *out is freed with
 * pali_detok_free(). */
pali_status pali_detok_new(const pali_tokenizer *tok, pali_detok **out,
                           pali_error *err);
void pali_detok_free(pali_detok *detok);
/* Forgets everything fed so far (keeps the buffers). */
void pali_detok_reset(pali_detok *detok);
/* Feeds one id.  *piece (NUL-terminated, *piece_len bytes, either may be
 * NULL) is borrowed until the next call on this detokenizer.  Unknown ids
 * are dropped, as by the reference's decode.  Fails only on OOM. */
pali_status pali_detok_push(pali_detok *detok, int32_t id, const char **piece,
                            size_t *piece_len, pali_error *err);
/* Ends the sequence: releases what was held back (returned as the last
 * piece).  After it, pushes are refused (PALI_ERR_INVALID_ARGUMENT) until
 * pali_detok_reset(). */
pali_status pali_detok_finish(pali_detok *detok, const char **piece,
                              size_t *piece_len, pali_error *err);
/* The text released so far, special tokens skipped / kept.  Borrowed until
 * the next call; NUL-terminated. */
const char *pali_detok_text(const pali_detok *detok, size_t *len);
const char *pali_detok_text_with_special(const pali_detok *detok, size_t *len);

#endif /* PALI_TOKENIZER_H */
