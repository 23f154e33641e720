// The derivative rules of ops.def, parsed once into small expression trees that a builder
// instantiates for one instruction (program.cpp's reverse mode). The rule language: a, b (the
// operands), y (the instruction's value), n (its immediate), numbers, + - * /, unary minus and
// calls of the table's primitives (an immediate operation takes its immediate first:
// powi(n - 1, a)).
#pragma once

#include <fastcalc/ops.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fastcalc {
namespace rules {

struct Node {
    enum Kind : std::uint8_t { A, B, Y, Num, N, Call } kind;
    Op op = Op::CONST;        // Call: the primitive (arithmetic included)
    double num = 0.0;         // Num: the value; N: the offset added to n
    std::int32_t imm_off = 0; // Call of an immediate op: its immediate is n + imm_off ...
    bool imm_from_n = false;  // ... or the literal imm_off when false
    int x = -1, y = -1;       // operands (node indices); -1 unused
};

// A rule as nodes in evaluation order; the last one is the result. Empty: no rule.
struct Rule {
    std::vector<Node> nodes;
    bool empty() const { return nodes.empty(); }
};

// Parses one rule text; throws std::logic_error naming the text on a malformed rule (a bug in
// the table, caught by the tests through all_rules()).
Rule parse(const std::string& text);

// The parsed rules of every primitive: rule(op, 0) is d/da, rule(op, 1) is d/db.
const Rule& rule(Op op, int operand);

// Builds a rule's tree with `emit`: emit.cst(double) -> id, emit.op(Op, id a, id b, n) -> id
// (b = -1 for unary). a, b, y: the ids of the operands and of the value; n the immediate.
template <class Emit>
int instantiate(const Rule& r, int a, int b, int y, std::int32_t n, Emit& emit) {
    std::vector<int> id(r.nodes.size(), -1);
    for (std::size_t i = 0; i < r.nodes.size(); ++i) {
        const Node& k = r.nodes[i];
        switch (k.kind) {
            case Node::A: id[i] = a; break;
            case Node::B: id[i] = b; break;
            case Node::Y: id[i] = y; break;
            case Node::Num: id[i] = emit.cst(k.num); break;
            case Node::N: id[i] = emit.cst(static_cast<double>(n) + k.num); break;
            case Node::Call: {
                const std::int32_t m = k.imm_from_n ? n + k.imm_off : k.imm_off;
                id[i] = emit.op(k.op, id[static_cast<std::size_t>(k.x)], k.y >= 0 ? id[static_cast<std::size_t>(k.y)] : -1, m);
                break;
            }
        }
    }
    return id.back();
}

}  // namespace rules
}  // namespace fastcalc
