"""Symbolic differentiation by the rules: sum, constant multiple, product, quotient (a product
with a power -1), power, exponential and a**x, logarithms, trigonometric and hyperbolic
functions, and the chain rule."""
from __future__ import annotations

from . import nodes as N
from .nodes import Node

_HALF = N.num(0.5)


def _outer(name: str, u: Node) -> Node:
    """f'(u) for f = name."""
    c = N.call
    if name == "sin":
        return c("cos", u)
    if name == "cos":
        return N.neg(c("sin", u))
    if name == "tan":
        return N.power(c("sec", u), N.num(2))
    if name == "sec":
        return N.mul(c("sec", u), c("tan", u))
    if name == "asin":
        return N.power(N.sub(N.ONE, N.power(u, N.num(2))), N.num(-0.5))
    if name == "acos":
        return N.neg(N.power(N.sub(N.ONE, N.power(u, N.num(2))), N.num(-0.5)))
    if name == "atan":
        return N.power(N.add(N.ONE, N.power(u, N.num(2))), N.MINUS_ONE)
    if name == "sinh":
        return c("cosh", u)
    if name == "cosh":
        return c("sinh", u)
    if name == "tanh":
        return N.sub(N.ONE, N.power(c("tanh", u), N.num(2)))
    if name == "exp":
        return c("exp", u)
    if name == "log":
        return N.power(u, N.MINUS_ONE)
    if name == "sqrt":
        return N.mul(_HALF, N.power(c("sqrt", u), N.MINUS_ONE))
    if name == "abs":
        return N.div(u, c("abs", u))
    if name == "sigmoid":
        s = c("sigmoid", u)
        return N.mul(s, N.sub(N.ONE, s))
    raise KeyError(name)


def diff(n: Node, x: str) -> Node:
    """d n / d x."""
    if N.free_of(n, x):
        return N.ZERO
    k = n.kind
    if k == "var":
        return N.ONE
    if k == "add":
        return N.add(*(diff(t, x) for t in n.args))
    if k == "mul":
        terms = []
        for i, f in enumerate(n.args):
            d = diff(f, x)
            if d != N.ZERO:
                terms.append(N.mul(*n.args[:i], d, *n.args[i + 1:]))
        return N.add(*terms)
    if k == "pow":
        b, e = n.args
        if N.free_of(e, x):  # power rule with the chain rule
            return N.mul(e, N.power(b, N.sub(e, N.ONE)), diff(b, x))
        if N.free_of(b, x):  # a**u: a**u * log(a) * u'
            return N.mul(n, N.call("log", b), diff(e, x))
        # b**e = exp(e log b)
        return N.mul(n, N.add(N.mul(diff(e, x), N.call("log", b)), N.mul(e, diff(b, x), N.power(b, N.MINUS_ONE))))
    if k == "call":
        u = n.args[0]
        return N.mul(_outer(n.value, u), diff(u, x))
    raise ValueError(f"cannot differentiate node kind {k}")
