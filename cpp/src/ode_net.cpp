#include <fastcalc/ode.hpp>

#include <cmath>

namespace fastcalc {
namespace ode {

namespace {

// sigma and its first three derivatives at z
inline void activate(Activation act, double z, double& s0, double& s1, double& s2, double& s3) {
    switch (act) {
        case Activation::Tanh: {
            const double t = std::tanh(z);
            s0 = t;
            s1 = 1.0 - t * t;
            s2 = -2.0 * t * s1;
            s3 = -2.0 * s1 * s1 + 4.0 * t * t * s1;
            break;
        }
        case Activation::Sigmoid: {
            const double e = std::exp(-std::fabs(z));
            const double s = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            s0 = s;
            s1 = s * (1.0 - s);
            s2 = s1 * (1.0 - 2.0 * s);
            s3 = s2 * (1.0 - 2.0 * s) - 2.0 * s1 * s1;
            break;
        }
        case Activation::Sin:
            s0 = std::sin(z);
            s1 = std::cos(z);
            s2 = -s0;
            s3 = -s1;
            break;
    }
}

// Everything the reverse pass needs for one point: per layer the activations, their first two
// x-derivatives, and sigma', sigma'', sigma''' with z', z''.
struct Trace {
    std::vector<std::vector<double>> a, a1, a2, s1, s2, s3, z1, z2;
    std::vector<double> ab, a1b, a2b, pb, p1b, p2b;  // reverse-pass scratch
    std::vector<std::size_t> off;                      // parameter offset of each layer
};

int layer_in(const Net& net, std::size_t l) { return l == 0 ? 1 : net.widths[l - 1]; }

void forward(const Net& net, const double* p, double x, Trace& t, double* N, double* N1, double* N2) {
    const std::size_t L = net.widths.size();
    t.a.resize(L + 1);
    t.a1.resize(L + 1);
    t.a2.resize(L + 1);
    t.s1.resize(L);
    t.s2.resize(L);
    t.s3.resize(L);
    t.z1.resize(L);
    t.z2.resize(L);
    t.a[0].assign(1, x);
    t.a1[0].assign(1, 1.0);
    t.a2[0].assign(1, 0.0);
    const double* w = p;
    for (std::size_t l = 0; l < L; ++l) {
        const int in = layer_in(net, l), out = net.widths[l];
        const double* b = w + static_cast<std::size_t>(in) * out;
        auto& a = t.a[l + 1];
        auto& a1 = t.a1[l + 1];
        auto& a2 = t.a2[l + 1];
        a.resize(out);
        a1.resize(out);
        a2.resize(out);
        t.s1[l].resize(out);
        t.s2[l].resize(out);
        t.s3[l].resize(out);
        t.z1[l].resize(out);
        t.z2[l].resize(out);
        for (int r = 0; r < out; ++r) {
            double z = b[r], z1 = 0, z2 = 0;
            for (int c = 0; c < in; ++c) {
                const double wrc = w[r * in + c];
                z += wrc * t.a[l][c];
                z1 += wrc * t.a1[l][c];
                z2 += wrc * t.a2[l][c];
            }
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            activate(net.act, z, s0, s1, s2, s3);
            a[r] = s0;
            a1[r] = s1 * z1;
            a2[r] = s2 * z1 * z1 + s1 * z2;
            t.s1[l][r] = s1;
            t.s2[l][r] = s2;
            t.s3[l][r] = s3;
            t.z1[l][r] = z1;
            t.z2[l][r] = z2;
        }
        w = b + out;
    }
    const int in = layer_in(net, L);
    const double* b = w + static_cast<std::size_t>(in) * net.m;
    for (int r = 0; r < net.m; ++r) {
        double n0 = b[r], n1 = 0, n2 = 0;
        for (int c = 0; c < in; ++c) {
            const double wrc = w[r * in + c];
            n0 += wrc * t.a[L][c];
            n1 += wrc * t.a1[L][c];
            n2 += wrc * t.a2[L][c];
        }
        N[r] = n0;
        N1[r] = n1;
        N2[r] = n2;
    }
}

// Adds to g the gradient w.r.t. the parameters of sum_r (Nb[r] N_r + N1b[r] N'_r + N2b[r] N''_r).
void backward(const Net& net, const double* p, Trace& t, const double* Nb, const double* N1b, const double* N2b,
              double* g) {
    const std::size_t L = net.widths.size();
    std::vector<std::size_t>& off = t.off;
    if (off.size() != L + 1) {
        off.resize(L + 1);
        std::size_t o = 0;
        for (std::size_t l = 0; l <= L; ++l) {
            off[l] = o;
            const int in = layer_in(net, l), out = l < L ? net.widths[l] : net.m;
            o += static_cast<std::size_t>(in) * out + out;
        }
    }
    // output layer
    const int inL = layer_in(net, L);
    const double* W = p + off[L];
    double* gW = g + off[L];
    double* gb = gW + static_cast<std::size_t>(inL) * net.m;
    std::vector<double>& ab = t.ab;
    std::vector<double>& a1b = t.a1b;
    std::vector<double>& a2b = t.a2b;
    ab.assign(inL, 0.0);
    a1b.assign(inL, 0.0);
    a2b.assign(inL, 0.0);
    for (int r = 0; r < net.m; ++r) {
        for (int c = 0; c < inL; ++c) {
            gW[r * inL + c] += Nb[r] * t.a[L][c] + N1b[r] * t.a1[L][c] + N2b[r] * t.a2[L][c];
            ab[c] += W[r * inL + c] * Nb[r];
            a1b[c] += W[r * inL + c] * N1b[r];
            a2b[c] += W[r * inL + c] * N2b[r];
        }
        gb[r] += Nb[r];
    }
    for (std::size_t l = L; l-- > 0;) {
        const int in = layer_in(net, l), out = net.widths[l];
        const double* Wl = p + off[l];
        double* gWl = g + off[l];
        double* gbl = gWl + static_cast<std::size_t>(in) * out;
        std::vector<double>& pb = t.pb;
        std::vector<double>& p1b = t.p1b;
        std::vector<double>& p2b = t.p2b;
        pb.assign(in, 0.0);
        p1b.assign(in, 0.0);
        p2b.assign(in, 0.0);
        for (int r = 0; r < out; ++r) {
            const double s1 = t.s1[l][r], s2 = t.s2[l][r], s3 = t.s3[l][r], z1 = t.z1[l][r], z2 = t.z2[l][r];
            const double z2b = a2b[r] * s1;
            const double z1b = a1b[r] * s1 + a2b[r] * 2.0 * s2 * z1;
            const double zb = ab[r] * s1 + a1b[r] * s2 * z1 + a2b[r] * (s3 * z1 * z1 + s2 * z2);
            for (int c = 0; c < in; ++c) {
                gWl[r * in + c] += zb * t.a[l][c] + z1b * t.a1[l][c] + z2b * t.a2[l][c];
                if (l > 0) {
                    pb[c] += Wl[r * in + c] * zb;
                    p1b[c] += Wl[r * in + c] * z1b;
                    p2b[c] += Wl[r * in + c] * z2b;
                }
            }
            gbl[r] += zb;
        }
        ab.swap(pb);
        a1b.swap(p1b);
        a2b.swap(p2b);
    }
}

}  // namespace

void residuals_or_gradient(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x,
                           std::size_t K, double* r, double* J, double* grad);

std::size_t Net::n_params() const {
    std::size_t n = 0;
    int in = 1;
    for (int w : widths) {
        n += static_cast<std::size_t>(in) * w + w;
        in = w;
    }
    return n + static_cast<std::size_t>(in) * m + m;
}

void Net::eval(const double* p, const double* x, std::size_t K, double* N, double* d1, double* d2) const {
    Trace t;
    std::vector<double> n2(m);
    for (std::size_t k = 0; k < K; ++k)
        forward(*this, p, x[k], t, N + k * m, d1 + k * m, d2 ? d2 + k * m : n2.data());
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

void Problem::trial_values(const double* x, std::size_t K, int m, const double* N, const double* d1, const double* d2,
                           double* y, double* y1, double* y2) const {
    for (std::size_t k = 0; k < K; ++k) {
        double c[3][3];
        coefs(x[k], c);
        for (int i = 0; i < m; ++i) {
            const std::size_t at = k * m + i;
            const double n0 = N[at], n1 = d1[at], n2 = d2 ? d2[at] : 0.0;
            double base0, base1;
            if (trial == Trial::IVP1) {
                base0 = y0[i];
                base1 = 0.0;
            } else if (trial == Trial::IVP2) {
                base0 = y0[i] + dy0[i] * (x[k] - a);
                base1 = dy0[i];
            } else {
                base0 = (ya[i] * (b - x[k]) + yb[i] * (x[k] - a)) / (b - a);
                base1 = (yb[i] - ya[i]) / (b - a);
            }
            y[at] = base0 + c[0][0] * n0;
            y1[at] = base1 + c[1][0] * n0 + c[1][1] * n1;
            if (y2) y2[at] = c[2][0] * n0 + c[2][1] * n1 + c[2][2] * n2;
        }
    }
}

void residuals(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x, std::size_t K,
               double* r, double* J) {
    residuals_or_gradient(net, pb, rhs, p, x, K, r, J, nullptr);
}

double loss_gradient(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x,
                     std::size_t K, double* r, double* g) {
    residuals_or_gradient(net, pb, rhs, p, x, K, r, nullptr, g);
    double s = 0;
    for (std::size_t i = 0; i < K * static_cast<std::size_t>(net.m); ++i) s += r[i] * r[i];
    return s / static_cast<double>(K * static_cast<std::size_t>(net.m));
}

void residuals_or_gradient(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x,
                           std::size_t K, double* r, double* J, double* grad) {
    const int m = net.m;
    const std::size_t M = static_cast<std::size_t>(m), P = net.n_params();
    const bool second = pb.order == 2;
    std::vector<double> N(K * M), N1(K * M), N2(K * M), y(K * M), y1(K * M), y2(K * M), f(K * M), fy(K * M * M),
        fdy(second ? K * M * M : 0);
    net.eval(p, x, K, N.data(), N1.data(), N2.data());
    pb.trial_values(x, K, m, N.data(), N1.data(), N2.data(), y.data(), y1.data(), y2.data());
    rhs.eval(x, y.data(), second ? y1.data() : nullptr, K, f.data(), fy.data(), second ? fdy.data() : nullptr);
    const std::vector<double>& lhs = second ? y2 : y1;
    for (std::size_t i = 0; i < K * M; ++i) r[i] = lhs[i] - f[i];
    if (!J && !grad) return;
    if (J) std::fill(J, J + K * M * P, 0.0);
    if (grad) std::fill(grad, grad + P, 0.0);
    std::vector<double> g0(M), g1(M), g2(M);
    const double scale = 2.0 / static_cast<double>(K * M);  // d mean(r^2) / d r
    Trace t;
    std::vector<double> n0(M), n1(M), n2(M), s0(M), s1(M), s2(M);
    for (std::size_t k = 0; k < K; ++k) {
        forward(net, p, x[k], t, n0.data(), n1.data(), n2.data());
        double c[3][3];
        pb.coefs(x[k], c);
        const int q = second ? 2 : 1;
        if (grad) {
            std::fill(g0.begin(), g0.end(), 0.0);
            std::fill(g1.begin(), g1.end(), 0.0);
            std::fill(g2.begin(), g2.end(), 0.0);
        }
        for (std::size_t i = 0; i < M; ++i) {
            // seeds: d r_i / d N_l^(j)
            for (std::size_t l = 0; l < M; ++l) {
                const double fyl = fy[(k * M + i) * M + l];
                const double fdyl = second ? fdy[(k * M + i) * M + l] : 0.0;
                const double own = (l == i) ? 1.0 : 0.0;
                s0[l] = own * c[q][0] - fyl * c[0][0] - fdyl * c[1][0];
                s1[l] = own * c[q][1] - fyl * c[0][1] - fdyl * c[1][1];
                s2[l] = own * c[q][2] - fyl * c[0][2] - fdyl * c[1][2];
            }
            if (J) backward(net, p, t, s0.data(), s1.data(), s2.data(), J + (k * M + i) * P);
            if (grad) {  // the loss gradient needs one reverse pass per point: sum the seeds first
                const double w = scale * r[k * M + i];
                for (std::size_t l = 0; l < M; ++l) {
                    g0[l] += w * s0[l];
                    g1[l] += w * s1[l];
                    g2[l] += w * s2[l];
                }
            }
        }
        if (grad) backward(net, p, t, g0.data(), g1.data(), g2.data(), grad);
    }
}

std::vector<double> init_params(const Net& net, std::uint64_t seed) {
    std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E5ull;
    auto next = [&state]() {  // splitmix64
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    auto uniform = [&next]() { return static_cast<double>(next() >> 11) * 0x1.0p-53; };
    std::vector<double> p;
    int in = 1;
    std::vector<int> layers = net.widths;
    layers.push_back(net.m);
    for (int out : layers) {
        const double lim = std::sqrt(6.0 / (in + out));  // Glorot uniform
        for (int i = 0; i < in * out; ++i) p.push_back((2 * uniform() - 1) * lim);
        for (int i = 0; i < out; ++i) p.push_back(0.0);
        in = out;
    }
    return p;
}

}  // namespace ode
}  // namespace fastcalc
