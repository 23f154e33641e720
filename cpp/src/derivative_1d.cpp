#include "derivative_1d.hpp"

#include "clones.hpp"
#include "ridders.hpp"

#include <algorithm>
#include <cmath>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif
#include <limits>

namespace fastcalc {

namespace {

using namespace ridders;

// The live estimates of a chunk, compacted: entries [0, A) are the points still being refined.
struct State {
    std::size_t C = 0, K = 0;
    std::vector<std::size_t> idx;  // the point's index in the output
    std::vector<double> x, sa;     // the point and its step scale
    std::vector<double> H, D, R;   // this level: step, difference quotient, its round-off scale
    std::vector<double> best, err, rnd, h;  // the best estimate so far, its error, round-off, step
    std::vector<double> old, last;          // scratch of the tableau update
    std::vector<double> T;                  // the tableau's last row, column c at T[c * C + i]
    std::vector<unsigned char> len, st, done, imp, fin;  // fin: finite levels so far
    std::vector<std::uint32_t> extra;                    // evaluations spent verifying

    void resize(std::size_t c, std::size_t k) {
        C = c;
        K = k;
        idx.resize(c);
        for (auto* v : {&x, &sa, &H, &D, &R, &best, &err, &rnd, &h, &old, &last}) v->resize(c);
        T.resize(c * k);
        len.resize(c);
        st.resize(c);
        done.resize(c);
        imp.resize(c);
        fin.resize(c);
        extra.resize(c);
    }
};

// A state bit (beyond the FDStatus ones): the estimate failed verification at the last level.
constexpr unsigned char kUnverified = 0x80;

// One tableau row for each of the A points, all with `len` rows and a finite D: column by
// column over the points (vector loops). The arithmetic of update_one, in the same order.
// (__restrict: the arrays are distinct, and without it GCC keeps these loops scalar.)
// Returns how many of the A points are done.
FASTCALC_CLONES std::size_t update_uniform(std::size_t A, std::size_t C, std::size_t len, std::size_t K,
                                           const Schedule& sched, const double* __restrict invc, double* __restrict T,
                                           const double* __restrict D, const double* __restrict R,
                                           const double* __restrict H, double* __restrict best,
                                           double* __restrict err, double* __restrict rnd, double* __restrict h,
                                           double* __restrict old, double* __restrict last,
                                           unsigned char* __restrict imp, unsigned char* __restrict lenv,
                                           unsigned char* __restrict done) {
    const std::size_t newlen = std::min(len + 1, K);
    if (len) {
        const double* tl = T + (len - 1) * C;
        for (std::size_t i = 0; i < A; ++i) last[i] = tl[i];
    } else {
        for (std::size_t i = 0; i < A; ++i) last[i] = 0.0;
    }
    for (std::size_t i = 0; i < A; ++i) {
        old[i] = T[i];
        T[i] = D[i];
    }
    if (len == 0)
        for (std::size_t i = 0; i < A; ++i)
            if (std::isinf(err[i])) {  // unextrapolated fallback
                best[i] = D[i];
                h[i] = H[i];
            }
    // A better entry of this row came from this level's step: its h and round-off once after.
    for (std::size_t i = 0; i < A; ++i) imp[i] = 0;
    for (std::size_t c = 1; c < newlen; ++c) {
        const double inv = invc[c];
        const double* up = T + (c - 1) * C;
        double* tc = T + c * C;
        for (std::size_t i = 0; i < A; ++i) {
            const double u = up[i], o = old[i];
            const double val = u + (u - o) * inv;
            const double e = std::max(std::fabs(val - u), std::fabs(val - o));
            const bool better = e <= err[i];
            err[i] = better ? e : err[i];
            best[i] = better ? val : best[i];
            imp[i] |= better;
            old[i] = tc[i];
            tc[i] = val;
        }
    }
    if (newlen > 1)
        for (std::size_t i = 0; i < A; ++i) {
            h[i] = imp[i] ? H[i] : h[i];
            rnd[i] = imp[i] ? 4 * kEps * R[i] : rnd[i];
        }
    const double* tn = T + (newlen - 1) * C;
    std::size_t ndone = 0;
    for (std::size_t i = 0; i < A; ++i) {
        const bool d = finished(sched, len + 1, best[i], err[i], tn[i], std::fabs(tn[i] - last[i]), rnd[i],
                                4 * kEps * R[i]);
        done[i] = d;
        ndone += d;
        lenv[i] = static_cast<unsigned char>(newlen);
    }
    return ndone;
}

#if defined(__GNUC__) && defined(__x86_64__)
#define FASTCALC_AVX512 1
// std::max(a, b) lane by lane: a < b ? b : a.
__attribute__((target("avx512f,avx512dq"), always_inline)) inline __m512d max8(__m512d a, __m512d b) {
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_LT_OQ), a, b);
}

// update_uniform for eight points at a time in AVX-512 registers: each column of the tableau is
// read and written once, the state of the points stays in registers across the columns. The
// same IEEE operations in the same order (the same bits). A = a multiple of 8.
__attribute__((target("avx512f,avx512dq"))) std::size_t update_uniform_avx512(
    std::size_t A, std::size_t C, std::size_t len, std::size_t K, const Schedule& sched, const double* invc, double* T,
    const double* D, const double* R, const double* H, double* best, double* err, double* rnd, double* h,
    unsigned char* lenv, unsigned char* done) {
    const std::size_t newlen = std::min(len + 1, K), rows = len + 1;
    const __m512d zero = _mm512_setzero_pd(), inf = _mm512_set1_pd(kInf), eps4 = _mm512_set1_pd(4 * kEps);
    const __mmask8 all = 0xFF;
    const __mmask8 enough = rows >= sched.min_rows ? all : 0, some = rows >= kMinRows ? all : 0;
    std::size_t ndone = 0;
    for (std::size_t i = 0; i < A; i += 8) {
        const __m512d last = len ? _mm512_loadu_pd(T + (len - 1) * C + i) : zero;  // before the row overwrites it
        __m512d u = _mm512_loadu_pd(D + i), o = _mm512_loadu_pd(T + i);
        _mm512_storeu_pd(T + i, u);
        __m512d e = _mm512_loadu_pd(err + i), b = _mm512_loadu_pd(best + i), hh = _mm512_loadu_pd(h + i);
        const __m512d Hi = _mm512_loadu_pd(H + i), Ri = _mm512_loadu_pd(R + i);
        if (len == 0) {  // unextrapolated fallback
            const __mmask8 fb = _mm512_cmp_pd_mask(e, inf, _CMP_EQ_OQ);
            b = _mm512_mask_blend_pd(fb, b, u);
            hh = _mm512_mask_blend_pd(fb, hh, Hi);
        }
        __mmask8 imp = 0;
        for (std::size_t c = 1; c < newlen; ++c) {
            double* tc = T + c * C + i;
            const __m512d val = _mm512_add_pd(u, _mm512_mul_pd(_mm512_sub_pd(u, o), _mm512_set1_pd(invc[c])));
            const __m512d ev = max8(_mm512_abs_pd(_mm512_sub_pd(val, u)), _mm512_abs_pd(_mm512_sub_pd(val, o)));
            const __mmask8 better = _mm512_cmp_pd_mask(ev, e, _CMP_LE_OQ);
            e = _mm512_mask_blend_pd(better, e, ev);
            b = _mm512_mask_blend_pd(better, b, val);
            imp |= better;
            o = _mm512_loadu_pd(tc);
            _mm512_storeu_pd(tc, val);
            u = val;
        }
        hh = _mm512_mask_blend_pd(imp, hh, Hi);
        const __m512d rr = _mm512_mask_blend_pd(imp, _mm512_loadu_pd(rnd + i), _mm512_mul_pd(eps4, Ri));
        // finished(), lane by lane
        const __m512d ab = _mm512_abs_pd(b), move = _mm512_abs_pd(_mm512_sub_pd(u, last));
        const __m512d noise = _mm512_mul_pd(_mm512_set1_pd(kRoundMove), _mm512_mul_pd(eps4, Ri));
        const __m512d se = _mm512_mul_pd(_mm512_set1_pd(kSafe), e);
        const __mmask8 trusted = _mm512_cmp_pd_mask(
            e, max8(_mm512_mul_pd(_mm512_set1_pd(kTrusted), ab), _mm512_mul_pd(_mm512_set1_pd(kNoise), rr)), _CMP_LE_OQ);
        const __mmask8 grown = _mm512_cmp_pd_mask(move, se, _CMP_GE_OQ) & _mm512_cmp_pd_mask(move, noise, _CMP_LE_OQ);
        const __mmask8 agreed =
            _mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_sub_pd(u, b)), max8(se, noise), _CMP_LE_OQ);
        const __mmask8 small = _mm512_cmp_pd_mask(e, _mm512_mul_pd(_mm512_set1_pd(sched.good_enough), ab), _CMP_LE_OQ);
        const __mmask8 exact = _mm512_cmp_pd_mask(e, zero, _CMP_EQ_OQ);
        const __mmask8 d = ((enough & trusted & grown) | ((some | exact) & small)) & agreed;
        _mm512_storeu_pd(err + i, e);
        _mm512_storeu_pd(best + i, b);
        _mm512_storeu_pd(h + i, hh);
        _mm512_storeu_pd(rnd + i, rr);
        for (int l = 0; l < 8; ++l) {
            done[i + l] = (d >> l) & 1;
            lenv[i + l] = static_cast<unsigned char>(newlen);
        }
        ndone += static_cast<std::size_t>(__builtin_popcount(d));
    }
    return ndone;
}

bool has_avx512() {
    static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    return yes;
}
#endif

// D = sum_n w[n] Y_n / h**pow and R = sum_n |w[n] Y_n| / h**pow over c points, in node order,
// from 0.0 as the general engine sums; for a first derivative R also has the conditioning term
// |x| |D| cw / h (ridders::kConditioning; cw = kConditioning * sum_n |w[n]|). The steps are powers
// of two, so h**pow by multiplication and the product with its reciprocal are exact: the same
// bits as a division, a vector loop instead of two scalar divisions. Returns whether some D is
// not finite.
FASTCALC_CLONES bool weighted_sum(std::size_t c, std::size_t nodes, const double* __restrict w,
                                  const double* const* __restrict rows, const double* __restrict H, int pow,
                                  double cw, const double* __restrict x, double* __restrict D,
                                  double* __restrict R) {
    unsigned bad = 0;
    if (nodes == 2 && pow == 1) {  // the central first derivative: one vector loop
        const double w0 = w[0], w1 = w[1];
        const double* __restrict Y0 = rows[0];
        const double* __restrict Y1 = rows[1];
        for (std::size_t i = 0; i < c; ++i) {
            const double v0 = w0 * Y0[i], v1 = w1 * Y1[i];
            const double inv = 1.0 / H[i];
            const double d = ((0.0 + v0) + v1) * inv;
            D[i] = d;
            R[i] = ((0.0 + std::fabs(v0)) + std::fabs(v1)) * inv + (std::fabs(x[i]) * std::fabs(d)) * (cw * inv);
            bad |= !(std::fabs(d) <= std::numeric_limits<double>::max());
        }
        return bad != 0;
    }
    for (std::size_t i = 0; i < c; ++i) {
        D[i] = 0.0;
        R[i] = 0.0;
    }
    for (std::size_t n = 0; n < nodes; ++n) {
        const double wn = w[n];
        const double* __restrict Y = rows[n];
        for (std::size_t i = 0; i < c; ++i) {
            D[i] += wn * Y[i];
            R[i] += std::fabs(wn * Y[i]);
        }
    }
    for (std::size_t i = 0; i < c; ++i) {
        double denom = 1.0;
        for (int p = 0; p < pow; ++p) denom *= H[i];
        const double inv = 1.0 / denom;
        D[i] *= inv;
        R[i] *= inv;
        if (pow == 1) R[i] += (std::fabs(x[i]) * std::fabs(D[i])) * (cw * inv);
        bad |= !(std::fabs(D[i]) <= std::numeric_limits<double>::max());
    }
    return bad != 0;
}

// kConditioning * sum_j |w_j| in node order (the round-off's conditioning term), 0 unless a
// first derivative.
inline double conditioning_weight(const Stencil1D& k) {
    if (k.pow != 1) return 0.0;
    double s = 0.0;
    for (double w : k.w) s += std::fabs(w);
    return kConditioning * s;
}

// out = x + off * H over c points: the stencil's node `off` at every point.
FASTCALC_CLONES void node_points(std::size_t c, const double* __restrict x, double off, const double* __restrict H,
                                 double* __restrict out) {
    for (std::size_t i = 0; i < c; ++i) out[i] = x[i] + off * H[i];
}

// One tableau row for point i (any row count; D may be non-finite).
void update_one(State& s, std::size_t i, const Schedule& sched, const double* invc) {
    const double D = s.D[i];
    if (!std::isfinite(D)) {
        s.st[i] |= FD_NONFINITE;
        s.len[i] = 0;  // start the extrapolation afresh from the next finite level
        s.done[i] = 0;
        return;
    }
    const std::size_t len = s.len[i], newlen = std::min(len + 1, s.K);
    double best = s.best[i], best_err = s.err[i];
    const TableauRow row =
        tableau_row(s.T.data() + i, s.C, len, newlen, D, [invc](std::size_t c) { return invc[c]; }, best, best_err);
    if (row.improved) {
        s.best[i] = best;
        s.h[i] = s.H[i];
        if (newlen > 1) {
            s.err[i] = best_err;
            s.rnd[i] = 4 * kEps * s.R[i];
        }
    }
    s.done[i] = finished(sched, len + 1, best, best_err, row.up, std::fabs(row.up - row.last_old), s.rnd[i],
                         4 * kEps * s.R[i]);
    s.len[i] = static_cast<unsigned char>(newlen);
    ++s.fin[i];
}

// The fast path's three stencils over c points from the 8-point stencil's rows (rows[j]: f at
// its j-th node): D8, D6, D4 and R (the round-off scale of D8), each summed in its node order from
// 0.0 and times 1/h (a power of two: exact).
FASTCALC_CLONES void fast_sums(std::size_t c, const double* const* __restrict rows, const double* __restrict w8,
                               const std::size_t* __restrict at6, const double* __restrict w6,
                               const std::size_t* __restrict at4, const double* __restrict w4,
                               const std::size_t* __restrict at2, const double* __restrict w2,
                               const double* __restrict H, double cw, const double* __restrict x,
                               double* __restrict D8, double* __restrict D6, double* __restrict D4,
                               double* __restrict D2, double* __restrict R) {
    for (std::size_t i = 0; i < c; ++i) {
        double s8 = 0.0, s6 = 0.0, s4 = 0.0, s2 = 0.0, sa = 0.0;
        for (std::size_t j = 0; j < 8; ++j) {
            const double v = w8[j] * rows[j][i];
            s8 += v;
            sa += std::fabs(v);
        }
        for (std::size_t j = 0; j < 6; ++j) s6 += w6[j] * rows[at6[j]][i];
        for (std::size_t j = 0; j < 4; ++j) s4 += w4[j] * rows[at4[j]][i];
        for (std::size_t j = 0; j < 2; ++j) s2 += w2[j] * rows[at2[j]][i];
        const double inv = 1.0 / H[i];
        const double d8 = s8 * inv;
        D8[i] = d8;
        D6[i] = s6 * inv;
        D4[i] = s4 * inv;
        D2[i] = s2 * inv;
        R[i] = sa * inv + (std::fabs(x[i]) * std::fabs(d8)) * (cw * inv);
    }
}

class Ridders1D {
public:
    Ridders1D(const BatchFunction& f, const double* x, std::size_t count, const Stencil1D& k, const Schedule& sched,
              std::size_t max_batch, bool values_only, const Interrupt& intr, const FastStencils* fast)
        : f_(f), x_(x), count_(count), k_(k), L_(static_cast<std::size_t>(sched.levels)),
          Lmax_(static_cast<std::size_t>(sched.max_levels)), sched_(sched), values_only_(values_only), intr_(intr),
          fast_(fast), max_batch_(std::max<std::size_t>(1, max_batch)) {
        moved_ = moved_nodes(k_);
        center_ = moved_ < k_.off.size();
        cw_ = conditioning_weight(k_);
        if (fast_) cw8_ = conditioning_weight(fast_->s8);
        per_call_ = std::max<std::size_t>(1, max_batch / std::max<std::size_t>(1, moved_));
        if (fast_) {
            per_call_fast_ = std::max<std::size_t>(1, max_batch / 8);
            const auto where = [this](const Stencil1D& st, std::size_t* at) {
                for (std::size_t j = 0; j < st.off.size(); ++j)
                    at[j] = static_cast<std::size_t>(
                        std::find(fast_->s8.off.begin(), fast_->s8.off.end(), st.off[j]) - fast_->s8.off.begin());
            };
            where(fast_->s6, at6_);
            where(fast_->s4, at4_);
            where(fast_->s2, at2_);
        }
        const std::vector<double> inv = inverse_factors();
        invc_.assign(L_ + 1, 0.0);
        for (std::size_t c = 1; c <= L_; ++c) invc_[c] = inv[static_cast<std::size_t>(k_.lead) + (c - 1) * k_.step];
    }

    FDResult run() {
        FDResult r;
        r.value.resize(count_);  // every point is retired once
        if (!values_only_) {
            r.error.resize(count_);
            r.step.resize(count_);
            r.nfev.resize(count_);
            r.status.resize(count_);
        }
        if (center_) f0_ = centre_values(f_, x_, count_, per_call_ * moved_, intr_);
        // The fast path for every point, then the tableau for the points it left, all of them
        // together: a Python f gets a few large calls per level, not a few small ones per chunk.
        std::vector<std::size_t> rest;
        if (fast_) {
            const std::size_t group = chunk_points(f_, 8);
            for (std::size_t c0 = 0; c0 < count_; c0 += group) fast_path(c0, std::min(group, count_ - c0), rest, r);
        } else {
            rest.resize(count_);
            for (std::size_t i = 0; i < count_; ++i) rest[i] = i;
        }
        const std::size_t chunk = chunk_points(f_, moved_);
        for (std::size_t c0 = 0; c0 < rest.size(); c0 += chunk)
            run_chunk(rest.data() + c0, std::min(chunk, rest.size() - c0), r);
        return r;
    }

private:
    void run_chunk(const std::size_t* idx, std::size_t n, FDResult& r) {
        State& s = s_;
        s.resize(n, L_);
        for (std::size_t i = 0; i < n; ++i) {
            s.idx[i] = idx[i];
            s.x[i] = x_[idx[i]];
        }
        for (std::size_t i = 0; i < n; ++i) s.sa[i] = step_scale(s.x[i]);
        std::fill_n(s.best.begin(), n, kNaN);
        std::fill_n(s.err.begin(), n, kInf);
        std::fill_n(s.rnd.begin(), n, 0.0);
        std::fill_n(s.h.begin(), n, kNaN);
        std::fill_n(s.len.begin(), n, 0);
        std::fill_n(s.st.begin(), n, FD_OK);
        std::fill_n(s.fin.begin(), n, 0);
        std::fill_n(s.extra.begin(), n, 0);
        std::size_t A = n;
        bool ragged = false;  // rows per point differ (a level was not finite somewhere)
        for (std::size_t level = 0; level < Lmax_ && A > 0; ++level) {
            const bool last = level + 1 == Lmax_;
            const bool nonfinite = differences(A, std::ldexp(sched_.t0, -static_cast<int>(level)));
            const unsigned char len0 = s.len[0];
            if (ragged) {
                ragged = false;
                for (std::size_t i = 0; i < A; ++i) ragged |= s.len[i] != len0;
            }
            std::size_t ndone = 0;
            if (!nonfinite && !ragged) {
                std::size_t a8 = 0;  // points done eight at a time
#ifdef FASTCALC_AVX512
                if (has_avx512()) {
                    a8 = A - A % 8;
                    ndone = update_uniform_avx512(a8, s.C, len0, s.K, sched_, invc_.data(), s.T.data(), s.D.data(),
                                                  s.R.data(), s.H.data(), s.best.data(), s.err.data(), s.rnd.data(),
                                                  s.h.data(), s.len.data(), s.done.data());
                }
#endif
                ndone += update_uniform(A - a8, s.C, len0, s.K, sched_, invc_.data(), s.T.data() + a8,
                                        s.D.data() + a8, s.R.data() + a8, s.H.data() + a8, s.best.data() + a8,
                                        s.err.data() + a8, s.rnd.data() + a8, s.h.data() + a8, s.old.data(),
                                        s.last.data(), s.imp.data(), s.len.data() + a8, s.done.data() + a8);
                for (std::size_t i = 0; i < A; ++i) ++s.fin[i];
            } else {
                for (std::size_t i = 0; i < A; ++i) update_one(s, i, sched_, invc_.data());
                ragged = true;  // until the next level checks
                ndone = A;      // unknown: let retire look
            }
            // Points may run out of levels once level + 1 >= L_ (fin <= level + 1).
            if (ndone > 0 || level + 1 >= L_) {
                restarted_ = false;
                A = retire(A, level, last, r);
                ragged |= restarted_;  // a restarted point has no rows
            }
        }
    }

    // The fast path for the points [c0, c0 + n): those it settles are written out, the others
    // appended to rest for the tableau.
    void fast_path(std::size_t c0, std::size_t n, std::vector<std::size_t>& rest, FDResult& r) {
        const FastStencils& fs = *fast_;
        const double* x = x_ + c0;
        fH_.resize(n);
        fR_.resize(n);
        fD8_.resize(n);
        fD6_.resize(n);
        fD4_.resize(n);
        fD2_.resize(n);
        for (std::size_t i = 0; i < n; ++i) fH_[i] = kFastStep * step_scale(x[i]);
        for (std::size_t i0 = 0; i0 < n; i0 += per_call_fast_) {
            const std::size_t c = std::min(per_call_fast_, n - i0);
            pts_.resize(c * 8);
            Y_.resize(c * 8);
            const bool one_call = c * 8 <= max_batch_;  // else calls of max_batch_ points (batch_size < 8)
            double* pts = one_call ? f_.points_buffer(c * 8, pts_.data()) : pts_.data();
            for (std::size_t j = 0; j < 8; ++j) node_points(c, x + i0, fs.s8.off[j], fH_.data() + i0, pts + j * c);
            const double* Y = Y_.data();
            if (one_call)
                Y = f_.eval_view(pts, c * 8, Y_.data());
            else
                for (std::size_t p0 = 0; p0 < c * 8; p0 += max_batch_)
                    f_.eval(pts + p0, std::min(max_batch_, c * 8 - p0), Y_.data() + p0);
            intr_.check();
            const double* rows[8];
            for (std::size_t j = 0; j < 8; ++j) rows[j] = Y + j * c;
            fast_sums(c, rows, fs.s8.w.data(), at6_, fs.s6.w.data(), at4_, fs.s4.w.data(), at2_, fs.s2.w.data(),
                      fH_.data() + i0, cw8_, x + i0, fD8_.data() + i0, fD6_.data() + i0, fD4_.data() + i0,
                      fD2_.data() + i0, fR_.data() + i0);
        }
        for (std::size_t i = 0; i < n; ++i) {
            const double rnd = 4 * kEps * fR_[i];
            const double err = fast_error(fD8_[i], fD6_[i], fD4_[i], fD2_[i], rnd);
            if (!fast_accept(fD8_[i], fD6_[i], fD4_[i], err, rnd, sched_.good_enough)) {
                rest.push_back(c0 + i);
                continue;
            }
            const std::size_t e = c0 + i;
            r.value[e] = fD8_[i];
            if (values_only_) continue;
            r.error[e] = err;
            r.step[e] = fH_[i];
            r.nfev[e] = 8;
            r.status[e] = FD_OK;
        }
    }

    // D and R of the A live points at step t * scale: f at every moved node, in calls of at most
    // per_call_ points each; the weighted sum in the stencil's node order.
    // Returns whether some D is not finite.
    bool differences(std::size_t A, double t) {
        State& s = s_;
        bool nonfinite = false;
        for (std::size_t i = 0; i < A; ++i) s.H[i] = t * s.sa[i];
        for (std::size_t i0 = 0; i0 < A; i0 += per_call_) {
            const std::size_t c = std::min(per_call_, A - i0);
            pts_.resize(c * moved_);
            Y_.resize(c * moved_);
            const double* x = s.x.data() + i0;
            const double* H = s.H.data() + i0;
            // the points straight into f's argument, the values read from its result
            double* pts = f_.points_buffer(c * moved_, pts_.data());
            std::size_t jm = 0;
            for (double off : k_.off) {
                if (off == 0.0) continue;
                node_points(c, x, off, H, pts + jm++ * c);
            }
            const double* Y = f_.eval_view(pts, c * moved_, Y_.data());
            intr_.check();
            jm = 0;
            for (std::size_t n = 0; n < k_.off.size(); ++n) {
                if (k_.off[n] != 0.0) {
                    rows_[n] = Y + jm++ * c;
                    continue;
                }
                f0c_.resize(c);  // the centre's values, gathered
                const std::size_t* idx = s.idx.data() + i0;
                for (std::size_t i = 0; i < c; ++i) f0c_[i] = f0_[idx[i]];
                rows_[n] = f0c_.data();
            }
            nonfinite |= weighted_sum(c, k_.off.size(), k_.w.data(), rows_.data(), H, k_.pow, cw_, x, s.D.data() + i0,
                                      s.R.data() + i0);
        }
        return nonfinite;
    }

    // Writes out the estimates that are done, or out of levels (settled, or given up after the
    // last level), and compacts the others to the front; returns how many remain. An estimate
    // that would be written out as ok is verified first (verify()).
    std::size_t retire(std::size_t A, std::size_t level, bool last, FDResult& r) {
        State& s = s_;
        const auto nfev = static_cast<std::uint32_t>((center_ ? 1 : 0) + (fast_ ? 8 : 0) + (level + 1) * moved_);
        ok_.clear();
        for (std::size_t i = 0; i < A; ++i) {
            bool ok = s.done[i];
            // Out of levels (ridders::settled): final, or afresh on finer steps (the coarse rows
            // were erratic), or given up at the last. fin == L_ only after a finite level (len > 0).
            if (!ok && (s.fin[i] == L_ || last) && s.len[i] > 0) {
                ok = settled(s.len[i], s.best[i], s.err[i], s.T[(s.len[i] - 1) * s.C + i], s.rnd[i], 4 * kEps * s.R[i]);
                if (!ok && !last) restart(i);
            }
            s.done[i] = ok;
            if (ok) ok_.push_back(i);
        }
        if (!ok_.empty()) verify(last);
        std::size_t j = 0;
        for (std::size_t i = 0; i < A; ++i) {
            const bool ok = s.done[i];
            if (ok || last) {
                const std::size_t e = s.idx[i];
                r.value[e] = s.best[i];
                if (values_only_) continue;
                r.step[e] = s.h[i];
                r.nfev[e] = nfev + s.extra[i];
                const std::uint8_t gave_up = s.st[i] | (std::isinf(s.err[i]) ? +FD_NO_ESTIMATE : +FD_NOT_CONVERGED);
                r.status[e] = ok ? FD_OK : (s.st[i] & kUnverified) ? +FD_NOT_CONVERGED : gave_up;
                r.error[e] = std::isinf(s.err[i]) ? kInf : std::max(s.err[i], s.rnd[i]);
                continue;
            }
            if (j != i) {
                s.idx[j] = s.idx[i];
                s.x[j] = s.x[i];
                s.sa[j] = s.sa[i];
                s.best[j] = s.best[i];
                s.err[j] = s.err[i];
                s.rnd[j] = s.rnd[i];
                s.h[j] = s.h[i];
                s.len[j] = s.len[i];
                s.st[j] = s.st[i];
                s.fin[j] = s.fin[i];
                s.extra[j] = s.extra[i];
                for (std::size_t c = 0; c < s.len[i]; ++c) s.T[c * s.C + j] = s.T[c * s.C + i];
            }
            ++j;
        }
        return j;
    }

    // The points ok_ (estimates about to be written out as ok) checked with the same stencil at
    // kVerify times this level's step, off the steps' lattice: D(r h) must be what the tableau
    // implies, best + (D(h) - best) r**lead (a frequency that aliases on the lattice, w h a
    // multiple of 2 pi, looks smooth to the tableau: sin(1607 x) from 1/16 down to 1/128). One
    // that fails starts afresh at the next level (done cleared), or at the last level is marked
    // kUnverified (written out as not converged).
    void verify(bool last) {
        State& s = s_;
        const std::size_t nv = ok_.size();
        vH_.resize(nv);
        vx_.resize(nv);
        vD_.resize(nv);
        vR_.resize(nv);
        for (std::size_t m = 0; m < nv; ++m) {
            vH_[m] = kVerify * s.H[ok_[m]];
            vx_[m] = s.x[ok_[m]];
        }
        for (std::size_t i0 = 0; i0 < nv; i0 += per_call_) {
            const std::size_t c = std::min(per_call_, nv - i0);
            pts_.resize(c * moved_);
            Y_.resize(c * moved_);
            std::size_t jm = 0;
            for (double off : k_.off) {
                if (off == 0.0) continue;
                node_points(c, vx_.data() + i0, off, vH_.data() + i0, pts_.data() + jm++ * c);
            }
            f_.eval(pts_.data(), c * moved_, Y_.data());
            intr_.check();
            for (std::size_t m = i0; m < i0 + c; ++m) {
                const std::size_t i = ok_[m];
                double S = 0.0, Sa = 0.0;
                jm = 0;
                for (std::size_t n = 0; n < k_.off.size(); ++n) {
                    const double y = k_.off[n] != 0.0 ? Y_[jm++ * c + (m - i0)] : f0_[s.idx[i]];
                    S += k_.w[n] * y;
                    Sa += std::fabs(k_.w[n] * y);
                }
                double denom = vH_[m];
                for (int p = 1; p < k_.pow; ++p) denom *= vH_[m];
                vD_[m] = S / denom;
                vR_[m] = Sa / denom;
                if (k_.pow == 1) vR_[m] += (std::fabs(vx_[m]) * std::fabs(vD_[m])) * (cw_ / denom);
            }
        }
        const double rl = std::pow(kVerify, k_.lead);
        for (std::size_t m = 0; m < nv; ++m) {
            const std::size_t i = ok_[m];
            s.extra[i] += static_cast<std::uint32_t>(moved_);
            const double best = s.best[i], D = s.D[i];
            const double predicted = best + (D - best) * rl;
            const double tol = kSafe * (std::fabs(D - best) + s.err[i]) + kNoise * (4 * kEps * s.R[i] + 4 * kEps * vR_[m]);
            if (std::fabs(vD_[m] - predicted) <= tol) continue;
            s.done[i] = 0;
            if (last) {
                s.st[i] = kUnverified;
                continue;
            }
            restart(i);
            s.st[i] = FD_OK;
        }
    }

    // Point i starts afresh from the next level.
    void restart(std::size_t i) {
        State& s = s_;
        restarted_ = true;
        s.best[i] = kNaN;
        s.err[i] = kInf;
        s.rnd[i] = 0.0;
        s.h[i] = kNaN;
        s.len[i] = 0;
    }

    const BatchFunction& f_;
    const double* x_;
    std::size_t count_;
    const Stencil1D& k_;
    std::size_t L_;     // sched_.levels, as a count
    std::size_t Lmax_;  // sched_.max_levels
    Schedule sched_;
    bool values_only_;
    const Interrupt& intr_;
    const FastStencils* fast_;
    std::size_t at6_[6] = {}, at4_[4] = {}, at2_[2] = {};  // the 6- and 4-point stencils' nodes among the 8
    std::vector<double> fH_, fR_, fD8_, fD6_, fD4_, fD2_;  // the fast path's
    std::vector<double> vH_, vx_, vD_, vR_;          // verify()'s
    std::vector<std::size_t> ok_;
    bool restarted_ = false;
    std::size_t max_batch_;
    double cw_ = 0.0, cw8_ = 0.0;  // conditioning_weight of the stencil, of the 8-point one
    std::size_t moved_ = 0, per_call_ = 1, per_call_fast_ = 1;
    bool center_ = false;
    std::vector<double> invc_, f0_, f0c_, pts_, Y_;
    std::vector<const double*> rows_ = std::vector<const double*>(k_.off.size());
    State s_;
};

}  // namespace

std::vector<double> centre_values(const BatchFunction& f, const double* x, std::size_t count, std::size_t per_call,
                                  const Interrupt& intr) {
    std::vector<double> f0(count);
    for (std::size_t s = 0; s < count; s += per_call) {
        const std::size_t c = std::min(per_call, count - s);
        f.eval(x + s, c, f0.data() + s);
        intr.check();
    }
    return f0;
}

FDResult derivative_1d(const BatchFunction& f, const double* x, std::size_t count, const Stencil1D& k,
                       const ridders::Schedule& sched, std::size_t max_batch, bool values_only,
                       const Interrupt& intr, const FastStencils* fast) {
    return Ridders1D(f, x, count, k, sched, max_batch, values_only, intr, fast).run();
}

}  // namespace fastcalc
