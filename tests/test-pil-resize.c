/* test-pil-resize.c — Pillow's resize reproduced bit-exactly: the placement
 * goldens (8-bit BICUBIC into the box, the full-image mask, the evaluator's
 * float BILINEAR and its > 0 mask), end to end from the codes, and the
 * window property (a window equals the same part of the full resize). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pil_resize.h"
#include "seg-testutil.h"
#include "testutil.h"

/* segmentation/README.md §7 */
#define TOL_BV_F32        1e-5
#define TOL_END_TO_END_U8 2

static const char *cases_path(void)
{
    static char *path;
    if (path == NULL)
        path = test_data_path("segmentation/placement_cases.safetensors");
    return path;
}

static SegTensor tensor(const char *name, const char *key)
{
    g_autofree char *full = g_strdup_printf("%s.%s", name, key);
    SegTensor t;
    if (!seg_safetensors_read(cases_path(), full, &t))
        g_error("no %s in %s", full, cases_path());
    return t;
}

static void test_placement(void)
{
    pali_json_doc *doc = seg_json_load("segmentation/placement_cases.json");
    const pali_json *cases = pali_json_get(pali_json_root(doc), "cases");
    g_assert_cmpuint(cases->len, ==, 5);
    for (uint32_t i = 0; i < cases->len; i++) {
        const pali_json *c = &cases->u.items[i];
        const char *name = pali_json_get(c, "name")->u.string;
        const pali_json *xyxy = pali_json_get(c, "demo_xyxy");
        int x1 = (int)xyxy->u.items[0].integer,
            y1 = (int)xyxy->u.items[1].integer;
        int x2 = (int)xyxy->u.items[2].integer,
            y2 = (int)xyxy->u.items[3].integer;
        int width = (int)pali_json_get(c, "width")->integer;
        int height = (int)pali_json_get(c, "height")->integer;
        int bw = x2 - x1, bh = y2 - y1;
        SegTensor m64 = tensor(name, "m64_u8"), box = tensor(name, "box_u8");
        SegTensor full = tensor(name, "full_u8");
        g_assert_cmpint(box.shape[0], ==, bh);
        g_assert_cmpint(box.shape[1], ==, bw);
        pali_error err = { 0 };
        uint8_t *out = g_malloc((size_t)bw * bh);
        g_assert_cmpint(pali_pil_resize_u8(m64.data, 64, 64, bw, bh, 0, 0, bw,
                                           bh, PALI_PIL_BICUBIC, out, &err),
                        ==, PALI_OK);
        g_assert_cmpmem(out, (size_t)bw * bh, box.data, box.nbytes);
        /* the full-image mask: zeros outside the box */
        uint8_t *img = g_malloc0((size_t)width * height);
        for (int y = 0; y < bh; y++)
            memcpy(img + (size_t)(y1 + y) * width + x1, out + (size_t)y * bw,
                   (size_t)bw);
        g_assert_cmpmem(img, (size_t)width * height, full.data, full.nbytes);
        int64_t sum = 0;
        for (size_t p = 0; p < full.nbytes; p++)
            sum += img[p];
        g_assert_cmpint(sum, ==, pali_json_get(c, "full_u8_sum")->integer);

        /* the evaluator: float BILINEAR of the raw mask into its own box */
        SegTensor raw = tensor(name, "m64_raw"),
                  bvf = tensor(name, "bv_box_f32");
        SegTensor bvb = tensor(name, "bv_box_bin");
        int ew = (int)bvf.shape[1], eh = (int)bvf.shape[0];
        float *f = g_malloc((size_t)ew * eh * sizeof(float));
        g_assert_cmpint(pali_pil_resize_f32(raw.data, 64, 64, ew, eh, 0, 0, ew,
                                            eh, PALI_PIL_BILINEAR, f, &err),
                        ==, PALI_OK);
        double d = test_max_abs_diff(f, bvf.data, (size_t)ew * eh);
        g_test_message("%s: %dx%d box bit-exact; evaluator box %dx%d max "
                       "|delta| %.3g",
                       name, bw, bh, ew, eh, d);
        g_assert_cmpfloat(d, <=, TOL_BV_F32);
        for (int p = 0; p < ew * eh; p++) {
            float want = ((const float *)bvf.data)[p];
            if (fabsf(want) >= TOL_BV_F32)
                g_assert_cmpint(f[p] > 0, ==, ((const uint8_t *)bvb.data)[p]);
        }
        g_free(f);
        g_free(img);
        g_free(out);
        seg_tensor_clear(&m64);
        seg_tensor_clear(&box);
        seg_tensor_clear(&full);
        seg_tensor_clear(&raw);
        seg_tensor_clear(&bvf);
        seg_tensor_clear(&bvb);
    }
    pali_json_free(doc);
}

/* From the case's text: decoder + placement, within ±2 of the golden. */
static void test_end_to_end(void)
{
    g_autofree char *vpath = test_data_path("segmentation/vae-random.npz");
    pali_vae *vae = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_vae_load(vpath, &vae, &err), ==, PALI_OK);
    pali_json_doc *doc = seg_json_load("segmentation/placement_cases.json");
    const pali_json *cases = pali_json_get(pali_json_root(doc), "cases");
    for (uint32_t i = 0; i < cases->len; i++) {
        const pali_json *c = &cases->u.items[i];
        const char *name = pali_json_get(c, "name")->u.string;
        int width = (int)pali_json_get(c, "width")->integer;
        int height = (int)pali_json_get(c, "height")->integer;
        pali_result *r = NULL;
        g_assert_cmpint(pali_result_parse(pali_json_get(c, "text")->u.string,
                                          width, height, vae, &r, &err),
                        ==, PALI_OK);
        g_assert_cmpuint(r->n_spans, ==, 1);
        const pali_object *o = &r->spans[0];
        SegTensor full = tensor(name, "full_u8");
        const uint8_t *want = full.data;
        int worst = 0;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                int got = 0;
                if (x >= o->mask_x && x < o->mask_x + o->mask_w &&
                    y >= o->mask_y && y < o->mask_y + o->mask_h)
                    got = o->mask[(y - o->mask_y) * o->mask_w + x - o->mask_x];
                int d = abs(got - want[(size_t)y * width + x]);
                worst = d > worst ? d : worst;
            }
        g_test_message("%s: end to end max |delta| %d", name, worst);
        g_assert_cmpint(worst, <=, TOL_END_TO_END_U8);
        seg_tensor_clear(&full);
        pali_result_free(r);
    }
    pali_json_free(doc);
    pali_vae_free(vae);
}

/* Any window of the output equals that part of the whole resize. */
static void test_windows(void)
{
    GRand *rng = g_rand_new_with_seed(7);
    uint8_t src[64 * 64];
    float srcf[64 * 64];
    for (int i = 0; i < 64 * 64; i++) {
        src[i] = (uint8_t)g_rand_int_range(rng, 0, 256);
        srcf[i] = (float)g_rand_double_range(rng, -2, 2);
    }
    for (int iter = 0; iter < 60; iter++) {
        int sw = g_rand_int_range(rng, 1, 65),
            sh = g_rand_int_range(rng, 1, 65);
        int dw = g_rand_int_range(rng, 1, 300),
            dh = g_rand_int_range(rng, 1, 300);
        if (iter % 10 == 0) {
            dw = sw; /* one axis unchanged: that pass is skipped */
        }
        pali_pil_filter filter =
            iter % 2 ? PALI_PIL_BICUBIC : PALI_PIL_BILINEAR;
        uint8_t *whole = g_malloc((size_t)dw * dh);
        float *wholef = g_malloc((size_t)dw * dh * sizeof(float));
        pali_error err = { 0 };
        g_assert_cmpint(pali_pil_resize_u8(src, sw, sh, dw, dh, 0, 0, dw, dh,
                                           filter, whole, &err),
                        ==, PALI_OK);
        g_assert_cmpint(pali_pil_resize_f32(srcf, sw, sh, dw, dh, 0, 0, dw, dh,
                                            filter, wholef, &err),
                        ==, PALI_OK);
        int x0 = g_rand_int_range(rng, 0, dw),
            y0 = g_rand_int_range(rng, 0, dh);
        int w = g_rand_int_range(rng, 0, dw - x0 + 1);
        int h = g_rand_int_range(rng, 0, dh - y0 + 1);
        uint8_t *part = g_malloc((size_t)w * h + 1);
        float *partf = g_malloc(((size_t)w * h + 1) * sizeof(float));
        g_assert_cmpint(pali_pil_resize_u8(src, sw, sh, dw, dh, x0, y0, w, h,
                                           filter, part, &err),
                        ==, PALI_OK);
        g_assert_cmpint(pali_pil_resize_f32(srcf, sw, sh, dw, dh, x0, y0, w, h,
                                            filter, partf, &err),
                        ==, PALI_OK);
        for (int y = 0; y < h; y++) {
            g_assert_cmpmem(part + (size_t)y * w, (size_t)w,
                            whole + (size_t)(y0 + y) * dw + x0, (size_t)w);
            g_assert_cmpmem(partf + (size_t)y * w, (size_t)w * sizeof(float),
                            wholef + (size_t)(y0 + y) * dw + x0,
                            (size_t)w * sizeof(float));
        }
        g_free(whole);
        g_free(wholef);
        g_free(part);
        g_free(partf);
    }
    /* same size: a copy */
    uint8_t copy[64 * 64];
    pali_error err = { 0 };
    g_assert_cmpint(pali_pil_resize_u8(src, 64, 64, 64, 64, 0, 0, 64, 64,
                                       PALI_PIL_BICUBIC, copy, &err),
                    ==, PALI_OK);
    g_assert_cmpmem(copy, sizeof(copy), src, sizeof(src));
    /* a window outside the output is refused */
    g_assert_cmpint(pali_pil_resize_u8(src, 64, 64, 10, 10, 5, 5, 6, 1,
                                       PALI_PIL_BICUBIC, copy, &err),
                    ==, PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_pil_resize_u8(src, 0, 64, 10, 10, 0, 0, 1, 1,
                                       PALI_PIL_BICUBIC, copy, &err),
                    ==, PALI_ERR_INVALID_ARGUMENT);
    g_rand_free(rng);
}

/* Hand-checked values: a constant image stays constant (weights sum to
 * one in fixed point), and a 2×1 → 4×1 bilinear upscale. */
static void test_known_values(void)
{
    uint8_t flat[9 * 7];
    memset(flat, 200, sizeof(flat));
    uint8_t out[23 * 31];
    pali_error err = { 0 };
    g_assert_cmpint(pali_pil_resize_u8(flat, 9, 7, 23, 31, 0, 0, 23, 31,
                                       PALI_PIL_BICUBIC, out, &err),
                    ==, PALI_OK);
    for (size_t i = 0; i < sizeof(out); i++)
        g_assert_cmpint(out[i], ==, 200);
    /* PIL: Image.fromarray(np.array([[0, 100]], 'f'), 'F').resize((4, 1),
     * BILINEAR) → centers 0.25, 0.75, 1.25, 1.75 → 0, 25, 75, 100. */
    float two[2] = { 0, 100 }, four[4];
    g_assert_cmpint(pali_pil_resize_f32(two, 2, 1, 4, 1, 0, 0, 4, 1,
                                        PALI_PIL_BILINEAR, four, &err),
                    ==, PALI_OK);
    g_assert_cmpfloat(four[0], ==, 0.0f);
    g_assert_cmpfloat(four[1], ==, 25.0f);
    g_assert_cmpfloat(four[2], ==, 75.0f);
    g_assert_cmpfloat(four[3], ==, 100.0f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/pil-resize/placement-cases", test_placement);
    g_test_add_func("/engine/pil-resize/end-to-end", test_end_to_end);
    g_test_add_func("/engine/pil-resize/windows", test_windows);
    g_test_add_func("/engine/pil-resize/known-values", test_known_values);
    return g_test_run();
}
