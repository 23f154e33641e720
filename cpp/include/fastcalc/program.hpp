// A tape (the arrays of python/fastcalc/expressions/compile.py) compiled into a straight-line
// program over slots: its values and, by symbolic reverse mode on the expression DAG with the
// table's derivative rules (ops.def), its first and second derivatives or their products with a
// direction. Common subexpressions are shared, constants folded, only IEEE-exact simplifications
// applied, and slots reused, so that the program runs over a block of points in SoA layout
// (slot-major, `lanes` points per slot) small enough to stay in L1. Every evaluation of an
// expression (values, gradients, Hessians, descent's steps) runs a Program, in the interpreter
// (run()) or as native code generated from code() (fastcalc/_jit.py).
#pragma once

#include <fastcalc/ops.hpp>
#include <fastcalc/optimizer.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace fastcalc {

// One instruction: S[d] = op(S[a], S[b]) lane by lane, with the immediate n (powi's exponent,
// polygamma's order). With kImmA or kImmB the operand is the constant c instead of a slot.
struct Instr {
    Op op;
    std::uint8_t flags;
    std::int32_t n;
    std::uint32_t d, a, b;
    double c;
};
constexpr std::uint8_t kImmA = 1, kImmB = 2;
// The interpreter's plan for an instruction (Program::fusion): the first of a fused pair whose
// first result is read only by the second (kFusePair) or also later or as a result (kFuseKeep).
constexpr std::uint8_t kFusePair = 1, kFuseKeep = 2;

// What a program computes, for each of the tape's m outputs.
struct ProgramSpec {
    int order = 0;             // 0: values; 1: and first derivatives; 2: and second derivatives
    std::vector<int> wrt;      // the variables differentiated (empty: all)
    bool directional = false;  // derivatives along a direction v (inputs after the variables, one per wrt)
    bool values = true;        // the outputs' values are results
};

class Program {
public:
    // Results, in this order: the m values (spec.values); then
    //   order >= 1, not directional: m x n_wrt first derivatives (output-major)
    //   order 2, not directional:    m x n_wrt x n_wrt second derivatives
    //   order 1, directional:        m directional derivatives J v
    //   order 2, directional:        m x n_wrt entries of H v
    Program(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
            const std::vector<double>& consts, int n_vars, const std::vector<std::int32_t>& outputs,
            const ProgramSpec& spec);
    // Descent's form: the value, the gradient (order >= 1) and the Hessian (order 2) of a scalar tape.
    Program(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
            const std::vector<double>& consts, int n_vars, const std::vector<std::int32_t>& outputs,
            int order, std::vector<int> wrt = {});

    int n_vars() const { return n_vars_; }
    int n_inputs() const { return n_inputs_; }
    int n_outputs() const { return n_outputs_; }
    int n_wrt() const { return static_cast<int>(wrt_.size()); }
    const std::vector<int>& wrt() const { return wrt_; }
    const ProgramSpec& spec() const { return spec_; }
    int n_results() const { return static_cast<int>(result_slot_.size()); }
    std::size_t n_slots() const { return n_slots_; }
    std::size_t n_instructions() const { return code_.size(); }
    const std::vector<Instr>& code() const { return code_; }

    // S: n_slots() * lanes doubles. Before run(): inputs in slots [0, n_inputs) (init_block()
    // once fills the constants' slots). Results are read from slots result_slot(r).
    void init_block(double* S, std::size_t lanes) const;
    void run(double* S, std::size_t lanes, bool simd = true) const;
    // The first `lanes` points of slots `stride` points apart.
    void run(double* S, std::size_t stride, std::size_t lanes, bool simd) const;
    // The first `lanes` points, slot k's values at P[k] (n_slots() pointers; constants' slots
    // filled as init_block does, inputs given, the rest scratch of `lanes` values).
    void run_slots(double* const* P, std::size_t lanes, bool simd = true) const;
    std::size_t result_slot(int r) const { return result_slot_[static_cast<std::size_t>(r)]; }
    // The slots that hold constants (filled by init_block), with their values.
    const std::vector<std::pair<std::uint32_t, double>>& constants() const { return consts_; }

    // A copy computing only results [first, n_results) (results before `first` are dropped,
    // with the instructions only they need).
    Program tail(int first) const;

    // X (count, n_inputs) row-major -> R (count, n_results()).
    void eval(const double* X, std::size_t count, double* R, bool simd = true) const;

    // For each result, the inputs it may depend on (structurally), as sorted indices.
    std::vector<std::vector<int>> dependencies() const;

    // One step of gradient descent as a program, from this one (the value and gradient of one
    // output in all its n variables): the gradient's instructions, then the optimizer's step
    // (optimizer.hpp's step_rule, built with the same operations) and descent's stop rule.
    //   inputs:  x (n), s1 (n) unless gd, s2 (n) for adam, lr, lim, then c1 and c2 for adam
    //   results: x' (n), s1' (n) unless gd, s2' (n) for adam, and the stop code of x (0, 1, 2
    //            as stop_code at a step that is not the last)
    // Descent's native code runs it; its interpreter runs the gradient's instructions (tail(1))
    // and then the same step_rule and stop_code in one lane loop (descent.cpp, step_stop): the
    // same operations, so the same bits (tests/test_jit.py compares them for every optimizer).
    Program descent_step(const StepParams& p, double tol2) const;
    // The state vectors a step program carries for a method: 1 (x), 2 (x, s1) or 3 (x, s1, s2).
    static int step_states(DescentMethod m) {
        return m == DescentMethod::GD ? 1 : (m == DescentMethod::Adam ? 3 : 2);
    }

private:
    Program() = default;
    template <class B>
    void allocate(const B& builder, const std::vector<int>& roots);
    void build(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
               const std::vector<double>& consts, const std::vector<std::int32_t>& outputs);

    int n_vars_ = 0, n_inputs_ = 0, n_outputs_ = 0;
    ProgramSpec spec_;
    std::vector<int> wrt_;
    std::vector<Instr> code_;
    std::vector<std::uint8_t> fuse_;  // the interpreter's fused pairs (fusion()), one entry per instruction
    void fusion();
    std::vector<std::pair<std::uint32_t, double>> consts_;  // (slot, value)
    std::vector<std::size_t> result_slot_;
    std::size_t n_slots_ = 0;
};

// Checks tape arrays (codes, operands before their use, variable indices, immediates, outputs);
// throws invalid_argument naming the instruction otherwise.
void validate_tape(const std::vector<std::int32_t>& ops, const std::vector<std::int32_t>& args,
                   const std::vector<double>& consts, int n_vars, const std::vector<std::int32_t>& outputs);

}  // namespace fastcalc
