// Nonlinear least squares by Levenberg-Marquardt: minimize 0.5 sum_i r_i(p)^2 over parameters p,
// on the exact Jacobian where the problem has one (a model Program's gradient with respect to its
// parameters), with Marquardt's diagonal scaling and Nielsen's damping update. fastcalc.fit's
// default method; scipy.optimize.curve_fit (MINPACK's lmdif) solves the same problem.
#pragma once

#include <fastcalc/function.hpp>
#include <fastcalc/program.hpp>

#include <cstddef>
#include <vector>

namespace fastcalc {

// Residuals r(p) (N of them) as the solver needs them: the cost 0.5 sum r^2 and, when asked,
// the normal equations' pieces A = J^T J (P x P, row-major) and g = J^T r, J = dr/dp (N x P).
class LeastSquaresProblem {
public:
    virtual ~LeastSquaresProblem() = default;
    virtual std::size_t n_params() const = 0;
    virtual std::size_t n_residuals() const = 0;
    // The cost at p (NaN or inf if a residual is not finite); A and g are written when non-null.
    virtual double eval(const double* p, double* A, double* g, const Interrupt& intr) const = 0;
    // Whether A and g cost little beside the cost (then every trial step computes them).
    virtual bool cheap_jacobian() const { return false; }
};

// r_i = model(p, x_i) - y_i for a model Program over (its variables in the order params, data)
// differentiated with respect to the params (Program::wrt() = the first n_wrt variables, in any
// order): blocks of points through Program::run, the data read in place.
class ProgramResiduals final : public LeastSquaresProblem {
public:
    // X: (N, n_vars - n_wrt) row-major data, y: N targets; both must outlive this object.
    ProgramResiduals(const Program& model, const double* X, const double* y, std::size_t N);
    std::size_t n_params() const override { return P_; }
    std::size_t n_residuals() const override { return N_; }
    double eval(const double* p, double* A, double* g, const Interrupt& intr) const override;
    bool cheap_jacobian() const override { return true; }

private:
    const Program& model_;
    const double* X_;
    const double* y_;
    std::size_t N_, P_, nd_;
    std::vector<int> param_of_var_;  // variable -> parameter index, or -1 for a data variable
    mutable std::vector<double> S_, Ab_, gb_;  // workspaces, allocated once
};

struct LeastSquaresOptions {
    std::size_t maxiter = 0;  // iterations (accepted or not); 0: 100 * (P + 1)
    // Converged when one holds: the gradient's largest entry |J^T r|_inf <= gtol times its value
    // at p0; the actual and the predicted relative decrease of the cost are both <= ftol; the
    // step is <= xtol (|p| + xtol). Zero disables a test.
    double gtol = 1e-10, ftol = 1e-10, xtol = 1e-10;
    double damping0 = 1e-3;   // the first damping, times the largest diagonal entry of J^T J
};

struct LeastSquaresResult {
    std::vector<double> x;          // the parameters found (P)
    double cost = 0.0;              // 0.5 sum r^2 at x
    std::size_t nit = 0, nfev = 0;  // iterations, evaluations of the residuals
    int status = 0;                 // 0 converged, 1 maxiter reached, 2 not finite
    int test = 0;                   // the test that stopped it: 1 gtol, 2 ftol, 3 xtol, 4 zero cost
    std::vector<double> JTJ;        // J^T J at x (P x P): the covariance's inverse up to the variance
};

// From p0 (P values). Polls intr every iteration and within the problem's passes over the data.
LeastSquaresResult levenberg_marquardt(const LeastSquaresProblem& problem, const double* p0,
                                       const LeastSquaresOptions& opt, const Interrupt& intr = Interrupt());

}  // namespace fastcalc
