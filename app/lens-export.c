/* lens-export.c — COCO, Pascal VOC and YOLO writers (see lens-export.h).
 *
 * COCO (cocodataset.org/#format-data): bbox [x, y, width, height] in
 * pixels, area = mask pixels (box area without a mask), iscrowd 0,
 * segmentation as polygons [[x1, y1, x2, y2, …], …] — the outer boundaries
 * of the mask along pixel edges (lens-contour.c); COCO polygons cannot
 * hold holes, so holes are filled — or as uncompressed RLE {"size": [h,
 * w], "counts": […]}: run lengths over the image in column-major order,
 * starting with a run of zeros (which may be empty), exactly.  Pascal VOC:
 * 1-based pixel indices, xmin = x1 + 1 … xmax = x2 (inclusive last pixel),
 * truncated = 1 when the parsed box left the image.  YOLO (Ultralytics):
 * "class cx cy w h" normalised to 0..1; segmentation lines "class x1 y1 x2
 * y2 …" give one polygon, the mask's largest outer boundary (a box's four
 * corners without a mask). */
#include "config.h"

#include "lens-export.h"

#include <gio/gio.h>
#include <string.h>

#include "lens-contour.h"
#include "lens-json.h"

/* The category of an object without a label. */
#define UNLABELED_CATEGORY "object"
/* YOLO coordinates: enough digits for 1/10 pixel on 10,000-pixel images. */
#define YOLO_DIGITS "%.6f"

typedef struct {
    int category;
    int box[4];         /* x1 y1 x2 y2 clipped to the image */
    gboolean truncated; /* the parsed box reached outside the image */
    guint8 *mask;       /* 0/1, (mask_h, mask_w) at mask_x, mask_y; NULL */
    int mask_x, mask_y, mask_w, mask_h;
    gint64 area;
} ExportObject;

typedef struct {
    char *file_name;
    int width, height;
    GArray *objects; /* ExportObject */
} ExportImage;

struct _LensExport {
    GPtrArray *images;          /* ExportImage */
    GPtrArray *categories;      /* char *, in id order */
    GHashTable *category_index; /* name → index + 1 */
};

static const char *const format_names[] = {
    [LENS_EXPORT_COCO] = "coco",         [LENS_EXPORT_COCO_RLE] = "coco-rle",
    [LENS_EXPORT_VOC] = "voc",           [LENS_EXPORT_YOLO] = "yolo",
    [LENS_EXPORT_YOLO_SEG] = "yolo-seg",
};

gboolean lens_export_format_from_name(const char *name,
                                      LensExportFormat *format)
{
    for (guint i = 0; name != NULL && i < G_N_ELEMENTS(format_names); i++)
        if (g_strcmp0(name, format_names[i]) == 0) {
            *format = (LensExportFormat)i;
            return TRUE;
        }
    return FALSE;
}

const char *lens_export_format_name(LensExportFormat format)
{
    return (guint)format < G_N_ELEMENTS(format_names) ? format_names[format]
                                                      : NULL;
}

static void object_clear(gpointer p)
{
    g_free(((ExportObject *)p)->mask);
}

static void image_free(gpointer p)
{
    ExportImage *im = p;
    g_free(im->file_name);
    g_array_unref(im->objects);
    g_free(im);
}

LensExport *lens_export_new(void)
{
    LensExport *self = g_new0(LensExport, 1);
    self->images = g_ptr_array_new_with_free_func(image_free);
    self->categories = g_ptr_array_new_with_free_func(g_free);
    self->category_index = g_hash_table_new(g_str_hash, g_str_equal);
    return self;
}

void lens_export_free(LensExport *self)
{
    if (self == NULL)
        return;
    g_ptr_array_unref(self->images);
    g_hash_table_unref(self->category_index);
    g_ptr_array_unref(self->categories);
    g_free(self);
}

static int category_of(LensExport *self, const char *name)
{
    g_autofree char *label = g_strstrip(g_strdup(name ? name : ""));
    if (label[0] == 0) {
        g_free(label);
        label = g_strdup(UNLABELED_CATEGORY);
    }
    gpointer v = g_hash_table_lookup(self->category_index, label);
    if (v != NULL)
        return GPOINTER_TO_INT(v) - 1;
    char *owned = g_steal_pointer(&label);
    g_ptr_array_add(self->categories, owned);
    int index = (int)self->categories->len - 1;
    g_hash_table_insert(self->category_index, owned,
                        GINT_TO_POINTER(index + 1));
    return index;
}

int lens_export_add_image(LensExport *self, const char *file_name,
                          const pali_result *result, GError **error)
{
    g_return_val_if_fail(self != NULL && result != NULL, -1);
    ExportImage *im = g_new0(ExportImage, 1);
    im->file_name = g_strdup(file_name ? file_name : "");
    im->width = result->width;
    im->height = result->height;
    im->objects = g_array_new(FALSE, TRUE, sizeof(ExportObject));
    g_array_set_clear_func(im->objects, object_clear);
    for (size_t i = 0; i < result->n_spans; i++) {
        const pali_object *p = &result->spans[i];
        if (p->kind != PALI_SPAN_OBJECT)
            continue;
        ExportObject o = { 0 };
        o.box[0] = CLAMP(p->box[0], 0, result->width);
        o.box[1] = CLAMP(p->box[1], 0, result->height);
        o.box[2] = CLAMP(p->box[2], 0, result->width);
        o.box[3] = CLAMP(p->box[3], 0, result->height);
        if (o.box[2] <= o.box[0] || o.box[3] <= o.box[1])
            continue; /* nothing to annotate */
        o.truncated = (p->flags & PALI_OBJECT_BOX_OUTSIDE) != 0;
        o.area = (gint64)(o.box[2] - o.box[0]) * (o.box[3] - o.box[1]);
        if (p->mask_raw != NULL && p->mask_w > 0 && p->mask_h > 0) {
            o.mask = g_malloc((gsize)p->mask_w * p->mask_h);
            pali_error err = { 0 };
            if (pali_object_binary_mask(p, o.mask, &err) != PALI_OK) {
                g_free(o.mask);
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                            "%s: object %zu: %s", im->file_name, i,
                            err.message);
                image_free(im);
                return -1;
            }
            o.mask_x = p->mask_x;
            o.mask_y = p->mask_y;
            o.mask_w = p->mask_w;
            o.mask_h = p->mask_h;
            o.area = 0;
            for (gsize k = 0; k < (gsize)o.mask_w * o.mask_h; k++)
                o.area += o.mask[k];
        }
        o.category = category_of(self, p->name);
        g_array_append_val(im->objects, o);
    }
    g_ptr_array_add(self->images, im);
    return (int)im->objects->len;
}

int lens_export_get_n_images(const LensExport *self)
{
    return (int)self->images->len;
}

int lens_export_get_n_categories(const LensExport *self)
{
    return (int)self->categories->len;
}

const char *lens_export_get_category(const LensExport *self, int index)
{
    g_return_val_if_fail(index >= 0 && (guint)index < self->categories->len,
                         NULL);
    return g_ptr_array_index(self->categories, index);
}

void lens_export_json_rle(LensJson *json, const guint8 *mask, int mask_x,
                          int mask_y, int mask_w, int mask_h, int width,
                          int height)
{
    lens_json_begin_object(json);
    lens_json_key(json, "size");
    lens_json_begin_array(json);
    lens_json_int(json, height);
    lens_json_int(json, width);
    lens_json_end_array(json);
    lens_json_key(json, "counts");
    lens_json_begin_array(json);
    gboolean value = FALSE; /* runs start with zeros */
    gint64 run = 0;
    for (int x = 0; x < width; x++)
        for (int y = 0; y < height; y++) {
            int mx = x - mask_x, my = y - mask_y;
            gboolean v = mx >= 0 && my >= 0 && mx < mask_w && my < mask_h &&
                         mask[(gsize)my * mask_w + mx];
            if (v != value) {
                lens_json_int(json, run);
                value = v;
                run = 0;
            }
            run++;
        }
    lens_json_int(json, run);
    lens_json_end_array(json);
    lens_json_end_object(json);
}

static void write_rle(LensJson *json, const ExportImage *im,
                      const ExportObject *o)
{
    lens_export_json_rle(json, o->mask, o->mask_x, o->mask_y, o->mask_w,
                         o->mask_h, im->width, im->height);
}

static GPtrArray *trace_mask(const ExportObject *o)
{
    return lens_contour_trace(o->mask, o->mask_w, o->mask_h, o->mask_w, 1);
}

static void write_polygons(LensJson *json, const ExportObject *o)
{
    lens_json_begin_array(json);
    if (o->mask != NULL) {
        g_autoptr(GPtrArray) contours = trace_mask(o);
        for (guint c = 0; c < contours->len; c++) {
            const LensContour *k = g_ptr_array_index(contours, c);
            if (k->hole)
                continue;
            lens_json_begin_array(json);
            for (int p = 0; p < k->n_points; p++) {
                lens_json_int(json, o->mask_x + k->xy[2 * p]);
                lens_json_int(json, o->mask_y + k->xy[2 * p + 1]);
            }
            lens_json_end_array(json);
        }
    }
    lens_json_end_array(json);
}

static gboolean save(const char *path, const char *text, GError **error)
{
    /* g_file_set_contents writes a temporary file and renames it. */
    return g_file_set_contents(path, text, -1, error);
}

gboolean lens_export_write_coco(const LensExport *self, const char *path,
                                gboolean rle, GError **error)
{
    g_autoptr(LensJson) json = lens_json_new(FALSE);
    lens_json_begin_object(json);
    lens_json_key(json, "info");
    lens_json_begin_object(json);
    lens_json_key(json, "description");
    lens_json_string(json, "PaliLens export (PaliGemma 2)");
    lens_json_key(json, "version");
    lens_json_string(json, PACKAGE_VERSION);
    lens_json_end_object(json);
    lens_json_key(json, "licenses");
    lens_json_begin_array(json);
    lens_json_end_array(json);
    lens_json_key(json, "images");
    lens_json_begin_array(json);
    for (guint i = 0; i < self->images->len; i++) {
        const ExportImage *im = g_ptr_array_index(self->images, i);
        lens_json_begin_object(json);
        lens_json_key(json, "id");
        lens_json_int(json, i + 1);
        lens_json_key(json, "file_name");
        lens_json_string(json, im->file_name);
        lens_json_key(json, "width");
        lens_json_int(json, im->width);
        lens_json_key(json, "height");
        lens_json_int(json, im->height);
        lens_json_end_object(json);
    }
    lens_json_end_array(json);
    lens_json_key(json, "categories");
    lens_json_begin_array(json);
    for (guint c = 0; c < self->categories->len; c++) {
        lens_json_begin_object(json);
        lens_json_key(json, "id");
        lens_json_int(json, c + 1);
        lens_json_key(json, "name");
        lens_json_string(json, g_ptr_array_index(self->categories, c));
        lens_json_key(json, "supercategory");
        lens_json_string(json, UNLABELED_CATEGORY);
        lens_json_end_object(json);
    }
    lens_json_end_array(json);
    lens_json_key(json, "annotations");
    lens_json_begin_array(json);
    gint64 id = 0;
    for (guint i = 0; i < self->images->len; i++) {
        const ExportImage *im = g_ptr_array_index(self->images, i);
        for (guint k = 0; k < im->objects->len; k++) {
            const ExportObject *o =
                &g_array_index(im->objects, ExportObject, k);
            lens_json_begin_object(json);
            lens_json_key(json, "id");
            lens_json_int(json, ++id);
            lens_json_key(json, "image_id");
            lens_json_int(json, i + 1);
            lens_json_key(json, "category_id");
            lens_json_int(json, o->category + 1);
            lens_json_key(json, "bbox");
            lens_json_begin_array(json);
            lens_json_int(json, o->box[0]);
            lens_json_int(json, o->box[1]);
            lens_json_int(json, o->box[2] - o->box[0]);
            lens_json_int(json, o->box[3] - o->box[1]);
            lens_json_end_array(json);
            lens_json_key(json, "area");
            lens_json_int(json, o->area);
            lens_json_key(json, "iscrowd");
            lens_json_int(json, 0);
            lens_json_key(json, "segmentation");
            if (rle && o->mask != NULL)
                write_rle(json, im, o);
            else
                write_polygons(json, o);
            lens_json_end_object(json);
        }
    }
    lens_json_end_array(json);
    lens_json_end_object(json);
    return save(path, lens_json_peek(json), error);
}

static const ExportImage *get_image(const LensExport *self, int image,
                                    const char *path, GError **error)
{
    if (image < 0 || (guint)image >= self->images->len) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: no image %d to export (%u added)", path, image,
                    self->images->len);
        return NULL;
    }
    return g_ptr_array_index(self->images, image);
}

gboolean lens_export_write_voc(const LensExport *self, int image,
                               const char *path, GError **error)
{
    const ExportImage *im = get_image(self, image, path, error);
    if (im == NULL)
        return FALSE;
    g_autoptr(GString) x = g_string_new("<annotation>\n");
    g_autofree char *file = g_markup_escape_text(im->file_name, -1);
    g_string_append_printf(x,
                           "  <filename>%s</filename>\n"
                           "  <source><database>PaliLens</database></source>\n"
                           "  <size>\n"
                           "    <width>%d</width>\n"
                           "    <height>%d</height>\n"
                           "    <depth>3</depth>\n"
                           "  </size>\n"
                           "  <segmented>0</segmented>\n",
                           file, im->width, im->height);
    for (guint k = 0; k < im->objects->len; k++) {
        const ExportObject *o = &g_array_index(im->objects, ExportObject, k);
        g_autofree char *name = g_markup_escape_text(
            g_ptr_array_index(self->categories, o->category), -1);
        g_string_append_printf(x,
                               "  <object>\n"
                               "    <name>%s</name>\n"
                               "    <pose>Unspecified</pose>\n"
                               "    <truncated>%d</truncated>\n"
                               "    <difficult>0</difficult>\n"
                               "    <bndbox>\n"
                               "      <xmin>%d</xmin>\n"
                               "      <ymin>%d</ymin>\n"
                               "      <xmax>%d</xmax>\n"
                               "      <ymax>%d</ymax>\n"
                               "    </bndbox>\n"
                               "  </object>\n",
                               name, o->truncated ? 1 : 0, o->box[0] + 1,
                               o->box[1] + 1, o->box[2], o->box[3]);
    }
    g_string_append(x, "</annotation>\n");
    return save(path, x->str, error);
}

static void append_coord(GString *s, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_c(s, ' ');
    /* g_ascii_formatd: a '.' whatever the locale */
    g_string_append(s, g_ascii_formatd(buf, sizeof(buf), YOLO_DIGITS, v));
}

gboolean lens_export_write_yolo(const LensExport *self, int image,
                                gboolean segmentation, const char *path,
                                GError **error)
{
    const ExportImage *im = get_image(self, image, path, error);
    if (im == NULL)
        return FALSE;
    g_autoptr(GString) s = g_string_new(NULL);
    double w = im->width, h = im->height;
    for (guint k = 0; k < im->objects->len; k++) {
        const ExportObject *o = &g_array_index(im->objects, ExportObject, k);
        g_string_append_printf(s, "%d", o->category);
        if (!segmentation) {
            append_coord(s, (o->box[0] + o->box[2]) / 2.0 / w);
            append_coord(s, (o->box[1] + o->box[3]) / 2.0 / h);
            append_coord(s, (o->box[2] - o->box[0]) / w);
            append_coord(s, (o->box[3] - o->box[1]) / h);
        } else {
            g_autoptr(GPtrArray) contours =
                o->mask != NULL ? trace_mask(o) : NULL;
            const LensContour *c = lens_contour_largest(contours);
            if (c != NULL) {
                for (int p = 0; p < c->n_points; p++) {
                    append_coord(s, (o->mask_x + c->xy[2 * p]) / w);
                    append_coord(s, (o->mask_y + c->xy[2 * p + 1]) / h);
                }
            } else { /* no mask (or an empty one): the box */
                const int corners[4][2] = {
                    { 0, 1 }, { 0, 3 }, { 2, 3 }, { 2, 1 }
                };
                for (int p = 0; p < 4; p++) {
                    append_coord(s, o->box[corners[p][0]] / w);
                    append_coord(s, o->box[corners[p][1]] / h);
                }
            }
        }
        g_string_append_c(s, '\n');
    }
    return save(path, s->str, error);
}

gboolean lens_export_write_yolo_classes(const LensExport *self,
                                        const char *path, GError **error)
{
    g_autoptr(GString) s = g_string_new(NULL);
    for (guint c = 0; c < self->categories->len; c++) {
        g_autofree char *one = g_strdup(g_ptr_array_index(self->categories, c));
        /* a name is one line */
        g_strdelimit(one, "\r\n", ' ');
        g_string_append_printf(s, "%s\n", one);
    }
    return save(path, s->str, error);
}

gboolean lens_export_save(const LensExport *self, LensExportFormat format,
                          const char *path, GError **error)
{
    switch (format) {
    case LENS_EXPORT_COCO:
        return lens_export_write_coco(self, path, FALSE, error);
    case LENS_EXPORT_COCO_RLE:
        return lens_export_write_coco(self, path, TRUE, error);
    case LENS_EXPORT_VOC: return lens_export_write_voc(self, 0, path, error);
    case LENS_EXPORT_YOLO:
    case LENS_EXPORT_YOLO_SEG: {
        if (!lens_export_write_yolo(self, 0, format == LENS_EXPORT_YOLO_SEG,
                                    path, error))
            return FALSE;
        g_autofree char *dir = g_path_get_dirname(path);
        g_autofree char *classes = g_build_filename(dir, "classes.txt", NULL);
        return lens_export_write_yolo_classes(self, classes, error);
    }
    }
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "%s: unknown export format %d", path, (int)format);
    return FALSE;
}
