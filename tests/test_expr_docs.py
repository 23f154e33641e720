"""The Examples of the expression layer's docstrings run and say what they show."""
import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["fastcalc.expressions.expr"])
def test_docstring_examples(module):
    m = importlib.import_module(module)
    result = doctest.testmod(m, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 30 and result.failed == 0, result


def test_every_public_member_of_expr_has_an_example():
    from fastcalc.expressions import Expr, expr

    public = [n for n in dir(Expr) if not n.startswith("_")] + ["__call__", "_repr_latex_"]
    for name in public:
        doc = getattr(Expr, name).__doc__ or ""
        assert "Examples" in doc and ">>>" in doc, name
    assert "Examples" in expr.__doc__ and "Parameters" in expr.__doc__
