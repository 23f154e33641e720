// The two interfaces through which the core meets the outside world: a function evaluated on a
// batch of points, and a hook that long loops poll so that a caller can stop them (Ctrl-C).
// Implementations live elsewhere: compiled C callbacks and the expression tape in the core,
// Python callables in the bindings. Nothing here knows about Python.
#pragma once

#include <cstddef>
#include <stdexcept>

namespace fastcalc {

class BatchFunction {
public:
    virtual ~BatchFunction() = default;
    // X is (count, in_dim) row-major; Y receives (count, out_dim) row-major.
    virtual void eval(const double* X, std::size_t count, double* Y) const = 0;
    virtual std::size_t in_dim() const = 0;
    virtual std::size_t out_dim() const = 0;
    // True when each call has a high fixed cost (a Python function): callers then pass as many
    // points per call as they can. Otherwise they may work in cache-sized chunks.
    virtual bool batch_all() const { return false; }

    // Calls without copies, for functions that have their own argument and result arrays (a
    // Python f): a caller may write the points of its next call to points_buffer(count, own)
    // instead of its own buffer, and read the values from the pointer eval_view() returns, valid
    // until the next call of this function. The defaults are the caller's buffers and eval().
    virtual double* points_buffer(std::size_t /*count*/, double* own) const { return own; }
    virtual const double* eval_view(const double* X, std::size_t count, double* Y) const {
        eval(X, count, Y);
        return Y;
    }
};

// Polled between units of work. check() throws to abort; the default never does.
class Interrupt {
public:
    virtual ~Interrupt() = default;
    virtual void check() const {}
    // For loops that stop gracefully and keep their result: true once a stop was asked for
    // (the request is consumed).
    virtual bool requested() const { return false; }
};

// Thrown by the core for invalid arguments that the Python layer did not already catch.
class invalid_argument : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// Compiled callbacks in the SciPy LowLevelCallable convention.
using scalar_fn = double (*)(double);
using scalar_fn_data = double (*)(double, void*);
using nd_fn = double (*)(int, const double*, void*);

// double f(double) applied to every point (in_dim 1, out_dim 1).
class ScalarCallback final : public BatchFunction {
public:
    ScalarCallback(scalar_fn f) : f_(f) {}
    ScalarCallback(scalar_fn_data f, void* data) : fd_(f), data_(data) {}
    void eval(const double* X, std::size_t count, double* Y) const override {
        if (f_) {
            for (std::size_t i = 0; i < count; ++i) Y[i] = f_(X[i]);
        } else {
            for (std::size_t i = 0; i < count; ++i) Y[i] = fd_(X[i], data_);
        }
    }
    std::size_t in_dim() const override { return 1; }
    std::size_t out_dim() const override { return 1; }

private:
    scalar_fn f_ = nullptr;
    scalar_fn_data fd_ = nullptr;
    void* data_ = nullptr;
};

// double f(int n, const double* x, void* user_data): R^n -> R, one point per call.
class NdCallback final : public BatchFunction {
public:
    NdCallback(nd_fn f, int n, void* data) : f_(f), n_(n), data_(data) {}
    void eval(const double* X, std::size_t count, double* Y) const override {
        for (std::size_t i = 0; i < count; ++i) Y[i] = f_(n_, X + i * static_cast<std::size_t>(n_), data_);
    }
    std::size_t in_dim() const override { return static_cast<std::size_t>(n_); }
    std::size_t out_dim() const override { return 1; }

private:
    nd_fn f_;
    int n_;
    void* data_;
};

}  // namespace fastcalc
