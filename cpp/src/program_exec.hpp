// Private: the block interpreter of Program, generated from the table of operations (ops.def):
// each primitive runs its vmath function over the lanes, or its scalar expression in a lane loop
// that the compiler vectorizes. Inlined into the callers' ISA-specific clones (FASTCALC_CLONES)
// so that the lane loops get the widest SIMD.
#pragma once

#include <fastcalc/ops.hpp>
#include <fastcalc/program.hpp>
#include <fastcalc/vmath.hpp>

#include <cmath>
#include <cstddef>

#include "clones.hpp"

namespace fastcalc {
namespace prog {

// A binary operation over lanes; one operand may be the instruction's constant.
template <class F>
FASTCALC_INLINE void binary(const Instr& in, double* __restrict d, const double* __restrict a,
                            const double* __restrict b, std::size_t nl, F f) {
    if (in.flags & kImmB) {
        const double c = in.c;
        for (std::size_t j = 0; j < nl; ++j) d[j] = f(a[j], c);
    } else if (in.flags & kImmA) {
        const double c = in.c;
        for (std::size_t j = 0; j < nl; ++j) d[j] = f(c, b[j]);
    } else {
        for (std::size_t j = 0; j < nl; ++j) d[j] = f(a[j], b[j]);
    }
}

template <class F>
FASTCALC_INLINE void unary(double* __restrict d, const double* __restrict a, std::size_t nl, F f) {
    for (std::size_t j = 0; j < nl; ++j) d[j] = f(a[j]);
}

// powi with the exponents that dominate real programs as straight lines (the same operations,
// so the same bits, as ops::powi).
FASTCALC_INLINE void powi(std::int32_t n, double* __restrict d, const double* __restrict a, std::size_t nl) {
    switch (n) {
        case 2: for (std::size_t j = 0; j < nl; ++j) d[j] = a[j] * a[j]; return;
        case 3: for (std::size_t j = 0; j < nl; ++j) d[j] = a[j] * (a[j] * a[j]); return;
        case 4: for (std::size_t j = 0; j < nl; ++j) { const double s = a[j] * a[j]; d[j] = s * s; } return;
        case -1: for (std::size_t j = 0; j < nl; ++j) d[j] = 1.0 / a[j]; return;
        case -2: for (std::size_t j = 0; j < nl; ++j) d[j] = 1.0 / (a[j] * a[j]); return;
        default: for (std::size_t j = 0; j < nl; ++j) d[j] = ops::powi(a[j], n);
    }
}

template <Op ID, int Arity, vmath::Fn VM, class F1, class F2>
FASTCALC_INLINE void run_op(const Instr& in, double* __restrict d, const double* __restrict a,
                            const double* __restrict b, std::size_t nl, bool simd, F1 f1, F2 f2) {
    if constexpr (ID == Op::POWI) {
        powi(in.n, d, a, nl);
    } else if constexpr (Arity == 0) {
        // never in code: inputs and constants have their own slots
    } else if constexpr (VM != vmath::None && Arity == 1) {
        vmath::apply(VM, a, d, nl, simd);
    } else if constexpr (VM != vmath::None) {
        vmath::apply(VM, a, b, d, nl, simd);
    } else if constexpr (Arity == 2) {
        binary(in, d, a, b, nl, f2);
    } else {
        unary(d, a, nl, f1);
    }
}

// ---- fused pairs: instruction i and i + 1, where i + 1 reads i's result t and both are
// arithmetic (Program::fusion decides): one lane loop with t in a register, t stored only where
// something after reads it. The same operations in the same order, so the same bits; it saves
// a pass over the lanes, a load and often a store (the interpreter is bound by them).

// An arithmetic primitive's scalar expression from the table.
template <Op ID>
struct Scalar2;
#define FC_PRIM(ID, code, name, kind, arity, imm, vm, domain, scalar, da, db, numpy, latex) \
    template <>                                                                          \
    struct Scalar2<Op::ID> {                                                             \
        static FASTCALC_INLINE double f(double a, double b) {                            \
            const std::int32_t n = 0;                                                    \
            (void)a, (void)b, (void)n;                                                   \
            return (scalar);                                                             \
        }                                                                                \
    };
#include <fastcalc/ops.def>

// Pos: where t enters i + 1 (0: its a, 1: its b); the other operand a slot or the constant.
// (No restrict: i + 1's destination may be one of i's operands' slots, read first lane by lane.)
template <Op O1, Op O2, bool ImmA1, bool ImmB1, int Pos, bool ImmO, bool Store>
FASTCALC_INLINE void pair_lanes(const Instr& x, const Instr& y, double* const* P, std::size_t nl) {
    double* d1 = P[x.d];
    double* d2 = P[y.d];
    const double* a1 = P[x.a];
    const double* b1 = P[x.b];
    const double* o = Pos == 0 ? P[y.b] : P[y.a];
    const double c1 = x.c, c2 = y.c;
#pragma GCC ivdep
    for (std::size_t j = 0; j < nl; ++j) {
        const double t = Scalar2<O1>::f(ImmA1 ? c1 : a1[j], ImmB1 ? c1 : b1[j]);
        if constexpr (Store) d1[j] = t;
        const double v = ImmO ? c2 : o[j];
        d2[j] = Pos == 0 ? Scalar2<O2>::f(t, v) : Scalar2<O2>::f(v, t);
    }
}

template <Op O1, Op O2, bool ImmA1, bool ImmB1>
FASTCALC_INLINE void pair_pos(const Instr& x, const Instr& y, double* const* P, std::size_t nl, bool store) {
    const bool pos0 = !(y.flags & kImmA) && y.a == x.d;
    const bool immo = pos0 ? (y.flags & kImmB) != 0 : (y.flags & kImmA) != 0;
    if (pos0) {
        if (immo) store ? pair_lanes<O1, O2, ImmA1, ImmB1, 0, true, true>(x, y, P, nl) : pair_lanes<O1, O2, ImmA1, ImmB1, 0, true, false>(x, y, P, nl);
        else store ? pair_lanes<O1, O2, ImmA1, ImmB1, 0, false, true>(x, y, P, nl) : pair_lanes<O1, O2, ImmA1, ImmB1, 0, false, false>(x, y, P, nl);
    } else {
        if (immo) store ? pair_lanes<O1, O2, ImmA1, ImmB1, 1, true, true>(x, y, P, nl) : pair_lanes<O1, O2, ImmA1, ImmB1, 1, true, false>(x, y, P, nl);
        else store ? pair_lanes<O1, O2, ImmA1, ImmB1, 1, false, true>(x, y, P, nl) : pair_lanes<O1, O2, ImmA1, ImmB1, 1, false, false>(x, y, P, nl);
    }
}

template <Op O1, Op O2>
FASTCALC_INLINE void pair_ops(const Instr& x, const Instr& y, double* const* P, std::size_t nl, bool store) {
    if (x.flags & kImmA) pair_pos<O1, O2, true, false>(x, y, P, nl, store);
    else if (x.flags & kImmB) pair_pos<O1, O2, false, true>(x, y, P, nl, store);
    else pair_pos<O1, O2, false, false>(x, y, P, nl, store);
}

// The operations a pair may have (Program::fusion checks membership with fusable()).
constexpr bool fusable(Op op) { return op == Op::ADD || op == Op::SUB || op == Op::MUL; }

template <Op O1>
FASTCALC_INLINE void pair_second(const Instr& x, const Instr& y, double* const* P, std::size_t nl, bool store) {
    switch (y.op) {
        case Op::ADD: return pair_ops<O1, Op::ADD>(x, y, P, nl, store);
        case Op::SUB: return pair_ops<O1, Op::SUB>(x, y, P, nl, store);
        case Op::MUL: return pair_ops<O1, Op::MUL>(x, y, P, nl, store);
        default: return;
    }
}

// One function per ISA (its own clones, not inlined into each of exec's lane counts: 216 loops).
FASTCALC_CLONES __attribute__((noinline)) void run_pair(const Instr& x, const Instr& y, double* const* P,
                                                        std::size_t nl, bool store) {
    switch (x.op) {
        case Op::ADD: return pair_second<Op::ADD>(x, y, P, nl, store);
        case Op::SUB: return pair_second<Op::SUB>(x, y, P, nl, store);
        case Op::MUL: return pair_second<Op::MUL>(x, y, P, nl, store);
        default: return;
    }
}

// One pass of the program over the first `lanes` points, slot k's values at P[k] (L > 0: a
// compile-time lane count). Inputs and results may live anywhere (a caller's columns, buffers
// swapped between steps): only the slots' addresses are read.
// fuse: Program::fusion's plan (kFusePair/kFuseKeep at the first instruction of a pair), or null.
template <std::size_t L>
FASTCALC_INLINE void exec(const Instr* code, std::size_t ncode, double* const* P, std::size_t lanes, bool simd,
                          const std::uint8_t* fuse) {
    const std::size_t nl = L ? L : lanes;
    for (std::size_t i = 0; i < ncode; ++i) {
        if (fuse && fuse[i]) {
            run_pair(code[i], code[i + 1], P, nl, fuse[i] == kFuseKeep);
            ++i;
            continue;
        }
        const Instr& in = code[i];
        double* __restrict d = P[in.d];
        const double* __restrict a = P[in.a];
        const double* __restrict b = P[in.b];
        const std::int32_t n = in.n;
        switch (in.op) {
#define FC_PRIM(ID, code, name, kind, arity, imm, vm, domain, scalar, da, db, numpy, latex)               \
    case Op::ID:                                                                                         \
        run_op<Op::ID, arity, vmath::vm>(                                                                \
            in, d, a, b, nl, simd, [n](double a) { const double b = 0.0; (void)a, (void)b, (void)n; return (scalar); }, \
            [n](double a, double b) { (void)a, (void)b, (void)n; return (scalar); });                    \
        break;
#include <fastcalc/ops.def>
            default:
                break;
        }
    }
}

}  // namespace prog
}  // namespace fastcalc
