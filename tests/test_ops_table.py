"""The one table of operations (cpp/include/fastcalc/ops.def): every primitive has its scalar
value, its interpreter (the same numbers), a derivative rule that is its derivative (against
central differences), and second derivatives; the native generator is tested in test_jit.py."""
import numpy as np
import pytest

from fastcalc import _core

TABLE = _core.op_table()
PRIMS = {p["name"]: p for p in TABLE["primitives"]}
# Where each primitive is smooth (derivatives checked there) and its immediate.
DOMAIN = {"log": (0.2, 3), "sqrt": (0.2, 3), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "acosh": (1.2, 3),
          "atanh": (-0.9, 0.9), "gamma": (0.3, 4), "lgamma": (0.3, 4), "polygamma": (0.3, 4), "pow": (0.3, 2),
          "div": (0.5, 2), "tan": (-1.2, 1.2), "cbrt": (0.2, 3), "abs": (0.1, 3), "sign": (0.1, 3),
          "floor": (0.1, 0.9), "ceil": (0.1, 0.9)}
IMM = {"powi": 5.0, "polygamma": 2.0}


def tape(name):
    p = PRIMS[name]
    ops = [1, 1, p["code"]]
    args = [[-1, -1], [-1, -1], [0, 1] if p["arity"] == 2 else [0, -1]]
    consts = [0.0, 1.0, IMM.get(name, 0.0)]
    return (np.array(ops, np.int32), np.array(args, np.int32), np.array(consts), 2, np.array([2], np.int32))


def points(name, n=64):
    lo, hi = DOMAIN.get(name, (-2, 2))
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    return np.stack([rng.uniform(lo, hi, n), rng.uniform(lo, hi, n)], 1)


def test_codes_are_dense_and_rules_parse():
    codes = [p["code"] for p in TABLE["primitives"]]
    assert codes == list(range(len(codes)))
    for p in TABLE["primitives"]:
        assert p["arity"] == 0 or p["da"], p["name"]
        assert p["arity"] < 2 or p["db"], p["name"]
        assert p["numpy"] or p["arity"] == 0, p["name"]
    names = {p["name"] for p in TABLE["primitives"]} | {f["name"] for f in TABLE["functions"]}
    assert len(names) == len(TABLE["primitives"]) + len(TABLE["functions"])  # one meaning per name


@pytest.mark.parametrize("name", [n for n, p in PRIMS.items() if p["arity"] > 0])
def test_interpreter_gives_the_scalar_value(name):
    X = points(name)
    t = _core.Tape(*tape(name))
    got = t.eval(X, simd=False)[:, 0]  # the scalar path: the table's C++ expression per lane
    n = int(IMM.get(name, 0))
    want = [_core.eval_op(PRIMS[name]["code"], a, b, n) for a, b in X]
    np.testing.assert_array_equal(got, want)
    vec = t.eval(X)[:, 0]  # the vector path (libmvec where available): within a few ulp
    np.testing.assert_allclose(vec, want, rtol=4e-15 * 8, atol=1e-300)


@pytest.mark.parametrize("name", [n for n, p in PRIMS.items() if p["arity"] > 0])
def test_derivative_rules_are_derivatives(name):
    X = points(name)
    t = _core.Tape(*tape(name))
    _, G = t.gradient(X)
    h = 1e-6
    for j in range(PRIMS[name]["arity"]):
        E = np.zeros(2)
        E[j] = h
        fd = (t.eval(X + E)[:, 0] - t.eval(X - E)[:, 0]) / (2 * h)
        scale = np.maximum(1.0, np.abs(fd))
        assert np.all(np.abs(G[:, 0, j] - fd) <= 1e-6 * scale), name
    H = t.hessian(X)[:, 0]
    for j in range(PRIMS[name]["arity"]):
        E = np.zeros(2)
        E[j] = h
        fd = (t.gradient(X + E)[1][:, 0, :] - t.gradient(X - E)[1][:, 0, :]) / (2 * h)
        scale = np.maximum(1.0, np.abs(fd))
        assert np.all(np.abs(H[:, :, j] - fd) <= 1e-5 * scale), name
