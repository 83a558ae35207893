"""The HTTP API over a fake-stepped facade: every route, the error shape, limits, auth, SSE framing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from rag.uploads import safe_filename, stage_files
from tests.fakes.fake_service import make_fake_service


@pytest.fixture()
def service():
    return make_fake_service()


@pytest.fixture()
def client(service, make_settings):
    return TestClient(create_app(service, make_settings()))


def sse_events(text: str) -> list[tuple[str | None, str]]:
    events = []
    for frame in text.split("\n\n"):
        if not frame.strip():
            continue
        event, data = None, []
        for line in frame.splitlines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        events.append((event, "\n".join(data)))
    return events


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "hint"}
    assert body["error"]["code"] == code
    return body["error"]


def test_health_routes(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 1
    assert ready["ollama_ready"] is False  # reported, not failed


def test_ask_returns_answer_with_citations(client, service):
    resp = client.post("/v1/ask", json={"question": "كم جنديا نقل إلى روسيا؟", "k": 3,
                                        "history": [{"role": "user", "content": "مرحبا"}]})
    assert resp.status_code == 200
    body = resp.json()
    assert "[1]" in body["answer"] and body["citations"][0]["doc_id"] == "doc0"
    assert body["citations"][0]["quote"].startswith("أكد مصدر")
    call = service.answerer.calls[-1]
    assert call["k"] == 3 and call["history"][0].content == "مرحبا"


def test_ask_stream_is_sse_deltas_then_answer(client):
    resp = client.post("/v1/ask", json={"question": "كم جنديا؟", "stream": True})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    events = sse_events(resp.text)
    kinds = [e for e, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"delta"}
    assert json.loads(events[-1][1])["citations"][0]["n"] == 1


# --- the real answerer behind the API: a model that cites in reverse, a passage not given, a wrong one ---
ARTICLE = ("الجيش الوطني الليبي\n\n"
           "أكد مصدر عسكري أن نحو 70 جنديا من قوات حفتر نقلوا جوا إلى روسيا للعلاج. وأوضح مسؤول أن الجنود سافروا من مصر.\n\n"
           "وافق حلف شمال الأطلسي مبدئيا على طلب السراج إعادة تأهيل أجهزة الأمن في ليبيا.")
DRAFT = ("وافق حلف شمال الأطلسي على طلب السراج إعادة تأهيل أجهزة الأمن في ليبيا [2][9]. "
         "ونقل نحو 70 جنديا من قوات حفتر جوا إلى روسيا للعلاج [2].")


def real_answer_client(make_settings, replies):
    """The API over the real Answerer (citation check included) and a scripted model."""
    from rag.generation.answer import Answerer
    from rag.prompts import PromptLibrary
    from rag.settings import PROJECT_ROOT, Settings
    from tests.fakes.fixtures import FakeRetriever, ScriptedLLM, make_hits

    service = make_fake_service()
    llm = ScriptedLLM(list(replies))
    hits = make_hits(ARTICLE, ARTICLE.split("\n\n")[1:])
    service.answerer = Answerer(FakeRetriever(hits), llm, None, PromptLibrary(PROJECT_ROOT / "prompts"),
                                Settings(refusal_threshold=0.25, sentence_selection=False))
    return TestClient(create_app(service, make_settings())), llm


def _markers(text: str) -> list[int]:
    import re

    return sorted({int(m) for m in re.findall(r"\[(\d+)\]", text)})


def test_ask_stream_deltas_are_the_checked_answer(make_settings):
    """Fails when deltas carry the model's draft: here the draft's [2][9]/[2] become [2]/[1]."""
    client, _ = real_answer_client(make_settings, [DRAFT])
    events = sse_events(client.post("/v1/ask", json={"question": "كم جنديا نقلوا إلى روسيا؟", "stream": True}).text)
    streamed = "".join(json.loads(d)["text"] for e, d in events if e == "delta")
    final = json.loads(events[-1][1])
    assert events[-1][0] == "answer" and streamed == final["answer"] and final["finish_reason"] == "stop"
    assert "[9]" not in streamed and _markers(streamed) == sorted(c["n"] for c in final["citations"]) == [1, 2]
    assert streamed.index("[2]") < streamed.index("[1]")  # numbers are the prompt's passage numbers


def test_chat_completion_stream_text_is_the_checked_answer(make_settings):
    client, llm = real_answer_client(make_settings, [DRAFT])
    resp = client.post("/v1/chat/completions", json={
        "stream": True, "max_tokens": 64, "temperature": 0.3,
        "messages": [{"role": "user", "content": "كم جنديا نقلوا إلى روسيا؟"}]})
    chunks = [json.loads(d) for _, d in sse_events(resp.text)[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    final = chunks[-1]["sanad"]
    answer, _, footer = text.partition("\n\nSources:\n")
    assert answer == final["answer"] and _markers(answer) == [c["n"] for c in final["citations"]] == [1, 2]
    assert [line[:3] for line in footer.splitlines()] == ["[1]", "[2]"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == {"prompt_tokens": 10, "completion_tokens": len(DRAFT.split()),
                                   "total_tokens": 10 + len(DRAFT.split())}


@pytest.mark.parametrize("payload, code", [
    ({"question": "   "}, "invalid_question"),
    ({"question": "س" * 2001}, "invalid_question"),
    ({"question": 123}, "validation_error"),
    ({"question": "q", "k": 0}, "validation_error"),
    ({"question": "q", "stream": "yes"}, "validation_error"),
    ({"question": "q", "unknown": 1}, "validation_error"),
    ({}, "validation_error"),
])
def test_ask_bad_inputs_are_422(client, payload, code):
    assert_error(client.post("/v1/ask", json=payload), 422, code)


def test_ten_megabyte_question_is_413(client):
    resp = client.post("/v1/ask", json={"question": "x" * (10 * 1024 * 1024)})
    assert_error(resp, 413, "request_too_large")


def test_model_unavailable_maps_to_503_before_stream_starts(make_settings):
    client = TestClient(create_app(make_fake_service(fail_llm=True), make_settings()))
    for stream in (False, True):
        err = assert_error(client.post("/v1/ask", json={"question": "سؤال", "stream": stream}), 503,
                           "model_unavailable")
        assert "ollama serve" in err["hint"]
    assert client.post("/v1/ask", json={"question": "سؤال", "extractive": True}).json()["mode"] == "extractive"


def test_search(client):
    body = client.get("/v1/search", params={"q": "حفتر", "k": 2}).json()
    assert body["hits"][0]["chunk"]["doc_id"] == "doc0" and body["query"] == "حفتر"
    assert_error(client.get("/v1/search", params={"q": ""}), 422, "invalid_question")
    assert_error(client.get("/v1/search"), 422, "validation_error")


def test_documents_crud(client):
    docs = client.get("/v1/documents").json()
    assert docs["count"] == 1 and docs["documents"][0]["doc_id"] == "doc0"
    article = client.get("/v1/documents/doc0").json()
    assert article["text"].startswith("أكد") and article["published"] == "2017-03-02"
    assert_error(client.get("/v1/documents/nope"), 404, "document_not_found")
    assert client.delete("/v1/documents/doc0").json() == {"removed": "doc0"}
    assert_error(client.delete("/v1/documents/doc0"), 404, "document_not_found")
    assert client.get("/v1/documents").json()["count"] == 0


def test_upload_sanitises_names_and_reports_per_file(client, service):
    files = [("files", ("../../etc/passwd.txt", "عنوان\n\nنص المقال.".encode(), "text/plain")),
             ("files", ("ok article.TXT", b"Title\n\nBody text.", "text/plain")),
             ("files", ("empty.txt", b"   ", "text/plain"))]
    resp = client.post("/v1/documents", files=files)
    assert resp.status_code == 200, resp.text
    results = {f["filename"]: f for f in resp.json()["files"]}
    assert results["../../etc/passwd.txt"]["doc_id"] == "passwd"
    assert results["../../etc/passwd.txt"]["status"] == "added"
    assert results["ok article.TXT"]["doc_id"] == "ok_article"
    assert results["empty.txt"]["status"] == "failed" and "/" not in results["empty.txt"]["error"].split(":")[0]
    staged = service.ingestor.seen_paths
    assert [p.name for p in staged] == ["passwd.txt", "ok_article.txt", "empty.txt"]
    assert all(p.parent.name.startswith("sanad-upload-") and not p.exists() for p in staged)
    assert client.get("/v1/documents/passwd").json()["title"] == "عنوان"
    assert client.get("/v1/documents/passwd").json()["source"] == "upload:passwd.txt"
    again = client.post("/v1/documents", files=files[:1]).json()["files"][0]
    assert again == {"filename": "../../etc/passwd.txt", "doc_id": "passwd", "status": "unchanged"}


def test_binary_upload_is_415(client):
    resp = client.post("/v1/documents", files=[("files", ("x.png", b"\x89PNG\r\n\x00\x00IHDR", "image/png"))])
    assert_error(resp, 415, "unsupported_file")


def test_upload_limits(service, make_settings):
    client = TestClient(create_app(service, make_settings(max_upload_files=2, max_upload_mb=0.01)))
    many = [("files", (f"a{i}.txt", b"t\n\nb", "text/plain")) for i in range(3)]
    assert_error(client.post("/v1/documents", files=many), 413, "too_many_files")
    big = [("files", ("big.txt", b"a" * 20_000, "text/plain"))]
    assert_error(client.post("/v1/documents", files=big), 413, "file_too_large")
    assert_error(client.post("/v1/documents", data={"x": "1"}), 422, "validation_error")


def test_api_key(service, make_settings):
    client = TestClient(create_app(service, make_settings(api_key="s3cret")))
    assert_error(client.get("/v1/documents"), 401, "missing_api_key")
    resp = client.get("/v1/documents", headers={"Authorization": "Bearer nope"})
    assert_error(resp, 401, "invalid_api_key")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/documents", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/v1/models").status_code == 401
    assert client.get("/healthz").status_code == 200


def test_chat_completion_passes_max_tokens_and_temperature(client, service):
    msgs = [{"role": "user", "content": "كم؟"}]
    client.post("/v1/chat/completions", json={"messages": msgs, "max_tokens": 50, "temperature": 0.4})
    assert (service.answerer.calls[-1]["max_tokens"], service.answerer.calls[-1]["temperature"]) == (50, 0.4)
    client.post("/v1/chat/completions", json={"messages": msgs, "max_completion_tokens": 20, "stream": True})
    assert service.answerer.calls[-1]["max_tokens"] == 20
    assert_error(client.post("/v1/chat/completions", json={"messages": msgs, "max_tokens": 0}), 422,
                 "validation_error")


def test_models_and_chat_completion(client):
    assert client.get("/v1/models").json()["data"][0]["id"] == "sanad"
    body = client.post("/v1/chat/completions", json={"model": "sanad", "temperature": 0.2, "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "كم جنديا؟"}]}]}).json()
    content = body["choices"][0]["message"]["content"]
    assert body["object"] == "chat.completion" and "[1]" in content
    assert "\n\nSources:\n[1] الجيش الوطني الليبي 0 — alwasat, 2017-03-02" in content
    assert body["sanad"]["citations"][0]["start"] == 0


def test_chat_completion_stream(client):
    resp = client.post("/v1/chat/completions", json={"model": "sanad", "stream": True,
                                                     "messages": [{"role": "user", "content": "كم؟"}]})
    datas = [d for _, d in sse_events(resp.text)]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "[1]" in text and "Sources:" in text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["sanad"]["citations"]


def test_chat_completion_errors(client):
    msgs = [{"role": "user", "content": "q"}]
    assert_error(client.post("/v1/chat/completions", json={"model": "gpt-4", "messages": msgs}), 404,
                 "model_not_found")
    last_assistant = [{"role": "assistant", "content": "hi"}]
    assert_error(client.post("/v1/chat/completions", json={"messages": last_assistant}), 422, "validation_error")
    assert_error(client.post("/v1/chat/completions", json={"messages": []}), 422, "validation_error")


def test_openapi_lists_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/ask", "/v1/chat/completions", "/v1/documents", "/v1/documents/{doc_id}", "/v1/search"):
        assert path in paths


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\win\\evil.md", "evil.md"),
    ("/abs/path/.hidden", "hidden"),
    ("تقرير اليوم.TXT", "تقرير_اليوم.txt"),
    ("", "upload"),
    ("a\x00b.txt", "ab.txt"),
    ("....", "upload"),
])
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe


def test_stage_files_deduplicates(tmp_path):
    folder, paths = stage_files([("a.txt", b"1"), ("x/a.txt", b"2"), ("A.txt", b"3")], tmp_path)
    assert [p.name for p in paths] == ["a.txt", "a-2.txt", "A-3.txt"]
    assert all(p.parent == tmp_path for p in paths) and paths[1].read_bytes() == b"2"


def test_serve_refuses_remote_bind_without_key(make_settings):
    from cli.serve_cmd import check_bind, is_loopback
    from rag.errors import ConfigError

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    with pytest.raises(ConfigError) as info:
        check_bind("0.0.0.0", make_settings(), allow_remote_without_key=False)
    assert "SANAD_API_KEY" in (info.value.hint or "")
    check_bind("0.0.0.0", make_settings(api_key="k"), allow_remote_without_key=False)
    check_bind("0.0.0.0", make_settings(), allow_remote_without_key=True)
    check_bind("127.0.0.1", make_settings(), allow_remote_without_key=False)


def test_chat_stream_sends_text_of_answers_that_arrive_without_deltas(make_settings):
    service = make_fake_service(articles=0)  # the fake refuses: a final Answer, no deltas
    service.answerer.stream = lambda q, **kw: iter([service.answerer.ask(q, **kw)])  # type: ignore[method-assign]
    client = TestClient(create_app(service, make_settings()))
    resp = client.post("/v1/chat/completions", json={"stream": True, "messages": [{"role": "user", "content": "q"}]})
    chunks = [json.loads(d) for _, d in sse_events(resp.text)[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "لا تتضمن المقالات إجابة." and chunks[-1]["sanad"]["refused"] is True


def test_the_openai_sources_footer_names_the_outlet_where_known_else_the_file():
    from api.openai_compat import sources_text
    from rag.types import Answer, Citation

    def cite(n: int, outlet: str | None) -> Citation:
        return Citation(n=n, doc_id=f"d{n}", title=f"T{n}", source=f"/data/articles/file{n}.txt", quote="q",
                        start=0, end=1, score=1.0, published="2016-11-18" if n == 1 else None, outlet=outlet)

    answer = Answer(answer="a [1][2].", citations=(cite(1, "Jawhara FM"), cite(2, None)), grounded=True,
                    refused=False, mode="llm", model="m")
    footer = sources_text(answer)
    assert "[1] T1 — Jawhara FM, 2016-11-18" in footer and "[2] T2 — file2.txt" in footer
    assert "/data/articles" not in footer
