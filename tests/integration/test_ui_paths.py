"""The served app (API + chat mounted at /) against a hostile client over real HTTP (issue 13): the chat's file
inputs accept only what the client uploaded, and a rebinding Host header is refused on the loopback bind."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.serve_cmd import build_server
from rag.settings import Settings
from tests.fakes.fake_service import make_fake_service
from tests.integration.live_server import ServerThread

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-paths") / "data")  # type: ignore[call-arg]
    server = ServerThread(build_server(make_fake_service(), settings)).start()  # no key, 127.0.0.1: the default
    secret = tmp_path_factory.mktemp("server-files") / "secret.txt"
    marker = f"سر-{uuid.uuid4().hex}"
    secret.write_text(f"عنوان سري\n\nنص على الخادم لا يجوز أن يقرأه أحد {marker}.", encoding="utf-8")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            yield {"url": server.url, "http": http, "secret": secret, "marker": marker}
    finally:
        server.stop()


def call(http: httpx.Client, api: str, data: list[Any]) -> tuple[str, str]:
    """Gradio's HTTP API: POST the inputs, then read the event stream; (last event, everything received)."""
    started = http.post(f"/gradio_api/call/{api}", json={"data": data})
    assert started.status_code == 200, started.text
    stream = http.get(f"/gradio_api/call/{api}/{started.json()['event_id']}").text
    events = [line[7:] for line in stream.splitlines() if line.startswith("event: ")]
    return events[-1], stream


def doc_ids(http: httpx.Client) -> set[str]:
    return {d["doc_id"] for d in http.get("/v1/documents").json()["documents"]}


def file_data(path: Path) -> dict[str, Any]:
    return {"path": str(path), "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def copied_into_upload_folder(marker: str) -> list[Path]:
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder())
    return [p for p in folder.rglob("*.txt") if p.is_file() and marker in p.read_text(errors="ignore")]


def test_upload_refuses_a_server_path(live):
    before = doc_ids(live["http"])
    event, stream = call(live["http"], "upload", [[file_data(live["secret"])]])
    assert event == "error" and "not uploaded by a user" in stream
    assert live["marker"] not in stream and "Traceback" not in stream
    assert doc_ids(live["http"]) == before and "secret" not in before
    assert copied_into_upload_folder(live["marker"]) == []


def test_chat_history_cannot_smuggle_a_server_file(live):
    history = [{"role": "user", "content": [{"type": "file", "file": file_data(live["secret"])}]}]
    event, stream = call(live["http"], "chat", ["كم جنديا؟", history, True])  # the chat tab's own event
    assert event == "error" and "/gradio_api/file=" not in stream
    assert copied_into_upload_folder(live["marker"]) == []


def test_a_genuine_upload_through_gradio_client_is_indexed(live, tmp_path):
    from gradio_client import Client, handle_file

    article = tmp_path / "upload_ok.txt"
    article.write_text("خبر مرفوع\n\nأعلنت البلدية افتتاح حديقة جديدة.", encoding="utf-8")
    client = Client(live["url"] + "/", verbose=False)
    report, results = client.predict([handle_file(str(article))], api_name="/upload")
    assert "upload_ok" in report and "1 added" in report
    assert results == [{"filename": "upload_ok.txt", "doc_id": "upload_ok", "status": "added", "error": None}]
    assert "upload_ok" in doc_ids(live["http"])


def test_rebinding_host_is_refused_by_the_served_app(live):
    evil = {"host": f"rebind.evil.example:{httpx.URL(live['url']).port}"}
    before = doc_ids(live["http"])
    for method, path in [("DELETE", "/v1/documents/doc0"), ("GET", "/"), ("POST", "/gradio_api/call/remove")]:
        resp = live["http"].request(method, path, headers=evil, json={"data": ["doc0"]})
        assert resp.status_code == 403, (method, path, resp.text)
        assert json.loads(resp.text)["error"]["code"] == "host_not_allowed"
    assert doc_ids(live["http"]) == before
