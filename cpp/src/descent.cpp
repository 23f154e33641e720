#include <fastcalc/descent.hpp>

#include "blocks.hpp"
#include "clones.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace fastcalc {

namespace {

// a * b, or throw when it overflows size_t.
std::size_t checked_mul(std::size_t a, std::size_t b, const char* what) {
    if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a)
        throw invalid_argument(std::string(what) + " is too large to allocate");
    return a * b;
}

// The rows a block recorded: (rows, m, n) iterates and (rows, m) values of its m runs.
struct History {
    std::vector<double> x, f;
    std::size_t rows = 0;
};

// Where the runs of one block write their results.
struct Out {
    DescentResult& R;
    std::size_t j0;  // first run of the block
    std::size_t m;   // its runs
    History& h;
    void finish(std::size_t r, std::size_t t, double code, double f, double gn2, const double* x, std::size_t stride) {
        const std::size_t n = R.n;
        R.nit[r] = static_cast<std::int64_t>(t);
        R.fun[r] = f;
        R.grad_norm[r] = std::sqrt(gn2);
        R.diverged[r] = code == 2.0;
        R.converged[r] = code == 1.0;
        for (std::size_t d = 0; d < n; ++d) R.x[r * n + d] = x[d * stride];
    }
    // Appends a row: runs given by lane j -> run (j0 + ...); runs already finished from R.
    template <class XAt, class FAt>
    void record(const std::vector<char>& done, XAt x_at, FAt f_at) {
        const std::size_t n = R.n;
        h.x.resize(checked_mul(h.rows + 1, m * n, "the history"));
        h.f.resize((h.rows + 1) * m);
        double* hx = h.x.data() + h.rows * m * n;
        double* hf = h.f.data() + h.rows * m;
        for (std::size_t i = 0; i < m; ++i) {
            const std::size_t r = j0 + i;
            if (done[i]) {
                for (std::size_t d = 0; d < n; ++d) hx[i * n + d] = R.x[r * n + d];
                hf[i] = R.fun[r];
            } else {
                for (std::size_t d = 0; d < n; ++d) hx[i * n + d] = x_at(i, d);
                hf[i] = f_at(i);
            }
        }
        ++h.rows;
    }
};

// ---- the generic driver: masks, one batched evaluation per step --------------------------

// SoA state of L runs (row d of x/g/s1/s2 holds coordinate d of every lane). act is 1.0 while a
// run is active.
struct Lanes {
    std::size_t L, n;
    std::vector<double> x, g, f, s1, s2, lr, lim, gn2, act;
    std::vector<double> xt, gt, ft, alpha, srch, F0;  // line search
    Lanes(std::size_t L_, std::size_t n_, bool ls)
        : L(L_), n(n_), x(n_ * L_), g(n_ * L_), f(L_), s1(n_ * L_), s2(n_ * L_), lr(L_), lim(L_), gn2(L_), act(L_) {
        if (ls) xt.resize(n * L), gt.resize(n * L), ft.resize(L), alpha.resize(L), srch.resize(L), F0.resize(L);
    }
};

// Loads runs [j0, j0 + m) into lanes (the rest of the lanes stay inactive).
void load(Lanes& S, std::size_t j0, std::size_t m, const double* x0, const double* lr, std::size_t lr_count,
          const DescentOptions& o) {
    const std::size_t L = S.L, n = S.n;
    for (std::size_t j = 0; j < L; ++j) {
        const bool real = j < m;
        double xm = 1.0;
        for (std::size_t d = 0; d < n; ++d) {
            const double v = real ? x0[(j0 + j) * n + d] : 0.5;
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

// ev(x, f, g, mask) evaluates f and g at the lanes with a non-zero mask. poll() every poll_every steps.
template <class Eval, class Poll>
void run_generic(Lanes& S, Out& out, const DescentOptions& o, Eval& ev, Poll& poll, std::size_t poll_every) {
    const std::size_t L = S.L, n = S.n, m = out.m, every = o.history_every;
    const StepParams sp = o.step();
    const double sg = sp.sign, tol2 = o.tol > 0 ? o.tol * o.tol : -1.0;
    std::vector<char> done(m, 0);
    auto x_at = [&](std::size_t i, std::size_t d) { return S.x[d * L + i]; };
    auto f_at = [&](std::size_t i) { return S.f[i]; };
    ev(S.x.data(), S.f.data(), S.g.data(), S.act.data());
    for (std::size_t t = 0;; ++t) {
        if (o.history && t % every == 0) out.record(done, x_at, f_at);
        const bool last = t == o.steps;
        std::size_t active = 0;
        for (std::size_t j = 0; j < m; ++j) {
            if (S.act[j] == 0.0) continue;
            double gn2 = 0.0;
            bool inb = true;
            for (std::size_t d = 0; d < n; ++d) {
                const double gd = S.g[d * L + j];
                gn2 += gd * gd;
                inb = inb && std::fabs(S.x[d * L + j]) <= S.lim[j];
            }
            S.gn2[j] = gn2;
            const double code = stop_code(inb, gn2, tol2, last, S.f[j]);
            if (code != 0.0 || last) {
                S.act[j] = 0.0;
                done[j] = 1;
                out.finish(out.j0 + j, t, code, S.f[j], gn2, S.x.data() + j, L);
            } else {
                ++active;
            }
        }
        if (!active) break;
        if (o.line_search) {
            // Armijo backtracking per run, from lr, halving; the accepted trial gives f and g.
            double* xt = S.xt.data();
            for (std::size_t j = 0; j < L; ++j) S.alpha[j] = S.lr[j], S.srch[j] = S.act[j], S.F0[j] = sg * S.f[j];
            for (int it = 0; it < o.max_backtracks; ++it) {
                for (std::size_t d = 0; d < n; ++d)
                    for (std::size_t j = 0; j < L; ++j) xt[d * L + j] = S.x[d * L + j] - S.alpha[j] * (sg * S.g[d * L + j]);
                ev(xt, S.ft.data(), S.gt.data(), S.srch.data());
                bool more = false;
                for (std::size_t j = 0; j < L; ++j) {
                    if (S.srch[j] == 0.0) continue;
                    const double Ft = sg * S.ft[j];
                    if (Ft <= S.F0[j] - o.armijo_c * S.alpha[j] * S.gn2[j] || it + 1 == o.max_backtracks) {
                        S.srch[j] = 0.0;
                        S.f[j] = S.ft[j];
                        for (std::size_t d = 0; d < n; ++d) S.x[d * L + j] = xt[d * L + j], S.g[d * L + j] = S.gt[d * L + j];
                    } else {
                        S.alpha[j] *= 0.5;
                        more = true;
                    }
                }
                if (!more) break;
            }
        } else {
            const StepScale sc = step_scale(sp, t);
            const double* lr = S.lr.data();
            const double* act = S.act.data();
            for (std::size_t d = 0; d < n; ++d)
                step(sp, sc, S.x.data() + d * L, S.g.data() + d * L, S.s1.data() + d * L, S.s2.data() + d * L, L,
                     [lr](std::size_t j) { return lr[j]; }, [act](std::size_t j) { return act[j] == 0.0; });
            ev(S.x.data(), S.f.data(), S.g.data(), S.act.data());
        }
        if ((t + 1) % poll_every == 0) poll();
    }
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

// The full program (value and gradient) over a block of lanes.
struct BlockEval {
    const Program& p;
    std::size_t L, n;
    double* S;  // p's slots, L lanes
    void operator()(const double* x, double* f, double* g, const double*) {
        std::memcpy(S, x, n * L * sizeof(double));
        p.run(S, L, true);
        std::memcpy(f, S + p.result_slot(0) * L, L * sizeof(double));
        for (std::size_t d = 0; d < n; ++d) std::memcpy(g + d * L, S + p.result_slot(static_cast<int>(1 + d)) * L, L * sizeof(double));
    }
};

// ---- the fast driver: compacted lanes, the gradient-only program or its native kernel ------

struct FastArgs {
    const Program* p;     // value and gradient
    const Program* grad;  // the gradient alone (p.tail(1)): what the interpreter runs before step_stop
    const double *x0, *lr;
    std::size_t k, lr_count, L;
    const DescentOptions* o;
    DescentResult* R;
};

FASTCALC_INLINE std::uint64_t bits_of(double v) {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

// Whether any of the first m codes is not 0 (codes are non-negative: an OR of their bits).
FASTCALC_CLONES bool any_code(const double* code, std::size_t m) {
    std::uint64_t bits_or = 0;
    for (std::size_t j = 0; j < m; ++j) bits_or |= bits_of(code[j]);
    return bits_or != 0;
}

// The interpreter's step after the gradient program: optimizer.hpp's step_rule and descent's
// stop rule over lanes [0, w) in one pass (what a step program's instructions after the
// gradient compute, with the same operations: the same bits as the native step kernel, without
// a load and a store per operation). State rows d*L (x), (n+d)*L (s1), (2n+d)*L (s2); the
// gradient's rows at g[d].

// Coordinate i = d*L + j of a lane: its step, and its terms of the stop rule: the squared
// gradient norm, summed from -0.0 (x + -0.0 is x: the first term costs no add; only comparisons
// read the sum, so its bits need not be the step program's), and (returned) the bound test of x.
template <DescentMethod M>
FASTCALC_INLINE bool step_term(const StepParams& q, const StepScale& sc, const double* __restrict from,
                               double* __restrict to, std::size_t i, std::size_t nL, double gv, double lr, double lim,
                               double& gn2) {
    constexpr bool has1 = M != DescentMethod::GD, has2 = M == DescentMethod::Adam;
    double xv = from[i], v1 = 0.0, v2 = 0.0;
    if constexpr (has1) v1 = from[nL + i];
    if constexpr (has2) v2 = from[2 * nL + i];
    gn2 = gn2 + gv * gv;
    const bool in = std::fabs(xv) <= lim;
    step_rule<M, double>(q, xv, gv, v1, v2, lr, sc.c1, sc.c2);
    to[i] = xv;
    if constexpr (has1) to[nL + i] = v1;
    if constexpr (has2) to[2 * nL + i] = v2;
    return in;
}

// N <= 4 coordinates (a compile-time count): each lane's sums stay in registers (the gradient's
// rows in named pointers: GCC reloads an array of them after every store, and gives up).
template <DescentMethod M, std::size_t N>
FASTCALC_INLINE bool step_stop_n(const StepParams& p, const StepScale& sc, std::size_t L, std::size_t w,
                                 const double* __restrict from, const double* const* g, double* __restrict to,
                                 const double* __restrict lr, const double* __restrict lim, double tol2,
                                 double* __restrict code) {
    static_assert(N >= 1 && N <= 4, "step_stop_n: 1 to 4 coordinates");
    const StepParams q = p;
    const StepScale c = sc;
    const double* __restrict g0 = g[0];
    const double* __restrict g1 = g[N > 1 ? 1 : 0];
    const double* __restrict g2 = g[N > 2 ? 2 : 0];
    const double* __restrict g3 = g[N > 3 ? 3 : 0];
    // (the rows of x, s1, s2 are disjoint: without ivdep GCC versions the loop for their possible
    // overlap, and past a few rows gives up vectorizing)
    std::uint64_t any = 0;  // the OR of the codes' bits (codes are 0, 1 or 2)
#pragma GCC ivdep
    for (std::size_t j = 0; j < w; ++j) {
        double gn2 = -0.0;
        bool in = step_term<M>(q, c, from, to, j, N * L, g0[j], lr[j], lim[j], gn2);
        if constexpr (N > 1) in &= step_term<M>(q, c, from, to, L + j, N * L, g1[j], lr[j], lim[j], gn2);
        if constexpr (N > 2) in &= step_term<M>(q, c, from, to, 2 * L + j, N * L, g2[j], lr[j], lim[j], gn2);
        if constexpr (N > 3) in &= step_term<M>(q, c, from, to, 3 * L + j, N * L, g3[j], lr[j], lim[j], gn2);
        code[j] = stop_code(in, gn2, tol2, false, 0.0);
        any |= bits_of(code[j]);
    }
    return any != 0;
}

// Any n: chunks of lanes, their sums in L1.
template <DescentMethod M>
FASTCALC_INLINE bool step_stop_any(const StepParams& p, const StepScale& sc, std::size_t n, std::size_t L,
                                   std::size_t w, const double* __restrict from, const double* const* g,
                                   double* __restrict to, const double* __restrict lr, const double* __restrict lim,
                                   double tol2, double* __restrict code) {
    constexpr std::size_t C = 64;
    const StepParams q = p;
    const StepScale c = sc;
    std::uint64_t any = 0;  // the OR of the codes' bits (codes are 0, 1 or 2)
    for (std::size_t j0 = 0; j0 < w; j0 += C) {
        const std::size_t m = std::min(C, w - j0);
        alignas(64) double gn2[C], inb[C];
        for (std::size_t j = 0; j < m; ++j) gn2[j] = -0.0, inb[j] = 1.0;
        for (std::size_t d = 0; d < n; ++d) {
            const double* __restrict gv = g[d];
#pragma GCC ivdep
            for (std::size_t j = 0; j < m; ++j) {
                const bool in = step_term<M>(q, c, from, to, d * L + j0 + j, n * L, gv[j0 + j], lr[j0 + j], lim[j0 + j], gn2[j]);
                inb[j] = in ? inb[j] : 0.0;
            }
        }
        for (std::size_t j = 0; j < m; ++j) {
            code[j0 + j] = stop_code(inb[j] != 0.0, gn2[j], tol2, false, 0.0);
            any |= bits_of(code[j0 + j]);
        }
    }
    return any != 0;
}

template <DescentMethod M>
FASTCALC_INLINE bool step_stop_m(const StepParams& p, const StepScale& sc, std::size_t n, std::size_t L, std::size_t w,
                                 const double* from, const double* const* g, double* to, const double* lr,
                                 const double* lim, double tol2, double* code) {
    switch (n) {
        case 1: return step_stop_n<M, 1>(p, sc, L, w, from, g, to, lr, lim, tol2, code);
        case 2: return step_stop_n<M, 2>(p, sc, L, w, from, g, to, lr, lim, tol2, code);
        case 3: return step_stop_n<M, 3>(p, sc, L, w, from, g, to, lr, lim, tol2, code);
        case 4: return step_stop_n<M, 4>(p, sc, L, w, from, g, to, lr, lim, tol2, code);
        default: return step_stop_any<M>(p, sc, n, L, w, from, g, to, lr, lim, tol2, code);
    }
}

FASTCALC_CLONES bool step_stop(const StepParams& p, const StepScale& sc, std::size_t n, std::size_t L, std::size_t w,
                               const double* from, const double* const* g, double* to, const double* lr,
                               const double* lim, double tol2, double* code) {
    switch (p.method) {
        case DescentMethod::GD: return step_stop_m<DescentMethod::GD>(p, sc, n, L, w, from, g, to, lr, lim, tol2, code);
        case DescentMethod::Momentum: return step_stop_m<DescentMethod::Momentum>(p, sc, n, L, w, from, g, to, lr, lim, tol2, code);
        case DescentMethod::Nesterov: return step_stop_m<DescentMethod::Nesterov>(p, sc, n, L, w, from, g, to, lr, lim, tol2, code);
        case DescentMethod::Adam: return step_stop_m<DescentMethod::Adam>(p, sc, n, L, w, from, g, to, lr, lim, tol2, code);
    }
    return false;
}

// Runs [j0, j0 + m) to the end. Each step is one run of the step program over the active
// lanes (compacted at [0, ma)), from the state in buffer `cur` to the other buffer: the
// interpreter with the slots' addresses pointed at the buffers, or the native kernel.
void run_fast(const FastArgs& a, std::size_t j0, std::size_t m, History& hist, const blocks::Ticket& ticket) {
    const Program& p = *a.p;
    const DescentOptions& o = *a.o;
    const std::size_t n = static_cast<std::size_t>(p.n_vars()), L = a.L, every = o.history_every;
    const std::size_t states = static_cast<std::size_t>(Program::step_states(o.method));
    const std::size_t ns = states * n;
    const bool adam = o.method == DescentMethod::Adam;
    const StepParams prm = o.step();
    const double tol2 = o.tol > 0 ? o.tol * o.tol : -1.0;
    blocks::Buffer state[2] = {blocks::Buffer(ns * L), blocks::Buffer(ns * L)};
    const Program& gp = *a.grad;
    blocks::Buffer rows(6 * L), V(p.n_slots() * L), slots(o.kernel ? 0 : gp.n_slots() * L);
    for (auto& st : state) std::fill(st.data(), st.data() + ns * L, 0.0);
    double* lr = rows.data();
    double* lim = lr + L;
    double* c1 = lim + L;
    double* c2 = c1 + L;
    double* code = c2 + L;
    p.init_block(V.data(), L);
    // the step program's inputs and results, for a step from buffer c to buffer 1 - c
    std::vector<const double*> in[2];
    std::vector<double*> res[2];
    for (int c = 0; c < 2; ++c) {
        for (std::size_t i = 0; i < ns; ++i) in[c].push_back(state[c].data() + i * L);
        in[c].push_back(lr), in[c].push_back(lim);
        if (adam) in[c].push_back(c1), in[c].push_back(c2);
        for (std::size_t r = 0; r < ns; ++r) res[c].push_back(state[1 - c].data() + r * L);
        res[c].push_back(code);
    }
    // The interpreter runs the gradient program with its inputs' slots at the state's rows, then
    // step_stop.
    std::vector<double*> P(gp.n_slots());
    std::vector<const double*> grows(n);
    if (!o.kernel) {
        gp.init_block(slots.data(), L);
        for (std::size_t k = 0; k < P.size(); ++k) P[k] = slots.data() + k * L;
    }
    StepScale scale;  // this step's (Adam's bias corrections)
    int cur = 0;
    std::vector<std::size_t> run(L);
    std::vector<char> done(m, 0);
    double* x = state[0].data();
    for (std::size_t j = 0; j < m; ++j) {
        double xm = 1.0;
        for (std::size_t d = 0; d < n; ++d) {
            const double v = a.x0[(j0 + j) * n + d];
            x[d * L + j] = v;
            xm = std::max(xm, std::fabs(v));
        }
        lr[j] = a.lr[a.lr_count == 1 ? 0 : j0 + j];
        lim[j] = xm * o.blowup;
        run[j] = j0 + j;
    }
    std::size_t ma = m;  // active lanes, compacted at [0, ma)
    Out out{*a.R, j0, m, hist};
    // without history, the native fused step loop runs many steps a call, q lanes at a time
    // (padding lanes repeat lane 0)
    const bool fused = o.steps_kernel && !o.history;
    const std::size_t q = fused ? o.steps_lanes : 8;
    auto width = [&] { return std::min(L, (ma + q - 1) / q * q); };
    auto pad = [&] {  // lanes [ma, width) repeat lane 0: valid points, ignored
        double* st = state[cur].data();
        for (std::size_t i = 0; i < ns; ++i)
            for (std::size_t j = ma; j < width(); ++j) st[i * L + j] = st[i * L];
        for (std::size_t j = ma; j < width(); ++j) lr[j] = lr[0], lim[j] = lim[0];
    };
    auto values = [&] {  // the full program at the active lanes of the current state: f, g
        for (std::size_t d = 0; d < n; ++d) std::memcpy(V.data() + d * L, state[cur].data() + d * L, width() * sizeof(double));
        p.run(V.data(), L, width(), true);
        return V.data() + p.result_slot(0) * L;
    };
    auto gn2_of = [&](std::size_t j) {  // after values(): lane j's squared gradient norm, summed as the step program does
        double q = 0.0;
        for (std::size_t d = 0; d < n; ++d) {
            const double g = V.data()[p.result_slot(static_cast<int>(1 + d)) * L + j];
            q += g * g;
        }
        return q;
    };
    auto step = [&] {  // whether any run stopped
        const std::size_t w = width();
        if (o.kernel) return o.kernel(static_cast<std::int64_t>(w), in[cur].data(), res[cur].data()) != 0 &&
                             any_code(code, ma);  // (padding lanes repeat lane 0, so only ma count)
        for (std::size_t d = 0; d < n; ++d) P[d] = state[cur].data() + d * L;
        gp.run_slots(P.data(), w, true);
        for (std::size_t d = 0; d < n; ++d) grows[d] = P[gp.result_slot(static_cast<int>(d))];
        // (whether any code is not 0: padding lanes repeat lane 0, so all w lanes may count)
        return step_stop(prm, scale, n, L, w, state[cur].data(), grows.data(), state[1 - cur].data(), lr, lim, tol2,
                         code);
    };
    pad();
    auto finish_all = [&](std::size_t t) {  // the end: every active run finishes with its value
        const double* X = state[cur].data();
        const double* f = values();
        for (std::size_t j = 0; j < ma; ++j) {
            double q2 = 0.0;
            bool inb = true;
            for (std::size_t d = 0; d < n; ++d) {
                const double g = V.data()[p.result_slot(static_cast<int>(1 + d)) * L + j];
                q2 += g * g;
                inb = inb && std::fabs(X[d * L + j]) <= lim[j];
            }
            out.finish(run[j], t, stop_code(inb, q2, tol2, true, f[j]), f[j], q2, X + j, L);
        }
    };
    // Lane j's run stopped with code[j] at step t: it finishes, the last active lane moves to j
    // (in the state buffer `into`).
    auto retire = [&](std::size_t j, std::size_t t, const double* f, double* into) {
        out.finish(run[j], t, code[j], f[j], gn2_of(j), state[cur].data() + j, L);
        done[run[j] - j0] = 1;
        --ma;
        for (std::size_t i = 0; i < ns; ++i) into[i * L + j] = into[i * L + ma];
        lr[j] = lr[ma], lim[j] = lim[ma], run[j] = run[ma], code[j] = code[ma];
    };
    // One step from t: the step, the runs that stopped at x_t.
    auto one_step = [&](std::size_t t) {
        if (adam) {
            scale = step_scale(prm, t);
            std::fill(c1, c1 + width(), scale.c1);
            std::fill(c2, c2 + width(), scale.c2);
        }
        if (step()) {  // state[1 - cur] = the step from state[cur]; the codes of x_t
            const double* f = values();  // at x_t, from state[cur]
            for (std::size_t j = ma; j-- > 0;)
                if (code[j] != 0.0) retire(j, t, f, state[1 - cur].data());  // the last lane's next state moves
        }
        cur = 1 - cur;
        if (ma) pad();
    };
    // The fused loop takes chunks of steps in one native call each, up to the first step at
    // which a run stops; that step is taken here (one_step: the runs that stop, exactly as
    // without the fused loop). Chunks double while no run stops; after a stop, steps go one at
    // a time until kPlain in a row stop no run (while runs keep stopping, the native call would
    // mostly return at once).
    constexpr std::size_t kPlain = 16;
    std::vector<double*> rows_of[2] = {std::vector<double*>(ns), std::vector<double*>(ns)};
    std::vector<double> c1s, c2s;
    std::size_t chunk = 16, plain = 0;
    for (std::size_t t = 0; ma;) {
        double* X = state[cur].data();
        if (o.history && t % every == 0) {
            std::vector<std::size_t> lane_of(m, 0);
            for (std::size_t j = 0; j < ma; ++j) lane_of[run[j] - j0] = j;
            const double* f = values();
            out.record(done, [&](std::size_t i, std::size_t d) { return X[d * L + lane_of[i]]; },
                       [&](std::size_t i) { return f[lane_of[i]]; });
        }
        if (t == o.steps) {
            finish_all(t);
            break;
        }
        if (!fused || plain) {
            const std::size_t before = ma;
            one_step(t++);
            if (plain) plain = ma != before ? kPlain : plain - 1;
            if (t % 1024 == 0) ticket.poll();
            continue;
        }
        const std::size_t S = std::min(chunk, o.steps - t);
        if (adam) {
            c1s.resize(S), c2s.resize(S);
            for (std::size_t s = 0; s < S; ++s) {
                const StepScale sc = step_scale(prm, t + s);
                c1s[s] = sc.c1, c2s[s] = sc.c2;
            }
        }
        for (int c = 0; c < 2; ++c)
            for (std::size_t i = 0; i < ns; ++i) rows_of[c][i] = state[c].data() + i * L;
        const std::int64_t taken = o.steps_kernel(static_cast<std::int64_t>(width()), rows_of[cur].data(),
                                                  rows_of[1 - cur].data(), lr, lim, static_cast<std::int64_t>(S),
                                                  c1s.data(), c2s.data());
        if (taken < 0 || static_cast<std::size_t>(taken) > S) throw std::logic_error("descent: bad fused step count");
        t += static_cast<std::size_t>(taken);
        if (taken % 2) cur = 1 - cur;
        if (static_cast<std::size_t>(taken) < S) {  // a run stops at step t: that step here
            one_step(t++);
            chunk = 16, plain = kPlain;
        } else {
            chunk = std::min<std::size_t>(2 * chunk, 1024);
        }
        ticket.poll();
    }
}

DescentResult make_result(std::size_t k, std::size_t n) {
    DescentResult R;
    R.k = k, R.n = n;
    R.x.resize(checked_mul(k, n, "x0"));
    R.fun.resize(k);
    R.grad_norm.resize(k);
    R.nit.resize(k);
    R.converged.resize(k);
    R.diverged.resize(k);
    return R;
}

// The history of every block as (n_hist, k, n): n_hist covers the last step any run took; a run
// keeps its final iterate in the rows after it stopped.
void assemble(DescentResult& R, const std::vector<History>& hs, const std::vector<std::size_t>& first,
              const DescentOptions& o) {
    if (!o.history) return;
    const std::size_t every = o.history_every, k = R.k, n = R.n;
    std::size_t rows = 1;
    for (std::size_t r = 0; r < k; ++r)
        rows = std::max(rows, (static_cast<std::size_t>(R.nit[r]) + every - 1) / every + 1);
    R.n_hist = rows;
    R.history.resize(checked_mul(checked_mul(rows, k, "the history"), n, "the history"));
    R.fun_history.resize(rows * k);
    for (std::size_t b = 0; b < hs.size(); ++b) {
        const History& h = hs[b];
        const std::size_t j0 = first[b], m = first[b + 1] - j0;
        for (std::size_t row = 0; row < rows; ++row)
            for (std::size_t i = 0; i < m; ++i) {
                const std::size_t r = j0 + i;
                const bool have = row < h.rows;
                for (std::size_t d = 0; d < n; ++d)
                    R.history[(row * k + r) * n + d] = have ? h.x[(row * m + i) * n + d] : R.x[r * n + d];
                R.fun_history[row * k + r] = have ? h.f[row * m + i] : R.fun[r];
            }
    }
}

}  // namespace

void validate(const DescentOptions& o, std::size_t k, std::size_t n, std::size_t lr_count) {
    const int m = static_cast<int>(o.method);
    if (m < 0 || m > 3) throw invalid_argument("unknown descent method code " + std::to_string(m));
    // (blocks of lanes are multiples of 64: the fused loop's lanes must divide them)
    if (o.steps_kernel && (!o.kernel || o.steps_lanes < 8 || o.steps_lanes > 64 || 64 % o.steps_lanes))
        throw invalid_argument("a fused step kernel needs its step kernel and 8, 16, 32 or 64 lanes at a time");
    if (lr_count != 1 && lr_count != k) throw invalid_argument("lr must be a scalar or have one entry per run");
    if (o.line_search && o.method != DescentMethod::GD) throw invalid_argument("line_search needs method 'gd'");
    if (!(o.tol >= 0) || !std::isfinite(o.tol)) throw invalid_argument("tol must be finite and >= 0");
    if (o.history_every < 1) throw invalid_argument("history_every must be >= 1");
    if (!std::isfinite(o.momentum)) throw invalid_argument("momentum must be finite");
    if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
        throw invalid_argument("betas must lie in [0, 1)");
    if (!(o.eps > 0) || !std::isfinite(o.eps)) throw invalid_argument("eps must be positive");
    if (!(o.blowup > 0)) throw invalid_argument("blowup must be positive");
    if (o.max_backtracks < 1) throw invalid_argument("max_backtracks must be >= 1");
    checked_mul(k, n, "x0");
}

void ProgramGradient::value_and_grad(const double* X, std::size_t k, double* f, double* G) const {
    const std::size_t n = dim(), nr = static_cast<std::size_t>(p_.n_results());
    std::vector<double> R(checked_mul(k, nr, "the batch"));
    p_.eval(X, k, R.data());
    for (std::size_t i = 0; i < k; ++i) {
        f[i] = R[i * nr];
        for (std::size_t d = 0; d < n; ++d) G[i * n + d] = R[i * nr + 1 + d];
    }
}

DescentResult descent(const GradientProvider& fn, const double* x0, std::size_t k, const double* lr,
                      std::size_t lr_count, const DescentOptions& o, const Interrupt& intr) {
    const std::size_t n = fn.dim();
    validate(o, k, n, lr_count);
    for (std::size_t i = 0; i < lr_count; ++i)
        if (!(lr[i] > 0) || !std::isfinite(lr[i])) throw invalid_argument("lr must be positive and finite");
    DescentResult R = make_result(k, n);
    if (!k) return R;
    Lanes S(k, n, o.line_search);
    load(S, 0, k, x0, lr, lr_count, o);
    ProviderEval ev{fn, k, n, {}, {}, {}, {}};
    std::vector<History> hs(1);
    Out out{R, 0, k, hs[0]};
    auto poll = [&] { intr.check(); };
    run_generic(S, out, o, ev, poll, std::max<std::size_t>(1, (std::size_t(1) << 16) / k));
    assemble(R, hs, {0, k}, o);
    return R;
}

DescentResult descent(const Program& p, const double* x0, std::size_t k, const double* lr, std::size_t lr_count,
                      const DescentOptions& o, const Interrupt& intr) {
    validate(o, k, static_cast<std::size_t>(p.n_vars()), lr_count);
    for (std::size_t i = 0; i < lr_count; ++i)
        if (!(lr[i] > 0) || !std::isfinite(lr[i])) throw invalid_argument("lr must be positive and finite");
    if (p.n_outputs() != 1 || p.n_inputs() != p.n_vars() || p.spec().order < 1 || !p.spec().values ||
        p.spec().directional || p.n_wrt() != p.n_vars() || p.n_results() < 1 + p.n_vars())
        throw invalid_argument("descent needs a program with the value and the gradient in all variables");
    const std::size_t n = static_cast<std::size_t>(p.n_vars());
    DescentResult R = make_result(k, n);
    if (!k) return R;
    const Program grad = p.tail(1);
    // Lanes per block: many lanes amortize the interpreter's dispatch; few keep a small problem
    // (or an OpenMP share of it) from running padded lanes.
    const std::size_t slots = std::max<std::size_t>({grad.n_slots(), p.n_slots(), 1});
    std::size_t L = std::min<std::size_t>(256, std::max<std::size_t>(64, (65536 / slots) / 64 * 64));
    if (o.line_search) L = 64;
    const std::size_t nb = (k + L - 1) / L;
    std::vector<History> hs(nb);
    std::vector<std::size_t> first(nb + 1);
    for (std::size_t b = 0; b <= nb; ++b) first[b] = std::min(k, b * L);
    const FastArgs a{&p, &grad, x0, lr, k, lr_count, L, &o, &R};
    blocks::run(
        nb, o.threads, intr, [] { return 0; },
        [&](int, std::size_t b, const blocks::Ticket& ticket) {
            const std::size_t j0 = first[b], m = first[b + 1] - j0;
            if (!o.line_search) return run_fast(a, j0, m, hs[b], ticket);
            Lanes S(L, n, true);
            load(S, j0, m, x0, lr, lr_count, o);
            blocks::Buffer slots_buf(p.n_slots() * L);
            p.init_block(slots_buf.data(), L);
            BlockEval ev{p, L, n, slots_buf.data()};
            Out out{R, j0, m, hs[b]};
            auto poll = [&] { ticket.poll(); };
            run_generic(S, out, o, ev, poll, 256);
        });
    assemble(R, hs, first, o);
    return R;
}

// ---- MSE of a model over data -------------------------------------------------------------

MSELoss::MSELoss(const Program& model, std::vector<double> X, std::vector<double> y)
    : model_(model), X_(std::move(X)), y_(std::move(y)), N_(y_.size()) {
    nd_ = static_cast<std::size_t>(model.n_vars() - model.n_wrt());
    if (X_.size() != N_ * nd_) throw invalid_argument("x and y must have the same number of data points");
    if (!N_) throw invalid_argument("fit needs at least one data point");
    if (model.n_outputs() != 1 || model.spec().order < 1 || !model.spec().values || model.spec().directional)
        throw invalid_argument("fit needs the model's value and its gradient in the parameters");
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
    std::vector<double> acc(np);
    for (std::size_t r = 0; r < k; ++r) {
        double loss = 0.0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (std::size_t p0 = 0; p0 < N_; p0 += L) {
            if (intr_ && p0 % (L * 1024) == 0) intr_->check();
            const std::size_t m = std::min(L, N_ - p0);
            std::size_t dv = 0;
            for (std::size_t v = 0; v < nv; ++v) {
                double* s = S.data() + v * L;
                if (is_param[v] >= 0) {
                    std::fill(s, s + L, P[r * np + static_cast<std::size_t>(is_param[v])]);
                } else {
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
