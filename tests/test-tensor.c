/* test-tensor.c — number formats (tensor.c): f16 ↔ f32 against the
 * compiler's IEEE binary16 (_Float16) and exhaustively, bf16 rounding,
 * dtype names, pali_tensor_read_f32 on each float format. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "tensor.h"
#include "testutil.h"

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Every binary16 value widens exactly and narrows back to itself. */
static void test_f16_exhaustive(void)
{
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = pali_f16_to_f32((uint16_t)h);
        _Float16 ref;
        uint16_t hb = (uint16_t)h;
        memcpy(&ref, &hb, sizeof(ref));
        if (isnan(f)) {
            g_assert_true(isnan((float)ref));
            g_assert_cmpuint((pali_f32_to_f16(f) & 0x7c00u), ==, 0x7c00u);
            g_assert_cmpuint((pali_f32_to_f16(f) & 0x3ffu), !=, 0);
            continue;
        }
        g_assert_cmpuint(bits_of(f), ==, bits_of((float)ref));
        g_assert_cmpuint(pali_f32_to_f16(f), ==, h);
    }
}

/* Narrowing rounds to nearest even like the hardware conversion, over
 * random bit patterns and the edges (subnormals, overflow, ties). */
static void test_f32_to_f16_rounding(void)
{
    GRand *rng = g_rand_new_with_seed(7);
    for (int i = 0; i < 2000000; i++) {
        float f = float_of(g_rand_int(rng));
        if (isnan(f))
            continue;
        _Float16 ref = (_Float16)f;
        uint16_t rb;
        memcpy(&rb, &ref, sizeof(rb));
        g_assert_cmpuint(pali_f32_to_f16(f), ==, rb);
    }
    const float edges[] = {
        65504.0f,          65519.99f,    65520.0f,     1e9f,
        0x1p-14f,          0x1p-24f,     0x1p-25f,     0x1.8p-25f,
        0x1p-26f,          0x1.ffcp-15f, 0x1.ffep-15f, 1.0f + 0x1p-11f,
        1.0f + 0x1.8p-11f, -0.0f,        INFINITY,     -INFINITY
    };
    for (size_t i = 0; i < G_N_ELEMENTS(edges); i++) {
        _Float16 ref = (_Float16)edges[i];
        uint16_t rb;
        memcpy(&rb, &ref, sizeof(rb));
        g_assert_cmpuint(pali_f32_to_f16(edges[i]), ==, rb);
    }
    g_rand_free(rng);
}

static void test_bf16(void)
{
    g_assert_cmpuint(pali_f32_to_bf16(1.0f), ==, 0x3f80);
    /* ties to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 */
    g_assert_cmpuint(pali_f32_to_bf16(1.0f + 0x1p-8f), ==, 0x3f80);
    g_assert_cmpuint(pali_f32_to_bf16(1.0f + 0x1.8p-7f), ==, 0x3f82);
    g_assert_true(isnan(pali_bf16_to_f32(pali_f32_to_bf16(NAN))));
    g_assert_cmpfloat(pali_bf16_to_f32(0xc2f7), ==, -123.5f);
}

static void test_names(void)
{
    g_assert_cmpstr(pali_dtype_name(PALI_DTYPE_F32), ==, "f32");
    g_assert_cmpstr(pali_dtype_name(PALI_DTYPE_BF16), ==, "bf16");
    g_assert_cmpstr(pali_dtype_name(PALI_DTYPE_F16), ==, "f16");
    g_assert_cmpstr(pali_dtype_name(PALI_DTYPE_Q8), ==, "q8");
    g_assert_cmpstr(pali_dtype_name(PALI_DTYPE_Q4), ==, "q4");
}

static void test_read_f32(void)
{
    float f32[6] = { 0.5f, -1.25f, 3.0f, 1e-3f, -7.0f, 65504.0f };
    uint16_t bf[6], h[6];
    for (int i = 0; i < 6; i++) {
        bf[i] = pali_f32_to_bf16(f32[i]);
        h[i] = pali_f32_to_f16(f32[i]);
    }
    pali_tensor t = { .name = "t", .n_dims = 2, .shape = { 2, 3 } };
    float out[4];
    t.dtype = PALI_DTYPE_F32;
    t.data = f32;
    pali_tensor_read_f32(&t, 2, 4, out);
    g_assert_cmpmem(out, sizeof(out), f32 + 2, sizeof(out));
    t.dtype = PALI_DTYPE_BF16;
    t.data = bf;
    pali_tensor_read_f32(&t, 1, 4, out);
    for (int i = 0; i < 4; i++)
        g_assert_cmpfloat(out[i], ==, pali_bf16_to_f32(bf[1 + i]));
    t.dtype = PALI_DTYPE_F16;
    t.data = h;
    pali_tensor_read_f32(&t, 2, 4, out);
    g_assert_cmpfloat(out[0], ==, 3.0f);
    g_assert_cmpfloat(out[3], ==, 65504.0f);
    g_assert_cmpfloat(fabsf(out[1] - 1e-3f), <, 1e-6f);
    g_assert_cmpint(pali_tensor_rows(&t), ==, 2);
    g_assert_cmpint(pali_tensor_cols(&t), ==, 3);
    g_assert_cmpint(pali_tensor_numel(&t), ==, 6);
}

/* pali_zeroed_alloc: zeros, aligned (2 MB from 4 MB on), writable to the
 * last byte, also where malloc hands back memory it had given out. */
static void test_zeroed_alloc(void)
{
    const size_t sizes[] = {
        1, 100, 4096, (4u << 20) - 1, 4u << 20, (4u << 20) + 1, 9u << 20
    };
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
            const size_t n = sizes[i];
            unsigned char *p = pali_zeroed_alloc(n);
            g_assert_nonnull(p);
            g_assert_cmpuint((uintptr_t)p % 64, ==, 0);
            if (n >= (4u << 20))
                g_assert_cmpuint((uintptr_t)p % (2u << 20), ==, 0);
            for (size_t j = 0; j < n; j++)
                if (p[j] != 0)
                    g_error("pali_zeroed_alloc(%zu): byte %zu is %u", n, j,
                            p[j]);
            memset(p, 0xa5, n); // dirty, for the next round's reuse
            pali_zeroed_free(p, n);
        }
    pali_zeroed_free(NULL, 1u << 22);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/engine/tensor/f16-exhaustive", test_f16_exhaustive);
    g_test_add_func("/engine/tensor/f16-rounding", test_f32_to_f16_rounding);
    g_test_add_func("/engine/tensor/bf16", test_bf16);
    g_test_add_func("/engine/tensor/names", test_names);
    g_test_add_func("/engine/tensor/read-f32", test_read_f32);
    g_test_add_func("/engine/util/zeroed-alloc", test_zeroed_alloc);
    return g_test_run();
}
