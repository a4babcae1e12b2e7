/* testutil.c — helpers shared by the tests (see testutil.h). */
#include "testutil.h"

#include <glib/gstdio.h>
#include <sys/wait.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

char *test_data_path(const char *relative)
{
    const char *root = g_getenv("PALI_TEST_DATA");
    if (root == NULL)
        root = "tests/data";
    return g_build_filename(root, relative, NULL);
}

static int compare_names(gconstpointer a, gconstpointer b)
{
    // g_ptr_array_sort passes pointers to the elements
    return g_ascii_strcasecmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *test_dir_names(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_strdup(name));
    g_dir_close(d);
    g_ptr_array_sort(names, compare_names);
    return names;
}

static char *tmpdir;

static void remove_tree(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    if (dir != NULL) {
        const char *name;
        while ((name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
                !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
                remove_tree(child);
            else
                g_unlink(child);
        }
        g_dir_close(dir);
    }
    g_rmdir(path);
}

static void remove_tmpdir(void)
{
    if (tmpdir != NULL)
        remove_tree(tmpdir);
}

const char *test_tmpdir(void)
{
    if (tmpdir == NULL) {
        tmpdir = g_dir_make_tmp("pali-test-XXXXXX", NULL);
        g_assert_nonnull(tmpdir);
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

GBytes *test_read_file(const char *path)
{
    char *contents = NULL;
    gsize len = 0;
    g_autoptr(GError) error = NULL;
    if (!g_file_get_contents(path, &contents, &len, &error))
        g_error("%s", error->message);
    return g_bytes_new_take(contents, len);
}

gboolean test_safetensors_read(const char *path, const char *name,
                               TestTensor *out)
{
    memset(out, 0, sizeof(*out));
    g_autoptr(GBytes) bytes = test_read_file(path);
    gsize size = 0;
    const guint8 *d = g_bytes_get_data(bytes, &size);
    if (size < 8)
        return FALSE;
    guint64 hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (guint64)d[i] << (8 * i);
    if (hlen > size - 8)
        return FALSE;
    /* A minimal reader for trusted golden files: find "name":{...}. */
    g_autofree char *header = g_strndup((const char *)d + 8, hlen);
    g_autofree char *needle = g_strdup_printf("\"%s\":", name);
    const char *p = strstr(header, needle);
    if (p == NULL)
        return FALSE;
    const char *end = strchr(p, '}');
    g_autofree char *entry = g_strndup(p, (gsize)(end - p));
    if (strstr(entry, "\"F32\"") == NULL)
        return FALSE;
    const char *sh = strstr(entry, "\"shape\":");
    const char *off = strstr(entry, "\"data_offsets\":");
    if (sh == NULL || off == NULL)
        return FALSE;
    sh = strchr(sh, '[') + 1;
    out->numel = 1;
    while (*sh != ']') {
        char *next;
        gint64 v = g_ascii_strtoll(sh, &next, 10);
        if (next == sh)
            break;
        out->shape[out->n_dims++] = v;
        out->numel *= (size_t)v;
        sh = next;
        while (*sh == ',' || *sh == ' ')
            sh++;
    }
    off = strchr(off, '[') + 1;
    char *next;
    guint64 a = g_ascii_strtoull(off, &next, 10);
    guint64 b = g_ascii_strtoull(next + 1, NULL, 10);
    if (b < a || b - a != out->numel * 4 || 8 + hlen + b > size)
        return FALSE;
    out->data = g_malloc(out->numel * 4 + 1);
    memcpy(out->data, d + 8 + hlen + a, out->numel * 4);
    return TRUE;
}

void test_tensor_clear(TestTensor *t)
{
    g_free(t->data);
    memset(t, 0, sizeof(*t));
}

double test_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (isnan(d))
            return INFINITY;
        if (d > m)
            m = d;
    }
    return m;
}

int test_run_cli(const char *const *args, char **out, char **err)
{
    const char *root = g_getenv("PALI_BUILD_ROOT");
    g_assert_nonnull(root);
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_build_filename(root, "app", "palilens-cli", NULL));
    for (int i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, g_strdup(args[i]));
    g_ptr_array_add(argv, NULL);
    char *o = NULL, *e = NULL;
    int wait_status = 0;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL,
                      NULL, &o, &e, &wait_status, &error))
        g_error("%s", error->message);
    if (!WIFEXITED(wait_status))
        g_error("palilens-cli %s did not exit normally; stderr:\n%s", args[0],
                e);
    g_ptr_array_free(argv, TRUE);
    if (out)
        *out = o;
    else
        g_free(o);
    if (err)
        *err = e;
    else
        g_free(e);
    return WEXITSTATUS(wait_status);
}

char *test_make_model(const char *preset, const char *name,
                      const char *const *args)
{
    const char *root = g_getenv("PALI_BUILD_ROOT");
    g_assert_nonnull(root);
    char *dir = g_build_filename(test_tmpdir(), name, NULL);
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(
        argv, g_build_filename(root, "tools", "palilens-make-model", NULL));
    g_ptr_array_add(argv, g_strdup(preset));
    g_ptr_array_add(argv, g_strdup(dir));
    g_ptr_array_add(argv, g_strdup("--quiet"));
    for (int i = 0; args && args[i] != NULL; i++)
        g_ptr_array_add(argv, g_strdup(args[i]));
    g_ptr_array_add(argv, NULL);
    g_autofree char *e = NULL;
    int wait_status = 0;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL,
                      NULL, NULL, &e, &wait_status, &error))
        g_error("%s", error->message);
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0)
        g_error("palilens-make-model %s failed: %s", preset, e);
    g_ptr_array_free(argv, TRUE);
    return dir;
}
