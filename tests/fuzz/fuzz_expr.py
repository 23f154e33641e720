"""Coverage-guided fuzzing of the expression parser with atheris (libFuzzer for Python), seeded
with tests/fuzz/corpus. Not part of the test suite (tests/test_expr_fuzz.py runs the same property
with hypothesis, briefly); run it on demand:

    pip install atheris
    PYTHONPATH=python python tests/fuzz/fuzz_expr.py tests/fuzz/corpus -max_total_time=600

(new inputs that reach new code are written into the corpus directory given; keep the seeds
committed, not the whole grown corpus). A failure prints the input and writes crash-<hash>.
"""
import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

with atheris.instrument_imports(include=["fastcalc"]):
    import fastcalc  # noqa: F401
    from expr_property import check


def one_input(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(4096)
    check(text)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
