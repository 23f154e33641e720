// Private: the automatic-step derivative of f: R -> R, vectorized across points.
#pragma once

#include <fastcalc/findiff.hpp>

#include <cstddef>
#include <vector>

namespace fastcalc {

// One stencil: f^(n)(x) ~ sum_j w[j] f(x + off[j] h) / h**pow; off[j] == 0 is the centre.
struct Stencil1D {
    std::vector<double> off, w;
    int pow = 1;
    int lead = 2, step = 2;  // error expansion in h: lead, lead+step, ...
};

// The Richardson tableau over steps t0 * scale(x) / 2**level, level < levels, with the same
// arithmetic and stopping rules as the general engine (findiff.cpp), so the same bits; but
// with the tableau stored column by column over points so that each level is a few vector loops.
FDResult derivative_1d(const BatchFunction& f, const double* x, std::size_t count, const Stencil1D& k, int levels,
                       double t0, std::size_t max_batch, const Interrupt& intr);

}  // namespace fastcalc
