"""`sanad ui` (the chat alone) keeps the protections `sanad serve` gives the chat (issue 13): the key's login,
the Host check on a loopback bind without a key, no credentialed CORS, body limits, and only files the client
uploaded may be indexed. The exploit test runs both servers over real HTTP (Gradio's queue needs its lifespan)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cli.serve_cmd import build_chat_server, build_server
from tests.fakes.fake_service import make_fake_service
from tests.integration.live_server import ServerThread, wait_http

KEY = "s3cret-key"
LOOPBACK = "http://127.0.0.1:8321"


@pytest.fixture
def alone(make_settings: Any) -> Any:
    def _make(**overrides: Any) -> TestClient:
        app = build_chat_server(make_fake_service(), make_settings(**overrides))
        return TestClient(app, base_url=LOOPBACK, raise_server_exceptions=False)
    return _make


def test_alone_without_a_key_refuses_a_rebinding_host(alone):
    client = alone()
    refused = client.get("/config", headers={"host": "rebind.evil.example"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "host_not_allowed"
    assert client.get("/config").status_code == 200


def test_alone_with_a_key_shows_the_login_and_opens_only_after_it(alone):
    client = alone(api_key=KEY)
    for path in ("/config", "/gradio_api/app_id", "/gradio_api/heartbeat/abc", "/gradio_api/startup-events"):
        bare = client.get(path)
        assert bare.status_code == 401 and bare.json()["error"]["code"] == "missing_api_key", path
    page = client.get("/")
    assert page.status_code == 200 and "auth_required" in page.text and "sanad-chat" not in page.text
    assert client.post("/login", data={"username": "me", "password": "not-it"}).status_code == 400
    assert client.post("/login", data={"username": "me", "password": KEY}).status_code == 200
    assert client.get("/config").status_code == 200 and "sanad-chat" in client.get("/config").text


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:3000"])
def test_alone_gives_no_cross_origin_access(alone, origin):
    client = alone()
    for resp in (client.options("/gradio_api/queue/join", headers={"origin": origin,
                                                                   "access-control-request-method": "POST"}),
                 client.get("/config", headers={"origin": origin})):
        assert not [k for k in resp.headers if k.startswith("access-control-")], dict(resp.headers)


def test_alone_refuses_a_body_over_the_limit_unread(alone):
    client = alone(max_upload_mb=0.01, max_upload_files=1)
    resp = client.post("/gradio_api/upload", content=b"x" * (2 << 20), headers={"content-type": "text/plain"})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "request_too_large"


@pytest.fixture(params=["serve", "ui"])
def live_chat(request: pytest.FixtureRequest, make_settings: Any) -> Iterator[tuple[str, Any]]:
    """The chat over real HTTP, mounted in the API (`sanad serve`) or alone (`sanad ui`), no key."""
    service = make_fake_service()
    build = build_server if request.param == "serve" else build_chat_server
    live = ServerThread(build(service, make_settings()))
    live.thread.start()
    try:
        wait_http(live.url + "/config")
        yield live.url, service
    finally:
        live.stop()


def test_the_chat_never_indexes_a_file_the_client_did_not_upload(live_chat, tmp_path: Path):
    url, service = live_chat
    secret = tmp_path / "secret.txt"
    secret.write_text("كلمة السر على الخادم\n\nنص لا يجوز أن يُفهرس أبدا.", encoding="utf-8")
    before = {d.doc_id for d in service.documents()}
    file_data = {"path": str(secret), "orig_name": "secret.txt", "meta": {"_type": "gradio.FileData"}}
    with httpx.Client(base_url=url, timeout=30) as client:
        started = client.post("/gradio_api/call/upload", json={"data": [[file_data]]})
        assert started.status_code == 200, started.text
        events = client.get(f"/gradio_api/call/upload/{started.json()['event_id']}").text
    assert "event: error" in events and "event: complete" not in events, events
    assert {d.doc_id for d in service.documents()} == before
    assert "secret" not in json.dumps([d.to_dict() for d in service.documents()])
