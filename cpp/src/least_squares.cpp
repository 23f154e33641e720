#include <fastcalc/least_squares.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace fastcalc {

namespace {

constexpr std::size_t kLanes = 64;  // points per Program::run, as Program::eval runs them

// Cholesky solve of (A + mu diag(D)) h = -g in place (P x P); false if not positive definite.
bool damped_solve(const std::vector<double>& A, const std::vector<double>& D, const std::vector<double>& g, double mu,
                  std::size_t P, std::vector<double>& L, std::vector<double>& h) {
    for (std::size_t i = 0; i < P; ++i)
        for (std::size_t j = 0; j <= i; ++j) {
            double s = A[i * P + j] + (i == j ? mu * D[i] : 0.0);
            for (std::size_t k = 0; k < j; ++k) s -= L[i * P + k] * L[j * P + k];
            if (i == j) {
                if (!(s > 0.0) || !std::isfinite(s)) return false;
                L[i * P + i] = std::sqrt(s);
            } else {
                L[i * P + j] = s / L[j * P + j];
            }
        }
    for (std::size_t i = 0; i < P; ++i) {  // L z = -g
        double s = -g[i];
        for (std::size_t k = 0; k < i; ++k) s -= L[i * P + k] * h[k];
        h[i] = s / L[i * P + i];
    }
    for (std::size_t i = P; i-- > 0;) {  // L^T h = z
        double s = h[i];
        for (std::size_t k = i + 1; k < P; ++k) s -= L[k * P + i] * h[k];
        h[i] = s / L[i * P + i];
    }
    return true;
}

double inf_norm(const std::vector<double>& v) {
    double m = 0.0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
}

double two_norm(const std::vector<double>& v) {
    double s = 0.0;
    for (double x : v) s += x * x;
    return std::sqrt(s);
}

}  // namespace

ProgramResiduals::ProgramResiduals(const Program& model, const double* X, const double* y, std::size_t N)
    : model_(model), X_(X), y_(y), N_(N), P_(static_cast<std::size_t>(model.n_wrt())) {
    const std::size_t nv = static_cast<std::size_t>(model.n_vars());
    if (model.n_results() < 1 + model.n_wrt()) throw invalid_argument("fit: the model program needs its gradient");
    if (P_ == 0) throw invalid_argument("fit needs at least one parameter");
    if (N_ == 0) throw invalid_argument("fit needs at least one data point");
    nd_ = nv - P_;
    param_of_var_.assign(nv, -1);
    for (std::size_t i = 0; i < P_; ++i) param_of_var_[static_cast<std::size_t>(model.wrt()[i])] = static_cast<int>(i);
    S_.assign(model.n_slots() * kLanes, 0.0);
    model.init_block(S_.data(), kLanes);
    Ab_.assign(P_ * P_, 0.0);
    gb_.assign(P_, 0.0);
}

double ProgramResiduals::eval(const double* p, double* A, double* g, const Interrupt& intr) const {
    const std::size_t nv = static_cast<std::size_t>(model_.n_vars());
    const bool jac = A != nullptr;
    if (jac) {
        std::fill(A, A + P_ * P_, 0.0);
        std::fill(g, g + P_, 0.0);
    }
    double cost = 0.0;
    double* S = S_.data();
    const std::size_t r0 = model_.result_slot(0) * kLanes;
    // The params' slots hold p in every lane; they are written again each block, as the
    // program may reuse slots.
    for (std::size_t p0 = 0, block = 0; p0 < N_; p0 += kLanes, ++block) {
        const std::size_t m = std::min(kLanes, N_ - p0);
        std::size_t dv = 0;
        for (std::size_t v = 0; v < nv; ++v) {
            double* s = S + v * kLanes;
            const int pi = param_of_var_[v];
            if (pi >= 0) {
                std::fill(s, s + kLanes, p[pi]);
            } else {
                const double* x = X_ + p0 * nd_ + dv;
                for (std::size_t j = 0; j < m; ++j) s[j] = x[j * nd_];
                for (std::size_t j = m; j < kLanes; ++j) s[j] = s[0];  // finite filler, not used
                ++dv;
            }
        }
        model_.run(S, kLanes);
        double cb = 0.0;
        for (std::size_t j = 0; j < m; ++j) {
            const double r = S[r0 + j] - y_[p0 + j];
            cb += r * r;
        }
        cost += cb;
        if (jac) {
            // this block's J^T J and J^T r, then added: partial sums keep the rounding small
            std::fill(Ab_.begin(), Ab_.end(), 0.0);
            std::fill(gb_.begin(), gb_.end(), 0.0);
            for (std::size_t a = 0; a < P_; ++a) {
                const double* Ja = S + model_.result_slot(static_cast<int>(1 + a)) * kLanes;
                double ga = 0.0;
                for (std::size_t j = 0; j < m; ++j) ga += Ja[j] * (S[r0 + j] - y_[p0 + j]);
                gb_[a] = ga;
                for (std::size_t b = 0; b <= a; ++b) {
                    const double* Jb = S + model_.result_slot(static_cast<int>(1 + b)) * kLanes;
                    double s = 0.0;
                    for (std::size_t j = 0; j < m; ++j) s += Ja[j] * Jb[j];
                    Ab_[a * P_ + b] = s;
                }
            }
            for (std::size_t a = 0; a < P_; ++a) {
                g[a] += gb_[a];
                for (std::size_t b = 0; b <= a; ++b) A[a * P_ + b] += Ab_[a * P_ + b];
            }
        }
        if ((block & 63) == 63) intr.check();  // every 4,096 points
    }
    if (jac)
        for (std::size_t a = 0; a < P_; ++a)
            for (std::size_t b = 0; b < a; ++b) A[b * P_ + a] = A[a * P_ + b];
    return 0.5 * cost;
}

LeastSquaresResult levenberg_marquardt(const LeastSquaresProblem& problem, const double* p0,
                                       const LeastSquaresOptions& opt, const Interrupt& intr) {
    const std::size_t P = problem.n_params();
    const std::size_t maxiter = opt.maxiter ? opt.maxiter : 100 * (P + 1);
    // Workspaces, allocated once.
    std::vector<double> p(p0, p0 + P), pt(P), h(P), A(P * P), g(P), At(P * P), gt(P), D(P, 0.0), L(P * P);
    LeastSquaresResult res;
    res.status = 1;
    double cost = problem.eval(p.data(), A.data(), g.data(), intr);
    res.nfev = 1;
    if (!std::isfinite(cost)) {
        res.status = 2;
    } else {
        const double g0 = inf_norm(g);
        double dmax = 0.0;
        for (std::size_t i = 0; i < P; ++i) {
            D[i] = std::max(A[i * P + i], std::numeric_limits<double>::min());  // Marquardt's scaling
            dmax = std::max(dmax, A[i * P + i]);
        }
        double mu = opt.damping0 * std::max(dmax, std::numeric_limits<double>::min()), nu = 2.0;
        if (cost == 0.0) {
            res.status = 0;
            res.test = 4;
        } else if (g0 == 0.0) {  // a stationary point already
            res.status = 0;
            res.test = 1;
        }
        while (res.status == 1 && res.nit < maxiter) {
            intr.check();
            ++res.nit;
            if (!damped_solve(A, D, g, mu, P, L, h)) {  // not positive definite at this damping
                mu *= nu;
                nu *= 2;
                if (!std::isfinite(mu)) {
                    res.status = 2;
                    break;
                }
                continue;
            }
            const double pnorm = two_norm(p);
            if (opt.xtol > 0 && two_norm(h) <= opt.xtol * (pnorm + opt.xtol)) {
                res.status = 0;
                res.test = 3;
                break;
            }
            for (std::size_t i = 0; i < P; ++i) pt[i] = p[i] + h[i];
            const bool cheap = problem.cheap_jacobian();
            double ct = problem.eval(pt.data(), cheap ? At.data() : nullptr, cheap ? gt.data() : nullptr, intr);
            ++res.nfev;
            // the decrease the damped model predicts: 0.5 h^T (mu D h - g)
            double pred = 0.0;
            for (std::size_t i = 0; i < P; ++i) pred += h[i] * (mu * D[i] * h[i] - g[i]);
            pred *= 0.5;
            const double rho = (cost - ct) / pred;
            if (std::isfinite(ct) && pred > 0 && rho > 0) {
                const double actual_rel = (cost - ct) / cost, pred_rel = pred / cost;
                p.swap(pt);
                cost = ct;
                if (cheap) {
                    A.swap(At);
                    g.swap(gt);
                } else {
                    cost = problem.eval(p.data(), A.data(), g.data(), intr);
                    ++res.nfev;
                }
                for (std::size_t i = 0; i < P; ++i) D[i] = std::max(D[i], A[i * P + i]);
                const double t = 2 * rho - 1;
                mu *= std::max(1.0 / 3, 1 - t * t * t);
                nu = 2.0;
                if (cost == 0.0) {
                    res.status = 0;
                    res.test = 4;
                } else if (opt.gtol > 0 && inf_norm(g) <= opt.gtol * g0) {
                    res.status = 0;
                    res.test = 1;
                } else if (opt.ftol > 0 && actual_rel <= opt.ftol && pred_rel <= opt.ftol && rho <= 2) {
                    res.status = 0;
                    res.test = 2;
                }
            } else {
                // a longer damping: the step shrinks until the cost decreases or the step is below
                // xtol (round-off near the minimum)
                mu *= nu;
                nu *= 2;
                if (!std::isfinite(mu)) res.status = 2;
            }
        }
    }
    res.x = p;
    res.cost = cost;
    res.JTJ = A;
    return res;
}

}  // namespace fastcalc
