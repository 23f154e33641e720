"""A user's own Cython module cimports fastcalc's .pxd and its compiled function runs in the core."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastcalc as fc

USER_PYX = textwrap.dedent("""
    # cython: language_level=3
    from libc.math cimport sin
    from fastcalc.ccallbacks cimport nd_fn

    cdef api double wave(int n, const double *x, void *data) noexcept nogil:
        cdef double s = 0.0
        cdef int i
        for i in range(n):
            s += sin((i + 1) * x[i])
        return s

    cdef nd_fn check_type = wave  # the typedef users write against
""")

SETUP = textwrap.dedent("""
    from setuptools import setup, Extension
    from Cython.Build import cythonize
    import fastcalc, os
    inc = os.path.dirname(os.path.dirname(fastcalc.__file__))
    setup(name="usercb", ext_modules=cythonize([Extension("usercb", ["usercb.pyx"])], include_path=[inc],
          quiet=True), script_args=["build_ext", "--inplace", "-q"])
""")


@pytest.mark.slow
def test_user_cython_callback_compiles_against_the_pxd(tmp_path):
    pytest.importorskip("Cython")
    pytest.importorskip("setuptools")
    (tmp_path / "usercb.pyx").write_text(USER_PYX)
    (tmp_path / "setup.py").write_text(SETUP)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(fc.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([pkg_parent, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "setup.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    sys.path.insert(0, str(tmp_path))
    try:
        import usercb
    finally:
        sys.path.remove(str(tmp_path))
    f = fc.ccallback(usercb, "wave")
    x = np.array([0.3, -0.7, 1.1])
    np.testing.assert_allclose(fc.gradient(f, x), [(i + 1) * np.cos((i + 1) * x[i]) for i in range(3)], rtol=1e-11)
