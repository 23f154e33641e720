// Elementwise math over arrays, vectorized where the machine allows: glibc's libmvec (AVX2
// variants, up to 4 ULP) found at run time with dlopen, so one build runs anywhere and falls
// back to the scalar C library elsewhere. The dispatch table is filled once, then read-only.
#pragma once

#include <cstddef>

namespace fastcalc {
namespace vmath {

enum Fn { Exp, Log, Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Tanh, NumFn };

// y[i] = fn(x[i]); x and y may be the same array.
void apply(Fn fn, const double* x, double* y, std::size_t n, bool simd = true);
// z[i] = pow(x[i], y[i])
void pow(const double* x, const double* y, double* z, std::size_t n, bool simd = true);
// Whether the vectorized path is available on this machine.
bool simd_available();

}  // namespace vmath
}  // namespace fastcalc
