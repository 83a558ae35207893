"""The live server (real facade: Chroma + MiniLM + fake Ollama over HTTP) driven by clients nobody here
wrote: the official openai SDK, gradio_client and httpx — including bad inputs and keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.serve_cmd import build_server
from rag.settings import Settings
from rag.wiring import build_service
from tests.conftest import SEEDS, minilm_dir
from tests.fakes.ollama_server import FakeOllama
from tests.integration.live_server import ServerThread, cite_first_passage

pytestmark = pytest.mark.integration

KEY = "live-test-key"
QUESTION = "كم عدد جنود حفتر الذين نقلوا إلى روسيا للعلاج؟"
SEED_IDS = {p.stem for p in SEEDS.glob("*.txt")}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ollama = FakeOllama().start()
    ollama.default = cite_first_passage
    settings = Settings(data_dir=tmp_path_factory.mktemp("live") / "data", embed_model=str(minilm_dir()),
                        ollama_host=ollama.url, ollama_timeout=10.0, api_key=KEY)  # type: ignore[arg-type]
    service = build_service(settings)
    service.ingest([SEEDS])
    server = ServerThread(build_server(service, settings)).start()
    try:
        yield {"url": server.url, "ollama": ollama}
    finally:
        server.stop()
        ollama.stop()


@pytest.fixture()
def http(live: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live["url"], headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
        yield client


def error_code(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body["error"]) == {"code", "message", "hint"}
    return str(body["error"]["code"])


# --- the official OpenAI SDK ----------------------------------------------------------------------
def _openai(live: dict[str, Any], key: str = KEY) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=live["url"] + "/v1", api_key=key, max_retries=0, timeout=60)


def test_openai_sdk_non_streaming(live):
    client = _openai(live)
    assert [m.id for m in client.models.list()] == ["sanad"]
    resp = client.chat.completions.create(model="sanad", messages=[{"role": "user", "content": QUESTION}])
    content = resp.choices[0].message.content or ""
    assert "[1]" in content and "\n\nSources:\n[1] " in content
    extra = resp.model_extra or {}
    citation = extra["sanad"]["citations"][0]
    assert citation["doc_id"] in SEED_IDS and citation["quote"]


def test_openai_sdk_streaming_with_history(live):
    client = _openai(live)
    stream = client.chat.completions.create(model="sanad", stream=True, messages=[
        {"role": "user", "content": "مرحبا"}, {"role": "assistant", "content": "أهلا"},
        {"role": "user", "content": QUESTION}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "[1]" in text and "Sources:" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["sanad"]["citations"]


def test_openai_sdk_wrong_key(live):
    import openai

    with pytest.raises(openai.AuthenticationError):
        _openai(live, key="wrong").chat.completions.create(model="sanad", messages=[{"role": "user", "content": "q"}])


# --- httpx against every route ---------------------------------------------------------------------
def test_health_and_openapi(live, http):
    assert httpx.get(live["url"] + "/healthz").json() == {"status": "ok"}
    assert httpx.get(live["url"] + "/readyz").status_code == 401  # with a key only /healthz is public
    ready = http.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == len(SEED_IDS) and ready["ollama_status"] == "ok"
    assert "/v1/chat/completions" in http.get("/openapi.json").json()["paths"]


def test_ask_json_and_sse(http):
    body = http.post("/v1/ask", json={"question": QUESTION}).json()
    assert body["grounded"] and body["citations"][0]["doc_id"] in SEED_IDS
    c = body["citations"][0]
    article = http.get(f"/v1/documents/{c['doc_id']}").json()
    assert article["text"][c["start"]:c["end"]] == c["quote"]
    events: list[tuple[str, Any]] = []
    with http.stream("POST", "/v1/ask", json={"question": QUESTION, "stream": True}) as resp:
        event = ""
        for line in resp.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))
    assert events[0][0] == "delta" and events[-1][0] == "answer"
    streamed = "".join(d["text"] for e, d in events if e == "delta")
    assert "[1]" in streamed and events[-1][1]["citations"][0]["n"] == 1  # final text may move markers


def test_extractive_ask_and_search(http):
    body = http.post("/v1/ask", json={"question": QUESTION, "extractive": True, "k": 3}).json()
    assert body["mode"] == "extractive" and body["citations"]
    hits = http.get("/v1/search", params={"q": QUESTION, "k": 3}).json()["hits"]
    assert 1 <= len(hits) <= 3 and hits[0]["chunk"]["doc_id"] in SEED_IDS


@pytest.mark.parametrize("payload, status, code", [
    ({"question": ""}, 422, "invalid_question"),
    ({"question": "س" * 2500}, 422, "invalid_question"),
    ({"question": ["not", "a", "string"]}, 422, "validation_error"),
    ({"question": "q", "k": "many"}, 422, "validation_error"),
    ({"question": "q", "history": [{"role": "robot", "content": "x"}]}, 422, "validation_error"),
])
def test_bad_questions(http, payload, status, code):
    assert error_code(http.post("/v1/ask", json=payload), status) == code


def test_ten_megabyte_question(http):
    assert error_code(http.post("/v1/ask", json={"question": "س" * (10 * 1024 * 1024)}), 413) == "request_too_large"


def test_keys(live):
    url = live["url"] + "/v1/documents"
    assert error_code(httpx.get(url), 401) == "missing_api_key"
    assert error_code(httpx.get(url, headers={"Authorization": "Bearer nope"}), 401) == "invalid_api_key"
    assert error_code(httpx.get(url, headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401) == "missing_api_key"


def test_documents_upload_traversal_binary_and_delete(http, tmp_path: Path):
    listed = {d["doc_id"] for d in http.get("/v1/documents").json()["documents"]}
    assert listed == SEED_IDS
    assert error_code(http.get("/v1/documents/no-such-doc"), 404) == "document_not_found"
    assert error_code(http.delete("/v1/documents/no-such-doc"), 404) == "document_not_found"
    text = "خبر تجريبي عن الطاقة\n\nأعلنت الشركة الوطنية للنفط استئناف الإنتاج في حقل الشرارة اليوم.\n"
    resp = http.post("/v1/documents", files=[("files", ("../../etc/passwd.txt", text.encode(), "text/plain"))])
    assert resp.status_code == 200, resp.text
    result = resp.json()["files"][0]
    assert result["doc_id"] == "passwd" and result["status"] == "added"
    assert not Path("/etc/passwd.txt").exists()
    document = http.get("/v1/documents/passwd").json()
    assert document["title"] == "خبر تجريبي عن الطاقة" and document["source"] == "upload:passwd.txt"
    again = http.post("/v1/documents", files=[("files", ("passwd.txt", text.encode(), "text/plain"))])
    assert again.json()["files"][0]["status"] == "unchanged"  # the same upload again: no re-embedding
    binary = [("files", ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" * 50, "image/jpeg"))]
    assert error_code(http.post("/v1/documents", files=binary), 415) == "unsupported_file"
    assert http.delete("/v1/documents/passwd").json() == {"removed": "passwd"}
    assert error_code(http.get("/v1/documents/passwd"), 404) == "document_not_found"


# --- gradio_client against the chat UI --------------------------------------------------------------
def test_gradio_client_asks_through_the_ui(live):
    from gradio_client import Client

    client = Client(live["url"] + "/", auth=("sanad", KEY), verbose=False)
    answer = client.predict(QUESTION, [], False, api_name="/ask")  # the checked answer as data (ui/app.py)
    assert answer["citations"] and f"[{answer['citations'][0]['n']}]" in answer["answer"]
    assert {d["doc_id"] for d in client.predict(api_name="/documents")} == SEED_IDS


def test_questions_keep_working_while_articles_are_ingested(live, http):
    """Ingestion (the facade serialises writes) and concurrent questions: no errors, index consistent after."""
    from concurrent.futures import ThreadPoolExecutor

    files = [("files", (f"extra_{i}.txt", f"خبر إضافي رقم {i}\n\nأعلنت البلدية افتتاح حديقة جديدة رقم {i}.".encode(),
                        "text/plain")) for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        upload = pool.submit(http.post, "/v1/documents", files=files)
        asks = [pool.submit(http.post, "/v1/ask", json={"question": QUESTION, "extractive": True}) for _ in range(8)]
        statuses = [f.result().status_code for f in asks]
        assert upload.result().status_code == 200
    assert statuses == [200] * 8
    ids = {d["doc_id"] for d in http.get("/v1/documents").json()["documents"]}
    assert {f"extra_{i}" for i in range(6)} <= ids
    for i in range(6):
        assert http.delete(f"/v1/documents/extra_{i}").status_code == 200
