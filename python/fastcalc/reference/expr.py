"""A plain NumPy evaluator of an ``Expr`` (a lambdify): the reference the tape is checked against."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..expressions import Expr
from ..expressions.nodes import CONSTANTS, Node

_FUNCS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "sec": lambda u: 1.0 / np.cos(u), "asin": np.arcsin,
          "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "exp": np.exp,
          "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "sigmoid": lambda u: 0.5 * (1.0 + np.tanh(0.5 * u))}


def _eval(n: Node, env) -> np.ndarray:
    k = n.kind
    if k == "num":
        return np.float64(n.value)
    if k == "const":
        return np.float64(CONSTANTS[n.value])
    if k == "var":
        return env[n.value]
    if k == "add":
        out = _eval(n.args[0], env)
        for a in n.args[1:]:
            out = out + _eval(a, env)
        return out
    if k == "mul":
        out = _eval(n.args[0], env)
        for a in n.args[1:]:
            out = out * _eval(a, env)
        return out
    if k == "pow":
        return np.power(_eval(n.args[0], env), _eval(n.args[1], env))
    return _FUNCS[n.value](_eval(n.args[0], env))


def lambdify(e: Expr, dtype=np.float64) -> Callable[..., np.ndarray]:
    """f(*arrays) in the order of ``e.vars``: NumPy, no C++; vector expressions stack on a last axis.
    ``dtype=complex`` keeps complex inputs (for complex-step derivatives)."""

    def f(*arrays):
        env = {v: np.asarray(a, dtype=dtype) for v, a in zip(e.vars, arrays)}
        with np.errstate(all="ignore"):
            outs = [_eval(c.node, env) for c in e.components]
        shape = np.broadcast_shapes(*(np.shape(o) for o in outs), *(np.shape(a) for a in env.values()))
        outs = [np.broadcast_to(o, shape).astype(dtype) for o in outs]
        return np.stack(outs, axis=-1) if e.is_vector else outs[0]

    return f
