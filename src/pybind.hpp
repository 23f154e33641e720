// Included first by every binding source: pybind11, the array type we accept, and the
// register_<area>() functions that module.cpp calls.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace py = pybind11;

// Arrays come in C-contiguous and aligned (NumPy copies what is not: an array unpickled from a
// buffer may be misaligned, and reading it as doubles would be undefined behaviour), converted
// to the element type if needed.
constexpr int kAligned = 0x0100;  // NPY_ARRAY_ALIGNED
constexpr int kInArray = py::array::c_style | py::array::forcecast | kAligned;
using darray = py::array_t<double, kInArray>;
using iarray = py::array_t<std::int32_t, kInArray>;

void register_findiff(py::module_& m);
void register_callbacks(py::module_& m);
void register_tape(py::module_& m);
void register_ode(py::module_& m);
void register_descent(py::module_& m);
void register_ops(py::module_& m);
void register_kernel(py::module_& m);
void register_least_squares(py::module_& m);
