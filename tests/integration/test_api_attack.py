"""Issue 13 against a live server, as `sanad serve` runs it (uvicorn with ``api.server.server_options()``):

- raw sockets send a 64 MB chunked body; the bound is on the bytes the client could push before the answer
  came (what the server read, plus the kernel's socket buffers), not on time;
- over-long URLs and headers and malformed HTTP get the documented error shape (414, 431, 400);
- a misbehaving Ollama (an HTML page, garbage, JSON of another shape) on the condensing path (/v1/ask with
  history) and the cross-lingual translation path (/v1/search with an English question) falls back with a
  note, /readyz reports it; nothing is a 5xx and no traceback reaches the server's log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api import create_app
from api.server import server_options
from cli.serve_cmd import build_server
from rag.settings import Settings
from tests.fakes.fake_service import make_fake_service
from tests.fakes.ollama_server import FakeOllama, Reply, prompt_of
from tests.fakes.raw_http import exchange, head, json_body, multipart_body, push_chunked, split
from tests.integration.live_server import ServerThread, cite_first_passage

pytestmark = pytest.mark.integration

KEY = "attack-key"
#: what the client can push into loopback socket buffers without the server reading a byte, and then some
BUFFERS = 16 * 1024 * 1024


def like_sanad_serve(app: Any) -> ServerThread:
    """uvicorn in a thread with sanad serve's protocol options; logs propagate to pytest's caplog."""
    return ServerThread(app, log_config=None, **server_options())


def assert_shape(status: int, body: bytes, want: int, code: str) -> dict[str, Any]:
    assert status == want, body[:300]
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "hint"} and error["code"] == code
    return dict(error)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """What `sanad serve` runs with a key: the API with the chat mounted at /."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("attack") / "data", api_key=KEY)  # type: ignore[call-arg]
    live = like_sanad_serve(build_server(make_fake_service(), settings)).start()
    yield live
    live.stop()


# --- bodies ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, content_type, body", [
    ("/v1/ask", "application/json", json_body),
    ("/v1/documents", "multipart/form-data; boundary=B", multipart_body),
])
def test_a_64mb_chunked_body_without_the_key_is_refused_before_it_is_read(keyed, path, content_type, body):
    sent, raw = push_chunked(keyed.port, head(path, content_type), body())
    status, headers, payload = split(raw)
    assert_shape(status, payload, 401, "missing_api_key")
    assert sent < BUFFERS, f"{sent} body bytes went in before the 401"


def test_a_64mb_chunked_json_body_with_the_key_is_cut_at_the_limit(keyed):
    sent, raw = push_chunked(keyed.port, head("/v1/ask", "application/json", f"Bearer {KEY}"), json_body())
    status, _, payload = split(raw)
    error = assert_shape(status, payload, 413, "request_too_large")
    assert "limit" in error["message"] and sent < BUFFERS


def test_the_server_still_answers_after_the_attacks(keyed):
    resp = httpx.get(keyed.url + "/v1/documents", headers={"Authorization": f"Bearer {KEY}"})
    assert resp.status_code == 200 and resp.json()["count"] == 1


# --- the request head --------------------------------------------------------------------------------------
@pytest.mark.parametrize("request_bytes, status, code", [
    (b"GET /v1/search?q=" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, "uri_too_long"),
    (b"GET /v1/documents/" + b"d" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, "uri_too_long"),
    (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n", 431,
     "headers_too_large"),
    (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(5000)) + b"\r\n",
     431, "headers_too_large"),
    (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", 400, "bad_http_request"),
    (b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n", 400, "bad_http_request"),
    (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
     "bad_http_request"),
])
def test_bad_request_heads_get_the_error_shape(keyed, request_bytes, status, code):
    got_status, headers, payload = split(exchange(keyed.port, request_bytes))
    assert_shape(got_status, payload, status, code)
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"


def test_a_request_within_the_head_limits_is_served(keyed):
    headers = {f"X-Extra-{i}": "v" * 100 for i in range(50)}
    assert httpx.get(keyed.url + "/healthz", headers=headers).json() == {"status": "ok"}
    resp = httpx.get(keyed.url + "/v1/search", params={"q": ("حفتر " * 400).strip()},
                     headers={"Authorization": f"Bearer {KEY}"})
    assert resp.status_code == 200


# --- a misbehaving Ollama on the fallback paths ------------------------------------------------------------
HTML = b"<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>"
BAD = [Reply(raw=HTML, content_type="text/html"), Reply(raw=b"\x00garbage\xff{"),
       Reply(raw=b'{"answer": "wrong shape"}'), Reply(raw=b"[1, 2, 3]")]


@pytest.fixture(scope="module")
def ollama() -> Iterator[FakeOllama]:
    fake = FakeOllama().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def real(ollama: FakeOllama, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The real service (MiniLM, embedded Chroma, the five sample articles) over the fake Ollama."""
    from rag.wiring import build_service
    from tests.conftest import SEEDS, minilm_dir

    settings = Settings(data_dir=tmp_path_factory.mktemp("bad-ollama") / "data",  # type: ignore[call-arg]
                        embed_model=str(minilm_dir()), ollama_host=ollama.url, ollama_timeout=5.0, dense_weight=0.0)
    service = build_service(settings)
    assert not service.ingest([SEEDS]).failed
    live = like_sanad_serve(create_app(service, settings)).start()
    yield live
    live.stop()


@pytest.fixture()
def fresh(ollama: FakeOllama) -> FakeOllama:
    ollama.replies.clear()
    ollama.requests.clear()
    ollama.tags_raw = None
    ollama.default = cite_first_passage
    return ollama


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not bad, [r.getMessage() for r in bad]


@pytest.mark.parametrize("reply", BAD, ids=["html", "garbage", "wrong-json", "json-array"])
def test_a_bad_condense_reply_falls_back_with_a_note(real, fresh, reply, caplog):
    caplog.set_level(logging.INFO)
    fresh.script(reply)  # the condense call; the answer itself then gets a good reply
    history = [{"role": "user", "content": "ماذا حدث لقوات حفتر؟"},
               {"role": "assistant", "content": "نقل نحو 70 جنديا إلى روسيا للعلاج [1]."}]
    resp = httpx.post(real.url + "/v1/ask", json={"question": "وكم عددهم؟", "history": history}, timeout=60)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert any("not rewritten" in note for note in answer["notes"]), answer["notes"]
    assert answer["standalone_question"].startswith("وكم عددهم؟")
    assert "Last question:" in prompt_of(fresh.chat_requests()[0])  # the path under test was taken
    _no_traceback(caplog)


@pytest.mark.parametrize("reply", BAD, ids=["html", "garbage", "wrong-json", "json-array"])
def test_a_bad_translation_reply_searches_untranslated_with_a_note(real, fresh, reply, caplog):
    caplog.set_level(logging.INFO)
    fresh.script(reply)
    question = f"Who received the commander of AFRICOM? ({id(reply)})"  # fresh text: no cached translation
    resp = httpx.get(real.url + "/v1/search", params={"q": question}, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.json()["keyword_query"] == f"{question} (not translated: generation_error)"
    _no_traceback(caplog)


@pytest.mark.parametrize("tags", [HTML, b"garbage", b'{"models": "all"}', b"[]"])
def test_readyz_reports_an_unreadable_ollama_and_stays_ready(real, fresh, tags, caplog):
    caplog.set_level(logging.INFO)
    fresh.tags_raw = tags
    resp = httpx.get(real.url + "/readyz", timeout=30)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ready" and body["ollama_ready"] is False and body["ollama_status"] == "error"
    assert "cannot read" in body["ollama_detail"]
    _no_traceback(caplog)


# --- Chroma gone mid-run ------------------------------------------------------------------------------------
def test_a_chroma_server_that_dies_is_a_503_on_every_route(chroma_server, tmp_path, caplog):
    import os
    import signal

    from fastapi.testclient import TestClient

    from rag.wiring import build_service
    from tests.conftest import SEEDS, minilm_dir

    settings = Settings(data_dir=tmp_path / "data", chroma_host=chroma_server.host,  # type: ignore[call-arg]
                        chroma_port=chroma_server.port, embed_model=str(minilm_dir()), dense_weight=0.0)
    service = build_service(settings)
    assert not service.ingest([SEEDS]).failed
    client = TestClient(create_app(service, settings), base_url="http://127.0.0.1:8321",
                        raise_server_exceptions=False)
    assert client.get("/v1/documents").json()["count"] == 5
    os.kill(chroma_server.pid, signal.SIGKILL)
    caplog.set_level(logging.INFO)
    calls = [("GET", "/readyz", {}), ("GET", "/v1/documents", {}), ("GET", "/v1/search", {"params": {"q": "حفتر"}}),
             ("POST", "/v1/ask", {"json": {"question": "من استقبل حفتر؟", "extractive": True}}),
             ("GET", "/v1/documents/x", {}), ("DELETE", "/v1/documents/x", {}),
             ("POST", "/v1/documents", {"files": {"files": ("a.txt", "عنوان\n\n" + "نص المقال هنا. " * 20)}})]
    for method, path, kwargs in calls:
        resp = client.request(method, path, **kwargs)
        assert resp.status_code == 503, (path, resp.text)
        assert resp.json()["error"]["code"] == "store_error" and "Chroma" in resp.json()["error"]["message"]
    _no_traceback(caplog)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("reply", BAD, ids=["html", "garbage", "wrong-json", "json-array"])
def test_a_bad_answer_reply_is_a_502_in_the_error_shape(real, fresh, reply, stream, caplog):
    caplog.set_level(logging.INFO)
    fresh.default = reply
    question = "من هو قائد القيادة العسكرية الأمريكية في أفريقيا الذي استقبله حفتر؟"
    resp = httpx.post(real.url + "/v1/ask", json={"question": question, "stream": stream}, timeout=60)
    assert fresh.chat_requests(), "the model was asked"
    error = assert_shape(resp.status_code, resp.content, 502, "llm_stream_broken")
    assert "cannot read" in error["message"] and "<html>" not in error["message"]
    _no_traceback(caplog)
