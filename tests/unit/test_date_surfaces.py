"""Date filters and explicit publication dates on every surface: `sanad search/ask/chat --since/--until`,
`sanad ingest --published`, `/v1/search` (GET and POST), `/v1/ask`, the OpenAI route's `filters`, the upload
form's `published`; a bad date is a clear error (CLI exit 2, HTTP 422 `invalid_date`) and nothing is written.

The stack is real (ingest pipeline, BM25 + vectors, hybrid retriever, extractive answerer) over the in-memory
store and the hashing embedder, so the filters are checked by what comes back, not by what a fake was given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import create_app
from cli import main as cli_main
from cli.ask_cmds import render_sources
from cli.common import AppState
from rag.generation.answer import Answerer
from rag.ingestion.pipeline import IngestPipeline
from rag.profile import CONSERVATIVE
from rag.prompts import PromptLibrary
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.keyword import BM25Index
from rag.service import Sanad
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Answer, Citation
from tests.fakes.memory_store import HashEmbedder, MemoryStore

BODY = "\n\nأعلنت وزارة الصحة افتتاح مستشفى جامعي جديد في مدينة صفاقس بحضور الوزير."
#: file name -> (text, date the reader finds: field / file name / none)
ARTICLES = {
    "2016-03-05-sfax.txt": "مستشفى صفاقس" + BODY,  # dated by its file name
    "2017-06-10-sfax.txt": "مستشفى صفاقس الجديد" + BODY,
    "2018-01-20-sfax.txt": "افتتاح مستشفى صفاقس" + BODY,
    "undated-sfax.txt": "مستشفى في صفاقس" + BODY,  # no date anywhere: never inside a date filter
}
QUESTION = "افتتاح مستشفى جامعي في صفاقس"


def build(tmp_path: Path) -> Sanad:
    settings = Settings(data_dir=tmp_path / "data", max_per_doc=0, top_k=10, candidates=20, refusal_threshold=0.0)
    store, embedder = MemoryStore(), HashEmbedder()
    keyword = BM25Index(tmp_path / "kw", store)
    retriever = HybridRetriever(store, keyword, embedder, settings, profile=CONSERVATIVE)
    answerer = Answerer(retriever, None, embedder, PromptLibrary(PROJECT_ROOT / "prompts"), settings)
    return Sanad(store=store, ingestor=IngestPipeline(store, keyword, embedder, settings), retriever=retriever,
                 answerer=answerer, embedder=embedder, llm=None, embed_model="hash", embed_error=None,
                 chroma_mode="embedded", ollama_host="http://127.0.0.1:9", ollama_model="none")


def write_corpus(folder: Path, articles: dict[str, str]) -> Path:
    """``folder`` created, with one UTF-8 file per article (file name -> text); returns ``folder``."""
    folder.mkdir()
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "articles", ARTICLES)


@pytest.fixture()
def service(tmp_path: Path, corpus: Path) -> Sanad:
    sanad = build(tmp_path)
    assert not sanad.ingest([corpus]).failed
    return sanad


@pytest.fixture()
def client(service: Sanad, tmp_path: Path) -> TestClient:
    return TestClient(create_app(service, Settings(data_dir=tmp_path / "data")))


def docs_of(hits: list[dict[str, Any]]) -> set[str]:
    return {h["chunk"]["doc_id"] if "chunk" in h else h["doc_id"] for h in hits}


def assert_invalid_date(resp: Any) -> None:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == "invalid_date"
    assert body["error"]["message"] and body["error"]["hint"]


# --- API -----------------------------------------------------------------------------------------------------
def test_search_without_a_filter_finds_all_four(client: TestClient) -> None:
    hits = client.get("/v1/search", params={"q": QUESTION, "k": 10}).json()["hits"]
    assert docs_of(hits) == {"2016-03-05-sfax", "2017-06-10-sfax", "2018-01-20-sfax", "undated-sfax"}


@pytest.mark.parametrize(("since", "until", "expected"), [
    ("2017", None, {"2017-06-10-sfax", "2018-01-20-sfax"}),
    (None, "2017-06", {"2016-03-05-sfax", "2017-06-10-sfax"}),  # a month bound keeps that whole month
    ("2016-03-05", "2016-03-05", {"2016-03-05-sfax"}),
    ("5 مارس 2016", "2017", {"2016-03-05-sfax", "2017-06-10-sfax"}),
    ("2019", None, set()),
])
def test_search_date_filter_get_and_post(client: TestClient, since: str | None, until: str | None,
                                         expected: set[str]) -> None:
    params = {k: v for k, v in (("published_from", since), ("published_to", until)) if v}
    got = client.get("/v1/search", params={"q": QUESTION, "k": 10, **params})
    posted = client.post("/v1/search", json={"q": QUESTION, "k": 10, **params})
    assert got.status_code == posted.status_code == 200
    assert docs_of(got.json()["hits"]) == docs_of(posted.json()["hits"]) == expected


@pytest.mark.parametrize("params", [{"published_from": "2016-13-01"}, {"published_to": "yesterday"},
                                    {"published_from": "2018", "published_to": "2016"}])
def test_bad_search_dates_are_422_invalid_date(client: TestClient, params: dict[str, str]) -> None:
    assert_invalid_date(client.get("/v1/search", params={"q": QUESTION, **params}))
    assert_invalid_date(client.post("/v1/search", json={"q": QUESTION, **params}))


def test_ask_filter_and_citations_carry_date_and_source(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": QUESTION, "extractive": True,
                                        "filters": {"published_from": "2018"}}).json()
    assert body["citations"] and {c["doc_id"] for c in body["citations"]} == {"2018-01-20-sfax"}
    assert body["citations"][0]["published"] == "2018-01-20"
    assert body["citations"][0]["source"].endswith("2018-01-20-sfax.txt")


def test_bad_dates_on_ask_and_the_openai_route(client: TestClient) -> None:
    assert_invalid_date(client.post("/v1/ask", json={"question": QUESTION, "filters": {"published_to": "2016-02-30"}}))
    assert_invalid_date(client.post("/v1/ask", json={"question": QUESTION, "stream": True,
                                                     "filters": {"published_from": "not a date"}}))
    assert_invalid_date(client.post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": QUESTION}], "filters": {"published_from": "2016-00"}}))


def test_openai_route_filters_by_date(client: TestClient) -> None:
    resp = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}],
                                                     "extractive": True, "filters": {"published_to": "2016"}})
    citations = resp.json()["sanad"]["citations"]
    assert citations and {c["doc_id"] for c in citations} == {"2016-03-05-sfax"}


def test_upload_form_date_beats_the_file_name(client: TestClient, service: Sanad) -> None:
    files = [("files", ("2015-01-01-tunis.txt", "بلدية تونس\n\nقررت البلدية تجديد الحديقة.".encode()))]
    resp = client.post("/v1/documents", files=files, data={"published": "18 نوفمبر 2016"})
    assert resp.status_code == 200, resp.text
    doc = {d.doc_id: d for d in service.documents()}["2015-01-01-tunis"]
    assert (doc.published, doc.published_source) == ("2016-11-18", "upload")


def test_a_bad_upload_date_is_refused_before_anything_is_written(client: TestClient, service: Sanad) -> None:
    before = {d.doc_id for d in service.documents()}
    files = [("files", ("tunis.txt", "بلدية تونس\n\nقررت البلدية تجديد الحديقة.".encode()))]
    assert_invalid_date(client.post("/v1/documents", files=files, data={"published": "31/02/2016"}))
    assert {d.doc_id for d in service.documents()} == before


# --- CLI -----------------------------------------------------------------------------------------------------
@pytest.fixture()
def run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "cli-data"))
    built: dict[str, Sanad] = {}

    def service(self: AppState, **_: Any) -> Sanad:
        return built.setdefault("s", build(tmp_path / "cli"))

    monkeypatch.setattr(AppState, "service", service)
    cli_main._register_commands()

    def _run(*args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(cli_main.app, list(args), input=input)

    _run.built = built  # type: ignore[attr-defined]
    return _run


def test_cli_since_until_on_search_and_ask(run_cli, corpus: Path) -> None:
    assert run_cli("ingest", str(corpus)).exit_code == 0
    found = json.loads(run_cli("search", QUESTION, "-k", "10", "--json", "--since", "2017", "--until", "2017-12")
                       .stdout)["hits"]
    assert docs_of(found) == {"2017-06-10-sfax"}
    old = json.loads(run_cli("search", QUESTION, "-k", "10", "--json", "--from", "2016", "--to", "2016").stdout)
    assert docs_of(old["hits"]) == {"2016-03-05-sfax"}  # the old names still work
    answer = json.loads(run_cli("ask", QUESTION, "--extractive", "--json", "--until", "2016").stdout)
    assert {c["doc_id"] for c in answer["citations"]} == {"2016-03-05-sfax"}


@pytest.mark.parametrize("args", [("search", QUESTION, "--since", "2016-13"), ("ask", QUESTION, "--until", "soon"),
                                  ("chat", "--since", "2018", "--until", "2017"),
                                  ("ingest", "nowhere", "--published", "2016-02-30")])
def test_cli_bad_dates_are_one_line_errors(run_cli, args: tuple[str, ...]) -> None:
    result = run_cli(*args, input="سؤال\n")
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert not run_cli.built  # refused before the service (and its model) was built


def test_cli_ingest_published_beats_the_file_name(run_cli, corpus: Path) -> None:
    result = run_cli("ingest", str(corpus / "2016-03-05-sfax.txt"), "--published", "2019-07")
    assert result.exit_code == 0, result.output
    doc = run_cli.built["s"].documents()[0]
    assert (doc.published, doc.published_source) == ("2019-07", "cli")


def test_cli_chat_applies_the_filter_to_every_turn(run_cli, corpus: Path) -> None:
    run_cli("ingest", str(corpus))
    result = run_cli("chat", "--extractive", "--since", "2018", input=f"{QUESTION}\nمستشفى صفاقس\n\n")
    assert result.exit_code == 0, result.output
    sources = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert sources and all("2018-01-20" in line for line in sources)


def test_cli_source_lines_show_outlet_and_date_in_the_answers_language() -> None:
    cited = [Citation(1, "a", "عنوان", "/data/articles/2016-11-18-haftar.txt", "نص", 0, 2, 0.9, "2016-11-18"),
             Citation(2, "b", "آخر", "upload:خبر.txt", "نص", 0, 2, 0.9, None),
             Citation(3, "c", "ثالث", "Jawhara FM", "نص", 0, 2, 0.9, "2017-03")]
    ar = render_sources(Answer("…", tuple(cited), True, False, "extractive", None, lang="ar"))
    assert ar[0].startswith("[1] عنوان — 2016-11-18-haftar.txt, 2016-11-18 · a, characters 0-2")
    assert ar[1].startswith("[2] آخر — خبر.txt, تاريخ غير معروف · b, characters 0-2")
    assert ar[2].startswith("[3] ثالث — Jawhara FM, 2017-03 · c, characters 0-2")
    en = render_sources(Answer("…", tuple(cited[1:2]), True, False, "extractive", None, lang="en"))
    assert en[0].startswith("[2] آخر — خبر.txt, date unknown · b, characters 0-2")
