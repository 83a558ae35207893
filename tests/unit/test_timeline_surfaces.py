"""`sanad timeline` and `POST /v1/timeline` over a real stack (ingest pipeline, BM25 + vectors, hybrid
retriever) on the in-memory store and the hashing embedder: the JSON shape, dated events oldest first, the
undated apart, date filters, bad dates as a clear error (CLI exit 2, HTTP 422 invalid_date), and a summary
from the fake Ollama server through the real Ollama adapter (and none when Ollama is down)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import create_app
from cli import main as cli_main
from cli.common import AppState
from rag.generation.llm import OllamaLLM
from rag.service import Sanad
from rag.settings import Settings
from rag.types import Answer
from tests.fakes.ollama_server import FakeOllama
from tests.unit.test_date_surfaces import build, write_corpus

#: file name -> text; the file name dates the article (or not: "undated-")
ARTICLES = {
    "2016-11-29-moscow.txt": "حفتر في موسكو\n\nوصل حفتر إلى موسكو لبحث الدعم الروسي لقواته.",
    "2017-01-12-carrier.txt": "حفتر على حاملة طائرات روسية\n\nوصعد حفتر إلى حاملة الطائرات الروسية قبالة ليبيا.",
    "2017-03-01-recall.txt": "حفتر وروسيا\n\nوكان حفتر قد زار روسيا في يونيو 2016 طالبا السلاح.",
    "undated-february.txt": "لقاء حفتر\n\nوالتقى حفتر وزير الدفاع الروسي يوم 12 فبراير.",
}
QUERY = "كيف تطورت علاقة حفتر بروسيا؟"
#: (date, doc id) of the dated events, oldest first, read off the file names and the texts above: the
#: June 2016 visit is stated in an article of March 2017
DATED = [("2016-06", "2017-03-01-recall"), ("2016-11-29", "2016-11-29-moscow"),
         ("2017-01-12", "2017-01-12-carrier")]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "articles", ARTICLES)


def _service(tmp_path: Path, corpus: Path, llm: Any = None) -> Sanad:
    sanad = build(tmp_path)  # the date-surfaces stack: ingest pipeline, BM25 + hashed vectors, memory store
    sanad.llm = llm
    assert not sanad.ingest([corpus]).failed
    return sanad


def _dated(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["date"], e["citation"]["doc_id"]) for e in body["events"]]


# --- API -----------------------------------------------------------------------------------------------------
@pytest.fixture()
def client(tmp_path: Path, corpus: Path) -> TestClient:
    return TestClient(create_app(_service(tmp_path, corpus), Settings(data_dir=tmp_path / "data")))


def test_api_timeline_shape_and_order(client: TestClient) -> None:
    resp = client.post("/v1/timeline", json={"query": QUERY})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"query", "events", "undated", "summary", "summary_citations", "model", "notes", "timings_ms"}
    assert _dated(body) == DATED
    first = body["events"][0]
    assert set(first) == {"date", "precision", "date_basis", "stated", "citation"}
    assert (first["precision"], first["date_basis"], first["stated"]) == ("month", "text", "يونيو 2016")
    assert first["citation"]["quote"] == "وكان حفتر قد زار روسيا في يونيو 2016 طالبا السلاح."
    assert first["citation"]["published"] == "2017-03-01" and first["citation"]["n"] == 1
    assert [(e["date"], e["stated"], e["citation"]["doc_id"]) for e in body["undated"]] == [
        (None, "12 فبراير", "undated-february")]
    assert body["summary"] is None and "no LLM configured: no summary" in body["notes"]


def test_api_date_filter_leaves_out_older_and_undated_articles(client: TestClient) -> None:
    body = client.post("/v1/timeline", json={"query": QUERY, "published_from": "2017-01", "k": 10}).json()
    assert _dated(body) == [("2016-06", "2017-03-01-recall"), ("2017-01-12", "2017-01-12-carrier")]
    assert body["undated"] == []


@pytest.mark.parametrize("body", [{"query": QUERY, "published_from": "2016-13-01"},
                                  {"query": QUERY, "published_to": "yesterday"},
                                  {"query": QUERY, "published_from": "2018", "published_to": "2016"}])
def test_api_bad_dates_are_422_invalid_date(client: TestClient, body: dict[str, Any]) -> None:
    resp = client.post("/v1/timeline", json=body)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_date", resp.text
    assert resp.json()["error"]["hint"]


@pytest.mark.parametrize("body", [{"query": ""}, {"query": QUERY, "k": 0}, {"query": QUERY, "when": "2016"},
                                  {"q": QUERY}, {"query": QUERY, "summarize": "yes"}])
def test_api_bad_bodies_are_422(client: TestClient, body: dict[str, Any]) -> None:
    resp = client.post("/v1/timeline", json=body)
    assert resp.status_code == 422 and set(resp.json()) == {"error"}


def test_api_summary_from_the_fake_ollama(tmp_path: Path, corpus: Path, fake_ollama: FakeOllama) -> None:
    fake_ollama.script("<think>الأقدم أولا</think>زار حفتر روسيا في يونيو 2016 طالبا السلاح [1]. "
                       "ثم وصل حفتر إلى موسكو لبحث الدعم الروسي [2][7].")
    llm = OllamaLLM(fake_ollama.url, "qwen3:4b", timeout=5.0)
    client = TestClient(create_app(_service(tmp_path, corpus, llm), Settings(data_dir=tmp_path / "data")))
    body = client.post("/v1/timeline", json={"query": QUERY}).json()
    assert body["summary"] == ("زار حفتر روسيا في يونيو 2016 طالبا السلاح [1]. "
                               "ثم وصل حفتر إلى موسكو لبحث الدعم الروسي [2].")  # [7]: no such event
    assert [(c["n"], c["doc_id"]) for c in body["summary_citations"]] == [(1, "2017-03-01-recall"),
                                                                          (2, "2016-11-29-moscow")]
    assert body["model"] == "qwen3:4b"
    prompt = fake_ollama.chat_requests()[0]["messages"][-1]["content"]
    assert '<event id="1" date="2016-06"' in prompt


def test_api_no_summary_when_ollama_is_down(tmp_path: Path, corpus: Path) -> None:
    llm = OllamaLLM("http://127.0.0.1:9", "qwen3:4b", timeout=2.0)
    client = TestClient(create_app(_service(tmp_path, corpus, llm), Settings(data_dir=tmp_path / "data")))
    resp = client.post("/v1/timeline", json={"query": QUERY})
    assert resp.status_code == 200 and resp.json()["summary"] is None
    assert _dated(resp.json()) == DATED
    assert any(note.startswith("no summary: the LLM failed") for note in resp.json()["notes"])


# --- CLI -----------------------------------------------------------------------------------------------------
@pytest.fixture()
def run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, corpus: Path):
    service = _service(tmp_path, corpus)
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(AppState, "service", lambda self, **kwargs: service)
    cli_main._register_commands()

    def _run(*args: str) -> Any:
        return CliRunner().invoke(cli_main.app, list(args))

    return _run


def test_cli_json_is_the_api_shape(run_cli) -> None:
    result = run_cli("timeline", QUERY, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert _dated(body) == DATED and [e["citation"]["doc_id"] for e in body["undated"]] == ["undated-february"]


def test_cli_prints_events_oldest_first_with_outlet_and_date(run_cli) -> None:
    result = run_cli("timeline", QUERY, "--since", "2016")
    assert result.exit_code == 0, result.output
    out = result.stdout
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert [line.split()[1] for line in lines] == ["2016-06", "2016-11-29", "2017-01-12"]
    assert lines[0].startswith("[1] 2016-06 (من النص: يونيو 2016)  حفتر وروسيا — 2017-03-01-recall.txt, 2017-03-01")
    assert "«وصل حفتر إلى موسكو لبحث الدعم الروسي لقواته.»" in out
    assert "undated-february" not in out  # --since leaves undated articles out


def test_cli_lists_undated_events_apart(run_cli) -> None:
    out = run_cli("timeline", QUERY, "--no-summary").stdout
    undated = out.split("أحداث بلا تاريخ:")[1]
    assert "[4] بلا تاريخ" in undated and "undated-february" in undated and "تاريخ غير معروف" in undated


@pytest.mark.parametrize("args", [("--since", "2016-13"), ("--until", "tomorrow"), ("--since", "2018", "--until", "2016")])
def test_cli_bad_dates_exit_2_with_a_clear_message(run_cli, args: tuple[str, ...]) -> None:
    result = run_cli("timeline", QUERY, *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and ("date" in result.output)


class _Answering:
    """Stands in for the facade on `sanad ask`: one short answer."""

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        yield Answer("نقل الجنود إلى روسيا.", (), True, False, "extractive", None)


@pytest.mark.parametrize(("question", "tip"), [(QUERY, True), ("timeline of NATO and Libya", True),
                                               ("كم جنديا نقلوا إلى روسيا؟", False)])
def test_ask_offers_the_timeline_for_a_how_did_it_develop_question(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                    question: str, tip: bool) -> None:
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(AppState, "service", lambda self, **kwargs: _Answering())
    cli_main._register_commands()
    result = CliRunner().invoke(cli_main.app, ["ask", question])
    assert result.exit_code == 0, result.output
    assert (f'sanad timeline "{question}"' in result.stderr) is tip
