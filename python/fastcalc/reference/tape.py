"""The expression tape interpreted in plain NumPy: the reference for ``cpp/src/tape.cpp``.

Opcodes, their values and their derivative rules all come from the table of operations
(ops.def): an instruction's value is the table's NumPy text, its tangent the table's rules
applied one instruction at a time (forward mode for clarity). Array layout as in
``fastcalc.expressions.compile``."""
from __future__ import annotations

from typing import List

import numpy as np

from ..expressions import ops as _ops
from . import ops as _ref

#: the opcodes by their names in upper case: CONST, VAR, ADD, ..., POLYGAMMA
for _name, _code in _ops.CODES.items():
    globals()[_name.upper()] = _code
_NAMES = {code: name for name, code in _ops.CODES.items()}
_CONST, _VAR = _ops.CODES["const"], _ops.CODES["var"]


def _instr(ops, args, consts, i):
    op = int(ops[i])
    if op not in _NAMES:
        raise ValueError(f"unknown opcode {op}")
    a, b = (int(k) for k in args[i])
    return op, _NAMES[op], a, b, float(consts[i])


def eval_slots(ops, args, consts, n_vars: int, X) -> List[np.ndarray]:
    """Every slot's values for the rows of X (N, n_vars)."""
    X = np.asarray(X, dtype=float)
    N = X.shape[0]
    ops, args, consts = np.asarray(ops), np.asarray(args).reshape(-1, 2), np.asarray(consts)
    v: List[np.ndarray] = []
    with np.errstate(all="ignore"):
        for i in range(len(ops)):
            op, name, a, b, c = _instr(ops, args, consts, i)
            if op == _CONST:
                v.append(np.full(N, c))
            elif op == _VAR:
                v.append(X[:, int(c)].copy())
            else:
                operands = [v[a]] if b < 0 else [v[a], v[b]]
                v.append(np.asarray(_ref.evaluate(name, operands, int(c)), dtype=float) * np.ones(N))
    return v


def eval_tape(ops, args, consts, n_vars: int, outputs, X) -> np.ndarray:
    """Y (N, n_out) for the rows of X (N, n_vars)."""
    v = eval_slots(ops, args, consts, n_vars, X)
    return np.stack([v[int(o)] for o in np.asarray(outputs)], axis=1)


def jvp_tape(ops, args, consts, n_vars: int, outputs, X, V) -> np.ndarray:
    """Directional derivatives (N, n_out) along V (N, n_vars), by forward mode in NumPy: the
    table's rules for each instruction, through the operands that depend on a variable."""
    v = eval_slots(ops, args, consts, n_vars, X)
    V = np.asarray(V, dtype=float)
    ops, args, consts = np.asarray(ops), np.asarray(args).reshape(-1, 2), np.asarray(consts)
    t: List[np.ndarray] = []
    active: List[bool] = []
    with np.errstate(all="ignore"):
        for i in range(len(ops)):
            op, name, a, b, c = _instr(ops, args, consts, i)
            if op == _CONST:
                t.append(np.zeros_like(v[i]))
                active.append(False)
                continue
            if op == _VAR:
                t.append(V[:, int(c)].copy())
                active.append(True)
                continue
            rules = _ref.rules(name)
            bv = v[b] if b >= 0 else None
            acc = np.zeros_like(v[i])
            for k, slot in enumerate((a, b)):
                if slot < 0 or not active[slot]:
                    continue
                acc = acc + _ref.rule(rules[k], v[a], bv, v[i], int(c)) * t[slot]
            t.append(acc)
            active.append(any(s >= 0 and active[s] for s in (a, b)))
    return np.stack([t[int(o)] for o in np.asarray(outputs)], axis=1)
