"""Fuzzing the parser (hypothesis): the committed seed corpus (tests/fuzz/corpus) as is, mutated
and spliced, and random texts over the language's alphabet. Every text is refused with an
ExprError or parses to an expression that prints back, pickles, differentiates, compiles and
evaluates (tests/fuzz/expr_property.py). Brief here; FASTCALC_FUZZ_EXAMPLES=100000 for a longer
run, or the atheris harness tests/fuzz/fuzz_expr.py (see DEVELOPING.md)."""
import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz"))

from expr_property import check, corpus  # noqa: E402

SEEDS = corpus()
EXAMPLES = int(os.environ.get("FASTCALC_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
ALPHABET = list("xyz0123456789.e+-*/() ,_#jJ\n\t^%<=!'\"[]{}@:;") + ["**", "sin(", "log(", "polygamma(", "inf",
                                                                  "nan", "pi", "1e308", "1e-320", "α", "\\", "\x00"]


def test_every_seed_holds():
    assert len(SEEDS) >= 50
    parsed = sum(check(s) for s in SEEDS)
    assert 0 < parsed < len(SEEDS)  # the corpus has both kinds


def _mutate(seed, edits):
    s = seed
    for pos, op, piece in edits:
        i = pos % (len(s) + 1)
        if op == 0:
            s = s[:i] + piece + s[i:]
        elif op == 1:
            s = s[:i] + s[i + 1:]
        else:
            s = s[:i] + piece + s[i + 1:]
    return s


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 2), st.sampled_from(ALPHABET)),
                                        max_size=6))
def test_mutated_seeds(seed, edits):
    check(_mutate(seed, edits))


@FUZZ
@given(st.sampled_from(SEEDS), st.sampled_from(SEEDS), st.integers(0, 10**6), st.integers(0, 10**6))
def test_spliced_seeds(a, b, i, j):
    check(a[: i % (len(a) + 1)] + b[j % (len(b) + 1):])


@FUZZ
@given(st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join))
def test_random_texts(text):
    check(text)
