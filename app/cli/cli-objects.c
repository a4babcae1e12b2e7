/* cli-objects.c — the "objects" of a model run in the CLI's JSON (run and
 * batch modes): for each parsed object its label, its box [x1, y1, x2, y2]
 * in image pixels, and for a decoded mask the evaluator's binary mask
 * (pali_object_binary_mask) as COCO uncompressed RLE with its area.  Text
 * spans are left out (the run's "text" has them). */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "cli.h"
#include "lens-export.h"

gboolean cli_json_objects(LensJson *j, const pali_result *r, GError **error)
{
    lens_json_key(j, "objects");
    lens_json_begin_array(j);
    for (size_t i = 0; i < r->n_spans; i++) {
        const pali_object *o = &r->spans[i];
        if (o->kind != PALI_SPAN_OBJECT)
            continue;
        lens_json_begin_object(j);
        lens_json_key(j, "label");
        lens_json_string(j, o->name); /* null when absent */
        lens_json_key(j, "box");
        lens_json_begin_array(j);
        for (int k = 0; k < 4; k++)
            lens_json_int(j, o->box[k]);
        lens_json_end_array(j);
        lens_json_key(j, "box_normalized");
        lens_json_begin_array(j);
        for (int k = 0; k < 4; k++)
            lens_json_double(j, o->box_norm[k]);
        lens_json_end_array(j);
        if (o->has_codes) {
            lens_json_key(j, "codes");
            lens_json_begin_array(j);
            for (int k = 0; k < PALI_MASK_CODES; k++)
                lens_json_int(j, o->codes[k]);
            lens_json_end_array(j);
        }
        if (o->mask_raw != NULL && o->mask_w > 0 && o->mask_h > 0) {
            g_autofree guint8 *bin = g_malloc((gsize)o->mask_w * o->mask_h);
            pali_error err = { 0 };
            if (pali_object_binary_mask(o, bin, &err) != PALI_OK) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                            "object %zu: %s", i, err.message);
                return FALSE;
            }
            gint64 area = 0;
            for (gsize k = 0; k < (gsize)o->mask_w * o->mask_h; k++)
                area += bin[k] != 0;
            lens_json_key(j, "mask");
            lens_export_json_rle(j, bin, o->mask_x, o->mask_y, o->mask_w,
                                 o->mask_h, r->width, r->height);
            lens_json_key(j, "area");
            lens_json_int(j, area);
        }
        lens_json_end_object(j);
    }
    lens_json_end_array(j);
    lens_json_key(j, "truncated");
    lens_json_bool(j, (r->flags & PALI_RESULT_TRUNCATED) != 0);
    lens_json_key(j, "masks_missing");
    lens_json_bool(j, (r->flags & PALI_RESULT_MASKS_MISSING) != 0);
    return TRUE;
}

void cli_vae_clear(CliVae *v)
{
    pali_vae_free(v->vae);
    v->vae = NULL;
    g_clear_pointer(&v->path, g_free);
    v->tried = FALSE;
}

/* The mask decoder, loaded on first need: --vae FILE, else beside the
 * model or in the user data directory.  Missing is not an error (masks are
 * then reported missing); a broken file is. */
static gboolean vae_get(CliVae *v, const char *explicit_path,
                        const char *model_dir, GError **error)
{
    if (v->tried)
        return TRUE;
    v->tried = TRUE;
    pali_error err = { 0 };
    if (explicit_path != NULL) {
        v->path = g_strdup(explicit_path);
    } else {
        char buf[4096];
        if (pali_vae_find(model_dir, buf, sizeof buf, &err) != PALI_OK)
            return TRUE;
        v->path = g_strdup(buf);
    }
    if (pali_vae_load(v->path, &v->vae, &err) != PALI_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return FALSE;
    }
    return TRUE;
}

pali_result *cli_parse_output(const char *text, int width, int height,
                              CliVae *vae, const char *vae_path,
                              const char *model_dir, GError **error)
{
    // only segmentation output needs the 8 MB decoder
    if (strstr(text, "<seg") != NULL &&
        !vae_get(vae, vae_path, model_dir, error))
        return NULL;
    pali_result *r = NULL;
    pali_error err = { 0 };
    if (pali_result_parse(text, width, height, vae->vae, &r, &err) != PALI_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return NULL;
    }
    return r;
}
