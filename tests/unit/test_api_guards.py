"""The HTTP edge under attack (issue 13): the key is checked before a single body byte is read, bodies are
counted as they arrive (chunked bodies have no Content-Length), every route the served app registers is
walked with no key, a wrong key and the right key, and cross-origin access is never credentialed.

The body tests drive the ASGI app directly with a ``receive`` that hands out a 64 MB body in 64 KB chunks
and counts what the app pulled: the count is what the server read into memory (or spooled to /tmp)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route, WebSocketRoute

from api import create_app
from api.auth import PUBLIC_PATHS, is_api_path
from cli.serve_cmd import build_server
from tests.conftest import ROOT
from tests.fakes.fake_service import make_fake_service
from ui.app import PUBLIC_CHAT_PATHS, PUBLIC_CHAT_PREFIXES, is_public_chat_path

KEY = "s3cret-key"
CHUNK = 64 * 1024
TOTAL = 64 * 1024 * 1024
BOUNDARY = "sanadboundary"


def assert_error(status: int, body: dict[str, Any], want_status: int, code: str) -> None:
    assert status == want_status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "hint"}
    assert body["error"]["code"] == code


def json_chunks() -> Iterator[bytes]:
    """A 64 MB JSON question, in chunks (the client sends it chunked: no Content-Length)."""
    yield b'{"question": "'
    for _ in range(TOTAL // CHUNK):
        yield "ا".encode() * (CHUNK // 2)
    yield b'"}'


def multipart_chunks(files: int = 1, size: int = TOTAL, field: str = "files") -> Iterator[bytes]:
    """``files`` files of ``size`` bytes each (one of 64 MB by default) in a multipart body, in chunks."""
    for i in range(files):
        yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"big{i}.txt\"\r\n"
               "Content-Type: text/plain\r\n\r\n").encode()
        for _ in range(size // CHUNK):
            yield b"x" * CHUNK
        yield b"\r\n"
    yield f"--{BOUNDARY}--\r\n".encode()


def drive(app: Any, method: str, path: str, headers: dict[str, str],
          chunks: Iterator[bytes]) -> tuple[int, dict[str, str], dict[str, Any], int]:
    """(status, headers, JSON body, body bytes the app pulled through ``receive``)."""
    pulled = 0
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "http",
             "server": ("127.0.0.1", 8321), "client": ("127.0.0.1", 50000), "state": {},
             "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1:8321", **headers}.items()]}
    asyncio.run(app(scope, receive, send))
    start = messages[0]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    head = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], head, json.loads(body), pulled


JSON_HEADERS = {"content-type": "application/json", "transfer-encoding": "chunked"}
FORM_HEADERS = {"content-type": f"multipart/form-data; boundary={BOUNDARY}", "transfer-encoding": "chunked"}


# --- the key before the body ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path, headers, chunks", [
    ("/v1/ask", JSON_HEADERS, json_chunks), ("/v1/chat/completions", JSON_HEADERS, json_chunks),
    ("/v1/documents", FORM_HEADERS, multipart_chunks),
])
@pytest.mark.parametrize("auth, code", [(None, "missing_api_key"), ("Bearer wrong", "invalid_api_key"),
                                        ("Basic " + KEY, "missing_api_key")])
def test_without_the_key_nothing_of_the_body_is_read(make_settings, path, headers, chunks, auth, code):
    app = create_app(make_fake_service(), make_settings(api_key=KEY))
    sent = {**headers, **({"authorization": auth} if auth else {})}
    status, head, body, pulled = drive(app, "POST", path, sent, chunks())
    assert_error(status, body, 401, code)
    assert pulled == 0
    assert head["www-authenticate"] == "Bearer" and head["connection"] == "close"
    assert KEY not in json.dumps(body)


# --- bodies counted as they arrive ----------------------------------------------------------------------------
def test_a_chunked_json_body_is_cut_at_the_limit(make_settings):
    settings = make_settings(api_key=KEY)
    app = create_app(make_fake_service(), settings)
    status, head, body, pulled = drive(app, "POST", "/v1/ask", {**JSON_HEADERS, "authorization": f"Bearer {KEY}"},
                                       json_chunks())
    assert_error(status, body, 413, "request_too_large")
    limit = max(1 << 20, settings.max_question_chars * 8)
    assert limit < pulled <= limit + CHUNK and head["connection"] == "close"


def test_a_chunked_upload_is_cut_at_the_limit(make_settings):
    """Files each within the per-file limit, too many bytes in all: cut at the request's limit."""
    app = create_app(make_fake_service(), make_settings(max_upload_mb=1, max_upload_files=2))
    status, _, body, pulled = drive(app, "POST", "/v1/documents", FORM_HEADERS, multipart_chunks(16, 512 * 1024))
    assert_error(status, body, 413, "request_too_large")
    limit = 2 * 1024 * 1024 + (1 << 20)
    assert limit < pulled <= limit + CHUNK + 200


@pytest.mark.parametrize("path, field", [("/v1/documents", "files"), ("/gradio_api/upload", "files")])
def test_one_file_over_the_per_file_limit_is_cut_there_not_at_the_request_limit(make_settings, path, field):
    """Default limits: 20 MB a file, ~1 GB a request. Starlette's form parser would spool all 64 MB of the one
    file to /tmp before the route saw it; the upload stops once the file passes 20 MB (the chat's too)."""
    settings = make_settings()
    app = build_server(make_fake_service(), settings)
    status, head, body, pulled = drive(app, "POST", path, FORM_HEADERS, multipart_chunks(field=field))
    assert_error(status, body, 413, "file_too_large")
    per_file = int(settings.max_upload_mb * 1024 * 1024)
    assert per_file < pulled <= per_file + 2 * CHUNK and head["connection"] == "close"


def test_files_within_the_per_file_limit_are_all_read(make_settings):
    app = create_app(make_fake_service(), make_settings(max_upload_mb=1, max_upload_files=4))
    status, _, body, pulled = drive(app, "POST", "/v1/documents", FORM_HEADERS, multipart_chunks(3, 1024 * 1024))
    assert status != 413, body
    assert pulled >= 3 * 1024 * 1024


def test_a_declared_length_over_the_limit_is_refused_unread(make_settings):
    app = create_app(make_fake_service(), make_settings())
    status, _, body, pulled = drive(app, "POST", "/v1/ask", {"content-type": "application/json",
                                                             "content-length": str(TOTAL)}, json_chunks())
    assert_error(status, body, 413, "request_too_large")
    assert pulled == 0


def test_a_body_within_the_limit_still_reads(make_settings):
    app = create_app(make_fake_service(), make_settings(api_key=KEY))
    question = iter([b'{"question": "', "كم جنديا نقل؟".encode(), b'"}'])
    status, _, body, pulled = drive(app, "POST", "/v1/ask", {**JSON_HEADERS, "authorization": f"Bearer {KEY}"},
                                    question)
    assert status == 200 and "[1]" in body["answer"] and pulled > 0


# --- every route, with and without the key --------------------------------------------------------------------
@pytest.fixture(scope="module")
def served_with_key(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from rag.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("keyed") / "data", api_key=KEY)  # type: ignore[call-arg]
    return build_server(make_fake_service(), settings)


def _api_routes(app: Any) -> list[tuple[str, str]]:
    """(method, concrete path) for every route the served app registers: FastAPI's, its routers', Starlette's,
    and the chat's mounted at / (Gradio's pages, its /gradio_api router, its static mounts)."""
    return sorted(set(_walk(app.routes, "")))


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path.replace("{doc_id}", "doc0"))


def _walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
    for route in routes:
        if hasattr(route, "original_router"):  # a router FastAPI (or Gradio's App) included
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            inner = prefix + route.path.rstrip("/")
            sub = getattr(route.app, "routes", None)
            yield from _walk(sub, inner) if sub is not None else [("GET", inner + "/x")]
        elif isinstance(route, WebSocketRoute):
            yield "WEBSOCKET", _concrete(prefix + route.path)
        else:
            assert isinstance(route, (APIRoute, Route)), f"a route of an unknown kind: {route!r}"
            path = _concrete(prefix + route.path)
            yield from ((method, path) for method in route.methods or {"GET"} if method != "HEAD")


def _public(path: str) -> bool:
    """Public by design, as documented in docs/api.md: the bare liveness probe and the chat's login page."""
    return path in PUBLIC_PATHS or is_public_chat_path(path)


def test_the_walk_sees_the_api_its_docs_and_the_chat(served_with_key):
    paths = {path for _, path in _api_routes(served_with_key)}
    assert {"/v1/ask", "/v1/documents", "/v1/chat/completions", "/healthz", "/readyz", "/docs",
            "/openapi.json"} <= paths
    assert {"/", "/login", "/config", "/gradio_api/heartbeat/x", "/gradio_api/cancel", "/gradio_api/reset",
            "/gradio_api/user", "/gradio_api/token", "/gradio_api/app_id", "/gradio_api/startup-events",
            "/gradio_api/queue/join", "/gradio_api/upload", "/gradio_api/info"} <= paths


def test_every_route_needs_the_key_unless_documented_public(served_with_key):
    """Fails for any route (a new one in a Gradio upgrade included) that answers without the key and is not in
    api.auth.PUBLIC_PATHS or ui.app.PUBLIC_CHAT_PATHS/PREFIXES (both listed in docs/api.md)."""
    client = TestClient(served_with_key, raise_server_exceptions=False)
    unprotected, walked = [], _api_routes(served_with_key)
    for method, path in walked:
        if method == "WEBSOCKET":
            assert _public(path) or _gate_refuses(served_with_key, "websocket", path, {}), path
            continue
        bare = client.request(method, path)
        if _public(path):
            assert bare.status_code != 401, (method, path)
            continue
        wrong = client.request(method, path, headers={"authorization": "Bearer not-it"})
        if bare.status_code != 401 or wrong.status_code != 401:
            unprotected.append((method, path, bare.status_code, wrong.status_code))
        else:
            assert bare.json()["error"]["code"] == "missing_api_key"
            assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert not unprotected, f"routes open without the key and not documented public: {unprotected}"
    assert len(walked) > 60  # the chat's routes are walked too, not only the API's


def test_the_right_key_or_a_chat_login_passes_the_gate_everywhere(served_with_key):
    """The right Bearer key opens every route; a logged-in chat session opens the chat's routes, not the API's
    (checked at the gate, so Gradio's endless streams such as the heartbeat are not opened)."""
    client = TestClient(served_with_key)
    assert client.post("/login", data={"username": "any", "password": KEY}).status_code == 200
    session = {"cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items())}
    bearer = {"authorization": f"Bearer {KEY}"}
    for method, path in _api_routes(served_with_key):
        kind = "websocket" if method == "WEBSOCKET" else "http"
        assert not _gate_refuses(served_with_key, kind, path, bearer), (method, path)
        assert _gate_refuses(served_with_key, kind, path, session) == (is_api_path(path) and not _public(path)), path


def _gate_refuses(app: Any, kind: str, path: str, headers: dict[str, str]) -> bool:
    """Whether the served app's key gate refuses a request (it answers before the app behind it runs)."""
    from api.middleware import ApiKeyGate
    from cli.serve_cmd import chat_access
    from rag.settings import Settings

    async def app_behind(*_: Any) -> None:
        return None

    gate = ApiKeyGate(app_behind, settings=Settings(api_key=KEY), chat=chat_access())  # type: ignore[call-arg]
    scope = {"type": kind, "path": path, "app": app,
             "headers": [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]}
    return gate.refusal(scope, KEY) is not None


def test_a_chat_login_with_the_key_opens_gradio_and_a_wrong_one_does_not(served_with_key):
    client = TestClient(served_with_key)
    assert client.get("/gradio_api/app_id").status_code == 401
    assert client.post("/login", data={"username": "any", "password": "wrong"}).status_code == 400
    assert client.get("/gradio_api/info").status_code == 401
    page = client.get("/")  # the login page: no components, no config of the index
    assert page.status_code == 200 and "sanad-chat" not in page.text and "auth_required" in page.text
    assert client.post("/login", data={"username": "any", "password": KEY}).status_code == 200
    for path in ("/config", "/gradio_api/info", "/gradio_api/app_id", "/gradio_api/user"):
        assert client.get(path).status_code == 200, path
    assert client.get("/v1/documents").status_code == 401  # the chat's cookie is not the API's key
    assert TestClient(served_with_key).get("/gradio_api/app_id", headers={"authorization": f"Bearer {KEY}"}
                                           ).status_code == 200


def test_the_public_list_is_documented():
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for path in sorted(PUBLIC_PATHS | PUBLIC_CHAT_PATHS) + list(PUBLIC_CHAT_PREFIXES):
        assert f"`{path}`" in text, path


def test_readyz_says_nothing_about_the_index_without_the_key(served_with_key):
    client = TestClient(served_with_key)
    bare = client.get("/readyz")
    assert bare.status_code == 401 and "chunks" not in bare.text and "embed_model" not in bare.text
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz", headers={"authorization": f"Bearer {KEY}"}).json()["status"] == "ready"


def test_without_a_key_nothing_is_gated(make_settings):
    client = TestClient(create_app(make_fake_service(), make_settings()), base_url="http://127.0.0.1:8321")
    assert client.get("/v1/documents").status_code == 200 and client.get("/openapi.json").status_code == 200


# --- CORS ----------------------------------------------------------------------------------------------------
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from rag.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("cors") / "data")  # type: ignore[call-arg]
    return TestClient(build_server(make_fake_service(), settings), base_url="http://127.0.0.1:8321",
                      raise_server_exceptions=False)


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:3000", "http://127.0.0.1:9999"])
@pytest.mark.parametrize("path", ["/v1/ask", "/v1/documents/doc0", "/", "/gradio_api/info",
                                  "/gradio_api/queue/join"])
def test_no_cross_origin_access_unless_configured(served, origin, path):
    for resp in (served.options(path, headers={"origin": origin, **PREFLIGHT}),
                 served.get(path, headers={"origin": origin})):
        granted = {k for k in resp.headers if k.startswith("access-control-")}
        assert not granted, (path, origin, dict(resp.headers))


def test_configured_origins_get_cors_without_credentials(make_settings, monkeypatch):
    monkeypatch.setenv("SANAD_CORS_ORIGINS", "https://app.example, https://other.example/")
    settings = make_settings(api_key=KEY)
    assert settings.cors_origins == ["https://app.example", "https://other.example/"]
    client = TestClient(create_app(make_fake_service(), settings), base_url="http://127.0.0.1:8321")
    pre = client.options("/v1/ask", headers={"origin": "https://other.example", **PREFLIGHT})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "https://other.example"
    assert "authorization" in pre.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in pre.headers
    got = client.get("/v1/documents", headers={"origin": "https://app.example", "authorization": f"Bearer {KEY}"})
    assert got.status_code == 200 and got.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-credentials" not in got.headers
    stranger = client.options("/v1/ask", headers={"origin": "https://evil.example", **PREFLIGHT})
    assert "access-control-allow-origin" not in stranger.headers and stranger.status_code in (401, 405)
