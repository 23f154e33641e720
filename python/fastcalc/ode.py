"""ODEs solved by a neural network trained on the equation's residual (in C++).

The trial solution meets the conditions by construction and a small dense network N(x) fills
in the rest: y = y0 + (x - a) N for y' = f(x, y); y = y0 + dy0 (x - a) + (x - a)**2 N for
y'' = f(x, y, y'); y = ya (b - x)/(b - a) + yb (x - a)/(b - a) + (x - a)(b - x) N for a
two-point boundary value problem. The loss is the mean squared residual at collocation points;
N', N'' come from exact derivative propagation through the network, and the Jacobian of the
residuals with respect to the parameters from exact reverse mode, so the default optimizer is
Levenberg-Marquardt.

What the method cannot do well: stiff equations (the residual loss is badly conditioned there),
long domains (errors grow along the domain; continuation over a growing domain helps up to a
point), solutions with boundary layers or blow-up. For those use a classical integrator
(``scipy.integrate.solve_ivp``).
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from .expressions import Expr, expr

__all__ = ["solve_ode", "ODESolution"]

_ACTIVATIONS = {"tanh": 0, "sigmoid": 1, "sin": 2}
_OPTIMIZERS = {"lm": 0, "adam": 1, "lbfgs": 2}
_TRIALS = {"ivp1": 0, "ivp2": 1, "bvp": 2}


@dataclass
class ODESolution:
    """A trained network solution: call it, differentiate it, check its residual; picklable."""

    domain: Tuple[float, float]
    names: Tuple[str, ...]
    order: int
    hidden: Tuple[int, ...]
    activation: str
    problem: dict
    params: np.ndarray
    loss_history: np.ndarray
    epochs: int
    message: str
    interrupted: bool = False
    rhs_texts: Optional[Tuple[str, ...]] = None
    rhs_callable: Any = None
    jac: Any = None
    _rhs_tape: Any = field(default=None, repr=False, compare=False)

    @property
    def m(self) -> int:
        return len(self.names)

    def _trial(self, x, k: int) -> np.ndarray:
        """y (k=0), y' (1) or y'' (2) at x, computed by the core's trial solution."""
        x = np.asarray(x, dtype=np.float64)
        flat = np.ascontiguousarray(x.reshape(-1))
        y = _core.ode_trial(list(self.hidden), self.m, _ACTIVATIONS[self.activation], self.problem, self.params,
                            flat)[k]
        return y[:, 0].reshape(x.shape) if self.m == 1 else y.reshape(x.shape + (self.m,))

    def __call__(self, x) -> np.ndarray:
        """y(x): the shape of x for one equation, (..., m) for a system."""
        return self._trial(x, 0)

    def derivative(self, x, n: int = 1) -> np.ndarray:
        """y'(x) (n=1) or y''(x) (n=2), exact derivatives of the trial solution."""
        if n not in (1, 2):
            raise ValueError("derivative order must be 1 or 2")
        if n == 2 and self.problem["trial"] == _TRIALS["ivp1"]:
            raise ValueError("second derivatives are available for second-order problems")
        return self._trial(x, n)

    def residual(self, x) -> np.ndarray:
        """y^(order) - f(x, y[, y']) at x."""
        x = np.asarray(x, dtype=np.float64)
        flat = np.ascontiguousarray(x.reshape(-1))
        r, _ = _core.ode_residuals(list(self.hidden), self.m, _ACTIVATIONS[self.activation], self.problem,
                                   self._rhs_object(), self.jac, self.params, flat, False)
        return r[:, 0].reshape(x.shape) if self.m == 1 else r.reshape(x.shape + (self.m,))

    def _rhs_object(self):
        if self.rhs_texts is None:
            return self.rhs_callable
        if self._rhs_tape is None:
            self._rhs_tape = _compile_rhs(self.rhs_texts, self.names, self.order)._tape()
        return self._rhs_tape

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_rhs_tape"] = None
        return state


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


def _points(points, a: float, b: float) -> np.ndarray:
    if isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        if points < 4:
            raise ValueError("need at least 4 collocation points")
        k = np.arange(points)
        return np.ascontiguousarray(a + (b - a) * (1 - np.cos(np.pi * k / (points - 1))) / 2)  # Chebyshev
    x = np.asarray(points, dtype=np.float64).reshape(-1)
    if x.size < 4 or not np.all(np.isfinite(x)) or x.min() < a or x.max() > b:
        raise ValueError("collocation points must be at least 4 finite values inside the domain")
    return np.ascontiguousarray(np.sort(x))


def _vector(v, m: int, what: str) -> List[float]:
    arr = np.atleast_1d(np.asarray(v, dtype=np.float64)).reshape(-1)
    if arr.size != m:
        raise ValueError(f"{what} has {arr.size} value(s) but the system has {m} equation(s)")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite")
    return arr.tolist()


def solve_ode(rhs: Union[str, Expr, Sequence[Union[str, Expr]], Callable], domain: Tuple[float, float], *,
              y0=None, dy0=None, bc=None, order: int = 1, names: Optional[Sequence[str]] = None,
              hidden: Sequence[int] = (10,), activation: str = "tanh", points: Union[int, Sequence[float]] = 100,
              optimizer: str = "lm", lr: Optional[float] = None, epochs: Optional[int] = None,
              tol: Optional[float] = None, seed: int = 0, progress: bool = False,
              callback: Optional[Callable[[int, float], Any]] = None, jac: Optional[Callable] = None,
              stages: Optional[int] = None) -> ODESolution:
    """Solve y' = rhs (order=1) or y'' = rhs (order=2) on ``domain`` by a neural network.

    rhs: text or Expr in ``x`` and the unknown ``y`` (order 2 also ``dy``); a list for a system,
        the unknowns ``y1, y2, ...`` (their derivatives ``dy1, ...``) unless ``names`` says
        otherwise; or a vectorized callable ``rhs(x, y)`` (``rhs(x, y, dy)``), y of shape
        (len(x),) for one equation, (len(x), m) for a system, with partials from ``jac`` or
        central differences.
    y0 (and dy0 for order 2): values at ``domain[0]``; bc=(ya, yb): a two-point boundary value
        problem for order 2.
    hidden, activation ("tanh", "sigmoid", "sin"), points (a count of Chebyshev points, or the
        points): the network and the collocation.
    optimizer: "lm" (Levenberg-Marquardt on the residual vector, the default), "adam", "lbfgs";
        epochs caps the iterations, tol stops once the mean squared residual is below it.
    stages: continuation over a growing domain (default: automatic, more for longer domains).
    progress: a live line on stderr; callback(epoch, loss) every few epochs, True stops.
    Training runs in C++ with the GIL released; Ctrl-C stops it and returns the best parameters
    so far (``sol.interrupted``).
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    try:
        a, b = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise ValueError(f"domain must be (a, b), got {domain!r}") from None
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"domain must be (a, b) with finite a < b, got {domain!r}")
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
            ya, yb = bc
            problem = dict(trial=_TRIALS["bvp"], a=a, b=b, order=2, ya=_vector(ya, m, "bc[0]"),
                           yb=_vector(yb, m, "bc[1]"))
        else:
            if y0 is None or dy0 is None:
                raise ValueError("a second-order problem needs y0 and dy0 (or bc=(ya, yb))")
            problem = dict(trial=_TRIALS["ivp2"], a=a, b=b, order=2, y0=_vector(y0, m, "y0"),
                           dy0=_vector(dy0, m, "dy0"))
    if activation not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {sorted(_ACTIVATIONS)}")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {sorted(_OPTIMIZERS)}")
    hidden = tuple(int(h) for h in hidden)
    if not hidden or min(hidden) < 1:
        raise ValueError("hidden must list positive layer widths")
    # right-hand side
    texts = None
    rhs_callable = None
    if callable(rhs) and not isinstance(rhs, Expr):
        user = rhs
        if m == 1:  # the user sees y of shape (K,) for one equation
            def rhs_callable(x, Y, *DY):
                out = user(x, Y[:, 0], *(d[:, 0] for d in DY))
                return np.asarray(out, dtype=np.float64).reshape(-1, 1)
            if jac is not None:
                ujac = jac

                def jac(x, Y, *DY):  # noqa: F811
                    out = ujac(x, Y[:, 0], *(d[:, 0] for d in DY))
                    if order == 2:
                        return tuple(np.asarray(o, dtype=np.float64).reshape(-1, 1, 1) for o in out)
                    return np.asarray(out, dtype=np.float64).reshape(-1, 1, 1)
        else:
            rhs_callable = user
        rhs_obj = rhs_callable
    else:
        parts = list(rhs) if system else [rhs]
        texts = tuple(str(p) for p in parts)
        rhs_obj = _compile_rhs(texts, names, order)._tape()
    x = _points(points, a, b)
    act = _ACTIVATIONS[activation]
    opt = _OPTIMIZERS[optimizer]
    if lr is None:
        lr = 1e-2
    if lr <= 0:
        raise ValueError("lr must be positive")
    auto = epochs is None and optimizer == "lm"
    if epochs is None:
        epochs = {"lm": 3000, "adam": 20000, "lbfgs": 5000}[optimizer]
    if tol is None:
        tol = 1e-22
    if stages is None:  # continuation: longer domains are grown in steps
        stages = 1 if (b - a) <= 1.0 or problem["trial"] == _TRIALS["bvp"] else int(math.ceil((b - a) / 1.0))
    stages = max(1, int(stages))
    start = time.perf_counter()
    reporter = _progress(progress, callback, start)
    # The defaults try again when the loss stays high (a poor start, or too little capacity):
    # another seed, then a second hidden layer. The best attempt is kept.
    attempts = [(int(seed), hidden)]
    if auto:
        attempts += [(int(seed) + 1, hidden), (int(seed), hidden + (hidden[-1],))]
    best = None
    for attempt_seed, attempt_hidden in attempts:
        run = _train(attempt_hidden, m, act, opt, problem, rhs_obj, jac, x, a, b, stages, epochs, lr, tol,
                     attempt_seed, reporter)
        if best is None or run["loss"] < best["loss"]:
            best = run
        if run["interrupted"] or run["loss"] <= _GOOD_LOSS:
            break
    params, history, total_epochs, result, hidden = (best["params"], best["history"], best["epochs"],
                                                     best["result"], best["hidden"])
    if progress:
        print(file=sys.stderr)
    return ODESolution(domain=(a, b), names=tuple(names), order=order, hidden=hidden, activation=activation,
                       problem=problem, params=np.asarray(params), loss_history=np.asarray(history),
                       epochs=total_epochs, message=result["stop"], interrupted=bool(result["interrupted"]),
                       rhs_texts=texts, rhs_callable=rhs_callable, jac=jac)


_GOOD_LOSS = 1e-10  # mean squared residual below which the defaults do not try again


def _train(hidden, m, act, opt, problem, rhs_obj, jac, x, a, b, stages, epochs, lr, tol, seed, reporter) -> dict:
    """One training run, with continuation over ``stages`` growing domains."""
    params = np.asarray(_core.ode_init(list(hidden), m, act, int(seed)))
    history: List[float] = []
    total, result = 0, None
    for s in range(1, stages + 1):
        bs = a + (b - a) * s / stages
        xs = x[x <= bs + 1e-12 * (b - a)] if s < stages else x
        if xs.size < 4:
            continue
        pb = dict(problem, b=bs) if problem["trial"] != _TRIALS["bvp"] else problem
        budget = epochs if s == stages else max(20, epochs // (2 * stages))
        result = _core.ode_train(list(hidden), m, act, pb, rhs_obj, jac, params, xs, opt, float(lr), int(budget),
                                 float(tol), 10, reporter)
        params = result["params"]
        history.extend(result["loss_history"].tolist())
        total += result["epochs"]
        if result["interrupted"]:
            break
    return dict(params=params, history=history, epochs=total, result=result, hidden=hidden,
                loss=history[-1] if history else math.inf, interrupted=bool(result["interrupted"]))


def _progress(progress: bool, callback, start: float):
    if not progress and callback is None:
        return None

    def report(epoch: int, loss: float) -> bool:
        if progress:
            rate = epoch / max(time.perf_counter() - start, 1e-9)
            sys.stderr.write(f"\r  epoch {epoch:6d}  loss {loss:.3e}  {rate:8.0f} epochs/s")
            sys.stderr.flush()
        return bool(callback(epoch, loss)) if callback is not None else False

    return report
