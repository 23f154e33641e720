"""Recognising compiled callbacks: the SciPy ``LowLevelCallable`` convention.

The core accepts a PyCapsule whose name is the C signature, one of
``double (double)``, ``double (double, void *)`` or ``double (int, double *, void *)``.
Cython ``cdef api`` functions (``module.__pyx_capi__``), ``scipy.LowLevelCallable``, numba
``cfunc`` and ctypes function pointers all reduce to one.
"""
from __future__ import annotations

import ctypes
from typing import Any, Optional, Tuple

__all__ = ["ccallback", "as_compiled"]

_SIGNATURES = {
    (ctypes.c_double, (ctypes.c_double,)): b"double (double)",
    (ctypes.c_double, (ctypes.c_double, ctypes.c_void_p)): b"double (double, void *)",
    (ctypes.c_double, (ctypes.c_int, ctypes.POINTER(ctypes.c_double), ctypes.c_void_p)):
        b"double (int, double *, void *)",
}

_PyCapsule_New = ctypes.pythonapi.PyCapsule_New
_PyCapsule_New.restype = ctypes.py_object
_PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


def _is_capsule(obj: Any) -> bool:
    return type(obj).__name__ == "PyCapsule"


def ccallback(module: Any, name: str) -> Any:
    """The compiled function ``name`` of a Cython module (its ``cdef api`` capsule)."""
    capi = getattr(module, "__pyx_capi__", None)
    if capi is None or name not in capi:
        raise ValueError(f"{getattr(module, '__name__', module)!r} exports no cdef api function {name!r}")
    return capi[name]


def _from_ctypes(fp: Any) -> Any:
    key = (fp.restype, tuple(fp.argtypes or ()))
    sig = _SIGNATURES.get(key)
    if sig is None:
        raise ValueError(
            "compiled callback has an unsupported signature; expected double f(double), "
            "double f(double, void*) or double f(int, const double*, void*)")
    addr = ctypes.cast(fp, ctypes.c_void_p).value
    return _PyCapsule_New(addr, sig, None)  # the names are module constants: they outlive it


def as_compiled(f: Any) -> Optional[Tuple[Any, Any, Any]]:
    """(capsule, user_data, keepalive) if ``f`` is a compiled callback, else None."""
    if _is_capsule(f):
        return f, None, f
    if type(f).__name__ == "LowLevelCallable" and hasattr(f, "function"):
        ud = f.user_data
        if ud is not None and not _is_capsule(ud):
            ud = ctypes.cast(ud, ctypes.c_void_p).value if not isinstance(ud, int) else ud
        return f.function, ud, f
    if isinstance(f, ctypes._CFuncPtr):
        return _from_ctypes(f), None, f
    fp = getattr(f, "ctypes", None)  # numba cfunc
    if isinstance(fp, ctypes._CFuncPtr):
        return _from_ctypes(fp), None, f
    return None
