"""Per-part byte counts of a multipart body, as it streams in (issue 13).

Starlette's form parser limits the size of a form's text fields but not of its files: it spools each file to
/tmp whatever its size, so one authenticated upload could write the whole request limit (~1 GB by default)
to disk before the route's 20 MB per-file check ran. ``PartCounter`` reads the same bytes with
python-multipart's streaming parser (callbacks, nothing kept) so ``api.middleware.BodyLimit`` can stop the
request the moment one part passes the per-file limit, before the rest of it is received.
"""

from __future__ import annotations

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

__all__ = ["PartCounter"]


class PartCounter:
    """Feed it a multipart body chunk by chunk; ``over`` turns True once one part passes ``limit`` bytes.
    A body it cannot parse is left to the form parser behind it (which answers it 400): counting just stops."""

    def __init__(self, boundary: bytes, limit: int) -> None:
        self.limit = limit
        self.part = 0
        self.over = False
        self._broken = False
        self._parser = MultipartParser(boundary, callbacks={"on_part_begin": self._begin, "on_part_data": self._data})

    @classmethod
    def for_content_type(cls, content_type: str | None, limit: int) -> PartCounter | None:
        """A counter for a ``multipart/form-data`` body with a boundary; None for any other body."""
        if not content_type:
            return None
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        return cls(boundary, limit) if kind == b"multipart/form-data" and boundary else None

    def feed(self, chunk: bytes) -> bool:
        """Count one chunk; True once a part is over the limit."""
        if chunk and not (self.over or self._broken):
            try:
                self._parser.write(chunk)
            except MultipartParseError:
                self._broken = True
        return self.over

    def _begin(self) -> None:
        self.part = 0

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.part += end - start
        self.over = self.over or self.part > self.limit
