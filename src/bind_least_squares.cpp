#include "pybind.hpp"

#include "pycallback.hpp"

#include <fastcalc/least_squares.hpp>

#include <cstring>
#include <string>

using namespace fastcalc;
using fastcalc_py::to_array;

namespace {

// Residuals of a Python function: resid(p) -> r (N,), jac(p) -> J (N, P) (the Python layer
// differences the model), with J^T J and J^T r formed here.
class PyResiduals final : public LeastSquaresProblem {
public:
    PyResiduals(py::object resid, py::object jac, std::size_t N, std::size_t P)
        : resid_(std::move(resid)), jac_(std::move(jac)), N_(N), P_(P) {}
    ~PyResiduals() override {
        py::gil_scoped_acquire gil;
        resid_ = py::object();
        jac_ = py::object();
    }
    std::size_t n_params() const override { return P_; }
    std::size_t n_residuals() const override { return N_; }
    double eval(const double* p, double* A, double* g, const Interrupt&) const override {
        py::gil_scoped_acquire gil;
        py::array_t<double> arg({static_cast<py::ssize_t>(P_)});
        std::memcpy(arg.mutable_data(), p, P_ * sizeof(double));
        const darray r = values(resid_(arg), N_, "residuals");
        double cost = 0.0;
        for (std::size_t i = 0; i < N_; ++i) cost += r.data()[i] * r.data()[i];
        if (A) {
            const darray J = values(jac_(arg), N_ * P_, "jacobian");
            const double* Jd = J.data();
            for (std::size_t a = 0; a < P_; ++a) {
                double ga = 0.0;
                for (std::size_t i = 0; i < N_; ++i) ga += Jd[i * P_ + a] * r.data()[i];
                g[a] = ga;
                for (std::size_t b = 0; b <= a; ++b) {
                    double s = 0.0;
                    for (std::size_t i = 0; i < N_; ++i) s += Jd[i * P_ + a] * Jd[i * P_ + b];
                    A[a * P_ + b] = A[b * P_ + a] = s;
                }
            }
        }
        return 0.5 * cost;
    }

private:
    static darray values(const py::object& o, std::size_t size, const char* what) {
        darray a = darray::ensure(o);
        if (!a || static_cast<std::size_t>(a.size()) != size)
            throw py::value_error(std::string(what) + " returned " + std::to_string(a ? a.size() : 0) +
                                  " values; expected " + std::to_string(size));
        return a;
    }
    py::object resid_, jac_;
    std::size_t N_, P_;
};

LeastSquaresOptions options(const py::dict& kw) {
    LeastSquaresOptions o;
    o.maxiter = kw["maxiter"].cast<std::size_t>();
    o.gtol = kw["gtol"].cast<double>();
    o.ftol = kw["ftol"].cast<double>();
    o.xtol = kw["xtol"].cast<double>();
    for (double t : {o.gtol, o.ftol, o.xtol})
        if (!(t >= 0) || !std::isfinite(t)) throw py::value_error("tolerances must be >= 0 and finite");
    return o;
}

// Every start of P0 (k, P) through the solver, the GIL released (PyResiduals takes it back).
py::dict solve(const LeastSquaresProblem& problem, darray P0, const py::dict& kw) {
    const std::size_t P = problem.n_params();
    if (P0.ndim() != 2 || static_cast<std::size_t>(P0.shape(1)) != P)
        throw py::value_error("p0 must have shape (k, " + std::to_string(P) + ")");
    const LeastSquaresOptions o = options(kw);
    const auto k = static_cast<std::size_t>(P0.shape(0));
    std::vector<double> x(k * P), cost(k), jtj(k * P * P);
    std::vector<std::int64_t> nit(k), nfev(k), status(k), test(k);
    fastcalc_py::PyInterrupt intr;
    const double* p0 = P0.data();
    {
        py::gil_scoped_release release;
        for (std::size_t r = 0; r < k; ++r) {
            LeastSquaresResult res = levenberg_marquardt(problem, p0 + r * P, o, intr);
            std::copy(res.x.begin(), res.x.end(), x.begin() + static_cast<std::ptrdiff_t>(r * P));
            std::copy(res.JTJ.begin(), res.JTJ.end(), jtj.begin() + static_cast<std::ptrdiff_t>(r * P * P));
            cost[r] = res.cost;
            nit[r] = static_cast<std::int64_t>(res.nit);
            nfev[r] = static_cast<std::int64_t>(res.nfev);
            status[r] = res.status;
            test[r] = res.test;
        }
    }
    const auto kk = static_cast<py::ssize_t>(k), pp = static_cast<py::ssize_t>(P);
    py::dict d;
    d["x"] = to_array(std::move(x), {kk, pp});
    d["cost"] = to_array(std::move(cost), {kk});
    d["nit"] = to_array(std::move(nit), {kk});
    d["nfev"] = to_array(std::move(nfev), {kk});
    d["status"] = to_array(std::move(status), {kk});
    d["test"] = to_array(std::move(test), {kk});
    d["jtj"] = to_array(std::move(jtj), {kk, pp, pp});
    return d;
}

}  // namespace

void register_least_squares(py::module_& m) {
    m.def(
        "least_squares_program",
        [](const Program& model, darray X, darray y, darray P0, const py::dict& kw) {
            const std::size_t P = static_cast<std::size_t>(model.n_wrt());
            const std::size_t nd = static_cast<std::size_t>(model.n_vars()) - P;
            const auto N = static_cast<std::size_t>(y.size());
            if (X.ndim() != 2 || static_cast<std::size_t>(X.shape(0)) != N || static_cast<std::size_t>(X.shape(1)) != nd)
                throw py::value_error("X must have shape (" + std::to_string(N) + ", " + std::to_string(nd) + ")");
            ProgramResiduals problem(model, X.data(), y.data(), N);
            return solve(problem, P0, kw);
        },
        py::arg("model"), py::arg("X"), py::arg("y"), py::arg("p0"), py::arg("options"));
    m.def(
        "least_squares_callable",
        [](py::object resid, py::object jac, std::size_t N, darray P0, const py::dict& kw) {
            if (N == 0) throw py::value_error("fit needs at least one data point");
            if (P0.ndim() != 2 || P0.shape(1) < 1) throw py::value_error("p0 must have shape (k, P), P >= 1");
            PyResiduals problem(resid, jac, N, static_cast<std::size_t>(P0.shape(1)));
            return solve(problem, P0, kw);
        },
        py::arg("residuals"), py::arg("jacobian"), py::arg("N"), py::arg("p0"), py::arg("options"));
}
