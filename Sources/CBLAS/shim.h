// Internal: the CBLAS interface of Debian's BLIS (libblis-pthread-dev), plus
// `bli_thread_set_num_threads`. This module provides no stable Swift API.
//
// BLIS, not OpenBLAS: measured on the seed model's GEMM shapes on these
// machines (single-thread conv GEMMs 105-110 vs 88 GFLOP/s; dense dW
// 332928x512x32 98 vs 61; dense dX with a transposed kernel 121 vs 47).
// `_DEFAULT_SOURCE` keeps glibc's `struct tm` identical to SwiftGlibc's.
#define _DEFAULT_SOURCE 1
#include <blis.h>
