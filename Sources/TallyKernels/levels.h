// The instruction-set levels of the core's C kernels, in one place: their target attributes
// (TK_AVX2, TK_AVX512, and TK_X86 where they exist), and, when TK_BODY names a body file,
// that body compiled once per level with TK_FN(name) naming the copy (name_baseline,
// name_avx2, name_avx512) and TK_ATTR its attribute. TK_BODY_NO_AVX512 leaves out the
// AVX-512 copy (a file whose AVX-512 kernels are written with intrinsics instead).
// Included by kernels.c and store.c; the level is chosen per call by `tk_level()`.
#ifndef TK_LEVELS_DEFINED
#define TK_LEVELS_DEFINED
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define TK_X86 1
#define TK_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))
#define TK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,bmi,bmi2,popcnt")))
#endif
#endif

#ifdef TK_BODY
#define TK_FN(name) name##_baseline
#define TK_ATTR
#include TK_BODY
#undef TK_FN
#undef TK_ATTR
#ifdef TK_X86
#define TK_FN(name) name##_avx2
#define TK_ATTR TK_AVX2
#include TK_BODY
#undef TK_FN
#undef TK_ATTR
#ifndef TK_BODY_NO_AVX512
#define TK_FN(name) name##_avx512
#define TK_ATTR TK_AVX512
#include TK_BODY
#undef TK_FN
#undef TK_ATTR
#endif
#endif
#undef TK_BODY
#endif
