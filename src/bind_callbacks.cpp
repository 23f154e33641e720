#include "pybind.hpp"

#include "pycallback.hpp"

#include <fastcalc/function.hpp>

#include <vector>

// Lets Python (and the tests) call a compiled callback directly, to check what the core sees.
void register_callbacks(py::module_& m) {
    m.def(
        "call_compiled",
        [](py::object capsule, darray X, py::object user_data) {
            const bool flat = X.ndim() <= 1;
            const std::size_t d = flat ? 1 : static_cast<std::size_t>(X.shape(1));
            const std::size_t count = flat ? static_cast<std::size_t>(X.size()) : static_cast<std::size_t>(X.shape(0));
            auto fn = fastcalc_py::compiled_callback(capsule, user_data, d);
            if (!fn) throw py::type_error("not a compiled callback (PyCapsule)");
            std::vector<double> y(count);
            const double* px = X.data();
            {
                py::gil_scoped_release release;
                fn->eval(px, count, y.data());
            }
            return fastcalc_py::to_array(std::move(y), {static_cast<py::ssize_t>(count)});
        },
        py::arg("f"), py::arg("X"), py::arg("user_data") = py::none());
}
