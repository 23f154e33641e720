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
// np.maximum: NaN if either is NaN.
inline double nanmax(double a, double b) { return (a != a || b != b) ? a + b : (a < b ? b : a); }

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

// The round-off of a difference quotient sum_j w_j f_j / h**n: 4 eps times its scale
// sum_j |w_j f_j| / h**n, for f computed to a few ulps. For a first derivative also
// |x| |D| sum_j |w_j| / (4 h): f computed from x through rounded operations (w * x, exp(x) fed to
// sin, the terms of a polynomial near its root) has errors like eps |x f'(x)|, not eps |f|
// (sin(160 x) at x = 0.3: errors 30x the estimate without it).
constexpr double kConditioning = 0.25;

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
// An estimate that has not settled after `levels` finite levels (a function that varies faster
// than the steps, as sin(3000 x) does at 1/16 .. 1/8192, or probes that left f's domain) goes on
// to finer steps, up to kExtraLevels more: a point gives up only at max_levels, as not converged.
constexpr int kExtraLevels = 22;
struct Schedule {
    double t0 = 1.0 / 16;
    int levels = 10;
    int max_levels = 10 + kExtraLevels;
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
// derivative anyway (saves the levels that would only confirm it); either way only if the newest
// diagonal does not contradict the best estimate. (atan at x = 0.32535: the first three rows
// agreed to 8e-13 on an error of 6e-11, where the h**4 term nearly vanishes; the fourth row's
// diagonal is 6e-11 away. sin(1e7 x): an entry of the erratic coarse rows had the least error
// when the steps came to resolve f, and round-off moved the newest diagonal, far from it.)
// (No short circuits: the engines' loops over points vectorize.)
inline bool finished(const Schedule& sched, std::size_t rows, double best, double best_err, double diagonal,
                     double diagonal_move, double round, double round_now) {
    const double noise = kRoundMove * round_now, ab = std::fabs(best);
    const bool grown = (rows >= sched.min_rows) & (best_err <= std::max(kTrusted * ab, kNoise * round)) &
                       (diagonal_move >= kSafe * best_err) & (diagonal_move <= noise);
    const bool good = ((rows >= kMinRows) | (best_err == 0)) & (best_err <= sched.good_enough * ab);
    const bool agrees = std::fabs(diagonal - best) <= std::max(kSafe * best_err, noise);
    return (grown | good) & agrees;
}

// Whether an estimate that has used its levels (or reached max_levels) is final: trusted as the
// growth test trusts it, and the newest diagonal agrees. One that is not goes on to finer steps,
// or, at max_levels, reports that it did not converge.
inline bool settled(std::size_t newlen, double best, double best_err, double diagonal, double round,
                    double round_now) {
    const double noise = kRoundMove * round_now;
    return newlen > 1 && best_err <= std::max(kTrusted * std::fabs(best), kNoise * round) &&
           std::fabs(diagonal - best) <= std::max(kSafe * best_err, noise);
}

// The first derivative's fast path (central stencil, order 2, no initial step): an 8-point
// stencil at kFastStep * scale, with the 6-, 4- and 2-point central stencils on the same values
// for its error (fast_error). Kept when that error and the round-off are within the tolerance of
// the value, and the differences shrink as the order grows (or are round-off): an f that varies
// on a finer scale than the step fails one or the other, and a point where f' is small against
// f / h (round-off-bound) goes to the tableau, whose coarser steps do better there. The outer
// nodes are +-kFastOuter = +-(2 + sqrt 5), off the lattice of the others: a frequency that
// aliases on the lattice (w h a multiple of 2 pi: sin(1607 x) at h = 2**-8 looks smooth on
// +-1..+-4) does not on those nodes, and D8 then disagrees with D6. Of 30,001 frequencies of
// sin(w x) between 1e2 and 1e8, 120 passed with nodes +-4, none with these.
constexpr double kFastStep = 0x1p-7;
constexpr double kFastShrink = 0.25;
// and round-off must be within half the tolerance: where it is not, the tableau's coarser
// steps do better (log at 17: 7.5e-13 from the fast path's step, 3e-15 from the tableau's)
constexpr double kFastRound = 2.0;
constexpr double kFastOuter = 0x1.0f1bbcdcbfa54p+2;  // 2 + sqrt(5)

// The one-variable engine verifies an estimate the tableau trusts with its stencil at kVerify
// times the last step (off the lattice of the steps): derivative_1d.cpp, verify().
constexpr double kVerify = 0x1.3c6ef372fe95p-1;  // 1/golden ratio
// Its error: D8's truncation error is about e6**2 / e4 (e6 = |D8 - D6|, e4 = |D6 - D4|: the
// differences shrink geometrically), taken 8 times; near the points where D6 and D8 cross, e6 and
// this vanish where D8's error does not (x sin(1/x) at 0.3166525), and 2 e4**3 / e2**2 (e2 =
// |D4 - D2|) does not (about 1.5 times D8's error for f like exp(i w x)); and round-off. A ratio
// with a zero denominator is infinite (not accepted), 0 / 0 (the stencils agree exactly, as on a
// cubic) is 0. (x**2*exp(sin x) on [0.1, 3]: 94.5% of the points kept, 7e-14 at most, 8.7
// evaluations per point on average instead of 10.)
inline double fast_error(double d8, double d6, double d4, double d2, double rnd) {
    const double e6 = std::fabs(d8 - d6), e4 = std::fabs(d6 - d4), e2 = std::fabs(d4 - d2);
    const double geometric = e6 == 0 ? 0.0 : 8 * e6 * e6 / e4;
    const double model = e4 == 0 ? 0.0 : 2 * (e4 * e4 * e4) / (e2 * e2);
    return nanmax(nanmax(geometric, model), rnd);
}

inline bool fast_accept(double d8, double d6, double d4, double err, double rnd, double good_enough) {
    const double e6 = std::fabs(d8 - d6), e4 = std::fabs(d6 - d4), noise = kNoise * rnd;
    const bool small = std::max(err, kFastRound * rnd) <= good_enough * std::fabs(d8);
    const bool converging = (e6 <= kFastShrink * e4) | (std::max(e4, e6) <= noise);
    return small & converging & std::isfinite(d8);
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

inline double pow2_ceil(double v) {
    int e;
    const double m = std::frexp(v, &e);
    return m == 0.5 ? v : std::ldexp(1.0, e);
}

// Steps grow with |x| logarithmically (as numdifftools' do): a function need not vary more slowly
// far from 0 (sin, exp); and at least like |x| * kRelStep, so that x + h keeps enough of h's bits
// (x**2 at 1e20: steps of 64 vanish in x + h). The relative term wins beyond |x| = 16,384.
// Rounded up to a power of two so that steps stay powers of two and x + h is exact for |x| >= h.
constexpr double kRelStep = 0x1p-10;
inline double step_scale(double x) {
    const double ax = std::fabs(x);
    // Skip the log where its result is clear by a wide margin (log1p(1.72) = 1.0006,
    // log1p(6.38) = 1.9988, log1p(6.4) = 2.0015, log1p(53.5) = 3.998): the same powers of two.
    if (ax <= 1.7) return 1.0;
    if (ax >= 1.72 && ax <= 6.38) return 2.0;
    if (ax >= 6.4 && ax <= 53.5) return 4.0;
    const double v = std::max(1.0, std::log1p(ax));
    if (!std::isfinite(v)) return 1.0;
    const double s = pow2_ceil(v);
    return ax > 1024 ? std::max(s, pow2_ceil(ax * kRelStep)) : s;
}

}  // namespace ridders
}  // namespace fastcalc
