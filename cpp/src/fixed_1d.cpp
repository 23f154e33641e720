#include "derivative_1d.hpp"

#include "clones.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fastcalc {

namespace {

// D[i] = sum_n w[n] rows[n][i] / denom, summed in node order from 0.0 as the general engine does.
FASTCALC_CLONES void stencil_sum(std::size_t c, std::size_t nodes, const double* __restrict w,
                                 const double* const* __restrict rows, double denom, double* __restrict D) {
    for (std::size_t i = 0; i < c; ++i) D[i] = 0.0;
    for (std::size_t n = 0; n < nodes; ++n) {
        const double wn = w[n];
        const double* Y = rows[n];
        for (std::size_t i = 0; i < c; ++i) D[i] += wn * Y[i];
    }
    for (std::size_t i = 0; i < c; ++i) D[i] /= denom;
}

// The textbook formulas: Y holds f at the one moved node (forward, backward) or at x - h then
// x + h (central); f0 at x.
FASTCALC_CLONES void textbook_formula(std::size_t c, int textbook, const double* __restrict Y,
                                      const double* __restrict f0, double h, double* __restrict D) {
    if (textbook == 1) {
        for (std::size_t i = 0; i < c; ++i) D[i] = (Y[i] - f0[i]) / h;
    } else if (textbook == 2) {
        for (std::size_t i = 0; i < c; ++i) D[i] = (f0[i] - Y[i]) / h;
    } else {
        const double* Yp = Y + c;
        for (std::size_t i = 0; i < c; ++i) D[i] = (Yp[i] - Y[i]) / (2 * h);
    }
}

}  // namespace

FDResult fixed_1d(const BatchFunction& f, const double* x, std::size_t count, const Stencil1D& k, int textbook,
                  double h, std::size_t max_batch, bool values_only, const Interrupt& intr) {
    const std::size_t moved = moved_nodes(k);
    const bool center = moved < k.off.size();
    FDResult r;
    r.value.resize(count);
    if (!values_only) {
        r.error.assign(count, std::numeric_limits<double>::quiet_NaN());
        r.step.assign(count, h);
        r.nfev.assign(count, static_cast<std::uint32_t>(moved + (center ? 1 : 0)));
        r.status.resize(count);
    }
    // Calls of f as derivative_1d makes them: the centre first, then chunk by chunk.
    const std::size_t per_call = std::max<std::size_t>(1, max_batch / std::max<std::size_t>(1, moved));
    const std::vector<double> f0 = center ? centre_values(f, x, count, per_call * moved, intr) : std::vector<double>();
    const double denom = std::pow(h, k.pow);  // as the general engine's step_power for a user's h
    const std::size_t chunk = std::min(chunk_points(f, moved), per_call);
    std::vector<double> pts(chunk * moved), Y(chunk * moved);
    std::vector<const double*> rows(k.off.size());
    for (std::size_t s = 0; s < count; s += chunk) {
        const std::size_t c = std::min(chunk, count - s);
        const double* xs = x + s;
        double* P = f.points_buffer(c * moved, pts.data());  // f's own argument where it has one
        std::size_t jm = 0;
        for (double off : k.off) {
            if (off == 0.0) continue;
            double* out = P + jm++ * c;
            for (std::size_t i = 0; i < c; ++i) out[i] = xs[i] + off * h;
        }
        const double* Yv = f.eval_view(P, c * moved, Y.data());
        intr.check();
        double* D = r.value.data() + s;
        if (textbook) {
            textbook_formula(c, textbook, Yv, center ? f0.data() + s : nullptr, h, D);
        } else {
            jm = 0;
            for (std::size_t n = 0; n < k.off.size(); ++n)
                rows[n] = k.off[n] != 0.0 ? Yv + jm++ * c : f0.data() + s;
            stencil_sum(c, k.off.size(), k.w.data(), rows.data(), denom, D);
        }
        if (!values_only)
            for (std::size_t i = 0; i < c; ++i) r.status[s + i] = std::isfinite(D[i]) ? FD_OK : FD_NONFINITE;
    }
    return r;
}

}  // namespace fastcalc
