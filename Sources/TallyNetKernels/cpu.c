// What the CPU can do, read from the instruction set (cpuid and the OS's saved-state bits via
// the compiler's runtime), never from a table of CPU models: TallyNet picks its GEMM kernels
// and reports its element-wise kernels from these features, so an unknown CPU still gets the
// fast path it supports.
#include <string.h>
#include "TallyNetKernels.h"
#include "dispatch.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static void read_identity(tk_cpu *cpu) {
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    memcpy(cpu->vendor + 0, &b, 4);
    memcpy(cpu->vendor + 4, &d, 4);
    memcpy(cpu->vendor + 8, &c, 4);
    cpu->vendor[12] = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        // Family and model as /proc/cpuinfo prints them (extended fields folded in).
        unsigned family = (a >> 8) & 0xF, model = (a >> 4) & 0xF;
        if (family == 0xF) family += (a >> 20) & 0xFF;
        if (family == 0x6 || family >= 0xF) model += ((a >> 16) & 0xF) << 4;
        cpu->family = (int)family;
        cpu->model = (int)model;
        cpu->stepping = (int)(a & 0xF);
    }
    unsigned top = __get_cpuid_max(0x80000000u, 0);
    if (top >= 0x80000004u) {
        unsigned words[12];
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &words[4 * i], &words[4 * i + 1], &words[4 * i + 2], &words[4 * i + 3]);
        memcpy(cpu->brand, words, 48);
        cpu->brand[48] = 0;
    }
}
#endif

void tk_cpu_query(tk_cpu *cpu) {
    memset(cpu, 0, sizeof *cpu);
#if defined(__x86_64__)
    strcpy(cpu->architecture, "x86_64");
    read_identity(cpu);
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks that the OS saves the wide registers (XGETBV),
    // so a feature reported here is one the code may use.
    cpu->sse4_2 = __builtin_cpu_supports("sse4.2") != 0;
    cpu->avx = __builtin_cpu_supports("avx") != 0;
    cpu->avx2 = __builtin_cpu_supports("avx2") != 0;
    cpu->fma = __builtin_cpu_supports("fma") != 0;
    cpu->avx512f = __builtin_cpu_supports("avx512f") != 0;
    cpu->avx512bw = __builtin_cpu_supports("avx512bw") != 0;
    cpu->avx512dq = __builtin_cpu_supports("avx512dq") != 0;
    cpu->avx512vl = __builtin_cpu_supports("avx512vl") != 0;
    cpu->avx512bf16 = __builtin_cpu_supports("avx512bf16") != 0;
#elif defined(__aarch64__)
    strcpy(cpu->architecture, "aarch64");
    cpu->neon = 1;  // Advanced SIMD is part of the AArch64 baseline.
#else
    strcpy(cpu->architecture, "other");
#endif
}

int tk_elementwise_level(void) {
#if defined(__x86_64__) && !defined(TK_NO_CLONES)
    // The same order as TK_DISPATCH's resolver: x86-64-v4 (AVX-512), then v3 (AVX2+FMA).
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return 4;
    if (__builtin_cpu_supports("x86-64-v3")) return 3;
    return 0;
#elif defined(__x86_64__)
    return -1;  // a ThreadSanitizer build: no clones were compiled (dispatch.h says why)
#else
    return 0;
#endif
}
