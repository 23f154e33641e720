"""The expression tape interpreted in plain NumPy: the reference for ``cpp/src/tape.cpp``.

Opcodes and array layout as in ``fastcalc.expressions.compile``; derivatives here come from the
same local rules, applied one instruction at a time (forward mode for clarity)."""
from __future__ import annotations

from typing import List

import numpy as np

CONST, VAR, ADD, SUB, MUL, DIV, NEG, POW, POWI, EXP, LOG, SIN, COS, TAN, ASIN, ACOS, ATAN, SINH, COSH, TANH, \
    SQRT, ABS, SIGMOID = range(23)

_UNARY = {
    NEG: np.negative, EXP: np.exp, LOG: np.log, SIN: np.sin, COS: np.cos, TAN: np.tan, ASIN: np.arcsin,
    ACOS: np.arccos, ATAN: np.arctan, SINH: np.sinh, COSH: np.cosh, TANH: np.tanh, SQRT: np.sqrt, ABS: np.abs,
}
_BINARY = {ADD: np.add, SUB: np.subtract, MUL: np.multiply, DIV: np.divide, POW: np.power}


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def eval_slots(ops, args, consts, n_vars: int, X) -> List[np.ndarray]:
    """Every slot's values for the rows of X (N, n_vars)."""
    X = np.asarray(X, dtype=float)
    N = X.shape[0]
    v: List[np.ndarray] = []
    with np.errstate(all="ignore"):
        for i, op in enumerate(np.asarray(ops)):
            a, b = (int(k) for k in np.asarray(args).reshape(-1, 2)[i])
            c = float(np.asarray(consts)[i])
            if op == CONST:
                v.append(np.full(N, c))
            elif op == VAR:
                v.append(X[:, int(c)].copy())
            elif op in _BINARY:
                v.append(_BINARY[op](v[a], v[b]))
            elif op == POWI:
                v.append(v[a] ** int(c) if c >= 0 else 1.0 / v[a] ** int(-c))
            elif op == SIGMOID:
                v.append(_sigmoid(v[a]))
            elif op in _UNARY:
                v.append(_UNARY[op](v[a]))
            else:
                raise ValueError(f"unknown opcode {op}")
    return v


def eval_tape(ops, args, consts, n_vars: int, outputs, X) -> np.ndarray:
    """Y (N, n_out) for the rows of X (N, n_vars)."""
    v = eval_slots(ops, args, consts, n_vars, X)
    return np.stack([v[int(o)] for o in np.asarray(outputs)], axis=1)


def jvp_tape(ops, args, consts, n_vars: int, outputs, X, V) -> np.ndarray:
    """Directional derivatives (N, n_out) along V (N, n_vars), by forward mode in NumPy."""
    v = eval_slots(ops, args, consts, n_vars, X)
    V = np.asarray(V, dtype=float)
    t: List[np.ndarray] = []
    args2 = np.asarray(args).reshape(-1, 2)
    with np.errstate(all="ignore"):
        for i, op in enumerate(np.asarray(ops)):
            a, b = (int(k) for k in args2[i])
            c = float(np.asarray(consts)[i])
            x = v[i]
            if op == CONST:
                t.append(np.zeros_like(x))
            elif op == VAR:
                t.append(V[:, int(c)].copy())
            elif op == ADD:
                t.append(t[a] + t[b])
            elif op == SUB:
                t.append(t[a] - t[b])
            elif op == MUL:
                t.append(t[a] * v[b] + v[a] * t[b])
            elif op == DIV:
                t.append((t[a] - x * t[b]) / v[b])
            elif op == NEG:
                t.append(-t[a])
            elif op == POW:
                tb = np.where(t[b] == 0, 0.0, t[b] * x * np.log(v[a]))
                t.append(v[b] * v[a] ** (v[b] - 1) * t[a] + tb)
            elif op == POWI:
                n = int(c)
                t.append((n * v[a] ** (n - 1) if n else 0.0) * t[a])
            else:
                d = {EXP: x, LOG: 1 / v[a], SIN: np.cos(v[a]), COS: -np.sin(v[a]), TAN: 1 + x * x,
                     ASIN: 1 / np.sqrt(1 - v[a] ** 2), ACOS: -1 / np.sqrt(1 - v[a] ** 2), ATAN: 1 / (1 + v[a] ** 2),
                     SINH: np.cosh(v[a]), COSH: np.sinh(v[a]), TANH: 1 - x * x, SQRT: 0.5 / x,
                     ABS: np.sign(v[a]), SIGMOID: x * (1 - x)}[op]
                t.append(d * t[a])
    return np.stack([t[int(o)] for o in np.asarray(outputs)], axis=1)
