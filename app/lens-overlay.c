/* lens-overlay.c — boxes, masks and labels of a pali_result as drawable
 * data (see lens-overlay.h).  Drawing follows the HF Space's look (masks
 * as translucent colour over the photo, boxes outlined in the label's
 * colour, the label on a filled tag above the box) but in device pixels,
 * so it stays sharp at any zoom. */
#include "config.h"

#include "lens-overlay.h"

#include <gio/gio.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "lens-contour.h"

/* A soft mask counts as "on" from 50 % (the demo's 8-bit mask ≥ 128). */
#define MASK_ON 128
/* The highlighted object: lines this much wider, mask this much denser. */
#define HIGHLIGHT_LINE_FACTOR    2.0
#define HIGHLIGHT_OPACITY_FACTOR 1.6
/* Mask outlines are thinner than boxes. */
#define OUTLINE_LINE_FACTOR 0.5
/* Label tag: padding as a fraction of the font size, and its opacity. */
#define LABEL_PAD_FRACTION 0.25
#define LABEL_TAG_ALPHA    0.85
/* Text on a tag is black when the tag's luma is above this. */
#define LABEL_DARK_TEXT_LUMA 0.6

struct _LensOverlay {
    int width, height;
    GArray *objects;     /* LensOverlayObject */
    GPtrArray *outlines; /* per object: GPtrArray of LensContour, or NULL */
};

static const LensColor palette[] = {
    { 0x4E / 255.0, 0x79 / 255.0, 0xA7 / 255.0 }, /* blue */
    { 0xF2 / 255.0, 0x8E / 255.0, 0x2B / 255.0 }, /* orange */
    { 0xE1 / 255.0, 0x57 / 255.0, 0x59 / 255.0 }, /* red */
    { 0x76 / 255.0, 0xB7 / 255.0, 0xB2 / 255.0 }, /* teal */
    { 0x59 / 255.0, 0xA1 / 255.0, 0x4F / 255.0 }, /* green */
    { 0xED / 255.0, 0xC9 / 255.0, 0x48 / 255.0 }, /* yellow */
    { 0xB0 / 255.0, 0x7A / 255.0, 0xA1 / 255.0 }, /* purple */
    { 0xFF / 255.0, 0x9D / 255.0, 0xA7 / 255.0 }, /* pink */
    { 0x9C / 255.0, 0x75 / 255.0, 0x5F / 255.0 }, /* brown */
    { 0xBA / 255.0, 0xB0 / 255.0, 0xAC / 255.0 }, /* grey */
};

const LensColor *lens_overlay_palette(int *n_colors)
{
    if (n_colors != NULL)
        *n_colors = G_N_ELEMENTS(palette);
    return palette;
}

LensOverlayStyle lens_overlay_style_default(void)
{
    return (LensOverlayStyle){
        .show_boxes = TRUE,
        .show_masks = TRUE,
        .show_labels = TRUE,
        .mask_opacity = 0.45,
        .highlighted = -1,
        .line_width = 2.0,
        .font_size = 13.0,
    };
}

static void object_clear(gpointer p)
{
    LensOverlayObject *o = p;
    g_free(o->label);
    if (o->mask != NULL)
        cairo_surface_destroy(o->mask);
}

static void outlines_free(gpointer p)
{
    if (p != NULL)
        g_ptr_array_unref(p);
}

LensOverlay *lens_overlay_new(const pali_result *result)
{
    g_return_val_if_fail(result != NULL, NULL);
    LensOverlay *self = g_new0(LensOverlay, 1);
    self->width = result->width;
    self->height = result->height;
    self->objects = g_array_new(FALSE, TRUE, sizeof(LensOverlayObject));
    g_array_set_clear_func(self->objects, object_clear);
    self->outlines = g_ptr_array_new_with_free_func(outlines_free);
    g_autoptr(GHashTable) colors =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (size_t i = 0; i < result->n_spans; i++) {
        const pali_object *p = &result->spans[i];
        if (p->kind != PALI_SPAN_OBJECT)
            continue;
        LensOverlayObject o = { 0 };
        o.label = g_strstrip(g_strdup(p->name ? p->name : ""));
        o.span_index = (int)i;
        memcpy(o.box, p->box, sizeof(o.box));
        o.clip[0] = CLAMP(p->box[0], 0, result->width);
        o.clip[1] = CLAMP(p->box[1], 0, result->height);
        o.clip[2] = CLAMP(p->box[2], o.clip[0], result->width);
        o.clip[3] = CLAMP(p->box[3], o.clip[1], result->height);
        o.flags = p->flags;
        gpointer idx;
        if (!g_hash_table_lookup_extended(colors, o.label, NULL, &idx)) {
            idx = GINT_TO_POINTER(g_hash_table_size(colors));
            g_hash_table_insert(colors, g_strdup(o.label), idx);
        }
        o.color_index = GPOINTER_TO_INT(idx) % (int)G_N_ELEMENTS(palette);
        o.color = palette[o.color_index];
        o.area = (gint64)(o.clip[2] - o.clip[0]) * (o.clip[3] - o.clip[1]);
        GPtrArray *outline = NULL;
        if (p->mask != NULL && p->mask_w > 0 && p->mask_h > 0) {
            o.mask = cairo_image_surface_create(CAIRO_FORMAT_A8, p->mask_w,
                                                p->mask_h);
            cairo_surface_flush(o.mask);
            guint8 *dst = cairo_image_surface_get_data(o.mask);
            int stride = cairo_image_surface_get_stride(o.mask);
            o.area = 0;
            for (int y = 0; y < p->mask_h; y++) {
                const uint8_t *row = p->mask + (gsize)y * p->mask_w;
                memcpy(dst + (gsize)y * stride, row, (gsize)p->mask_w);
                for (int x = 0; x < p->mask_w; x++)
                    o.area += row[x] >= MASK_ON;
            }
            cairo_surface_mark_dirty(o.mask);
            o.mask_x = p->mask_x;
            o.mask_y = p->mask_y;
            o.mask_w = p->mask_w;
            o.mask_h = p->mask_h;
            outline = lens_contour_trace(p->mask, p->mask_w, p->mask_h,
                                         p->mask_w, MASK_ON);
        }
        g_array_append_val(self->objects, o);
        g_ptr_array_add(self->outlines, outline);
    }
    return self;
}

void lens_overlay_free(LensOverlay *self)
{
    if (self == NULL)
        return;
    g_array_unref(self->objects);
    g_ptr_array_unref(self->outlines);
    g_free(self);
}

int lens_overlay_get_width(const LensOverlay *self)
{
    return self->width;
}

int lens_overlay_get_height(const LensOverlay *self)
{
    return self->height;
}

int lens_overlay_get_n_objects(const LensOverlay *self)
{
    return (int)self->objects->len;
}

const LensOverlayObject *lens_overlay_get_object(const LensOverlay *self,
                                                 int index)
{
    g_return_val_if_fail(index >= 0 && (guint)index < self->objects->len, NULL);
    return &g_array_index(self->objects, LensOverlayObject, index);
}

static gboolean box_empty(const LensOverlayObject *o)
{
    return o->clip[2] <= o->clip[0] || o->clip[3] <= o->clip[1];
}

static void draw_mask(const LensOverlay *self, int i, cairo_t *cr, double ox,
                      double oy, double scale, const LensOverlayStyle *style)
{
    const LensOverlayObject *o = lens_overlay_get_object(self, i);
    double opacity = style->mask_opacity;
    if (i == style->highlighted)
        opacity *= HIGHLIGHT_OPACITY_FACTOR;
    cairo_save(cr);
    cairo_translate(cr, ox + o->mask_x * scale, oy + o->mask_y * scale);
    cairo_scale(cr, scale, scale);
    cairo_set_source_rgba(cr, o->color.red, o->color.green, o->color.blue,
                          CLAMP(opacity, 0.0, 1.0));
    cairo_pattern_t *pattern = cairo_pattern_create_for_surface(o->mask);
    /* zoomed in: show the mask's pixels; zoomed out: average them */
    cairo_pattern_set_filter(pattern, scale >= 1.0 ? CAIRO_FILTER_NEAREST
                                                   : CAIRO_FILTER_GOOD);
    cairo_mask(cr, pattern);
    cairo_pattern_destroy(pattern);
    cairo_restore(cr);

    GPtrArray *outline = g_ptr_array_index(self->outlines, i);
    double lw = style->line_width * OUTLINE_LINE_FACTOR *
                (i == style->highlighted ? HIGHLIGHT_LINE_FACTOR : 1.0);
    if (outline == NULL || outline->len == 0 || lw <= 0)
        return;
    cairo_new_path(cr);
    for (guint c = 0; c < outline->len; c++) {
        const LensContour *k = g_ptr_array_index(outline, c);
        for (int p = 0; p < k->n_points; p++) {
            double x = ox + (o->mask_x + k->xy[2 * p]) * scale;
            double y = oy + (o->mask_y + k->xy[2 * p + 1]) * scale;
            if (p == 0)
                cairo_move_to(cr, x, y);
            else
                cairo_line_to(cr, x, y);
        }
        cairo_close_path(cr);
    }
    cairo_set_source_rgb(cr, o->color.red, o->color.green, o->color.blue);
    cairo_set_line_width(cr, MAX(lw, 1.0));
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_stroke(cr);
}

/* The box's edges in device pixels, rounded, so that strokes drawn just
 * inside them cover whole pixels. */
static void device_box(const LensOverlayObject *o, double ox, double oy,
                       double scale, double d[4])
{
    d[0] = round(ox + o->clip[0] * scale);
    d[1] = round(oy + o->clip[1] * scale);
    d[2] = round(ox + o->clip[2] * scale);
    d[3] = round(oy + o->clip[3] * scale);
}

static void draw_box(const LensOverlayObject *o, gboolean highlighted,
                     cairo_t *cr, double ox, double oy, double scale,
                     const LensOverlayStyle *style)
{
    double d[4];
    device_box(o, ox, oy, scale, d);
    double lw = style->line_width * (highlighted ? HIGHLIGHT_LINE_FACTOR : 1);
    if (lw <= 0)
        return;
    cairo_set_source_rgb(cr, o->color.red, o->color.green, o->color.blue);
    double w = d[2] - d[0], h = d[3] - d[1];
    if (w <= 2 * lw || h <= 2 * lw) { /* too small for a hollow frame */
        cairo_rectangle(cr, d[0], d[1], MAX(w, 1.0), MAX(h, 1.0));
        cairo_fill(cr);
        return;
    }
    /* the stroke lies inside the box: it never covers outside pixels */
    cairo_rectangle(cr, d[0] + lw / 2, d[1] + lw / 2, w - lw, h - lw);
    cairo_set_line_width(cr, lw);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_stroke(cr);
}

static void draw_label(const LensOverlayObject *o, cairo_t *cr, double ox,
                       double oy, double scale, const LensOverlayStyle *style)
{
    if (o->label[0] == 0 || style->font_size <= 0)
        return;
    double d[4];
    device_box(o, ox, oy, scale, d);
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoFontDescription *font = pango_font_description_from_string("Sans");
    pango_font_description_set_absolute_size(font,
                                             style->font_size * PANGO_SCALE);
    pango_layout_set_font_description(layout, font);
    pango_font_description_free(font);
    pango_layout_set_text(layout, o->label, -1);
    int tw = 0, th = 0;
    pango_layout_get_pixel_size(layout, &tw, &th);
    double pad = round(style->font_size * LABEL_PAD_FRACTION);
    double w = tw + 2 * pad, h = th + 2 * pad;
    double x = d[0], y = d[1] - h;
    if (y < oy) /* no room above the image's top: inside the box */
        y = d[1];
    cairo_set_source_rgba(cr, o->color.red, o->color.green, o->color.blue,
                          LABEL_TAG_ALPHA);
    cairo_rectangle(cr, x, y, w, h);
    cairo_fill(cr);
    double luma =
        0.299 * o->color.red + 0.587 * o->color.green + 0.114 * o->color.blue;
    if (luma > LABEL_DARK_TEXT_LUMA)
        cairo_set_source_rgb(cr, 0, 0, 0);
    else
        cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_move_to(cr, x + pad, y + pad);
    pango_cairo_show_layout(cr, layout);
    g_object_unref(layout);
}

void lens_overlay_draw(const LensOverlay *self, cairo_t *cr, double origin_x,
                       double origin_y, double scale,
                       const LensOverlayStyle *style)
{
    g_return_if_fail(self != NULL && cr != NULL && scale > 0);
    LensOverlayStyle def = lens_overlay_style_default();
    if (style == NULL)
        style = &def;
    int n = lens_overlay_get_n_objects(self);
    cairo_save(cr);
    if (style->show_masks)
        for (int i = 0; i < n; i++)
            if (lens_overlay_get_object(self, i)->mask != NULL)
                draw_mask(self, i, cr, origin_x, origin_y, scale, style);
    if (style->show_boxes)
        for (int i = 0; i < n; i++) {
            const LensOverlayObject *o = lens_overlay_get_object(self, i);
            if (!box_empty(o))
                draw_box(o, i == style->highlighted, cr, origin_x, origin_y,
                         scale, style);
        }
    if (style->show_labels)
        for (int i = 0; i < n; i++) {
            const LensOverlayObject *o = lens_overlay_get_object(self, i);
            if (!box_empty(o))
                draw_label(o, cr, origin_x, origin_y, scale, style);
        }
    cairo_restore(cr);
}

int lens_overlay_hit_test(const LensOverlay *self, double x, double y)
{
    g_return_val_if_fail(self != NULL, -1);
    int best = -1;
    gint64 best_area = G_MAXINT64;
    int px = (int)floor(x), py = (int)floor(y);
    for (int i = 0; i < lens_overlay_get_n_objects(self); i++) {
        const LensOverlayObject *o = lens_overlay_get_object(self, i);
        gboolean hit;
        if (o->mask != NULL) {
            int mx = px - o->mask_x, my = py - o->mask_y;
            hit = mx >= 0 && my >= 0 && mx < o->mask_w && my < o->mask_h;
            if (hit) {
                const guint8 *data = cairo_image_surface_get_data(o->mask);
                int stride = cairo_image_surface_get_stride(o->mask);
                hit = data[(gsize)my * stride + mx] >= MASK_ON;
            }
        } else {
            hit = !box_empty(o) && px >= o->clip[0] && px < o->clip[2] &&
                  py >= o->clip[1] && py < o->clip[3];
        }
        if (hit && o->area <= best_area) {
            best = i;
            best_area = o->area;
        }
    }
    return best;
}

cairo_surface_t *lens_surface_from_pixbuf(GdkPixbuf *pixbuf)
{
    int w = gdk_pixbuf_get_width(pixbuf), h = gdk_pixbuf_get_height(pixbuf);
    int n = gdk_pixbuf_get_n_channels(pixbuf);
    int rs = gdk_pixbuf_get_rowstride(pixbuf);
    gboolean alpha = gdk_pixbuf_get_has_alpha(pixbuf);
    const guint8 *src = gdk_pixbuf_read_pixels(pixbuf);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_surface_flush(s);
    guint8 *dst = cairo_image_surface_get_data(s);
    int ds = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++) {
        const guint8 *p = src + (gsize)y * rs;
        guint32 *q = (guint32 *)(void *)(dst + (gsize)y * ds);
        for (int x = 0; x < w; x++, p += n) {
            guint a = alpha ? p[3] : 255;
            /* cairo wants premultiplied alpha */
            guint r = (p[0] * a + 127) / 255, g = (p[1] * a + 127) / 255,
                  b = (p[2] * a + 127) / 255;
            q[x] = (guint32)a << 24 | r << 16 | g << 8 | b;
        }
    }
    cairo_surface_mark_dirty(s);
    return s;
}

cairo_surface_t *lens_overlay_render(const LensOverlay *self, GdkPixbuf *image,
                                     const LensOverlayStyle *style)
{
    g_return_val_if_fail(self != NULL && GDK_IS_PIXBUF(image), NULL);
    cairo_surface_t *s = lens_surface_from_pixbuf(image);
    cairo_t *cr = cairo_create(s);
    /* The overlay is in the parsed image's pixels: follow the pixbuf if it
     * was loaded at another size. */
    double scale = (double)gdk_pixbuf_get_width(image) / self->width;
    lens_overlay_draw(self, cr, 0, 0, scale, style);
    cairo_destroy(cr);
    return s;
}

static cairo_status_t append_png(void *closure, const unsigned char *data,
                                 unsigned int length)
{
    g_byte_array_append(closure, data, length);
    return CAIRO_STATUS_SUCCESS;
}

gboolean lens_overlay_save_png(const LensOverlay *self, GdkPixbuf *image,
                               const LensOverlayStyle *style, const char *path,
                               GError **error)
{
    cairo_surface_t *s = lens_overlay_render(self, image, style);
    g_autoptr(GByteArray) png = g_byte_array_new();
    cairo_status_t st = cairo_surface_write_to_png_stream(s, append_png, png);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "%s: cannot encode the PNG: %s", path,
                    cairo_status_to_string(st));
        return FALSE;
    }
    return g_file_set_contents(path, (const char *)png->data, png->len, error);
}
