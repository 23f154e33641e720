#include "pybind.hpp"

#include "pycallback.hpp"

#include <fastcalc/tape.hpp>

#include <cstring>
#include <sstream>

namespace fastcalc_py {

namespace {
std::string shape_str(const py::array& a) {
    std::ostringstream s;
    s << "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
    s << (a.ndim() == 1 ? ",)" : ")");
    return s.str();
}
}  // namespace

namespace {
// Complex values from f: the core differentiates real functions (ComplexValued, see pycallback.hpp).
void refuse_complex(const py::handle& r) {
    if (PyComplex_Check(r.ptr())) throw ComplexValued("f returned complex values");
    if (py::isinstance<py::array>(r)) {
        if (py::reinterpret_borrow<py::array>(r).dtype().kind() == 'c') throw ComplexValued("f returned complex values");
        return;
    }
    if (PyList_Check(r.ptr()) || PyTuple_Check(r.ptr())) {
        py::array a = py::array::ensure(r);
        if (a && a.dtype().kind() == 'c') throw ComplexValued("f returned complex values");
    }
}
}  // namespace

void PyFunction::eval(const double* X, std::size_t count, double* Y) const {
    if (count == 0) return;
    py::gil_scoped_acquire gil;
    if (style_ == CallStyle::Vectorized)
        eval_vectorized(X, count, Y);
    else if (style_ == CallStyle::Columns)
        eval_columns(X, count, Y);
    else
        eval_per_point(X, count, Y);
}

void PyFunction::eval_columns(const double* X, std::size_t count, double* Y) const {
    // Components on axis 0 (scipy's convention): the points transposed in, the values out.
    py::array arg = scalar_points_ ? py::array_t<double>({static_cast<py::ssize_t>(count)})
                                   : py::array_t<double>({static_cast<py::ssize_t>(in_), static_cast<py::ssize_t>(count)});
    double* a = static_cast<double*>(arg.mutable_data());
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t j = 0; j < in_; ++j) a[j * count + i] = X[i * in_ + j];
    py::object r = f_(arg);
    refuse_complex(r);
    darray res = darray::ensure(r);
    if (!res) throw py::type_error("f must return numbers (an array of float64), got " +
                                   std::string(py::str(py::type::of(r).attr("__name__"))));
    const bool ok = (out_ == 1 && res.ndim() == 1 && static_cast<std::size_t>(res.shape(0)) == count) ||
                    (res.ndim() == 2 && static_cast<std::size_t>(res.shape(0)) == out_ &&
                     static_cast<std::size_t>(res.shape(1)) == count) ||
                    (out_ == 1 && count == 1 && res.ndim() == 0);
    if (!ok) {
        std::ostringstream msg;
        msg << "f returned an array of shape " << shape_str(res) << " for " << count
            << " points given as columns; expected ("
            << (out_ == 1 ? std::to_string(count) + ",)" : std::to_string(out_) + ", " + std::to_string(count) + ")")
            << " (pass vectorized= to say how f takes its points)";
        throw py::value_error(msg.str());
    }
    const double* v = res.data();
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t o = 0; o < out_; ++o) Y[i * out_ + o] = v[o * count + i];
}

py::array PyFunction::new_argument(std::size_t count) const {
    // A fresh array each call: the user's function may keep a reference to its argument.
    return scalar_points_ ? py::array_t<double>({static_cast<py::ssize_t>(count)})
                          : py::array_t<double>({static_cast<py::ssize_t>(count), static_cast<py::ssize_t>(in_)});
}

darray PyFunction::call_vectorized(const py::array& arg, std::size_t count) const {
    py::object r = f_(arg);
    refuse_complex(r);
    darray res = darray::ensure(r);
    if (!res) throw py::type_error("f must return numbers (an array of float64), got " +
                                   std::string(py::str(py::type::of(r).attr("__name__"))));
    const bool ok = (out_ == 1 && res.ndim() == 1 && static_cast<std::size_t>(res.shape(0)) == count) ||
                    (res.ndim() == 2 && static_cast<std::size_t>(res.shape(0)) == count &&
                     static_cast<std::size_t>(res.shape(1)) == out_) ||
                    (out_ == 1 && count == 1 && res.ndim() == 0);
    if (!ok) {
        std::ostringstream msg;
        msg << "f returned an array of shape " << shape_str(res) << " for " << count << " points; expected ("
            << count << (out_ == 1 ? ",)" : ", " + std::to_string(out_) + ")")
            << " (pass vectorized= to say how f takes its points: False for one point per call)";
        throw py::value_error(msg.str());
    }
    return res;
}

void PyFunction::eval_vectorized(const double* X, std::size_t count, double* Y) const {
    py::array arg = new_argument(count);
    std::memcpy(arg.mutable_data(), X, count * in_ * sizeof(double));
    const darray res = call_vectorized(arg, count);
    std::memcpy(Y, res.data(), count * out_ * sizeof(double));
}

double* PyFunction::points_buffer(std::size_t count, double* own) const {
    if (style_ != CallStyle::Vectorized || count == 0) return own;
    py::gil_scoped_acquire gil;
    py::array arg = new_argument(count);
    next_arg_ = arg;
    return static_cast<double*>(arg.mutable_data());
}

const double* PyFunction::eval_view(const double* X, std::size_t count, double* Y) const {
    if (style_ != CallStyle::Vectorized || count == 0) {
        eval(X, count, Y);
        return Y;
    }
    py::gil_scoped_acquire gil;
    py::array arg;
    if (next_arg_ && py::reinterpret_borrow<py::array>(next_arg_).data() == static_cast<const void*>(X) &&
        static_cast<std::size_t>(py::reinterpret_borrow<py::array>(next_arg_).size()) == count * in_) {
        arg = py::reinterpret_borrow<py::array>(next_arg_);  // the points were written in place
    } else {
        arg = new_argument(count);
        std::memcpy(arg.mutable_data(), X, count * in_ * sizeof(double));
    }
    next_arg_ = py::object();
    last_result_ = py::object();
    darray res = call_vectorized(arg, count);
    last_result_ = res;
    return res.data();
}

void PyFunction::eval_per_point(const double* X, std::size_t count, double* Y) const {
    for (std::size_t i = 0; i < count; ++i) {
        py::object r;
        if (scalar_points_) {
            r = f_(py::float_(X[i]));
        } else {
            py::array_t<double> arg({static_cast<py::ssize_t>(in_)});
            std::memcpy(arg.mutable_data(), X + i * in_, in_ * sizeof(double));
            r = f_(arg);
        }
        refuse_complex(r);
        if (out_ == 1 && !py::isinstance<py::array>(r) && !PyList_Check(r.ptr()) && !PyTuple_Check(r.ptr())) {
            Y[i] = py::cast<double>(py::float_(r));
            continue;
        }
        darray res = darray::ensure(r);
        if (!res || static_cast<std::size_t>(res.size()) != out_)
            throw py::value_error("f returned " + std::to_string(res ? res.size() : 0) + " values for one point; expected " +
                                  std::to_string(out_));
        std::memcpy(Y + i * out_, res.data(), out_ * sizeof(double));
    }
}

std::unique_ptr<fastcalc::BatchFunction> compiled_callback(const py::handle& obj, const py::handle& user_data,
                                                           std::size_t in_dim) {
    if (!PyCapsule_CheckExact(obj.ptr())) return nullptr;
    const char* name = PyCapsule_GetName(obj.ptr());
    void* ptr = PyCapsule_GetPointer(obj.ptr(), name);
    if (!ptr) throw py::error_already_set();
    std::string sig = name ? name : "";
    void* data = user_data.is_none() ? PyCapsule_GetContext(obj.ptr()) : nullptr;
    if (!user_data.is_none()) {
        if (PyCapsule_CheckExact(user_data.ptr()))
            data = PyCapsule_GetPointer(user_data.ptr(), PyCapsule_GetName(user_data.ptr()));
        else
            data = reinterpret_cast<void*>(py::cast<std::uintptr_t>(user_data));
    }
    auto norm = [](std::string s) {  // "double (int, const double *, void *)" -> "double(int,double*,void*)"
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s.compare(i, 6, "const ") == 0) { i += 5; continue; }
            if (s[i] != ' ') out += s[i];
        }
        return out;
    };
    const std::string n = norm(sig);
    if (n == "double(double)") {
        if (in_dim != 1) throw py::value_error("compiled callback 'double (double)' takes one variable, got " + std::to_string(in_dim));
        return std::make_unique<fastcalc::ScalarCallback>(reinterpret_cast<fastcalc::scalar_fn>(ptr));
    }
    if (n == "double(double,void*)") {
        if (in_dim != 1) throw py::value_error("compiled callback 'double (double, void *)' takes one variable, got " + std::to_string(in_dim));
        return std::make_unique<fastcalc::ScalarCallback>(reinterpret_cast<fastcalc::scalar_fn_data>(ptr), data);
    }
    if (n == "double(int,double*,void*)" || n == "double(int,double*)") {
        return std::make_unique<fastcalc::NdCallback>(reinterpret_cast<fastcalc::nd_fn>(ptr), static_cast<int>(in_dim), data);
    }
    throw py::value_error("unsupported compiled callback signature '" + sig +
                          "'; expected 'double (double)', 'double (double, void *)' or 'double (int, double *, void *)'");
}

}  // namespace fastcalc_py

namespace fastcalc_py {

std::unique_ptr<fastcalc::BatchFunction> as_batch_function(const py::object& f, std::size_t in_dim,
                                                           std::size_t out_dim, bool scalar_points,
                                                           bool vectorized, const py::object& user_data) {
    return as_batch_function(f, in_dim, out_dim, scalar_points, vectorized ? 1 : 0, user_data);
}

std::unique_ptr<fastcalc::BatchFunction> as_batch_function(const py::object& f, std::size_t in_dim,
                                                           std::size_t out_dim, bool scalar_points, int style,
                                                           const py::object& user_data) {
    if (style < 0 || style > 2) throw py::value_error("unknown call style code");
    if (py::isinstance<fastcalc::Tape>(f)) {
        auto tape = f.cast<std::shared_ptr<fastcalc::Tape>>();
        if (static_cast<std::size_t>(tape->n_vars()) != in_dim || static_cast<std::size_t>(tape->n_outputs()) != out_dim)
            throw py::value_error("the expression has " + std::to_string(tape->n_vars()) + " variable(s) and " +
                                  std::to_string(tape->n_outputs()) + " component(s); this needs " + std::to_string(in_dim) +
                                  " and " + std::to_string(out_dim));
        return std::make_unique<fastcalc::TapeFunction>(tape);
    }
    if (auto cb = compiled_callback(f, user_data, in_dim)) {
        if (out_dim != 1) throw py::value_error("compiled callbacks are scalar-valued; use a Python function for a Jacobian");
        return cb;
    }
    if (!PyCallable_Check(f.ptr()))
        throw py::type_error("f must be callable or a compiled callback (PyCapsule), got " +
                             std::string(py::str(py::type::of(f).attr("__name__"))));
    const CallStyle cs = style == 1 ? CallStyle::Vectorized : style == 2 ? CallStyle::Columns : CallStyle::PerPoint;
    return std::make_unique<PyFunction>(f, in_dim, out_dim, scalar_points, cs);
}

}  // namespace fastcalc_py
