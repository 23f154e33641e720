// The a-posteriori error of a network solution: the linearized error equation integrated by
// classical RK4 on a uniform grid, with the steps halved until two grids agree. Its
// coefficients (the residual r and the Jacobian of f along the network solution) are known
// functions of x, so each grid is evaluated in one batch; a halved grid reuses every point of
// the previous one and evaluates only the new midpoints.
#include <fastcalc/ode.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace fastcalc {
namespace ode {

namespace {

// The linear system state' = A(x) state + F(x) at the points of a grid: A (S x S), F (S).
struct Coefficients {
    std::size_t S = 0;
    std::vector<double> A, F;  // per point: S*S, S
};

// Evaluates the coefficients at `pts` into c at point offsets `slot[k]`. False when stopped.
bool evaluate(Model& model, const double* p, const std::vector<double>& pts, Coefficients& c,
              const std::vector<std::size_t>& slot, Stop& stop, bool& finite) {
    const std::size_t K = pts.size(), m = static_cast<std::size_t>(model.m()), S = c.S;
    const bool second = model.problem().order == 2;
    std::vector<double> r(K * m), fy(K * m * m), fdy(second ? K * m * m : 0);
    if (!model.residuals(p, pts.data(), K, r.data(), fy.data(), second ? fdy.data() : nullptr, &stop)) return false;
    for (std::size_t k = 0; k < K; ++k) {
        double* A = c.A.data() + slot[k] * S * S;
        double* F = c.F.data() + slot[k] * S;
        std::fill(A, A + S * S, 0.0);
        std::fill(F, F + S, 0.0);
        for (std::size_t i = 0; i < m; ++i) {
            const double ri = r[i * K + k];
            if (!std::isfinite(ri)) finite = false;
            if (!second) {
                F[i] = ri;
                for (std::size_t l = 0; l < m; ++l) A[i * S + l] = fy[(k * m + i) * m + l];
            } else {  // (e, e')' = ((e'), f_y e + f_dy e' + r)
                A[i * S + m + i] = 1.0;
                F[m + i] = ri;
                for (std::size_t l = 0; l < m; ++l) {
                    A[(m + i) * S + l] = fy[(k * m + i) * m + l];
                    A[(m + i) * S + m + l] = fdy[(k * m + i) * m + l];
                }
            }
        }
        for (std::size_t q = 0; q < S * S; ++q)
            if (!std::isfinite(A[q])) finite = false;
    }
    return true;
}

// dY = A Y + F e_0^T for Y (S x nc), column 0 forced.
void deriv(const double* A, const double* F, const double* Y, std::size_t S, std::size_t nc, double* dY) {
    for (std::size_t i = 0; i < S; ++i)
        for (std::size_t j = 0; j < nc; ++j) {
            double s = j == 0 ? F[i] : 0.0;
            for (std::size_t l = 0; l < S; ++l) s += A[i * S + l] * Y[l * nc + j];
            dY[i * nc + j] = s;
        }
}

// Solves M c = b (n x n, row-major) by Gaussian elimination with partial pivoting; false when
// singular to working precision.
bool solve_small(std::vector<double> M, std::vector<double>& b, std::size_t n) {
    double scale = 0;
    for (double v : M) scale = std::max(scale, std::fabs(v));
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t piv = k;
        for (std::size_t i = k + 1; i < n; ++i)
            if (std::fabs(M[i * n + k]) > std::fabs(M[piv * n + k])) piv = i;
        if (!(std::fabs(M[piv * n + k]) > 1e-13 * scale)) return false;
        if (piv != k) {
            for (std::size_t j = 0; j < n; ++j) std::swap(M[k * n + j], M[piv * n + j]);
            std::swap(b[k], b[piv]);
        }
        for (std::size_t i = k + 1; i < n; ++i) {
            const double f = M[i * n + k] / M[k * n + k];
            for (std::size_t j = k; j < n; ++j) M[i * n + j] -= f * M[k * n + j];
            b[i] -= f * b[k];
        }
    }
    for (std::size_t k = n; k-- > 0;) {
        double s = b[k];
        for (std::size_t j = k + 1; j < n; ++j) s -= M[k * n + j] * b[j];
        b[k] = s / M[k * n + k];
    }
    return true;
}

// A bound on how fast anything in the network can change along x: |dz/dx| of every unit is at
// most x_scale times the product of the hidden layers' infinity norms (tanh, sigmoid and sin are
// 1-Lipschitz). A residual can have features as narrow as 1 / steepness (a steep unit's
// transition between collocation points), which a coarse grid would miss on every level.
double steepness(const Net& net, const std::vector<double>& p) {
    double s = net.x_scale;
    std::size_t at = 0, in = 1;
    for (int w : net.widths) {
        const std::size_t out = static_cast<std::size_t>(w);
        double norm = 0;
        for (std::size_t r = 0; r < out; ++r) {
            double row = 0;
            for (std::size_t c = 0; c < in; ++c) row += std::fabs(p[at + r * in + c]);
            norm = std::max(norm, row);
        }
        s *= norm;
        at += in * out + out;
        in = out;
    }
    return s;
}

}  // namespace

ErrorEstimate estimate_error(const Net& net, const Problem& pb, const Rhs& rhs, const std::vector<double>& p,
                             const std::vector<double>& e0, const ErrorOptions& opt, const Interrupt& intr) {
    Model model(net, pb, rhs);  // validates
    if (p.size() != model.n_params())
        throw invalid_argument("ode: " + std::to_string(p.size()) + " parameters given for a network of " +
                               std::to_string(model.n_params()));
    const std::size_t m = static_cast<std::size_t>(net.m), S = pb.order == 2 ? 2 * m : m, nc = 1 + S;
    const bool bvp = pb.trial == Trial::BVP;
    if (!e0.empty() && e0.size() != S)
        throw invalid_argument("ode: the initial error state needs " + std::to_string(S) + " values");
    for (double v : e0)
        if (!std::isfinite(v)) throw invalid_argument("ode: the initial error state must be finite");
    if (opt.min_steps < 1 || opt.max_steps < opt.min_steps || opt.max_steps > (std::size_t(1) << 24))
        throw invalid_argument("ode: error grid steps must satisfy 1 <= min_steps <= max_steps <= 2^24");
    Stop stop(&intr);
    ErrorEstimate out;
    const double a = pb.a, b = pb.b, L = b - a;
    Coefficients c;
    c.S = S;
    std::vector<double> pts;         // points of the current grid: a + j L / (2n), j = 0..2n
    std::vector<double> prev_e;      // e at the previous grid's nodes
    std::vector<double> E, Ycols;    // combined state at the nodes; BVP: the e'-columns too
    std::size_t n = opt.min_steps;
    {  // at least 4 steps across the narrowest feature the network can have
        Net mapped = net;
        pb.input_map(mapped.x_shift, mapped.x_scale);
        const double need = 4.0 * L * steepness(mapped, p);
        if (!(2.0 * need <= static_cast<double>(opt.max_steps))) {  // room for one halving
            out.max_abs = std::numeric_limits<double>::infinity();
            return out;  // not converged: the estimate cannot resolve this network
        }
        while (static_cast<double>(n) < need) n *= 2;
        if (n > opt.max_steps) n = opt.max_steps;
    }
    for (;;) {
        // the grid's points and coefficients (reusing the previous grid's, which are the even ones)
        const std::size_t np = 2 * n + 1;
        std::vector<double> grid(np);
        const double h2 = L / static_cast<double>(2 * n);
        for (std::size_t j = 0; j < np; ++j) grid[j] = a + static_cast<double>(j) * h2;
        grid[np - 1] = b;
        Coefficients next;
        next.S = S;
        next.A.assign(np * S * S, 0.0);
        next.F.assign(np * S, 0.0);
        std::vector<double> todo;
        std::vector<std::size_t> slot;
        if (pts.empty()) {
            todo = grid;
            for (std::size_t j = 0; j < np; ++j) slot.push_back(j);
        } else {
            for (std::size_t j = 0; j < pts.size(); ++j) {
                std::copy(c.A.begin() + j * S * S, c.A.begin() + (j + 1) * S * S, next.A.begin() + 2 * j * S * S);
                std::copy(c.F.begin() + j * S, c.F.begin() + (j + 1) * S, next.F.begin() + 2 * j * S);
            }
            for (std::size_t j = 1; j < np; j += 2) {
                todo.push_back(grid[j]);
                slot.push_back(j);
            }
        }
        if (!evaluate(model, p.data(), todo, next, slot, stop, out.finite)) {
            out.interrupted = true;
            return out;
        }
        c = std::move(next);
        pts = std::move(grid);
        if (!out.finite) {
            out.max_abs = std::numeric_limits<double>::infinity();
            return out;
        }
        // RK4 over n steps of h = L / n; stages at the grid's points 2i, 2i + 1, 2i + 2
        const double h = L / static_cast<double>(n);
        std::vector<double> Y(S * nc, 0.0), k1(S * nc), k2(S * nc), k3(S * nc), k4(S * nc), T(S * nc);
        if (!bvp)
            for (std::size_t i = 0; i < S && !e0.empty(); ++i) Y[i * nc] = e0[i];
        for (std::size_t i = 0; i < S; ++i) Y[i * nc + 1 + i] = 1.0;
        std::vector<double> nodes((n + 1) * S * nc);
        std::copy(Y.begin(), Y.end(), nodes.begin());
        for (std::size_t i = 0; i < n; ++i) {
            if ((i & 4095) == 4095 && stop()) {
                out.interrupted = true;
                return out;
            }
            const double *A0 = c.A.data() + 2 * i * S * S, *A1 = A0 + S * S, *A2 = A1 + S * S;
            const double *F0 = c.F.data() + 2 * i * S, *F1 = F0 + S, *F2 = F1 + S;
            deriv(A0, F0, Y.data(), S, nc, k1.data());
            for (std::size_t q = 0; q < S * nc; ++q) T[q] = Y[q] + 0.5 * h * k1[q];
            deriv(A1, F1, T.data(), S, nc, k2.data());
            for (std::size_t q = 0; q < S * nc; ++q) T[q] = Y[q] + 0.5 * h * k2[q];
            deriv(A1, F1, T.data(), S, nc, k3.data());
            for (std::size_t q = 0; q < S * nc; ++q) T[q] = Y[q] + h * k3[q];
            deriv(A2, F2, T.data(), S, nc, k4.data());
            for (std::size_t q = 0; q < S * nc; ++q) Y[q] += h / 6.0 * (k1[q] + 2.0 * k2[q] + 2.0 * k3[q] + k4[q]);
            std::copy(Y.begin(), Y.end(), nodes.begin() + (i + 1) * S * nc);
        }
        // the state: column 0, plus for a BVP the e'(a) that makes e(b) = 0
        std::vector<double> coef(S, 0.0);  // weights of the homogeneous columns
        if (bvp) {
            const double* Yb = nodes.data() + n * S * nc;
            std::vector<double> M(m * m), rhs_b(m);
            for (std::size_t i = 0; i < m; ++i) {
                rhs_b[i] = -Yb[i * nc];
                for (std::size_t j = 0; j < m; ++j) M[i * m + j] = Yb[i * nc + 1 + m + j];
            }
            if (!solve_small(M, rhs_b, m)) {  // the linearized boundary value problem is singular
                out.finite = false;
                out.max_abs = std::numeric_limits<double>::infinity();
                return out;
            }
            for (std::size_t j = 0; j < m; ++j) coef[m + j] = rhs_b[j];
        }
        E.assign((n + 1) * S, 0.0);
        for (std::size_t i = 0; i <= n; ++i)
            for (std::size_t q = 0; q < S; ++q) {
                const double* row = nodes.data() + (i * S + q) * nc;
                double s = row[0];
                for (std::size_t j = 0; j < S; ++j) s += coef[j] * row[1 + j];
                E[i * S + q] = s;
            }
        double maxabs = 0, diff = 0;
        const bool have_prev = !prev_e.empty();
        for (std::size_t i = 0; i <= n; ++i)
            for (std::size_t q = 0; q < m; ++q) maxabs = std::max(maxabs, std::fabs(E[i * S + q]));
        if (have_prev) {
            for (std::size_t i = 0; i <= n / 2; ++i)
                for (std::size_t q = 0; q < m; ++q)
                    diff = std::max(diff, std::fabs(E[2 * i * S + q] - prev_e[i * m + q]));
        }
        prev_e.assign((n + 1) * m, 0.0);
        for (std::size_t i = 0; i <= n; ++i)
            for (std::size_t q = 0; q < m; ++q) prev_e[i * m + q] = E[i * S + q];
        const double interr = diff / 15.0;  // RK4: the finer grid's error is about diff / 15
        const bool done = have_prev && (interr <= 0.02 * maxabs || interr <= opt.floor);
        if (!std::isfinite(maxabs)) {
            out.finite = false;
            out.max_abs = std::numeric_limits<double>::infinity();
            return out;
        }
        if (done || 2 * n > opt.max_steps) {
            out.converged = done;
            out.steps = n;
            out.max_abs = maxabs;
            out.integration_error = interr;
            // e' at the nodes from the equation itself: (A E + F)[0:m]
            const std::size_t stride = std::max<std::size_t>(1, n / 2048);  // at most ~2049 nodes kept
            std::vector<double> dS(S);
            for (std::size_t i = 0;; i = std::min(n, i + stride)) {
                const double* A = c.A.data() + 2 * i * S * S;
                const double* F = c.F.data() + 2 * i * S;
                for (std::size_t q = 0; q < S; ++q) {
                    double s = F[q];
                    for (std::size_t l = 0; l < S; ++l) s += A[q * S + l] * E[i * S + l];
                    dS[q] = s;
                }
                out.x.push_back(pts[2 * i]);
                if (!bvp) {
                    const double* Yi = nodes.data() + i * S * nc;
                    for (std::size_t q = 0; q < S; ++q)
                        for (std::size_t j = 0; j < S; ++j) out.phis.push_back(Yi[q * nc + 1 + j]);
                }
                for (std::size_t q = 0; q < m; ++q) {
                    out.e.push_back(E[i * S + q]);
                    out.de.push_back(dS[q]);
                }
                if (i == n) break;
            }
            out.end.assign(E.begin() + n * S, E.begin() + (n + 1) * S);
            if (!bvp) {
                out.phi.assign(S * S, 0.0);
                const double* Yb = nodes.data() + n * S * nc;
                for (std::size_t i = 0; i < S; ++i)
                    for (std::size_t j = 0; j < S; ++j) out.phi[i * S + j] = Yb[i * nc + 1 + j];
            }
            return out;
        }
        if (stop()) {
            out.interrupted = true;
            return out;
        }
        n *= 2;
    }
}

}  // namespace ode
}  // namespace fastcalc
