/* test-cli-run.c — palilens-cli's model modes as a program: a run with
 * --json gives the reference's ids and texts, --dump writes the golden
 * tensor names with the reference's values, --vision-only stops after the
 * projector, usage and runtime errors give exit status 2 and 1, and --batch
 * processes a folder, reports a broken image, resumes, and writes exports. */
#include <glib/gstdio.h>
#include <string.h>

#include "json.h"
#include "testutil.h"

#define MODEL "golden/tiny-224"
#define CASE  "golden/tiny-224/cases/caption_chelsea"
/* golden/README.md tolerances */
#define TOL_PREFILL_LOGITS 3e-3
#define TOL_GEN_LOGITS     5e-3
#define TOL_IMAGE_FEATURES 1e-4

static pali_json_doc *parse_json(const char *text)
{
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    if (pali_json_parse(text, strlen(text), "output", &doc, &err) != PALI_OK)
        g_error("%s\n%s", err.message, text);
    return doc;
}

static pali_json_doc *case_json(void)
{
    g_autofree char *path = test_data_path(CASE "/case.json");
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_json_parse_file(path, 16 << 20, &doc, &err), ==,
                    PALI_OK);
    return doc;
}

static void assert_same_ints(const pali_json *a, const pali_json *b)
{
    g_assert_cmpuint(a->len, ==, b->len);
    for (uint32_t i = 0; i < a->len; i++)
        g_assert_cmpint(a->u.items[i].integer, ==, b->u.items[i].integer);
}

static void compare_dump(const char *dump, const char *name, double tol)
{
    g_autofree char *golden = test_data_path(CASE "/golden.safetensors");
    TestTensor want, got;
    g_assert_true(test_safetensors_read(golden, name, &want));
    g_assert_true(test_safetensors_read(dump, name, &got));
    g_assert_cmpuint(got.numel, ==, want.numel);
    g_assert_cmpfloat(test_max_abs_diff(got.data, want.data, want.numel), <=,
                      tol);
    test_tensor_clear(&want);
    test_tensor_clear(&got);
}

static void test_json_and_dump(void)
{
    g_autofree char *model = test_data_path(MODEL);
    g_autofree char *image = test_data_path(CASE "/chelsea.png");
    g_autofree char *dump = g_build_filename(test_tmpdir(), "run.st", NULL);
    const char *args[] = { "--model",
                           model,
                           "--image",
                           image,
                           "--prompt",
                           "caption en",
                           "--max-new-tokens",
                           "24",
                           "--json",
                           "--dump",
                           dump,
                           NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint(test_run_cli(args, &out, &err), ==, 0);
    pali_json_doc *doc = parse_json(out);
    pali_json_doc *cj = case_json();
    const pali_json *root = pali_json_root(doc), *want = pali_json_root(cj);
    assert_same_ints(pali_json_get(root, "input_ids"),
                     pali_json_get(want, "input_ids"));
    assert_same_ints(pali_json_get(root, "generated_ids"),
                     pali_json_get(want, "generated_ids"));
    g_assert_cmpstr(
        pali_json_get(root, "text")->u.string, ==,
        pali_json_get(want, "generated_text_skip_special_true")->u.string);
    g_assert_cmpstr(
        pali_json_get(root, "text_with_special")->u.string, ==,
        pali_json_get(want, "generated_text_skip_special_false")->u.string);
    const pali_json *t = pali_json_get(root, "timings");
    const char *keys[] = { "load_ms", "preprocess_ms", "vision_ms",
                           "prefill_ms", "decode_ms" };
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
        g_assert_true(
            pali_json_is(pali_json_get(t, keys[i]), PALI_JSON_NUMBER));
    g_assert_cmpuint(pali_json_get(t, "per_token_ms")->len, ==, 24);
    g_assert_true(
        pali_json_is(pali_json_get(root, "objects"), PALI_JSON_ARRAY));
    pali_json_free(doc);
    pali_json_free(cj);

    compare_dump(dump, "prefill_logits_last", TOL_PREFILL_LOGITS);
    compare_dump(dump, "gen_logits", TOL_GEN_LOGITS);
    compare_dump(dump, "image_features", TOL_IMAGE_FEATURES);
    compare_dump(dump, "pixel_values", 0);
}

static void test_vision_only(void)
{
    g_autofree char *model = test_data_path(MODEL);
    g_autofree char *image = test_data_path(CASE "/chelsea.png");
    g_autofree char *dump = g_build_filename(test_tmpdir(), "vis.st", NULL);
    const char *args[] = { "--model", model, "--image",       image,
                           "--dump",  dump,  "--vision-only", NULL };
    g_assert_cmpint(test_run_cli(args, NULL, NULL), ==, 0);
    compare_dump(dump, "pixel_values", 0);
    compare_dump(dump, "image_features", TOL_IMAGE_FEATURES);
    TestTensor none;
    g_assert_false(test_safetensors_read(dump, "prefill_logits_last", &none));
}

static void test_prose(void)
{
    g_autofree char *model = test_data_path(MODEL);
    g_autofree char *image = test_data_path(CASE "/chelsea.png");
    const char *args[] = { "--model", model,     "--image", image,
                           "--task",  "caption", "--lang",  "en",
                           "-n",      "24",      NULL };
    g_autofree char *out = NULL;
    g_assert_cmpint(test_run_cli(args, &out, NULL), ==, 0);
    pali_json_doc *cj = case_json();
    const char *want =
        pali_json_get(pali_json_root(cj), "generated_text_skip_special_true")
            ->u.string;
    g_autofree char *line = g_strconcat(want, "\n", NULL);
    g_assert_cmpstr(out, ==, line);
    pali_json_free(cj);
}

static void expect_status(const char *const *args, int status,
                          const char *in_message)
{
    g_autofree char *err = NULL;
    g_assert_cmpint(test_run_cli(args, NULL, &err), ==, status);
    if (strstr(err, in_message) == NULL)
        g_error("stderr lacks '%s':\n%s", in_message, err);
}

static void test_errors(void)
{
    g_autofree char *model = test_data_path(MODEL);
    g_autofree char *image = test_data_path(CASE "/chelsea.png");
    g_autofree char *bad = g_build_filename(test_tmpdir(), "bad.png", NULL);
    g_assert_true(g_file_set_contents(bad, "\x89PNG\r\n\x1a\n", 8, NULL));
    const char *no_image[] = { "--model", model, "--prompt", "x", NULL };
    expect_status(no_image, 2, "--image");
    const char *precision[] = { "--model",     model,      "--image",
                                image,         "--prompt", "x",
                                "--precision", "fuzzy",    NULL };
    expect_status(precision, 2, "--precision");
    const char *both[] = { "--model", model,    "--image", image, "--prompt",
                           "x",       "--task", "ocr",     NULL };
    expect_status(both, 2, "not both");
    const char *task[] = { "--model", model,   "--image", image,
                           "--task",  "dance", NULL };
    expect_status(task, 2, "dance");
    const char *no_model[] = { "--model", "/nonexistent/model", "--image",
                               image,     "--prompt",           "x",
                               NULL };
    expect_status(no_model, 1, "/nonexistent/model");
    const char *broken[] = { "--model",  model, "--image", bad,
                             "--prompt", "x",   NULL };
    expect_status(broken, 1, "bad.png");
    const char *too_long[] = { "--model",  model, "--image",          image,
                               "--prompt", "x",   "--max-new-tokens", "100000",
                               NULL };
    expect_status(too_long, 1, "max_new_tokens");
    const char *bad_utf8[] = { "--model",  model,          "--image", image,
                               "--prompt", "caption \xff", NULL };
    expect_status(bad_utf8, 2, "--prompt: not valid UTF-8 (byte 0xFF");
}

static int count_files(const char *dir, const char *suffix)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    int n = 0;
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (name[0] == '.')
            g_error("%s: a temporary file was left: %s", dir, name);
        n += g_str_has_suffix(name, suffix);
    }
    g_dir_close(d);
    return n;
}

static void test_batch(void)
{
    g_autofree char *model = test_data_path(MODEL);
    g_autofree char *in = g_build_filename(test_tmpdir(), "batch-in", NULL);
    g_autofree char *out = g_build_filename(test_tmpdir(), "batch-out", NULL);
    g_assert_cmpint(g_mkdir_with_parents(in, 0755), ==, 0);
    const char *images[] = { "tiny-224/cases/caption_chelsea/chelsea.png",
                             "tiny-224/cases/ocr_synthetic/"
                             "synthetic_640x360.png" };
    for (guint i = 0; i < G_N_ELEMENTS(images); i++) {
        g_autofree char *rel = g_build_filename("golden", images[i], NULL);
        g_autofree char *src = test_data_path(rel);
        g_autofree char *base = g_path_get_basename(src);
        g_autofree char *dst = g_build_filename(in, base, NULL);
        g_autoptr(GBytes) b = test_read_file(src);
        g_assert_true(g_file_set_contents(dst, g_bytes_get_data(b, NULL),
                                          (gssize)g_bytes_get_size(b), NULL));
    }
    g_autofree char *broken = g_build_filename(in, "broken.jpg", NULL);
    g_assert_true(g_file_set_contents(broken, "\xff\xd8\xff", 3, NULL));

    const char *args[] = { "--model",   model,       "--task",   "detect",
                           "--objects", "cat ; dog", "--batch",  in,
                           "--out",     out,         "--format", "coco",
                           "-n",        "8",         "--json",   NULL };
    g_autofree char *o1 = NULL, *e1 = NULL;
    g_assert_cmpint(test_run_cli(args, &o1, &e1), ==, 1);
    g_assert_nonnull(strstr(e1, "broken.jpg"));
    pali_json_doc *doc = parse_json(o1);
    const pali_json *r = pali_json_root(doc);
    g_assert_cmpint(pali_json_get(r, "images")->integer, ==, 3);
    g_assert_cmpint(pali_json_get(r, "ran")->integer, ==, 2);
    g_assert_cmpint(pali_json_get(r, "resumed")->integer, ==, 0);
    g_assert_cmpuint(pali_json_get(r, "failed")->len, ==, 1);
    pali_json_free(doc);
    g_autofree char *results = g_build_filename(out, "results", NULL);
    g_assert_cmpint(count_files(results, ".result"), ==, 2);

    // a second run resumes: nothing is run again but the broken image
    g_autofree char *o2 = NULL;
    g_assert_cmpint(test_run_cli(args, &o2, NULL), ==, 1);
    doc = parse_json(o2);
    r = pali_json_root(doc);
    g_assert_cmpint(pali_json_get(r, "resumed")->integer, ==, 2);
    g_assert_cmpint(pali_json_get(r, "ran")->integer, ==, 0);
    pali_json_free(doc);

    // the COCO file lists the two images that worked
    g_autofree char *coco = g_build_filename(out, "annotations.json", NULL);
    pali_json_doc *cd = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_json_parse_file(coco, 16 << 20, &cd, &err), ==,
                    PALI_OK);
    g_assert_cmpuint(pali_json_get(pali_json_root(cd), "images")->len, ==, 2);
    pali_json_free(cd);
    g_assert_cmpint(count_files(out, ".json"), ==, 1);

    // YOLO: one label file per image and the classes file
    g_assert_cmpint(g_unlink(broken), ==, 0);
    const char *yolo[] = { "--model",   model,       "--task",   "detect",
                           "--objects", "cat ; dog", "--batch",  in,
                           "--out",     out,         "--format", "yolo",
                           "-n",        "8",         NULL };
    g_assert_cmpint(test_run_cli(yolo, NULL, NULL), ==, 0);
    g_autofree char *labels = g_build_filename(out, "labels", NULL);
    g_assert_cmpint(count_files(labels, ".txt"), ==, 2);
    g_autofree char *classes = g_build_filename(out, "classes.txt", NULL);
    g_assert_true(g_file_test(classes, G_FILE_TEST_IS_REGULAR));

    // another prompt is another job: the records are redone
    const char *other[] = {
        "--model", model, "--task", "ocr", "--batch", in,
        "--out",   out,   "-n",     "4",   "--json",  NULL
    };
    g_autofree char *o3 = NULL;
    g_assert_cmpint(test_run_cli(other, &o3, NULL), ==, 0);
    doc = parse_json(o3);
    g_assert_cmpint(pali_json_get(pali_json_root(doc), "ran")->integer, ==, 2);
    pali_json_free(doc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/run/json-and-dump", test_json_and_dump);
    g_test_add_func("/cli/run/vision-only", test_vision_only);
    g_test_add_func("/cli/run/prose", test_prose);
    g_test_add_func("/cli/run/errors", test_errors);
    g_test_add_func("/cli/run/batch", test_batch);
    return g_test_run();
}
