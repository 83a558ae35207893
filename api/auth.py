"""Optional Bearer key: when ``settings.api_key`` is set, every protected path needs ``Authorization: Bearer <key>``.

The check runs in ASGI middleware (``api.middleware.ApiKeyGate``) BEFORE any byte of the body is read: a
FastAPI dependency runs only after a JSON or multipart body has been parsed, which let a client without
the key make the server read (and spool to /tmp) hundreds of megabytes before its 401. ``require_key``
stays on the routers so the OpenAPI schema declares the scheme, and as a second check.
"""

from __future__ import annotations

import secrets

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError

__all__ = ["require_key", "bearer_scheme", "key_error", "PUBLIC_PATHS", "is_protected"]

bearer_scheme = HTTPBearer(auto_error=False, description="Set when the server has SANAD_API_KEY.")

#: answered without a key even when one is set: a bare liveness probe, nothing about the index
PUBLIC_PATHS = frozenset({"/healthz"})
#: the API's own paths (everything else belongs to the chat mounted at /, which has its own login)
_API_PATHS = ("/v1", "/readyz", "/docs", "/redoc", "/openapi.json")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def is_protected(path: str) -> bool:
    """Whether a key (when set) is needed for this path: the API, its docs and /readyz; not /healthz."""
    if path in PUBLIC_PATHS:
        return False
    return any(path == p or path.startswith(p + "/") for p in _API_PATHS)


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
