#include "pybind.hpp"

#include "pycallback.hpp"

#include <fastcalc/kernel.hpp>
#include <fastcalc/ops.hpp>
#include <fastcalc/vmath.hpp>

#include <cstdint>
#include <string>
#include <vector>

using fastcalc_py::to_array;

namespace {

// Every primitive's scalar value as a plain function, for native code that must give the
// interpreter's bits on operations without a vector form (gamma, polygamma, ...).
template <fastcalc::Op O>
double scalar_op(double a, double b, std::int32_t n) {
    return fastcalc::eval_scalar(O, a, b, n);
}

py::array_t<double> results(std::size_t n_results, std::size_t N, std::vector<double*>& rows) {
    py::array_t<double> R({static_cast<py::ssize_t>(n_results), static_cast<py::ssize_t>(N)});
    rows.resize(n_results);
    for (std::size_t r = 0; r < n_results; ++r) rows[r] = R.mutable_data() + r * N;
    return R;
}

}  // namespace

void register_kernel(py::module_& m) {
    m.def(
        "native_functions",
        [](bool simd) {
            // name -> (width, address): what vmath's vector path calls, width 8/4 in vector
            // registers, 1 a scalar double(double[, double])
            py::dict vm;
            for (int i = 1; i < fastcalc::vmath::NumFn; ++i) {
                const auto f = static_cast<fastcalc::vmath::Fn>(i);
                const fastcalc::vmath::Kernel k = fastcalc::vmath::kernel(f, simd);
                vm[fastcalc::vmath::name(f)] = py::make_tuple(k.width, reinterpret_cast<std::uintptr_t>(k.fn));
            }
            py::dict ops;
#define FC_PRIM(ID, code, name, kind, arity, imm, vm, domain, scalar, da, db, numpy, latex) \
    ops[py::int_(code)] = reinterpret_cast<std::uintptr_t>(&scalar_op<fastcalc::Op::ID>);
#include <fastcalc/ops.def>
            py::dict out;
            out["vmath"] = vm;
            out["scalar_ops"] = ops;  // code -> double f(double a, double b, int32 n)
            return out;
        },
        py::arg("simd") = true, "Addresses of the functions native kernels call (internal).");
    m.def(
        "run_columns",
        [](std::uintptr_t addr, std::vector<darray> cols, int n_results, int threads) {
            if (!addr) throw py::value_error("no kernel");
            if (n_results < 1) throw py::value_error("n_results must be >= 1");
            const std::size_t N = cols.empty() ? 0 : static_cast<std::size_t>(cols[0].size());
            std::vector<const double*> X;
            for (const darray& c : cols) {
                if (c.ndim() != 1 || static_cast<std::size_t>(c.size()) != N)
                    throw py::value_error("columns must be 1-d arrays of one length");
                X.push_back(c.data());
            }
            std::vector<double*> R;
            auto out = results(static_cast<std::size_t>(n_results), N, R);
            fastcalc_py::PyInterrupt intr;
            {
                py::gil_scoped_release release;
                fastcalc::run_columns(reinterpret_cast<fastcalc::ColumnsKernel>(addr), X.data(), X.size(), N, R.data(),
                                      R.size(), threads, intr);
            }
            return out;
        },
        py::arg("addr"), py::arg("cols"), py::arg("n_results"), py::arg("threads") = 1,
        "A native columns kernel over 1-d columns: the results as (n_results, N) (internal).");
    m.def(
        "run_rows",
        [](std::uintptr_t addr, darray X, int n_inputs, int n_results, int threads) {
            if (!addr) throw py::value_error("no kernel");
            if (n_results < 1) throw py::value_error("n_results must be >= 1");
            if (X.ndim() != 2) throw py::value_error("X must be a matrix (N, n_inputs)");
            if (n_inputs < 0 || X.shape(1) < n_inputs)
                throw py::value_error("X has " + std::to_string(X.shape(1)) + " columns; the kernel reads " +
                                      std::to_string(n_inputs));
            const std::size_t N = static_cast<std::size_t>(X.shape(0)), ld = static_cast<std::size_t>(X.shape(1));
            std::vector<double*> R;
            auto out = results(static_cast<std::size_t>(n_results), N, R);
            fastcalc_py::PyInterrupt intr;
            {
                py::gil_scoped_release release;
                fastcalc::run_rows(reinterpret_cast<fastcalc::ColumnsKernel>(addr), X.data(), ld,
                                   static_cast<std::size_t>(n_inputs), N, R.data(), R.size(), threads, intr);
            }
            return out;
        },
        py::arg("addr"), py::arg("X"), py::arg("n_inputs"), py::arg("n_results"), py::arg("threads") = 1,
        "A native columns kernel over a row-major matrix (N, n_inputs or more), by pieces transposed (internal).");
}
