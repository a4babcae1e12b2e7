/* test-json.c — the engine's JSON reader: values, escapes, UTF-8 checks and
 * every kind of malformed input. */
#include <string.h>

#include "json.h"
#include "testutil.h"

static pali_status parse(const char *text, pali_json_doc **doc, pali_error *err)
{
    return pali_json_parse(text, strlen(text), "test", doc, err);
}

static void test_values(void)
{
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    const char *text =
        "{\"a\": 1, \"b\": -2.5e3, \"c\": \"x\\u00e9\\ud83d\\ude00\\n\","
        " \"d\": [true, false, null], \"e\": {}, \"a\": 7,"
        " \"big\": 12345678901234, \"z\": \"a\\u0000b\"}";
    g_assert_cmpint(parse(text, &doc, &err), ==, PALI_OK);
    const pali_json *root = pali_json_root(doc);
    g_assert_true(pali_json_is(root, PALI_JSON_OBJECT));
    g_assert_cmpuint(root->len, ==, 8);
    /* duplicate keys: the last one wins for lookups */
    const pali_json *a = pali_json_get(root, "a");
    g_assert_true(a->is_integer);
    g_assert_cmpint(a->integer, ==, 7);
    const pali_json *b = pali_json_get(root, "b");
    g_assert_false(b->is_integer);
    g_assert_cmpfloat(b->u.number, ==, -2500.0);
    const pali_json *c = pali_json_get(root, "c");
    g_assert_cmpstr(c->u.string, ==, "x\xc3\xa9\xf0\x9f\x98\x80\n");
    g_assert_cmpuint(c->len, ==, 8);
    const pali_json *d = pali_json_get(root, "d");
    g_assert_cmpuint(d->len, ==, 3);
    g_assert_cmpint(d->u.items[0].type, ==, PALI_JSON_TRUE);
    g_assert_cmpint(d->u.items[2].type, ==, PALI_JSON_NULL);
    g_assert_cmpint(pali_json_get(root, "big")->integer, ==, 12345678901234LL);
    const pali_json *z = pali_json_get(root, "z");
    g_assert_cmpuint(z->len, ==, 3);
    g_assert_cmpint(memcmp(z->u.string, "a\0b", 3), ==, 0);
    g_assert_null(pali_json_get(root, "missing"));
    g_assert_cmpstr(pali_json_key_at(root, 1)->u.string, ==, "b");
    pali_json_free(doc);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "",
        "{",
        "[1,]",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "\"abc",
        "\"a\\x\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"tab\there\"",
        "01",
        "1.",
        "1e",
        "-",
        "tru",
        "nul",
        "[1] 2",
        "\"\xff\"",
        "\"\xc0\xaf\"",         /* overlong */
        "\"\xed\xa0\x80\"",     /* UTF-8 surrogate */
        "\"\xf4\x90\x80\x80\"", /* beyond U+10FFFF */
        "{1:2}",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        pali_json_doc *doc = NULL;
        pali_error err = { 0 };
        pali_status st = parse(bad[i], &doc, &err);
        g_assert_cmpint(st, ==, PALI_ERR_FORMAT);
        g_assert_null(doc);
        g_assert_nonnull(strstr(err.message, "test: invalid JSON at byte"));
    }
}

static void test_depth(void)
{
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 100000; i++)
        g_string_append_c(s, '[');
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_json_parse(s->str, s->len, "deep", &doc, &err), ==,
                    PALI_ERR_FORMAT);
    g_assert_nonnull(strstr(err.message, "nesting too deep"));
    g_string_free(s, TRUE);
}

static void test_not_nul_terminated(void)
{
    /* The parser must never read past len. */
    char *buf = g_malloc(4);
    memcpy(buf, "[123", 4);
    pali_json_doc *doc = NULL;
    pali_error err = { 0 };
    g_assert_cmpint(pali_json_parse(buf, 4, "t", &doc, &err), ==,
                    PALI_ERR_FORMAT);
    memcpy(buf, "1234", 4);
    g_assert_cmpint(pali_json_parse(buf, 4, "t", &doc, &err), ==, PALI_OK);
    g_assert_cmpint(pali_json_root(doc)->integer, ==, 1234);
    pali_json_free(doc);
    g_free(buf);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/json/values", test_values);
    g_test_add_func("/engine/json/malformed", test_malformed);
    g_test_add_func("/engine/json/depth", test_depth);
    g_test_add_func("/engine/json/not-nul-terminated", test_not_nul_terminated);
    return g_test_run();
}
