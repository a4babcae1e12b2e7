/* test-e2e-objects.c — from forced model output to objects and exports.
 *
 * A tiny golden model is made to "generate" the texts of segmentation
 * parse cases by teacher forcing (pali_generate_params.forced_ids): the
 * output text must round-trip exactly, parse into the reference's objects
 * (boxes, labels, seg codes, mask sums with the random mask decoder), and
 * the COCO export of those objects must read back with the same boxes and
 * mask areas. */
#include <math.h>
#include <string.h>

#include "json.h"
#include "lens-export.h"
#include "pali.h"
#include "testutil.h"

/* segmentation/README.md §7: mask sums within 1e-4 relative. */
#define TOL_U8_SUM_REL 1e-4

typedef struct {
    pali_model *model;
    pali_session *session;
    pali_vae *vae;
    pali_json_doc *cases;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    pali_error err = { 0 };
    g_autofree char *dir = test_data_path("golden/tiny-224");
    g_assert_cmpint(pali_model_load(dir, NULL, &f->model, &err), ==, PALI_OK);
    g_assert_cmpint(pali_session_new(f->model, NULL, &f->session, &err), ==,
                    PALI_OK);
    g_autofree char *vae = test_data_path("segmentation/vae-random.npz");
    g_assert_cmpint(pali_vae_load(vae, &f->vae, &err), ==, PALI_OK);
    g_autofree char *cases = test_data_path("segmentation/parse_cases.json");
    g_assert_cmpint(pali_json_parse_file(cases, 16 << 20, &f->cases, &err), ==,
                    PALI_OK);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    pali_json_free(f->cases);
    pali_vae_free(f->vae);
    pali_session_free(f->session);
    pali_model_free(f->model);
}

/* Makes the model emit `text` on a blank width × height image. */
static const pali_output *force_text(Fixture *f, const char *text, int width,
                                     int height)
{
    g_autofree guint8 *pixels = g_malloc0((gsize)width * height * 3);
    pali_image img = { pixels, width, height, (size_t)width * 3,
                       PALI_PIXEL_RGB8 };
    pali_error err = { 0 };
    g_assert_cmpint(pali_session_set_image(f->session, &img, NULL, &err), ==,
                    PALI_OK);
    int32_t *ids = NULL;
    size_t n = 0;
    const pali_tokenizer *tok = pali_model_get_tokenizer(f->model);
    g_assert_cmpint(
        pali_tokenizer_encode(tok, text, strlen(text), &ids, &n, &err), ==,
        PALI_OK);
    g_assert_cmpuint(n, >, 0);
    pali_generate_params gp = pali_generate_default_params();
    gp.forced_ids = ids;
    gp.n_forced = (int)n;
    const pali_output *out = NULL;
    g_assert_cmpint(pali_session_generate(f->session, "segment a ; b", &gp,
                                          NULL, &out, &err),
                    ==, PALI_OK);
    pali_free(ids);
    g_assert_cmpint(out->n_generated, ==, (int)n);
    return out;
}

static const pali_json *find_case(Fixture *f, const char *prefix)
{
    const pali_json *cases = pali_json_get(pali_json_root(f->cases), "cases");
    for (uint32_t i = 0; i < cases->len; i++) {
        const pali_json *c = &cases->u.items[i];
        const pali_json *t = pali_json_get(c, "text");
        if (pali_json_is(pali_json_get(c, "reference_raises"),
                         PALI_JSON_NULL) &&
            g_str_has_prefix(t->u.string, prefix))
            return c;
    }
    g_error("no parse case starts with %s", prefix);
}

static void check_objects(const pali_result *r, const pali_json *want)
{
    uint32_t k = 0;
    for (size_t i = 0; i < r->n_spans; i++) {
        const pali_object *o = &r->spans[i];
        g_assert_cmpuint(k, <, want->len);
        const pali_json *w = &want->u.items[k++];
        const char *kind = pali_json_get(w, "kind")->u.string;
        g_assert_cmpstr(kind, ==,
                        o->kind == PALI_SPAN_TEXT ? "text" : "object");
        g_assert_cmpstr(o->content, ==, pali_json_get(w, "content")->u.string);
        if (o->kind == PALI_SPAN_TEXT)
            continue;
        const pali_json *name = pali_json_get(w, "name");
        if (pali_json_is(name, PALI_JSON_NULL))
            g_assert_null(o->name);
        else
            g_assert_cmpstr(o->name, ==, name->u.string);
        const pali_json *xyxy = pali_json_get(w, "xyxy");
        for (int b = 0; b < 4; b++)
            g_assert_cmpint(o->box[b], ==, xyxy->u.items[b].integer);
        const pali_json *mask = pali_json_get(w, "mask");
        if (pali_json_is(mask, PALI_JSON_NULL)) {
            g_assert_null(o->mask);
            continue;
        }
        g_assert_nonnull(o->mask);
        double sum = 0;
        for (gsize p = 0; p < (gsize)o->mask_w * o->mask_h; p++)
            sum += o->mask[p];
        double want_sum = pali_json_get(mask, "u8_sum")->u.number;
        g_assert_cmpfloat(fabs(sum - want_sum), <=,
                          TOL_U8_SUM_REL * fmax(want_sum, 1.0));
    }
    g_assert_cmpuint(k, ==, want->len);
}

/* COCO RLE counts → the number of set pixels. */
static gint64 rle_area(const pali_json *rle)
{
    const pali_json *counts = pali_json_get(rle, "counts");
    gint64 area = 0;
    for (uint32_t i = 1; i < counts->len; i += 2)
        area += counts->u.items[i].integer;
    return area;
}

static void check_export(const pali_result *r)
{
    g_autoptr(LensExport) exp = lens_export_new();
    g_autoptr(GError) error = NULL;
    int kept = lens_export_add_image(exp, "blank.png", r, &error);
    g_assert_no_error(error);
    g_autofree char *path =
        g_build_filename(test_tmpdir(), "e2e-coco.json", NULL);
    g_assert_true(lens_export_write_coco(exp, path, TRUE, &error));
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_json_parse_file(path, 64 << 20, &doc, &err), ==,
                    PALI_OK);
    const pali_json *anns = pali_json_get(pali_json_root(doc), "annotations");
    g_assert_cmpint((int)anns->len, ==, kept);
    uint32_t a = 0;
    for (size_t i = 0; i < r->n_spans; i++) {
        const pali_object *o = &r->spans[i];
        if (o->kind != PALI_SPAN_OBJECT || o->box[2] <= o->box[0] ||
            o->box[3] <= o->box[1])
            continue;
        const pali_json *ann = &anns->u.items[a++];
        const pali_json *bbox = pali_json_get(ann, "bbox");
        int x1 = CLAMP(o->box[0], 0, r->width);
        int y1 = CLAMP(o->box[1], 0, r->height);
        int x2 = CLAMP(o->box[2], 0, r->width);
        int y2 = CLAMP(o->box[3], 0, r->height);
        g_assert_cmpfloat(bbox->u.items[0].u.number, ==, x1);
        g_assert_cmpfloat(bbox->u.items[1].u.number, ==, y1);
        g_assert_cmpfloat(bbox->u.items[2].u.number, ==, x2 - x1);
        g_assert_cmpfloat(bbox->u.items[3].u.number, ==, y2 - y1);
        if (o->mask_raw == NULL)
            continue;
        g_autofree guint8 *bin = g_malloc((gsize)o->mask_w * o->mask_h);
        g_assert_cmpint(pali_object_binary_mask(o, bin, &err), ==, PALI_OK);
        gint64 area = 0;
        for (gsize p = 0; p < (gsize)o->mask_w * o->mask_h; p++)
            area += bin[p] != 0;
        const pali_json *seg = pali_json_get(ann, "segmentation");
        g_assert_cmpint(rle_area(seg), ==, area);
        g_assert_cmpfloat(pali_json_get(ann, "area")->u.number, ==, area);
    }
    g_assert_cmpuint(a, ==, anns->len);
    pali_json_free(doc);
}

static void test_forced(Fixture *f, gconstpointer data)
{
    const pali_json *c = find_case(f, data);
    const char *text = pali_json_get(c, "text")->u.string;
    int w = (int)pali_json_get(c, "width")->integer;
    int h = (int)pali_json_get(c, "height")->integer;
    const pali_output *out = force_text(f, text, w, h);
    g_assert_cmpstr(out->text_with_special, ==, text);
    pali_result *r = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(
        pali_result_parse(out->text_with_special, w, h, f->vae, &r, &err), ==,
        PALI_OK);
    check_objects(r, pali_json_get(c, "objects"));
    check_export(r);
    pali_result_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* detection: three boxes; segmentation: boxes with masks and labels */
    g_test_add("/e2e/forced/detect", Fixture,
               "<loc0010><loc0020><loc0500><loc0600> cat ; ", fixture_setup,
               test_forced, fixture_teardown);
    g_test_add("/e2e/forced/segment", Fixture,
               "<loc0050><loc0060><loc0070><loc0080> a ; ", fixture_setup,
               test_forced, fixture_teardown);
    g_test_add("/e2e/forced/segment-two", Fixture,
               "<loc0100><loc0100><loc0400><loc0500><seg048>", fixture_setup,
               test_forced, fixture_teardown);
    return g_test_run();
}
