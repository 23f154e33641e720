"""The progress line: tqdm's bar when installed, a plain line otherwise, nothing off a terminal."""
import io

import pytest

from fastcalc._progress import Progress, progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_line_counts_and_clears(monkeypatch):
    monkeypatch.delenv("FASTCALC_PROGRESS", raising=False)
    out = Terminal()
    with Progress(total=3, desc="sweep", stream=out, plain=True) as bar:
        for i in range(3):
            bar.update(1, loss=0.5 / (i + 1))
    text = out.getvalue()
    assert "sweep: 3/3" in text and "loss=0.167" in text
    assert text.endswith("\r")  # closed: the line is erased, the cursor at its start


def test_write_goes_around_the_line():
    out = Terminal()
    bar = Progress(total=2, desc="work", stream=out, plain=True)
    bar.update(1)
    bar.write("a table row")
    bar.close()
    assert "a table row\n" in out.getvalue()
    assert out.getvalue().index("a table row") > out.getvalue().index("work: 1/2")


def test_nothing_is_printed_off_a_terminal_or_when_switched_off(monkeypatch):
    monkeypatch.delenv("FASTCALC_PROGRESS", raising=False)
    out = io.StringIO()
    assert list(progress(range(4), desc="quiet", stream=out)) == [0, 1, 2, 3]
    assert out.getvalue() == ""
    monkeypatch.setenv("FASTCALC_PROGRESS", "0")
    term = Terminal()
    list(progress(range(4), desc="off", stream=term))
    assert term.getvalue() == ""
    monkeypatch.setenv("FASTCALC_PROGRESS", "1")
    out = io.StringIO()
    with Progress(total=1, desc="forced", stream=out, plain=True) as bar:
        bar.update(1)
    assert "forced: 1/1" in out.getvalue()


def test_tqdm_is_used_when_installed():
    pytest.importorskip("tqdm")
    out = Terminal()
    with Progress(total=5, desc="with tqdm", stream=out, enable=True) as bar:
        assert bar._tqdm is not None
        bar.update(5)
    assert "with tqdm" in out.getvalue() and "/5" in out.getvalue()  # tqdm redraws at its own pace
