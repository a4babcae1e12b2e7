/* test-tokenizer-paligemma.c — the tokenizer as PaliGemmaProcessor sets it
 * up (pali_tokenizer_add_paligemma_tokens, applied by pali_model_load)
 * against transformers 5.12.1 (tests/data/gen/paligemma_tokens.py): plain
 * encoding, encoding with special tokens, the processor's full input_ids
 * with an image, decoding with and without special tokens, streaming, and
 * the per-id facts (ids of <image>/<locNNNN>/<segNNN>, added, skipped),
 * for the golden tiny models (transformers-5 and hub layouts), a
 * palilens-make-model hub-layout tokenizer and variants where the
 * spellings are absent or registered with other flags. */
#include <string.h>

#include "testutil.h"
#include "tokenizer-testutil.h"
#include "tokenizer.h"

/* The processor's extra spellings, in meta.extra_ids' order. */
#define N_LOC   1024
#define N_SEG   128
#define N_EXTRA (1 + N_LOC + N_SEG)

static const char *const case_files[] = {
    "tiny-224", "tiny-224-hubnames", "make-model-tiny-hub", "absent", "flags",
    "holes",
};

static void extra_spelling(int i, char *buf, size_t size)
{
    if (i == 0)
        g_strlcpy(buf, PALI_IMAGE_TOKEN, size);
    else if (i <= N_LOC)
        g_snprintf(buf, size, "<loc%04d>", i - 1);
    else
        g_snprintf(buf, size, "<seg%03d>", i - 1 - N_LOC);
}

static int64_t meta_int(const pali_json *meta, const char *key)
{
    const pali_json *v = pali_json_get(meta, key);
    g_assert_nonnull(v);
    return v->integer;
}

/* A sorted JSON id list as a membership table of `size` entries. */
static gboolean *id_set(const pali_json *list, int size)
{
    gboolean *set = g_new0(gboolean, size);
    for (uint32_t i = 0; i < list->len; i++) {
        int64_t id = list->u.items[i].integer;
        g_assert_cmpint(id, >=, 0);
        g_assert_cmpint(id, <, size);
        set[id] = TRUE;
    }
    return set;
}

/* The per-id facts of meta against tok; returns the failures. */
static int check_ids(const pali_tokenizer *tok, const char *name,
                     const pali_json *meta)
{
    int failures = 0;
    const int size = (int)meta_int(meta, "size");
    g_assert_cmpint(pali_tokenizer_size(tok), ==, size);
    const pali_json *extra = pali_json_get(meta, "extra_ids");
    g_assert_cmpuint(extra->len, ==, N_EXTRA);
    for (int i = 0; i < N_EXTRA; i++) {
        char spelling[16];
        extra_spelling(i, spelling, sizeof(spelling));
        int32_t want = (int32_t)extra->u.items[i].integer;
        int32_t got = pali_tokenizer_token_id(tok, spelling);
        if (got != want) {
            g_test_message("%s: %s is id %d, want %d", name, spelling, got,
                           want);
            failures++;
        }
        /* the value of the id whose spelling this is */
        const char *piece = pali_tokenizer_id_to_piece(tok, want, NULL);
        if (i > 0 && piece && strcmp(piece, spelling) == 0) {
            int loc = pali_tokenizer_loc_value(tok, want);
            int seg = pali_tokenizer_seg_value(tok, want);
            failures += loc != (i <= N_LOC ? i - 1 : -1);
            failures += seg != (i > N_LOC ? i - 1 - N_LOC : -1);
        }
    }
    /* one table entry past the end: ids the tokenizer does not know */
    g_autofree gboolean *added =
        id_set(pali_json_get(meta, "added_ids"), size + 2);
    g_autofree gboolean *skipped =
        id_set(pali_json_get(meta, "skipped_ids"), size + 2);
    for (int32_t id = 0; id < size + 2; id++) {
        if (pali_tokenizer_is_added(tok, id) != added[id] ||
            pali_tokenizer_is_special(tok, id) != skipped[id]) {
            g_test_message("%s: id %d added %d special %d, want %d %d", name,
                           id, pali_tokenizer_is_added(tok, id),
                           pali_tokenizer_is_special(tok, id), added[id],
                           skipped[id]);
            failures++;
        }
    }
    return failures;
}

/* A text row: encode, encode with specials, decode, stream, prompt ids. */
static int check_text_row(const pali_tokenizer *tok, const char *what,
                          const pali_json *meta, const pali_json *row)
{
    int failures = 0;
    const pali_json *text = pali_json_get(row, "text");
    size_t n_want, n_sp, n;
    g_autofree int32_t *want = tok_json_ids(pali_json_get(row, "ids"), &n_want);
    g_autofree int32_t *sp =
        tok_json_ids(pali_json_get(row, "ids_special"), &n_sp);
    int32_t *got = NULL;
    g_assert_cmpint(
        pali_tokenizer_encode(tok, text->u.string, text->len, &got, &n, NULL),
        ==, PALI_OK);
    failures += !tok_ids_equal(what, got, n, want, n_want);
    pali_free(got);
    g_assert_cmpint(pali_tokenizer_encode_special(tok, text->u.string,
                                                  text->len, &got, &n, NULL),
                    ==, PALI_OK);
    g_autofree char *what_sp = g_strdup_printf("%s (add_special_tokens)", what);
    failures += !tok_ids_equal(what_sp, got, n, sp, n_sp);
    pali_free(got);
    const pali_json *keep = pali_json_get(row, "decoded");
    const pali_json *skip = pali_json_get(row, "decoded_skip_special");
    failures += !tok_decode_equals(tok, what, want, n_want, false, keep);
    failures += !tok_decode_equals(tok, what, want, n_want, true, skip);
    failures += !tok_stream_equals(tok, what, want, n_want, skip, keep);

    /* the processor's input_ids, or a refusal where the processor or the
     * model refuses */
    const int n_image = (int)meta_int(meta, "image_seq_length");
    const int32_t image_id = (int32_t)meta_int(meta, "image_token_id");
    const int32_t bos_id = (int32_t)meta_int(meta, "bos_id");
    const pali_json *prompt = pali_json_get(row, "prompt_ids");
    const pali_json *count = pali_json_get(row, "prompt_image_tokens");
    bool refused = prompt == NULL || count->integer != n_image;
    pali_error err = { 0 };
    got = NULL;
    pali_status st = pali_prompt_ids(tok, n_image, image_id, bos_id,
                                     text->u.string, text->len, &got, &n, &err);
    g_autofree char *what_p = g_strdup_printf("%s (prompt ids)", what);
    if (refused) {
        if (st == PALI_OK) {
            g_test_message("%s: accepted, the reference refuses", what_p);
            failures++;
        }
    } else if (st != PALI_OK) {
        g_test_message("%s: %s", what_p, err.message);
        failures++;
    } else {
        size_t n_prompt;
        g_autofree int32_t *p = tok_json_ids(prompt, &n_prompt);
        failures += !tok_ids_equal(what_p, got, n, p, n_prompt);
    }
    pali_free(got);
    return failures;
}

/* Every row of tokenizer-paligemma/NAME.jsonl against tok. */
static int check_rows(const pali_tokenizer *tok, const char *name,
                      const TokJsonl *rows, int *n_rows)
{
    const pali_json *meta = pali_json_get(tok_jsonl_row(rows, 0), "meta");
    int failures = 0;
    for (size_t i = 1; i < rows->len; i++) {
        const pali_json *row = tok_jsonl_row(rows, i);
        const pali_json *text = pali_json_get(row, "text");
        g_autofree char *what = NULL;
        if (text != NULL) {
            g_autofree char *shown = tok_show(text->u.string, text->len);
            what = g_strdup_printf("%s row %zu %s", name, i, shown);
            failures += check_text_row(tok, what, meta, row);
        } else {
            what = g_strdup_printf("%s row %zu (decode)", name, i);
            size_t n;
            g_autofree int32_t *ids =
                tok_json_ids(pali_json_get(row, "decode_ids"), &n);
            const pali_json *keep = pali_json_get(row, "decoded");
            const pali_json *skip = pali_json_get(row, "decoded_skip_special");
            failures += !tok_decode_equals(tok, what, ids, n, false, keep);
            failures += !tok_decode_equals(tok, what, ids, n, true, skip);
            failures += !tok_stream_equals(tok, what, ids, n, skip, keep);
        }
        (*n_rows)++;
    }
    return failures;
}

static pali_tokenizer *load_processor_view(const char *relative)
{
    pali_tokenizer *tok = tok_load_data(relative);
    pali_error err = { 0 };
    g_assert_cmpint(pali_tokenizer_add_paligemma_tokens(tok, &err), ==,
                    PALI_OK);
    return tok;
}

static void read_case(const char *name, TokJsonl *rows)
{
    g_autofree char *rel =
        g_strdup_printf("tokenizer-paligemma/%s.jsonl", name);
    tok_jsonl_read(rel, rows);
    g_assert_cmpuint(rows->len, >, 100);
}

/* The tokenizer files loaded and set up as the processor does. */
static void test_cases(void)
{
    int failures = 0, n_rows = 0;
    for (size_t k = 0; k < G_N_ELEMENTS(case_files); k++) {
        TokJsonl rows;
        read_case(case_files[k], &rows);
        const pali_json *meta = pali_json_get(tok_jsonl_row(&rows, 0), "meta");
        pali_tokenizer *tok =
            load_processor_view(pali_json_get(meta, "tokenizer")->u.string);
        failures += check_ids(tok, case_files[k], meta);
        failures += check_rows(tok, case_files[k], &rows, &n_rows);
        pali_tokenizer_free(tok);
        tok_jsonl_clear(&rows);
    }
    g_test_message("%d rows", n_rows);
    g_assert_cmpint(failures, ==, 0);
}

/* pali_model_load sets its tokenizer up the same way. */
static void test_model(void)
{
    int failures = 0, n_models = 0, n_rows = 0;
    for (size_t k = 0; k < G_N_ELEMENTS(case_files); k++) {
        TokJsonl rows;
        read_case(case_files[k], &rows);
        const pali_json *meta = pali_json_get(tok_jsonl_row(&rows, 0), "meta");
        const pali_json *dir_rel = pali_json_get(meta, "model_dir");
        if (dir_rel->type == PALI_JSON_STRING) {
            g_autofree char *dir = test_data_path(dir_rel->u.string);
            pali_model *m = NULL;
            pali_error err = { 0 };
            if (pali_model_load(dir, NULL, &m, &err) != PALI_OK)
                g_error("%s: %s", dir, err.message);
            const pali_tokenizer *tok = pali_model_get_tokenizer(m);
            failures += check_ids(tok, case_files[k], meta);
            failures += check_rows(tok, case_files[k], &rows, &n_rows);
            g_assert_cmpint(pali_model_get_info(m)->tokenizer_size, ==,
                            meta_int(meta, "size"));
            pali_model_free(m);
            n_models++;
        }
        tok_jsonl_clear(&rows);
    }
    g_assert_cmpint(n_models, ==, 2);
    g_assert_cmpint(failures, ==, 0);
}

/* The raw file stays the tokenizers library's view; the processor's view
 * differs exactly where the brief says: loc/seg of the hub file are one
 * token each, and no <bos> is added.  A second call changes nothing. */
static void test_views(void)
{
    const char *rel = "golden/tiny-224-hubnames/tokenizer.json";
    pali_tokenizer *raw = tok_load_data(rel);
    pali_tokenizer *pg = load_processor_view(rel);
    const char *text = "<loc0010><seg005> cat";
    int32_t *a = NULL, *b = NULL;
    size_t na, nb;
    g_assert_cmpint(
        pali_tokenizer_encode(raw, text, strlen(text), &a, &na, NULL), ==,
        PALI_OK);
    g_assert_cmpint(
        pali_tokenizer_encode(pg, text, strlen(text), &b, &nb, NULL), ==,
        PALI_OK);
    g_assert_cmpuint(na, >, 6); /* "<", "loc", … */
    g_assert_cmpuint(nb, ==, 3);
    g_assert_cmpint(b[0], ==, 2058);
    g_assert_cmpint(b[1], ==, 3077);
    pali_free(a);
    pali_free(b);
    g_assert_false(pali_tokenizer_is_added(raw, 2058));
    g_assert_true(pali_tokenizer_is_added(pg, 2058));
    g_assert_false(pali_tokenizer_is_special(pg, 2058));
    g_assert_cmpint(pali_tokenizer_loc_value(pg, 2058), ==, 10);
    g_assert_cmpint(pali_tokenizer_encode_special(raw, "x", 1, &a, &na, NULL),
                    ==, PALI_OK);
    g_assert_cmpint(pali_tokenizer_encode_special(pg, "x", 1, &b, &nb, NULL),
                    ==, PALI_OK);
    g_assert_cmpuint(na, ==, 2);
    g_assert_cmpint(a[0], ==, 2);
    g_assert_cmpuint(nb, ==, 1);
    g_assert_cmpint(a[1], ==, b[0]);
    pali_free(a);
    pali_free(b);

    pali_error err = { 0 };
    g_assert_cmpint(pali_tokenizer_add_paligemma_tokens(pg, &err), ==, PALI_OK);
    g_assert_cmpint(pali_tokenizer_size(pg), ==, 3201);
    TokJsonl rows;
    read_case("tiny-224-hubnames", &rows);
    const pali_json *meta = pali_json_get(tok_jsonl_row(&rows, 0), "meta");
    int n_rows = 0;
    g_assert_cmpint(check_ids(pg, "twice", meta), ==, 0);
    g_assert_cmpint(check_rows(pg, "twice", &rows, &n_rows), ==, 0);
    tok_jsonl_clear(&rows);
    g_assert_cmpint(pali_tokenizer_add_paligemma_tokens(NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    pali_tokenizer_free(raw);
    pali_tokenizer_free(pg);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/tokenizer/paligemma/cases", test_cases);
    g_test_add_func("/engine/tokenizer/paligemma/model", test_model);
    g_test_add_func("/engine/tokenizer/paligemma/views", test_views);
    return g_test_run();
}
