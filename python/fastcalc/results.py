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

Concrete result types are frozen dataclasses deriving from :class:`Result`. In Jupyter a result
shows as a table of its fields (``_repr_html_``).
"""
from __future__ import annotations

import dataclasses
import html
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

    Examples
    --------
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True, repr=False, eq=False)
    ... class Found(Result):
    ...     x: float
    ...     success: bool = True
    >>> r = Found(x=2.0)
    >>> r.x, r["x"], list(r)
    (2.0, 2.0, ['x', 'success'])
    >>> r
    Found(
            x: 2
      success: True
    )
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

    def _repr_html_(self) -> str:
        """The fields as an HTML table (Jupyter shows results this way)."""
        names = [n for n in self._field_names() if getattr(self, n) is not None]
        rows = "".join(
            f"<tr><th style='text-align:right'>{html.escape(n)}</th>"
            f"<td style='text-align:left'><code>{html.escape(_brief(getattr(self, n)))}</code></td></tr>"
            for n in names)
        caption = html.escape(type(self).__name__)
        return f"<table><caption style='text-align:left'><b>{caption}</b></caption>{rows}</table>"

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

    df: Any  #: the derivative (the array the call returns without full_output)
    error: Any  #: its error estimate per value (NaN with a fixed h; 0 when exact)
    h: Any  #: the step each value came from
    nfev: Any  #: evaluations of f each value cost
    status: Any  #: 0 ok, else bits of DERIVATIVE_STATUS
    success: Any  #: status == 0: right within the error estimate
    message: str  #: the status in words
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

    x: Any  #: the final iterate of each run
    fun: Any  #: f there
    grad_norm: Any  #: the gradient norm there
    nit: Any  #: steps taken
    success: Any  #: converged
    status: Any  #: 0 converged below gtol, 1 maxiter reached, 2 diverged
    message: str  #: the runs' statuses in words
    converged: Any  #: the gradient norm fell below gtol
    diverged: Any  #: the iterate or gradient stopped being finite or ran away
    gtol: float  #: the gradient-norm tolerance used
    history: Any = None  #: the iterates, a row every history_every steps (None without history)
    fun_history: Any = None  #: f at those iterates
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

    x: Any  #: the parameter vector (or (k, p) for k starts)
    params: dict  #: the parameters by name
    fun: Any  #: the mean squared error
    nit: Any  #: iterations
    nfev: Any  #: evaluations of the model over the data
    success: Any  #: converged
    status: Any  #: 0 converged, 1 maxiter reached, 2 not finite
    message: str  #: the status in words
    method: str  #: the method used
    pcov: Any = None  #: the parameters' covariance (Levenberg-Marquardt), as curve_fit estimates it
    history: Any = None  #: the parameters per iteration (descent methods, when asked for)
    fun_history: Any = None  #: the loss per iteration
#: The kinds of critical point, one vocabulary for one and several variables.
CRITICAL_KINDS = ("min", "max", "saddle", "inflection", "degenerate")


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class CriticalPoint(Result):
    """A point where the gradient vanishes: ``x`` (a number for one variable, else an array),
    ``value`` f(x), ``kind`` (one of ``CRITICAL_KINDS``: "min", "max", "saddle" (eigenvalues of
    both signs), "inflection" (one variable: f' vanishes without changing sign), "degenerate" (a
    zero eigenvalue decides nothing)), ``eigenvalues`` of the Hessian (f'' for one variable) and
    ``grad_norm`` there."""

    x: Any  #: the point (a number for one variable)
    value: float  #: f(x)
    kind: str  #: "min", "max", "saddle", "inflection" or "degenerate"
    eigenvalues: Any  #: of the Hessian there (f'' for one variable)
    grad_norm: float  #: the gradient norm there