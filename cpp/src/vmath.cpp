#include <fastcalc/ops.hpp>
#include <fastcalc/vmath.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32) && !defined(__APPLE__) && !defined(FASTCALC_NO_LIBMVEC)
#define FASTCALC_LIBMVEC 1
#include <dlfcn.h>
#include <immintrin.h>
#endif

namespace fastcalc {
namespace vmath {

namespace {

// libmvec's names for each function ("" for ours: tanh, and sigmoid from exp).
const char* const kNames[NumFn] = {"",     "exp",  "log",   "sin",   "cos",  "tan", "asin",
                                   "acos", "atan", "sinh",  "cosh",  "",     "asinh", "acosh",
                                   "atanh", "cbrt", "erf",  "erfc",  "",     "pow",  "atan2"};

// The scalar path: the table's scalar values (ops.hpp), as plain functions for native code.
template <Fn F>
double s1(double x) {
    switch (F) {
        case Exp: return std::exp(x);
        case Log: return std::log(x);
        case Sin: return std::sin(x);
        case Cos: return std::cos(x);
        case Tan: return std::tan(x);
        case Asin: return std::asin(x);
        case Acos: return std::acos(x);
        case Atan: return std::atan(x);
        case Sinh: return std::sinh(x);
        case Cosh: return std::cosh(x);
        case Tanh: return ops::tanh(x);
        case Asinh: return std::asinh(x);
        case Acosh: return std::acosh(x);
        case Atanh: return std::atanh(x);
        case Cbrt: return std::cbrt(x);
        case Erf: return std::erf(x);
        case Erfc: return std::erfc(x);
        case Sigmoid: return ops::sigmoid(x);
        default: return std::nan("");
    }
}
template <Fn F>
double s2(double x, double y) {
    return F == Pow ? std::pow(x, y) : std::atan2(x, y);
}

using S1 = double (*)(double);
using S2 = double (*)(double, double);

template <int... I>
struct ScalarTable {
    S1 one[NumFn] = {s1<static_cast<Fn>(I)>...};
    S2 two[NumFn] = {s2<static_cast<Fn>(I)>...};
};
const ScalarTable<0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20> kScalar{};
static_assert(NumFn == 21, "kScalar lists every function");

#ifdef FASTCALC_LIBMVEC
using V1 = __m256d (*)(__m256d);
using V2 = __m256d (*)(__m256d, __m256d);
using W1 = __m512d (*)(__m512d);
using W2 = __m512d (*)(__m512d, __m512d);

// AVX-512 variants (8 lanes) where the CPU has them, else AVX2 (4 lanes).
struct Table {
    V1 f[NumFn] = {};
    V2 f2[NumFn] = {};
    W1 g[NumFn] = {};
    W2 g2[NumFn] = {};
    V1 exp = nullptr;  // what our sigmoid is made of
    W1 gexp = nullptr;
    bool ok = false, wide = false;
    Table();
};

const Table& table() {
    static const Table t;  // C++11: initialized once, thread-safe; read-only afterwards
    return t;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's AVX-512 headers trip it
// sigmoid: e = exp(-|x|), 1/(1+e) for x >= 0, e/(1+e) otherwise (ops::sigmoid)
__attribute__((target("avx512f"))) __m512d sigmoid8(__m512d x) {
    const __m512i sign = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ULL));
    const __m512d na = _mm512_castsi512_pd(_mm512_or_si512(sign, _mm512_castpd_si512(x)));  // -|x|
    const __m512d e = table().gexp(na);
    const __m512d one = _mm512_set1_pd(1.0), den = _mm512_add_pd(one, e);
    const __mmask8 pos = _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_GE_OQ);
    return _mm512_mask_blend_pd(pos, _mm512_div_pd(e, den), _mm512_div_pd(one, den));
}
#pragma GCC diagnostic pop

// tanh, ours on every width (no libmvec function in it): tanh_lanes.inc, with these operations.
#define FC_V4 __attribute__((target("avx2,fma"), always_inline)) inline
FC_V4 __m256d splat(__m256d, double c) { return _mm256_set1_pd(c); }
FC_V4 __m256d vmin(__m256d a, __m256d b) { return _mm256_min_pd(a, b); }  // b where either is NaN
FC_V4 __m256d vabs(__m256d x) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), x); }
FC_V4 __m256d vfma(__m256d a, __m256d b, __m256d c) { return _mm256_fmadd_pd(a, b, c); }
FC_V4 __m256d vfnma(__m256d a, __m256d b, __m256d c) { return _mm256_fnmadd_pd(a, b, c); }
FC_V4 __m256d pow2(__m256d m) {  // 2^k for k in the low bits of m (k + 1023 into the exponent)
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(_mm256_castpd_si256(m), _mm256_set1_epi64x(1023)), 52));
}
FC_V4 __m256d vlt(__m256d a, __m256d b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
FC_V4 __m256d vsel(__m256d k, __m256d no, __m256d yes) { return _mm256_blendv_pd(no, yes, k); }
FC_V4 __m256d vsign(__m256d v, __m256d x) { return _mm256_or_pd(v, _mm256_and_pd(_mm256_set1_pd(-0.0), x)); }
__attribute__((target("avx2,fma"), always_inline)) inline __m256d tanh4(__m256d x) {
#include "tanh_lanes.inc"
}
FC_V4 __m256d vtanh(__m256d x) { return tanh4(x); }
FC_V4 __m256d vload(__m256d, const double* p) { return _mm256_loadu_pd(p); }
FC_V4 void vstore(double* p, __m256d v) { _mm256_storeu_pd(p, v); }
#undef FC_V4

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12: its AVX-512 intrinsics start from an undefined vector
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define FC_V8 __attribute__((target("avx512f"), always_inline)) inline
FC_V8 __m512d splat(__m512d, double c) { return _mm512_set1_pd(c); }
FC_V8 __m512d vmin(__m512d a, __m512d b) { return _mm512_min_pd(a, b); }
FC_V8 __m512i sign8() { return _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ULL)); }
FC_V8 __m512d vabs(__m512d x) { return _mm512_castsi512_pd(_mm512_andnot_epi64(sign8(), _mm512_castpd_si512(x))); }
FC_V8 __m512d vfma(__m512d a, __m512d b, __m512d c) { return _mm512_fmadd_pd(a, b, c); }
FC_V8 __m512d vfnma(__m512d a, __m512d b, __m512d c) { return _mm512_fnmadd_pd(a, b, c); }
FC_V8 __m512d pow2(__m512d m) {
    return _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(_mm512_castpd_si512(m), _mm512_set1_epi64(1023)), 52));
}
FC_V8 __mmask8 vlt(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
FC_V8 __m512d vsel(__mmask8 k, __m512d no, __m512d yes) { return _mm512_mask_blend_pd(k, no, yes); }
FC_V8 __m512d vsign(__m512d v, __m512d x) {
    return _mm512_castsi512_pd(_mm512_or_epi64(_mm512_castpd_si512(v), _mm512_and_epi64(sign8(), _mm512_castpd_si512(x))));
}
// 8 lanes in 512-bit registers: the same bits as two 4-lane halves at nearly half their cost
FC_V8 __m512d vtanh(__m512d x) {
#include "tanh_lanes.inc"
}
FC_V8 __m512d vload(__m512d, const double* p) { return _mm512_loadu_pd(p); }
FC_V8 void vstore(double* p, __m512d v) { _mm512_storeu_pd(p, v); }
#undef FC_V8
__attribute__((target("avx512f"))) __m512d tanh8(__m512d x) { return vtanh(x); }
#pragma GCC diagnostic pop
__attribute__((target("avx2,fma"))) __m256d sigmoid4(__m256d x) {
    const __m256d na = _mm256_or_pd(_mm256_set1_pd(-0.0), x);
    const __m256d e = table().exp(na);
    const __m256d one = _mm256_set1_pd(1.0), den = _mm256_add_pd(one, e);
    const __m256d pos = _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_GE_OQ);
    return _mm256_blendv_pd(_mm256_div_pd(e, den), _mm256_div_pd(one, den), pos);
}

Table::Table() {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
    // FASTCALC_SIMD=avx2 keeps to the 4-lane variants, =off to the C library: so that the
    // tests can run every path on one machine. Read once, here.
    const char* want = std::getenv("FASTCALC_SIMD");
    if (want && std::strcmp(want, "off") == 0) return;
    void* lib = dlopen("libmvec.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    wide = __builtin_cpu_supports("avx512f") && !(want && std::strcmp(want, "avx2") == 0);
    for (int i = 1; i < NumFn; ++i) {
        if (!*kNames[i]) continue;
        const std::string args = binary(static_cast<Fn>(i)) ? "vv_" : "v_";
        if (binary(static_cast<Fn>(i))) {
            f2[i] = reinterpret_cast<V2>(dlsym(lib, ("_ZGVdN4" + args + kNames[i]).c_str()));
            if (wide) g2[i] = reinterpret_cast<W2>(dlsym(lib, ("_ZGVeN8" + args + kNames[i]).c_str()));
        } else {
            f[i] = reinterpret_cast<V1>(dlsym(lib, ("_ZGVdN4" + args + kNames[i]).c_str()));
            if (wide) g[i] = reinterpret_cast<W1>(dlsym(lib, ("_ZGVeN8" + args + kNames[i]).c_str()));
        }
    }
    exp = f[Exp];
    if (wide) gexp = g[Exp];
    f[Tanh] = tanh4;
    if (exp) f[Sigmoid] = sigmoid4;
    if (wide) g[Tanh] = tanh8;
    if (gexp) g[Sigmoid] = sigmoid8;
    ok = true;  // individual functions missing from an old libmvec stay scalar
}

// Full vectors, then the tail padded with a value inside every function's domain.
__attribute__((target("avx2,fma"))) void run1(V1 f, const double* x, double* y, std::size_t n) {
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(y + i, f(_mm256_loadu_pd(x + i)));
    if (i < n) {
        alignas(32) double t[4] = {0.5, 0.5, 0.5, 0.5};
        for (std::size_t j = i; j < n; ++j) t[j - i] = x[j];
        _mm256_store_pd(t, f(_mm256_load_pd(t)));
        for (std::size_t j = i; j < n; ++j) y[j] = t[j - i];
    }
}
// tanh and 1 - tanh^2 in one pass: tanh_slope_lanes.inc with 8 or 4 lanes
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12: its AVX-512 intrinsics start from an undefined vector
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) void tanh_slope8(const double* x, double* y, double* dy, std::size_t n) {
    using V = __m512d;
#include "tanh_slope_lanes.inc"
}
#pragma GCC diagnostic pop
__attribute__((target("avx2,fma"))) void tanh_slope4(const double* x, double* y, double* dy, std::size_t n) {
    using V = __m256d;
#include "tanh_slope_lanes.inc"
}
__attribute__((target("avx512f"))) void wide1(W1 f, const double* x, double* y, std::size_t n) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm512_storeu_pd(y + i, f(_mm512_loadu_pd(x + i)));
    if (i < n) {
        alignas(64) double t[8] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
        for (std::size_t j = i; j < n; ++j) t[j - i] = x[j];
        _mm512_store_pd(t, f(_mm512_load_pd(t)));
        for (std::size_t j = i; j < n; ++j) y[j] = t[j - i];
    }
}
__attribute__((target("avx2,fma"))) void run2(V2 f, const double* x, const double* y, double* z, std::size_t n) {
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(z + i, f(_mm256_loadu_pd(x + i), _mm256_loadu_pd(y + i)));
    if (i < n) {
        alignas(32) double a[4] = {1, 1, 1, 1}, b[4] = {1, 1, 1, 1};
        for (std::size_t j = i; j < n; ++j) a[j - i] = x[j], b[j - i] = y[j];
        _mm256_store_pd(a, f(_mm256_load_pd(a), _mm256_load_pd(b)));
        for (std::size_t j = i; j < n; ++j) z[j] = a[j - i];
    }
}
__attribute__((target("avx512f"))) void wide2(W2 f, const double* x, const double* y, double* z, std::size_t n) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm512_storeu_pd(z + i, f(_mm512_loadu_pd(x + i), _mm512_loadu_pd(y + i)));
    if (i < n) {
        alignas(64) double a[8] = {1, 1, 1, 1, 1, 1, 1, 1}, b[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        for (std::size_t j = i; j < n; ++j) a[j - i] = x[j], b[j - i] = y[j];
        _mm512_store_pd(a, f(_mm512_load_pd(a), _mm512_load_pd(b)));
        for (std::size_t j = i; j < n; ++j) z[j] = a[j - i];
    }
}
#endif

}  // namespace

const char* name(Fn fn) {
    static const char* const names[NumFn] = {"none", "exp",   "log",   "sin",   "cos",  "tan",  "asin",
                                             "acos", "atan",  "sinh",  "cosh",  "tanh", "asinh", "acosh",
                                             "atanh", "cbrt", "erf",   "erfc",  "sigmoid", "pow", "atan2"};
    return fn >= 0 && fn < NumFn ? names[fn] : "?";
}

double scalar(Fn fn, double x, double y) {
    if (fn <= None || fn >= NumFn) return std::nan("");
    return binary(fn) ? kScalar.two[fn](x, y) : kScalar.one[fn](x);
}

bool simd_available() {
#ifdef FASTCALC_LIBMVEC
    return table().ok;
#else
    return false;
#endif
}

Kernel kernel(Fn fn, bool simd) {
    Kernel k;
    if (fn <= None || fn >= NumFn) return k;
#ifdef FASTCALC_LIBMVEC
    if (simd) {
        const Table& t = table();
        const void* w = binary(fn) ? reinterpret_cast<const void*>(t.g2[fn]) : reinterpret_cast<const void*>(t.g[fn]);
        const void* v = binary(fn) ? reinterpret_cast<const void*>(t.f2[fn]) : reinterpret_cast<const void*>(t.f[fn]);
        if (t.ok && w) return Kernel{8, w};
        if (t.ok && v) return Kernel{4, v};
    }
#else
    (void)simd;
#endif
    k.fn = binary(fn) ? reinterpret_cast<const void*>(kScalar.two[fn]) : reinterpret_cast<const void*>(kScalar.one[fn]);
    return k;
}

void apply(Fn fn, const double* x, double* y, std::size_t n, bool simd) {
#ifdef FASTCALC_LIBMVEC
    if (simd) {
        const Table& t = table();
        if (t.ok && t.g[fn]) return wide1(t.g[fn], x, y, n);
        if (t.ok && t.f[fn]) return run1(t.f[fn], x, y, n);
    }
#else
    (void)simd;
#endif
    const S1 f = kScalar.one[fn];
    for (std::size_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

void tanh_slope(const double* x, double* y, double* dy, std::size_t n, bool simd) {
#ifdef FASTCALC_LIBMVEC
    if (simd && table().ok) {  // apply(Tanh)'s bits on every width
        if (table().wide) return tanh_slope8(x, y, dy, n);
        return tanh_slope4(x, y, dy, n);
    }
#else
    (void)simd;
#endif
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = ops::tanh(x[i]);
        dy[i] = 1.0 - y[i] * y[i];
    }
}

void apply(Fn fn, const double* x, const double* y, double* z, std::size_t n, bool simd) {
#ifdef FASTCALC_LIBMVEC
    if (simd) {
        const Table& t = table();
        if (t.ok && t.g2[fn]) return wide2(t.g2[fn], x, y, z, n);
        if (t.ok && t.f2[fn]) return run2(t.f2[fn], x, y, z, n);
    }
#else
    (void)simd;
#endif
    const S2 f = kScalar.two[fn];
    for (std::size_t i = 0; i < n; ++i) z[i] = f(x[i], y[i]);
}

}  // namespace vmath
}  // namespace fastcalc
