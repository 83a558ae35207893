"""Hostile requests at the HTTP edge (issue 13): lone surrogates, unknown routes and wrong methods on the served
app (API with the chat mounted at /), our own bugs, and DNS rebinding. Every answer keeps the error shape."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.middleware import host_name, is_loopback_name
from cli.serve_cmd import build_server
from tests.fakes.fake_service import make_fake_service

LOOPBACK = "http://127.0.0.1:8321"  # TestClient puts the URL's host in scope["server"]: a loopback socket


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "hint"}
    assert body["error"]["code"] == code
    assert "Traceback" not in resp.text
    return dict(body["error"])


@pytest.fixture()
def client(make_settings):
    return TestClient(create_app(make_fake_service(), make_settings()), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """What `sanad serve` runs: the API with the Gradio chat mounted at /."""
    from rag.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("served") / "data")  # type: ignore[call-arg]
    return TestClient(build_server(make_fake_service(), settings), raise_server_exceptions=False)


# --- lone surrogates ------------------------------------------------------------------------------
ASK = '{"question": "\\ud800 كم جنديا؟"%s}'
CHAT = '{"model": "sanad", "messages": [{"role": "user", "content": %s}]%s}'


@pytest.mark.parametrize("path, raw, where", [
    ("/v1/ask", ASK % "", "question"),
    ("/v1/ask", ASK % ', "extractive": true', "question"),
    ("/v1/ask", ASK % ', "stream": true', "question"),
    ("/v1/ask", '{"question": "سؤال", "history": [{"role": "user", "content": "a\\udfff"}]}', "history.0.content"),
    ("/v1/chat/completions", CHAT % ('"\\ud800"', ""), "messages.0.content"),
    ("/v1/chat/completions", CHAT % ('"\\ud800"', ', "stream": true'), "messages.0.content"),
    ("/v1/chat/completions", CHAT % ('[{"type": "text", "text": "\\udc00"}]', ""), "messages.0.content.0.text"),
])
def test_lone_surrogate_is_a_clean_400(client, path, raw, where):
    resp = client.post(path, content=raw.encode(), headers={"content-type": "application/json"})
    error = assert_error(resp, 400, "invalid_unicode")
    assert error["message"].startswith(where + " ") and "surrogate" in error["message"]


def test_a_surrogate_pair_escape_is_ordinary_text(client):
    raw = '{"question": "كم جنديا نقل؟ \\ud83d\\ude00"}'  # an emoji, escaped as a valid pair
    resp = client.post("/v1/ask", content=raw.encode(), headers={"content-type": "application/json"})
    assert resp.status_code == 200 and "[1]" in resp.json()["answer"]


# --- unknown routes and wrong methods on the served app -------------------------------------------
@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/nope"), ("GET", "/v1/models/sanad/x"), ("GET", "/v1/documents/..%2f..%2fetc%2fpasswd"),
    ("POST", "/v1"),
])
def test_unknown_api_routes_are_404_in_the_error_shape(served, method, path):
    assert_error(served.request(method, path), 404, "not_found")


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/v1/ask", "POST"), ("GET", "/v1/chat/completions", "POST"), ("PUT", "/healthz", "GET"),
    ("POST", "/v1/documents/doc0", "DELETE, GET"),
])
def test_wrong_methods_are_405_with_allow(served, method, path, allow):
    resp = served.request(method, path)
    assert_error(resp, 405, "method_not_allowed")
    assert set(resp.headers["allow"].split(", ")) == set(allow.split(", "))


@pytest.mark.parametrize("method, path, code", [
    ("DELETE", "/v1/documents/..%2F..%2Fdoc0", "not_found"), ("GET", "/v1/documents/..%2f..%2fetc%2fpasswd", "not_found"),
    ("GET", "/v1/documents/%2e%2e", "document_not_found"), ("DELETE", "/v1/documents/..%5cdoc0", "document_not_found"),
    ("GET", "/v1/documents/" + "d" * 5000, "document_not_found"),
])
def test_traversal_and_odd_ids_are_404_in_the_error_shape_and_touch_nothing(served, method, path, code):
    assert_error(served.request(method, path), 404, code)
    assert served.get("/v1/documents").json()["count"] == 1


def test_models_retrieve_answers_the_one_model_and_404s_others(served):
    assert served.get("/v1/models/sanad").json() == served.get("/v1/models").json()["data"][0]
    error = assert_error(served.get("/v1/models/gpt-4o"), 404, "model_not_found")
    assert "'sanad'" in error["hint"]


def test_routes_still_answer_through_the_served_app(served):
    assert served.get("/v1/documents").json()["count"] == 1
    assert served.get("/v1/models").json()["data"][0]["id"] == "sanad"
    page = served.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_our_own_bug_is_a_500_in_the_error_shape(make_settings):
    service = make_fake_service()

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internal detail")

    service.documents = broken  # type: ignore[method-assign]
    client = TestClient(create_app(service, make_settings()), raise_server_exceptions=False)
    error = assert_error(client.get("/v1/documents"), 500, "internal_error")
    assert "secret internal detail" not in error["message"]


# --- DNS rebinding --------------------------------------------------------------------------------
@pytest.fixture()
def loopback(make_settings):
    def _make(**overrides: object) -> TestClient:
        return TestClient(create_app(make_fake_service(), make_settings(**overrides)), base_url=LOOPBACK)
    return _make


def test_rebinding_host_is_refused_on_loopback_and_nothing_changes(loopback):
    client = loopback()
    evil = {"host": "rebind.evil.example"}
    assert_error(client.delete("/v1/documents/doc0", headers=evil), 403, "host_not_allowed")
    assert_error(client.get("/v1/documents/doc0", headers={"host": "rebind.evil.example:8321"}), 403,
                 "host_not_allowed")
    assert client.get("/v1/documents").json()["count"] == 1  # the delete never ran


@pytest.mark.parametrize("host", ["127.0.0.1:8321", "localhost:8321", "LOCALHOST", "[::1]:8321", "127.0.0.2",
                                  "localhost."])
def test_loopback_hosts_are_served(loopback, host):
    assert loopback().get("/v1/documents", headers={"host": host}).status_code == 200


def test_configured_hosts_and_api_key_lift_the_host_check(loopback):
    evil = {"host": "sanad.lan:8321"}
    assert loopback(allowed_hosts=["sanad.lan"]).get("/v1/documents", headers=evil).status_code == 200
    keyed = loopback(api_key="k").get("/v1/documents", headers={**evil, "authorization": "Bearer k"})
    assert keyed.status_code == 200  # with a key a rebinding page cannot authenticate anyway
    assert loopback().get("/v1/documents", headers=evil).status_code == 403


def test_allowed_hosts_reads_a_comma_list(monkeypatch, make_settings):
    monkeypatch.setenv("SANAD_ALLOWED_HOSTS", "sanad.lan, proxy.local:8080")
    assert make_settings().allowed_hosts == ["sanad.lan", "proxy.local:8080"]


@pytest.mark.parametrize("header, name, loop", [
    ("127.0.0.1:8321", "127.0.0.1", True), ("[::1]:8321", "::1", True), ("::1", "::1", True),
    ("Localhost", "localhost", True), ("evil.example:80", "evil.example", False), ("10.0.0.5", "10.0.0.5", False),
    ("localhost.evil.example", "localhost.evil.example", False),
])
def test_host_header_parsing(header, name, loop):
    assert host_name(header) == name and is_loopback_name(name) is loop


# --- questions with nothing in them -----------------------------------------------------------------------
@pytest.mark.parametrize("question", ["\u200b", "\u200f\u200e\u200b", "\x01\x02\x7f", "؟؟ !!", "\u0651\u064e", "ـــ"])
def test_a_question_without_words_is_a_422_not_an_answer(client, question):
    error = assert_error(client.post("/v1/ask", json={"question": question}), 422, "invalid_question")
    assert "no words" in error["message"]
    assert_error(client.get("/v1/search", params={"q": question}), 422, "invalid_question")
    chat = {"model": "sanad", "messages": [{"role": "user", "content": question}]}
    assert_error(client.post("/v1/chat/completions", json=chat), 422, "invalid_question")


def test_a_one_word_question_is_still_a_question(client):
    assert client.post("/v1/ask", json={"question": "حفتر"}).status_code == 200


# --- bodies that are not what the route reads ---------------------------------------------------------------
@pytest.mark.parametrize("raw, status, code", [
    (b'{"question": "\xff\xfe"}', 400, "bad_request"),  # not UTF-8
    (b'{"a":' * 50000 + b"1" + b"}" * 50000, 400, "bad_request"),  # nested past the JSON parser's depth
    (b"[1, 2]", 422, "validation_error"), (b'{"question": 5}', 422, "validation_error"),
    (b"nul\x00", 422, "validation_error"), (b"", 422, "validation_error"),
])
def test_hostile_json_bodies_are_4xx_with_a_hint(client, raw, status, code):
    resp = client.post("/v1/ask", content=raw, headers={"content-type": "application/json"})
    assert assert_error(resp, status, code)["hint"]
