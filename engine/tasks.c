/* tasks.c — PaliGemma 2's task prompts (pali_task_*): the exact prefix
 * syntax the "mix" checkpoints were trained on, argument checks and
 * normalisation, and a generation budget per task.
 *
 * Prompt syntax (PaliGemma 2 model card; ai.google.dev "PaliGemma prompt
 * and system instructions"; big_vision configs/proj/paligemma/transfers):
 * "caption {lang}", "describe {lang}", "ocr", "answer {lang} {question}",
 * "question {lang} {answer}", "detect {object} ; {object}",
 * "segment {object} ; {object}".  The processor appends "\n" itself, so
 * prompts here never end with one.
 *
 * Language codes: big_vision/configs/proj/paligemma/transfers/coco35l.py
 * (google-research/big_vision @ 11eea574): LANGUAGES, the 35 languages of
 * the COCO-35L captions the multilingual tasks were trained on, plus "quz"
 * from LANGUAGES_XM3600 (the Crossmodal-3600 evaluation set). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "parse_match.h"

static const char *const task_names[PALI_TASK_COUNT_] = {
    [PALI_TASK_CAPTION] = "caption",   [PALI_TASK_DESCRIBE] = "describe",
    [PALI_TASK_OCR] = "ocr",           [PALI_TASK_ANSWER] = "answer",
    [PALI_TASK_QUESTION] = "question", [PALI_TASK_DETECT] = "detect",
    [PALI_TASK_SEGMENT] = "segment",   [PALI_TASK_RAW] = "raw",
};

/* coco35l.py LANGUAGES_XM3600: LANGUAGES (COCO-35L) + "quz", sorted. */
static const char *const languages[] = {
    "ar",  "bn", "cs", "da", "de", "el",  "en", "es", "fa", "fi",
    "fil", "fr", "he", "hi", "hr", "hu",  "id", "it", "ja", "ko",
    "mi",  "nl", "no", "pl", "pt", "quz", "ro", "ru", "sv", "sw",
    "te",  "th", "tr", "uk", "vi", "zh",  NULL,
};

#define DEFAULT_LANGUAGE "en"

/* Generation budgets, in new tokens.  Captions in the mix checkpoints are
 * one sentence (COCO-style, big_vision evaluates with 32 tokens); describe,
 * OCR and raw prompts may run long. */
#define TOKENS_CAPTION  64
#define TOKENS_DESCRIBE 256
#define TOKENS_OCR      256
#define TOKENS_ANSWER   64
#define TOKENS_QUESTION 64
#define TOKENS_RAW      256
/* An object instance: 4 <loc> tokens, 16 <seg> tokens when segmenting,
 * the label (about one token per 3 bytes, rounded up, plus one) and the
 * " ; " separator (2 tokens).  A listed object may be found several times
 * (a crowd of "person"): room for this many instances each. */
#define TOKENS_LOC            4
#define TOKENS_SEG            16
#define TOKENS_SEPARATOR      2
#define LABEL_BYTES_PER_TOKEN 3
#define INSTANCES_PER_OBJECT  8
#define TOKENS_EOS            1

const char *pali_task_name(pali_task task)
{
    return (unsigned)task < PALI_TASK_COUNT_ ? task_names[task] : NULL;
}

bool pali_task_from_name(const char *name, pali_task *task)
{
    if (name == NULL)
        return false;
    for (int t = 0; t < PALI_TASK_COUNT_; t++)
        if (strcmp(name, task_names[t]) == 0) {
            if (task != NULL)
                *task = (pali_task)t;
            return true;
        }
    return false;
}

const char *const *pali_task_languages(void)
{
    return languages;
}

static bool known_language(const char *lang)
{
    for (size_t i = 0; languages[i] != NULL; i++)
        if (strcmp(lang, languages[i]) == 0)
            return true;
    return false;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Appends s[0..n) to out with blank runs collapsed to one space and no
 * blanks at either end; returns the new length of out. */
static size_t append_collapsed(char *out, size_t o, const char *s, size_t n)
{
    size_t start = o;
    bool pending = false;
    for (size_t i = 0; i < n; i++) {
        if (is_blank(s[i])) {
            pending = o > start;
            continue;
        }
        if (pending)
            out[o++] = ' ';
        pending = false;
        out[o++] = s[i];
    }
    return o;
}

static pali_status check_utf8(const char *text, const char *what,
                              pali_error *err)
{
    size_t len = strlen(text), clean_len = 0;
    char *clean = pali_utf8_sanitize(text, len, &clean_len);
    if (clean == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    size_t i = 0;
    while (i < len && clean[i] == text[i])
        i++;
    bool ok = clean_len == len && i == len;
    free(clean);
    if (!ok)
        return pali_fail(err, PALI_ERR_ENCODING,
                         "%s is not valid UTF-8 (byte %zu)", what, i);
    return PALI_OK;
}

/* "cat;dog", " cat ; dog " → "cat ; dog"; an empty object is an error. */
static pali_status normalise_objects(pali_task task, const char *text,
                                     char **out, pali_error *err)
{
    size_t len = strlen(text);
    /* Each ";" becomes at most " ; ": 3 bytes for 1. */
    char *buf = malloc(3 * len + 1);
    if (buf == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    size_t o = 0;
    int index = 1;
    for (const char *p = text;; index++) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        if (index > 1) {
            memcpy(buf + o, " ; ", 3);
            o += 3;
        }
        size_t before = o;
        o = append_collapsed(buf, o, p, n);
        if (o == before) {
            free(buf);
            return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                             "%s: object %d of \"%s\" is empty (write "
                             "objects as \"cat ; dog\")",
                             task_names[task], index, text);
        }
        if (semi == NULL)
            break;
        p = semi + 1;
    }
    buf[o] = 0;
    *out = buf;
    return PALI_OK;
}

pali_status pali_task_prompt(pali_task task, const char *lang, const char *text,
                             char **prompt, pali_error *err)
{
    if (prompt == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_task_prompt: NULL argument");
    *prompt = NULL;
    if ((unsigned)task >= PALI_TASK_COUNT_)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT, "unknown task %d",
                         (int)task);
    const char *name = task_names[task];
    bool takes_lang = task == PALI_TASK_CAPTION || task == PALI_TASK_DESCRIBE ||
                      task == PALI_TASK_ANSWER || task == PALI_TASK_QUESTION;
    bool takes_text = task != PALI_TASK_CAPTION && task != PALI_TASK_DESCRIBE &&
                      task != PALI_TASK_OCR;
    if (lang == NULL || lang[0] == 0)
        lang = DEFAULT_LANGUAGE;
    if (takes_lang && !known_language(lang))
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "%s: unknown language \"%.16s\" (one of: ar bn cs da "
                         "de el en es fa fi fil fr he hi hr hu id it ja ko mi "
                         "nl no pl pt quz ro ru sv sw te th tr uk vi zh)",
                         name, lang);
    if (text != NULL) {
        pali_status st = check_utf8(text, "the task text", err);
        if (st != PALI_OK)
            return st;
    }
    if (!takes_text) {
        for (const char *p = text; p != NULL && *p; p++)
            if (!is_blank(*p))
                return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                                 "%s takes no text (got \"%.40s\")", name,
                                 text);
        char *s = malloc(strlen(name) + 1 + strlen(lang) + 1);
        if (s == NULL)
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
        if (takes_lang)
            sprintf(s, "%s %s", name, lang);
        else
            strcpy(s, name);
        *prompt = s;
        return PALI_OK;
    }
    if (task == PALI_TASK_RAW) {
        *prompt = pali_strdup(text ? text : "");
        return *prompt
                   ? PALI_OK
                   : pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    }
    const char *what = task == PALI_TASK_ANSWER     ? "a question"
                       : task == PALI_TASK_QUESTION ? "an answer"
                                                    : "objects to find";
    bool empty = true;
    for (const char *p = text; p != NULL && *p; p++)
        if (!is_blank(*p))
            empty = false;
    if (empty)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT, "%s needs %s", name,
                         what);
    char *arg = NULL;
    if (task == PALI_TASK_DETECT || task == PALI_TASK_SEGMENT) {
        pali_status st = normalise_objects(task, text, &arg, err);
        if (st != PALI_OK)
            return st;
    } else {
        /* One line: the prompt ends at the "\n" the processor adds. */
        arg = malloc(strlen(text) + 1);
        if (arg == NULL)
            return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
        arg[append_collapsed(arg, 0, text, strlen(text))] = 0;
    }
    size_t n = strlen(name) + strlen(lang) + strlen(arg) + 3;
    char *s = malloc(n);
    if (s == NULL) {
        free(arg);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (takes_lang)
        snprintf(s, n, "%s %s %s", name, lang, arg);
    else
        snprintf(s, n, "%s %s", name, arg);
    free(arg);
    *prompt = s;
    return PALI_OK;
}

int pali_task_max_new_tokens(pali_task task, const char *text)
{
    switch (task) {
    case PALI_TASK_CAPTION: return TOKENS_CAPTION;
    case PALI_TASK_DESCRIBE: return TOKENS_DESCRIBE;
    case PALI_TASK_OCR: return TOKENS_OCR;
    case PALI_TASK_ANSWER: return TOKENS_ANSWER;
    case PALI_TASK_QUESTION: return TOKENS_QUESTION;
    case PALI_TASK_RAW: return TOKENS_RAW;
    case PALI_TASK_DETECT:
    case PALI_TASK_SEGMENT: break;
    default: return TOKENS_RAW;
    }
    int per_box = TOKENS_LOC + (task == PALI_TASK_SEGMENT ? TOKENS_SEG : 0) +
                  TOKENS_SEPARATOR;
    long total = TOKENS_EOS;
    const char *p = text ? text : "";
    do {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        long label =
            1 + (long)(n + LABEL_BYTES_PER_TOKEN - 1) / LABEL_BYTES_PER_TOKEN;
        total += (long)INSTANCES_PER_OBJECT * (per_box + label);
        if (total > 1L << 20)
            return 1 << 20; /* absurd lists: the session refuses it */
        p = semi ? semi + 1 : NULL;
    } while (p != NULL);
    return (int)total;
}
