"""Random expressions (hypothesis): tape against NumPy, and symbolic diff against reverse mode
against forward mode against finite differences. Also str round trips."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastcalc as fc
from fastcalc.reference import lambdify

VARS = ["x", "y", "z"]
# functions kept inside their domains: arguments pass through squashing first
SAFE_UNARY = ["sin({})", "cos({})", "tanh({})", "atan({})", "exp(tanh({}))", "log(2 + sin({}))",
              "sqrt(1 + ({})**2)", "sigmoid({})", "sinh(tanh({}))", "cosh(tanh({}))", "abs({}) + 1",
              "asin(0.5*tanh({}))", "acos(0.5*tanh({}))", "tan(0.5*tanh({}))"]


def leaves():
    return st.one_of(st.sampled_from(VARS), st.integers(-5, 5).map(str),
                     st.floats(-3, 3, allow_nan=False).map(lambda v: repr(round(v, 3))))


def build(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, children).map(lambda t: f"({t[0]})/(2 + sin({t[1]}))"),
        st.tuples(children, st.integers(0, 3)).map(lambda t: f"({t[0]})**{t[1]}"),
        st.tuples(st.sampled_from(SAFE_UNARY), children).map(lambda t: t[0].format(t[1])),
    )


texts = st.recursive(leaves(), build, max_leaves=8)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POINTS = np.random.default_rng(7).uniform(-1.5, 1.5, (40, 3))


@SETTINGS
@given(texts)
def test_str_round_trip(text):
    e = fc.expr(text, vars=VARS)
    assert fc.expr(str(e), vars=VARS) == e


@SETTINGS
@given(texts)
def test_tape_matches_numpy(text):
    e = fc.expr(text, vars=VARS)
    got = e(POINTS)
    want = lambdify(e)(*POINTS.T)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


@SETTINGS
@given(texts)
def test_symbolic_reverse_forward_and_finite_differences_agree(text):
    e = fc.expr(text, vars=VARS)
    tape = e._tape()
    _, G = tape.gradient(POINTS)
    sym = np.stack([g(POINTS) for g in e.gradient()], axis=-1)
    np.testing.assert_allclose(G[:, 0, :], sym, rtol=1e-11, atol=1e-11)
    V = np.random.default_rng(1).normal(size=POINTS.shape)
    _, JV = tape.jvp(POINTS, V)
    np.testing.assert_allclose(JV[:, 0], np.einsum("kn,kn->k", G[:, 0, :], V), rtol=1e-11, atol=1e-11)
    fd = fc.gradient(e, POINTS[:5], method="central")
    scale = 1 + np.abs(sym[:5])
    assert np.all(np.abs(fd - sym[:5]) <= 1e-6 * scale)


@SETTINGS
@given(texts)
def test_hessian_symbolic_against_tape(text):
    e = fc.expr(text, vars=VARS)
    H = e._tape().hessian(POINTS[:8])[:, 0]
    sym = np.stack([np.stack([h(POINTS[:8]) for h in row], -1) for row in e.hessian()], -2)
    np.testing.assert_allclose(H, sym, rtol=1e-9, atol=1e-9)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_native_kernel_matches_the_tape(text):
    # each example compiles a kernel (a fraction of a second), hence fewer examples
    e = fc.expr(text, vars=VARS)
    cols = list(np.random.default_rng(2).uniform(-1.5, 1.5, (3, 4099)))
    if e._native(1) is None:  # no JIT here
        return
    R = e._run_native(1, cols)
    Y, G = e._tape().gradient_columns(cols)  # the same program interpreted: the same bits
    assert np.array_equal(R[0], Y[:, 0], equal_nan=True)
    assert np.array_equal(R[1:].T, G[:, 0, :], equal_nan=True)
