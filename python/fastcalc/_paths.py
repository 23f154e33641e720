"""Where fastcalc writes files of its own: one definition of the user's cache folder."""
from __future__ import annotations

import getpass
import os
import sys
import tempfile


def cache_dir() -> str:
    """fastcalc's cache folder: ``FASTCALC_CACHE`` when set, else the platform's user cache
    (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS,
    ``%LOCALAPPDATA%`` on Windows) followed by ``fastcalc``."""
    env = os.environ.get("FASTCALC_CACHE")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "fastcalc")


def writable_dir(preferred: str, fallback_name: str) -> str:
    """``preferred`` created if need be; where that cannot be written, a folder named after
    ``fallback_name`` (and the user) under the system's temporary directory."""
    for path in (preferred, os.path.join(tempfile.gettempdir(), f"{fallback_name}-{_user()}")):
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK | os.X_OK):
            return path
    return tempfile.mkdtemp(prefix=f"{fallback_name}-")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name (containers without a passwd entry)
        return str(os.getpid())
