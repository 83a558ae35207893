"""Optional Bearer key: when ``settings.api_key`` is set every /v1 route needs ``Authorization: Bearer <key>``."""

from __future__ import annotations

import secrets

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError

__all__ = ["require_key", "bearer_scheme"]

bearer_scheme = HTTPBearer(auto_error=False, description="Set when the server has SANAD_API_KEY.")


def require_key(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)
) -> None:
    """Constant-time compare so the key cannot be guessed byte by byte from response times."""
    expected: str | None = request.app.state.settings.api_key
    if not expected:
        return
    headers = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "missing_api_key", "this server needs an API key",
                       hint="send the header 'Authorization: Bearer <SANAD_API_KEY>'", headers=headers)
    if not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise ApiError(401, "invalid_api_key", "the API key is wrong",
                       hint="use the value of SANAD_API_KEY the server was started with", headers=headers)
