"""Everything that crosses into the core is validated there: tapes (built or unpickled),
programs, descent's options and sizes. A bad one raises ValueError naming it; none reads out of
bounds, hangs or allocates by an overflowed size."""
import pickle
import sys

import numpy as np
import pytest

import fastcalc as fc
from fastcalc import _core

POWI = 8


def _powi_tape(exponent):
    ops = np.array([1, POWI], np.int32)
    args = np.array([[-1, -1], [0, -1]], np.int32)
    return ops, args, np.array([0.0, exponent]), 1, np.array([1], np.int32)


@pytest.mark.parametrize("exponent", [1e300, -2.0**63, 2.0**31, np.nan, np.inf, 2.5])
def test_powi_exponent_out_of_range_is_refused(exponent):
    with pytest.raises(ValueError, match="instruction 1: powi"):
        _core.Tape(*_powi_tape(exponent))
    with pytest.raises(ValueError, match="powi"):
        _core.Program(*_powi_tape(exponent), 1)


def test_unpickled_tape_is_validated():
    t = fc.expr("x**3 + sin(x)")._tape()
    state = t.__getstate__()
    ops, args, consts, n_vars, outputs = state
    bad = consts.copy()
    bad[list(ops).index(POWI)] = 1e300
    assert pickle.loads(pickle.dumps(t)).consts.tolist() == consts.tolist()
    with pytest.raises(ValueError, match="powi"):  # what unpickling a tampered state does
        _core.Tape.__new__(_core.Tape).__setstate__((ops, args, bad, n_vars, outputs))
    with pytest.raises(ValueError, match="operand"):
        _core.Tape(ops, np.full_like(args, 7), consts, n_vars, outputs)
    with pytest.raises(ValueError, match="unknown opcode"):
        _core.Tape(np.array([1, 250], np.int32), np.array([[-1, -1], [0, -1]], np.int32), np.zeros(2), 1,
                   np.array([1], np.int32))
    with pytest.raises(ValueError, match="variable index"):
        _core.Tape(np.array([1], np.int32), np.array([[-1, -1]], np.int32), np.array([3.0]), 1, np.array([0], np.int32))
    with pytest.raises(ValueError, match="output slot"):
        _core.Tape(ops, args, consts, n_vars, np.array([99], np.int32))


def test_large_exponents_evaluate_without_hanging():
    t = _core.Tape(*_powi_tape(2.0**30))
    x = np.array([[1.0], [1.0 + 2**-40], [0.5], [-1.0]])
    np.testing.assert_allclose(t.eval(x)[:, 0], x[:, 0] ** 2.0**30, rtol=1e-6)  # 30 squarings: each doubles the relative error
    t = _core.Tape(*_powi_tape(-2.0**30))
    with np.errstate(over="ignore", divide="ignore"):
        np.testing.assert_allclose(t.eval(x)[:, 0], x[:, 0] ** -2.0**30, rtol=1e-6)


@pytest.mark.parametrize("steps", [2**62, sys.maxsize, 2**64 + 5])
def test_huge_steps_cost_memory_only_for_steps_taken(steps):
    r = fc.descent(fc.expr("x**2"), [1.0, 2.0, 3.0, 4.0], lr=0.1, maxiter=steps, gtol=1e-6)
    assert r.converged.all() and r.nit.max() < 200
    assert r.history.shape == (int(r.nit.max()) + 1, 4)  # starts of one variable: (rows, k)


def test_huge_history_every_and_negative_steps():
    r = fc.descent(fc.expr("x**2"), 1.0, lr=0.1, maxiter=50, gtol=0, history_every=2**70)
    assert r.history.shape == (2,)  # step 0 and the final iterate
    with pytest.raises(ValueError, match="maxiter|steps"):
        fc.descent(fc.expr("x**2"), 1.0, lr=0.1, maxiter=-1)


def test_program_options_are_validated():
    ops, args, consts, n_vars, outputs = fc.expr("x*y")._tape_arrays()
    with pytest.raises(ValueError, match="order"):
        _core.Program(ops, args, consts, n_vars, outputs, 3)
    with pytest.raises(ValueError, match="wrt"):
        _core.Program(ops, args, consts, n_vars, outputs, 1, [5])
    p = _core.Program(ops, args, consts, n_vars, outputs, 1, [0], True)  # directional
    with pytest.raises(ValueError, match="value and the gradient"):
        _core.descent_program(p, np.zeros((1, 2)), np.array([0.1]), dict(
            method=0, maximize=False, steps=1, tol=0.0, momentum=0.9, beta1=0.9, beta2=0.999, line_search=False,
            history=False, history_every=1, threads=1))


def test_a_fused_step_kernel_with_lanes_that_do_not_divide_a_block_is_refused():
    from fastcalc.optimize import _program
    p = _program(fc.expr("x**2 + y**2"), 1)
    base = dict(method=0, maximize=False, steps=1, tol=0.0, momentum=0.9, beta1=0.9, beta2=0.999, line_search=False,
                history=False, history_every=1, threads=1)
    for extra in (dict(steps_kernel=1, steps_lanes=32), dict(kernel=1, steps_kernel=1, steps_lanes=24),
                  dict(kernel=1, steps_kernel=1, steps_lanes=0), dict(kernel=1, steps_kernel=1, steps_lanes=128)):
        with pytest.raises(ValueError, match="fused step kernel"):  # refused before any code runs
            _core.descent_program(p, np.zeros((1, 2)), np.array([0.1]), dict(base, **extra))


def test_directional_and_hessian_programs_agree_with_the_dense_hessian():
    e = fc.expr("x*exp(-(x**2 + y**2)) + sin(3*x)*tanh(y)*z")
    X = np.random.default_rng(0).normal(size=(9, 3))
    V = np.random.default_rng(1).normal(size=(9, 3))
    H = e._tape().hessian(X)[:, 0]
    np.testing.assert_allclose(e._tape().hvp(X, V)[:, 0], np.einsum("kij,kj->ki", H, V), rtol=1e-12, atol=1e-12)
    _, J = e._tape().gradient(X)
    _, JV = e._tape().jvp(X, V)
    np.testing.assert_allclose(JV[:, 0], np.einsum("kj,kj->k", J[:, 0], V), rtol=1e-13, atol=1e-13)
