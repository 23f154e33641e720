"""fastcalc over dask collections: the same calls, one chunk per task, on any dask scheduler.

Needs the ``dask`` extra (``pip install "fastcalc-ml[dask]"``: dask's arrays and distributed).
Every function here builds a lazy dask collection; nothing runs until ``.compute()`` (or
``dask.compute``), on the scheduler in use: threads in this process, or a
``dask.distributed`` cluster of worker processes or machines.

Each task is one fastcalc call on one chunk (an expression's tape or native kernel, a
derivative, a descent over a block of starts, a batch of ODE solves), and those calls release
the GIL, so threads of one worker run in parallel. Choose chunks of about 10^5-10^7 points:
large enough that a call's overhead (microseconds) and the scheduler's (about a millisecond per
task) vanish, small enough for memory and to keep every worker busy. The tape also runs OpenMP
threads inside one call where fastcalc was built with OpenMP; with as many dask threads as cores,
set ``OMP_NUM_THREADS=1`` on the workers so the two do not oversubscribe the cores.

Errors: a collection that is not a dask one, or chunked so that one task would not hold whole
points (the variables' axis split across chunks, arrays whose chunks disagree), raises
``ValueError`` naming it when the collection is built; an exception raised by a task (in a
user's function, or fastcalc's own ValueError for bad values) reaches the caller of
``compute()`` unchanged, as dask re-raises it.

>>> import dask.array as da
>>> import fastcalc as fc
>>> import fastcalc.dask as fcd
>>> f = fc.expr("x**2 + 3*y")
>>> X = da.from_array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], chunks=(2, 2))
>>> fcd.evaluate(f, X).compute()
array([ 7., 21., 43.])
>>> value, grad = fcd.value_and_gradient(f, X)
>>> grad.compute()
array([[ 2.,  3.],
       [ 6.,  3.],
       [10.,  3.]])
"""
from __future__ import annotations

import numbers
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

try:
    import dask
    import dask.array as da
    import dask.bag as db
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('fastcalc.dask needs dask: pip install "fastcalc-ml[dask]"') from exc

import fastcalc as fc

__all__ = ["evaluate", "value_and_gradient", "gradient", "hessian", "derivative", "descent", "solve_odes"]


# ---- checks --------------------------------------------------------------------------------

def _dask_array(a: Any, what: str) -> "da.Array":
    if not isinstance(a, da.Array):
        raise ValueError(f"{what} must be a dask array, got {type(a).__module__}.{type(a).__qualname__}; "
                         "wrap it with dask.array.from_array(...), or call fastcalc directly")
    return a


def _whole_last_axis(X: "da.Array", what: str) -> None:
    if X.ndim == 0:
        raise ValueError(f"{what} must have at least one axis, got a 0-d array")
    if len(X.chunks[-1]) != 1:
        raise ValueError(f"{what} has its last axis (the {X.shape[-1]} variables) split into chunks {X.chunks[-1]}; "
                         "each chunk must hold whole points: rechunk with {..., -1: -1}, e.g. "
                         f"X.rechunk({{{X.ndim - 1}: -1}})")


def _rows(X: "da.Array", what: str, ndim: int = 2) -> None:
    if X.ndim != ndim:
        raise ValueError(f"{what} must have shape (k, n): one point per row, got shape {X.shape}")
    _whole_last_axis(X, what)


def _scalar_expr(f: Any, what: str) -> None:
    if not isinstance(f, fc.Expr):
        raise ValueError(f"{what} needs an Expr (fastcalc.expr(...)), got {type(f).__qualname__}; for a callable "
                         "use fastcalc.dask.gradient / hessian / derivative")
    if f.is_vector:
        raise ValueError(f"{what} needs a scalar expression; this one has {len(f.components)} components")


def _columns(f: "fc.Expr", args: Sequence[Any], kwargs: Dict[str, Any]) -> Tuple[str, List[Any]]:
    """('matrix', [X]) for one array of points (..., n), or ('columns', one value per variable
    in the order of f.vars): dask arrays of one shape and one chunking, or plain numbers."""
    names = tuple(f.vars)
    n = len(names)
    if kwargs:
        if args:
            raise ValueError("pass the variables either by position or by name, not both")
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            raise ValueError(f"unknown variable(s) {', '.join(map(repr, unknown))}; the expression's variables are "
                             f"{names}")
        missing = [v for v in names if v not in kwargs]
        if missing:
            raise ValueError(f"missing value(s) for variable(s) {', '.join(map(repr, missing))}")
        values = [kwargs[v] for v in names]
    elif len(args) == 1 and n != 1:
        X = _dask_array(args[0], "X")
        _whole_last_axis(X, "X")
        if X.shape[-1] != n:
            raise ValueError(f"X must have shape (..., {n}) for the variables {names}, got shape {X.shape}")
        return "matrix", [X]
    elif len(args) == n:
        values = list(args)
    else:
        raise ValueError(f"the expression has {n} variable(s) {names}; got {len(args)} positional argument(s) "
                         "(pass one dask array of points (..., n), or one dask array per variable)")
    arrays = [(names[i], v) for i, v in enumerate(values) if not isinstance(v, numbers.Real)]
    if not arrays:
        raise ValueError("at least one variable must be a dask array (for plain numbers call the expression)")
    for name, v in arrays:
        _dask_array(v, f"the values of {name!r}")
    first_name, first = arrays[0]
    for name, v in arrays[1:]:
        if v.shape != first.shape or v.chunks != first.chunks:
            raise ValueError(f"the arrays of {first_name!r} and {name!r} must have one shape and one chunking, got "
                             f"{first.shape} in chunks {first.chunks} and {v.shape} in chunks {v.chunks}; "
                             "rechunk one like the other (b.rechunk(a.chunks))")
    return "columns", values


# ---- assembling several outputs of one task --------------------------------------------------

def _item(block: Any, j: int) -> Any:
    return block[j]


def _multi(func, values: List[Any], outputs: List[Tuple[Tuple[int, ...], Any]], extra: Tuple = (),
           point_axes: Any = None) -> List["da.Array"]:
    """Run ``func(*blocks, *extra)`` once per block (one task) and return the items of the tuple
    it returns as dask arrays, without copies.

    ``values``: dask arrays sharing one chunking of their first ``point_axes`` axes (the grid of
    points; default all axes of the first array), any further axes whole in one chunk, and plain
    values passed to every task. Output i has blocks of the points' shape followed by
    ``outputs[i][0]`` (a trailing shape), dtype ``outputs[i][1]``. One blockwise layer makes
    the tuples and one per output picks its item, so the graph stays as small as map_blocks'."""
    ref = next(v for v in values if isinstance(v, da.Array))
    p = ref.ndim if point_axes is None else point_axes
    letters = "abcdefghijklmnopqrstuvwxyz"
    args: List[Any] = []
    for v in values:
        if isinstance(v, da.Array):
            args += [v, letters[:v.ndim]]  # axes past the points' are single chunks, contracted away
        else:
            args += [v, None]
    for e in extra:
        args += [e, None]
    token = "fastcalc-" + func.__name__.strip("_").replace("_", "-")
    tuples = da.blockwise(func, letters[:p], *args, concatenate=True, dtype=object, token=token,
                          meta=np.empty((0,) * p, dtype=object))
    out = []
    for j, (tail, dtype) in enumerate(outputs):
        tail = tuple(tail)
        out.append(tuples.map_blocks(_item, j, dtype=dtype, token=f"fastcalc-output-{j}", chunks=tuples.chunks + tuple((s,) for s in tail),
                                     new_axis=list(range(p, p + len(tail))) or None,
                                     meta=np.empty((0,) * (p + len(tail)), dtype=dtype)))
    return out


# One instance of each expression per process: an Expr arrives in every task as its text (it
# pickles that way), and each fresh copy would compile its tape and look up its native kernel
# again (milliseconds); equal expressions share the first copy's compiled forms instead.
_SHARED: Dict[Any, Any] = {}


def _shared(f: Any) -> Any:
    if not isinstance(f, fc.Expr):
        return f
    got = _SHARED.get(f)
    if got is None:
        if len(_SHARED) >= 64:
            _SHARED.pop(next(iter(_SHARED)))
        got = _SHARED[f] = f
    return got


# ---- expressions -------------------------------------------------------------------------------

def _eval_matrix(block: np.ndarray, f: "fc.Expr") -> np.ndarray:
    f = _shared(f)
    return np.asarray(f(block), dtype=np.float64).reshape(block.shape[:-1] + ((len(f.components),) if f.is_vector else ()))


def _eval_columns(*blocks_and_f):
    *blocks, f = blocks_and_f
    return (np.asarray(_shared(f)(*blocks), dtype=np.float64),)


def evaluate(f: "fc.Expr", *args: Any, **kwargs: Any) -> "da.Array":
    """The values of an expression over dask arrays.

    Parameters
    ----------
    f : Expr
        A scalar or vector expression.
    *args, **kwargs : dask arrays
        As for calling ``f``: one array of points ``X`` of shape (..., n) whose last axis (the
        variables) is one chunk; or one array per variable (by position in the order of
        ``f.vars``, or by name), all of one shape and one chunking; plain numbers are constants.

    Returns
    -------
    dask.array.Array
        The shape of the points, with a last axis of the components for a vector expression.

    Raises
    ------
    ValueError
        A collection that is not a dask array, or chunks that split points or disagree.

    Examples
    --------
    >>> import dask.array as da, fastcalc as fc, fastcalc.dask as fcd
    >>> x = da.linspace(0.0, 1.0, 5, chunks=2)
    >>> fcd.evaluate(fc.expr("x*y"), x=x, y=2.0).compute()
    array([0. , 0.5, 1. , 1.5, 2. ])
    """
    if not isinstance(f, fc.Expr):
        raise ValueError(f"evaluate needs an Expr (fastcalc.expr(...)), got {type(f).__qualname__}")
    kind, values = _columns(f, args, kwargs)
    m = len(f.components)
    if kind == "matrix":
        X = values[0]
        if f.is_vector:
            return X.map_blocks(_eval_matrix, f, dtype=np.float64, chunks=X.chunks[:-1] + ((m,),),
                                meta=np.empty((0,) * X.ndim))
        return X.map_blocks(_eval_matrix, f, dtype=np.float64, drop_axis=X.ndim - 1,
                            meta=np.empty((0,) * (X.ndim - 1)))
    (out,) = _multi(_eval_columns, values, [((m,) if f.is_vector else (), np.float64)], (f,))
    return out


def _vg_matrix(block: np.ndarray, f: "fc.Expr"):
    value, grad = _shared(f).value_and_gradient(block)
    return np.asarray(value, dtype=np.float64).reshape(block.shape[:-1]), grad


def _vg_columns(*blocks_and_f):
    *blocks, f = blocks_and_f
    value, grad = _shared(f).value_and_gradient(*blocks)
    return np.asarray(value, dtype=np.float64), grad


def value_and_gradient(f: "fc.Expr", *args: Any, **kwargs: Any) -> Tuple["da.Array", "da.Array"]:
    """The value and exact gradient of a scalar expression over dask arrays, one pass per chunk.

    Parameters
    ----------
    f : Expr
        A scalar expression in n variables.
    *args, **kwargs : dask arrays
        As for :func:`evaluate`.

    Returns
    -------
    value : dask.array.Array
        The shape of the points.
    gradient : dask.array.Array
        The shape of the points with a last axis of the n partial derivatives.

    Notes
    -----
    Both arrays come from the same tasks (``Expr.value_and_gradient`` once per chunk): compute
    them together, ``dask.compute(value, gradient)``, or reduce them in the same graph.

    Examples
    --------
    >>> import dask, dask.array as da, fastcalc as fc, fastcalc.dask as fcd
    >>> X = da.from_array([[0.0, 1.0], [2.0, 3.0]], chunks=(1, 2))
    >>> v, g = dask.compute(*fcd.value_and_gradient(fc.expr("x**2*y"), X))
    >>> v, g
    (array([ 0., 12.]), array([[ 0.,  0.],
           [12.,  4.]]))
    """
    _scalar_expr(f, "value_and_gradient")
    kind, values = _columns(f, args, kwargs)
    n = len(f.vars)
    if kind == "matrix":
        X = values[0]  # points on the leading axes, the variables whole on the last
        value, grad = _multi(_vg_matrix, [X], [((), np.float64), ((n,), np.float64)], (f,), point_axes=X.ndim - 1)
        return value, grad
    return tuple(_multi(_vg_columns, values, [((), np.float64), ((n,), np.float64)], (f,)))  # type: ignore


# ---- derivatives of expressions and callables -----------------------------------------------

def _gradient_block(block: np.ndarray, f: Any, kwargs: Dict[str, Any]) -> np.ndarray:
    return np.asarray(fc.gradient(_shared(f), block, **kwargs), dtype=np.float64).reshape(block.shape)


def _hessian_block(block: np.ndarray, f: Any, kwargs: Dict[str, Any]) -> np.ndarray:
    k, n = block.shape
    return np.asarray(fc.hessian(_shared(f), block, **kwargs), dtype=np.float64).reshape(k, n, n)


def _derivative_block(block: np.ndarray, f: Any, n: int, kwargs: Dict[str, Any]) -> np.ndarray:
    return np.asarray(fc.derivative(_shared(f), block, n, **kwargs), dtype=np.float64).reshape(block.shape)


def _no_full_output(kwargs: Dict[str, Any], name: str) -> None:
    if kwargs.get("full_output"):
        raise ValueError(f"fastcalc.dask.{name} returns the values only (full_output is not gathered); use "
                         f"X.map_blocks with fastcalc.{name}(..., full_output=True) to keep the error estimates")


def gradient(f: Any, X: "da.Array", **kwargs: Any) -> "da.Array":
    """The gradient of f at each row of a dask array, one :func:`fastcalc.gradient` call per chunk.

    Parameters
    ----------
    f : Expr or callable
        An expression (exact gradient) or a callable batched over rows, (k, n) -> (k,), as
        :func:`fastcalc.gradient` takes it.
    X : dask.array.Array
        The points, shape (k, n), chunked along the rows only.
    **kwargs
        Passed to :func:`fastcalc.gradient` (``method``, ``h``, ``rtol``, ...).

    Returns
    -------
    dask.array.Array
        Shape (k, n), chunked like X.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastcalc.dask as fcd
    >>> X = da.from_array(np.array([[1.0, 2.0], [3.0, 4.0]]), chunks=(1, 2))
    >>> G = fcd.gradient(lambda P: (P**2).sum(axis=1), X).compute()
    >>> bool(np.allclose(G, 2 * X.compute(), rtol=1e-12))
    True
    """
    X = _dask_array(X, "X")
    _rows(X, "X")
    _no_full_output(kwargs, "gradient")
    return X.map_blocks(_gradient_block, f, kwargs, dtype=np.float64, meta=np.empty((0, 0)))


def hessian(f: Any, X: "da.Array", **kwargs: Any) -> "da.Array":
    """The Hessian of f at each row of a dask array, one :func:`fastcalc.hessian` call per chunk.

    Parameters
    ----------
    f : Expr or callable
        An expression (exact Hessian) or a callable batched over rows, (k, n) -> (k,).
    X : dask.array.Array
        The points, shape (k, n), chunked along the rows only.
    **kwargs
        Passed to :func:`fastcalc.hessian`.

    Returns
    -------
    dask.array.Array
        Shape (k, n, n), chunked like X's rows.

    Examples
    --------
    >>> import dask.array as da, fastcalc as fc, fastcalc.dask as fcd
    >>> X = da.from_array([[1.0, 2.0], [3.0, 4.0]], chunks=(1, 2))
    >>> fcd.hessian(fc.expr("x**2*y"), X).compute()[1]
    array([[8., 6.],
           [6., 0.]])
    """
    X = _dask_array(X, "X")
    _rows(X, "X")
    _no_full_output(kwargs, "hessian")
    n = X.shape[1]
    return X.map_blocks(_hessian_block, f, kwargs, dtype=np.float64, new_axis=2,
                        chunks=(X.chunks[0], (n,), (n,)), meta=np.empty((0, 0, 0)))


def derivative(f: Any, x: "da.Array", n: int = 1, **kwargs: Any) -> "da.Array":
    """The n-th derivative of a function of one variable at every element of a dask array.

    Parameters
    ----------
    f : Expr or callable
        As :func:`fastcalc.derivative` takes it (a vectorized callable, or an expression in
        one variable).
    x : dask.array.Array
        The points, any shape and chunking.
    n : int
        The order of the derivative.
    **kwargs
        Passed to :func:`fastcalc.derivative` (``method``, ``h``, ``order``, ``rtol``, ...).

    Returns
    -------
    dask.array.Array
        The shape and chunks of x.

    Examples
    --------
    >>> import numpy as np, dask.array as da, fastcalc.dask as fcd
    >>> x = da.linspace(0.0, 1.0, 6, chunks=3)
    >>> d = fcd.derivative(np.sin, x).compute()
    >>> bool(np.max(np.abs(d - np.cos(x.compute()))) < 1e-12)
    True
    """
    x = _dask_array(x, "x")
    _no_full_output(kwargs, "derivative")
    return x.map_blocks(_derivative_block, f, n, kwargs, dtype=np.float64, meta=np.empty((0,) * x.ndim))


# ---- descent sweeps ------------------------------------------------------------------------------

def _per_run_fields(result: Any, k: int) -> Dict[str, np.ndarray]:
    """The fields of a descent result that hold one entry per run (leading axis k)."""
    names = list(result) if hasattr(result, "keys") else [f for f in vars(result)]
    out = {}
    for name in names:
        if name.startswith("_") or name in ("history", "fun_history"):
            continue
        value = getattr(result, name)
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == k:
            out[name] = value
    return out


def _descent_block(x0: np.ndarray, lr: Any, f: Any, names: Tuple[str, ...], kwargs: Dict[str, Any]):
    k = x0.shape[0]
    lr = float(lr) if np.ndim(lr) == 0 else np.asarray(lr, dtype=float).reshape(-1)  # a number or one per run
    result = fc.descent(_shared(f), x0, lr=lr, **kwargs)
    fields = _per_run_fields(result, k)
    return tuple(fields[name] for name in names)


def _default_gtol_block(x0: np.ndarray, f: Any, kwargs: Dict[str, Any]) -> np.ndarray:
    opts = {k: v for k, v in kwargs.items() if k in ("method", "maximize", "grad", "args", "vectorized")}
    return np.array([fc.descent(_shared(f), x0, lr=1.0, maxiter=0, history=False, **opts).gtol])


def descent(f: Any, x0: "da.Array", *, lr: Any = 0.1, **kwargs: Any) -> Dict[str, "da.Array"]:
    """Gradient descent from many starts held in a dask array: one :func:`fastcalc.descent`
    call (all its runs advanced together in C++) per chunk of starts.

    Parameters
    ----------
    f : Expr or callable
        What :func:`fastcalc.descent` minimizes.
    x0 : dask.array.Array
        The starts, shape (k, n) chunked along the rows only (or (k,) for one variable).
    lr : float or dask.array.Array
        The learning rate: one for every run, or one per run (shape (k,), chunked like x0's rows).
    **kwargs
        Passed to :func:`fastcalc.descent` (``method``, ``maxiter``, ``gtol``, ``maximize``, ...).
        The history of the iterates is not gathered: ``history`` is off. Without ``gtol`` the
        default is descent's over all the starts (found over every chunk first).

    Returns
    -------
    dict of str to dask.array.Array
        Every per-run field of descent's result (``x``, ``fun``, ``nit``, ``converged``, ...),
        each with k rows chunked like x0. ``dask.compute(sweep)`` computes them in one pass (each
        chunk's descent runs once).

    Raises
    ------
    ValueError
        x0 or lr not a dask array (lr may be a number), chunks that split a start's
        coordinates or learning rates chunked unlike the starts, ``history=True``.

    Examples
    --------
    >>> import dask, dask.array as da, numpy as np, fastcalc as fc, fastcalc.dask as fcd
    >>> f = fc.expr("(x - 1)**2 + (y + 2)**2")
    >>> starts = da.from_array(np.array([[0.0, 0.0], [3.0, 3.0], [-5.0, 1.0]]), chunks=(2, 2))
    >>> (sweep,) = dask.compute(fcd.descent(f, starts, lr=0.25, maxiter=60))
    >>> np.round(sweep["x"], 6)
    array([[ 1., -2.],
           [ 1., -2.],
           [ 1., -2.]])
    """
    x0 = _dask_array(x0, "x0")
    if x0.ndim == 1:
        x0 = x0[:, None]
    _rows(x0, "x0")
    if kwargs.get("history"):
        raise ValueError("fastcalc.dask.descent does not gather the iterates' history; run fastcalc.descent on the "
                         "starts you want to trace")
    kwargs["history"] = False
    if isinstance(lr, da.Array):
        if lr.ndim != 1 or lr.shape[0] != x0.shape[0] or lr.chunks[0] != x0.chunks[0]:
            raise ValueError(f"lr must be a number or a dask array of shape ({x0.shape[0]},) chunked like x0's rows "
                             f"{x0.chunks[0]}, got shape {lr.shape} in chunks {lr.chunks}")
        lr_first = lr[:1]
        lrs: Any = lr[:, None]
    elif isinstance(lr, numbers.Real):
        lr_first, lrs = lr, float(lr)
    else:
        raise ValueError(f"lr must be a number or a dask array, got {type(lr).__qualname__}")
    if "gtol" not in kwargs and "tol" not in kwargs:
        # descent's default gtol is relative to the largest gradient norm over all the starts:
        # found over every chunk first, so that the sweep is the one process's run
        per_chunk = x0.map_blocks(_default_gtol_block, f, kwargs, chunks=((1,) * x0.numblocks[0],), drop_axis=1,
                                  dtype=np.float64, meta=np.empty((0,)))
        kwargs = dict(kwargs, gtol=float(per_chunk.max().compute()))
    # The fields (and their dtypes and trailing shapes) from one run of the first start: cheap,
    # and whatever fields fastcalc.descent's result has.
    first, first_lr = dask.compute(x0[:1], lr_first)
    probe = _per_run_fields(fc.descent(f, first, lr=np.ravel(first_lr) if np.ndim(first_lr) else first_lr,
                                       **kwargs), 1)
    names = tuple(probe)
    specs = [(probe[name].shape[1:], probe[name].dtype) for name in names]
    arrays = _multi(_descent_block, [x0, lrs], specs, (f, names, kwargs), point_axes=1)
    return {name: a for name, a in zip(names, arrays)}


# ---- many ODE solves ---------------------------------------------------------------------------

def _solve_one(problem: Dict[str, Any], common: Dict[str, Any]):
    if not isinstance(problem, dict):
        raise ValueError(f"each problem must be a dict of fastcalc.solve_ode's arguments, got "
                         f"{type(problem).__qualname__}")
    return fc.solve_ode(**{**common, **problem})


def _solve_block(y0: np.ndarray, common: Dict[str, Any]) -> list:
    return [fc.solve_ode(**{**common, "y0": row.tolist() if np.ndim(row) else float(row)}) for row in y0]


def solve_odes(problems: Any, **common: Any) -> "db.Bag":
    """Many :func:`fastcalc.solve_ode` problems, each trained in one C++ call on a worker.

    Parameters
    ----------
    problems : dask.bag.Bag or dask.array.Array
        A bag of dicts of :func:`fastcalc.solve_ode`'s arguments (merged over ``common``, which
        they override); or a dask array of initial values ``y0``, shape (k,) for one equation
        or (k, m) for a system of m (chunked along the rows only), each row one problem with
        the right-hand side and domain from ``common``.
    **common
        Arguments shared by every problem (``rhs``, ``domain``, ``hidden``, ``seed``, ...).

    Returns
    -------
    dask.bag.Bag
        The :class:`fastcalc.ODESolution` of each problem, in order (one partition per chunk
        of an array); solutions pickle, so they come back from worker processes whole.

    Examples
    --------
    >>> import dask.array as da, numpy as np, fastcalc.dask as fcd
    >>> y0 = da.from_array(np.array([0.5, 1.0, 2.0]), chunks=2)
    >>> sols = fcd.solve_odes(y0, rhs="-y", domain=(0.0, 1.0)).compute()
    >>> [round(float(s(1.0)), 5) for s in sols]   # y0 * exp(-1)
    [0.18394, 0.36788, 0.73576]
    """
    if isinstance(problems, db.Bag):
        return problems.map(_solve_one, common)
    if isinstance(problems, da.Array):
        if "y0" in common:
            raise ValueError("with a dask array of initial values, y0 comes from its rows; do not pass y0=")
        if problems.ndim not in (1, 2):
            raise ValueError(f"the initial values must have shape (k,) or (k, m), got {problems.shape}")
        if problems.ndim == 2:
            _rows(problems, "the initial values")
        blocks = problems.to_delayed().ravel()
        return db.from_delayed([dask.delayed(_solve_block, pure=True)(b, common) for b in blocks])
    raise ValueError(f"problems must be a dask bag of dicts or a dask array of initial values, got "
                     f"{type(problems).__module__}.{type(problems).__qualname__}")
