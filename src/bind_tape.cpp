#include "pybind.hpp"

#include "pycallback.hpp"

#include <fastcalc/tape.hpp>
#include <fastcalc/vmath.hpp>

#include <limits>
#include <string>
#include <vector>

using fastcalc::Tape;
using fastcalc::TapeOptions;
using fastcalc_py::to_array;

namespace {


std::vector<std::int32_t> ivec(const iarray& a) { return std::vector<std::int32_t>(a.data(), a.data() + a.size()); }

std::shared_ptr<Tape> make_tape(const iarray& ops, const iarray& args, const darray& consts, int n_vars,
                                const iarray& outputs) {
    if (args.size() != 2 * ops.size()) throw py::value_error("tape: args must have shape (n_instr, 2)");
    return std::make_shared<Tape>(ivec(ops), ivec(args), std::vector<double>(consts.data(), consts.data() + consts.size()),
                                  n_vars, ivec(outputs));
}

// X must be (N, n_vars); returns N.
std::size_t rows(const Tape& t, const darray& X, const char* name = "X") {
    if (X.ndim() != 2 || X.shape(1) != t.n_vars())
        throw py::value_error(std::string(name) + " must have shape (N, " + std::to_string(t.n_vars()) + "), got ndim " +
                              std::to_string(X.ndim()) + (X.ndim() == 2 ? " with " + std::to_string(X.shape(1)) + " columns" : ""));
    return static_cast<std::size_t>(X.shape(0));
}

std::pair<fastcalc::TapeInput, std::size_t> columns(const Tape& t, const std::vector<darray>& cols) {
    if (static_cast<int>(cols.size()) != t.n_vars())
        throw py::value_error("expected " + std::to_string(t.n_vars()) + " columns, got " + std::to_string(cols.size()));
    fastcalc::TapeInput in;
    std::size_t N = cols.empty() ? 1 : static_cast<std::size_t>(cols[0].size());
    for (const darray& c : cols) {
        if (c.ndim() != 1 || static_cast<std::size_t>(c.size()) != N)
            throw py::value_error("columns must be 1-d arrays of one length");
        in.cols.push_back(c.data());
    }
    return {in, N};
}

// An output array NumPy allocates without zeroing; C++ fills it with the GIL released.
py::array_t<double> empty(std::vector<py::ssize_t> shape) { return py::array_t<double>(shape); }

TapeOptions opts(bool simd) {
    TapeOptions o;
    o.simd = simd;
    return o;
}

// The product of dimensions of an output array, refused when it overflows.
py::ssize_t checked(std::initializer_list<std::size_t> dims) {
    std::size_t p = 1;
    for (std::size_t d : dims) {
        if (d != 0 && p > static_cast<std::size_t>(std::numeric_limits<py::ssize_t>::max()) / d)
            throw py::value_error("the result would be too large to allocate");
        p *= d;
    }
    return static_cast<py::ssize_t>(p);
}

}  // namespace

void register_tape(py::module_& m) {
    m.def("parallel_threads", &fastcalc::parallel_threads,
          "Threads a parallel batch uses: OpenMP's default (OMP_NUM_THREADS), 1 without OpenMP.");
    m.def("simd_available", &fastcalc::vmath::simd_available,
          "Whether the vectorized math library (glibc libmvec, AVX2) is used on this machine.");

    py::class_<Tape, std::shared_ptr<Tape>>(m, "Tape", "A compiled expression: see fastcalc.expressions.")
        .def(py::init(&make_tape), py::arg("ops"), py::arg("args"), py::arg("consts"), py::arg("n_vars"),
             py::arg("outputs"))
        .def_property_readonly("n_vars", &Tape::n_vars)
        .def_property_readonly("n_outputs", &Tape::n_outputs)
        .def_property_readonly("ops", [](const Tape& t) { return py::array_t<std::int32_t>(t.ops().size(), t.ops().data()); })
        .def_property_readonly("args", [](const Tape& t) {
            return py::array_t<std::int32_t>({static_cast<py::ssize_t>(t.size()), py::ssize_t(2)}, t.args().data());
        })
        .def_property_readonly("consts", [](const Tape& t) { return py::array_t<double>(t.consts().size(), t.consts().data()); })
        .def_property_readonly("outputs",
                               [](const Tape& t) { return py::array_t<std::int32_t>(t.outputs().size(), t.outputs().data()); })
        .def("__len__", &Tape::size)
        .def(
            "eval",
            [](const Tape& t, darray X, bool simd) {
                const std::size_t N = rows(t, X);
                auto Y = empty({static_cast<py::ssize_t>(N), t.n_outputs()});
                double* y = Y.mutable_data();
                fastcalc_py::PyInterrupt intr;
                {
                    py::gil_scoped_release release;
                    t.eval(X.data(), N, y, opts(simd), intr);
                }
                return Y;
            },
            py::arg("X"), py::arg("simd") = true)
        .def(
            "gradient",
            [](const Tape& t, darray X, bool simd) {
                const std::size_t N = rows(t, X);
                const auto sN = static_cast<py::ssize_t>(N);
                auto Y = empty({sN, t.n_outputs()});
                auto G = empty({sN, t.n_outputs(), t.n_vars()});
                double *y = Y.mutable_data(), *g = G.mutable_data();
                checked({N, static_cast<std::size_t>(t.n_outputs()), static_cast<std::size_t>(t.n_vars())});
                fastcalc_py::PyInterrupt intr;
                {
                    py::gil_scoped_release release;
                    t.gradient(X.data(), N, y, g, opts(simd), intr);
                }
                return py::make_tuple(Y, G);
            },
            py::arg("X"), py::arg("simd") = true)
        .def(
            "jvp",
            [](const Tape& t, darray X, darray V, bool simd) {
                const std::size_t N = rows(t, X), m = static_cast<std::size_t>(t.n_outputs());
                if (V.ndim() != 2 || V.shape(0) != X.shape(0) || V.shape(1) != X.shape(1))
                    throw py::value_error("V must have the shape of X");
                std::vector<double> Y(N * m), JV(N * m);
                fastcalc_py::PyInterrupt intr;
                {
                    py::gil_scoped_release release;
                    t.jvp(X.data(), V.data(), N, Y.data(), JV.data(), opts(simd), intr);
                }
                const auto sN = static_cast<py::ssize_t>(N);
                return py::make_tuple(to_array(std::move(Y), {sN, t.n_outputs()}), to_array(std::move(JV), {sN, t.n_outputs()}));
            },
            py::arg("X"), py::arg("V"), py::arg("simd") = true)
        .def(
            "hessian",
            [](const Tape& t, darray X, bool simd) {
                const std::size_t N = rows(t, X), m = static_cast<std::size_t>(t.n_outputs()),
                                  n = static_cast<std::size_t>(t.n_vars());
                checked({N, m, n, n});
                // zero-filled by the allocator (calloc): a sparse Hessian writes only its nonzeros,
                // and pages it never touches stay unmapped
                py::module_ np = py::module_::import("numpy");
                py::array_t<double> H = np.attr("zeros")(py::make_tuple(N, m, n, n));
                double* h = H.mutable_data();
                fastcalc_py::PyInterrupt intr;
                {
                    py::gil_scoped_release release;
                    t.hessian(X.data(), N, h, opts(simd), intr, true);
                }
                return H;
            },
            py::arg("X"), py::arg("simd") = true)
        .def(
            "hvp",
            [](const Tape& t, darray X, darray V, bool simd) {
                const std::size_t N = rows(t, X), m = static_cast<std::size_t>(t.n_outputs()),
                                  n = static_cast<std::size_t>(t.n_vars());
                if (V.ndim() != 2 || V.shape(0) != X.shape(0) || V.shape(1) != X.shape(1))
                    throw py::value_error("V must have the shape of X");
                std::vector<double> HV(static_cast<std::size_t>(checked({N, m, n})));
                fastcalc_py::PyInterrupt intr;
                {
                    py::gil_scoped_release release;
                    t.hvp(X.data(), V.data(), N, HV.data(), opts(simd), intr);
                }
                return to_array(std::move(HV), {static_cast<py::ssize_t>(N), t.n_outputs(), t.n_vars()});
            },
            py::arg("X"), py::arg("V"), py::arg("simd") = true, "Hessian-vector products H V, (N, n_out, n_vars).")
        .def(
            "point",
            [](const Tape& t, const py::args& args) -> py::object {
                // One point from Python floats: no arrays on the way in or out.
                if (static_cast<int>(args.size()) != t.n_vars())
                    throw py::value_error("expected " + std::to_string(t.n_vars()) + " values, got " +
                                          std::to_string(args.size()));
                double x[16], y[16];
                std::vector<double> xs, ys;
                double* px = x;
                double* py_ = y;
                if (t.n_vars() > 16 || t.n_outputs() > 16) {
                    xs.resize(static_cast<std::size_t>(t.n_vars()));
                    ys.resize(static_cast<std::size_t>(t.n_outputs()));
                    px = xs.data();
                    py_ = ys.data();
                }
                for (std::size_t k = 0; k < args.size(); ++k) px[k] = args[k].cast<double>();
                TapeOptions o;
                o.parallel = false;
                t.eval(px, 1, py_, o);
                if (t.n_outputs() == 1) return py::float_(py_[0]);
                py::tuple out(static_cast<std::size_t>(t.n_outputs()));
                for (int k = 0; k < t.n_outputs(); ++k) out[static_cast<std::size_t>(k)] = py::float_(py_[k]);
                return std::move(out);
            },
            "The value at one point given as floats (fast path for scalar calls).")
        .def(
            "eval_columns",
            [](const Tape& t, std::vector<darray> cols, bool simd) {
                const auto [in, N] = columns(t, cols);
                auto Y = empty({static_cast<py::ssize_t>(N), t.n_outputs()});
                double* y = Y.mutable_data();
                fastcalc_py::PyInterrupt intr;
                {
                    py::gil_scoped_release release;
                    t.eval(in, N, y, opts(simd), intr);
                }
                return Y;
            },
            py::arg("cols"), py::arg("simd") = true,
            "Like eval, with each variable's values in its own 1-d array (no copy into rows).")
        .def(
            "gradient_columns",
            [](const Tape& t, std::vector<darray> cols, bool simd) {
                const auto [in, N] = columns(t, cols);
                const auto sN = static_cast<py::ssize_t>(N);
                // Fortran order: each variable's derivatives are contiguous, written with full vectors.
                using farray = py::array_t<double, py::array::f_style>;
                farray Y({sN, static_cast<py::ssize_t>(t.n_outputs())});
                farray G({sN, static_cast<py::ssize_t>(t.n_outputs()), static_cast<py::ssize_t>(t.n_vars())});
                double *y = Y.mutable_data(), *g = G.mutable_data();
                fastcalc_py::PyInterrupt intr;
                {
                    py::gil_scoped_release release;
                    t.gradient(in, N, y, g, fastcalc::GradLayout::columns(N, static_cast<std::size_t>(t.n_outputs())),
                               opts(simd), intr);
                }
                return py::make_tuple(Y, G);
            },
            py::arg("cols"), py::arg("simd") = true,
            "Values Y (N, m) and gradients G (N, m, n_vars), both in Fortran order, from 1-d columns.")
        .def(py::pickle(
            [](const Tape& t) {
                return py::make_tuple(py::array_t<std::int32_t>(t.ops().size(), t.ops().data()),
                                      py::array_t<std::int32_t>(t.args().size(), t.args().data()),
                                      py::array_t<double>(t.consts().size(), t.consts().data()), t.n_vars(),
                                      py::array_t<std::int32_t>(t.outputs().size(), t.outputs().data()));
            },
            [](py::tuple s) {
                if (s.size() != 5) throw py::value_error("bad Tape pickle state");
                return make_tape(s[0].cast<iarray>(), s[1].cast<iarray>(), s[2].cast<darray>(), s[3].cast<int>(),
                                 s[4].cast<iarray>());
            }));
}
