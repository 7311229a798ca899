// TallyNet's own AVX-512 loops (dense.c, products.c): compiled with a target attribute and
// called only where the CPU reports AVX-512F and FMA (tn_avx512_available), never chosen by
// CPU model. Elsewhere the callers keep BLIS.
#ifndef TALLYNET_AVX512_H
#define TALLYNET_AVX512_H

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define TN_HAVE_AVX512 1
#define TN_AVX512 __attribute__((target("avx512f,fma")))
// Every loop over a tile's rows and vectors is unrolled, so that its accumulators live in
// registers (without it, a -O2 build kept them on the stack: 2.4× slower).
#define TN_UNROLL _Pragma("GCC unroll 16")
#endif

static inline int tn_avx512_available(void) {
#if defined(TN_HAVE_AVX512)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#endif
