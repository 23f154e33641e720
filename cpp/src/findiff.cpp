#include <fastcalc/findiff.hpp>

#include "derivative_1d.hpp"
#include "ridders.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

namespace fastcalc {

namespace {

using namespace ridders;

// A stencil over at most two directions: point = x + off_a*h_a*e_a + off_b*h_b*e_b and the
// estimate is sum w_j f(point_j) / (h_a**pow_a * h_b**pow_b).
struct Kind {
    std::vector<double> off_a, off_b, w;
    int pow_a = 1, pow_b = 0;
    int lead = 2, step = 2;  // error expansion in h: lead, lead+step, ...
    int textbook = 0;        // fixed h, n = 1, lowest order: 1 forward, 2 backward, 3 central
    std::size_t moved = 0;   // nodes with a non-zero offset (each costs one evaluation)
    double cw = 0.0;         // first derivatives: kConditioning * sum |w| (the round-off's conditioning term)
};

void count_moved(Kind& k) {
    k.moved = 0;
    for (std::size_t n = 0; n < k.w.size(); ++n)
        if (k.off_a[n] != 0.0 || k.off_b[n] != 0.0) ++k.moved;
}

// h**p for the automatic steps (powers of two: exact by multiplication); std::pow for a
// user's step, as the reference's h**p does.
double step_power(double h, int p, bool fixed) {
    if (fixed) return std::pow(h, p);
    double r = 1.0;
    for (int i = 0; i < p; ++i) r *= h;
    return r;
}

struct Probe {
    std::size_t base;
    int kind;
    std::size_t a, b;  // directions (b unused when the kind has pow_b == 0)
    double sa, sb;     // step scales per direction
};

// The stencil's nodes with a non-zero weight (e.g. not the centre of a first-derivative
// stencil), in order: what derivative_1d runs, and single_kind along one direction.
Stencil1D stencil_1d(const Stencil& s) {
    Stencil1D k;
    for (std::size_t j = 0; j < s.nodes.size(); ++j) {
        if (s.weights[j] == 0.0) continue;
        k.off.push_back(s.nodes[j]);
        k.w.push_back(s.weights[j]);
    }
    k.pow = s.deriv;
    k.lead = s.accuracy;
    k.step = s.error_step;
    return k;
}

Kind single_kind(const Stencil& s, int textbook) {
    const Stencil1D one = stencil_1d(s);
    Kind k;
    k.off_a = one.off;
    k.off_b.assign(one.off.size(), 0.0);
    k.w = one.w;
    k.pow_a = one.pow;
    k.pow_b = 0;
    k.lead = one.lead;
    k.step = one.step;
    k.textbook = textbook;
    count_moved(k);
    if (k.pow_a == 1)
        for (double w : k.w) k.cw += std::fabs(w);
    k.cw *= kConditioning;
    return k;
}

// Mixed second derivative: the tensor product of the first-derivative stencil with itself.
Kind mixed_kind(const Stencil& s1) {
    Kind k;
    for (std::size_t i = 0; i < s1.nodes.size(); ++i)
        for (std::size_t j = 0; j < s1.nodes.size(); ++j) {
            const double w = s1.weights[i] * s1.weights[j];
            if (w == 0.0) continue;
            k.off_a.push_back(s1.nodes[i]);
            k.off_b.push_back(s1.nodes[j]);
            k.w.push_back(w);
        }
    k.pow_a = 1;
    k.pow_b = 1;
    k.lead = s1.accuracy;
    k.step = s1.error_step;
    count_moved(k);
    return k;
}

int textbook_of(const FDOptions& opt, int n) {
    if (opt.h <= 0 || n != 1) return 0;
    if (opt.method == Method::Central && opt.accuracy == 2) return 3;
    if (opt.method == Method::Forward && opt.accuracy == 1) return 1;
    if (opt.method == Method::Backward && opt.accuracy == 1) return 2;
    return 0;
}

// Coarse enough that Richardson extrapolation removes truncation error before round-off grows:
// eps**(1/(accuracy+n)) is the optimum for one stencil; extrapolation allows more.
double default_step(const FDOptions& opt, int n) {
    const double base = opt.method == Method::Central ? 1.0 / 16 : 1.0 / 32;
    return std::ldexp(base, std::min(n - 1, 3));
}

// The automatic steps for an n-th derivative: opt.first_step rounded down to a power of two.
Schedule schedule(const FDOptions& opt, int n) {
    Schedule s;
    s.t0 = default_step(opt, n);
    int coarser = 0;
    if (opt.first_step > 0) {
        int e;
        std::frexp(opt.first_step, &e);  // first_step = m * 2**e, 0.5 <= m < 1
        s.t0 = std::ldexp(1.0, e - 1);
        coarser = std::max(0, std::ilogb(s.t0) - std::ilogb(default_step(opt, n)));
    }
    const int base = opt.method == Method::Central ? 10 : 14;
    s.levels = opt.max_levels > 0 ? std::min(opt.max_levels, kMaxLevels) : std::min(base + coarser, kMaxLevels);
    s.max_levels = s.levels + kExtraLevels;
    s.min_rows = kMinRows + static_cast<std::size_t>(coarser);
    if (opt.rtol > 0) s.good_enough = opt.rtol;
    return s;
}

class Engine {
public:
    Engine(const BatchFunction& f, const double* X, std::size_t nbase, std::vector<Kind> kinds,
           std::vector<Probe> probes, const FDOptions& opt, int n, const Interrupt& intr)
        : f_(f), X_(X), nbase_(nbase), d_(f.in_dim()), m_(f.out_dim()), kinds_(std::move(kinds)),
          probes_(std::move(probes)), opt_(opt), sched_(schedule(opt, n)), intr_(intr) {}

    FDResult run() {
        const std::size_t Q = probes_.size(), E = Q * m_;
        const bool fixed = opt_.h > 0;
        const int L = fixed ? 1 : sched_.max_levels;
        K_ = static_cast<std::size_t>(fixed ? 1 : sched_.levels);
        FDResult r;
        r.value.assign(E, kNaN);
        r.error.assign(E, fixed ? kNaN : kInf);
        r.step.assign(Q, kNaN);
        r.nfev.assign(Q, 0);
        r.status.assign(E, FD_OK);
        eval_base_points(r);
        // A cheap f is run through all levels a cache-sized chunk of probes at a time; a Python f
        // gets every probe of a level in one call.
        const std::size_t chunk =
            (fixed || f_.batch_all()) ? std::max<std::size_t>(Q, 1) : std::max<std::size_t>(1, 4096 / m_);
        // The tableau column by column (entry c of estimate e at c * stride + e): a level touches
        // only the columns it extrapolates, in streams. Written before read.
        prev_stride_ = std::min(Q, chunk) * m_;
        prev_.reset(new double[prev_stride_ * K_]);
        std::vector<std::size_t> active, still;
        for (std::size_t q0 = 0; q0 < Q; q0 += chunk) {
            const std::size_t q1 = std::min(Q, q0 + chunk), Ec = (q1 - q0) * m_;
            e0_ = q0 * m_;
            rowlen_.assign(Ec, 0);
            fin_.assign(Ec, 0);
            done_.assign(Ec, 0);
            round_.assign(Ec, 0.0);
            active.resize(q1 - q0);
            for (std::size_t q = q0; q < q1; ++q) active[q - q0] = q;
            for (int level = 0; level < L && !active.empty(); ++level) {
                const double t = fixed ? opt_.h : std::ldexp(sched_.t0, -level);
                last_ = level + 1 == L;
                run_level(active, t, fixed, r);
                intr_.check();
                still.clear();
                for (std::size_t q : active) {
                    bool all = true;
                    for (std::size_t o = 0; o < m_; ++o) all = all && done_[q * m_ + o - e0_];
                    if (!all) still.push_back(q);
                }
                active.swap(still);
            }
            if (fixed) continue;
            for (std::size_t e = e0_; e < e0_ + Ec; ++e) {
                if (std::isinf(r.error[e])) r.status[e] |= FD_NO_ESTIMATE;
                else r.error[e] = std::max(r.error[e], round_[e - e0_]);
            }
        }
        return r;
    }

private:
    bool uses_base(const Kind& k) const {
        for (std::size_t j = 0; j < k.w.size(); ++j)
            if (k.off_a[j] == 0.0 && k.off_b[j] == 0.0 && k.w[j] != 0.0) return true;
        return k.textbook == 1 || k.textbook == 2;
    }

    void eval_base_points(FDResult& r) {
        bool need = false;
        for (const Kind& k : kinds_) need = need || uses_base(k);
        if (!need) return;
        f0_.assign(nbase_ * m_, 0.0);
        const std::size_t chunk = std::max<std::size_t>(1, opt_.max_batch_doubles / std::max<std::size_t>(1, d_));
        for (std::size_t s = 0; s < nbase_; s += chunk) {
            const std::size_t c = std::min(chunk, nbase_ - s);
            f_.eval(X_ + s * d_, c, f0_.data() + s * m_);
        }
        for (std::size_t q = 0; q < probes_.size(); ++q)
            if (uses_base(kinds_[probes_[q].kind])) r.nfev[q] += 1;
    }

    void run_level(const std::vector<std::size_t>& active, double t, bool fixed, FDResult& r) {
        const std::size_t cap = std::max<std::size_t>(1, opt_.max_batch_doubles / std::max<std::size_t>(1, d_));
        std::size_t i = 0;
        while (i < active.size()) {
            // Gather as many probes as fit in one call of f.
            std::size_t j = i, npts = 0;
            while (j < active.size()) {
                const std::size_t np = kinds_[probes_[active[j]].kind].moved;
                if (npts > 0 && npts + np > cap) break;
                npts += np;
                ++j;
            }
            if (pts_.size() < npts * d_) pts_.resize(npts * d_);
            double* out = pts_.data();
            for (std::size_t s = i; s < j; ++s) out = add_points(probes_[active[s]], t, fixed, out);
            if (Y_.size() < npts * m_) Y_.resize(npts * m_);
            f_.eval(pts_.data(), npts, Y_.data());
            std::size_t at = 0;
            for (std::size_t s = i; s < j; ++s) at = combine(active[s], t, fixed, at, r);
            i = j;
        }
    }

    double* add_points(const Probe& p, double t, bool fixed, double* out) const {
        const Kind& k = kinds_[p.kind];
        const double ha = fixed ? t : t * p.sa, hb = fixed ? t : t * p.sb;
        const double* x = X_ + p.base * d_;
        for (std::size_t n = 0; n < k.w.size(); ++n) {
            if (k.off_a[n] == 0.0 && k.off_b[n] == 0.0) continue;
            for (std::size_t i = 0; i < d_; ++i) out[i] = x[i];
            if (k.off_a[n] != 0.0) out[p.a] = x[p.a] + k.off_a[n] * ha;
            if (k.off_b[n] != 0.0) out[p.b] = out[p.b] + k.off_b[n] * hb;
            out += d_;
        }
        return out;
    }

    // Consumes this probe's values from Y_ starting at row `at`; returns the next row.
    std::size_t combine(std::size_t q, double t, bool fixed, std::size_t at, FDResult& r) {
        const Probe& p = probes_[q];
        const Kind& k = kinds_[p.kind];
        const double ha = fixed ? t : t * p.sa, hb = fixed ? t : t * p.sb;
        double denom = step_power(ha, k.pow_a, fixed);
        if (k.pow_b) denom *= step_power(hb, k.pow_b, fixed);
        const std::size_t np = k.moved;
        r.nfev[q] += static_cast<std::uint32_t>(np);
        for (std::size_t o = 0; o < m_; ++o) {
            const std::size_t e = q * m_ + o;
            double S = 0.0, Sabs = 0.0, D;
            if (k.textbook) {
                // The textbook formulas in the textbook's order of operations.
                const double f0 = f0_.empty() ? 0.0 : f0_[p.base * m_ + o];
                if (k.textbook == 1) {
                    D = (Y_[(at + 0) * m_ + o] - f0) / t;
                } else if (k.textbook == 2) {
                    D = (f0 - Y_[(at + 0) * m_ + o]) / t;
                } else {
                    // nodes -1, (0), +1 with the zero-weight centre skipped
                    D = (Y_[(at + 1) * m_ + o] - Y_[(at + 0) * m_ + o]) / (2 * t);
                }
            } else {
                std::size_t row = at;
                for (std::size_t n = 0; n < k.w.size(); ++n) {
                    double y;
                    if (k.off_a[n] == 0.0 && k.off_b[n] == 0.0) y = f0_[p.base * m_ + o];
                    else y = Y_[(row++) * m_ + o];
                    S += k.w[n] * y;
                    Sabs += std::fabs(k.w[n] * y);
                }
                D = S / denom;
            }
            if (fixed) {
                r.value[e] = D;
                r.step[q] = t;
                if (!std::isfinite(D)) r.status[e] |= FD_NONFINITE;
                continue;
            }
            if (!done_[e - e0_]) {
                double roundoff = Sabs / denom;  // the conditioning term for first derivatives (ridders.hpp)
                if (k.cw > 0) roundoff += (std::fabs(X_[p.base * d_ + p.a]) * std::fabs(D)) * (k.cw / denom);
                update(e, D, roundoff, k, t * p.sa, q, r);
            }
        }
        return at + np;
    }

    // An estimate out of levels that has not settled.
    void give_up(std::size_t e, FDResult& r) {
        done_[e - e0_] = 1;
        r.status[e] |= std::isinf(r.error[e]) ? FD_NO_ESTIMATE : FD_NOT_CONVERGED;
    }

    // One new row of the Richardson tableau for estimate e (Ridders' scheme).
    void update(std::size_t e, double D, double roundoff, const Kind& k, double h, std::size_t q, FDResult& r) {
        const std::size_t el = e - e0_;  // index within the chunk
        if (!std::isfinite(D)) {
            r.status[e] |= FD_NONFINITE;
            rowlen_[el] = 0;  // start the extrapolation afresh from the next finite level
            if (last_) give_up(e, r);
            return;
        }
        double* prev = prev_.get() + el;
        const std::size_t st = prev_stride_;
        const std::size_t len = rowlen_[el];
        const std::size_t newlen = std::min(len + 1, K_);
        // Locals, not r.*[e]: the compiler cannot tell that prev does not alias the results.
        double best = r.value[e], best_err = r.error[e];
        const auto inv = [&](std::size_t c) {
            return inv_fac_[static_cast<std::size_t>(k.lead + static_cast<int>(c - 1) * k.step)];
        };
        const TableauRow row = tableau_row(prev, st, len, newlen, D, inv, best, best_err);
        if (row.improved) {
            r.value[e] = best;
            r.step[q] = h;
            if (newlen > 1) {
                r.error[e] = best_err;
                round_[el] = 4 * kEps * roundoff;
            }
        }
        ++fin_[el];
        if (finished(sched_, len + 1, best, best_err, row.up, std::fabs(row.up - row.last_old), round_[el],
                     4 * kEps * roundoff))
            done_[el] = 1;
        rowlen_[el] = newlen;
        // Out of levels (ridders::settled): final, or afresh on finer steps, or given up at the last.
        if (!done_[el] && (fin_[el] == static_cast<std::size_t>(sched_.levels) || last_)) {
            if (settled(newlen, best, best_err, row.up, round_[el], 4 * kEps * roundoff)) done_[el] = 1;
            else if (last_) give_up(e, r);
            else restart(e, r);
        }
        if (done_[el] && !(r.status[e] & (FD_NO_ESTIMATE | FD_NOT_CONVERGED))) r.status[e] = FD_OK;
    }

    void restart(std::size_t e, FDResult& r) {
        r.value[e] = kNaN;
        r.error[e] = kInf;
        r.step[e / m_] = kNaN;
        round_[e - e0_] = 0.0;
        rowlen_[e - e0_] = 0;
    }

    const BatchFunction& f_;
    const double* X_;
    std::size_t nbase_, d_, m_;
    std::vector<Kind> kinds_;
    std::vector<Probe> probes_;
    FDOptions opt_;
    Schedule sched_;
    const Interrupt& intr_;
    std::size_t K_ = 1;
    std::size_t prev_stride_ = 1;
    std::size_t e0_ = 0;  // first estimate of the chunk being worked on
    std::vector<double> f0_, pts_, Y_, round_;
    std::unique_ptr<double[]> prev_;
    std::vector<double> inv_fac_ = inverse_factors();
    std::vector<std::size_t> rowlen_, fin_;  // fin_: finite levels so far
    std::vector<unsigned char> done_;
    bool last_ = false;  // the level being run is the last one allowed
};

void check_options(const FDOptions& opt) {
    if (!(opt.h >= 0) || std::isinf(opt.h)) throw invalid_argument("step h must be positive and finite");
    if (!(opt.first_step >= 0) || std::isinf(opt.first_step))
        throw invalid_argument("initial_step must be positive and finite");
    if (!(opt.rtol >= 0 && opt.rtol < 1)) throw invalid_argument("rtol must be positive and less than 1");
}

}  // namespace

double initial_step(const FDOptions& opt, int n) { return schedule(opt, n).t0; }

int step_levels(const FDOptions& opt, int n) { return schedule(opt, n).levels; }

namespace {
// The fast path's stencils (ridders::fast_accept): the 8-point one on the nodes +-1, +-2, +-3 and
// +-kFastOuter, the 6-, 4- and 2-point central stencils on the inner ones.
FastStencils fast_stencils() {
    const auto make = [](std::vector<double> nodes) {
        Stencil s;
        s.nodes = nodes;
        s.weights = fornberg_weights(1, nodes);
        s.deriv = 1;
        s.accuracy = static_cast<int>(nodes.size());
        return stencil_1d(s);
    };
    return FastStencils{make({-kFastOuter, -3, -2, -1, 1, 2, 3, kFastOuter}), make({-3, -2, -1, 1, 2, 3}),
                        make({-2, -1, 1, 2}), make({-1, 1})};
}

// f: R -> R, stencil s for the n-th derivative.
FDResult derivative_r(const BatchFunction& f, const double* x, std::size_t count, const Stencil& s, int n,
                      const FDOptions& opt, const Interrupt& intr) {
    if (opt.h > 0)
        return fixed_1d(f, x, count, stencil_1d(s), textbook_of(opt, n), opt.h, opt.max_batch_doubles,
                        opt.values_only, intr);
    // The fast path for the default first derivative (central, order 2, no initial step).
    const bool fast = opt.method == Method::Central && opt.accuracy == 2 && n == 1 && opt.first_step <= 0;
    FastStencils fs;
    if (fast) fs = fast_stencils();
    return derivative_1d(f, x, count, stencil_1d(s), schedule(opt, n), opt.max_batch_doubles, opt.values_only, intr,
                         fast ? &fs : nullptr);
}
}  // namespace

FDResult derivative(const BatchFunction& f, const double* x, std::size_t count, int n, const FDOptions& opt,
                    const Interrupt& intr) {
    check_options(opt);
    if (f.in_dim() != 1) throw invalid_argument("derivative: f must be a function of one variable");
    const Stencil s = make_stencil(opt.method, n, opt.accuracy);
    if (f.out_dim() == 1)  // f: R -> R: the vectorized engines
        return derivative_r(f, x, count, s, n, opt, intr);
    std::vector<Kind> kinds{single_kind(s, textbook_of(opt, n))};
    std::vector<Probe> probes(count);
    for (std::size_t i = 0; i < count; ++i) {
        const double sc = step_scale(x[i]);
        probes[i] = Probe{i, 0, 0, 0, sc, sc};
    }
    return Engine(f, x, count, std::move(kinds), std::move(probes), opt, n, intr).run();
}

FDResult first_partials(const BatchFunction& f, const double* X, std::size_t count, const FDOptions& opt,
                        const Interrupt& intr) {
    check_options(opt);
    const std::size_t d = f.in_dim();
    const Stencil s = make_stencil(opt.method, 1, opt.accuracy);
    if (d == 1 && f.out_dim() == 1)  // a function of one variable: as derivative()
        return derivative_r(f, X, count, s, 1, opt, intr);
    std::vector<Kind> kinds{single_kind(s, textbook_of(opt, 1))};
    std::vector<Probe> probes;
    probes.reserve(count * d);
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t a = 0; a < d; ++a) {
            const double sc = step_scale(X[i * d + a]);
            probes.push_back(Probe{i, 0, a, a, sc, sc});
        }
    return Engine(f, X, count, std::move(kinds), std::move(probes), opt, 1, intr).run();
}

FDResult hessian(const BatchFunction& f, const double* X, std::size_t count, const FDOptions& opt,
                 const Interrupt& intr) {
    check_options(opt);
    if (f.out_dim() != 1) throw invalid_argument("hessian: f must be scalar-valued");
    const std::size_t d = f.in_dim();
    // Diagonal: the second-derivative stencil; off-diagonal: the mixed tensor stencil.
    std::vector<Kind> kinds{single_kind(make_stencil(opt.method, 2, opt.accuracy), 0),
                            mixed_kind(make_stencil(opt.method, 1, opt.accuracy))};
    std::vector<Probe> probes;
    probes.reserve(count * d * (d + 1) / 2);
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t a = 0; a < d; ++a)
            for (std::size_t b = a; b < d; ++b)
                probes.push_back(Probe{i, a == b ? 0 : 1, a, b, step_scale(X[i * d + a]), step_scale(X[i * d + b])});
    FDResult packed = Engine(f, X, count, std::move(kinds), std::move(probes), opt, 2, intr).run();
    // Unpack the upper triangle into full symmetric (count, d, d) matrices.
    FDResult r;
    const std::size_t DD = d * d;
    r.value.resize(count * DD);
    r.error.resize(count * DD);
    r.status.resize(count * DD);
    r.step.resize(count * DD);
    r.nfev.resize(count * DD);
    std::size_t q = 0;
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t a = 0; a < d; ++a)
            for (std::size_t b = a; b < d; ++b, ++q)
                for (std::size_t idx : {i * DD + a * d + b, i * DD + b * d + a}) {
                    r.value[idx] = packed.value[q];
                    r.error[idx] = packed.error[q];
                    r.status[idx] = packed.status[q];
                    r.step[idx] = packed.step[q];
                    r.nfev[idx] = packed.nfev[q];
                }
    return r;
}

}  // namespace fastcalc
