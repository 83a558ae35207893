"""The HTTP server's limits, enforced while a request's head is parsed, before the app sees anything.

uvicorn's httptools protocol takes any number of headers of any size (a 200 KB header and 20,000 headers
were both served) and answers a request it cannot parse with a text/plain "Invalid HTTP request received."
The protocol here refuses a URL over ``MAX_URL_BYTES`` (414), headers over ``MAX_HEADER_BYTES`` in all or
more than ``MAX_HEADERS`` of them (431) as the bytes arrive, and answers those and malformed HTTP in the
documented ``{"error": {code, message, hint}}`` shape. ``server_options()`` is what ``uvicorn.run`` gets.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from api.errors import error_body

__all__ = ["server_options", "MAX_URL_BYTES", "MAX_HEADER_BYTES", "MAX_HEADERS"]

#: a longer URL is refused (414); a 2,000-character Arabic query, percent-encoded, is about 18 KB
MAX_URL_BYTES = 64 * 1024
#: all header names and values together (431); browsers' cookies stay far below this
MAX_HEADER_BYTES = 64 * 1024
#: header lines per request (431)
MAX_HEADERS = 100

_MALFORMED = (400, "bad_http_request", "the request is not valid HTTP/1.1",
              "send a well-formed request (request line, headers, body framing)")
_URL_TOO_LONG = (414, "uri_too_long", f"the URL is over {MAX_URL_BYTES} bytes",
                 "send long queries in a POST body, e.g. POST /v1/search with {\"q\": ...}")
_HEADERS_TOO_LARGE = (431, "headers_too_large",
                      f"the request headers are over {MAX_HEADER_BYTES} bytes or {MAX_HEADERS} lines",
                      "send fewer or shorter headers")


class _Refused(Exception):
    """Raised from a parser callback: the parser stops and the protocol answers with the recorded refusal."""


def response_bytes(status: int, code: str, message: str, hint: str) -> bytes:
    """A complete HTTP/1.1 response in the error shape that closes the connection."""
    body = json.dumps(error_body(code, message, hint), ensure_ascii=False).encode()
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("latin-1") + body


def _guarded_httptools() -> type:
    """uvicorn's httptools protocol with the limits above (built on first use: nothing imported at import time)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        """Counts the URL and header bytes as the parser hands them over; refuses past the limits."""

        _refusal: tuple[int, str, str, str] | None = None
        _header_bytes = 0

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._refusal, self._header_bytes = None, 0

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            if len(self.url) > MAX_URL_BYTES:
                self._refusal = _URL_TOO_LONG
                raise _Refused

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_bytes += len(name) + len(value)
            if self._header_bytes > MAX_HEADER_BYTES or len(self.headers) >= MAX_HEADERS:
                self._refusal = _HEADERS_TOO_LARGE
                raise _Refused
            super().on_header(name, value)

        def send_400_response(self, msg: str) -> None:
            """Every request the parser gave up on: the refusal recorded, else a malformed request (400)."""
            self.transport.write(response_bytes(*(self._refusal or _MALFORMED)))
            self.transport.close()

    return GuardedHttpToolsProtocol


def server_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config``: the guarded protocol where httptools is
    installed, else h11 with its incomplete-event cap at the same header limit (plain-text 400 there)."""
    try:
        protocol: Any = _guarded_httptools()
    except ImportError:  # pragma: no cover - httptools is a declared dependency
        protocol = "h11"
    return {"http": protocol, "h11_max_incomplete_event_size": MAX_HEADER_BYTES}
