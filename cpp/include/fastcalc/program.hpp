// A scalar expression tape (the format of TAPE_SPEC.md) compiled once into a straight-line
// program that also computes its gradient (and optionally Hessian) by symbolic reverse mode,
// simplified and with slots reused, so that it runs over a block of points held in SoA layout
// (slot-major, `lanes` points per slot) small enough to stay in L1. Descent's fast path.
#pragma once

#include <fastcalc/function.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fastcalc {

class Program {
public:
    // order 0: value; 1: value and gradient; 2: also the Hessian (row-major d x d).
    // `wrt`: the inputs to differentiate (empty: all n_vars). Only n_out == 1 tapes.
    Program(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
            const std::vector<double>& consts, int n_vars, const std::vector<std::int32_t>& outputs,
            int order, std::vector<int> wrt = {});

    int n_vars() const { return n_vars_; }
    int n_wrt() const { return static_cast<int>(wrt_.size()); }
    const std::vector<int>& wrt() const { return wrt_; }
    // Outputs: value, then n_wrt gradient entries, then n_wrt^2 Hessian entries (by order).
    int n_results() const { return static_cast<int>(result_slot_.size()); }
    std::size_t n_slots() const { return n_slots_; }
    std::size_t n_instructions() const { return code_.size(); }
    struct Instr;
    const std::vector<Instr>& code() const { return code_; }

    // S: n_slots() * lanes doubles. Before run(): inputs in slots [0, n_vars) (init_block() once
    // fills the constants). Results are read with result(r).
    void init_block(double* S, std::size_t lanes) const;
    void run(double* S, std::size_t lanes) const;
    std::size_t result_slot(int r) const { return result_slot_[static_cast<std::size_t>(r)]; }
    const std::vector<std::pair<std::uint32_t, double>>& constants() const { return consts_; }

    // A copy whose code computes only the gradient (result 0, the value, is then not computed).
    Program gradient_only() const;

    // X (count, n_vars) row-major -> R (count, n_results()).
    void eval(const double* X, std::size_t count, double* R) const;

    struct Instr {
        std::uint8_t op;
        std::int32_t n;  // POWI exponent
        std::uint32_t d, a, b;
    };

private:
    int n_vars_;
    std::vector<int> wrt_;
    std::vector<Instr> code_;
    std::vector<std::pair<std::uint32_t, double>> consts_;  // (slot, value)
    std::vector<std::size_t> result_slot_;
    std::size_t n_slots_ = 0;
};

}  // namespace fastcalc
