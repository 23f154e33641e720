#include <fastcalc/ode.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace fastcalc {
namespace ode {

namespace {

double sumsq(const std::vector<double>& r) {
    double s = 0;
    for (double v : r) s += v * v;
    return s;
}

// Solves A x = b for symmetric positive definite A (P x P, overwritten by its Cholesky factor).
bool cholesky_solve(std::vector<double>& A, std::vector<double>& b, std::size_t P) {
    for (std::size_t j = 0; j < P; ++j) {
        double d = A[j * P + j];
        for (std::size_t k = 0; k < j; ++k) d -= A[j * P + k] * A[j * P + k];
        if (!(d > 0)) return false;
        d = std::sqrt(d);
        A[j * P + j] = d;
        for (std::size_t i = j + 1; i < P; ++i) {
            double s = A[i * P + j];
            for (std::size_t k = 0; k < j; ++k) s -= A[i * P + k] * A[j * P + k];
            A[i * P + j] = s / d;
        }
    }
    for (std::size_t i = 0; i < P; ++i) {
        double s = b[i];
        for (std::size_t k = 0; k < i; ++k) s -= A[i * P + k] * b[k];
        b[i] = s / A[i * P + i];
    }
    for (std::size_t i = P; i-- > 0;) {
        double s = b[i];
        for (std::size_t k = i + 1; k < P; ++k) s -= A[k * P + i] * b[k];
        b[i] = s / A[i * P + i];
    }
    return true;
}

struct Objective {
    const Net& net;
    const Problem& pb;
    const Rhs& rhs;
    const std::vector<double>& x;
    std::size_t R, P;
    // loss = mean squared residual; with J, also J (R x P)
    double operator()(const std::vector<double>& p, std::vector<double>& r, std::vector<double>* J) const {
        residuals(net, pb, rhs, p.data(), x.data(), x.size(), r.data(), J ? J->data() : nullptr);
        return sumsq(r) / static_cast<double>(R);
    }
    void grad(const std::vector<double>& J, const std::vector<double>& r, std::vector<double>& g) const {
        std::fill(g.begin(), g.end(), 0.0);
        for (std::size_t i = 0; i < R; ++i)
            for (std::size_t j = 0; j < P; ++j) g[j] += J[i * P + j] * r[i];
        for (double& v : g) v *= 2.0 / static_cast<double>(R);
    }
};

[[noreturn]] void nonfinite(int epoch) {
    throw std::runtime_error("the ODE residual became non-finite at epoch " + std::to_string(epoch) +
                             " (diverging: try a smaller lr, the default optimizer, or a shorter domain)");
}

}  // namespace

TrainResult train(const Net& net, const Problem& pb, const Rhs& rhs, std::vector<double> p, const std::vector<double>& x,
                  const TrainOptions& opt, const Callback& cb, const Interrupt& intr) {
    const std::size_t P = net.n_params(), R = x.size() * static_cast<std::size_t>(net.m);
    if (p.size() != P) throw invalid_argument("ode: wrong number of parameters");
    Objective obj{net, pb, rhs, x, R, P};
    WorkspacePtr work = make_workspace();
    std::vector<double> r(R), J(R * P), g(P), rn(R);
    double loss = obj(p, r, &J);
    if (!std::isfinite(loss)) nonfinite(0);
    TrainResult res;
    res.loss_history.push_back(loss);
    std::vector<double> best = p;
    double best_loss = loss;
    auto report = [&](int epoch) -> bool {
        if (intr.requested()) {
            res.interrupted = true;
            res.stop = "interrupted";
            return true;
        }
        if (cb && (epoch % std::max(1, opt.report_every) == 0) && cb(epoch, loss)) {
            res.interrupted = true;
            res.stop = "stopped by the callback";
            return true;
        }
        return false;
    };
    int epoch = 0;
    if (opt.optimizer == Optimizer::LM) {
        double lambda = 1e-3;
        std::vector<double> A(P * P), rhs_v(P), pn(P);
        while (epoch < opt.epochs && loss > opt.tol) {
            ++epoch;
            // normal equations: A = J^T J, rhs = -J^T r
            std::fill(A.begin(), A.end(), 0.0);
            std::fill(rhs_v.begin(), rhs_v.end(), 0.0);
            for (std::size_t i = 0; i < R; ++i) {
                const double* Ji = J.data() + i * P;
                for (std::size_t a = 0; a < P; ++a) {
                    rhs_v[a] -= Ji[a] * r[i];
                    const double ja = Ji[a];
                    if (ja == 0.0) continue;
                    for (std::size_t b = 0; b <= a; ++b) A[a * P + b] += ja * Ji[b];
                }
            }
            double dmax = 0;
            for (std::size_t a = 0; a < P; ++a) dmax = std::max(dmax, A[a * P + a]);
            bool accepted = false;
            while (!accepted) {
                std::vector<double> M(P * P), step = rhs_v;
                for (std::size_t a = 0; a < P; ++a) {
                    for (std::size_t b = 0; b < a; ++b) M[a * P + b] = M[b * P + a] = A[a * P + b];
                    M[a * P + a] = A[a * P + a] + lambda * (A[a * P + a] + 1e-12 * dmax);  // Marquardt scaling
                }
                if (cholesky_solve(M, step, P)) {
                    for (std::size_t a = 0; a < P; ++a) pn[a] = p[a] + step[a];
                    const double ln = obj(pn, rn, nullptr);
                    if (std::isfinite(ln) && ln < loss) {
                        p.swap(pn);
                        loss = obj(p, r, &J);
                        lambda = std::max(lambda / 3.0, 1e-15);
                        accepted = true;
                        break;
                    }
                }
                lambda *= 4.0;
                if (lambda > 1e16) break;
            }
            res.loss_history.push_back(loss);
            if (loss < best_loss) {
                best_loss = loss;
                best = p;
            }
            if (!accepted) {
                res.stop = "converged: no step reduces the loss further";
                break;
            }
            // stalled: less than 1% progress over the last 100 epochs (round-off floor reached)
            const std::size_t h = res.loss_history.size();
            if (opt.stall && h > 150 && loss > 0.99 * res.loss_history[h - 101]) {
                res.stop = "converged: the loss stopped decreasing";
                break;
            }
            if (report(epoch)) break;
        }
    } else if (opt.optimizer == Optimizer::Adam) {
        std::vector<double> m1(P, 0.0), m2(P, 0.0);
        const double b1 = 0.9, b2 = 0.999;
        loss = loss_gradient(net, pb, rhs, p.data(), x.data(), x.size(), r.data(), g.data(), work.get());
        while (epoch < opt.epochs && loss > opt.tol) {
            ++epoch;
            for (std::size_t a = 0; a < P; ++a) {
                m1[a] = b1 * m1[a] + (1 - b1) * g[a];
                m2[a] = b2 * m2[a] + (1 - b2) * g[a] * g[a];
                const double mh = m1[a] / (1 - std::pow(b1, epoch)), vh = m2[a] / (1 - std::pow(b2, epoch));
                p[a] -= opt.lr * mh / (std::sqrt(vh) + 1e-12);
            }
            loss = loss_gradient(net, pb, rhs, p.data(), x.data(), x.size(), r.data(), g.data(), work.get());
            if (!std::isfinite(loss)) nonfinite(epoch);
            res.loss_history.push_back(loss);
            if (loss < best_loss) {
                best_loss = loss;
                best = p;
            }
            if (report(epoch)) break;
        }
    } else {  // L-BFGS with Armijo backtracking
        const std::size_t H = 10;
        std::vector<std::vector<double>> S, Y;
        std::vector<double> rho, gn(P), pn(P), d(P), alpha(H);
        loss = loss_gradient(net, pb, rhs, p.data(), x.data(), x.size(), r.data(), g.data(), work.get());
        while (epoch < opt.epochs && loss > opt.tol) {
            ++epoch;
            d = g;  // two-loop recursion: d = H g
            const std::size_t k = S.size();
            for (std::size_t i = k; i-- > 0;) {
                double s = 0;
                for (std::size_t a = 0; a < P; ++a) s += S[i][a] * d[a];
                alpha[i] = rho[i] * s;
                for (std::size_t a = 0; a < P; ++a) d[a] -= alpha[i] * Y[i][a];
            }
            if (k) {
                double sy = 0, yy = 0;
                for (std::size_t a = 0; a < P; ++a) {
                    sy += S[k - 1][a] * Y[k - 1][a];
                    yy += Y[k - 1][a] * Y[k - 1][a];
                }
                for (double& v : d) v *= sy / yy;
            }
            for (std::size_t i = 0; i < k; ++i) {
                double s = 0;
                for (std::size_t a = 0; a < P; ++a) s += Y[i][a] * d[a];
                const double beta = rho[i] * s;
                for (std::size_t a = 0; a < P; ++a) d[a] += S[i][a] * (alpha[i] - beta);
            }
            double gd = 0;
            for (std::size_t a = 0; a < P; ++a) gd += g[a] * d[a];
            if (!(gd > 0)) {  // not a descent direction: restart from the gradient
                d = g;
                gd = 0;
                for (double v : g) gd += v * v;
                S.clear();
                Y.clear();
                rho.clear();
            }
            double step = 1.0, ln = loss;
            bool ok = false;
            for (int ls = 0; ls < 40; ++ls) {
                for (std::size_t a = 0; a < P; ++a) pn[a] = p[a] - step * d[a];
                ln = obj(pn, rn, nullptr);
                if (std::isfinite(ln) && ln <= loss - 1e-4 * step * gd) {
                    ok = true;
                    break;
                }
                step *= 0.5;
            }
            if (!ok) {
                res.stop = "converged: the line search found no decrease";
                break;
            }
            loss = loss_gradient(net, pb, rhs, pn.data(), x.data(), x.size(), r.data(), gn.data(), work.get());
            std::vector<double> s(P), y(P);
            double sy = 0;
            for (std::size_t a = 0; a < P; ++a) {
                s[a] = pn[a] - p[a];
                y[a] = gn[a] - g[a];
                sy += s[a] * y[a];
            }
            if (sy > 1e-300) {
                if (S.size() == H) {
                    S.erase(S.begin());
                    Y.erase(Y.begin());
                    rho.erase(rho.begin());
                }
                S.push_back(s);
                Y.push_back(y);
                rho.push_back(1.0 / sy);
            }
            p.swap(pn);
            g.swap(gn);
            res.loss_history.push_back(loss);
            if (loss < best_loss) {
                best_loss = loss;
                best = p;
            }
            if (report(epoch)) break;
        }
    }
    if (res.stop.empty()) res.stop = loss <= opt.tol ? "converged: loss below tol" : "reached the epoch limit";
    res.epochs = epoch;
    res.params = best;
    return res;
}

}  // namespace ode
}  // namespace fastcalc
