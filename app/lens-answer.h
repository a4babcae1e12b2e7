/* lens-answer.h — LensAnswer, an immutable, reference-counted answer of
 * the engine (partial while it streams, or final): the output text, the
 * readable text, the parsed boxes, the masks decoded so far and the
 * overlay that draws them.  Built on the engine's worker thread — mask
 * decoding and the overlay's mask surfaces and outlines included — and
 * read on the main thread, which only draws. */
#pragma once

#include <glib-object.h>

#include "lens-overlay.h"
#include "pali.h"

G_BEGIN_DECLS

typedef struct _LensAnswer LensAnswer;

#define LENS_TYPE_ANSWER (lens_answer_get_type())
GType lens_answer_get_type(void) G_GNUC_CONST;
LensAnswer *lens_answer_ref(LensAnswer *answer);
void lens_answer_unref(LensAnswer *answer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LensAnswer, lens_answer_unref)

/* The decoded output with location and segmentation tokens. */
const char *lens_answer_get_text(const LensAnswer *answer);
/* What a person reads: text spans as they are, objects by their label. */
const char *lens_answer_get_display_text(const LensAnswer *answer);
/* Boxes, labels and — for every object whose 16 codes have arrived and a
 * mask decoder is loaded — its mask.  Borrowed, valid as long as the
 * answer. */
const pali_result *lens_answer_get_result(const LensAnswer *answer);
/* The boxes, labels and masks of the result as drawable data, or NULL when
 * there are no objects.  Successive answers of one run share it while
 * their objects do not change, so a new pointer means new objects.
 * Borrowed, valid as long as the answer. */
const LensOverlay *lens_answer_get_overlay(const LensAnswer *answer);
/* Final answers only (FALSE while streaming). */
gboolean lens_answer_is_final(const LensAnswer *answer);
/* Generation statistics of a final answer; NULL while streaming. */
const pali_timings *lens_answer_get_timings(const LensAnswer *answer);
int lens_answer_get_n_generated(const LensAnswer *answer);
pali_stop_reason lens_answer_get_stop_reason(const LensAnswer *answer);

/* Decoded masks and the last overlay built, shared by the successive
 * answers of one run so that each object's mask is decoded once and the
 * overlay is built again only when the objects change.  Used by one thread
 * at a time (the worker); the answers keep what they show alive on their
 * own. */
typedef struct _LensMaskCache LensMaskCache;
LensMaskCache *lens_mask_cache_new(const pali_vae *vae);
void lens_mask_cache_free(LensMaskCache *cache);

/* Parses `text` (streamed or final output) for an image of width × height,
 * decoding the masks of objects whose codes are complete with the cache's
 * decoder (once per object), and builds the overlay when the objects
 * differ from the cache's last.  `masks` may be NULL (no masks, no
 * sharing).  Final answers carry the statistics. */
LensAnswer *lens_answer_new(const char *text, int width, int height,
                            LensMaskCache *masks, const pali_output *output,
                            GError **error);

G_END_DECLS
