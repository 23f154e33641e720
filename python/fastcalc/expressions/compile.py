"""Compiling expression trees to the C++ tape: a straight-line program, one slot per distinct
subexpression (common subexpressions are computed once).

Arrays (the contract with cpp/include/fastcalc/tape.hpp):
  ops (n,) int32, args (n, 2) int32 operand slots (-1 unused), consts (n,) float64: the value for
  CONST, the exponent for POWI, the variable index for VAR.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from . import nodes as N
from .nodes import Node

(CONST, VAR, ADD, SUB, MUL, DIV, NEG, POW, POWI, EXP, LOG, SIN, COS, TAN, ASIN, ACOS, ATAN, SINH, COSH, TANH,
 SQRT, ABS, SIGMOID) = range(23)

_CALLS = {"exp": EXP, "log": LOG, "sin": SIN, "cos": COS, "tan": TAN, "asin": ASIN, "acos": ACOS, "atan": ATAN,
          "sinh": SINH, "cosh": COSH, "tanh": TANH, "sqrt": SQRT, "abs": ABS, "sigmoid": SIGMOID}


class _Compiler:
    def __init__(self, variables: Sequence[str]):
        self.index = {v: i for i, v in enumerate(variables)}
        self.ops: List[int] = []
        self.args: List[Tuple[int, int]] = []
        self.consts: List[float] = []
        self.memo: Dict[tuple, int] = {}

    def emit(self, op: int, a: int = -1, b: int = -1, c: float = 0.0) -> int:
        key = (op, a, b, c)
        slot = self.memo.get(key)
        if slot is None:  # hash-consing: identical instructions share a slot
            slot = len(self.ops)
            self.ops.append(op)
            self.args.append((a, b))
            self.consts.append(c)
            self.memo[key] = slot
        return slot

    def node(self, n: Node) -> int:
        k = n.kind
        if k == "num":
            return self.emit(CONST, c=n.value)
        if k == "const":
            return self.emit(CONST, c=N.CONSTANTS[n.value])
        if k == "var":
            if n.value not in self.index:
                raise ValueError(f"variable {n.value!r} is not among the expression's variables")
            return self.emit(VAR, c=float(self.index[n.value]))
        if k == "call":
            a = self.node(n.args[0])
            if n.value == "sec":
                return self.emit(DIV, self.emit(CONST, c=1.0), self.emit(COS, a))
            return self.emit(_CALLS[n.value], a)
        if k == "pow":
            b, e = n.args
            if e.kind == "num" and e.value.is_integer() and abs(e.value) <= 1024:
                return self.emit(POWI, self.node(b), c=e.value)
            if e.kind == "num" and e.value == 0.5:
                return self.emit(SQRT, self.node(b))
            return self.emit(POW, self.node(b), self.node(e))
        if k == "add":
            return self.sum(n.args)
        if k == "mul":
            return self.product(n)
        raise ValueError(f"cannot compile node kind {k}")

    def sum(self, terms) -> int:
        # a - c*t instead of a + (-c)*t: no multiplication by -1
        acc = None
        for t in terms:
            c, rest = N._split_coeff(t)
            neg = c < 0
            s = self.node(N.mul(N.num(-c), rest) if neg else t)
            if acc is None:
                acc = self.emit(NEG, s) if neg else s
            else:
                acc = self.emit(SUB if neg else ADD, acc, s)
        return acc

    def product(self, n: Node) -> int:
        # numerator factors times each other, divided by the denominator factors: x/y, not x*y**-1
        coeff, num, den = N.split_product(n)
        acc = None
        if abs(coeff) != 1.0 or not num:
            acc = self.emit(CONST, c=abs(coeff))
        for f in num:
            s = self.node(f)
            acc = s if acc is None else self.emit(MUL, acc, s)
        if den:
            d = None
            for f in den:
                s = self.node(f)
                d = s if d is None else self.emit(MUL, d, s)
            acc = self.emit(DIV, acc, d)
        return self.emit(NEG, acc) if coeff < 0 else acc


def compile_nodes(roots: Sequence[Node], variables: Sequence[str]):
    """(ops, args, consts, n_vars, outputs) for the tape."""
    c = _Compiler(variables)
    outputs = [c.node(r) for r in roots]
    return (np.array(c.ops, dtype=np.int32), np.array(c.args, dtype=np.int32).reshape(-1, 2),
            np.array(c.consts, dtype=np.float64), len(variables), np.array(outputs, dtype=np.int32))
