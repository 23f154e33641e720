"""Compiling expression DAGs to the C++ tape: a straight-line program, one slot per distinct
subexpression (common subexpressions are computed once), opcodes by name from the table of
operations.

Arrays (the contract with the tape, cpp/include/fastcalc/tape.hpp):
  ops (n,) int32 (the table's codes), args (n, 2) int32 operand slots (-1 unused), consts (n,)
  float64: the value of CONST, the index of VAR, the immediate of powi and polygamma;
  n_vars; outputs (m,) int32.

Arrangement (what NumPy evaluating the printed text does): a sum term by term, ``a - c*t`` for a
negative coefficient; a product's coefficient first, then its numerator factors, divided by the
product of its denominator factors (``x/y``, not ``x*y**-1``); ``x**k`` for an integer
``|k| <= max_powi`` is powi, ``x**0.5`` is sqrt; a function defined by primitives is compiled as
its definition.
"""
from __future__ import annotations

import math
import struct
from typing import Dict, List, Sequence, Tuple

import numpy as np

from . import nodes as N
from . import ops as _ops
from .nodes import ADD, CALL, CONST, MUL, NUM, POW, VAR, Node

C = _ops.CODES
(CONST_OP, VAR_OP, ADD_OP, SUB_OP, MUL_OP, DIV_OP, NEG_OP, POW_OP, POWI_OP, SQRT_OP) = (
    C["const"], C["var"], C["add"], C["sub"], C["mul"], C["div"], C["neg"], C["pow"], C["powi"], C["sqrt"])


def _bits(v: float) -> int:
    return struct.unpack("<q", struct.pack("<d", v))[0]


class _Compiler:
    def __init__(self, variables: Sequence[str]):
        self.index = {v: i for i, v in enumerate(variables)}
        self.ops: List[int] = []
        self.args: List[Tuple[int, int]] = []
        self.consts: List[float] = []
        self.memo: Dict[tuple, int] = {}
        self.slot: Dict[int, int] = {}  # id(node) -> slot

    def emit(self, op: int, a: int = -1, b: int = -1, c: float = 0.0) -> int:
        key = (op, a, b, _bits(c))
        slot = self.memo.get(key)
        if slot is None:  # hash-consing: identical instructions share a slot
            slot = len(self.ops)
            self.ops.append(op)
            self.args.append((a, b))
            self.consts.append(c)
            self.memo[key] = slot
        return slot

    def const(self, v: float) -> int:
        return self.emit(CONST_OP, c=v)

    def call_op(self, name: str, imm, operands: List[int]) -> int:
        fn = _ops.FUNCTIONS.get(name)
        if fn is not None and fn.code is None:  # a function: its definition
            return self.definition(fn, operands)
        if name == "powi":
            return self.powi(operands[0], imm)
        code = C[name]
        a = operands[0]
        b = operands[1] if len(operands) > 1 else -1
        return self.emit(code, a, b, float(imm) if imm is not None else 0.0)

    def definition(self, fn: _ops.Function, operands: List[int]) -> int:
        a = operands[0]
        b = operands[1] if len(operands) > 1 else -1
        return _ops.instantiate(fn.definition, a, b, None, 0, self.const, self.call_op)

    def powi(self, a: int, k: float) -> int:
        if k == 1:
            return a
        return self.emit(POWI_OP, a, c=float(k))

    def power(self, base: int, e: float) -> int:
        """base**e for a number e."""
        if e == 1.0:
            return base
        name, n = _ops.power_instruction(e)
        if name == "powi":
            return self.emit(POWI_OP, base, c=float(n))
        if name == "sqrt":
            return self.emit(SQRT_OP, base)
        return self.emit(POW_OP, base, self.const(e))

    # which nodes' slots a node needs, and its instructions from them ------------------------
    @staticmethod
    def operands(n: Node) -> List[Node]:
        k = n.kind
        if k == CALL:
            return list(n.args[1:] if _ops.FUNCTIONS[n.value].imm else n.args)
        if k == POW:
            return [n.args[0]] if n.args[1].kind == NUM else list(n.args)
        if k == MUL:
            return [_base(f) for f in n.args if f.kind != NUM]
        if k == ADD:
            out = []
            for t in n.args:
                if t.kind == MUL:
                    out.extend(_base(f) for f in t.args if f.kind != NUM)
                elif t.kind != NUM:
                    out.append(_base(t))
            return out
        return []

    def build(self, n: Node) -> int:
        k = n.kind
        s = self.slot
        if k == NUM:
            return self.const(n.value)
        if k == CONST:
            return self.const(N.CONSTANTS[n.value])
        if k == VAR:
            if n.value not in self.index:
                raise ValueError(f"variable {n.value!r} is not among the expression's variables")
            return self.emit(VAR_OP, c=float(self.index[n.value]))
        if k == CALL:
            fn = _ops.FUNCTIONS[n.value]
            imm = int(n.args[0].value) if fn.imm else None
            return self.call_op(n.value, imm, [s[id(a)] for a in (n.args[1:] if fn.imm else n.args)])
        if k == POW:
            b, e = n.args
            if e.kind == NUM:
                return self.power(s[id(b)], e.value)
            return self.emit(POW_OP, s[id(b)], s[id(e)])
        if k == MUL:
            return self.product(n)
        if k == ADD:
            acc = None
            for t in n.args:  # a - c*t instead of a + (-c)*t: no multiplication by -1
                c = N.split_coeff(t)[0] if t.kind in (MUL, NUM) else 1.0
                neg = c < 0
                if t.kind == NUM:
                    v = self.const(-c if neg else c)
                else:
                    v = self.product(t, -1.0 if neg else 1.0)
                if acc is None:
                    acc = self.emit(NEG_OP, v) if neg else v
                else:
                    acc = self.emit(SUB_OP if neg else ADD_OP, acc, v)
            return acc
        raise ValueError(f"cannot compile node kind {k}")

    def product(self, n: Node, scale: float = 1.0) -> int:
        """scale * n for a product (or any factor) n: the coefficient, then the numerator factors,
        then one division by the product of the denominator's."""
        s = self.slot
        factors = n.args if n.kind == MUL else (n,)
        coeff = scale
        numer: List[int] = []
        den: List[int] = []
        for f in factors:
            if f.kind == NUM:
                coeff *= f.value
            elif f.kind == POW and f.args[1].kind == NUM:
                e = f.args[1].value
                if e < 0 and math.isfinite(e):
                    den.append(self.power(s[id(f.args[0])], -e))
                else:
                    numer.append(self.power(s[id(f.args[0])], e))
            else:
                numer.append(s[id(f)])
        negative = coeff < 0
        c = -coeff if negative else coeff
        acc = None
        if c != 1.0 or not numer:
            acc = self.const(c)
        for v in numer:
            acc = v if acc is None else self.emit(MUL_OP, acc, v)
        if den:
            d = den[0]
            for v in den[1:]:
                d = self.emit(MUL_OP, d, v)
            acc = self.emit(DIV_OP, acc, d)
        return self.emit(NEG_OP, acc) if negative else acc


def _base(f: Node) -> Node:
    return f.args[0] if f.kind == POW and f.args[1].kind == NUM else f


def compile_nodes(roots: Sequence[Node], variables: Sequence[str]):
    """(ops, args, consts, n_vars, outputs) for the tape."""
    c = _Compiler(variables)
    need: List[Node] = []
    seen = set()
    stack = list(roots)
    while stack:  # the nodes whose slots are needed (a product's factors, not the product of a term)
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        need.append(n)
        stack.extend(c.operands(n))
    for n in N.postorder(need):
        if id(n) in seen and id(n) not in c.slot:
            c.slot[id(n)] = c.build(n)
    outputs = [c.slot[id(r)] for r in roots]
    return (np.array(c.ops, dtype=np.int32), np.array(c.args, dtype=np.int32).reshape(-1, 2),
            np.array(c.consts, dtype=np.float64), len(variables), np.array(outputs, dtype=np.int32))
