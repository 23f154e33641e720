// Finite differences over batches: derivatives, gradients, Jacobians and Hessians of a
// BatchFunction, with a fixed step (the textbook formula) or an automatic step sequence and
// Richardson extrapolation (Ridders' scheme) that stops before round-off takes over.
#pragma once

#include <fastcalc/function.hpp>
#include <fastcalc/stencil.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fastcalc {

struct FDOptions {
    Method method = Method::Central;
    int accuracy = 2;
    double h = 0.0;      // > 0: that fixed step; 0: automatic
    int max_levels = 0;  // automatic mode: step levels at most (0: the default for the stencil)
    // Automatic mode: > 0, the first step for |x| <= 1, rounded down to a power of two (steps
    // and x + h stay exact in binary); 0: the stencil's default. A larger first step gets as many
    // more levels as halvings separate it from the default (the finest step is the same), and as
    // many more tableau rows before it may stop on round-off (ridders::Schedule).
    double first_step = 0.0;
    // Automatic mode: > 0, stop once the error estimate is within rtol of the value (after four
    // steps, the newest extrapolation agreeing; or at once from the first derivative's 8-point
    // stencil, see ridders::fast_accept); 0: 2**-38, about as good as doubles allow.
    double rtol = 0.0;
    // Only FDResult::value is wanted: the engines for f: R -> R then leave error, step, nfev and
    // status empty (100,000 points: 2 MB of fresh pages fewer, 0.3 ms).
    bool values_only = false;
    // Memory cap for one call of f: points * in_dim doubles (larger requests are split). 2 MB:
    // one call per level for gradients up to n ~ 360 (2n points of n doubles); beyond, a NumPy
    // f's temporaries on fresh pages cost more than the calls (Rosenbrock gradient n = 1000:
    // 58 ms in one 16 MB call per level, 19 ms in calls of 2 MB; 1 MB and 4 MB: 20 ms).
    std::size_t max_batch_doubles = std::size_t(1) << 18;
};

// Status bits per estimate. FD_OK (0) is a promise: the value is right to within its error
// estimate (with a fixed step: the formula's value is finite; there is no estimate). Otherwise
// the bits say why the estimate cannot be trusted.
enum FDStatus : std::uint8_t {
    FD_OK = 0,
    FD_NONFINITE = 1,       // f was NaN/inf at probed points (and no estimate settled)
    FD_NO_ESTIMATE = 2,     // too few finite levels to extrapolate: value is NaN or unextrapolated
    FD_NOT_CONVERGED = 4,   // the estimate never settled, down to the finest step tried
};

// Per estimate (probe x output) results, row-major (probe, output).
struct FDResult {
    std::vector<double> value, error;
    std::vector<double> step;           // per probe: the step h of the chosen estimate
    std::vector<std::uint32_t> nfev;    // per probe: evaluations of f spent on it
    std::vector<std::uint8_t> status;   // per estimate
};

// n-th derivative of a function of one variable at each of `count` points.
FDResult derivative(const BatchFunction& f, const double* x, std::size_t count, int n, const FDOptions& opt,
                    const Interrupt& interrupt = Interrupt());

// First derivatives of f: R^d -> R^m at `count` points (rows of X, (count, d)). Result value is
// (count, d, m): gradient when m == 1, transposed Jacobian otherwise.
FDResult first_partials(const BatchFunction& f, const double* X, std::size_t count, const FDOptions& opt,
                        const Interrupt& interrupt = Interrupt());

// Hessian of f: R^d -> R at `count` points: value is (count, d, d), symmetric.
FDResult hessian(const BatchFunction& f, const double* X, std::size_t count, const FDOptions& opt,
                 const Interrupt& interrupt = Interrupt());

// The step an automatic run starts from for an n-th derivative with this stencil, for |x| <= 1.
double initial_step(const FDOptions& opt, int n);

// The step levels an automatic run may try for an n-th derivative.
int step_levels(const FDOptions& opt, int n);

}  // namespace fastcalc
