// Gradient descent and ascent for k independent runs advanced together: each run has its own
// learning rate, optimizer state and stop (steps, gradient-norm tolerance, divergence), and is
// frozen once stopped. Two drivers share the step and stop rule (optimizer.hpp): a generic one
// (one gradient call per step for all active runs, e.g. a Python callable, and line search) and
// a fast one for a compiled Program (blocks of runs with their slots in cache, SIMD across runs,
// the gradient from the interpreter or from a native kernel).
#pragma once

#include <fastcalc/function.hpp>
#include <fastcalc/optimizer.hpp>
#include <fastcalc/program.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fastcalc {

// Native code for a Program's results over n points (fastcalc/_jit.py generates it): X[v] the
// contiguous values of input v, R[r] of result r; n a multiple of 8. Returns the OR of the bits
// of the last result (the stop codes): nonzero when a run stopped.
using BlockKernel = std::uint64_t (*)(std::int64_t n, const double* const* X, double* const* R);
// Its fused step loop (_jit.py's fc_steps): up to S steps over n lanes (a multiple of the
// kernel's lanes), step t from the state rows of its parity (A even, B odd) to the others, Adam's
// bias corrections of step t at c1s[t], c2s[t]. Returns s, the steps taken: at step s a run's
// stop code is not 0 (that step is not taken; x_s is in A if s is even, else in B), or s = S.
using StepsKernel = std::int64_t (*)(std::int64_t n, double* const* A, double* const* B, const double* lr,
                                     const double* lim, std::int64_t S, const double* c1s, const double* c2s);

struct DescentOptions {
    DescentMethod method = DescentMethod::GD;
    bool maximize = false;
    std::size_t steps = 100;  // at most
    double tol = 0.0;         // > 0: stop (converged) when the gradient norm falls below it
    double momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    bool line_search = false;  // Armijo backtracking (gd only) from lr, halving
    double armijo_c = 1e-4;
    int max_backtracks = 60;
    bool history = true;
    std::size_t history_every = 1;
    // Diverged when an iterate leaves max(1, |x0|_inf) * blowup (or stops being finite).
    double blowup = 1e8;
    int threads = 1;  // fast driver: OpenMP threads across blocks of runs (0: the default)
    // Fast driver without line search: the step program (Program::descent_step(step(), tol^2 or
    // -1)) as native code.
    BlockKernel kernel = nullptr;
    // Without history: its fused step loop, steps_lanes lanes at a time (8, 16, 32 or 64).
    StepsKernel steps_kernel = nullptr;
    std::size_t steps_lanes = 8;
    StepParams step() const {
        StepParams p;
        p.method = method, p.sign = maximize ? -1.0 : 1.0, p.momentum = momentum, p.beta1 = beta1, p.beta2 = beta2,
        p.eps = eps;
        return p;
    }
};

// Checks the options and sizes (throws invalid_argument naming the problem).
void validate(const DescentOptions& o, std::size_t k, std::size_t n, std::size_t lr_count);

struct DescentResult {
    std::size_t k = 0, n = 0, n_hist = 0;
    std::vector<double> x, fun, grad_norm;           // (k, n), (k), (k)
    std::vector<std::int64_t> nit;                   // (k)
    std::vector<std::uint8_t> converged, diverged;   // (k)
    // (n_hist, k, n), (n_hist, k): a row every history_every steps from step 0 up to the last
    // step any run took; a stopped run keeps its last iterate in the later rows.
    std::vector<double> history, fun_history;
};

// f and its gradient on a batch: X (k, n) row-major -> f (k), G (k, n).
class GradientProvider {
public:
    virtual ~GradientProvider() = default;
    virtual std::size_t dim() const = 0;
    virtual void value_and_grad(const double* X, std::size_t k, double* f, double* G) const = 0;
};

// A Program (order >= 1) as a GradientProvider.
class ProgramGradient final : public GradientProvider {
public:
    explicit ProgramGradient(const Program& p) : p_(p) {}
    std::size_t dim() const override { return static_cast<std::size_t>(p_.n_vars()); }
    void value_and_grad(const double* X, std::size_t k, double* f, double* G) const override;

private:
    const Program& p_;
};

// x0 (k, n); lr has k entries, or one shared by all runs (lr_count 1).
DescentResult descent(const GradientProvider& f, const double* x0, std::size_t k, const double* lr,
                      std::size_t lr_count, const DescentOptions& opt, const Interrupt& intr = Interrupt());
DescentResult descent(const Program& f, const double* x0, std::size_t k, const double* lr, std::size_t lr_count,
                      const DescentOptions& opt, const Interrupt& intr = Interrupt());

// Mean squared error of a model over data, as a function of its parameters: the model is a
// Program over (params, data vars) differentiated with respect to the params (its wrt); data
// X (N, n_data) and y (N).
class MSELoss final : public GradientProvider {
public:
    MSELoss(const Program& model, std::vector<double> X, std::vector<double> y);
    std::size_t dim() const override { return static_cast<std::size_t>(model_.n_wrt()); }
    void value_and_grad(const double* P, std::size_t k, double* f, double* G) const override;
    void set_interrupt(const Interrupt* intr) { intr_ = intr; }

private:
    const Program& model_;
    std::vector<double> X_, y_;
    std::size_t N_, nd_;
    const Interrupt* intr_ = nullptr;
};

}  // namespace fastcalc
