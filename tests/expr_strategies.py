"""Hypothesis strategies for random expression texts (shared by the test_expr_* files)."""
from hypothesis import strategies as st

VARS = ("x", "y", "z")
FUNCS = ["sin", "cos", "tan", "sec", "asin", "acos", "atan", "sinh", "cosh", "tanh",
         "exp", "log", "sqrt", "abs", "sigmoid"]

numbers = st.one_of(st.integers(-5, 5).map(str), st.sampled_from(["0.5", "2.25", "1e-05", "1e+20", "0.1", "-0.0"]))


def _any_binary(a, b):
    return st.sampled_from(["+", "-", "*", "/", "**"]).map(lambda op: f"({a}) {op} ({b})")


#: arbitrary (not necessarily well-defined) texts: for the str round trip
any_text = st.recursive(
    st.one_of(st.sampled_from(VARS + ("pi", "e")), numbers),
    lambda t: st.one_of(
        st.tuples(t, t).flatmap(lambda ab: _any_binary(*ab)),
        t.map(lambda a: f"-({a})"),
        t.map(lambda a: f"-{a}"),
        st.tuples(st.sampled_from(FUNCS), t).map(lambda fa: f"{fa[0]}({fa[1]})"),
        st.tuples(t, t).map(lambda ab: f"log({ab[0]}, {ab[1]})"),
    ),
    max_leaves=12,
)

#: smooth, bounded-ish expressions over x, y (every function used away from its singularities)
_SAFE_UNARY = ["sin({})", "cos({})", "atan({})", "tanh({})", "sigmoid({})", "exp(sin({}))",
               "log(({})**2 + 1)", "log(({})**2 + 2, 3)", "sqrt(({})**2 + 1)", "abs(tanh({}) - 2)",
               "asin(tanh({})/2)", "acos(sigmoid({})/2)", "tan(sigmoid({}))", "sec(sigmoid({}))",
               "sinh(tanh({}))", "cosh(tanh({}))", "-({})", "({})**2", "({})**3", "2**sin({})"]
_SAFE_BINARY = ["({}) + ({})", "({}) - ({})", "({})*({})", "({})/(({})**2 + 1)",
                "(({})**2 + 1)**sin({})", "3*({}) - ({})/2"]

safe_text = st.recursive(
    st.one_of(st.sampled_from(["x", "y", "x", "y", "pi"]), st.integers(-3, 3).map(str)),
    lambda t: st.one_of(
        st.tuples(st.sampled_from(_SAFE_UNARY), t).map(lambda fa: fa[0].format(fa[1])),
        st.tuples(st.sampled_from(_SAFE_BINARY), t, t).map(lambda fab: fab[0].format(fab[1], fab[2])),
    ),
    max_leaves=8,
)

points = st.lists(st.floats(-2, 2, allow_nan=False), min_size=2, max_size=2)
