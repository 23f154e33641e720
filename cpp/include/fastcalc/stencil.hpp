// Finite-difference stencils: nodes (in units of the step h) and weights from Fornberg's algorithm.
#pragma once

#include <vector>

namespace fastcalc {

enum class Method { Central = 0, Forward = 1, Backward = 2 };

// Weights w such that f^(deriv)(z) ~ sum_j w[j] f(nodes[j]) for arbitrary distinct nodes
// (B. Fornberg, Math. Comp. 51 (1988) 699-706).
std::vector<double> fornberg_weights(int deriv, const std::vector<double>& nodes, double z = 0.0);

struct Stencil {
    std::vector<double> nodes;    // offsets in units of h
    std::vector<double> weights;  // divide the weighted sum by h**deriv
    int deriv = 1;
    int accuracy = 2;             // truncation error is O(h**accuracy)
    int error_step = 2;           // the error expansion goes h**p, h**(p+step), ...: 2 if symmetric
};

// The standard stencil: central (symmetric, even accuracy), forward or backward (one-sided).
Stencil make_stencil(Method method, int deriv, int accuracy);

// The step that balances truncation against round-off for that stencil, for |x| <= 1:
// eps**(1/(accuracy+deriv)), i.e. sqrt(eps) for forward n=1, cbrt(eps) for central n=1.
double optimal_step_unit(int deriv, int accuracy);

}  // namespace fastcalc
