"""The table of operations (cpp/include/fastcalc/ops.def, through ``_core.op_table()``) as the
expression layer sees it. Nothing here states a fact about an operation: names, arities,
immediates, domains, derivative rules, definitions, NumPy and LaTeX forms all come from the table.

The table's rule strings (derivative rules, definitions of functions) are parsed once into
templates: instruction lists in evaluation order over the operands ``a``, ``b``, the value ``y``
and the immediate ``n``, which :func:`instantiate` runs with a builder (expression nodes for
symbolic derivatives, tape slots for the compiler, NumPy arrays for the reference).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import _core

_RAW = _core.op_table()

#: opcode by name, for every primitive ("const", "var", "add", ..., "polygamma")
CODES: Dict[str, int] = {p["name"]: p["code"] for p in _RAW["primitives"]}
#: the primitives' rows of the table, by name
PRIMITIVES: Dict[str, dict] = {p["name"]: dict(p) for p in _RAW["primitives"]}
#: the largest |k| of x**k compiled to powi, and the largest order of polygamma
MAX_POWI: int = int(_RAW["max_powi"])
MAX_POLYGAMMA: int = int(_RAW["max_polygamma"])

# A template instruction: ("a",) ("b",) ("y",) ("num", v) ("n", offset: the immediate plus it, as
# a number) or ("call", name, imm, x, y): imm None, or (from_n, offset): the immediate n + offset
# when from_n else the literal offset; x, y the operands' instruction indices (-1 unused).
Template = Tuple[tuple, ...]


@dataclass(frozen=True)
class Function:
    """A function of the expression language: a primitive of kind fn, or one defined by them."""

    name: str
    arity: int  # arguments in the language, the immediate included (polygamma(n, x): 2)
    imm: bool  # the first argument is an integer immediate
    code: Optional[int]  # the primitive's opcode; None for a function defined by primitives
    definition: Optional[Template]  # a function's definition over a, b
    rules: Tuple[Template, ...]  # d/da, d/db (the operands, the immediate excluded)
    numpy: str
    latex: str
    total: bool  # finite for every finite operand

    @property
    def operands(self) -> int:
        return self.arity - (1 if self.imm else 0)


class _RuleParser:
    """Recursive descent over one rule string of the table (short, trusted text)."""

    def __init__(self, text: str, callables: Dict[str, Tuple[int, bool]]):
        self.s, self.i, self.out, self.callables = text, 0, [], callables

    def fail(self, what: str):
        raise RuntimeError(f"ops.def: bad rule {self.s!r}: {what} at {self.i}")

    def skip(self):
        while self.i < len(self.s) and self.s[self.i] == " ":
            self.i += 1

    def eat(self, c: str) -> bool:
        self.skip()
        if self.s.startswith(c, self.i):
            self.i += len(c)
            return True
        return False

    def push(self, ins: tuple) -> int:
        self.out.append(ins)
        return len(self.out) - 1

    def run(self) -> Template:
        self.skip()
        if self.i == len(self.s):
            return ()
        self.expr()
        self.skip()
        if self.i != len(self.s):
            self.fail("unexpected text")
        return tuple(self.out)

    def expr(self) -> int:
        x = self.term()
        while True:
            if self.eat("+"):
                x = self.push(("call", "add", None, x, self.term()))
            elif self.eat("-"):
                x = self.push(("call", "sub", None, x, self.term()))
            else:
                return x

    def term(self) -> int:
        x = self.unary()
        while True:
            if self.eat("*"):
                x = self.push(("call", "mul", None, x, self.unary()))
            elif self.eat("/"):
                x = self.push(("call", "div", None, x, self.unary()))
            else:
                return x

    def unary(self) -> int:
        if self.eat("-"):
            return self.push(("call", "neg", None, self.unary(), -1))
        return self.atom()

    def integer(self) -> int:
        self.skip()
        j = self.i
        while self.i < len(self.s) and self.s[self.i].isdigit():
            self.i += 1
        if j == self.i:
            self.fail("expected an integer")
        return int(self.s[j:self.i])

    def atom(self) -> int:
        self.skip()
        if self.i >= len(self.s):
            self.fail("unexpected end")
        c = self.s[self.i]
        if c == "(":
            self.i += 1
            x = self.expr()
            if not self.eat(")"):
                self.fail("expected ')'")
            return x
        if c.isdigit() or c == ".":
            j = self.i
            while self.i < len(self.s) and (self.s[self.i].isdigit() or self.s[self.i] in ".eE" or
                                            (self.s[self.i] in "+-" and self.s[self.i - 1] in "eE")):
                self.i += 1
            return self.push(("num", float(self.s[j:self.i])))
        j = self.i
        while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] == "_"):
            self.i += 1
        name = self.s[j:self.i]
        if name in ("a", "b", "y"):
            return self.push((name,))
        if name == "n":
            return self.push(("n", 0))
        if name not in self.callables:
            self.fail(f"unknown operation {name!r}")
        arity, imm = self.callables[name]
        if not self.eat("("):
            self.fail("expected '('")
        spec = None
        if imm:
            self.skip()
            if self.s.startswith("n", self.i):
                self.i += 1
                off = self.integer() if self.eat("+") else (-self.integer() if self.eat("-") else 0)
                spec = (True, off)
            else:
                spec = (False, self.integer())
            if not self.eat(","):
                self.fail("expected ','")
        x = self.expr()
        y = -1
        if arity == 2:
            if not self.eat(","):
                self.fail("expected ','")
            y = self.expr()
        if not self.eat(")"):
            self.fail("expected ')'")
        return self.push(("call", name, spec, x, y))


def _callables() -> Dict[str, Tuple[int, bool]]:
    out = {p["name"]: (p["arity"], p["imm"]) for p in _RAW["primitives"] if p["arity"] > 0}
    out.update({f["name"]: (f["arity"], False) for f in _RAW["functions"]})
    return out


_CALLABLES = _callables()


def parse_rule(text: str) -> Template:
    """A rule string of the table as a template; () for ""."""
    return _RuleParser(text, _CALLABLES).run()


def instantiate(t: Template, a: Any, b: Any, y: Any, n: int, number: Callable[[float], Any],
                call: Callable[[str, Optional[int], List[Any]], Any]) -> Any:
    """Runs a template: ``number(v)`` makes a constant, ``call(name, imm, operands)`` an operation
    of the table (imm the integer immediate or None); a, b, y, n as in the rule language."""
    vals: List[Any] = []
    for ins in t:
        k = ins[0]
        if k == "a":
            vals.append(a)
        elif k == "b":
            vals.append(b)
        elif k == "y":
            vals.append(y)
        elif k == "num":
            vals.append(number(ins[1]))
        elif k == "n":
            vals.append(number(float(n + ins[1])))
        else:
            _, name, spec, x, z = ins
            imm = None if spec is None else (n + spec[1] if spec[0] else spec[1])
            operands = [vals[x]] if z < 0 else [vals[x], vals[z]]
            vals.append(call(name, imm, operands))
    return vals[-1]


def template_uses(t: Template, what: str) -> bool:
    """Whether a template reads ``a``, ``b``, ``y`` or ``n``."""
    return any(ins[0] == what or (what == "n" and ins[0] == "call" and ins[2] is not None and ins[2][0])
               for ins in t)


def _template_total(t: Template) -> bool:
    for ins in t:
        if ins[0] == "call":
            name = ins[1]
            total = PRIMITIVES[name]["total"] if name in PRIMITIVES else FUNCTIONS[name].total
            if not total:
                return False
    return True


def _functions() -> Dict[str, Function]:
    out: Dict[str, Function] = {}
    for p in _RAW["primitives"]:
        if not p["function"]:
            continue
        rules = tuple(parse_rule(r) for r in (p["da"], p["db"])[:p["arity"]])
        out[p["name"]] = Function(p["name"], p["arity"] + (1 if p["imm"] else 0), bool(p["imm"]), p["code"], None,
                                  rules, p["numpy"], p["latex"], bool(p["total"]))
    return out


FUNCTIONS: Dict[str, Function] = _functions()
for _f in _RAW["functions"]:  # in table order: a definition only uses what precedes it or primitives
    _def = parse_rule(_f["definition"])
    FUNCTIONS[_f["name"]] = Function(_f["name"], _f["arity"], False, None, _def,
                                     tuple(parse_rule(r) for r in (_f["da"], _f["db"])[:_f["arity"]]),
                                     _f["numpy"], _f["latex"], _template_total(_def))
del _f, _def

#: the derivative rules of the operator primitives (add ... powi), by name
OPERATOR_RULES: Dict[str, Tuple[Template, ...]] = {
    p["name"]: tuple(parse_rule(r) for r in (p["da"], p["db"])[:p["arity"]])
    for p in _RAW["primitives"] if not p["function"] and p["arity"] > 0}


def power_instruction(e: float) -> Tuple[str, Optional[int]]:
    """How x**e for a number e is computed (compiled, and folded for a number x): powi for an
    integer |e| <= MAX_POWI (repeated squaring), sqrt for 0.5 (as NumPy's x**0.5 is), else pow."""
    if math.isfinite(e) and e.is_integer() and abs(e) <= MAX_POWI:
        return "powi", int(e)
    if e == 0.5:
        return "sqrt", None
    return "pow", None


def language_names() -> Sequence[str]:
    """The function names the parser accepts."""
    return tuple(FUNCTIONS)
