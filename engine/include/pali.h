/* pali.h — libpali: PaliGemma 2 (SigLIP + Gemma 2) inference on the CPU.
 *
 * Call flow: pali_model_load() → pali_session_new() → pali_session_set_image()
 * (runs the vision tower once per image) → pali_session_generate() (prefill +
 * decode; pali_session_prefill() may run the prefill ahead) →
 * pali_result_parse() (boxes and masks).
 *
 * Threads: a pali_model or pali_tokenizer is immutable after loading and may
 * be shared by any number of threads.  A pali_session or pali_vae may be used
 * by one thread at a time; callbacks run on the thread that made the call.
 *
 * Errors: every fallible call returns a pali_status and, when `err` is not
 * NULL, writes a message naming the file, tensor, key or offset at fault.
 * The library never exits, aborts or prints.
 *
 * Memory: strings and arrays returned through `**out` parameters are owned
 * by the caller and released with the matching *_free() or pali_free();
 * pointers returned by getters are borrowed from their object and stay valid
 * as the getter's comment says.  Every *_free() accepts NULL. */
#ifndef PALI_H
#define PALI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and errors ------------------------------------------------ */

typedef enum pali_status {
    PALI_OK = 0,
    PALI_ERR_INVALID_ARGUMENT, /* a caller passed something impossible */
    PALI_ERR_IO,               /* a file could not be opened or read */
    PALI_ERR_FORMAT,           /* a file is corrupt or not what it claims */
    PALI_ERR_UNSUPPORTED,      /* valid input this build cannot handle */
    PALI_ERR_OUT_OF_MEMORY,    /* allocation failed or the model won't fit */
    PALI_ERR_TOO_LONG,         /* prompt or generation exceeds the context */
    PALI_ERR_ENCODING,         /* text is not valid UTF-8 */
    PALI_ERR_NOT_FOUND,        /* a required file or tensor is absent */
    PALI_ERR_ABORTED,          /* the abort callback asked to stop */
} pali_status;

#define PALI_ERROR_MESSAGE_MAX 512

typedef struct pali_error {
    pali_status status;
    char message[PALI_ERROR_MESSAGE_MAX]; /* UTF-8, NUL-terminated */
} pali_error;

/* A short constant English name for a status ("format error").  Any thread. */
const char *pali_status_to_string(pali_status status);

/* Releases memory the library handed to the caller (ids, strings). */
void pali_free(void *ptr);

/* ---- callbacks -------------------------------------------------------- */

typedef enum pali_phase {
    PALI_PHASE_LOAD,       /* opening / converting weights */
    PALI_PHASE_PREPROCESS, /* resizing the image */
    PALI_PHASE_VISION,     /* SigLIP layers: done/total = layers */
    PALI_PHASE_PREFILL,    /* Gemma layers over the prompt */
    PALI_PHASE_DECODE,     /* done/total = tokens generated / limit */
} pali_phase;

/* Returns true to stop the running call as soon as possible (between layers
 * and between tokens); the call then returns PALI_ERR_ABORTED. */
typedef bool (*pali_abort_fn)(void *user_data);
typedef void (*pali_progress_fn)(pali_phase phase, int done, int total,
                                 void *user_data);

/* One streamed token.  `piece` is the text this token adds to the decoded
 * output (special tokens skipped), complete UTF-8: bytes of a character
 * split over several byte-fallback tokens are held back until it is whole.
 * Borrowed for the duration of the callback. */
typedef struct pali_token_event {
    int32_t id;
    int index;         /* 0-based index among generated tokens */
    const char *piece; /* NUL-terminated, may be "" */
    const char *text;  /* the whole decoded output so far */
} pali_token_event;
/* Returns false to stop generating (as if max-new-tokens was reached). */
typedef bool (*pali_token_fn)(const pali_token_event *event, void *user_data);

/* Intermediate tensors, named as in the golden data (pixel_values,
 * vision_embeddings, vision_last_hidden_state, image_features,
 * inputs_embeds_text, prefill_hidden_states_last, prefill_final_norm_last,
 * prefill_logits_last, gen_logits).  `step` is -1 for one-off tensors and the
 * generation step for per-step rows (gen_logits, shape [1, V]).  Data is
 * float32 and borrowed for the duration of the callback. */
typedef void (*pali_tensor_fn)(const char *name, int step, const float *data,
                               int n_dims, const int64_t *shape,
                               void *user_data);

typedef struct pali_callbacks {
    pali_abort_fn should_abort;
    pali_progress_fn progress;
    pali_token_fn token;
    pali_tensor_fn tensor; /* NULL: no intermediate tensors are collected */
    void *user_data;       /* passed to every callback above */
} pali_callbacks;

/* ---- model ------------------------------------------------------------ */

typedef struct pali_model pali_model;

typedef enum pali_weights {
    PALI_WEIGHTS_AS_STORED, /* the checkpoint's own dtype, zero-copy */
    PALI_WEIGHTS_BF16,      /* bf16 (f32 checkpoints are converted) */
    PALI_WEIGHTS_Q8,        /* 8-bit block-quantized, cached on disk */
    PALI_WEIGHTS_Q4,        /* 4-bit block-quantized, cached on disk */
} pali_weights;

typedef struct pali_model_params {
    pali_weights weights;
    const char *cache_dir;    /* for quantized weights; NULL: the user cache */
    int n_threads;            /* for weight conversion; 0: all cores */
    pali_callbacks callbacks; /* progress (PALI_PHASE_LOAD) and abort */
} pali_model_params;

pali_model_params pali_model_default_params(void);

/* Opens a model directory as downloaded from the Hugging Face hub or written
 * by transformers: config.json, model.safetensors (or shards with
 * model.safetensors.index.json), tokenizer.json, preprocessor_config.json or
 * processor_config.json.  Weights are mmapped, not copied.  `params` may be
 * NULL for the defaults.  On success *out owns the model. */
pali_status pali_model_load(const char *dir, const pali_model_params *params,
                            pali_model **out, pali_error *err);
void pali_model_free(pali_model *model);
/* Waits for the work a model does in the background after it opens
 * (mapping its weights' pages, building the LM head's greedy pre-pass):
 * for benchmarks that time a model as it is once it has been open a
 * while. */
void pali_model_settle(pali_model *model);

typedef struct pali_model_info {
    const char *variant; /* "3b-224" … "28b-896", or "custom" */
    const char *dir;
    const char *dtype; /* stored weights: "f32", "bf16", "f16", "mixed" */
    int n_tensors;
    uint64_t weight_bytes; /* on disk */
    /* processor */
    int image_size, patch_size, n_image_tokens;
    /* SigLIP */
    int vision_hidden, vision_intermediate, vision_layers, vision_heads;
    float vision_norm_eps;
    /* Gemma 2 */
    int text_hidden, text_intermediate, text_layers;
    int n_heads, n_kv_heads, head_dim;
    int vocab_rows;     /* embedding rows, padding included */
    int tokenizer_size; /* ids the tokenizer can produce */
    float query_pre_attn_scalar;
    float attn_softcap, final_softcap; /* 0: not applied (null in config) */
    int sliding_window, max_positions;
    float rope_theta, rms_norm_eps;
    int32_t image_token_id, bos_id, eos_id, pad_id;
} pali_model_info;

/* Borrowed; valid as long as the model. */
const pali_model_info *pali_model_get_info(const pali_model *model);

/* ---- tokenizer (Hugging Face tokenizer.json, BPE with byte fallback) ---- */

typedef struct pali_tokenizer pali_tokenizer;

/* Loads a Hugging Face tokenizer.json (BPE model).  What the file declares
 * and this build does not implement is PALI_ERR_UNSUPPORTED, naming it. */
pali_status pali_tokenizer_load(const char *path, pali_tokenizer **out,
                                pali_error *err);
void pali_tokenizer_free(pali_tokenizer *tok);
/* Borrowed from the model; valid as long as the model. */
const pali_tokenizer *pali_model_get_tokenizer(const pali_model *model);

/* Encodes `len` bytes of UTF-8 without adding special tokens.  Invalid UTF-8
 * is an error (PALI_ERR_ENCODING, naming the byte offset).  *ids is freed
 * with pali_free().  Safe from several threads at once. */
pali_status pali_tokenizer_encode(const pali_tokenizer *tok, const char *text,
                                  size_t len, int32_t **ids, size_t *n_ids,
                                  pali_error *err);
/* Decodes ids to UTF-8 (NUL-terminated, *len excludes the NUL; freed with
 * pali_free()).  Unknown ids are dropped, invalid byte runs become U+FFFD,
 * as the reference does.  Safe from several threads at once. */
pali_status pali_tokenizer_decode(const pali_tokenizer *tok, const int32_t *ids,
                                  size_t n_ids, bool skip_special, char **text,
                                  size_t *len, pali_error *err);
/* Largest id + 1 (the vocabulary and the added tokens). */
int pali_tokenizer_size(const pali_tokenizer *tok);
/* The id of a token spelled exactly `piece`, or -1. */
int32_t pali_tokenizer_token_id(const pali_tokenizer *tok, const char *piece);

/* ---- images ----------------------------------------------------------- */

typedef enum pali_pixel_format {
    PALI_PIXEL_RGB8,  /* 3 bytes per pixel */
    PALI_PIXEL_RGBA8, /* 4 bytes; alpha is dropped, as the reference does */
} pali_pixel_format;

/* A borrowed view of decoded pixels, top row first. */
typedef struct pali_image {
    const uint8_t *pixels;
    int width, height;
    size_t stride; /* bytes between rows */
    pali_pixel_format format;
} pali_image;

/* Largest accepted image, in pixels (width × height). */
#define PALI_IMAGE_MAX_PIXELS (16384LL * 16384LL)

/* ---- session ---------------------------------------------------------- */

typedef struct pali_session pali_session;

typedef enum pali_precision {
    PALI_PRECISION_EXACT, /* f32 arithmetic: reproduces the reference */
    PALI_PRECISION_FAST,  /* bf16 products with f32 accumulation */
} pali_precision;

typedef struct pali_session_params {
    int n_threads; /* 0: all cores */
    pali_precision precision;
    int max_context; /* KV cache positions; 0: as the model allows */
} pali_session_params;

pali_session_params pali_session_default_params(void);

/* The session borrows `model`, which must outlive it. */
pali_status pali_session_new(const pali_model *model,
                             const pali_session_params *params,
                             pali_session **out, pali_error *err);
void pali_session_free(pali_session *session);

/* Preprocesses the image and runs the vision tower and projector.  The
 * pixels are only read during the call.  Setting the same pixels again
 * reuses the cached features.  Callbacks: should_abort, progress, tensor. */
pali_status pali_session_set_image(pali_session *session,
                                   const pali_image *image,
                                   const pali_callbacks *callbacks,
                                   pali_error *err);

typedef struct pali_generate_params {
    int max_new_tokens; /* > 0 */
    float temperature;  /* 0: greedy */
    int top_k;          /* 0: off */
    float top_p;        /* 1: off */
    uint64_t seed;
    /* Teacher forcing: when not NULL, these ids are fed instead of sampled
     * ones (scores a given output); generation stops after them. */
    const int32_t *forced_ids;
    int n_forced;
} pali_generate_params;

pali_generate_params pali_generate_default_params(void);

typedef enum pali_stop_reason {
    PALI_STOP_EOS,        /* the model emitted <eos> */
    PALI_STOP_MAX_TOKENS, /* max_new_tokens (or the forced ids) reached */
    PALI_STOP_CALLBACK,   /* the token callback returned false */
} pali_stop_reason;

typedef struct pali_timings {
    double preprocess_ms, vision_ms; /* 0 when the image was cached */
    double prefill_ms;
    double decode_ms;   /* all decode steps */
    int n_decoded;      /* decode steps (generated tokens − 1) */
    int n_prepass;      /* greedy tokens chosen by the LM head's q8 pre-pass
                           (exact: the full logits' choice, fewer bytes) */
    int prefill_reused; /* 1: the prompt's prefill was kept from an earlier
                           call (pali_session_prefill); prefill_ms is then
                           the first token's logits only */
} pali_timings;

typedef struct pali_output {
    const int32_t *input_ids; /* <image>×N, <bos>, prompt, "\n" */
    int n_input;
    const int32_t *generated_ids; /* includes a final <eos> */
    int n_generated;
    const char *text; /* special tokens skipped */
    const char *text_with_special;
    pali_stop_reason stop;
    pali_timings timings;
    const double *token_ms; /* per generated token, n_generated */
} pali_output;

/* Runs the prompt (UTF-8, without the image tokens) on the current image:
 * prefill, then greedy or sampled decode.  Too-long prompts and
 * max_new_tokens beyond the context are refused before any work.  *out is
 * owned by the session and valid until its next call or pali_session_free. */
pali_status pali_session_generate(pali_session *session, const char *prompt,
                                  const pali_generate_params *params,
                                  const pali_callbacks *callbacks,
                                  const pali_output **out, pali_error *err);

/* Runs the prefill of `prompt` on the current image ahead of a
 * generation of up to max_new_tokens tokens (the refusals are
 * pali_session_generate's), and keeps it: the next pali_session_generate
 * of the same prompt on the same image, without tensor taps, starts with
 * its first token (the same bits as its own prefill would give).  The
 * session keeps the last prefill either way — a generate's own too — until
 * another prompt, image or a larger cache replaces it.  Callbacks:
 * should_abort, progress. */
pali_status pali_session_prefill(pali_session *session, const char *prompt,
                                 int max_new_tokens,
                                 const pali_callbacks *callbacks,
                                 pali_error *err);

/* ---- tasks ------------------------------------------------------------ */

typedef enum pali_task {
    PALI_TASK_CAPTION,  /* "caption {lang}" */
    PALI_TASK_DESCRIBE, /* "describe {lang}" */
    PALI_TASK_OCR,      /* "ocr" */
    PALI_TASK_ANSWER,   /* "answer {lang} {text}" */
    PALI_TASK_QUESTION, /* "question {lang} {text}" */
    PALI_TASK_DETECT,   /* "detect {a ; b}" */
    PALI_TASK_SEGMENT,  /* "segment {a ; b}" */
    PALI_TASK_RAW,      /* {text} as given */
    PALI_TASK_COUNT_
} pali_task;

/* Builds the exact prompt PaliGemma 2 was trained on.  `lang` is a code from
 * pali_task_languages() (NULL or "": "en"; ignored by tasks without one);
 * `text` is the question, answer, object list ("cat;dog" is written
 * "cat ; dog") or raw prompt (may be empty), NULL for tasks without one
 * (text given to those is refused).  Unknown languages, empty required
 * text or objects and invalid UTF-8 are refused with a message.  *prompt
 * is freed with pali_free(). */
pali_status pali_task_prompt(pali_task task, const char *lang, const char *text,
                             char **prompt, pali_error *err);
/* Enough new tokens for the task (segmentation: per object). */
int pali_task_max_new_tokens(pali_task task, const char *text);
const char *pali_task_name(pali_task task); /* "caption", … "raw" */
bool pali_task_from_name(const char *name, pali_task *task);
/* The language codes of the model card, NULL-terminated, static. */
const char *const *pali_task_languages(void);

/* ---- mask decoder (big_vision vae-oid.npz) ------------------------------ */

typedef struct pali_vae pali_vae;

#define PALI_MASK_SIZE     64  /* the decoder's output is 64×64 */
#define PALI_MASK_CODES    16  /* <segNNN> tokens per mask */
#define PALI_MASK_CODEBOOK 128 /* codes are 0..127 */

pali_status pali_vae_load(const char *npz_path, pali_vae **out,
                          pali_error *err);
void pali_vae_free(pali_vae *vae);
/* Looks for vae-oid.npz beside the model (model_dir may be NULL), then in
 * the user data directory ($XDG_DATA_HOME/palilens/, by default
 * ~/.local/share/palilens/).  Writes the path into buf; PALI_ERR_NOT_FOUND
 * when there is none, PALI_ERR_INVALID_ARGUMENT when buf is too small. */
pali_status pali_vae_find(const char *model_dir, char *buf, size_t size,
                          pali_error *err);
/* Decodes 16 codes (0..127) to the raw 64×64 mask, row-major [y][x].
 * Needs no state: several threads may decode with one pali_vae. */
pali_status pali_vae_decode(const pali_vae *vae,
                            const int codes[PALI_MASK_CODES],
                            float raw[PALI_MASK_SIZE * PALI_MASK_SIZE],
                            pali_error *err);
/* The demo's 8-bit mask of a raw one: (uint8)(clip(raw·0.5 + 0.5, 0, 1) ·
 * 255), truncating, in float32 (what pali_object mask is resized from). */
void pali_mask_raw_to_u8(const float raw[PALI_MASK_SIZE * PALI_MASK_SIZE],
                         uint8_t u8[PALI_MASK_SIZE * PALI_MASK_SIZE]);

/* ---- results: boxes and masks parsed from the output text --------------- */

typedef enum pali_span_kind {
    PALI_SPAN_TEXT,   /* text between objects */
    PALI_SPAN_OBJECT, /* <loc>×4 [<seg>×16] [label] */
} pali_span_kind;

enum pali_object_flags {
    PALI_OBJECT_BOX_EMPTY = 1u << 0,     /* x2 <= x1 or y2 <= y1 */
    PALI_OBJECT_BOX_OUTSIDE = 1u << 1,   /* a box edge beyond the image */
    PALI_OBJECT_CODES_INVALID = 1u << 2, /* a seg code > 127 */
    PALI_OBJECT_MASK_MISSING = 1u << 3,  /* codes but no mask decoder */
};

enum pali_result_flags {
    /* Output ended inside an object: no <eos>, and the text ends with an
     * object without its label, right after a " ; ", or with <loc>/<seg>
     * tokens (or a cut-off one) that make no whole object. */
    PALI_RESULT_TRUNCATED = 1u << 0,
    PALI_RESULT_MASKS_MISSING = 1u << 1, /* seg codes, no vae-oid.npz */
};

typedef struct pali_object {
    pali_span_kind kind;
    char *content;     /* the matched text (text spans: the text itself) */
    char *name;        /* the label as emitted, or NULL */
    char *unique_name; /* label made unique with ' (the demo's rule) */
    int locs[4];       /* y1 x1 y2 x2 as emitted, in 1/1024 of the image */
    int box[4];        /* x1 y1 x2 y2 in image pixels (round half to even) */
    float box_norm[4]; /* x1 y1 x2 y2 in [0, 1] (loc / 1024) */
    bool has_codes;
    int codes[PALI_MASK_CODES];
    unsigned flags; /* enum pali_object_flags */
    /* Soft 8-bit mask placed into the box as the reference demo does
     * (decoder output → clip → uint8 → bicubic to the box).  Covers
     * mask_w × mask_h pixels at (mask_x, mask_y) of the image: the box
     * clipped to the image (a box reaching outside keeps its inside part,
     * resized as a whole); zero elsewhere.  Empty boxes have mask_w =
     * mask_h = 0 and a non-NULL mask.  NULL when there are no codes, no
     * decoder or invalid codes. */
    uint8_t *mask;
    int mask_x, mask_y, mask_w, mask_h;
    float *mask_raw; /* 64×64 decoder output, or NULL */
} pali_object;

typedef struct pali_result {
    int width, height; /* the original image's size */
    size_t n_spans;
    pali_object *spans; /* in output order */
    unsigned flags;     /* enum pali_result_flags */
} pali_result;

/* Parses generated text (with special tokens, e.g. pali_output
 * text_with_special) into text spans and objects for an image of
 * width × height pixels, as the HF Space's extract_objs does (with
 * unique_labels).  The literal tokens "<eos>", "<bos>" and "<pad>" are
 * removed first and ill-formed UTF-8 becomes U+FFFD.  `vae` may be NULL:
 * objects keep their codes and get PALI_OBJECT_MASK_MISSING.  Never fails
 * on odd text: anything that is not an object stays a text span.  Every
 * string and array of *out belongs to it and is freed, with it, by
 * pali_result_free.  Any thread; `vae` is only read. */
pali_status pali_result_parse(const char *text, int width, int height,
                              const pali_vae *vae, pali_result **out,
                              pali_error *err);
void pali_result_free(pali_result *result);
/* The evaluator's binary mask (raw decoder output resized bilinearly into
 * the box, > 0): mask_w × mask_h bytes of 0/1 into `out`. */
pali_status pali_object_binary_mask(const pali_object *object, uint8_t *out,
                                    pali_error *err);

#ifdef __cplusplus
}
#endif

#endif /* PALI_H */
