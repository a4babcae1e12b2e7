/* cpu.c — feature detection and kernel selection (cpu.h).
 *
 * cpuid leaf 7 subleaf 0 gives AVX2, AVX-512 F/DQ/BW/VL/VNNI and
 * AMX-BF16/TILE/INT8; subleaf 1 gives AVX512_BF16.  A feature is usable only
 * when XCR0 shows the OS saves its register state (bits 1–2 for YMM, 5–7
 * for ZMM, 17–18 for the AMX tile config and data).  Linux (5.16+) also
 * wants each process to ask for the tile data state before its first AMX
 * instruction: arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA). */
#include "cpu.h"

#include <string.h>
#include <strings.h>

#include "internal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#define PALI_X86 1
#endif

/* XCR0 bits (Intel SDM vol. 1, 13.1). */
#define XCR0_SSE       (1u << 1)
#define XCR0_AVX       (1u << 2)
#define XCR0_OPMASK    (1u << 5)
#define XCR0_ZMM_HI256 (1u << 6)
#define XCR0_HI16_ZMM  (1u << 7)
#define XCR0_TILECFG   (1u << 17)
#define XCR0_TILEDATA  (1u << 18)

/* Linux arch_prctl codes for dynamically enabled XSAVE features
 * (arch/x86/include/uapi/asm/prctl.h) and the tile data feature number. */
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA  18

static const char *const kernel_names[PALI_KERNEL_COUNT] = {
    [PALI_KERNEL_SCALAR] = "scalar", [PALI_KERNEL_AVX2] = "avx2",
    [PALI_KERNEL_AVX512] = "avx512", [PALI_KERNEL_AVX512BF16] = "avx512bf16",
    [PALI_KERNEL_AMX] = "amx",
};

const char *pali_kernel_name(pali_kernel k)
{
    return (unsigned)k < PALI_KERNEL_COUNT ? kernel_names[k] : "unknown";
}

bool pali_kernel_from_name(const char *name, pali_kernel *out)
{
    for (int k = 0; k < PALI_KERNEL_COUNT; k++)
        if (strcasecmp(name, kernel_names[k]) == 0) {
            *out = (pali_kernel)k;
            return true;
        }
    return false;
}

#ifdef PALI_X86
static unsigned long long read_xcr0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

/* Asks Linux for the AMX tile data state; true when it is granted. */
static bool request_amx(void)
{
    unsigned long long bitmask = 0;
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0)
        return false;
    if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &bitmask) != 0)
        return false;
    return (bitmask & (1ULL << XFEATURE_XTILEDATA)) != 0;
}
#endif

void pali_cpu_detect(pali_cpu *cpu)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->best = PALI_KERNEL_SCALAR;
#ifdef PALI_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    const bool osxsave = (c >> 27) & 1, fma = (c >> 12) & 1,
               f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return;
    const unsigned long long xcr0 = read_xcr0();
    const bool os_ymm = (xcr0 & (XCR0_SSE | XCR0_AVX)) == (XCR0_SSE | XCR0_AVX);
    const unsigned zmm_bits = XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM;
    const bool os_zmm = os_ymm && (xcr0 & zmm_bits) == zmm_bits;
    const bool os_tiles = (xcr0 & (XCR0_TILECFG | XCR0_TILEDATA)) ==
                          (XCR0_TILECFG | XCR0_TILEDATA);
    if (__get_cpuid_max(0, NULL) < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned b7 = b, c7 = c, d7 = d;
    __cpuid_count(7, 1, a, b, c, d);
    const unsigned a71 = a;

    cpu->avx2 = os_ymm && ((b7 >> 5) & 1);
    cpu->fma = os_ymm && fma;
    cpu->f16c = os_ymm && f16c;
    cpu->avx512f = os_zmm && ((b7 >> 16) & 1);
    cpu->avx512dq = os_zmm && ((b7 >> 17) & 1);
    cpu->avx512bw = os_zmm && ((b7 >> 30) & 1);
    cpu->avx512vl = os_zmm && ((b7 >> 31) & 1);
    cpu->avx512vnni = os_zmm && ((c7 >> 11) & 1);
    cpu->avx512bf16 = os_zmm && ((a71 >> 5) & 1);
    const bool amx_bf16 = (d7 >> 22) & 1, amx_tile = (d7 >> 24) & 1,
               amx_int8 = (d7 >> 25) & 1;
    if (os_tiles && amx_tile && request_amx()) {
        cpu->amx_tile = true;
        cpu->amx_bf16 = amx_bf16;
        cpu->amx_int8 = amx_int8;
    }
    for (int k = PALI_KERNEL_COUNT - 1; k > PALI_KERNEL_SCALAR; k--)
        if (pali_cpu_supports(cpu, (pali_kernel)k)) {
            cpu->best = (pali_kernel)k;
            break;
        }
#endif
}

bool pali_cpu_supports(const pali_cpu *cpu, pali_kernel k)
{
    const bool avx2 = cpu->avx2 && cpu->fma && cpu->f16c;
    const bool avx512 =
        avx2 && cpu->avx512f && cpu->avx512bw && cpu->avx512dq && cpu->avx512vl;
    switch (k) {
    case PALI_KERNEL_SCALAR: return true;
    case PALI_KERNEL_AVX2: return avx2;
    case PALI_KERNEL_AVX512: return avx512;
    // (every CPU with AVX512_BF16 has AVX512_VNNI, which the set's
    // quantized decode uses; checked all the same)
    case PALI_KERNEL_AVX512BF16:
        return avx512 && cpu->avx512bf16 && cpu->avx512vnni;
    case PALI_KERNEL_AMX:
        return avx512 && cpu->avx512bf16 && cpu->avx512vnni && cpu->amx_tile &&
               cpu->amx_bf16;
    case PALI_KERNEL_COUNT: break;
    }
    return false;
}

pali_status pali_kernel_select(const pali_cpu *cpu, const char *forced,
                               pali_kernel *out, pali_error *err)
{
    *out = cpu->best;
    if (forced == NULL || forced[0] == '\0')
        return PALI_OK;
    pali_kernel k;
    if (!pali_kernel_from_name(forced, &k))
        return pali_fail(err, PALI_ERR_INVALID_ARGUMENT,
                         "%s=%s: unknown kernel set (scalar, avx2, avx512, "
                         "avx512bf16, amx)",
                         PALI_KERNEL_ENV, forced);
    if (!pali_cpu_supports(cpu, k))
        return pali_fail(err, PALI_ERR_UNSUPPORTED,
                         "%s=%s: this CPU (or OS) cannot run it; the best it "
                         "runs is %s",
                         PALI_KERNEL_ENV, forced, pali_kernel_name(cpu->best));
    *out = k;
    return PALI_OK;
}
