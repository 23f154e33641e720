"""The benchmark suite and compare.py run (at tiny sizes); their numbers are not checked here."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastcalc

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
def test_benchmark_suite_runs_at_tiny_size():
    # the subprocess must import the same fastcalc as this test run
    pkg_parent = str(Path(fastcalc.__file__).resolve().parent.parent)
    env = dict(os.environ, FASTCALC_BENCH_SIZE="tiny",
               PYTHONPATH=os.pathsep.join([pkg_parent, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--benchmark-disable",
                        "-W", "ignore::DeprecationWarning", str(BENCH)],
                       cwd=BENCH, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


@pytest.mark.slow
def test_compare_script_prints_tables():
    pytest.importorskip("numdifftools")
    pytest.importorskip("scipy")
    pkg_parent = str(Path(fastcalc.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([pkg_parent, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, str(BENCH / "compare.py"), "--quick"], capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "| fastcalc" in r.stdout and "scipy" in r.stdout
