/* lens-export.h — detected and segmented objects in the formats annotation
 * tools read: COCO JSON (masks as polygons or as uncompressed RLE), Pascal
 * VOC XML, YOLO txt (boxes, or polygons for YOLO segmentation) with its
 * classes file.
 *
 * Conventions (the same for every format):
 * - Boxes are the parsed boxes (pali_object box) clipped to the image;
 *   objects whose clipped box is empty are left out.
 * - Masks are the evaluator's binary masks (pali_object_binary_mask:
 *   big_vision's raw decoder output resized bilinearly into the box, > 0),
 *   the convention PaliGemma's segmentation scores were measured with.
 *   Objects without a decoded mask are exported as boxes.
 * - Categories are the labels without surrounding blanks, numbered in
 *   order of first appearance over all images added ("object" for an
 *   object without a label).
 * - Every file is written to a temporary file and renamed into place. */
#pragma once

#include <glib.h>

#include "lens-json.h"
#include "pali.h"

G_BEGIN_DECLS

typedef enum {
    LENS_EXPORT_COCO,     /* COCO JSON, masks as polygons */
    LENS_EXPORT_COCO_RLE, /* COCO JSON, masks as uncompressed RLE */
    LENS_EXPORT_VOC,      /* Pascal VOC XML, boxes */
    LENS_EXPORT_YOLO,     /* YOLO txt: class cx cy w h */
    LENS_EXPORT_YOLO_SEG, /* YOLO txt: class x1 y1 x2 y2 … (polygon) */
} LensExportFormat;

/* "coco", "coco-rle", "voc", "yolo", "yolo-seg". */
gboolean lens_export_format_from_name(const char *name,
                                      LensExportFormat *format);
const char *lens_export_format_name(LensExportFormat format);

typedef struct _LensExport LensExport;

LensExport *lens_export_new(void);
void lens_export_free(LensExport *self);

/* Adds an image (its file name as the annotation should name it) and the
 * objects of its result, copied.  Returns the number of objects kept;
 * FALSE-like −1 with `error` set if a mask could not be computed. */
int lens_export_add_image(LensExport *self, const char *file_name,
                          const pali_result *result, GError **error);

int lens_export_get_n_images(const LensExport *self);
int lens_export_get_n_categories(const LensExport *self);
/* Borrowed; category ids are index + 1 in COCO, the index in YOLO. */
const char *lens_export_get_category(const LensExport *self, int index);

/* COCO: one file for every image added. */
gboolean lens_export_write_coco(const LensExport *self, const char *path,
                                gboolean rle, GError **error);
/* VOC and YOLO: one file per image (index in order of adding). */
gboolean lens_export_write_voc(const LensExport *self, int image,
                               const char *path, GError **error);
gboolean lens_export_write_yolo(const LensExport *self, int image,
                                gboolean segmentation, const char *path,
                                GError **error);
/* YOLO's class names, one per line, in id order. */
gboolean lens_export_write_yolo_classes(const LensExport *self,
                                        const char *path, GError **error);

/* The common single-image case: COCO and VOC to `path`; YOLO to `path`
 * and "classes.txt" in the same directory.  Uses the first image. */
gboolean lens_export_save(const LensExport *self, LensExportFormat format,
                          const char *path, GError **error);

/* Writes a binary mask (mask_w × mask_h bytes, non-zero = inside, placed
 * at mask_x, mask_y of a width × height image) as COCO's uncompressed RLE
 * {"size": [height, width], "counts": [...]}: column-major run lengths,
 * starting with a run of zeros. */
void lens_export_json_rle(LensJson *json, const guint8 *mask, int mask_x,
                          int mask_y, int mask_w, int mask_h, int width,
                          int height);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LensExport, lens_export_free)

G_END_DECLS
