"""``ExprError``: what is wrong with an expression, and where."""
from __future__ import annotations


class ExprError(ValueError):
    """Bad expression text, or an expression beyond a documented limit: says what and where
    (``column``, 1-based, into ``text``, when the problem has a place)."""

    def __init__(self, message: str, text: str = "", column: int = 0):
        self.message = message
        self.text = text
        self.column = column
        where = f" at column {column}" if column else ""
        caret = ""
        if text and column and len(text) <= 200:
            caret = f"\n  {text}\n  {' ' * (column - 1)}^"
        super().__init__(f"{message}{where}{caret}")

    def __reduce__(self):
        return (_rebuild_error, (self.message, self.text, self.column))


def _rebuild_error(message, text, column):
    return ExprError(message, text, column)
