/* cli.c — palilens-cli option parsing and dispatch (see cli.h). */
#include "config.h"

#include <locale.h>
#include <stdio.h>

#include "cli.h"

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "palilens-cli: %s\n", msg);
    return CLI_EXIT_ERROR;
}

int cli_fail_engine(const pali_error *err)
{
    return cli_fail("%s", err->message[0] ? err->message
                                          : pali_status_to_string(err->status));
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "palilens-cli: %s\nTry 'palilens-cli --help'.\n", msg);
    return CLI_EXIT_USAGE;
}

/* *value (bytes from the command line) as UTF-8: kept when it is, else
 * converted from the locale's encoding; FALSE with a message naming the
 * first invalid byte when neither works. */
static gboolean cli_text_to_utf8(char **value, GError **error)
{
    const char *end;
    if (*value == NULL || g_utf8_validate(*value, -1, &end))
        return TRUE;
    const char *charset;
    if (!g_get_charset(&charset)) {
        char *converted = g_locale_to_utf8(*value, -1, NULL, NULL, NULL);
        if (converted != NULL) {
            g_free(*value);
            *value = converted;
            return TRUE;
        }
    }
    g_set_error(error, G_CONVERT_ERROR, G_CONVERT_ERROR_ILLEGAL_SEQUENCE,
                "not valid UTF-8 (byte 0x%02X at offset %td)",
                (unsigned)(unsigned char)*end, end - *value);
    return FALSE;
}

void cli_options_clear(CliOptions *opt)
{
    char **strings[] = {
        &opt->model,   &opt->image,      &opt->prompt,       &opt->task,
        &opt->lang,    &opt->text,       &opt->objects,      &opt->precision,
        &opt->weights, &opt->dump,       &opt->overlay,      &opt->export_path,
        &opt->format,  &opt->tokenizer,  &opt->encode_jsonl, &opt->decode,
        &opt->parse,   &opt->image_size, &opt->vae,          &opt->decode_mask,
        &opt->batch,   &opt->out,
    };
    for (gsize i = 0; i < G_N_ELEMENTS(strings); i++)
        g_clear_pointer(strings[i], g_free);
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    g_auto(CliOptions) opt = {
        .temperature = 0.0,
        .top_p = 1.0,
        .threads = 0,
    };
    GOptionEntry entries[] = {
        { "model", 'm', 0, G_OPTION_ARG_FILENAME, &opt.model,
          "Model directory (Hugging Face layout)", "DIR" },
        { "image", 'i', 0, G_OPTION_ARG_FILENAME, &opt.image, "Image file",
          "FILE" },
        { "prompt", 'p', 0, G_OPTION_ARG_FILENAME, &opt.prompt,
          "Raw prompt (without image tokens)", "TEXT" },
        { "task", 't', 0, G_OPTION_ARG_FILENAME, &opt.task,
          "caption, describe, ocr, answer, question, detect, segment, raw",
          "TASK" },
        { "lang", 0, 0, G_OPTION_ARG_FILENAME, &opt.lang,
          "Language code for caption/describe/answer/question (en)", "CODE" },
        { "text", 0, 0, G_OPTION_ARG_FILENAME, &opt.text,
          "Question (answer) or answer (question) text", "TEXT" },
        { "objects", 0, 0, G_OPTION_ARG_FILENAME, &opt.objects,
          "Objects for detect/segment, e.g. \"cat ; dog\"", "LIST" },
        { "max-new-tokens", 'n', 0, G_OPTION_ARG_INT, &opt.max_new_tokens,
          "Most tokens to generate (default: the task's)", "N" },
        { "temperature", 0, 0, G_OPTION_ARG_DOUBLE, &opt.temperature,
          "Sampling temperature (0: greedy)", "T" },
        { "top-k", 0, 0, G_OPTION_ARG_INT, &opt.top_k,
          "Sample among the K most likely tokens", "K" },
        { "top-p", 0, 0, G_OPTION_ARG_DOUBLE, &opt.top_p,
          "Nucleus sampling threshold", "P" },
        { "seed", 0, 0, G_OPTION_ARG_INT64, &opt.seed, "Sampling seed", "S" },
        { "threads", 0, 0, G_OPTION_ARG_INT, &opt.threads,
          "Threads (default: all cores)", "N" },
        { "precision", 0, 0, G_OPTION_ARG_FILENAME, &opt.precision,
          "exact (f32, default) or fast (bf16 products)", "MODE" },
        { "weights", 0, 0, G_OPTION_ARG_FILENAME, &opt.weights,
          "Weight format: bf16, q8 or q4", "FORMAT" },
        { "json", 0, 0, G_OPTION_ARG_NONE, &opt.json,
          "Print one JSON object instead of prose", NULL },
        { "dump", 0, 0, G_OPTION_ARG_FILENAME, &opt.dump,
          "Write intermediate tensors (safetensors)", "OUT" },
        { "vision-only", 0, 0, G_OPTION_ARG_NONE, &opt.vision_only,
          "Stop after the vision tower and projector", NULL },
        { "info", 0, 0, G_OPTION_ARG_NONE, &opt.info,
          "Describe the model and exit", NULL },
        { "overlay", 0, 0, G_OPTION_ARG_FILENAME, &opt.overlay,
          "Write the image with boxes and masks drawn (PNG)", "OUT.png" },
        { "export", 0, 0, G_OPTION_ARG_FILENAME, &opt.export_path,
          "Write the objects in --format", "FILE" },
        { "format", 0, 0, G_OPTION_ARG_FILENAME, &opt.format,
          "Export format: coco, voc, yolo, yolo-seg", "FORMAT" },
        { "tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &opt.tokenizer,
          "tokenizer.json for --encode-jsonl / --decode", "FILE" },
        { "encode-jsonl", 0, 0, G_OPTION_ARG_FILENAME, &opt.encode_jsonl,
          "Encode the \"text\" of each JSON line", "IN.jsonl" },
        { "decode", 0, 0, G_OPTION_ARG_FILENAME, &opt.decode,
          "Decode comma-separated ids", "IDS" },
        { "parse", 0, 0, G_OPTION_ARG_FILENAME, &opt.parse,
          "Parse model output text into objects", "TEXT" },
        { "image-size", 0, 0, G_OPTION_ARG_FILENAME, &opt.image_size,
          "Image size for --parse", "WxH" },
        { "vae", 0, 0, G_OPTION_ARG_FILENAME, &opt.vae,
          "Mask decoder weights (vae-oid.npz)", "FILE" },
        { "decode-mask", 0, 0, G_OPTION_ARG_FILENAME, &opt.decode_mask,
          "Decode 16 comma-separated seg codes", "CODES" },
        { "batch", 0, 0, G_OPTION_ARG_FILENAME, &opt.batch,
          "Run every image of a folder or list file", "FOLDER_OR_LIST" },
        { "out", 'o', 0, G_OPTION_ARG_FILENAME, &opt.out,
          "Output directory for --batch", "DIR" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- run PaliGemma 2 on images");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error))
        return cli_usage("%s", error->message);
    if (argc > 1)
        return cli_usage("unexpected argument '%s'", argv[1]);
    // Text options arrive as the bytes given (so a UTF-8 prompt works in
    // the C locale too); anything else is converted from the locale's
    // encoding or refused by name.
    struct {
        const char *name;
        char **value;
    } texts[] = {
        { "--prompt", &opt.prompt },
        { "--task", &opt.task },
        { "--lang", &opt.lang },
        { "--text", &opt.text },
        { "--objects", &opt.objects },
        { "--precision", &opt.precision },
        { "--weights", &opt.weights },
        { "--format", &opt.format },
        { "--decode", &opt.decode },
        { "--parse", &opt.parse },
        { "--image-size", &opt.image_size },
        { "--decode-mask", &opt.decode_mask },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(texts); i++)
        if (!cli_text_to_utf8(texts[i].value, &error))
            return cli_usage("%s: %s", texts[i].name, error->message);

    if (opt.tokenizer || opt.encode_jsonl || opt.decode)
        return cli_tokenizer(&opt);
    if (opt.parse != NULL)
        return cli_mask_parse(&opt);
    if (opt.decode_mask != NULL)
        return cli_mask_decode(&opt);

    if (opt.batch)
        return cli_batch(&opt);
    if (opt.info)
        return cli_info(&opt);
    if (opt.model)
        return cli_run(&opt);
    return cli_usage("nothing to do: give --model DIR with --info or "
                     "--image, --tokenizer, --parse or --decode-mask");
}
