"""A progress line for long work: tqdm's bar when tqdm is installed (the ``progress`` extra), a
plain line rewritten in place otherwise.

Shown only where someone can watch it: by default when the stream (stderr) is a terminal, so
logs and pipes get nothing. Text printed to the same terminal while a bar is shown goes through
:meth:`Progress.write`, which clears the line first.

>>> with Progress(total=3, desc="work", enable=False) as bar:
...     for step in range(3):
...         bar.update(1, item=step)
>>> bar.n
3
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Iterable, Iterator, Optional, TextIO

__all__ = ["Progress", "progress"]


def _interactive(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or a stream without a terminal
        return False


class Progress:
    """A progress bar over ``total`` steps (or an open-ended count when total is None).

    Parameters
    ----------
    total : int, optional
        The number of steps, when known.
    desc : str
        What is being done, printed before the count.
    enable : bool, optional
        Show the bar; None (the default) follows ``FASTCALC_PROGRESS`` (0 hides every bar, 1
        shows it even off a terminal) and otherwise shows it when ``stream`` is a terminal.
    stream : file, optional
        Where the bar goes (default ``sys.stderr``).
    plain : bool
        Use the plain line even when tqdm is installed.
    """

    #: seconds between redraws of the plain line
    interval = 0.1

    def __init__(self, total: Optional[int] = None, desc: str = "", *, enable: Optional[bool] = None,
                 stream: Optional[TextIO] = None, plain: bool = False):
        self.stream = stream if stream is not None else sys.stderr
        if enable is None:
            enable = enabled_by_environment()
        self.enable = _interactive(self.stream) if enable is None else bool(enable)
        self.total = total
        self.desc = desc
        self.n = 0
        self._postfix = ""
        self._start = time.perf_counter()
        self._last = 0.0
        self._width = 0
        self._tqdm: Any = None
        if self.enable and not plain:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self._tqdm = tqdm(total=total, desc=desc, file=self.stream, leave=False, dynamic_ncols=True)

    # -- updates -----------------------------------------------------------------------------
    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advance by ``n`` steps; keyword arguments are shown after the count (``loss=1e-3``)."""
        self.n += int(n)
        text = ", ".join(f"{k}={_short(v)}" for k, v in postfix.items())
        if not self.enable:
            self._postfix = text
            return
        if self._tqdm is not None:
            if text:
                self._tqdm.set_postfix_str(text, refresh=False)
            self._tqdm.update(int(n))
            return
        self._postfix = text
        now = time.perf_counter()
        if now - self._last >= self.interval or (self.total is not None and self.n >= self.total):
            self._draw(now)

    def _line(self, now: float) -> str:
        count = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        line = f"{self.desc}: {count} [{now - self._start:.1f} s]"
        return f"{line} {self._postfix}" if self._postfix else line

    def _draw(self, now: float) -> None:
        self._last = now
        line = self._line(now)
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def clear(self) -> None:
        """Erase the line (it comes back with the next update)."""
        if not self.enable:
            return
        if self._tqdm is not None:
            self._tqdm.clear()
        elif self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def write(self, text: str, file: Optional[TextIO] = None) -> None:
        """Print ``text`` (a line) without tearing the bar."""
        out = file if file is not None else self.stream
        self.clear()
        print(text, file=out)
        if self.enable and self._tqdm is None and self.n:
            self._draw(time.perf_counter())

    def close(self) -> None:
        """Remove the bar."""
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None
        else:
            self.clear()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def progress(iterable: Iterable, total: Optional[int] = None, desc: str = "", *, enable: Optional[bool] = None,
             stream: Optional[TextIO] = None) -> Iterator:
    """Iterate over ``iterable`` with a progress bar (see :class:`Progress`).

    >>> list(progress(range(3), desc="squares", enable=False))
    [0, 1, 2]
    """
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with Progress(total=total, desc=desc, enable=enable, stream=stream) as bar:
        for item in iterable:
            yield item
            bar.update(1)


def enabled_by_environment() -> Optional[bool]:
    """``FASTCALC_PROGRESS=0`` hides every bar, ``=1`` shows them even off a terminal; unset: None."""
    value = os.environ.get("FASTCALC_PROGRESS")
    if value is None or value == "":
        return None
    return value.strip().lower() not in ("0", "false", "no", "off")
