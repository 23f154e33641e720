// Elementwise math over arrays, vectorized where the machine allows: glibc's libmvec (AVX-512 or
// AVX2 variants, up to 4 ULP) found at run time with dlopen, so one build runs anywhere and falls
// back to the scalar C library elsewhere. The dispatch table is filled once, then read-only.
//
// Native code generated at run time (fastcalc/_jit.py) calls the same per-lane functions
// (kernel()), so that it gives the interpreters' bits.
#pragma once

#include <cstddef>

namespace fastcalc {
namespace vmath {

// The vectorized functions of the table of operations (ops.def's vm column). Pow and Atan2 take
// two arguments.
enum Fn {
    None = 0, Exp, Log, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Tanh, Asinh, Acosh, Atanh, Cbrt, Erf,
    Erfc, Sigmoid, Pow, Atan2, NumFn
};

inline bool binary(Fn fn) { return fn == Pow || fn == Atan2; }
const char* name(Fn fn);

// y[i] = fn(x[i]); x and y may be the same array.
void apply(Fn fn, const double* x, double* y, std::size_t n, bool simd = true);
// z[i] = fn(x[i], y[i]) for the binary functions.
void apply(Fn fn, const double* x, const double* y, double* z, std::size_t n, bool simd = true);
// y[i] = tanh(x[i]) (apply(Tanh)'s values) and dy[i] = 1 - y[i]^2, in one pass: an activation
// and its derivative.
void tanh_slope(const double* x, double* y, double* dy, std::size_t n, bool simd = true);
// z[i] = pow(x[i], y[i])
inline void pow(const double* x, const double* y, double* z, std::size_t n, bool simd = true) {
    apply(Pow, x, y, z, n, simd);
}
// One value through the scalar path (what simd = false computes).
double scalar(Fn fn, double x, double y = 0.0);
// Whether the vectorized path is available on this machine.
bool simd_available();

// The function apply() calls for `width` values at a time: width 8 takes and returns __m512d,
// 4 __m256d (x86-64 vector ABI, like libmvec's _ZGVeN8v_sin), 1 a double; binary functions
// take two such arguments. Tails of arrays are padded to a full width.
struct Kernel {
    int width = 1;
    const void* fn = nullptr;
};
Kernel kernel(Fn fn, bool simd = true);

}  // namespace vmath
}  // namespace fastcalc
