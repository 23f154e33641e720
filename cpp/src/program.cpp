#include <fastcalc/program.hpp>

#include "program_exec.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <tuple>

namespace fastcalc {

using namespace prog;

namespace {

struct Node {
    std::uint8_t op;
    std::int32_t n;  // POWI exponent or VAR index
    int a, b;
    double c;
};

// Hash-consed expression DAG with constant folding and IEEE-exact simplifications only
// (x*1, x+0, --x; never 0*x, which is NaN for x = inf).
class Builder {
public:
    std::vector<Node> nodes;

    int make(std::uint8_t op, int a, int b = -1, std::int32_t n = 0, double c = 0.0) {
        if ((op == ADD || op == MUL) && a > b) std::swap(a, b);  // commutative: canonical order
        std::uint64_t cb;
        std::memcpy(&cb, &c, sizeof cb);
        const auto key = std::make_tuple(op, a, b, n, cb);
        auto it = memo_.find(key);
        if (it != memo_.end()) return it->second;
        nodes.push_back(Node{op, n, a, b, c});
        const int id = static_cast<int>(nodes.size()) - 1;
        memo_.emplace(key, id);
        return id;
    }
    bool is_const(int i, double v) const { return nodes[i].op == CONST && nodes[i].c == v; }
    bool is_const(int i) const { return nodes[i].op == CONST; }
    int cst(double v) { return make(CONST, -1, -1, 0, v); }
    int var(int i) { return make(VAR, -1, -1, i, 0.0); }

    int op2(std::uint8_t op, int a, int b, std::int32_t n = 0) {
        if (is_const(a) && (b < 0 || is_const(b)))
            return cst(apply(op, n, nodes[a].c, b < 0 ? 0.0 : nodes[b].c));
        switch (op) {
            case ADD:  // a + (-b) is a - b exactly
                if (is_const(a, 0.0)) return b;
                if (is_const(b, 0.0)) return a;
                if (nodes[b].op == NEG) return op2(SUB, a, nodes[b].a);
                if (nodes[a].op == NEG) return op2(SUB, b, nodes[a].a);
                break;
            case SUB:
                if (is_const(b, 0.0)) return a;
                if (is_const(a, 0.0)) return op2(NEG, b, -1);
                if (nodes[b].op == NEG) return op2(ADD, a, nodes[b].a);
                break;
            case MUL:
                if (is_const(b)) std::swap(a, b);
                // c1 * (c2 * x) = (c1 c2) * x exactly when c2 is a power of two (c2 x is exact).
                if (is_const(a) && nodes[b].op == MUL) {
                    const Node m = nodes[b];  // a copy: cst() may grow nodes
                    const int c = is_const(m.a) ? m.a : (is_const(m.b) ? m.b : -1);
                    int e;
                    if (c >= 0 && std::fabs(std::frexp(nodes[c].c, &e)) == 0.5) {
                        const double prod = nodes[a].c * nodes[c].c;
                        const int other = c == m.a ? m.b : m.a;
                        if (std::isfinite(prod) && prod != 0.0) return op2(MUL, cst(prod), other);
                    }
                }
                if (is_const(a, 1.0)) return b;
                if (is_const(b, 1.0)) return a;
                if (is_const(a, -1.0)) return op2(NEG, b, -1);
                if (is_const(b, -1.0)) return op2(NEG, a, -1);
                break;
            case DIV:
                if (is_const(b, 1.0)) return a;
                break;
            case NEG:
                if (nodes[a].op == NEG) return nodes[a].a;
                break;
            case POWI:
                if (n == 1) return a;
                if (n == 0) return cst(1.0);
                break;
            default: break;
        }
        return make(op, a, b, n);
    }
    int add(int a, int b) { return op2(ADD, a, b); }
    int sub(int a, int b) { return op2(SUB, a, b); }
    int mul(int a, int b) { return op2(MUL, a, b); }
    int div(int a, int b) { return op2(DIV, a, b); }
    int neg(int a) { return op2(NEG, a, -1); }
    int un(std::uint8_t op, int a) { return op2(op, a, -1); }

    // Reverse mode on the DAG: d out / d (VAR wrt[j]) as new nodes.
    std::vector<int> grad(int out, const std::vector<int>& wrt) {
        const int m = out + 1;
        std::vector<char> dep(static_cast<std::size_t>(m), 0);
        for (int i = 0; i < m; ++i) {
            const Node& nd = nodes[i];
            if (nd.op == VAR) dep[i] = std::find(wrt.begin(), wrt.end(), nd.n) != wrt.end();
            else if (nd.op != CONST) dep[i] = dep[nd.a] || (nd.b >= 0 && dep[nd.b]);
        }
        std::vector<int> adj(static_cast<std::size_t>(m), -1);
        auto acc = [&](int i, int v) {
            if (!dep[i]) return;
            adj[i] = adj[i] < 0 ? v : add(adj[i], v);
        };
        adj[out] = cst(1.0);
        for (int i = out; i >= 0; --i) {
            if (adj[i] < 0 || !dep[i]) continue;
            const Node nd = nodes[i];  // copy: nodes grows below
            const int A = adj[i], a = nd.a, b = nd.b;
            switch (nd.op) {
                case ADD: acc(a, A); acc(b, A); break;
                case SUB: acc(a, A); if (dep[b]) acc(b, neg(A)); break;
                case MUL: if (dep[a]) acc(a, mul(A, b)); if (dep[b]) acc(b, mul(A, a)); break;
                case DIV:
                    if (dep[a]) acc(a, div(A, b));
                    if (dep[b]) acc(b, neg(div(mul(A, i), b)));
                    break;
                case NEG: acc(a, neg(A)); break;
                case POW:
                    if (dep[a]) acc(a, mul(A, mul(b, op2(POW, a, sub(b, cst(1.0))))));
                    if (dep[b]) acc(b, mul(A, mul(i, un(LOG, a))));
                    break;
                case POWI:
                    if (nd.n != 0) acc(a, mul(A, mul(cst(nd.n), op2(POWI, a, -1, nd.n - 1))));
                    break;
                case EXP: acc(a, mul(A, i)); break;
                case LOG: acc(a, div(A, a)); break;
                case SIN: acc(a, mul(A, un(COS, a))); break;
                case COS: acc(a, neg(mul(A, un(SIN, a)))); break;
                case TAN: acc(a, mul(A, add(cst(1.0), mul(i, i)))); break;
                case ASIN: acc(a, div(A, un(SQRT, sub(cst(1.0), mul(a, a))))); break;
                case ACOS: acc(a, neg(div(A, un(SQRT, sub(cst(1.0), mul(a, a)))))); break;
                case ATAN: acc(a, div(A, add(cst(1.0), mul(a, a)))); break;
                case SINH: acc(a, mul(A, un(COSH, a))); break;
                case COSH: acc(a, mul(A, un(SINH, a))); break;
                case TANH: acc(a, mul(A, sub(cst(1.0), mul(i, i)))); break;
                case SQRT: acc(a, div(A, mul(cst(2.0), i))); break;
                case ABS: acc(a, mul(A, un(SIGN, a))); break;
                case SIGMOID: acc(a, mul(A, mul(i, sub(cst(1.0), i)))); break;
                default: break;  // SIGN: derivative 0
            }
        }
        std::vector<int> g;
        for (int w : wrt) {
            const int v = var(w);
            g.push_back(v < m && adj[v] >= 0 ? adj[v] : cst(0.0));
        }
        return g;
    }

private:
    std::map<std::tuple<std::uint8_t, int, int, std::int32_t, std::uint64_t>, int> memo_;
};

}  // namespace

Program::Program(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
                 const std::vector<double>& consts, int n_vars, const std::vector<std::int32_t>& outputs,
                 int order, std::vector<int> wrt)
    : n_vars_(n_vars), wrt_(std::move(wrt)) {
    const std::size_t ni = ops.size();
    if (args.size() != 2 * ni || consts.size() != ni)
        throw invalid_argument("tape: args must be (n_instr, 2) and consts (n_instr,)");
    if (outputs.size() != 1) throw invalid_argument("descent needs a scalar function (one output)");
    if (n_vars < 0 || order < 0 || order > 2) throw invalid_argument("tape: bad n_vars or order");
    if (wrt_.empty())
        for (int i = 0; i < n_vars; ++i) wrt_.push_back(i);
    for (int w : wrt_)
        if (w < 0 || w >= n_vars) throw invalid_argument("wrt index out of range");

    Builder B;
    for (int i = 0; i < n_vars; ++i) B.var(i);  // VAR nodes first: node i is input i
    std::vector<int> map(ni);
    for (std::size_t i = 0; i < ni; ++i) {
        const int op = ops[i], a = args[2 * i], b = args[2 * i + 1];
        auto operand = [&](int s) {
            if (s < 0 || static_cast<std::size_t>(s) >= i)
                throw invalid_argument("tape: instruction " + std::to_string(i) + " has a bad operand");
            return map[static_cast<std::size_t>(s)];
        };
        if (op == CONST) map[i] = B.cst(consts[i]);
        else if (op == VAR) {
            const int v = static_cast<int>(consts[i]);
            if (v < 0 || v >= n_vars) throw invalid_argument("tape: VAR index out of range");
            map[i] = B.var(v);
        } else if (op >= ADD && op <= POW && op != NEG) map[i] = B.op2(static_cast<std::uint8_t>(op), operand(a), operand(b));
        else if (op == POWI) map[i] = B.op2(POWI, operand(a), -1, static_cast<std::int32_t>(consts[i]));
        else if (op == NEG || (op > POWI && op <= SIGMOID)) map[i] = B.un(static_cast<std::uint8_t>(op), operand(a));
        else throw invalid_argument("tape: unknown opcode " + std::to_string(op));
    }
    if (outputs[0] < 0 || static_cast<std::size_t>(outputs[0]) >= ni) throw invalid_argument("tape: bad output slot");
    std::vector<int> roots{map[static_cast<std::size_t>(outputs[0])]};
    if (order >= 1) {
        std::vector<int> g = B.grad(roots[0], wrt_);
        roots.insert(roots.end(), g.begin(), g.end());
        if (order == 2)
            for (int gi : g) {
                std::vector<int> h = B.grad(gi, wrt_);
                roots.insert(roots.end(), h.begin(), h.end());
            }
    }

    // Liveness, then slots: inputs fixed at [0, n_vars), constants fixed, the rest reused.
    const int nn = static_cast<int>(B.nodes.size());
    std::vector<int> last(static_cast<std::size_t>(nn), -1);
    std::vector<char> live(static_cast<std::size_t>(nn), 0), is_root(static_cast<std::size_t>(nn), 0);
    for (int r : roots) live[r] = is_root[r] = 1;
    for (int i = nn - 1; i >= 0; --i) {
        if (!live[i]) continue;
        const Node& nd = B.nodes[i];
        if (nd.op == CONST || nd.op == VAR) continue;
        live[nd.a] = 1;
        if (nd.b >= 0) live[nd.b] = 1;
    }
    for (int i = 0; i < nn; ++i) {
        if (!live[i]) continue;
        const Node& nd = B.nodes[i];
        if (nd.op == CONST || nd.op == VAR) continue;
        last[nd.a] = i;
        if (nd.b >= 0) last[nd.b] = i;
    }
    std::vector<std::uint32_t> slot(static_cast<std::size_t>(nn), 0);
    std::uint32_t next = static_cast<std::uint32_t>(n_vars);
    std::vector<std::uint32_t> free_slots;
    for (int i = 0; i < nn; ++i) {
        if (!live[i]) continue;
        const Node& nd = B.nodes[i];
        if (nd.op == VAR) { slot[i] = static_cast<std::uint32_t>(nd.n); continue; }
        if (nd.op == CONST) { slot[i] = next++; consts_.emplace_back(slot[i], nd.c); continue; }
        // The destination never shares a slot with an operand (lets the loops use restrict).
        std::uint32_t s;
        if (!free_slots.empty()) { s = free_slots.back(); free_slots.pop_back(); }
        else s = next++;
        slot[i] = s;
        code_.push_back(Instr{nd.op, nd.n, s, slot[nd.a], nd.b >= 0 ? slot[nd.b] : slot[nd.a]});
        for (int o : {nd.a, nd.b}) {
            if (o < 0 || last[o] != i || is_root[o]) continue;
            const std::uint8_t oop = B.nodes[o].op;
            if (oop == CONST || oop == VAR) continue;
            if (o == nd.b && nd.a == nd.b) continue;
            free_slots.push_back(slot[o]);
        }
    }
    n_slots_ = next;
    for (int r : roots) result_slot_.push_back(slot[r]);
}

Program Program::gradient_only() const {
    Program q = *this;
    std::vector<char> live(n_slots_, 0);
    for (std::size_t r = 1; r < result_slot_.size(); ++r) live[result_slot_[r]] = 1;
    std::vector<Instr> kept;
    for (std::size_t i = code_.size(); i-- > 0;) {  // backwards: a slot is live until written
        const Instr& in = code_[i];
        if (!live[in.d]) continue;
        live[in.d] = 0;
        live[in.a] = live[in.b] = 1;
        kept.push_back(in);
    }
    q.code_.assign(kept.rbegin(), kept.rend());
    return q;
}

void Program::init_block(double* S, std::size_t lanes) const {
    for (const auto& c : consts_) std::fill(S + c.first * lanes, S + (c.first + 1) * lanes, c.second);
}

void Program::run(double* S, std::size_t lanes) const { exec<0>(code_.data(), code_.size(), S, lanes); }

void Program::eval(const double* X, std::size_t count, double* R) const {
    constexpr std::size_t L = 64;
    std::vector<double> S(n_slots_ * L);
    init_block(S.data(), L);
    const std::size_t nv = static_cast<std::size_t>(n_vars_), nr = result_slot_.size();
    for (std::size_t p0 = 0; p0 < count; p0 += L) {
        const std::size_t m = std::min(L, count - p0);
        for (std::size_t j = 0; j < m; ++j)
            for (std::size_t v = 0; v < nv; ++v) S[v * L + j] = X[(p0 + j) * nv + v];
        for (std::size_t j = m; j < L; ++j)
            for (std::size_t v = 0; v < nv; ++v) S[v * L + j] = 0.0;
        exec<L>(code_.data(), code_.size(), S.data(), L);
        for (std::size_t j = 0; j < m; ++j)
            for (std::size_t r = 0; r < nr; ++r) R[(p0 + j) * nr + r] = S[result_slot_[r] * L + j];
    }
}

}  // namespace fastcalc
