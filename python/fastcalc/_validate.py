"""Validators of the options several functions share (one statement of each rule)."""
from __future__ import annotations

import math
from typing import Any

#: The most iterations any loop is asked for: a larger maxiter (or inf) means "until a stop".
MAX_ITER = 2**63 - 1


def maxiter(value: Any, name: str = "maxiter") -> int:
    """An iteration budget: a non-negative integer, or inf for no budget (capped at MAX_ITER)."""
    if isinstance(value, float) and value == math.inf:
        return MAX_ITER
    try:
        whole = not isinstance(value, bool) and int(value) == value
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole:
        raise TypeError(f"{name} must be an integer (or inf), got {value!r}")
    v = int(value)
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return min(v, MAX_ITER)
