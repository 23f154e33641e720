"""Printing: Python syntax that ``fastcalc.expr`` parses back to an equal expression, and LaTeX."""
from __future__ import annotations

import math
from typing import List, Tuple

from .nodes import Node

# precedence: add 1, mul 2, unary minus 3, pow 4, atoms 5
_ADD, _MUL, _NEG, _POW, _ATOM = 1, 2, 3, 4, 5


def fmt_num(v: float) -> str:
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def _degree(n: Node) -> float:
    """A polynomial-style degree, only to order the terms of a sum for reading."""
    if n.kind == "var":
        return 1.0
    if n.kind == "pow" and n.args[1].kind == "num":
        return n.args[1].value * _degree(n.args[0])
    if n.kind == "mul":
        return sum(_degree(f) for f in n.args)
    if n.kind in ("num", "const"):
        return 0.0
    return 0.5


def _negative(t: Node) -> bool:
    if t.kind == "num":
        return t.value < 0
    return t.kind == "mul" and t.args[0].kind == "num" and t.args[0].value < 0


def _sum_order(terms) -> List[Node]:
    consts = [t for t in terms if t.kind == "num"]
    rest = sorted((t for t in terms if t.kind != "num"), key=lambda t: (-_degree(t), t._key))
    order = rest + consts
    if _negative(order[0]):  # 1 - tanh(x)**2 reads better than -tanh(x)**2 + 1
        first_pos = next((i for i, t in enumerate(order) if not _negative(t)), None)
        if first_pos is not None:
            order.insert(0, order.pop(first_pos))
    return order


def _split(n: Node) -> Tuple[float, List[Node], List[Node]]:
    """product -> (coefficient, numerator factors, denominator factors), in reading order"""
    from .nodes import split_product

    coeff, num, den = split_product(n)
    return coeff, _reading_order(num), _reading_order(den)


def _reading_order(factors: List[Node]) -> List[Node]:
    """Powers of variables first, alphabetically (x**2*y, not y*x**2); the rest as stored."""
    def key(f: Node):
        b = f.args[0] if f.kind == "pow" and f.args[1].kind == "num" else f
        return (0, b.value) if b.kind == "var" else (1, "")
    return sorted(factors, key=key)


class _Py:
    def p(self, n: Node) -> Tuple[str, int]:
        k = n.kind
        if k == "num":
            s = fmt_num(n.value)
            return s, (_NEG if n.value < 0 else _ATOM)
        if k in ("var", "const"):
            return n.value, _ATOM
        if k == "call":
            return f"{n.value}({self.p(n.args[0])[0]})", _ATOM
        if k == "add":
            out = ""
            for i, t in enumerate(_sum_order(n.args)):
                s, neg = self.signed(t)
                if i == 0:
                    out = ("-" if neg else "") + s
                else:
                    out += (" - " if neg else " + ") + s
            return out, _ADD
        if k == "mul" or (k == "pow" and n.args[1].kind == "num" and n.args[1].value < 0):
            s, neg = self.signed(n)
            return ("-" + s if neg else s), (_NEG if neg else _MUL)
        if k == "pow":
            b, bp = self.p(n.args[0])
            e, ep = self.p(n.args[1])
            if bp <= _POW:
                b = f"({b})"
            if ep < _POW or ep == _NEG:
                e = f"({e})"
            return f"{b}**{e}", _POW
        raise ValueError(k)

    def signed(self, n: Node) -> Tuple[str, bool]:
        """(text of |n| as a product, whether n carries a minus sign)"""
        if n.kind == "num":
            return fmt_num(abs(n.value)), n.value < 0
        if n.kind not in ("mul", "pow"):
            return self.p(n)[0], False
        coeff, num, den = _split(n)
        neg = coeff < 0
        c = abs(coeff)
        parts = [] if c == 1.0 and num else [fmt_num(c)]
        for f in num:
            s, pr = self.p(f)
            parts.append(f"({s})" if pr <= _MUL or pr == _NEG else s)
        text = "*".join(parts)
        if den:
            ds = []
            for f in den:
                s, pr = self.p(f)
                ds.append(f"({s})" if pr <= _MUL or pr == _NEG else s)
            dtext = ds[0] if len(ds) == 1 else "(" + "*".join(ds) + ")"
            text = f"{text}/{dtext}"
        return text, neg


def to_str(n: Node) -> str:
    return _Py().p(n)[0]


_LATEX_FUNCS = {"sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "sec": r"\sec", "asin": r"\arcsin",
                "acos": r"\arccos", "atan": r"\arctan", "sinh": r"\sinh", "cosh": r"\cosh", "tanh": r"\tanh",
                "exp": r"\exp", "log": r"\ln", "abs": None, "sqrt": None, "sigmoid": r"\sigma"}


class _Tex(_Py):
    def p(self, n: Node) -> Tuple[str, int]:
        k = n.kind
        if k == "num":
            v = n.value
            s = fmt_num(v) if v.is_integer() or abs(math.log10(abs(v))) < 6 else f"{v:.16g}".replace("e", r"\times 10^{") + "}"
            return s, (_NEG if v < 0 else _ATOM)
        if k == "const":
            return (r"\pi" if n.value == "pi" else "e"), _ATOM
        if k == "var":
            return (n.value if len(n.value) == 1 else rf"\mathrm{{{n.value}}}"), _ATOM
        if k == "call":
            arg = self.p(n.args[0])[0]
            if n.value == "sqrt":
                return rf"\sqrt{{{arg}}}", _ATOM
            if n.value == "abs":
                return rf"\left|{arg}\right|", _ATOM
            return rf"{_LATEX_FUNCS[n.value]}\left({arg}\right)", _ATOM
        if k == "pow" and not (n.args[1].kind == "num" and n.args[1].value < 0):
            b, bp = self.p(n.args[0])
            e = self.p(n.args[1])[0]
            if bp <= _POW:
                b = rf"\left({b}\right)"
            return f"{b}^{{{e}}}", _POW
        return super().p(n)

    def signed(self, n: Node) -> Tuple[str, bool]:
        if n.kind not in ("mul", "pow"):
            return super().signed(n)
        coeff, num, den = _split(n)
        neg = coeff < 0
        c = abs(coeff)

        def prod(fs, lead, alone_ok=False):
            parts = [] if (lead == 1.0 and fs) else [fmt_num(lead)]
            for f in fs:
                s, pr = self.p(f)
                bare = alone_ok and len(fs) == 1 and not parts  # a lone factor of a fraction
                parts.append(rf"\left({s}\right)" if (pr <= _MUL or pr == _NEG) and not bare else s)
            return r" \cdot ".join(parts)

        if den:
            return rf"\frac{{{prod(num, c, True)}}}{{{prod(den, 1.0, True)}}}", neg
        return prod(num, c), neg


def to_latex(n: Node) -> str:
    return _Tex().p(n)[0]
