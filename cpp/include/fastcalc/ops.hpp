// The operations of tapes and programs, derived from the one table (ops.def): the opcode enum,
// what each operation is (arity, immediate, domain, derivative rules), and its scalar value.
#pragma once

#include <fastcalc/vmath.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace fastcalc {

enum class Op : std::uint8_t {
#define FC_PRIM(ID, code, name, kind, arity, imm, vm, domain, scalar, da, db, numpy, latex) ID = code,
#include <fastcalc/ops.def>
    Count
};

constexpr int kNumOps = static_cast<int>(Op::Count);

// What the table says of a primitive (strings are the table's literals).
struct OpInfo {
    Op op;
    const char* name;
    bool function;   // kind fn: a function of the expression language
    int arity;
    bool imm;        // carries an integer immediate n
    vmath::Fn vm;    // evaluated over arrays by this vmath function (None: the scalar expression)
    bool total;      // finite for every finite operand
    const char* da;
    const char* db;
    const char* numpy;
    const char* latex;
};

// A function of the expression language defined by primitives.
struct FuncInfo {
    const char* name;
    int arity;
    const char* definition;
    const char* da;
    const char* db;
    const char* numpy;
    const char* latex;
};

namespace detail {
constexpr OpInfo kOpInfo[] = {
#define FC_PRIM(ID, code, name, kind, arity, imm, vm, domain, scalar, da, db, numpy, latex) \
    {Op::ID, name, #kind[0] == 'f', arity, imm != 0, vmath::vm, #domain[0] == 't', da, db, numpy, latex},
#include <fastcalc/ops.def>
};
constexpr FuncInfo kFuncInfo[] = {
#define FC_FUNC(name, arity, definition, da, db, numpy, latex) {name, arity, definition, da, db, numpy, latex},
#include <fastcalc/ops.def>
};
constexpr bool codes_are_dense() {
    for (int i = 0; i < kNumOps; ++i)
        if (static_cast<int>(kOpInfo[i].op) != i) return false;
    return true;
}
static_assert(sizeof(kOpInfo) / sizeof(kOpInfo[0]) == kNumOps, "ops.def: one row per opcode");
static_assert(codes_are_dense(), "ops.def: codes must be 0, 1, 2, ... in table order");
}  // namespace detail

inline const OpInfo& info(Op op) { return detail::kOpInfo[static_cast<int>(op)]; }
constexpr std::size_t kNumFuncs = sizeof(detail::kFuncInfo) / sizeof(detail::kFuncInfo[0]);
inline const FuncInfo& func_info(std::size_t i) { return detail::kFuncInfo[i]; }
inline bool valid_op(int code) { return code >= 0 && code < kNumOps; }

// The range of integer immediates an instruction may carry (powi's exponent, polygamma's order):
// beyond it repeated squaring overflows or underflows anyway, and the interpreters' integer
// arithmetic on n (n - 1, -n) stays defined.
constexpr std::int32_t kMaxPowi = 1 << 30;
constexpr std::int32_t kMaxPolygamma = 64;

namespace ops {

// x**n by repeated squaring (what x*x*...*x gives for small n; bit-identical to NumPy's x**2).
inline double powi(double x, std::int32_t n) {
    if (n == 2) return x * x;
    const bool inv = n < 0;
    std::uint32_t m = inv ? 0u - static_cast<std::uint32_t>(n) : static_cast<std::uint32_t>(n);
    double r = 1.0, p = x;
    bool first = true;
    while (m) {
        if (m & 1u) r = first ? p : r * p, first = false;
        m >>= 1;
        if (m) p = p * p;
    }
    return inv ? 1.0 / r : r;
}

// 1/(1+exp(-a)) for a >= 0, exp(a)/(1+exp(a)) otherwise: never overflows.
inline double sigmoid(double a) {
    const double e = std::exp(-std::fabs(a));
    return a >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

// tanh|a| = t / (t + 2) with t = expm1(2|a|), |a| capped at 20 (tanh rounds to 1 beyond 19.1).
// The scalar path only: vmath's vector tanh has its own rational and exp (both within 2 ulp).
inline double tanh(double a) {
    const double x = std::fabs(a);
    const double t = std::expm1(2.0 * (20.0 < x ? 20.0 : x));
    return std::copysign(t / (t + 2.0), a);
}

inline double sign(double a) { return a > 0 ? 1.0 : (a < 0 ? -1.0 : (a == a ? 0.0 : a)); }

// log|Gamma(a)|, without the global `signgam` that std::lgamma may set (thread safety).
double lgamma(double a);

// The polygamma function psi^(n)(a) (n = 0: digamma), n >= 0.
double polygamma(std::int32_t n, double a);

}  // namespace ops

// The scalar value of a primitive (CONST and VAR have none: 0).
inline double eval_scalar(Op op, double a, double b, std::int32_t n) {
    (void)a, (void)b, (void)n;
    switch (op) {
#define FC_PRIM(ID, code, name, kind, arity, imm, vm, domain, scalar, da, db, numpy, latex) \
    case Op::ID: return (scalar);
#include <fastcalc/ops.def>
        default: return std::nan("");
    }
}

}  // namespace fastcalc
