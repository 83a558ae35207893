"""ASGI guards in front of every route (the API's and, when it is mounted, the chat's).

``RouteErrors`` answers the API's own paths that no route takes with the documented error shape
(404, or 405 with ``Allow``) instead of handing them to whatever is mounted at ``/``.
``LoopbackHosts`` refuses DNS rebinding: on a loopback socket with no API key, only loopback Host
names (or those in ``settings.allowed_hosts``) are served, so a web page on another name that
resolves to 127.0.0.1 cannot drive the local server from a browser.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body
from rag.settings import Settings

__all__ = ["RouteErrors", "LoopbackHosts", "send_error", "host_name", "is_loopback_name"]

#: path prefixes that belong to the API: unmatched requests there never reach the mounted chat
API_PREFIXES = ("/v1/", "/healthz", "/readyz")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def send_error(send: Send, status: int, body: dict[str, object], headers: Iterable[tuple[str, str]] = ()) -> None:
    """A complete JSON error response, written straight to the ASGI channel."""
    data = json.dumps(body, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


class RouteErrors:
    """404/405 in the error shape for API paths no API route takes (the chat's mount at / would answer otherwise)."""

    def __init__(self, app: ASGIApp, *, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes  # the live list: routes added later (docs, the chat mount) are seen too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/v1" or path.startswith(API_PREFIXES)):
            await self.app(scope, receive, send)
            return
        if self._takes(scope, scope["method"]):
            await self.app(scope, receive, send)
            return
        allowed = [method for method in _METHODS if self._takes(scope, method)]
        if allowed:
            body = error_body("method_not_allowed", f"{scope['method']} is not allowed on {path}",
                              f"use {', '.join(allowed)}")
            await send_error(send, 405, body, [("allow", ", ".join(allowed))])
            return
        await send_error(send, 404, error_body("not_found", f"no route {path}", "see /docs for the API's routes"))

    def _takes(self, scope: Scope, method: str) -> bool:
        """Whether an API route (not the chat's mount) fully matches this path with this method."""
        probe = {**scope, "method": method}
        return any(route.matches(probe)[0] is Match.FULL for route in self.routes if not isinstance(route, Mount))


def host_name(header: str) -> str:
    """The name part of a Host header, lower-cased: 'LOCALHOST:8321' -> 'localhost', '[::1]:80' -> '::1'."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    return name.rstrip(".")


def is_loopback_name(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class LoopbackHosts:
    """On a loopback socket and without an API key, refuse Host headers that are not loopback (DNS rebinding)."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.enabled = not settings.api_key
        self.allowed = {h.strip().lower() for h in settings.allowed_hosts if h.strip()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.enabled and not self._host_ok(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            body = error_body("host_not_allowed", "this server only answers requests addressed to localhost",
                              "open it as http://127.0.0.1:<port> or http://localhost:<port>, or add the name "
                              "to SANAD_ALLOWED_HOSTS")
            await send_error(send, 403, body)
            return
        await self.app(scope, receive, send)

    def _host_ok(self, scope: Scope) -> bool:
        server = scope.get("server")
        if not server or not is_loopback_name(host_name(str(server[0]))):
            return True  # not a loopback socket: a public bind needs a key anyway (sanad serve refuses otherwise)
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"host")
        if raw is None:
            return True  # browsers always send Host; rebinding needs a browser
        header = raw.decode("latin-1").strip().lower()
        name = host_name(header)
        return is_loopback_name(name) or name in self.allowed or header in self.allowed
