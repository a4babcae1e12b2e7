/* cli-run.c — palilens-cli --model DIR --image FILE (--prompt TEXT | --task
 * TASK …): runs the model on one image, streaming the answer (prose) or
 * printing one JSON object (--json) with the ids, texts and timings;
 * --dump writes the intermediate tensors under the golden data's names;
 * --vision-only stops after the vision tower and projector.  Boxes and
 * masks in the output are parsed into "objects"; --overlay draws them over
 * the image and --export writes them in an annotation format. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lens-export.h"
#include "lens-image-loader.h"
#include "lens-json.h"
#include "lens-overlay.h"
#include "lens-tensor-dump.h"

/* Token callback wrapper: streams in prose mode, collects otherwise. */
typedef struct {
    gboolean stream;
    LensTensorDump *dump;
} RunState;

static bool on_token(const pali_token_event *ev, void *user_data)
{
    RunState *st = user_data;
    if (st->stream) {
        fputs(ev->piece, stdout);
        fflush(stdout);
    }
    return true;
}

static void on_tensor(const char *name, int step, const float *data, int n_dims,
                      const int64_t *shape, void *user_data)
{
    RunState *st = user_data;
    lens_tensor_dump_collect(name, step, data, n_dims, shape, st->dump);
}

gboolean cli_parse_precision(const char *s, pali_precision *out)
{
    if (s == NULL || g_str_equal(s, "exact"))
        *out = PALI_PRECISION_EXACT;
    else if (g_str_equal(s, "fast"))
        *out = PALI_PRECISION_FAST;
    else
        return FALSE;
    return TRUE;
}

gboolean cli_parse_weights(const char *s, pali_weights *out)
{
    if (s == NULL)
        *out = PALI_WEIGHTS_AS_STORED;
    else if (g_str_equal(s, "bf16"))
        *out = PALI_WEIGHTS_BF16;
    else if (g_str_equal(s, "q8"))
        *out = PALI_WEIGHTS_Q8;
    else if (g_str_equal(s, "q4"))
        *out = PALI_WEIGHTS_Q4;
    else
        return FALSE;
    return TRUE;
}

/* The prompt: --prompt as given, or built from --task and its arguments. */
int cli_build_prompt(const CliOptions *opt, char **prompt, pali_task *task)
{
    *task = PALI_TASK_RAW;
    if (opt->prompt && opt->task)
        return cli_usage("give either --prompt or --task, not both");
    if (opt->prompt) {
        *prompt = g_strdup(opt->prompt);
        return CLI_EXIT_OK;
    }
    if (opt->task == NULL)
        return cli_usage("give --prompt TEXT or --task TASK");
    if (!pali_task_from_name(opt->task, task))
        return cli_usage("unknown task '%s' (caption, describe, ocr, answer, "
                         "question, detect, segment, raw)",
                         opt->task);
    const char *text = opt->text;
    if (*task == PALI_TASK_DETECT || *task == PALI_TASK_SEGMENT)
        text = opt->objects;
    pali_error err = { 0 };
    char *p = NULL;
    if (pali_task_prompt(*task, opt->lang, text, &p, &err) != PALI_OK) {
        if (err.status == PALI_ERR_INVALID_ARGUMENT)
            return cli_usage("%s", err.message);
        return cli_fail_engine(&err);
    }
    *prompt = g_strdup(p);
    pali_free(p);
    return CLI_EXIT_OK;
}

static void json_ids(LensJson *j, const char *key, const int32_t *ids, int n)
{
    lens_json_key(j, key);
    lens_json_begin_array(j);
    for (int i = 0; i < n; i++)
        lens_json_int(j, ids[i]);
    lens_json_end_array(j);
}

static const char *stop_name(pali_stop_reason r)
{
    switch (r) {
    case PALI_STOP_EOS: return "eos";
    case PALI_STOP_MAX_TOKENS: return "max_new_tokens";
    case PALI_STOP_CALLBACK: return "callback";
    }
    return "unknown";
}

int cli_run(const CliOptions *opt)
{
    if (opt->image == NULL)
        return cli_usage("--model needs --image FILE");
    pali_precision precision;
    pali_weights weights;
    if (!cli_parse_precision(opt->precision, &precision))
        return cli_usage("--precision must be exact or fast");
    if (!cli_parse_weights(opt->weights, &weights))
        return cli_usage("--weights must be bf16, q8 or q4");
    if (opt->threads < 0)
        return cli_usage("--threads must be positive");
    if (opt->max_new_tokens < 0)
        return cli_usage("--max-new-tokens must be positive");
    LensExportFormat format = LENS_EXPORT_COCO;
    if (opt->format != NULL &&
        !lens_export_format_from_name(opt->format, &format))
        return cli_usage("unknown --format '%s' (coco, coco-rle, voc, yolo, "
                         "yolo-seg)",
                         opt->format);
    if ((opt->overlay || opt->export_path) && opt->vision_only)
        return cli_usage("--overlay and --export need a generation, not "
                         "--vision-only");

    g_autofree char *prompt = NULL;
    pali_task task = PALI_TASK_RAW;
    if (!opt->vision_only) {
        int rc = cli_build_prompt(opt, &prompt, &task);
        if (rc != CLI_EXIT_OK)
            return rc;
    }

    pali_error err = { 0 };
    double t0 = g_get_monotonic_time() / 1e3;
    pali_model_params mp = pali_model_default_params();
    mp.weights = weights;
    mp.n_threads = opt->threads;
    pali_model *model = NULL;
    if (pali_model_load(opt->model, &mp, &model, &err) != PALI_OK)
        return cli_fail_engine(&err);
    double load_ms = g_get_monotonic_time() / 1e3 - t0;

    g_autoptr(GError) error = NULL;
    LensImage *image =
        lens_image_load(opt->image, LENS_IMAGE_LOAD_ORIENT, &error);
    if (image == NULL) {
        pali_model_free(model);
        return cli_fail("%s", error->message);
    }
    pali_image view = lens_image_as_pali(image);

    pali_session_params sp = pali_session_default_params();
    sp.n_threads = opt->threads;
    sp.precision = precision;
    pali_session *session = NULL;
    int rc = CLI_EXIT_ERROR;
    g_autoptr(LensTensorDump) dump = opt->dump ? lens_tensor_dump_new() : NULL;
    RunState state = { .stream = !opt->json, .dump = dump };
    pali_callbacks cb = { 0 };
    cb.token = on_token;
    cb.tensor = dump ? on_tensor : NULL;
    cb.user_data = &state;
    const pali_output *out = NULL;
    pali_result *result = NULL;
    CliVae vae = { 0 };

    if (pali_session_new(model, &sp, &session, &err) != PALI_OK ||
        pali_session_set_image(session, &view, &cb, &err) != PALI_OK) {
        rc = cli_fail_engine(&err);
        goto done;
    }
    if (!opt->vision_only) {
        pali_generate_params gp = pali_generate_default_params();
        gp.max_new_tokens = opt->max_new_tokens > 0
                                ? opt->max_new_tokens
                                : pali_task_max_new_tokens(task, opt->objects);
        gp.temperature = (float)opt->temperature;
        gp.top_k = opt->top_k;
        gp.top_p = (float)opt->top_p;
        gp.seed = (uint64_t)opt->seed;
        if (pali_session_generate(session, prompt, &gp, &cb, &out, &err) !=
            PALI_OK) {
            if (state.stream)
                fputc('\n', stdout);
            rc = cli_fail_engine(&err);
            goto done;
        }
        if (state.stream)
            fputc('\n', stdout);
    }
    if (dump && !lens_tensor_dump_write(dump, opt->dump, &error)) {
        rc = cli_fail("%s", error->message);
        goto done;
    }
    if (out) {
        result =
            cli_parse_output(out->text_with_special, view.width, view.height,
                             &vae, opt->vae, opt->model, &error);
        if (result == NULL) {
            rc = cli_fail("%s", error->message);
            goto done;
        }
        if ((result->flags & PALI_RESULT_MASKS_MISSING) && !opt->json)
            fprintf(stderr, "palilens-cli: the output has masks, but no mask "
                            "decoder was found: put vae-oid.npz beside the "
                            "model or in ~/.local/share/palilens/, or give "
                            "--vae FILE\n");
        if ((result->flags & PALI_RESULT_TRUNCATED) && !opt->json)
            fprintf(stderr, "palilens-cli: the output stopped inside an "
                            "object: raise --max-new-tokens\n");
    }
    if (result && opt->overlay) {
        g_autoptr(GdkPixbuf) pixbuf = lens_image_to_pixbuf(image);
        g_autoptr(LensOverlay) overlay = lens_overlay_new(result);
        if (!lens_overlay_save_png(overlay, pixbuf, NULL, opt->overlay,
                                   &error)) {
            rc = cli_fail("%s", error->message);
            goto done;
        }
    }
    if (result && opt->export_path) {
        g_autoptr(LensExport) exp = lens_export_new();
        g_autofree char *name = g_path_get_basename(opt->image);
        if (lens_export_add_image(exp, name, result, &error) < 0 ||
            !lens_export_save(exp, format, opt->export_path, &error)) {
            rc = cli_fail("%s", error->message);
            goto done;
        }
    }
    if (opt->json) {
        g_autoptr(LensJson) j = lens_json_new(FALSE);
        lens_json_begin_object(j);
        lens_json_key(j, "model");
        lens_json_string(j, opt->model);
        lens_json_key(j, "variant");
        lens_json_string(j, pali_model_get_info(model)->variant);
        lens_json_key(j, "image");
        lens_json_string(j, opt->image);
        lens_json_key(j, "image_size");
        lens_json_begin_array(j);
        lens_json_int(j, view.width);
        lens_json_int(j, view.height);
        lens_json_end_array(j);
        if (out) {
            lens_json_key(j, "prompt");
            lens_json_string(j, prompt);
            json_ids(j, "input_ids", out->input_ids, out->n_input);
            json_ids(j, "generated_ids", out->generated_ids, out->n_generated);
            lens_json_key(j, "text");
            lens_json_string(j, out->text);
            lens_json_key(j, "text_with_special");
            lens_json_string(j, out->text_with_special);
            lens_json_key(j, "stop");
            lens_json_string(j, stop_name(out->stop));
            if (!cli_json_objects(j, result, &error)) {
                rc = cli_fail("%s", error->message);
                goto done;
            }
        }
        lens_json_key(j, "timings");
        lens_json_begin_object(j);
        lens_json_key(j, "load_ms");
        lens_json_double(j, load_ms);
        if (out) {
            const pali_timings *t = &out->timings;
            lens_json_key(j, "preprocess_ms");
            lens_json_double(j, t->preprocess_ms);
            lens_json_key(j, "vision_ms");
            lens_json_double(j, t->vision_ms);
            lens_json_key(j, "prefill_ms");
            lens_json_double(j, t->prefill_ms);
            lens_json_key(j, "decode_ms");
            lens_json_double(j, t->decode_ms);
            lens_json_key(j, "per_token_ms");
            lens_json_begin_array(j);
            for (int i = 0; i < out->n_generated; i++)
                lens_json_double(j, out->token_ms[i]);
            lens_json_end_array(j);
        }
        lens_json_end_object(j);
        lens_json_end_object(j);
        puts(lens_json_peek(j));
    }
    rc = CLI_EXIT_OK;
done:
    pali_result_free(result);
    cli_vae_clear(&vae);
    pali_session_free(session);
    lens_image_unref(image);
    pali_model_free(model);
    return rc;
}
