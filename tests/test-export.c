/* test-export.c — every export format written and read back: COCO (RLE
 * decoded here from the COCO spec, polygons filled at pixel centres), Pascal
 * VOC (GMarkup), YOLO and YOLO segmentation (with classes.txt); atomic
 * writes, several images, bad paths. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lens-contour.h"
#include "lens-export.h"
#include "seg-testutil.h"
#include "testutil.h"

#define IMG_W 320
#define IMG_H 240

/* Two segmented objects, a box, a box reaching outside the image, an
 * empty box (left out), a nameless box, a text span. */
static const char *const scene =
    "Found: <loc0100><loc0100><loc0400><loc0500><seg048><seg022><seg020>"
    "<seg023><seg060><seg054><seg076><seg107><seg072><seg105><seg019>"
    "<seg037><seg040><seg034><seg095><seg075> cat ; "
    "<loc0500><loc0050><loc1000><loc0900><seg040><seg003><seg020><seg083>"
    "<seg058><seg052><seg087><seg037><seg124><seg043><seg083><seg034>"
    "<seg031><seg033><seg023><seg005> dog & <b> ; "
    "<loc0010><loc0020><loc0300><loc0200> cat ; "
    "<loc0800><loc0900><loc1100><loc1200> ball ; "
    "<loc0500><loc0100><loc0200><loc0400> inverted ; "
    "<loc0010><loc0010><loc0050><loc0050>";

static pali_vae *vae;

static pali_result *scene_result(void)
{
    pali_result *r = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_result_parse(scene, IMG_W, IMG_H, vae, &r, &err), ==,
                    PALI_OK);
    return r;
}

/* The objects an export keeps, in order: non-empty clipped boxes. */
static GPtrArray *kept_objects(const pali_result *r)
{
    GPtrArray *a = g_ptr_array_new();
    for (size_t i = 0; i < r->n_spans; i++) {
        const pali_object *o = &r->spans[i];
        if (o->kind != PALI_SPAN_OBJECT)
            continue;
        int x1 = CLAMP(o->box[0], 0, r->width),
            x2 = CLAMP(o->box[2], 0, r->width);
        int y1 = CLAMP(o->box[1], 0, r->height),
            y2 = CLAMP(o->box[3], 0, r->height);
        if (x2 > x1 && y2 > y1)
            g_ptr_array_add(a, (gpointer)o);
    }
    return a;
}

/* The evaluator's binary mask of an object over the whole image. */
static guint8 *full_binary(const pali_object *o, int w, int h)
{
    guint8 *full = g_malloc0((gsize)w * h);
    if (o->mask_raw == NULL)
        return full;
    guint8 *bin = g_malloc((gsize)o->mask_w * o->mask_h + 1);
    pali_error err = { 0 };
    g_assert_cmpint(pali_object_binary_mask(o, bin, &err), ==, PALI_OK);
    for (int y = 0; y < o->mask_h; y++)
        memcpy(full + (gsize)(o->mask_y + y) * w + o->mask_x,
               bin + (gsize)y * o->mask_w, (gsize)o->mask_w);
    g_free(bin);
    return full;
}

static char *tmp_path(const char *name)
{
    return g_build_filename(test_tmpdir(), name, NULL);
}

static const pali_json *coco_load(const char *path, pali_json_doc **doc)
{
    pali_error err = { 0 };
    if (pali_json_parse_file(path, 64u << 20, doc, &err) != PALI_OK)
        g_error("%s", err.message);
    return pali_json_root(*doc);
}

/* COCO uncompressed RLE → mask (h, w), from the spec: counts alternate
 * runs of 0 and 1, starting with 0, over the image in column-major order. */
static guint8 *rle_decode(const pali_json *seg, int w, int h)
{
    const pali_json *size = pali_json_get(seg, "size");
    g_assert_cmpint(size->u.items[0].integer, ==, h);
    g_assert_cmpint(size->u.items[1].integer, ==, w);
    const pali_json *counts = pali_json_get(seg, "counts");
    guint8 *m = g_malloc0((gsize)w * h);
    gint64 pos = 0;
    for (uint32_t i = 0; i < counts->len; i++) {
        gint64 n = counts->u.items[i].integer;
        g_assert_cmpint(n, >=, 0);
        g_assert_cmpint(pos + n, <=, (gint64)w * h);
        if (i % 2 == 1)
            for (gint64 k = pos; k < pos + n; k++)
                m[(k % h) * w + k / h] = 1;
        pos += n;
    }
    g_assert_cmpint(pos, ==, (gint64)w * h);
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Union of polygons, each filled even-odd at pixel centres (scanlines). */
static guint8 *polygons_fill(GPtrArray *polys, int w, int h)
{
    guint8 *m = g_malloc0((gsize)w * h);
    for (guint p = 0; p < polys->len; p++) {
        GArray *poly = g_ptr_array_index(polys, p);
        const double *xy = (const double *)(void *)poly->data;
        int n = (int)poly->len / 2;
        double *cross = g_new(double, n + 1);
        for (int y = 0; y < h; y++) {
            double py = y + 0.5;
            int nc = 0;
            for (int i = 0, j = n - 1; i < n; j = i++) {
                double xi = xy[2 * i], yi = xy[2 * i + 1];
                double xj = xy[2 * j], yj = xy[2 * j + 1];
                if ((yi > py) != (yj > py))
                    cross[nc++] = xi + (py - yi) * (xj - xi) / (yj - yi);
            }
            g_assert_cmpint(nc % 2, ==, 0);
            qsort(cross, (size_t)nc, sizeof(double), cmp_double);
            for (int k = 0; k < nc; k += 2) {
                int x0 = (int)floor(cross[k] - 0.5) + 1;
                int x1 = (int)ceil(cross[k + 1] - 0.5) - 1;
                for (int x = MAX(x0, 0); x <= MIN(x1, w - 1); x++)
                    m[y * w + x] = 1;
            }
        }
        g_free(cross);
    }
    return m;
}

/* The mask with its holes (background not 4-connected to the border)
 * filled: what COCO polygons can express. */
static guint8 *holes_filled(const guint8 *mask, int w, int h)
{
    g_autoptr(GPtrArray) cs = lens_contour_trace(mask, w, h, w, 1);
    GPtrArray *polys =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
    for (guint k = 0; k < cs->len; k++) {
        const LensContour *c = g_ptr_array_index(cs, k);
        if (c->hole)
            continue;
        GArray *a = g_array_new(FALSE, FALSE, sizeof(double));
        for (int i = 0; i < 2 * c->n_points; i++) {
            double v = c->xy[i];
            g_array_append_val(a, v);
        }
        g_ptr_array_add(polys, a);
    }
    guint8 *m = polygons_fill(polys, w, h);
    g_ptr_array_unref(polys);
    return m;
}

static gint64 count_ones(const guint8 *m, gsize n)
{
    gint64 c = 0;
    for (gsize i = 0; i < n; i++)
        c += m[i] != 0;
    return c;
}

static const char *file_name_of(const pali_json *image)
{
    const pali_json *v = pali_json_get(image, "file_name");
    return pali_json_is(v, PALI_JSON_STRING) ? v->u.string : NULL;
}

static void check_coco(gboolean rle)
{
    pali_result *r = scene_result();
    g_autoptr(LensExport) exp = lens_export_new();
    g_autoptr(GError) error = NULL;
    g_assert_cmpint(lens_export_add_image(exp, "scene.jpg", r, &error), ==, 5);
    g_assert_cmpint(lens_export_get_n_categories(exp), ==, 4);
    g_assert_cmpstr(lens_export_get_category(exp, 0), ==, "cat");
    g_assert_cmpstr(lens_export_get_category(exp, 1), ==, "dog &");
    g_assert_cmpstr(lens_export_get_category(exp, 2), ==, "ball");
    g_assert_cmpstr(lens_export_get_category(exp, 3), ==, "object");
    g_autofree char *path = tmp_path(rle ? "coco-rle.json" : "coco.json");
    g_assert_true(lens_export_save(
        exp, rle ? LENS_EXPORT_COCO_RLE : LENS_EXPORT_COCO, path, &error));

    pali_json_doc *doc = NULL;
    const pali_json *root = coco_load(path, &doc);
    const pali_json *images = pali_json_get(root, "images");
    g_assert_cmpuint(images->len, ==, 1);
    g_assert_cmpstr(file_name_of(&images->u.items[0]), ==, "scene.jpg");
    g_assert_cmpint(pali_json_get(&images->u.items[0], "width")->integer, ==,
                    IMG_W);
    const pali_json *cats = pali_json_get(root, "categories");
    g_assert_cmpuint(cats->len, ==, 4);
    g_assert_cmpstr(pali_json_get(&cats->u.items[1], "name")->u.string, ==,
                    "dog &");
    g_assert_cmpint(pali_json_get(&cats->u.items[1], "id")->integer, ==, 2);
    const pali_json *anns = pali_json_get(root, "annotations");
    g_autoptr(GPtrArray) kept = kept_objects(r);
    g_assert_cmpuint(anns->len, ==, kept->len);
    const int want_cat[] = { 1, 2, 1, 3, 4 };
    int masks = 0;
    for (uint32_t i = 0; i < anns->len; i++) {
        const pali_json *a = &anns->u.items[i];
        const pali_object *o = g_ptr_array_index(kept, i);
        g_assert_cmpint(pali_json_get(a, "id")->integer, ==, i + 1);
        g_assert_cmpint(pali_json_get(a, "image_id")->integer, ==, 1);
        g_assert_cmpint(pali_json_get(a, "category_id")->integer, ==,
                        want_cat[i]);
        g_assert_cmpint(pali_json_get(a, "iscrowd")->integer, ==, 0);
        const pali_json *bbox = pali_json_get(a, "bbox");
        int x1 = CLAMP(o->box[0], 0, IMG_W), y1 = CLAMP(o->box[1], 0, IMG_H);
        int x2 = CLAMP(o->box[2], 0, IMG_W), y2 = CLAMP(o->box[3], 0, IMG_H);
        g_assert_cmpint(bbox->u.items[0].integer, ==, x1);
        g_assert_cmpint(bbox->u.items[1].integer, ==, y1);
        g_assert_cmpint(bbox->u.items[2].integer, ==, x2 - x1);
        g_assert_cmpint(bbox->u.items[3].integer, ==, y2 - y1);
        guint8 *full = full_binary(o, IMG_W, IMG_H);
        gint64 pixels = count_ones(full, IMG_W * IMG_H);
        const pali_json *seg = pali_json_get(a, "segmentation");
        gint64 area = pali_json_get(a, "area")->integer;
        if (o->mask_raw == NULL) {
            g_assert_cmpint(area, ==, (gint64)(x2 - x1) * (y2 - y1));
            g_assert_true(pali_json_is(seg, PALI_JSON_ARRAY));
            g_assert_cmpuint(seg->len, ==, 0);
            g_free(full);
            continue;
        }
        masks++;
        g_assert_cmpint(area, ==, pixels);
        g_assert_cmpint(pixels, >, 0);
        if (rle) {
            guint8 *m = rle_decode(seg, IMG_W, IMG_H);
            g_assert_cmpmem(m, IMG_W * IMG_H, full, IMG_W * IMG_H);
            g_free(m);
        } else {
            GPtrArray *polys =
                g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
            for (uint32_t p = 0; p < seg->len; p++) {
                const pali_json *poly = &seg->u.items[p];
                g_assert_cmpuint(poly->len % 2, ==, 0);
                g_assert_cmpuint(poly->len, >=, 8);
                GArray *xy = g_array_new(FALSE, FALSE, sizeof(double));
                for (uint32_t k = 0; k < poly->len; k++) {
                    double v = poly->u.items[k].u.number;
                    g_assert_cmpfloat(v, >=, 0);
                    g_assert_cmpfloat(v, <=, k % 2 ? IMG_H : IMG_W);
                    g_array_append_val(xy, v);
                }
                g_ptr_array_add(polys, xy);
            }
            guint8 *m = polygons_fill(polys, IMG_W, IMG_H);
            guint8 *want = holes_filled(full, IMG_W, IMG_H);
            g_assert_cmpmem(m, IMG_W * IMG_H, want, IMG_W * IMG_H);
            g_free(want);
            g_free(m);
            g_ptr_array_unref(polys);
        }
        g_free(full);
    }
    g_assert_cmpint(masks, ==, 2);
    pali_json_free(doc);
    pali_result_free(r);
}

static void test_coco_rle(void)
{
    check_coco(TRUE);
}

static void test_coco_polygons(void)
{
    check_coco(FALSE);
}

/* ---- VOC ---------------------------------------------------------------- */

typedef struct {
    GString *text;
    GPtrArray *names; /* object names */
    GArray *numbers;  /* xmin ymin xmax ymax truncated per object */
    int width, height;
    char *filename;
} VocRead;

static void voc_start(GMarkupParseContext *ctx, const char *element,
                      const char **an, const char **av, gpointer user,
                      GError **error)
{
    VocRead *v = user;
    g_string_truncate(v->text, 0);
}

static void voc_text(GMarkupParseContext *ctx, const char *text, gsize len,
                     gpointer user, GError **error)
{
    VocRead *v = user;
    g_string_append_len(v->text, text, (gssize)len);
}

static void voc_end(GMarkupParseContext *ctx, const char *element,
                    gpointer user, GError **error)
{
    VocRead *v = user;
    const GSList *stack = g_markup_parse_context_get_element_stack(ctx);
    const char *parent = stack->next ? stack->next->data : "";
    int n = atoi(v->text->str);
    if (strcmp(element, "name") == 0 && strcmp(parent, "object") == 0)
        g_ptr_array_add(v->names, g_strdup(v->text->str));
    else if (strcmp(parent, "bndbox") == 0 || strcmp(element, "truncated") == 0)
        g_array_append_val(v->numbers, n);
    else if (strcmp(element, "width") == 0)
        v->width = n;
    else if (strcmp(element, "height") == 0)
        v->height = n;
    else if (strcmp(element, "filename") == 0)
        v->filename = g_strdup(v->text->str);
}

static void test_voc(void)
{
    pali_result *r = scene_result();
    g_autoptr(LensExport) exp = lens_export_new();
    g_autoptr(GError) error = NULL;
    g_assert_cmpint(lens_export_add_image(exp, "a&b <1>.jpg", r, &error), ==,
                    5);
    g_autofree char *path = tmp_path("scene.xml");
    g_assert_true(lens_export_save(exp, LENS_EXPORT_VOC, path, &error));
    g_autofree char *xml = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(path, &xml, &len, NULL));
    VocRead v = { g_string_new(NULL),
                  g_ptr_array_new_with_free_func(g_free),
                  g_array_new(FALSE, FALSE, sizeof(int)),
                  0,
                  0,
                  NULL };
    GMarkupParser parser = { voc_start, voc_end, voc_text, NULL, NULL };
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, &v, NULL);
    g_assert_true(g_markup_parse_context_parse(ctx, xml, (gssize)len, &error));
    g_assert_true(g_markup_parse_context_end_parse(ctx, &error));
    g_markup_parse_context_free(ctx);
    g_assert_cmpstr(v.filename, ==, "a&b <1>.jpg");
    g_assert_cmpint(v.width, ==, IMG_W);
    g_assert_cmpint(v.height, ==, IMG_H);
    g_autoptr(GPtrArray) kept = kept_objects(r);
    g_assert_cmpuint(v.names->len, ==, kept->len);
    const char *want[] = { "cat", "dog &", "cat", "ball", "object" };
    for (guint i = 0; i < kept->len; i++) {
        const pali_object *o = g_ptr_array_index(kept, i);
        g_assert_cmpstr(g_ptr_array_index(v.names, i), ==, want[i]);
        const int *n = &g_array_index(v.numbers, int, 5 * i);
        /* truncated, then xmin ymin xmax ymax: 1-based, inclusive */
        g_assert_cmpint(n[0], ==, (o->flags & PALI_OBJECT_BOX_OUTSIDE) ? 1 : 0);
        g_assert_cmpint(n[1], ==, CLAMP(o->box[0], 0, IMG_W) + 1);
        g_assert_cmpint(n[2], ==, CLAMP(o->box[1], 0, IMG_H) + 1);
        g_assert_cmpint(n[3], ==, CLAMP(o->box[2], 0, IMG_W));
        g_assert_cmpint(n[4], ==, CLAMP(o->box[3], 0, IMG_H));
    }
    g_assert_cmpint(g_array_index(v.numbers, int, 15), ==, 1); /* ball */
    g_string_free(v.text, TRUE);
    g_ptr_array_unref(v.names);
    g_array_unref(v.numbers);
    g_free(v.filename);
    pali_result_free(r);
}

/* ---- YOLO --------------------------------------------------------------- */

static char **read_lines(const char *path)
{
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_true(g_str_has_suffix(text, "\n"));
    text[strlen(text) - 1] = 0;
    return g_strsplit(text, "\n", -1);
}

static void test_yolo(void)
{
    pali_result *r = scene_result();
    g_autoptr(LensExport) exp = lens_export_new();
    g_autoptr(GError) error = NULL;
    lens_export_add_image(exp, "scene.jpg", r, &error);
    g_autofree char *dir = tmp_path("yolo");
    g_mkdir(dir, 0700);
    g_autofree char *path = g_build_filename(dir, "scene.txt", NULL);
    g_assert_true(lens_export_save(exp, LENS_EXPORT_YOLO, path, &error));
    g_autofree char *classes = g_build_filename(dir, "classes.txt", NULL);
    g_auto(GStrv) names = read_lines(classes);
    g_assert_cmpuint(g_strv_length(names), ==, 4);
    g_assert_cmpstr(names[1], ==, "dog &");
    g_auto(GStrv) lines = read_lines(path);
    g_autoptr(GPtrArray) kept = kept_objects(r);
    g_assert_cmpuint(g_strv_length(lines), ==, kept->len);
    const int want_cls[] = { 0, 1, 0, 2, 3 };
    for (guint i = 0; i < kept->len; i++) {
        const pali_object *o = g_ptr_array_index(kept, i);
        g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
        g_assert_cmpuint(g_strv_length(f), ==, 5);
        g_assert_cmpint(atoi(f[0]), ==, want_cls[i]);
        double cx = g_ascii_strtod(f[1], NULL), cy = g_ascii_strtod(f[2], NULL);
        double w = g_ascii_strtod(f[3], NULL), h = g_ascii_strtod(f[4], NULL);
        int x1 = CLAMP(o->box[0], 0, IMG_W), y1 = CLAMP(o->box[1], 0, IMG_H);
        int x2 = CLAMP(o->box[2], 0, IMG_W), y2 = CLAMP(o->box[3], 0, IMG_H);
        g_assert_cmpfloat(fabs((cx - w / 2) * IMG_W - x1), <, 1e-3);
        g_assert_cmpfloat(fabs((cx + w / 2) * IMG_W - x2), <, 1e-3);
        g_assert_cmpfloat(fabs((cy - h / 2) * IMG_H - y1), <, 1e-3);
        g_assert_cmpfloat(fabs((cy + h / 2) * IMG_H - y2), <, 1e-3);
    }
    pali_result_free(r);
}

static void test_yolo_seg(void)
{
    pali_result *r = scene_result();
    g_autoptr(LensExport) exp = lens_export_new();
    g_autoptr(GError) error = NULL;
    lens_export_add_image(exp, "scene.jpg", r, &error);
    g_autofree char *path = tmp_path("seg.txt");
    g_assert_true(lens_export_write_yolo(exp, 0, TRUE, path, &error));
    g_auto(GStrv) lines = read_lines(path);
    g_autoptr(GPtrArray) kept = kept_objects(r);
    g_assert_cmpuint(g_strv_length(lines), ==, kept->len);
    for (guint i = 0; i < kept->len; i++) {
        const pali_object *o = g_ptr_array_index(kept, i);
        g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
        guint n = g_strv_length(f);
        g_assert_cmpuint(n % 2, ==, 1);
        g_assert_cmpuint(n, >=, 9);
        GArray *xy = g_array_new(FALSE, FALSE, sizeof(double));
        for (guint k = 1; k < n; k++) {
            double v = g_ascii_strtod(f[k], NULL);
            g_assert_cmpfloat(v, >=, 0);
            g_assert_cmpfloat(v, <=, 1);
            v *= k % 2 ? IMG_W : IMG_H;
            g_array_append_val(xy, v);
        }
        GPtrArray *polys =
            g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
        g_ptr_array_add(polys, xy);
        guint8 *m = polygons_fill(polys, IMG_W, IMG_H);
        guint8 *full = full_binary(o, IMG_W, IMG_H);
        if (o->mask_raw == NULL) {
            /* the box's rectangle */
            int x1 = CLAMP(o->box[0], 0, IMG_W),
                y1 = CLAMP(o->box[1], 0, IMG_H);
            int x2 = CLAMP(o->box[2], 0, IMG_W),
                y2 = CLAMP(o->box[3], 0, IMG_H);
            g_assert_cmpint(count_ones(m, IMG_W * IMG_H), ==,
                            (gint64)(x2 - x1) * (y2 - y1));
        } else {
            /* the largest outer boundary: inside the mask's filled shape,
             * with exactly that boundary's area */
            g_autoptr(GPtrArray) cs =
                lens_contour_trace(full, IMG_W, IMG_H, IMG_W, 1);
            const LensContour *big = lens_contour_largest(cs);
            g_assert_cmpint(count_ones(m, IMG_W * IMG_H), ==, big->area);
            guint8 *filled = holes_filled(full, IMG_W, IMG_H);
            for (int p = 0; p < IMG_W * IMG_H; p++)
                g_assert_true(!m[p] || filled[p]);
            g_free(filled);
        }
        g_free(full);
        g_free(m);
        g_ptr_array_unref(polys);
    }
    pali_result_free(r);
}

static void test_several_images(void)
{
    pali_result *r = scene_result();
    pali_result *r2 = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_result_parse("<loc0000><loc0000><loc0512><loc0512> "
                                      "tree ; <loc0100><loc0100><loc0200>"
                                      "<loc0200> cat",
                                      64, 48, NULL, &r2, &err),
                    ==, PALI_OK);
    g_autoptr(LensExport) exp = lens_export_new();
    g_autoptr(GError) error = NULL;
    lens_export_add_image(exp, "one.jpg", r, &error);
    g_assert_cmpint(lens_export_add_image(exp, "two.jpg", r2, &error), ==, 2);
    g_assert_cmpint(lens_export_get_n_images(exp), ==, 2);
    g_assert_cmpint(lens_export_get_n_categories(exp), ==, 5);
    g_assert_cmpstr(lens_export_get_category(exp, 4), ==, "tree");
    g_autofree char *path = tmp_path("two.json");
    g_assert_true(lens_export_write_coco(exp, path, FALSE, &error));
    pali_json_doc *doc = NULL;
    const pali_json *root = coco_load(path, &doc);
    const pali_json *anns = pali_json_get(root, "annotations");
    g_assert_cmpuint(anns->len, ==, 7);
    const pali_json *last = &anns->u.items[6];
    g_assert_cmpint(pali_json_get(last, "image_id")->integer, ==, 2);
    g_assert_cmpint(pali_json_get(last, "category_id")->integer, ==, 1);
    g_assert_cmpint(pali_json_get(last, "id")->integer, ==, 7);
    pali_json_free(doc);
    /* per-image formats: the second image, and one that does not exist */
    g_autofree char *voc = tmp_path("two.xml");
    g_assert_true(lens_export_write_voc(exp, 1, voc, &error));
    g_assert_false(lens_export_write_voc(exp, 2, voc, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_false(lens_export_write_yolo(exp, -1, FALSE, voc, &error));
    g_clear_error(&error);
    pali_result_free(r);
    pali_result_free(r2);
}

static void test_atomic_and_errors(void)
{
    pali_result *r = scene_result();
    g_autoptr(LensExport) exp = lens_export_new();
    g_autoptr(GError) error = NULL;
    lens_export_add_image(exp, "scene.jpg", r, &error);
    g_autofree char *dir = tmp_path("atomic");
    g_mkdir(dir, 0700);
    g_autofree char *path = g_build_filename(dir, "out.json", NULL);
    g_assert_true(g_file_set_contents(path, "old", -1, NULL));
    const LensExportFormat formats[] = { LENS_EXPORT_COCO, LENS_EXPORT_COCO_RLE,
                                         LENS_EXPORT_VOC, LENS_EXPORT_YOLO,
                                         LENS_EXPORT_YOLO_SEG };
    for (guint f = 0; f < G_N_ELEMENTS(formats); f++)
        g_assert_true(lens_export_save(exp, formats[f], path, &error));
    /* only the file itself and classes.txt: no temporary files left */
    GDir *d = g_dir_open(dir, 0, NULL);
    int n = 0;
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        g_assert_true(strcmp(name, "out.json") == 0 ||
                      strcmp(name, "classes.txt") == 0);
        n++;
    }
    g_dir_close(d);
    g_assert_cmpint(n, ==, 2);
    /* a directory that does not exist */
    g_assert_false(lens_export_save(exp, LENS_EXPORT_COCO,
                                    "/nonexistent/dir/out.json", &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
    /* format names */
    for (guint f = 0; f < G_N_ELEMENTS(formats); f++) {
        LensExportFormat back;
        g_assert_true(lens_export_format_from_name(
            lens_export_format_name(formats[f]), &back));
        g_assert_cmpint(back, ==, formats[f]);
    }
    LensExportFormat x;
    g_assert_false(lens_export_format_from_name("csv", &x));
    g_assert_false(lens_export_format_from_name(NULL, &x));
    pali_result_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_autofree char *path = test_data_path("segmentation/vae-random.npz");
    pali_error err = { 0 };
    if (pali_vae_load(path, &vae, &err) != PALI_OK)
        g_error("%s", err.message);
    g_test_add_func("/app/export/coco-rle", test_coco_rle);
    g_test_add_func("/app/export/coco-polygons", test_coco_polygons);
    g_test_add_func("/app/export/voc", test_voc);
    g_test_add_func("/app/export/yolo", test_yolo);
    g_test_add_func("/app/export/yolo-seg", test_yolo_seg);
    g_test_add_func("/app/export/several-images", test_several_images);
    g_test_add_func("/app/export/atomic-and-errors", test_atomic_and_errors);
    int rc = g_test_run();
    pali_vae_free(vae);
    return rc;
}
