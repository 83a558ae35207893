"""The outlet of an article: read from what its metadata states (a .jsonl field, front matter, a sidecar, the
HTML's og:site_name / JSON-LD publisher), never guessed from a page title, URL or file name, and carried from
the reader through chunks, the keyword and vector sides and near-duplicate clusters to every citation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import main as cli_main
from cli.ask_cmds import render_sources
from cli.common import AppState
from cli.timeline_cmd import render_timeline
from rag.generation.answer import Answerer
from rag.ingestion.near_duplicates import NearDuplicateIndex
from rag.ingestion.pipeline import IngestPipeline
from rag.ingestion.readers import load_file
from rag.profile import CONSERVATIVE
from rag.prompts import PromptLibrary
from rag.retrieval.collapse import CollapsingRetriever
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.keyword import BM25Index
from rag.retrieval.store_rows import chunk_meta, to_chunk
from rag.service import Sanad
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Chunk, Citation, SameStory, Timeline, TimelineEvent
from tests.fakes.memory_store import HashEmbedder, MemoryStore
from tests.unit.test_near_duplicates import HAFTAR_RUSSIA, NATO, QUESTION, SAMPLES, republish, sample

TITLE = "حفتر يستنجد بروسيا لدعم قواته"
BODY = ("وصل القائد العام للجيش الليبي خليفة حفتر إلى العاصمة الروسية موسكو لبحث الأزمة الليبية وطلب "
        "دعما سياسيا وعسكريا. وقال مصدر أمني إن الوفد ضم تسعة عسكريين.")
PARAGRAPHS = "".join(f"<p>{BODY} وأضاف المصدر أن الزيارة استمرت يومين ({n}).</p>" for n in range(4))


def _html(head: str) -> str:
    return (f'<!DOCTYPE html><html lang="ar"><head><meta charset="utf-8">{head}</head>'
            f"<body><article><h1>{TITLE}</h1>{PARAGRAPHS}</article></body></html>")


def _one(path: Path) -> str | None:
    (article,), failures = load_file(path)
    assert failures == []
    return article.outlet


# --- readers -------------------------------------------------------------------------------------------
def test_jsonl_outlet_field_then_publisher_site_and_a_source_that_is_a_name(tmp_path: Path) -> None:
    records = [
        {"id": "a", "outlet": "  الجزيرة   نت ", "publisher": "Other"},
        {"id": "b", "publisher": {"@type": "Organization", "name": "BBC Arabic"}},
        {"id": "c", "site": "@AJArabic"},
        {"id": "d", "source": "Jawhara FM"},
        {"id": "e", "source": "/archive/2016/haftar.txt"},  # a path says where a file was, not who published it
        {"id": "f", "source": "https://www.aljazeera.net/news/1"},
        {"id": "g", "source": "haftar.txt"},
        {"id": "h"},
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps({"title": TITLE, "text": BODY, **r}, ensure_ascii=False)
                              for r in records), encoding="utf-8")
    articles, failures = load_file(path)
    assert failures == []
    assert {a.doc_id: a.outlet for a in articles} == {
        "a": "الجزيرة نت", "b": "BBC Arabic", "c": "AJArabic", "d": "Jawhara FM",
        "e": None, "f": None, "g": None, "h": None}
    assert all(a.source == str(path) for a in articles)  # the file stays the source (pruning, id clashes)


def test_sidecar_outlet_for_a_text_file_and_none_without_one(tmp_path: Path) -> None:
    (tmp_path / "haftar.txt").write_text(f"{TITLE}\n\n{BODY}\n", encoding="utf-8")
    (tmp_path / "haftar.meta.json").write_text(json.dumps({"outlet": "بوابة الوسط", "published": "2016-11-29"}),
                                               encoding="utf-8")
    (tmp_path / "plain.txt").write_text(f"{TITLE}\n\n{BODY}\n", encoding="utf-8")
    assert _one(tmp_path / "haftar.txt") == "بوابة الوسط"
    assert _one(tmp_path / "plain.txt") is None  # never the file name


def test_front_matter_outlet_wins_over_publisher_whatever_the_order(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(f"---\npublisher: Someone Else\noutlet: \"Libya Observer\"\n---\n# {TITLE}\n\n{BODY}\n",
                    encoding="utf-8")
    assert _one(path) == "Libya Observer"


@pytest.mark.parametrize(("head", "outlet"), [
    ('<title>x</title><meta property="og:site_name" content="الجزيرة نت">', "الجزيرة نت"),
    ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
     '"headline": "x", "publisher": {"@type": "Organization", "name": "BBC عربي"}}</script>', "BBC عربي"),
    # only a title part and the page's URL: trafilatura's sitename would guess 'aljazeera.net' / 'example.com'
    ('<title>حفتر في موسكو | aljazeera.net</title>', None),
    ('<title>x</title><link rel="canonical" href="https://www.example.com/news/1">', None),
])
def test_html_outlet_is_what_the_page_states_not_a_guess(tmp_path: Path, head: str, outlet: str | None) -> None:
    path = tmp_path / "page.html"
    path.write_text(_html(head), encoding="utf-8")
    assert _one(path) == outlet


def test_a_sidecar_beats_the_html_metadata(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(_html('<meta property="og:site_name" content="Site Name">'), encoding="utf-8")
    (tmp_path / "page.meta.json").write_text(json.dumps({"outlet": "المرصد"}), encoding="utf-8")
    assert _one(path) == "المرصد"


def test_an_outlet_changes_the_content_hash_only_when_there_is_one(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(f"{TITLE}\n\n{BODY}\n", encoding="utf-8")
    before = load_file(tmp_path / "a.txt")[0][0].content_hash
    (tmp_path / "b.txt").write_text(f"{TITLE}\n\n{BODY}\n", encoding="utf-8")
    assert load_file(tmp_path / "b.txt")[0][0].content_hash == before  # hashes stored before outlets: unchanged
    (tmp_path / "a.meta.json").write_text(json.dumps({"outlet": "الوسط"}), encoding="utf-8")
    assert load_file(tmp_path / "a.txt")[0][0].content_hash != before  # a new outlet re-ingests the article


# --- end to end: reader -> chunks -> both retrievers -> clusters -> citations ----------------------------
@pytest.fixture()
def service(tmp_path: Path) -> Sanad:
    """The real pipeline, hybrid retriever, collapse and extractive answerer over the memory store: the
    original sample with a sidecar outlet, another outlet's copy in Markdown, and an article with none."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for doc_id in (HAFTAR_RUSSIA, NATO):
        (folder / f"{doc_id}.txt").write_text((SAMPLES / f"{doc_id}.txt").read_text(encoding="utf-8"),
                                              encoding="utf-8")
    (folder / f"{HAFTAR_RUSSIA}.meta.json").write_text(json.dumps({"outlet": "بوابة الوسط"}), encoding="utf-8")
    (folder / "copy1.md").write_text("---\npublisher: Libya Observer\n---\n" + republish(sample(HAFTAR_RUSSIA), 1),
                                     encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", chunk_size=400, chunk_overlap=0, max_per_doc=0,  # type: ignore[call-arg]
                        refusal_threshold=0.0)
    store, embedder = MemoryStore(), HashEmbedder()
    keyword = BM25Index(tmp_path / "kw", store)
    dups = NearDuplicateIndex(tmp_path / "data" / "dups.npz", store)
    pipeline = IngestPipeline(store, keyword, embedder, settings, near_duplicates=dups)
    assert not pipeline.ingest([folder]).failed
    retriever = CollapsingRetriever(HybridRetriever(store, keyword, embedder, settings, profile=CONSERVATIVE),
                                    dups.snapshot, top_k=5)
    answerer = Answerer(retriever, None, embedder, PromptLibrary(PROJECT_ROOT / "prompts"), settings)
    return Sanad(store=store, ingestor=pipeline, retriever=retriever, answerer=answerer, embedder=embedder,
                 llm=None, embed_model="hash", embed_error=None, chroma_mode="embedded", ollama_host="",
                 ollama_model="", clusters=dups.snapshot)


OUTLETS = {HAFTAR_RUSSIA: "بوابة الوسط", "copy1": "Libya Observer", NATO: None}


def test_documents_list_each_articles_outlet(service: Sanad) -> None:
    assert {d.doc_id: d.outlet for d in service.documents()} == OUTLETS
    assert {d.doc_id: d.to_dict()["outlet"] for d in service.documents()} == OUTLETS


@pytest.mark.parametrize("mode", ["keyword", "dense"])
def test_both_retrievers_return_the_outlet_on_each_hit(service: Sanad, mode: str) -> None:
    hits = service.search(QUESTION, k=5, mode=mode, collapse=False).hits  # type: ignore[arg-type]
    assert {h.chunk.doc_id for h in hits} >= {HAFTAR_RUSSIA, "copy1"}
    assert all(h.chunk.outlet == OUTLETS[h.chunk.doc_id] for h in hits)


def test_citation_carries_its_outlet_and_the_other_outlets_of_the_story(service: Sanad) -> None:
    answer = service.ask(QUESTION, extractive=True)
    story = [c for c in answer.citations if c.doc_id in {HAFTAR_RUSSIA, "copy1"}]
    assert story, answer
    for c in answer.citations:
        assert c.outlet == OUTLETS[c.doc_id]
    cited = story[0]
    assert [(m.doc_id, m.outlet) for m in cited.also] == [
        (d, OUTLETS[d]) for d in ({HAFTAR_RUSSIA, "copy1"} - {cited.doc_id})]
    wire = answer.to_dict()["citations"]
    assert [c["outlet"] for c in wire] == [OUTLETS[c.doc_id] for c in answer.citations]
    assert wire[answer.citations.index(cited)]["also"][0]["outlet"] == cited.also[0].outlet
    line = render_sources(answer)[answer.citations.index(cited)]
    assert line.startswith(f"[{cited.n}] {cited.title} — {OUTLETS[cited.doc_id]}, ")


# --- what is stored: Chroma rows and the cluster file --------------------------------------------------
def test_chroma_chunk_rows_keep_the_outlet_and_old_rows_have_none() -> None:
    chunk = Chunk("a::0", "a", "عنوان", "نص", 0, 2, 0, "/data/a.txt", "2016-11-29", outlet="الجزيرة نت")
    meta = chunk_meta(chunk)
    assert meta["outlet"] == "الجزيرة نت" and all(v is not None for v in meta.values())  # Chroma takes no None
    assert to_chunk("a::0", "نص", meta) == chunk
    assert to_chunk("a::0", "نص", {k: v for k, v in meta.items() if k != "outlet"}).outlet is None
    assert to_chunk("a::0", "نص", chunk_meta(replace(chunk, outlet=None))).outlet is None


def test_cluster_file_keeps_outlets_and_reads_a_file_written_before_them(tmp_path: Path) -> None:
    original = replace(sample(HAFTAR_RUSSIA), outlet="بوابة الوسط")
    copy = replace(load_file(_write(tmp_path, "copy1.txt", republish(original, 1)))[0][0], outlet="Libya Observer")
    path = tmp_path / "dups.npz"
    NearDuplicateIndex(path).add([original, copy])
    later = NearDuplicateIndex(path).snapshot()  # another process reads the file
    assert {d: (s.cluster, s.outlet) for d, s in later.items()} == {
        HAFTAR_RUSSIA: (HAFTAR_RUSSIA, "بوابة الوسط"), "copy1": (HAFTAR_RUSSIA, "Libya Observer")}
    with np.load(path, allow_pickle=False) as data:
        old = {k: data[k] for k in data.files}
    old["text"] = old["text"][:, :4]  # the four columns written before outlets were kept
    np.savez(path, **old)
    assert {d: (s.cluster, s.outlet) for d, s in NearDuplicateIndex(path).snapshot().items()} == {
        HAFTAR_RUSSIA: (HAFTAR_RUSSIA, None), "copy1": (HAFTAR_RUSSIA, None)}


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- CLI timeline and docs ---------------------------------------------------------------------------------
def test_cli_timeline_lines_name_the_outlet_and_the_other_outlets() -> None:
    copy = SameStory("d9", "d1", "Haftar in Moscow", "/news/libya-observer.txt", "2016-11-29", "Libya Observer")
    bare = SameStory("d8", "d1", "حفتر", "/news/afrigate.html", None)
    cite = Citation(1, "d1", "حفتر في موسكو", "/news/alwasat.txt", "وصل حفتر إلى موسكو.", 0, 19, 0.9,
                    "2016-11-18", also=(copy, bare), outlet="بوابة الوسط")
    lines = render_timeline(Timeline("كيف تطورت علاقة حفتر بروسيا؟", (TimelineEvent("2016-11-18", "day", "published",
                                                                                   cite),)))
    assert lines[0].endswith("حفتر في موسكو — بوابة الوسط, 2016-11-18 (d1; also reported by Libya Observer, "
                             "afrigate.html)")


def test_sanad_docs_prints_an_outlet_column(service: Sanad, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AppState, "service", lambda self, **_: service)
    cli_main._register_commands()
    out = CliRunner().invoke(cli_main.app, ["docs"], env={"COLUMNS": "250"}).stdout
    header = next(line for line in out.splitlines() if " id " in line and "outlet" in line)
    assert header.index("title") < header.index("outlet") < header.index("chunks")
    assert "بوابة الوسط" in out and "Libya Observer" in out
    listed = json.loads(CliRunner().invoke(cli_main.app, ["docs", "--json"]).stdout)
    assert {d["doc_id"]: d["outlet"] for d in listed} == OUTLETS
