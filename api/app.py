"""The FastAPI app factory. Nothing happens at import; ``create_app`` wires routes to a given facade."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body, install_error_handlers
from api.middleware import LoopbackHosts, RouteErrors, send_error
from api.openai_compat import openai_router
from api.routes import health_router, native_router
from api.timeline import timeline_router
from rag.service import Sanad
from rag.settings import Settings

__all__ = ["create_app", "BodyLimit"]

#: JSON bodies above this are refused before parsing (the question limit is far smaller anyway)
JSON_BODY_LIMIT = 1 << 20


class BodyLimit:
    """Refuse oversized requests by Content-Length (413) before anything reads them into memory."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            length = dict(scope.get("headers") or []).get(b"content-length")
            limit = self.upload_limit if scope["path"].rstrip("/") == "/v1/documents" else self.json_limit
            if length is not None and length.isdigit() and int(length) > limit:
                await self._refuse(send, int(length), limit)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(send: Send, length: int, limit: int) -> None:
        body = error_body("request_too_large", f"the request body is {length} bytes; the limit is {limit}",
                          "send less: shorten the question or upload fewer/smaller files")
        await send_error(send, 413, body, [("connection", "close")])


def create_app(service: Sanad, settings: Settings) -> FastAPI:
    """Build the HTTP API over one facade (which serialises writes itself, so the UI can share it)."""
    app = FastAPI(
        title="Sanad API",
        version="0.1.0",
        description="Cited question answering over your (mainly Arabic) news articles. "
        "Errors are always {\"error\": {\"code\", \"message\", \"hint\"}}.",
    )
    app.state.service = service
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(native_router)
    app.include_router(timeline_router)
    app.include_router(openai_router)
    upload_limit = int(settings.max_upload_mb * settings.max_upload_files * 1024 * 1024) + (1 << 20)
    json_limit = max(JSON_BODY_LIMIT, settings.max_question_chars * 8)
    app.add_middleware(RouteErrors, routes=app.router.routes)
    app.add_middleware(BodyLimit, json_limit=json_limit, upload_limit=upload_limit)
    app.add_middleware(LoopbackHosts, settings=settings)  # last added runs first: the Host check precedes all
    return app
