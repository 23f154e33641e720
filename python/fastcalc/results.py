"""The result objects of fastcalc, one family with one set of conventions (like scipy's).

Every result is immutable, reads as attributes (``r.x``) and as a mapping (``r["x"]``,
``dict(r)``, ``list(r)`` gives the field names), and prints as an aligned table of its fields.
The common fields mean the same thing everywhere:

``success``
    True only when the result can be trusted to within its error estimate or tolerance.
``status``
    0 for success; another integer says what went wrong (each function documents its codes).
``message``
    The status in words.
``nfev``, ``nit``
    Evaluations of the function, iterations of the method (where they apply).

Concrete result types are frozen dataclasses deriving from :class:`Result`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Iterator, Tuple

import numpy as np

__all__ = ["Result", "DerivativeResult", "DescentResult", "FitResult", "CriticalPoint", "DERIVATIVE_STATUS",
           "DESCENT_STATUS", "FIT_STATUS", "CRITICAL_KINDS"]


def _brief(value: Any) -> str:
    """A value as one short readable line (arrays summarized)."""
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=8, separator=", ", max_line_width=10**6).replace("\n", "")
        return f"array(shape={value.shape}, dtype={value.dtype})"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__} of {len(value)}"
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


class Result(Mapping):
    """Base of every fastcalc result: attribute and mapping access, a readable repr.

    Subclasses are ``@dataclasses.dataclass(frozen=True, repr=False, eq=False)``; fields whose
    names start with an underscore are private (not listed, not printed).
    """

    __slots__ = ()

    @classmethod
    def _field_names(cls) -> Tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if not f.name.startswith("_"))

    def __getitem__(self, key: str) -> Any:
        if key in self._field_names():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._field_names())

    def __len__(self) -> int:
        return len(self._field_names())

    # Results hold arrays: identity, not elementwise comparison, as for scipy's results.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        names = [n for n in self._field_names() if getattr(self, n) is not None]
        if not names:
            return f"{type(self).__name__}()"
        width = max(len(n) for n in names)
        rows = [f"  {n.rjust(width)}: {_brief(getattr(self, n))}" for n in names]
        return f"{type(self).__name__}(\n" + "\n".join(rows) + "\n)"


# ---- differentiation -----------------------------------------------------------------------

#: Status codes of a derivative estimate (bits: several may be set). 0 is a promise: the value is
#: right to within its error estimate (with a fixed step h: the formula's value is finite, and
#: there is no estimate, error NaN).
DERIVATIVE_STATUS = {
    0: "ok",
    1: "f was not finite at probed points",
    2: "too few finite steps to extrapolate (no error estimate)",
    4: "the estimate never settled down to the finest step tried (f varies faster than the steps, "
       "or round-off)",
    8: "the complex step disagrees with a finite difference (f is not complex-analytic)",
}


def derivative_message(status: Any) -> str:
    """One line for an array of status codes: 'ok', or how many values failed and why."""
    st = np.asarray(status).astype(np.int64).ravel()
    bad = np.count_nonzero(st)
    if bad == 0:
        return "ok"
    parts = [f"{np.count_nonzero(st & bit)} value(s): {text}" for bit, text in DERIVATIVE_STATUS.items()
             if bit and np.any(st & bit)]
    return f"{bad} of {st.size} value(s) cannot be trusted; " + "; ".join(parts)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class DerivativeResult(Result):
    """What ``full_output=True`` gives: the derivative ``df`` (the array the call returns without
    full_output) with, per value, its ``error`` estimate, the step ``h`` it came from, the
    evaluations ``nfev`` it cost, its ``status`` (0 ok, see ``DERIVATIVE_STATUS``) and
    ``success`` (status == 0); ``message`` says it in words. ``error`` is NaN with a fixed step
    (no estimate) and 0 for an exact (automatic) derivative of an ``Expr``."""

    df: Any
    error: Any
    h: Any
    nfev: Any
    status: Any
    success: Any
    message: str


# ---- optimization --------------------------------------------------------------------------

#: Status codes of a descent run.
DESCENT_STATUS = {0: "converged (gradient norm below gtol)", 1: "maxiter reached", 2: "diverged"}


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class DescentResult(Result):
    """The runs of ``descent``/``ascent``: per run the final iterate ``x``, its value ``fun``,
    ``grad_norm``, iterations ``nit``, ``success`` (converged), ``status`` (0 converged below
    ``gtol``, 1 ``maxiter`` reached, 2 diverged), ``converged``, ``diverged``; ``message`` for all
    runs. Shapes follow ``x0``: one start of shape (n,) gives x (n,) and scalars, k starts (k, n)
    give arrays over the runs (a function of one variable: x0 of shape () or (k,)). With history,
    ``history`` (rows, *x.shape) and ``fun_history`` (rows, *fun.shape), a row every
    ``history_every`` steps from step 0 (None without)."""

    x: Any
    fun: Any
    grad_norm: Any
    nit: Any
    success: Any
    status: Any
    message: str
    converged: Any
    diverged: Any
    gtol: float
    history: Any = None
    fun_history: Any = None
    _nvars: int = 1  # variables of f (x's trailing axis, or none for one variable)


#: Status codes of a fit.
FIT_STATUS = {0: "converged", 1: "maxiter reached", 2: "diverged or not finite"}


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class FitResult(Result):
    """The parameters ``fit`` learned: ``x`` (the parameter vector, or (k, p) for k starts),
    ``params`` (by name), ``fun`` (the mean squared error), ``nit``, ``nfev``, ``success``,
    ``status`` (0 converged, 1 ``maxiter`` reached, 2 not finite), ``message``, ``method``; with
    Levenberg-Marquardt ``pcov``, the parameters' covariance as ``scipy.optimize.curve_fit``
    estimates it (residual variance times (J^T J)^-1); with the descent methods ``history`` and
    ``fun_history`` when asked for."""

    x: Any
    params: dict
    fun: Any
    nit: Any
    nfev: Any
    success: Any
    status: Any
    message: str
    method: str
    pcov: Any = None
    history: Any = None
    fun_history: Any = None


#: The kinds of critical point, one vocabulary for one and several variables.
CRITICAL_KINDS = ("min", "max", "saddle", "inflection", "degenerate")


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class CriticalPoint(Result):
    """A point where the gradient vanishes: ``x`` (a number for one variable, else an array),
    ``value`` f(x), ``kind`` (one of ``CRITICAL_KINDS``: "min", "max", "saddle" (eigenvalues of
    both signs), "inflection" (one variable: f' vanishes without changing sign), "degenerate" (a
    zero eigenvalue decides nothing)), ``eigenvalues`` of the Hessian (f'' for one variable) and
    ``grad_norm`` there."""

    x: Any
    value: float
    kind: str
    eigenvalues: Any
    grad_norm: float
