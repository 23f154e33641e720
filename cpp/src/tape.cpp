#include <fastcalc/tape.hpp>
#include <fastcalc/vmath.hpp>

#include "clones.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#ifdef FASTCALC_HAVE_OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <cmath>
#include <exception>
#include <memory>
#include <string>

namespace fastcalc {

namespace {

constexpr std::size_t kBlock = 128;  // points per block: a slot's values stay in L1
// Gradients larger than this (beyond L2) are written with non-temporal stores. (Measured: a
// single output column is better left to the cache.)
// The seed of every reverse sweep, d out / d out = 1, read in place.
constexpr std::array<double, kBlock> ones() {
    std::array<double, kBlock> a{};
    for (double& x : a) x = 1.0;
    return a;
}
constexpr std::array<double, kBlock> kOnes = ones();

constexpr std::size_t kStreamBytes = std::size_t(4) << 20;

int arity(Op op) {
    switch (op) {
        case Op::Const:
        case Op::Var: return 0;
        case Op::Add:
        case Op::Sub:
        case Op::Mul:
        case Op::Div:
        case Op::Pow: return 2;
        default: return 1;
    }
}

double ipow(double x, long n) {  // exact repeated squaring, as x*x*... would give
    if (n < 0) return 1.0 / ipow(x, -n);
    double r = 1.0;
    while (n) {
        if (n & 1) r *= x;
        x *= x;
        n >>= 1;
    }
    return r;
}

// Scratch for one block; one per thread.
// A buffer that is not zero-filled on allocation (every slot is written before it is read):
// for small batches the fill would cost more than the work.
class Buf {
public:
    void resize(std::size_t n) {
        if (n > n_) {
            p_.reset(new double[n]);
            n_ = n;
        }
    }
    double* data() { return p_.get(); }
    const double* data() const { return p_.get(); }

private:
    std::unique_ptr<double[]> p_;
    std::size_t n_ = 0;
};

struct Scratch {
    bool streamed = false;  // this thread wrote with non-temporal stores: fence them when done
    Scratch() = default;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch() {
#if defined(__SSE2__)
        if (streamed) _mm_sfence();  // each thread orders its own stores before the results are read
#endif
    }
    Buf v, da, db, daa, dab, dbb, t, adj, tadj;
    std::vector<const double*> sp;  // where each slot's values are (a variable may be read in place)
    std::vector<double*> at;  // where each slot's adjoint is (see Adjoints)
    std::vector<unsigned char> touched, written, owned;
    bool consts_ready = false;
    void values(const Tape& t, const TapeInput& in, std::size_t s0, std::size_t nb, bool simd);
    void size(std::size_t n, int n_vars, bool first, bool second) {
        v.resize(n * kBlock);
        sp.resize(n);
        if (first) {
            da.resize(n * kBlock);
            db.resize(n * kBlock);
            adj.resize(n * kBlock);
            t.resize(n * kBlock);
            touched.resize(n);
            owned.resize(n);
            at.resize(n);
            written.resize(static_cast<std::size_t>(n_vars));
        }
        if (second) {
            daa.resize(n * kBlock);
            dab.resize(n * kBlock);
            dbb.resize(n * kBlock);
            tadj.resize(n * kBlock);
        }
    }
};

}  // namespace

Tape::Tape(std::vector<std::int32_t> ops, std::vector<std::int32_t> args, std::vector<double> consts, int n_vars,
           std::vector<std::int32_t> outputs)
    : ops_(std::move(ops)), args_(std::move(args)), outputs_(std::move(outputs)), consts_(std::move(consts)),
      n_vars_(n_vars) {
    const std::size_t n = ops_.size();
    if (n_vars_ < 0) throw invalid_argument("tape: n_vars must be >= 0");
    if (args_.size() != 2 * n) throw invalid_argument("tape: args must have shape (n_instr, 2)");
    if (consts_.size() != n) throw invalid_argument("tape: consts must have one entry per instruction");
    if (outputs_.empty()) throw invalid_argument("tape: no outputs");
    active_.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const std::string at = "tape instruction " + std::to_string(i);
        if (ops_[i] < 0 || ops_[i] >= static_cast<std::int32_t>(Op::Count))
            throw invalid_argument(at + ": unknown opcode " + std::to_string(ops_[i]));
        const Op op = static_cast<Op>(ops_[i]);
        const int k = arity(op);
        for (int j = 0; j < 2; ++j) {
            const std::int32_t a = args_[2 * i + j];
            if (j < k && (a < 0 || static_cast<std::size_t>(a) >= i))
                throw invalid_argument(at + ": operand " + std::to_string(a) + " must be an earlier instruction");
        }
        if (op == Op::Var) {
            const double c = consts_[i];
            if (!(c >= 0 && c < n_vars_ && c == std::floor(c)))
                throw invalid_argument(at + ": variable index " + std::to_string(c) + " out of range");
            active_[i] = 1;
        }
        if (op == Op::PowI && consts_[i] != std::floor(consts_[i]))
            throw invalid_argument(at + ": POWI needs an integer exponent");
        for (int j = 0; j < k; ++j) active_[i] |= active_[args_[2 * i + j]];
    }
    for (std::int32_t o : outputs_)
        if (o < 0 || static_cast<std::size_t>(o) >= n)
            throw invalid_argument("tape: output slot " + std::to_string(o) + " out of range");
}

int parallel_threads() {
#ifdef FASTCALC_HAVE_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

template <class Body>
void Tape::for_blocks(std::size_t N, const TapeOptions& o, Body body) const {
    const std::size_t nb = (N + kBlock - 1) / kBlock;
#ifdef FASTCALC_HAVE_OPENMP
    if (o.parallel && nb >= 16) {
        std::exception_ptr err;
#pragma omp parallel
        {
            Scratch s;
#pragma omp for schedule(static)
            for (long b = 0; b < static_cast<long>(nb); ++b) {
                try {
                    const std::size_t s0 = static_cast<std::size_t>(b) * kBlock;
                    body(s, s0, std::min(kBlock, N - s0));
                } catch (...) {
#pragma omp critical
                    err = std::current_exception();
                }
            }
        }
        if (err) std::rethrow_exception(err);
        return;
    }
#else
    (void)o;
#endif
    Scratch s;
    for (std::size_t b = 0; b < nb; ++b) body(s, b * kBlock, std::min(kBlock, N - b * kBlock));
}

namespace {

// Values of every slot for rows [s0, s0 + nb) of X.
// Constant slots are filled on a scratch's first block only (nothing else writes there).
FASTCALC_CLONES void values(const Tape& t, const TapeInput& in, std::size_t s0, std::size_t nb, double* v, const double** sp,
            bool simd, bool consts_ready) {
    const std::size_t n = t.size();
    const auto& ops = t.ops();
    const auto& args = t.args();
    const auto& c = t.consts();
    for (std::size_t i = 0; i < n; ++i) {
        double* out = v + i * kBlock;
        sp[i] = out;
        const double* a = args[2 * i] >= 0 ? sp[args[2 * i]] : nullptr;
        const double* b = args[2 * i + 1] >= 0 ? sp[args[2 * i + 1]] : nullptr;
        switch (static_cast<Op>(ops[i])) {
            case Op::Const:
                if (!consts_ready) std::fill(out, out + kBlock, c[i]);
                break;
            case Op::Var: {
                const double* col = in.cols[static_cast<std::size_t>(c[i])] + s0 * in.stride;
                if (in.stride == 1) {
                    sp[i] = col;  // read in place: no copy
                } else {
                    for (std::size_t p = 0; p < nb; ++p) out[p] = col[p * in.stride];
                }
                break;
            }
            case Op::Add: for (std::size_t p = 0; p < nb; ++p) out[p] = a[p] + b[p]; break;
            case Op::Sub: for (std::size_t p = 0; p < nb; ++p) out[p] = a[p] - b[p]; break;
            case Op::Mul: for (std::size_t p = 0; p < nb; ++p) out[p] = a[p] * b[p]; break;
            case Op::Div: for (std::size_t p = 0; p < nb; ++p) out[p] = a[p] / b[p]; break;
            case Op::Neg: for (std::size_t p = 0; p < nb; ++p) out[p] = -a[p]; break;
            case Op::Pow: vmath::pow(a, b, out, nb, simd); break;
            case Op::PowI: {
                const long e = static_cast<long>(c[i]);
                if (e == 2) {
                    for (std::size_t p = 0; p < nb; ++p) out[p] = a[p] * a[p];
                } else {
                    for (std::size_t p = 0; p < nb; ++p) out[p] = ipow(a[p], e);
                }
                break;
            }
            case Op::Exp: vmath::apply(vmath::Exp, a, out, nb, simd); break;
            case Op::Log: vmath::apply(vmath::Log, a, out, nb, simd); break;
            case Op::Sin: vmath::apply(vmath::Sin, a, out, nb, simd); break;
            case Op::Cos: vmath::apply(vmath::Cos, a, out, nb, simd); break;
            case Op::Tan: vmath::apply(vmath::Tan, a, out, nb, simd); break;
            case Op::Asin: vmath::apply(vmath::Asin, a, out, nb, simd); break;
            case Op::Acos: vmath::apply(vmath::Acos, a, out, nb, simd); break;
            case Op::Atan: vmath::apply(vmath::Atan, a, out, nb, simd); break;
            case Op::Sinh: vmath::apply(vmath::Sinh, a, out, nb, simd); break;
            case Op::Cosh: vmath::apply(vmath::Cosh, a, out, nb, simd); break;
            case Op::Tanh: vmath::apply(vmath::Tanh, a, out, nb, simd); break;
            case Op::Sqrt: for (std::size_t p = 0; p < nb; ++p) out[p] = std::sqrt(a[p]); break;
            case Op::Abs: for (std::size_t p = 0; p < nb; ++p) out[p] = std::fabs(a[p]); break;
            case Op::Sigmoid: {
                // 1/(1+exp(-x)) for x >= 0, exp(x)/(1+exp(x)) otherwise: never overflows.
                for (std::size_t p = 0; p < nb; ++p) out[p] = -std::fabs(a[p]);
                vmath::apply(vmath::Exp, out, out, nb, simd);
                for (std::size_t p = 0; p < nb; ++p) {
                    const double e = out[p];
                    out[p] = a[p] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
                }
                break;
            }
            default: break;
        }
    }
}

void Scratch::values(const Tape& t, const TapeInput& in, std::size_t s0, std::size_t nb, bool simd) {
    fastcalc::values(t, in, s0, nb, v.data(), sp.data(), simd, consts_ready);
    consts_ready = true;
}

// Local partial derivatives of every active slot w.r.t. its operands (and, with `second`,
// the second partials), given the slot values v.
FASTCALC_CLONES void partials(const Tape& t, std::size_t nb, const double* const* sp, double* da, double* db, double* daa, double* dab,
              double* dbb, bool second, bool simd, const std::vector<unsigned char>& which,
              const std::vector<unsigned char>& active) {
    const std::size_t n = t.size();
    const auto& ops = t.ops();
    const auto& args = t.args();
    const auto& c = t.consts();
    for (std::size_t i = 0; i < n; ++i) {
        if (!which[i]) continue;
        const double* x = sp[i];  // this slot's value
        const double* a = args[2 * i] >= 0 ? sp[args[2 * i]] : nullptr;
        const double* b = args[2 * i + 1] >= 0 ? sp[args[2 * i + 1]] : nullptr;
        double* A = da + i * kBlock;
        double* Bv = db + i * kBlock;
        double* AA = second ? daa + i * kBlock : nullptr;
        double* AB = second ? dab + i * kBlock : nullptr;
        double* BB = second ? dbb + i * kBlock : nullptr;
        if (second) {
            std::fill(AA, AA + nb, 0.0);
            std::fill(AB, AB + nb, 0.0);
            std::fill(BB, BB + nb, 0.0);
        }
        switch (static_cast<Op>(ops[i])) {
            case Op::Add:
                std::fill(A, A + nb, 1.0);
                std::fill(Bv, Bv + nb, 1.0);
                break;
            case Op::Sub:
                std::fill(A, A + nb, 1.0);
                std::fill(Bv, Bv + nb, -1.0);
                break;
            case Op::Neg: std::fill(A, A + nb, -1.0); break;
            case Op::Mul:
                for (std::size_t p = 0; p < nb; ++p) {
                    A[p] = b[p];
                    Bv[p] = a[p];
                }
                if (second) std::fill(AB, AB + nb, 1.0);
                break;
            case Op::Div:
                for (std::size_t p = 0; p < nb; ++p) {
                    A[p] = 1.0 / b[p];
                    Bv[p] = -x[p] / b[p];
                }
                if (second)
                    for (std::size_t p = 0; p < nb; ++p) {
                        AB[p] = -1.0 / (b[p] * b[p]);
                        BB[p] = 2.0 * x[p] / (b[p] * b[p]);
                    }
                break;
            case Op::Pow: {
                // d/da a^b = b a^(b-1); d/db a^b = a^b log a (only when b varies)
                for (std::size_t p = 0; p < nb; ++p) Bv[p] = b[p] - 1.0;
                vmath::pow(a, Bv, A, nb, simd);  // A = a^(b-1)
                const bool bvar = active[static_cast<std::size_t>(args[2 * i + 1])];
                if (second) {
                    for (std::size_t p = 0; p < nb; ++p) BB[p] = b[p] - 2.0;
                    vmath::pow(a, BB, AA, nb, simd);  // AA = a^(b-2)
                    for (std::size_t p = 0; p < nb; ++p) AA[p] *= b[p] * (b[p] - 1.0);
                    std::fill(BB, BB + nb, 0.0);
                }
                if (bvar) {
                    vmath::apply(vmath::Log, a, Bv, nb, simd);  // Bv = log a
                    for (std::size_t p = 0; p < nb; ++p) {
                        const double la = Bv[p];
                        if (second) {
                            AB[p] = A[p] * (1.0 + b[p] * la);
                            BB[p] = x[p] * la * la;
                        }
                        Bv[p] = x[p] * la;
                    }
                } else {
                    std::fill(Bv, Bv + nb, 0.0);
                }
                for (std::size_t p = 0; p < nb; ++p) A[p] *= b[p];
                break;
            }
            case Op::PowI: {
                const long e = static_cast<long>(c[i]);
                if (e == 2) {
                    for (std::size_t p = 0; p < nb; ++p) A[p] = 2.0 * a[p];
                } else {
                    for (std::size_t p = 0; p < nb; ++p) A[p] = e == 0 ? 0.0 : static_cast<double>(e) * ipow(a[p], e - 1);
                }
                if (second)
                    for (std::size_t p = 0; p < nb; ++p)
                        AA[p] = (e == 0 || e == 1) ? 0.0 : static_cast<double>(e) * static_cast<double>(e - 1) * ipow(a[p], e - 2);
                break;
            }
            case Op::Exp:
                std::copy(x, x + nb, A);
                if (second) std::copy(x, x + nb, AA);
                break;
            case Op::Log:
                for (std::size_t p = 0; p < nb; ++p) A[p] = 1.0 / a[p];
                if (second) for (std::size_t p = 0; p < nb; ++p) AA[p] = -A[p] * A[p];
                break;
            case Op::Sin:
                vmath::apply(vmath::Cos, a, A, nb, simd);
                if (second) for (std::size_t p = 0; p < nb; ++p) AA[p] = -x[p];
                break;
            case Op::Cos:
                vmath::apply(vmath::Sin, a, A, nb, simd);
                for (std::size_t p = 0; p < nb; ++p) A[p] = -A[p];
                if (second) for (std::size_t p = 0; p < nb; ++p) AA[p] = -x[p];
                break;
            case Op::Tan:
                for (std::size_t p = 0; p < nb; ++p) A[p] = 1.0 + x[p] * x[p];
                if (second) for (std::size_t p = 0; p < nb; ++p) AA[p] = 2.0 * x[p] * A[p];
                break;
            case Op::Asin:
            case Op::Acos: {
                const double sg = static_cast<Op>(ops[i]) == Op::Asin ? 1.0 : -1.0;
                for (std::size_t p = 0; p < nb; ++p) A[p] = sg / std::sqrt(1.0 - a[p] * a[p]);
                if (second) for (std::size_t p = 0; p < nb; ++p) AA[p] = a[p] * A[p] * A[p] * A[p];
                break;
            }
            case Op::Atan:
                for (std::size_t p = 0; p < nb; ++p) A[p] = 1.0 / (1.0 + a[p] * a[p]);
                if (second) for (std::size_t p = 0; p < nb; ++p) AA[p] = -2.0 * a[p] * A[p] * A[p];
                break;
            case Op::Sinh:
                vmath::apply(vmath::Cosh, a, A, nb, simd);
                if (second) std::copy(x, x + nb, AA);
                break;
            case Op::Cosh:
                vmath::apply(vmath::Sinh, a, A, nb, simd);
                if (second) std::copy(x, x + nb, AA);
                break;
            case Op::Tanh:
                for (std::size_t p = 0; p < nb; ++p) A[p] = 1.0 - x[p] * x[p];
                if (second) for (std::size_t p = 0; p < nb; ++p) AA[p] = -2.0 * x[p] * A[p];
                break;
            case Op::Sqrt:
                for (std::size_t p = 0; p < nb; ++p) A[p] = 0.5 / x[p];
                if (second) for (std::size_t p = 0; p < nb; ++p) AA[p] = -0.25 / (x[p] * x[p] * x[p]);
                break;
            case Op::Abs:
                for (std::size_t p = 0; p < nb; ++p) A[p] = a[p] > 0 ? 1.0 : (a[p] < 0 ? -1.0 : (a[p] == 0 ? 0.0 : a[p]));
                break;
            case Op::Sigmoid:
                for (std::size_t p = 0; p < nb; ++p) A[p] = x[p] * (1.0 - x[p]);
                if (second) for (std::size_t p = 0; p < nb; ++p) AA[p] = A[p] * (1.0 - 2.0 * x[p]);
                break;
            default: break;  // Var: no operands
        }
    }
}

// Forward mode: every slot's tangent from its operands' (d slot = da d a + db d b). The variables'
// tangents are rows of V (N, n_vars) when V is given, else the unit direction e_j.
// Inactive slots have tangent 0.
FASTCALC_CLONES void forward_tangents(const Tape& tp, const std::vector<unsigned char>& active, const Scratch& s,
                                      double* t, std::size_t nb, const double* V, std::size_t s0, std::size_t j) {
    const auto& ops = tp.ops();
    const auto& args = tp.args();
    const std::size_t nv = static_cast<std::size_t>(tp.n_vars());
    for (std::size_t i = 0; i < tp.size(); ++i) {
        double* ti = t + i * kBlock;
        const Op op = static_cast<Op>(ops[i]);
        if (!active[i]) {
            std::fill(ti, ti + nb, 0.0);
        } else if (op == Op::Var) {
            const std::size_t var = static_cast<std::size_t>(tp.consts()[i]);
            if (V) {
                for (std::size_t p = 0; p < nb; ++p) ti[p] = V[(s0 + p) * nv + var];
            } else {
                std::fill(ti, ti + nb, var == j ? 1.0 : 0.0);
            }
        } else {
            const std::int32_t a = args[2 * i], b = args[2 * i + 1];
            const double* A = s.da.data() + i * kBlock;
            const double* Bd = s.db.data() + i * kBlock;
            std::fill(ti, ti + nb, 0.0);
            if (active[a]) for (std::size_t p = 0; p < nb; ++p) ti[p] += A[p] * t[a * kBlock + p];
            if (arity(op) == 2 && active[b])
                for (std::size_t p = 0; p < nb; ++p) ti[p] += Bd[p] * t[b * kBlock + p];
        }
    }
}

}  // namespace

namespace {

// The adjoints of one block. A slot's adjoint is stored on its first contribution and added to
// afterwards (no zeroing pass). A sum hands its adjoint array down to its operands instead of
// copying it: the sum's adjoint is dead once the sweep has passed it. An array a slot does not
// own (the output's seed of ones, or one shared by both operands of a sum) is read-only: the
// first addition into it writes the slot's own array.
struct Adjoints {
    double* adj;
    double** at;  // where each slot's adjoint is
    unsigned char* touched;
    unsigned char* owned;
    std::size_t nb;
    double* own(std::size_t j) { return at[j] = adj + j * kBlock; }
    template <class F>
    FASTCALC_INLINE void add(std::size_t j, F term) {
        if (!touched[j]) {
            double* g = own(j);
            for (std::size_t p = 0; p < nb; ++p) g[p] = term(p);
            touched[j] = owned[j] = 1;
        } else if (owned[j]) {
            double* g = at[j];
            for (std::size_t p = 0; p < nb; ++p) g[p] += term(p);
        } else {
            const double* old = at[j];
            double* g = own(j);
            for (std::size_t p = 0; p < nb; ++p) g[p] = old[p] + term(p);
            owned[j] = 1;
        }
    }
    // Slot j receives all of g (adjoint of a slot the sweep has finished with); `mine`: g may
    // be written to by its new holder.
    FASTCALC_INLINE void pass(std::size_t j, double* g, bool mine) {
        if (touched[j]) {
            add(j, [g](std::size_t p) { return g[p]; });
        } else {
            at[j] = g;
            touched[j] = 1;
            owned[j] = mine;
        }
    }
    // Both operands of a product at once: one pass over g.
    template <class FA, class FB>
    FASTCALC_INLINE void add2(std::size_t a, FA ta, std::size_t b, FB tb) {
        if (a == b || !(touched[a] ? owned[a] : true) || !(touched[b] ? owned[b] : true)) {
            add(a, ta);
            add(b, tb);
            return;
        }
        const bool sa = !touched[a], sb = !touched[b];
        double* ga = sa ? own(a) : at[a];
        double* gb = sb ? own(b) : at[b];
        if (sa && sb) {
            for (std::size_t p = 0; p < nb; ++p) ga[p] = ta(p), gb[p] = tb(p);
        } else if (sa) {
            for (std::size_t p = 0; p < nb; ++p) ga[p] = ta(p), gb[p] += tb(p);
        } else if (sb) {
            for (std::size_t p = 0; p < nb; ++p) ga[p] += ta(p), gb[p] = tb(p);
        } else {
            for (std::size_t p = 0; p < nb; ++p) ga[p] += ta(p), gb[p] += tb(p);
        }
        touched[a] = touched[b] = owned[a] = owned[b] = 1;
    }
};

// Operations whose local derivative needs another transcendental (cos for sin, ...) keep it in
// a partials array; the others are read off the values in the reverse sweep.
bool needs_partials(Op op, double c) {
    switch (op) {
        case Op::Const: case Op::Var: case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: case Op::Neg:
        case Op::Exp: case Op::Tanh: case Op::Sqrt: case Op::Sigmoid: case Op::Tan: case Op::Abs:
            return false;
        case Op::PowI: return c != 2.0;
        default: return true;
    }
}

// Copies a block's values into an output column. Large outputs are written with non-temporal
// stores: they go straight to memory instead of first reading every output line into the cache.
FASTCALC_INLINE void stream_copy(const double* g, std::size_t nb, double* col) {
#if defined(__SSE2__)
    std::size_t p = 0;
    if (reinterpret_cast<std::uintptr_t>(col) % 16 != 0) col[p++] = g[0];
    for (; p + 2 <= nb; p += 2) _mm_stream_pd(col + p, _mm_loadu_pd(g + p));
    for (; p < nb; ++p) col[p] = g[p];
#else
    std::copy(g, g + nb, col);
#endif
}

FASTCALC_INLINE void write_column(const double* g, std::size_t nb, double* col, std::size_t stride, bool add,
                                  bool stream) {
    if (stride == 1) {
        if (add) {
            for (std::size_t p = 0; p < nb; ++p) col[p] += g[p];
        } else if (stream) {
            stream_copy(g, nb, col);
        } else {
            std::copy(g, g + nb, col);
        }
    } else if (add) {
        for (std::size_t p = 0; p < nb; ++p) col[p * stride] += g[p];
    } else {
        for (std::size_t p = 0; p < nb; ++p) col[p * stride] = g[p];
    }
}

FASTCALC_CLONES void copy_outputs(const Tape& t, const double* const* sp, std::size_t s0, std::size_t nb, double* Y) {
    const std::size_t m = static_cast<std::size_t>(t.n_outputs());
    for (std::size_t k = 0; k < m; ++k) {
        const double* src = sp[static_cast<std::size_t>(t.outputs()[k])];
        if (m == 1) {
            std::copy(src, src + nb, Y + s0);
        } else {
            for (std::size_t p = 0; p < nb; ++p) Y[(s0 + p) * m + k] = src[p];
        }
    }
}

// Reverse sweep of one block for output k: writes d out_k / d var into G.
FASTCALC_CLONES void reverse_block(const Tape& t, const std::vector<unsigned char>& active, Scratch& s, std::size_t k,
                                   std::size_t s0, std::size_t nb, double* G, const GradLayout& L, bool stream) {
    const auto& ops = t.ops();
    const auto& args = t.args();
    const auto& consts = t.consts();
    const std::size_t nv = static_cast<std::size_t>(t.n_vars());
    const std::size_t out = static_cast<std::size_t>(t.outputs()[k]);
    std::vector<unsigned char>& touched = s.touched;
    std::vector<unsigned char>& written = s.written;
    for (std::size_t j = 0; j < nv; ++j) written[j] = 0;
    for (std::size_t j = 0; j <= out; ++j) touched[j] = 0;
    Adjoints adj{s.adj.data(), s.at.data(), touched.data(), s.owned.data(), nb};
    double* G0 = G + s0 * L.g_point + k * L.g_output;
    if (active[out]) adj.pass(out, const_cast<double*>(kOnes.data()), false);
    for (std::size_t i = out + 1; active[out] && i-- > 0;) {
        if (!active[i] || !touched[i]) continue;
        double* g = s.at[i];
        const bool mine = s.owned[i];
        const Op op = static_cast<Op>(ops[i]);
        if (op == Op::Var) {  // G is written, not zeroed then added to
            const std::size_t var = static_cast<std::size_t>(consts[i]);
            write_column(g, nb, G0 + var * L.g_var, L.g_point, written[var], stream);
            written[var] = 1;
            continue;
        }
        const bool two = arity(op) == 2;
        const std::size_t a = static_cast<std::size_t>(args[2 * i]);
        const std::size_t b = two ? static_cast<std::size_t>(args[2 * i + 1]) : a;
        const bool ua = active[a], ub = two && active[b];
        const double* va = s.sp[a];
        const double* vb = s.sp[b];
        const double* vi = s.sp[i];
        switch (op) {
            case Op::Add:
                if (ub && (mine || a == b)) adj.add(b, [&](std::size_t p) { return g[p]; });
                if (ua) adj.pass(a, g, mine);
                if (ub && !mine && a != b) adj.pass(b, g, false);  // both may read a shared array
                break;
            case Op::Sub:
                if (ub) adj.add(b, [&](std::size_t p) { return -g[p]; });
                if (ua) adj.pass(a, g, mine);
                break;
            case Op::Neg: adj.add(a, [&](std::size_t p) { return -g[p]; }); break;
            case Op::Mul:
                if (ua && ub) {
                    adj.add2(a, [&](std::size_t p) { return g[p] * vb[p]; }, b, [&](std::size_t p) { return g[p] * va[p]; });
                } else if (ua) {
                    adj.add(a, [&](std::size_t p) { return g[p] * vb[p]; });
                } else if (ub) {
                    adj.add(b, [&](std::size_t p) { return g[p] * va[p]; });
                }
                break;
            case Op::Div:
                if (ua) adj.add(a, [&](std::size_t p) { return g[p] / vb[p]; });
                if (ub) adj.add(b, [&](std::size_t p) { return -g[p] * vi[p] / vb[p]; });
                break;
            case Op::Exp: adj.add(a, [&](std::size_t p) { return g[p] * vi[p]; }); break;
            case Op::Tanh: adj.add(a, [&](std::size_t p) { return g[p] * (1.0 - vi[p] * vi[p]); }); break;
            case Op::Tan: adj.add(a, [&](std::size_t p) { return g[p] * (1.0 + vi[p] * vi[p]); }); break;
            case Op::Sqrt: adj.add(a, [&](std::size_t p) { return g[p] * (0.5 / vi[p]); }); break;
            case Op::Sigmoid: adj.add(a, [&](std::size_t p) { return g[p] * (vi[p] * (1.0 - vi[p])); }); break;
            case Op::Abs:
                adj.add(a, [&](std::size_t p) {
                    const double x = va[p];
                    return g[p] * (x > 0 ? 1.0 : (x < 0 ? -1.0 : (x == 0 ? 0.0 : x)));
                });
                break;
            case Op::PowI:
                if (consts[i] == 2.0) {
                    adj.add(a, [&](std::size_t p) { return g[p] * (2.0 * va[p]); });
                    break;
                }
                [[fallthrough]];
            default: {
                const double* A = s.da.data() + i * kBlock;
                if (ua) adj.add(a, [&](std::size_t p) { return g[p] * A[p]; });
                if (ub) {
                    const double* Bd = s.db.data() + i * kBlock;
                    adj.add(b, [&](std::size_t p) { return g[p] * Bd[p]; });
                }
            }
        }
    }
    for (std::size_t var = 0; var < nv; ++var) {  // variables this output does not depend on
        if (written[var]) continue;
        double* col = G0 + var * L.g_var;
        for (std::size_t p = 0; p < nb; ++p) col[p * L.g_point] = 0.0;
    }
}

}  // namespace

void Tape::eval(const TapeInput& X, std::size_t N, double* Y, const TapeOptions& o) const {
    const std::size_t n = ops_.size();
    for_blocks(N, o, [&](Scratch& s, std::size_t s0, std::size_t nb) {
        s.size(n, n_vars_, false, false);
        s.values(*this, X, s0, nb, o.simd);
        copy_outputs(*this, s.sp.data(), s0, nb, Y);
    });
}

void Tape::gradient(const TapeInput& X, std::size_t N, double* Y, double* G, const GradLayout& L,
                    const TapeOptions& o) const {
    const std::size_t m = outputs_.size(), n = ops_.size();
    // Only nonlinear unary operations and powers keep partials; sums, products and quotients
    // read the values directly in the reverse sweep.
    std::vector<unsigned char> lin(n);
    for (std::size_t i = 0; i < n; ++i) lin[i] = active_[i] && needs_partials(static_cast<Op>(ops_[i]), consts_[i]);
    const bool stream = N * m * (n_vars_ + 1) * sizeof(double) >= kStreamBytes;
    for_blocks(N, o, [&](Scratch& s, std::size_t s0, std::size_t nb) {
        s.size(n, n_vars_, true, false);
        s.streamed = stream;
        s.values(*this, X, s0, nb, o.simd);
        partials(*this, nb, s.sp.data(), s.da.data(), s.db.data(), nullptr, nullptr, nullptr, false, o.simd, lin, active_);
        for (std::size_t k = 0; k < m; ++k) {
            const double* src = s.sp[static_cast<std::size_t>(outputs_[k])];
            double* y = Y + s0 * L.y_point + k * L.y_output;
            write_column(src, nb, y, L.y_point, false, stream);
            reverse_block(*this, active_, s, k, s0, nb, G, L, stream);
        }
    });
}

void Tape::jvp(const double* Xr, const double* V, std::size_t N, double* Y, double* JV, const TapeOptions& o) const {
    const std::size_t m = outputs_.size(), n = ops_.size();
    const TapeInput X = TapeInput::rows(Xr, n_vars_);
    for_blocks(N, o, [&](Scratch& s, std::size_t s0, std::size_t nb) {
        s.size(n, n_vars_, true, false);
        s.values(*this, X, s0, nb, o.simd);
        partials(*this, nb, s.sp.data(), s.da.data(), s.db.data(), nullptr, nullptr, nullptr, false, o.simd, active_, active_);
        double* t = s.t.data();
        forward_tangents(*this, active_, s, t, nb, V, s0, 0);
        for (std::size_t k = 0; k < m; ++k) {
            const std::size_t out = static_cast<std::size_t>(outputs_[k]);
            for (std::size_t p = 0; p < nb; ++p) {
                Y[(s0 + p) * m + k] = s.sp[out][p];
                JV[(s0 + p) * m + k] = t[out * kBlock + p];
            }
        }
    });
}

namespace {

// Reverse sweep carrying each adjoint's tangent, for output k along direction j of the
// tangents in s.t: column j of the Hessian (or H V when hcols == 1).
FASTCALC_CLONES void second_order_block(const Tape& tp, const std::vector<unsigned char>& active, Scratch& s,
                                        std::size_t k, std::size_t j, std::size_t s0, std::size_t nb, double* H,
                                        std::size_t hcols) {
    const auto& ops = tp.ops();
    const auto& args = tp.args();
    const std::size_t m = static_cast<std::size_t>(tp.n_outputs()), nv = static_cast<std::size_t>(tp.n_vars());
    const std::size_t out = static_cast<std::size_t>(tp.outputs()[k]);
    const double* t = s.t.data();
    double* adj = s.adj.data();
    double* tadj = s.tadj.data();
    std::fill(adj, adj + (out + 1) * kBlock, 0.0);
    std::fill(tadj, tadj + (out + 1) * kBlock, 0.0);
    std::fill(adj + out * kBlock, adj + out * kBlock + nb, 1.0);
    for (std::size_t i = out + 1; i-- > 0;) {
        if (!active[i]) continue;
        const double* g = adj + i * kBlock;
        const double* tg = tadj + i * kBlock;
        const Op op = static_cast<Op>(ops[i]);
        if (op == Op::Var) {
            const std::size_t var = static_cast<std::size_t>(tp.consts()[i]);
            for (std::size_t p = 0; p < nb; ++p) H[(((s0 + p) * m + k) * nv + var) * hcols + j] += tg[p];
            continue;
        }
        const std::size_t a = static_cast<std::size_t>(args[2 * i]);
        const bool two = arity(op) == 2;
        const std::size_t b = two ? static_cast<std::size_t>(args[2 * i + 1]) : a;
        const double* A = s.da.data() + i * kBlock;
        const double* Bd = s.db.data() + i * kBlock;
        const double* AA = s.daa.data() + i * kBlock;
        const double* AB = s.dab.data() + i * kBlock;
        const double* BB = s.dbb.data() + i * kBlock;
        const double* ta = t + a * kBlock;
        const double* tb = t + b * kBlock;
        if (active[a]) {
            double* ga = adj + a * kBlock;
            double* tga = tadj + a * kBlock;
            for (std::size_t p = 0; p < nb; ++p) {
                ga[p] += g[p] * A[p];
                tga[p] += tg[p] * A[p] + g[p] * (AA[p] * ta[p] + (two ? AB[p] * tb[p] : 0.0));
            }
        }
        if (two && active[b]) {
            double* gb = adj + b * kBlock;
            double* tgb = tadj + b * kBlock;
            for (std::size_t p = 0; p < nb; ++p) {
                gb[p] += g[p] * Bd[p];
                tgb[p] += tg[p] * Bd[p] + g[p] * (AB[p] * ta[p] + BB[p] * tb[p]);
            }
        }
    }
}

}  // namespace

void Tape::second_order(const double* Xr, const double* V, std::size_t N, double* H, const TapeOptions& o) const {
    // V == nullptr: every unit direction, H (N, m, nv, nv); else the one direction V, H (N, m, nv).
    const std::size_t m = outputs_.size(), n = ops_.size(), nv = static_cast<std::size_t>(n_vars_);
    const std::size_t ndir = V ? 1 : nv, hcols = V ? 1 : nv;
    const TapeInput X = TapeInput::rows(Xr, n_vars_);
    for_blocks(N, o, [&](Scratch& s, std::size_t s0, std::size_t nb) {
        s.size(n, n_vars_, true, true);
        s.values(*this, X, s0, nb, o.simd);
        partials(*this, nb, s.sp.data(), s.da.data(), s.db.data(), s.daa.data(), s.dab.data(), s.dbb.data(), true, o.simd,
                 active_, active_);
        std::fill(H + s0 * m * nv * hcols, H + (s0 + nb) * m * nv * hcols, 0.0);
        for (std::size_t j = 0; j < ndir; ++j) {
            forward_tangents(*this, active_, s, s.t.data(), nb, V, s0, j);  // along e_j (or along V)
            for (std::size_t k = 0; k < m; ++k)
                if (active_[static_cast<std::size_t>(outputs_[k])]) second_order_block(*this, active_, s, k, j, s0, nb, H, hcols);
        }
    });
}

void Tape::hessian(const double* X, std::size_t N, double* H, const TapeOptions& o) const {
    second_order(X, nullptr, N, H, o);
}

void Tape::hvp(const double* X, const double* V, std::size_t N, double* HV, const TapeOptions& o) const {
    second_order(X, V, N, HV, o);
}

}  // namespace fastcalc
