// Internal: the CBLAS interface of Debian's BLIS (libblis-pthread-dev), plus
// `bli_thread_set_num_threads`. This module provides no stable Swift API.
//
// BLIS, not OpenBLAS: measured on the seed model's GEMM shapes on these
// machines (single-thread conv GEMMs 105-110 vs 88 GFLOP/s; dense dW
// 332928x512x32 98 vs 61; dense dX with a transposed kernel 121 vs 47).
// `_DEFAULT_SOURCE` keeps glibc's `struct tm` identical to SwiftGlibc's.
#define _DEFAULT_SOURCE 1
#include <blis.h>

// Whether this BLIS build carries a sub-configuration (its kernels): TallyNet asks before
// naming one in BLIS_ARCH_TYPE, since BLIS rejects an id it was not built with.
static inline int tally_blis_has_config(arch_t id) {
    switch (id) {
#ifdef BLIS_CONFIG_SKX
    case BLIS_ARCH_SKX: return 1;
#endif
#ifdef BLIS_CONFIG_HASWELL
    case BLIS_ARCH_HASWELL: return 1;
#endif
#ifdef BLIS_CONFIG_ZEN3
    case BLIS_ARCH_ZEN3: return 1;
#endif
#ifdef BLIS_CONFIG_ZEN2
    case BLIS_ARCH_ZEN2: return 1;
#endif
#ifdef BLIS_CONFIG_SANDYBRIDGE
    case BLIS_ARCH_SANDYBRIDGE: return 1;
#endif
#ifdef BLIS_CONFIG_GENERIC
    case BLIS_ARCH_GENERIC: return 1;
#endif
    default: return 0;
    }
}
