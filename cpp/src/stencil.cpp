#include <fastcalc/function.hpp>
#include <fastcalc/stencil.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace fastcalc {

std::vector<double> fornberg_weights(int deriv, const std::vector<double>& x, double z) {
    const int n = static_cast<int>(x.size()) - 1;
    if (deriv < 0 || n < deriv) throw invalid_argument("fornberg_weights: need more nodes than the derivative order");
    // c[j][k]: weight of node j for the k-th derivative, built up node by node.
    std::vector<std::vector<double>> c(x.size(), std::vector<double>(deriv + 1, 0.0));
    double c1 = 1.0, c4 = x[0] - z;
    c[0][0] = 1.0;
    for (int i = 1; i <= n; ++i) {
        const int mn = std::min(i, deriv);
        double c2 = 1.0;
        const double c5 = c4;
        c4 = x[i] - z;
        for (int j = 0; j < i; ++j) {
            const double c3 = x[i] - x[j];
            c2 *= c3;
            if (j == i - 1) {
                for (int k = mn; k >= 1; --k) c[i][k] = c1 * (k * c[i - 1][k - 1] - c5 * c[i - 1][k]) / c2;
                c[i][0] = -c1 * c5 * c[i - 1][0] / c2;
            }
            for (int k = mn; k >= 1; --k) c[j][k] = (c4 * c[j][k] - k * c[j][k - 1]) / c3;
            c[j][0] = c4 * c[j][0] / c3;
        }
        c1 = c2;
    }
    std::vector<double> w(x.size());
    for (std::size_t j = 0; j < x.size(); ++j) w[j] = c[j][deriv];
    return w;
}

Stencil make_stencil(Method method, int deriv, int accuracy) {
    if (deriv < 1 || deriv > 6) throw invalid_argument("derivative order n must be between 1 and 6, got " + std::to_string(deriv));
    Stencil s;
    s.deriv = deriv;
    s.accuracy = accuracy;
    if (method == Method::Central) {
        if (accuracy < 2 || accuracy > 8 || accuracy % 2)
            throw invalid_argument("central stencils have order 2, 4, 6 or 8, got " + std::to_string(accuracy));
        const int count = 2 * ((deriv + 1) / 2) - 1 + accuracy;
        const int half = (count - 1) / 2;
        for (int i = -half; i <= half; ++i) s.nodes.push_back(i);
        s.error_step = 2;
    } else {
        if (accuracy < 1 || accuracy > 8)
            throw invalid_argument("one-sided stencils have order 1 to 8, got " + std::to_string(accuracy));
        const int count = deriv + accuracy;
        const double sign = method == Method::Forward ? 1.0 : -1.0;
        for (int i = 0; i < count; ++i) s.nodes.push_back(sign * i);
        s.error_step = 1;
    }
    s.weights = fornberg_weights(deriv, s.nodes);
    // Symmetric stencils have exact zeros (the centre for odd derivatives); drop rounding dust.
    double wmax = 0.0;
    for (double w : s.weights) wmax = std::max(wmax, std::fabs(w));
    for (double& w : s.weights)
        if (std::fabs(w) < 64 * std::numeric_limits<double>::epsilon() * wmax) w = 0.0;
    return s;
}

double optimal_step_unit(int deriv, int accuracy) {
    return std::pow(std::numeric_limits<double>::epsilon(), 1.0 / (accuracy + deriv));
}

}  // namespace fastcalc
