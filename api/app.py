"""The FastAPI app factory. Nothing happens at import; ``create_app`` wires routes to a given facade."""

from __future__ import annotations

from fastapi import FastAPI

from api.auth import NO_CHAT, ChatAccess
from api.errors import install_error_handlers
from api.middleware import ApiKeyGate, BodyLimit, CorsPolicy, LoopbackHosts, RouteErrors
from api.openai_compat import openai_router
from api.routes import health_router, native_router
from api.timeline import timeline_router
from rag.service import Sanad
from rag.settings import Settings

__all__ = ["create_app", "create_guarded_app", "guard", "BodyLimit"]

#: JSON bodies above this are refused before parsing (the question limit is far smaller anyway)
JSON_BODY_LIMIT = 1 << 20


def create_app(service: Sanad, settings: Settings, *, chat: ChatAccess = NO_CHAT) -> FastAPI:
    """Build the HTTP API over one facade (which serialises writes itself, so the UI can share it).
    ``chat``: what the chat the caller mounts at / opens without the key (see ``api.auth.ChatAccess``)."""
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
    return guard(app, settings, chat=chat)


def create_guarded_app(settings: Settings, *, chat: ChatAccess = NO_CHAT) -> FastAPI:
    """An app with no routes of its own (no API, no docs) behind the guards: `sanad ui` mounts the chat into it."""
    return guard(FastAPI(openapi_url=None, docs_url=None, redoc_url=None), settings, chat=chat)


def guard(app: FastAPI, settings: Settings, *, chat: ChatAccess = NO_CHAT) -> FastAPI:
    """Put the edge's guards in front of ``app``: the API's, and the bare app `sanad ui` mounts the chat into,
    so the chat alone gets the same Host check, CORS policy, key gate and body limits as under `sanad serve`."""
    upload_limit = int(settings.max_upload_mb * settings.max_upload_files * 1024 * 1024) + (1 << 20)
    json_limit = max(JSON_BODY_LIMIT, settings.max_question_chars * 8)
    # last added runs first: Host check, CORS, key (before any body byte), body limit, route errors, the app
    app.add_middleware(RouteErrors, routes=app.router.routes)
    part_limit = int(settings.max_upload_mb * 1024 * 1024)  # one file, as the route counts it
    app.add_middleware(BodyLimit, json_limit=json_limit, upload_limit=upload_limit, part_limit=part_limit)
    app.add_middleware(ApiKeyGate, settings=settings, chat=chat)
    app.add_middleware(CorsPolicy, origins=settings.cors_origins)
    app.add_middleware(LoopbackHosts, settings=settings)
    return app
