/* test-tasks.c — task prompts in PaliGemma 2's exact syntax, argument
 * normalisation and refusals, language codes, names, token budgets. */
#include <string.h>

#include "pali.h"
#include "testutil.h"

static char *prompt_ok(pali_task task, const char *lang, const char *text)
{
    char *p = NULL;
    pali_error err = { 0 };
    pali_status st = pali_task_prompt(task, lang, text, &p, &err);
    if (st != PALI_OK)
        g_error("task %d (%s, %s): %s", task, lang, text, err.message);
    return p;
}

static void expect_prompt(pali_task task, const char *lang, const char *text,
                          const char *want)
{
    char *p = prompt_ok(task, lang, text);
    g_assert_cmpstr(p, ==, want);
    pali_free(p);
}

static void expect_refused(pali_task task, const char *lang, const char *text,
                           pali_status status, const char *needle)
{
    char *p = (char *)&p;
    pali_error err = { 0 };
    g_assert_cmpint(pali_task_prompt(task, lang, text, &p, &err), ==, status);
    g_assert_null(p);
    g_test_message("%s", err.message);
    g_assert_nonnull(strstr(err.message, needle));
}

static void test_prompts(void)
{
    expect_prompt(PALI_TASK_CAPTION, "en", NULL, "caption en");
    expect_prompt(PALI_TASK_CAPTION, NULL, NULL, "caption en");
    expect_prompt(PALI_TASK_CAPTION, "", "", "caption en");
    expect_prompt(PALI_TASK_CAPTION, "fil", NULL, "caption fil");
    expect_prompt(PALI_TASK_DESCRIBE, "de", NULL, "describe de");
    expect_prompt(PALI_TASK_OCR, NULL, NULL, "ocr");
    expect_prompt(PALI_TASK_OCR, "fr", "  ", "ocr"); /* no language used */
    expect_prompt(PALI_TASK_ANSWER, "en", "what is the cat doing?",
                  "answer en what is the cat doing?");
    expect_prompt(PALI_TASK_ANSWER, "es", "  ¿qué\n es\t esto? ",
                  "answer es ¿qué es esto?");
    expect_prompt(PALI_TASK_QUESTION, "en", "a red car",
                  "question en a red car");
    expect_prompt(PALI_TASK_DETECT, NULL, "cat", "detect cat");
    expect_prompt(PALI_TASK_DETECT, "zh", "cat;dog", "detect cat ; dog");
    expect_prompt(PALI_TASK_SEGMENT, NULL, " cat ; dog ", "segment cat ; dog");
    expect_prompt(PALI_TASK_SEGMENT, NULL, "traffic   light;\tstop sign",
                  "segment traffic light ; stop sign");
    expect_prompt(PALI_TASK_SEGMENT, NULL, "猫 ; 犬", "segment 猫 ; 犬");
    expect_prompt(PALI_TASK_RAW, NULL, "  anything\ngoes ",
                  "  anything\ngoes ");
    expect_prompt(PALI_TASK_RAW, NULL, NULL, "");
}

static void test_refusals(void)
{
    expect_refused(PALI_TASK_CAPTION, "xx", NULL, PALI_ERR_INVALID_ARGUMENT,
                   "unknown language \"xx\"");
    expect_refused(PALI_TASK_CAPTION, "EN", NULL, PALI_ERR_INVALID_ARGUMENT,
                   "unknown language");
    expect_refused(PALI_TASK_ANSWER, "en", NULL, PALI_ERR_INVALID_ARGUMENT,
                   "answer needs a question");
    expect_refused(PALI_TASK_ANSWER, "en", " \n ", PALI_ERR_INVALID_ARGUMENT,
                   "needs a question");
    expect_refused(PALI_TASK_QUESTION, "en", "", PALI_ERR_INVALID_ARGUMENT,
                   "question needs an answer");
    expect_refused(PALI_TASK_DETECT, NULL, NULL, PALI_ERR_INVALID_ARGUMENT,
                   "detect needs objects");
    expect_refused(PALI_TASK_SEGMENT, NULL, "cat ; ; dog",
                   PALI_ERR_INVALID_ARGUMENT, "object 2 of");
    expect_refused(PALI_TASK_SEGMENT, NULL, "cat ;", PALI_ERR_INVALID_ARGUMENT,
                   "object 2 of \"cat ;\" is empty");
    expect_refused(PALI_TASK_DETECT, NULL, ";", PALI_ERR_INVALID_ARGUMENT,
                   "object 1");
    expect_refused(PALI_TASK_CAPTION, "en", "a cat", PALI_ERR_INVALID_ARGUMENT,
                   "caption takes no text");
    expect_refused(PALI_TASK_OCR, NULL, "x", PALI_ERR_INVALID_ARGUMENT,
                   "ocr takes no text");
    expect_refused(PALI_TASK_ANSWER, "en", "caf\xc3", PALI_ERR_ENCODING,
                   "not valid UTF-8 (byte 3)");
    expect_refused(PALI_TASK_COUNT_, NULL, NULL, PALI_ERR_INVALID_ARGUMENT,
                   "unknown task");
    pali_error err = { 0 };
    g_assert_cmpint(pali_task_prompt(PALI_TASK_OCR, NULL, NULL, NULL, &err), ==,
                    PALI_ERR_INVALID_ARGUMENT);
}

static void test_languages(void)
{
    const char *const *langs = pali_task_languages();
    int n = 0;
    for (; langs[n] != NULL; n++) {
        char *p = prompt_ok(PALI_TASK_CAPTION, langs[n], NULL);
        g_autofree char *want = g_strdup_printf("caption %s", langs[n]);
        g_assert_cmpstr(p, ==, want);
        pali_free(p);
        if (n > 0)
            g_assert_cmpint(strcmp(langs[n - 1], langs[n]), <, 0);
    }
    /* COCO-35L's 35 languages and XM3600's quz */
    g_assert_cmpint(n, ==, 36);
    const char *must[] = { "en", "zh", "fil", "quz", "mi", "sw", "te" };
    for (size_t i = 0; i < G_N_ELEMENTS(must); i++) {
        gboolean found = FALSE;
        for (int k = 0; k < n; k++)
            found |= strcmp(langs[k], must[i]) == 0;
        g_assert_true(found);
    }
}

static void test_names(void)
{
    for (int t = 0; t < PALI_TASK_COUNT_; t++) {
        const char *name = pali_task_name((pali_task)t);
        g_assert_nonnull(name);
        pali_task back = PALI_TASK_COUNT_;
        g_assert_true(pali_task_from_name(name, &back));
        g_assert_cmpint(back, ==, t);
    }
    g_assert_cmpstr(pali_task_name(PALI_TASK_SEGMENT), ==, "segment");
    g_assert_null(pali_task_name(PALI_TASK_COUNT_));
    pali_task t;
    g_assert_false(pali_task_from_name("Segment", &t));
    g_assert_false(pali_task_from_name(NULL, &t));
    g_assert_false(pali_task_from_name("", &t));
}

static void test_max_new_tokens(void)
{
    /* A segmented object needs 4 loc + 16 seg + label + separator ≈ 23
     * tokens; room for several instances of each listed object. */
    int seg1 = pali_task_max_new_tokens(PALI_TASK_SEGMENT, "cat");
    int seg2 = pali_task_max_new_tokens(PALI_TASK_SEGMENT, "cat ; dog");
    int det1 = pali_task_max_new_tokens(PALI_TASK_DETECT, "cat");
    int det3 = pali_task_max_new_tokens(PALI_TASK_DETECT, "cat ; dog ; bird");
    g_assert_cmpint(seg1, >=, 4 * 25);
    g_assert_cmpint(seg1, <=, 400);
    g_assert_cmpint(seg2, >, seg1 + 4 * 22);
    g_assert_cmpint(det1, >=, 4 * 8);
    g_assert_cmpint(det1, <, seg1);
    g_assert_cmpint(det3, >, 2 * det1);
    g_assert_cmpint(
        pali_task_max_new_tokens(PALI_TASK_SEGMENT, "a very long object name"),
        >, seg1);
    g_assert_cmpint(pali_task_max_new_tokens(PALI_TASK_SEGMENT, NULL), >, 0);
    for (int t = 0; t < PALI_TASK_COUNT_; t++)
        g_assert_cmpint(pali_task_max_new_tokens((pali_task)t, "x"), >=, 32);
    g_assert_cmpint(pali_task_max_new_tokens(PALI_TASK_CAPTION, NULL), <,
                    pali_task_max_new_tokens(PALI_TASK_DESCRIBE, NULL));
    /* absurd lists stay bounded */
    GString *many = g_string_new("x");
    for (int i = 0; i < 100000; i++)
        g_string_append(many, " ; x");
    g_assert_cmpint(pali_task_max_new_tokens(PALI_TASK_SEGMENT, many->str), ==,
                    1 << 20);
    g_string_free(many, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/tasks/prompts", test_prompts);
    g_test_add_func("/engine/tasks/refusals", test_refusals);
    g_test_add_func("/engine/tasks/languages", test_languages);
    g_test_add_func("/engine/tasks/names", test_names);
    g_test_add_func("/engine/tasks/max-new-tokens", test_max_new_tokens);
    return g_test_run();
}
