/* test-tokenizer-files.c — tokenizer.json files other than Gemma 3's:
 * the tiny PaliGemma tokenizers of the golden data (prompt ids exactly as
 * PaliGemmaProcessor built them, generated texts, per-id facts, both the
 * transformers-5 and the hub layout), the reference's results on variants
 * that use other features (tests/data/gen/tokenizer_variants.py), and
 * malformed or unsupported files, which must give clear errors. */
#include <glib/gstdio.h>
#include <string.h>

#include "testutil.h"
#include "tokenizer-testutil.h"
#include "tokenizer.h"

/* ---- golden tiny models ----------------------------------------------------
 */

typedef struct {
    const char *tokenizer_dir; /* golden/<dir>/tokenizer.json */
    const char *cases_dir;     /* golden/<dir>/cases/ */
} GoldenModel;

static const GoldenModel golden_models[] = {
    { "tiny-224", "tiny-224" },
    { "tiny-224-hubnames", "tiny-224" }, /* hub layout, same ids */
    { "tiny-448", "tiny-448" },
    { "tiny-896-sw", "tiny-896-sw" },
    { "tiny-27b-style", "tiny-27b-style" },
};

static pali_json_doc *read_json(const char *relative)
{
    g_autofree char *path = test_data_path(relative);
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    if (pali_json_parse_file(path, 1u << 28, &doc, &err) != PALI_OK)
        g_error("%s", err.message);
    return doc;
}

/* image_token_index and bos_token_id from the model's config.json */
static void model_ids(const char *dir, int32_t *image_id, int32_t *bos_id)
{
    g_autofree char *rel = g_strdup_printf("golden/%s/config.json", dir);
    pali_json_doc *doc = read_json(rel);
    const pali_json *root = pali_json_root(doc);
    const pali_json *image = pali_json_get(root, "image_token_index");
    const pali_json *bos = pali_json_get(root, "bos_token_id");
    if (bos == NULL)
        bos = pali_json_get(pali_json_get(root, "text_config"), "bos_token_id");
    g_assert_nonnull(image);
    g_assert_nonnull(bos);
    *image_id = (int32_t)image->integer;
    *bos_id = (int32_t)bos->integer;
    pali_json_free(doc);
}

static void test_golden_prompts(void)
{
    int n_cases = 0;
    for (size_t m = 0; m < G_N_ELEMENTS(golden_models); m++) {
        const GoldenModel *gm = &golden_models[m];
        g_autofree char *tok_rel =
            g_strdup_printf("golden/%s/tokenizer.json", gm->tokenizer_dir);
        pali_tokenizer *tok = tok_load_data(tok_rel);
        int32_t image_id, bos_id;
        model_ids(gm->tokenizer_dir, &image_id, &bos_id);
        g_autofree char *cases_rel =
            g_strdup_printf("golden/%s/cases", gm->cases_dir);
        g_autofree char *cases_path = test_data_path(cases_rel);
        GDir *dir = g_dir_open(cases_path, 0, NULL);
        g_assert_nonnull(dir);
        const char *name;
        while ((name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *rel =
                g_strdup_printf("%s/%s/case.json", cases_rel, name);
            pali_json_doc *doc = read_json(rel);
            const pali_json *c = pali_json_root(doc);
            const pali_json *prompt = pali_json_get(c, "prompt");
            int n_image = (int)pali_json_get(c, "num_image_tokens")->integer;
            size_t n_want;
            g_autofree int32_t *want =
                tok_json_ids(pali_json_get(c, "input_ids"), &n_want);
            int32_t *ids = NULL;
            size_t n = 0;
            pali_error err = { 0 };
            g_assert_cmpint(pali_prompt_ids(tok, n_image, image_id, bos_id,
                                            prompt->u.string, prompt->len, &ids,
                                            &n, &err),
                            ==, PALI_OK);
            g_autofree char *what =
                g_strdup_printf("%s with %s", rel, gm->tokenizer_dir);
            g_assert_true(tok_ids_equal(what, ids, n, want, n_want));
            pali_free(ids);
            /* the generated ids decode as the reference decoded them */
            size_t n_gen;
            g_autofree int32_t *gen =
                tok_json_ids(pali_json_get(c, "generated_ids"), &n_gen);
            const pali_json *keep =
                pali_json_get(c, "generated_text_skip_special_false");
            const pali_json *skip =
                pali_json_get(c, "generated_text_skip_special_true");
            g_assert_true(
                tok_decode_equals(tok, what, gen, n_gen, false, keep));
            g_assert_true(tok_decode_equals(tok, what, gen, n_gen, true, skip));
            g_assert_true(tok_stream_equals(tok, what, gen, n_gen, skip, keep));
            int32_t *all = g_new(int32_t, n_want + n_gen);
            memcpy(all, want, n_want * sizeof(int32_t));
            memcpy(all + n_want, gen, n_gen * sizeof(int32_t));
            g_assert_true(tok_decode_equals(
                tok, what, all, n_want + n_gen, true,
                pali_json_get(c, "full_decode_skip_special_true")));
            g_free(all);
            pali_json_free(doc);
            n_cases++;
        }
        g_dir_close(dir);
        pali_tokenizer_free(tok);
    }
    g_assert_cmpint(n_cases, ==, 14); /* 11 cases, tiny-224's twice */
}

static void test_golden_prompt_errors(void)
{
    pali_tokenizer *tok = tok_load_data("golden/tiny-224/tokenizer.json");
    int32_t *ids = NULL;
    size_t n = 0;
    pali_error err = { 0 };
    /* one image token in the prompt places the run there (the processor's
     * second branch); two would be 2N tokens for N features */
    const char *p = "caption <image> en";
    g_assert_cmpint(
        pali_prompt_ids(tok, 4, 3200, 2, p, strlen(p), &ids, &n, &err), ==,
        PALI_OK);
    int32_t caption_ = pali_tokenizer_token_id(tok, "caption");
    int32_t space = pali_tokenizer_token_id(tok, "\xe2\x96\x81");
    int32_t en = pali_tokenizer_token_id(tok, "\xe2\x96\x81"
                                              "en");
    int32_t nl = pali_tokenizer_token_id(tok, "\n");
    const int32_t want_inside[] = { caption_, space, 3200, 3200, 3200,
                                    3200,     2,     en,   nl };
    g_assert_true(
        tok_ids_equal(p, ids, n, want_inside, G_N_ELEMENTS(want_inside)));
    pali_free(ids);
    ids = NULL;
    p = "<image>caption <image>";
    g_assert_cmpint(
        pali_prompt_ids(tok, 4, 3200, 2, p, strlen(p), &ids, &n, &err), ==,
        PALI_ERR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(err.message, "at bytes 0 and 15"));
    g_assert_null(ids);
    /* invalid UTF-8 names the offset in the prompt */
    g_assert_cmpint(
        pali_prompt_ids(tok, 4, 3200, 2, "ab\xff", 3, &ids, &n, &err), ==,
        PALI_ERR_ENCODING);
    g_assert_nonnull(strstr(err.message, "offset 2"));
    /* an id without a spelling, a bad count */
    g_assert_cmpint(pali_prompt_ids(tok, 4, 99999, 2, "a", 1, &ids, &n, &err),
                    ==, PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_prompt_ids(tok, -1, 3200, 2, "a", 1, &ids, &n, &err),
                    ==, PALI_ERR_INVALID_ARGUMENT);
    /* the processor writes "<image>" literally: a model whose image id is
     * another token gets no run of its image tokens (the processor's
     * count check fails) */
    g_assert_cmpint(pali_prompt_ids(tok, 2, 2049, 2, "x", 1, &ids, &n, &err),
                    ==, PALI_ERR_FORMAT);
    g_assert_null(ids);
    g_assert_nonnull(strstr(err.message, "(id 2049): 0 found"));
    p = "<loc0001>";
    g_assert_cmpint(
        pali_prompt_ids(tok, 2, 2049, 2, p, strlen(p), &ids, &n, &err), ==,
        PALI_ERR_FORMAT);
    /* no image tokens at all: <bos> prompt \n */
    g_assert_cmpint(pali_prompt_ids(tok, 0, 3200, 2, "", 0, &ids, &n, &err), ==,
                    PALI_OK);
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpint(ids[0], ==, 2);
    g_assert_cmpint(ids[1], ==, pali_tokenizer_token_id(tok, "\n"));
    pali_free(ids);
    pali_tokenizer_free(tok);
}

static void test_golden_classify(void)
{
    pali_tokenizer *tok = tok_load_data("golden/tiny-224/tokenizer.json");
    pali_tokenizer *hub =
        tok_load_data("golden/tiny-224-hubnames/tokenizer.json");
    pali_tokenizer *both[] = { tok, hub };
    for (int k = 0; k < 2; k++) {
        pali_tokenizer *t = both[k];
        g_assert_cmpint(pali_tokenizer_size(t), ==, 3201);
        for (int32_t id = 0; id < 3201; id++) {
            g_assert_cmpint(pali_tokenizer_loc_value(t, id), ==,
                            id >= 2048 && id < 3072 ? id - 2048 : -1);
            g_assert_cmpint(pali_tokenizer_seg_value(t, id), ==,
                            id >= 3072 && id < 3200 ? id - 3072 : -1);
            g_assert_cmpint(pali_tokenizer_byte_value(t, id), ==,
                            id >= 5 && id < 261 ? id - 5 : -1);
        }
        g_assert_true(pali_tokenizer_is_special(t, 3200));
        g_assert_true(pali_tokenizer_is_special(t, 2));
        g_assert_false(pali_tokenizer_is_special(t, 2048));
        g_assert_cmpint(pali_tokenizer_token_id(t, "<image>"), ==, 3200);
        g_assert_cmpint(pali_tokenizer_token_id(t, "<seg127>"), ==, 3199);
        g_assert_cmpint(pali_tokenizer_loc_value(t, 3201), ==, -1);
        g_assert_cmpint(pali_tokenizer_loc_value(t, -5), ==, -1);
    }
    /* transformers-5 layout: loc/seg are added tokens; the hub's: not */
    g_assert_true(pali_tokenizer_is_added(tok, 2048));
    g_assert_false(pali_tokenizer_is_added(hub, 2048));
    /* the hub file's post-processor adds <bos>; tiny-224's adds nothing */
    int32_t *a = NULL, *b = NULL;
    size_t na, nb;
    g_assert_cmpint(pali_tokenizer_encode_special(tok, "cat", 3, &a, &na, NULL),
                    ==, PALI_OK);
    g_assert_cmpint(pali_tokenizer_encode_special(hub, "cat", 3, &b, &nb, NULL),
                    ==, PALI_OK);
    g_assert_cmpuint(nb, ==, na + 1);
    g_assert_cmpint(b[0], ==, 2);
    g_assert_cmpmem(a, na * 4, b + 1, na * 4);
    pali_free(a);
    pali_free(b);
    pali_tokenizer_free(tok);
    pali_tokenizer_free(hub);
}

/* ---- variants: the reference on other features ------------------------------
 */

static void test_variants(void)
{
    g_autofree char *dir_path = test_data_path("tokenizer-variants");
    GDir *dir = g_dir_open(dir_path, 0, NULL);
    g_assert_nonnull(dir);
    const char *name;
    int n_variants = 0, n_rows = 0, failures = 0;
    while ((name = g_dir_read_name(dir)) != NULL) {
        if (!g_str_has_suffix(name, ".json"))
            continue;
        g_autofree char *base = g_strndup(name, strlen(name) - 5);
        g_autofree char *tok_rel =
            g_strdup_printf("tokenizer-variants/%s", name);
        g_autofree char *rows_rel =
            g_strdup_printf("tokenizer-variants/%s.jsonl", base);
        pali_tokenizer *tok = tok_load_data(tok_rel);
        TokJsonl rows;
        tok_jsonl_read(rows_rel, &rows);
        for (size_t i = 0; i < rows.len; i++) {
            const pali_json *row = tok_jsonl_row(&rows, i);
            const pali_json *text = pali_json_get(row, "text");
            g_autofree char *what = NULL;
            size_t n_ids;
            g_autofree int32_t *ids = NULL;
            if (text != NULL) {
                g_autofree char *shown = tok_show(text->u.string, text->len);
                what = g_strdup_printf("%s row %zu %s", base, i, shown);
                ids = tok_json_ids(pali_json_get(row, "ids"), &n_ids);
                size_t n_sp, n;
                g_autofree int32_t *sp =
                    tok_json_ids(pali_json_get(row, "ids_special"), &n_sp);
                int32_t *got = NULL;
                g_assert_cmpint(pali_tokenizer_encode(tok, text->u.string,
                                                      text->len, &got, &n,
                                                      NULL),
                                ==, PALI_OK);
                failures += !tok_ids_equal(what, got, n, ids, n_ids);
                pali_free(got);
                g_assert_cmpint(
                    pali_tokenizer_encode_special(tok, text->u.string,
                                                  text->len, &got, &n, NULL),
                    ==, PALI_OK);
                g_autofree char *what_sp =
                    g_strdup_printf("%s (add_special_tokens)", what);
                failures += !tok_ids_equal(what_sp, got, n, sp, n_sp);
                pali_free(got);
            } else {
                what = g_strdup_printf("%s row %zu (decode)", base, i);
                ids = tok_json_ids(pali_json_get(row, "decode_ids"), &n_ids);
            }
            const pali_json *keep = pali_json_get(row, "decoded");
            const pali_json *skip = pali_json_get(row, "decoded_skip_special");
            failures += !tok_decode_equals(tok, what, ids, n_ids, false, keep);
            failures += !tok_decode_equals(tok, what, ids, n_ids, true, skip);
            failures += !tok_stream_equals(tok, what, ids, n_ids, skip, keep);
            n_rows++;
        }
        tok_jsonl_clear(&rows);
        pali_tokenizer_free(tok);
        n_variants++;
    }
    g_dir_close(dir);
    g_test_message("%d variants, %d rows", n_variants, n_rows);
    g_assert_cmpint(n_variants, ==, 20);
    g_assert_cmpint(failures, ==, 0);
}

/* ---- malformed and unsupported files ---------------------------------------
 */

/* Pieces of a small valid tokenizer.json; each case replaces one. */
typedef struct {
    const char *top;   /* extra top-level members (a later duplicate key
                        * wins), with a trailing comma */
    const char *added; /* the added_tokens array */
    const char *normalizer, *pre_tokenizer, *post_processor, *decoder;
    const char *model; /* the model object */
} TokParts;

#define ADDED_UNK                                                              \
    "{\"id\":0,\"content\":\"<unk>\",\"single_word\":false,\"lstrip\":false,"  \
    "\"rstrip\":false,\"normalized\":false,\"special\":true}"
#define MODEL_OPTS                                                             \
    "\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<unk>\","               \
    "\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,"          \
    "\"fuse_unk\":false,\"byte_fallback\":false"
#define VOCAB    "\"vocab\":{\"<unk>\":0,\"a\":1,\"b\":2,\"ab\":3}"
#define MODEL_OK "{" MODEL_OPTS "," VOCAB ",\"merges\":[[\"a\",\"b\"]]}"

static const TokParts parts_ok = {
    .top = "",
    .added = "[" ADDED_UNK "]",
    .normalizer = "null",
    .pre_tokenizer = "null",
    .post_processor = "null",
    .decoder = "null",
    .model = MODEL_OK,
};

static char *write_parts(const TokParts *p)
{
    static int serial;
    char *path = g_strdup_printf("%s/tok-%d.json", test_tmpdir(), serial++);
    g_autofree char *json = g_strdup_printf(
        "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,%s"
        "\"added_tokens\":%s,\"normalizer\":%s,\"pre_tokenizer\":%s,"
        "\"post_processor\":%s,\"decoder\":%s,\"model\":%s}",
        p->top, p->added, p->normalizer, p->pre_tokenizer, p->post_processor,
        p->decoder, p->model);
    g_assert_true(g_file_set_contents(path, json, -1, NULL));
    return path;
}

static void test_minimal(void)
{
    g_autofree char *path = write_parts(&parts_ok);
    pali_tokenizer *tok = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_tokenizer_load(path, &tok, &err), ==, PALI_OK);
    static const struct {
        const char *text;
        int32_t ids[4];
        size_t n;
    } cases[] = {
        { "ab", { 3 }, 1 }, { "aab", { 1, 3 }, 2 }, { "abab", { 3, 3 }, 2 },
        { "c", { 0 }, 1 },  { "cc", { 0, 0 }, 2 }, /* fuse_unk false */
        { "", { 0 }, 0 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        g_assert_cmpint(pali_tokenizer_encode(tok, cases[i].text,
                                              strlen(cases[i].text), &ids, &n,
                                              &err),
                        ==, PALI_OK);
        g_assert_true(
            tok_ids_equal(cases[i].text, ids, n, cases[i].ids, cases[i].n));
        pali_free(ids);
    }
    /* no decoder: spellings joined by spaces */
    int32_t ids[] = { 1, 0, 3 };
    char *text = NULL;
    g_assert_cmpint(
        pali_tokenizer_decode(tok, ids, 3, false, &text, NULL, &err), ==,
        PALI_OK);
    g_assert_cmpstr(text, ==, "a <unk> ab");
    pali_free(text);
    g_assert_cmpint(pali_tokenizer_decode(tok, ids, 3, true, &text, NULL, &err),
                    ==, PALI_OK);
    g_assert_cmpstr(text, ==, "a ab");
    pali_free(text);
    pali_tokenizer_free(tok);
}

typedef struct {
    TokParts parts;
    pali_status status;
    const char *message; /* a substring of the error */
} BadCase;

#define ADDED_TOKEN(id, content, flags)                                        \
    "{\"id\":" #id ",\"content\":\"" content "\"," flags "}"
#define FLAGS_PLAIN                                                            \
    "\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"                 \
    "\"normalized\":false,\"special\":false"
#define TEMPLATE(single, specials)                                             \
    "{\"type\":\"TemplateProcessing\",\"single\":" single ",\"pair\":" single  \
    ",\"special_tokens\":" specials "}"

static void test_malformed(void)
{
    static const BadCase cases[] = {
        /* model */
        { .parts.model = "[]",
          .status = PALI_ERR_FORMAT,
          .message = "\"model\" is missing" },
        { .parts.model = "{\"type\":\"Unigram\",\"vocab\":[]}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "model type \"Unigram\"" },
        { .parts.model = "{\"type\":\"BPE\",\"merges\":[]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.vocab is missing" },
        { .parts.model = "{" MODEL_OPTS ",\"vocab\":{\"a\":\"1\"},"
                         "\"merges\":[]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.vocab[\"a\"] is not an integer id" },
        { .parts.model = "{" MODEL_OPTS ",\"vocab\":{\"a\":-1},\"merges\":[]}",
          .status = PALI_ERR_FORMAT,
          .message = "is not an integer id" },
        { .parts.model = "{" MODEL_OPTS ",\"vocab\":{\"a\":5000000},"
                         "\"merges\":[]}",
          .status = PALI_ERR_FORMAT,
          .message = "is not an integer id in 0.." },
        { .parts.model = "{" MODEL_OPTS ",\"vocab\":{\"a\":0,\"b\":0},"
                         "\"merges\":[]}",
          .status = PALI_ERR_FORMAT,
          .message = "gives id 0 to both \"a\" and \"b\"" },
        { .parts.model = "{" MODEL_OPTS ",\"vocab\":{\"a\":0,\"a\":1},"
                         "\"merges\":[]}",
          .status = PALI_ERR_FORMAT,
          .message = "lists \"a\" twice" },
        { .parts.model = "{" MODEL_OPTS "," VOCAB "}",
          .status = PALI_ERR_FORMAT,
          .message = "model.merges is missing" },
        { .parts.model = "{" MODEL_OPTS "," VOCAB ",\"merges\":{}}",
          .status = PALI_ERR_FORMAT,
          .message = "model.merges is missing or not an array" },
        { .parts.model = "{" MODEL_OPTS "," VOCAB
                         ",\"merges\":[[\"a\",\"b\"],[\"a\",\"z\"]]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.merges[1] needs \"z\", which is not in" },
        { .parts.model =
              "{" MODEL_OPTS "," VOCAB ",\"merges\":[[\"b\",\"a\"]]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.merges[0] needs \"ba\"" },
        { .parts.model = "{" MODEL_OPTS "," VOCAB ",\"merges\":[\"a b c\"]}",
          .status = PALI_ERR_FORMAT,
          .message = "is not two tokens separated by one space" },
        { .parts.model = "{" MODEL_OPTS "," VOCAB ",\"merges\":[\"ab\"]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.merges[0] \"ab\" is not two tokens" },
        { .parts.model =
              "{" MODEL_OPTS "," VOCAB ",\"merges\":[[\"a\",\"b\"],\"a b\"]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.merges[1] is not a pair of strings" },
        { .parts.model =
              "{" MODEL_OPTS "," VOCAB ",\"merges\":[\"a b\",[1,2]]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.merges[1] is not a string" },
        { .parts.model = "{" MODEL_OPTS "," VOCAB ",\"merges\":[[\"a\"]]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.merges[0] is not a pair of strings" },
        { .parts.model =
              "{\"type\":\"BPE\",\"dropout\":0.1," VOCAB ",\"merges\":[]}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "model.dropout 0.1 is not supported" },
        { .parts.model =
              "{\"type\":\"BPE\",\"dropout\":2," VOCAB ",\"merges\":[]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.dropout must be null or in [0, 1]" },
        { .parts.model = "{\"type\":\"BPE\",\"continuing_subword_prefix\":"
                         "\"##\"," VOCAB ",\"merges\":[]}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "model.continuing_subword_prefix" },
        { .parts.model =
              "{\"type\":\"BPE\",\"end_of_word_suffix\":\"</w>\"," VOCAB
              ",\"merges\":[]}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "model.end_of_word_suffix" },
        { .parts.model = "{\"type\":\"BPE\",\"byte_fallback\":\"yes\"," VOCAB
                         ",\"merges\":[]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.byte_fallback is not a boolean" },
        { .parts.model =
              "{\"type\":\"BPE\",\"unk_token\":7," VOCAB ",\"merges\":[]}",
          .status = PALI_ERR_FORMAT,
          .message = "model.unk_token is not a string" },
        /* added tokens */
        { .parts.added = "{}",
          .status = PALI_ERR_FORMAT,
          .message = "added_tokens is not an array" },
        { .parts.added = "[{\"id\":0}]",
          .status = PALI_ERR_FORMAT,
          .message = "added_tokens[0] needs a non-empty string \"content\"" },
        { .parts.added = "[" ADDED_TOKEN(4, "", FLAGS_PLAIN) "]",
          .status = PALI_ERR_FORMAT,
          .message = "needs a non-empty string \"content\"" },
        { .parts.added = "[{\"content\":\"x\"}]",
          .status = PALI_ERR_FORMAT,
          .message = "added_tokens[0] needs an integer \"id\"" },
        { .parts.added = "[{\"id\":4,\"content\":\"x\",\"special\":true}]",
          .status = PALI_ERR_FORMAT,
          .message = "added_tokens[0] (\"x\") needs a boolean" },
        { .parts.added = "[" ADDED_TOKEN(
              4, "x",
              "\"single_word\":true,\"lstrip\":false,\"rstrip\":false,"
              "\"normalized\":false,\"special\":false") "]",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "single_word is not supported" },
        { .parts.added = "[" ADDED_TOKEN(7, "x", FLAGS_PLAIN) "]",
          .status = PALI_ERR_FORMAT,
          .message = "(\"x\") has id 7, but the vocabulary gives it id 4" },
        { .parts.added = "[" ADDED_TOKEN(2, "a", FLAGS_PLAIN) "]",
          .status = PALI_ERR_FORMAT,
          .message = "has id 2, but the vocabulary gives it id 1" },
        { .parts.added = "[" ADDED_TOKEN(4, "x", FLAGS_PLAIN) "," ADDED_TOKEN(
              4, "x", FLAGS_PLAIN) "]",
          .status = PALI_ERR_FORMAT,
          .message = "added_tokens[1] (\"x\") repeats" },
        /* pipeline */
        { .parts.normalizer = "{\"type\":\"NFKC\"}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "normalizer: normalizer type \"NFKC\" is not supported" },
        { .parts.normalizer = "{\"type\":\"Sequence\",\"normalizers\":[{\"type"
                              "\":\"Lowercase\"}]}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "normalizer.normalizers[0]: normalizer type" },
        { .parts.normalizer = "{\"type\":\"Replace\",\"pattern\":{\"Regex\":"
                              "\" +\"},\"content\":\"x\"}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "Regex patterns are not supported" },
        { .parts.normalizer = "{\"type\":\"Replace\",\"pattern\":{\"String\":"
                              "\" \"}}",
          .status = PALI_ERR_FORMAT,
          .message = "normalizer needs a string \"content\"" },
        { .parts.normalizer = "{\"pattern\":1}",
          .status = PALI_ERR_FORMAT,
          .message = "normalizer must be an object with a \"type\"" },
        { .parts.normalizer = "{\"type\":\"Sequence\"}",
          .status = PALI_ERR_FORMAT,
          .message = "normalizer needs an array \"normalizers\"" },
        { .parts.pre_tokenizer = "{\"type\":\"Metaspace\",\"replacement\":"
                                 "\"x\"}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "pre_tokenizer type \"Metaspace\"" },
        { .parts.pre_tokenizer = "{\"type\":\"Split\",\"pattern\":{\"String\":"
                                 "\" \"},\"behavior\":\"Sideways\"}",
          .status = PALI_ERR_FORMAT,
          .message = "has an unknown \"behavior\"" },
        { .parts.pre_tokenizer = "{\"type\":\"Split\",\"pattern\":{\"String\":"
                                 "\"\"},\"behavior\":\"Isolated\"}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "an empty String pattern" },
        { .parts.decoder = "{\"type\":\"Metaspace\"}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "decoder type \"Metaspace\" is not supported" },
        { .parts.decoder = "{\"type\":\"Sequence\",\"decoders\":[{\"type\":"
                           "\"Fuse\"},{\"type\":\"Replace\",\"pattern\":{"
                           "\"String\":\"a\"},\"content\":\"b\"}]}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "decoder.decoders[1]: only Strip is supported "
                     "after Fuse" },
        { .parts.decoder = "{\"type\":\"Sequence\",\"decoders\":[{\"type\":"
                           "\"ByteFallback\"},{\"type\":\"ByteFallback\"}]}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "a second ByteFallback" },
        { .parts.decoder = "{\"type\":\"Strip\",\"content\":\"ab\",\"start\":1,"
                           "\"stop\":0}",
          .status = PALI_ERR_FORMAT,
          .message = "needs a one-character \"content\"" },
        { .parts.decoder = "{\"type\":\"Strip\",\"content\":\"a\",\"start\":-1,"
                           "\"stop\":0}",
          .status = PALI_ERR_FORMAT,
          .message = "needs a non-negative integer \"start\"" },
        { .parts.post_processor = "{\"type\":\"RobertaProcessing\"}",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "post_processor type \"RobertaProcessing\"" },
        { .parts.post_processor =
              TEMPLATE("[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
                       "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]",
                       "{}"),
          .status = PALI_ERR_FORMAT,
          .message = "uses SpecialToken \"<s>\", missing from" },
        { .parts.post_processor =
              TEMPLATE("[{\"Sequence\":{\"id\":\"B\",\"type_id\":0}}]", "{}"),
          .status = PALI_ERR_FORMAT,
          .message = "post_processor.single (single) uses $B" },
        { .parts.post_processor =
              TEMPLATE("[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}}]",
                       "{\"<s>\":{\"id\":\"<s>\",\"ids\":[77],\"tokens\":"
                       "[\"<s>\"]}}"),
          .status = PALI_ERR_FORMAT,
          .message = "id that is not a known token" },
        /* top level */
        { .parts.top = "\"truncation\":{\"max_length\":5},",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "\"truncation\" is not supported" },
        { .parts.top = "\"padding\":{\"strategy\":\"BatchLongest\"},",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "\"padding\" is not supported" },
        { .parts.top = "\"version\":\"2.0\",",
          .status = PALI_ERR_UNSUPPORTED,
          .message = "version is not \"1.0\"" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        TokParts p = parts_ok;
#define PICK(f)                                                                \
    if (cases[i].parts.f)                                                      \
        p.f = cases[i].parts.f;
        PICK(top);
        PICK(added);
        PICK(normalizer);
        PICK(pre_tokenizer);
        PICK(post_processor);
        PICK(decoder);
        PICK(model);
#undef PICK
        g_autofree char *path = write_parts(&p);
        pali_tokenizer *tok = NULL;
        pali_error err = { 0 };
        pali_status st = pali_tokenizer_load(path, &tok, &err);
        g_test_message("case %zu: %s", i, err.message);
        g_assert_cmpint(st, ==, cases[i].status);
        g_assert_null(tok);
        g_assert_nonnull(strstr(err.message, path));
        if (strstr(err.message, cases[i].message) == NULL)
            g_error("case %zu: \"%s\" does not say \"%s\"", i, err.message,
                    cases[i].message);
    }
}

static void test_bad_files(void)
{
    pali_tokenizer *tok = NULL;
    pali_error err = { 0 };
    g_autofree char *missing = g_strdup_printf("%s/nope.json", test_tmpdir());
    g_assert_cmpint(pali_tokenizer_load(missing, &tok, &err), ==,
                    PALI_ERR_NOT_FOUND);
    g_assert_nonnull(strstr(err.message, "nope.json"));
    g_assert_cmpint(pali_tokenizer_load(test_tmpdir(), &tok, &err), !=,
                    PALI_OK);
    g_assert_null(tok);
    static const char *const texts[] = { "", "{", "[]",
                                         "{\"model\":", "\xff{}" };
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        g_autofree char *path =
            g_strdup_printf("%s/bad-%zu.json", test_tmpdir(), i);
        g_assert_true(g_file_set_contents(path, texts[i], -1, NULL));
        g_assert_cmpint(pali_tokenizer_load(path, &tok, &err), ==,
                        PALI_ERR_FORMAT);
        g_assert_null(tok);
        g_assert_nonnull(strstr(err.message, path));
    }
    g_assert_cmpint(pali_tokenizer_load(NULL, &tok, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    pali_tokenizer_free(NULL);
    pali_detok_free(NULL);
}

static void test_unk_missing(void)
{
    /* unk_token not in the vocabulary: loading works (as in the reference),
     * encoding a character that needs it fails clearly */
    TokParts p = parts_ok;
    p.added = "[]";
    p.model = "{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"vocab\":{\"a\":0,"
              "\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}";
    g_autofree char *path = write_parts(&p);
    pali_tokenizer *tok = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_tokenizer_load(path, &tok, &err), ==, PALI_OK);
    int32_t *ids = NULL;
    size_t n;
    g_assert_cmpint(pali_tokenizer_encode(tok, "abab", 4, &ids, &n, &err), ==,
                    PALI_OK);
    g_assert_cmpuint(n, ==, 2);
    pali_free(ids);
    ids = NULL;
    g_assert_cmpint(pali_tokenizer_encode(tok, "abc", 3, &ids, &n, &err), ==,
                    PALI_ERR_FORMAT);
    g_assert_null(ids);
    g_assert_nonnull(strstr(err.message, "unk_token \"<unk>\""));
    pali_tokenizer_free(tok);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/tokenizer/golden/prompt-ids", test_golden_prompts);
    g_test_add_func("/engine/tokenizer/golden/prompt-errors",
                    test_golden_prompt_errors);
    g_test_add_func("/engine/tokenizer/golden/classify", test_golden_classify);
    g_test_add_func("/engine/tokenizer/variants", test_variants);
    g_test_add_func("/engine/tokenizer/files/minimal", test_minimal);
    g_test_add_func("/engine/tokenizer/files/malformed", test_malformed);
    g_test_add_func("/engine/tokenizer/files/bad-files", test_bad_files);
    g_test_add_func("/engine/tokenizer/files/unk-missing", test_unk_missing);
    return g_test_run();
}
