// Private: the scalar semantics of each opcode and the block interpreter of Program. Inlined into
// the callers' ISA-specific clones (FASTCALC_CLONES) so the lane loops get the widest SIMD.
#pragma once

#include <fastcalc/program.hpp>

#include <cmath>
#include <cstddef>

#include "clones.hpp"

namespace fastcalc {
namespace prog {

// Opcodes 0..22 are the tape's (TAPE_SPEC.md); SIGN is ours (the derivative of ABS).
enum Op : std::uint8_t {
    CONST, VAR, ADD, SUB, MUL, DIV, NEG, POW, POWI, EXP, LOG, SIN, COS, TAN, ASIN, ACOS, ATAN,
    SINH, COSH, TANH, SQRT, ABS, SIGMOID, SIGN, N_OPS
};

FASTCALC_INLINE double powi(double x, int n) {
    if (n == 2) return x * x;  // the common case, bit-identical to NumPy's x**2
    const bool inv = n < 0;
    unsigned m = inv ? 0u - static_cast<unsigned>(n) : static_cast<unsigned>(n);
    double r = 1.0, p = x;
    bool first = true;
    while (m) {
        if (m & 1u) r = first ? p : r * p, first = false;
        m >>= 1;
        if (m) p = p * p;
    }
    return inv ? 1.0 / r : r;
}

FASTCALC_INLINE double sigmoid(double a) {
    if (a >= 0) return 1.0 / (1.0 + std::exp(-a));
    const double e = std::exp(a);
    return e / (1.0 + e);
}

FASTCALC_INLINE double unary(std::uint8_t op, double a) {
    switch (op) {
        case NEG: return -a;
        case EXP: return std::exp(a);
        case LOG: return std::log(a);
        case SIN: return std::sin(a);
        case COS: return std::cos(a);
        case TAN: return std::tan(a);
        case ASIN: return std::asin(a);
        case ACOS: return std::acos(a);
        case ATAN: return std::atan(a);
        case SINH: return std::sinh(a);
        case COSH: return std::cosh(a);
        case TANH: return std::tanh(a);
        case SQRT: return std::sqrt(a);
        case ABS: return std::fabs(a);
        case SIGMOID: return sigmoid(a);
        case SIGN: return a > 0 ? 1.0 : (a < 0 ? -1.0 : (a == a ? 0.0 : a));
        default: return std::nan("");
    }
}

FASTCALC_INLINE double apply(std::uint8_t op, int n, double a, double b) {
    switch (op) {
        case ADD: return a + b;
        case SUB: return a - b;
        case MUL: return a * b;
        case DIV: return a / b;
        case POW: return std::pow(a, b);
        case POWI: return powi(a, n);
        default: return unary(op, a);
    }
}

// One pass of the program over `lanes` points (L > 0: a compile-time lane count).
template <std::size_t L>
FASTCALC_INLINE void exec(const Program::Instr* code, std::size_t ncode, double* S, std::size_t lanes) {
    const std::size_t nl = L ? L : lanes;
    for (std::size_t i = 0; i < ncode; ++i) {
        const Program::Instr& in = code[i];
        double* __restrict d = S + in.d * nl;
        const double* __restrict a = S + in.a * nl;
        const double* __restrict b = S + in.b * nl;
        switch (in.op) {
            case ADD: for (std::size_t j = 0; j < nl; ++j) d[j] = a[j] + b[j]; break;
            case SUB: for (std::size_t j = 0; j < nl; ++j) d[j] = a[j] - b[j]; break;
            case MUL: for (std::size_t j = 0; j < nl; ++j) d[j] = a[j] * b[j]; break;
            case DIV: for (std::size_t j = 0; j < nl; ++j) d[j] = a[j] / b[j]; break;
            case NEG: for (std::size_t j = 0; j < nl; ++j) d[j] = -a[j]; break;
            case SQRT: for (std::size_t j = 0; j < nl; ++j) d[j] = std::sqrt(a[j]); break;
            case ABS: for (std::size_t j = 0; j < nl; ++j) d[j] = std::fabs(a[j]); break;
            case POWI:
                if (in.n == 2) {
                    for (std::size_t j = 0; j < nl; ++j) d[j] = a[j] * a[j];
                } else if (in.n == 3) {
                    for (std::size_t j = 0; j < nl; ++j) d[j] = a[j] * (a[j] * a[j]);  // as powi(a, 3)
                } else {
                    for (std::size_t j = 0; j < nl; ++j) d[j] = powi(a[j], in.n);
                }
                break;
            case POW: for (std::size_t j = 0; j < nl; ++j) d[j] = std::pow(a[j], b[j]); break;
            default: {
                const std::uint8_t op = in.op;
                for (std::size_t j = 0; j < nl; ++j) d[j] = unary(op, a[j]);
            }
        }
    }
}

}  // namespace prog
}  // namespace fastcalc
