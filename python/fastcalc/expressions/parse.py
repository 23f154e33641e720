"""Safe parsing of math in Python syntax: a tokenizer and an operator-precedence parser with
explicit stacks (no recursion, so flat sums of 10^5 terms and deep nesting up to the documented
limits parse; deeper nesting is refused with an ExprError). Nothing is ever evaluated.

The language: numbers (Python's literals; ``inf`` and ``nan`` too), names, ``+ - * / **`` with
Python's precedence (``-x**2`` is ``-(x**2)``, ``2**3**2`` is ``2**9``), parentheses, calls of the
functions of the table of operations (``fastcalc.expressions.ops``), ``log(x, a)`` (base a) and
the constants ``pi`` and ``e``.

Where the text is not in the language, Python's own parser (``ast``) names the construct or
the syntax error (``'^' is not a power``, ``IfExp is not allowed``, ``syntax error: ...``).
"""
from __future__ import annotations

import ast
import keyword
import re
import unicodedata
from typing import Dict, List, Optional, Tuple

from . import nodes as N
from .errors import ExprError
from .nodes import Node

#: the longest text parsed (and printed), in characters
MAX_TEXT = 1 << 25
#: operators and parentheses pending at once while parsing; the text of any expression within
#: nodes.MAX_DEPTH needs fewer (the printer opens at most two per level)
MAX_NESTING = 4 * N.MAX_DEPTH + 16

_TOKENS = re.compile(r"""
 (?P<ws>[ \t\f\r\n]+|\\\r?\n|\#[^\r\n]*)
|(?P<num>(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+
     |(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?)[jJ]?)
|(?P<name>[^\W\d]\w*)
|(?P<op>\*\*|[-+*/(),])
|(?P<bad>.)
""", re.VERBOSE | re.DOTALL)
_LEADING_ZEROS = re.compile(r"0[0-9_]*[1-9]")

_BINOPS: Dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_HINTS = {ast.BitXor: "'^' is not a power in Python syntax: use '**'", ast.FloorDiv: "'//' is not supported",
          ast.Mod: "'%' is not supported", ast.MatMult: "'@' is not supported"}
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "u-": 3, "u+": 3, "**": 4}


class _Syntax(Exception):
    """Not in the language here: Python's parser says what it is."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.message, self.column = message, column


class _Chain:
    """A sum or product being collected (n-ary: a flat chain of 10^5 terms is one node)."""

    __slots__ = ("items", "product")

    def __init__(self, items: List[Node], product: bool):
        self.items, self.product = items, product


def _final(v) -> Node:
    if type(v) is _Chain:
        return N.mul_list(v.items) if v.product else N.add_list(v.items)
    return v


def _number(tok: str, column: int) -> Node:
    if tok[-1] in "jJ":
        raise ExprError(f"only real numbers are allowed, got {tok}", "", column)
    if tok[:2].lower() in ("0x", "0o", "0b"):
        try:
            return N.num(float(int(tok, 0)))
        except OverflowError:
            return N.num(float("inf"))
    if _LEADING_ZEROS.fullmatch(tok):
        raise _Syntax("leading zeros", column)
    return N.num(float(tok.replace("_", "")))


def parse(text: str) -> Node:
    """The canonical node of ``text`` (see the module's docstring for the language)."""
    return parse_names(text)[0]


def parse_names(text: str) -> Tuple[Node, List[str]]:
    """(node, variable names in order of first appearance in the text)."""
    if not isinstance(text, str):
        raise TypeError(f"expression text must be a string, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise ExprError("empty expression", text, 1)
    if len(text) > MAX_TEXT:
        raise ExprError(f"expression text longer than {MAX_TEXT:,} characters")
    try:
        return _Parser(text).run()
    except _Syntax as s:
        raise _diagnose(text, s.message, s.column) from None
    except ExprError as e:
        if e.text:
            raise
        raise ExprError(e.message, text, e.column) from None


class _Parser:
    def __init__(self, text: str):
        self.text = text

    def tokens(self) -> List[Tuple[str, str, int]]:
        out = []
        text = self.text
        for m in _TOKENS.finditer(text):
            kind = m.lastgroup
            if kind == "ws":
                continue
            col = m.start() + 1
            if kind == "bad":
                raise _Syntax(f"unexpected character {m.group()!r}", col)
            if kind == "num":
                end = m.end()
                if end < len(text) and (text[end].isalnum() or text[end] == "_"):
                    raise _Syntax("invalid number", col)
            out.append((kind, m.group(), col))
        return out

    def run(self) -> Tuple[Node, List[str]]:
        toks = self.tokens()
        ops: List[tuple] = []  # (op, column, call info)
        vals: list = []
        names: Dict[str, None] = {}
        operand = True  # expecting an operand
        after_comma = False
        i, n = 0, len(toks)

        def reduce_top():
            op, col, _ = ops.pop()
            try:
                if op == "u-":
                    vals.append(N.neg(_final(vals.pop())))
                elif op == "u+":
                    pass
                else:
                    right = vals.pop()
                    left = vals.pop()
                    if op == "**":
                        vals.append(N.power(_final(left), _final(right)))
                        return
                    product = op in ("*", "/")
                    if type(left) is _Chain and left.product == product:
                        chain = left
                    else:
                        chain = _Chain([_final(left)], product)
                    if op == "+" or op == "*":
                        if type(right) is _Chain and right.product == product:
                            chain.items.extend(right.items)
                        else:
                            chain.items.append(_final(right))
                    elif op == "-":
                        chain.items.append(N.neg(_final(right)))
                    else:
                        chain.items.append(N.power(_final(right), N.MINUS_ONE))
                    vals.append(chain)
            except ExprError as e:
                raise ExprError(e.message, "", col) from None

        while i < n:
            kind, tok, col = toks[i]
            i += 1
            if len(ops) > MAX_NESTING:
                raise ExprError(f"expression nested too deeply (more than {MAX_NESTING} pending operators "
                                "and parentheses)", "", col)
            if operand:
                if kind == "num":
                    vals.append(_number(tok, col))
                    operand = False
                elif kind == "name":
                    if keyword.iskeyword(tok):
                        raise _Syntax(f"'{tok}' is not allowed", col)
                    name = unicodedata.normalize("NFKC", tok)  # what Python does to identifiers
                    if not name.isidentifier():  # \w admits other digits (U+2788) identifiers do not
                        raise _Syntax(f"invalid name {tok!r}", col)
                    if i < n and toks[i][1] == "(" and toks[i][0] == "op":
                        i += 1
                        if name not in N.FUNCTIONS:
                            raise ExprError(f"unknown function '{name}'", "", col)
                        ops.append(("call", col, (name, len(vals))))
                        after_comma = False
                        continue  # an operand (or ')') comes next
                    if name in N.CONSTANTS:
                        vals.append(N.const(name))
                    elif name in N.NUMBER_NAMES:
                        vals.append(N.num(N.NUMBER_NAMES[name]))
                    elif name in N.FUNCTIONS:
                        raise ExprError(f"function '{name}' needs an argument: {name}(...)", "", col)
                    else:
                        names.setdefault(name)
                        vals.append(N.var(name))
                    operand = False
                elif tok == "(":
                    ops.append(("(", col, None))
                elif tok == "-":
                    ops.append(("u-", col, None))
                elif tok == "+":
                    ops.append(("u+", col, None))
                elif tok == ")" and ops and ops[-1][0] == "call" and (after_comma or ops[-1][2][1] == len(vals)):
                    self.close_call(ops.pop(), vals)
                    operand = False
                else:
                    raise _Syntax(f"unexpected {tok!r}", col)
                after_comma = False
                continue
            # expecting an operator
            if kind == "op" and tok in _PREC:
                p = _PREC[tok]
                right = tok == "**"
                while ops:
                    top = ops[-1][0]
                    if top in ("(", "call"):
                        break
                    tp = _PREC[top]
                    if tp > p or (tp == p and not right):
                        reduce_top()
                    else:
                        break
                ops.append((tok, col, None))
                operand = True
            elif tok == ")" or tok == ",":
                while ops and ops[-1][0] not in ("(", "call"):
                    reduce_top()
                if not ops:
                    raise _Syntax(f"unmatched {tok!r}", col)
                if tok == ",":
                    if ops[-1][0] != "call":
                        raise _Syntax("a tuple", col)
                    operand, after_comma = True, True
                    continue
                frame = ops.pop()
                if frame[0] == "call":
                    self.close_call(frame, vals)
            else:
                raise _Syntax(f"unexpected {tok!r}", col)
        if operand:
            raise _Syntax("unexpected end", len(self.text))
        while ops:
            if ops[-1][0] in ("(", "call"):
                raise _Syntax("'(' was never closed", ops[-1][1])
            reduce_top()
        return _final(vals[0]), list(names)

    @staticmethod
    def close_call(frame, vals):
        _, col, (name, base) = frame
        try:
            args = [_final(v) for v in vals[base:]]
            del vals[base:]
            if name == "log" and len(args) == 2:  # log(x, a): the base-a logarithm
                vals.append(N.div(N.call("log", args[:1]), N.call("log", args[1:])))
                return
            if name == "log" and len(args) != 1:
                raise ExprError(f"log() takes 1 or 2 arguments, got {len(args)}")
            vals.append(N.call(name, args))
        except ExprError as e:
            raise ExprError(e.message, "", col) from None


def _diagnose(text: str, message: str, column: int) -> ExprError:
    """What Python's parser makes of a text outside the language."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        return ExprError(f"syntax error: {exc.msg}", text, exc.offset or 1)
    except (RecursionError, MemoryError, ValueError):
        return ExprError(f"syntax error: {message}", text, column)
    found = _disallowed(tree.body)
    if found is not None:
        return ExprError(found[0], text, getattr(found[1], "col_offset", 0) + 1)
    return ExprError(f"syntax error: {message}", text, column)


def _disallowed(root: ast.AST) -> Optional[Tuple[str, ast.AST]]:
    """The first construct outside the language (pre-order, left to right), or None."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                return _HINTS.get(type(node.op), f"operator {type(node.op).__name__} is not allowed"), node
            stack.extend((node.right, node.left))
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                return f"unary operator {type(node.op).__name__} is not allowed", node
            stack.append(node.operand)
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return f"only real numbers are allowed, got {v!r}", node
        elif isinstance(node, ast.Name):
            if node.id in N.FUNCTIONS:
                return f"function '{node.id}' needs an argument: {node.id}(...)", node
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                return "only calls of the known functions are allowed", node
            name = node.func.id
            if name not in N.FUNCTIONS:
                return f"unknown function '{name}'", node
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                return f"{name}() takes plain positional arguments", node
            stack.extend(reversed(node.args))
        elif isinstance(node, ast.Attribute):
            return "attribute access is not allowed", node
        else:
            return f"{type(node).__name__} is not allowed in an expression", node
    return None


__all__ = ["ExprError", "MAX_NESTING", "MAX_TEXT", "parse", "parse_names"]
