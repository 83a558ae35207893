"""The chat's client API driven by the real ``gradio_client`` against a live `sanad serve` app (Chroma +
MiniLM + the fake Ollama over HTTP): named endpoints, the checked answer with citations as data, removal by
an id string from a client that connected before the article existed, and clear errors for bad calls with
no traceback in the server's log. Tests run in file order over one index."""

from __future__ import annotations

import re
from collections.abc import Iterator
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

QUESTION = "كم عدد جنود حفتر الذين نقلوا إلى روسيا للعلاج؟"
SOLDIERS = "000_ffaf197de1d2d33f"  # the seed article that answers QUESTION
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from gradio_client import Client

    ollama = FakeOllama().start()
    ollama.default = cite_first_passage
    settings = Settings(data_dir=tmp_path_factory.mktemp("gradio-client") / "data", embed_model=str(minilm_dir()),
                        ollama_host=ollama.url, ollama_timeout=10.0)  # type: ignore[arg-type]
    server = ServerThread(build_server(build_service(settings), settings)).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            # connected while the index is empty: any choice list it saw is empty
            yield {"client": Client(server.url + "/", verbose=False), "http": http}
    finally:
        server.stop()
        ollama.stop()


def test_endpoints_are_named_with_named_inputs(live):
    api = live["client"].view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/ask", "/documents", "/upload", "/remove", "/timeline"} <= set(api)
    ask = api["/ask"]["parameters"]
    assert [p["parameter_name"] for p in ask] == ["question", "history", "extractive", "published_from", "published_to"]
    assert [p["parameter_has_default"] for p in ask] == [False, True, True, True, True]  # old callers still fit
    assert [p["parameter_name"] for p in api["/remove"]["parameters"]] == ["doc_id"]
    assert [p["parameter_name"] for p in api["/timeline"]["parameters"]] == \
        ["query", "published_from", "published_to", "summarize"]
    assert [r["label"] for r in api["/upload"]["returns"]] == ["report", "results"]
    assert "/chat" not in api  # the chat tab's own event (HTML messages) is not the documented API


def test_upload_then_ask_returns_the_checked_answer_with_citations_as_data(live):
    from gradio_client import handle_file

    files = [handle_file(str(p)) for p in sorted(SEEDS.glob("*.txt"))]
    report, results = live["client"].predict(files, api_name="/upload")
    assert {r["status"] for r in results} == {"added"} and len(results) == len(files)
    assert f"{len(files)} added" in report
    answer = live["client"].predict(QUESTION, [], False, api_name="/ask")
    assert not answer["refused"] and answer["mode"] == "llm"
    citations = answer["citations"]
    assert citations and citations[0]["doc_id"] == SOLDIERS
    assert {int(n) for n in MARKER.findall(answer["answer"])} == {c["n"] for c in citations}
    for c in citations:  # each quote is the article's own text at the cited offsets
        text = live["http"].get(f"/v1/documents/{c['doc_id']}").json()["text"]
        assert text[c["start"]:c["end"]] == c["quote"]
    via_api = live["http"].post("/v1/ask", json={"question": QUESTION}).json()
    assert via_api["answer"] == answer["answer"]
    assert [(c["n"], c["doc_id"], c["quote"]) for c in via_api["citations"]] == \
        [(c["n"], c["doc_id"], c["quote"]) for c in citations]


DATED = ("حفتر في موسكو\n\nوصل المشير خليفة حفتر إلى موسكو وبحث مع وزير الدفاع الروسي نقل جنود جرحى من قواته "
         "إلى روسيا للعلاج.\n")


def test_a_date_range_limits_the_answer_to_articles_published_in_it(live, tmp_path):
    """The sample articles state no publication date; one dated by its file name is the only one in range."""
    from gradio_client import handle_file

    client = live["client"]
    dated = tmp_path / "2016-11-28-moscow.txt"
    dated.write_text(DATED, encoding="utf-8")
    _, results = client.predict([handle_file(str(dated))], api_name="/upload")
    doc_id = results[0]["doc_id"]
    try:
        inside = client.predict(QUESTION, [], False, "2016-11", "2016-12", api_name="/ask")
        assert inside["citations"] and {c["doc_id"] for c in inside["citations"]} == {doc_id}
        assert {c["published"] for c in inside["citations"]} == {"2016-11-28"}
        after = client.predict(QUESTION, [], False, "2017", None, api_name="/ask")
        assert after["refused"] and not after["citations"]  # nothing dated in 2017 or later
        for empty in ((None, None), ("", " ")):  # empty boxes: no filter, the sample articles count again
            assert not client.predict(QUESTION, [], False, *empty, api_name="/ask")["refused"]
    finally:
        client.predict(doc_id, api_name="/remove")


def test_timeline_returns_dated_events_oldest_first_and_undated_apart(live):
    timeline = live["client"].predict("كيف تطورت علاقة حفتر بروسيا؟", api_name="/timeline")
    events, undated = timeline["events"], timeline["undated"]
    assert events or undated
    keys = [e["date"] for e in events]
    assert all(keys) and keys == sorted(keys)  # ISO trimmed to its precision: string order is date order
    assert all(e["date"] is None and e["precision"] is None for e in undated)
    numbers = [e["citation"]["n"] for e in events + undated]
    assert numbers == list(range(1, len(numbers) + 1))
    for e in events + undated:  # each event is the article's own sentence at the cited offsets
        c = e["citation"]
        assert live["http"].get(f"/v1/documents/{c['doc_id']}").json()["text"][c["start"]:c["end"]] == c["quote"]


def test_remove_takes_an_id_string_and_the_removed_article_is_never_cited_again(live):
    client = live["client"]
    first = client.predict(QUESTION, [], False, api_name="/ask")
    assert SOLDIERS in {c["doc_id"] for c in first["citations"]}
    _, removed = client.predict(SOLDIERS, api_name="/remove")
    assert removed == {"removed": SOLDIERS}
    assert SOLDIERS not in {d["doc_id"] for d in client.predict(api_name="/documents")}
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": first["answer"]}]
    for turns in ([], history):  # a fresh question, and the same one asked again in the same chat
        for extractive in (False, True):
            again = client.predict(QUESTION, turns, extractive, api_name="/ask")
            assert SOLDIERS not in {c["doc_id"] for c in again["citations"]}, again


@pytest.mark.parametrize(("api_name", "args", "message"), [
    ("/remove", ("no-such-article",), "no document with id 'no-such-article'"),
    ("/remove", ("",), "Choose an article or type its id"),
    ("/ask", ("", [], False), "the question is empty"),
    ("/ask", ("سؤال", "not a list", False), "history must be a list"),
    ("/ask", ("سؤال", [{"role": "system", "content": "x"}], False), "each history message must be"),
    ("/upload", ([],), "No files chosen"),
    ("/ask", ("How many soldiers?", [], False, "2016-13", None), "Not a date in the “from” box"),
    ("/ask", ("كم جنديا؟", [], False, "2018", "2016"), "نطاق التاريخ ينتهي قبل أن يبدأ"),
    ("/timeline", (" ",), "the query is empty"),
    ("/timeline", ("Haftar", "2016-99"), "Not a date in the “from” box"),
])
def test_a_bad_call_gets_a_clear_error_and_no_traceback(live, capfd, api_name, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=re.escape(message)):
        live["client"].predict(*args, api_name=api_name)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
