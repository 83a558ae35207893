"""Optional Bearer key: when ``settings.api_key`` is set, every protected path needs ``Authorization: Bearer <key>``.

The check runs in ASGI middleware (``api.middleware.ApiKeyGate``) BEFORE any byte of the body is read: a
FastAPI dependency runs only after a JSON or multipart body has been parsed, which let a client without
the key make the server read (and spool to /tmp) hundreds of megabytes before its 401. ``require_key``
stays on the routers so the OpenAPI schema declares the scheme, and as a second check.

With a key, everything the server answers needs it except ``PUBLIC_PATHS`` and what the chat mounted at /
declares public by design (its login page and that page's static files, see ``ChatAccess``); the chat's other
paths take either the key or a logged-in chat session. Default-deny: a route Gradio adds in a new version is
closed until someone documents it as public (docs/api.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import Scope

from api.errors import ApiError

__all__ = ["require_key", "bearer_scheme", "key_error", "PUBLIC_PATHS", "is_api_path", "ChatAccess", "NO_CHAT"]

bearer_scheme = HTTPBearer(auto_error=False, description="Set when the server has SANAD_API_KEY.")

#: answered without a key even when one is set: a bare liveness probe, nothing about the index
PUBLIC_PATHS = frozenset({"/healthz"})
#: the API's own paths (everything else belongs to the chat mounted at /, which has its own login)
_API_PATHS = ("/v1", "/readyz", "/docs", "/redoc", "/openapi.json")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def is_api_path(path: str) -> bool:
    """Whether the path is the API's (its routes, docs and probes), which only the Bearer key opens."""
    return any(path == p or path.startswith(p + "/") for p in _API_PATHS)


@dataclass(frozen=True)
class ChatAccess:
    """What the chat mounted at / tells the key gate (the CLI composes it; ``api`` never imports ``ui``):
    ``public(path)``: answered without a key by design (the login page and its static files);
    ``session(scope)``: the request carries a logged-in chat session (the chat's login took the key)."""

    public: Callable[[str], bool]
    session: Callable[[Scope], bool]


#: no chat mounted: nothing but ``PUBLIC_PATHS`` is open, and no session stands in for the key
NO_CHAT = ChatAccess(public=lambda _path: False, session=lambda _scope: False)


def key_error(authorization: str | None, expected: str) -> ApiError | None:
    """The 401 for an ``Authorization`` header value, or None when it carries the key. Constant-time compare
    (the key cannot be guessed byte by byte from response times); the key is never logged or echoed."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if not authorization or scheme.lower() != "bearer" or not token.strip():
        return ApiError(401, "missing_api_key", "this server needs an API key",
                        hint="send the header 'Authorization: Bearer <SANAD_API_KEY>'", headers=dict(_CHALLENGE))
    # headers arrive decoded as latin-1 (ASGI, Starlette): back to the bytes sent, compared with the key's UTF-8
    if not secrets.compare_digest(token.strip().encode("latin-1", "replace"), expected.encode("utf-8")):
        return ApiError(401, "invalid_api_key", "the API key is wrong",
                        hint="use the value of SANAD_API_KEY the server was started with", headers=dict(_CHALLENGE))
    return None


def require_key(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)
) -> None:
    """Declares the Bearer scheme in /openapi.json and re-checks the key (the middleware checked it first)."""
    expected: str | None = request.app.state.settings.api_key
    if not expected:
        return
    header = f"{credentials.scheme} {credentials.credentials}" if credentials is not None else None
    if (error := key_error(header, expected)) is not None:
        raise error
