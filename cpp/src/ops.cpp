// The scalar special functions of the table (ops.def) that <cmath> lacks or makes thread-unsafe.
#include <fastcalc/ops.hpp>

#include <cmath>
#include <limits>

namespace fastcalc {
namespace ops {

double lgamma(double a) {
#if defined(__GLIBC__) || defined(__APPLE__)
    int sign;
    return ::lgamma_r(a, &sign);
#else
    return std::lgamma(a);  // MSVC's and musl's do not write a global
#endif
}

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kInf = std::numeric_limits<double>::infinity();

// B_2k / (2k)! ... the asymptotic series' Bernoulli numbers B_2k, k = 1..10
constexpr double kBernoulli[] = {1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730, 7.0 / 6,
                                 -3617.0 / 510, 43867.0 / 798, -174611.0 / 330};

double digamma_positive(double x) {
    double r = 0.0;
    while (x < 10.0) {  // psi(x) = psi(x + 1) - 1/x
        r -= 1.0 / x;
        x += 1.0;
    }
    const double x2 = 1.0 / (x * x);
    // ln x - 1/(2x) - sum B_2k / (2k x^2k): at x >= 10 seven terms reach 1e-17
    double s = 0.0, p = x2;
    for (int k = 1; k <= 7; ++k) {
        s += kBernoulli[k - 1] / (2.0 * k) * p;
        p *= x2;
    }
    return r + std::log(x) - 0.5 / x - s;
}

double digamma(double x) {
    if (std::isnan(x) || x == -kInf) return std::nan("");
    if (x == kInf) return kInf;
    if (x == 0.0) return std::signbit(x) ? kInf : -kInf;
    if (x < 0.0) {
        const double t = x - std::floor(x);  // exact: pi cot(pi x) has period 1
        if (t == 0.0) return std::nan("");   // a pole at a negative integer
        // psi(x) = psi(1 - x) - pi cot(pi x)
        return digamma_positive(1.0 - x) - kPi / std::tan(kPi * t);
    }
    return digamma_positive(x);
}

// psi^(n)(x) for n >= 1.
double polygamma_n(int n, double x) {
    if (std::isnan(x) || x == -kInf) return std::nan("");
    const double sgn = (n % 2 == 1) ? 1.0 : -1.0;  // (-1)^(n+1)
    if (x == kInf) return 0.0;
    if (x <= 0.0 && x == std::floor(x)) return sgn * kInf;  // a pole
    double fact = 1.0;  // n!
    for (int k = 2; k <= n; ++k) fact *= k;
    const double xmin = 10.0 + n;  // where the asymptotic series is accurate for this n
    if (x + 1e5 < xmin) return std::nan("");  // too far left to shift upwards accurately
    double r = 0.0;
    while (x < xmin) {  // psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1)
        r += sgn * fact / std::pow(x, n + 1);
        x += 1.0;
    }
    // (-1)^(n+1) [(n-1)!/x^n + n!/(2 x^(n+1)) + sum_k B_2k (2k+n-1)! / ((2k)! x^(2k+n))]
    const double inv = 1.0 / x;
    double s = fact / n * std::pow(inv, n) + 0.5 * fact * std::pow(inv, n + 1);
    double c = fact / n;  // (2k + n - 1)! / (2k)!, starting at k = 0: (n - 1)!
    double p = std::pow(inv, n);
    for (int k = 1; k <= 10; ++k) {
        c *= static_cast<double>(2 * k + n - 2) * (2 * k + n - 1) / ((2.0 * k - 1) * (2.0 * k));
        p *= inv * inv;
        const double term = kBernoulli[k - 1] * c * p;
        s += term;
        if (std::fabs(term) < 1e-17 * std::fabs(s)) break;
    }
    return r + sgn * s;
}

}  // namespace

double polygamma(std::int32_t n, double a) {
    if (n < 0 || n > kMaxPolygamma) return std::nan("");
    return n == 0 ? digamma(a) : polygamma_n(n, a);
}

}  // namespace ops
}  // namespace fastcalc
