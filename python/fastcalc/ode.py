"""ODEs solved by a neural network trained on the equation's residual (in C++), with an error
estimate you can check.

The trial solution meets the conditions by construction and a small dense network N(x) fills
in the rest: y = y0 + (x - a) N for y' = f(x, y); y = y0 + dy0 (x - a) + (x - a)**2 N for
y'' = f(x, y, y'); y = ya (b - x)/(b - a) + yb (x - a)/(b - a) + (x - a)(b - x) N for a
two-point boundary value problem. The loss is the mean squared residual at collocation points;
N', N'' come from exact derivative propagation through the network, and the Jacobian of the
residuals with respect to the parameters from exact reverse mode, so the default method is
Levenberg-Marquardt.

A small loss does not mean a small error: the residual r = y_N' - f(x, y_N) is amplified by the
problem. The error e = y_N - y solves, to first order, the linear problem e' = f_y(x, y_N) e + r
with e(a) = 0 (e'' = f_y e + f_dy e' + r for second order, e(a) = e(b) = 0 for a boundary value
problem), which the core integrates along the trained solution: ``sol.error_estimate(x)`` and
``sol.max_error_estimate``. ``sol.success`` says whether that estimate is within ``atol``; the
defaults use it to decide whether to go on: tighter training, then (initial value problems)
time-marching, a chain of short networks each starting exactly from the previous one's end
value, refined until the estimate meets the target or the time budget is spent.

What the method cannot do well: stiff equations (the residual loss is badly conditioned there),
solutions with boundary layers or blow-up. For those use a classical integrator
(``scipy.integrate.solve_ivp``); the estimate says when the network failed.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from .expressions import Expr, expr
from .results import Result

__all__ = ["solve_ode", "ODESolution", "ODESegment", "ODEAccuracyWarning"]

_ACTIVATIONS = {"tanh": 0, "sigmoid": 1, "sin": 2}
_METHODS = {"lm": 0, "adam": 1, "lbfgs": 2}
_TRIALS = {"ivp1": 0, "ivp2": 1, "bvp": 2}
_MAXITER = {"lm": 3000, "adam": 20000, "lbfgs": 5000}  # default epochs per training run
_REL_ATOL = 1e-5      # default atol: this fraction of the solution's scale
_AIM = 0.1            # the defaults aim at this fraction of atol: the estimate is within 3x
_TIME_BUDGET = 20.0   # seconds the defaults may spend refining (the target is 30 s a problem, with margin)
_POINTS, _SEGMENT_POINTS = 100, 48  # default collocation points of one network, of a marched segment
_FIRST_SHARE = 1.0    # the first march: even shares (errors grow faster than the segments lengthen)

# status codes of ODESolution
OK, ABOVE_ATOL, INTERRUPTED, UNDETERMINED = 0, 1, 2, 3


class ODEAccuracyWarning(RuntimeWarning):
    """solve_ode's error estimate exceeds atol (or could not be determined)."""


@dataclass(frozen=True)
class ODESegment:
    """One network of a solution: on ``domain``, the trial solution of ``problem`` (its interval
    and conditions; the problem's start is the segment's start) with a network of ``hidden``
    units and parameters ``params``. A time-marched solution is a chain of them, each starting
    from the previous one's end value."""

    domain: Tuple[float, float]
    problem: dict
    hidden: Tuple[int, ...]
    params: np.ndarray


@dataclass(frozen=True, repr=False, eq=False)
class ODESolution(Result):
    """A trained network solution: call it, differentiate it, check its residual and its error
    estimate; picklable (the state is validated when unpickled).

    Attributes
    ----------
    success : bool
        The error estimate is within ``atol``.
    status : int
        0 ok, 1 estimate above atol, 2 interrupted, 3 estimate undetermined.
    message : str
        The status in words.
    nit : int
        Epochs of training, over all runs.
    max_error_estimate : float
        The largest estimated error ``|y_N - y|`` over the domain (see :meth:`error_estimate`).
    atol : float
        The error the solution was asked to reach.
    domain : tuple of float
        (a, b).
    names : tuple of str
        The unknowns' names.
    order : int
        1 or 2.
    activation : str
        The networks' activation.
    segments : tuple of ODESegment
        The networks, one per piece of the domain (time-marching chains them).
    loss_history : ndarray
        The mean squared residual per epoch.
    interrupted : bool
        Training stopped on Ctrl-C or by the callback.
    rhs_texts : tuple of str or None
        The right-hand side as text, when it was an expression.
    """

    success: bool
    status: int
    message: str
    nit: int
    max_error_estimate: float
    atol: float
    domain: Tuple[float, float]
    names: Tuple[str, ...]
    order: int
    activation: str
    segments: Tuple[ODESegment, ...]
    loss_history: np.ndarray
    interrupted: bool = False
    rhs_texts: Optional[Tuple[str, ...]] = None
    _rhs_callable: Any = None
    _jac: Any = None
    _error: Optional[dict] = None  # the estimate's nodes: x (n,), e (n, m), de (n, m)
    _rhs_tape: Any = field(default=None, compare=False)

    # --- the solution ---------------------------------------------------------------------
    @property
    def m(self) -> int:
        """The number of equations."""
        return len(self.names)

    @property
    def params(self) -> np.ndarray:
        """The first segment's parameters (the only segment unless the solution was marched)."""
        return self.segments[0].params

    @property
    def hidden(self) -> Tuple[int, ...]:
        """The first segment's hidden widths."""
        return self.segments[0].hidden

    @property
    def problem(self) -> dict:
        """The first segment's trial problem."""
        return self.segments[0].problem

    @property
    def epochs(self) -> int:
        """Deprecated: ``nit``."""
        warnings.warn("ODESolution.epochs is deprecated; use nit", DeprecationWarning, stacklevel=2)
        return self.nit

    def _by_segment(self, x, fn) -> np.ndarray:
        return _by_segment(self.segments, self.m, x, fn)

    def _trial(self, x, k: int) -> np.ndarray:
        """y (k=0), y' (1) or y'' (2) at x, computed by the core's trial solution."""
        return _trial(self.segments, self.m, _ACTIVATIONS[self.activation], x, k)

    def __call__(self, x) -> np.ndarray:
        """y(x): the shape of x for one equation, (..., m) for a system."""
        return self._trial(x, 0)

    def derivative(self, x, n: int = 1) -> np.ndarray:
        """y'(x) (n=1) or y''(x) (n=2), exact derivatives of the trial solution."""
        if n not in (1, 2):
            raise ValueError("derivative order must be 1 or 2")
        if n == 2 and self.order == 1:
            raise ValueError("second derivatives are available for second-order problems")
        return self._trial(x, n)

    def residual(self, x) -> np.ndarray:
        """y^(order) - f(x, y[, y']) at x."""
        act = _ACTIVATIONS[self.activation]
        rhs, jac = self._rhs_objects()
        return self._by_segment(x, lambda s, p: _core.ode_residuals(list(s.hidden), self.m, act, s.problem, rhs, jac,
                                                                    s.params, p, False)[0])

    def error_estimate(self, x) -> np.ndarray:
        """The estimated error sol(x) - y(x) (first order in the error), shaped like sol(x);
        NaN outside the domain or where no estimate was made (an interrupted solve)."""
        x = np.asarray(x, dtype=np.float64)
        flat = x.reshape(-1)
        out = np.full((flat.size, self.m), np.nan)
        if self._error is not None:
            xs, e, de = self._error["x"], self._error["e"], self._error["de"]
            inside = (flat >= xs[0]) & (flat <= xs[-1])
            q = flat[inside]
            i = np.clip(np.searchsorted(xs, q, side="right") - 1, 0, xs.size - 2)
            h = xs[i + 1] - xs[i]
            safe = np.where(h > 0, h, 1.0)
            t = ((q - xs[i]) / safe)[:, None]
            hh = h[:, None]
            # cubic Hermite from e and e' at the nodes
            val = ((2 * t**3 - 3 * t**2 + 1) * e[i] + (t**3 - 2 * t**2 + t) * hh * de[i]
                   + (-2 * t**3 + 3 * t**2) * e[i + 1] + (t**3 - t**2) * hh * de[i + 1])
            out[inside] = np.where((h > 0)[:, None], val, e[i])
        return out[:, 0].reshape(x.shape) if self.m == 1 else out.reshape(x.shape + (self.m,))

    def _rhs_objects(self):
        if self.rhs_texts is None:
            return _wrap_callable(self._rhs_callable, self._jac, self.m, self.order)
        if self._rhs_tape is None:
            object.__setattr__(self, "_rhs_tape", _compile_rhs(self.rhs_texts, self.names, self.order)._tape())
        return self._rhs_tape, None

    # --- pickling -------------------------------------------------------------------------
    def __getstate__(self):
        state = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        state["_rhs_tape"] = None
        return state

    def __setstate__(self, state):
        _check_state(state)
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, state.get(f.name, f.default))


def _by_segment(segments, m: int, x, fn) -> np.ndarray:
    """fn(segment, points) -> (k, m) on the points of x that each segment covers (the first and
    last segments extend beyond the domain)."""
    x = np.asarray(x, dtype=np.float64)
    flat = np.ascontiguousarray(x.reshape(-1))
    out = np.empty((flat.size, m))
    ends = np.array([s.domain[1] for s in segments[:-1]])
    which = np.searchsorted(ends, flat, side="left") if ends.size else np.zeros(flat.size, dtype=int)
    for k, seg in enumerate(segments):
        sel = np.nonzero(which == k)[0]
        if sel.size:
            out[sel] = fn(seg, np.ascontiguousarray(flat[sel]))
    return out[:, 0].reshape(x.shape) if m == 1 else out.reshape(x.shape + (m,))


def _trial(segments, m: int, act: int, x, k: int) -> np.ndarray:
    return _by_segment(segments, m, x,
                       lambda s, p: _core.ode_trial(list(s.hidden), m, act, s.problem, s.params, p)[k])


def _check_state(state) -> None:
    """An ODESolution's state (from a pickle, or built by hand) is consistent, or ValueError
    naming what is not. The networks and problems are checked by the core itself."""
    def fail(what):
        raise ValueError(f"invalid ODESolution state: {what}")

    if not isinstance(state, dict):
        fail("not a dict")
    names = {f.name for f in dataclasses.fields(ODESolution)}
    missing = [n for n in names if not n.startswith("_") and n not in state and
               ODESolution.__dataclass_fields__[n].default is dataclasses.MISSING]
    if missing:
        fail(f"missing {sorted(missing)}")
    unknown = set(state) - names
    if unknown:
        fail(f"unknown fields {sorted(unknown)}")
    try:
        a, b = (float(v) for v in state["domain"])
    except (TypeError, ValueError):
        fail("domain must be (a, b)")
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        fail("domain must be finite with a < b")
    nm = state["names"]
    if not isinstance(nm, tuple) or not nm or not all(isinstance(n, str) for n in nm):
        fail("names must be a non-empty tuple of strings")
    m = len(nm)
    if state["order"] not in (1, 2) or isinstance(state["order"], bool):
        fail("order must be 1 or 2")
    if state["activation"] not in _ACTIVATIONS:
        fail(f"unknown activation {state['activation']!r}")
    segs = state["segments"]
    if not isinstance(segs, tuple) or not segs or not all(isinstance(s, ODESegment) for s in segs):
        fail("segments must be a non-empty tuple of ODESegment")
    at = a
    for k, s in enumerate(segs):
        if not isinstance(s.problem, dict) or not isinstance(s.hidden, tuple):
            fail(f"segment {k}: problem must be a dict and hidden a tuple")
        if not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in s.hidden) or not s.hidden:
            fail(f"segment {k}: hidden must list positive integers")
        lo, hi = s.domain
        if lo != at or not hi > lo:
            fail(f"segment {k}: covers [{lo}, {hi}], expected to start at {at}")
        at = hi
        if not isinstance(s.params, np.ndarray) or s.params.dtype != np.float64 or s.params.ndim != 1:
            fail(f"segment {k}: params must be a 1-D float64 array")
        # the core checks the problem dict, the network and the parameter count (ValueError)
        _core.ode_trial(list(s.hidden), m, _ACTIVATIONS[state["activation"]], s.problem, s.params,
                        np.array([lo]))
        if s.problem.get("a") != lo:
            fail(f"segment {k}: its problem starts at {s.problem.get('a')!r}, not at its domain's start {lo}")
        if (s.problem.get("order") != state["order"]):
            fail(f"segment {k}: its problem is of order {s.problem.get('order')!r}, the solution of {state['order']}")
    if at != b:
        fail(f"the segments end at {at}, the domain at {b}")
    for key, kind in (("success", bool), ("interrupted", bool), ("message", str)):
        if key in state and not isinstance(state[key], kind):
            fail(f"{key} must be {kind.__name__}")
    for key in ("status", "nit"):
        if not isinstance(state[key], int) or isinstance(state[key], bool) or state[key] < 0:
            fail(f"{key} must be a non-negative integer")
    for key in ("max_error_estimate", "atol"):
        if not isinstance(state[key], float):
            fail(f"{key} must be a float")
    lh = state["loss_history"]
    if not isinstance(lh, np.ndarray) or lh.ndim != 1:
        fail("loss_history must be a 1-D array")
    texts, call = state.get("rhs_texts"), state.get("_rhs_callable")
    if (texts is None) == (call is None):
        fail("exactly one of rhs_texts and the callable right-hand side must be set")
    if texts is not None and (not isinstance(texts, tuple) or len(texts) != m or
                              not all(isinstance(t, str) for t in texts)):
        fail(f"rhs_texts must be a tuple of {m} strings")
    if call is not None and not callable(call):
        fail("the right-hand side must be callable")
    err = state.get("_error")
    if err is not None:
        if not isinstance(err, dict) or set(err) != {"x", "e", "de"}:
            fail("the error estimate must be a dict of x, e, de")
        xs, e, de = err["x"], err["e"], err["de"]
        if not all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in (xs, e, de)):
            fail("the error estimate must hold float64 arrays")
        if xs.ndim != 1 or xs.size < 2 or e.shape != (xs.size, m) or de.shape != (xs.size, m):
            fail("the error estimate's arrays disagree in shape")
        if not np.all(np.diff(xs) >= 0) or not np.all(np.isfinite(xs)):
            fail("the error estimate's nodes must be finite and sorted")


def _wider(hidden) -> Tuple[int, ...]:
    """The next network where one lacks capacity: every layer twice as wide."""
    return tuple(2 * h for h in hidden)


def _variables(names: Sequence[str], order: int) -> List[str]:
    return ["x", *names, *(["d" + n for n in names] if order == 2 else [])]


def _compile_rhs(texts: Sequence[str], names: Sequence[str], order: int) -> Expr:
    variables = _variables(names, order)
    try:
        return expr(list(texts), vars=variables)
    except ValueError as exc:
        if "misses variable" in str(exc):
            raise ValueError(f"the right-hand side uses unknown names: {exc}. Known: {variables}") from None
        raise


class _ScalarRhs:
    """A user's rhs for one equation, called with y of shape (K,); picklable if the user's is."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x, Y, *DY):
        out = self.fn(x, Y[:, 0], *(d[:, 0] for d in DY))
        return np.asarray(out, dtype=np.float64).reshape(-1, 1)


class _ScalarJac:
    def __init__(self, fn, order):
        self.fn, self.order = fn, order

    def __call__(self, x, Y, *DY):
        out = self.fn(x, Y[:, 0], *(d[:, 0] for d in DY))
        if self.order == 2:
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise ValueError("jac must return a pair (df/dy, df/ddy) for a second-order problem")
            return tuple(np.asarray(o, dtype=np.float64).reshape(-1, 1, 1) for o in out)
        return np.asarray(out, dtype=np.float64).reshape(-1, 1, 1)


def _wrap_callable(fn, jac, m: int, order: int):
    if m == 1:
        return _ScalarRhs(fn), (None if jac is None else _ScalarJac(jac, order))
    return fn, jac


def _points(points, a: float, b: float) -> np.ndarray:
    if isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        if points < 4 or points > 10**7:
            raise ValueError("need between 4 and 10**7 collocation points")
        k = np.arange(points)
        x = a + (b - a) * (1 - np.cos(np.pi * k / (points - 1))) / 2  # Chebyshev
        x[0], x[-1] = a, b
        return np.ascontiguousarray(x)
    x = np.asarray(points, dtype=np.float64).reshape(-1)
    if x.size < 4 or not np.all(np.isfinite(x)) or x.min() < a or x.max() > b:
        raise ValueError("collocation points must be at least 4 finite values inside the domain")
    return np.ascontiguousarray(np.sort(x))


def _vector(v, m: int, what: str) -> List[float]:
    try:
        arr = np.atleast_1d(np.asarray(v, dtype=np.float64)).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers, got {v!r}") from None
    if arr.size != m:
        raise ValueError(f"{what} has {arr.size} value(s) but the system has {m} equation(s)")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite")
    return arr.tolist()


def _renamed(new_value, old_value, new: str, old: str):
    if old_value is None:
        return new_value
    warnings.warn(f"solve_ode's {old}= is deprecated; use {new}=", DeprecationWarning, stacklevel=3)
    if new_value is not None:
        raise ValueError(f"give {new}= or {old}=, not both")
    return old_value


def solve_ode(rhs: Union[str, Expr, Sequence[Union[str, Expr]], Callable], domain: Tuple[float, float], *,
              y0=None, dy0=None, bc=None, order: int = 1, names: Optional[Sequence[str]] = None,
              hidden: Sequence[int] = (10,), activation: str = "tanh",
              points: Union[None, int, Sequence[float]] = None,
              method: Optional[str] = None, lr: Optional[float] = None, maxiter: Optional[int] = None,
              atol: Optional[float] = None, tol: Optional[float] = None, seed: int = 0, progress: bool = False,
              callback: Optional[Callable[[int, float], Any]] = None, jac: Optional[Callable] = None,
              stages: Optional[int] = None, segments: Optional[int] = None,
              optimizer: Optional[str] = None, epochs: Optional[int] = None) -> ODESolution:
    """Solve y' = rhs (order=1) or y'' = rhs (order=2) on ``domain`` by a neural network.

    Parameters
    ----------
    rhs : str, Expr, list of them, or callable
        Text or Expr in ``x`` and the unknown ``y`` (order 2 also ``dy``); a list for a system,
        the unknowns ``y1, y2, ...`` (their derivatives ``dy1, ...``) unless ``names`` says
        otherwise; or a vectorized callable ``rhs(x, y)`` (``rhs(x, y, dy)``), y of shape
        (len(x),) for one equation, (len(x), m) for a system, with partials from ``jac``
        (``jac(x, y)`` of shape (len(x), m, m); for order 2 a pair for y and dy) or central
        differences. Exceptions it raises propagate unchanged.
    domain : (a, b)
    y0, dy0 : values at ``a`` (dy0 for order 2); bc=(ya, yb): a two-point boundary value
        problem for order 2.
    hidden, activation, points : the network ("tanh", "sigmoid", "sin") and the collocation: a
        count of Chebyshev points per network (default 100, and 48 for each network of a
        time-marched solution), or the points themselves (one network).
    method : "lm" (Levenberg-Marquardt on the residual vector, the default), "adam", "lbfgs".
    atol : the target for the error estimate; default 1e-5 times the solution's scale (its
        largest absolute value over the domain, 1 for a zero solution). ``success`` is whether
        the estimate is within it; otherwise an ``ODEAccuracyWarning`` is issued.
    maxiter : epochs of each training run at most (default 3000 for "lm").
    tol : a training run stops once the mean squared residual is below it (default: from atol).
    stages : continuation over a growing domain for one network (default: automatic).
    segments : None (default): automatic; with "lm" the defaults train further, then march in
        time (initial value problems) or retry with other networks (boundary value problems)
        until the estimate meets the target or 20 s are spent. An integer k: k equal segments
        marched in time, no refinement (1: one network).
    seed : the first network's initial parameters (deterministic).
    progress : a live line on stderr (stage, seed, network, segment, epochs, loss, rate).
    callback : callback(epoch, loss) every 10 epochs (epochs counted over all runs); True stops.
    optimizer, epochs : deprecated names of ``method`` and ``maxiter``.

    Returns
    -------
    ODESolution
        Callable; ``sol.error_estimate(x)``, ``sol.max_error_estimate``, ``sol.success``.
        Ctrl-C stops training and returns the solution so far (``sol.interrupted``,
        ``status`` 2, no estimate).

    Examples
    --------
    >>> import numpy as np, fastcalc as fc
    >>> sol = fc.solve_ode("x", (0.0, 1.0), y0=0.0)
    >>> bool(sol.success), bool(abs(sol(0.5) - 0.125) < 1e-5)
    (True, True)
    >>> bool(sol.max_error_estimate < sol.atol)
    True
    """
    method = _renamed(method, optimizer, "method", "optimizer")
    maxiter = _renamed(maxiter, epochs, "maxiter", "epochs")
    if method is None:
        method = "lm"
    if order not in (1, 2) or isinstance(order, bool):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    try:
        a, b = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise ValueError(f"domain must be (a, b), got {domain!r}") from None
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"domain must be (a, b) with finite a < b (a domain of positive length), got {domain!r}")
    system = isinstance(rhs, (list, tuple))
    m = len(rhs) if system else 1
    if m == 0:
        raise ValueError("empty system")
    if names is None:
        names = [f"y{i + 1}" for i in range(m)] if system else ["y"]
    names = [str(n) for n in names]
    if len(names) != m:
        raise ValueError(f"names has {len(names)} entries for {m} equation(s)")
    # conditions
    if order == 1:
        if bc is not None:
            raise ValueError("bc (a boundary value problem) needs order=2")
        if dy0 is not None:
            raise ValueError("dy0 is for order=2")
        if y0 is None:
            raise ValueError("a first-order problem needs y0")
        problem = dict(trial=_TRIALS["ivp1"], a=a, b=b, order=1, y0=_vector(y0, m, "y0"))
    else:
        if bc is not None:
            if y0 is not None or dy0 is not None:
                raise ValueError("give either bc=(ya, yb) or y0 and dy0, not both")
            try:
                ya, yb = bc
            except (TypeError, ValueError):
                raise ValueError(f"bc must be a pair (ya, yb), got {bc!r}") from None
            problem = dict(trial=_TRIALS["bvp"], a=a, b=b, order=2, ya=_vector(ya, m, "bc[0]"),
                           yb=_vector(yb, m, "bc[1]"))
        else:
            if y0 is None or dy0 is None:
                raise ValueError("a second-order problem needs y0 and dy0 (or bc=(ya, yb))")
            problem = dict(trial=_TRIALS["ivp2"], a=a, b=b, order=2, y0=_vector(y0, m, "y0"),
                           dy0=_vector(dy0, m, "dy0"))
    if activation not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {sorted(_ACTIVATIONS)}")
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(_METHODS)}")
    try:
        hidden = tuple(int(h) for h in hidden)
    except (TypeError, ValueError):
        raise ValueError(f"hidden must list positive layer widths, got {hidden!r}") from None
    if not hidden or min(hidden) < 1:
        raise ValueError("hidden must list positive layer widths")
    for what, v in (("atol", atol), ("tol", tol), ("lr", lr)):
        if v is not None and not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{what} must be a positive finite number, got {v!r}")
    if maxiter is not None and (isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or
                                not 0 <= maxiter < 2**31):
        raise ValueError(f"maxiter must be an integer in [0, 2**31), got {maxiter!r}")
    for what, v in (("stages", stages), ("segments", segments)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= 100000):
            raise ValueError(f"{what} must be a positive integer, got {v!r}")
    if segments is not None and segments > 1 and problem["trial"] == _TRIALS["bvp"]:
        raise ValueError("a boundary value problem is solved by one network (segments=1)")
    if callback is not None and not callable(callback):
        raise ValueError("callback must be callable")
    # right-hand side
    texts = None
    user_callable = None
    if callable(rhs) and not isinstance(rhs, Expr):
        user_callable = rhs
        if jac is not None and not callable(jac):
            raise ValueError("jac must be callable")
        rhs_obj, jac_obj = _wrap_callable(rhs, jac, m, order)
    else:
        if jac is not None:
            raise ValueError("jac is for a callable rhs (an expression's partials are exact)")
        parts = list(rhs) if system else [rhs]
        texts = tuple(str(p) for p in parts)
        rhs_obj, jac_obj = _compile_rhs(texts, names, order)._tape(), None
    # the right-hand side at the initial point (BVP: the straight line's)
    y_start = problem.get("y0", problem.get("ya"))
    dy_start = problem.get("dy0") if order == 2 else None
    if problem["trial"] == _TRIALS["bvp"]:
        dy_start = [(q - p) / (b - a) for p, q in zip(problem["ya"], problem["yb"])]
    f_start = _core.ode_rhs(rhs_obj, jac_obj, m, order, np.array([a]), np.array(y_start, dtype=np.float64),
                            np.array(dy_start if dy_start is not None else y_start, dtype=np.float64))[0]
    if not np.all(np.isfinite(f_start)):
        raise ValueError(f"the right-hand side is not finite at the initial point x = {a}, y = {y_start}"
                         + (f", dy = {dy_start}" if order == 2 else "") + f": f = {f_start.ravel().tolist()}")
    fixed_points = points is not None and not isinstance(points, (int, np.integer))
    _points(_POINTS if points is None else points, a, b)  # validated once here
    if fixed_points and segments is not None and segments > 1:
        raise ValueError("collocation points given as an array need segments=1 (give a count to march)")
    auto = segments is None and method == "lm" and not fixed_points
    if lr is None:
        lr = 1e-2
    solver = _Solver(m=m, order=order, names=tuple(names), activation=activation, rhs_obj=rhs_obj, jac_obj=jac_obj,
                     problem=problem, hidden=hidden, points=points, method=method, lr=float(lr),
                     maxiter=_MAXITER[method] if maxiter is None else int(maxiter), atol=atol, tol=tol,
                     seed=int(seed), progress=progress, callback=callback, auto=auto)
    try:
        if auto:
            best = solver.automatic(stages)
        else:
            best = solver.fixed(stages, segments or 1)
    finally:
        if progress:
            sys.stderr.write("\n")
            sys.stderr.flush()
    return solver.result(best, texts, user_callable, jac)


class _Candidate:
    """A complete solution under construction: its segments and error estimate."""

    def __init__(self, segments, est=None, label=""):
        self.segments = segments   # [ODESegment]
        self.est = est             # {"x", "e", "de", "max", "ok"} or None (not estimated)
        self.label = label

    @property
    def max(self) -> float:
        return math.inf if self.est is None or not self.est["ok"] else self.est["max"]


class _Solver:
    """The training strategy: C++ does the work (training, estimates), this decides what next."""

    def __init__(self, *, m, order, names, activation, rhs_obj, jac_obj, problem, hidden, points, method, lr,
                 maxiter, atol, tol, seed, progress, callback, auto):
        self.m, self.order, self.names, self.activation = m, order, names, activation
        self.act = _ACTIVATIONS[activation]
        self.rhs, self.jac = rhs_obj, jac_obj
        self.problem, self.hidden, self.points = problem, hidden, points
        self.method, self.lr, self.maxiter = method, lr, maxiter
        self.user_atol, self.user_tol, self.seed = atol, tol, seed
        self.progress, self.callback, self.auto = progress, callback, auto
        self.a, self.b = problem["a"], problem["b"]
        self.L = self.b - self.a
        self.bvp = problem["trial"] == _TRIALS["bvp"]
        self.S = m * order
        self.nit = 0
        self.history: List[float] = []
        self.interrupted = False
        self.stop_message = ""
        self.start = time.perf_counter()
        self.deadline = self.start + _TIME_BUDGET
        self.stage = ""
        self.data_scale = max([abs(v) for k in ("y0", "ya", "yb") for v in problem.get(k, [])] + [0.0])

    # --- targets ----------------------------------------------------------------------------
    def scale(self, segments) -> float:
        """The solution's scale: its largest |y| over the domain (1 for a zero solution)."""
        s = self.data_scale
        for seg in segments:
            x = np.linspace(seg.domain[0], seg.domain[1], 257)
            y = _core.ode_trial(list(seg.hidden), self.m, self.act, seg.problem, seg.params, x)[0]
            v = float(np.max(np.abs(y))) if np.all(np.isfinite(y)) else 0.0
            s = max(s, v)
        return s if s > 0 else 1.0

    def atol(self, segments) -> float:
        return float(self.user_atol) if self.user_atol is not None else _REL_ATOL * self.scale(segments)

    def goal(self, segments) -> float:
        return _AIM * self.atol(segments)

    def time_left(self) -> bool:
        return time.perf_counter() < self.deadline

    # --- the core's calls -------------------------------------------------------------------
    def colloc(self, lo, hi, segment=False):
        """Collocation points on [lo, hi]: a Chebyshev grid, or the user's points inside it."""
        if self.points is None:
            return _points(_SEGMENT_POINTS if segment else _POINTS, lo, hi)
        if isinstance(self.points, (int, np.integer)):
            return _points(self.points, lo, hi)
        x = np.sort(np.asarray(self.points, dtype=np.float64).reshape(-1))
        x = x[(x >= lo) & (x <= hi + 1e-12 * self.L)]
        return np.ascontiguousarray(x)

    def train(self, seg_problem, hidden, params, x, tol, maxiter=None, seg_label="", stall=(100, 0.99)):
        """One training run; its epochs and losses join the totals."""
        offset = self.nit
        reporter = self._reporter(offset, hidden, seg_label)
        res = _core.ode_train(list(hidden), self.m, self.act, seg_problem, self.rhs, self.jac, params, x,
                              _METHODS[self.method], self.lr, int(self.maxiter if maxiter is None else maxiter),
                              float(tol), 10, reporter, stall_window=stall[0], stall_ratio=stall[1])
        self.nit += res["epochs"]
        self.history.extend(res["loss_history"].tolist())
        if res["interrupted"]:
            self.interrupted = True
            self.stop_message = res["stop"]
        return res

    def estimate(self, seg: ODESegment, e0=None, floor=0.0) -> dict:
        """The core's error estimate on a segment, from the error state e0 at its start."""
        K = _POINTS if self.points is None else (int(self.points) if isinstance(self.points, (int, np.integer))
                                                 else len(self.points))
        min_steps = 64
        while min_steps < 2 * K:
            min_steps *= 2
        e0 = np.zeros(self.S) if e0 is None else np.asarray(e0, dtype=np.float64)
        d = _core.ode_error(list(seg.hidden), self.m, self.act, seg.problem, self.rhs, self.jac, seg.params, e0,
                            min_steps, 1 << 16, float(floor))
        if d["interrupted"]:
            self.interrupted = True
            self.stop_message = "interrupted"
        d["ok"] = bool(d["finite"] and d["converged"] and not d["interrupted"])
        if not d["ok"]:
            d["max"] = math.inf
        return d

    def end_state(self, seg: ODESegment, x: float) -> Tuple[List[float], Optional[List[float]]]:
        y, y1, _ = _core.ode_trial(list(seg.hidden), self.m, self.act, seg.problem, seg.params, np.array([x]))
        return y[0].tolist(), (y1[0].tolist() if self.order == 2 else None)

    def segment_problem(self, lo, hi, y_lo, dy_lo):
        if self.bvp:
            return dict(self.problem)
        pb = dict(self.problem, a=float(lo), b=float(hi), y0=list(y_lo))
        if self.order == 2:
            pb["dy0"] = list(dy_lo)
        return pb

    def init(self, hidden, seed):
        return np.asarray(_core.ode_init(list(hidden), self.m, self.act, int(seed)))

    # --- progress ---------------------------------------------------------------------------
    def _reporter(self, offset, hidden, seg_label):
        if not self.progress and self.callback is None:
            return None
        label = f"{self.stage}  seed {self.seed}  hidden {hidden}" + (f"  {seg_label}" if seg_label else "")

        def report(epoch: int, loss: float) -> bool:
            total = offset + epoch
            if self.progress:
                rate = total / max(time.perf_counter() - self.start, 1e-9)
                sys.stderr.write(f"\r  {label}  epoch {total:7d}  loss {loss:.3e}  {rate:8.0f} epochs/s\x1b[K")
                sys.stderr.flush()
            return bool(self.callback(total, loss)) if self.callback is not None else False

        return report

    # --- strategies -------------------------------------------------------------------------
    def refine(self, pb, hidden, params, x, domain, budget, tol, label="", maxiter=None, rounds=4,
               stall=(100, 0.99)):
        """Train, estimate the error (from zero at the start of ``domain``), and while the estimate
        exceeds the budget train on: longer when the epochs ran out, to a lower loss target
        when the last one was reached; not when training stalled. Returns (segment, estimate,
        met)."""
        seg, est = None, None
        for _ in range(rounds):
            res = self.train(pb, hidden, params, x, tol, maxiter=maxiter, seg_label=label, stall=stall)
            params = res["params"]
            seg = ODESegment(domain, pb, tuple(hidden), params)
            if self.interrupted:
                return seg, None, False
            est = self.estimate(seg, floor=1e-3 * budget)
            if self.interrupted:
                return seg, None, False
            if est["max"] <= budget:
                return seg, est, True
            loss = float(np.min(res["loss_history"])) if res["loss_history"].size else math.inf
            if not est["ok"] or not self.time_left():
                break
            if res["stop"] == "reached the epoch limit":
                continue  # still improving: more of the same
            if loss > tol:  # stalled above its target
                break
            tol = loss * min(0.25, (budget / est["max"]) ** 2 / 4)
        return seg, est, False

    def loss_target(self, budget, length):
        """A first loss target for an error budget on an interval: rms residual budget / length
        (oscillating residuals cancel in the error, so this is usually enough; refine checks)."""
        return self.user_tol if self.user_tol is not None else (budget / length) ** 2

    def one_network(self, hidden, seed, stages, budget, refine=True):
        """One network over the whole domain, grown in stages (continuation) for an initial value
        problem. Stops growing when a stage's estimate is far above its share of the budget
        (hopeless: a collapse, or too little capacity). Returns the candidate so far (covering the
        stages trained), the length whose estimate met its share, and the last estimate."""
        params = self.init(hidden, seed)
        good_len = 0.0
        cand, est = None, None
        for s in range(1, stages + 1):
            hi = self.a + self.L * s / stages if s < stages else self.b
            pb = dict(self.problem, b=hi) if not self.bvp else dict(self.problem)
            x = self.colloc(self.a, hi)
            self.stage = f"one network, stage {s}/{stages}" if stages > 1 else "one network"
            share = budget * (hi - self.a) / self.L
            tol = self.loss_target(share, hi - self.a) if refine else (self.user_tol or 1e-22)
            if s < stages:
                res = self.train(pb, hidden, params, x, tol, maxiter=max(20, self.maxiter // (2 * stages)))
                params = res["params"]
                seg = ODESegment((self.a, hi), pb, tuple(hidden), params)
                cand = _Candidate([seg], label=self.stage)
                if self.interrupted:
                    return cand, good_len, None
                if refine:
                    est = self.estimate(seg, floor=1e-3 * share)
                    if self.interrupted:
                        return cand, good_len, None
                    if est["max"] > 100 * share:
                        return cand, good_len, est
                    if est["max"] <= share:
                        good_len = hi - self.a
                continue
            if refine:
                seg, est, met = self.refine(pb, hidden, params, x, (self.a, hi), budget, tol)
            else:
                res = self.train(pb, hidden, params, x, tol)
                seg, met = ODESegment((self.a, hi), pb, tuple(hidden), res["params"]), False
            cand = _Candidate([seg], label=self.stage)
            if met:
                good_len = self.L
        return cand, good_len, est

    def finish(self, cand: _Candidate, goal: float) -> _Candidate:
        """The global error estimate of a complete candidate (segment by segment, the error state
        carried across the joints)."""
        if cand.segments[-1].domain[1] != self.b:
            cand.est = None
            return cand
        xs, es, des, phis = [], [], [], []
        e_state = np.zeros(self.S)
        phi = np.eye(self.S)
        worst, ok = 0.0, True
        for seg in cand.segments:
            est = self.estimate(seg, e0=e_state, floor=1e-3 * goal)
            if self.interrupted:
                cand.est = None
                return cand
            if not est["ok"]:
                ok = False
                break
            xs.append(est["x"])
            es.append(est["e"])
            des.append(est["de"])
            worst = max(worst, est["max"])
            e_state = est["end"]
            if est["phi"] is not None:
                phis.append(est["phis"] @ phi)
                phi = est["phi"] @ phi
        if not ok:
            cand.est = {"ok": False, "max": math.inf}
            return cand
        cand.est = {"ok": True, "max": worst, "x": np.concatenate(xs), "e": np.concatenate(es),
                    "de": np.concatenate(des), "phi": phi, "phis": np.concatenate(phis) if phis else None}
        return cand

    def fit_segment(self, lo, hi, y_lo, dy_lo, hidden, params, budget, label, quick=False):
        """One network on [lo, hi] from (y_lo, dy_lo), from the parameters given (the previous
        segment's: neighbouring segments have similar solutions in the network's scaled input, so
        this start is close), refined until its local error estimate (from a zero error at lo)
        is within the budget. Returns (segment, estimate, met)."""
        pb = self.segment_problem(lo, hi, y_lo, dy_lo)
        tol = self.user_tol if self.user_tol is not None else 100 * self.loss_target(budget, hi - lo)
        return self.refine(pb, hidden, params, self.colloc(lo, hi, segment=True), (lo, hi), budget, tol,
                           label=label, maxiter=min(self.maxiter, 100 if quick else 500), rounds=1 if quick else 6)

    def amplification(self, est, segments):
        """G(s) = max over x >= s of |Phi(x) Phi(s)^-1| (infinity norm) from an estimate's
        propagators: how much a local error made at s grows by the end (between 1 and 1e6), as
        a step function on a coarse grid of s. None without propagators, or when the estimate
        is not small against the solution (the linearization along it says little then)."""
        if est is None or not est.get("ok") or est.get("phis") is None:
            return None
        if not est["max"] <= 0.01 * self.scale(segments):
            return None
        xs, phis = est["x"], est["phis"]
        idx = np.unique(np.linspace(0, xs.size - 1, min(xs.size, 65)).astype(int))
        G = np.ones(idx.size)
        with np.errstate(all="ignore"):
            for n, i in enumerate(idx):
                try:
                    inv = np.linalg.inv(phis[i])
                except np.linalg.LinAlgError:
                    G[n] = np.inf
                    continue
                later = phis[i:] @ inv
                G[n] = max(1.0, float(np.max(np.sum(np.abs(later), axis=2))))
        G[~np.isfinite(G)] = 1e6
        return xs[idx], np.minimum(G, 1e6)

    def march(self, h0: float, profile, factor: float, goal: float, hidden, seed) -> _Candidate:
        """Time-marching: short networks in a chain, each from the previous one's end value.

        A local error made at s grows by at most G(s) by the end (the amplification profile of
        the previous try): a segment [s, s + h] gets goal h / (L G(s) factor), its even share of
        the goal (`factor` tightens every share after a round that missed by the overshoot it
        measured). A segment whose local estimate misses it is trained once more from fresh
        parameters (a restart), then halved until two halvings in a row have not lowered the error
        per unit length (a try without an estimate does not count); then the best try is kept, or
        a network twice as wide on that stretch when its estimate is lower (capacity, not length,
        is what is missing there). Comfortable segments let the next one be longer. The goal
        follows the solution's scale as the march learns it; out of time, training gets short,
        nothing is halved and the segments double until the domain is covered."""
        s = self.a
        y_lo = self.problem["y0"]
        dy_lo = self.problem.get("dy0")
        segs: List[ODESegment] = []
        start = self.init(hidden, seed)
        h = min(h0, self.L)
        h_min = self.L / 4096
        fallback = None  # the best try at the current position: (error per length, segment, estimate)
        restarted = False  # a restart was tried at the current position
        stale = 0  # halvings at the current position that did not lower the error per length

        def amp(x):
            if profile is None:
                return factor
            xs, G = profile
            return factor * float(G[max(0, int(np.searchsorted(xs, x, side="right")) - 1)])

        def allowance(lo, hi):
            return goal * (hi - lo) / (self.L * amp(lo))

        while s < self.b and not self.interrupted:
            quick = not self.time_left()
            h = min(h, self.b - s)
            if self.b - (s + h) < 0.25 * h:  # no sliver at the end
                h = self.b - s
            hi = self.b if s + h >= self.b else s + h
            budget = allowance(s, hi)
            label = f"segment {len(segs) + 1} [{s:.4g}, {hi:.4g}]"
            seg, est, met = self.fit_segment(s, hi, y_lo, dy_lo, hidden, start, budget, label, quick=quick)
            if not met and not quick and not restarted and not self.interrupted:
                # a restart from fresh parameters: the warm start may sit in a poor minimum
                restarted = True
                alt = self.fit_segment(s, hi, y_lo, dy_lo, hidden, self.init(hidden, seed + 1 + len(segs)), budget,
                                       label + " (restart)")
                if alt[1] is not None and (est is None or alt[1]["max"] < est["max"]):
                    seg, est, met = alt
            if self.interrupted:
                segs.append(seg)
                break
            density = est["max"] / (hi - s) if est is not None else math.inf
            if not met and not quick:
                if fallback is None or density < 0.5 * fallback[0]:
                    stale = 0
                elif math.isfinite(density):
                    stale += 1  # halving did not lower the error per length (it is noisy: twice)
                # (a try without an estimate, one that diverged, says nothing about halving)
                if fallback is None or density < fallback[0]:
                    fallback = (density, seg, est)
                if stale < 2 and (hi - s) > h_min:
                    h = (hi - s) / 2
                    continue
                seg, est = fallback[1], fallback[2]  # halving stopped helping: the best try
                hi = seg.domain[1]
                if self.time_left():
                    # length is not what this stretch lacks: a wider network (the shared one's
                    # capacity; per-component networks are its block-diagonal special case), for
                    # this stretch only (the next segment starts from the narrow one again)
                    wide = _wider(hidden)
                    alt = self.fit_segment(s, hi, y_lo, dy_lo, wide, self.init(wide, seed + 1 + len(segs)),
                                           allowance(s, hi), f"segment {len(segs) + 1} [{s:.4g}, {hi:.4g}] (wider)")
                    if self.interrupted:
                        segs.append(alt[0])
                        break
                    if alt[1] is not None and alt[1]["max"] < est["max"]:
                        seg, est, met = alt
            fell_back = fallback is not None and not met
            fallback, restarted, stale = None, False, 0
            segs.append(seg)
            if seg.hidden == tuple(hidden):
                start = seg.params
            if self.user_atol is None:  # the scale seen so far
                goal = max(goal, _AIM * _REL_ATOL * self.scale([seg]))
            y_lo, dy_lo = self.end_state(seg, hi)
            length, s = hi - s, hi
            if (met and est["max"] <= 0.1 * budget) or fell_back or quick:  # longer again (out of time: finish)
                h = 2 * length
            elif met and est["max"] <= 0.3 * budget:
                h = 1.5 * length
            else:
                h = length
        return _Candidate(segs, label=f"time-marching ({len(segs)} segments)")

    def automatic(self, stages) -> _Candidate:
        """Defaults: one network (continuation over a growing domain for an initial value problem);
        then, while the estimate exceeds the goal: further training; time-marching for initial
        value problems, other networks for boundary value problems; the best by estimate."""
        if stages is None:
            stages = 1 if self.L <= 1.0 or self.bvp else int(math.ceil(self.L / 1.0))
        goal = self.goal([])
        self.stage = "one network"
        cand, good_len, stage_est = self.one_network(self.hidden, self.seed, stages, goal)
        if self.interrupted:
            return cand
        best = None
        goal = max(goal, self.goal(cand.segments)) if self.user_atol is None else goal
        if cand.segments[-1].domain[1] == self.b:
            goal = self.goal(cand.segments)
            cand = self.finish(cand, goal)
            best = cand
            if cand.max <= goal or self.interrupted:
                return cand
        if self.bvp:
            return self._retry_networks(best, goal)
        profile = self.amplification(best.est if best is not None else stage_est, cand.segments)
        h0 = good_len if good_len > 0 else self.L / max(2, 2 * stages)
        h0 = min(h0, self.L / 2)
        factor = _FIRST_SHARE
        for round_ in range(1, 4):
            if self.interrupted or not self.time_left():
                break
            self.stage = f"time-marching, round {round_}"
            cand = self.march(h0, profile, factor, goal, self.hidden, self.seed)
            if self.interrupted:
                return cand if best is None else best
            goal = self.goal(cand.segments) if self.user_atol is None else goal
            cand = self.finish(cand, goal)
            if best is None or cand.max < best.max:
                best = cand
            if cand.max <= goal:
                break
            profile = self.amplification(cand.est, cand.segments) or profile
            factor *= 2.0 * cand.max / goal if math.isfinite(cand.max) else 10.0
            first = cand.segments[0].domain
            h0 = min(h0, first[1] - first[0])
        return best

    def _retry_networks(self, best, goal) -> _Candidate:
        """Boundary value problems: another seed, a wider network, two layers, more points."""
        H = self.hidden[-1]
        tries = [((self.hidden, self.seed + 1)), ((2 * H,), self.seed), ((H, H), self.seed),
                 ((2 * H, 2 * H), self.seed)]
        for hidden, seed in tries:
            if self.interrupted or not self.time_left() or (best is not None and best.max <= goal):
                break
            self.seed = seed
            cand, _, _ = self.one_network(hidden, seed, 1, goal)
            if self.interrupted:
                return best or cand
            cand = self.finish(cand, goal)
            if best is None or cand.max < best.max:
                best = cand
        return best

    def fixed(self, stages, segments) -> _Candidate:
        """What the user asked for: one network (continuation in stages) or k equal segments."""
        tol = self.user_tol if self.user_tol is not None else 1e-22
        if segments == 1:
            if stages is None:
                stages = 1 if self.L <= 1.0 or self.bvp else int(math.ceil(self.L / 1.0))
            cand, _, _ = self.one_network(self.hidden, self.seed, stages, 0.0, refine=False)
        else:
            segs = []
            y_lo, dy_lo = self.problem["y0"], self.problem.get("dy0")
            for k in range(segments):
                lo = self.a + self.L * k / segments
                hi = self.b if k == segments - 1 else self.a + self.L * (k + 1) / segments
                pb = self.segment_problem(lo, hi, y_lo, dy_lo)
                self.stage = "time-marching"
                res = self.train(pb, self.hidden, self.init(self.hidden, self.seed), self.colloc(lo, hi), tol,
                                 seg_label=f"segment {k + 1}/{segments} [{lo:.4g}, {hi:.4g}]")
                seg = ODESegment((lo, hi), pb, self.hidden, res["params"])
                segs.append(seg)
                if self.interrupted:
                    break
                y_lo, dy_lo = self.end_state(seg, hi)
            cand = _Candidate(segs)
        if not self.interrupted:
            cand = self.finish(cand, self.goal(cand.segments))
        return cand

    # --- the result -------------------------------------------------------------------------
    def result(self, cand: _Candidate, texts, user_callable, jac) -> ODESolution:
        segs = list(cand.segments)
        if segs[-1].domain[1] != self.b:  # an interrupted run: the last network covers the rest
            last = segs[-1]
            segs[-1] = ODESegment((last.domain[0], self.b), last.problem, last.hidden, last.params)
        atol = self.atol(segs)
        est = cand.est if not self.interrupted else None
        error = None
        if self.interrupted:
            status, success = INTERRUPTED, False
            message = self.stop_message or "interrupted"
            max_est = math.nan
        elif est is None or not est["ok"]:
            status, success, max_est = UNDETERMINED, False, math.inf
            message = ("the error estimate could not be determined (the residual or the Jacobian of f is not "
                       "finite along the solution, or the linearized problem is singular)")
        else:
            max_est = float(est["max"])
            error = {"x": est["x"], "e": est["e"], "de": est["de"]}
            if max_est <= atol:
                status, success = OK, True
                message = f"the error estimate {max_est:.2e} is within atol {atol:.2e}"
            else:
                status, success = ABOVE_ATOL, False
                message = f"the error estimate {max_est:.2e} exceeds atol {atol:.2e}"
                if max_est > 0.01 * self.scale(segs):
                    message += " (at this size a first-order estimate only says that the solution is far off)"
                collapse = self.collapse(segs, error)
                if collapse:
                    message += "; " + collapse
        if len(segs) > 1:
            message += f" ({len(segs)} segments)"
        if not success and not self.interrupted:
            warnings.warn(f"solve_ode: {message}", ODEAccuracyWarning, stacklevel=3)
        return ODESolution(success=success, status=status, message=message, nit=int(self.nit),
                           max_error_estimate=max_est, atol=float(atol), domain=(self.a, self.b),
                           names=self.names, order=self.order, activation=self.activation,
                           segments=tuple(segs), loss_history=np.asarray(self.history, dtype=np.float64),
                           interrupted=self.interrupted, rhs_texts=texts, _rhs_callable=user_callable, _jac=jac,
                           _error=error)

    def collapse(self, segs, error) -> str:
        """A network that settled on an equilibrium (y' ~ 0 from some x on) while the estimate says
        the true solution is elsewhere: the typical failure of one network on a long domain."""
        x = np.linspace(self.a, self.b, 801)
        speed = np.max(np.abs(_trial(segs, self.m, self.act, x, 1).reshape(x.size, -1)), axis=1)
        if not np.all(np.isfinite(speed)) or speed.max() == 0:
            return ""
        moving = np.nonzero(speed > 1e-3 * speed.max())[0]
        xc = x[moving[-1]] if moving.size else self.a
        if xc > self.a + 0.9 * self.L:
            return ""
        e = np.max(np.abs(error["e"]), axis=1)
        after = error["x"] >= xc
        if not np.any(after) or e[after].max() <= self.atol(segs):
            return ""
        y = _trial(segs, self.m, self.act, np.array([self.b]), 0).reshape(-1)
        return (f"the network settled on an equilibrium (y = {np.array2string(y, precision=4)}) after x = {xc:.3g}, "
                "which the true solution leaves")
