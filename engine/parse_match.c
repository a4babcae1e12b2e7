/* parse_match.c — one step of the HF Space's extract_objs: the compiled
 * _SEGMENT_DETECT_RE applied with .match(), without a regex library.
 *
 *     (.*?)<loc(\d{4})><loc(\d{4})><loc(\d{4})><loc(\d{4})>\s*
 *     (?:<seg(\d{3})>…16 times…)?\s*([^;<>]+)? ?(?:; )?
 *
 * Python's backtracking never changes the outcome of this pattern except
 * in the lazy prefix: everything after the four <loc> tokens is optional,
 * so the first way the engine tries succeeds (greedy \s*, the seg group if
 * all 16 tokens are there, the greedy label), and the lazy (.*?) stops at
 * the first position where four <loc> tokens start, giving up at a "\n"
 * (`.` does not match it) or at the end.  Classes follow Python 3 `re` on
 * str patterns: \s = str.isspace() (Unicode White_Space plus the C0
 * separators 0x1C–0x1F), \d = category Nd (any script; int() takes each
 * digit's value), `.` = anything but "\n" (so "\r" is matched), and
 * [^;<>] = anything else, newlines included.  Tables: Unicode 16.0, made by
 * tests/data/gen/unicode_tables.py with the reference environment's
 * Python. */
#include "parse_match.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LOC_DIGITS 4 /* <locNNNN> */
#define SEG_DIGITS 3 /* <segNNN> */
#define N_LOCS     4 /* y1 x1 y2 x2 */

/* First code point of each run of ten Nd digits 0..9 (Unicode 16.0). */
static const uint32_t digit_zeros[] = {
    0x00030, 0x00660, 0x006F0, 0x007C0, 0x00966, 0x009E6, 0x00A66, 0x00AE6,
    0x00B66, 0x00BE6, 0x00C66, 0x00CE6, 0x00D66, 0x00DE6, 0x00E50, 0x00ED0,
    0x00F20, 0x01040, 0x01090, 0x017E0, 0x01810, 0x01946, 0x019D0, 0x01A80,
    0x01A90, 0x01B50, 0x01BB0, 0x01C40, 0x01C50, 0x0A620, 0x0A8D0, 0x0A900,
    0x0A9D0, 0x0A9F0, 0x0AA50, 0x0ABF0, 0x0FF10, 0x104A0, 0x10D30, 0x10D40,
    0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50,
    0x11D50, 0x11DA0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70,
    0x1CCF0, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0,
    0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
};

/* Python's str.isspace() ranges (what \s matches), Unicode 16.0. */
static const uint32_t space_ranges[][2] = {
    { 0x0009, 0x000D }, { 0x001C, 0x0020 }, { 0x0085, 0x0085 },
    { 0x00A0, 0x00A0 }, { 0x1680, 0x1680 }, { 0x2000, 0x200A },
    { 0x2028, 0x2029 }, { 0x202F, 0x202F }, { 0x205F, 0x205F },
    { 0x3000, 0x3000 },
};

static bool is_space(unsigned cp)
{
    for (size_t i = 0; i < PALI_ARRAY_LEN(space_ranges); i++)
        if (cp >= space_ranges[i][0] && cp <= space_ranges[i][1])
            return true;
    return false;
}

/* The digit value of cp, or −1 when \d does not match it. */
static int digit_value(unsigned cp)
{
    if (cp >= '0' && cp <= '9')
        return (int)(cp - '0');
    if (cp < 0x80)
        return -1;
    size_t lo = 0, hi = PALI_ARRAY_LEN(digit_zeros);
    while (lo < hi) { /* last zero ≤ cp */
        size_t mid = (lo + hi) / 2;
        if (digit_zeros[mid] <= cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || cp - digit_zeros[lo - 1] >= 10)
        return -1;
    return (int)(cp - digit_zeros[lo - 1]);
}

size_t pali_utf8_next(const char *s, size_t n, unsigned *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = u[0] < 0x80 ? 1 : u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;
    if (len > n) { /* not valid UTF-8: treat the byte as a character */
        *cp = 0xFFFD;
        return 1;
    }
    switch (len) {
    case 1: *cp = u[0]; break;
    case 2: *cp = (u[0] & 0x1Fu) << 6 | (u[1] & 0x3Fu); break;
    case 3:
        *cp = (u[0] & 0x0Fu) << 12 | (u[1] & 0x3Fu) << 6 | (u[2] & 0x3Fu);
        break;
    default:
        *cp = (u[0] & 0x07u) << 18 | (u[1] & 0x3Fu) << 12 |
              (u[2] & 0x3Fu) << 6 | (u[3] & 0x3Fu);
    }
    return len;
}

/* `<` + word + N × \d + `>` at text[i]; the number's value and the end. */
static bool match_token(const char *t, size_t n, size_t i, const char *word,
                        int n_digits, int *value, size_t *end)
{
    size_t wl = strlen(word);
    if (n - i < wl + 2 || t[i] != '<' || memcmp(t + i + 1, word, wl) != 0)
        return false;
    i += 1 + wl;
    int v = 0;
    for (int d = 0; d < n_digits; d++) {
        if (i >= n)
            return false;
        unsigned cp;
        size_t l = pali_utf8_next(t + i, n - i, &cp);
        int dv = digit_value(cp);
        if (dv < 0)
            return false;
        v = v * 10 + dv;
        i += l;
    }
    if (i >= n || t[i] != '>')
        return false;
    *value = v;
    *end = i + 1;
    return true;
}

static size_t skip_spaces(const char *t, size_t n, size_t i)
{
    while (i < n) {
        unsigned cp;
        size_t l = pali_utf8_next(t + i, n - i, &cp);
        if (!is_space(cp))
            break;
        i += l;
    }
    return i;
}

static bool match_locs(const char *t, size_t n, size_t i, int locs[N_LOCS],
                       size_t *end)
{
    for (int k = 0; k < N_LOCS; k++)
        if (!match_token(t, n, i, "loc", LOC_DIGITS, &locs[k], &i))
            return false;
    *end = i;
    return true;
}

bool pali_obj_match_at(const char *t, size_t n, pali_obj_match *m)
{
    memset(m, 0, sizeof(*m));
    /* (.*?): the first start of four <loc> tokens on the first line */
    size_t i = 0, p = 0;
    for (;;) {
        if (i >= n)
            return false;
        if (t[i] == '<' && match_locs(t, n, i, m->locs, &p))
            break;
        if (t[i] == '\n')
            return false;
        unsigned cp;
        i += pali_utf8_next(t + i, n - i, &cp);
    }
    m->before_len = i;

    p = skip_spaces(t, n, p); /* \s* */
    size_t q = p;             /* (?:<seg(\d{3})>×16)? */
    int codes[PALI_MASK_CODES];
    int k = 0;
    while (k < PALI_MASK_CODES &&
           match_token(t, n, q, "seg", SEG_DIGITS, &codes[k], &q))
        k++;
    if (k == PALI_MASK_CODES) {
        m->has_codes = true;
        memcpy(m->codes, codes, sizeof(codes));
        p = q;
    }
    p = skip_spaces(t, n, p); /* \s* */
    q = p;                    /* ([^;<>]+)? */
    while (q < n && t[q] != ';' && t[q] != '<' && t[q] != '>') {
        unsigned cp;
        q += pali_utf8_next(t + q, n - q, &cp);
    }
    if (q > p) {
        m->has_name = true;
        m->name_start = p;
        m->name_len = q - p;
        p = q;
    }
    if (p < n && t[p] == ' ') /* ' ?' */
        p++;
    if (n - p >= 2 && t[p] == ';' && t[p + 1] == ' ') /* (?:; )? */
        p += 2;
    m->end = p;
    return true;
}

char *pali_utf8_sanitize(const char *text, size_t len, size_t *out_len)
{
    /* Each replaced byte grows to at most 3 bytes (U+FFFD). */
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1);
    if (out == NULL)
        return NULL;
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0, o = 0;
    while (i < len) {
        unsigned b = u[i];
        size_t need = 0;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
        if (b < 0x80) {
            out[o++] = (char)b;
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            lo = b == 0xE0 ? 0xA0 : 0x80;
            hi = b == 0xED ? 0x9F : 0xBF;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            lo = b == 0xF0 ? 0x90 : 0x80;
            hi = b == 0xF4 ? 0x8F : 0xBF;
        }
        size_t got = 1; /* bytes of the maximal subpart so far */
        while (need > 0 && got <= need && i + got < len) {
            unsigned c = u[i + got];
            unsigned l = got == 1 ? lo : 0x80, h = got == 1 ? hi : 0xBF;
            if (c < l || c > h)
                break;
            got++;
        }
        if (need > 0 && got == need + 1) {
            memcpy(out + o, text + i, got);
            o += got;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
        i += got;
    }
    out[o] = 0;
    *out_len = o;
    return out;
}
