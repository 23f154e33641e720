// The one definition of the first-order optimizers' step and of descent's stop rule, shared by
// every descent path (the interpreted and the native runs, callables, the generic driver) and by
// the ODE trainer's Adam, so that "the same bits" holds by construction.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstddef>

namespace fastcalc {

enum class DescentMethod { GD = 0, Momentum = 1, Nesterov = 2, Adam = 3 };

struct StepParams {
    DescentMethod method = DescentMethod::GD;
    double sign = 1.0;  // -1: ascent (the step follows +g)
    double momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

// What a step needs beyond the state: Adam's bias corrections at step t (0-based), computed
// once per step and only for Adam.
struct StepScale {
    double c1 = 1.0, c2 = 1.0;
};
inline StepScale step_scale(const StepParams& p, std::size_t t) {
    StepScale s;
    if (p.method == DescentMethod::Adam) {
        s.c1 = 1.0 - std::pow(p.beta1, static_cast<double>(t + 1));
        s.c2 = 1.0 - std::pow(p.beta2, static_cast<double>(t + 1));
    }
    return s;
}

// The step of one value, for any number type T (double to compute it; the program builder's
// node type to put it into a Program, program.cpp: so the interpreted, the native and the
// C++ paths all run these very operations): x -= lr * d(g, state), with state s1 (momentum,
// Adam's first moment) and s2 (Adam's second moment), c1 and c2 Adam's bias corrections.
//   gd:        x -= lr g
//   momentum:  v = mu v + g, x -= lr v
//   nesterov:  v = mu v + g, x -= lr (g + mu v)
//   adam:      m = b1 m + (1 - b1) g, q = b2 q + (1 - b2) g^2, x -= lr (m / c1) / (sqrt(q / c2) + eps)
template <DescentMethod M, class T>
inline void step_rule(const StepParams& p, T& x, T g, T& s1, T& s2, T lr, T c1, T c2) {
    using std::sqrt;
    const T G = p.sign * g;
    if constexpr (M == DescentMethod::GD) {
        x = x - lr * G;
    } else if constexpr (M == DescentMethod::Momentum || M == DescentMethod::Nesterov) {
        const T v = p.momentum * s1 + G;
        if constexpr (M == DescentMethod::Nesterov) x = x - lr * (G + p.momentum * v);
        else x = x - lr * v;
        s1 = v;
    } else {
        const T mm = p.beta1 * s1 + (1.0 - p.beta1) * G;
        const T vv = p.beta2 * s2 + (1.0 - p.beta2) * (G * G);
        x = x - lr * (mm / c1) / (sqrt(vv / c2) + p.eps);
        s1 = mm;
        s2 = vv;
    }
    (void)s2, (void)c1, (void)c2;
}

// One value: step_rule, or nothing where keep (a stopped run).
template <DescentMethod M>
inline void step_one(const StepParams& p, const StepScale& s, double& x, double g, double& s1, double& s2,
                     double lr, bool keep) {
    double xn = x, s1n = s1, s2n = s2;
    step_rule<M, double>(p, xn, g, s1n, s2n, lr, s.c1, s.c2);
    x = keep ? x : xn;
    s1 = keep ? s1 : s1n;
    s2 = keep ? s2 : s2n;
}

// The step for n values, lr(j) and keep(j) per value.
template <DescentMethod M, class LR, class Keep>
inline void step_values(const StepParams& p, const StepScale& s, double* __restrict x, const double* __restrict g,
                        double* __restrict s1, double* __restrict s2, std::size_t n, LR lr, Keep keep) {
    const StepParams q = p;  // a local copy: the compiler keeps its fields in registers
    for (std::size_t j = 0; j < n; ++j) step_one<M>(q, s, x[j], g[j], s1[j], s2[j], lr(j), keep(j));
}

template <class LR, class Keep>
inline void step(const StepParams& p, const StepScale& s, double* x, const double* g, double* s1, double* s2,
                 std::size_t n, LR lr, Keep keep) {
    switch (p.method) {
        case DescentMethod::GD: return step_values<DescentMethod::GD>(p, s, x, g, s1, s2, n, lr, keep);
        case DescentMethod::Momentum: return step_values<DescentMethod::Momentum>(p, s, x, g, s1, s2, n, lr, keep);
        case DescentMethod::Nesterov: return step_values<DescentMethod::Nesterov>(p, s, x, g, s1, s2, n, lr, keep);
        case DescentMethod::Adam: return step_values<DescentMethod::Adam>(p, s, x, g, s1, s2, n, lr, keep);
    }
}

// Descent's stop rule for one run, from its iterate's test against the bound (|x_d| <= lim for
// every d), the squared gradient norm and, at the last step, its value: 2 diverged (out of
// bounds, gradient or, at the end, value not finite), 1 converged (norm below tol), 0 go on.
// A step program computes the same with comparisons (Program::descent_step).
// Written as selects of whole conditions (no && or early return) so that a lane loop of it
// vectorizes (descent's interpreter, descent.cpp: step_stop).
inline double stop_code(bool x_in_bounds, double gn2, double tol2, bool last, double f) {
    const double conv = gn2 < tol2 ? 1.0 : 0.0;
    const bool ok = x_in_bounds & (gn2 <= DBL_MAX) & !(last & !(std::fabs(f) <= DBL_MAX));
    return ok ? conv : 2.0;
}

}  // namespace fastcalc
