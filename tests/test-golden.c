/* test-golden.c — the engine against Hugging Face transformers' outputs for
 * every case in tests/data/golden (golden/README.md): pixel values, vision
 * states, image features, prompt ids, text embeddings, prefill hidden
 * states and logits, greedy ids, and teacher-forced logits of every step,
 * within the README's tolerances; the same ids with 1 and 2 threads.
 *
 * Run one model with `-p /golden/<model>` (tests/meson.build does). */
#include <math.h>
#include <string.h>

#include "json.h"
#include "lens-image-loader.h"
#include "lens-tensor-dump.h"
#include "pali.h"
#include "testutil.h"

/* Tolerances from golden/README.md ("Recommended tolerances"). */
#define TOL_VISION_EMBEDDINGS  1e-5
#define TOL_VISION_LAST        1e-4
#define TOL_IMAGE_FEATURES     1e-4
#define TOL_INPUTS_EMBEDS_TEXT 1e-6
#define TOL_HIDDEN             5e-3
#define TOL_FINAL_NORM         3e-3
#define TOL_PREFILL_LOGITS     3e-3
#define TOL_GEN_LOGITS         5e-3
/* Pixel values: exact is the goal; the floor is one 8-bit level. */
#define PIXEL_LEVEL (1.0 / 127.5)

typedef struct {
    char *model; /* e.g. "tiny-224" */
    char *name;  /* case name */
    char *dir;   /* case directory */
} GoldenCase;

static GPtrArray *cases;

typedef struct {
    char *prompt;
    char *image;
    GArray *input_ids;     /* int32 */
    GArray *generated_ids; /* int32 */
    char *text_skip, *text_special;
} CaseJson;

static GArray *int_array(const pali_json *v)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(int32_t));
    g_assert_true(pali_json_is(v, PALI_JSON_ARRAY));
    for (uint32_t i = 0; i < v->len; i++) {
        int32_t x = (int32_t)v->u.items[i].integer;
        g_array_append_val(a, x);
    }
    return a;
}

static void case_json_read(const GoldenCase *gc, CaseJson *cj)
{
    g_autofree char *path = g_build_filename(gc->dir, "case.json", NULL);
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_json_parse_file(path, 64 << 20, &doc, &err), ==,
                    PALI_OK);
    const pali_json *root = pali_json_root(doc);
    cj->prompt = g_strdup(pali_json_get(root, "prompt")->u.string);
    cj->image =
        g_build_filename(gc->dir, pali_json_get(root, "image")->u.string, NULL);
    cj->input_ids = int_array(pali_json_get(root, "input_ids"));
    cj->generated_ids = int_array(pali_json_get(root, "generated_ids"));
    cj->text_skip = g_strdup(
        pali_json_get(root, "generated_text_skip_special_true")->u.string);
    cj->text_special = g_strdup(
        pali_json_get(root, "generated_text_skip_special_false")->u.string);
    pali_json_free(doc);
}

static void case_json_clear(CaseJson *cj)
{
    g_free(cj->prompt);
    g_free(cj->image);
    g_array_unref(cj->input_ids);
    g_array_unref(cj->generated_ids);
    g_free(cj->text_skip);
    g_free(cj->text_special);
}

/* Compares a collected tensor with the golden one: same element count,
 * max |Δ| within tol.  Logs the measured error. */
static void check_tensor(LensTensorDump *dump, const char *golden_path,
                         const char *name, double tol)
{
    TestTensor want;
    g_assert_true(test_safetensors_read(golden_path, name, &want));
    gsize numel = 0;
    const float *got = lens_tensor_dump_get(dump, name, &numel, NULL, NULL);
    if (got == NULL)
        g_error("the engine did not produce %s", name);
    g_assert_cmpuint(numel, ==, want.numel);
    double d = test_max_abs_diff(got, want.data, want.numel);
    g_test_message("%s: max |diff| %.3g (tolerance %.3g)", name, d, tol);
    g_assert_cmpfloat(d, <=, tol);
    test_tensor_clear(&want);
}

static void check_pixels(LensTensorDump *dump, const char *golden_path)
{
    TestTensor want;
    g_assert_true(test_safetensors_read(golden_path, "pixel_values", &want));
    gsize numel = 0;
    const float *got =
        lens_tensor_dump_get(dump, "pixel_values", &numel, NULL, NULL);
    g_assert_nonnull(got);
    g_assert_cmpuint(numel, ==, want.numel);
    size_t equal = 0;
    for (size_t i = 0; i < want.numel; i++)
        equal += got[i] == want.data[i];
    double d = test_max_abs_diff(got, want.data, want.numel);
    g_test_message("pixel_values: %zu of %zu equal, max |diff| %.3g", equal,
                   want.numel, d);
    g_assert_cmpfloat((double)equal, >=, 0.999 * (double)want.numel);
    g_assert_cmpfloat(d, <=, PIXEL_LEVEL + 1e-7);
    test_tensor_clear(&want);
}

/* The logits generation chooses from are the golden (uncapped) ones with
 * the config's final soft-cap applied: cap·tanh(x/cap), or unchanged when
 * the config sets it to null (tiny-27b-style). */
static void check_final_softcap(const pali_model *model, LensTensorDump *dump,
                                const char *golden_path)
{
    const float cap = pali_model_get_info(model)->final_softcap;
    TestTensor want;
    g_assert_true(test_safetensors_read(golden_path, "gen_logits", &want));
    gsize numel = 0;
    const float *got =
        lens_tensor_dump_get(dump, "gen_logits_capped", &numel, NULL, NULL);
    g_assert_nonnull(got);
    g_assert_cmpuint(numel, ==, want.numel);
    double max = 0;
    for (size_t i = 0; i < want.numel; i++) {
        double w = cap > 0 ? cap * tanh(want.data[i] / cap) : want.data[i];
        max = fmax(max, fabs(w - got[i]));
    }
    g_test_message("gen_logits_capped (cap %g): max |diff| %.3g", cap, max);
    // d(cap·tanh(x/cap))/dx <= 1: the cap cannot enlarge the error
    g_assert_cmpfloat(max, <=, TOL_GEN_LOGITS);
    test_tensor_clear(&want);
}

static pali_model *load_model(const char *model_name)
{
    g_autofree char *rel = g_build_filename("golden", model_name, NULL);
    g_autofree char *dir = test_data_path(rel);
    pali_model *model = NULL;
    pali_error err = { 0 };
    pali_status st = pali_model_load(dir, NULL, &model, &err);
    if (st != PALI_OK)
        g_error("%s: %s", dir, err.message);
    return model;
}

typedef struct {
    pali_image image;
    LensImage *owner;
} TestImage;

static void load_image(const char *path, TestImage *img)
{
    g_autoptr(GError) error = NULL;
    img->owner = lens_image_load(path, LENS_IMAGE_LOAD_DEFAULT, &error);
    g_assert_no_error(error);
    img->image = lens_image_as_pali(img->owner);
}

static const pali_output *run(pali_session *s, const CaseJson *cj,
                              const pali_image *img, LensTensorDump *dump,
                              const int32_t *forced, int n_forced)
{
    pali_callbacks cb = { 0 };
    cb.tensor = dump ? lens_tensor_dump_collect : NULL;
    cb.user_data = dump;
    pali_error err = { 0 };
    g_assert_cmpint(pali_session_set_image(s, img, &cb, &err), ==, PALI_OK);
    pali_generate_params gp = pali_generate_default_params();
    gp.max_new_tokens = (int)cj->generated_ids->len;
    gp.forced_ids = forced;
    gp.n_forced = n_forced;
    const pali_output *out = NULL;
    pali_status st = pali_session_generate(s, cj->prompt, &gp, &cb, &out, &err);
    if (st != PALI_OK)
        g_error("generate: %s", err.message);
    return out;
}

static void assert_ids(const int32_t *got, int n_got, const GArray *want)
{
    g_assert_cmpint(n_got, ==, (int)want->len);
    for (int i = 0; i < n_got; i++)
        if (got[i] != g_array_index(want, int32_t, i))
            g_error("id %d: got %d, want %d", i, got[i],
                    g_array_index(want, int32_t, i));
}

static pali_session *new_session(pali_model *model, int threads)
{
    pali_session_params sp = pali_session_default_params();
    sp.n_threads = threads;
    pali_session *s = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_session_new(model, &sp, &s, &err), ==, PALI_OK);
    return s;
}

static void test_case(gconstpointer data)
{
    const GoldenCase *gc = data;
    CaseJson cj;
    case_json_read(gc, &cj);
    g_autofree char *golden =
        g_build_filename(gc->dir, "golden.safetensors", NULL);
    pali_model *model = load_model(gc->model);
    TestImage img;
    load_image(cj.image, &img);

    // greedy generation with every intermediate tensor, 2 threads
    pali_session *s = new_session(model, 2);
    g_autoptr(LensTensorDump) dump = lens_tensor_dump_new();
    const pali_output *out = run(s, &cj, &img.image, dump, NULL, 0);
    assert_ids(out->input_ids, out->n_input, cj.input_ids);
    check_pixels(dump, golden);
    check_tensor(dump, golden, "vision_embeddings", TOL_VISION_EMBEDDINGS);
    check_tensor(dump, golden, "vision_last_hidden_state", TOL_VISION_LAST);
    check_tensor(dump, golden, "image_features", TOL_IMAGE_FEATURES);
    check_tensor(dump, golden, "inputs_embeds_text", TOL_INPUTS_EMBEDS_TEXT);
    check_tensor(dump, golden, "prefill_hidden_states_last", TOL_HIDDEN);
    check_tensor(dump, golden, "prefill_final_norm_last", TOL_FINAL_NORM);
    check_tensor(dump, golden, "prefill_logits_last", TOL_PREFILL_LOGITS);
    assert_ids(out->generated_ids, out->n_generated, cj.generated_ids);
    g_assert_cmpstr(out->text, ==, cj.text_skip);
    g_assert_cmpstr(out->text_with_special, ==, cj.text_special);

    // teacher-forced on the golden ids: the logits of every step
    g_autoptr(LensTensorDump) forced = lens_tensor_dump_new();
    out =
        run(s, &cj, &img.image, forced, (const int32_t *)cj.generated_ids->data,
            (int)cj.generated_ids->len);
    check_tensor(forced, golden, "gen_logits", TOL_GEN_LOGITS);
    check_final_softcap(model, forced, golden);
    pali_session_free(s);

    // one thread: the very same ids and text
    s = new_session(model, 1);
    out = run(s, &cj, &img.image, NULL, NULL, 0);
    assert_ids(out->generated_ids, out->n_generated, cj.generated_ids);
    g_assert_cmpstr(out->text, ==, cj.text_skip);
    pali_session_free(s);

    lens_image_unref(img.owner);
    pali_model_free(model);
    case_json_clear(&cj);
}

/* Registers the cases of `case_model` run on `model_name` (the hub-names
 * model shares tiny-224's weights and cases). */
static void add_cases(const char *model_name, const char *case_model)
{
    g_autofree char *rel =
        g_build_filename("golden", case_model, "cases", NULL);
    g_autofree char *root = test_data_path(rel);
    GPtrArray *names = test_dir_names(root);
    for (guint i = 0; i < names->len; i++) {
        GoldenCase *gc = g_new0(GoldenCase, 1);
        gc->model = g_strdup(model_name);
        gc->name = g_strdup(g_ptr_array_index(names, i));
        gc->dir = g_build_filename(root, gc->name, NULL);
        g_ptr_array_add(cases, gc);
        g_autofree char *path =
            g_strdup_printf("/golden/%s/%s", model_name, gc->name);
        g_test_add_data_func(path, gc, test_case);
    }
    g_ptr_array_unref(names);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    cases = g_ptr_array_new();
    add_cases("tiny-224", "tiny-224");
    add_cases("tiny-224-hubnames", "tiny-224");
    add_cases("tiny-448", "tiny-448");
    add_cases("tiny-896-sw", "tiny-896-sw");
    add_cases("tiny-27b-style", "tiny-27b-style");
    return g_test_run();
}
