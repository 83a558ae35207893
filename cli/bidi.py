"""Arabic on terminals without bidi support (xterm, many SSH clients): output lines rewritten in visual order.

Why an output wrapper: every command prints through typer/click to sys.stdout and sys.stderr, so rewriting complete
lines there covers all of them, streamed answers included (a streamed Arabic line appears when it is complete),
without touching each command. The adapter for python-bidi (Unicode bidi algorithm, mirrored brackets) and
arabic-reshaper (joined letter forms, which such terminals do not draw either) is this module alone.

Default "logical": output unchanged, the terminal does the bidi (GNOME Terminal/VTE, Konsole, mlterm, iTerm2).
``sanad --bidi visual`` or ``SANAD_BIDI=visual`` turns the rewrite on.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
import textwrap
from enum import Enum
from typing import TextIO

__all__ = ["BidiMode", "MODES", "visual_line", "VisualStream", "install", "finish"]



class BidiMode(str, Enum):
    """How Arabic lines are printed: as stored (the terminal reorders) or already in visual order."""

    logical = "logical"
    visual = "visual"


MODES = tuple(mode.value for mode in BidiMode)
# Hebrew, Arabic, Syriac, Thaana, NKo..., Arabic presentation forms: a line without them is left alone.
_RTL = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")
_STRONG = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]|[^\W\d_]")


def _base_direction(line: str) -> str:
    """'R' when the first strong letter is right-to-left (the paragraph direction of rule P2), else 'L'."""
    first = _STRONG.search(line)
    return "R" if first and _RTL.match(first.group()) else "L"


def visual_line(line: str, width: int | None = None) -> str:
    """One logical line in visual order: Arabic shaped into joined forms, runs reordered, brackets mirrored.
    With ``width`` (a terminal's columns) the line is wrapped first, each row reordered on its own and
    right-to-left rows right-aligned, so the terminal's own wrapping cannot scramble the order."""
    if not _RTL.search(line):
        return line
    import arabic_reshaper
    from bidi.algorithm import get_display

    base = _base_direction(line)
    rows = textwrap.wrap(line, width) if width and len(line) > width else [line]
    shown = [str(get_display(arabic_reshaper.reshape(row), base_dir=base)) for row in rows]
    if width and base == "R":
        shown = [row.rjust(width) for row in shown]
    return "\n".join(shown)


class VisualStream(io.TextIOBase):
    """A text stream that rewrites each complete line with ``visual_line`` before passing it on.

    A partial line waits for its newline, except text without Arabic at a flush (a prompt such as "> ", or an
    English answer streaming): it is passed through, and the rest of that line follows unchanged, since what
    is already on screen cannot be reordered."""

    def __init__(self, inner: TextIO, width: int | None = None) -> None:
        self.inner = inner
        self.width = width
        self._pending = ""
        self._started = False  # part of the current line is already on screen

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8") or "utf-8"

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self.inner.write((line if self._started else visual_line(line, self.width)) + "\n")
            self._started = False
        return len(text)

    def flush(self) -> None:
        if self._pending and (self._started or not _RTL.search(self._pending)):
            self.inner.write(self._pending)
            self._pending, self._started = "", True
        self.inner.flush()

    def finish(self) -> None:
        """Write what is left of an unfinished line (end of program)."""
        if self._pending:
            self.inner.write(self._pending if self._started else visual_line(self._pending, self.width))
            self._pending = ""
        self.inner.flush()


def _columns(stream: TextIO) -> int | None:
    try:
        return shutil.get_terminal_size().columns if stream.isatty() else None
    except (OSError, ValueError):
        return None


def install(mode: str) -> None:
    """Wrap sys.stdout and sys.stderr for ``mode`` 'visual'; 'logical' leaves them as they are."""
    if BidiMode(mode) is not BidiMode.visual:
        return
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, VisualStream):
            setattr(sys, name, VisualStream(stream, _columns(stream)))


def finish() -> None:
    """Flush unfinished lines of the wrapped streams (called once when the program ends)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, VisualStream):
            stream.finish()
