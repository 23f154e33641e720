// Private: ISA-specific clones of the hot loops. A portable build (wheels) still gets AVX-512 or
// AVX2 lanes where the CPU has them: GCC compiles each FASTCALC_CLONES function once per target
// and picks one at load time (ifunc). -ffp-contract=off keeps every clone's bits the same.
// A cloned function must never let an exception through (a user's callback, Ctrl-C): GCC 12's
// clones abort the unwinding (std::terminate). Clone the leaf loops, not the drivers.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FASTCALC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FASTCALC_CLONES
#endif
#if defined(__GNUC__)
#define FASTCALC_INLINE inline __attribute__((always_inline))
#else
#define FASTCALC_INLINE inline
#endif
