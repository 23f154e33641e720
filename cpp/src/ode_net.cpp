// The network inside its trial solution: values, residuals, the residuals' Jacobian and the loss
// gradient, a chunk of kChunk points at a time. Within a chunk every array is unit-major
// ([unit][point], kChunk points per row), so each loop runs across the points of the chunk in
// vector lanes with no reassociation; reductions over points use 8 partial sums per parameter.
#include <fastcalc/ode.hpp>
#include <fastcalc/vmath.hpp>

#include "clones.hpp"
#include "v4.hpp"

#define FC_RESTRICT __restrict

#include <algorithm>
#include <cmath>
#include <string>

namespace fastcalc {
namespace ode {

namespace {

constexpr std::size_t kChunk = 64;  // points per chunk: a 64-unit layer's trace stays in L2
constexpr std::size_t kLanes = 8;   // partial sums per parameter in the loss gradient

int layer_in(const Net& net, std::size_t l) { return l == 0 ? 1 : net.widths[l - 1]; }

[[noreturn]] void bad(const std::string& what) { throw invalid_argument("ode: " + what); }

// a = sigma(z) and s1 = sigma'(z) over n values.
FASTCALC_CLONES void activate(Activation act, const double* FC_RESTRICT z, double* FC_RESTRICT a, double* FC_RESTRICT s1, std::size_t n) {
    switch (act) {
        case Activation::Tanh:
            vmath::tanh_slope(z, a, s1, n);
            break;
        case Activation::Sigmoid:
            for (std::size_t i = 0; i < n; ++i) s1[i] = -std::fabs(z[i]);
            vmath::apply(vmath::Exp, s1, s1, n);
            for (std::size_t i = 0; i < n; ++i) {
                const double e = s1[i], v = z[i] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
                a[i] = v;
                s1[i] = v * (1.0 - v);
            }
            break;
        case Activation::Sin:
            vmath::apply(vmath::Sin, z, a, n);
            vmath::apply(vmath::Cos, z, s1, n);
            break;
    }
}

// sigma'' and (second order) sigma''' of one value (a double or a v4) from sigma and sigma' (every
// activation here has them in closed form).
template <Activation Act, class T>
FASTCALC_INLINE void higher1(T a, T s1, T& s2, T& s3) {
    if (Act == Activation::Tanh) {
        s2 = -2.0 * a * s1;
        s3 = -2.0 * s1 * s1 + 4.0 * a * a * s1;
    } else if (Act == Activation::Sigmoid) {
        s2 = s1 * (1.0 - 2.0 * a);
        s3 = s2 * (1.0 - 2.0 * a) - 2.0 * s1 * s1;
    } else {
        s2 = -a;
        s3 = -s1;
    }
}

template <Activation Act>
FASTCALC_INLINE void higher_n(const double* FC_RESTRICT a, const double* FC_RESTRICT s1, double* FC_RESTRICT s2,
                              double* FC_RESTRICT s3, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        double t2, t3;
        higher1<Act>(a[i], s1[i], t2, t3);
        s2[i] = t2;
        if (s3) s3[i] = t3;
    }
}

// sigma'' and (s3 not null) sigma''' over n values.
FASTCALC_CLONES void higher(Activation act, const double* FC_RESTRICT a, const double* FC_RESTRICT s1, double* FC_RESTRICT s2, double* FC_RESTRICT s3, std::size_t n) {
    switch (act) {
        case Activation::Tanh: higher_n<Activation::Tanh>(a, s1, s2, s3, n); break;
        case Activation::Sigmoid: higher_n<Activation::Sigmoid>(a, s1, s2, s3, n); break;
        case Activation::Sin: higher_n<Activation::Sin>(a, s1, s2, s3, n); break;
    }
}

// Z = W A + b, Z1 = W A1, Z2 = W A2 (Z2, A2 null for first-order problems); [unit][kChunk].
FASTCALC_CLONES void dense_forward(const double* FC_RESTRICT W, const double* FC_RESTRICT b, std::size_t in, std::size_t out,
                                   const double* FC_RESTRICT A, const double* FC_RESTRICT A1, const double* FC_RESTRICT A2, double* FC_RESTRICT Z, double* FC_RESTRICT Z1,
                                   double* FC_RESTRICT Z2) {
    for (std::size_t r = 0; r < out; ++r) {
        double* z = Z + r * kChunk;
        double* z1 = Z1 + r * kChunk;
        for (std::size_t k = 0; k < kChunk; ++k) {
            z[k] = b ? b[r] : 0.0;
            z1[k] = 0.0;
        }
        for (std::size_t c = 0; c < in; ++c) {
            const double w = W[r * in + c];
            const double* a = A + c * kChunk;
            const double* a1 = A1 + c * kChunk;
            for (std::size_t k = 0; k < kChunk; ++k) {
                z[k] += w * a[k];
                z1[k] += w * a1[k];
            }
        }
        if (Z2) {
            double* z2 = Z2 + r * kChunk;
            for (std::size_t k = 0; k < kChunk; ++k) z2[k] = 0.0;
            for (std::size_t c = 0; c < in; ++c) {
                const double w = W[r * in + c];
                const double* a2 = A2 + c * kChunk;
                for (std::size_t k = 0; k < kChunk; ++k) z2[k] += w * a2[k];
            }
        }
    }
}

// The first layer: input t with t' = x_scale and t'' = 0 (Z1, Z2 null: not wanted).
FASTCALC_CLONES void first_forward(const double* FC_RESTRICT W, const double* FC_RESTRICT b, std::size_t out,
                                   const double* FC_RESTRICT xt, double scale, double* FC_RESTRICT Z,
                                   double* FC_RESTRICT Z1, double* FC_RESTRICT Z2) {
    for (std::size_t r = 0; r < out; ++r) {
        const double w = W[r], c = b[r], w1 = W[r] * scale;
        for (std::size_t k = 0; k < kChunk; ++k) Z[r * kChunk + k] = c + w * xt[k];
        if (Z1)
            for (std::size_t k = 0; k < kChunk; ++k) Z1[r * kChunk + k] = w1;
        if (Z2)
            for (std::size_t k = 0; k < kChunk; ++k) Z2[r * kChunk + k] = 0.0;
    }
}

// The output of one hidden layer from sigma and sigma' of its units (z' = w x_scale, z'' = 0):
// N = W2 A + b2, N' = W2 (s1 c), N'' = W2 (s2 c^2) (S2 null for first-order problems).
FASTCALC_CLONES void single_layer_output(const double* FC_RESTRICT W1, const double* FC_RESTRICT W2,
                                         const double* FC_RESTRICT b2, std::size_t H, std::size_t M, double scale,
                                         const double* FC_RESTRICT A, const double* FC_RESTRICT S1,
                                         const double* FC_RESTRICT S2, double* FC_RESTRICT N,
                                         double* FC_RESTRICT N1, double* FC_RESTRICT N2) {
    for (std::size_t i = 0; i < M; ++i) {
        double* n0 = N + i * kChunk;
        double* n1 = N1 + i * kChunk;
        for (std::size_t k = 0; k < kChunk; ++k) {
            n0[k] = b2[i];
            n1[k] = 0.0;
        }
        for (std::size_t r = 0; r < H; ++r) {
            const double w = W2[i * H + r], wc = w * (W1[r] * scale);
            const double *a = A + r * kChunk, *s1 = S1 + r * kChunk;
            for (std::size_t k = 0; k < kChunk; ++k) {
                n0[k] += w * a[k];
                n1[k] += wc * s1[k];
            }
        }
        if (N2) {
            double* n2 = N2 + i * kChunk;
            for (std::size_t k = 0; k < kChunk; ++k) n2[k] = 0.0;
            for (std::size_t r = 0; r < H; ++r) {
                const double c = W1[r] * scale, wcc = W2[i * H + r] * (c * c);
                const double* s2 = S2 + r * kChunk;
                for (std::size_t k = 0; k < kChunk; ++k) n2[k] += wcc * s2[k];
            }
        }
    }
}

// A1 = s1 Z1 and (second order) A2 = s2 Z1^2 + s1 Z2, over n values.
FASTCALC_CLONES void tangents(const double* FC_RESTRICT S1, const double* FC_RESTRICT S2, const double* FC_RESTRICT Z1, const double* FC_RESTRICT Z2, double* FC_RESTRICT A1,
                              double* FC_RESTRICT A2, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) A1[i] = S1[i] * Z1[i];
    if (A2)
        for (std::size_t i = 0; i < n; ++i) A2[i] = S2[i] * Z1[i] * Z1[i] + S1[i] * Z2[i];
}

// Where parameter contributions of one chunk go: Jacobian columns (one residual component's
// backward pass) or partial sums of the loss gradient.
struct Emit {
    bool jac = false;
    double* Jt = nullptr;  // jac: row a at Jt + a * ldj, this chunk's columns from col0
    std::size_t ldj = 0, col0 = 0, n = 0;
    double* acc = nullptr;  // gradient: kLanes partial sums per parameter
};

// The contribution to parameter `at` of sum_k (u v + u1 v1 + u2 v2)[k] (the terms a kind has:
// Bias: u; First: u v + u1 c, the first layer, whose input tangent is the constant c; Plain:
// u v + u1 v1; Second: all three).
enum class Term { Bias, First, Plain, Second };

// One point's term of each kind from its factors (the fused one-layer kernel forms the factors
// in registers and calls these too).
FASTCALC_INLINE double first_term(double u, double v, double u1, double c) { return u * v + u1 * c; }
FASTCALC_INLINE double plain_term(double u, double v, double u1, double v1) { return u * v + u1 * v1; }
FASTCALC_INLINE double second_term(double u, double v, double u1, double v1, double u2, double v2) {
    return plain_term(u, v, u1, v1) + u2 * v2;
}

// The bars of a first-layer unit's z and z' (z' = c, z'' = 0) from those of its a, a', a'' and
// sigma's derivatives s1, s2, s3; a2 = a'' = s2 c^2 (second order only, as ab2 and s3 are).
template <bool Second>
FASTCALC_INLINE void unit_bars(double ab, double a1b, double a2b, double s1, double s2, double s3, double c,
                               double& zb, double& z1b, double& a2) {
    if (Second) {
        a2 = s2 * c * c;
        z1b = a1b * s1 + a2b * 2.0 * s2 * c;
        zb = ab * s1 + a1b * s2 * c + a2b * s3 * c * c;
    } else {
        a2 = 0.0;
        z1b = a1b * s1;
        zb = ab * s1 + a1b * s2 * c;
    }
}

template <Term T>
FASTCALC_INLINE double term(std::size_t k, const double* FC_RESTRICT u, const double* FC_RESTRICT v,
                            const double* FC_RESTRICT u1, const double* FC_RESTRICT v1, double c,
                            const double* FC_RESTRICT u2, const double* FC_RESTRICT v2) {
    if (T == Term::Bias) return u[k];
    if (T == Term::First) return first_term(u[k], v[k], u1[k], c);
    if (T == Term::Plain) return plain_term(u[k], v[k], u1[k], v1[k]);
    return second_term(u[k], v[k], u1[k], v1[k], u2[k], v2[k]);
}

template <Term T>
FASTCALC_INLINE void emit(const Emit& e, std::size_t at, const double* FC_RESTRICT u, const double* FC_RESTRICT v,
                          const double* FC_RESTRICT u1, const double* FC_RESTRICT v1, double c,
                          const double* FC_RESTRICT u2, const double* FC_RESTRICT v2) {
    if (e.jac) {
        double* FC_RESTRICT out = e.Jt + at * e.ldj + e.col0;
        for (std::size_t k = 0; k < e.n; ++k) out[k] = term<T>(k, u, v, u1, v1, c, u2, v2);
        return;
    }
    double lanes[kLanes];
    double* FC_RESTRICT acc = e.acc + at * kLanes;
    for (std::size_t l = 0; l < kLanes; ++l) lanes[l] = acc[l];
    for (std::size_t j = 0; j < kChunk; j += kLanes)
        for (std::size_t l = 0; l < kLanes; ++l) lanes[l] += term<T>(j + l, u, v, u1, v1, c, u2, v2);
    for (std::size_t l = 0; l < kLanes; ++l) acc[l] = lanes[l];
}

// Output layer W (m x in): contributions of the seeds Sb0, Sb1, Sb2 ([output][kChunk]) to W and
// b, and ab = W^T Sb0, a1b = W^T Sb1, a2b = W^T Sb2 ([in][kChunk]).
FASTCALC_CLONES void output_backward(const Emit& e, std::size_t off, const double* FC_RESTRICT W, std::size_t in, std::size_t M,
                                     const double* FC_RESTRICT A, const double* FC_RESTRICT A1, const double* FC_RESTRICT A2, const double* FC_RESTRICT Sb0,
                                     const double* FC_RESTRICT Sb1, const double* FC_RESTRICT Sb2, double* FC_RESTRICT ab, double* FC_RESTRICT a1b, double* FC_RESTRICT a2b) {
    for (std::size_t r = 0; r < M; ++r) {
        const double *s0 = Sb0 + r * kChunk, *s1 = Sb1 + r * kChunk, *s2 = Sb2 ? Sb2 + r * kChunk : nullptr;
        for (std::size_t c = 0; c < in; ++c) {
            if (s2)
                emit<Term::Second>(e, off + r * in + c, s0, A + c * kChunk, s1, A1 + c * kChunk, 0.0, s2,
                                   A2 + c * kChunk);
            else
                emit<Term::Plain>(e, off + r * in + c, s0, A + c * kChunk, s1, A1 + c * kChunk, 0.0, nullptr, nullptr);
        }
        emit<Term::Bias>(e, off + M * in + r, s0, nullptr, nullptr, nullptr, 0.0, nullptr, nullptr);
    }
    for (std::size_t c = 0; c < in; ++c) {
        double *b0 = ab + c * kChunk, *b1 = a1b + c * kChunk, *b2 = a2b ? a2b + c * kChunk : nullptr;
        for (std::size_t k = 0; k < kChunk; ++k) b0[k] = b1[k] = 0.0;
        if (b2)
            for (std::size_t k = 0; k < kChunk; ++k) b2[k] = 0.0;
        for (std::size_t r = 0; r < M; ++r) {
            const double w = W[r * in + c];
            const double *s0 = Sb0 + r * kChunk, *s1 = Sb1 + r * kChunk;
            for (std::size_t k = 0; k < kChunk; ++k) {
                b0[k] += w * s0[k];
                b1[k] += w * s1[k];
            }
            if (b2) {
                const double* s2 = Sb2 + r * kChunk;
                for (std::size_t k = 0; k < kChunk; ++k) b2[k] += w * s2[k];
            }
        }
    }
}

// Through sigma: from ab, a1b, a2b at a hidden layer's output (n values) to zb, z1b, z2b at its
// pre-activation (z2b, a2b, S3, Z2 null for first-order problems).
FASTCALC_CLONES void through_activation(std::size_t n, const double* FC_RESTRICT S1, const double* FC_RESTRICT S2, const double* FC_RESTRICT S3,
                                        const double* FC_RESTRICT Z1, const double* FC_RESTRICT Z2, const double* FC_RESTRICT ab, const double* FC_RESTRICT a1b,
                                        const double* FC_RESTRICT a2b, double* FC_RESTRICT zb, double* FC_RESTRICT z1b, double* FC_RESTRICT z2b) {
    if (!a2b) {
        for (std::size_t i = 0; i < n; ++i) {
            z1b[i] = a1b[i] * S1[i];
            zb[i] = ab[i] * S1[i] + a1b[i] * S2[i] * Z1[i];
        }
        return;
    }
    for (std::size_t i = 0; i < n; ++i) {
        z2b[i] = a2b[i] * S1[i];
        z1b[i] = a1b[i] * S1[i] + a2b[i] * 2.0 * S2[i] * Z1[i];
        zb[i] = ab[i] * S1[i] + a1b[i] * S2[i] * Z1[i] + a2b[i] * (S3[i] * Z1[i] * Z1[i] + S2[i] * Z2[i]);
    }
}

// Hidden layer W (out x in): contributions to W and b from zb, z1b, z2b, and (when pab is not
// null) the previous layer's pab = W^T zb, pa1b = W^T z1b, pa2b = W^T z2b. For the first layer
// Ap is the scaled input, Ap1 null (the constant x_scale), Ap2 null (zero).
FASTCALC_CLONES void hidden_backward(const Emit& e, std::size_t off, const double* FC_RESTRICT W, std::size_t in,
                                     std::size_t out, const double* FC_RESTRICT Ap, const double* FC_RESTRICT Ap1, double scale,
                                     const double* FC_RESTRICT Ap2, const double* FC_RESTRICT zb, const double* FC_RESTRICT z1b, const double* FC_RESTRICT z2b,
                                     double* FC_RESTRICT pab, double* FC_RESTRICT pa1b, double* FC_RESTRICT pa2b) {
    for (std::size_t r = 0; r < out; ++r) {
        const double *u = zb + r * kChunk, *u1 = z1b + r * kChunk, *u2 = z2b && Ap2 ? z2b + r * kChunk : nullptr;
        for (std::size_t c = 0; c < in; ++c) {
            if (!Ap1)
                emit<Term::First>(e, off + r * in + c, u, Ap + c * kChunk, u1, nullptr, scale, nullptr, nullptr);
            else if (u2)
                emit<Term::Second>(e, off + r * in + c, u, Ap + c * kChunk, u1, Ap1 + c * kChunk, 0.0, u2,
                                   Ap2 + c * kChunk);
            else
                emit<Term::Plain>(e, off + r * in + c, u, Ap + c * kChunk, u1, Ap1 + c * kChunk, 0.0, nullptr,
                                  nullptr);
        }
        emit<Term::Bias>(e, off + out * in + r, u, nullptr, nullptr, nullptr, 0.0, nullptr, nullptr);
    }
    if (!pab) return;
    for (std::size_t c = 0; c < in; ++c) {
        double *b0 = pab + c * kChunk, *b1 = pa1b + c * kChunk, *b2 = pa2b ? pa2b + c * kChunk : nullptr;
        for (std::size_t k = 0; k < kChunk; ++k) b0[k] = b1[k] = 0.0;
        if (b2)
            for (std::size_t k = 0; k < kChunk; ++k) b2[k] = 0.0;
        for (std::size_t r = 0; r < out; ++r) {
            const double w = W[r * in + c];
            const double *s0 = zb + r * kChunk, *s1 = z1b + r * kChunk;
            for (std::size_t k = 0; k < kChunk; ++k) {
                b0[k] += w * s0[k];
                b1[k] += w * s1[k];
            }
            if (b2) {
                const double* s2 = z2b + r * kChunk;
                for (std::size_t k = 0; k < kChunk; ++k) b2[k] += w * s2[k];
            }
        }
    }
}

// One hidden layer (the default network), fused: for each unit, everything its parameters and
// the output weights on it need, in one pass over the chunk's points that reads only sigma and
// sigma' of the unit (the first layer's z' is the constant w x_scale and z'' = 0). Offsets: W1 at
// 0, b1 at H, W2 (M x H) at 2H, b2 at 2H + M H.
FASTCALC_CLONES void single_layer_backward(const Emit& e, Activation act, const double* FC_RESTRICT p,
                                           std::size_t H, std::size_t M, double scale,
                                           const double* FC_RESTRICT xt, const double* FC_RESTRICT A,
                                           const double* FC_RESTRICT S1, const double* FC_RESTRICT Sb0,
                                           const double* FC_RESTRICT Sb1, const double* FC_RESTRICT Sb2) {
    const double* W2 = p + 2 * H;
    double ab[kChunk], a1b[kChunk], a2b[kChunk], s2[kChunk], s3[kChunk], zb[kChunk], z1b[kChunk], a1[kChunk],
        a2[kChunk];
    for (std::size_t r = 0; r < H; ++r) {
        const double* a = A + r * kChunk;
        const double* s1 = S1 + r * kChunk;
        const double c = p[r] * scale;  // z' of the unit
        for (std::size_t k = 0; k < kChunk; ++k) ab[k] = a1b[k] = a2b[k] = 0.0;
        for (std::size_t i = 0; i < M; ++i) {
            const double w = W2[i * H + r];
            for (std::size_t k = 0; k < kChunk; ++k) {
                ab[k] += w * Sb0[i * kChunk + k];
                a1b[k] += w * Sb1[i * kChunk + k];
            }
            if (Sb2)
                for (std::size_t k = 0; k < kChunk; ++k) a2b[k] += w * Sb2[i * kChunk + k];
        }
        higher(act, a, s1, s2, Sb2 ? s3 : nullptr, kChunk);
        for (std::size_t k = 0; k < kChunk; ++k) a1[k] = s1[k] * c;
        if (Sb2) {
            for (std::size_t k = 0; k < kChunk; ++k)
                unit_bars<true>(ab[k], a1b[k], a2b[k], s1[k], s2[k], s3[k], c, zb[k], z1b[k], a2[k]);
        } else {
            for (std::size_t k = 0; k < kChunk; ++k)
                unit_bars<false>(ab[k], a1b[k], 0.0, s1[k], s2[k], 0.0, c, zb[k], z1b[k], a2[k]);
        }
        emit<Term::First>(e, r, zb, xt, z1b, nullptr, scale, nullptr, nullptr);
        emit<Term::Bias>(e, H + r, zb, nullptr, nullptr, nullptr, 0.0, nullptr, nullptr);
        for (std::size_t i = 0; i < M; ++i) {
            const double *s0 = Sb0 + i * kChunk, *s1b = Sb1 + i * kChunk;
            if (Sb2)
                emit<Term::Second>(e, 2 * H + i * H + r, s0, a, s1b, a1, 0.0, Sb2 + i * kChunk, a2);
            else
                emit<Term::Plain>(e, 2 * H + i * H + r, s0, a, s1b, a1, 0.0, nullptr, nullptr);
        }
    }
    for (std::size_t i = 0; i < M; ++i)
        emit<Term::Bias>(e, 2 * H + M * H + i, Sb0 + i * kChunk, nullptr, nullptr, nullptr, 0.0, nullptr, nullptr);
}

// single_layer_backward for M <= 3 outputs known at compile time, one pass per unit with every
// intermediate in registers (the chunk-long arrays' round trips were 30% of an Adam epoch).
// Jacobian rows get each point's terms. The gradient sums them, and there each term is a
// point-side factor (Sb0, Sb1, Sb2, xt) times a unit-side one (a, s1, s2, s3) times the unit's
// constants (w_i, c, scale): the products are summed over the points first and the constants
// applied once per unit, 2/3 of the operations of forming every point's terms.
template <Activation Act, bool Second, bool Jac, std::size_t M>
FASTCALC_INLINE void fused_unit_backward(const Emit& e, const double* FC_RESTRICT p, std::size_t H, double scale,
                                         const double* FC_RESTRICT xt, const double* FC_RESTRICT A,
                                         const double* FC_RESTRICT S1, const double* FC_RESTRICT Sb0,
                                         const double* FC_RESTRICT Sb1, const double* FC_RESTRICT Sb2) {
    const double* W2 = p + 2 * H;
    for (std::size_t r = 0; r < H; ++r) {
        const double* a = A + r * kChunk;
        const double* s1 = S1 + r * kChunk;
        const double c = p[r] * scale;  // z' of the unit
        double w[M];
        for (std::size_t i = 0; i < M; ++i) w[i] = W2[i * H + r];
        const std::size_t at_w = r, at_b = H + r, at_o = 2 * H + r;  // W1, b1, W2[i] at at_o + i H
        if (!Jac) {
            // per output, in 4 lanes (point k in lane k mod 4): sums of Sb0 s1, Sb0 s1 xt, Sb1 s2,
            // Sb1 s2 xt, Sb1 s1, Sb0 a; for second order also Sb2 s3, Sb2 s3 xt, Sb2 s2
            const v4 zero = {0.0, 0.0, 0.0, 0.0};
            v4 P0[M], P0x[M], P1[M], P1x[M], E[M], F[M], P2[M], P2x[M], G[M];
            for (std::size_t i = 0; i < M; ++i) P0[i] = P0x[i] = P1[i] = P1x[i] = E[i] = F[i] = P2[i] = P2x[i] = G[i] = zero;
            for (std::size_t k = 0; k < kChunk; k += 4) {
                const v4 av = load4(a + k), sv = load4(s1 + k), x = load4(xt + k);
                v4 s2, s3;
                higher1<Act>(av, sv, s2, s3);
                for (std::size_t i = 0; i < M; ++i) {
                    const v4 b0 = load4(Sb0 + i * kChunk + k), b1 = load4(Sb1 + i * kChunk + k);
                    const v4 p0 = b0 * sv, p1 = b1 * s2;
                    P0[i] += p0;
                    P0x[i] += p0 * x;
                    P1[i] += p1;
                    P1x[i] += p1 * x;
                    E[i] += b1 * sv;
                    F[i] += b0 * av;
                    if (Second) {
                        const v4 b2 = load4(Sb2 + i * kChunk + k), p2 = b2 * s3;
                        P2[i] += p2;
                        P2x[i] += p2 * x;
                        G[i] += b2 * s2;
                    }
                }
            }
            // zb = ab s1 + a1b s2 c (+ a2b s3 c^2), z1b = a1b s1 (+ 2 a2b s2 c) with ab = sum_i w_i
            // Sb0_i, ...; W1: zb xt + z1b scale; b1: zb; W2[i]: Sb0 a + Sb1 s1 c (+ Sb2 s2 c^2)
            v4 gw = zero, gb = zero;
            for (std::size_t i = 0; i < M; ++i) {
                v4 zb = P0[i] + c * P1[i], zbx = P0x[i] + c * P1x[i], z1b = E[i], o = F[i] + c * E[i];
                if (Second) {
                    zb += c * c * P2[i];
                    zbx += c * c * P2x[i];
                    z1b += 2.0 * c * G[i];
                    o += c * c * G[i];
                }
                gb += w[i] * zb;
                gw += w[i] * (zbx + scale * z1b);
                for (int l = 0; l < 4; ++l) e.acc[(at_o + i * H) * kLanes + l] += lane(o, l);
            }
            for (int l = 0; l < 4; ++l) {
                e.acc[at_w * kLanes + l] += lane(gw, l);
                e.acc[at_b * kLanes + l] += lane(gb, l);
            }
            continue;
        }
        for (std::size_t j = 0; j < kChunk; j += kLanes) {
            double tw[kLanes], tb[kLanes], to[M][kLanes];
            for (std::size_t l = 0; l < kLanes; ++l) {
                const std::size_t k = j + l;
                double ab = 0.0, a1b = 0.0, a2b = 0.0;
                for (std::size_t i = 0; i < M; ++i) {
                    ab += w[i] * Sb0[i * kChunk + k];
                    a1b += w[i] * Sb1[i * kChunk + k];
                    if (Second) a2b += w[i] * Sb2[i * kChunk + k];
                }
                double s2, s3;
                higher1<Act>(a[k], s1[k], s2, s3);
                const double a1 = s1[k] * c;
                double zb, z1b, a2;
                unit_bars<Second>(ab, a1b, a2b, s1[k], s2, s3, c, zb, z1b, a2);
                tw[l] = first_term(zb, xt[k], z1b, scale);
                tb[l] = zb;  // Term::Bias
                for (std::size_t i = 0; i < M; ++i) {
                    const double u = Sb0[i * kChunk + k], u1 = Sb1[i * kChunk + k];
                    to[i][l] = Second ? second_term(u, a[k], u1, a1, Sb2[i * kChunk + k], a2) : plain_term(u, a[k], u1, a1);
                }
            }
            const std::size_t n = j < e.n ? std::min(kLanes, e.n - j) : 0;
            double* base = e.Jt + e.col0 + j;
            if (n == kLanes) {  // whole blocks: fixed-length copies, which vectorize
                std::copy(tw, tw + kLanes, base + at_w * e.ldj);
                std::copy(tb, tb + kLanes, base + at_b * e.ldj);
                for (std::size_t i = 0; i < M; ++i) std::copy(to[i], to[i] + kLanes, base + (at_o + i * H) * e.ldj);
                continue;
            }
            for (std::size_t l = 0; l < n; ++l) {
                base[at_w * e.ldj + l] = tw[l];
                base[at_b * e.ldj + l] = tb[l];
                for (std::size_t i = 0; i < M; ++i) base[(at_o + i * H) * e.ldj + l] = to[i][l];
            }
        }
    }
    for (std::size_t i = 0; i < M; ++i)
        emit<Term::Bias>(e, 2 * H + M * H + i, Sb0 + i * kChunk, nullptr, nullptr, nullptr, 0.0, nullptr, nullptr);
}

template <Activation Act, bool Second, std::size_t M>
FASTCALC_CLONES void fused_backward(const Emit& e, const double* FC_RESTRICT p, std::size_t H, double scale,
                                    const double* FC_RESTRICT xt, const double* FC_RESTRICT A,
                                    const double* FC_RESTRICT S1, const double* FC_RESTRICT Sb0,
                                    const double* FC_RESTRICT Sb1, const double* FC_RESTRICT Sb2) {
    if (e.jac)
        fused_unit_backward<Act, Second, true, M>(e, p, H, scale, xt, A, S1, Sb0, Sb1, Sb2);
    else
        fused_unit_backward<Act, Second, false, M>(e, p, H, scale, xt, A, S1, Sb0, Sb1, Sb2);
}

template <bool Second, std::size_t M>
void fused_for(const Emit& e, Activation act, const double* p, std::size_t H, double scale, const double* xt,
               const double* A, const double* S1, const double* Sb0, const double* Sb1, const double* Sb2) {
    switch (act) {
        case Activation::Tanh:
            fused_backward<Activation::Tanh, Second, M>(e, p, H, scale, xt, A, S1, Sb0, Sb1, Sb2);
            break;
        case Activation::Sigmoid:
            fused_backward<Activation::Sigmoid, Second, M>(e, p, H, scale, xt, A, S1, Sb0, Sb1, Sb2);
            break;
        case Activation::Sin:
            fused_backward<Activation::Sin, Second, M>(e, p, H, scale, xt, A, S1, Sb0, Sb1, Sb2);
            break;
    }
}

// The fused backward pass of one hidden layer for M = 1 to 3 outputs; false for more (then
// single_layer_backward, whose loops take any M).
template <bool Second>
bool fused_single_layer_backward(const Emit& e, Activation act, const double* p, std::size_t H, std::size_t M,
                                 double scale, const double* xt, const double* A, const double* S1,
                                 const double* Sb0, const double* Sb1, const double* Sb2) {
    switch (M) {
        case 1: fused_for<Second, 1>(e, act, p, H, scale, xt, A, S1, Sb0, Sb1, Sb2); return true;
        case 2: fused_for<Second, 2>(e, act, p, H, scale, xt, A, S1, Sb0, Sb1, Sb2); return true;
        case 3: fused_for<Second, 3>(e, act, p, H, scale, xt, A, S1, Sb0, Sb1, Sb2); return true;
        default: return false;
    }
}

}  // namespace

std::size_t Net::n_params() const {
    std::size_t n = 0;
    std::size_t in = 1;
    for (int w : widths) {
        n += in * static_cast<std::size_t>(w) + static_cast<std::size_t>(w);
        in = static_cast<std::size_t>(w);
    }
    return n + in * static_cast<std::size_t>(m) + static_cast<std::size_t>(m);
}

void Net::validate() const {
    if (widths.empty()) bad("the network needs at least one hidden layer");
    for (int w : widths)
        if (w < 1 || w > 1000000) bad("hidden widths must be between 1 and 1,000,000, got " + std::to_string(w));
    if (m < 1 || m > 100000) bad("the number of outputs must be between 1 and 100,000, got " + std::to_string(m));
    if (static_cast<int>(act) < 0 || static_cast<int>(act) > 2) bad("unknown activation code");
    if (!(std::isfinite(x_shift) && std::isfinite(x_scale) && x_scale > 0)) bad("the input map must be finite");
    // every parameter count and offset below fits a size_t with room: widths are at most 1e6
    double p = 0, in = 1;
    for (int w : widths) {
        p += in * w + w;
        in = w;
    }
    if (p + in * m + m > 1e12) bad("the network has too many parameters");
}

void Problem::validate(int m) const {
    const int code = static_cast<int>(trial);
    if (code < 0 || code > 2) bad("unknown trial code " + std::to_string(code) + " (0: y' = f, 1: y'' = f, 2: BVP)");
    if (order != (trial == Trial::IVP1 ? 1 : 2))
        bad("order " + std::to_string(order) + " does not match the trial solution (trial code " +
            std::to_string(code) + ")");
    if (!(std::isfinite(a) && std::isfinite(b) && a < b)) bad("the problem's interval must be finite with a < b");
    if (m < 1) bad("need at least one equation");
    auto need = [&](const std::vector<double>& v, const char* name) {
        if (v.size() != static_cast<std::size_t>(m))
            bad(std::string(name) + " has " + std::to_string(v.size()) + " value(s) but the system has " +
                std::to_string(m) + " equation(s)");
        for (double d : v)
            if (!std::isfinite(d)) bad(std::string(name) + " must be finite");
    };
    if (trial == Trial::IVP1 || trial == Trial::IVP2) need(y0, "y0");
    if (trial == Trial::IVP2) need(dy0, "dy0");
    if (trial == Trial::BVP) {
        need(ya, "ya");
        need(yb, "yb");
    }
}

void Problem::input_map(double& shift, double& scale) const {
    shift = 0.5 * (a + b);
    scale = 2.0 / (b - a);
}

void Problem::coefs(double x, double c[3][3]) const {
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) c[i][j] = 0.0;
    const double d = x - a;
    if (trial == Trial::IVP1) {
        c[0][0] = d;
        c[1][0] = 1.0;
        c[1][1] = d;
    } else if (trial == Trial::IVP2) {
        c[0][0] = d * d;
        c[1][0] = 2 * d;
        c[1][1] = d * d;
        c[2][0] = 2.0;
        c[2][1] = 4 * d;
        c[2][2] = d * d;
    } else {  // B(x) = (x - a)(b - x)
        const double B = d * (b - x), B1 = a + b - 2 * x, B2 = -2.0;
        c[0][0] = B;
        c[1][0] = B1;
        c[1][1] = B;
        c[2][0] = B2;
        c[2][1] = 2 * B1;
        c[2][2] = B;
    }
}

double Problem::base(int k, std::size_t i, double x) const {
    if (trial == Trial::IVP1) return k == 0 ? y0[i] : 0.0;
    if (trial == Trial::IVP2) return k == 0 ? y0[i] + dy0[i] * (x - a) : (k == 1 ? dy0[i] : 0.0);
    if (k == 0) return (ya[i] * (b - x) + yb[i] * (x - a)) / (b - a);
    return k == 1 ? (yb[i] - ya[i]) / (b - a) : 0.0;
}

// Scratch of one Model: the trace of one chunk (per layer, [unit][kChunk]) and the point-major
// buffers the right-hand side reads and writes.
struct Model::Scratch {
    std::vector<std::size_t> off;                                   // parameter offset of each layer
    std::vector<std::vector<double>> A, S1, Z1, A1, Z2, A2;        // per hidden layer
    std::vector<double> z, s2, s3, xt, coef;                        // chunk temporaries
    std::vector<double> N, N1, N2;                                  // [output][kChunk]
    std::vector<double> ab, a1b, a2b, pab, pa1b, pa2b, zb, z1b, z2b;  // reverse pass, widest layer
    std::vector<double> sd0, sd1, sd2;                              // seeds [output][kChunk]
    std::vector<double> y, y1, y2, f, fy, fdy;                      // point-major, chunk or all points
    std::vector<double> acc;                                        // kLanes partial sums per parameter
};

Model::Model(const Net& net, const Problem& pb, const Rhs& rhs) : net_(net), pb_(pb), rhs_(rhs), s_(nullptr) {
    net_.validate();
    pb_.validate(net_.m);
    pb_.input_map(net_.x_shift, net_.x_scale);
    P_ = net_.n_params();
    s_ = new Scratch();
    const std::size_t L = net_.widths.size();
    s_->off.resize(L + 1);
    std::size_t o = 0, wmax = static_cast<std::size_t>(net_.m);
    for (std::size_t l = 0; l <= L; ++l) {
        s_->off[l] = o;
        const std::size_t in = static_cast<std::size_t>(layer_in(net_, l)),
                          out = l < L ? static_cast<std::size_t>(net_.widths[l]) : static_cast<std::size_t>(net_.m);
        o += in * out + out;
        wmax = std::max(wmax, out);
    }
    const bool second = pb_.order == 2;
    for (auto* v : {&s_->A, &s_->S1, &s_->Z1, &s_->A1, &s_->Z2, &s_->A2}) v->resize(L);
    for (std::size_t l = 0; l < L; ++l) {
        const std::size_t n = static_cast<std::size_t>(net_.widths[l]) * kChunk;
        for (auto* v : {&s_->A, &s_->S1, &s_->Z1, &s_->A1}) (*v)[l].assign(n, 0.0);
        if (second)
            for (auto* v : {&s_->Z2, &s_->A2}) (*v)[l].assign(n, 0.0);
    }
    const std::size_t M = static_cast<std::size_t>(net_.m) * kChunk, W = wmax * kChunk;
    for (auto* v : {&s_->z, &s_->s2, &s_->s3, &s_->ab, &s_->a1b, &s_->a2b, &s_->pab, &s_->pa1b, &s_->pa2b, &s_->zb,
                    &s_->z1b, &s_->z2b})
        v->assign(W, 0.0);
    for (auto* v : {&s_->N, &s_->N1, &s_->N2, &s_->sd0, &s_->sd1, &s_->sd2}) v->assign(M, 0.0);
    s_->xt.assign(kChunk, 0.0);
    s_->coef.assign(9 * kChunk, 0.0);
}

Model::~Model() { delete s_; }

namespace {

// The forward pass of one chunk (n <= kChunk points from x; the rest repeat the last point):
// the trace in s and N, N1, N2 ([output][kChunk]).
template <bool Second, class S>
void forward_chunk(const Net& net, S& s, const double* p, const double* x, std::size_t n) {
    const std::size_t L = net.widths.size();
    for (std::size_t k = 0; k < kChunk; ++k) s.xt[k] = (x[k < n ? k : n - 1] - net.x_shift) * net.x_scale;
    if (L == 1) {  // the default network: no z', a' arrays (z' is constant per unit)
        const std::size_t H = static_cast<std::size_t>(net.widths[0]), M = static_cast<std::size_t>(net.m);
        const double* W1 = p;
        first_forward(W1, W1 + H, H, s.xt.data(), net.x_scale, s.z.data(), nullptr, nullptr);
        activate(net.act, s.z.data(), s.A[0].data(), s.S1[0].data(), H * kChunk);
        if (Second) higher(net.act, s.A[0].data(), s.S1[0].data(), s.s2.data(), nullptr, H * kChunk);
        single_layer_output(W1, p + 2 * H, p + 2 * H + M * H, H, M, net.x_scale, s.A[0].data(), s.S1[0].data(),
                            Second ? s.s2.data() : nullptr, s.N.data(), s.N1.data(), Second ? s.N2.data() : nullptr);
        return;
    }
    for (std::size_t l = 0; l < L; ++l) {
        const std::size_t in = static_cast<std::size_t>(layer_in(net, l)), out = static_cast<std::size_t>(net.widths[l]);
        const double* W = p + s.off[l];
        const double* b = W + in * out;
        double *Z = s.z.data(), *Z1 = s.Z1[l].data(), *Z2 = Second ? s.Z2[l].data() : nullptr;
        if (l == 0) {
            first_forward(W, b, out, s.xt.data(), net.x_scale, Z, Z1, Z2);
        } else {
            dense_forward(W, b, in, out, s.A[l - 1].data(), s.A1[l - 1].data(), Second ? s.A2[l - 1].data() : nullptr,
                          Z, Z1, Z2);
        }
        const std::size_t cnt = out * kChunk;
        activate(net.act, Z, s.A[l].data(), s.S1[l].data(), cnt);
        if (Second) higher(net.act, s.A[l].data(), s.S1[l].data(), s.s2.data(), nullptr, cnt);
        tangents(s.S1[l].data(), s.s2.data(), Z1, Z2, s.A1[l].data(), Second ? s.A2[l].data() : nullptr, cnt);
    }
    const std::size_t in = static_cast<std::size_t>(layer_in(net, L)), M = static_cast<std::size_t>(net.m);
    const double* W = p + s.off[L];
    dense_forward(W, W + in * M, in, M, s.A[L - 1].data(), s.A1[L - 1].data(), Second ? s.A2[L - 1].data() : nullptr,
                  s.N.data(), s.N1.data(), Second ? s.N2.data() : nullptr);
}

// y, y', y'' of the trial solution for the n points of a chunk into point-major rows from `at`.
template <bool Second, class S>
void trial_chunk(const Problem& pb, std::size_t M, S& s, const double* x, std::size_t n, double* y, double* y1,
                 double* y2) {
    for (std::size_t k = 0; k < n; ++k) {
        double c[3][3];
        pb.coefs(x[k], c);
        for (std::size_t q = 0; q < 3; ++q)
            for (std::size_t j = 0; j < 3; ++j) s.coef[(q * 3 + j) * kChunk + k] = c[q][j];
        for (std::size_t i = 0; i < M; ++i) {
            const double n0 = s.N[i * kChunk + k], n1 = s.N1[i * kChunk + k], n2 = Second ? s.N2[i * kChunk + k] : 0.0;
            y[k * M + i] = pb.base(0, i, x[k]) + c[0][0] * n0;
            y1[k * M + i] = pb.base(1, i, x[k]) + c[1][0] * n0 + c[1][1] * n1;
            if (y2) y2[k * M + i] = c[2][0] * n0 + c[2][1] * n1 + c[2][2] * n2;
        }
    }
    for (std::size_t k = n; k < kChunk; ++k)
        for (std::size_t q = 0; q < 9; ++q) s.coef[q * kChunk + k] = 0.0;
}

}  // namespace

void Model::network(const double* p, const double* x, std::size_t K, double* N, double* N1, double* N2) {
    const std::size_t M = static_cast<std::size_t>(net_.m);
    const bool second = pb_.order == 2 || N2;
    if (N2 && pb_.order == 1) {  // the first-order trace has no second tangent: a second-order model
        Problem q = pb_;
        q.trial = Trial::IVP2;
        q.order = 2;
        q.dy0.assign(M, 0.0);
        if (q.y0.empty()) q.y0.assign(M, 0.0);
        Model two(net_, q, rhs_);
        two.network(p, x, K, N, N1, N2);
        return;
    }
    for (std::size_t k0 = 0; k0 < K; k0 += kChunk) {
        const std::size_t n = std::min(kChunk, K - k0);
        if (second)
            forward_chunk<true>(net_, *s_, p, x + k0, n);
        else
            forward_chunk<false>(net_, *s_, p, x + k0, n);
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t i = 0; i < M; ++i) {
                N[(k0 + k) * M + i] = s_->N[i * kChunk + k];
                N1[(k0 + k) * M + i] = s_->N1[i * kChunk + k];
                if (N2) N2[(k0 + k) * M + i] = s_->N2[i * kChunk + k];
            }
    }
}

void Model::trial(const double* p, const double* x, std::size_t K, double* y, double* y1, double* y2) {
    const std::size_t M = static_cast<std::size_t>(net_.m);
    const bool second = pb_.order == 2;
    for (std::size_t k0 = 0; k0 < K; k0 += kChunk) {
        const std::size_t n = std::min(kChunk, K - k0);
        if (second) {
            forward_chunk<true>(net_, *s_, p, x + k0, n);
            trial_chunk<true>(pb_, M, *s_, x + k0, n, y + k0 * M, y1 + k0 * M, y2 ? y2 + k0 * M : nullptr);
        } else {
            forward_chunk<false>(net_, *s_, p, x + k0, n);
            trial_chunk<false>(pb_, M, *s_, x + k0, n, y + k0 * M, y1 + k0 * M, nullptr);
            if (y2)
                for (std::size_t i = 0; i < n * M; ++i) y2[k0 * M + i] = 0.0;  // not defined for order 1
        }
    }
}

// mode 0: residuals (and f_y, f_dy); 1: residuals and Jacobian; 2: residuals and loss gradient.
template <bool Second>
bool Model::pass(const double* p, const double* x, std::size_t K, int mode, double* r, double* fy_out,
                 double* fdy_out, double* Jt, std::size_t ldj, double* g, Stop* stop) {
    Scratch& s = *s_;
    const std::size_t M = static_cast<std::size_t>(net_.m), L = net_.widths.size();
    const bool whole = !rhs_.chunkable();  // one call of the rhs with every point
    const std::size_t cap = whole ? K : kChunk;
    for (auto* v : {&s.y, &s.y1, &s.y2, &s.f}) v->resize(cap * M);
    s.fy.resize(cap * M * M);
    s.fdy.resize(Second ? cap * M * M : 0);
    if (mode == 2) s.acc.assign(P_ * kLanes, 0.0);
    const double wscale = 2.0 / static_cast<double>(K * M);  // d mean(r^2) / d r
    const int q = Second ? 2 : 1;

    auto residual_rows = [&](const double* xs, std::size_t k0, std::size_t n, std::size_t at) {
        // the rhs at n points (rows from `at` of the point-major buffers), then r and f_y out
        rhs_.eval(xs, s.y.data() + at * M, Second ? s.y1.data() + at * M : nullptr, n, s.f.data() + at * M,
                  s.fy.data() + at * M * M, Second ? s.fdy.data() + at * M * M : nullptr);
        const double* lhs = Second ? s.y2.data() : s.y1.data();
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t i = 0; i < M; ++i)
                r[i * K + k0 + k] = lhs[(at + k) * M + i] - s.f[(at + k) * M + i];
        if (fy_out) std::copy(s.fy.begin() + at * M * M, s.fy.begin() + (at + n) * M * M, fy_out + k0 * M * M);
        if (fdy_out && Second)
            std::copy(s.fdy.begin() + at * M * M, s.fdy.begin() + (at + n) * M * M, fdy_out + k0 * M * M);
    };

    // seeds of one residual component i (or, i < 0, of the loss): d r_i / d N_l^(j)
    auto seeds = [&](std::size_t k0, std::size_t n, std::size_t at, long comp) {
        const double *cq0 = s.coef.data() + (q * 3 + 0) * kChunk, *cq1 = s.coef.data() + (q * 3 + 1) * kChunk,
                     *cq2 = s.coef.data() + (q * 3 + 2) * kChunk;
        const double *c00 = s.coef.data(), *c01 = s.coef.data() + kChunk, *c02 = s.coef.data() + 2 * kChunk;
        const double *c10 = s.coef.data() + 3 * kChunk, *c11 = s.coef.data() + 4 * kChunk,
                     *c12 = s.coef.data() + 5 * kChunk;
        std::fill(s.sd0.begin(), s.sd0.end(), 0.0);
        std::fill(s.sd1.begin(), s.sd1.end(), 0.0);
        if (Second) std::fill(s.sd2.begin(), s.sd2.end(), 0.0);
        const std::size_t i_lo = comp < 0 ? 0 : static_cast<std::size_t>(comp), i_hi = comp < 0 ? M : i_lo + 1;
        for (std::size_t i = i_lo; i < i_hi; ++i)
            for (std::size_t k = 0; k < n; ++k) {
                const double w = comp < 0 ? wscale * r[i * K + k0 + k] : 1.0;
                const double* fyk = s.fy.data() + ((at + k) * M + i) * M;
                const double* fdyk = Second ? s.fdy.data() + ((at + k) * M + i) * M : nullptr;
                for (std::size_t l = 0; l < M; ++l) {
                    const double own = l == i ? 1.0 : 0.0, fyl = fyk[l], fdl = Second ? fdyk[l] : 0.0;
                    s.sd0[l * kChunk + k] += w * (own * cq0[k] - fyl * c00[k] - fdl * c10[k]);
                    s.sd1[l * kChunk + k] += w * (own * cq1[k] - fyl * c01[k] - fdl * c11[k]);
                    if (Second) s.sd2[l * kChunk + k] += w * (own * cq2[k] - fyl * c02[k] - fdl * c12[k]);
                }
            }
    };

    auto backward = [&](const Emit& e) {
        if (L == 1) {
            const std::size_t H = static_cast<std::size_t>(net_.widths[0]);
            if (fused_single_layer_backward<Second>(e, net_.act, p, H, M, net_.x_scale, s.xt.data(), s.A[0].data(),
                                                    s.S1[0].data(), s.sd0.data(), s.sd1.data(),
                                                    Second ? s.sd2.data() : nullptr))
                return;
            single_layer_backward(e, net_.act, p, H, M, net_.x_scale,
                                  s.xt.data(), s.A[0].data(), s.S1[0].data(), s.sd0.data(), s.sd1.data(),
                                  Second ? s.sd2.data() : nullptr);
            return;
        }
        const std::size_t inL = static_cast<std::size_t>(layer_in(net_, L));
        output_backward(e, s.off[L], p + s.off[L], inL, M, s.A[L - 1].data(), s.A1[L - 1].data(),
                        Second ? s.A2[L - 1].data() : nullptr, s.sd0.data(), s.sd1.data(),
                        Second ? s.sd2.data() : nullptr, s.ab.data(), s.a1b.data(), Second ? s.a2b.data() : nullptr);
        for (std::size_t l = L; l-- > 0;) {
            const std::size_t in = static_cast<std::size_t>(layer_in(net_, l)),
                              out = static_cast<std::size_t>(net_.widths[l]), cnt = out * kChunk;
            higher(net_.act, s.A[l].data(), s.S1[l].data(), s.s2.data(), Second ? s.s3.data() : nullptr, cnt);
            through_activation(cnt, s.S1[l].data(), s.s2.data(), Second ? s.s3.data() : nullptr, s.Z1[l].data(),
                               Second ? s.Z2[l].data() : nullptr, s.ab.data(), s.a1b.data(),
                               Second ? s.a2b.data() : nullptr, s.zb.data(), s.z1b.data(),
                               Second ? s.z2b.data() : nullptr);
            if (l == 0) {
                hidden_backward(e, s.off[0], p + s.off[0], 1, out, s.xt.data(), nullptr, net_.x_scale, nullptr,
                                s.zb.data(), s.z1b.data(), nullptr, nullptr, nullptr, nullptr);
            } else {
                hidden_backward(e, s.off[l], p + s.off[l], in, out, s.A[l - 1].data(), s.A1[l - 1].data(), 0.0,
                                Second ? s.A2[l - 1].data() : nullptr, s.zb.data(), s.z1b.data(),
                                Second ? s.z2b.data() : nullptr, s.pab.data(), s.pa1b.data(),
                                Second ? s.pa2b.data() : nullptr);
                s.ab.swap(s.pab);
                s.a1b.swap(s.pa1b);
                s.a2b.swap(s.pa2b);
            }
        }
    };

    auto back_chunk = [&](std::size_t k0, std::size_t n, std::size_t at) {
        Emit e;
        e.n = n;
        if (mode == 1) {
            e.jac = true;
            e.Jt = Jt;
            e.ldj = ldj;
            for (std::size_t i = 0; i < M; ++i) {
                e.col0 = i * K + k0;
                seeds(k0, n, at, static_cast<long>(i));
                backward(e);
            }
        } else {
            e.acc = s.acc.data();
            seeds(k0, n, at, -1);
            backward(e);
        }
    };

    if (!whole) {
        for (std::size_t k0 = 0; k0 < K; k0 += kChunk) {
            if (stop && (*stop)()) return false;
            const std::size_t n = std::min(kChunk, K - k0);
            forward_chunk<Second>(net_, s, p, x + k0, n);
            trial_chunk<Second>(pb_, M, s, x + k0, n, s.y.data(), s.y1.data(), Second ? s.y2.data() : nullptr);
            residual_rows(x + k0, k0, n, 0);
            if (mode != 0) back_chunk(k0, n, 0);
        }
    } else {
        for (std::size_t k0 = 0; k0 < K; k0 += kChunk) {
            if (stop && (*stop)()) return false;
            const std::size_t n = std::min(kChunk, K - k0);
            forward_chunk<Second>(net_, s, p, x + k0, n);
            trial_chunk<Second>(pb_, M, s, x + k0, n, s.y.data() + k0 * M, s.y1.data() + k0 * M,
                                Second ? s.y2.data() + k0 * M : nullptr);
        }
        residual_rows(x, 0, K, 0);
        if (mode != 0)
            for (std::size_t k0 = 0; k0 < K; k0 += kChunk) {  // the trace again, a chunk at a time
                if (stop && (*stop)()) return false;
                const std::size_t n = std::min(kChunk, K - k0);
                forward_chunk<Second>(net_, s, p, x + k0, n);
                trial_chunk<Second>(pb_, M, s, x + k0, n, s.y.data() + k0 * M, s.y1.data() + k0 * M,
                                    Second ? s.y2.data() + k0 * M : nullptr);
                back_chunk(k0, n, k0);
            }
    }
    if (mode == 2)
        for (std::size_t a = 0; a < P_; ++a) {
            double t = 0;
            for (std::size_t l = 0; l < kLanes; ++l) t += s.acc[a * kLanes + l];
            g[a] = t;
        }
    return true;
}

bool Model::residuals(const double* p, const double* x, std::size_t K, double* r, double* fy, double* fdy,
                      Stop* stop) {
    return pb_.order == 2 ? pass<true>(p, x, K, 0, r, fy, fdy, nullptr, 0, nullptr, stop)
                          : pass<false>(p, x, K, 0, r, fy, fdy, nullptr, 0, nullptr, stop);
}

bool Model::jacobian(const double* p, const double* x, std::size_t K, double* r, double* Jt, std::size_t ldj,
                     Stop* stop) {
    if (ldj < K * static_cast<std::size_t>(net_.m)) bad("Jacobian stride too small");
    return pb_.order == 2 ? pass<true>(p, x, K, 1, r, nullptr, nullptr, Jt, ldj, nullptr, stop)
                          : pass<false>(p, x, K, 1, r, nullptr, nullptr, Jt, ldj, nullptr, stop);
}

double Model::loss_gradient(const double* p, const double* x, std::size_t K, double* r, double* g) {
    if (pb_.order == 2)
        pass<true>(p, x, K, 2, r, nullptr, nullptr, nullptr, 0, g, nullptr);
    else
        pass<false>(p, x, K, 2, r, nullptr, nullptr, nullptr, 0, g, nullptr);
    const std::size_t R = K * static_cast<std::size_t>(net_.m);
    double s = 0;
    for (std::size_t i = 0; i < R; ++i) s += r[i] * r[i];
    return s / static_cast<double>(R);
}

void residuals(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x, std::size_t K,
               double* r, double* J) {
    Model model(net, pb, rhs);
    const std::size_t M = static_cast<std::size_t>(net.m), R = K * M, P = model.n_params();
    std::vector<double> rc(R);
    if (J) {
        std::vector<double> Jt(P * R);
        model.jacobian(p, x, K, rc.data(), Jt.data(), R);
        for (std::size_t k = 0; k < K; ++k)
            for (std::size_t i = 0; i < M; ++i)
                for (std::size_t a = 0; a < P; ++a) J[(k * M + i) * P + a] = Jt[a * R + i * K + k];
    } else {
        model.residuals(p, x, K, rc.data());
    }
    for (std::size_t k = 0; k < K; ++k)
        for (std::size_t i = 0; i < M; ++i) r[k * M + i] = rc[i * K + k];
}

double loss_gradient(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x,
                     std::size_t K, double* r, double* g) {
    Model model(net, pb, rhs);
    const std::size_t M = static_cast<std::size_t>(net.m);
    std::vector<double> rc(K * M);
    const double loss = model.loss_gradient(p, x, K, rc.data(), g);
    for (std::size_t k = 0; k < K; ++k)
        for (std::size_t i = 0; i < M; ++i) r[k * M + i] = rc[i * K + k];
    return loss;
}

std::vector<double> init_params(const Net& net, std::uint64_t seed) {
    net.validate();
    std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E5ull;
    auto next = [&state]() {  // splitmix64
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    auto uniform = [&next]() { return static_cast<double>(next() >> 11) * 0x1.0p-53; };
    std::vector<double> p;
    p.reserve(net.n_params());
    int in = 1;
    std::vector<int> layers = net.widths;
    layers.push_back(net.m);
    for (int out : layers) {
        const double lim = std::sqrt(6.0 / (in + out));  // Glorot uniform
        for (long i = 0; i < static_cast<long>(in) * out; ++i) p.push_back((2 * uniform() - 1) * lim);
        for (int i = 0; i < out; ++i) p.push_back(0.0);
        in = out;
    }
    return p;
}

}  // namespace ode
}  // namespace fastcalc
