/* test-cli-tokenizer.c — palilens-cli's tokenizer mode as a program:
 * --encode-jsonl on the Gemma 3 cases file must print the reference's ids
 * and decodings line by line (embedded NUL included), --decode prints text
 * or JSON, and bad input or usage gives the documented exit status and a
 * message naming the problem. */
#include <glib/gstdio.h>
#include <string.h>

#include "testutil.h"
#include "tokenizer-testutil.h"

#define GEMMA3 "tokenizer/gemma3/tokenizer.json"
#define TINY   "golden/tiny-224/tokenizer.json"

typedef struct {
    char *out, *err;
    int status; /* exit status */
} CliRun;

static void cli_run_clear(CliRun *r)
{
    g_free(r->out);
    g_free(r->err);
}

/* Runs palilens-cli with the NULL-terminated arguments. */
static CliRun run_cli(const char *first, ...)
{
    GPtrArray *args = g_ptr_array_new();
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
        g_ptr_array_add(args, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(args, NULL);
    CliRun r = { 0 };
    r.status = test_run_cli((const char *const *)args->pdata, &r.out, &r.err);
    g_ptr_array_free(args, TRUE);
    return r;
}

static gboolean json_string_is(const pali_json *v, const pali_json *want)
{
    return pali_json_is(v, PALI_JSON_STRING) && v->len == want->len &&
           memcmp(v->u.string, want->u.string, v->len) == 0;
}

static void test_encode_jsonl(void)
{
    g_autofree char *tok = test_data_path(GEMMA3);
    g_autofree char *in = test_data_path("tokenizer/gemma3_cases.jsonl");
    CliRun r = run_cli("--tokenizer", tok, "--encode-jsonl", in, NULL);
    if (r.status != 0)
        g_test_message("stderr: %s", r.err);
    g_assert_cmpint(r.status, ==, 0);
    TokJsonl cases;
    tok_jsonl_read("tokenizer/gemma3_cases.jsonl", &cases);
    g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, cases.len + 1);
    g_assert_cmpstr(lines[cases.len], ==, "");
    for (size_t i = 0; i < cases.len; i++) {
        const pali_json *want = tok_jsonl_row(&cases, i);
        pali_json_doc *doc = NULL;
        pali_error err = { 0 };
        g_assert_cmpint(
            pali_json_parse(lines[i], strlen(lines[i]), "output", &doc, &err),
            ==, PALI_OK);
        const pali_json *got = pali_json_root(doc);
        size_t n_got, n_want;
        g_autofree int32_t *ids =
            tok_json_ids(pali_json_get(got, "ids"), &n_got);
        g_autofree int32_t *want_ids =
            tok_json_ids(pali_json_get(want, "ids"), &n_want);
        g_autofree char *what = g_strdup_printf("line %zu", i + 1);
        g_assert_true(tok_ids_equal(what, ids, n_got, want_ids, n_want));
        g_assert_true(json_string_is(pali_json_get(got, "decoded"),
                                     pali_json_get(want, "decoded")));
        g_assert_true(
            json_string_is(pali_json_get(got, "decoded_skip_special"),
                           pali_json_get(want, "decoded_skip_special")));
        g_assert_cmpuint(got->len, ==, 3);
        pali_json_free(doc);
    }
    tok_jsonl_clear(&cases);
    cli_run_clear(&r);
}

static void test_decode(void)
{
    g_autofree char *tok = test_data_path(TINY);
    CliRun r =
        run_cli("--tokenizer", tok, "--decode", "2,1971, 571,261,2048", NULL);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "<bos>caption en\n<loc0000>\n");
    cli_run_clear(&r);
    /* JSON: both texts; a NUL byte (byte token 0x00 = id 5) as \u0000 */
    r = run_cli("--tokenizer", tok, "--decode", "2,1971,5,3200", "--json",
                NULL);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==,
                    "{\"text\":\"<bos>caption\\u0000<image>\","
                    "\"text_skip_special\":\"caption\\u0000\"}\n");
    cli_run_clear(&r);
    /* unknown ids are dropped, as by the reference */
    r = run_cli("--tokenizer", tok, "--decode", "1971,999999", NULL);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "caption\n");
    cli_run_clear(&r);
    /* --model DIR finds DIR/tokenizer.json */
    g_autofree char *dir = test_data_path("golden/tiny-224");
    r = run_cli("--model", dir, "--decode", "", NULL);
    g_assert_cmpint(r.status, ==, 0);
    g_assert_cmpstr(r.out, ==, "\n");
    cli_run_clear(&r);
}

static void expect_failure(CliRun r, int status, const char *message)
{
    if (r.status != status || strstr(r.err, message) == NULL)
        g_error("exit %d (want %d), stderr \"%s\" (want \"%s\")", r.status,
                status, r.err, message);
    cli_run_clear(&r);
}

static void test_errors(void)
{
    g_autofree char *tok = test_data_path(TINY);
    static const struct {
        const char *content;
        const char *message;
    } bad_lines[] = {
        { "{\"text\": \"ok\"}\n{\"text\": 5}\n",
          ".jsonl:2:10: \"text\" is not a string" },
        { "{\"txt\": \"a\"}\n", ":1:13: no \"text\" member" },
        { "[\"a\"]\n", ":1:1: not a JSON object" },
        { "{\"text\": \"a\"} x\n", "trailing characters" },
        { "{\"text\": \"a\\ud800\"}\n", "high surrogate without a low one" },
        { "{\"text\": \"a\xff\"}\n", ":1:12: not valid UTF-8" },
        { "{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n", ":2:1: empty line" },
        { "{\"text\": \"a\", \"x\": [1, {\"y\": tru}]}\n",
          "unexpected character" },
        { "{\"text\": \"a\"", ":1:13: ',' or '}' expected" },
        { "{\"text\": \"a", ":1:12: unterminated string" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad_lines); i++) {
        g_autofree char *path =
            g_strdup_printf("%s/bad-%zu.jsonl", test_tmpdir(), i);
        g_assert_true(
            g_file_set_contents(path, bad_lines[i].content, -1, NULL));
        expect_failure(
            run_cli("--tokenizer", tok, "--encode-jsonl", path, NULL), 1,
            bad_lines[i].message);
    }
    /* bad ids */
    expect_failure(run_cli("--tokenizer", tok, "--decode", "1,x", NULL), 1,
                   "item 2 (\"x\") is not an id");
    expect_failure(run_cli("--tokenizer", tok, "--decode", "-3", NULL), 1,
                   "is not an id");
    expect_failure(run_cli("--tokenizer", tok, "--decode", "1,,2", NULL), 1,
                   "item 2");
    expect_failure(run_cli("--tokenizer", tok, "--decode", "4294967296", NULL),
                   1, "is not an id");
    /* files */
    expect_failure(run_cli("--tokenizer", "/nonexistent/tokenizer.json",
                           "--decode", "1", NULL),
                   1, "/nonexistent/tokenizer.json");
    expect_failure(run_cli("--tokenizer", tok, "--encode-jsonl",
                           "/nonexistent/in.jsonl", NULL),
                   1, "/nonexistent/in.jsonl");
    /* usage */
    expect_failure(run_cli("--tokenizer", tok, NULL), 2,
                   "needs exactly one of");
    expect_failure(run_cli("--decode", "1", NULL), 2,
                   "--decode needs --tokenizer FILE");
    expect_failure(run_cli("--tokenizer", tok, "--decode", "1",
                           "--encode-jsonl", "x", NULL),
                   2, "needs exactly one of");
    expect_failure(
        run_cli("--tokenizer", tok, "--decode", "1", "--image", "x.png", NULL),
        2, "--image cannot be used");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/tokenizer/encode-jsonl", test_encode_jsonl);
    g_test_add_func("/cli/tokenizer/decode", test_decode);
    g_test_add_func("/cli/tokenizer/errors", test_errors);
    return g_test_run();
}
