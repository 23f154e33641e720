// Private: the rules of the automatic step sequence shared by the finite-difference engines
// (findiff.cpp for any stencil and shape, derivative_1d.cpp for f: R -> R).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace fastcalc {
namespace ridders {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSafe = 2.0;  // stop once the extrapolation error grows by this factor
constexpr int kMaxLevels = 32;
// ~3.6e-12 relative. The estimate bounds the error generously: stopping here rather than at
// 2**-42 saves levels and the round-off they add (measured: fewer evaluations, smaller errors).
constexpr double kGoodEnough = 0x1p-38;
// Early tableau rows extrapolate from too few steps for their error estimate to be trusted
// (seen where f' crosses zero): neither test stops before this row, unless the rows agree to
// the last bit (a quadratic, or a mixed partial that is exactly zero: half of a Hessian's
// entries are often such zeros).
constexpr std::size_t kMinRows = 4;
// Nor while the estimate is still poor: steps too coarse for a fast-varying f make the tableau
// erratic before it converges, and its diagonal moves by more than the error at one level
// without round-off being the cause. Then the remaining (finer) levels are tried. (At 2**-20
// the worst of 100,000 points of x**2*exp(sin x) stopped at a 1e-11 error, 1/(1+x**2) at 3e-10.)
constexpr double kTrusted = 0x1p-36;

// 1/(2**e - 1), e >= 1: the Richardson factor that removes the h**e term when h halves.
inline std::vector<double> inverse_factors() {
    std::vector<double> v(8 * kMaxLevels + 16, 0.0);
    for (std::size_t e = 1; e < v.size(); ++e) v[e] = 1.0 / (std::ldexp(1.0, static_cast<int>(e)) - 1.0);
    return v;
}

// The growth test also applies once the estimate is within this factor of its own round-off:
// finer steps cannot improve it then. (A gradient entry small against f, as Rosenbrock's at
// n = 1000, never gets within kTrusted and would run on to the finest steps: 2e-11, not 1e-12.)
constexpr double kNoise = 16.0;

// The automatic step sequence: t0 * scale(x) / 2**level for level < levels. A first step
// coarser than the default adds as many levels, and as many rows before the growth test
// applies: a tableau that starts coarse is erratic for longer (x**2*exp(sin x) from 0.5:
// estimates of 3e-11 for errors of 3e-9 without them).
// The good-enough test's tolerance is kGoodEnough unless the caller asks for another (rtol).
struct Schedule {
    double t0 = 1.0 / 16;
    int levels = 10;
    std::size_t min_rows = kMinRows;
    double good_enough = kGoodEnough;
};

// Round-off moves the tableau's diagonal by a few times its size at the newest step; a larger
// move is truncation error, and the growth test does not stop on it. (1/(1+x**2) at
// x = 1.735: two coarse rows agreed by chance to 2.7e-12 on an error of 2e-10; the diagonal then
// moved by 2e-10, 15,000x its round-off, and Ridders' test stopped there.)
constexpr double kRoundMove = 16.0;

// Whether an estimate is final after `rows` tableau rows (`round`: the best estimate's round-off,
// `round_now`: that of the newest difference quotient, `diagonal`: the newest row's last entry):
// round-off has started to win (Ridders: the newest diagonal moved by more than the error, and
// by no more than round-off can), or the estimate is as good as double precision allows for a
// derivative anyway (saves the levels that would only confirm it) and the newest diagonal does
// not contradict it. (atan at x = 0.32535: the first three rows agreed to 8e-13 on an error of
// 6e-11, where the h**4 term nearly vanishes; the fourth row's diagonal is 6e-11 away.)
// (No short circuits: the engines' loops over points vectorize.)
inline bool finished(const Schedule& sched, std::size_t rows, double best, double best_err, double diagonal,
                     double diagonal_move, double round, double round_now) {
    const double noise = kRoundMove * round_now, ab = std::fabs(best);
    const bool grown = (rows >= sched.min_rows) & (best_err <= std::max(kTrusted * ab, kNoise * round)) &
                       (diagonal_move >= kSafe * best_err) & (diagonal_move <= noise);
    const bool good = ((rows >= kMinRows) | (best_err == 0)) & (best_err <= sched.good_enough * ab) &
                      (std::fabs(diagonal - best) <= std::max(kSafe * best_err, noise));
    return grown | good;
}

// One new row of a Ridders tableau kept in place: T[c * stride] is entry c of the last row (len
// entries), D the new difference quotient, inv(c) the Richardson factor of column c. best and
// best_err follow the entry of least error. Every engine calls this, so all give the same bits.
struct TableauRow {
    double up;        // the new row's last entry
    double last_old;  // the old row's last entry: up - last_old is how far the diagonal moved
    bool improved;    // best changed
};

template <class Inv>
inline TableauRow tableau_row(double* T, std::size_t stride, std::size_t len, std::size_t newlen, double D, Inv inv,
                              double& best, double& best_err) {
    // The new row overwrites the old one in place; `old` carries the entry it replaced.
    TableauRow r{D, len ? T[(len - 1) * stride] : 0.0, false};
    double old = T[0];
    T[0] = D;
    if (len == 0 && std::isinf(best_err)) {  // unextrapolated fallback
        best = D;
        r.improved = true;
    }
    for (std::size_t c = 1; c < newlen; ++c) {
        const double val = r.up + (r.up - old) * inv(c);
        const double err = std::max(std::fabs(val - r.up), std::fabs(val - old));
        if (err <= best_err) {
            best_err = err;
            best = val;
            r.improved = true;
        }
        old = T[c * stride];
        T[c * stride] = r.up = val;
    }
    return r;
}

// Steps grow with |x| only logarithmically (as numdifftools does): a function need not vary
// more slowly far from 0 (sin, exp). Rounded up to a power of two so that steps stay powers of
// two and x + h is exact for |x| >= h.
inline double step_scale(double x) {
    const double ax = std::fabs(x);
    // Skip the log where its result is clear by a wide margin (log1p(1.72) = 1.0006,
    // log1p(6.38) = 1.9988, log1p(6.4) = 2.0015, log1p(53.5) = 3.998): the same powers of two.
    if (ax <= 1.7) return 1.0;
    if (ax >= 1.72 && ax <= 6.38) return 2.0;
    if (ax >= 6.4 && ax <= 53.5) return 4.0;
    const double v = std::max(1.0, std::log1p(ax));
    if (!std::isfinite(v)) return 1.0;
    int e;
    const double m = std::frexp(v, &e);
    return m == 0.5 ? v : std::ldexp(1.0, e);
}

}  // namespace ridders
}  // namespace fastcalc
