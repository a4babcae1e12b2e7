/* make-model-tokenizer.c — a deterministic tokenizer.json with PaliGemma's
 * id layout for palilens-make-model.
 *
 * Layout (golden/README.md "Tokenizer layout", scaled to the text vocabulary
 * T: 256000 for the real sizes): 0 <pad>, 1 <eos>, 2 <bos>, 3 <unk>,
 * 4 <mask>, 5..260 byte-fallback <0x00>..<0xFF>, then BPE pieces up to T−1,
 * <loc0000>..<loc1023> from T, <seg000>..<seg127> from T+1024, <image> at
 * T+1152.  The pieces: an alphabet of single characters, then merges
 * learnt from make-model-corpus.c by byte-pair encoding (most frequent
 * pair first, the HF BpeTrainer procedure), then "filler" merges joining
 * existing pieces of one writing system (deterministic pseudo-random) until
 * the vocabulary is full, so real text splits into word-like pieces and
 * large vocabularies have realistic sizes.  The JSON structure (normalizer,
 * pre-tokenizer, post-processor, decoder, added_tokens flags) copies the golden
 * tiny models: tiny-224 for the transformers layout, tiny-224-hubnames (the
 * hub's) for the hub layout.  The same vocabulary comes out for every seed,
 * like one tokenizer shared by a model family. */
#include <string.h>

#include "make-model.h"

/* Pairs seen fewer times than this are not merged (HF's min_frequency). */
#define BPE_MIN_PAIR_COUNT 2
/* Filler pieces stay word-sized. */
#define FILLER_MAX_CHARS 12
/* Corpus weight of the word at rank r: ZIPF_SCALE / (r + ZIPF_OFFSET). */
#define ZIPF_SCALE  100000
#define ZIPF_OFFSET 10
/* The fixed seed of the filler generator (the vocabulary ignores --seed). */
#define FILLER_SEED 0x50616c69ull
#define WORD_START  "\xe2\x96\x81" /* U+2581, SentencePiece's space */

typedef struct {
    GPtrArray *pieces;  /* char*, piece index → text */
    GHashTable *lookup; /* text → index + 1 (reserved strings: 0) */
    GArray *merges;     /* (2 · n) piece indices */
} Vocab;

typedef struct {
    int *sym;
    int len;
    int64_t freq;
    int stamp; /* last merge that rewrote it */
} Word;

typedef struct {
    uint64_t key;
    int64_t count;
    GArray *words; /* int word indices, may repeat */
} PairInfo;

typedef struct {
    int64_t count;
    uint64_t key;
} HeapEntry;

static uint64_t pair_key(int a, int b)
{
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

static int vocab_find(const Vocab *v, const char *text)
{
    return GPOINTER_TO_INT(g_hash_table_lookup(v->lookup, text)) - 1;
}

static bool vocab_taken(const Vocab *v, const char *text)
{
    return g_hash_table_contains(v->lookup, text);
}

/* Adds a piece (the text is taken). */
static int vocab_add(Vocab *v, char *text)
{
    int id = (int)v->pieces->len;
    g_ptr_array_add(v->pieces, text);
    g_hash_table_insert(v->lookup, text, GINT_TO_POINTER(id + 1));
    return id;
}

/* ---- alphabet ----------------------------------------------------------- */

static void add_range(GArray *cps, gunichar first, gunichar last)
{
    for (gunichar c = first; c <= last; c++) {
        if (g_unichar_isdefined(c) && !g_unichar_isspace(c))
            g_array_append_val(cps, c);
    }
}

/* Single characters: ASCII (and "\n", "\t", U+2581) always; the scripts of
 * the model card's languages when the vocabulary is large. */
static void add_alphabet(Vocab *v, int budget)
{
    GArray *cps = g_array_new(FALSE, FALSE, sizeof(gunichar));
    gunichar extra[] = { '\n', '\t', 0x2581 };
    g_array_append_vals(cps, extra, G_N_ELEMENTS(extra));
    add_range(cps, 0x21, 0x7e);
    if (budget >= 32000) {
        add_range(cps, 0xa1, 0x17f);           /* Latin-1, Latin Extended-A */
        add_range(cps, 0x391, 0x3c9);          /* Greek */
        add_range(cps, 0x401, 0x451);          /* Cyrillic */
        add_range(cps, 0x5d0, 0x5ea);          /* Hebrew */
        add_range(cps, 0x621, 0x64a);          /* Arabic */
        add_range(cps, 0x905, 0x939);          /* Devanagari */
        add_range(cps, 0xe01, 0xe3a);          /* Thai */
        add_range(cps, 0x2013, 0x2026);        /* dashes, quotes, bullet, … */
        add_range(cps, 0x20ac, 0x20ac);        /* € */
        add_range(cps, 0x3001, 0x3002);        /* CJK punctuation */
        add_range(cps, 0x3041, 0x3096);        /* Hiragana */
        add_range(cps, 0x30a1, 0x30fa);        /* Katakana */
        add_range(cps, 0x4e00, 0x4e00 + 2999); /* common CJK ideographs */
        add_range(cps, 0xac00, 0xac00 + 999);  /* Hangul syllables */
    }
    for (guint i = 0; i < cps->len && (int)v->pieces->len < budget; i++) {
        char buf[8];
        int n = g_unichar_to_utf8(g_array_index(cps, gunichar, i), buf);
        char *text = g_strndup(buf, (gsize)n);
        if (vocab_taken(v, text))
            g_free(text);
        else
            vocab_add(v, text);
    }
    g_array_free(cps, TRUE);
}

/* ---- BPE training ------------------------------------------------------- */

typedef struct {
    Vocab *v;
    GArray *words;     /* Word */
    GHashTable *pairs; /* &PairInfo.key → PairInfo* */
    GArray *heap;      /* HeapEntry, max-heap on (count, −key) */
} Trainer;

static bool heap_before(const HeapEntry *a, const HeapEntry *b)
{
    return a->count > b->count || (a->count == b->count && a->key < b->key);
}

static void heap_push(GArray *h, int64_t count, uint64_t key)
{
    HeapEntry e = { count, key };
    g_array_append_val(h, e);
    HeapEntry *d = (HeapEntry *)h->data;
    for (guint i = h->len - 1; i > 0;) {
        guint p = (i - 1) / 2;
        if (!heap_before(&d[i], &d[p]))
            break;
        HeapEntry t = d[i];
        d[i] = d[p];
        d[p] = t;
        i = p;
    }
}

static HeapEntry heap_pop(GArray *h)
{
    HeapEntry *d = (HeapEntry *)h->data;
    HeapEntry top = d[0];
    d[0] = d[h->len - 1];
    g_array_set_size(h, h->len - 1);
    d = (HeapEntry *)h->data;
    for (guint i = 0;;) {
        guint l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && heap_before(&d[l], &d[m]))
            m = l;
        if (r < h->len && heap_before(&d[r], &d[m]))
            m = r;
        if (m == i)
            break;
        HeapEntry t = d[i];
        d[i] = d[m];
        d[m] = t;
        i = m;
    }
    return top;
}

static PairInfo *pair_info(Trainer *t, uint64_t key)
{
    PairInfo *p = g_hash_table_lookup(t->pairs, &key);
    if (p == NULL) {
        p = g_new0(PairInfo, 1);
        p->key = key;
        p->words = g_array_new(FALSE, FALSE, sizeof(int));
        g_hash_table_insert(t->pairs, &p->key, p);
    }
    return p;
}

static void pair_info_free(gpointer data)
{
    PairInfo *p = data;
    g_array_free(p->words, TRUE);
    g_free(p);
}

/* Adds (sign +1) or removes (−1) word w's pairs from the counts. */
static void count_word(Trainer *t, int w, int sign, bool push)
{
    Word *word = &g_array_index(t->words, Word, w);
    for (int i = 0; i + 1 < word->len; i++) {
        PairInfo *p = pair_info(t, pair_key(word->sym[i], word->sym[i + 1]));
        p->count += sign * word->freq;
        if (sign > 0) {
            g_array_append_val(p->words, w);
            if (push)
                heap_push(t->heap, p->count, p->key);
        }
    }
}

static void add_word(Trainer *t, const char *text, int64_t freq)
{
    Word w = { .freq = freq, .stamp = -1 };
    glong n = g_utf8_strlen(text, -1);
    w.sym = g_new(int, n);
    const char *p = text;
    for (glong i = 0; i < n; i++) {
        const char *next = g_utf8_next_char(p);
        g_autofree char *ch = g_strndup(p, (gsize)(next - p));
        int id = vocab_find(t->v, ch);
        if (id < 0) { /* not in the alphabet: the word is skipped */
            g_free(w.sym);
            return;
        }
        w.sym[w.len++] = id;
        p = next;
    }
    g_array_append_val(t->words, w);
}

/* Rewrites word w with every (a, b) replaced by m, left to right. */
static void merge_word(Trainer *t, int w, int a, int b, int m)
{
    Word *word = &g_array_index(t->words, Word, w);
    int o = 0;
    for (int i = 0; i < word->len; i++) {
        if (i + 1 < word->len && word->sym[i] == a && word->sym[i + 1] == b) {
            word->sym[o++] = m;
            i++;
        } else {
            word->sym[o++] = word->sym[i];
        }
    }
    word->len = o;
}

static void train(Vocab *v, int budget)
{
    Trainer t = { .v = v };
    t.words = g_array_new(FALSE, FALSE, sizeof(Word));
    t.pairs = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                    pair_info_free);
    t.heap = g_array_new(FALSE, FALSE, sizeof(HeapEntry));

    /* word forms: "▁word", "word" (text start), "▁Word" */
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    GPtrArray *order = g_ptr_array_new_with_free_func(g_free);
    GHashTable *starters = g_hash_table_new(g_str_hash, g_str_equal);
    size_t n_parts;
    const MakeCorpusPart *parts = make_model_corpus(&n_parts);
    for (size_t i = 0; i < n_parts; i++) {
        g_auto(GStrv) words = g_strsplit(parts[i].words, " ", -1);
        for (char **w = words; *w; w++) {
            if (**w == 0)
                continue;
            char *dup = g_hash_table_lookup(seen, *w);
            if (dup == NULL) {
                dup = g_strdup(*w);
                g_ptr_array_add(order, dup);
                g_hash_table_add(seen, dup);
            }
            if (parts[i].starts_text)
                g_hash_table_add(starters, dup);
        }
    }
    for (guint r = 0; r < order->len; r++) {
        const char *w = g_ptr_array_index(order, r);
        int64_t f = ZIPF_SCALE / (r + ZIPF_OFFSET) + 1;
        g_autofree char *spaced = g_strconcat(WORD_START, w, NULL);
        add_word(&t, spaced, f);
        add_word(&t, w, g_hash_table_contains(starters, w) ? f : f / 8 + 1);
        if (g_ascii_islower(w[0])) {
            g_autofree char *cap = g_strconcat(WORD_START, w, NULL);
            cap[strlen(WORD_START)] = g_ascii_toupper(w[0]);
            add_word(&t, cap, f / 10 + 1);
        }
    }
    g_hash_table_destroy(seen);
    g_hash_table_destroy(starters);
    g_ptr_array_free(order, TRUE);

    for (guint w = 0; w < t.words->len; w++)
        count_word(&t, (int)w, +1, false);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, t.pairs);
    while (g_hash_table_iter_next(&it, &key, &value))
        heap_push(t.heap, ((PairInfo *)value)->count, ((PairInfo *)value)->key);

    int stamp = 0;
    while ((int)v->pieces->len < budget && t.heap->len > 0) {
        HeapEntry e = heap_pop(t.heap);
        PairInfo *p = g_hash_table_lookup(t.pairs, &e.key);
        if (p->count != e.count) { /* stale: requeue at its real count */
            if (p->count > 0)
                heap_push(t.heap, p->count, p->key);
            continue;
        }
        if (p->count < BPE_MIN_PAIR_COUNT)
            break;
        int a = (int)(p->key >> 32), b = (int)(uint32_t)p->key;
        char *text = g_strconcat(g_ptr_array_index(v->pieces, a),
                                 g_ptr_array_index(v->pieces, b), NULL);
        int m = vocab_find(v, text);
        if (m < 0 && !vocab_taken(v, text)) {
            m = vocab_add(v, text);
        } else {
            g_free(text);
            if (m < 0) /* spells a reserved token: never merged */
                continue;
        }
        int pair[2] = { a, b };
        g_array_append_vals(v->merges, pair, 2);
        stamp++;
        GArray *ws = g_array_copy(p->words);
        for (guint i = 0; i < ws->len; i++) {
            int w = g_array_index(ws, int, i);
            Word *word = &g_array_index(t.words, Word, w);
            if (word->stamp == stamp)
                continue;
            word->stamp = stamp;
            count_word(&t, w, -1, false);
            merge_word(&t, w, a, b, m);
            count_word(&t, w, +1, true);
        }
        g_array_free(ws, TRUE);
    }

    for (guint w = 0; w < t.words->len; w++)
        g_free(g_array_index(t.words, Word, w).sym);
    g_array_free(t.words, TRUE);
    g_hash_table_destroy(t.pairs);
    g_array_free(t.heap, TRUE);
}

/* ---- fillers ------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Writing systems, so fillers join only pieces of one script. */
typedef enum {
    SCRIPT_OTHER, /* digits, punctuation, symbols */
    SCRIPT_LATIN, /* with U+2581, a word start */
    SCRIPT_GREEK,
    SCRIPT_CYRILLIC,
    SCRIPT_HEBREW,
    SCRIPT_ARABIC,
    SCRIPT_DEVANAGARI,
    SCRIPT_THAI,
    SCRIPT_KANA,
    SCRIPT_HAN,
    SCRIPT_HANGUL,
    SCRIPT_COUNT
} Script;

static Script script_of(gunichar c)
{
    /* accented Latin letters stay out of fillers: joined at random with
     * English pieces they make no plausible word */
    if (c == 0x2581 || (c < 0x80 && g_ascii_isalpha((char)c)))
        return SCRIPT_LATIN;
    if (g_unichar_isalpha(c)) {
        if (c >= 0x370 && c < 0x400)
            return SCRIPT_GREEK;
        if (c >= 0x400 && c < 0x530)
            return SCRIPT_CYRILLIC;
        if (c >= 0x590 && c < 0x600)
            return SCRIPT_HEBREW;
        if (c >= 0x600 && c < 0x700)
            return SCRIPT_ARABIC;
        if (c >= 0x900 && c < 0x980)
            return SCRIPT_DEVANAGARI;
        if (c >= 0xe00 && c < 0xe80)
            return SCRIPT_THAI;
        if (c >= 0x3040 && c < 0x3100)
            return SCRIPT_KANA;
        if (c >= 0x4e00 && c < 0xa000)
            return SCRIPT_HAN;
        if (c >= 0xac00 && c < 0xd7b0)
            return SCRIPT_HANGUL;
    }
    return SCRIPT_OTHER;
}

static Script last_script(const char *piece)
{
    const char *last = g_utf8_prev_char(piece + strlen(piece));
    return script_of(g_utf8_get_char(last));
}

static Script first_script(const char *piece)
{
    return script_of(g_utf8_get_char(piece));
}

/* How often fillers are drawn from each writing system (percent): mostly
 * Latin-script words, like the real vocabulary's bulk. */
static const int script_share[SCRIPT_COUNT] = {
    [SCRIPT_LATIN] = 70, [SCRIPT_GREEK] = 3,  [SCRIPT_CYRILLIC] = 6,
    [SCRIPT_HEBREW] = 2, [SCRIPT_ARABIC] = 3, [SCRIPT_DEVANAGARI] = 2,
    [SCRIPT_THAI] = 2,   [SCRIPT_KANA] = 3,   [SCRIPT_HAN] = 6,
    [SCRIPT_HANGUL] = 3,
};

static Script pick_script(uint64_t *rng)
{
    int r = (int)(splitmix64(rng) % 100);
    for (int s = 0; s < SCRIPT_COUNT; s++) {
        if (r < script_share[s])
            return (Script)s;
        r -= script_share[s];
    }
    return SCRIPT_LATIN;
}

/* Pieces by script: `ends` (may start a filler: ends in the script, no
 * newline) and `starts` (may end one: starts in the script, no word
 * start). */
typedef struct {
    GArray *ends[SCRIPT_COUNT];
    GArray *starts[SCRIPT_COUNT];
} ScriptIndex;

static void index_piece(ScriptIndex *ix, const char *text, int id,
                        bool as_start)
{
    if (strchr(text, '\n') != NULL)
        return;
    Script last = last_script(text), first = first_script(text);
    if (last != SCRIPT_OTHER)
        g_array_append_val(ix->ends[last], id);
    /* no word start or capital inside a filler */
    if (as_start && first != SCRIPT_OTHER &&
        !g_str_has_prefix(text, WORD_START) && !g_ascii_isupper(text[0]))
        g_array_append_val(ix->starts[first], id);
}

/* An entry of `list`, favouring early (frequent) pieces: index n · u². */
static int pick(uint64_t *rng, const GArray *list)
{
    double u = (double)(splitmix64(rng) >> 11) * 0x1p-53;
    return g_array_index(list, int, (guint)(u * u * list->len));
}

static void add_fillers(Vocab *v, int budget)
{
    uint64_t rng = FILLER_SEED;
    ScriptIndex ix;
    for (int s = 0; s < SCRIPT_COUNT; s++) {
        ix.ends[s] = g_array_new(FALSE, FALSE, sizeof(int));
        ix.starts[s] = g_array_new(FALSE, FALSE, sizeof(int));
    }
    /* fillers grow from any piece but end with a learnt one */
    for (guint i = 0; i < v->pieces->len; i++)
        index_piece(&ix, g_ptr_array_index(v->pieces, i), (int)i, true);
    while ((int)v->pieces->len < budget) {
        Script s = pick_script(&rng);
        if (ix.ends[s]->len == 0 || ix.starts[s]->len == 0)
            continue; /* a script the alphabet lacks (small vocabularies) */
        int a = pick(&rng, ix.ends[s]), b = pick(&rng, ix.starts[s]);
        const char *ta = g_ptr_array_index(v->pieces, a);
        const char *tb = g_ptr_array_index(v->pieces, b);
        if (g_utf8_strlen(ta, -1) + g_utf8_strlen(tb, -1) > FILLER_MAX_CHARS)
            continue;
        char *text = g_strconcat(ta, tb, NULL);
        if (vocab_taken(v, text)) {
            g_free(text);
            continue;
        }
        int id = vocab_add(v, text);
        index_piece(&ix, text, id, false);
        int pair[2] = { a, b };
        g_array_append_vals(v->merges, pair, 2);
    }
    for (int s = 0; s < SCRIPT_COUNT; s++) {
        g_array_free(ix.ends[s], TRUE);
        g_array_free(ix.starts[s], TRUE);
    }
}

/* ---- tokenizer.json ----------------------------------------------------- */

static void json_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\t': g_string_append(out, "\\t"); break;
        case '\r': g_string_append(out, "\\r"); break;
        default:
            if (*p < 0x20)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

static void added_token(GString *out, int id, const char *content,
                        bool normalized, bool special, bool last)
{
    g_string_append_printf(out,
                           "    {\n      \"id\": %d,\n      \"content\": ", id);
    json_string(out, content);
    g_string_append_printf(out,
                           ",\n      \"single_word\": false,\n"
                           "      \"lstrip\": false,\n"
                           "      \"rstrip\": false,\n"
                           "      \"normalized\": %s,\n"
                           "      \"special\": %s\n    }%s\n",
                           normalized ? "true" : "false",
                           special ? "true" : "false", last ? "" : ",");
}

static const char *const special_tokens[MAKE_SPECIAL_TOKENS] = {
    "<pad>", "<eos>", "<bos>", "<unk>", "<mask>"
};

static const char normalizer_json[] =
    "  \"normalizer\": {\n"
    "    \"type\": \"Replace\",\n"
    "    \"pattern\": {\n      \"String\": \" \"\n    },\n"
    "    \"content\": \"\xe2\x96\x81\"\n  },\n";

static const char split_pre_tokenizer_json[] =
    "  \"pre_tokenizer\": {\n"
    "    \"type\": \"Split\",\n"
    "    \"pattern\": {\n      \"String\": \" \"\n    },\n"
    "    \"behavior\": \"MergedWithPrevious\",\n"
    "    \"invert\": false\n  },\n";

/* transformers 5: the processor adds <bos> itself */
static const char plain_post_processor_json[] =
    "  \"post_processor\": {\n"
    "    \"type\": \"TemplateProcessing\",\n"
    "    \"single\": [\n"
    "      {\n        \"Sequence\": {\n          \"id\": \"A\",\n"
    "          \"type_id\": 0\n        }\n      }\n    ],\n"
    "    \"pair\": [\n"
    "      {\n        \"Sequence\": {\n          \"id\": \"A\",\n"
    "          \"type_id\": 0\n        }\n      },\n"
    "      {\n        \"Sequence\": {\n          \"id\": \"B\",\n"
    "          \"type_id\": 1\n        }\n      }\n    ],\n"
    "    \"special_tokens\": {}\n  },\n";

/* the hub's: <bos> $A */
static const char bos_post_processor_json[] =
    "  \"post_processor\": {\n"
    "    \"type\": \"TemplateProcessing\",\n"
    "    \"single\": [\n"
    "      {\n        \"SpecialToken\": {\n          \"id\": \"<bos>\",\n"
    "          \"type_id\": 0\n        }\n      },\n"
    "      {\n        \"Sequence\": {\n          \"id\": \"A\",\n"
    "          \"type_id\": 0\n        }\n      }\n    ],\n"
    "    \"pair\": [\n"
    "      {\n        \"SpecialToken\": {\n          \"id\": \"<bos>\",\n"
    "          \"type_id\": 0\n        }\n      },\n"
    "      {\n        \"Sequence\": {\n          \"id\": \"A\",\n"
    "          \"type_id\": 0\n        }\n      },\n"
    "      {\n        \"SpecialToken\": {\n          \"id\": \"<bos>\",\n"
    "          \"type_id\": 1\n        }\n      },\n"
    "      {\n        \"Sequence\": {\n          \"id\": \"B\",\n"
    "          \"type_id\": 1\n        }\n      }\n    ],\n"
    "    \"special_tokens\": {\n"
    "      \"<bos>\": {\n        \"id\": \"<bos>\",\n"
    "        \"ids\": [\n          2\n        ],\n"
    "        \"tokens\": [\n          \"<bos>\"\n        ]\n      }\n"
    "    }\n  },\n";

static const char decoder_json[] =
    "  \"decoder\": {\n"
    "    \"type\": \"Sequence\",\n"
    "    \"decoders\": [\n"
    "      {\n        \"type\": \"Replace\",\n"
    "        \"pattern\": {\n          \"String\": \"\xe2\x96\x81\"\n"
    "        },\n        \"content\": \" \"\n      },\n"
    "      {\n        \"type\": \"ByteFallback\"\n      },\n"
    "      {\n        \"type\": \"Fuse\"\n      }\n    ]\n  },\n";

/* The strings of ids 0..image−1 that are not BPE pieces, and <image>. */
static char *reserved_name(const MakeSpec *spec, int id)
{
    if (id < MAKE_SPECIAL_TOKENS)
        return g_strdup(special_tokens[id]);
    if (id < MAKE_FIRST_PIECE)
        return g_strdup_printf("<0x%02X>", id - MAKE_SPECIAL_TOKENS);
    int loc = id - spec->text_vocab;
    if (loc < MAKE_LOC_TOKENS)
        return g_strdup_printf("<loc%04d>", loc);
    if (loc < MAKE_LOC_TOKENS + MAKE_SEG_TOKENS)
        return g_strdup_printf("<seg%03d>", loc - MAKE_LOC_TOKENS);
    return g_strdup("<image>");
}

static GString *render(const MakeSpec *spec, const Vocab *v)
{
    int image = make_image_token_id(spec);
    GString *out = g_string_sized_new(64u << 20);
    g_string_append(out, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n"
                         "  \"padding\": null,\n  \"added_tokens\": [\n");
    for (int id = 0; id < MAKE_SPECIAL_TOKENS; id++)
        added_token(out, id, special_tokens[id], false, true, false);
    if (!spec->hub_layout) {
        /* transformers 5 lists loc/seg as non-special added tokens */
        for (int id = spec->text_vocab; id < image; id++) {
            g_autofree char *name = reserved_name(spec, id);
            added_token(out, id, name, true, false, false);
        }
    }
    added_token(out, image, "<image>", false, true, true);
    g_string_append(out, "  ],\n");
    g_string_append(out, normalizer_json);
    if (spec->hub_layout)
        g_string_append(out, "  \"pre_tokenizer\": null,\n");
    else
        g_string_append(out, split_pre_tokenizer_json);
    g_string_append(out, spec->hub_layout ? bos_post_processor_json
                                          : plain_post_processor_json);
    g_string_append(out, decoder_json);
    g_string_append(out,
                    "  \"model\": {\n    \"type\": \"BPE\",\n"
                    "    \"dropout\": null,\n    \"unk_token\": \"<unk>\",\n"
                    "    \"continuing_subword_prefix\": null,\n"
                    "    \"end_of_word_suffix\": null,\n"
                    "    \"fuse_unk\": true,\n    \"byte_fallback\": true,\n"
                    "    \"ignore_merges\": false,\n    \"vocab\": {\n");
    for (int id = 0; id < image; id++) {
        g_string_append(out, "      ");
        int piece = id - MAKE_FIRST_PIECE;
        if (id >= MAKE_FIRST_PIECE && id < spec->text_vocab) {
            json_string(out, g_ptr_array_index(v->pieces, piece));
        } else {
            g_autofree char *name = reserved_name(spec, id);
            json_string(out, name);
        }
        g_string_append_printf(out, ": %d%s\n", id, id + 1 < image ? "," : "");
    }
    g_string_append(out, "    },\n    \"merges\": [\n");
    guint n_merges = v->merges->len / 2;
    for (guint i = 0; i < n_merges; i++) {
        int a = g_array_index(v->merges, int, 2 * i);
        int b = g_array_index(v->merges, int, 2 * i + 1);
        g_string_append(out, "      [\n        ");
        json_string(out, g_ptr_array_index(v->pieces, a));
        g_string_append(out, ",\n        ");
        json_string(out, g_ptr_array_index(v->pieces, b));
        g_string_append_printf(out, "\n      ]%s\n",
                               i + 1 < n_merges ? "," : "");
    }
    g_string_append(out, "    ]\n  }\n}");
    return out;
}

gboolean make_model_write_tokenizer(const MakeSpec *spec, const char *dir,
                                    GError **error)
{
    int budget = spec->text_vocab - MAKE_FIRST_PIECE;
    Vocab v;
    v.pieces = g_ptr_array_new_with_free_func(g_free);
    v.lookup = g_hash_table_new(g_str_hash, g_str_equal);
    v.merges = g_array_new(FALSE, FALSE, sizeof(int));
    /* reserve every non-piece string so no piece spells one */
    GPtrArray *reserved = g_ptr_array_new_with_free_func(g_free);
    for (int id = 0; id <= make_image_token_id(spec); id++) {
        if (id >= MAKE_FIRST_PIECE && id < spec->text_vocab)
            continue;
        char *name = reserved_name(spec, id);
        g_ptr_array_add(reserved, name);
        g_hash_table_insert(v.lookup, name, GINT_TO_POINTER(0));
    }
    add_alphabet(&v, budget);
    train(&v, budget);
    add_fillers(&v, budget);
    g_assert_cmpint((int)v.pieces->len, ==, budget);

    GString *json = render(spec, &v);
    g_autofree char *path = g_build_filename(dir, "tokenizer.json", NULL);
    gboolean ok =
        g_file_set_contents(path, json->str, (gssize)json->len, error);
    g_string_free(json, TRUE);
    g_hash_table_destroy(v.lookup);
    g_ptr_array_free(v.pieces, TRUE);
    g_array_free(v.merges, TRUE);
    g_ptr_array_free(reserved, TRUE);
    return ok;
}
