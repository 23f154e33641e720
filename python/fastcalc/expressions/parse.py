"""Safe parsing: Python's ``ast`` walked with a whitelist. Nothing is ever evaluated."""
from __future__ import annotations

import ast
from typing import Callable, Dict

from . import nodes as N
from .nodes import Node


class ExprError(ValueError):
    """Bad expression text: says what and where (1-based column)."""

    def __init__(self, message: str, text: str = "", column: int = 0):
        self.text = text
        self.column = column
        where = f" at column {column}" if column else ""
        caret = f"\n  {text}\n  {' ' * (column - 1)}^" if text and column else ""
        super().__init__(f"{message}{where}{caret}")


_BINOPS: Dict[type, Callable[[Node, Node], Node]] = {
    ast.Add: N.add, ast.Sub: N.sub, ast.Mult: N.mul, ast.Div: N.div, ast.Pow: N.power,
}
_HINTS = {ast.BitXor: "'^' is not a power in Python syntax: use '**'", ast.FloorDiv: "'//' is not supported",
          ast.Mod: "'%' is not supported", ast.MatMult: "'@' is not supported"}


def parse(text: str) -> Node:
    if not isinstance(text, str):
        raise TypeError(f"expression text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ExprError("empty expression", text, 1)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error: {exc.msg}", text.strip(), exc.offset or 1) from None
    except (RecursionError, MemoryError):
        raise ExprError("expression nested too deeply") from None
    try:
        return _Walker(text.strip()).visit(tree.body)
    except RecursionError:
        raise ExprError("expression nested too deeply") from None


class _Walker:
    def __init__(self, text: str):
        self.text = text

    def fail(self, message: str, node: ast.AST) -> ExprError:
        return ExprError(message, self.text, getattr(node, "col_offset", 0) + 1)

    def visit(self, node: ast.AST) -> Node:
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.fail(_HINTS.get(type(node.op), f"operator {type(node.op).__name__} is not allowed"), node)
            return op(self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return N.neg(self.visit(node.operand))
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            raise self.fail(f"unary operator {type(node.op).__name__} is not allowed", node)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(f"only real numbers are allowed, got {v!r}", node)
            try:
                return N.num(float(v))
            except OverflowError:
                raise self.fail(f"number {v} is too large", node) from None
        if isinstance(node, ast.Name):
            if node.id in N.CONSTANTS:
                return N.const(node.id)
            if node.id in N.FUNCTIONS:
                raise self.fail(f"function '{node.id}' needs an argument: {node.id}(...)", node)
            return N.var(node.id)
        if isinstance(node, ast.Call):
            return self.visit_call(node)
        if isinstance(node, ast.Attribute):
            raise self.fail("attribute access is not allowed", node)
        raise self.fail(f"{type(node).__name__} is not allowed in an expression", node)

    def visit_call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.fail("only calls of the known functions are allowed", node)
        name = node.func.id
        if name not in N.FUNCTIONS:
            raise self.fail(f"unknown function '{name}'", node)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(f"{name}() takes plain positional arguments", node)
        args = [self.visit(a) for a in node.args]
        if name == "log" and len(args) == 2:  # log(x, a): base-a logarithm
            return N.div(N.call("log", args[0]), N.call("log", args[1]))
        if len(args) != 1:
            expected = "1 or 2 arguments" if name == "log" else "1 argument"
            raise self.fail(f"{name}() takes {expected}, got {len(args)}", node)
        return N.call(name, args[0])
