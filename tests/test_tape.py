"""The C++ tape against its NumPy interpreter: values, forward and reverse mode, Hessians."""
import pickle

import numpy as np
import pytest

from fastcalc import _core
from fastcalc.reference import tape as rt


class Prog:
    """Builds tape arrays by hand: each method appends an instruction and returns its slot."""

    def __init__(self, n_vars):
        self.ops, self.args, self.consts, self.n_vars = [], [], [], n_vars

    def _add(self, op, a=-1, b=-1, c=0.0):
        self.ops.append(op)
        self.args.append([a, b])
        self.consts.append(float(c))
        return len(self.ops) - 1

    def var(self, k):
        return self._add(rt.VAR, c=k)

    def const(self, c):
        return self._add(rt.CONST, c=c)

    def op(self, op, a, b=-1, c=0.0):
        return self._add(op, a, b, c)

    def arrays(self, outputs):
        return (np.array(self.ops, np.int32), np.array(self.args, np.int32), np.array(self.consts),
                self.n_vars, np.array(outputs, np.int32))

    def tape(self, outputs):
        return _core.Tape(*self.arrays(outputs))


def every_opcode():
    """A 2-variable tape using every opcode, inputs kept inside every domain (x, y in (-0.9, 0.9))."""
    p = Prog(2)
    x, y = p.var(0), p.var(1)
    half = p.const(0.5)
    two = p.const(2.0)
    outs = [
        p.op(rt.ADD, x, y), p.op(rt.SUB, x, y), p.op(rt.MUL, x, y), p.op(rt.DIV, x, p.op(rt.ADD, y, two)),
        p.op(rt.NEG, x), p.op(rt.POW, p.op(rt.ADD, x, two), y), p.op(rt.POWI, x, c=3), p.op(rt.POWI, p.op(rt.ADD, y, two), c=-2),
        p.op(rt.EXP, x), p.op(rt.LOG, p.op(rt.ADD, y, two)), p.op(rt.SIN, x), p.op(rt.COS, y), p.op(rt.TAN, x),
        p.op(rt.ASIN, x), p.op(rt.ACOS, y), p.op(rt.ATAN, x), p.op(rt.SINH, y), p.op(rt.COSH, x), p.op(rt.TANH, y),
        p.op(rt.SQRT, p.op(rt.ADD, x, two)), p.op(rt.ABS, x), p.op(rt.SIGMOID, p.op(rt.MUL, y, half)),
    ]
    # shared subexpression used twice, and a product of a slot with itself
    s = p.op(rt.SIN, p.op(rt.MUL, x, y))
    outs.append(p.op(rt.MUL, s, s))
    return p, outs


@pytest.fixture
def X(rng):
    return rng.uniform(-0.9, 0.9, (777, 2))  # not a multiple of any block or SIMD width


@pytest.mark.parametrize("simd", [True, False])
def test_eval_matches_numpy_interpreter(X, simd):
    p, outs = every_opcode()
    t = p.tape(outs)
    got = t.eval(X, simd=simd)
    want = rt.eval_tape(*p.arrays(outs), X)
    # libmvec is accurate to 4 ulp; the scalar path to 1
    np.testing.assert_allclose(got, want, rtol=8 * np.finfo(float).eps if simd else 2 * np.finfo(float).eps,
                               atol=1e-300)


def test_reverse_mode_matches_forward_mode_and_reference(X, rng):
    p, outs = every_opcode()
    t = p.tape(outs)
    Y, G = t.gradient(X)
    np.testing.assert_array_equal(Y, t.eval(X))
    V = rng.normal(size=X.shape)
    _, JV = t.jvp(X, V)
    np.testing.assert_allclose(np.einsum("kmn,kn->km", G, V), JV, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(JV, rt.jvp_tape(*p.arrays(outs), X, V), rtol=1e-12, atol=1e-12)


def test_gradient_matches_central_differences(X):
    p, outs = every_opcode()
    t = p.tape(outs)
    _, G = t.gradient(X)
    h = 1e-6
    for j in range(2):
        E = np.zeros_like(X)
        E[:, j] = h
        fd = (t.eval(X + E) - t.eval(X - E)) / (2 * h)
        np.testing.assert_allclose(G[:, :, j], fd, rtol=1e-6, atol=1e-7)


def test_hessian_matches_differences_of_the_gradient(X):
    p, outs = every_opcode()
    t = p.tape(outs)
    H = t.hessian(X[:50])
    np.testing.assert_allclose(H, np.swapaxes(H, 2, 3), rtol=1e-12, atol=1e-12)
    h = 1e-6
    for j in range(2):
        E = np.zeros_like(X[:50])
        E[:, j] = h
        fd = (t.gradient(X[:50] + E)[1] - t.gradient(X[:50] - E)[1]) / (2 * h)
        np.testing.assert_allclose(H[:, :, :, j], fd, rtol=1e-5, atol=1e-6)


def test_domain_errors_give_nan_not_a_crash():
    p = Prog(1)
    x = p.var(0)
    t = p.tape([p.op(rt.LOG, x), p.op(rt.SQRT, x), p.op(rt.ASIN, x)])
    Y = t.eval(np.array([[-2.0], [4.0]]))
    assert np.isnan(Y[0]).all() and np.isfinite(Y[1, :2]).all() and np.isnan(Y[1, 2])


@pytest.mark.parametrize("bad, message", [
    (dict(ops=[99]), "unknown opcode 99"),
    (dict(ops=[2], args=[[0, 0]]), "earlier instruction"),
    (dict(ops=[1], consts=[5.0]), "variable index"),
    (dict(outputs=[3]), "output slot 3"),
    (dict(ops=[1, 8], args=[[-1, -1], [0, -1]], consts=[0.0, 1.5]), "integer exponent"),
])
def test_malformed_tapes_are_rejected(bad, message):
    arrays = dict(ops=[1], args=[[-1, -1]], consts=[0.0], outputs=[0])
    arrays.update(bad)
    n = len(arrays["ops"])
    arrays.setdefault("args", [[-1, -1]] * n)
    if len(arrays["consts"]) != n:
        arrays["consts"] = [0.0] * n
    with pytest.raises(ValueError, match=message):
        _core.Tape(np.array(arrays["ops"]), np.array(arrays["args"]), np.array(arrays["consts"]), 1,
                   np.array(arrays["outputs"]))


def test_wrong_shape_of_X():
    p = Prog(2)
    t = p.tape([p.op(rt.ADD, p.var(0), p.var(1))])
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        t.eval(np.zeros((3, 3)))


def test_pickle_round_trip(X):
    p, outs = every_opcode()
    t = p.tape(outs)
    t2 = pickle.loads(pickle.dumps(t))
    np.testing.assert_array_equal(t2.eval(X), t.eval(X))


def test_finite_difference_kernels_run_on_a_tape(X):
    p = Prog(1)
    x = p.var(0)
    t = p.tape([p.op(rt.MUL, p.op(rt.SIN, x), p.op(rt.EXP, x))])
    xs = np.linspace(-1, 1, 7)
    res = _core.derivative(t, xs, 1, 0, 2, 0.0, True)
    np.testing.assert_allclose(res["value"], np.exp(xs) * (np.sin(xs) + np.cos(xs)), rtol=1e-11)
    with pytest.raises(ValueError, match="1 variable"):
        _core.first_partials(t, np.zeros((2, 3)), 1, 0, 2, 0.0, True)


def test_large_batches_agree_with_small(rng):
    p, outs = every_opcode()
    t = p.tape(outs)
    X = rng.uniform(-0.9, 0.9, (20_000, 2))  # many blocks (and threads, with OpenMP)
    np.testing.assert_array_equal(t.eval(X)[-5:], t.eval(X[-5:]))
    np.testing.assert_array_equal(t.gradient(X)[1][:5], t.gradient(X[:5])[1])


def test_hessian_vector_products_match_the_hessian(X, rng):
    p, outs = every_opcode()
    t = p.tape(outs)
    V = rng.normal(size=X[:30].shape)
    np.testing.assert_allclose(t.hvp(X[:30], V), np.einsum("kmij,kj->kmi", t.hessian(X[:30]), V),
                               rtol=1e-12, atol=1e-12)


_PATH_CHECK = r"""
import numpy as np
from fastcalc import _core
import fastcalc as fc
x = np.concatenate([np.linspace(-25, 25, 40001), [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 19.1, 0.3]])
worst = {}
with np.errstate(all="ignore"):
    for name in ("exp", "log", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh"):
        got = fc.expr(f"{name}(x)")._tape().eval(x[:, None])[:, 0]
        want = getattr(np, {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}.get(name, name))(x)
        assert np.array_equal(np.isnan(got), np.isnan(want)), name
        ok = np.isfinite(want)
        assert np.array_equal(got[~ok & ~np.isnan(want)], want[~ok & ~np.isnan(want)]), name
        assert np.array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0])), name
        ulp = np.abs(got[ok] - want[ok]) / np.spacing(np.maximum(np.abs(want[ok]), 1e-300))
        worst[name] = float(ulp.max())
print(max(worst.values()), _core.simd_available())
"""


@pytest.mark.parametrize("path", ["avx2", "off"])
def test_every_math_path_is_accurate(path):
    # CI machines with AVX-512 would otherwise never run the 4-lane variants (and tanh4) or the
    # C library fallback; FASTCALC_SIMD picks the path once per process, hence the subprocess.
    import os
    import subprocess
    import sys

    env = dict(os.environ, FASTCALC_SIMD=path)
    r = subprocess.run([sys.executable, "-c", _PATH_CHECK], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    worst, simd = r.stdout.split()
    assert float(worst) <= 4  # against NumPy: libmvec is within 4 ulp; the C library and NumPy 1 each
    assert simd == ("False" if path == "off" else str(_core.simd_available()))


def test_vector_tanh_is_within_2_ulp_of_the_real_tanh_and_odd():
    # fastcalc's own vector tanh (a rational below 0.625, 1 - 2/(e + 1) above) against the real
    # value: NumPy's tanh in long double where that is wider than double, rounded once
    import fastcalc as fc

    x = np.concatenate([np.linspace(-25, 25, 200001), np.geomspace(1e-300, 0.7, 20001),
                        np.nextafter(0.625, [0.0, 1.0]), [19.1, 20.0, 5e-324]])
    x = np.concatenate([x, -x])
    got = fc.expr("tanh(x)")._tape().eval(x[:, None])[:, 0]
    wide = np.longdouble if np.finfo(np.longdouble).nmant > 52 else None
    want = np.tanh(x.astype(wide)) if wide else np.tanh(x)
    ulp = np.abs(got.astype(want.dtype) - want) / np.spacing(np.abs(want.astype(float))).astype(want.dtype)
    assert float(np.max(ulp[want != 0])) <= (2.0 if wide else 3.0)
    assert np.array_equal(got, -fc.expr("tanh(x)")._tape().eval(-x[:, None])[:, 0])
    assert np.array_equal(np.signbit(got[x == 0]), np.signbit(x[x == 0]))
