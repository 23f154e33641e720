"""Expressions: safe parsing, symbolic derivatives, and compilation to the C++ tape."""
from .expr import Expr, expr
from .parse import ExprError

__all__ = ["Expr", "ExprError", "expr"]
