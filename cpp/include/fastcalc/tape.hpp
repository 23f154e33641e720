// The expression tape: a straight-line program compiled from an expression DAG (common
// subexpressions shared), evaluated over batches of points in cache-sized blocks. The same tape
// gives values, forward-mode directional derivatives, reverse-mode gradients and Hessians
// (forward over reverse). Layout of the arrays: see python/fastcalc/expressions/compile.py.
#pragma once

#include <fastcalc/function.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace fastcalc {

enum class Op : std::int32_t {
    Const = 0, Var, Add, Sub, Mul, Div, Neg, Pow, PowI, Exp, Log, Sin, Cos, Tan, Asin, Acos, Atan,
    Sinh, Cosh, Tanh, Sqrt, Abs, Sigmoid,
    Count
};

// Where the variables' values are: variable k of point p is cols[k][p * stride]. Row-major X
// (N, n_vars) is cols[k] = X + k with stride n_vars; separate arrays have stride 1.
struct TapeInput {
    std::vector<const double*> cols;
    std::size_t stride = 1;
    static TapeInput rows(const double* X, int n_vars) {
        TapeInput in;
        for (int k = 0; k < n_vars; ++k) in.cols.push_back(X + k);
        in.stride = static_cast<std::size_t>(n_vars);
        return in;
    }
};

// Where Tape::gradient writes output k at point p (Y[p * y_point + k * y_output]) and its derivative
// with respect to variable j (G[p * g_point + k * g_output + j * g_var]).
struct GradLayout {
    std::size_t y_point, y_output, g_point, g_output, g_var;
    // Y (N, m) and G (N, m, n_vars), C order
    static GradLayout rows(std::size_t m, std::size_t n_vars) { return {m, 1, m * n_vars, n_vars, 1}; }
    // Y (N, m) and G (N, m, n_vars), Fortran order: each column contiguous
    static GradLayout columns(std::size_t N, std::size_t m) { return {1, N, 1, N, N * m}; }
};

// The threads a parallel batch uses: OpenMP's default (OMP_NUM_THREADS, else the cores); 1 when
// built without OpenMP.
int parallel_threads();

struct TapeOptions {
    bool simd = true;  // vectorized math (libmvec) when available; false: the scalar C library
    bool parallel = true;  // OpenMP across blocks for large batches, when built with it
};

class Tape {
public:
    // ops (n), args (n x 2, -1 when unused), consts (n); every operand precedes its use.
    Tape(std::vector<std::int32_t> ops, std::vector<std::int32_t> args, std::vector<double> consts, int n_vars,
         std::vector<std::int32_t> outputs);

    int n_vars() const { return n_vars_; }
    int n_outputs() const { return static_cast<int>(outputs_.size()); }
    std::size_t size() const { return ops_.size(); }
    const std::vector<std::int32_t>& ops() const { return ops_; }
    const std::vector<std::int32_t>& args() const { return args_; }
    const std::vector<double>& consts() const { return consts_; }
    const std::vector<std::int32_t>& outputs() const { return outputs_; }

    // X (N, n_vars) -> Y (N, n_out)
    void eval(const double* X, std::size_t N, double* Y, const TapeOptions& o = {}) const {
        eval(TapeInput::rows(X, n_vars_), N, Y, o);
    }
    void eval(const TapeInput& in, std::size_t N, double* Y, const TapeOptions& o = {}) const;
    // Reverse mode: Y (N, n_out) and G (N, n_out, n_vars)
    void gradient(const double* X, std::size_t N, double* Y, double* G, const TapeOptions& o = {}) const {
        gradient(TapeInput::rows(X, n_vars_), N, Y, G, o);
    }
    void gradient(const TapeInput& in, std::size_t N, double* Y, double* G, const TapeOptions& o = {}) const {
        gradient(in, N, Y, G, GradLayout::rows(outputs_.size(), static_cast<std::size_t>(n_vars_)), o);
    }
    void gradient(const TapeInput& in, std::size_t N, double* Y, double* G, const GradLayout& layout,
                  const TapeOptions& o = {}) const;
    // Forward mode: Y (N, n_out) and JV (N, n_out), the derivative along V (N, n_vars)
    void jvp(const double* X, const double* V, std::size_t N, double* Y, double* JV, const TapeOptions& o = {}) const;
    // H (N, n_out, n_vars, n_vars), forward over reverse
    void hessian(const double* X, std::size_t N, double* H, const TapeOptions& o = {}) const;
    // Hessian-vector products: HV (N, n_out, n_vars) = H V, one forward-over-reverse pass
    void hvp(const double* X, const double* V, std::size_t N, double* HV, const TapeOptions& o = {}) const;

private:
    void second_order(const double* X, const double* V, std::size_t N, double* H, const TapeOptions& o) const;
    template <class Body>
    void for_blocks(std::size_t N, const TapeOptions& o, Body body) const;

    std::vector<std::int32_t> ops_, args_, outputs_;
    std::vector<double> consts_;
    std::vector<unsigned char> active_;  // slot depends on a variable (derivatives flow through it)
    int n_vars_;
};

// A tape as a BatchFunction, so that the finite-difference kernels run on it with no Python.
class TapeFunction final : public BatchFunction {
public:
    explicit TapeFunction(std::shared_ptr<const Tape> t) : t_(std::move(t)) {}
    void eval(const double* X, std::size_t count, double* Y) const override {
        TapeOptions o;
        o.parallel = false;  // the kernels call it from their own loops
        t_->eval(X, count, Y, o);
    }
    std::size_t in_dim() const override { return static_cast<std::size_t>(t_->n_vars()); }
    std::size_t out_dim() const override { return static_cast<std::size_t>(t_->n_outputs()); }

private:
    std::shared_ptr<const Tape> t_;
};

}  // namespace fastcalc
