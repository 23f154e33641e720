#include "pybind.hpp"

#include "pycallback.hpp"

#include <fastcalc/ode.hpp>
#include <fastcalc/tape.hpp>

#include <cstring>
#include <stdexcept>

namespace ode = fastcalc::ode;
using fastcalc_py::to_array;

namespace {

ode::Net make_net(const std::vector<int>& widths, int m, int act) {
    if (act < 0 || act > 2) throw py::value_error("unknown activation code");
    for (int w : widths)
        if (w < 1) throw py::value_error("hidden widths must be positive");
    if (m < 1) throw py::value_error("need at least one output");
    ode::Net net;
    net.widths = widths;
    net.m = m;
    net.act = static_cast<ode::Activation>(act);
    return net;
}

ode::Problem make_problem(const py::dict& d) {
    ode::Problem pb;
    pb.trial = static_cast<ode::Trial>(d["trial"].cast<int>());
    pb.a = d["a"].cast<double>();
    pb.b = d["b"].cast<double>();
    pb.order = d["order"].cast<int>();
    for (const char* k : {"y0", "dy0", "ya", "yb"}) {
        std::vector<double> v = d.contains(k) ? d[k].cast<std::vector<double>>() : std::vector<double>();
        if (std::strcmp(k, "y0") == 0) pb.y0 = v;
        else if (std::strcmp(k, "dy0") == 0) pb.dy0 = v;
        else if (std::strcmp(k, "ya") == 0) pb.ya = v;
        else pb.yb = v;
    }
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
        X_.resize(K * nv);  // reused across epochs (one Rhs per training run)
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
// (a pair of them for order 2) or central differences.
class PyRhs final : public ode::Rhs {
public:
    PyRhs(py::object f, py::object jac, int m, bool second) : f_(std::move(f)), jac_(std::move(jac)), m_(m), second_(second) {}
    ~PyRhs() override {
        py::gil_scoped_acquire gil;
        f_ = py::object();
        jac_ = py::object();
    }
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
        if (!jac_.is_none()) {
            py::object r = second_ ? jac_(arr(x, false), Y, DY) : jac_(arr(x, false), Y);
            auto take = [&](const py::handle& h, double* out) {
                darray a = darray::ensure(h);
                if (!a || static_cast<std::size_t>(a.size()) != K * M * M)
                    throw py::value_error("jac must return an array of shape (len(x), m, m)");
                std::memcpy(out, a.data(), K * M * M * sizeof(double));
            };
            if (second_) {
                py::tuple tpl = r.cast<py::tuple>();
                take(tpl[0], fy);
                take(tpl[1], fdy);
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

std::unique_ptr<ode::Rhs> make_rhs(const py::object& rhs, const py::object& jac, int m, bool second) {
    if (py::isinstance<fastcalc::Tape>(rhs))
        return std::make_unique<TapeRhs>(rhs.cast<std::shared_ptr<fastcalc::Tape>>(), m, second);
    return std::make_unique<PyRhs>(rhs, jac, m, second);
}

std::vector<double> vec(const darray& a) { return std::vector<double>(a.data(), a.data() + a.size()); }

}  // namespace

void register_ode(py::module_& m) {
    m.def("ode_init", [](std::vector<int> widths, int outputs, int act, std::uint64_t seed) {
        return ode::init_params(make_net(widths, outputs, act), seed);
    });
    m.def("ode_trial", [](std::vector<int> widths, int outputs, int act, py::dict problem, darray p, darray x) {
        // y, y', y'' of the trial solution (K, m) each: the same code training uses
        ode::Net net = make_net(widths, outputs, act);
        ode::Problem pb = make_problem(problem);
        if (static_cast<std::size_t>(p.size()) != net.n_params()) throw py::value_error("wrong number of parameters");
        const std::size_t K = static_cast<std::size_t>(x.size()), M = static_cast<std::size_t>(outputs);
        std::vector<double> N(K * M), d1(K * M), d2(K * M), y(K * M), y1(K * M), y2(K * M);
        {
            py::gil_scoped_release release;
            net.eval(p.data(), x.data(), K, N.data(), d1.data(), d2.data());
            pb.trial_values(x.data(), K, outputs, N.data(), d1.data(), d2.data(), y.data(), y1.data(), y2.data());
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
            ode::Problem pb = make_problem(problem);
            auto f = make_rhs(rhs, jac, outputs, pb.order == 2);
            if (static_cast<std::size_t>(p.size()) != net.n_params()) throw py::value_error("wrong number of parameters");
            const std::size_t K = static_cast<std::size_t>(x.size()), M = static_cast<std::size_t>(outputs),
                              P = net.n_params();
            std::vector<double> r(K * M), J(with_jacobian ? K * M * P : 0);
            {
                py::gil_scoped_release release;
                ode::residuals(net, pb, *f, p.data(), x.data(), K, r.data(), with_jacobian ? J.data() : nullptr);
            }
            py::object Jo = py::none();
            if (with_jacobian) Jo = to_array(std::move(J), {static_cast<py::ssize_t>(K * M), static_cast<py::ssize_t>(P)});
            return py::make_tuple(to_array(std::move(r), {static_cast<py::ssize_t>(K), static_cast<py::ssize_t>(M)}), Jo);
        });
    m.def(
        "ode_train",
        [](std::vector<int> widths, int outputs, int act, py::dict problem, py::object rhs, py::object jac, darray p0,
           darray x, int optimizer, double lr, int epochs, double tol, int report_every, py::object callback) {
            ode::Net net = make_net(widths, outputs, act);
            ode::Problem pb = make_problem(problem);
            auto f = make_rhs(rhs, jac, outputs, pb.order == 2);
            ode::TrainOptions o;
            o.optimizer = static_cast<ode::Optimizer>(optimizer);
            o.lr = lr;
            o.epochs = epochs;
            o.tol = tol;
            o.report_every = report_every;
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
        });
}
