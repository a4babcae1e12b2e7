/* cli.h — palilens-cli: the engine's command-line front end.  One file per
 * mode (cli-info.c, cli-tokenizer.c, cli-run.c, cli-mask.c, cli-batch.c);
 * cli.c parses the options and dispatches.
 *
 * Exit status: 0 success, 2 bad usage, 1 any other error (message on
 * stderr).  With --json every mode prints exactly one JSON object on
 * stdout. */
#pragma once

#include <glib.h>

#include "lens-json.h"
#include "pali.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,
    CLI_EXIT_USAGE = 2,
};

typedef struct {
    /* model and run */
    char *model;
    char *image;
    char *prompt;
    char *task; /* caption, describe, ocr, answer, question, detect, … */
    char *lang;
    char *text;         /* question / answer text for tasks that take one */
    char *objects;      /* "cat ; dog" for detect / segment */
    int max_new_tokens; /* 0: the task's default */
    double temperature;
    int top_k;
    double top_p;
    gint64 seed;
    int threads;
    char *precision; /* exact | fast */
    char *weights;   /* bf16 | q8 | q4 */
    gboolean json;
    char *dump;
    gboolean vision_only;
    gboolean info;
    char *overlay;
    char *export_path;
    char *format; /* coco | voc | yolo | yolo-seg */
    /* tokenizer mode */
    char *tokenizer;
    char *encode_jsonl;
    char *decode;
    /* parsing and masks */
    char *parse;
    char *image_size; /* WxH */
    char *vae;
    char *decode_mask;
    /* batch */
    char *batch;
    char *out;
} CliOptions;

/* Frees the option strings GOption allocated (g_auto(CliOptions)). */
void cli_options_clear(CliOptions *opt);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CliOptions, cli_options_clear)

/* Prints "palilens-cli: message" on stderr and returns CLI_EXIT_ERROR. */
int cli_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* The same for an engine error. */
int cli_fail_engine(const pali_error *err);
/* Usage error: message and a hint on stderr, returns CLI_EXIT_USAGE. */
int cli_usage(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Modes, each in its own file. */
int cli_info(const CliOptions *opt); /* --info */
int cli_run(const CliOptions *opt);
/* --batch FOLDER_OR_LIST --out DIR (cli-batch.c). */
int cli_batch(const CliOptions *opt);
/* The prompt from --prompt or --task and its arguments; a usage error
 * (printed) otherwise. */
int cli_build_prompt(const CliOptions *opt, char **prompt, pali_task *task);
gboolean cli_parse_precision(const char *s, pali_precision *out);
gboolean cli_parse_weights(const char *s, pali_weights *out);

/* --tokenizer FILE with --encode-jsonl IN.jsonl or --decode IDS. */
int cli_tokenizer(const CliOptions *opt);
/* cli-mask.c: --parse TEXT, --decode-mask CODES */
int cli_mask_parse(const CliOptions *opt);
int cli_mask_decode(const CliOptions *opt);

/* cli-objects.c: model output → objects (run and batch modes). */
typedef struct {
    pali_vae *vae; /* NULL when there is none */
    char *path;
    gboolean tried;
} CliVae;
void cli_vae_clear(CliVae *v);
/* Parses generated text (with special tokens) for an image of width ×
 * height; loads the mask decoder when the text has seg tokens. */
pali_result *cli_parse_output(const char *text, int width, int height,
                              CliVae *vae, const char *vae_path,
                              const char *model_dir, GError **error);
/* Writes "objects" (label, box, box_normalized, codes, mask as COCO RLE
 * and its area), "truncated" and "masks_missing" into an open object. */
gboolean cli_json_objects(LensJson *j, const pali_result *r, GError **error);
