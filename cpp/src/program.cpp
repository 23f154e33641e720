#include <fastcalc/function.hpp>
#include <fastcalc/program.hpp>
#include <fastcalc/rules.hpp>

#include "program_exec.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>

namespace fastcalc {

namespace {

// Programs larger than this (nodes of the expression DAG with its derivatives) are refused: a
// dense Hessian of thousands of variables belongs to the directional programs instead.
constexpr std::size_t kMaxNodes = std::size_t(1) << 23;

struct Node {
    Op op;
    std::int32_t n;  // the immediate, or VAR's input index
    int a, b;
    double c;
};

std::uint64_t bits(double v) {
    std::uint64_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

struct Key {
    std::uint8_t op;
    std::int32_t n;
    int a, b;
    std::uint64_t c;
    bool operator==(const Key& o) const { return op == o.op && n == o.n && a == o.a && b == o.b && c == o.c; }
};
struct KeyHash {
    std::size_t operator()(const Key& k) const {
        std::uint64_t h = k.c * 0x9E3779B97F4A7C15ULL;
        for (std::uint64_t v : {std::uint64_t(k.op), std::uint64_t(std::uint32_t(k.n)), std::uint64_t(std::uint32_t(k.a)),
                                std::uint64_t(std::uint32_t(k.b))})
            h = (h ^ v) * 0xBF58476D1CE4E5B9ULL + (h >> 31);
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};

// Hash-consed expression DAG with constant folding and IEEE-exact simplifications only
// (x*1, x+0, --x; never 0*x, which is NaN for x = inf).
class Builder {
public:
    std::vector<Node> nodes;

    int make(Op op, int a, int b = -1, std::int32_t n = 0, double c = 0.0) {
        if ((op == Op::ADD || op == Op::MUL) && a > b) std::swap(a, b);  // commutative: canonical order
        const Key key{static_cast<std::uint8_t>(op), n, a, b, bits(c)};
        auto it = memo_.find(key);
        if (it != memo_.end()) return it->second;
        if (nodes.size() >= kMaxNodes)
            throw invalid_argument("the expression and its derivatives exceed " + std::to_string(kMaxNodes) +
                                   " operations");
        nodes.push_back(Node{op, n, a, b, c});
        const int id = static_cast<int>(nodes.size()) - 1;
        memo_.emplace(key, id);
        return id;
    }
    bool is_const(int i, double v) const { return nodes[i].op == Op::CONST && nodes[i].c == v; }
    bool is_const(int i) const { return nodes[i].op == Op::CONST; }
    int cst(double v) {
        if (v == 0.0) v = 0.0;  // one zero (-0.0 folds into +0.0 only where exact: see op2)
        return make(Op::CONST, -1, -1, 0, v);
    }
    int cst_exact(double v) { return make(Op::CONST, -1, -1, 0, v); }
    int var(int i) { return make(Op::VAR, -1, -1, i, 0.0); }

    int op2(Op op, int a, int b, std::int32_t n = 0) {
        const OpInfo& oi = info(op);
        if (oi.imm && (n < -kMaxPowi || n > kMaxPowi || (op == Op::POLYGAMMA && (n < 0 || n > kMaxPolygamma))))
            return cst_exact(std::nan(""));  // a derivative beyond the immediates' range: unknown
        if (is_const(a) && (oi.arity < 2 || is_const(b)))
            return cst_exact(eval_scalar(op, nodes[a].c, oi.arity < 2 ? 0.0 : nodes[b].c, n));
        switch (op) {
            case Op::ADD:  // a + (-b) is a - b exactly
                if (is_const(a, 0.0)) return b;
                if (is_const(b, 0.0)) return a;
                if (nodes[b].op == Op::NEG) return op2(Op::SUB, a, nodes[b].a);
                if (nodes[a].op == Op::NEG) return op2(Op::SUB, b, nodes[a].a);
                break;
            case Op::SUB:
                if (is_const(b, 0.0)) return a;
                if (is_const(a, 0.0)) return op2(Op::NEG, b, -1);
                if (nodes[b].op == Op::NEG) return op2(Op::ADD, a, nodes[b].a);
                break;
            case Op::MUL:
                if (is_const(b)) std::swap(a, b);
                // c1 * (c2 * x) = (c1 c2) * x exactly when c2 is a power of two (c2 x is exact).
                if (is_const(a) && nodes[b].op == Op::MUL) {
                    const Node m = nodes[b];  // a copy: cst() may grow nodes
                    const int c = is_const(m.a) ? m.a : (is_const(m.b) ? m.b : -1);
                    int e;
                    if (c >= 0 && std::fabs(std::frexp(nodes[c].c, &e)) == 0.5) {
                        const double prod = nodes[a].c * nodes[c].c;
                        const int other = c == m.a ? m.b : m.a;
                        if (std::isfinite(prod) && prod != 0.0) return op2(Op::MUL, cst(prod), other);
                    }
                }
                if (is_const(a, 1.0)) return b;
                if (is_const(b, 1.0)) return a;
                if (is_const(a, -1.0)) return op2(Op::NEG, b, -1);
                if (is_const(b, -1.0)) return op2(Op::NEG, a, -1);
                break;
            case Op::DIV:
                if (is_const(b, 1.0)) return a;
                if (is_const(b, -1.0)) return op2(Op::NEG, a, -1);
                break;
            case Op::NEG:
                if (nodes[a].op == Op::NEG) return nodes[a].a;
                break;
            case Op::POWI:
                if (n == 1) return a;
                if (n == 0) return cst(1.0);  // x**0 = 1 for every x, NaN included (as NumPy)
                break;
            default: break;
        }
        return make(op, a, oi.arity == 2 ? b : -1, oi.imm ? n : 0);
    }
    int add(int a, int b) { return op2(Op::ADD, a, b); }
    int mul(int a, int b) { return op2(Op::MUL, a, b); }
    int neg(int a) { return op2(Op::NEG, a, -1); }

    // For rules::instantiate.
    int op(Op o, int a, int b, std::int32_t n) { return op2(o, a, b, n); }

    // The adjoint A times a local derivative r, in the form with the fewest roundings:
    // A/x for r = 1/x, -(A r') for r = -r', A for 1.
    int chain(int A, int r) {
        if (is_const(r, 1.0)) return A;
        if (is_const(r, -1.0)) return neg(A);
        const Node nr = nodes[r];
        if (nr.op == Op::DIV && is_const(nr.a, 1.0)) return op2(Op::DIV, A, nr.b);
        if (nr.op == Op::NEG) return neg(chain(A, nr.a));
        return mul(A, r);
    }

    // Reverse mode on the DAG: d out / d (VAR wrt[j]) as new nodes.
    std::vector<int> grad(int out, const std::vector<int>& wrt) {
        const int m = out + 1;
        std::vector<char> dep(static_cast<std::size_t>(m), 0);
        std::vector<int> where(wrt.empty() ? 0 : static_cast<std::size_t>(*std::max_element(wrt.begin(), wrt.end()) + 1), -1);
        for (std::size_t j = 0; j < wrt.size(); ++j) where[static_cast<std::size_t>(wrt[j])] = static_cast<int>(j);
        for (int i = 0; i < m; ++i) {
            const Node& nd = nodes[i];
            if (nd.op == Op::VAR)
                dep[i] = nd.n < static_cast<int>(where.size()) && where[static_cast<std::size_t>(nd.n)] >= 0;
            else if (nd.op != Op::CONST)
                dep[i] = dep[nd.a] || (nd.b >= 0 && dep[nd.b]);
        }
        std::vector<int> adj(static_cast<std::size_t>(m), -1);
        auto acc = [&](int i, int v) {
            if (!dep[i] || is_const(v, 0.0)) return;
            adj[i] = adj[i] < 0 ? v : add(adj[i], v);
        };
        if (!dep[out]) return std::vector<int>(wrt.size(), cst(0.0));
        adj[out] = cst(1.0);
        for (int i = out; i >= 0; --i) {
            if (adj[i] < 0 || !dep[i]) continue;
            const Node nd = nodes[i];  // a copy: nodes grows below
            if (nd.op == Op::VAR || nd.op == Op::CONST) continue;
            const int A = adj[i];
            const int arity = info(nd.op).arity;
            for (int k = 0; k < arity; ++k) {
                const int x = k == 0 ? nd.a : nd.b;
                if (!dep[x]) continue;
                const int r = rules::instantiate(rules::rule(nd.op, k), nd.a, nd.b, i, nd.n, *this);
                acc(x, chain(A, r));
            }
        }
        std::vector<int> g;
        for (int w : wrt) {
            const int v = var(w);
            g.push_back(v < m && adj[static_cast<std::size_t>(v)] >= 0 ? adj[static_cast<std::size_t>(v)] : cst(0.0));
        }
        return g;
    }

private:
    std::unordered_map<Key, int, KeyHash> memo_;
};

// A node of a Builder as a number: the arithmetic of optimizer.hpp's step_rule builds nodes.
struct BV {
    Builder* b;
    int id;
};
inline BV bv_op(Op op, BV x, BV y) { return {x.b, x.b->op2(op, x.id, y.id)}; }
inline BV bv_c(BV like, double c) { return {like.b, like.b->cst_exact(c)}; }
inline BV operator+(BV x, BV y) { return bv_op(Op::ADD, x, y); }
inline BV operator-(BV x, BV y) { return bv_op(Op::SUB, x, y); }
inline BV operator*(BV x, BV y) { return bv_op(Op::MUL, x, y); }
inline BV operator/(BV x, BV y) { return bv_op(Op::DIV, x, y); }
inline BV operator+(BV x, double c) { return x + bv_c(x, c); }
inline BV operator*(double c, BV y) { return bv_c(y, c) * y; }
inline BV sqrt(BV x) { return {x.b, x.b->op2(Op::SQRT, x.id, -1)}; }

}  // namespace

void validate_tape(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
                   const std::vector<double>& consts, int n_vars, const std::vector<std::int32_t>& outputs) {
    const std::size_t n = ops.size();
    if (n_vars < 0) throw invalid_argument("tape: n_vars must be >= 0");
    if (n >= (std::size_t(1) << 31)) throw invalid_argument("tape: too many instructions");
    if (args.size() != 2 * n) throw invalid_argument("tape: args must have shape (n_instr, 2)");
    if (consts.size() != n) throw invalid_argument("tape: consts must have one entry per instruction");
    if (outputs.empty()) throw invalid_argument("tape: no outputs");
    for (std::size_t i = 0; i < n; ++i) {
        const auto at = [i] { return "tape instruction " + std::to_string(i); };
        if (!valid_op(ops[i])) throw invalid_argument(at() + ": unknown opcode " + std::to_string(ops[i]));
        const Op op = static_cast<Op>(ops[i]);
        const OpInfo& oi = info(op);
        for (int j = 0; j < oi.arity; ++j) {
            const std::int32_t a = args[2 * i + static_cast<std::size_t>(j)];
            if (a < 0 || static_cast<std::size_t>(a) >= i)
                throw invalid_argument(at() + ": operand " + std::to_string(a) + " must be an earlier instruction");
        }
        const double c = consts[i];
        if (op == Op::VAR && !(c >= 0 && c < n_vars && c == std::floor(c)))
            throw invalid_argument(at() + ": variable index " + std::to_string(c) + " out of range");
        if (op == Op::POWI && !(c == std::floor(c) && std::fabs(c) <= kMaxPowi))
            throw invalid_argument(at() + ": powi needs an integer exponent of at most 2**30 in magnitude, got " +
                                   std::to_string(c));
        if (op == Op::POLYGAMMA && !(c == std::floor(c) && c >= 0 && c <= kMaxPolygamma))
            throw invalid_argument(at() + ": polygamma needs an integer order in [0, " + std::to_string(kMaxPolygamma) +
                                   "], got " + std::to_string(c));
    }
    for (std::int32_t o : outputs)
        if (o < 0 || static_cast<std::size_t>(o) >= n)
            throw invalid_argument("tape: output slot " + std::to_string(o) + " out of range");
}

template <class BuilderT>
void Program::allocate(const BuilderT& B, const std::vector<int>& roots) {
    // Liveness, then slots: inputs fixed at [0, n_inputs), constants fixed, the rest reused.
    // A constant operand of + - * / becomes the instruction's immediate (no slot, no load).
    const int nn = static_cast<int>(B.nodes.size());
    const auto& nodes = B.nodes;
    auto imm_ok = [&](const Node& nd) {
        return nd.op == Op::ADD || nd.op == Op::SUB || nd.op == Op::MUL || nd.op == Op::DIV;
    };
    std::vector<int> last(static_cast<std::size_t>(nn), -1);
    std::vector<char> live(static_cast<std::size_t>(nn), 0), is_root(static_cast<std::size_t>(nn), 0),
        in_slot(static_cast<std::size_t>(nn), 0);
    for (int r : roots) live[r] = is_root[r] = in_slot[r] = 1;
    for (int i = nn - 1; i >= 0; --i) {
        if (!live[i]) continue;
        const Node& nd = nodes[i];
        if (nd.op == Op::CONST || nd.op == Op::VAR) continue;
        for (int o : {nd.a, nd.b}) {
            if (o < 0) continue;
            live[o] = 1;
            // a constant needs a slot unless this use takes it as an immediate
            if (!(nodes[o].op == Op::CONST && imm_ok(nd))) in_slot[o] = 1;
        }
    }
    for (int i = 0; i < nn; ++i) {
        if (!live[i]) continue;
        const Node& nd = nodes[i];
        if (nd.op == Op::CONST || nd.op == Op::VAR) continue;
        last[nd.a] = i;
        if (nd.b >= 0) last[nd.b] = i;
    }
    std::vector<std::uint32_t> slot(static_cast<std::size_t>(nn), 0);
    std::uint32_t next = static_cast<std::uint32_t>(n_inputs_);
    std::vector<std::uint32_t> free_slots;
    for (int i = 0; i < nn; ++i) {
        if (!live[i]) continue;
        const Node& nd = nodes[i];
        if (nd.op == Op::VAR) {
            slot[i] = static_cast<std::uint32_t>(nd.n);
            continue;
        }
        if (nd.op == Op::CONST) {
            if (in_slot[i]) {
                slot[i] = next++;
                consts_.emplace_back(slot[i], nd.c);
            }
            continue;
        }
        // The destination never shares a slot with an operand (lets the loops use restrict).
        std::uint32_t s;
        if (!free_slots.empty()) {
            s = free_slots.back();
            free_slots.pop_back();
        } else {
            s = next++;
        }
        slot[i] = s;
        Instr in{nd.op, 0, nd.n, s, 0, 0, 0.0};
        const bool ca = nodes[nd.a].op == Op::CONST && imm_ok(nd);
        const bool cb = nd.b >= 0 && nodes[nd.b].op == Op::CONST && imm_ok(nd);
        if (ca) in.flags = kImmA, in.c = nodes[nd.a].c;
        if (cb) in.flags = kImmB, in.c = nodes[nd.b].c;  // both constant: folded, never here
        in.a = ca ? s : slot[nd.a];
        in.b = nd.b < 0 ? in.a : (cb ? s : slot[nd.b]);
        code_.push_back(in);
        for (int o : {nd.a, nd.b}) {
            if (o < 0 || last[o] != i || is_root[o]) continue;
            const Op oop = nodes[o].op;
            if (oop == Op::CONST || oop == Op::VAR) continue;
            if (o == nd.b && nd.a == nd.b) continue;
            free_slots.push_back(slot[o]);
        }
    }
    n_slots_ = next;
    for (int r : roots) result_slot_.push_back(slot[r]);
    fusion();
}

// Pairs of arithmetic instructions the interpreter runs in one lane loop: i + 1 reads i's result
// once (not as both operands), and i's result is stored only if it is live after i + 1 (read
// by a later instruction before it is written again, or a result). Linear: one backward pass
// of liveness, then pairs from the front.
void Program::fusion() {
    const std::size_t nc = code_.size();
    fuse_.assign(nc + 1, 0);  // (never empty: data() is then not null)
    auto reads = [](const Instr& in, std::uint32_t s) {
        return (!(in.flags & kImmA) && in.a == s) || (info(in.op).arity == 2 && !(in.flags & kImmB) && in.b == s);
    };
    std::vector<char> live(n_slots_, 0), keep(nc, 0);  // keep[i]: code_[i]'s result live after i + 1
    for (std::size_t r : result_slot_) live[r] = 1;
    for (std::size_t k = nc; k-- > 0;) {  // live: the slots live before instruction k + 1
        if (k >= 1) keep[k - 1] = live[code_[k - 1].d];
        const Instr& in = code_[k];
        live[in.d] = 0;
        if (!(in.flags & kImmA)) live[in.a] = 1;
        if (info(in.op).arity == 2 && !(in.flags & kImmB)) live[in.b] = 1;
    }
    for (std::size_t i = 0; i + 1 < nc; ++i) {
        const Instr& x = code_[i];
        const Instr& y = code_[i + 1];
        if (!prog::fusable(x.op) || !prog::fusable(y.op) || !reads(y, x.d)) continue;
        const bool ta = !(y.flags & kImmA) && y.a == x.d, tb = !(y.flags & kImmB) && y.b == x.d;
        if (ta && tb) continue;  // t op t: the loop would read the other operand from memory
        fuse_[i] = keep[i] ? kFuseKeep : kFusePair;
        ++i;  // pairs do not overlap
    }
}

Program::Program(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
                 const std::vector<double>& consts, int n_vars, const std::vector<std::int32_t>& outputs,
                 const ProgramSpec& spec)
    : n_vars_(n_vars), spec_(spec) {
    build(ops, args, consts, outputs);
}

Program::Program(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
                 const std::vector<double>& consts, int n_vars, const std::vector<std::int32_t>& outputs, int order,
                 std::vector<int> wrt)
    : n_vars_(n_vars) {
    if (outputs.size() != 1) throw invalid_argument("descent needs a scalar function (one output)");
    spec_.order = order;
    spec_.wrt = std::move(wrt);
    build(ops, args, consts, outputs);
}

void Program::build(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
                    const std::vector<double>& consts, const std::vector<std::int32_t>& outputs) {
    validate_tape(ops, args, consts, n_vars_, outputs);
    if (spec_.order < 0 || spec_.order > 2) throw invalid_argument("program: order must be 0, 1 or 2");
    if (spec_.directional && spec_.order == 0) throw invalid_argument("program: a directional program needs order >= 1");
    wrt_ = spec_.wrt;
    if (wrt_.empty())
        for (int i = 0; i < n_vars_; ++i) wrt_.push_back(i);
    for (int w : wrt_)
        if (w < 0 || w >= n_vars_) throw invalid_argument("program: wrt index out of range");
    n_outputs_ = static_cast<int>(outputs.size());
    n_inputs_ = n_vars_ + (spec_.directional ? n_wrt() : 0);

    Builder B;
    for (int i = 0; i < n_inputs_; ++i) B.var(i);  // VAR nodes first: node i is input i
    const std::size_t ni = ops.size();
    std::vector<int> map(ni);
    for (std::size_t i = 0; i < ni; ++i) {
        const Op op = static_cast<Op>(ops[i]);
        const int a = args[2 * i], b = args[2 * i + 1];
        if (op == Op::CONST) map[i] = B.cst_exact(consts[i]);
        else if (op == Op::VAR) map[i] = B.var(static_cast<int>(consts[i]));
        else {
            const OpInfo& oi = info(op);
            const int n = oi.imm ? static_cast<int>(consts[i]) : 0;
            map[i] = B.op2(op, map[static_cast<std::size_t>(a)], oi.arity == 2 ? map[static_cast<std::size_t>(b)] : -1, n);
        }
    }
    std::vector<int> outs;
    for (std::int32_t o : outputs) outs.push_back(map[static_cast<std::size_t>(o)]);

    std::vector<int> roots;
    if (spec_.values) roots = outs;
    if (spec_.order >= 1) {
        std::vector<std::vector<int>> g;
        for (int o : outs) g.push_back(B.grad(o, wrt_));
        auto along = [&](const std::vector<int>& gk) {  // sum_j gk[j] v_j
            int s = B.cst(0.0);
            for (std::size_t j = 0; j < gk.size(); ++j) s = B.add(s, B.mul(gk[j], B.var(n_vars_ + static_cast<int>(j))));
            return s;
        };
        if (!spec_.directional) {
            for (const auto& gk : g) roots.insert(roots.end(), gk.begin(), gk.end());
            if (spec_.order == 2)
                for (const auto& gk : g)
                    for (int gi : gk) {
                        std::vector<int> h = B.grad(gi, wrt_);
                        roots.insert(roots.end(), h.begin(), h.end());
                    }
        } else if (spec_.order == 1) {
            for (const auto& gk : g) roots.push_back(along(gk));
        } else {
            for (const auto& gk : g) {
                std::vector<int> hv = B.grad(along(gk), wrt_);
                roots.insert(roots.end(), hv.begin(), hv.end());
            }
        }
    }

    allocate(B, roots);
}

Program Program::tail(int first) const {
    if (first < 0 || first > n_results()) throw invalid_argument("program: bad first result");
    Program q = *this;
    q.result_slot_.assign(result_slot_.begin() + first, result_slot_.end());
    std::vector<char> live(n_slots_, 0);
    for (std::size_t r : q.result_slot_) live[r] = 1;
    std::vector<Instr> kept;
    for (std::size_t i = code_.size(); i-- > 0;) {  // backwards: a slot is live until written
        const Instr& in = code_[i];
        if (!live[in.d]) continue;
        live[in.d] = 0;
        if (!(in.flags & kImmA)) live[in.a] = 1;
        if (!(in.flags & kImmB)) live[in.b] = 1;
        kept.push_back(in);
    }
    q.code_.assign(kept.rbegin(), kept.rend());
    q.fusion();
    return q;
}

void Program::init_block(double* S, std::size_t lanes) const {
    for (const auto& c : consts_) std::fill(S + c.first * lanes, S + (c.first + 1) * lanes, c.second);
}

namespace {
FASTCALC_CLONES void run_code(const Instr* code, std::size_t n, double* const* P, std::size_t lanes, bool simd,
                              const std::uint8_t* fuse) {
    if (lanes == 64) prog::exec<64>(code, n, P, lanes, simd, fuse);
    else if (lanes == 256) prog::exec<256>(code, n, P, lanes, simd, fuse);
    else prog::exec<0>(code, n, P, lanes, simd, fuse);
}
}  // namespace

void Program::run(double* S, std::size_t lanes, bool simd) const { run(S, lanes, lanes, simd); }

void Program::run(double* S, std::size_t stride, std::size_t lanes, bool simd) const {
    double* small[256];
    std::vector<double*> big;
    double** P = small;
    if (n_slots_ > 256) {
        big.resize(n_slots_);
        P = big.data();
    }
    for (std::size_t k = 0; k < n_slots_; ++k) P[k] = S + k * stride;
    run_code(code_.data(), code_.size(), P, lanes, simd, fuse_.data());
}

void Program::run_slots(double* const* P, std::size_t lanes, bool simd) const {
    run_code(code_.data(), code_.size(), P, lanes, simd, fuse_.data());
}

void Program::eval(const double* X, std::size_t count, double* R, bool simd) const {
    constexpr std::size_t L = 64;
    std::vector<double> S(n_slots_ * L);
    init_block(S.data(), L);
    const std::size_t nv = static_cast<std::size_t>(n_inputs_), nr = result_slot_.size();
    for (std::size_t p0 = 0; p0 < count; p0 += L) {
        const std::size_t m = std::min(L, count - p0);
        for (std::size_t j = 0; j < m; ++j)
            for (std::size_t v = 0; v < nv; ++v) S[v * L + j] = X[(p0 + j) * nv + v];
        for (std::size_t j = m; j < L; ++j)
            for (std::size_t v = 0; v < nv; ++v) S[v * L + j] = 0.5;
        run(S.data(), L, L, simd);
        for (std::size_t j = 0; j < m; ++j)
            for (std::size_t r = 0; r < nr; ++r) R[(p0 + j) * nr + r] = S[result_slot_[r] * L + j];
    }
}

Program Program::descent_step(const StepParams& sp, double tol2) const {
    if (n_outputs_ != 1 || spec_.order < 1 || !spec_.values || spec_.directional || n_wrt() != n_vars_)
        throw invalid_argument("descent needs a program with the value and the gradient in all variables");
    const int n = n_vars_, states = step_states(sp.method);
    Program q;
    q.n_vars_ = n_vars_;
    q.n_outputs_ = states * n + 1;
    q.n_inputs_ = states * n + 2 + (sp.method == DescentMethod::Adam ? 2 : 0);
    q.spec_ = spec_;
    q.wrt_ = wrt_;
    Builder B;
    for (int i = 0; i < q.n_inputs_; ++i) B.var(i);
    // this program's code, instruction by instruction, as nodes (the same operations)
    std::vector<int> at(n_slots_, -1);
    for (int k = 0; k < n_vars_; ++k) at[static_cast<std::size_t>(k)] = B.var(k);
    for (const auto& c : consts_) at[c.first] = B.cst_exact(c.second);
    for (const Instr& in : code_) {
        const int a = (in.flags & kImmA) ? B.cst_exact(in.c) : at[in.a];
        const int b = info(in.op).arity < 2 ? -1 : ((in.flags & kImmB) ? B.cst_exact(in.c) : at[in.b]);
        at[in.d] = B.op2(in.op, a, b, in.n);
    }
    auto input = [&](int i) { return BV{&B, B.var(i)}; };
    const BV lr = input(states * n), lim = input(states * n + 1);
    const bool adam = sp.method == DescentMethod::Adam;
    const BV c1 = adam ? input(states * n + 2) : BV{&B, B.cst(1.0)};
    const BV c2 = adam ? input(states * n + 3) : BV{&B, B.cst(1.0)};
    std::vector<int> xs(static_cast<std::size_t>(n)), s1s(xs.size()), s2s(xs.size());
    BV gn2{&B, B.cst(0.0)}, ok{&B, B.cst(1.0)};
    for (int d = 0; d < n; ++d) {
        const BV g{&B, at[result_slot(1 + d)]};
        BV x = input(d);
        BV s1 = states >= 2 ? input(n + d) : BV{&B, B.cst(0.0)};
        BV s2 = states >= 3 ? input(2 * n + d) : BV{&B, B.cst(0.0)};
        gn2 = gn2 + g * g;  // as stop_scan sums it, from 0
        ok = ok * bv_op(Op::LE, BV{&B, B.op2(Op::ABS, x.id, -1)}, lim);
        switch (sp.method) {
            case DescentMethod::GD: step_rule<DescentMethod::GD>(sp, x, g, s1, s2, lr, c1, c2); break;
            case DescentMethod::Momentum: step_rule<DescentMethod::Momentum>(sp, x, g, s1, s2, lr, c1, c2); break;
            case DescentMethod::Nesterov: step_rule<DescentMethod::Nesterov>(sp, x, g, s1, s2, lr, c1, c2); break;
            case DescentMethod::Adam: step_rule<DescentMethod::Adam>(sp, x, g, s1, s2, lr, c1, c2); break;
        }
        xs[static_cast<std::size_t>(d)] = x.id, s1s[static_cast<std::size_t>(d)] = s1.id, s2s[static_cast<std::size_t>(d)] = s2.id;
    }
    // stop_code(in bounds, gn2, tol2, false, .): 2 unless every |x_d| <= lim and gn2 <= DBL_MAX,
    // else 1 when gn2 < tol2, else 0
    ok = ok * bv_op(Op::LE, gn2, bv_c(gn2, DBL_MAX));
    BV code = 2.0 * (bv_c(ok, 1.0) - ok);
    if (tol2 > 0) code = code + bv_op(Op::LT, gn2, bv_c(gn2, tol2)) * ok;  // gn2 < tol2 <= 0 never holds
    std::vector<int> roots(xs);
    if (states >= 2) roots.insert(roots.end(), s1s.begin(), s1s.end());
    if (states >= 3) roots.insert(roots.end(), s2s.begin(), s2s.end());
    roots.push_back(code.id);
    q.allocate(B, roots);
    return q;
}

std::vector<std::vector<int>> Program::dependencies() const {
    const std::size_t words = (static_cast<std::size_t>(n_inputs_) + 63) / 64;
    std::vector<std::uint64_t> dep(n_slots_ * words, 0);
    for (std::size_t j = 0; j < static_cast<std::size_t>(n_inputs_); ++j) dep[j * words + j / 64] |= std::uint64_t(1) << (j % 64);
    for (const Instr& in : code_) {
        std::uint64_t* d = dep.data() + in.d * words;
        const std::uint64_t* a = dep.data() + in.a * words;
        const std::uint64_t* b = dep.data() + in.b * words;
        const bool ua = !(in.flags & kImmA), ub = info(in.op).arity == 2 && !(in.flags & kImmB);
        for (std::size_t w = 0; w < words; ++w) d[w] = (ua ? a[w] : 0) | (ub ? b[w] : 0);
    }
    std::vector<std::vector<int>> out;
    for (std::size_t r : result_slot_) {
        std::vector<int> s;
        for (std::size_t j = 0; j < static_cast<std::size_t>(n_inputs_); ++j)
            if (dep[r * words + j / 64] >> (j % 64) & 1) s.push_back(static_cast<int>(j));
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace fastcalc
