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

// One pass of the program over the first `lanes` points, slot k's values at P[k] (L > 0: a
// compile-time lane count). Inputs and results may live anywhere (a caller's columns, buffers
// swapped between steps): only the slots' addresses are read.
template <std::size_t L>
FASTCALC_INLINE void exec(const Instr* code, std::size_t ncode, double* const* P, std::size_t lanes, bool simd) {
    const std::size_t nl = L ? L : lanes;
    for (std::size_t i = 0; i < ncode; ++i) {
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
