/* bench-limits.c — the machine limits palilens-bench compares against
 * (bench-limits.h).
 *
 * Register peaks: independent accumulator chains that never touch memory
 * (12 FMA chains, enough to cover latency × throughput on every core this
 * targets; AMX: four C tiles fed by the same A and B tiles), on every
 * thread at once; GFLOP/s = multiply-adds × 2 / time.  The AMX tile loop:
 * the engine's inner loop on data in cache (loop_amx), what tiles do once
 * an operand has to stream.  The engine's matrix
 * products: pali_matmul at (n, k, m) = (512, 2304, 9216), a Gemma 2B MLP
 * projection over 512 tokens, bf16 weights, the best of several runs.
 * Read bandwidth: each thread sums its share of a 1 GB buffer with eight
 * independent vector accumulators; the median of three passes. */
#include "bench-limits.h"

#include <dlfcn.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compute.h"
#include "internal.h"

/* Register-peak iterations per thread (each a handful of instructions). */
#define PEAK_ITERS      20000000L
#define PEAK_ITERS_AMX  2000000L
#define PEAK_CHAINS     12
#define BANDWIDTH_BYTES (1ULL << 30)
#define REPEATS         3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- register peaks ------------------------------------------------------ */

typedef struct {
    pali_kernel kind;
    bool tile_loop; /* loop_amx instead of the register peak */
    long iters;
    double sink;
    bool failed;
} PeakArg;

__attribute__((target("avx2,fma"))) static double peak_avx2(long iters)
{
    __m256 acc[PEAK_CHAINS];
    for (int j = 0; j < PEAK_CHAINS; j++)
        acc[j] = _mm256_set1_ps((float)j);
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
    for (long i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (int j = 0; j < PEAK_CHAINS; j++)
            acc[j] = _mm256_fmadd_ps(acc[j], a, b);
    float out[8], s = 0;
    for (int j = 0; j < PEAK_CHAINS; j++) {
        _mm256_storeu_ps(out, acc[j]);
        s += out[0];
    }
    return s;
}

__attribute__((target("avx512f"))) static double peak_avx512(long iters)
{
    __m512 acc[PEAK_CHAINS];
    for (int j = 0; j < PEAK_CHAINS; j++)
        acc[j] = _mm512_set1_ps((float)j);
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
    for (long i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (int j = 0; j < PEAK_CHAINS; j++)
            acc[j] = _mm512_fmadd_ps(acc[j], a, b);
    float s = 0;
    for (int j = 0; j < PEAK_CHAINS; j++)
        s += _mm512_reduce_add_ps(acc[j]);
    return s;
}

__attribute__((target("avx512f,avx512bf16"))) static double
peak_avx512bf16(long iters)
{
    __m512 acc[PEAK_CHAINS];
    for (int j = 0; j < PEAK_CHAINS; j++)
        acc[j] = _mm512_set1_ps((float)j);
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80);
    const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3a83);
    for (long i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (int j = 0; j < PEAK_CHAINS; j++)
            acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
    float s = 0;
    for (int j = 0; j < PEAK_CHAINS; j++)
        s += _mm512_reduce_add_ps(acc[j]);
    return s;
}

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} TileConfig;

/* Every tile 16 rows of 64 bytes (palette 1). */
__attribute__((target("amx-tile"))) static void configure_tiles(void)
{
    TileConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

__attribute__((target("amx-tile,amx-bf16"))) static double peak_amx(long iters)
{
    static __thread uint16_t ab[16 * 32] __attribute__((aligned(64)));
    for (int i = 0; i < 16 * 32; i++)
        ab[i] = 0x3c00; // 2^-7: the sums stay finite
    float out[16 * 16];
    configure_tiles();
    _tile_loadd(4, ab, 64);
    _tile_loadd(5, ab, 64);
    _tile_loadd(6, ab, 64);
    _tile_loadd(7, ab, 64);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (long i = 0; i < iters; i++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, 64);
    _tile_release();
    return out[0];
}

/* The tile loop: per pass, LOOP_BLOCKS blocks of 32 tokens (B, 1 MB: from
 * L2) against one 32-row × LOOP_KC block of A (16 KB: in L1), the four C
 * tiles of each block in from and out to L2 around its LOOP_KC / 32 steps
 * of two A, two B tile loads and four products — the 2×2 register
 * blocking of kernels-amx.c without memory, epilogue or threads' sharing,
 * so an upper bound for its products.  GFLOP/s with
 * flops_per_iter(tile loop) per pass. */
#define LOOP_KC     256
#define LOOP_BLOCKS 64

__attribute__((target("amx-tile,amx-bf16"))) static double
loop_amx(long passes, bool *failed)
{
    uint16_t *a = pali_aligned_alloc(32 * LOOP_KC * 2);
    uint16_t *b = pali_aligned_alloc((size_t)LOOP_BLOCKS * 32 * LOOP_KC * 2);
    float *c = pali_aligned_alloc((size_t)LOOP_BLOCKS * 1024 * 4);
    double out = 0;
    *failed = a == NULL || b == NULL || c == NULL;
    if (!*failed) {
        for (int i = 0; i < 32 * LOOP_KC; i++)
            a[i] = 0x3c00; // 2^-7: the sums stay finite
        for (int i = 0; i < LOOP_BLOCKS * 32 * LOOP_KC; i++)
            b[i] = 0x3c00;
        memset(c, 0, (size_t)LOOP_BLOCKS * 1024 * 4);
        configure_tiles();
        for (long i = 0; i < passes; i++)
            for (int blk = 0; blk < LOOP_BLOCKS; blk++) {
                const uint16_t *b0 = b + (size_t)blk * 32 * LOOP_KC;
                const uint16_t *b1 = b0 + 16 * LOOP_KC;
                float *cp = c + blk * 1024;
                _tile_loadd(0, cp, 64);
                _tile_loadd(1, cp + 256, 64);
                _tile_loadd(2, cp + 512, 64);
                _tile_loadd(3, cp + 768, 64);
                for (int kk = 0; kk < LOOP_KC; kk += 32) {
                    _tile_loadd(4, a + kk, LOOP_KC * 2);
                    _tile_loadd(5, a + 16 * LOOP_KC + kk, LOOP_KC * 2);
                    _tile_loadd(6, b0 + kk * 16, 64);
                    _tile_loadd(7, b1 + kk * 16, 64);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
                _tile_stored(0, cp, 64);
                _tile_stored(1, cp + 256, 64);
                _tile_stored(2, cp + 512, 64);
                _tile_stored(3, cp + 768, 64);
            }
        _tile_release();
        out = c[0];
    }
    pali_aligned_free(a);
    pali_aligned_free(b);
    pali_aligned_free(c);
    return out;
}

static void *peak_thread(void *p)
{
    PeakArg *a = p;
    if (a->tile_loop) {
        a->sink = loop_amx(a->iters, &a->failed);
        return NULL;
    }
    switch (a->kind) {
    case PALI_KERNEL_AVX2: a->sink = peak_avx2(a->iters); break;
    case PALI_KERNEL_AVX512: a->sink = peak_avx512(a->iters); break;
    case PALI_KERNEL_AVX512BF16: a->sink = peak_avx512bf16(a->iters); break;
    case PALI_KERNEL_AMX: a->sink = peak_amx(a->iters); break;
    default: break;
    }
    return NULL;
}

/* Multiply-adds per iteration of each loop above. */
static double flops_per_iter(pali_kernel k, bool tile_loop)
{
    if (tile_loop)
        return LOOP_BLOCKS * (LOOP_KC / 32) * 4.0 * 16 * 16 * 32 * 2;
    switch (k) {
    case PALI_KERNEL_AVX2: return PEAK_CHAINS * 8 * 2;
    case PALI_KERNEL_AVX512: return PEAK_CHAINS * 16 * 2;
    case PALI_KERNEL_AVX512BF16: return PEAK_CHAINS * 32 * 2;
    case PALI_KERNEL_AMX: return 4.0 * 16 * 16 * 32 * 2;
    default: return 0;
    }
}

/* GFLOP/s of the loop on every thread at once (0: a thread could not
 * allocate its buffers). */
static double run_peak(pali_kernel k, bool tile_loop, int threads, long iters)
{
    pthread_t tid[64];
    PeakArg args[64];
    threads = threads > 64 ? 64 : threads;
    const double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        args[i] = (PeakArg){ k, tile_loop, iters, 0, false };
        pthread_create(&tid[i], NULL, peak_thread, &args[i]);
    }
    bool failed = false;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        failed = failed || args[i].failed;
    }
    const double dt = now_s() - t0;
    return failed ? 0
                  : flops_per_iter(k, tile_loop) * (double)iters * threads /
                        dt / 1e9;
}

/* ---- the engine's matrix products ---------------------------------------- */

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *,
                         int, const float *, int, float, float *, int);

static double run_matmul(int kernel, bool fast, int threads, int64_t n,
                         int64_t k, int64_t m)
{
    pali_compute c;
    pali_error err = { 0 };
    if (pali_compute_init_kernel(
            &c, threads, fast ? PALI_PRECISION_FAST : PALI_PRECISION_EXACT,
            kernel, k, pali_matmul_scratch_bytes(kernel, k), &err) != PALI_OK)
        return 0;
    float *x = pali_aligned_alloc((size_t)(n * k) * sizeof(float));
    float *y = pali_aligned_alloc((size_t)(n * m) * sizeof(float));
    uint16_t *w = pali_aligned_alloc((size_t)(m * k) * sizeof(uint16_t));
    for (int64_t i = 0; i < n * k; i++)
        x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int64_t i = 0; i < m * k; i++)
        w[i] = pali_f32_to_bf16((float)((i * 104729) % 1000) / 5e4f - 0.01f);
    pali_tensor t = { .name = "w",
                      .dtype = PALI_DTYPE_BF16,
                      .n_dims = 2,
                      .shape = { m, k },
                      .data = w,
                      .nbytes = (size_t)(m * k) * 2 };
    pali_matmul(&c, x, n, &t, NULL, y); // warm: pages, caches, tiles
    double best = 1e30;
    for (int r = 0; r < REPEATS; r++) {
        const double t0 = now_s();
        pali_matmul(&c, x, n, &t, NULL, y);
        const double dt = now_s() - t0;
        best = dt < best ? dt : best;
    }
    pali_aligned_free(x);
    pali_aligned_free(y);
    pali_aligned_free(w);
    pali_compute_clear(&c);
    return 2.0 * (double)n * (double)k * (double)m / best / 1e9;
}

typedef struct {
    sgemm_fn sgemm;
    const float *x, *w;
    float *y;
    int64_t n, k, m;
    int ith, nth;
} PanelArg;

/* One thread's share of 32-column panels, one single-threaded sgemm
 * each: how the engine would have to call it (a fixed column grid, so the
 * bits do not depend on the thread count). */
static void *panel_thread(void *p)
{
    const PanelArg *a = p;
    const int64_t panels = a->m / 32;
    for (int64_t q = panels * a->ith / a->nth;
         q < panels * (a->ith + 1) / a->nth; q++)
        a->sgemm(101, 111, 112, (int)a->n, 32, (int)a->k, 1.0f, a->x, (int)a->k,
                 a->w + q * 32 * a->k, (int)a->k, 0.0f, a->y + q * 32,
                 (int)a->m);
    return NULL;
}

/* OpenBLAS through dlopen, after OPENBLAS_CORETYPE is set: linked
 * normally, its constructor would detect the CPU before main() and, on
 * CPUs newer than it knows (Debian's 0.3.21 on Sapphire Rapids), pick its
 * slowest kernels.  The core type named is the newest this CPU runs:
 * SkylakeX with AVX-512, Haswell with AVX2 and FMA; none otherwise. */
static double run_openblas(BenchLimits *lim, const pali_cpu *cpu, int threads,
                           int64_t n, int64_t k, int64_t m)
{
    const char *ct = getenv("OPENBLAS_CORETYPE");
    if (ct == NULL) {
        const char *core =
            cpu->avx512f && cpu->avx512bw && cpu->avx512dq && cpu->avx512vl
                ? "SkylakeX"
            : cpu->avx2 && cpu->fma ? "Haswell"
                                    : NULL;
        if (core) {
            setenv("OPENBLAS_CORETYPE", core, 0);
            snprintf(lim->openblas_coretype, sizeof(lim->openblas_coretype),
                     "%s (set by palilens-bench)", core);
        } else {
            snprintf(lim->openblas_coretype, sizeof(lim->openblas_coretype),
                     "its own detection");
        }
    } else {
        snprintf(lim->openblas_coretype, sizeof(lim->openblas_coretype), "%s",
                 ct);
    }
    void *lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        return 0;
    sgemm_fn sgemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
    void (*set_threads)(int) =
        (void (*)(int))dlsym(lib, "openblas_set_num_threads");
    char *(*corename)(void) =
        (char *(*)(void))dlsym(lib, "openblas_get_corename");
    if (sgemm == NULL)
        return 0;
    if (set_threads)
        set_threads(threads);
    if (corename)
        snprintf(lim->openblas_core, sizeof(lim->openblas_core), "%s",
                 corename());
    float *x = pali_aligned_alloc((size_t)(n * k) * sizeof(float));
    float *w = pali_aligned_alloc((size_t)(m * k) * sizeof(float));
    float *y = pali_aligned_alloc((size_t)(n * m) * sizeof(float));
    for (int64_t i = 0; i < n * k; i++)
        x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int64_t i = 0; i < m * k; i++)
        w[i] = (float)((i * 104729) % 1000) / 5e4f - 0.01f;
    // CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112
    double best = 1e30;
    for (int r = 0; r <= REPEATS; r++) {
        const double t0 = now_s();
        sgemm(101, 111, 112, (int)n, (int)m, (int)k, 1.0f, x, (int)k, w, (int)k,
              0.0f, y, (int)m);
        const double dt = now_s() - t0;
        if (r > 0)
            best = dt < best ? dt : best;
    }
    // on the engine's fixed 32-column grid, single-threaded calls
    if (set_threads)
        set_threads(1);
    double best_grid = 1e30;
    for (int r = 0; r <= REPEATS; r++) {
        pthread_t tid[64];
        PanelArg args[64];
        const int nth = threads > 64 ? 64 : threads;
        const double t0 = now_s();
        for (int i = 0; i < nth; i++) {
            args[i] = (PanelArg){ sgemm, x, w, y, n, k, m, i, nth };
            pthread_create(&tid[i], NULL, panel_thread, &args[i]);
        }
        for (int i = 0; i < nth; i++)
            pthread_join(tid[i], NULL);
        const double dt = now_s() - t0;
        if (r > 0)
            best_grid = dt < best_grid ? dt : best_grid;
    }
    lim->openblas_grid_gflops =
        2.0 * (double)n * (double)k * (double)m / best_grid / 1e9;
    pali_aligned_free(x);
    pali_aligned_free(w);
    pali_aligned_free(y);
    // the library stays loaded: its threads may still be winding down
    return 2.0 * (double)n * (double)k * (double)m / best / 1e9;
}

/* ---- read bandwidth -------------------------------------------------------
 */

typedef struct {
    const float *data;
    size_t n;
    double sink;
} ReadArg;

__attribute__((target("avx2"))) static void *read_thread(void *p)
{
    ReadArg *a = p;
    __m256 acc[8];
    for (int j = 0; j < 8; j++)
        acc[j] = _mm256_setzero_ps();
    for (size_t i = 0; i + 64 <= a->n; i += 64)
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_add_ps(acc[j], _mm256_load_ps(a->data + i + 8 * j));
    float out[8];
    double s = 0;
    for (int j = 0; j < 8; j++) {
        _mm256_storeu_ps(out, acc[j]);
        s += out[0];
    }
    a->sink = s;
    return NULL;
}

/* One pass over n floats of buf, each of the threads reading its own
 * contiguous part: the bytes read, and the seconds in *seconds. */
static size_t read_pass(const float *buf, size_t n, int threads,
                        double *seconds)
{
    pthread_t tid[64];
    ReadArg args[64];
    threads = threads > 64 ? 64 : threads < 1 ? 1 : threads;
    const size_t per = n / (size_t)threads / 64 * 64;
    const double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        args[i] = (ReadArg){ buf + (size_t)i * per, per, 0 };
        pthread_create(&tid[i], NULL, read_thread, &args[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    *seconds = now_s() - t0;
    return per * (size_t)threads * sizeof(float);
}

static double run_read(const float *buf, size_t n, int threads)
{
    double seconds;
    const size_t read = read_pass(buf, n, threads, &seconds);
    return seconds > 0 ? (double)read / seconds / 1e9 : 0;
}

size_t bench_read_pass(const void *buf, size_t bytes, int threads,
                       double *seconds)
{
    return read_pass(buf, bytes / sizeof(float), threads, seconds);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_read(const float *buf, size_t n, int threads)
{
    double v[REPEATS];
    for (int r = 0; r < REPEATS; r++)
        v[r] = run_read(buf, n, threads);
    qsort(v, REPEATS, sizeof(double), cmp_double);
    return v[REPEATS / 2];
}

void bench_limits_measure(BenchLimits *lim, int threads, bool quick)
{
    memset(lim, 0, sizeof(*lim));
    lim->threads = threads;
    pali_cpu cpu;
    pali_cpu_detect(&cpu);
    static const char *const what[PALI_KERNEL_COUNT] = {
        [PALI_KERNEL_AVX2] = "vfmadd231ps ymm",
        [PALI_KERNEL_AVX512] = "vfmadd231ps zmm",
        [PALI_KERNEL_AVX512BF16] = "vdpbf16ps zmm",
        [PALI_KERNEL_AMX] = "tdpbf16ps (4 C tiles)",
    };
    const long div = quick ? 100 : 1;
    for (int k = PALI_KERNEL_AVX2; k < PALI_KERNEL_COUNT; k++) {
        if (!pali_cpu_supports(&cpu, (pali_kernel)k))
            continue;
        const long iters =
            (k == PALI_KERNEL_AMX ? PEAK_ITERS_AMX : PEAK_ITERS) / div;
        double best = 0;
        for (int r = 0; r < REPEATS; r++) {
            const double g = run_peak((pali_kernel)k, false, threads, iters);
            best = g > best ? g : best;
        }
        lim->peak_gflops[k] = best;
        lim->peak_what[k] = what[k];
    }
    if (pali_cpu_supports(&cpu, PALI_KERNEL_AMX)) {
        // a pass is 2048 products: as many in all as the register loop's
        // (quick: a tenth, ~10 ms; less only measures the start)
        const long passes = PEAK_ITERS_AMX / 2000 * 4 / (quick ? 10 : 1);
        for (int r = 0; r < REPEATS; r++) {
            const double g = run_peak(PALI_KERNEL_AMX, true, threads,
                                      passes > 0 ? passes : 1);
            lim->amx_tile_loop_gflops =
                g > lim->amx_tile_loop_gflops ? g : lim->amx_tile_loop_gflops;
        }
    }
    lim->mm_n = quick ? 64 : 512;
    lim->mm_k = quick ? 256 : 2304;
    lim->mm_m = quick ? 512 : 9216;
    for (int k = PALI_KERNEL_SCALAR; k < PALI_KERNEL_COUNT; k++) {
        if (!pali_cpu_supports(&cpu, (pali_kernel)k))
            continue;
        // the scalar reference at a tenth of the rows: it is ~100× slower
        const int64_t n = k == PALI_KERNEL_SCALAR ? lim->mm_n / 8 : lim->mm_n;
        lim->matmul_exact_gflops[k] =
            run_matmul(k, false, threads, n, lim->mm_k, lim->mm_m);
        lim->matmul_fast_gflops[k] =
            run_matmul(k, true, threads, n, lim->mm_k, lim->mm_m);
    }
    lim->openblas_gflops =
        run_openblas(lim, &cpu, threads, lim->mm_n, lim->mm_k, lim->mm_m);
    const size_t bytes = quick ? BANDWIDTH_BYTES / 64 : BANDWIDTH_BYTES;
    float *buf = pali_aligned_alloc(bytes);
    if (buf) {
        for (size_t i = 0; i < bytes / sizeof(float); i++)
            buf[i] = 1.0f;
        lim->read_gbps = median_read(buf, bytes / sizeof(float), threads);
        lim->read_gbps_1thread = median_read(buf, bytes / sizeof(float), 1);
        pali_aligned_free(buf);
    }
}
