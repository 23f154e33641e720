"""Expressions: safe parsing, symbolic derivatives, and compilation to the C++ tape.

Every operation comes from the table of operations (cpp/include/fastcalc/ops.def, see
``expressions.ops``). Documented limits (beyond them: :class:`ExprError`):

- ``MAX_DEPTH``: expressions nest at most 2,000 levels deep (a derivative one level deeper
  than that raises);
- ``MAX_TEXT``: texts parsed or printed have at most 2**25 characters (pickles keep the DAG,
  with no such limit);
- ``MAX_NESTING``: operators and parentheses pending at once while parsing (4 * MAX_DEPTH + 16:
  any expression within MAX_DEPTH prints to text within it).

Flat sums and products (10^5 terms and more) are one node each; everything is linear or
n log n in the size of the DAG (common subexpressions shared), and nothing recurses.
"""
from .errors import ExprError
from .expr import Expr, expr, order_variables
from .nodes import MAX_DEPTH
from .ops import FUNCTIONS as _FUNCTIONS
from .parse import MAX_NESTING, MAX_TEXT

#: the functions of the expression language (log also takes a base: log(x, a))
FUNCTION_NAMES = tuple(_FUNCTIONS)

__all__ = ["Expr", "ExprError", "FUNCTION_NAMES", "MAX_DEPTH", "MAX_NESTING", "MAX_TEXT", "expr", "order_variables"]
