// Python-side implementations of the core's BatchFunction and Interrupt, shared by the bindings.
// The core calls eval() with the GIL released; these take it back only around the Python call.
#pragma once

#include "pybind.hpp"

#include <fastcalc/function.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace fastcalc_py {

// Ctrl-C: Python's signal handlers run only with the GIL; a pending KeyboardInterrupt aborts.
// Looks at most every 20 ms: taking the GIL can wait for other Python threads.
class PyInterrupt final : public fastcalc::Interrupt {
public:
    void check() const override {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(20)) return;
        last_ = now;
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }

    bool requested() const override {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(20)) return false;
        last_ = now;
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() == 0) return false;
        PyErr_Clear();  // the caller stops and reports it
        return true;
    }

private:
    mutable std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// How a Python callable is called.
enum class CallStyle {
    Vectorized,  // f(ndarray of all points, one per row) -> ndarray (count,) or (count, out_dim)
    PerPoint,    // f(one point) -> number (or vector)
    Columns,     // scipy.differentiate's convention: f((in_dim, count)) -> (count,) or (out_dim, count)
};

// Thrown when a Python f returns complex values where the core needs real ones; the binding
// module registers it as fastcalc._core.ComplexValuedError (a TypeError), which the Python layer
// catches to differentiate the real and imaginary parts instead (never a dropped imaginary part).
class ComplexValued : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Wraps a Python callable. With in_dim == 1 and scalar_points, points are passed as a flat array
// (or floats); otherwise as rows of an (count, in_dim) array.
class PyFunction final : public fastcalc::BatchFunction {
public:
    PyFunction(py::object f, std::size_t in_dim, std::size_t out_dim, bool scalar_points,
               CallStyle style)
        : f_(std::move(f)), in_(in_dim), out_(out_dim), scalar_points_(scalar_points), style_(style) {}
    ~PyFunction() override {
        py::gil_scoped_acquire gil;
        f_ = py::object();
        next_arg_ = py::object();
        last_result_ = py::object();
    }
    void eval(const double* X, std::size_t count, double* Y) const override;
    double* points_buffer(std::size_t count, double* own) const override;
    const double* eval_view(const double* X, std::size_t count, double* Y) const override;
    std::size_t in_dim() const override { return in_; }
    std::size_t out_dim() const override { return out_; }
    bool batch_all() const override { return true; }

private:
    py::array new_argument(std::size_t count) const;
    // f(arg) checked against the expected shape: a C-contiguous float64 array of the values.
    darray call_vectorized(const py::array& arg, std::size_t count) const;
    void eval_vectorized(const double* X, std::size_t count, double* Y) const;
    void eval_columns(const double* X, std::size_t count, double* Y) const;
    void eval_per_point(const double* X, std::size_t count, double* Y) const;
    py::object f_;
    mutable py::object next_arg_;     // handed out by points_buffer, the next call's argument
    mutable py::object last_result_;  // the values eval_view points into
    std::size_t in_, out_;
    bool scalar_points_;
    CallStyle style_;
};

// A compiled callback (PyCapsule in the SciPy LowLevelCallable convention) or nullptr if `obj`
// is not one. `in_dim` is the number of variables the caller will pass.
std::unique_ptr<fastcalc::BatchFunction> compiled_callback(const py::handle& capsule,
                                                           const py::handle& user_data,
                                                           std::size_t in_dim);

}  // namespace fastcalc_py

namespace fastcalc_py {

// Any function the Python layer may hand to the core: a compiled callback (PyCapsule), or a
// Python callable called vectorized or per point.
std::unique_ptr<fastcalc::BatchFunction> as_batch_function(const py::object& f, std::size_t in_dim,
                                                           std::size_t out_dim, bool scalar_points,
                                                           bool vectorized, const py::object& user_data);
// The same with the style spelled out: 0 per point, 1 rows (vectorized), 2 columns.
std::unique_ptr<fastcalc::BatchFunction> as_batch_function(const py::object& f, std::size_t in_dim,
                                                           std::size_t out_dim, bool scalar_points, int style,
                                                           const py::object& user_data);

// Moves a vector into a NumPy array without copying.
template <class T>
py::array_t<T> to_array(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
    auto* heap = new std::vector<T>(std::move(v));
    py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>(shape, heap->data(), owner);
}

}  // namespace fastcalc_py
