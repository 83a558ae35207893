"""One JSON error shape for every failure: ``{"error": {"code", "message", "hint"}}`` with the right status.

RagError already knows its status (``http_status``) and stable ``code``; FastAPI's own validation and
HTTP errors are translated into the same shape so clients parse exactly one thing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import INVALID_UNICODE
from rag.errors import RagError

__all__ = ["ApiError", "error_body", "install_error_handlers"]

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}


#: what to do about FastAPI's and Starlette's own errors, which carry no hint
_STATUS_HINTS = {
    400: "send the body as valid UTF-8 JSON (or multipart for uploads); see /openapi.json",
    401: "send the header 'Authorization: Bearer <SANAD_API_KEY>'",
    404: "see /docs for the API's routes",
    405: "see /docs for the methods each route takes",
    413: "send less",
    415: "send JSON with 'Content-Type: application/json'",
}


class ApiError(RagError):
    """An error decided by the API layer itself (auth, upload limits, unknown model)."""

    def __init__(self, status: int, code: str, message: str, *, hint: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.http_status = status
        self.code = code
        self.headers = headers or {}


def error_body(code: str, message: str, hint: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "hint": hint}}


def rag_error_response(exc: RagError) -> JSONResponse:
    headers = getattr(exc, "headers", None) or None
    return JSONResponse(error_body(exc.code, exc.message, exc.hint), status_code=exc.http_status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    """First problem as one line, e.g. "body.question: Input should be a valid string"."""
    errors = exc.errors()
    if not errors:
        return "the request is invalid"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid value')}{more}"


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through ``error_body`` so the shape never depends on where it was raised."""

    async def on_rag_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RagError)
        return rag_error_response(exc)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        unicode = [e for e in exc.errors() if e.get("type") == INVALID_UNICODE]
        if unicode:
            body = error_body(INVALID_UNICODE, str(unicode[0].get("msg")), "send text as valid UTF-8; "
                              "a lone surrogate is usually half of a broken emoji or a bad escape")
            return JSONResponse(body, status_code=400)
        body = error_body("validation_error", _validation_message(exc), "see /openapi.json for the request schema")
        return JSONResponse(body, status_code=422)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        body = error_body(code, str(exc.detail), _STATUS_HINTS.get(exc.status_code))
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        # our own bug: the shape and a 500, never the traceback (Starlette still logs it server-side)
        body = error_body("internal_error", f"unexpected {type(exc).__name__}", "see the server log")
        return JSONResponse(body, status_code=500)

    app.add_exception_handler(RagError, on_rag_error)
    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
