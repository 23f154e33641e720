// Private: derivatives of f: R -> R vectorized across points, with the automatic step
// (derivative_1d.cpp) or a fixed one (fixed_1d.cpp).
#pragma once

#include <fastcalc/findiff.hpp>

#include "ridders.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace fastcalc {

// One stencil: f^(n)(x) ~ sum_j w[j] f(x + off[j] h) / h**pow; off[j] == 0 is the centre.
struct Stencil1D {
    std::vector<double> off, w;
    int pow = 1;
    int lead = 2, step = 2;  // error expansion in h: lead, lead+step, ...
};

// The first derivative's fast path (ridders::fast_accept): the 8-point stencil and the 6-, 4-
// and 2-point central stencils on nodes of it.
struct FastStencils {
    Stencil1D s8, s6, s4, s2;
};

// Points worked at a time (all levels of a chunk before the next): the chunk's state and the
// temporaries of f's calls stay in cache. A vectorized Python f gets calls of about 8,192
// points (64 KB): NumPy's x**2*exp(sin x) takes 10-11 ns a point in calls of 4,096 to 32,768
// points but 17 ns in calls of 49,152 (fresh pages each call), and with calls of 8,192 rather
// than 16,384 points the tableau's arrays share the 1 MB L2 with fewer of NumPy's temporaries
// (100,000 points, side by side: automatic 13.8 against 14.3 ms, fixed step 2.2 against 2.8).
constexpr std::size_t kCallPython = std::size_t(1) << 13;
constexpr std::size_t kChunkCompiled = 4096;

// The nodes of k that move off the point (each costs one evaluation of f per point).
inline std::size_t moved_nodes(const Stencil1D& k) {
    return static_cast<std::size_t>(std::count_if(k.off.begin(), k.off.end(), [](double o) { return o != 0.0; }));
}

// f at the points themselves, in calls of at most per_call points.
std::vector<double> centre_values(const BatchFunction& f, const double* x, std::size_t count, std::size_t per_call,
                                  const Interrupt& intr);

// Points per chunk for a stencil that moves `moved` nodes.
inline std::size_t chunk_points(const BatchFunction& f, std::size_t moved) {
    return f.batch_all() ? std::max<std::size_t>(64, kCallPython / std::max<std::size_t>(1, moved)) : kChunkCompiled;
}

// The Richardson tableau over the steps of `sched`, with the same arithmetic and stopping rules
// as the general engine (findiff.cpp), so the same bits; but with the tableau stored column by
// column over points so that each level is a few vector loops.
// fast: try the fast path first (nullptr: the tableau only).
FDResult derivative_1d(const BatchFunction& f, const double* x, std::size_t count, const Stencil1D& k,
                       const ridders::Schedule& sched, std::size_t max_batch, bool values_only,
                       const Interrupt& intr, const FastStencils* fast = nullptr);

// The fixed-step formula at each point, with the general engine's arithmetic (the textbook
// formulas in the textbook's order of operations for textbook = 1 forward, 2 backward,
// 3 central; otherwise sum_j w[j] f(x + off[j] h) / pow(h, pow)), so the same bits.
// values_only: leave the result's other fields empty.
FDResult fixed_1d(const BatchFunction& f, const double* x, std::size_t count, const Stencil1D& k, int textbook,
                  double h, std::size_t max_batch, bool values_only, const Interrupt& intr);

}  // namespace fastcalc
