/* cli-mask.c — palilens-cli's modes for model output without a model:
 *
 *   --parse TEXT (--image-size WxH | --image FILE) [--vae FILE] [--json]
 *       [--overlay OUT.png] [--export FILE [--format F]]
 *   --vae FILE --decode-mask c1,…,c16 [--dump OUT.safetensors] [--json]
 *
 * --parse prints the spans of pali_result_parse in order; with --json one
 * object {"objects": […], …}: every span has "kind" ("text" or "object")
 * and "content"; objects add "name" (null when absent), "unique_name",
 * "box" [x1, y1, x2, y2] (the HF Space's pixels), "locs" [y1, x1, y2, x2],
 * "codes" (16 ints or null), "flags" and "mask" ({"u8_sum", "nonzero", "x",
 * "y", "w", "h"} of the 8-bit mask placed in the image, or null).
 * --decode-mask runs the mask decoder on 16 codes; --dump writes the raw
 * 64×64 output as "mask_raw" (F32) and the demo's 8-bit mask as "mask_u8"
 * (U8). */
#include "config.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lens-export.h"
#include "lens-json.h"
#include "lens-overlay.h"
#include "lens-tensor-dump.h"

static const struct {
    unsigned bit;
    const char *name;
} object_flags[] = {
    { PALI_OBJECT_BOX_EMPTY, "box_empty" },
    { PALI_OBJECT_BOX_OUTSIDE, "box_outside" },
    { PALI_OBJECT_CODES_INVALID, "codes_invalid" },
    { PALI_OBJECT_MASK_MISSING, "mask_missing" },
};

/* "640x480" → 640, 480; both at least 1. */
static gboolean parse_size(const char *s, int *w, int *h)
{
    char *end = NULL;
    errno = 0;
    gint64 a = g_ascii_strtoll(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X') || errno != 0)
        return FALSE;
    const char *t = end + 1;
    gint64 b = g_ascii_strtoll(t, &end, 10);
    if (end == t || *end != 0 || errno != 0 || a < 1 || b < 1 || a > G_MAXINT ||
        b > G_MAXINT || s[0] == '+' || t[0] == '+')
        return FALSE;
    *w = (int)a;
    *h = (int)b;
    return TRUE;
}

static void mask_stats(const pali_object *o, gint64 *sum, gint64 *nonzero)
{
    *sum = *nonzero = 0;
    for (gsize i = 0; i < (gsize)o->mask_w * o->mask_h; i++) {
        *sum += o->mask[i];
        *nonzero += o->mask[i] != 0;
    }
}

static void json_ints(LensJson *json, const int *v, int n)
{
    lens_json_begin_array(json);
    for (int i = 0; i < n; i++)
        lens_json_int(json, v[i]);
    lens_json_end_array(json);
}

static void print_json(const pali_result *r)
{
    g_autoptr(LensJson) json = lens_json_new(TRUE);
    lens_json_begin_object(json);
    lens_json_key(json, "objects");
    lens_json_begin_array(json);
    for (size_t i = 0; i < r->n_spans; i++) {
        const pali_object *o = &r->spans[i];
        lens_json_begin_object(json);
        lens_json_key(json, "kind");
        lens_json_string(json, o->kind == PALI_SPAN_TEXT ? "text" : "object");
        lens_json_key(json, "content");
        lens_json_string(json, o->content);
        if (o->kind == PALI_SPAN_TEXT) {
            lens_json_end_object(json);
            continue;
        }
        lens_json_key(json, "name");
        if (o->name)
            lens_json_string(json, o->name);
        else
            lens_json_null(json);
        lens_json_key(json, "unique_name");
        if (o->unique_name)
            lens_json_string(json, o->unique_name);
        else
            lens_json_null(json);
        lens_json_key(json, "box");
        json_ints(json, o->box, 4);
        lens_json_key(json, "locs");
        json_ints(json, o->locs, 4);
        lens_json_key(json, "codes");
        if (o->has_codes)
            json_ints(json, o->codes, PALI_MASK_CODES);
        else
            lens_json_null(json);
        lens_json_key(json, "flags");
        lens_json_begin_array(json);
        for (guint f = 0; f < G_N_ELEMENTS(object_flags); f++)
            if (o->flags & object_flags[f].bit)
                lens_json_string(json, object_flags[f].name);
        lens_json_end_array(json);
        lens_json_key(json, "mask");
        if (o->mask != NULL) {
            gint64 sum, nonzero;
            mask_stats(o, &sum, &nonzero);
            lens_json_begin_object(json);
            lens_json_key(json, "u8_sum");
            lens_json_int(json, sum);
            lens_json_key(json, "nonzero");
            lens_json_int(json, nonzero);
            const char *keys[] = { "x", "y", "w", "h" };
            const int vals[] = { o->mask_x, o->mask_y, o->mask_w, o->mask_h };
            for (int k = 0; k < 4; k++) {
                lens_json_key(json, keys[k]);
                lens_json_int(json, vals[k]);
            }
            lens_json_end_object(json);
        } else {
            lens_json_null(json);
        }
        lens_json_end_object(json);
    }
    lens_json_end_array(json);
    lens_json_key(json, "width");
    lens_json_int(json, r->width);
    lens_json_key(json, "height");
    lens_json_int(json, r->height);
    lens_json_key(json, "truncated");
    lens_json_bool(json, (r->flags & PALI_RESULT_TRUNCATED) != 0);
    lens_json_key(json, "masks_missing");
    lens_json_bool(json, (r->flags & PALI_RESULT_MASKS_MISSING) != 0);
    lens_json_end_object(json);
    printf("%s\n", lens_json_peek(json));
}

/* A string on one line: control characters as C escapes, in quotes. */
static char *quoted(const char *s)
{
    if (s == NULL)
        return g_strdup("-");
    GString *q = g_string_new("\"");
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '\n': g_string_append(q, "\\n"); break;
        case '\r': g_string_append(q, "\\r"); break;
        case '\t': g_string_append(q, "\\t"); break;
        case '"': g_string_append(q, "\\\""); break;
        default:
            if ((unsigned char)*p < 0x20)
                g_string_append_printf(q, "\\x%02x", (unsigned char)*p);
            else
                g_string_append_c(q, *p);
        }
    }
    g_string_append_c(q, '"');
    return g_string_free(q, FALSE);
}

static void print_table(const pali_result *r)
{
    printf("image %dx%d, %zu span%s%s%s\n", r->width, r->height, r->n_spans,
           r->n_spans == 1 ? "" : "s",
           r->flags & PALI_RESULT_TRUNCATED ? ", output cut off" : "",
           r->flags & PALI_RESULT_MASKS_MISSING ? ", no mask decoder" : "");
    printf("%3s  %-6s  %-21s  %-20s  %s\n", "#", "kind", "box x1 y1 x2 y2",
           "label", "mask (sum, pixels)");
    for (size_t i = 0; i < r->n_spans; i++) {
        const pali_object *o = &r->spans[i];
        g_autofree char *content = quoted(o->content);
        if (o->kind == PALI_SPAN_TEXT) {
            printf("%3zu  %-6s  %s\n", i, "text", content);
            continue;
        }
        g_autofree char *box = g_strdup_printf("%d %d %d %d", o->box[0],
                                               o->box[1], o->box[2], o->box[3]);
        g_autofree char *name = quoted(o->unique_name);
        g_autofree char *mask = NULL;
        if (o->mask != NULL) {
            gint64 sum, nonzero;
            mask_stats(o, &sum, &nonzero);
            mask = g_strdup_printf("%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT,
                                   sum, nonzero);
        } else {
            mask = g_strdup(o->has_codes ? "codes, no mask" : "-");
        }
        g_autoptr(GString) flags = g_string_new(NULL);
        for (guint f = 0; f < G_N_ELEMENTS(object_flags); f++)
            if (o->flags & object_flags[f].bit)
                g_string_append_printf(flags, " [%s]", object_flags[f].name);
        printf("%3zu  %-6s  %-21s  %-20s  %s%s\n", i, "object", box, name, mask,
               flags->str);
    }
}

int cli_mask_parse(const CliOptions *opt)
{
    int width = 0, height = 0;
    g_autoptr(GdkPixbuf) image = NULL;
    if (opt->image_size != NULL &&
        !parse_size(opt->image_size, &width, &height))
        return cli_usage("--image-size wants WIDTHxHEIGHT, e.g. 640x480 "
                         "(got '%s')",
                         opt->image_size);
    if (opt->image != NULL) {
        g_autoptr(GError) error = NULL;
        image = gdk_pixbuf_new_from_file(opt->image, &error);
        if (image == NULL)
            return cli_fail("%s", error->message);
        if (opt->image_size == NULL) {
            width = gdk_pixbuf_get_width(image);
            height = gdk_pixbuf_get_height(image);
        }
    }
    if (width == 0)
        return cli_usage("--parse needs the image's size: --image-size WxH "
                         "or --image FILE");
    if (opt->overlay != NULL && image == NULL)
        return cli_usage("--overlay needs --image");
    LensExportFormat format = LENS_EXPORT_COCO;
    if (opt->format != NULL &&
        !lens_export_format_from_name(opt->format, &format))
        return cli_usage("unknown --format '%s' (coco, coco-rle, voc, yolo, "
                         "yolo-seg)",
                         opt->format);

    pali_error err = { 0 };
    pali_vae *vae = NULL;
    if (opt->vae != NULL && pali_vae_load(opt->vae, &vae, &err) != PALI_OK)
        return cli_fail_engine(&err);
    pali_result *r = NULL;
    pali_status st =
        pali_result_parse(opt->parse, width, height, vae, &r, &err);
    pali_vae_free(vae);
    if (st != PALI_OK)
        return cli_fail_engine(&err);

    int rc = CLI_EXIT_OK;
    g_autoptr(GError) error = NULL;
    if (opt->overlay != NULL) {
        g_autoptr(LensOverlay) overlay = lens_overlay_new(r);
        if (!lens_overlay_save_png(overlay, image, NULL, opt->overlay, &error))
            rc = cli_fail("%s", error->message);
    }
    if (rc == CLI_EXIT_OK && opt->export_path != NULL) {
        g_autoptr(LensExport) exp = lens_export_new();
        g_autofree char *name =
            opt->image ? g_path_get_basename(opt->image) : g_strdup("image");
        if (lens_export_add_image(exp, name, r, &error) < 0 ||
            !lens_export_save(exp, format, opt->export_path, &error))
            rc = cli_fail("%s", error->message);
    }
    if (rc == CLI_EXIT_OK) {
        if (opt->json)
            print_json(r);
        else
            print_table(r);
    }
    pali_result_free(r);
    return rc;
}

/* "1,2,…" → exactly PALI_MASK_CODES integers in 0..127. */
static gboolean parse_codes(const char *s, int codes[PALI_MASK_CODES])
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);
    if (g_strv_length(parts) != PALI_MASK_CODES)
        return FALSE;
    for (int i = 0; i < PALI_MASK_CODES; i++) {
        const char *p = g_strstrip(parts[i]);
        char *end = NULL;
        gint64 v = g_ascii_strtoll(p, &end, 10);
        if (end == p || *end != 0 || v < 0 || v >= PALI_MASK_CODEBOOK ||
            !g_ascii_isdigit(p[0]))
            return FALSE;
        codes[i] = (int)v;
    }
    return TRUE;
}

int cli_mask_decode(const CliOptions *opt)
{
    int codes[PALI_MASK_CODES];
    if (!parse_codes(opt->decode_mask, codes))
        return cli_usage("--decode-mask wants %d comma-separated codes in "
                         "0..%d (got '%s')",
                         PALI_MASK_CODES, PALI_MASK_CODEBOOK - 1,
                         opt->decode_mask);
    if (opt->vae == NULL)
        return cli_usage("--decode-mask needs --vae FILE (vae-oid.npz)");
    pali_error err = { 0 };
    pali_vae *vae = NULL;
    if (pali_vae_load(opt->vae, &vae, &err) != PALI_OK)
        return cli_fail_engine(&err);
    enum {
        N = PALI_MASK_SIZE * PALI_MASK_SIZE
    };
    float raw[N];
    uint8_t u8[N];
    gint64 t0 = g_get_monotonic_time();
    pali_status st = pali_vae_decode(vae, codes, raw, &err);
    double ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    pali_vae_free(vae);
    if (st != PALI_OK)
        return cli_fail_engine(&err);
    pali_mask_raw_to_u8(raw, u8);

    if (opt->dump != NULL) {
        g_autoptr(LensTensorDump) dump = lens_tensor_dump_new();
        const int64_t shape[2] = { PALI_MASK_SIZE, PALI_MASK_SIZE };
        lens_tensor_dump_add(dump, "mask_raw", raw, 2, shape);
        lens_tensor_dump_add_u8(dump, "mask_u8", u8, 2, shape);
        g_autoptr(GError) error = NULL;
        if (!lens_tensor_dump_write(dump, opt->dump, &error))
            return cli_fail("%s", error->message);
    }
    double lo = raw[0], hi = raw[0], mean = 0;
    gint64 sum = 0, nonzero = 0;
    for (int i = 0; i < N; i++) {
        lo = MIN(lo, raw[i]);
        hi = MAX(hi, raw[i]);
        mean += raw[i];
        sum += u8[i];
        nonzero += u8[i] != 0;
    }
    mean /= N;
    if (opt->json) {
        g_autoptr(LensJson) json = lens_json_new(TRUE);
        lens_json_begin_object(json);
        lens_json_key(json, "codes");
        json_ints(json, codes, PALI_MASK_CODES);
        lens_json_key(json, "raw_min");
        lens_json_double(json, lo);
        lens_json_key(json, "raw_max");
        lens_json_double(json, hi);
        lens_json_key(json, "raw_mean");
        lens_json_double(json, mean);
        lens_json_key(json, "u8_sum");
        lens_json_int(json, sum);
        lens_json_key(json, "nonzero");
        lens_json_int(json, nonzero);
        lens_json_key(json, "decode_ms");
        lens_json_double(json, ms);
        lens_json_end_object(json);
        printf("%s\n", lens_json_peek(json));
    } else {
        printf("64x64 mask: raw min %.4f, max %.4f, mean %.4f; 8-bit sum "
               "%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " pixels nonzero; "
               "decoded in %.2f ms\n",
               lo, hi, mean, sum, nonzero, ms);
    }
    return CLI_EXIT_OK;
}
