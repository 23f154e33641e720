"""The Examples in the public docstrings of differentiation and optimization run and print what
they say."""
import doctest

import pytest

from fastcalc import differentiate, optimize


@pytest.mark.parametrize("module", [differentiate, optimize], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    pytest.importorskip("scipy")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0
