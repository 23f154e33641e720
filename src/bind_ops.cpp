#include "pybind.hpp"

#include <fastcalc/ops.hpp>
#include <fastcalc/rules.hpp>

// The table of operations (cpp/include/fastcalc/ops.def) for the Python side: the parser, the
// printer, symbolic differentiation, the compiler to tapes, the NumPy reference and the native
// code generator all read it from here.
void register_ops(py::module_& m) {
    m.def(
        "op_table",
        [] {
            py::list prims, funcs;
            for (int k = 0; k < fastcalc::kNumOps; ++k) {
                const fastcalc::OpInfo& i = fastcalc::info(static_cast<fastcalc::Op>(k));
                fastcalc::rules::rule(i.op, 0);  // every rule parses (throws on a malformed table)
                py::dict d;
                d["code"] = k;
                d["name"] = i.name;
                d["function"] = i.function;
                d["arity"] = i.arity;
                d["imm"] = i.imm;
                d["vectorized"] = i.vm != fastcalc::vmath::None;
                d["vmath"] = fastcalc::vmath::name(i.vm);  // the native_functions() entry it calls
                d["total"] = i.total;
                d["da"] = i.da;
                d["db"] = i.db;
                d["numpy"] = i.numpy;
                d["latex"] = i.latex;
                prims.append(d);
            }
            for (std::size_t k = 0; k < fastcalc::kNumFuncs; ++k) {
                const fastcalc::FuncInfo& f = fastcalc::func_info(k);
                py::dict d;
                d["name"] = f.name;
                d["arity"] = f.arity;
                d["definition"] = f.definition;
                d["da"] = f.da;
                d["db"] = f.db;
                d["numpy"] = f.numpy;
                d["latex"] = f.latex;
                funcs.append(d);
            }
            py::dict out;
            out["primitives"] = prims;
            out["functions"] = funcs;
            out["max_powi"] = fastcalc::kMaxPowi;
            out["max_polygamma"] = fastcalc::kMaxPolygamma;
            return out;
        },
        "The table of operations (ops.def): primitives (opcodes) and the functions defined by them.");
    m.def(
        "eval_op",
        [](int code, double a, double b, std::int32_t n) {
            if (!fastcalc::valid_op(code)) throw py::value_error("unknown opcode " + std::to_string(code));
            return fastcalc::eval_scalar(static_cast<fastcalc::Op>(code), a, b, n);
        },
        py::arg("code"), py::arg("a"), py::arg("b") = 0.0, py::arg("n") = 0,
        "The scalar value of one primitive (the table's C++ expression), for tests.");
}
