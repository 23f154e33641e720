"""``Expr``: an immutable math expression with symbolic and exact numeric derivatives.

>>> f = expr("x**2 - 4*x + 4")
>>> str(f.diff("x"))
'2*x - 4'
>>> f(3.0)
1.0
"""
from __future__ import annotations

import math
import numbers
import re
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import nodes as N
from .diff import diff as _diff
from .errors import ExprError
from .nodes import Node
from .parse import parse_names
from .printing import to_latex, to_str

Operand = Union["Expr", float, int, str]
_F64 = np.dtype(np.float64)
_ND = np.ndarray
_PICKLE_VERSION = 1

def _small():
    from .._jit import SMALL

    return SMALL


_SMALL = _small()  # batches below this many points never go native (see _jit.SMALL)


class _LRU:
    """A bounded, thread-safe least-recently-used cache keyed by content (interned nodes and
    variable names)."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._d: "OrderedDict[Any, Any]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key, value):
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.maxsize:
                self._d.popitem(last=False)

    def __len__(self) -> int:
        return len(self._d)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()


#: compiled tape arrays of recently compiled expressions, shared by equal expressions
_ARRAYS = _LRU(256)


class Expr:
    """A scalar expression or, built from a list of texts, a vector of them.

    Build one with :func:`expr` (from text), from other expressions with arithmetic, or by
    calculus (:meth:`diff`, :meth:`gradient`, ...). Expressions are immutable, hashable and
    picklable; equal expressions (the same canonical DAG, the same variables) compare equal.

    ``vars`` orders the variables (see :func:`expr`). Derived expressions keep the variables of
    the one they came from, so every component of a gradient takes the same arguments.

    Examples
    --------
    >>> f = expr("x*exp(-(x**2 + y**2))")
    >>> f.vars
    ('x', 'y')
    >>> round(f(0.5, 0.2), 12)
    0.374131783789
    >>> f.diff("y")
    Expr('-2*x*y*exp(-(x**2 + y**2))')
    """

    __slots__ = ("_roots", "_vars", "_vector", "_tape_cache", "_native_cache", "_arrays_cache",
                 "__weakref__")


    def __init__(self, roots: Sequence[Node], variables: Sequence[str], vector: bool = False):
        object.__setattr__(self, "_roots", tuple(roots))
        object.__setattr__(self, "_vars", tuple(variables))
        object.__setattr__(self, "_vector", bool(vector))
        object.__setattr__(self, "_tape_cache", None)
        object.__setattr__(self, "_native_cache", None)
        object.__setattr__(self, "_arrays_cache", None)

    def __setattr__(self, name, value):
        raise AttributeError("Expr is immutable")

    # --- structure -------------------------------------------------------------------------
    @property
    def vars(self) -> Tuple[str, ...]:
        """The variables, in the order the expression takes its arguments.

        Examples
        --------
        >>> expr("y*exp(x) + z").vars
        ('y', 'x', 'z')
        >>> expr("x10 + x2 + x1").vars
        ('x1', 'x2', 'x10')
        """
        return self._vars

    @property
    def is_vector(self) -> bool:
        """Whether this is a vector of expressions (built from a list of texts).

        Examples
        --------
        >>> expr(["x", "y"]).is_vector, expr("x").is_vector
        (True, False)
        """
        return self._vector

    @property
    def components(self) -> List["Expr"]:
        """The scalar components (a list of one for a scalar expression).

        Examples
        --------
        >>> expr(["x*y", "x + y"]).components
        [Expr('x*y'), Expr('x + y')]
        """
        return [Expr((r,), self._vars) for r in self._roots]

    @property
    def node(self) -> Node:
        """The root node of a scalar expression (the canonical DAG; see ``expressions.nodes``).

        Examples
        --------
        >>> expr("x + 1").node.kind
        'add'
        """
        if self._vector:
            raise ValueError("a vector expression has no single node; use .components")
        return self._roots[0]

    def free_vars(self) -> Tuple[str, ...]:
        """The variables that actually occur, in the order of :attr:`vars`.

        Examples
        --------
        >>> expr("x*y").diff("x").free_vars()
        ('y',)
        """
        occurring = N.variables_of(self._roots)
        return tuple(v for v in self._vars if v in occurring)

    def is_constant(self) -> bool:
        """Whether no variable occurs.

        Examples
        --------
        >>> expr("x**2").diff("x").diff("x").is_constant()
        True
        """
        return not any(True for _ in N.iter_vars_in(self._roots))

    def as_numer_denom(self) -> Tuple["Expr", "Expr"]:
        """(numerator, denominator) of a product or quotient; (self, 1) otherwise.

        Examples
        --------
        >>> expr("sin(x)/x").as_numer_denom()
        (Expr('sin(x)'), Expr('x'))
        """
        coeff, num, den = N.split_product(self.node)
        return self._derive(N.mul_list([N.num(coeff)] + num)), self._derive(N.mul_list(den))

    def _derive(self, root: Node) -> "Expr":
        return Expr((root,), self._vars)

    def _map(self, f) -> "Expr":
        return Expr(tuple(f(r) for r in self._roots), self._vars, self._vector)

    # --- calculus --------------------------------------------------------------------------
    def diff(self, var: str) -> "Expr":
        """The derivative with respect to ``var`` (componentwise for a vector expression), by the
        rules of the table of operations.

        Parameters
        ----------
        var : str
            A variable name (one that does not occur gives 0).

        Returns
        -------
        Expr
            The derivative, with the same variables.

        Examples
        --------
        >>> expr("x**3 + sin(2*x)").diff("x")
        Expr('3*x**2 + 2*cos(2*x)')
        """
        if not isinstance(var, str) or not var.isidentifier():
            raise ValueError(f"diff needs a variable name, got {var!r}")
        return self._map(lambda r: _diff(r, var))

    def simplify(self) -> "Expr":
        """Numeric coefficients multiplied into sums of up to 64 terms (``2*(x + 1) -> 2*x + 2``);
        folding, the 0 and 1 identities and like terms are kept by every operation, where they keep
        the domain (``x/x`` stays: it is NaN at 0). Linear in the size of the DAG.

        Examples
        --------
        >>> expr("2*(x + 1) - 2").simplify()
        Expr('2*x')
        """
        return self._map(N.distribute)

    def gradient(self) -> List["Expr"]:
        """[df/dv for v in vars].

        Examples
        --------
        >>> expr("x**2*y").gradient()
        [Expr('2*x*y'), Expr('x**2')]
        """
        if self._vector:
            raise ValueError("gradient of a vector expression: use jacobian()")
        return [self.diff(v) for v in self._vars]

    def jacobian(self) -> List[List["Expr"]]:
        """m x n: row i holds the partial derivatives of component i.

        Examples
        --------
        >>> expr(["x*y", "x + y**2"]).jacobian()
        [[Expr('y'), Expr('x')], [Expr('1'), Expr('2*y')]]
        """
        return [[c.diff(v) for v in self._vars] for c in self.components]

    def hessian(self) -> List[List["Expr"]]:
        """n x n second partial derivatives.

        Examples
        --------
        >>> expr("x**2*y").hessian()
        [[Expr('2*y'), Expr('2*x')], [Expr('2*x'), Expr('0')]]
        """
        g = self.gradient()
        return [[gi.diff(v) for v in self._vars] for gi in g]

    def subs(self, **replacements: Operand) -> "Expr":
        """Replace variables by expressions or numbers (composition): the result's variables are
        the remaining ones followed by those the replacements bring, in order of appearance.

        Examples
        --------
        >>> z = expr("x**2 + y")
        >>> z.subs(x="3*t", y=1)
        Expr('9*t**2 + 1')
        """
        reps = {}
        new_vars: Dict[str, None] = {}
        for name, value in replacements.items():
            e = _as_expr(value)
            if e._vector:
                raise ValueError(f"cannot substitute a vector expression for {name!r}")
            reps[name] = e.node
            for v in e._vars:
                new_vars.setdefault(v)
        kept = [v for v in self._vars if v not in reps]
        kept_set = set(kept)
        variables = kept + [v for v in new_vars if v not in kept_set]
        roots = N.rebuild_all(self._roots, leaf=lambda leaf: reps.get(leaf.value) if leaf.kind == N.VAR else None)
        return Expr(roots, variables, self._vector)

    # --- printing --------------------------------------------------------------------------
    def __str__(self) -> str:
        if self._vector:
            return "[" + ", ".join(to_str(r) for r in self._roots) + "]"
        return to_str(self._roots[0])

    def __repr__(self) -> str:
        try:
            if self._vector:
                return f"Expr([{', '.join(repr(to_str(r)) for r in self._roots)}])"
            return f"Expr({to_str(self._roots[0])!r})"
        except ExprError:
            return f"<Expr of {sum(N.size(r) for r in self._roots):,} nodes, too long to print; variables {self._vars}>"

    def latex(self) -> str:
        """The expression in LaTeX (a column vector for a vector expression).

        Examples
        --------
        >>> expr("x**2/(x + 1)").latex()
        '\\\\frac{x^{2}}{x + 1}'
        """
        if self._vector:
            return r"\begin{pmatrix}" + r" \\ ".join(to_latex(r) for r in self._roots) + r"\end{pmatrix}"
        return to_latex(self._roots[0])

    def _repr_latex_(self) -> str:
        """What Jupyter shows: the LaTeX between dollars.

        Examples
        --------
        >>> expr("sqrt(x)")._repr_latex_()
        '$\\\\sqrt{x}$'
        """
        return f"${self.latex()}$"

    # --- equality, hashing, pickling -------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expr):
            return NotImplemented
        return self._roots == other._roots and self._vars == other._vars and self._vector == other._vector

    def __hash__(self) -> int:
        return hash((self._roots, self._vars, self._vector))

    def __copy__(self):
        return self  # immutable

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        table, roots = N.encode(self._roots)  # the DAG, not its text: no size or depth limit of text
        return (_unpickle, (_PICKLE_VERSION, table, roots, list(self._vars), self._vector))

    # --- arithmetic ------------------------------------------------------------------------
    def _binary(self, other: Operand, op, reflected: bool = False) -> "Expr":
        o = _as_expr(other)
        if self._vector or o._vector:
            raise ValueError("arithmetic on vector expressions is not supported; combine components")
        mine = set(self._vars)
        variables = list(self._vars) + [v for v in o._vars if v not in mine]
        a, b = (o.node, self.node) if reflected else (self.node, o.node)
        return Expr((op(a, b),), variables)

    def __add__(self, o): return self._binary(o, N.add)
    def __radd__(self, o): return self._binary(o, N.add, True)
    def __sub__(self, o): return self._binary(o, N.sub)
    def __rsub__(self, o): return self._binary(o, N.sub, True)
    def __mul__(self, o): return self._binary(o, N.mul)
    def __rmul__(self, o): return self._binary(o, N.mul, True)
    def __truediv__(self, o): return self._binary(o, N.div)
    def __rtruediv__(self, o): return self._binary(o, N.div, True)
    def __pow__(self, o): return self._binary(o, N.power)
    def __rpow__(self, o): return self._binary(o, N.power, True)
    def __neg__(self): return self._map(N.neg)
    def __pos__(self): return self

    # --- evaluation ------------------------------------------------------------------------
    def _tape_arrays(self):
        """(ops, args, consts, n_vars, outputs): the tape program as arrays (see compile.py)."""
        a = self._arrays_cache
        if a is None:
            key = (self._roots, self._vars)
            a = _ARRAYS.get(key)
            if a is None:
                from .compile import compile_nodes

                a = compile_nodes(self._roots, self._vars)
                for arr in a:
                    if isinstance(arr, np.ndarray):
                        arr.setflags(write=False)  # shared between equal expressions
                _ARRAYS.put(key, a)
            object.__setattr__(self, "_arrays_cache", a)
        return a

    def _tape(self):
        """The compiled C++ tape (built once, then cached)."""
        t = self._tape_cache
        if t is None:
            from .. import _core

            t = _core.Tape(*self._tape_arrays())
            object.__setattr__(self, "_tape_cache", t)
        return t

    def _evaluator(self):
        """The tape that evaluates values (built once)."""
        t = self._tape_cache
        return t if t is not None else self._tape()

    def _native_program(self, order: int):
        """(Program, content key) of the value (order 0), also the gradient (1) or also the
        Hessian (2) of a scalar expression, built once per expression and order; None for a
        vector expression, one without variables, or one the Program cannot hold."""
        cache = self._native_cache
        if cache is None:
            cache = {}
            object.__setattr__(self, "_native_cache", cache)
        if order not in cache:
            from .._jit import content_key
            from ..optimize import _program

            hit = None
            if self._vars and not self._vector:
                try:
                    prog = _program(self, order)
                    hit = (prog, content_key(prog))
                except (ValueError, RuntimeError):  # too large for a program: the tape runs
                    hit = None
            cache[order] = hit
        return cache[order]

    def _native(self, order: int):
        """The native kernel (fastcalc._jit.Kernel) computing the value (order 0), also the
        gradient (1) or also the Hessian (2), compiled now; None where none can be built."""
        hit = self._native_program(order)
        if hit is None:
            return None
        from .._jit import kernel

        return kernel(hit[0], key=hit[1])

    def _run_native(self, order: int, columns=None, matrix=None):
        """(n_results, N): the value, then the gradient, then the Hessian row by row (as far as
        `order`) from the native kernel, for one array per variable (`columns`) or a matrix with
        a point per row; None where the cost rule (fastcalc._jit.decide) keeps the interpreter."""
        N_ = matrix.shape[0] if matrix is not None else (columns[0].shape[0] if columns else 0)
        if self._vector or N_ < _SMALL:
            return None
        hit = self._native_program(order)
        if hit is None:
            return None
        from .. import _core
        from .._jit import decide, run_columns, run_rows

        k = decide(hit[0], N_, key=hit[1])
        if k is None:
            return None
        threads = _core.parallel_threads()
        if matrix is not None:
            return run_rows(k, np.ascontiguousarray(matrix, dtype=np.float64), threads)
        return run_columns(k, [np.ascontiguousarray(c, dtype=np.float64) for c in columns], threads)

    def __call__(self, *args: Any, **kwargs: Any):
        """Evaluate: ``f(3.0)``; ``f(x=..., y=...)`` (broadcast like NumPy); ``f(X)`` with X of
        shape (..., n); for one variable ``f(a)`` with a of any shape.

        Evaluated by the C++ tape's interpreter, or for large or repeated batches by native code
        compiled from the same program (fastcalc/_jit.py: the same bits; when is decided by the
        cost rule ``fastcalc._jit.decide``). Plain floats give a float; 1-d float64 arrays, one
        per variable, go to the tape as they are.

        Examples
        --------
        >>> import numpy as np
        >>> f = expr("x*y + 1")
        >>> f(2.0, 3.0)
        7.0
        >>> f(x=np.array([1.0, 2.0]), y=3.0)
        array([4., 7.])
        >>> f(np.array([[1.0, 2.0], [3.0, 4.0]]))
        array([ 3., 13.])
        """
        if not kwargs and args and len(args) == len(self._vars):
            a0 = args[0]
            ta = type(a0)
            if ta is _ND:
                # the common case: one 1-d float64 column per variable, to the tape as they are
                if a0.ndim == 1 and a0.dtype is _F64 and not self._vector:
                    n = len(a0)
                    for a in args:
                        if type(a) is not _ND or a.ndim != 1 or a.dtype is not _F64 or len(a) != n:
                            break
                    else:
                        if n < _SMALL:
                            t = self._tape_cache
                            if t is None:
                                t = self._evaluator()
                            return t.eval_columns(list(args)).ravel()
            elif ta is float or ta is int:
                for a in args:  # plain numbers
                    if type(a) is not float and type(a) is not int:
                        break
                else:
                    t = self._tape_cache
                    if t is None:
                        t = self._evaluator()
                    y = t.point(*args)  # plain numbers: no arrays
                    return np.array(y) if self._vector else y
        elif not kwargs and len(args) == 1 and type(args[0]) is _ND:
            X = args[0]  # one point per row
            if (X.ndim == 2 and X.dtype is _F64 and X.shape[1] == len(self._vars) != 1 and not self._vector
                    and len(X) < _SMALL):
                t = self._tape_cache
                if t is None:
                    t = self._evaluator()
                return t.eval(X).ravel()
        X, cols = self._arguments(args, kwargs)
        return self._eval_matrix(X) if X is not None else self._eval_columns(cols)

    def _arguments(self, args, kwargs):
        """(X, None) for one array of shape (..., n), else (None, one value per variable), in the
        order of ``vars``; errors name the variable or the shape."""
        n = len(self._vars)
        if kwargs:
            if args:
                raise ValueError("pass the variables either by position or by name, not both")
            unknown = [k for k in kwargs if k not in self._vars]
            if unknown:
                raise ValueError(f"unknown variable(s) {', '.join(map(repr, unknown))}; the expression's variables "
                                 f"are {self._vars}")
            missing = [v for v in self._vars if v not in kwargs]
            if missing:
                raise ValueError(f"missing value(s) for variable(s) {', '.join(map(repr, missing))}")
            return None, [kwargs[v] for v in self._vars]
        if len(args) == 1 and n != 1:
            X = np.asarray(args[0], dtype=np.float64)
            if X.ndim == 0 or X.shape[-1] != n:
                raise ValueError(f"X must have shape (..., {n}) for the variables {self._vars}, got shape {X.shape}")
            return X, None
        if len(args) != n:
            raise ValueError(f"the expression has {n} variable(s) {self._vars}; got {len(args)} positional "
                             "argument(s) (pass one array of shape (..., n), or one value per variable)")
        return None, list(args)

    def _eval_columns(self, cols: List[Any]):
        arrays = [np.asarray(c, dtype=np.float64) for c in cols]
        if all(a.ndim == 0 for a in arrays):
            X = np.array([[float(a) for a in arrays]]).reshape(1, len(arrays))
            Y = self._evaluator().eval(X)[0]
            return Y if self._vector else float(Y[0])
        arrays = np.broadcast_arrays(*arrays)
        shape = arrays[0].shape
        # one 1-d array per variable, passed to the tape as is (copied only when broadcast)
        cols = [a.reshape(-1) for a in arrays]
        R = self._run_native(0, cols)
        if R is not None:
            return R[0].reshape(shape)
        Y = self._evaluator().eval_columns(cols)
        if self._vector:
            return Y.reshape(shape + (Y.shape[1],))
        return Y[:, 0].reshape(shape)

    def value_and_gradient(self, *args: Any, **kwargs: Any):
        """(f, grad f) at the points, in one pass of the tape (reverse mode), or for 65,536 points
        or more in its native kernel where one can be built; arguments as for calling. The
        gradient has the variables on a last axis.

        Examples
        --------
        >>> f = expr("x**2*y")
        >>> f.value_and_gradient(3.0, 2.0)
        (18.0, array([12.,  9.]))
        """
        if self._vector:
            raise ValueError("value_and_gradient needs a scalar expression; use fastcalc.jacobian")
        n = len(self._vars)
        X, cols = self._arguments(args, kwargs)
        if X is not None:
            R = self._run_native(1, matrix=X.reshape(math.prod(X.shape[:-1]), n))
            if R is not None:
                return R[0].reshape(X.shape[:-1]), R[1:].T.reshape(X.shape)
            cols = [X[..., j] for j in range(n)]
        cols = [np.asarray(c, dtype=np.float64) for c in cols]
        arrays = np.broadcast_arrays(*cols)
        shape = arrays[0].shape
        cols = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
        R = self._run_native(1, cols)
        if R is not None:  # rows: the value, then the gradient's components
            value, grad = R[0].reshape(shape), R[1:].T.reshape(shape + (n,))
        else:
            Y, G = self._evaluator().gradient_columns(cols)
            value = Y[:, 0].reshape(shape)
            grad = G[:, 0, :].reshape(shape + (n,))
        return (float(value) if value.ndim == 0 else value), grad

    def _eval_matrix(self, X: np.ndarray):
        lead = X.shape[:-1]
        X2 = np.ascontiguousarray(X.reshape(math.prod(lead), X.shape[-1]))  # (N, 0) for no variables
        R = self._run_native(0, matrix=X2)
        if R is not None:
            return R[0].reshape(lead)
        Y = self._evaluator().eval(X2)
        if self._vector:
            return Y.reshape(lead + (Y.shape[1],))
        out = Y[:, 0].reshape(lead)
        return float(out) if out.ndim == 0 else out


def _rebuild(text, variables):
    """Unpickles the text pickles of earlier versions."""
    return expr(text, vars=variables)


def _unpickle(version, table, roots, variables, vector):
    if version != _PICKLE_VERSION:
        raise ValueError(f"an Expr pickle of version {version!r}; this fastcalc reads version {_PICKLE_VERSION}")
    variables = _check_vars(list(variables))
    nodes = N.decode(table, roots)
    if not nodes or (not vector and len(nodes) != 1):
        raise ValueError("bad Expr pickle: wrong number of components")
    missing = N.variables_of(nodes) - set(variables)
    if missing:
        raise ValueError(f"bad Expr pickle: variables {sorted(missing)} are not among {variables}")
    return Expr(nodes, variables, bool(vector))


def _as_expr(value: Operand) -> Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, str):
        return expr(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Expr((N.num(float(value)),), ())
    raise TypeError(f"cannot make an expression of {type(value).__name__}")


_INDEXED = re.compile(r"(.*\D)(\d+)", re.DOTALL)


def order_variables(names: Sequence[str]) -> List[str]:
    """Variables in order of first appearance, except that indexed names (a stem ending in a
    non-digit, then digits: x0, x1, ..., x10, b_2) are taken together, in the order of their
    index, where the first of their stem appears: ``x1 + y + x0`` -> (x0, x1, y)."""
    groups: Dict[str, List[Tuple[int, str]]] = {}
    for name in names:
        m = _INDEXED.fullmatch(name)
        if m:
            groups.setdefault(m.group(1), []).append((int(m.group(2)), name))
    out: List[str] = []
    done = set()
    for name in names:
        m = _INDEXED.fullmatch(name)
        if m is None:
            out.append(name)
        elif m.group(1) not in done:
            done.add(m.group(1))
            out.extend(n for _, n in sorted(groups[m.group(1)]))
    return out


def _check_vars(variables: List[Any]) -> List[str]:
    if len(set(variables)) != len(variables):
        raise ValueError(f"vars has duplicates: {variables}")
    bad = [v for v in variables if not isinstance(v, str) or not v.isidentifier() or v in N.FUNCTIONS
           or v in N.CONSTANTS or v in N.NUMBER_NAMES]
    if bad:
        raise ValueError(f"not variable names: {bad}")
    return variables


def expr(text: Union[str, Sequence[str]], vars: Optional[Sequence[str]] = None) -> Expr:
    """Parse math in Python syntax into an :class:`Expr` (a list of texts: a vector expression).

    Parameters
    ----------
    text : str or sequence of str
        Numbers (``inf`` and ``nan`` too), names, ``+ - * / **``, parentheses, calls of the
        functions ``fastcalc.expressions.FUNCTION_NAMES`` (sin ... polygamma, from the table of
        operations), ``log(x, a)`` (base a) and the constants ``pi`` and ``e``. Anything else
        raises :class:`ExprError`, naming the problem and its column. The text is parsed, never
        evaluated.
    vars : sequence of str, optional
        The variables in the order the expression takes them (it may name variables that do not
        occur). By default: the order of first appearance in the text, with indexed names of one
        stem (``x0, x1, ..., x999``) together in the order of their index.

    Returns
    -------
    Expr

    Raises
    ------
    ExprError
        Bad text, or beyond the limits: texts of more than ``MAX_TEXT`` characters, nesting
        deeper than ``MAX_DEPTH`` levels (see ``fastcalc.expressions``).

    Examples
    --------
    >>> expr("x**2 - 4*x + 4")
    Expr('x**2 - 4*x + 4')
    >>> expr("x1*x0 + x2").vars
    ('x0', 'x1', 'x2')
    >>> expr("log(x, 2)")(8.0)
    3.0
    >>> expr(["x*y", "x + y"])([1.0, 2.0])
    array([2., 3.])
    """
    vector = not isinstance(text, str)
    if vector and isinstance(text, (bytes, bytearray)):
        raise TypeError("expression text must be a string, got bytes")
    texts = list(text) if vector else [text]
    if vector and not texts:
        raise ExprError("a vector expression needs at least one component")
    roots = []
    found: List[str] = []
    seen = set()
    for t in texts:  # first appearance in the text, before canonical reordering
        root, names = parse_names(t)
        roots.append(root)
        for name in names:
            if name not in seen:
                seen.add(name)
                found.append(name)
    if vars is None:
        variables = order_variables(found)
    else:
        if isinstance(vars, str):
            raise TypeError("vars must be a sequence of names, not one string")
        variables = _check_vars(list(vars))
        allowed = set(variables)
        missing = [v for v in found if v not in allowed]
        if missing:
            raise ValueError(f"vars misses variable(s) {missing} used in the expression")
    return Expr(roots, variables, vector)
