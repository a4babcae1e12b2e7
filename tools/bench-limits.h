/* bench-limits.h — this machine's limits, measured in the benchmark's own
 * process (DESIGN.md §4): the arithmetic peak of each instruction set from
 * registers alone (and AMX's in the engine's tile loop), the engine's own
 * matrix products at a large shape on each kernel set, OpenBLAS's sgemm for
 * comparison, and memory read bandwidth. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cpu.h"

typedef struct {
    /* register-only peaks, GFLOP/s on `threads` threads (0: not run) */
    double peak_gflops[PALI_KERNEL_COUNT];
    const char *peak_what[PALI_KERNEL_COUNT]; /* e.g. "vfmadd231ps zmm" */
    /* AMX with an operand streaming: the engine's tile loop on data in L1
     * and L2 (bench-limits.c: loop_amx); 0: no AMX */
    double amx_tile_loop_gflops;
    /* pali_matmul on each kernel set, exact (f32) and fast (bf16) */
    double matmul_exact_gflops[PALI_KERNEL_COUNT];
    double matmul_fast_gflops[PALI_KERNEL_COUNT];
    /* OpenBLAS sgemm at the same shape, loaded with dlopen after setting
     * OPENBLAS_CORETYPE when unset (0: library absent) */
    double openblas_gflops;
    /* the same as the engine would have to call it for thread-count
     * independent bits: single-threaded calls on fixed 32-column panels */
    double openblas_grid_gflops;
    char openblas_core[64];
    char openblas_coretype[64]; /* what OPENBLAS_CORETYPE was */
    double read_gbps;           /* all threads, one pass over 1 GB */
    double read_gbps_1thread;
    int threads;
    /* the shape the products ran at */
    int64_t mm_n, mm_k, mm_m;
} BenchLimits;

/* Measures everything (a few seconds); `quick` shrinks the sizes (tests).
 * Repeats each measurement and keeps the best (peaks) or the median
 * (bandwidth). */
void bench_limits_measure(BenchLimits *lim, int threads, bool quick);

/* One pass of the bandwidth test's read loop over [buf, buf + bytes) on
 * `threads` threads (buf 32-byte aligned; a tail of under 256 bytes per
 * thread is left out): the bytes read, and the seconds in *seconds. */
size_t bench_read_pass(const void *buf, size_t bytes, int threads,
                       double *seconds);
