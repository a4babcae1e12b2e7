/* test-cli-mask.c — palilens-cli --parse and --decode-mask run as a user
 * would: every golden parse case through --json, the decoder's dump
 * against the mask goldens, the readable table, overlay and export
 * outputs, and usage errors. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "seg-testutil.h"
#include "testutil.h"

/* segmentation/README.md §7 */
#define TOL_U8_SUM_REL   1e-4
#define TOL_NONZERO_FRAC 1e-3
#define TOL_RAW          1e-4

static const char *jstr(const pali_json *o, const char *key)
{
    const pali_json *v = pali_json_get(o, key);
    return pali_json_is(v, PALI_JSON_STRING) ? v->u.string : NULL;
}

static void compare_case(const pali_json *c, const pali_json *got)
{
    const char *id = jstr(c, "id");
    const pali_json *want = pali_json_get(c, "objects");
    const pali_json *objs = pali_json_get(got, "objects");
    if (objs->len != want->len)
        g_error("%s: %u objects, want %u", id, objs->len, want->len);
    for (uint32_t i = 0; i < want->len; i++) {
        const pali_json *w = &want->u.items[i], *g = &objs->u.items[i];
        g_assert_cmpstr(jstr(g, "kind"), ==, jstr(w, "kind"));
        g_assert_cmpstr(jstr(g, "content"), ==, jstr(w, "content"));
        if (strcmp(jstr(w, "kind"), "text") == 0)
            continue;
        g_assert_cmpstr(jstr(g, "name"), ==, jstr(w, "name"));
        g_assert_true(pali_json_get(g, "name")->type ==
                      pali_json_get(w, "name")->type);
        const pali_json *box = pali_json_get(g, "box");
        const pali_json *xyxy = pali_json_get(w, "xyxy");
        for (int k = 0; k < 4; k++)
            g_assert_cmpint(box->u.items[k].integer, ==,
                            xyxy->u.items[k].integer);
        const pali_json *codes = pali_json_get(g, "codes");
        const pali_json *wc = pali_json_get(w, "codes");
        g_assert_cmpint(codes->type, ==, wc->type);
        for (uint32_t k = 0; pali_json_is(wc, PALI_JSON_ARRAY) && k < wc->len;
             k++)
            g_assert_cmpint(codes->u.items[k].integer, ==,
                            wc->u.items[k].integer);
        const pali_json *wm = pali_json_get(w, "mask");
        const pali_json *gm = pali_json_get(g, "mask");
        if (pali_json_is(wm, PALI_JSON_NULL)) {
            g_assert_true(pali_json_is(gm, PALI_JSON_NULL));
            continue;
        }
        if (pali_json_is(pali_json_get(wm, "present"), PALI_JSON_NULL))
            continue; /* the reference raises; the engine tests cover it */
        gint64 sum = pali_json_get(gm, "u8_sum")->integer;
        gint64 nz = pali_json_get(gm, "nonzero")->integer;
        gint64 want_sum = pali_json_get(wm, "u8_sum")->integer;
        gint64 want_nz = pali_json_get(wm, "nonzero_count")->integer;
        double rel =
            want_sum ? fabs((double)(sum - want_sum)) / want_sum : (double)sum;
        if (rel > TOL_U8_SUM_REL ||
            fabs((double)(nz - want_nz)) > TOL_NONZERO_FRAC * want_nz)
            g_error("%s: u8_sum %" G_GINT64_FORMAT " (want %" G_GINT64_FORMAT
                    "), nonzero %" G_GINT64_FORMAT " (want %" G_GINT64_FORMAT
                    ")",
                    id, sum, want_sum, nz, want_nz);
    }
}

static void test_parse_cases(void)
{
    g_autofree char *vae = test_data_path("segmentation/vae-random.npz");
    pali_json_doc *doc = seg_json_load("segmentation/parse_cases.json");
    const char *sets[] = { "cases", "python_re_quirk_cases" };
    for (int s = 0; s < 2; s++) {
        const pali_json *cases = pali_json_get(pali_json_root(doc), sets[s]);
        for (uint32_t i = 0; i < cases->len; i++) {
            const pali_json *c = &cases->u.items[i];
            g_autofree char *size =
                g_strdup_printf("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                                pali_json_get(c, "width")->integer,
                                pali_json_get(c, "height")->integer);
            const char *args[] = { "--parse",      jstr(c, "text"),
                                   "--image-size", size,
                                   "--vae",        vae,
                                   "--json",       NULL };
            g_autofree char *out = NULL, *err = NULL;
            int rc = test_run_cli(args, &out, &err);
            if (rc != 0)
                g_error("%s: exit %d: %s", jstr(c, "id"), rc, err);
            pali_json_doc *got = NULL;
            pali_error perr = { 0 };
            if (pali_json_parse(out, strlen(out), "stdout", &got, &perr) !=
                PALI_OK)
                g_error("%s: %s", jstr(c, "id"), perr.message);
            compare_case(c, pali_json_root(got));
            pali_json_free(got);
        }
    }
    pali_json_free(doc);
}

static void test_decode_dump(void)
{
    g_autofree char *vae = test_data_path("segmentation/vae-random.npz");
    g_autofree char *golden =
        test_data_path("segmentation/mask_cases.safetensors");
    SegTensor codes, raw, u8;
    g_assert_true(seg_safetensors_read(golden, "codes", &codes));
    g_assert_true(seg_safetensors_read(golden, "mask_raw", &raw));
    g_assert_true(seg_safetensors_read(golden, "mask_u8", &u8));
    const int picks[] = { 3, 10, 19 };
    for (guint p = 0; p < G_N_ELEMENTS(picks); p++) {
        int c = picks[p];
        GString *list = g_string_new(NULL);
        for (int k = 0; k < PALI_MASK_CODES; k++)
            g_string_append_printf(list, "%s%d", k ? "," : "",
                                   ((int32_t *)codes.data)[c * 16 + k]);
        g_autofree char *dump = g_build_filename(test_tmpdir(), "m.st", NULL);
        const char *args[] = { "--vae",  vae,  "--decode-mask", list->str,
                               "--dump", dump, "--json",        NULL };
        g_autofree char *out = NULL, *err = NULL;
        g_assert_cmpint(test_run_cli(args, &out, &err), ==, 0);
        g_assert_nonnull(strstr(out, "\"u8_sum\""));
        SegTensor r, m;
        g_assert_true(seg_safetensors_read(dump, "mask_raw", &r));
        g_assert_true(seg_safetensors_read(dump, "mask_u8", &m));
        g_assert_cmpstr(r.dtype, ==, "F32");
        g_assert_cmpstr(m.dtype, ==, "U8");
        g_assert_cmpint(r.n_dims, ==, 2);
        g_assert_cmpint(m.shape[0], ==, 64);
        g_assert_cmpint(m.shape[1], ==, 64);
        g_assert_cmpuint(m.nbytes, ==, 64 * 64);
        g_assert_cmpfloat(
            test_max_abs_diff(r.data, (float *)raw.data + c * 4096, 4096), <=,
            TOL_RAW);
        const guint8 *want = (const guint8 *)u8.data + c * 4096;
        for (int k = 0; k < 4096; k++)
            g_assert_cmpint(abs(((guint8 *)m.data)[k] - want[k]), <=, 1);
        seg_tensor_clear(&r);
        seg_tensor_clear(&m);
        g_string_free(list, TRUE);
    }
    seg_tensor_clear(&codes);
    seg_tensor_clear(&raw);
    seg_tensor_clear(&u8);
}

static void test_table_and_outputs(void)
{
    g_autofree char *vae = test_data_path("segmentation/vae-random.npz");
    const char *text = "Here: <loc0100><loc0100><loc0400><loc0500><seg048>"
                       "<seg022><seg020><seg023><seg060><seg054><seg076>"
                       "<seg107><seg072><seg105><seg019><seg037><seg040>"
                       "<seg034><seg095><seg075> cat ; <loc0010><loc0020>"
                       "<loc0500><loc0600> dog";
    g_autofree char *out = NULL, *err = NULL;
    const char *plain[] = { "--parse", text, "--image-size", "320x240", NULL };
    g_assert_cmpint(test_run_cli(plain, &out, &err), ==, 0);
    g_assert_nonnull(strstr(out, "\"Here: \""));
    g_assert_nonnull(strstr(out, "\"cat \""));
    g_assert_nonnull(strstr(out, "[mask_missing]"));
    g_assert_nonnull(strstr(out, "no mask decoder"));

    /* --image gives the size; --overlay and --export write files */
    GdkPixbuf *img = gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, 320, 240);
    gdk_pixbuf_fill(img, 0x808080ff);
    g_autofree char *png = g_build_filename(test_tmpdir(), "in.png", NULL);
    g_assert_true(gdk_pixbuf_save(img, png, "png", NULL, NULL));
    g_object_unref(img);
    g_autofree char *ov = g_build_filename(test_tmpdir(), "ov.png", NULL);
    g_autofree char *coco = g_build_filename(test_tmpdir(), "c.json", NULL);
    const char *full[] = { "--parse",  text, "--image",   png,
                           "--vae",    vae,  "--overlay", ov,
                           "--export", coco, "--format",  "coco-rle",
                           "--json",   NULL };
    g_clear_pointer(&out, g_free);
    g_clear_pointer(&err, g_free);
    g_assert_cmpint(test_run_cli(full, &out, &err), ==, 0);
    g_assert_nonnull(strstr(out, "\"width\": 320"));
    GdkPixbuf *back = gdk_pixbuf_new_from_file(ov, NULL);
    g_assert_nonnull(back);
    g_assert_cmpint(gdk_pixbuf_get_width(back), ==, 320);
    g_object_unref(back);
    pali_json_doc *doc = NULL;
    pali_error perr = { 0 };
    g_assert_cmpint(pali_json_parse_file(coco, 1 << 24, &doc, &perr), ==,
                    PALI_OK);
    const pali_json *anns = pali_json_get(pali_json_root(doc), "annotations");
    g_assert_cmpuint(anns->len, ==, 2);
    g_assert_true(pali_json_is(pali_json_get(&anns->u.items[0], "segmentation"),
                               PALI_JSON_OBJECT)); /* RLE */
    pali_json_free(doc);
}

static void expect_exit(const char *const *args, int code, const char *needle)
{
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint(test_run_cli(args, &out, &err), ==, code);
    g_test_message("%s", err);
    g_assert_nonnull(strstr(err, needle));
}

static void test_errors(void)
{
    g_autofree char *vae = test_data_path("segmentation/vae-random.npz");
    const char *a[] = { "--parse", "x", NULL };
    expect_exit(a, 2, "--image-size");
    const char *b[] = { "--parse", "x", "--image-size", "0x10", NULL };
    expect_exit(b, 2, "WIDTHxHEIGHT");
    const char *c[] = { "--parse", "x",     "--image-size",
                        "10x10",   "--vae", "/nonexistent.npz",
                        NULL };
    expect_exit(c, 1, "/nonexistent.npz");
    const char *d[] = { "--vae", vae, "--decode-mask", "1,2,3", NULL };
    expect_exit(d, 2, "16 comma-separated codes");
    const char *e[] = { "--vae", vae, "--decode-mask",
                        "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,128", NULL };
    expect_exit(e, 2, "0..127");
    const char *f[] = { "--decode-mask", "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1",
                        NULL };
    expect_exit(f, 2, "--vae");
    const char *g[] = { "--parse",    "x", "--image-size", "10x10", "--overlay",
                        "/tmp/x.png", NULL };
    expect_exit(g, 2, "--overlay needs --image");
    const char *h[] = { "--parse",  "x",        "--image-size",
                        "10x10",    "--export", "/tmp/x",
                        "--format", "csv",      NULL };
    expect_exit(h, 2, "unknown --format 'csv'");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/mask/parse-cases", test_parse_cases);
    g_test_add_func("/cli/mask/decode-dump", test_decode_dump);
    g_test_add_func("/cli/mask/table-and-outputs", test_table_and_outputs);
    g_test_add_func("/cli/mask/errors", test_errors);
    return g_test_run();
}
