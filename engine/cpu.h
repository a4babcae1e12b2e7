/* cpu.h — what this CPU and OS can run, and which kernel set the engine
 * uses: AMX → AVX512-BF16 → AVX-512 → AVX2+FMA → scalar (the reference).
 *
 * Detection reads cpuid and XCR0 (the OS must save the vector state, or
 * the instructions fault); AMX also needs Linux's permission for the tile
 * data state, asked for with arch_prctl(ARCH_REQ_XCOMP_PERM).  The
 * environment variable PALI_KERNEL (scalar|avx2|avx512|avx512bf16|amx)
 * forces one set, so the tests can run every path the machine has and one
 * switch runs the whole engine on the reference kernels. */
#ifndef PALI_CPU_H
#define PALI_CPU_H

#include <stdbool.h>

#include "pali.h"

/* Kernel sets, each a superset of the one before. */
typedef enum pali_kernel {
    PALI_KERNEL_SCALAR,     /* portable C: the reference */
    PALI_KERNEL_AVX2,       /* AVX2 + FMA + F16C */
    PALI_KERNEL_AVX512,     /* AVX-512 F, BW, DQ, VL */
    PALI_KERNEL_AVX512BF16, /* + AVX512_BF16 (vdpbf16ps) */
    PALI_KERNEL_AMX,        /* + AMX-TILE, AMX-BF16, OS permission */
    PALI_KERNEL_COUNT
} pali_kernel;

/* The environment variable that forces a kernel set. */
#define PALI_KERNEL_ENV "PALI_KERNEL"

typedef struct pali_cpu {
    bool avx2, fma, f16c;                       /* and the OS saves YMM */
    bool avx512f, avx512bw, avx512dq, avx512vl; /* and the OS saves ZMM */
    bool avx512bf16, avx512vnni;
    bool amx_tile, amx_bf16, amx_int8; /* and tile data is permitted */
    pali_kernel best;                  /* the fastest set all of it runs */
} pali_cpu;

/* Reads cpuid and XCR0 and asks the kernel for AMX tile permission
 * (process-wide, idempotent).  Never fails: what is missing is false. */
void pali_cpu_detect(pali_cpu *cpu);

/* "scalar", "avx2", "avx512", "avx512bf16", "amx". */
const char *pali_kernel_name(pali_kernel k);
bool pali_kernel_from_name(const char *name, pali_kernel *out);

/* Whether this CPU runs kernel set k. */
bool pali_cpu_supports(const pali_cpu *cpu, pali_kernel k);

/* The kernel set to use: `forced` (a name, e.g. getenv(PALI_KERNEL_ENV))
 * when not NULL or empty, else the best.  A forced set the machine cannot
 * run, or an unknown name, is an error that says what the CPU has. */
pali_status pali_kernel_select(const pali_cpu *cpu, const char *forced,
                               pali_kernel *out, pali_error *err);

#endif /* PALI_CPU_H */
