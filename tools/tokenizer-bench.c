/* tokenizer-bench.c — palilens-tokenizer-bench: times loading a
 * tokenizer.json and encoding a text file with libpali, on the calling
 * thread only, for comparison with Hugging Face tokenizers
 * (tools/tokenizer-bench-hf.py; tools/tokenizer-speed.sh runs both).
 *
 *   palilens-tokenizer-bench TOKENIZER.json TEXT [REPEATS]
 *
 * Prints one line per measurement; the encode time is the best of REPEATS
 * runs (default 5), then a checksum of the ids (the same as the Python
 * side's), and the ids are checked to decode back to the text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pali.h"

/* Default number of timed encodes (the best one is reported). */
#define DEFAULT_REPEATS 5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (bigger == NULL)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s TOKENIZER.json TEXT [REPEATS]\n", argv[0]);
        return 2;
    }
    int repeats = argc == 4 ? atoi(argv[3]) : DEFAULT_REPEATS;
    if (repeats < 1)
        repeats = 1;
    size_t len = 0;
    char *text = read_file(argv[2], &len);
    if (text == NULL) {
        fprintf(stderr, "%s: cannot read\n", argv[2]);
        return 1;
    }
    pali_error err = { 0 };
    pali_tokenizer *tok = NULL;
    double t0 = now_s();
    if (pali_tokenizer_load(argv[1], &tok, &err) != PALI_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("load %.3f s\n", now_s() - t0);
    double best = 1e30;
    size_t n_ids = 0;
    int32_t *ids = NULL;
    for (int r = 0; r < repeats; r++) {
        pali_free(ids);
        t0 = now_s();
        if (pali_tokenizer_encode(tok, text, len, &ids, &n_ids, &err) !=
            PALI_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    printf("encode %.4f s (best of %d), %zu bytes, %zu ids, %.1f MB/s\n", best,
           repeats, len, n_ids, (double)len / best / 1e6);
    /* FNV-1a over the ids as 32-bit little-endian words, as the Python
     * side computes it: equal checksums, equal ids */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n_ids; i++)
        for (int k = 0; k < 4; k++)
            h = (h ^ (((uint32_t)ids[i] >> (8 * k)) & 0xFF)) * 16777619u;
    printf("ids checksum %08x\n", h);
    char *back = NULL;
    size_t back_len = 0;
    if (pali_tokenizer_decode(tok, ids, n_ids, false, &back, &back_len, &err) !=
            PALI_OK ||
        back_len != len || memcmp(back, text, len) != 0) {
        fprintf(stderr, "decode does not give the text back\n");
        return 1;
    }
    pali_free(back);
    pali_free(ids);
    pali_tokenizer_free(tok);
    free(text);
    return 0;
}
