"""The complex-step derivative: f'(x) = Im f(x + ih) / h for an f that is analytic and real on
the real line, with no subtraction and so no round-off from it (Squire & Trapp 1998; Martins et
al. 2003). One complex evaluation per derivative, accurate to a few ulps.

It is wrong, silently, for an f that is not analytic (abs, conj, real parts, comparisons on the
value): each result is checked against a real central difference at two steps (four more real
evaluations), and one that disagrees has status 8. An f that drops the imaginary part (float(),
np.asarray(x, float)) or cannot take complex numbers is refused with an error.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .results import DerivativeResult, derivative_message

EPS = float(np.finfo(float).eps)
STEP = 2.0**-67     # h = STEP * |x| (2**-800 at least: Im f stays a normal number)
CHECK = 2.0**-10    # the check's central differences at CHECK * max(1, |x|) and half that
INCONSISTENT = 8    # the status when the check fails


def _steps(x: np.ndarray, h: float) -> np.ndarray:
    return np.full(x.shape, h) if h > 0 else STEP * np.maximum(np.abs(x), 2.0**-800)


def _call(c: Any, Z: np.ndarray, scalar_input: bool) -> np.ndarray:
    """f at each point of Z ((k,) for one variable, else (k, n)), in f's style: (k, m)."""
    how = {0: "point", 1: "rows", 2: "columns"}[c.style]
    k = Z.shape[0]
    if how == "point":
        vals = [np.asarray(c.fn(complex(z) if scalar_input else z.copy())) for z in Z]
        y = np.stack([v.reshape(-1) for v in vals]) if vals else np.zeros((0, c.m), Z.dtype)
    elif how == "rows":
        y = np.asarray(c.fn(Z.copy())).reshape(k, -1)
    else:
        y = np.asarray(c.fn(Z.T.copy() if not scalar_input else Z.copy()))
        y = y.reshape(-1, k).T
    return y


def _complex_values(c: Any, Z: np.ndarray, scalar_input: bool) -> np.ndarray:
    if c.complex:
        raise ValueError("method='complex' needs an f that is real on real numbers; this f has complex values "
                         "(leave method unset: its derivative is then complex)")
    try:
        y = _call(c, Z, scalar_input)
    except Exception as exc:  # f's own error, as it is; a note says why it had complex numbers
        if hasattr(exc, "add_note"):
            exc.add_note("method='complex' called f with complex numbers x + ih; leave method unset for finite "
                         "differences of a function that takes only real ones")
        raise
    if y.dtype.kind != "c":
        raise TypeError(f"method='complex' needs f to keep complex numbers: f returned {y.dtype} for complex "
                        "input (float(), math functions or np.asarray(x, float) drop the imaginary part); "
                        "leave method unset for finite differences")
    return y


def _check(c: Any, X: np.ndarray, along, D: np.ndarray, scalar_input: bool):
    """Central differences at CHECK * max(1, |x|) and half that, Richardson-combined; the status
    per value (0, or INCONSISTENT where D is not within their error of them)."""
    x = X if scalar_input else X[np.arange(X.shape[0]), along]
    h1 = CHECK * np.maximum(1.0, np.abs(x))
    h2 = 0.5 * h1
    pts = []
    for hh in (h1, -h1, h2, -h2):
        if scalar_input:
            pts.append(X + hh)
        else:
            P = X.copy()
            P[np.arange(X.shape[0]), along] += hh
            pts.append(P)
    y = _call(c, np.concatenate(pts), scalar_input).real.reshape(4, X.shape[0], -1)
    d1 = (y[0] - y[1]) / (2 * h1[:, None])
    d2 = (y[2] - y[3]) / (2 * h2[:, None])
    rich = d2 + (d2 - d1) / 3
    noise = 4 * EPS * ((np.abs(y[2]) + np.abs(y[3])) / (2 * h2[:, None]) + np.abs(x)[:, None] * np.abs(D) / h2[:, None])
    with np.errstate(invalid="ignore"):
        ok = np.abs(D - rich) <= np.abs(d2 - d1) + 16 * noise + 16 * EPS * np.abs(D)
    return np.where(ok, 0, INCONSISTENT).astype(np.uint8)


def _result(D, err, h, nfev, status) -> DerivativeResult:
    def s(a):
        a = np.asarray(a)
        return a.item() if a.ndim == 0 else a

    return DerivativeResult(df=s(D), error=s(err), h=s(h), nfev=s(nfev), status=s(status), success=s(status == 0),
                            message=derivative_message(status))


def derivative(c: Any, xa: np.ndarray, h: float, full_output: bool):
    flat = xa.reshape(-1)
    hs = _steps(flat, h)
    with np.errstate(all="ignore"):
        y = _complex_values(c, flat + 1j * hs, True)
        D = y.imag / hs[:, None]
        status = _check(c, flat, None, D, True)
    shape = xa.shape if c.scalar else xa.shape + (c.m,)
    value = D.reshape(shape)
    value = value.item() if value.ndim == 0 else value
    if not full_output:
        return value
    err = 4 * EPS * (1 + np.abs(flat))[:, None] * np.abs(D)
    return _result(value, err.reshape(shape), hs.reshape(xa.shape), np.full(xa.shape, 5, np.uint32),
                   status.reshape(shape))


def first(c: Any, X: np.ndarray, single: bool, jac: bool, h: float, full_output: bool):
    k, n = X.shape
    hs = _steps(X, h)  # (k, n)
    # every point with each component stepped: rows (i, a) -> X[i] + i h[i, a] e_a
    Z = np.repeat(X[:, None, :], n, axis=1).astype(complex)
    idx = np.arange(n)
    Z[:, idx, idx] += 1j * hs
    with np.errstate(all="ignore"):
        y = _complex_values(c, Z.reshape(k * n, n), False)  # (k n, m)
        D = y.imag / hs.reshape(-1)[:, None]
        status = _check(c, np.repeat(X, n, axis=0), np.tile(idx, k), D, False)
    m = D.shape[1]
    D = D.reshape(k, n, m)
    status = status.reshape(k, n, m)
    err = 4 * EPS * (1 + np.abs(X))[:, :, None] * np.abs(D)
    if jac:
        D, status, err = (np.ascontiguousarray(a.transpose(0, 2, 1)) for a in (D, status, err))
        shape = (m, n) if single else (k, m, n)
    else:
        shape = (n,) if single else (k, n)
    value = D.reshape(shape)
    if not full_output:
        return value
    step_shape = (n,) if single else (k, n)
    return _result(value, err.reshape(shape), hs.reshape(step_shape), np.full(step_shape, 5, np.uint32),
                   status.reshape(shape))
