#include <fastcalc/descent.hpp>

#include "program_exec.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <exception>

#ifdef FASTCALC_HAVE_OPENMP
#include <omp.h>
#endif

namespace fastcalc {

namespace {

// SoA state of L runs (row d of x/g/s1/s2 holds coordinate d of every lane). act is 1.0 while a
// run is active: masks are doubles so the update loops vectorize as blends.
struct Lanes {
    std::size_t L, n;
    std::vector<double> x, g, f, s1, s2, lr, lim, gn2, act, stop;
    std::vector<double> xt, gt, ft, alpha, srch, F0;  // line search
    Lanes(std::size_t L_, std::size_t n_, bool ls)
        : L(L_), n(n_), x(n_ * L_), g(n_ * L_), f(L_), s1(n_ * L_), s2(n_ * L_), lr(L_), lim(L_), gn2(L_),
          act(L_), stop(L_) {
        if (ls) xt.resize(n * L), gt.resize(n * L), ft.resize(L), alpha.resize(L), srch.resize(L), F0.resize(L);
    }
};

FASTCALC_INLINE std::uint64_t bits(double v) {
    std::uint64_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

// Loads runs [j0, j0 + m) into lanes (the rest of the lanes stay inactive).
void load(Lanes& S, std::size_t j0, std::size_t m, const double* x0, const double* lr, std::size_t lr_count,
          const DescentOptions& o) {
    const std::size_t L = S.L, n = S.n;
    for (std::size_t j = 0; j < L; ++j) {
        const bool real = j < m;
        double xm = 1.0;
        for (std::size_t d = 0; d < n; ++d) {
            const double v = real ? x0[(j0 + j) * n + d] : 0.0;
            S.x[d * L + j] = v;
            if (std::fabs(v) > xm) xm = std::fabs(v);
        }
        S.lr[j] = real ? lr[lr_count == 1 ? 0 : j0 + j] : 0.0;
        S.lim[j] = xm * o.blowup;
        S.act[j] = real ? 1.0 : 0.0;
    }
    std::fill(S.s1.begin(), S.s1.end(), 0.0);
    std::fill(S.s2.begin(), S.s2.end(), 0.0);
}

void record(const Lanes& S, std::size_t j0, std::size_t m, std::size_t row, DescentResult& R) {
    const std::size_t n = S.n, L = S.L;
    double* H = R.history.data() + (row * R.k + j0) * n;
    for (std::size_t j = 0; j < m; ++j)
        for (std::size_t d = 0; d < n; ++d) H[j * n + d] = S.x[d * L + j];
    std::copy(S.f.begin(), S.f.begin() + static_cast<std::ptrdiff_t>(m), R.fun_history.begin() + static_cast<std::ptrdiff_t>(row * R.k + j0));
}

// Runs lanes from t = 0 to the end. ev(x, f, g, mask) evaluates f and g at the lanes with a
// non-zero mask (it may compute the others too). poll() is called every poll_every steps.
// LT > 0: the lane count at compile time (the fast driver), so the lane loops unroll.
template <std::size_t LT, class Eval, class Poll>
FASTCALC_INLINE void run_lanes(Lanes& S, std::size_t j0, std::size_t m, const DescentOptions& o, DescentResult& R,
                               Eval& ev, Poll& poll, std::size_t poll_every) {
    const std::size_t L = LT ? LT : S.L, n = S.n, every = std::max<std::size_t>(o.history_every, 1);
    const double sg = o.maximize ? -1.0 : 1.0, tol2 = o.tol > 0 ? o.tol * o.tol : -1.0;
    const double mu = o.momentum, b1 = o.beta1, b2 = o.beta2, eps = o.eps;
    double* __restrict x = S.x.data();
    double* __restrict g = S.g.data();
    double* __restrict f = S.f.data();
    double* __restrict s1 = S.s1.data();
    double* __restrict s2 = S.s2.data();
    const double* __restrict lr = S.lr.data();
    double* __restrict act = S.act.data();
    double* __restrict gn2 = S.gn2.data();
    double* __restrict stop = S.stop.data();
    const double* __restrict lim = S.lim.data();
    ev(x, f, g, act);
    std::size_t t = 0;
    for (;; ++t) {
        if (o.history && t % every == 0) record(S, j0, m, t / every, R);
        // Stop tests, vectorized (bit operations, no branches); the per-run bookkeeping only
        // when some run stops. Integer reductions: a floating-point sum would be a serial chain.
        // The value is tested at the last step only (iterate and gradient every step): the
        // native kernel then need not compute it, and a blow-up shows in x or g anyway.
        const bool last = t == o.steps;
        for (std::size_t j = 0; j < L; ++j) gn2[j] = 0.0, stop[j] = (last && !(std::fabs(f[j]) <= DBL_MAX)) ? 2.0 : 0.0;
        for (std::size_t d = 0; d < n; ++d)
            for (std::size_t j = 0; j < L; ++j) {
                const double gd = g[d * L + j];
                gn2[j] += gd * gd;
                stop[j] = std::fabs(x[d * L + j]) <= lim[j] ? stop[j] : 2.0;
            }
        std::uint64_t any_stop = 0, any_act = 0;  // OR of the bits of non-negative doubles
        for (std::size_t j = 0; j < L; ++j) {
            const double s0 = gn2[j] <= DBL_MAX ? stop[j] : 2.0;
            const double s = s0 != 0.0 ? s0 : (gn2[j] < tol2 ? 1.0 : 0.0);
            stop[j] = s;
            any_stop |= bits(act[j] * s);
            any_act |= bits(act[j]);
        }
        if (any_stop || t == o.steps) {
            for (std::size_t j = 0; j < m; ++j) {
                if (act[j] == 0.0 || (stop[j] == 0.0 && t != o.steps)) continue;
                act[j] = 0.0;
                R.nit[j0 + j] = static_cast<std::int64_t>(t);
                R.fun[j0 + j] = f[j];
                R.grad_norm[j0 + j] = std::sqrt(gn2[j]);
                R.diverged[j0 + j] = stop[j] == 2.0;
                R.converged[j0 + j] = stop[j] == 1.0;
            }
            any_act = 0;
            for (std::size_t j = 0; j < L; ++j) any_act |= bits(act[j]);
        }
        if (!any_act) break;
        if (o.line_search) {
            // Armijo backtracking per run, from lr, halving; the accepted trial gives f and g.
            double* xt = S.xt.data();
            for (std::size_t j = 0; j < L; ++j) S.alpha[j] = lr[j], S.srch[j] = act[j], S.F0[j] = sg * f[j];
            for (int it = 0; it < o.max_backtracks; ++it) {
                for (std::size_t d = 0; d < n; ++d)
                    for (std::size_t j = 0; j < L; ++j) xt[d * L + j] = x[d * L + j] - S.alpha[j] * (sg * g[d * L + j]);
                ev(xt, S.ft.data(), S.gt.data(), S.srch.data());
                bool more = false;
                for (std::size_t j = 0; j < L; ++j) {
                    if (S.srch[j] == 0.0) continue;
                    const double Ft = sg * S.ft[j];
                    if (Ft <= S.F0[j] - o.armijo_c * S.alpha[j] * gn2[j] || it + 1 == o.max_backtracks) {
                        S.srch[j] = 0.0;
                        f[j] = S.ft[j];
                        for (std::size_t d = 0; d < n; ++d) x[d * L + j] = xt[d * L + j], g[d * L + j] = S.gt[d * L + j];
                    } else {
                        S.alpha[j] *= 0.5;
                        more = true;
                    }
                }
                if (!more) break;
            }
        } else {
            switch (o.method) {
                case DescentMethod::GD:
                    for (std::size_t d = 0; d < n; ++d)
                        for (std::size_t j = 0; j < L; ++j) {
                            const std::size_t i = d * L + j;
                            const double xn = x[i] - lr[j] * (sg * g[i]);
                            x[i] = act[j] != 0.0 ? xn : x[i];
                        }
                    break;
                case DescentMethod::Momentum:
                case DescentMethod::Nesterov: {
                    const bool nest = o.method == DescentMethod::Nesterov;
                    for (std::size_t d = 0; d < n; ++d)
                        for (std::size_t j = 0; j < L; ++j) {
                            const std::size_t i = d * L + j;
                            const double G = sg * g[i];
                            const double v = mu * s1[i] + G;
                            const double xn = x[i] - lr[j] * (nest ? G + mu * v : v);
                            const bool a = act[j] != 0.0;
                            s1[i] = a ? v : s1[i];
                            x[i] = a ? xn : x[i];
                        }
                    break;
                }
                case DescentMethod::Adam: {
                    const double c1 = 1.0 - std::pow(b1, static_cast<double>(t + 1));
                    const double c2 = 1.0 - std::pow(b2, static_cast<double>(t + 1));
                    for (std::size_t d = 0; d < n; ++d)
                        for (std::size_t j = 0; j < L; ++j) {
                            const std::size_t i = d * L + j;
                            const double G = sg * g[i];
                            const double mm = b1 * s1[i] + (1.0 - b1) * G;
                            const double vv = b2 * s2[i] + (1.0 - b2) * (G * G);
                            const double xn = x[i] - lr[j] * (mm / c1) / (std::sqrt(vv / c2) + eps);
                            const bool a = act[j] != 0.0;
                            s1[i] = a ? mm : s1[i];
                            s2[i] = a ? vv : s2[i];
                            x[i] = a ? xn : x[i];
                        }
                    break;
                }
            }
            ev(x, f, g, act);
        }
        if ((t + 1) % poll_every == 0) poll();
    }
    if (o.history)  // frozen runs keep their last iterate in the remaining rows
        for (std::size_t row = t / every + 1; row < R.n_hist; ++row) record(S, j0, m, row, R);
    for (std::size_t j = 0; j < m; ++j)
        for (std::size_t d = 0; d < n; ++d) R.x[(j0 + j) * n + d] = x[d * L + j];
}

// The step of run_lanes for one lane (the same formulas, so the same bits).
FASTCALC_INLINE void step_lane(Lanes& S, std::size_t j, std::size_t t, const DescentOptions& o, double sg) {
    const std::size_t L = S.L;
    const double c1 = 1.0 - std::pow(o.beta1, static_cast<double>(t + 1));
    const double c2 = 1.0 - std::pow(o.beta2, static_cast<double>(t + 1));
    for (std::size_t d = 0; d < S.n; ++d) {
        const std::size_t i = d * L + j;
        const double G = sg * S.g[i], lr = S.lr[j];
        switch (o.method) {
            case DescentMethod::GD: S.x[i] = S.x[i] - lr * G; break;
            case DescentMethod::Momentum:
            case DescentMethod::Nesterov: {
                const double v = o.momentum * S.s1[i] + G;
                S.x[i] = S.x[i] - lr * (o.method == DescentMethod::Nesterov ? G + o.momentum * v : v);
                S.s1[i] = v;
                break;
            }
            case DescentMethod::Adam: {
                const double mm = o.beta1 * S.s1[i] + (1.0 - o.beta1) * G;
                const double vv = o.beta2 * S.s2[i] + (1.0 - o.beta2) * (G * G);
                S.x[i] = S.x[i] - lr * (mm / c1) / (std::sqrt(vv / c2) + o.eps);
                S.s1[i] = mm, S.s2[i] = vv;
                break;
            }
        }
    }
}

// A compiled step kernel (FusedStep). It runs the active lanes, compacted to a prefix, with
// no masks; when some lane must stop at step t it returns with the state at step t, and this
// code (the interpreter) evaluates the block there, finishes the stopped runs, applies step t
// to the others (step_lane), and compacts. Same bits as run_lanes.
template <class Kernel, class Eval, class Poll>
FASTCALC_INLINE void run_lanes_fused(Lanes& S, std::size_t j0, std::size_t m, const DescentOptions& o,
                                     DescentResult& R, Kernel& kernel, Eval& ev, Poll& poll) {
    constexpr std::size_t L = 64;
    const std::size_t n = S.n, every = std::max<std::size_t>(o.history_every, 1);
    const double sg = o.maximize ? -1.0 : 1.0, tol2 = o.tol > 0 ? o.tol * o.tol : -1.0;
    std::vector<std::size_t> run(m);  // lane -> run index
    for (std::size_t j = 0; j < m; ++j) run[j] = j0 + j;
    std::vector<double> xb(n * L), s1b(n * L), s2b(n * L);
    std::size_t ma = m;
    auto pad = [&] {  // dead lanes [ma, 64) copy lane 0: finite, and stop no earlier than it
        for (std::size_t j = ma; j < L; ++j) {
            for (std::size_t d = 0; d < n; ++d) {
                S.x[d * L + j] = ma ? S.x[d * L] : 0.0;
                S.s1[d * L + j] = ma ? S.s1[d * L] : 0.0;
                S.s2[d * L + j] = ma ? S.s2[d * L] : 0.0;
            }
            S.lr[j] = ma ? S.lr[0] : 1.0;
            S.lim[j] = ma ? S.lim[0] : HUGE_VAL;
        }
    };
    auto finish = [&](std::size_t j, std::size_t t, double code) {
        double gn2 = 0.0;
        for (std::size_t d = 0; d < n; ++d) gn2 += S.g[d * L + j] * S.g[d * L + j];
        const std::size_t r = run[j];
        R.nit[r] = static_cast<std::int64_t>(t);
        R.fun[r] = S.f[j];
        R.grad_norm[r] = std::sqrt(gn2);
        R.diverged[r] = code == 2.0;
        R.converged[r] = code == 1.0;
        for (std::size_t d = 0; d < n; ++d) R.x[r * n + d] = S.x[d * L + j];
    };
    auto record_x = [&](std::size_t t) {
        for (std::size_t j = 0; j < ma; ++j)
            for (std::size_t d = 0; d < n; ++d) R.history[((t / every) * R.k + run[j]) * n + d] = S.x[d * L + j];
        ev(S.x.data(), S.f.data(), S.g.data(), S.act.data());
        for (std::size_t j = 0; j < ma; ++j) R.fun_history[(t / every) * R.k + run[j]] = S.f[j];
    };
    auto code_of = [&](std::size_t j, bool last) {  // run_lanes' stop test for one lane
        double gn2 = 0.0, st = (last && !(std::fabs(S.f[j]) <= DBL_MAX)) ? 2.0 : 0.0;
        for (std::size_t d = 0; d < n; ++d) {
            gn2 += S.g[d * L + j] * S.g[d * L + j];
            st = std::fabs(S.x[d * L + j]) <= S.lim[j] ? st : 2.0;
        }
        st = gn2 <= DBL_MAX ? st : 2.0;
        return st != 0.0 ? st : (gn2 < tol2 ? 1.0 : 0.0);
    };
    pad();
    std::size_t t = 0, polled = 0;
    while (ma) {
        if (o.history && t % every == 0) record_x(t);
        if (t == o.steps) break;
        std::size_t t1 = std::min(o.steps, t + 4096);
        if (o.history) t1 = std::min(t1, (t / every + 1) * every);
        const long mp = static_cast<long>((ma + 7) / 8 * 8);
        const auto tr = static_cast<std::size_t>(kernel(static_cast<long>(t), static_cast<long>(t1), mp, S.x.data(),
                                                        xb.data(), S.s1.data(), s1b.data(), S.s2.data(), s2b.data(),
                                                        S.lr.data(), S.lim.data(), tol2, o.momentum, o.beta1,
                                                        o.beta2, o.eps));
        if (tr == t1) {
            t = t1;
        } else {  // some lane stops at step tr
            if (o.history && tr % every == 0 && tr != t) record_x(tr);
            ev(S.x.data(), S.f.data(), S.g.data(), S.act.data());
            for (std::size_t j = ma; j-- > 0;) {
                const double c = code_of(j, false);
                if (c != 0.0) {
                    finish(j, tr, c);
                    --ma;  // move the last active lane here
                    for (double* v : {S.x.data(), S.g.data(), S.s1.data(), S.s2.data()})
                        for (std::size_t d = 0; d < n; ++d) v[d * L + j] = v[d * L + ma];
                    S.lr[j] = S.lr[ma], S.lim[j] = S.lim[ma], run[j] = run[ma];
                }
            }
            for (std::size_t j = 0; j < ma; ++j) step_lane(S, j, tr, o, sg);
            pad();
            t = tr + 1;
        }
        if (t - polled >= 4096) polled = t, poll();
    }
    if (ma) {  // t == steps: finish the rest
        ev(S.x.data(), S.f.data(), S.g.data(), S.act.data());
        for (std::size_t j = 0; j < ma; ++j) finish(j, o.steps, code_of(j, true));
    }
    if (o.history)  // stopped runs keep their last iterate in the later rows
        for (std::size_t r = j0; r < j0 + m; ++r)
            for (std::size_t row = static_cast<std::size_t>(R.nit[r]) / every + 1; row < R.n_hist; ++row) {
                for (std::size_t d = 0; d < n; ++d) R.history[(row * R.k + r) * n + d] = R.x[r * n + d];
                R.fun_history[row * R.k + r] = R.fun[r];
            }
}

DescentResult make_result(std::size_t k, std::size_t n, const DescentOptions& o) {
    DescentResult R;
    R.k = k, R.n = n;
    R.x.resize(k * n);
    R.fun.resize(k);
    R.grad_norm.resize(k);
    R.nit.resize(k);
    R.converged.resize(k);
    R.diverged.resize(k);
    if (o.history) {
        R.n_hist = o.steps / std::max<std::size_t>(o.history_every, 1) + 1;
        R.history.resize(R.n_hist * k * n);
        R.fun_history.resize(R.n_hist * k);
    }
    return R;
}

void check(std::size_t k, const double* lr, std::size_t lr_count, const DescentOptions& o) {
    if (lr_count != 1 && lr_count != k) throw invalid_argument("lr must be a scalar or have one entry per run");
    for (std::size_t i = 0; i < lr_count; ++i)
        if (!(lr[i] > 0) || !std::isfinite(lr[i])) throw invalid_argument("lr must be positive and finite");
    if (o.line_search && o.method != DescentMethod::GD) throw invalid_argument("line_search needs method 'gd'");
}

// Gathers the masked lanes into one batch for a GradientProvider.
struct ProviderEval {
    const GradientProvider& p;
    std::size_t L, n;
    std::vector<double> X, F, G;
    std::vector<std::size_t> idx;
    void operator()(const double* x, double* f, double* g, const double* mask) {
        idx.clear();
        for (std::size_t j = 0; j < L; ++j)
            if (mask[j] != 0.0) idx.push_back(j);
        const std::size_t m = idx.size();
        if (!m) return;
        X.resize(m * n), F.resize(m), G.resize(m * n);
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t d = 0; d < n; ++d) X[i * n + d] = x[d * L + idx[i]];
        p.value_and_grad(X.data(), m, F.data(), G.data());
        for (std::size_t i = 0; i < m; ++i) {
            f[idx[i]] = F[i];
            for (std::size_t d = 0; d < n; ++d) g[d * L + idx[i]] = G[i * n + d];
        }
    }
};

// The compiled program over a block of lanes (all lanes: masked ones cost nothing extra).
template <std::size_t LB>
struct BlockEval {
    const Program::Instr* code;
    std::size_t ncode, n;
    const std::size_t* res;
    double* S;
    FASTCALC_INLINE void operator()(const double* x, double* f, double* g, const double*) {
        std::memcpy(S, x, n * LB * sizeof(double));
        prog::exec<LB>(code, ncode, S, LB);
        std::memcpy(f, S + res[0] * LB, LB * sizeof(double));
        for (std::size_t d = 0; d < n; ++d) std::memcpy(g + d * LB, S + res[1 + d] * LB, LB * sizeof(double));
    }
};

// FusedStep's contract run by the interpreter on the gradient-only code: no masks (the lanes
// are compacted), stop test before any update, so no double buffering.
struct InterpStep {
    const Program::Instr* code;
    std::size_t ncode, n;
    const std::size_t* gslot;  // slots of the gradient components
    double* S;
    DescentMethod method;
    double sg;
    FASTCALC_INLINE long operator()(long t0, long t1, long, double* x, double*, double* s1, double*, double* s2,
                                    double*, const double* lr, const double* lim, double tol2, double mu, double b1,
                                    double b2, double eps) const {
        constexpr std::size_t L = 64;
        double gn2[L];
        for (long t = t0; t < t1; ++t) {
            std::memcpy(S, x, n * L * sizeof(double));
            prog::exec<L>(code, ncode, S, L);
            for (std::size_t j = 0; j < L; ++j) gn2[j] = 0.0;
            std::uint64_t bad = 0;
            for (std::size_t d = 0; d < n; ++d) {
                const double* g = S + gslot[d] * L;
                for (std::size_t j = 0; j < L; ++j) {
                    gn2[j] += g[j] * g[j];
                    bad |= !(std::fabs(x[d * L + j]) <= lim[j]);
                }
            }
            for (std::size_t j = 0; j < L; ++j) bad |= !(gn2[j] <= DBL_MAX) | (gn2[j] < tol2);
            if (bad) return t;
            const double c1 = 1.0 - std::pow(b1, static_cast<double>(t + 1));
            const double c2 = 1.0 - std::pow(b2, static_cast<double>(t + 1));
            for (std::size_t d = 0; d < n; ++d) {
                const double* __restrict g = S + gslot[d] * L;
                double* __restrict xd = x + d * L;
                double* __restrict m1 = s1 + d * L;
                double* __restrict m2 = s2 + d * L;
                switch (method) {
                    case DescentMethod::GD:
                        for (std::size_t j = 0; j < L; ++j) xd[j] = xd[j] - lr[j] * (sg * g[j]);
                        break;
                    case DescentMethod::Momentum:
                    case DescentMethod::Nesterov: {
                        const bool nest = method == DescentMethod::Nesterov;
                        for (std::size_t j = 0; j < L; ++j) {
                            const double G = sg * g[j], v = mu * m1[j] + G;
                            xd[j] = xd[j] - lr[j] * (nest ? G + mu * v : v);
                            m1[j] = v;
                        }
                        break;
                    }
                    case DescentMethod::Adam:
                        for (std::size_t j = 0; j < L; ++j) {
                            const double G = sg * g[j];
                            const double mm = b1 * m1[j] + (1.0 - b1) * G;
                            const double vv = b2 * m2[j] + (1.0 - b2) * (G * G);
                            xd[j] = xd[j] - lr[j] * (mm / c1) / (std::sqrt(vv / c2) + eps);
                            m1[j] = mm, m2[j] = vv;
                        }
                        break;
                }
            }
        }
        return t1;
    }
};

constexpr std::size_t LB = 64;  // lanes per block: slots of a typical tape stay in L1

struct FastArgs {
    const Program* p;
    const Program* grad_only;  // p without the value's instructions (the interpreted step kernel)
    const double *x0, *lr;
    std::size_t k, lr_count;
    const DescentOptions* o;
    DescentResult* R;
    const Interrupt* intr;
};

FASTCALC_CLONES void run_blocks(const FastArgs& a, std::size_t b0, std::size_t b1, bool may_poll) {
    const Program& p = *a.p;
    const std::size_t n = static_cast<std::size_t>(p.n_vars());
    Lanes S(LB, n, a.o->line_search);
    std::vector<double> slots(p.n_slots() * LB);
    p.init_block(slots.data(), LB);
    std::vector<std::size_t> res(static_cast<std::size_t>(p.n_results()));
    for (std::size_t r = 0; r < res.size(); ++r) res[r] = p.result_slot(static_cast<int>(r));
    BlockEval<LB> ev{p.code().data(), p.code().size(), n, res.data(), slots.data()};
    auto poll = [&] { if (may_poll) a.intr->check(); };
    std::vector<std::size_t> gres(n);
    std::vector<double> gslots;
    InterpStep interp{nullptr, 0, n, gres.data(), nullptr, a.o->method, a.o->maximize ? -1.0 : 1.0};
    if (a.grad_only) {
        const Program& q = *a.grad_only;
        for (std::size_t d = 0; d < n; ++d) gres[d] = q.result_slot(static_cast<int>(1 + d));
        gslots.resize(q.n_slots() * LB);
        q.init_block(gslots.data(), LB);
        interp.code = q.code().data(), interp.ncode = q.code().size(), interp.S = gslots.data();
    }
    for (std::size_t b = b0; b < b1; ++b) {
        const std::size_t j0 = b * LB, m = std::min(LB, a.k - j0);
        load(S, j0, m, a.x0, a.lr, a.lr_count, *a.o);
        if (a.o->fused && !a.o->line_search)
            run_lanes_fused(S, j0, m, *a.o, *a.R, a.o->fused, ev, poll);
        else if (a.grad_only && !a.o->line_search)
            run_lanes_fused(S, j0, m, *a.o, *a.R, interp, ev, poll);
        else
            run_lanes<LB>(S, j0, m, *a.o, *a.R, ev, poll, 4096);
    }
}

}  // namespace

void ProgramGradient::value_and_grad(const double* X, std::size_t k, double* f, double* G) const {
    const std::size_t n = dim(), nr = static_cast<std::size_t>(p_.n_results());
    std::vector<double> R(k * nr);
    p_.eval(X, k, R.data());
    for (std::size_t i = 0; i < k; ++i) {
        f[i] = R[i * nr];
        for (std::size_t d = 0; d < n; ++d) G[i * n + d] = R[i * nr + 1 + d];
    }
}

DescentResult descent(const GradientProvider& fn, const double* x0, std::size_t k, const double* lr,
                      std::size_t lr_count, const DescentOptions& o, const Interrupt& intr) {
    check(k, lr, lr_count, o);
    const std::size_t n = fn.dim();
    DescentResult R = make_result(k, n, o);
    if (!k) return R;
    Lanes S(k, n, o.line_search);
    load(S, 0, k, x0, lr, lr_count, o);
    ProviderEval ev{fn, k, n, {}, {}, {}, {}};
    auto poll = [&] { intr.check(); };
    run_lanes<0>(S, 0, k, o, R, ev, poll, std::max<std::size_t>(1, (std::size_t(1) << 16) / k));
    return R;
}

DescentResult descent(const Program& p, const double* x0, std::size_t k, const double* lr, std::size_t lr_count,
                      const DescentOptions& o, const Interrupt& intr) {
    check(k, lr, lr_count, o);
    if (p.n_results() < 1 + p.n_vars() || p.n_wrt() != p.n_vars())
        throw invalid_argument("descent needs a program with the gradient in all variables");
    const std::size_t n = static_cast<std::size_t>(p.n_vars());
    DescentResult R = make_result(k, n, o);
    const std::size_t nb = (k + LB - 1) / LB;
    const Program grad_only = p.gradient_only();
    FastArgs a{&p, &grad_only, x0, lr, k, lr_count, &o, &R, &intr};
#ifdef FASTCALC_HAVE_OPENMP
    const int nt = o.threads > 0 ? o.threads : omp_get_max_threads();
    if (nt > 1 && nb > 1) {
        std::exception_ptr err;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
        for (std::size_t b = 0; b < nb; ++b) {
            if (err) continue;
            try {
                run_blocks(a, b, b + 1, omp_get_thread_num() == 0);
            } catch (...) {
#pragma omp critical(fastcalc_descent_err)
                if (!err) err = std::current_exception();
            }
        }
        if (err) std::rethrow_exception(err);
        return R;
    }
#endif
    run_blocks(a, 0, nb, true);
    return R;
}

// ---- MSE of a model over data -------------------------------------------------------------

MSELoss::MSELoss(const Program& model, std::vector<double> X, std::vector<double> y)
    : model_(model), X_(std::move(X)), y_(std::move(y)), N_(y_.size()) {
    nd_ = static_cast<std::size_t>(model.n_vars() - model.n_wrt());
    if (X_.size() != N_ * nd_) throw invalid_argument("x and y must have the same number of data points");
    if (!N_) throw invalid_argument("fit needs at least one data point");
}

void MSELoss::value_and_grad(const double* P, std::size_t k, double* f, double* G) const {
    // Lanes are data points; params broadcast per run. Residual r = model - y, loss mean(r^2),
    // gradient 2 mean(r * d model / d p).
    const std::size_t np = dim(), nv = static_cast<std::size_t>(model_.n_vars());
    const std::vector<int>& wrt = model_.wrt();
    std::vector<int> is_param(nv, -1);
    for (std::size_t i = 0; i < np; ++i) is_param[static_cast<std::size_t>(wrt[i])] = static_cast<int>(i);
    constexpr std::size_t L = 64;
    std::vector<double> S(model_.n_slots() * L);
    model_.init_block(S.data(), L);
    for (std::size_t r = 0; r < k; ++r) {
        double loss = 0.0;
        std::vector<double> acc(np, 0.0);
        for (std::size_t p0 = 0; p0 < N_; p0 += L) {
            const std::size_t m = std::min(L, N_ - p0);
            std::size_t dv = 0;
            for (std::size_t v = 0; v < nv; ++v) {
                double* s = S.data() + v * L;
                if (is_param[v] >= 0) std::fill(s, s + L, P[r * np + static_cast<std::size_t>(is_param[v])]);
                else {
                    for (std::size_t j = 0; j < m; ++j) s[j] = X_[(p0 + j) * nd_ + dv];
                    ++dv;
                }
            }
            model_.run(S.data(), L);
            const double* yv = S.data() + model_.result_slot(0) * L;
            for (std::size_t j = 0; j < m; ++j) {
                const double res = yv[j] - y_[p0 + j];
                loss += res * res;
                for (std::size_t i = 0; i < np; ++i)
                    acc[i] += res * S[model_.result_slot(static_cast<int>(1 + i)) * L + j];
            }
        }
        const double inv = 1.0 / static_cast<double>(N_);
        f[r] = loss * inv;
        for (std::size_t i = 0; i < np; ++i) G[r * np + i] = 2.0 * acc[i] * inv;
    }
}

}  // namespace fastcalc
