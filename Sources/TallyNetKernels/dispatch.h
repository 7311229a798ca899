// TK_DISPATCH: build a function for AVX-512, AVX2+FMA and baseline x86-64 and let the dynamic
// loader pick one (glibc ifunc). Not under ThreadSanitizer: an ifunc resolver runs while the
// loader relocates, before TSan's runtime is up, and its instrumented code crashes there (seen:
// the test binary died with SIGSEGV before any test) — that build uses the baseline version.
#ifndef TALLYNET_DISPATCH_H
#define TALLYNET_DISPATCH_H

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TK_NO_CLONES 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TK_NO_CLONES 1
#endif

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__)) && !defined(TK_NO_CLONES)
#define TK_DISPATCH __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TK_DISPATCH
#endif

#endif
