"""Symbolic differentiation by the rules of the table of operations (ops.def): each rule string
is parsed once into a template over a, b, y (the value) and n (the immediate), instantiated here
with expression nodes, and the chain rule applied. A function defined by primitives (sec, cot,
binomial, ...) is differentiated by its own rules, printed in its own terms.

Sums and products are n-ary: the sum rule is the table's ``add`` rule term by term; a product of
k factors is differentiated with the table's ``mul`` rule (d(ab) = b da + a db) on a balanced
split of the factors that depend on the variable, so its derivative costs O(k log k) (the flat
sum of the k products of k - 1 factors would be O(k^2)); up to four such factors it is written
flat (d(xyz) = yz dx + xz dy + xy dz). The walk is iterative over the DAG, each distinct
subexpression differentiated once.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from . import nodes as N
from . import ops as _ops
from .nodes import ADD, CALL, MUL, NUM, POW, VAR, Node

_FLAT_PRODUCT = 4  # dependent factors of a product differentiated with the flat rule


def _call(name: str, imm: Optional[int], operands: List[Node]) -> Node:
    if name == "add":
        return N.add_list(operands)
    if name == "sub":
        return N.sub(*operands)
    if name == "mul":
        return N.mul_list(operands)
    if name == "div":
        return N.div(*operands)
    if name == "neg":
        return N.neg(operands[0])
    if name == "pow":
        return N.power(*operands)
    if name == "powi":
        return N.power(operands[0], N.num(imm))
    if _ops.FUNCTIONS[name].imm:
        return N.call(name, [N.num(imm)] + operands)
    return N.call(name, operands)


def rule(t: _ops.Template, a: Node, b: Optional[Node], y: Node, n: int = 0) -> Node:
    """A derivative rule of the table instantiated with expression nodes."""
    return _ops.instantiate(t, a, b, y, n, N.num, _call)


_ADD_RULE = _ops.OPERATOR_RULES["add"][0]
_MUL_RULES = _ops.OPERATOR_RULES["mul"]
_POW_RULES = _ops.OPERATOR_RULES["pow"]


def _chain(terms: List[Node]) -> Node:
    return N.add_list(terms) if terms else N.ZERO


def _product(factors: List[Node], d: Dict[int, Node]) -> Node:
    """d(f1 f2 ... fk) from the factors' derivatives ``d`` (by id; a factor missing there does
    not depend on the variable)."""
    dep = [f for f in factors if id(f) in d]
    const = [f for f in factors if id(f) not in d]
    if not dep:
        return N.ZERO
    if len(dep) <= _FLAT_PRODUCT:
        terms = []
        y = N.mul_list(dep)
        for i, f in enumerate(dep):
            others = dep[:i] + dep[i + 1:]
            da = rule(_MUL_RULES[0], f, N.mul_list(others) if others else N.ONE, y)
            terms.append(N.mul_list((da, d[id(f)])))
        inner = _chain(terms)
    else:
        # balanced split, bottom-up: level by level, pairs (A, A', B, B') -> (AB, A'B + AB')
        level = [(f, d[id(f)]) for f in dep]
        while len(level) > 1:
            nxt = []
            for j in range(0, len(level) - 1, 2):
                (A, dA), (B, dB) = level[j], level[j + 1]
                AB = N.mul_list((A, B))
                dAB = N.add_list((N.mul_list((rule(_MUL_RULES[0], A, B, AB), dA)),
                                  N.mul_list((rule(_MUL_RULES[1], A, B, AB), dB))))
                nxt.append((AB, dAB))
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        inner = level[0][1]
    return N.mul_list(const + [inner]) if const else inner


def diff(root: Node, x: str) -> Node:
    """d root / d x."""
    if root._vars is not None and x not in root._vars:
        return N.ZERO
    memo: Dict[int, Node] = {}
    zero = N.ZERO
    stack = [root]
    while stack:
        n = stack[-1]
        if id(n) in memo:
            stack.pop()
            continue
        if n.kind == VAR:
            memo[id(n)] = N.ONE if n.value == x else zero
            stack.pop()
            continue
        # operands free of x (known from their variable sets) are not visited
        pending = [c for c in n.args if id(c) not in memo and (c._vars is None or x in c._vars)]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        ds = [zero if c._vars is not None and x not in c._vars else memo[id(c)] for c in n.args]
        if all(dc is zero for dc in ds):
            memo[id(n)] = N.ZERO
            continue
        memo[id(n)] = _node(n, ds)
    return memo[id(root)]


def _node(n: Node, ds: List[Node]) -> Node:
    k = n.kind
    if k == ADD:
        return _chain([N.mul_list((rule(_ADD_RULE, t, None, n), dt)) for t, dt in zip(n.args, ds)
                       if dt is not N.ZERO])
    if k == MUL:
        return _product(list(n.args), {id(f): df for f, df in zip(n.args, ds) if df is not N.ZERO})
    if k == POW:
        b, e = n.args
        terms = []
        for t, operand_d in zip(_POW_RULES, ds):
            if operand_d is not N.ZERO:
                terms.append(N.mul_list((rule(t, b, e, n), operand_d)))
        return _chain(terms)
    if k == CALL:
        fn = _ops.FUNCTIONS[n.value]
        imm = int(n.args[0].value) if fn.imm else 0
        operands = n.args[1:] if fn.imm else n.args
        dops = ds[1:] if fn.imm else ds
        a = operands[0]
        b = operands[1] if len(operands) > 1 else None
        terms = []
        for t, operand_d in zip(fn.rules, dops):
            if operand_d is not N.ZERO:
                terms.append(N.mul_list((rule(t, a, b, n, imm), operand_d)))
        return _chain(terms)
    if k == NUM:
        return N.ZERO
    raise ValueError(f"cannot differentiate node kind {k}")
