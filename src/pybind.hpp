// Included first by every binding source: pybind11, the array type we accept, and the
// register_<area>() functions that module.cpp calls.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace py = pybind11;

// Arrays come in as C-contiguous float64, converted if needed.
using darray = py::array_t<double, py::array::c_style | py::array::forcecast>;

void register_findiff(py::module_& m);
void register_callbacks(py::module_& m);
void register_tape(py::module_& m);
void register_ode(py::module_& m);
void register_descent(py::module_& m);
void register_least_squares(py::module_& m);
