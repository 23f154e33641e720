// Training: Levenberg-Marquardt on the residual vector (normal equations from a blocked Gram
// kernel, or their dual form when there are more parameters than residuals), Adam and L-BFGS on
// the loss. Every workspace is allocated once per training; long loops poll Ctrl-C.
#include <fastcalc/ode.hpp>
#include <fastcalc/optimizer.hpp>

#include "ode_linalg.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace fastcalc {
namespace ode {

namespace {

double sumsq(const std::vector<double>& r, std::size_t n) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += r[i] * r[i];
    return s;
}

[[noreturn]] void nonfinite(int epoch) {
    throw std::runtime_error("the ODE residual became non-finite at epoch " + std::to_string(epoch) +
                             " (diverging: try a smaller lr, the default method, or a shorter domain)");
}

// Adam's update: descent's one statement of it (optimizer.hpp), moments m1, m2, at step t >= 1.
void adam_step(std::vector<double>& p, const std::vector<double>& g, std::vector<double>& m1, std::vector<double>& m2,
               int t, double lr) {
    StepParams sp;
    sp.method = DescentMethod::Adam;
    const StepScale sc = step_scale(sp, static_cast<std::size_t>(t - 1));
    step_values<DescentMethod::Adam>(sp, sc, p.data(), g.data(), m1.data(), m2.data(), p.size(),
                                     [lr](std::size_t) { return lr; }, [](std::size_t) { return false; });
}

// a * b with a check that the product of element counts fits in memory terms.
double bytes(double a, double b) { return a * b * 8.0; }

}  // namespace

TrainResult train(const Net& net, const Problem& pb, const Rhs& rhs, std::vector<double> p, const std::vector<double>& x,
                  const TrainOptions& opt, const Callback& cb, const Interrupt& intr) {
    Model model(net, pb, rhs);  // validates the network and the problem
    const std::size_t P = model.n_params(), K = x.size(), R = K * static_cast<std::size_t>(net.m);
    if (p.size() != P)
        throw invalid_argument("ode: " + std::to_string(p.size()) + " parameters given for a network of " +
                               std::to_string(P));
    if (K < 1) throw invalid_argument("ode: no collocation points");
    for (double v : x)
        if (!std::isfinite(v)) throw invalid_argument("ode: collocation points must be finite");
    if (opt.epochs < 0) throw invalid_argument("ode: epochs must be >= 0");
    Stop stop(&intr);
    TrainResult res;
    std::vector<double> r(R), g(P), rn(R), best;
    double loss = 0, best_loss = std::numeric_limits<double>::infinity();
    auto keep = [&]() {
        res.loss_history.push_back(loss);
        if (loss < best_loss) {
            best_loss = loss;
            best = p;
        }
    };
    auto report = [&](int epoch) -> bool {
        if (stop()) {
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
    auto interrupted = [&]() {
        res.interrupted = true;
        res.stop = "interrupted";
    };
    int epoch = 0;
    if (opt.optimizer == Optimizer::LM) {
        // Jt: one row per parameter, residuals contiguous (padded to 8 with zeros)
        const std::size_t ldj = (R + 7) / 8 * 8;
        const bool dual = P > R;  // (J D^-1 J^T + lambda I) u = r, step = -D^-1 J^T u
        const std::size_t n = dual ? R : P;
        const double need = bytes(static_cast<double>(P), static_cast<double>(ldj)) +
                            2 * bytes(static_cast<double>(n), static_cast<double>(n));
        if (need > opt.max_bytes)
            throw invalid_argument("ode: Levenberg-Marquardt would need " + std::to_string(need / (1u << 20)) +
                                   " MB for " + std::to_string(P) + " parameters and " + std::to_string(R) +
                                   " residuals; use fewer points or units, or method='adam'");
        std::vector<double> Jt(P * ldj, 0.0), A(n * n), Mx(n * n), step(n), D(P), pn(P), jr(P);
        if (!model.jacobian(p.data(), x.data(), K, r.data(), Jt.data(), ldj, &stop)) {
            interrupted();
            res.params = p;
            return res;
        }
        loss = sumsq(r, R) / static_cast<double>(R);
        if (!std::isfinite(loss)) nonfinite(0);
        keep();
        // damping: Nielsen's update from the gain ratio rho (actual over predicted reduction)
        double lambda = 1e-3, nu = 2.0;
        while (epoch < opt.epochs && loss > opt.tol) {
            ++epoch;
            // -J^T r, the Marquardt scaling D = diag(J^T J) + 1e-12 max, and the normal matrix
            // (whose diagonal is D's sums, when it is J^T J)
            bool ok = dual || linalg::gram_rows(Jt.data(), P, ldj, ldj, A.data(), n, &stop);
            double dmax = 0;
            for (std::size_t a = 0; a < P; ++a) {
                const double* row = Jt.data() + a * ldj;
                jr[a] = -linalg::dot(row, r.data(), R);
                D[a] = dual ? linalg::dot(row, row, R) : A[a * n + a];
                dmax = std::max(dmax, D[a]);
            }
            for (double& d : D) d += 1e-12 * dmax;
            if (dual) {
                std::vector<double>& w = pn;  // 1 / D, scratch until the damping loop
                for (std::size_t a = 0; a < P; ++a) w[a] = 1.0 / D[a];
                std::fill(A.begin(), A.end(), 0.0);
                ok = linalg::gram_cols(Jt.data(), P, ldj, w.data(), R, 1.0, A.data(), n, &stop);
            }
            if (!ok) {
                interrupted();
                break;
            }
            bool accepted = false;
            while (!accepted) {
                for (std::size_t a = 0; a < n; ++a) {
                    const double* src = A.data() + a * n;
                    double* dst = Mx.data() + a * n;
                    std::copy(src + a, src + n, dst + a);
                    dst[a] += lambda * (dual ? 1.0 : D[a]);
                }
                const int chol = linalg::cholesky(Mx.data(), n, n, &stop);
                if (chol == 1) break;
                if (chol == 0) {
                    // the step d (pn = p + d) and the reduction the model predicts for
                    // sum r^2 / 2: (d . (-J^T r) + lambda d . D d) / 2
                    double pred = 0;
                    if (dual) {
                        for (std::size_t t = 0; t < R; ++t) step[t] = r[t];
                        linalg::cholesky_solve(Mx.data(), n, n, step.data());
                        for (std::size_t a = 0; a < P; ++a) {
                            const double* row = Jt.data() + a * ldj;
                            double s = 0;
                            for (std::size_t t = 0; t < R; ++t) s += row[t] * step[t];
                            const double d = -s / D[a];
                            pn[a] = p[a] + d;
                            pred += d * jr[a] + lambda * d * D[a] * d;
                        }
                    } else {
                        std::copy(jr.begin(), jr.end(), step.begin());
                        linalg::cholesky_solve(Mx.data(), n, n, step.data());
                        for (std::size_t a = 0; a < P; ++a) {
                            pn[a] = p[a] + step[a];
                            pred += step[a] * jr[a] + lambda * step[a] * D[a] * step[a];
                        }
                    }
                    pred *= 0.5;
                    if (!model.residuals(pn.data(), x.data(), K, rn.data(), nullptr, nullptr, &stop)) break;
                    const double ln = sumsq(rn, R) / static_cast<double>(R);
                    if (std::isfinite(ln) && ln < loss) {
                        const double rho = 0.5 * (loss - ln) * static_cast<double>(R) / std::max(pred, 1e-300);
                        const double c = 2.0 * rho - 1.0;
                        p.swap(pn);
                        if (!model.jacobian(p.data(), x.data(), K, r.data(), Jt.data(), ldj, &stop)) {
                            r.swap(rn);  // p's residuals; its Jacobian is not needed any more
                            loss = ln;
                            break;
                        }
                        loss = sumsq(r, R) / static_cast<double>(R);
                        lambda = std::max(lambda * std::max(1.0 / 3.0, 1.0 - c * c * c), 1e-15);
                        nu = 2.0;
                        accepted = true;
                        break;
                    }
                }
                lambda *= nu;
                nu *= 2.0;
                if (lambda > 1e16) break;
            }
            if (stop.stopped()) {
                if (accepted || loss < best_loss) keep();
                interrupted();
                break;
            }
            keep();
            if (!accepted) {
                res.stop = "converged: no step reduces the loss further";
                break;
            }
            // stalled: too little progress over the last stall_window epochs (a floor reached)
            const std::size_t h = res.loss_history.size(), w = static_cast<std::size_t>(std::max(1, opt.stall_window));
            if (opt.stall && h > w + w / 2 && loss > opt.stall_ratio * res.loss_history[h - 1 - w]) {
                res.stop = "converged: the loss stopped decreasing";
                break;
            }
            if (report(epoch)) break;
        }
    } else if (opt.optimizer == Optimizer::Adam) {
        std::vector<double> m1(P, 0.0), m2(P, 0.0);
        loss = model.loss_gradient(p.data(), x.data(), K, r.data(), g.data());
        if (!std::isfinite(loss)) nonfinite(0);
        keep();
        while (epoch < opt.epochs && loss > opt.tol) {
            ++epoch;
            adam_step(p, g, m1, m2, epoch, opt.lr);
            loss = model.loss_gradient(p.data(), x.data(), K, r.data(), g.data());
            if (!std::isfinite(loss)) nonfinite(epoch);
            keep();
            if (report(epoch)) break;
        }
    } else {  // L-BFGS with Armijo backtracking; the last H pairs in a ring
        const std::size_t H = 10;
        std::vector<double> S(H * P), Y(H * P), rho(H), gn(P), pn(P), d(P), alpha(H);
        std::size_t count = 0, head = 0;  // pairs stored, index of the oldest
        loss = model.loss_gradient(p.data(), x.data(), K, r.data(), g.data());
        if (!std::isfinite(loss)) nonfinite(0);
        keep();
        auto pair = [&](std::size_t i) { return (head + i) % H; };  // i-th oldest
        while (epoch < opt.epochs && loss > opt.tol) {
            ++epoch;
            d = g;  // two-loop recursion: d = H g
            for (std::size_t i = count; i-- > 0;) {
                const double* s = S.data() + pair(i) * P;
                const double* y = Y.data() + pair(i) * P;
                double t = 0;
                for (std::size_t a = 0; a < P; ++a) t += s[a] * d[a];
                alpha[i] = rho[pair(i)] * t;
                for (std::size_t a = 0; a < P; ++a) d[a] -= alpha[i] * y[a];
            }
            if (count) {
                const double* s = S.data() + pair(count - 1) * P;
                const double* y = Y.data() + pair(count - 1) * P;
                double sy = 0, yy = 0;
                for (std::size_t a = 0; a < P; ++a) {
                    sy += s[a] * y[a];
                    yy += y[a] * y[a];
                }
                for (double& v : d) v *= sy / yy;
            }
            for (std::size_t i = 0; i < count; ++i) {
                const double* s = S.data() + pair(i) * P;
                const double* y = Y.data() + pair(i) * P;
                double t = 0;
                for (std::size_t a = 0; a < P; ++a) t += y[a] * d[a];
                const double beta = rho[pair(i)] * t;
                for (std::size_t a = 0; a < P; ++a) d[a] += s[a] * (alpha[i] - beta);
            }
            double gd = 0;
            for (std::size_t a = 0; a < P; ++a) gd += g[a] * d[a];
            if (!(gd > 0)) {  // not a descent direction: restart from the gradient
                d = g;
                gd = 0;
                for (double v : g) gd += v * v;
                count = head = 0;
            }
            double stepsize = 1.0;
            bool ok = false;
            for (int ls = 0; ls < 40; ++ls) {
                for (std::size_t a = 0; a < P; ++a) pn[a] = p[a] - stepsize * d[a];
                if (!model.residuals(pn.data(), x.data(), K, rn.data(), nullptr, nullptr, &stop)) break;
                const double ln = sumsq(rn, R) / static_cast<double>(R);
                if (std::isfinite(ln) && ln <= loss - 1e-4 * stepsize * gd) {
                    ok = true;
                    break;
                }
                stepsize *= 0.5;
            }
            if (stop.stopped()) {
                interrupted();
                break;
            }
            if (!ok) {
                res.stop = "converged: the line search found no decrease";
                break;
            }
            loss = model.loss_gradient(pn.data(), x.data(), K, r.data(), gn.data());
            double sy = 0;
            for (std::size_t a = 0; a < P; ++a) sy += (pn[a] - p[a]) * (gn[a] - g[a]);
            if (sy > 1e-300) {  // a curvature pair: into the free slot, or over the oldest
                const std::size_t slot = count < H ? pair(count) : head;
                double* s = S.data() + slot * P;
                double* y = Y.data() + slot * P;
                for (std::size_t a = 0; a < P; ++a) {
                    s[a] = pn[a] - p[a];
                    y[a] = gn[a] - g[a];
                }
                rho[slot] = 1.0 / sy;
                if (count < H)
                    ++count;
                else
                    head = (head + 1) % H;
            }
            p.swap(pn);
            g.swap(gn);
            keep();
            if (report(epoch)) break;
        }
    }
    if (res.stop.empty()) res.stop = loss <= opt.tol ? "converged: loss below tol" : "reached the epoch limit";
    res.epochs = epoch;
    res.params = best.empty() ? p : best;
    return res;
}

}  // namespace ode
}  // namespace fastcalc
