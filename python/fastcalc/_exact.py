"""Exact derivatives of an ``Expr``: automatic differentiation on its compiled tape.

``fastcalc.derivative/gradient/jacobian/hessian`` come here for an expression when no stencil,
order or step is asked for. Reverse mode gives gradients and Jacobians, forward-over-reverse
gives Hessians; higher derivatives of one variable differentiate symbolically first.
"""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from .results import DerivativeResult


def _info(value: Any, shape: Tuple[int, ...], step_shape: Tuple[int, ...]) -> DerivativeResult:
    def arr(v, dtype, shp):
        a = np.full(shp, v, dtype=dtype)
        return a.item() if a.ndim == 0 else a

    return DerivativeResult(df=value, error=arr(0.0, float, shape), h=arr(np.nan, float, step_shape),
                            nfev=arr(1, np.uint32, step_shape), status=arr(0, np.uint8, shape),
                            success=arr(True, bool, shape), message="exact (automatic differentiation)")


def _check_vars(f: Any, n: int) -> None:
    if n != len(f.vars):
        raise ValueError(f"x has {n} components but the expression has {len(f.vars)} variables {f.vars}")


def _scalar_expr(f: Any, what: str) -> None:
    if f._tape().n_outputs != 1:
        raise ValueError(f"{what} needs a scalar expression; this one has {f._tape().n_outputs} components "
                         "(use jacobian)")


def derivative(f: Any, xa: np.ndarray, n: int, full_output: bool):
    if len(f.vars) != 1:
        raise ValueError(f"derivative needs an expression of one variable, got variables {f.vars} "
                         "(use gradient, or diff(var) for a partial derivative)")
    _scalar_expr(f, "derivative")
    g = f
    for _ in range(max(0, n - 2)):  # symbolic down to a second derivative, then AD
        g = g.diff(f.vars[0])
    X = xa.reshape(-1, 1)
    R = g._run_native(min(n, 2), matrix=X)  # large batches: the native kernel, else the tape
    if R is not None:
        value = R[-1]  # the last result: d/dx, or d2/dx2
    elif n == 1:
        _, G = g._tape().gradient(X)
        value = G[:, 0, 0]
    else:
        value = g._tape().hessian(X)[:, 0, 0, 0]
    value = value.reshape(xa.shape)
    out = value.item() if value.ndim == 0 else value
    return _info(out, xa.shape, xa.shape) if full_output else out


def first(f: Any, xa: np.ndarray, jac: bool, full_output: bool):
    single = xa.ndim == 1
    X = np.ascontiguousarray(xa.reshape(-1, xa.shape[-1]))
    _check_vars(f, X.shape[1])
    if not jac:
        _scalar_expr(f, "gradient")
        R = f._run_native(1, matrix=X)
        if R is not None:
            value = R[1:].T[0] if single else R[1:].T
            return _info(value, value.shape, (X.shape[1],) if single else value.shape) if full_output else value
    _, G = f._tape().gradient(X)  # (k, m, n)
    k, m, n = G.shape
    value = G.reshape(k, m, n) if jac else G[:, 0, :]
    if single:
        value = value[0]
    return _info(value, value.shape, (n,) if single else (k, n)) if full_output else value


def hessian(f: Any, xa: np.ndarray, full_output: bool):
    single = xa.ndim == 1
    X = np.ascontiguousarray(xa.reshape(-1, xa.shape[-1]))
    _check_vars(f, X.shape[1])
    _scalar_expr(f, "hessian")
    R = f._run_native(2, matrix=X)
    if R is not None:  # rows 1 + n onwards: the Hessian, row by row
        d = X.shape[1]
        H = R[1 + d:].T.reshape(-1, d, d)
    else:
        H = f._tape().hessian(X)[:, 0]
    if single:
        H = H[0]
    return _info(H, H.shape, H.shape) if full_output else H
