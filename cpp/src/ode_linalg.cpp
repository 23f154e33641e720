#include "ode_linalg.hpp"

#include "clones.hpp"
#include "v4.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#define FC_RESTRICT __restrict

namespace fastcalc {
namespace ode {
namespace linalg {

namespace {

constexpr std::size_t kLanes = 8;

#if defined(__GNUC__)
// A 4 x 16 tile of C += alpha sum_a w_a X[a][t0 + i] X[a][u0 + u].
FASTCALC_CLONES void outer_tile(const double* X, std::size_t rows, std::size_t ld, const double* w, std::size_t t0,
                                std::size_t tn, std::size_t u0, std::size_t un, double alpha, double* C,
                                std::size_t ldc) {
    if (un == 16) {  // two halves of 8 columns: 8 accumulators of 4 lanes fit AVX2's 16 registers
        for (std::size_t h = 0; h < 16; h += 8) {
            v4 acc[4][2];
            for (int i = 0; i < 4; ++i) acc[i][0] = acc[i][1] = v4{0.0, 0.0, 0.0, 0.0};
            for (std::size_t a = 0; a < rows; ++a) {
                const double* xa = X + a * ld;
                const double wa = w ? w[a] : 1.0;
                const v4 u0v = load4(xa + u0 + h), u1v = load4(xa + u0 + h + 4);
                for (std::size_t i = 0; i < 4; ++i) {
                    const double b = i < tn ? wa * xa[t0 + i] : 0.0;
                    const v4 bt = v4{b, b, b, b};
                    acc[i][0] += bt * u0v;
                    acc[i][1] += bt * u1v;
                }
            }
            for (std::size_t i = 0; i < tn; ++i)
                for (std::size_t u = 0; u < 8; ++u) C[(t0 + i) * ldc + u0 + h + u] += alpha * acc[i][u / 4][u % 4];
        }
        return;
    }
    double acc[4][16] = {};
    for (std::size_t a = 0; a < rows; ++a) {
        const double* xa = X + a * ld;
        const double wa = w ? w[a] : 1.0;
        for (std::size_t i = 0; i < 4; ++i) {
            const double bt = i < tn ? wa * xa[t0 + i] : 0.0;
            for (std::size_t u = 0; u < un; ++u) acc[i][u] += bt * xa[u0 + u];
        }
    }
    for (std::size_t i = 0; i < tn; ++i)
        for (std::size_t u = 0; u < un; ++u) C[(t0 + i) * ldc + u0 + u] += alpha * acc[i][u];
}
#else
void outer_tile(const double* X, std::size_t rows, std::size_t ld, const double* w, std::size_t t0, std::size_t tn,
                std::size_t u0, std::size_t un, double alpha, double* C, std::size_t ldc) {
    double acc[4][16] = {};
    for (std::size_t a = 0; a < rows; ++a) {
        const double* xa = X + a * ld;
        const double wa = w ? w[a] : 1.0;
        for (std::size_t i = 0; i < 4; ++i) {
            const double bt = i < tn ? wa * xa[t0 + i] : 0.0;
            for (std::size_t u = 0; u < un; ++u) acc[i][u] += bt * xa[u0 + u];
        }
    }
    for (std::size_t i = 0; i < tn; ++i)
        for (std::size_t u = 0; u < un; ++u) C[(t0 + i) * ldc + u0 + u] += alpha * acc[i][u];
}
#endif

// Unblocked upper Cholesky of the n x n block at A (rows of stride lda).
FASTCALC_CLONES int cholesky_block(double* __restrict A, std::size_t n, std::size_t lda) {
    for (std::size_t k = 0; k < n; ++k) {
        double* rk = A + k * lda;
        const double d = rk[k];
        if (!(d > 0) || !std::isfinite(d)) return -1;
        const double s = std::sqrt(d);
        rk[k] = s;
        for (std::size_t j = k + 1; j < n; ++j) rk[j] /= s;
        for (std::size_t i = k + 1; i < n; ++i) {
            const double u = rk[i];
            double* ri = A + i * lda;
            for (std::size_t j = i; j < n; ++j) ri[j] -= u * rk[j];
        }
    }
    return 0;
}

// A12 <- U11^{-T} A12 (kb rows of length rest), row by row.
FASTCALC_CLONES void panel_solve(const double* __restrict A11, double* __restrict A12, std::size_t kb,
                                 std::size_t rest, std::size_t lda) {
    for (std::size_t i = 0; i < kb; ++i) {
        double* ri = A12 + i * lda;
        const double d = A11[i * lda + i];
        for (std::size_t j = 0; j < rest; ++j) ri[j] /= d;
        for (std::size_t q = i + 1; q < kb; ++q) {
            const double u = A11[i * lda + q];
            double* rq = A12 + q * lda;
            for (std::size_t j = 0; j < rest; ++j) rq[j] -= u * ri[j];
        }
    }
}

// A TA x TB tile of C = X X^T over one block of residuals: rows a0.. of X against a panel of TB
// rows packed residual-major (pk[t][j] = X[b0 + j][t0 + t]), so the lanes run along C's columns
// and every entry is a plain sum in residual order: the same bits from any vector width, tile
// shape or clone. TA x TB / (vector width) accumulators stay in registers (8 ymm for 4 x 8 of
// v4, 8 zmm for 4 x 16 of v8).
template <class V, std::size_t TA, std::size_t TB>
FASTCALC_INLINE void panel_tile(const double* const* xa, const double* FC_RESTRICT pk, std::size_t len,
                                double out[TA][TB]) {
#if defined(__GNUC__)
    constexpr std::size_t VL = sizeof(V) / sizeof(double), NB = TB / VL;
    static_assert(TB % VL == 0, "a panel is whole vectors wide");
    V acc[TA][NB];
    for (std::size_t i = 0; i < TA; ++i)
        for (std::size_t q = 0; q < NB; ++q) acc[i][q] = V{};
    for (std::size_t t = 0; t < len; ++t) {
        V row[NB];
        for (std::size_t q = 0; q < NB; ++q) __builtin_memcpy(&row[q], pk + t * TB + VL * q, sizeof(V));
        for (std::size_t i = 0; i < TA; ++i) {
            const double xi = xa[i][t];
            for (std::size_t q = 0; q < NB; ++q) acc[i][q] += xi * row[q];  // xi in every lane
        }
    }
    for (std::size_t i = 0; i < TA; ++i)
        for (std::size_t j = 0; j < TB; ++j) out[i][j] = acc[i][j / VL][j % VL];
#else
    double acc[TA][TB] = {};
    for (std::size_t t = 0; t < len; ++t)
        for (std::size_t i = 0; i < TA; ++i)
            for (std::size_t j = 0; j < TB; ++j) acc[i][j] += xa[i][t] * pk[t * TB + j];
    for (std::size_t i = 0; i < TA; ++i)
        for (std::size_t j = 0; j < TB; ++j) out[i][j] = acc[i][j];
#endif
}

constexpr std::size_t kBlock = 256;  // a block's panel (16 KB of 8 rows, 32 KB of 16) stays in L1

// Adds the upper-triangle part of rows [a0, n) x panel [b0, b0 + TB) over residuals [t0, t0 + len).
template <class V, std::size_t TA, std::size_t TB>
FASTCALC_INLINE void panel_rows(const double* X, std::size_t n, std::size_t ld, std::size_t t0, std::size_t len,
                                std::size_t b0, const double* FC_RESTRICT pk, double* C, std::size_t ldc) {
    for (std::size_t a0 = 0; a0 < n && a0 < b0 + TB; a0 += TA) {
        const double* xa[TA];
        for (std::size_t i = 0; i < TA; ++i) xa[i] = X + std::min(a0 + i, n - 1) * ld + t0;
        double out[TA][TB];
        panel_tile<V, TA, TB>(xa, pk, len, out);
        for (std::size_t i = 0; i < TA && a0 + i < n; ++i)
            for (std::size_t j = 0; j < TB && b0 + j < n; ++j)
                if (b0 + j >= a0 + i) C[(a0 + i) * ldc + b0 + j] += out[i][j];
    }
}

// C = X X^T block by block of kBlock residuals (each entry: the blocks' sums added in order),
// over panels of TB rows packed residual-major.
template <std::size_t TB, class Panel>
FASTCALC_INLINE bool gram_blocks(const double* X, std::size_t n, std::size_t len, std::size_t ld, double* C,
                                 std::size_t ldc, Stop* stop, Panel panel) {
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = a; b < n; ++b) C[a * ldc + b] = 0.0;
    alignas(64) double pk[kBlock * TB];  // on the stack: no allocation per epoch
    for (std::size_t t0 = 0; t0 < len; t0 += kBlock) {
        const std::size_t tl = std::min(len, t0 + kBlock) - t0;
        for (std::size_t b0 = 0; b0 < n; b0 += TB) {
            if (stop && (*stop)()) return false;
            for (std::size_t j = 0; j < TB; ++j) {  // rows past n pack as zeros
                const double* xb = X + (b0 + j) * ld + t0;
                for (std::size_t t = 0; t < tl; ++t) pk[t * TB + j] = b0 + j < n ? xb[t] : 0.0;
            }
            panel(X, n, ld, t0, tl, b0, pk, C, ldc);
        }
    }
    return true;
}

FASTCALC_CLONES void gram_panel(const double* X, std::size_t n, std::size_t ld, std::size_t t0, std::size_t len,
                                std::size_t b0, const double* FC_RESTRICT pk, double* C, std::size_t ldc) {
    panel_rows<v4, 4, 8>(X, n, ld, t0, len, b0, pk, C, ldc);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FC_WIDE_GRAM 1
// AVX-512 on Intel's cores: panels of 16 rows in 8-lane vectors, the same sums in the same order
// (the same bits); half the instructions of the 4-lane panels (measured on a Xeon with AVX-512:
// J^T J at 193 parameters x 1,000 residuals 1.50 to 1.28 ms). Zen 4 splits 512-bit operations in
// two and keeps the 4-lane panels; FASTCALC_SIMD=avx2 keeps them too (the tests compare the two).
typedef double v8 __attribute__((vector_size(64)));
__attribute__((target("arch=x86-64-v4"))) void gram_panel_wide(const double* X, std::size_t n, std::size_t ld,
                                                                std::size_t t0, std::size_t len, std::size_t b0,
                                                                const double* FC_RESTRICT pk, double* C,
                                                                std::size_t ldc) {
    panel_rows<v8, 4, 16>(X, n, ld, t0, len, b0, pk, C, ldc);
}

bool wide_gram() {
    static const bool yes = [] {
        __builtin_cpu_init();
        const char* want = std::getenv("FASTCALC_SIMD");
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_is("intel") &&
               !(want && (std::strcmp(want, "avx2") == 0 || std::strcmp(want, "off") == 0));
    }();
    return yes;
}
#endif

}  // namespace

bool gram_rows(const double* X, std::size_t n, std::size_t len, std::size_t ld, double* C, std::size_t ldc,
               Stop* stop) {
#if FC_WIDE_GRAM
    if (wide_gram()) return gram_blocks<16>(X, n, len, ld, C, ldc, stop, gram_panel_wide);
#endif
    return gram_blocks<8>(X, n, len, ld, C, ldc, stop, gram_panel);
}

bool gram_cols(const double* X, std::size_t rows, std::size_t ld, const double* w, std::size_t n, double alpha,
               double* C, std::size_t ldc, Stop* stop) {
    for (std::size_t t0 = 0; t0 < n; t0 += 4) {
        if (stop && (*stop)()) return false;
        const std::size_t tn = std::min<std::size_t>(4, n - t0);
        for (std::size_t u0 = t0; u0 < n; u0 += 16)
            outer_tile(X, rows, ld, w, t0, tn, u0, std::min<std::size_t>(16, n - u0), alpha, C, ldc);
    }
    return true;
}

FASTCALC_CLONES double dot(const double* x, const double* y, std::size_t n) {
    double lanes[kLanes] = {};
    std::size_t t = 0;
    for (; t + kLanes <= n; t += kLanes)
        for (std::size_t l = 0; l < kLanes; ++l) lanes[l] += x[t + l] * y[t + l];
    for (std::size_t l = 0; t + l < n; ++l) lanes[l] += x[t + l] * y[t + l];
    double s = 0;
    for (std::size_t l = 0; l < kLanes; ++l) s += lanes[l];
    return s;
}

int cholesky(double* A, std::size_t n, std::size_t lda, Stop* stop) {
    const std::size_t nb = 64;
    for (std::size_t k0 = 0; k0 < n; k0 += nb) {
        if (stop && (*stop)()) return 1;
        const std::size_t kb = std::min(nb, n - k0), rest = n - k0 - kb;
        double* A11 = A + k0 * lda + k0;
        if (cholesky_block(A11, kb, lda) != 0) return -1;
        if (!rest) break;
        double* A12 = A11 + kb;
        panel_solve(A11, A12, kb, rest, lda);
        // A22 -= U12^T U12 (upper)
        if (!gram_cols(A12, kb, lda, nullptr, rest, -1.0, A12 + kb * lda, lda, stop)) return 1;
    }
    return 0;
}

void cholesky_solve(const double* U, std::size_t n, std::size_t ldu, double* b) {
    for (std::size_t i = 0; i < n; ++i) {  // U^T y = b
        const double* ri = U + i * ldu;
        b[i] /= ri[i];
        const double yi = b[i];
        for (std::size_t j = i + 1; j < n; ++j) b[j] -= ri[j] * yi;
    }
    for (std::size_t i = n; i-- > 0;) {  // U x = y
        const double* ri = U + i * ldu;
        double s = b[i];
        for (std::size_t j = i + 1; j < n; ++j) s -= ri[j] * b[j];
        b[i] = s / ri[i];
    }
}

}  // namespace linalg
}  // namespace ode
}  // namespace fastcalc
