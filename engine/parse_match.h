/* parse_match.h — the HF Space's object regex, hand-written: one
 * `_SEGMENT_DETECT_RE.match(text)` step of extract_objs, with Python `re`
 * semantics on UTF-8 text (parse_match.c). */
#ifndef PALI_PARSE_MATCH_H
#define PALI_PARSE_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "pali.h"

/* One successful match at the start of the text, in byte offsets. */
typedef struct pali_obj_match {
    size_t before_len;          /* group 1: text before the first <loc> */
    size_t end;                 /* bytes matched in all (m.group()) */
    int locs[4];                /* y1 x1 y2 x2 as written (0..9999) */
    bool has_codes;             /* the 16 <seg> group matched */
    int codes[PALI_MASK_CODES]; /* 0..999 */
    bool has_name;              /* the label group matched */
    size_t name_start, name_len;
} pali_obj_match;

/* `(.*?)` + `<loc(\d{4})>`×4 + `\s*` + `(?:<seg(\d{3})>×16)?` +
 * `\s*([^;<>]+)? ?(?:; )?` anchored at text[0].  `.` is anything but
 * "\n"; `\s` and `\d` are Python's Unicode classes (str.isspace, category
 * Nd with its digit value).  The text must be valid UTF-8 (see
 * pali_utf8_sanitize).  Returns false when there is no match. */
bool pali_obj_match_at(const char *text, size_t len, pali_obj_match *m);

/* A copy of `len` bytes in which every ill-formed UTF-8 subsequence (each
 * maximal subpart) is replaced by U+FFFD, as Python's
 * bytes.decode("utf-8", "replace") does; NUL-terminated, *out_len bytes.
 * NULL when out of memory. */
char *pali_utf8_sanitize(const char *text, size_t len, size_t *out_len);

/* Decodes one code point of valid UTF-8 at s[0] (n > 0 bytes left);
 * returns its byte length. */
size_t pali_utf8_next(const char *s, size_t n, unsigned *cp);

#endif /* PALI_PARSE_MATCH_H */
