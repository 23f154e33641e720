"""The expression-at-scale cases of issues 14 and 15, shared by bench_expr.py and expr_scale.py."""
from __future__ import annotations

from typing import Dict, List, Tuple


def nested_sin(depth: int) -> str:
    s = "x"
    for _ in range(depth):
        s = f"sin({s})"
    return s


def tower(n: int) -> str:
    return "x" + "**x" * (n - 1)


def balanced(op: str, items: List[str]) -> str:
    while len(items) > 1:
        items = [f"({items[i]}{op}{items[i + 1]})" if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)]
    return items[0]


def rosenbrock(n: int) -> str:
    return " + ".join(f"100*(x{i + 1} - x{i}**2)**2 + (1 - x{i})**2" for i in range(n - 1))


def cases(scale: float = 1.0) -> Dict[str, Tuple[str, str]]:
    """name -> (text, the variable to differentiate by); scale < 1 shrinks the large ones."""
    k = lambda n: max(4, int(n * scale))  # noqa: E731
    return {
        "sin nested 150 deep": (nested_sin(150), "x"),
        "tower of 100 powers": (tower(100), "x"),
        f"balanced product of {k(100_000):,} factors": (balanced("*", [f"(x{i} + 1)" for i in range(k(100_000))]), "x0"),
        f"flat sum of {k(100_000):,} terms": (" + ".join(f"{i % 7 + 1}*x{i}**2" for i in range(k(100_000))), "x0"),
        f"balanced sum of {k(10_000):,} variables": (balanced("+", [f"x{i}" for i in range(k(10_000))]), "x0"),
        f"Rosenbrock n = {k(1000):,} from text": (rosenbrock(k(1000)), "x1"),
    }
