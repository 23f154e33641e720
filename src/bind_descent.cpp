#include "pybind.hpp"

#include "pycallback.hpp"

#include <fastcalc/descent.hpp>
#include <fastcalc/findiff.hpp>
#include <fastcalc/program.hpp>

#include <cstring>
#include <limits>
#include <memory>
#include <string>

using namespace fastcalc;
using fastcalc_py::to_array;

namespace {

template <class T>
std::vector<T> vec(const py::array_t<T, kInArray>& a) {
    return std::vector<T>(a.data(), a.data() + a.size());
}

// f (and grad, or finite differences of f) of a vectorized Python callable. One variable: the
// callable gets a flat (k,) array; otherwise (k, n).
class PyGradient final : public GradientProvider {
public:
    PyGradient(py::object f, py::object grad, std::size_t n) : f_(std::move(f)), grad_(std::move(grad)), n_(n) {
        if (grad_.is_none()) fd_ = fastcalc_py::as_batch_function(f_, n, 1, n == 1, true, py::none());
    }
    ~PyGradient() override {
        py::gil_scoped_acquire gil;
        f_ = py::object();
        grad_ = py::object();
    }
    std::size_t dim() const override { return n_; }
    void value_and_grad(const double* X, std::size_t k, double* f, double* G) const override {
        if (fd_) {
            fd_->eval(X, k, f);
            FDResult r = first_partials(*fd_, X, k, FDOptions());
            std::memcpy(G, r.value.data(), k * n_ * sizeof(double));
            return;
        }
        py::gil_scoped_acquire gil;
        py::array_t<double> arg = n_ == 1 ? py::array_t<double>({static_cast<py::ssize_t>(k)})
                                          : py::array_t<double>({static_cast<py::ssize_t>(k), static_cast<py::ssize_t>(n_)});
        std::memcpy(arg.mutable_data(), X, k * n_ * sizeof(double));
        copy_out(f_(arg), k, 1, f, "f");
        copy_out(grad_(arg), k, n_, G, "grad");
    }

private:
    static void copy_out(const py::object& r, std::size_t k, std::size_t w, double* out, const char* name) {
        darray a = darray::ensure(r);
        if (!a) throw py::type_error(std::string(name) + " must return an array of numbers");
        const bool ok = static_cast<std::size_t>(a.size()) == k * w &&
                        (a.ndim() <= 1 || (a.ndim() == 2 && static_cast<std::size_t>(a.shape(0)) == k));
        if (!ok)
            throw py::value_error(std::string(name) + " returned " + std::to_string(a.size()) + " values for " +
                                  std::to_string(k) + " points; expected shape (" + std::to_string(k) +
                                  (w == 1 ? ",)" : ", " + std::to_string(w) + ")"));
        std::memcpy(out, a.data(), k * w * sizeof(double));
    }
    py::object f_, grad_;
    std::size_t n_;
    std::unique_ptr<BatchFunction> fd_;
};

DescentOptions options(const py::dict& kw) {
    DescentOptions o;
    const int m = kw["method"].cast<int>();
    if (m < 0 || m > 3) throw py::value_error("unknown method code");
    o.method = static_cast<DescentMethod>(m);
    o.maximize = kw["maximize"].cast<bool>();
    const py::int_ steps = kw["steps"];
    if (steps < py::int_(0)) throw py::value_error("steps must be >= 0");
    o.steps = steps > py::int_(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                  ? static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
                  : steps.cast<std::size_t>();
    o.tol = kw["tol"].cast<double>();
    o.momentum = kw["momentum"].cast<double>();
    o.beta1 = kw["beta1"].cast<double>();
    o.beta2 = kw["beta2"].cast<double>();
    o.line_search = kw["line_search"].cast<bool>();
    o.history = kw["history"].cast<bool>();
    const py::int_ every = kw["history_every"];
    if (every < py::int_(1)) throw py::value_error("history_every must be >= 1");
    o.history_every = every > py::int_(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                          ? static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
                          : every.cast<std::size_t>();
    o.threads = kw["threads"].cast<int>();
    if (kw.contains("kernel")) o.kernel = reinterpret_cast<BlockKernel>(kw["kernel"].cast<std::uintptr_t>());
    if (kw.contains("steps_kernel")) {
        o.steps_kernel = reinterpret_cast<StepsKernel>(kw["steps_kernel"].cast<std::uintptr_t>());
        o.steps_lanes = kw["steps_lanes"].cast<std::size_t>();
    }
    return o;
}

py::dict pack(DescentResult&& r) {
    const auto k = static_cast<py::ssize_t>(r.k), n = static_cast<py::ssize_t>(r.n),
               h = static_cast<py::ssize_t>(r.n_hist);
    py::dict d;
    d["x"] = to_array(std::move(r.x), {k, n});
    d["fun"] = to_array(std::move(r.fun), {k});
    d["grad_norm"] = to_array(std::move(r.grad_norm), {k});
    d["nit"] = to_array(std::move(r.nit), {k});
    d["converged"] = to_array(std::move(r.converged), {k});
    d["diverged"] = to_array(std::move(r.diverged), {k});
    if (h) {
        d["history"] = to_array(std::move(r.history), {h, k, n});
        d["fun_history"] = to_array(std::move(r.fun_history), {h, k});
    }
    return d;
}

template <class F>
py::dict run(darray x0, darray lr, const py::dict& kw, std::size_t n, F&& call) {
    if (x0.ndim() != 2 || static_cast<std::size_t>(x0.shape(1)) != n)
        throw py::value_error("x0 must have shape (k, " + std::to_string(n) + ")");
    const DescentOptions o = options(kw);
    const auto k = static_cast<std::size_t>(x0.shape(0));
    const double *px = x0.data(), *pl = lr.data();
    const auto nl = static_cast<std::size_t>(lr.size());
    fastcalc_py::PyInterrupt intr;
    DescentResult r;
    {
        py::gil_scoped_release release;
        r = call(px, k, pl, nl, o, intr);
    }
    return pack(std::move(r));
}

}  // namespace

void register_descent(py::module_& m) {
    py::class_<Program, std::shared_ptr<Program>>(m, "Program",
                                                  "A tape compiled with its derivatives (cpp/include/fastcalc/program.hpp).")
        .def(py::init([](iarray ops, iarray args, darray consts, int n_vars, iarray outputs, int order,
                         std::vector<int> wrt, bool directional, bool values) {
                 ProgramSpec spec;
                 spec.order = order, spec.wrt = std::move(wrt), spec.directional = directional, spec.values = values;
                 return std::make_shared<Program>(vec(ops), vec(args), vec(consts), n_vars, vec(outputs), spec);
             }),
             py::arg("ops"), py::arg("args"), py::arg("consts"), py::arg("n_vars"), py::arg("outputs"),
             py::arg("order") = 1, py::arg("wrt") = std::vector<int>{}, py::arg("directional") = false,
             py::arg("values") = true)
        .def_property_readonly("n_vars", &Program::n_vars)
        .def_property_readonly("n_inputs", &Program::n_inputs)
        .def_property_readonly("n_outputs", &Program::n_outputs)
        .def_property_readonly("n_results", &Program::n_results)
        .def_property_readonly("n_slots", &Program::n_slots)
        .def_property_readonly("n_instructions", &Program::n_instructions)
        .def("code",
             [](const Program& p) {
                 // (op, n, d, a, b, flags, c): flags 1: a is the constant c; 2: b is
                 py::list l;
                 for (const auto& in : p.code())
                     l.append(py::make_tuple(int(in.op), in.n, in.d, in.a, in.b, int(in.flags), in.c));
                 return l;
             })
        .def("constants", &Program::constants)
        .def("result_slots",
             [](const Program& p) {
                 std::vector<std::size_t> r;
                 for (int i = 0; i < p.n_results(); ++i) r.push_back(p.result_slot(i));
                 return r;
             })
        .def("tail", &Program::tail, py::arg("first"), "A copy computing only results [first, n_results).")
        .def(
            "descent_step",
            [](const Program& p, const py::dict& kw) {
                // the step program for these options: what descent_program's native kernel runs
                const DescentOptions o = options(kw);
                return p.descent_step(o.step(), o.tol > 0 ? o.tol * o.tol : -1.0);
            },
            py::arg("options"), "The program of one descent step for descent_program's options (its native kernel's).")
        .def("dependencies", &Program::dependencies, "For each result, the inputs it may depend on.")
        .def("eval", [](const Program& p, darray X, bool simd) {
            if (X.ndim() != 2 || X.shape(1) != p.n_inputs())
                throw py::value_error("X must have shape (N, " + std::to_string(p.n_inputs()) + ")");
            const auto N = static_cast<std::size_t>(X.shape(0));
            std::vector<double> R(N * static_cast<std::size_t>(p.n_results()));
            {
                py::gil_scoped_release release;
                p.eval(X.data(), N, R.data(), simd);
            }
            return to_array(std::move(R), {static_cast<py::ssize_t>(N), p.n_results()});
        }, py::arg("X"), py::arg("simd") = true);

    m.def("descent_program", [](const Program& p, darray x0, darray lr, const py::dict& kw) {
        return run(x0, lr, kw, static_cast<std::size_t>(p.n_vars()),
                   [&](const double* x, std::size_t k, const double* l, std::size_t nl, const DescentOptions& o,
                       const Interrupt& in) { return descent(p, x, k, l, nl, o, in); });
    });
    m.def("descent_callable", [](py::object f, py::object grad, std::size_t n, darray x0, darray lr,
                                 const py::dict& kw) {
        PyGradient g(f, grad, n);
        return run(x0, lr, kw, n,
                   [&](const double* x, std::size_t k, const double* l, std::size_t nl, const DescentOptions& o,
                       const Interrupt& in) { return descent(g, x, k, l, nl, o, in); });
    });
    m.def("fit_mse", [](const Program& model, darray X, darray y, darray p0, darray lr, const py::dict& kw) {
        MSELoss loss(model, std::vector<double>(X.data(), X.data() + X.size()),
                     std::vector<double>(y.data(), y.data() + y.size()));
        return run(p0, lr, kw, loss.dim(),
                   [&](const double* x, std::size_t k, const double* l, std::size_t nl, const DescentOptions& o,
                       const Interrupt& in) {
                       loss.set_interrupt(&in);
                       return descent(loss, x, k, l, nl, o, in);
                   });
    });
}
