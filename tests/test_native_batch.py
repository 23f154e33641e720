"""The native batch kernels (_jit.py) against the tape they stand in for: the same values and
gradients, NaN where the tape has NaN, the interpreter whenever no kernel can be built."""
import pickle
import threading

import numpy as np
import pytest

import fastcalc as fc
from fastcalc import _jit
from fastcalc.optimize import _program

N = fc.Expr._NATIVE_MIN + 13  # not a multiple of the vector width: the scalar tail runs too

# Every operation the kernels emit: libmvec's functions, tanh from expm1, sigmoid without a
# branch, integer and real powers, abs (its derivative is sign).
CASES = [
    ("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)", (-2, 2)),
    ("log(x)*sqrt(y) + x**y", (0.1, 3)),
    ("tan(x/2) + atan(y) + asin(x/4) * acos(y/4)", (-1.5, 1.5)),
    ("sinh(x) - cosh(y) + sigmoid(x*y) + abs(x - y)", (-30, 30)),
    ("x**-3 + 1/(x*y) - y**5/x", (0.5, 2)),
    ("tanh(x*y) * sec(x) + log(x**2 + y**2, 10)", (-25, 25)),
]


def _kernel_or_skip(f, order):
    addr = f._native(order)
    if addr is None:
        pytest.skip("no native kernel here (no C++ compiler or no libmvec)")
    return addr


def _columns(lo, hi, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(lo, hi, N), rng.uniform(lo, hi, N)
    x[:4] = [np.nan, np.inf, -np.inf, 0.0]  # the tape's answers at these, whatever they are
    y[4:6] = [np.nan, 0.0]
    return [x, y]


def _agree(native, tape):
    """Equal NaN positions; elsewhere the same numbers up to rounding: libm's scalar tail, and
    the Program's simplified reverse mode (program.cpp) sums some terms in another order than
    the tape's adjoints, which shows where a gradient cancels (measured: 1 ulp of its terms)."""
    native, tape = np.asarray(native, dtype=float), np.asarray(tape, dtype=float)
    if native.ndim == 1:
        native, tape = native[:, None], tape[:, None]
    assert np.array_equal(np.isnan(native), np.isnan(tape))
    for a, b in zip(native.T, tape.T):
        ok = np.isfinite(b)
        assert np.array_equal(a[~ok & ~np.isnan(b)], b[~ok & ~np.isnan(b)])  # the same infinities
        scale = np.median(np.abs(b[ok]))
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-13, atol=1e-13 * scale)


@pytest.mark.parametrize("text, box", CASES)
def test_native_value_and_gradient_equal_the_tapes(text, box):
    f = fc.expr(text, vars=["x", "y"])
    _kernel_or_skip(f, 1)
    cols = _columns(*box)
    with np.errstate(all="ignore"):
        R = f._run_native(1, cols)
        Y, G = f._tape().gradient_columns(cols)
    _agree(R[0], Y[:, 0])
    _agree(R[1:].T, G[:, 0, :])


@pytest.mark.parametrize("text, box", CASES)
def test_native_values_equal_the_tapes(text, box):
    f = fc.expr(text, vars=["x", "y"])
    _kernel_or_skip(f, 0)
    cols = _columns(*box, seed=1)
    with np.errstate(all="ignore"):
        _agree(f._run_native(0, cols)[0], f._tape().eval_columns(cols)[:, 0])


def test_public_calls_use_the_kernel_and_keep_shapes():
    f = fc.expr("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)")
    _kernel_or_skip(f, 1)
    x, y = _columns(-2, 2, seed=2)
    x, y = x[6:].reshape(-1, 1), y[6:].reshape(1, -1)[:, :3]  # broadcast to (N - 6, 3)
    v, g = f.value_and_gradient(x=x, y=y)
    assert v.shape == (N - 6, 3) and g.shape == (N - 6, 3, 2)
    xb, yb = np.broadcast_arrays(x, y)
    Y, G = f._tape().gradient_columns([np.ascontiguousarray(xb).ravel(), np.ascontiguousarray(yb).ravel()])
    _agree(v.ravel(), Y[:, 0])
    _agree(g.reshape(-1, 2), G[:, 0, :])
    _agree(f(x=x, y=y).ravel(), Y[:, 0])


def test_small_batches_stay_on_the_tape():
    f = fc.expr("sin(x) + y")
    assert f._run_native(1, [np.zeros(10), np.zeros(10)]) is None


def test_no_kernel_when_disabled(monkeypatch):
    monkeypatch.setenv("FASTCALC_JIT", "0")
    f = fc.expr("cos(x) * y + 0.25")  # a new expression: nothing cached
    assert f._native(1) is None
    v, g = f.value_and_gradient(x=np.ones(N), y=np.full(N, 2.0))  # the tape answers
    np.testing.assert_allclose(v, 2 * np.cos(1.0) + 0.25, rtol=1e-15)
    np.testing.assert_allclose(g[:, 0], -2 * np.sin(1.0), rtol=1e-15)


def test_kernel_source_has_no_merged_sincos_and_uses_vector_math():
    src = _jit.batch_source(_program(fc.expr("sin(3*x)*cos(3*x) + exp(y)"), 1))
    assert "fc_v_sin(" in src and "fc_v_cos(" in src and "fc_v_exp(" in src
    assert '__asm__("sin")' in src and 'simd("notinbranch")' in src


def test_threads_and_pickling_after_native_use():
    f = fc.expr("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)")
    _kernel_or_skip(f, 1)
    x, y = _columns(-2, 2, seed=3)
    x, y = x[6:], y[6:]
    want = f.value_and_gradient(x=x, y=y)
    out = [None] * 4

    def work(i):
        out[i] = f.value_and_gradient(x=x, y=y)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for v, g in out:
        assert np.array_equal(v, want[0]) and np.array_equal(g, want[1])
    g2 = pickle.loads(pickle.dumps(f))
    assert g2 == f and np.array_equal(g2.value_and_gradient(x=x, y=y)[1], want[1])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_exact_derivatives_of_large_batches_equal_the_tapes(n):
    f = fc.expr("x**3*exp(-x) + sin(3*x)*tanh(x)")
    g = f
    for _ in range(max(0, n - 2)):
        g = g.diff("x")
    _kernel_or_skip(g, min(n, 2))
    x = np.random.default_rng(4).uniform(-3, 3, N)
    got = fc.derivative(f, x, n=n)
    if n == 1:
        want = g._tape().gradient(x[:, None])[1][:, 0, 0]
    else:
        want = g._tape().hessian(x[:, None])[:, 0, 0, 0]
    _agree(got, want)


def test_exact_gradient_and_hessian_of_large_batches_equal_the_tapes():
    f = fc.expr("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)")
    _kernel_or_skip(f, 2)
    X = np.random.default_rng(5).uniform(-2, 2, (N, 2))
    info = fc.gradient(f, X, full_output=True)
    g = info.df
    assert g.shape == (N, 2) and info.error.shape == (N, 2)
    _agree(g, f._tape().gradient(X)[1][:, 0, :])
    H = fc.hessian(f, X)
    assert H.shape == (N, 2, 2)
    _agree(H.reshape(N, 4), f._tape().hessian(X)[:, 0].reshape(N, 4))


def test_threads_split_the_batch_without_changing_a_bit():
    f = fc.expr("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)")
    hit = _kernel_or_skip(f, 1)
    rng = np.random.default_rng(6)
    cols = [rng.uniform(-2, 2, 3 * N + 5), rng.uniform(-2, 2, 3 * N + 5)]
    one = _jit.run_batch(hit[0], cols, hit[2], threads=1)
    for threads in (2, 3, 8):  # 8: more than the batch has room for (65,536 points each)
        assert np.array_equal(_jit.run_batch(hit[0], cols, hit[2], threads=threads), one)


def test_kernel_gives_the_tapes_bits_when_the_operations_match():
    # The benchmark function: the Program's reverse mode performs the tape's operations in the
    # tape's order, and both use libmvec for every point (tails padded), so every bit agrees.
    f = fc.expr("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)")
    _kernel_or_skip(f, 1)
    x, y = _columns(-2, 2, seed=7)
    x, y = x[6:], y[6:]
    R = f._run_native(1, [x, y])
    Y, G = f._tape().gradient_columns([x, y])
    assert np.array_equal(R[0], Y[:, 0]) and np.array_equal(R[1:].T, G[:, 0, :])


def test_long_programs_stay_with_the_interpreter():
    # compiling 20,000 instructions took two minutes: such an expression must not stall a call
    text = " + ".join(f"sin({i}*x + y)*exp(-{i}*x*y)" for i in range(1, 400))
    f = fc.expr(text)
    assert _program(f, 1).n_instructions > _jit.MAX_INSTRUCTIONS
    assert f._native(1) is None
    x = np.linspace(0, 1, N)
    v, g = f.value_and_gradient(x=x, y=x)  # the tape answers
    assert v.shape == (N,) and g.shape == (N, 2)


def test_row_major_matrices_run_in_place_with_the_same_bits():
    f = fc.expr("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)")
    _kernel_or_skip(f, 1)
    X = np.random.default_rng(8).uniform(-2, 2, (N, 2))  # N: a tail too
    by_rows = f(X)
    v, g = f.value_and_gradient(X)
    assert by_rows.shape == (N,) and v.shape == (N,) and g.shape == (N, 2)
    x, y = np.ascontiguousarray(X[:, 0]), np.ascontiguousarray(X[:, 1])
    assert np.array_equal(by_rows, f(x=x, y=y))
    v2, g2 = f.value_and_gradient(x=x, y=y)
    assert np.array_equal(v, v2) and np.array_equal(g, g2)
    _agree(by_rows, f._tape().eval(X)[:, 0])
    X3 = X[: 3 * (N // 3)].reshape(3, -1, 2)  # any leading shape
    assert np.array_equal(f(X3), by_rows[: X3.shape[0] * X3.shape[1]].reshape(X3.shape[:2]))
