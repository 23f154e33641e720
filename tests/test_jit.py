"""Native kernels (fastcalc/_jit.py, llvmlite) against the interpreter they stand in for: the
same program, so the same bits, for every operation of the table and every optimizer; the
interpreter whenever the cost rule, the environment or a failure says so."""
import os
import pickle
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import fastcalc as fc
from fastcalc import _core, _jit
from fastcalc.optimize import _program

pytestmark = pytest.mark.skipif(not _jit.available(), reason="no JIT here: " + str(_jit.config().get("reason")))

N = 4099  # above _jit.SMALL, and not a multiple of the vector width: the padded tail runs too
OPS = {p["name"]: p for p in _core.op_table()["primitives"]}
# Arguments inside (and at the edge of) each operation's domain, with NaN, infinities and zeros.
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0])


def _arguments(seed, lo=-3.0, hi=3.0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(lo, hi, N)
    a[: SPECIAL.size] = SPECIAL
    a[SPECIAL.size: 2 * SPECIAL.size] = rng.uniform(-40, 40, SPECIAL.size)
    return a


def _tape_of(name):
    """A tape applying one primitive to variables (and immediates where it takes one)."""
    p = OPS[name]
    ops, args, consts = [1, 1], [[-1, -1], [-1, -1]], [0.0, 1.0]
    if p["arity"] == 2:
        ops.append(p["code"]); args.append([0, 1]); consts.append(0.0)
    else:
        ops.append(p["code"]); args.append([0, -1]); consts.append({"powi": 5.0, "polygamma": 1.0}.get(name, 0.0))
    # times the second variable, so that the derivatives flow through a product too
    ops.append(OPS["mul"]["code"]); args.append([2, 1]); consts.append(0.0)
    return (np.array(ops, np.int32), np.array(args, np.int32), np.array(consts), 2, np.array([3], np.int32))


ELEMENTS = [n for n, p in OPS.items() if p["arity"] > 0]


@pytest.mark.parametrize("name", ELEMENTS)
def test_every_operation_gives_the_interpreters_bits(name):
    ops, args, consts, n_vars, outs = _tape_of(name)
    for order in (0, 1, 2):
        prog = _core.Program(ops, args, consts, n_vars, outs, order)
        k = _jit.kernel(prog)
        assert k is not None
        cols = [_arguments(1), _arguments(2)]
        native = _jit.run_columns(k, cols)
        interp = prog.eval(np.stack(cols, 1)).T
        assert np.array_equal(native, interp, equal_nan=True), (name, order)


def test_powi_exponents_match_the_multiplication_chain():
    for n in [-7, -3, -2, -1, 2, 3, 4, 5, 8, 13, 31, 64, 1000, -1000]:  # (0 and 1 fold away)
        ops = np.array([1, OPS["powi"]["code"]], np.int32)
        args = np.array([[-1, -1], [0, -1]], np.int32)
        prog = _core.Program(ops, args, np.array([0.0, float(n)]), 1, np.array([1], np.int32), 1)
        x = _arguments(3, 0.5, 1.5)
        assert np.array_equal(_jit.run_columns(_jit.kernel(prog), [x]), prog.eval(x[:, None]).T, equal_nan=True), n


CASES = ["x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)", "log(x)*sqrt(y) + x**y",
         "tan(x/2) + atan(y) + asin(x/4) * acos(y/4)", "sinh(x) - cosh(y) + sigmoid(x*y) + abs(x - y)",
         "x**-3 + 1/(x*y) - y**5/x", "tanh(x*y) * sec(x) + log(x**2 + y**2, 10)"]


@pytest.mark.parametrize("text", CASES)
def test_expressions_native_equals_tape(text):
    f = fc.expr(text, vars=["x", "y"])
    assert f._native(1) is not None
    cols = [_arguments(4), _arguments(5)]
    R = f._run_native(1, cols)
    Y, G = f._tape().gradient_columns(cols)
    assert np.array_equal(R[0], Y[:, 0], equal_nan=True)
    assert np.array_equal(R[1:].T, G[:, 0, :], equal_nan=True)
    X = np.ascontiguousarray(np.stack(cols, 1))
    assert np.array_equal(f._run_native(1, matrix=X), R, equal_nan=True)  # rows read in place


def test_rows_run_through_the_columns_entry_at_every_length_and_leading_dimension():
    f = fc.expr("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)")
    k = f._native(1)
    rng = np.random.default_rng(7)
    for N in (0, 1, 7, 8, 511, 512, 513, 4099):
        X = rng.uniform(-2, 2, (N, 5))  # two columns more than the kernel reads
        want = _jit.run_columns(k, [X[:, 0].copy(), X[:, 1].copy()])
        for threads in (1, 3):
            assert np.array_equal(_jit.run_rows(k, X, threads=threads), want)
    with pytest.raises(ValueError, match="columns; the kernel reads 2"):
        _jit.run_rows(k, np.zeros((9, 1)))


def test_threads_split_the_batch_without_changing_a_bit():
    f = fc.expr("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)")
    k = f._native(1)
    rng = np.random.default_rng(6)
    cols = [rng.uniform(-2, 2, 100_005), rng.uniform(-2, 2, 100_005)]
    one = _jit.run_columns(k, cols, threads=1)
    for threads in (2, 3, 8):
        assert np.array_equal(_jit.run_columns(k, cols, threads=threads), one)


ROSEN = fc.expr("(1 - x)**2 + 100*(y - x**2)**2")
HIMMEL = fc.expr("(x**2 + y - 11)**2 + (x + y**2 - 7)**2")


def test_every_optimizer_native_equals_interpreter():
    rng = np.random.default_rng(3)
    x0 = rng.uniform(-2.5, 2.5, (150, 2))
    for f, kw in [(ROSEN, dict(lr=1e-3, gtol=1e-1)), (-HIMMEL, dict(lr=[1e-2] * 150, maximize=True, history_every=7)),
                  (HIMMEL, dict(lr=5e-2)), (ROSEN, dict(lr=1e-3, method="momentum", gtol=1e-1)),
                  (-ROSEN, dict(lr=1e-3, method="nesterov", maximize=True)),
                  (HIMMEL, dict(lr=0.3, method="adam", gtol=1e-3, history_every=4))]:
        a = fc.descent(f, x0, maxiter=300, jit=False, **kw)
        b = fc.descent(f, x0, maxiter=300, jit=True, **kw)
        if f is ROSEN:  # both kinds of stop happen
            assert a.diverged.any() and a.converged.any()
        for key in ("x", "fun", "grad_norm", "nit", "converged", "diverged", "history", "fun_history"):
            np.testing.assert_array_equal(getattr(b, key), getattr(a, key), err_msg=key)


def test_the_fused_native_step_loop_equals_the_interpreter_step_for_step():
    # history=False runs chunks of steps in one native call (fc_steps), which returns at the
    # first step at which a run stops: every stop (converged, out of bounds, overflow, a NaN
    # gradient), at every step, must come out as without it
    from fastcalc.optimize import _options, _program, _steps_group
    for f in (ROSEN, HIMMEL):  # the loop compiles (else both sides below would be the interpreter)
        for method in ("gd", "adam"):
            step = _program(f, 1).descent_step(_options(method, False, 10, 0.0, 0.9, (0.9, 0.999), False, False, 1, 1))
            assert _jit.kernel(step, steps=_steps_group(step)).steps != 0
    rng = np.random.default_rng(4)
    x0 = rng.uniform(-2.5, 2.5, (1003, 2))  # several blocks, a ragged last one
    for f, kw in [(ROSEN, dict(lr=1e-3, gtol=0)), (ROSEN, dict(lr=1e-3)), (ROSEN, dict(lr=2e-2, gtol=1e-2)),
                  (HIMMEL, dict(lr=1e-2, gtol=1e-6)), (ROSEN, dict(lr=1e-3, method="momentum", gtol=1e-1)),
                  (-ROSEN, dict(lr=1e-3, method="nesterov", maximize=True)),
                  (HIMMEL, dict(lr=0.3, method="adam", gtol=1e-3)), (HIMMEL, dict(lr=list(rng.uniform(1e-3, 3e-2, 1003)))),
                  (fc.expr("x**2 + sqrt(y + 3)"), dict(lr=0.05))]:  # y falls below -3: a NaN gradient
        a = fc.descent(f, x0, maxiter=1500, jit=False, history=False, threads=1, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a kernel that failed to compile would warn
            b = fc.descent(f, x0, maxiter=1500, jit=True, history=False, threads=1, **kw)
        assert len(np.unique(a.nit)) > 3  # runs stop at many different steps
        for key in ("x", "fun", "grad_norm", "nit", "converged", "diverged"):
            np.testing.assert_array_equal(getattr(b, key), getattr(a, key), err_msg=key)


def test_the_cost_rule_chooses_the_path():
    assert not _jit.worth(30, 100)              # a small call: compiling costs more than it saves
    assert _jit.worth(30, 10**8)                # a large one pays at once
    assert _jit.worth(30, 100, compiled=True) is False or _jit.worth(30, 10**6, compiled=True)
    f = fc.expr("cos(x)*y + 0.125*x - 3")  # new: nothing compiled
    prog, key = f._native_program(1)
    assert _jit.decide(prog, 100, key=key) is None  # one small call: the interpreter
    assert _jit.decide(prog, 10**9, key=key) is not None  # worth it: compiled and used
    g = fc.expr("cos(x)*y + 0.375*x - 5")
    prog, key = g._native_program(1)
    calls = 0
    while _jit.decide(prog, 20_000, key=key) is None:  # repeated calls: the ledger pays it
        calls += 1
        assert calls < 10**4
    assert calls > 1
    assert _jit.decide(prog, 10**9, force=False, key=key) is None


def test_a_failed_compile_warns_once_and_the_interpreter_answers(monkeypatch):
    def broken(prog, W, steps=0):
        raise RuntimeError("simulated LLVM failure")
    monkeypatch.setattr(_jit, "_source", broken)
    f = fc.expr("sin(x)*y - 0.0625")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert f._native(1) is None
        assert fc.expr("sin(x)*y - 0.03125")._native(1) is None
        x = np.linspace(0, 1, 2_000_000)
        v = f(x=x, y=x)
    assert [str(w.message) for w in caught].count(str(caught[0].message)) == 1
    assert "simulated LLVM failure" in str(caught[0].message)
    np.testing.assert_array_equal(v, f._tape().eval_columns([x, x])[:, 0])


def test_long_programs_stay_with_the_interpreter():
    text = " + ".join(f"sin({i}*x + y)*exp(-{i}*x*y)" for i in range(1, 200))
    prog = _program(fc.expr(text), 1)
    old = _jit.MAX_INSTRUCTIONS
    try:
        _jit.MAX_INSTRUCTIONS = prog.n_instructions - 1
        assert _jit.kernel(prog) is None and _jit.decide(prog, 10**12) is None
    finally:
        _jit.MAX_INSTRUCTIONS = old


def test_threads_and_pickling_after_native_use():
    f = fc.expr("x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)")
    x, y = _arguments(7)[10:], _arguments(8)[10:]
    assert f._native(1) is not None
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


_PROBE = ("import numpy as np, fastcalc as fc\n"
          "from fastcalc import _jit\n"
          "f = fc.expr('x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)')\n"
          "x = np.linspace(-2, 2, 3_000_001)\n"
          "v, g = f.value_and_gradient(x=x, y=x[::-1])\n"
          "r = fc.descent(fc.expr('(1 - x)**2 + 100*(y - x**2)**2'), np.full((4000, 2), 0.5), lr=1e-4, maxiter=2000,"
          " history=False)\n"
          "print(_jit.available(), _jit.config().get('reason'), float(v.sum()), float(g.sum()), float(r.x.sum()))\n")


@pytest.mark.parametrize("how", ["FASTCALC_JIT=0", "no llvmlite"])
def test_without_the_jit_the_interpreters_give_the_same_numbers(how):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    code = _PROBE
    if how == "FASTCALC_JIT=0":
        env["FASTCALC_JIT"] = "0"
    else:
        code = "import sys; sys.modules['llvmlite'] = None\n" + code
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    on = subprocess.run([sys.executable, "-c", _PROBE], env=dict(env, FASTCALC_JIT="1"), capture_output=True,
                        text=True, timeout=300)
    assert off.returncode == 0 and on.returncode == 0, off.stderr + on.stderr
    a, b = off.stdout.split(), on.stdout.split()
    assert a[0] == "False" and b[0] == "True"
    assert ("FASTCALC_JIT=0" in off.stdout) if how == "FASTCALC_JIT=0" else ("llvmlite" in off.stdout)
    assert a[-3:] == b[-3:]  # the same bits either way


def _coupled_quartic(n):
    """A bowl in n variables whose large steps diverge: runs converge and diverge at many steps."""
    text = " + ".join(f"(x{i} - {0.5 * i})**2 + 0.05*x{i}**4" for i in range(n))
    text += "".join(f" + 0.3*x{i}*x{i + 1}" for i in range(n - 1))
    return fc.expr(text, vars=[f"x{i}" for i in range(n)])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_the_interpreter_step_equals_native_code_in_1_to_6_variables(n):
    # the interpreter runs the gradient program, then descent.cpp's step_stop: a lane loop per
    # count of variables up to 4, chunks of lanes beyond; native code runs the step program
    f = _coupled_quartic(n)
    x0 = np.random.default_rng(n).uniform(-4, 4, (300, n))
    for method in ("gd", "momentum", "nesterov", "adam"):
        lr = np.geomspace(1e-3, 3.0 if method == "adam" else 0.6, 300)
        for history in (False, True):
            a = fc.descent(f, x0, lr=lr, method=method, maxiter=400, gtol=1e-6, history=history, jit=False)
            b = fc.descent(f, x0, lr=lr, method=method, maxiter=400, gtol=1e-6, history=history, jit=True)
            assert a.converged.any() and len(np.unique(a.nit)) > 30
            if method != "adam":
                assert a.diverged.any()
            for key in ("x", "fun", "grad_norm", "nit", "converged", "diverged", "history", "fun_history"):
                np.testing.assert_array_equal(getattr(b, key), getattr(a, key), err_msg=f"{method} {key}")


def _random_arithmetic_tape(seed, n_ops=40):
    """A random DAG of add, sub and mul (with neg and powi between) over x, y and constants:
    chains whose intermediates are read once, twice or again much later, and two outputs."""
    rng = np.random.default_rng(seed)
    ops, args, consts = [1, 1, 0, 0], [[-1, -1]] * 4, [0.0, 1.0, 1.5, -0.75]
    for _ in range(n_ops):
        i = len(ops)
        a = int(rng.integers(max(0, i - 4), i)) if rng.random() < 0.7 else int(rng.integers(0, i))
        b = int(rng.integers(0, i))
        r = rng.random()
        name = "neg" if r < 0.08 else "powi" if r < 0.14 else str(rng.choice(["add", "sub", "mul"]))
        ops.append(OPS[name]["code"])
        if name in ("neg", "powi"):
            args.append([a, -1]); consts.append(2.0 if name == "powi" else 0.0)
        else:
            args.append([a, b] if rng.random() < 0.5 else [b, a]); consts.append(0.0)
    outs = [len(ops) - 1, len(ops) - 1 - int(rng.integers(1, 8))]
    return np.array(ops, np.int32), np.array(args, np.int32), np.array(consts), 2, np.array(outs, np.int32)


@pytest.mark.parametrize("seed", range(12))
def test_fused_arithmetic_pairs_give_native_codes_bits(seed):
    # the interpreter runs adjacent add/sub/mul pairs in one lane loop (Program::fusion): the
    # same operations in the same order as the instructions, which native code runs one by one
    ops, args, consts, n_vars, outs = _random_arithmetic_tape(seed)
    cols = [_arguments(10 + seed, -1.5, 1.5), _arguments(30 + seed, -1.5, 1.5)]
    for order in (0, 1, 2):
        prog = _core.Program(ops, args, consts, n_vars, outs, order)
        native = _jit.run_columns(_jit.kernel(prog), cols)
        for lanes in (N, 64, 100, 1):  # whole blocks of 64 and ragged last ones
            X = np.stack([c[:lanes] for c in cols], 1)
            assert np.array_equal(prog.eval(X).T, native[:, :lanes], equal_nan=True), (seed, order, lanes)
