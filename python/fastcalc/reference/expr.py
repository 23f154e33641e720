"""A plain NumPy evaluator of an ``Expr`` (a lambdify): the reference the tape is checked against.
Functions dispatch through the table of operations' NumPy column (reference/ops.py); the walk is
iterative over the DAG, each distinct subexpression evaluated once."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..expressions import Expr
from ..expressions import nodes as N
from ..expressions import ops as _ops
from . import ops as _ref


def evaluate(roots, env, dtype=np.float64):
    """The values of nodes for the variables' arrays ``env`` (name -> array)."""
    memo = {}
    for n in N.postorder(roots):
        k = n.kind
        if k == N.NUM:
            r = dtype(n.value) if dtype is not complex else complex(n.value)
        elif k == N.CONST:
            r = np.asarray(N.CONSTANTS[n.value], dtype=dtype)
        elif k == N.VAR:
            r = env[n.value]
        elif k == N.ADD:
            r = memo[id(n.args[0])]
            for a in n.args[1:]:
                r = r + memo[id(a)]
        elif k == N.MUL:
            r = memo[id(n.args[0])]
            for a in n.args[1:]:
                r = r * memo[id(a)]
        elif k == N.POW:
            r = np.power(memo[id(n.args[0])], memo[id(n.args[1])])
        else:
            fn = _ops.FUNCTIONS[n.value]
            if fn.imm:
                r = _ref.evaluate(n.value, [memo[id(a)] for a in n.args[1:]], int(n.args[0].value))
            else:
                r = _ref.evaluate(n.value, [memo[id(a)] for a in n.args])
        memo[id(n)] = r
    return [memo[id(r)] for r in roots]


def lambdify(e: Expr, dtype=np.float64) -> Callable[..., np.ndarray]:
    """f(*arrays) in the order of ``e.vars``: NumPy, no C++; vector expressions stack on a last axis.
    ``dtype=complex`` keeps complex inputs (for complex-step derivatives)."""
    roots = [c.node for c in e.components]

    def f(*arrays):
        env = {v: np.asarray(a, dtype=dtype) for v, a in zip(e.vars, arrays)}
        with np.errstate(all="ignore"):
            outs = evaluate(roots, env, dtype)
        shape = np.broadcast_shapes(*(np.shape(o) for o in outs), *(np.shape(a) for a in env.values()))
        outs = [np.broadcast_to(o, shape).astype(dtype) for o in outs]
        return np.stack(outs, axis=-1) if e.is_vector else outs[0]

    return f
