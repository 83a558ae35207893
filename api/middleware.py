"""ASGI guards in front of every route (the API's and, when it is mounted, the chat's).

``RouteErrors`` answers the API's own paths that no route takes with the documented error shape
(404, or 405 with ``Allow``) instead of handing them to whatever is mounted at ``/``.
``LoopbackHosts`` refuses DNS rebinding: on a loopback socket with no API key, only loopback Host
names (or those in ``settings.allowed_hosts``) are served, so a web page on another name that
resolves to 127.0.0.1 cannot drive the local server from a browser.
``CorsPolicy`` allows cross-origin calls only from ``settings.cors_origins``, never with credentials, and
removes the credentialed CORS answers the mounted Gradio app gives any localhost origin.
``ApiKeyGate`` answers 401 before a single body byte is read, on every path but the documented public ones
(``api.auth``); ``BodyLimit`` counts the body's bytes as they arrive (chunked bodies have no Content-Length
to trust), and each upload part's, and answers 413 once a limit is crossed.

Order (outermost first): LoopbackHosts, CorsPolicy, ApiKeyGate, BodyLimit, RouteErrors, the app.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import NO_CHAT, PUBLIC_PATHS, ChatAccess, is_api_path, key_error
from api.errors import ApiError, error_body
from api.parts import PartCounter
from rag.settings import Settings

__all__ = ["RouteErrors", "LoopbackHosts", "CorsPolicy", "ApiKeyGate", "BodyLimit", "send_error", "host_name",
           "is_loopback_name"]

#: path prefixes that belong to the API: unmatched requests there never reach the mounted chat
API_PREFIXES = ("/v1/", "/healthz", "/readyz")


def _is_api_route(path: str) -> bool:
    """The API's own routes (everything else belongs to the mounted chat)."""
    return path == "/v1" or path.startswith(API_PREFIXES)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def send_error(send: Send, status: int, body: dict[str, object], headers: Iterable[tuple[str, str]] = ()) -> None:
    """A complete JSON error response, written straight to the ASGI channel."""
    data = json.dumps(body, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


class RouteErrors:
    """404/405 in the error shape for API paths no API route takes (the chat's mount at / would answer otherwise)."""

    def __init__(self, app: ASGIApp, *, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes  # the live list: routes added later (docs, the chat mount) are seen too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not _is_api_route(path):
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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class CorsPolicy:
    """Cross-origin requests only from the configured origins and never credentialed (the API's key travels
    in a header the page must hold, not in cookies); every other CORS header, Gradio's included, removed."""

    def __init__(self, app: ASGIApp, *, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = {o.strip().rstrip("/").lower() for o in origins if o.strip()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = (_header(scope, b"origin") or "").strip().rstrip("/").lower()
        allowed = bool(origin) and (origin in self.origins or "*" in self.origins)
        if allowed and scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await send({"type": "http.response.start", "status": 204, "headers": [
                *self._allow(origin), (b"access-control-allow-methods", b"GET, POST, DELETE"),
                (b"access-control-allow-headers", b"authorization, content-type"),
                (b"access-control-max-age", b"600"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def filtered(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")]
                message = {**message, "headers": kept + (self._allow(origin) if allowed else [])}
            await send(message)

        await self.app(scope, receive, filtered)

    @staticmethod
    def _allow(origin: str) -> list[tuple[bytes, bytes]]:
        return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]


class ApiKeyGate:
    """With a key set, a request for any path but the public ones, without the right Bearer key (or, on the
    chat's paths, a logged-in chat session), gets its 401 before any byte of its body is read
    (``Connection: close``, so the rest of an upload is never taken in); a websocket is closed (1008)."""

    def __init__(self, app: ASGIApp, *, settings: Settings, chat: ChatAccess = NO_CHAT) -> None:
        self.app = app
        self.key = settings.api_key
        self.chat = chat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.key and scope["type"] in ("http", "websocket"):
            error = self.refusal(scope, self.key)
            if error is not None and scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            if error is not None:
                headers = [*error.headers.items(), ("connection", "close")]
                await send_error(send, error.http_status, error_body(error.code, error.message, error.hint), headers)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, key: str) -> ApiError | None:
        """The 401 for this request, or None: public paths pass; the API needs the Bearer key; the chat's
        other paths need the key or a chat session (the browser holds a cookie, not the key)."""
        path = scope.get("path", "")
        api = is_api_path(path)
        if path in PUBLIC_PATHS or (not api and self.chat.public(path)):
            return None
        error = key_error(_header(scope, b"authorization"), key)
        if error is None or api or not self.chat.session(scope):
            return error
        return None


class _TooLarge(Exception):
    """Raised inside ``receive`` once the body passes its limit: whatever the app was reading stops there."""


class BodyLimit:
    """Refuse bodies over the limit (413): at once by Content-Length, else by counting the bytes as they arrive,
    so a chunked body is never read past its limit; on upload paths, also each multipart part (a file) past the
    per-file limit, before the form parser spools the rest of it to /tmp. The app's own answer to a cut-off
    body is replaced."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int, part_limit: int | None = None) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit
        self.part_limit = part_limit

    def limit_for(self, path: str) -> int:
        """Uploads (the API's and the chat's) get the upload limit; every other API body the JSON limit."""
        api = _is_api_route(path)
        return self.json_limit if api and path.rstrip("/") != "/v1/documents" else self.upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await self._refuse(send, f"the request body is {int(length)} bytes", limit)
            return
        parts = None
        if self.part_limit is not None and limit == self.upload_limit:
            parts = PartCounter.for_content_type(_header(scope, b"content-type"), self.part_limit)
        await self._counted(scope, receive, send, limit, parts)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int,
                       parts: PartCounter | None) -> None:
        state = {"read": 0, "over": False, "started": False}

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                over_part = parts is not None and parts.feed(message.get("body", b""))
                if state["read"] > limit or over_part:
                    state["over"] = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"]:
                return  # the app's answer to a body it could not finish (400, 500) gives way to the 413
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            if parts is not None and parts.over:
                await self._refuse_file(send, parts.limit)
            else:
                await self._refuse(send, f"the request body passed {limit} bytes", limit)

    @staticmethod
    async def _refuse(send: Send, what: str, limit: int) -> None:
        body = error_body("request_too_large", f"{what}; the limit is {limit}",
                          "send less: shorten the question or upload fewer/smaller files (SANAD_MAX_UPLOAD_MB, "
                          "SANAD_MAX_UPLOAD_FILES)")
        await send_error(send, 413, body, [("connection", "close")])

    @staticmethod
    async def _refuse_file(send: Send, limit: int) -> None:
        body = error_body("file_too_large", f"a file in the upload passed {limit} bytes, the per-file limit",
                          "split the file or raise SANAD_MAX_UPLOAD_MB")
        await send_error(send, 413, body, [("connection", "close")])
