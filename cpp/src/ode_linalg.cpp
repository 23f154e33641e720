#include "ode_linalg.hpp"

#include "clones.hpp"

#include <algorithm>
#include <cmath>

namespace fastcalc {
namespace ode {
namespace linalg {

namespace {

constexpr std::size_t kLanes = 8;

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"  // the helpers below are always inlined: no ABI crosses
// 8 doubles as one value: one AVX-512 register, two AVX2 or four SSE2 ones in the other clones.
typedef double v8 __attribute__((vector_size(64)));
FASTCALC_INLINE v8 load8(const double* p) {
    v8 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
FASTCALC_INLINE v8 splat8(double x) { return v8{x, x, x, x, x, x, x, x}; }
FASTCALC_INLINE double sum8(v8 v) {
    double s = 0;
    for (int l = 0; l < 8; ++l) s += v[l];
    return s;
}

// One 4 x 4 tile of C = X X^T over t in [t0, t1): 8 partial sums per entry.
FASTCALC_CLONES void gram_tile(const double* const* xa, const double* const* xb, std::size_t t0, std::size_t t1,
                               double out[4][4]) {
    v8 acc[4][4];
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) acc[i][j] = splat8(0.0);
    const double *a0 = xa[0], *a1 = xa[1], *a2 = xa[2], *a3 = xa[3];
    const double *b0 = xb[0], *b1 = xb[1], *b2 = xb[2], *b3 = xb[3];
    for (std::size_t t = t0; t < t1; t += kLanes) {
        const v8 va[4] = {load8(a0 + t), load8(a1 + t), load8(a2 + t), load8(a3 + t)};
        const v8 vb[4] = {load8(b0 + t), load8(b1 + t), load8(b2 + t), load8(b3 + t)};
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) acc[i][j] += va[i] * vb[j];
    }
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) out[i][j] = sum8(acc[i][j]);
}

// A 4 x 16 tile of C += alpha sum_a w_a X[a][t0 + i] X[a][u0 + u].
FASTCALC_CLONES void outer_tile(const double* X, std::size_t rows, std::size_t ld, const double* w, std::size_t t0,
                                std::size_t tn, std::size_t u0, std::size_t un, double alpha, double* C,
                                std::size_t ldc) {
    if (un == 16) {
        v8 acc[4][2];
        for (int i = 0; i < 4; ++i) acc[i][0] = acc[i][1] = splat8(0.0);
        for (std::size_t a = 0; a < rows; ++a) {
            const double* xa = X + a * ld;
            const double wa = w ? w[a] : 1.0;
            const v8 u0v = load8(xa + u0), u1v = load8(xa + u0 + 8);
            for (std::size_t i = 0; i < 4; ++i) {
                const v8 bt = splat8(i < tn ? wa * xa[t0 + i] : 0.0);
                acc[i][0] += bt * u0v;
                acc[i][1] += bt * u1v;
            }
        }
        for (std::size_t i = 0; i < tn; ++i)
            for (std::size_t u = 0; u < 16; ++u) C[(t0 + i) * ldc + u0 + u] += alpha * acc[i][u / 8][u % 8];
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
FASTCALC_CLONES void gram_tile(const double* const* xa, const double* const* xb, std::size_t t0, std::size_t t1,
                               double out[4][4]) {
    double acc[4][4][kLanes] = {};
    for (std::size_t t = t0; t < t1; t += kLanes)
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j)
                for (std::size_t l = 0; l < kLanes; ++l) acc[i][j][l] += xa[i][t + l] * xb[j][t + l];
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
            double s = 0;
            for (std::size_t l = 0; l < kLanes; ++l) s += acc[i][j][l];
            out[i][j] = s;
        }
}

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

}  // namespace

bool gram_rows(const double* X, std::size_t n, std::size_t len, std::size_t ld, double* C, std::size_t ldc,
               Stop* stop) {
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = a; b < n; ++b) C[a * ldc + b] = 0.0;
    const std::size_t block = 1024;  // residuals per pass: 8 rows of a block stay in L1
    for (std::size_t t0 = 0; t0 < len; t0 += block) {
        const std::size_t t1 = std::min(len, t0 + block);
        for (std::size_t a0 = 0; a0 < n; a0 += 4) {
            if (stop && (*stop)()) return false;
            const double* xa[4];
            for (std::size_t i = 0; i < 4; ++i) xa[i] = X + std::min(a0 + i, n - 1) * ld;
            for (std::size_t b0 = a0; b0 < n; b0 += 4) {
                const double* xb[4];
                for (std::size_t j = 0; j < 4; ++j) xb[j] = X + std::min(b0 + j, n - 1) * ld;
                double out[4][4];
                gram_tile(xa, xb, t0, t1, out);
                for (std::size_t i = 0; i < 4 && a0 + i < n; ++i)
                    for (std::size_t j = 0; j < 4 && b0 + j < n; ++j)
                        if (b0 + j >= a0 + i) C[(a0 + i) * ldc + b0 + j] += out[i][j];
            }
        }
    }
    return true;
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
