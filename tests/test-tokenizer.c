/* test-tokenizer.c — the Gemma 3 tokenizer.json (262,145 ids, 514,906
 * merges) against Hugging Face tokenizers 0.23.1: every encode case
 * (ids, decoded, decoded_skip_special), the decode-only cases, the invalid
 * UTF-8 rows, lookups, the post-processor, threads, a long word, and the
 * streaming detokenizer against decode on random id sequences.  The file
 * is loaded once for the whole program (it is 33 MB). */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tokenizer-impl.h"
#include "tokenizer-testutil.h"
#include "tokenizer.h"

#define GEMMA3 "tokenizer/gemma3/tokenizer.json"
/* Threads encoding at once in the thread-safety test. */
#define N_THREADS 4
/* Random sequences fed to the streaming detokenizer. */
#define N_STREAM_SEQUENCES 3000
/* Random words encoded with and without cutting. */
#define N_CUT_WORDS 3000

static pali_tokenizer *gemma3;

static gboolean decode_equals(const char *what, const int32_t *ids, size_t n,
                              bool skip, const pali_json *want)
{
    char *text = NULL;
    size_t len = 0;
    pali_error err = { 0 };
    g_assert_cmpint(
        pali_tokenizer_decode(gemma3, ids, n, skip, &text, &len, &err), ==,
        PALI_OK);
    g_assert_cmpuint(strlen(text), <=, len); /* NUL-terminated */
    gboolean ok = len == want->len && memcmp(text, want->u.string, len) == 0;
    if (!ok) {
        g_autofree char *a = tok_show(text, len);
        g_autofree char *b = tok_show(want->u.string, want->len);
        g_test_message("%s (skip_special=%d): decoded %s, want %s", what, skip,
                       a, b);
    }
    pali_free(text);
    return ok;
}

static void test_encode_cases(void)
{
    TokJsonl cases;
    tok_jsonl_read("tokenizer/gemma3_cases.jsonl", &cases);
    g_assert_cmpuint(cases.len, ==, 387);
    int failures = 0;
    size_t total_ids = 0;
    for (size_t i = 0; i < cases.len; i++) {
        const pali_json *row = tok_jsonl_row(&cases, i);
        const pali_json *text = pali_json_get(row, "text");
        size_t n_want;
        g_autofree int32_t *want =
            tok_json_ids(pali_json_get(row, "ids"), &n_want);
        int32_t *ids = NULL;
        size_t n = 0;
        pali_error err = { 0 };
        g_assert_cmpint(pali_tokenizer_encode(gemma3, text->u.string, text->len,
                                              &ids, &n, &err),
                        ==, PALI_OK);
        g_autofree char *shown = tok_show(text->u.string, text->len);
        g_autofree char *what = g_strdup_printf("case %zu %s", i, shown);
        if (!tok_ids_equal(what, ids, n, want, n_want))
            failures++;
        if (!decode_equals(what, want, n_want, false,
                           pali_json_get(row, "decoded")) ||
            !decode_equals(what, want, n_want, true,
                           pali_json_get(row, "decoded_skip_special")))
            failures++;
        total_ids += n;
        pali_free(ids);
    }
    tok_jsonl_clear(&cases);
    g_assert_cmpint(failures, ==, 0);
    g_assert_cmpuint(total_ids, ==, 19375); /* the README's count */
}

static void test_decode_cases(void)
{
    TokJsonl cases;
    tok_jsonl_read("tokenizer/gemma3_decode_cases.jsonl", &cases);
    g_assert_cmpuint(cases.len, ==, 22);
    int failures = 0;
    for (size_t i = 0; i < cases.len; i++) {
        const pali_json *row = tok_jsonl_row(&cases, i);
        size_t n;
        g_autofree int32_t *ids = tok_json_ids(pali_json_get(row, "ids"), &n);
        const char *what = pali_json_get(row, "description")->u.string;
        if (!decode_equals(what, ids, n, false,
                           pali_json_get(row, "decoded")) ||
            !decode_equals(what, ids, n, true,
                           pali_json_get(row, "decoded_skip_special")))
            failures++;
    }
    tok_jsonl_clear(&cases);
    g_assert_cmpint(failures, ==, 0);
}

static void test_invalid_utf8(void)
{
    TokJsonl rows;
    tok_jsonl_read("tokenizer/gemma3_invalid_utf8.jsonl", &rows);
    g_autofree char *bin_path =
        test_data_path("tokenizer/gemma3_invalid_utf8.bin");
    g_autoptr(GBytes) bin = test_read_file(bin_path);
    gsize bin_len;
    const char *data = g_bytes_get_data(bin, &bin_len);
    g_assert_cmpuint(rows.len, ==, 15);
    for (size_t i = 0; i < rows.len; i++) {
        const pali_json *row = tok_jsonl_row(&rows, i);
        const char *what = pali_json_get(row, "description")->u.string;
        /* what the reference does after U+FFFD replacement */
        const pali_json *lossy = pali_json_get(row, "lossy_text");
        size_t n_want;
        g_autofree int32_t *want =
            tok_json_ids(pali_json_get(row, "ids"), &n_want);
        int32_t *ids = NULL;
        size_t n = 0;
        pali_error err = { 0 };
        g_assert_cmpint(pali_tokenizer_encode(gemma3, lossy->u.string,
                                              lossy->len, &ids, &n, &err),
                        ==, PALI_OK);
        g_assert_true(tok_ids_equal(what, ids, n, want, n_want));
        pali_free(ids);
        g_assert_true(decode_equals(what, want, n_want, false,
                                    pali_json_get(row, "decoded")));
        g_assert_true(
            decode_equals(what, want, n_want, true,
                          pali_json_get(row, "decoded_skip_special")));
        /* the raw bytes: a clear error naming the first bad byte */
        size_t off = (size_t)pali_json_get(row, "offset")->integer;
        size_t len = (size_t)pali_json_get(row, "length")->integer;
        g_assert_cmpuint(off + len, <=, bin_len);
        const char *raw = data + off;
        ids = NULL;
        g_assert_cmpint(pali_tokenizer_encode(gemma3, raw, len, &ids, &n, &err),
                        ==, PALI_ERR_ENCODING);
        g_assert_null(ids);
        const char *at = strstr(err.message, "at offset ");
        g_assert_nonnull(at);
        size_t bad = (size_t)g_ascii_strtoull(at + 10, NULL, 10);
        /* GLib agrees: valid up to `bad`, invalid from there */
        const char *end = NULL;
        g_assert_cmpuint(bad, <, len);
        g_assert_true(g_utf8_validate_len(raw, bad, &end));
        g_assert_false(g_utf8_validate_len(raw, len, &end));
        g_assert_true(end == raw + bad);
        g_test_message("%s: %s", what, err.message);
    }
    tok_jsonl_clear(&rows);
}

static void test_encode_empty(void)
{
    int32_t *ids = NULL;
    size_t n = 99;
    pali_error err = { 0 };
    g_assert_cmpint(pali_tokenizer_encode(gemma3, "", 0, &ids, &n, &err), ==,
                    PALI_OK);
    g_assert_nonnull(ids);
    g_assert_cmpuint(n, ==, 0);
    pali_free(ids);
    g_assert_cmpint(pali_tokenizer_encode(gemma3, NULL, 0, &ids, &n, &err), ==,
                    PALI_OK);
    g_assert_cmpuint(n, ==, 0);
    pali_free(ids);
    char *text = NULL;
    size_t len = 99;
    g_assert_cmpint(
        pali_tokenizer_decode(gemma3, NULL, 0, true, &text, &len, &err), ==,
        PALI_OK);
    g_assert_cmpstr(text, ==, "");
    g_assert_cmpuint(len, ==, 0);
    pali_free(text);
    /* bad arguments are refused, not crashed on */
    g_assert_cmpint(pali_tokenizer_encode(gemma3, NULL, 3, &ids, &n, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(pali_tokenizer_encode(NULL, "a", 1, &ids, &n, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    g_assert_cmpint(
        pali_tokenizer_decode(gemma3, NULL, 2, true, &text, &len, &err), ==,
        PALI_ERR_INVALID_ARGUMENT);
}

static void test_lookups(void)
{
    g_assert_cmpint(pali_tokenizer_size(gemma3), ==, 262145);
    g_assert_cmpint(pali_tokenizer_token_id(gemma3, "<bos>"), ==, 2);
    g_assert_cmpint(pali_tokenizer_token_id(gemma3, "<image_soft_token>"), ==,
                    262144);
    g_assert_cmpint(pali_tokenizer_token_id(gemma3, "\n"), ==, 107);
    g_assert_cmpint(pali_tokenizer_token_id(gemma3, "<0x0D>"), ==, 238 + 0x0D);
    g_assert_cmpint(pali_tokenizer_token_id(gemma3, "<loc0001>"), ==, -1);
    g_assert_cmpint(pali_tokenizer_token_id(gemma3, "no such token!"), ==, -1);
    g_assert_cmpint(pali_tokenizer_token_id(gemma3, NULL), ==, -1);
    size_t len;
    g_assert_cmpstr(pali_tokenizer_id_to_piece(gemma3, 138, &len), ==,
                    "\xe2\x96\x81\xe2\x96\x81");
    g_assert_cmpuint(len, ==, 6);
    g_assert_null(pali_tokenizer_id_to_piece(gemma3, 262145, &len));
    g_assert_null(pali_tokenizer_id_to_piece(gemma3, -1, NULL));
    /* exactly the 9 special tokens of the README */
    static const int32_t specials[] = { 0,   1,      2,      3,     105,
                                        106, 255999, 256000, 262144 };
    int n_special = 0;
    for (int32_t id = 0; id < pali_tokenizer_size(gemma3); id++)
        n_special += pali_tokenizer_is_special(gemma3, id);
    g_assert_cmpint(n_special, ==, G_N_ELEMENTS(specials));
    for (size_t i = 0; i < G_N_ELEMENTS(specials); i++)
        g_assert_true(pali_tokenizer_is_special(gemma3, specials[i]));
    g_assert_false(pali_tokenizer_is_special(gemma3, 4)); /* <mask> */
    g_assert_true(pali_tokenizer_is_added(gemma3, 4));
    g_assert_false(pali_tokenizer_is_added(gemma3, 9259));
    /* byte tokens are ids 238..493 */
    for (int32_t id = 0; id < 600; id++)
        g_assert_cmpint(pali_tokenizer_byte_value(gemma3, id), ==,
                        id >= 238 && id <= 493 ? id - 238 : -1);
    g_assert_cmpint(pali_tokenizer_loc_value(gemma3, 2), ==, -1);
    g_assert_cmpint(pali_tokenizer_seg_value(gemma3, 2), ==, -1);
}

static void test_post_processor(void)
{
    /* single = "<bos> $A": one <bos> before, nothing after */
    static const char text[] = "caption en";
    int32_t *plain = NULL, *special = NULL;
    size_t n_plain, n_special;
    pali_error err = { 0 };
    g_assert_cmpint(pali_tokenizer_encode(gemma3, text, strlen(text), &plain,
                                          &n_plain, &err),
                    ==, PALI_OK);
    g_assert_cmpint(pali_tokenizer_encode_special(gemma3, text, strlen(text),
                                                  &special, &n_special, &err),
                    ==, PALI_OK);
    g_assert_cmpuint(n_special, ==, n_plain + 1);
    g_assert_cmpint(special[0], ==, 2);
    g_assert_cmpmem(special + 1, n_plain * 4, plain, n_plain * 4);
    pali_free(plain);
    pali_free(special);
}

/* ---- threads ----------------------------------------------------------------
 */

typedef struct {
    const TokJsonl *cases;
    int32_t **want;
    size_t *n_want;
    gboolean ok;
} ThreadJob;

static gpointer encode_all(gpointer data)
{
    ThreadJob *job = data;
    job->ok = TRUE;
    for (size_t i = 0; i < job->cases->len; i++) {
        const pali_json *text =
            pali_json_get(tok_jsonl_row(job->cases, i), "text");
        int32_t *ids = NULL;
        size_t n = 0;
        if (pali_tokenizer_encode(gemma3, text->u.string, text->len, &ids, &n,
                                  NULL) != PALI_OK ||
            n != job->n_want[i] ||
            memcmp(ids, job->want[i], n * sizeof(int32_t)) != 0)
            job->ok = FALSE;
        pali_free(ids);
    }
    return NULL;
}

static void test_threads(void)
{
    TokJsonl cases;
    tok_jsonl_read("tokenizer/gemma3_cases.jsonl", &cases);
    int32_t **want = g_new0(int32_t *, cases.len);
    size_t *n_want = g_new0(size_t, cases.len);
    for (size_t i = 0; i < cases.len; i++)
        want[i] = tok_json_ids(pali_json_get(tok_jsonl_row(&cases, i), "ids"),
                               &n_want[i]);
    ThreadJob jobs[N_THREADS];
    GThread *threads[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        jobs[t] = (ThreadJob){ &cases, want, n_want, FALSE };
        threads[t] = g_thread_new("encode", encode_all, &jobs[t]);
    }
    for (int t = 0; t < N_THREADS; t++) {
        g_thread_join(threads[t]);
        g_assert_true(jobs[t].ok);
    }
    for (size_t i = 0; i < cases.len; i++)
        g_free(want[i]);
    g_free(want);
    g_free(n_want);
    tok_jsonl_clear(&cases);
}

/* ---- long words ------------------------------------------------------------
 */

static void test_long_word(void)
{
    /* One 400,000-character word (no space, no newline: a single BPE word).
     * A quadratic merge loop needs minutes for this; the heap takes a
     * fraction of a second even with sanitizers. */
    enum {
        N = 400000
    };
    char *text = g_malloc(N);
    guint32 state = 12345;
    for (size_t i = 0; i < N; i++) {
        state = state * 1103515245u + 12345u;
        text[i] = "abcdefghij"[(state >> 16) % 10];
    }
    gint64 t0 = g_get_monotonic_time();
    int32_t *ids = NULL;
    size_t n = 0;
    g_assert_cmpint(pali_tokenizer_encode(gemma3, text, N, &ids, &n, NULL), ==,
                    PALI_OK);
    double seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    g_test_message("400,000-char word: %zu ids in %.3f s", n, seconds);
    g_assert_cmpuint(n, >, 0);
    g_assert_cmpfloat(seconds, <, 10.0);
    /* the ids decode back to the word */
    char *back = NULL;
    size_t len = 0;
    g_assert_cmpint(
        pali_tokenizer_decode(gemma3, ids, n, true, &back, &len, NULL), ==,
        PALI_OK);
    g_assert_cmpmem(back, len, text, N);
    pali_free(back);
    pali_free(ids);
    g_free(text);
}

/* ---- cutting words is exact ---------------------------------------------- */

static void test_cuts_exact(void)
{
    /* Words (normalized text: "▁" for spaces) built from pieces around the
     * places where bpe.c cuts, and the one Gemma token with "▁" inside
     * (">▁</"): cutting and caching must give the plain merge loop's ids. */
    static const char *const pieces[] = {
        "\xe2\x96\x81",
        "\xe2\x96\x81\xe2\x96\x81",
        ">",
        "</",
        "<",
        "a",
        "the",
        "ing",
        "e",
        "7",
        "42",
        "\xc3\xa9",
        "\xe6\xbc\xa2\xe5\xad\x97",
        "\xf0\x9f\x99\x82",
        "\xc2\xa0",
        "\r",
        ".",
        "Hello",
        "\xe2\x96\x81<",
        ">\xe2\x96\x81</",
        "div>",
        "x\xe2\x96\x81y",
        "\xf0\xa0\x80\x80",
    };
    GRand *rand = g_rand_new_with_seed(7);
    tok_bpe_scratch cut = { 0 }, plain = { 0 };
    tok_ids a = { 0 }, b = { 0 };
    for (int w = 0; w < N_CUT_WORDS; w++) {
        GString *word = g_string_new(NULL);
        int n = g_rand_int_range(rand, 1, 40);
        for (int i = 0; i < n; i++)
            g_string_append(
                word, pieces[g_rand_int_range(rand, 0, G_N_ELEMENTS(pieces))]);
        a.len = b.len = 0;
        g_assert_cmpint(
            tok_bpe_encode(gemma3, &cut, word->str, word->len, &a, NULL), ==,
            PALI_OK);
        g_assert_cmpint(
            tok_bpe_word(gemma3, &plain, word->str, word->len, &b, NULL), ==,
            PALI_OK);
        g_autofree char *shown = tok_show(word->str, word->len);
        g_assert_true(tok_ids_equal(shown, a.data, a.len, b.data, b.len));
        g_string_free(word, TRUE);
    }
    free(a.data);
    free(b.data);
    tok_bpe_scratch_free(&cut);
    tok_bpe_scratch_free(&plain);
    g_rand_free(rand);
}

/* ---- streaming detokenizer ----------------------------------------------- */

/* Feeds ids one by one; checks the pieces against decode(skip=true) and
 * the text with specials against decode(skip=false). */
static void check_stream(pali_detok *d, const pali_tokenizer *tok,
                         const int32_t *ids, size_t n)
{
    GString *pieces = g_string_new(NULL);
    pali_detok_reset(d);
    for (size_t i = 0; i < n; i++) {
        const char *piece;
        size_t len;
        g_assert_cmpint(pali_detok_push(d, ids[i], &piece, &len, NULL), ==,
                        PALI_OK);
        g_assert_cmpuint(strlen(piece), <=, len);
        g_string_append_len(pieces, piece, (gssize)len);
        size_t text_len;
        const char *text = pali_detok_text(d, &text_len);
        g_assert_cmpmem(text, text_len, pieces->str, pieces->len);
    }
    const char *piece;
    size_t len;
    g_assert_cmpint(pali_detok_finish(d, &piece, &len, NULL), ==, PALI_OK);
    g_string_append_len(pieces, piece, (gssize)len);
    for (int skip = 0; skip < 2; skip++) {
        char *want = NULL;
        size_t want_len = 0;
        g_assert_cmpint(
            pali_tokenizer_decode(tok, ids, n, skip, &want, &want_len, NULL),
            ==, PALI_OK);
        size_t got_len;
        const char *got =
            skip ? pieces->str : pali_detok_text_with_special(d, &got_len);
        if (skip)
            got_len = pieces->len;
        g_assert_cmpmem(got, got_len, want, want_len);
        pali_free(want);
    }
    /* pieces are released only once a byte run is complete: always UTF-8 */
    g_assert_true(g_utf8_validate_len(pieces->str, pieces->len, NULL) ||
                  memchr(pieces->str, 0, pieces->len) != NULL);
    g_string_free(pieces, TRUE);
}

static void test_stream_random(void)
{
    pali_detok *d = NULL;
    g_assert_cmpint(pali_detok_new(gemma3, &d, NULL), ==, PALI_OK);
    GRand *rand = g_rand_new_with_seed(20240611);
    int32_t size = pali_tokenizer_size(gemma3);
    for (int s = 0; s < N_STREAM_SEQUENCES; s++) {
        int32_t ids[64];
        int n = g_rand_int_range(rand, 0, G_N_ELEMENTS(ids));
        for (int i = 0; i < n; i++) {
            /* mostly byte tokens (runs valid and invalid) and specials,
             * some ordinary and unknown ids */
            switch (g_rand_int_range(rand, 0, 8)) {
            case 0:
            case 1:
            case 2: ids[i] = 238 + g_rand_int_range(rand, 0x80, 0x100); break;
            case 3: ids[i] = 238 + g_rand_int_range(rand, 0, 0x80); break;
            case 4: ids[i] = g_rand_int_range(rand, 0, 4); break;
            case 5: ids[i] = g_rand_int_range(rand, size - 2, size + 2); break;
            default: ids[i] = g_rand_int_range(rand, 0, size); break;
            }
        }
        check_stream(d, gemma3, ids, (size_t)n);
    }
    /* the same after the decode-only cases' hand-made sequences */
    TokJsonl cases;
    tok_jsonl_read("tokenizer/gemma3_decode_cases.jsonl", &cases);
    for (size_t i = 0; i < cases.len; i++) {
        size_t n;
        g_autofree int32_t *ids =
            tok_json_ids(pali_json_get(tok_jsonl_row(&cases, i), "ids"), &n);
        check_stream(d, gemma3, ids, n);
    }
    tok_jsonl_clear(&cases);
    /* pushing after finish is refused until reset */
    pali_error err = { 0 };
    g_assert_cmpint(pali_detok_push(d, 5, NULL, NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
    pali_detok_reset(d);
    g_assert_cmpint(pali_detok_push(d, 5, NULL, NULL, &err), ==, PALI_OK);
    g_rand_free(rand);
    pali_detok_free(d);
}

static void test_stream_held_back(void)
{
    /* <0xE2> <0x82> <0xAC> = "€": nothing until the run ends */
    pali_detok *d = NULL;
    g_assert_cmpint(pali_detok_new(gemma3, &d, NULL), ==, PALI_OK);
    const char *piece;
    size_t len;
    int32_t euro[] = { 238 + 0xE2, 238 + 0x82, 238 + 0xAC };
    for (size_t i = 0; i < G_N_ELEMENTS(euro); i++) {
        g_assert_cmpint(pali_detok_push(d, euro[i], &piece, &len, NULL), ==,
                        PALI_OK);
        g_assert_cmpuint(len, ==, 0);
    }
    g_assert_cmpint(pali_detok_push(d, 2, &piece, &len, NULL), ==, PALI_OK);
    g_assert_cmpuint(len, ==, 0); /* <bos> is skipped; the run goes on */
    g_assert_cmpint(pali_detok_push(d, pali_tokenizer_token_id(gemma3, "a"),
                                    &piece, &len, NULL),
                    ==, PALI_OK);
    g_assert_cmpstr(piece, ==,
                    "\xe2\x82\xac"
                    "a");
    /* with specials the <bos> cut the run: "€" then "<bos>" */
    g_assert_cmpstr(pali_detok_text_with_special(d, NULL), ==,
                    "\xe2\x82\xac<bos>a");
    pali_detok_free(d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    gint64 t0 = g_get_monotonic_time();
    gemma3 = tok_load_data(GEMMA3);
    g_test_message("loaded %s in %.3f s", GEMMA3,
                   (double)(g_get_monotonic_time() - t0) / 1e6);
    g_test_add_func("/engine/tokenizer/gemma3/encode-cases", test_encode_cases);
    g_test_add_func("/engine/tokenizer/gemma3/decode-cases", test_decode_cases);
    g_test_add_func("/engine/tokenizer/gemma3/invalid-utf8", test_invalid_utf8);
    g_test_add_func("/engine/tokenizer/gemma3/encode-empty", test_encode_empty);
    g_test_add_func("/engine/tokenizer/gemma3/lookups", test_lookups);
    g_test_add_func("/engine/tokenizer/gemma3/post-processor",
                    test_post_processor);
    g_test_add_func("/engine/tokenizer/gemma3/threads", test_threads);
    g_test_add_func("/engine/tokenizer/gemma3/long-word", test_long_word);
    g_test_add_func("/engine/tokenizer/gemma3/cuts-exact", test_cuts_exact);
    g_test_add_func("/engine/tokenizer/gemma3/stream-random",
                    test_stream_random);
    g_test_add_func("/engine/tokenizer/gemma3/stream-held-back",
                    test_stream_held_back);
    int rc = g_test_run();
    pali_tokenizer_free(gemma3);
    return rc;
}
