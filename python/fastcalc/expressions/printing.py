"""Printing: Python syntax that ``fastcalc.expr`` parses back to an equal expression, and LaTeX.

Both printers walk the tree with an explicit stack and write pieces to one list (the text of a
DAG is its tree written out: shared subexpressions appear each time). Texts longer than
``parse.MAX_TEXT`` characters raise :class:`ExprError` (pickles keep the DAG and have no such
limit). Reading order: terms of a sum by degree (``x**2 - 4*x + 4``), a positive term first
(``1 - tanh(x)**2``); powers of variables first in a product, alphabetically (``x**2*y``);
factors with a negative exponent below the line (``1/x``, ``x/(y + 1)``).
"""
from __future__ import annotations

import math
import re
from typing import List, Tuple

from . import nodes as N
from .errors import ExprError
from .nodes import ADD, CALL, CONST, MUL, NUM, POW, VAR, Node

# precedence of what a node prints as: sum 1, product or quotient 2, a leading minus 3, power 4
_ADD, _MUL, _NEG, _POW, _ATOM = 1, 2, 3, 4, 5


def fmt_num(v: float) -> str:
    if v != v:
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def _quotient(n: Node) -> bool:
    """A power printed as 1/base**k."""
    e = n.args[1]
    return e.kind == NUM and e.value < 0 and math.isfinite(e.value)


def _negative(t: Node) -> bool:
    if t.kind == NUM:
        return t.value < 0
    return t.kind == MUL and t.args[0].kind == NUM and t.args[0].value < 0


def prec(n: Node) -> int:
    k = n.kind
    if k == NUM:
        return _NEG if n.value < 0 else _ATOM
    if k == ADD:
        return _ADD
    if k == MUL:
        return _NEG if _negative(n) else _MUL
    if k == POW:
        return _MUL if _quotient(n) else _POW
    return _ATOM


def _deg(t: Node) -> float:
    d = t._deg
    return d if d == d and not math.isinf(d) else 0.5


def sum_order(terms) -> List[Node]:
    order = sorted(terms, key=lambda t: (t.kind == NUM, -_deg(t), t._key))
    if _negative(order[0]):  # 1 - tanh(x)**2 reads better than -tanh(x)**2 + 1
        first = next((i for i, t in enumerate(order) if not _negative(t)), None)
        if first is not None:
            order.insert(0, order.pop(first))
    return order


def _factor_key(f: Node):
    b = f.args[0] if f.kind == POW and f.args[1].kind == NUM else f
    return (0, b.value, f._key) if b.kind == VAR else (1, "", f._key)


def split(n: Node) -> Tuple[float, List[Node], List[Tuple[Node, float]]]:
    """(coefficient, numerator factors, denominator (base, positive exponent)) in reading order."""
    factors = n.args if n.kind == MUL else (n,)
    coeff, numer, den = 1.0, [], []
    for f in factors:
        if f.kind == NUM:
            coeff *= f.value
        elif f.kind == POW and _quotient(f):
            den.append(f)
        else:
            numer.append(f)
    numer.sort(key=_factor_key)
    den.sort(key=_factor_key)
    return coeff, numer, [(f.args[0], -f.args[1].value) for f in den]


class _Printer:
    """Python syntax. Items on the stack: a string, or (node, abs): abs prints |node| of a signed
    term (the caller wrote the sign)."""

    def __init__(self):
        self.limit = _max_text()

    def run(self, root: Node) -> str:
        if N.tree_size(root) > self.limit:
            raise _too_long(root)
        out: List[str] = []
        length = 0
        stack: list = [(root, False)]
        while stack:
            item = stack.pop()
            if type(item) is str:
                out.append(item)
                length += len(item)
                if length > self.limit:
                    raise _too_long(root)
                continue
            node, absolute = item
            parts = self.signed(node) if absolute else self.full(node)
            stack.extend(reversed(parts))
        return "".join(out)

    # pieces ---------------------------------------------------------------------------------
    def wrap(self, n: Node, paren: bool) -> list:
        return [self.lp, (n, False), self.rp] if paren else [(n, False)]

    lp, rp = "(", ")"

    def number(self, v: float) -> str:
        return fmt_num(v)

    def name(self, n: Node) -> str:
        return n.value

    def full(self, n: Node) -> list:
        k = n.kind
        if k == NUM:
            return [self.number(n.value)]
        if k in (VAR, CONST):
            return [self.name(n)]
        if k == CALL:
            return self.call(n)
        if k == ADD:
            return self.sum(n)
        if k == MUL or (k == POW and _quotient(n)):
            return (["-"] if _negative(n) else []) + self.signed(n)
        return self.pow(n)

    def call(self, n: Node) -> list:
        parts: list = [n.value + "("]
        for i, a in enumerate(n.args):
            if i:
                parts.append(", ")
            parts.append((a, False))
        parts.append(")")
        return parts

    def sum(self, n: Node) -> list:
        parts: list = []
        for i, t in enumerate(sum_order(n.args)):
            neg = _negative(t)
            if i == 0:
                parts.extend(["-", (t, True)] if neg else [(t, False)])
            else:
                parts.extend([" - ", (t, True)] if neg else [" + ", (t, False)])
        return parts

    def pow(self, n: Node) -> list:
        b, e = n.args
        return (self.wrap(b, prec(b) <= _POW) + ["**"] +
                self.wrap(e, prec(e) < _POW or prec(e) == _NEG))

    def power_of(self, base: Node, e: float) -> list:
        """base**e for a denominator's factor (e > 0, finite)."""
        parts = self.wrap(base, prec(base) <= _POW)
        if e != 1.0:
            parts += ["**", self.number(e)]
        return parts

    def signed(self, n: Node) -> list:
        """|n| for a number or a product (its sign written by the caller)."""
        if n.kind == NUM:
            return [self.number(abs(n.value)) if n.value == n.value else "nan"]
        if n.kind not in (MUL, POW):
            return [(n, False)]
        coeff, numer, den = split(n)
        c = abs(coeff) if coeff == coeff else coeff
        parts: list = []
        if c != 1.0 or not numer:
            parts.append(self.number(c))
        for f in numer:
            if parts:
                parts.append("*")
            p = prec(f)
            parts += self.wrap(f, p <= _MUL or p == _NEG)
        if den:
            parts.append("/")
            if len(den) > 1:
                parts.append("(")
            for i, (b, e) in enumerate(den):
                if i:
                    parts.append("*")
                parts += self.power_of(b, e)
            if len(den) > 1:
                parts.append(")")
        return parts


def _max_text() -> int:
    from .parse import MAX_TEXT

    return MAX_TEXT


def _too_long(root: Node) -> ExprError:
    return ExprError(f"the expression's text would be longer than {_max_text():,} characters (its tree has "
                     f"{N.tree_size(root):,} nodes, {N.size(root):,} distinct); pickle keeps the shared DAG")


def to_str(n: Node) -> str:
    return _Printer().run(n)


_GREEK = set("alpha beta gamma delta epsilon zeta eta theta iota kappa mu nu xi omicron rho sigma tau upsilon "
             "phi chi psi omega Gamma Delta Theta Xi Pi Sigma Upsilon Phi Psi Omega".split())
_INDEXED = re.compile(r"([A-Za-z]+)_?([0-9]+)")


def _tex_name(s: str) -> str:
    if s in _GREEK:
        return "\\" + s
    if len(s) == 1:
        return s
    m = _INDEXED.fullmatch(s)
    if m:
        return f"{_tex_name(m.group(1))}_{{{m.group(2)}}}"
    return r"\mathrm{" + s.replace("_", r"\_") + "}"


class _Tex(_Printer):
    lp, rp = r"\left(", r"\right)"

    def number(self, v: float) -> str:
        if v != v:
            return r"\mathrm{NaN}"
        if math.isinf(v):
            return r"\infty" if v > 0 else r"-\infty"
        if v.is_integer() and abs(v) < 1e16 or v == 0 or 1e-4 <= abs(v) < 1e6:
            return fmt_num(v)
        m, e = f"{v:.16g}".split("e") if "e" in f"{v:.16g}" else (f"{v:.16g}", "0")
        return rf"{m} \times 10^{{{int(e)}}}"

    def name(self, n: Node) -> str:
        if n.kind == CONST:
            return r"\pi" if n.value == "pi" else "e"
        return _tex_name(n.value)

    def call(self, n: Node) -> list:
        latex = N.FUNCTIONS[n.value].latex
        if "#1" in latex:
            parts: list = []
            for piece in re.split(r"(#[12])", latex):
                if piece in ("#1", "#2"):
                    parts.append((n.args[int(piece[1]) - 1], False))
                elif piece:
                    parts.append(piece)
            return parts
        head = latex or r"\operatorname{" + n.value + "}"
        parts = [head + r"\left("]
        for i, a in enumerate(n.args):
            if i:
                parts.append(", ")
            parts.append((a, False))
        parts.append(r"\right)")
        return parts

    def pow(self, n: Node) -> list:
        b, e = n.args
        return self.wrap(b, prec(b) <= _POW) + ["^{", (e, False), "}"]

    def power_of(self, base: Node, e: float) -> list:
        parts = self.wrap(base, prec(base) <= _POW)
        if e != 1.0:
            parts += ["^{", self.number(e), "}"]
        return parts

    def product(self, lead: float, fs: List[Node], lone_bare: bool) -> list:
        parts: list = []
        if not (lead == 1.0 and fs):
            parts.append(self.number(lead))
        for f in fs:
            if parts:
                parts.append(r" \cdot ")
            p = prec(f)
            bare = lone_bare and len(fs) == 1 and lead == 1.0  # a lone factor of a fraction
            parts += self.wrap(f, (p <= _MUL or p == _NEG) and not bare)
        return parts

    def signed(self, n: Node) -> list:
        if n.kind == NUM:
            return [self.number(abs(n.value)) if n.value == n.value else self.number(n.value)]
        if n.kind not in (MUL, POW):
            return [(n, False)]
        coeff, numer, den = split(n)
        c = abs(coeff) if coeff == coeff else coeff
        if not den:
            return self.product(c, numer, False)
        parts = [r"\frac{"] + self.product(c, numer, True) + ["}{"]
        for i, (b, e) in enumerate(den):
            if i:
                parts.append(r" \cdot ")
            bare = len(den) == 1 and e == 1.0
            parts += (self.wrap(b, prec(b) <= _MUL and not bare) if e == 1.0 else self.power_of(b, e))
        parts.append("}")
        return parts


def to_latex(n: Node) -> str:
    return _Tex().run(n)
