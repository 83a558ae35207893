"""Server-Sent Events helpers shared by /v1/ask and /v1/chat/completions.

The facade's stream is a plain sync iterator; starlette's StreamingResponse iterates it in a worker
thread, so a slow model never blocks the event loop. The first item is pulled before the response
starts so errors that happen before any text (empty index, model missing) get a real HTTP status.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

from rag.errors import RagError

__all__ = ["sse", "primed", "error_payload", "SSE_HEADERS"]

log = logging.getLogger("sanad.api")

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(event: str | None, data: Any) -> str:
    """One SSE frame; JSON keeps Arabic as UTF-8 (no \\u escapes) so the wire stays readable."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"


def primed(iterator: Iterator[Any]) -> Iterator[Any]:
    """Run the stream up to its first item now (raising RagError here), then hand back the whole stream."""
    try:
        first = next(iterator)
    except StopIteration:
        return iter(())
    return itertools.chain([first], iterator)


def error_payload(exc: BaseException) -> dict[str, Any]:
    """What a client sees when the stream breaks after it started: code + message, never a traceback."""
    if isinstance(exc, RagError):
        return {"code": exc.code, "message": exc.message, "hint": exc.hint}
    log.exception("stream failed", exc_info=exc)
    return {"code": "internal_error", "message": f"unexpected {type(exc).__name__}", "hint": "see the server log"}
