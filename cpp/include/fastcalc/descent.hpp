// Gradient descent and ascent for k independent runs advanced together: each run has its own
// learning rate, optimizer state and stop (steps, gradient-norm tolerance, divergence), and is
// frozen once stopped. Two drivers share the per-step code: a generic one (time loop outside,
// one gradient call per step for all active runs, e.g. a Python callable) and a fast one for a
// compiled Program (blocks of runs with their slots in L1, SIMD across runs).
#pragma once

#include <fastcalc/function.hpp>
#include <fastcalc/program.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fastcalc {

enum class DescentMethod { GD = 0, Momentum = 1, Nesterov = 2, Adam = 3 };

// A step kernel compiled for one Program, method and direction (fastcalc/_jit.py generates it).
// Lanes are SoA with a stride of 64: x, s1, s2 (n, 64) (s1, s2: the method's state, as in
// run_lanes); it runs the first m lanes (m a multiple of 8, all active), steps [t0, t1):
// evaluate g at x, and if some lane must stop (non-finite gradient or iterate, iterate out of
// bounds, gradient norm^2 < tol2) return t with x, s1, s2 still at step t; else update them.
// xb, s1b, s2b: scratch of the same size. Returns t1 when no lane stopped.
using FusedStep = long (*)(long t0, long t1, long m, double* x, double* xb, double* s1, double* s1b, double* s2,
                           double* s2b, const double* lr, const double* lim, double tol2, double mu, double b1,
                           double b2, double eps);

struct DescentOptions {
    DescentMethod method = DescentMethod::GD;
    bool maximize = false;
    std::size_t steps = 100;
    double tol = 0.0;  // > 0: stop (converged) when the gradient norm falls below it
    double momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    bool line_search = false;  // Armijo backtracking (gd only) from lr, halving
    double armijo_c = 1e-4;
    int max_backtracks = 60;
    bool history = true;
    std::size_t history_every = 1;
    // Diverged when an iterate leaves max(1, |x0|_inf) * blowup (or stops being finite).
    double blowup = 1e8;
    int threads = 1;  // fast driver: OpenMP threads across blocks of runs (0: the default)
    FusedStep fused = nullptr;  // fast driver without line search: this kernel (for o.method)
};

struct DescentResult {
    std::size_t k = 0, n = 0, n_hist = 0;
    std::vector<double> x, fun, grad_norm;           // (k, n), (k), (k)
    std::vector<std::int64_t> nit;                   // (k)
    std::vector<std::uint8_t> converged, diverged;   // (k)
    std::vector<double> history, fun_history;        // (n_hist, k, n), (n_hist, k)
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

private:
    const Program& model_;
    std::vector<double> X_, y_;
    std::size_t N_, nd_;
};

}  // namespace fastcalc
