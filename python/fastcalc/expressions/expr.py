"""``Expr``: an immutable math expression with symbolic and exact numeric derivatives.

>>> f = expr("x**2 - 4*x + 4")
>>> str(f.diff("x"))
'2*x - 4'
>>> f(3.0)
1.0
"""
from __future__ import annotations

import numbers
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import nodes as N
from .diff import diff as _diff
from .nodes import Node
from .parse import ExprError, parse
from .printing import to_latex, to_str

Operand = Union["Expr", float, int, str]


class Expr:
    """A scalar expression or, built from a list of texts, a vector of them.

    ``vars`` orders the variables (first appearance unless given). Derived expressions keep the
    variables of the one they came from, so every component of a gradient takes the same
    arguments.
    """

    __slots__ = ("_roots", "_vars", "_vector", "_tape_cache", "_native_cache", "__weakref__")


    def __init__(self, roots: Sequence[Node], variables: Sequence[str], vector: bool = False):
        object.__setattr__(self, "_roots", tuple(roots))
        object.__setattr__(self, "_vars", tuple(variables))
        object.__setattr__(self, "_vector", bool(vector))
        object.__setattr__(self, "_tape_cache", None)
        object.__setattr__(self, "_native_cache", None)

    def __setattr__(self, name, value):
        raise AttributeError("Expr is immutable")

    # --- structure -------------------------------------------------------------------------
    @property
    def vars(self) -> Tuple[str, ...]:
        return self._vars

    @property
    def is_vector(self) -> bool:
        return self._vector

    @property
    def components(self) -> List["Expr"]:
        """The scalar components (a list of one for a scalar expression)."""
        return [Expr((r,), self._vars) for r in self._roots]

    @property
    def node(self) -> Node:
        if self._vector:
            raise ValueError("a vector expression has no single node; use .components")
        return self._roots[0]

    def free_vars(self) -> Tuple[str, ...]:
        """Variables that actually occur, in order of first appearance."""
        seen: List[str] = []
        for r in self._roots:
            for v in r.variables():
                if v not in seen:
                    seen.append(v)
        return tuple(seen)

    def is_constant(self) -> bool:
        return not self.free_vars()

    def as_numer_denom(self) -> Tuple["Expr", "Expr"]:
        """(numerator, denominator) of a product or quotient; (self, 1) otherwise."""
        coeff, num, den = N.split_product(self.node)
        return self._derive(N.mul(N.num(coeff), *num)), self._derive(N.mul(*den))

    def _derive(self, root: Node) -> "Expr":
        return Expr((root,), self._vars)

    def _map(self, f) -> "Expr":
        return Expr(tuple(f(r) for r in self._roots), self._vars, self._vector)

    # --- calculus --------------------------------------------------------------------------
    def diff(self, var: str) -> "Expr":
        """The derivative with respect to ``var`` (componentwise for a vector expression)."""
        if not isinstance(var, str) or not var.isidentifier():
            raise ValueError(f"diff needs a variable name, got {var!r}")
        return self._map(lambda r: _diff(r, var))

    def simplify(self) -> "Expr":
        """Constant folding, 0/1 identities, like terms (kept by every operation) and numeric
        coefficients multiplied into sums."""
        return self._map(N.distribute)

    def gradient(self) -> List["Expr"]:
        """[df/dv for v in vars]."""
        if self._vector:
            raise ValueError("gradient of a vector expression: use jacobian()")
        return [self.diff(v) for v in self._vars]

    def jacobian(self) -> List[List["Expr"]]:
        """m x n: row i holds the partial derivatives of component i."""
        return [[c.diff(v) for v in self._vars] for c in self.components]

    def hessian(self) -> List[List["Expr"]]:
        """n x n second partial derivatives."""
        g = self.gradient()
        return [[gi.diff(v) for v in self._vars] for gi in g]

    def subs(self, **replacements: Operand) -> "Expr":
        """Replace variables by expressions or numbers (composition): the result's variables are
        the remaining ones followed by those the replacements bring, in order of appearance."""
        reps = {}
        new_vars: List[str] = []
        for name, value in replacements.items():
            e = _as_expr(value)
            if e._vector:
                raise ValueError(f"cannot substitute a vector expression for {name!r}")
            reps[name] = e.node
            for v in e._vars:
                if v not in new_vars:
                    new_vars.append(v)
        kept = [v for v in self._vars if v not in reps]
        variables = kept + [v for v in new_vars if v not in kept]
        out = self._map(lambda r: N.rebuild(r, lambda leaf: reps.get(leaf.value) if leaf.kind == "var" else None))
        return Expr(out._roots, variables, self._vector)

    # --- printing --------------------------------------------------------------------------
    def __str__(self) -> str:
        if self._vector:
            return "[" + ", ".join(to_str(r) for r in self._roots) + "]"
        return to_str(self._roots[0])

    def __repr__(self) -> str:
        if self._vector:
            return f"Expr([{', '.join(repr(to_str(r)) for r in self._roots)}])"
        return f"Expr({to_str(self._roots[0])!r})"

    def latex(self) -> str:
        if self._vector:
            return r"\begin{pmatrix}" + r" \\ ".join(to_latex(r) for r in self._roots) + r"\end{pmatrix}"
        return to_latex(self._roots[0])

    # --- equality, hashing, pickling -------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expr):
            return NotImplemented
        return self._roots == other._roots and self._vars == other._vars and self._vector == other._vector

    def __hash__(self) -> int:
        return hash((self._roots, self._vars, self._vector))

    def __reduce__(self):
        texts = [to_str(r) for r in self._roots]
        return (_rebuild, (texts if self._vector else texts[0], list(self._vars)))

    # --- arithmetic ------------------------------------------------------------------------
    def _binary(self, other: Operand, op, reflected: bool = False) -> "Expr":
        o = _as_expr(other)
        if self._vector or o._vector:
            raise ValueError("arithmetic on vector expressions is not supported; combine components")
        variables = list(self._vars) + [v for v in o._vars if v not in self._vars]
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
        from .compile import compile_nodes

        return compile_nodes(self._roots, self._vars)

    def _tape(self):
        """The compiled C++ tape (built once, then cached)."""
        t = self._tape_cache
        if t is None:
            from .. import _core
            from .compile import compile_nodes

            t = _core.Tape(*compile_nodes(self._roots, self._vars))
            object.__setattr__(self, "_tape_cache", t)
        return t

    def _native_program(self, order: int):
        """(Program, content key) of the value (order 0), also the gradient (1) or also the
        Hessian (2) of a scalar expression, built once per expression and order; None for a
        vector expression, one without variables, or one the Program cannot hold."""
        cache = self._native_cache
        if cache is None:
            cache = {}
            object.__setattr__(self, "_native_cache", cache)
        if order not in cache:
            from ..optimize import _program

            from .._jit import content_key

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
        N = matrix.shape[0] if matrix is not None else (columns[0].shape[0] if columns else 0)
        if self._vector or N == 0:
            return None
        hit = self._native_program(order)
        if hit is None:
            return None
        from .. import _core
        from .._jit import decide, run_columns, run_rows

        k = decide(hit[0], N, key=hit[1])
        if k is None:
            return None
        threads = _core.parallel_threads()
        if matrix is not None:
            return run_rows(k, np.ascontiguousarray(matrix, dtype=np.float64), threads)
        return run_columns(k, [np.ascontiguousarray(c, dtype=np.float64) for c in columns], threads)

    def __call__(self, *args: Any, **kwargs: Any):
        """f(3.0); f(x=..., y=...) (broadcast like NumPy); f(X) with X of shape (..., n); for one
        variable f(a) with a of any shape. Evaluated by the C++ tape's interpreter, or for large
        batches by native code compiled from the same program (fastcalc/_jit.py: the same bits)."""
        n = len(self._vars)
        if not kwargs and len(args) == n and all(type(a) is float or type(a) is int for a in args):
            y = self._tape().point(*args)  # plain numbers: the fast path, no arrays
            return np.array(y) if self._vector else y
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
            X = np.array([[float(a) for a in arrays]])
            Y = self._tape().eval(X)[0]
            return Y if self._vector else float(Y[0])
        arrays = np.broadcast_arrays(*arrays)
        shape = arrays[0].shape
        # one 1-d array per variable, passed to the tape as is (copied only when broadcast)
        cols = [a.reshape(-1) for a in arrays]
        R = self._run_native(0, cols)
        if R is not None:
            return R[0].reshape(shape)
        Y = self._tape().eval_columns(cols)
        if self._vector:
            return Y.reshape(shape + (Y.shape[1],))
        return Y[:, 0].reshape(shape)

    def value_and_gradient(self, *args: Any, **kwargs: Any):
        """(f, grad f) at the points, in one pass of the tape (reverse mode), or for 65,536 points
        or more in its native kernel where one can be built; arguments as for calling. The
        gradient has the variables on a last axis."""
        if self._vector:
            raise ValueError("value_and_gradient needs a scalar expression; use fastcalc.jacobian")
        n = len(self._vars)
        X, cols = self._arguments(args, kwargs)
        if X is not None:
            R = self._run_native(1, matrix=X.reshape(-1, n))
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
            Y, G = self._tape().gradient_columns(cols)
            value = Y[:, 0].reshape(shape)
            grad = G[:, 0, :].reshape(shape + (n,))
        return (float(value) if value.ndim == 0 else value), grad

    def _eval_matrix(self, X: np.ndarray):
        lead = X.shape[:-1]
        X2 = np.ascontiguousarray(X.reshape(-1, X.shape[-1]))
        R = self._run_native(0, matrix=X2)
        if R is not None:
            return R[0].reshape(lead)
        Y = self._tape().eval(X2)
        if self._vector:
            return Y.reshape(lead + (Y.shape[1],))
        out = Y[:, 0].reshape(lead)
        return float(out) if out.ndim == 0 else out


def _rebuild(text, variables):
    return expr(text, vars=variables)


def _as_expr(value: Operand) -> Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, str):
        return expr(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Expr((N.num(float(value)),), ())
    raise TypeError(f"cannot make an expression of {type(value).__name__}")


def expr(text: Union[str, Sequence[str]], vars: Optional[Sequence[str]] = None) -> Expr:
    """Parse math in Python syntax into an :class:`Expr` (a list of texts: a vector expression).

    Allowed: numbers, names, ``+ - * / **``, parentheses, ``sin cos tan sec asin acos atan sinh
    cosh tanh exp log sqrt abs sigmoid``, ``log(x, a)`` and the constants ``pi`` and ``e``.
    Anything else raises :class:`ExprError`, naming the problem and its column.
    """
    vector = not isinstance(text, str)
    texts = list(text) if vector else [text]
    if vector and not texts:
        raise ExprError("a vector expression needs at least one component")
    roots = [parse(t) for t in texts]
    found: List[str] = []
    for t in texts:  # first appearance in the text, before canonical reordering
        for name in _names_in_order(t):
            if name not in found:
                found.append(name)
    if vars is None:
        variables = found
    else:
        variables = list(vars)
        if len(set(variables)) != len(variables):
            raise ValueError(f"vars has duplicates: {variables}")
        bad = [v for v in variables if not isinstance(v, str) or not v.isidentifier() or v in N.FUNCTIONS
               or v in N.CONSTANTS]
        if bad:
            raise ValueError(f"not variable names: {bad}")
        missing = [v for v in found if v not in variables]
        if missing:
            raise ValueError(f"vars misses variable(s) {missing} used in the expression")
    return Expr(roots, variables, vector)


def _names_in_order(text: str) -> List[str]:
    import ast

    out: List[str] = []
    nodes = sorted((n for n in ast.walk(ast.parse(text.strip(), mode="eval")) if isinstance(n, ast.Name)),
                   key=lambda n: (n.lineno, n.col_offset))
    for n in nodes:
        if n.id not in N.FUNCTIONS and n.id not in N.CONSTANTS and n.id not in out:
            out.append(n.id)
    return out
