#include <fastcalc/ode.hpp>
#include <fastcalc/vmath.hpp>

#include <cmath>

namespace fastcalc {
namespace ode {

namespace {

// Everything the reverse pass needs, for all K points at once: per layer (point-major,
// [k * width + r]) the activations, their first two x-derivatives, the first three derivatives
// of sigma, and z', z''. Layers run for every point together, so the activation goes through
// the vectorized math library.
struct Trace {
    std::size_t K = 0;
    std::vector<std::vector<double>> a, a1, a2, s1, s2, s3, z1, z2;
    std::vector<double> zbuf;                          // pre-activations of one layer
    std::vector<double> ab, a1b, a2b, pb, p1b, p2b;  // reverse-pass scratch
    std::vector<std::size_t> off;                      // parameter offset of each layer
};

int layer_in(const Net& net, std::size_t l) { return l == 0 ? 1 : net.widths[l - 1]; }

// a = sigma(z) with sigma', sigma'' and sigma''' (in s1, s2, s3) over n values.
void activate_all(Activation act, const double* z, double* a, double* s1, double* s2, double* s3, std::size_t n) {
    switch (act) {
        case Activation::Tanh:
            vmath::apply(vmath::Tanh, z, a, n);
            for (std::size_t i = 0; i < n; ++i) {
                const double t = a[i], d = 1.0 - t * t;
                s1[i] = d;
                s2[i] = -2.0 * t * d;
                s3[i] = -2.0 * d * d + 4.0 * t * t * d;
            }
            break;
        case Activation::Sigmoid:
            for (std::size_t i = 0; i < n; ++i) s3[i] = -std::fabs(z[i]);
            vmath::apply(vmath::Exp, s3, s3, n);
            for (std::size_t i = 0; i < n; ++i) {
                const double e = s3[i], v = z[i] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
                a[i] = v;
                s1[i] = v * (1.0 - v);
                s2[i] = s1[i] * (1.0 - 2.0 * v);
                s3[i] = s2[i] * (1.0 - 2.0 * v) - 2.0 * s1[i] * s1[i];
            }
            break;
        case Activation::Sin:
            vmath::apply(vmath::Sin, z, a, n);
            vmath::apply(vmath::Cos, z, s1, n);
            for (std::size_t i = 0; i < n; ++i) {
                s2[i] = -a[i];
                s3[i] = -s1[i];
            }
            break;
    }
}

void forward(const Net& net, const double* p, const double* x, std::size_t K, Trace& t, double* N, double* N1,
             double* N2) {
    const std::size_t L = net.widths.size();
    t.K = K;
    t.a.resize(L + 1);
    t.a1.resize(L + 1);
    t.a2.resize(L + 1);
    t.s1.resize(L);
    t.s2.resize(L);
    t.s3.resize(L);
    t.z1.resize(L);
    t.z2.resize(L);
    t.a[0].assign(x, x + K);
    t.a1[0].assign(K, 1.0);
    t.a2[0].assign(K, 0.0);
    const double* w = p;
    for (std::size_t l = 0; l < L; ++l) {
        const std::size_t in = static_cast<std::size_t>(layer_in(net, l)), out = static_cast<std::size_t>(net.widths[l]);
        const double* b = w + in * out;
        const std::size_t n = K * out;
        for (auto* v : {&t.a[l + 1], &t.a1[l + 1], &t.a2[l + 1], &t.s1[l], &t.s2[l], &t.s3[l], &t.z1[l], &t.z2[l]})
            v->resize(n);
        t.zbuf.resize(n);
        double* z = t.zbuf.data();
        const double *A = t.a[l].data(), *A1 = t.a1[l].data(), *A2 = t.a2[l].data();
        double *Z1 = t.z1[l].data(), *Z2 = t.z2[l].data();
        for (std::size_t k = 0; k < K; ++k)
            for (std::size_t r = 0; r < out; ++r) {
                double zz = b[r], z1 = 0, z2 = 0;
                for (std::size_t c = 0; c < in; ++c) {
                    const double wrc = w[r * in + c];
                    zz += wrc * A[k * in + c];
                    z1 += wrc * A1[k * in + c];
                    z2 += wrc * A2[k * in + c];
                }
                z[k * out + r] = zz;
                Z1[k * out + r] = z1;
                Z2[k * out + r] = z2;
            }
        activate_all(net.act, z, t.a[l + 1].data(), t.s1[l].data(), t.s2[l].data(), t.s3[l].data(), n);
        double *a1 = t.a1[l + 1].data(), *a2 = t.a2[l + 1].data();
        const double *s1 = t.s1[l].data(), *s2 = t.s2[l].data();
        for (std::size_t i = 0; i < n; ++i) {
            a1[i] = s1[i] * Z1[i];
            a2[i] = s2[i] * Z1[i] * Z1[i] + s1[i] * Z2[i];
        }
        w = b + out;
    }
    const std::size_t in = static_cast<std::size_t>(layer_in(net, L)), M = static_cast<std::size_t>(net.m);
    const double* b = w + in * M;
    const double *A = t.a[L].data(), *A1 = t.a1[L].data(), *A2 = t.a2[L].data();
    for (std::size_t k = 0; k < K; ++k)
        for (std::size_t r = 0; r < M; ++r) {
            double n0 = b[r], n1 = 0, n2 = 0;
            for (std::size_t c = 0; c < in; ++c) {
                const double wrc = w[r * in + c];
                n0 += wrc * A[k * in + c];
                n1 += wrc * A1[k * in + c];
                n2 += wrc * A2[k * in + c];
            }
            N[k * M + r] = n0;
            N1[k * M + r] = n1;
            if (N2) N2[k * M + r] = n2;
        }
}

// Adds to g the gradient w.r.t. the parameters of sum_r (Nb[r] N_r + N1b[r] N'_r + N2b[r] N''_r)
// at point k of the trace.
void backward(const Net& net, const double* p, Trace& t, std::size_t k, const double* Nb, const double* N1b,
              const double* N2b, double* g) {
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
    const std::size_t inL = static_cast<std::size_t>(layer_in(net, L));
    const double* W = p + off[L];
    double* gW = g + off[L];
    double* gb = gW + inL * net.m;
    std::vector<double>& ab = t.ab;
    std::vector<double>& a1b = t.a1b;
    std::vector<double>& a2b = t.a2b;
    ab.assign(inL, 0.0);
    a1b.assign(inL, 0.0);
    a2b.assign(inL, 0.0);
    const double *aL = t.a[L].data() + k * inL, *a1L = t.a1[L].data() + k * inL, *a2L = t.a2[L].data() + k * inL;
    for (int r = 0; r < net.m; ++r) {
        for (std::size_t c = 0; c < inL; ++c) {
            gW[r * inL + c] += Nb[r] * aL[c] + N1b[r] * a1L[c] + N2b[r] * a2L[c];
            ab[c] += W[r * inL + c] * Nb[r];
            a1b[c] += W[r * inL + c] * N1b[r];
            a2b[c] += W[r * inL + c] * N2b[r];
        }
        gb[r] += Nb[r];
    }
    for (std::size_t l = L; l-- > 0;) {
        const std::size_t in = static_cast<std::size_t>(layer_in(net, l)), out = static_cast<std::size_t>(net.widths[l]);
        const double* Wl = p + off[l];
        double* gWl = g + off[l];
        double* gbl = gWl + in * out;
        std::vector<double>& pb = t.pb;
        std::vector<double>& p1b = t.p1b;
        std::vector<double>& p2b = t.p2b;
        pb.assign(in, 0.0);
        p1b.assign(in, 0.0);
        p2b.assign(in, 0.0);
        const double *ap = t.a[l].data() + k * in, *a1p = t.a1[l].data() + k * in, *a2p = t.a2[l].data() + k * in;
        const std::size_t at = k * out;
        for (std::size_t r = 0; r < out; ++r) {
            const double s1 = t.s1[l][at + r], s2 = t.s2[l][at + r], s3 = t.s3[l][at + r];
            const double z1 = t.z1[l][at + r], z2 = t.z2[l][at + r];
            const double z2b = a2b[r] * s1;
            const double z1b = a1b[r] * s1 + a2b[r] * 2.0 * s2 * z1;
            const double zb = ab[r] * s1 + a1b[r] * s2 * z1 + a2b[r] * (s3 * z1 * z1 + s2 * z2);
            for (std::size_t c = 0; c < in; ++c) {
                gWl[r * in + c] += zb * ap[c] + z1b * a1p[c] + z2b * a2p[c];
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
                           std::size_t K, double* r, double* J, double* grad, Workspace* ws);

// Scratch of one training run, reused epoch after epoch (no allocation in the loop).
struct Workspace {
    Trace t;
    std::vector<double> N, N1, N2, y, y1, y2, f, fy, fdy, g0, g1, g2, s0, s1, s2;
};

void WorkspaceDeleter::operator()(Workspace* w) const { delete w; }
WorkspacePtr make_workspace() { return WorkspacePtr(new Workspace()); }

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
    forward(*this, p, x, K, t, N, d1, d2);
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
    residuals_or_gradient(net, pb, rhs, p, x, K, r, J, nullptr, nullptr);
}

double loss_gradient(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x,
                     std::size_t K, double* r, double* g, Workspace* ws) {
    residuals_or_gradient(net, pb, rhs, p, x, K, r, nullptr, g, ws);
    double s = 0;
    for (std::size_t i = 0; i < K * static_cast<std::size_t>(net.m); ++i) s += r[i] * r[i];
    return s / static_cast<double>(K * static_cast<std::size_t>(net.m));
}

void residuals_or_gradient(const Net& net, const Problem& pb, const Rhs& rhs, const double* p, const double* x,
                           std::size_t K, double* r, double* J, double* grad, Workspace* ws) {
    const int m = net.m;
    const std::size_t M = static_cast<std::size_t>(m), P = net.n_params();
    const bool second = pb.order == 2;
    Workspace local;
    Workspace& w = ws ? *ws : local;
    for (auto* v : {&w.N, &w.N1, &w.N2, &w.y, &w.y1, &w.y2, &w.f}) v->resize(K * M);
    w.fy.resize(K * M * M);
    w.fdy.resize(second ? K * M * M : 0);
    for (auto* v : {&w.g0, &w.g1, &w.g2, &w.s0, &w.s1, &w.s2}) v->resize(M);
    std::vector<double>&N = w.N, &N1 = w.N1, &N2 = w.N2, &y = w.y, &y1 = w.y1, &y2 = w.y2, &f = w.f, &fy = w.fy,
                        &fdy = w.fdy, &g0 = w.g0, &g1 = w.g1, &g2 = w.g2, &s0 = w.s0, &s1 = w.s1, &s2 = w.s2;
    Trace& t = w.t;  // one forward pass for every point, kept for the reverse passes
    forward(net, p, x, K, t, N.data(), N1.data(), N2.data());
    pb.trial_values(x, K, m, N.data(), N1.data(), N2.data(), y.data(), y1.data(), y2.data());
    rhs.eval(x, y.data(), second ? y1.data() : nullptr, K, f.data(), fy.data(), second ? fdy.data() : nullptr);
    const std::vector<double>& lhs = second ? y2 : y1;
    for (std::size_t i = 0; i < K * M; ++i) r[i] = lhs[i] - f[i];
    if (!J && !grad) return;
    if (J) std::fill(J, J + K * M * P, 0.0);
    if (grad) std::fill(grad, grad + P, 0.0);
    const double scale = 2.0 / static_cast<double>(K * M);  // d mean(r^2) / d r
    for (std::size_t k = 0; k < K; ++k) {
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
            if (J) backward(net, p, t, k, s0.data(), s1.data(), s2.data(), J + (k * M + i) * P);
            if (grad) {  // the loss gradient needs one reverse pass per point: sum the seeds first
                const double w = scale * r[k * M + i];
                for (std::size_t l = 0; l < M; ++l) {
                    g0[l] += w * s0[l];
                    g1[l] += w * s1[l];
                    g2[l] += w * s2[l];
                }
            }
        }
        if (grad) backward(net, p, t, k, g0.data(), g1.data(), g2.data(), grad);
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
