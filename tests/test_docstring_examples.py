"""The Examples in the public docstrings of differentiation and optimization run and print what
they say."""
import doctest

import pytest

from fastcalc import _critical, _fitting, differentiate, optimize


@pytest.mark.parametrize("module", [differentiate, optimize, _fitting, _critical], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    pytest.importorskip("scipy")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
