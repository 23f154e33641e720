// ODEs by neural networks: a small dense network N(x; p) inside a trial solution that meets the
// initial or boundary conditions by construction, trained to make the equation's residual vanish
// at collocation points. Derivatives of the network with respect to x are exact (propagated with
// the values through the layers), and so is the Jacobian of the residuals with respect to the
// parameters (reverse mode through that propagation), which Levenberg-Marquardt uses.
#pragma once

#include <fastcalc/function.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fastcalc {
namespace ode {

enum class Activation { Tanh = 0, Sigmoid = 1, Sin = 2 };

// The dense network: input x, hidden layers, m linear outputs. Parameters are packed layer by
// layer, each as W (rows = units of the layer, row-major) then b.
struct Net {
    std::vector<int> widths;  // hidden widths
    int m = 1;                // outputs
    Activation act = Activation::Tanh;
    std::size_t n_params() const;
    // N, N', N'' at each x: each (K, m). d2 may be nullptr when not needed.
    void eval(const double* p, const double* x, std::size_t K, double* N, double* d1, double* d2) const;
};

// Trial solution y = c(x) + sum_j coef_j(x) N^(j)(x), for y, y' and y''.
enum class Trial { IVP1 = 0, IVP2 = 1, BVP = 2 };

struct Problem {
    Trial trial = Trial::IVP1;
    double a = 0, b = 1;
    std::vector<double> y0, dy0, ya, yb;  // per component, as the trial needs
    int order = 1;                         // 1: y' = f(x, y); 2: y'' = f(x, y, y')
    // y, y', y'' of the trial solution at each x from N, N', N'' ((K, m) each; y2 may be null)
    void trial_values(const double* x, std::size_t K, int m, const double* N, const double* d1, const double* d2,
                      double* y, double* y1, double* y2) const;
    // coefficients of N^(j) in y^(k): coef[k][j] at x
    void coefs(double x, double coef[3][3]) const;
};

// The right-hand side f(x, y[, y']) with its partial derivatives, for K points at once.
class Rhs {
public:
    virtual ~Rhs() = default;
    // x (K), y (K, m), dy (K, m) or null -> f (K, m), fy (K, m, m), fdy (K, m, m) or null
    virtual void eval(const double* x, const double* y, const double* dy, std::size_t K, double* f, double* fy,
                      double* fdy) const = 0;
};

// Residuals r (K, m) = y^(order) - f, and optionally their Jacobian J (K*m, P).
void residuals(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x, std::size_t K,
               double* r, double* J);
// Scratch for repeated residual evaluations (opaque); optional everywhere.
struct Workspace;
struct WorkspaceDeleter {
    void operator()(Workspace* w) const;
};
using WorkspacePtr = std::unique_ptr<Workspace, WorkspaceDeleter>;
WorkspacePtr make_workspace();

// The loss (mean squared residual) and its gradient g (P) with one reverse pass per point.
double loss_gradient(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x,
                     std::size_t K, double* r, double* g, Workspace* ws = nullptr);

enum class Optimizer { LM = 0, Adam = 1, LBFGS = 2 };

struct TrainOptions {
    Optimizer optimizer = Optimizer::LM;
    double lr = 1e-2;          // Adam's step
    int epochs = 500;          // iterations at most
    double tol = 1e-20;        // stop once the loss (mean squared residual) is below
    int report_every = 10;     // callback period (epochs)
    bool stall = true;         // LM: stop once the loss stops decreasing
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

}  // namespace ode
}  // namespace fastcalc
