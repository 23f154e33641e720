// ODEs by neural networks: a small dense network N(x; p) inside a trial solution that meets the
// initial or boundary conditions by construction, trained to make the equation's residual vanish
// at collocation points. Derivatives of the network with respect to x are exact (propagated with
// the values through the layers), and so is the Jacobian of the residuals with respect to the
// parameters (reverse mode through that propagation), which Levenberg-Marquardt uses. The
// residual is known everywhere, so the error of a trained solution follows from the linearized
// error equation e' = J_f e + r (estimate_error).
#pragma once

#include <fastcalc/function.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fastcalc {
namespace ode {

enum class Activation { Tanh = 0, Sigmoid = 1, Sin = 2 };

// The dense network: input t = (x - x_shift) * x_scale, hidden layers, m linear outputs.
// Parameters are packed layer by layer, each as W (rows = units of the layer, row-major) then b.
struct Net {
    std::vector<int> widths;  // hidden widths (at least one layer)
    int m = 1;                // outputs
    Activation act = Activation::Tanh;
    double x_shift = 0.0, x_scale = 1.0;  // the input map (Problem::input_map gives the trial's)
    std::size_t n_params() const;
    void validate() const;  // throws invalid_argument naming what is wrong
};

// Trial solution y = c(x) + sum_j coef_j(x) N^(j)(x), for y, y' and y''.
enum class Trial { IVP1 = 0, IVP2 = 1, BVP = 2 };

struct Problem {
    Trial trial = Trial::IVP1;
    double a = 0, b = 1;
    std::vector<double> y0, dy0, ya, yb;  // per component, as the trial needs
    int order = 1;                         // 1: y' = f(x, y); 2: y'' = f(x, y, y')
    // Throws invalid_argument unless the trial code, order, interval and the condition vectors
    // (length m each, finite) agree: every entry point checks this before reading y0[i].
    void validate(int m) const;
    // The network input map of this problem's interval: t = (x - shift) * scale in [-1, 1].
    void input_map(double& shift, double& scale) const;
    // coefficients of N^(j) in y^(k): coef[k][j] at x
    void coefs(double x, double coef[3][3]) const;
    // y (k = 0), y' (1), y'' (2) of the part of the trial solution that does not depend on N
    double base(int k, std::size_t i, double x) const;
};

// The right-hand side f(x, y[, y']) with its partial derivatives, for K points at once.
class Rhs {
public:
    virtual ~Rhs() = default;
    // x (K), y (K, m), dy (K, m) or null -> f (K, m), fy (K, m, m), fdy (K, m, m) or null
    virtual void eval(const double* x, const double* y, const double* dy, std::size_t K, double* f, double* fy,
                      double* fdy) const = 0;
    // True when calls are cheap (no fixed cost per call): the model then calls it once per chunk
    // of points; otherwise once per pass with every point.
    virtual bool chunkable() const { return true; }
};

// A stop request polled inside long loops: latches the first Interrupt::requested().
class Stop {
public:
    explicit Stop(const Interrupt* intr = nullptr) : intr_(intr) {}
    bool operator()() {
        if (!stopped_ && intr_ && intr_->requested()) stopped_ = true;
        return stopped_;
    }
    bool stopped() const { return stopped_; }

private:
    const Interrupt* intr_;
    bool stopped_ = false;
};

// A network in a trial solution with a right-hand side: the residuals, their Jacobian and the
// loss gradient, computed a cache-sized chunk of points at a time (layers run for all points of a
// chunk together; first-order problems skip the second-derivative tangent). Its scratch is
// allocated once and reused call after call, so one Model serves a whole training run.
// Residuals are ordered component-major: r[i * K + k] is component i at point k.
class Model {
public:
    // Validates net and problem (invalid_argument); the Net's input map is the problem's.
    Model(const Net& net, const Problem& pb, const Rhs& rhs);
    ~Model();
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    const Net& net() const { return net_; }
    const Problem& problem() const { return pb_; }
    std::size_t n_params() const { return P_; }
    int m() const { return net_.m; }

    // N, N', N'' (K, m) each (N2 may be null).
    void network(const double* p, const double* x, std::size_t K, double* N, double* N1, double* N2);
    // y, y', y'' of the trial solution (K, m) each (y2 may be null).
    void trial(const double* p, const double* x, std::size_t K, double* y, double* y1, double* y2);
    // r (m * K) and, when not null, f_y, f_dy at each point ((K, m, m), f_dy for order 2 only).
    // Returns false when stop() asked to abandon the pass.
    bool residuals(const double* p, const double* x, std::size_t K, double* r, double* fy = nullptr,
                   double* fdy = nullptr, Stop* stop = nullptr);
    // r (m * K) and the transposed Jacobian Jt (P rows of stride ldj >= m * K): Jt[a * ldj + i]
    // = d r_i / d p_a. Columns from m * K to ldj are left untouched.
    bool jacobian(const double* p, const double* x, std::size_t K, double* r, double* Jt, std::size_t ldj,
                  Stop* stop = nullptr);
    // The loss (mean squared residual), r (m * K) and its gradient g (P).
    double loss_gradient(const double* p, const double* x, std::size_t K, double* r, double* g);

private:
    struct Scratch;
    template <bool Second>
    bool pass(const double* p, const double* x, std::size_t K, int mode, double* r, double* fy, double* fdy,
              double* Jt, std::size_t ldj, double* g, Stop* stop);
    Net net_;
    Problem pb_;
    const Rhs& rhs_;
    std::size_t P_;
    Scratch* s_;
};

// Free functions for one-off calls (each builds a Model).
void residuals(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x, std::size_t K,
               double* r, double* J);  // r (K, m) point-major; J (K*m, P) row k*m+i, or null
double loss_gradient(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x,
                     std::size_t K, double* r, double* g);  // r (K, m) point-major

enum class Optimizer { LM = 0, Adam = 1, LBFGS = 2 };

struct TrainOptions {
    Optimizer optimizer = Optimizer::LM;
    double lr = 1e-2;          // Adam's step
    int epochs = 500;          // iterations at most
    double tol = 1e-20;        // stop once the loss (mean squared residual) is below
    int report_every = 10;     // callback period (epochs)
    bool stall = true;         // LM: stop once the loss stops decreasing:
    int stall_window = 100;    // ... once it is above stall_ratio times its value this many epochs ago
    double stall_ratio = 0.99;
    double max_bytes = 4.0 * (1u << 30);  // LM's Jacobian and normal matrices at most (else refused)
};

struct TrainResult {
    std::vector<double> params;
    std::vector<double> loss_history;
    int epochs = 0;
    bool interrupted = false;  // Ctrl-C or the callback asked to stop
    std::string stop;          // why training ended
};

// The callback gets (epoch, loss) every report_every epochs; returning true stops training.
using Callback = std::function<bool(int, double)>;

TrainResult train(const Net& net, const Problem& pb, const Rhs& rhs, std::vector<double> p0, const std::vector<double>& x,
                  const TrainOptions& opt, const Callback& cb, const Interrupt& intr);

// Glorot-uniform initial parameters from a seed (splitmix64): deterministic everywhere.
std::vector<double> init_params(const Net& net, std::uint64_t seed);

// The a-posteriori error of a trained solution: e = y_N - y solves, to first order in e,
//   e' = f_y e + r (order 1)   or   e'' = f_y e + f_dy e' + r (order 2),
// with e(a) = e0 (and e'(a) = de0) for an initial value problem, e(a) = e(b) = 0 for a boundary
// value problem, where r = y_N^(order) - f(x, y_N) is the residual, known everywhere. Classical
// RK4 on a uniform grid, the steps halved until two grids agree (Richardson's estimate of the
// integrator's own error within 2% of the result or below `floor`).
struct ErrorOptions {
    std::size_t min_steps = 64, max_steps = std::size_t(1) << 16;
    double floor = 0.0;  // an integration error below this is good enough
};

struct ErrorEstimate {
    std::vector<double> x;      // grid nodes (n + 1)
    std::vector<double> e, de;  // e and e' at the nodes (n + 1, m)
    std::vector<double> end;    // the state (e, [e']) at b (S = m or 2m)
    std::vector<double> phi;    // initial value problems: the propagator d state(b) / d state(a) (S, S)
    std::vector<double> phis;   // initial value problems: the propagator at each node (n_nodes, S, S)
    double max_abs = 0;         // max |e| over the nodes and components
    double integration_error = 0;  // Richardson's estimate of the integrator's error in max_abs
    std::size_t steps = 0;
    bool converged = false;     // the grids agreed
    bool finite = true;         // residual and Jacobian were finite everywhere
    bool interrupted = false;
};

// e0: the initial state (e(a), [e'(a)]), length S, or empty for zero (ignored for a BVP).
ErrorEstimate estimate_error(const Net& net, const Problem& pb, const Rhs& rhs, const std::vector<double>& p,
                             const std::vector<double>& e0, const ErrorOptions& opt, const Interrupt& intr);

}  // namespace ode
}  // namespace fastcalc
