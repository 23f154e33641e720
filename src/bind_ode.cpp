#include "pybind.hpp"

#include "pycallback.hpp"

#include <fastcalc/ode.hpp>
#include <fastcalc/tape.hpp>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ode = fastcalc::ode;
using fastcalc_py::to_array;

namespace {

ode::Net make_net(const std::vector<int>& widths, int m, int act) {
    if (act < 0 || act > 2) throw py::value_error("unknown activation code " + std::to_string(act));
    ode::Net net;
    net.widths = widths;
    net.m = m;
    net.act = static_cast<ode::Activation>(act);
    net.validate();  // invalid_argument -> ValueError naming the problem
    return net;
}

// A problem from its dict (what an ODESolution, and so any pickle, carries): every key checked
// here and by Problem::validate, so that nothing downstream reads out of bounds.
ode::Problem make_problem(const py::dict& d, int m) {
    auto get = [&](const char* key) -> py::object {
        if (!d.contains(key)) throw py::value_error(std::string("ODE problem: missing '") + key + "'");
        return d[key];
    };
    auto as_int = [&](const char* key) {
        py::object o = get(key);
        if (!py::isinstance<py::int_>(o) || py::isinstance<py::bool_>(o))
            throw py::value_error(std::string("ODE problem: '") + key + "' must be an integer");
        const long long v = o.cast<long long>();
        if (v < -1000000 || v > 1000000) throw py::value_error(std::string("ODE problem: '") + key + "' out of range");
        return static_cast<int>(v);
    };
    auto as_float = [&](const char* key) {
        try {
            return py::float_(get(key)).cast<double>();
        } catch (const py::error_already_set&) {
            throw py::value_error(std::string("ODE problem: '") + key + "' must be a number");
        }
    };
    auto as_vector = [&](const char* key) {
        if (!d.contains(key)) return std::vector<double>();
        try {
            darray a = darray::ensure(d[key]);
            if (!a || a.ndim() != 1) throw py::value_error("");
            return std::vector<double>(a.data(), a.data() + a.size());
        } catch (const py::error_already_set&) {
            throw py::value_error(std::string("ODE problem: '") + key + "' must be a list of numbers");
        } catch (const py::value_error&) {
            throw py::value_error(std::string("ODE problem: '") + key + "' must be a list of numbers");
        }
    };
    ode::Problem pb;
    const int trial = as_int("trial");
    if (trial < 0 || trial > 2)
        throw py::value_error("ODE problem: unknown trial code " + std::to_string(trial) +
                              " (0: y' = f, 1: y'' = f, 2: boundary value problem)");
    pb.trial = static_cast<ode::Trial>(trial);
    pb.a = as_float("a");
    pb.b = as_float("b");
    pb.order = as_int("order");
    pb.y0 = as_vector("y0");
    pb.dy0 = as_vector("dy0");
    pb.ya = as_vector("ya");
    pb.yb = as_vector("yb");
    pb.validate(m);
    return pb;
}

// f and its partials from a compiled tape over the variables (x, y1..ym[, dy1..dym]).
class TapeRhs final : public ode::Rhs {
public:
    TapeRhs(std::shared_ptr<fastcalc::Tape> t, int m, bool second) : t_(std::move(t)), m_(m), second_(second) {
        const int nv = 1 + m * (second ? 2 : 1);
        if (t_->n_vars() != nv || t_->n_outputs() != m)
            throw py::value_error("right-hand side tape has the wrong number of variables or components");
    }
    void eval(const double* x, const double* y, const double* dy, std::size_t K, double* f, double* fy,
              double* fdy) const override {
        const std::size_t M = static_cast<std::size_t>(m_), nv = 1 + M * (second_ ? 2 : 1);
        X_.resize(K * nv);  // reused across calls (one Rhs per call from Python)
        G_.resize(K * M * nv);
        std::vector<double>& X = X_;
        std::vector<double>& G = G_;
        for (std::size_t k = 0; k < K; ++k) {
            X[k * nv] = x[k];
            for (std::size_t i = 0; i < M; ++i) {
                X[k * nv + 1 + i] = y[k * M + i];
                if (second_) X[k * nv + 1 + M + i] = dy[k * M + i];
            }
        }
        fastcalc::TapeOptions o;
        o.parallel = false;
        t_->gradient(X.data(), K, f, G.data(), o);
        for (std::size_t k = 0; k < K; ++k)
            for (std::size_t i = 0; i < M; ++i)
                for (std::size_t l = 0; l < M; ++l) {
                    fy[(k * M + i) * M + l] = G[(k * M + i) * nv + 1 + l];
                    if (fdy) fdy[(k * M + i) * M + l] = G[(k * M + i) * nv + 1 + M + l];
                }
    }

private:
    std::shared_ptr<fastcalc::Tape> t_;
    int m_;
    bool second_;
    mutable std::vector<double> X_, G_;
};

// A vectorized Python rhs(x, y[, dy]) with y (K, m); partials from jac(...) -> (K, m, m)
// (a pair of them for order 2) or central differences. Exceptions it raises propagate unchanged.
class PyRhs final : public ode::Rhs {
public:
    PyRhs(py::object f, py::object jac, int m, bool second) : f_(std::move(f)), jac_(std::move(jac)), m_(m), second_(second) {}
    ~PyRhs() override {
        py::gil_scoped_acquire gil;
        f_ = py::object();
        jac_ = py::object();
    }
    bool chunkable() const override { return false; }
    void eval(const double* x, const double* y, const double* dy, std::size_t K, double* f, double* fy,
              double* fdy) const override {
        py::gil_scoped_acquire gil;
        const std::size_t M = static_cast<std::size_t>(m_);
        auto arr = [&](const double* src, bool matrix) {
            py::array_t<double> a = matrix ? py::array_t<double>({static_cast<py::ssize_t>(K), static_cast<py::ssize_t>(M)})
                                           : py::array_t<double>({static_cast<py::ssize_t>(K)});
            std::memcpy(a.mutable_data(), src, (matrix ? K * M : K) * sizeof(double));
            return a;
        };
        auto call = [&](const py::array_t<double>& Y, const py::array_t<double>& DY, double* out) {
            py::object r = second_ ? f_(arr(x, false), Y, DY) : f_(arr(x, false), Y);
            darray res = darray::ensure(r);
            if (!res || static_cast<std::size_t>(res.size()) != K * M)
                throw py::value_error("rhs must return an array of shape (len(x), m) (or (len(x),) for one equation)");
            std::memcpy(out, res.data(), K * M * sizeof(double));
        };
        py::array_t<double> Y = arr(y, true), DY = second_ ? arr(dy, true) : arr(y, true);
        call(Y, DY, f);
        if (!fy) return;
        if (!jac_.is_none()) {
            py::object r = second_ ? jac_(arr(x, false), Y, DY) : jac_(arr(x, false), Y);
            auto take = [&](const py::handle& h, double* out) {
                darray a = darray::ensure(h);
                if (!a || static_cast<std::size_t>(a.size()) != K * M * M)
                    throw py::value_error("jac must return an array of shape (len(x), m, m)");
                std::memcpy(out, a.data(), K * M * M * sizeof(double));
            };
            if (second_) {
                if (!py::isinstance<py::tuple>(r) || py::len(r) != 2)
                    throw py::value_error("jac must return a pair (df/dy, df/ddy) for a second-order problem");
                py::tuple tpl = r.cast<py::tuple>();
                take(tpl[0], fy);
                if (fdy) take(tpl[1], fdy);
            } else {
                take(r, fy);
            }
            return;
        }
        // central differences in each unknown (and each derivative for order 2)
        std::vector<double> fp(K * M), fm(K * M);
        for (int which = 0; which < (second_ ? 2 : 1); ++which) {
            const double* base = which == 0 ? y : dy;
            double* out = which == 0 ? fy : fdy;
            if (!out) continue;
            for (std::size_t l = 0; l < M; ++l) {
                std::vector<double> up(base, base + K * M), dn(base, base + K * M), hs(K);
                for (std::size_t k = 0; k < K; ++k) {
                    hs[k] = 6.0554544523933395e-06 * std::max(1.0, std::fabs(base[k * M + l]));
                    up[k * M + l] += hs[k];
                    dn[k * M + l] -= hs[k];
                }
                if (which == 0) {
                    call(arr(up.data(), true), DY, fp.data());
                    call(arr(dn.data(), true), DY, fm.data());
                } else {
                    call(Y, arr(up.data(), true), fp.data());
                    call(Y, arr(dn.data(), true), fm.data());
                }
                for (std::size_t k = 0; k < K; ++k)
                    for (std::size_t i = 0; i < M; ++i)
                        out[(k * M + i) * M + l] = (fp[k * M + i] - fm[k * M + i]) / (2 * hs[k]);
            }
        }
    }

private:
    py::object f_, jac_;
    int m_;
    bool second_;
};

// For calls that need no right-hand side (the trial solution).
class NoRhs final : public ode::Rhs {
public:
    void eval(const double*, const double*, const double*, std::size_t, double*, double*, double*) const override {
        throw std::logic_error("no right-hand side");
    }
};

std::unique_ptr<ode::Rhs> make_rhs(const py::object& rhs, const py::object& jac, int m, bool second) {
    if (py::isinstance<fastcalc::Tape>(rhs))
        return std::make_unique<TapeRhs>(rhs.cast<std::shared_ptr<fastcalc::Tape>>(), m, second);
    if (!PyCallable_Check(rhs.ptr())) throw py::value_error("rhs must be a compiled tape or a callable");
    if (!jac.is_none() && !PyCallable_Check(jac.ptr())) throw py::value_error("jac must be callable");
    return std::make_unique<PyRhs>(rhs, jac, m, second);
}

std::vector<double> vec(const darray& a) { return std::vector<double>(a.data(), a.data() + a.size()); }

void check_params(const ode::Net& net, const darray& p) {
    if (p.ndim() != 1 || static_cast<std::size_t>(p.size()) != net.n_params())
        throw py::value_error("ODE network: " + std::to_string(p.size()) + " parameters given for a network of " +
                              std::to_string(net.n_params()));
}

darray flat(const darray& x, const char* what) {
    if (x.ndim() != 1) throw py::value_error(std::string(what) + " must be one-dimensional");
    return x;
}

py::dict estimate_dict(ode::ErrorEstimate&& e, std::size_t m) {
    py::dict d;
    const auto nx = static_cast<py::ssize_t>(e.x.size()), sm = static_cast<py::ssize_t>(m);
    d["x"] = to_array(std::move(e.x), {nx});
    d["e"] = to_array(std::move(e.e), {nx, sm});
    d["de"] = to_array(std::move(e.de), {nx, sm});
    const auto S = static_cast<py::ssize_t>(e.end.size());
    d["end"] = to_array(std::move(e.end), {S});
    d["phi"] = e.phi.empty() ? py::object(py::none()) : py::object(to_array(std::move(e.phi), {S, S}));
    d["phis"] = e.phis.empty() ? py::object(py::none()) : py::object(to_array(std::move(e.phis), {nx, S, S}));
    d["max"] = e.max_abs;
    d["integration_error"] = e.integration_error;
    d["steps"] = e.steps;
    d["converged"] = e.converged;
    d["finite"] = e.finite;
    d["interrupted"] = e.interrupted;
    return d;
}

}  // namespace

void register_ode(py::module_& m) {
    m.def("ode_n_params", [](std::vector<int> widths, int outputs) {
        return make_net(widths, outputs, 0).n_params();
    });
    m.def("ode_init", [](std::vector<int> widths, int outputs, int act, std::uint64_t seed) {
        return ode::init_params(make_net(widths, outputs, act), seed);
    });
    m.def("ode_trial", [](std::vector<int> widths, int outputs, int act, py::dict problem, darray p, darray x) {
        // y, y', y'' of the trial solution (K, m) each: the same code training uses
        ode::Net net = make_net(widths, outputs, act);
        ode::Problem pb = make_problem(problem, outputs);
        check_params(net, p);
        flat(x, "x");
        const std::size_t K = static_cast<std::size_t>(x.size()), M = static_cast<std::size_t>(outputs);
        std::vector<double> y(K * M), y1(K * M), y2(K * M);
        NoRhs none;
        {
            py::gil_scoped_release release;
            ode::Model model(net, pb, none);
            model.trial(p.data(), x.data(), K, y.data(), y1.data(), y2.data());
        }
        const auto sK = static_cast<py::ssize_t>(K), sM = static_cast<py::ssize_t>(M);
        return py::make_tuple(to_array(std::move(y), {sK, sM}), to_array(std::move(y1), {sK, sM}),
                              to_array(std::move(y2), {sK, sM}));
    });
    m.def(
        "ode_residuals",
        [](std::vector<int> widths, int outputs, int act, py::dict problem, py::object rhs, py::object jac, darray p,
           darray x, bool with_jacobian) {
            ode::Net net = make_net(widths, outputs, act);
            ode::Problem pb = make_problem(problem, outputs);
            auto f = make_rhs(rhs, jac, outputs, pb.order == 2);
            check_params(net, p);
            flat(x, "x");
            const std::size_t K = static_cast<std::size_t>(x.size()), M = static_cast<std::size_t>(outputs),
                              P = net.n_params();
            if (with_jacobian && static_cast<double>(K * M) * static_cast<double>(P) * 8.0 > 4.0 * (1u << 30))
                throw py::value_error("the residual Jacobian would exceed 4 GB");
            std::vector<double> r(K * M), J(with_jacobian ? K * M * P : 0);
            {
                py::gil_scoped_release release;
                ode::residuals(net, pb, *f, p.data(), x.data(), K, r.data(), with_jacobian ? J.data() : nullptr);
            }
            py::object Jo = py::none();
            if (with_jacobian) Jo = to_array(std::move(J), {static_cast<py::ssize_t>(K * M), static_cast<py::ssize_t>(P)});
            return py::make_tuple(to_array(std::move(r), {static_cast<py::ssize_t>(K), static_cast<py::ssize_t>(M)}), Jo);
        });
    m.def("ode_gradient", [](std::vector<int> widths, int outputs, int act, py::dict problem, py::object rhs,
                             py::object jac, darray p, darray x) {
        // the loss (mean squared residual) and its gradient, as Adam and L-BFGS use them
        ode::Net net = make_net(widths, outputs, act);
        ode::Problem pb = make_problem(problem, outputs);
        auto f = make_rhs(rhs, jac, outputs, pb.order == 2);
        check_params(net, p);
        flat(x, "x");
        const std::size_t K = static_cast<std::size_t>(x.size()), M = static_cast<std::size_t>(outputs);
        std::vector<double> r(K * M), g(net.n_params());
        double loss;
        {
            py::gil_scoped_release release;
            loss = ode::loss_gradient(net, pb, *f, p.data(), x.data(), K, r.data(), g.data());
        }
        const auto nP = static_cast<py::ssize_t>(g.size());
        return py::make_tuple(loss, to_array(std::move(g), {nP}));
    });
    m.def("ode_rhs", [](py::object rhs, py::object jac, int outputs, int order, darray x, darray y, darray dy) {
        // f and f_y (f_dy) at points: y, dy (K, m)
        if (outputs < 1) throw py::value_error("need at least one equation");
        if (order != 1 && order != 2) throw py::value_error("order must be 1 or 2");
        auto f = make_rhs(rhs, jac, outputs, order == 2);
        const std::size_t K = static_cast<std::size_t>(x.size()), M = static_cast<std::size_t>(outputs);
        if (static_cast<std::size_t>(y.size()) != K * M || (order == 2 && static_cast<std::size_t>(dy.size()) != K * M))
            throw py::value_error("y (and dy) must have len(x) * m values");
        std::vector<double> fv(K * M), fy(K * M * M), fdy(order == 2 ? K * M * M : 0);
        {
            py::gil_scoped_release release;
            f->eval(x.data(), y.data(), order == 2 ? dy.data() : nullptr, K, fv.data(), fy.data(),
                    order == 2 ? fdy.data() : nullptr);
        }
        const auto sK = static_cast<py::ssize_t>(K), sM = static_cast<py::ssize_t>(M);
        py::object fdo = py::none();
        if (order == 2) fdo = to_array(std::move(fdy), {sK, sM, sM});
        return py::make_tuple(to_array(std::move(fv), {sK, sM}), to_array(std::move(fy), {sK, sM, sM}), fdo);
    });
    m.def(
        "ode_train",
        [](std::vector<int> widths, int outputs, int act, py::dict problem, py::object rhs, py::object jac, darray p0,
           darray x, int optimizer, double lr, int epochs, double tol, int report_every, py::object callback,
           int stall_window, double stall_ratio) {
            ode::Net net = make_net(widths, outputs, act);
            ode::Problem pb = make_problem(problem, outputs);
            auto f = make_rhs(rhs, jac, outputs, pb.order == 2);
            check_params(net, p0);
            flat(x, "collocation points");
            if (optimizer < 0 || optimizer > 2) throw py::value_error("unknown optimizer code");
            if (!(lr > 0) || !std::isfinite(lr)) throw py::value_error("lr must be positive and finite");
            if (epochs < 0) throw py::value_error("epochs must be >= 0");
            if (std::isnan(tol)) throw py::value_error("tol must not be NaN");
            if (!callback.is_none() && !PyCallable_Check(callback.ptr())) throw py::value_error("callback must be callable");
            ode::TrainOptions o;
            o.optimizer = static_cast<ode::Optimizer>(optimizer);
            o.lr = lr;
            o.epochs = epochs;
            o.tol = tol;
            o.report_every = report_every;
            if (stall_window < 1 || !(stall_ratio > 0 && stall_ratio <= 1))
                throw py::value_error("stall_window must be >= 1 and stall_ratio in (0, 1]");
            o.stall_window = stall_window;
            o.stall_ratio = stall_ratio;
            ode::Callback cb;
            if (!callback.is_none())
                cb = [&callback](int epoch, double loss) {
                    py::gil_scoped_acquire gil;
                    return py::bool_(callback(epoch, loss)).cast<bool>();
                };
            fastcalc_py::PyInterrupt intr;
            std::vector<double> p = vec(p0), xs = vec(x);
            ode::TrainResult res;
            {
                py::gil_scoped_release release;
                res = ode::train(net, pb, *f, std::move(p), xs, o, cb, intr);
            }
            py::dict d;
            d["params"] = to_array(std::move(res.params), {static_cast<py::ssize_t>(net.n_params())});
            const auto nh = static_cast<py::ssize_t>(res.loss_history.size());
            d["loss_history"] = to_array(std::move(res.loss_history), {nh});
            d["epochs"] = res.epochs;
            d["interrupted"] = res.interrupted;
            d["stop"] = res.stop;
            return d;
        },
        py::arg("widths"), py::arg("outputs"), py::arg("act"), py::arg("problem"), py::arg("rhs"), py::arg("jac"),
        py::arg("p0"), py::arg("x"), py::arg("optimizer"), py::arg("lr"), py::arg("epochs"), py::arg("tol"),
        py::arg("report_every"), py::arg("callback"), py::arg("stall_window") = 100, py::arg("stall_ratio") = 0.99);
    m.def(
        "ode_error",
        [](std::vector<int> widths, int outputs, int act, py::dict problem, py::object rhs, py::object jac, darray p,
           darray e0, std::size_t min_steps, std::size_t max_steps, double floor) {
            // the linearized error equation along the trained solution (see ode.hpp)
            ode::Net net = make_net(widths, outputs, act);
            ode::Problem pb = make_problem(problem, outputs);
            auto f = make_rhs(rhs, jac, outputs, pb.order == 2);
            check_params(net, p);
            ode::ErrorOptions o;
            o.min_steps = min_steps;
            o.max_steps = max_steps;
            o.floor = floor;
            fastcalc_py::PyInterrupt intr;
            std::vector<double> pv = vec(p), ev = vec(e0);
            ode::ErrorEstimate e;
            {
                py::gil_scoped_release release;
                e = ode::estimate_error(net, pb, *f, pv, ev, o, intr);
            }
            return estimate_dict(std::move(e), static_cast<std::size_t>(outputs));
        });
}
