/* parse.c — generated text → text spans and objects (boxes, labels,
 * masks): pali_result_parse, pali_result_free, pali_object_binary_mask.
 *
 * Follows the HF Space's extract_objs(text, W, H, unique_labels=True)
 * (google/paligemma-hf app.py; segmentation README §4): repeated
 * _SEGMENT_DETECT_RE.match (parse_match.c), text before an object becomes
 * its own span, an unmatched remainder a final one.  Boxes: token order
 * y1 x1 y2 x2, pixel = Python round(loc / 1024 · size) = rint() (half to
 * even), no clamping.  Labels: the greedy [^;<>]+ with its trailing blanks;
 * unique names append ' while the name was seen.  Masks: decoder → clip →
 * uint8 → Pillow BICUBIC to the box (pil_resize.c), as the Space places
 * them; the object keeps the part of the box inside the image.
 *
 * Before matching, the literal special tokens "<eos>", "<bos>" and "<pad>"
 * are removed (the model's stop and padding tokens; the tokenizer decodes
 * them to these spellings when special tokens are kept) and ill-formed
 * UTF-8 is replaced by U+FFFD, so neither reaches user-visible text. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "parse_match.h"
#include "pil_resize.h"
#include "vae.h"

/* The Space maps a location token to [0, 1] by dividing by 1024. */
#define LOC_SCALE 1024.0

/* Slots of the unique-name set at first (a power of two; it doubles). */
#define NAME_SET_INITIAL 64

static const char *const special_tokens[] = { "<eos>", "<bos>", "<pad>" };

typedef struct {
    const char *key; /* NULL: empty slot */
    size_t len;
    int hint; /* key + j primes is taken for every j < hint */
} name_slot;

typedef struct {
    name_slot *slots; /* open addressing, cap a power of two */
    size_t cap, used;
} name_set;

typedef struct {
    pali_result *r;
    size_t cap;
    const pali_vae *vae;
    name_set names; /* unique names given so far */
    bool seen_null; /* a nameless object kept a NULL unique name */
    int null_hint;  /* primes to try first for the next nameless object */
    uint8_t m64[PALI_MASK_SIZE * PALI_MASK_SIZE]; /* scratch, (64, 64) */
} builder;

void pali_result_free(pali_result *result)
{
    if (result == NULL)
        return;
    for (size_t i = 0; i < result->n_spans; i++) {
        pali_object *o = &result->spans[i];
        free(o->content);
        free(o->name);
        free(o->unique_name);
        free(o->mask);
        free(o->mask_raw);
    }
    free(result->spans);
    free(result);
}

/* Removes the special tokens; *had_eos tells whether "<eos>" was there. */
static char *strip_specials(const char *text, size_t len, size_t *out_len,
                            bool *had_eos)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    *had_eos = false;
    for (size_t i = 0; i < len;) {
        bool skipped = false;
        if (text[i] == '<')
            for (size_t s = 0; s < PALI_ARRAY_LEN(special_tokens); s++) {
                size_t sl = strlen(special_tokens[s]);
                if (len - i >= sl &&
                    memcmp(text + i, special_tokens[s], sl) == 0) {
                    *had_eos |= s == 0;
                    i += sl;
                    skipped = true;
                    break;
                }
            }
        if (!skipped)
            out[o++] = text[i++];
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

static pali_object *new_span(builder *b, pali_span_kind kind, const char *text,
                             size_t len)
{
    pali_result *r = b->r;
    if (r->n_spans == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        pali_object *s = realloc(r->spans, cap * sizeof(*s));
        if (s == NULL)
            return NULL;
        r->spans = s;
        b->cap = cap;
    }
    pali_object *o = &r->spans[r->n_spans];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->content = pali_strndup(text, len);
    if (o->content == NULL)
        return NULL;
    r->n_spans++;
    return o;
}

/* ---- unique names ------------------------------------------------------
 * The Space's loop `while name in seen: name = (name or '') + "'"` is
 * quadratic; a hash set of the names seen, each with a hint "name + j
 * primes is taken for every j below this", gives the same names in about
 * one lookup per object. */

static uint64_t hash_name(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static name_slot *set_find(const name_set *set, const char *key, size_t len)
{
    size_t mask = set->cap - 1;
    for (size_t i = hash_name(key, len) & mask;; i = (i + 1) & mask) {
        name_slot *s = &set->slots[i];
        if (s->key == NULL || (s->len == len && memcmp(s->key, key, len) == 0))
            return s;
    }
}

/* Adds a key (borrowed: the object's unique_name) that is not there. */
static bool set_insert(name_set *set, const char *key)
{
    if (2 * (set->used + 1) > set->cap) {
        size_t cap = 2 * set->cap;
        name_slot *old = set->slots;
        size_t old_cap = set->cap;
        set->slots = calloc(cap, sizeof(name_slot));
        if (set->slots == NULL) {
            set->slots = old;
            return false;
        }
        set->cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].key != NULL)
                *set_find(set, old[i].key, old[i].len) = old[i];
        free(old);
    }
    size_t len = strlen(key);
    name_slot *s = set_find(set, key, len);
    s->key = key;
    s->len = len;
    s->hint = 1;
    set->used++;
    return true;
}

/* unique_labels=True: while name in seen: name = (name or '') + "'". */
static bool make_unique_name(builder *b, pali_object *o)
{
    name_set *set = &b->names;
    const char *base = o->name ? o->name : "";
    size_t blen = strlen(base);
    int j;
    if (o->name == NULL) {
        if (!b->seen_null) {
            b->seen_null = true;
            return true;
        }
        j = b->null_hint;
    } else {
        name_slot *s = set_find(set, base, blen);
        if (s->key == NULL)
            return (o->unique_name = pali_strdup(base)) != NULL &&
                   set_insert(set, o->unique_name);
        j = s->hint;
    }
    char *u = NULL;
    for (;; j++) {
        char *v = realloc(u, blen + (size_t)j + 1);
        if (v == NULL) {
            free(u);
            return false;
        }
        u = v;
        memcpy(u, base, blen);
        memset(u + blen, '\'', (size_t)j);
        u[blen + (size_t)j] = 0;
        if (set_find(set, u, blen + (size_t)j)->key == NULL)
            break;
    }
    o->unique_name = u;
    if (!set_insert(set, u))
        return false;
    if (o->name == NULL)
        b->null_hint = j + 1;
    else
        set_find(set, base, blen)->hint = j + 1;
    return true;
}

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Decodes the codes and places the 8-bit mask into the box, keeping the
 * part inside the image (mask_x/y/w/h). */
static pali_status add_mask(builder *b, pali_object *o, pali_error *err)
{
    int width = b->r->width, height = b->r->height;
    o->mask_raw = malloc(PALI_MASK_SIZE * PALI_MASK_SIZE * sizeof(float));
    if (o->mask_raw == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "parse: out of memory");
    pali_status st = pali_vae_decode(b->vae, o->codes, o->mask_raw, err);
    if (st != PALI_OK)
        return st;
    pali_vae_mask_to_u8(o->mask_raw, b->m64, PALI_MASK_SIZE * PALI_MASK_SIZE);

    int x1 = o->box[0], y1 = o->box[1], x2 = o->box[2], y2 = o->box[3];
    o->mask_x = clamp_int(x1, 0, width);
    o->mask_y = clamp_int(y1, 0, height);
    bool empty = x2 <= x1 || y2 <= y1;
    o->mask_w = empty ? 0 : clamp_int(x2, 0, width) - o->mask_x;
    o->mask_h = empty ? 0 : clamp_int(y2, 0, height) - o->mask_y;
    if (o->mask_w <= 0 || o->mask_h <= 0)
        o->mask_w = o->mask_h = 0;
    size_t n = (size_t)o->mask_w * (size_t)o->mask_h;
    o->mask = malloc(n ? n : 1);
    if (o->mask == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "parse: out of memory");
    if (n == 0)
        return PALI_OK;
    // mask[y1:y2, x1:x2] = PIL.Image.fromarray(u8).resize((x2-x1, y2-y1))
    return pali_pil_resize_u8(b->m64, PALI_MASK_SIZE, PALI_MASK_SIZE, x2 - x1,
                              y2 - y1, o->mask_x - x1, o->mask_y - y1,
                              o->mask_w, o->mask_h, PALI_PIL_BICUBIC, o->mask,
                              err);
}

static pali_status add_object(builder *b, const char *t,
                              const pali_obj_match *m, pali_error *err)
{
    pali_object *o = new_span(b, PALI_SPAN_OBJECT, t + m->before_len,
                              m->end - m->before_len);
    if (o == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "parse: out of memory");
    int width = b->r->width, height = b->r->height;
    memcpy(o->locs, m->locs, sizeof(o->locs));
    // y1, x1, y2, x2 = map(round, (y1*H, x1*W, y2*H, x2*W)) of loc/1024
    const int sizes[4] = { height, width, height, width };
    int px[4];
    for (int k = 0; k < 4; k++)
        px[k] = (int)rint(((double)m->locs[k] / LOC_SCALE) * sizes[k]);
    o->box[0] = px[1];
    o->box[1] = px[0];
    o->box[2] = px[3];
    o->box[3] = px[2];
    o->box_norm[0] = (float)(m->locs[1] / LOC_SCALE);
    o->box_norm[1] = (float)(m->locs[0] / LOC_SCALE);
    o->box_norm[2] = (float)(m->locs[3] / LOC_SCALE);
    o->box_norm[3] = (float)(m->locs[2] / LOC_SCALE);
    if (o->box[2] <= o->box[0] || o->box[3] <= o->box[1])
        o->flags |= PALI_OBJECT_BOX_EMPTY;
    for (int k = 0; k < 4; k++)
        if (o->box[k] > (k % 2 == 0 ? width : height))
            o->flags |= PALI_OBJECT_BOX_OUTSIDE;
    if (m->has_name &&
        (o->name = pali_strndup(t + m->name_start, m->name_len)) == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "parse: out of memory");
    if (!make_unique_name(b, o))
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "parse: out of memory");
    if (!m->has_codes)
        return PALI_OK;
    o->has_codes = true;
    memcpy(o->codes, m->codes, sizeof(o->codes));
    for (int k = 0; k < PALI_MASK_CODES; k++)
        if (o->codes[k] >= PALI_VAE_CODEBOOK)
            o->flags |= PALI_OBJECT_CODES_INVALID;
    if (o->flags & PALI_OBJECT_CODES_INVALID)
        return PALI_OK; /* the reference's mask is undefined (NaN) */
    if (b->vae == NULL) {
        o->flags |= PALI_OBJECT_MASK_MISSING;
        b->r->flags |= PALI_RESULT_MASKS_MISSING;
        return PALI_OK;
    }
    return add_mask(b, o, err);
}

/* Whether the text ends, trailing blanks aside, with a <locNNNN> or
 * <segNNN> token or with the cut-off start of one ("<lo", "<seg01"). */
static bool ends_with_token(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' ||
                     s[n - 1] == '\r'))
        n--;
    const char *lt = NULL;
    for (size_t i = n; i-- > 0;)
        if (s[i] == '<') {
            lt = s + i;
            break;
        }
    if (lt == NULL)
        return false;
    size_t tl = (size_t)(s + n - lt);
    static const char *const words[] = { "loc", "seg" };
    static const size_t digits[] = { 4, 3 };
    for (int w = 0; w < 2; w++) {
        /* '<' + a prefix of the word + digits, then '>' or the end */
        size_t i = 1;
        while (i < tl && i <= 3 && lt[i] == words[w][i - 1])
            i++;
        if (i < tl && i <= 3)
            continue; /* a different word */
        size_t d = 0;
        while (i < tl && d < digits[w] && lt[i] >= '0' && lt[i] <= '9') {
            i++;
            d++;
        }
        if (i == tl)
            return true; /* cut off inside the token */
        if (i + 1 == tl && d == digits[w] && lt[i] == '>')
            return true; /* a whole token */
    }
    return false;
}

/* "Ends inside an object": the model did not stop (no <eos>) and the text
 * ends with an object that has no label yet, right after a " ; "
 * separator, or with <loc>/<seg> tokens that make no whole object. */
static bool looks_truncated(const pali_result *r, bool had_eos)
{
    if (had_eos || r->n_spans == 0)
        return false;
    const pali_object *last = &r->spans[r->n_spans - 1];
    if (last->kind == PALI_SPAN_OBJECT) {
        size_t n = strlen(last->content);
        return last->name == NULL ||
               (n >= 2 && memcmp(last->content + n - 2, "; ", 2) == 0);
    }
    return ends_with_token(last->content);
}

pali_status pali_result_parse(const char *text, int width, int height,
                              const pali_vae *vae, pali_result **out,
                              pali_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (text == NULL || out == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_result_parse: NULL argument");
    if (width < 1 || height < 1 ||
        (long long)width * height > PALI_IMAGE_MAX_PIXELS)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_result_parse: bad image size %dx%d", width,
                         height);
    size_t len = 0, stripped_len = 0;
    bool had_eos = false;
    char *stripped =
        strip_specials(text, strlen(text), &stripped_len, &had_eos);
    char *t =
        stripped ? pali_utf8_sanitize(stripped, stripped_len, &len) : NULL;
    free(stripped);
    builder *b = calloc(1, sizeof(*b));
    if (b != NULL) {
        b->names.cap = NAME_SET_INITIAL;
        b->names.slots = calloc(b->names.cap, sizeof(name_slot));
        b->r = calloc(1, sizeof(pali_result));
    }
    if (t == NULL || b == NULL || b->names.slots == NULL || b->r == NULL) {
        free(t);
        if (b != NULL) {
            free(b->names.slots);
            free(b->r);
        }
        free(b);
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "parse: out of memory");
    }
    b->vae = vae;
    b->null_hint = 1;
    b->r->width = width;
    b->r->height = height;

    pali_status st = PALI_OK;
    size_t pos = 0;
    pali_obj_match m;
    while (st == PALI_OK && pos < len &&
           pali_obj_match_at(t + pos, len - pos, &m)) {
        if (m.before_len > 0 &&
            new_span(b, PALI_SPAN_TEXT, t + pos, m.before_len) == NULL) {
            st = pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "parse: out of memory");
            break;
        }
        st = add_object(b, t + pos, &m, err);
        pos += m.end;
    }
    if (st == PALI_OK && pos < len &&
        new_span(b, PALI_SPAN_TEXT, t + pos, len - pos) == NULL)
        st = pali_fail(err, PALI_ERR_OUT_OF_MEMORY, "parse: out of memory");
    free(t);
    pali_result *r = b->r;
    free(b->names.slots);
    free(b);
    if (st != PALI_OK) {
        pali_result_free(r);
        return st;
    }
    if (looks_truncated(r, had_eos))
        r->flags |= PALI_RESULT_TRUNCATED;
    *out = r;
    return PALI_OK;
}

pali_status pali_object_binary_mask(const pali_object *object, uint8_t *out,
                                    pali_error *err)
{
    if (object == NULL || out == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_object_binary_mask: NULL argument");
    if (object->mask_raw == NULL)
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "pali_object_binary_mask: the object has no decoded "
                         "mask");
    size_t n = (size_t)object->mask_w * (size_t)object->mask_h;
    if (n == 0)
        return PALI_OK;
    float *f = malloc(n * sizeof(float)); /* (mask_h, mask_w) */
    if (f == NULL)
        return pali_fail(err, PALI_ERR_OUT_OF_MEMORY,
                         "binary mask: out of memory");
    const int *box = object->box;
    // big_vision: Image.fromarray(raw, "F").resize(box, BILINEAR) > 0
    pali_status st = pali_pil_resize_f32(
        object->mask_raw, PALI_MASK_SIZE, PALI_MASK_SIZE, box[2] - box[0],
        box[3] - box[1], object->mask_x - box[0], object->mask_y - box[1],
        object->mask_w, object->mask_h, PALI_PIL_BILINEAR, f, err);
    if (st == PALI_OK)
        for (size_t i = 0; i < n; i++)
            out[i] = f[i] > 0.0f;
    free(f);
    return st;
}
