#include "pybind.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "fastcalc's compiled core (internal; use the fastcalc package).";
    register_ops(m);
    register_kernel(m);
    register_callbacks(m);
    register_findiff(m);
    register_tape(m);
    register_ode(m);
    register_descent(m);
    register_least_squares(m);
}
