#include <fastcalc/tape.hpp>

#include "blocks.hpp"

#ifdef FASTCALC_HAVE_OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cstring>
#include <mutex>

namespace fastcalc {

int parallel_threads() {
#ifdef FASTCALC_HAVE_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

namespace {

// Scratch for one block of one program: slots x lanes, constants filled once.
// Scratch for one block of one program: slots x lanes, constants filled once, and the slots'
// addresses (an input slot may point into the caller's column instead).
struct Scratch {
    blocks::Buffer S;
    std::vector<double*> P;
    const Program* prog = nullptr;
    std::size_t lanes = 0;
    double* ready(const Program& p, std::size_t L) {
        if (prog != &p || lanes != L) {
            S.resize(p.n_slots() * L);
            p.init_block(S.data(), L);
            P.resize(p.n_slots());
            prog = &p, lanes = L;
        }
        for (std::size_t k = 0; k < P.size(); ++k) P[k] = S.data() + k * L;
        return S.data();
    }
};

}  // namespace

// The programs built on first use, and scratch reused across calls (a call takes one per
// thread from the pool and gives it back).
struct Tape::Lazy {
    std::once_flag f_grad, f_jvp, f_hess, f_hvp, f_pattern;
    std::unique_ptr<Program> grad, jvp, hess, hvp;
    Pattern pattern;
    std::mutex pool_mutex;
    std::vector<std::unique_ptr<Scratch>> pool;

    std::unique_ptr<Scratch> take() {
        {
            std::lock_guard<std::mutex> lock(pool_mutex);
            if (!pool.empty()) {
                auto s = std::move(pool.back());
                pool.pop_back();
                return s;
            }
        }
        return std::make_unique<Scratch>();
    }
    void give(std::unique_ptr<Scratch> s) {
        std::lock_guard<std::mutex> lock(pool_mutex);
        if (pool.size() < 16) pool.push_back(std::move(s));
    }
};

namespace {

// Lanes per block: a program's slots stay within about 32 KB per 100 slots... (L1/L2), and a
// batch smaller than a block is not padded beyond the next multiple of 8.
std::size_t lanes_for(const Program& p, std::size_t N) {
    const std::size_t slots = std::max<std::size_t>(p.n_slots(), 1);
    std::size_t L = std::max<std::size_t>(8, std::min<std::size_t>(256, (32768 / slots) / 8 * 8));
    return std::min(L, std::max<std::size_t>(8, (N + 7) / 8 * 8));
}

// Runs p over N points in blocks: load(P, L, s0, nb) fills (or points) the input slots of
// lanes [0, L) for points [s0, s0 + nb) (and pads the rest), store(P, L, s0, nb) reads the
// results, slot k at P[k].
template <class Load, class Store>
void run_program(const Program& p, Tape::Lazy& lazy, std::size_t N, const TapeOptions& o, const Interrupt& intr,
                 Load load, Store store) {
    if (N == 0) return;
    const std::size_t L = lanes_for(p, N);
    const std::size_t nb = (N + L - 1) / L;
    const int threads = (o.parallel && nb >= 16) ? 0 : 1;
    struct Held {
        Tape::Lazy* lazy;
        std::unique_ptr<Scratch> s;
        ~Held() {
            if (s) lazy->give(std::move(s));
        }
    };
    blocks::run(
        nb, threads, intr, [&] { return Held{&lazy, lazy.take()}; },
        [&](Held& h, std::size_t b, const blocks::Ticket&) {
            h.s->ready(p, L);
            double* const* P = h.s->P.data();
            const std::size_t s0 = b * L, m = std::min(L, N - s0);
            load(const_cast<double**>(P), L, s0, m);
            p.run_slots(P, L, o.simd);
            store(P, L, s0, m);
        });
}

// Input slots [first, first + n) of the lanes from n columns (col[k][point * stride]): a full
// block of a contiguous column is read in place (inputs are never written), the rest copied.
void load_rows(double** P, std::size_t L, std::size_t first, const TapeInput& in, std::size_t s0, std::size_t m) {
    for (std::size_t k = 0; k < in.cols.size(); ++k) {
        const double* col = in.cols[k] + s0 * in.stride;
        if (in.stride == 1 && m == L) {
            P[first + k] = const_cast<double*>(col);
            continue;
        }
        double* row = P[first + k];
        if (in.stride == 1) {
            std::memcpy(row, col, m * sizeof(double));
        } else {
            for (std::size_t j = 0; j < m; ++j) row[j] = col[j * in.stride];
        }
        for (std::size_t j = m; j < L; ++j) row[j] = 0.5;  // padding lanes: inside every domain
    }
}

}  // namespace

Tape::Tape(std::vector<std::int32_t> ops, std::vector<std::int32_t> args, std::vector<double> consts, int n_vars,
           std::vector<std::int32_t> outputs)
    : ops_(std::move(ops)), args_(std::move(args)), outputs_(std::move(outputs)), consts_(std::move(consts)),
      n_vars_(n_vars), lazy_(std::make_shared<Lazy>()) {
    ProgramSpec spec;  // values only; validates the arrays
    values_ = std::make_unique<Program>(ops_, args_, consts_, n_vars_, outputs_, spec);
}

const Program& Tape::gradient_program() const {
    std::call_once(lazy_->f_grad, [&] {
        ProgramSpec spec;
        spec.order = 1;
        lazy_->grad = std::make_unique<Program>(ops_, args_, consts_, n_vars_, outputs_, spec);
    });
    return *lazy_->grad;
}

const Program& Tape::jvp_program() const {
    std::call_once(lazy_->f_jvp, [&] {
        ProgramSpec spec;
        spec.order = 1;
        spec.directional = true;
        lazy_->jvp = std::make_unique<Program>(ops_, args_, consts_, n_vars_, outputs_, spec);
    });
    return *lazy_->jvp;
}

const Program& Tape::hessian_program() const {
    std::call_once(lazy_->f_hess, [&] {
        ProgramSpec spec;
        spec.order = 2;
        spec.values = false;
        Program p(ops_, args_, consts_, n_vars_, outputs_, spec);
        // results: the gradients (m x n), then the second derivatives (m x n x n)
        lazy_->hess = std::make_unique<Program>(p.tail(n_outputs() * n_vars_));
    });
    return *lazy_->hess;
}

const Program& Tape::hvp_program() const {
    std::call_once(lazy_->f_hvp, [&] {
        ProgramSpec spec;
        spec.order = 2;
        spec.directional = true;
        spec.values = false;
        lazy_->hvp = std::make_unique<Program>(ops_, args_, consts_, n_vars_, outputs_, spec);
    });
    return *lazy_->hvp;
}

const Tape::Pattern& Tape::hessian_pattern() const {
    std::call_once(lazy_->f_pattern, [&] {
        const Program& g = gradient_program();
        const std::vector<std::vector<int>> dep = g.dependencies();
        const std::size_t n = static_cast<std::size_t>(n_vars_), m = outputs_.size();
        Pattern& P = lazy_->pattern;
        P.rows.assign(n, {});
        std::size_t nnz = 0;
        for (std::size_t i = 0; i < n; ++i) {
            std::vector<int>& row = P.rows[i];
            for (std::size_t k = 0; k < m; ++k) {
                const auto& d = dep[m + k * n + i];  // d out_k / d x_i depends on these inputs
                row.insert(row.end(), d.begin(), d.end());
            }
            std::sort(row.begin(), row.end());
            row.erase(std::unique(row.begin(), row.end()), row.end());
            nnz += row.size();
        }
        P.colour.assign(n, -1);
        if (nnz * 4 >= n * n) {  // dense enough: one direction per variable
            for (std::size_t j = 0; j < n; ++j) P.colour[j] = static_cast<int>(j);
            P.n_colours = static_cast<int>(n);
            return;
        }
        // Greedy colouring of columns: columns sharing a row get different colours, so that
        // H (sum of a colour's unit vectors) gives each of their entries alone.
        std::vector<std::vector<int>> cols(n);
        for (std::size_t i = 0; i < n; ++i)
            for (int j : P.rows[i]) cols[static_cast<std::size_t>(j)].push_back(static_cast<int>(i));
        std::vector<int> seen(n + 1, -1);
        for (std::size_t j = 0; j < n; ++j) {
            for (int i : cols[j])
                for (int l : P.rows[static_cast<std::size_t>(i)])
                    if (P.colour[static_cast<std::size_t>(l)] >= 0) seen[static_cast<std::size_t>(P.colour[static_cast<std::size_t>(l)])] = static_cast<int>(j);
            int c = 0;
            while (seen[static_cast<std::size_t>(c)] == static_cast<int>(j)) ++c;
            P.colour[j] = c;
            P.n_colours = std::max(P.n_colours, c + 1);
        }
    });
    return lazy_->pattern;
}

void Tape::eval(const TapeInput& X, std::size_t N, double* Y, const TapeOptions& o, const Interrupt& intr) const {
    const Program& p = *values_;
    const std::size_t m = outputs_.size();
    run_program(
        p, *lazy_, N, o, intr, [&](double** P, std::size_t L, std::size_t s0, std::size_t nb) { load_rows(P, L, 0, X, s0, nb); },
        [&](double* const* P, std::size_t L, std::size_t s0, std::size_t nb) {
            for (std::size_t k = 0; k < m; ++k) {
                const double* r = P[p.result_slot(static_cast<int>(k))];
                if (m == 1) {
                    std::memcpy(Y + s0, r, nb * sizeof(double));
                } else {
                    for (std::size_t j = 0; j < nb; ++j) Y[(s0 + j) * m + k] = r[j];
                }
            }
        });
}

void Tape::gradient(const TapeInput& X, std::size_t N, double* Y, double* G, const GradLayout& Lo,
                    const TapeOptions& o, const Interrupt& intr) const {
    const Program& p = gradient_program();
    const std::size_t m = outputs_.size(), n = static_cast<std::size_t>(n_vars_);
    run_program(
        p, *lazy_, N, o, intr, [&](double** P, std::size_t L, std::size_t s0, std::size_t nb) { load_rows(P, L, 0, X, s0, nb); },
        [&](double* const* P, std::size_t L, std::size_t s0, std::size_t nb) {
            for (std::size_t k = 0; k < m; ++k) {
                const double* r = P[p.result_slot(static_cast<int>(k))];
                double* y = Y + s0 * Lo.y_point + k * Lo.y_output;
                for (std::size_t j = 0; j < nb; ++j) y[j * Lo.y_point] = r[j];
                for (std::size_t v = 0; v < n; ++v) {
                    const double* g = P[p.result_slot(static_cast<int>(m + k * n + v))];
                    double* gy = G + s0 * Lo.g_point + k * Lo.g_output + v * Lo.g_var;
                    if (Lo.g_point == 1) {
                        std::memcpy(gy, g, nb * sizeof(double));
                    } else {
                        for (std::size_t j = 0; j < nb; ++j) gy[j * Lo.g_point] = g[j];
                    }
                }
            }
        });
}

void Tape::jvp(const double* Xr, const double* V, std::size_t N, double* Y, double* JV, const TapeOptions& o,
               const Interrupt& intr) const {
    const Program& p = jvp_program();
    const std::size_t m = outputs_.size();
    const TapeInput X = TapeInput::rows(Xr, n_vars_), D = TapeInput::rows(V, n_vars_);
    run_program(
        p, *lazy_, N, o, intr,
        [&](double** P, std::size_t L, std::size_t s0, std::size_t nb) {
            load_rows(P, L, 0, X, s0, nb);
            load_rows(P, L, static_cast<std::size_t>(n_vars_), D, s0, nb);
        },
        [&](double* const* P, std::size_t L, std::size_t s0, std::size_t nb) {
            for (std::size_t k = 0; k < m; ++k) {
                const double* y = P[p.result_slot(static_cast<int>(k))];
                const double* jv = P[p.result_slot(static_cast<int>(m + k))];
                for (std::size_t j = 0; j < nb; ++j) Y[(s0 + j) * m + k] = y[j], JV[(s0 + j) * m + k] = jv[j];
            }
        });
}

void Tape::hessian(const double* Xr, std::size_t N, double* H, const TapeOptions& o, const Interrupt& intr,
                   bool zeroed) const {
    const std::size_t m = outputs_.size(), n = static_cast<std::size_t>(n_vars_), nn = n * n;
    const TapeInput X = TapeInput::rows(Xr, n_vars_);
    if (n_vars_ <= kDenseHessianVars) {
        const Program& p = hessian_program();
        run_program(
            p, *lazy_, N, o, intr, [&](double** P, std::size_t L, std::size_t s0, std::size_t nb) { load_rows(P, L, 0, X, s0, nb); },
            [&](double* const* P, std::size_t L, std::size_t s0, std::size_t nb) {
                for (std::size_t r = 0; r < m * nn; ++r) {
                    const double* h = P[p.result_slot(static_cast<int>(r))];
                    for (std::size_t j = 0; j < nb; ++j) H[(s0 + j) * m * nn + r] = h[j];
                }
            });
        return;
    }
    // Hessian-vector products along sums of unit vectors, one lane per (point, colour).
    const Pattern& pat = hessian_pattern();
    const Program& p = hvp_program();
    if (!zeroed) std::fill(H, H + N * m * nn, 0.0);
    const std::size_t C = static_cast<std::size_t>(pat.n_colours);
    if (C == 0) return;
    // the columns of each colour
    run_program(
        p, *lazy_, N * C, o, intr,
        [&](double** P, std::size_t L, std::size_t s0, std::size_t nb) {
            for (std::size_t k = 0; k < n; ++k) {
                double* xr = P[k];
                double* vr = P[n + k];
                const double cl = static_cast<double>(pat.colour[k]);
                for (std::size_t j = 0; j < nb; ++j) {
                    const std::size_t lane = s0 + j;
                    xr[j] = Xr[(lane / C) * n + k];
                    vr[j] = static_cast<double>(lane % C) == cl ? 1.0 : 0.0;
                }
                for (std::size_t j = nb; j < L; ++j) xr[j] = 0.5, vr[j] = 0.0;
            }
        },
        [&](double* const* P, std::size_t L, std::size_t s0, std::size_t nb) {
            for (std::size_t j = 0; j < nb; ++j) {
                const std::size_t lane = s0 + j, pt = lane / C, c = lane % C;
                for (std::size_t k = 0; k < m; ++k) {
                    double* Hk = H + (pt * m + k) * nn;
                    for (std::size_t i = 0; i < n; ++i) {
                        const double hv = P[p.result_slot(static_cast<int>(k * n + i))][j];
                        // the entries (i, l) of this colour: at most one of them may be nonzero in row i
                        for (int l : pat.rows[i])
                            if (static_cast<std::size_t>(pat.colour[static_cast<std::size_t>(l)]) == c)
                                Hk[i * n + static_cast<std::size_t>(l)] = hv;
                    }
                }
            }
        });
}

void Tape::hvp(const double* Xr, const double* V, std::size_t N, double* HV, const TapeOptions& o,
               const Interrupt& intr) const {
    const Program& p = hvp_program();
    const std::size_t m = outputs_.size(), n = static_cast<std::size_t>(n_vars_);
    const TapeInput X = TapeInput::rows(Xr, n_vars_), D = TapeInput::rows(V, n_vars_);
    run_program(
        p, *lazy_, N, o, intr,
        [&](double** P, std::size_t L, std::size_t s0, std::size_t nb) {
            load_rows(P, L, 0, X, s0, nb);
            load_rows(P, L, n, D, s0, nb);
        },
        [&](double* const* P, std::size_t L, std::size_t s0, std::size_t nb) {
            for (std::size_t r = 0; r < m * n; ++r) {
                const double* h = P[p.result_slot(static_cast<int>(r))];
                for (std::size_t j = 0; j < nb; ++j) HV[(s0 + j) * m * n + r] = h[j];
            }
        });
}

}  // namespace fastcalc
