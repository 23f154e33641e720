// The expression tape: the arrays of an expression DAG (common subexpressions shared; layout in
// python/fastcalc/expressions/compile.py), evaluated over batches of points by the Programs
// compiled from it (program.hpp): values, reverse-mode gradients and Jacobians, directional
// derivatives, Hessians (dense for few variables, else Hessian-vector products with the
// directions across the lanes and the sparsity the program shows) and Hessian-vector products.
#pragma once

#include <fastcalc/function.hpp>
#include <fastcalc/ops.hpp>
#include <fastcalc/program.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace fastcalc {

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
    bool simd = true;      // vectorized math (libmvec) when available; false: the scalar C library
    bool parallel = true;  // OpenMP across blocks for large batches, when built with it
};

class Tape {
public:
    // ops (n), args (n x 2, -1 when unused), consts (n); every operand precedes its use.
    // Validated (validate_tape): a bad tape throws invalid_argument naming the instruction.
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
    void eval(const double* X, std::size_t N, double* Y, const TapeOptions& o = {},
              const Interrupt& intr = Interrupt()) const {
        eval(TapeInput::rows(X, n_vars_), N, Y, o, intr);
    }
    void eval(const TapeInput& in, std::size_t N, double* Y, const TapeOptions& o = {},
              const Interrupt& intr = Interrupt()) const;
    // Reverse mode: Y (N, n_out) and G (N, n_out, n_vars)
    void gradient(const double* X, std::size_t N, double* Y, double* G, const TapeOptions& o = {},
                  const Interrupt& intr = Interrupt()) const {
        gradient(TapeInput::rows(X, n_vars_), N, Y, G, o, intr);
    }
    void gradient(const TapeInput& in, std::size_t N, double* Y, double* G, const TapeOptions& o = {},
                  const Interrupt& intr = Interrupt()) const {
        gradient(in, N, Y, G, GradLayout::rows(outputs_.size(), static_cast<std::size_t>(n_vars_)), o, intr);
    }
    void gradient(const TapeInput& in, std::size_t N, double* Y, double* G, const GradLayout& layout,
                  const TapeOptions& o = {}, const Interrupt& intr = Interrupt()) const;
    // Forward mode: Y (N, n_out) and JV (N, n_out), the derivative along V (N, n_vars)
    void jvp(const double* X, const double* V, std::size_t N, double* Y, double* JV, const TapeOptions& o = {},
             const Interrupt& intr = Interrupt()) const;
    // H (N, n_out, n_vars, n_vars). `zeroed`: H is already zero-filled, so only entries that
    // may be nonzero are written (a sparse Hessian then touches a fraction of H's pages).
    void hessian(const double* X, std::size_t N, double* H, const TapeOptions& o = {},
                 const Interrupt& intr = Interrupt(), bool zeroed = false) const;
    // Hessian-vector products: HV (N, n_out, n_vars) = H V
    void hvp(const double* X, const double* V, std::size_t N, double* HV, const TapeOptions& o = {},
             const Interrupt& intr = Interrupt()) const;

    // The programs behind the methods (built on first use, then shared by every thread).
    const Program& value_program() const { return *values_; }
    const Program& gradient_program() const;
    const Program& jvp_program() const;
    const Program& hessian_program() const;  // dense second derivatives (few variables)
    const Program& hvp_program() const;      // H v with v the inputs after the variables
    // The Hessian's structure, union over outputs: for each variable j its colour, and for
    // each row i the columns that may be nonzero; columns of one colour share no row.
    struct Pattern {
        std::vector<std::vector<int>> rows;
        std::vector<int> colour;
        int n_colours = 0;
    };
    const Pattern& hessian_pattern() const;

    // Dense second-derivative programs are built up to this many variables.
    static constexpr int kDenseHessianVars = 12;

private:
    std::vector<std::int32_t> ops_, args_, outputs_;
    std::vector<double> consts_;
    int n_vars_;
    std::unique_ptr<Program> values_;

public:
    struct Lazy;  // (the implementation's: the other programs, built once, and reused scratch)

private:
    std::shared_ptr<Lazy> lazy_;
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
