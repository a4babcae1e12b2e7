/* testutil.h — shared helpers for the test programs: where the test data
 * is, reading files and safetensors goldens, comparing float arrays. */
#pragma once

#include <glib.h>
#include <stdint.h>

/* $PALI_TEST_DATA/<relative>, as a new string. */
char *test_data_path(const char *relative);
/* The entries of directory `dir`, sorted (ASCII, case-insensitive), as
 * a new array of strings; fails the test when it cannot be read. */
GPtrArray *test_dir_names(const char *dir);
/* A fresh temporary directory, removed at exit. */
const char *test_tmpdir(void);

/* Reads a whole file; fails the test when it cannot. */
GBytes *test_read_file(const char *path);

/* A float32 tensor from a safetensors file (F32 only). */
typedef struct {
    float *data;
    int n_dims;
    int64_t shape[8];
    size_t numel;
} TestTensor;
gboolean test_safetensors_read(const char *path, const char *name,
                               TestTensor *out);
void test_tensor_clear(TestTensor *t);

/* max |a - b| over n values. */
double test_max_abs_diff(const float *a, const float *b, size_t n);

/* Runs $PALI_BUILD_ROOT/app/palilens-cli with the NULL-terminated
 * arguments; returns its exit status (the test fails if it did not exit
 * normally) and, when not NULL, its stdout and stderr (g_free them). */
int test_run_cli(const char *const *args, char **out, char **err);

/* $PALI_BUILD_ROOT/tools/palilens-make-model PRESET test_tmpdir()/NAME
 * --quiet ARGS… (args NULL-terminated); returns the model directory (a
 * new string) and fails the test when the tool does. */
char *test_make_model(const char *preset, const char *name,
                      const char *const *args);
