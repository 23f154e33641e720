#include "pybind.hpp"

#include "pycallback.hpp"

#include <fastcalc/findiff.hpp>
#include <fastcalc/stencil.hpp>

#include <algorithm>

using namespace fastcalc;
using fastcalc_py::to_array;

namespace {

// batch: the most points per call of f (0: the core's default), d: doubles per point; first:
// the first automatic step, rtol: the automatic mode's tolerance (0: the defaults).
FDOptions options(int method, int accuracy, double h, std::size_t batch = 0, std::size_t d = 1, double first = 0,
                  bool values_only = false, double rtol = 0) {
    if (method < 0 || method > 2) throw py::value_error("unknown method code");
    FDOptions o;
    o.method = static_cast<Method>(method);
    o.accuracy = accuracy;
    o.h = h;
    o.first_step = first;
    o.values_only = values_only;
    o.rtol = rtol;
    if (batch > 0) o.max_batch_doubles = batch * std::max<std::size_t>(1, d);
    return o;
}

// value/error shaped (count, *extra); step/nfev shaped (count, *per_probe). Only "value" when
// the core left the others empty (FDOptions::values_only).
py::dict pack(FDResult&& r, std::vector<py::ssize_t> vshape, std::vector<py::ssize_t> pshape) {
    py::dict d;
    const bool all = r.error.size() == r.value.size();
    d["value"] = to_array(std::move(r.value), vshape);
    if (!all) return d;
    d["error"] = to_array(std::move(r.error), vshape);
    d["status"] = to_array(std::move(r.status), vshape);
    d["step"] = to_array(std::move(r.step), pshape);
    d["nfev"] = to_array(std::move(r.nfev), pshape);
    return d;
}

}  // namespace

void register_findiff(py::module_& m) {
    py::register_exception<fastcalc_py::ComplexValued>(m, "ComplexValuedError", PyExc_TypeError);
    m.def(
        "fornberg_weights",
        [](int deriv, std::vector<double> nodes, double z) { return fornberg_weights(deriv, nodes, z); },
        py::arg("deriv"), py::arg("nodes"), py::arg("z") = 0.0);
    m.def(
        "stencil",
        [](int method, int deriv, int accuracy) {
            Stencil s = make_stencil(static_cast<Method>(method), deriv, accuracy);
            return py::make_tuple(s.nodes, s.weights);
        },
        py::arg("method"), py::arg("deriv"), py::arg("accuracy"));
    m.def(
        "initial_step",
        [](int method, int accuracy, int n, double first) {
            return initial_step(options(method, accuracy, 0, 0, 1, first), n);
        },
        py::arg("method"), py::arg("accuracy"), py::arg("n"), py::arg("first") = 0.0);
    m.def(
        "step_levels",
        [](int method, int accuracy, int n, double first) {
            return step_levels(options(method, accuracy, 0, 0, 1, first), n);
        },
        py::arg("method"), py::arg("accuracy"), py::arg("n"), py::arg("first") = 0.0);

    m.def(
        "derivative",
        [](py::object f, darray x, int n, int method, int accuracy, double h, int style, py::object user_data,
           std::size_t batch, double first, bool values_only, double rtol, std::size_t out_dim) {
            if (out_dim < 1) throw py::value_error("out_dim must be >= 1");
            auto fn = fastcalc_py::as_batch_function(f, 1, out_dim, true, style, user_data);
            const FDOptions o = options(method, accuracy, h, batch, 1, first, values_only, rtol);
            const auto count = static_cast<std::size_t>(x.size());
            const double* px = x.data();
            fastcalc_py::PyInterrupt intr;
            FDResult r;
            {
                py::gil_scoped_release release;
                r = derivative(*fn, px, count, n, o, intr);
            }
            const auto c = static_cast<py::ssize_t>(count), mm = static_cast<py::ssize_t>(out_dim);
            if (out_dim == 1) return pack(std::move(r), {c}, {c});
            return pack(std::move(r), {c, mm}, {c});
        },
        py::arg("f"), py::arg("x"), py::arg("n"), py::arg("method"), py::arg("accuracy"), py::arg("h"),
        py::arg("vectorized"), py::arg("user_data") = py::none(), py::arg("batch") = 0, py::arg("first") = 0.0,
        py::arg("values_only") = false, py::arg("rtol") = 0.0, py::arg("out_dim") = 1);

    m.def(
        "first_partials",
        [](py::object f, darray X, std::size_t out_dim, int method, int accuracy, double h, int style,
           py::object user_data, std::size_t batch, double first, bool values_only, double rtol) {
            if (X.ndim() != 2) throw py::value_error("X must be 2-d (count, n)");
            if (out_dim < 1) throw py::value_error("out_dim must be >= 1");
            const auto count = static_cast<std::size_t>(X.shape(0)), d = static_cast<std::size_t>(X.shape(1));
            auto fn = fastcalc_py::as_batch_function(f, d, out_dim, false, style, user_data);
            const FDOptions o = options(method, accuracy, h, batch, d, first, values_only, rtol);
            const double* px = X.data();
            fastcalc_py::PyInterrupt intr;
            FDResult r;
            {
                py::gil_scoped_release release;
                r = first_partials(*fn, px, count, o, intr);
            }
            const auto c = static_cast<py::ssize_t>(count), dd = static_cast<py::ssize_t>(d),
                       mm = static_cast<py::ssize_t>(out_dim);
            return pack(std::move(r), {c, dd, mm}, {c, dd});
        },
        py::arg("f"), py::arg("X"), py::arg("out_dim"), py::arg("method"), py::arg("accuracy"), py::arg("h"),
        py::arg("vectorized"), py::arg("user_data") = py::none(), py::arg("batch") = 0, py::arg("first") = 0.0,
        py::arg("values_only") = false, py::arg("rtol") = 0.0);

    m.def(
        "hessian",
        [](py::object f, darray X, int method, int accuracy, double h, int style, py::object user_data,
           std::size_t batch, double first, double rtol) {
            if (X.ndim() != 2) throw py::value_error("X must be 2-d (count, n)");
            const auto count = static_cast<std::size_t>(X.shape(0)), d = static_cast<std::size_t>(X.shape(1));
            auto fn = fastcalc_py::as_batch_function(f, d, 1, false, style, user_data);
            const FDOptions o = options(method, accuracy, h, batch, d, first, false, rtol);
            const double* px = X.data();
            fastcalc_py::PyInterrupt intr;
            FDResult r;
            {
                py::gil_scoped_release release;
                r = hessian(*fn, px, count, o, intr);
            }
            const auto c = static_cast<py::ssize_t>(count), dd = static_cast<py::ssize_t>(d);
            return pack(std::move(r), {c, dd, dd}, {c, dd, dd});
        },
        py::arg("f"), py::arg("X"), py::arg("method"), py::arg("accuracy"), py::arg("h"), py::arg("vectorized"),
        py::arg("user_data") = py::none(), py::arg("batch") = 0, py::arg("first") = 0.0,
        py::arg("rtol") = 0.0);
}
