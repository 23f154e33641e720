"""Expression nodes: immutable, hashable trees kept in a canonical form by their constructors.

Sums and products are n-ary and flattened, their operands sorted; numbers are folded; like
terms (2*x + 3*x) and like factors (x*x**2) are combined; 0 and 1 identities applied. Because
every node is canonical, structural equality is mathematical equality for the forms these rules
reach, and ``repr``/``str`` round trips are exact. Subtraction is a sum with a -1 coefficient,
division a product with a power -1.
"""
from __future__ import annotations

import math
from typing import Dict, Iterable, List, Optional, Tuple

FUNCTIONS = ("sin", "cos", "tan", "sec", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log", "sqrt",
             "abs", "sigmoid")
CONSTANTS = {"pi": math.pi, "e": math.e}

_RANK = {"num": 0, "const": 1, "var": 2, "pow": 3, "mul": 4, "add": 5, "call": 6}


class Node:
    """One node: kind in num/const/var/add/mul/pow/call; ``value`` is the number, the name of a
    variable or constant, or the function name; ``args`` the operands."""

    __slots__ = ("kind", "value", "args", "_key", "_hash")

    def __init__(self, kind: str, value=None, args: Tuple["Node", ...] = ()):
        self.kind = kind
        self.value = value
        self.args = args
        self._key = (_RANK[kind], value if kind != "num" else float(value), tuple(a._key for a in args))
        self._hash = hash(self._key)

    def __eq__(self, other) -> bool:
        return isinstance(other, Node) and self._key == other._key

    def __hash__(self) -> int:
        return self._hash

    def __lt__(self, other: "Node") -> bool:
        return self._key < other._key

    def __repr__(self) -> str:
        from .printing import to_str

        return f"Node({to_str(self)!r})"

    @property
    def is_num(self) -> bool:
        return self.kind == "num"

    def variables(self) -> List[str]:
        """Variable names in order of first appearance (depth first, left to right)."""
        seen: Dict[str, None] = {}
        stack = [self]
        order: List[str] = []
        while stack:
            n = stack.pop()
            if n.kind == "var" and n.value not in seen:
                seen[n.value] = None
                order.append(n.value)
            stack.extend(reversed(n.args))
        return order


def num(v: float) -> Node:
    v = float(v)
    if v == 0.0:
        v = 0.0  # one zero: -0.0 and 0.0 are the same node
    return Node("num", v)


ZERO, ONE, MINUS_ONE = num(0), num(1), num(-1)
num_node = num  # an alias for code whose locals shadow ``num``


def var(name: str) -> Node:
    return Node("var", name)


def const(name: str) -> Node:
    return Node("const", name)


def _finite(v: float) -> bool:
    return math.isfinite(v)


def _split_coeff(t: Node) -> Tuple[float, Node]:
    """term -> (numeric coefficient, the rest)"""
    if t.kind == "num":
        return t.value, ONE
    if t.kind == "mul" and t.args[0].kind == "num":
        rest = t.args[1:]
        return t.args[0].value, rest[0] if len(rest) == 1 else Node("mul", None, rest)
    return 1.0, t


def add(*terms: Node) -> Node:
    flat: List[Node] = []
    for t in terms:
        flat.extend(t.args if t.kind == "add" else (t,))
    total = 0.0
    coeffs: Dict[Node, float] = {}
    order: List[Node] = []
    for t in flat:
        if t.kind == "num":
            total += t.value
            continue
        c, rest = _split_coeff(t)
        if rest not in coeffs:
            coeffs[rest] = 0.0
            order.append(rest)
        coeffs[rest] += c
    out = [mul(num(coeffs[r]), r) for r in order if coeffs[r] != 0.0]
    if total != 0.0 or not _finite(total):
        out.append(num(total))
    if not out:
        return ZERO
    if len(out) == 1:
        return out[0]
    return Node("add", None, tuple(sorted(out)))


def _base_exp(f: Node) -> Tuple[Node, Node]:
    if f.kind == "pow":
        return f.args[0], f.args[1]
    return f, ONE


def mul(*factors: Node) -> Node:
    flat: List[Node] = []
    for f in factors:
        flat.extend(f.args if f.kind == "mul" else (f,))
    coeff = 1.0
    exps: Dict[Node, List[Node]] = {}
    order: List[Node] = []
    for f in flat:
        if f.kind == "num":
            coeff *= f.value
            continue
        b, e = _base_exp(f)
        if b not in exps:
            exps[b] = []
            order.append(b)
        exps[b].append(e)
    if coeff == 0.0:
        return ZERO
    out: List[Node] = []
    for b in order:
        p = power(b, add(*exps[b]))
        if p.kind == "num":
            coeff *= p.value
        elif p.kind == "mul":  # e.g. a power that distributed over a product
            for q in p.args:
                if q.kind == "num":
                    coeff *= q.value
                else:
                    out.append(q)
        else:
            out.append(p)
    if not out:
        return num(coeff)
    out.sort()
    if coeff != 1.0:
        out.insert(0, num(coeff))
    if len(out) == 1:
        return out[0]
    return Node("mul", None, tuple(out))


def _is_int(n: Node) -> bool:
    return n.kind == "num" and float(n.value).is_integer()


def power(b: Node, e: Node) -> Node:
    if e.kind == "num":
        if e.value == 0.0:
            return ONE
        if e.value == 1.0:
            return b
    if b.kind == "num":
        if b.value == 1.0:
            return ONE
        if e.kind == "num":
            try:
                v = b.value ** e.value
            except (OverflowError, ZeroDivisionError):
                v = None
            if isinstance(v, float) and _finite(v):
                return num(v)
        if b.value == 0.0 and e.kind == "num" and e.value > 0:
            return ZERO
    if _is_int(e):
        if b.kind == "pow":  # (x**a)**n = x**(a*n) for integer n
            return power(b.args[0], mul(b.args[1], e))
        if b.kind == "mul":  # (2*x)**n = 2**n * x**n for integer n
            return mul(*(power(f, e) for f in b.args))
    if b.kind == "const" and b.value == "e":
        return call("exp", e)
    return Node("pow", None, (b, e))


_ZERO_AT_ZERO = {"sin", "tan", "asin", "atan", "sinh", "tanh", "sqrt", "abs"}
_ONE_AT_ZERO = {"cos", "cosh", "exp", "sec"}


def call(name: str, arg: Node) -> Node:
    if name not in FUNCTIONS:
        raise KeyError(name)
    if arg.kind == "num":
        if arg.value == 0.0 and name in _ZERO_AT_ZERO:
            return ZERO
        if arg.value == 0.0 and name in _ONE_AT_ZERO:
            return ONE
        if name == "log" and arg.value == 1.0:
            return ZERO
        if name == "abs":
            return num(abs(arg.value))
        if name == "sigmoid" and arg.value == 0.0:
            return num(0.5)
    if name == "log" and arg.kind == "const" and arg.value == "e":
        return ONE
    if name == "log" and arg.kind == "call" and arg.value == "exp":
        return arg.args[0]
    return Node("call", name, (arg,))


def neg(a: Node) -> Node:
    return mul(MINUS_ONE, a)


def sub(a: Node, b: Node) -> Node:
    return add(a, neg(b))


def div(a: Node, b: Node) -> Node:
    return mul(a, power(b, MINUS_ONE))


def rebuild(n: Node, f) -> Node:
    """Rebuild ``n`` bottom-up, replacing each leaf by ``f(leaf)`` (None keeps it)."""
    if not n.args:
        r = f(n)
        return n if r is None else r
    args = [rebuild(a, f) for a in n.args]
    return make(n.kind, n.value, args)


def make(kind: str, value, args: Iterable[Node]) -> Node:
    args = list(args)
    if kind == "add":
        return add(*args)
    if kind == "mul":
        return mul(*args)
    if kind == "pow":
        return power(*args)
    if kind == "call":
        return call(value, args[0])
    return Node(kind, value, tuple(args))


def distribute(n: Node) -> Node:
    """Numeric coefficients multiplied into sums: 2*(x + 1) -> 2*x + 2, -(a - b) -> b - a."""
    if not n.args:
        return n
    args = [distribute(a) for a in n.args]
    if n.kind == "mul" and args[0].kind == "num" and len(args) == 2 and args[1].kind == "add":
        c = args[0]
        return add(*(mul(c, t) for t in args[1].args))
    return make(n.kind, n.value, args)


def split_product(n: Node) -> Tuple[float, List[Node], List[Node]]:
    """A product as (numeric coefficient, numerator factors, denominator factors): the factors
    with a negative numeric exponent go below the line with that exponent made positive."""
    factors = n.args if n.kind == "mul" else (n,)
    coeff, num, den = 1.0, [], []
    for f in factors:
        if f.kind == "num":
            coeff *= f.value
        elif f.kind == "pow" and f.args[1].kind == "num" and f.args[1].value < 0:
            den.append(power(f.args[0], num_node(-f.args[1].value)))
        else:
            num.append(f)
    return coeff, num, den


def free_of(n: Node, name: Optional[str] = None) -> bool:
    """True when no variable (or not the variable ``name``) occurs in n."""
    if n.kind == "var":
        return name is not None and n.value != name
    return all(free_of(a, name) for a in n.args)
