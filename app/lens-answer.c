/* lens-answer.c — LensAnswer and its mask cache (see lens-answer.h).
 *
 * Streaming: the worker re-parses the whole output after every token with
 * pali_result_parse (cheap: boxes only, no decoder), so boxes appear as soon
 * as their four <loc> tokens have arrived.  An object whose 16 <seg> codes
 * are complete has its mask decoded once, by parsing that object's own text
 * with the decoder; the mask is then kept in the cache (keyed by its
 * locations and codes) and reused by every later answer of the run.  The
 * overlay (mask surfaces, outlines, areas: work that grows with the image)
 * is built here too, only when the objects change (their boxes, labels and
 * masks, as a key), and shared by the answers until they change again. */
#include "config.h"

#include "lens-answer.h"

#include <string.h>

#include "lens-engine.h"

/* One decoded mask: a one-object pali_result parsed with the decoder. */
typedef struct {
    int locs[4];
    int codes[PALI_MASK_CODES];
    pali_result *result; /* owned; its first object span holds the mask */
} LensMask;

/* An overlay shared by several answers (atomic rc box). */
typedef struct {
    LensOverlay *overlay; /* owned; NULL when there are no objects */
} SharedOverlay;

struct _LensMaskCache {
    const pali_vae *vae;    /* borrowed from the engine for the run */
    GPtrArray *masks;       /* LensMask (atomic rc boxes) */
    char *overlay_key;      /* the objects of `overlay` */
    SharedOverlay *overlay; /* reference, or NULL */
};

struct _LensAnswer {
    char *text;
    char *display_text;
    pali_result *parsed; /* owned: boxes and labels, no masks */
    /* What callers see: a shallow copy of parsed with the mask fields of
     * decoded objects pointing into the LensMasks held below. */
    pali_result view;
    GPtrArray *masks;       /* LensMask references kept alive */
    SharedOverlay *overlay; /* reference */
    gboolean final;
    pali_timings timings;
    int n_generated;
    pali_stop_reason stop;
};

G_DEFINE_BOXED_TYPE(LensAnswer, lens_answer, lens_answer_ref, lens_answer_unref)

static void lens_mask_clear(gpointer data)
{
    LensMask *mask = data;
    pali_result_free(mask->result);
}

static void lens_mask_release(gpointer data)
{
    g_atomic_rc_box_release_full(data, lens_mask_clear);
}

static void shared_overlay_clear(gpointer data)
{
    SharedOverlay *shared = data;
    lens_overlay_free(shared->overlay);
}

static void shared_overlay_release(SharedOverlay *shared)
{
    if (shared != NULL)
        g_atomic_rc_box_release_full(shared, shared_overlay_clear);
}

LensMaskCache *lens_mask_cache_new(const pali_vae *vae)
{
    LensMaskCache *cache = g_new0(LensMaskCache, 1);
    cache->vae = vae;
    cache->masks = g_ptr_array_new_with_free_func(lens_mask_release);
    return cache;
}

void lens_mask_cache_free(LensMaskCache *cache)
{
    if (cache == NULL)
        return;
    g_ptr_array_unref(cache->masks);
    g_free(cache->overlay_key);
    shared_overlay_release(cache->overlay);
    g_free(cache);
}

static const pali_object *first_object(const pali_result *result)
{
    for (size_t i = 0; i < result->n_spans; i++)
        if (result->spans[i].kind == PALI_SPAN_OBJECT)
            return &result->spans[i];
    return NULL;
}

/* The decoded mask of `object`, decoding it on first sight; NULL when there
 * is no decoder, the codes are invalid or decoding failed. */
static LensMask *mask_for(LensMaskCache *cache, const pali_object *object,
                          int width, int height)
{
    if (cache == NULL || cache->vae == NULL || !object->has_codes ||
        (object->flags & PALI_OBJECT_CODES_INVALID))
        return NULL;
    for (guint i = 0; i < cache->masks->len; i++) {
        LensMask *m = g_ptr_array_index(cache->masks, i);
        if (memcmp(m->locs, object->locs, sizeof(m->locs)) == 0 &&
            memcmp(m->codes, object->codes, sizeof(m->codes)) == 0)
            return m;
    }
    pali_result *single = NULL;
    pali_error err = { 0 };
    if (pali_result_parse(object->content, width, height, cache->vae, &single,
                          &err) != PALI_OK)
        return NULL;
    const pali_object *decoded = first_object(single);
    if (decoded == NULL || decoded->mask == NULL) {
        pali_result_free(single);
        return NULL;
    }
    LensMask *m = g_atomic_rc_box_new0(LensMask);
    memcpy(m->locs, object->locs, sizeof(m->locs));
    memcpy(m->codes, object->codes, sizeof(m->codes));
    m->result = single;
    g_ptr_array_add(cache->masks, m);
    return m;
}

/* What the overlay shows of a result, as text: boxes, labels and whether a
 * mask is decoded (masks of the same codes are the same). */
static char *objects_key(const pali_result *result)
{
    GString *key = g_string_new(NULL);
    for (size_t i = 0; i < result->n_spans; i++) {
        const pali_object *o = &result->spans[i];
        if (o->kind != PALI_SPAN_OBJECT)
            continue;
        g_string_append_printf(key, "%d,%d,%d,%d,%d,", o->box[0], o->box[1],
                               o->box[2], o->box[3], o->mask != NULL);
        for (int c = 0; o->mask != NULL && c < PALI_MASK_CODES; c++)
            g_string_append_printf(key, "%d,", o->codes[c]);
        g_string_append_printf(key, "%s;", o->name ? o->name : "");
    }
    return g_string_free(key, FALSE);
}

/* The overlay of `result`: the cache's last one when the objects are the
 * same, else a new one (then the cache's last). */
static SharedOverlay *overlay_for(LensMaskCache *cache,
                                  const pali_result *result)
{
    g_autofree char *key = objects_key(result);
    if (cache != NULL && cache->overlay != NULL &&
        g_strcmp0(key, cache->overlay_key) == 0)
        return g_atomic_rc_box_acquire(cache->overlay);
    SharedOverlay *shared = g_atomic_rc_box_new0(SharedOverlay);
    if (key[0] != '\0')
        shared->overlay = lens_overlay_new(result);
    if (cache != NULL) {
        shared_overlay_release(cache->overlay);
        cache->overlay = g_atomic_rc_box_acquire(shared);
        g_free(cache->overlay_key);
        cache->overlay_key = g_steal_pointer(&key);
    }
    return shared;
}

static char *make_display_text(const pali_result *result)
{
    GString *s = g_string_new(NULL);
    gboolean after_object = FALSE;
    for (size_t i = 0; i < result->n_spans; i++) {
        const pali_object *span = &result->spans[i];
        if (span->kind == PALI_SPAN_TEXT) {
            g_string_append(s, span->content ? span->content : "");
            after_object = FALSE;
        } else if (span->name != NULL) {
            /* the " ; " between objects belongs to the object before, and
             * the label keeps the blank before it ("cat ") */
            if (after_object)
                g_string_append(s, " ; ");
            g_autofree char *name = g_strchomp(g_strdup(span->name));
            g_string_append(s, name);
            after_object = TRUE;
        }
    }
    return g_string_free(s, FALSE);
}

LensAnswer *lens_answer_new(const char *text, int width, int height,
                            LensMaskCache *masks, const pali_output *output,
                            GError **error)
{
    pali_result *parsed = NULL;
    pali_error err = { 0 };
    if (pali_result_parse(text, width, height, NULL, &parsed, &err) !=
        PALI_OK) {
        g_set_error(error, LENS_ENGINE_ERROR, err.status, "%s", err.message);
        return NULL;
    }
    LensAnswer *answer = g_atomic_rc_box_new0(LensAnswer);
    answer->text = g_strdup(text);
    answer->parsed = parsed;
    answer->display_text = make_display_text(parsed);
    answer->masks = g_ptr_array_new_with_free_func(lens_mask_release);
    answer->view = *parsed;
    answer->view.spans =
        g_memdup2(parsed->spans, parsed->n_spans * sizeof(pali_object));
    gboolean all_masks = TRUE;
    for (size_t i = 0; i < parsed->n_spans; i++) {
        pali_object *span = &answer->view.spans[i];
        if (span->kind != PALI_SPAN_OBJECT || !span->has_codes)
            continue;
        LensMask *m = mask_for(masks, span, width, height);
        if (m == NULL) {
            all_masks = FALSE;
            continue;
        }
        g_ptr_array_add(answer->masks, g_atomic_rc_box_acquire(m));
        const pali_object *decoded = first_object(m->result);
        span->mask = decoded->mask;
        span->mask_x = decoded->mask_x;
        span->mask_y = decoded->mask_y;
        span->mask_w = decoded->mask_w;
        span->mask_h = decoded->mask_h;
        span->mask_raw = decoded->mask_raw;
        span->flags &= ~(unsigned)PALI_OBJECT_MASK_MISSING;
    }
    if (all_masks)
        answer->view.flags &= ~(unsigned)PALI_RESULT_MASKS_MISSING;
    answer->overlay = overlay_for(masks, &answer->view);
    if (output != NULL) {
        answer->final = TRUE;
        answer->timings = output->timings;
        answer->n_generated = output->n_generated;
        answer->stop = output->stop;
    }
    return answer;
}

static void lens_answer_clear(gpointer data)
{
    LensAnswer *answer = data;
    g_free(answer->text);
    g_free(answer->display_text);
    g_free(answer->view.spans);
    pali_result_free(answer->parsed);
    g_ptr_array_unref(answer->masks);
    shared_overlay_release(answer->overlay);
}

LensAnswer *lens_answer_ref(LensAnswer *answer)
{
    return g_atomic_rc_box_acquire(answer);
}

void lens_answer_unref(LensAnswer *answer)
{
    g_atomic_rc_box_release_full(answer, lens_answer_clear);
}

const char *lens_answer_get_text(const LensAnswer *answer)
{
    return answer->text;
}

const char *lens_answer_get_display_text(const LensAnswer *answer)
{
    return answer->display_text;
}

const pali_result *lens_answer_get_result(const LensAnswer *answer)
{
    return &answer->view;
}

const LensOverlay *lens_answer_get_overlay(const LensAnswer *answer)
{
    return answer->overlay->overlay;
}

gboolean lens_answer_is_final(const LensAnswer *answer)
{
    return answer->final;
}

const pali_timings *lens_answer_get_timings(const LensAnswer *answer)
{
    return answer->final ? &answer->timings : NULL;
}

int lens_answer_get_n_generated(const LensAnswer *answer)
{
    return answer->n_generated;
}

pali_stop_reason lens_answer_get_stop_reason(const LensAnswer *answer)
{
    return answer->stop;
}
