"""What of the model's raw reply is answer text: no ``<think>`` blocks, and the no-answer marker only as a
refusal when it IS the reply.

Why a streaming filter: the reply arrives in pieces and a tag or the marker can be split across them
("<thi" + "nk>"), so a possible partial tag at the end is held back until the next piece decides it.
Why "the reply starts with the marker" means refusal and a marker later in the text does not: a model
that answers part of a question and then writes ``NO_ANSWER`` for the rest has still answered; turning
that into a refusal threw the grounded part away. A reply that opens with the marker refuses (what may
follow is the model explaining why, which is not an answer from the passages).
"""

from __future__ import annotations

import re

__all__ = ["ReplyFilter", "strip_think"]

_OPEN, _CLOSE = "<think>", "</think>"
_THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)


def strip_think(text: str) -> str:
    """``text`` without think blocks (an unclosed one runs to the end) or stray closing tags."""
    return _THINK_BLOCK.sub("", text).replace(_CLOSE, "").strip()


def _partial_suffix(text: str, *tags: str) -> int:
    """Length of the longest end of ``text`` that is a proper prefix of one of ``tags`` (to hold back)."""
    best = 0
    for tag in tags:
        for size in range(min(len(tag) - 1, len(text)), best, -1):
            if text.endswith(tag[:size]):
                best = size
                break
    return best


class ReplyFilter:
    """Feed the raw pieces; get the visible answer text back, piece by piece.

    ``refused`` turns true when the visible reply opens with ``marker``; from then on nothing is passed.
    ``marker_inside`` counts markers removed from inside an answer (a partial answer, kept).
    """

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self._raw = ""          # received, not yet decided (tags may be incomplete)
        self._thinking = False
        self._head = ""         # visible text held until we know whether the reply is the marker
        self.opened = False
        self.refused = False
        self.marker_inside = 0

    def feed(self, piece: str) -> str:
        """The visible text that ``piece`` releases (possibly empty)."""
        self._raw += piece
        return self._release(self._visible(final=False))

    def flush(self) -> str:
        """The rest at the end of the reply (nothing is held back any more)."""
        return self._release(self._visible(final=True), final=True)

    def _visible(self, *, final: bool) -> str:
        """Move what is decided out of ``_raw``: think blocks dropped, partial tags kept for later."""
        out: list[str] = []
        while self._raw:
            if self._thinking:
                end = self._raw.find(_CLOSE)
                if end < 0:
                    self._raw = "" if final else self._raw[len(self._raw) - _partial_suffix(self._raw, _CLOSE):]
                    break
                self._raw, self._thinking = self._raw[end + len(_CLOSE):], False
                continue
            start = self._raw.find(_OPEN)
            if start >= 0:
                out.append(self._raw[:start])
                self._raw, self._thinking = self._raw[start + len(_OPEN):], True
                continue
            keep = 0 if final else _partial_suffix(self._raw, _OPEN, _CLOSE, self.marker)
            out.append(self._raw[:len(self._raw) - keep])
            self._raw = self._raw[len(self._raw) - keep:]
            break
        return "".join(out).replace(_CLOSE, "")

    def _release(self, text: str, *, final: bool = False) -> str:
        if self.refused:
            return ""
        if not self.opened:
            self._head += text
            head = self._head.lstrip()
            if head.upper().startswith(self.marker):
                self.refused = True
                return ""
            if not final and (not head or self.marker.startswith(head.upper())):
                return ""
            self.opened, text = True, head
        return self._drop_markers(text)

    def _drop_markers(self, text: str) -> str:
        found = text.count(self.marker)
        if not found:
            return text
        self.marker_inside += found
        return re.sub(rf"\s*{re.escape(self.marker)}[.:!]?", "", text)
