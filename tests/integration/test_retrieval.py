"""Hybrid retrieval through the real pipeline: Chroma (embedded) + MiniLM + BM25Index over the five sample
articles and 40 dev news distractors that also mention Libya (ANT corpus, Chouigui et al., Apache-2.0)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.retrieval.keyword import VERSION_KEY
from rag.settings import Settings
from rag.types import SearchFilters
from rag.wiring import build_service
from tests.conftest import SEEDS, SHARED, minilm_dir

pytestmark = pytest.mark.integration

NEWS = SHARED / "eval" / "dev" / "corpus_news_dev"
DISTRACTORS = 40

# Questions spelled differently from their article: hamza dropped, ة→ه, ى/ي, Arabic-Indic digits, clitics.
VARIANT_QUESTIONS = [
    ("من أي مطار فى بنغازي اقلعت الطائره التى نقلت جنود حفتر الى مصر؟", "000_ffaf197de1d2d33f"),
    ("هل وافق مجلس حلف شمال الاطلسي على طلب السراج باعاده تاهيل اجهزه الامن؟", "001_0bab15b94e026df5"),
    ("ماذا ناقش المشير حفتر مع قائد افريكوم بعد لقائه المبعوثه الامميه ستيفاني خورى؟", "002_7500bd3d4b4e77f2"),
    ("لماذا استنجد حفتر بروسيا وما الذى طلبه من موسكو لقواته؟", "003_a8c3a090628d7966"),
    ("ماذا كشفت صحيفه النهار عن انفتاح قيادات الجيش الوطنى على التعاون مع الولايات المتحده؟", "004_be4ab16bc62865bc"),
]


def _distractors(folder: Path) -> Path:
    """The first news articles mentioning Libya, as one JSONL with their publication dates."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for path in sorted(NEWS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        if "ليبيا" not in text:
            continue
        title, _, body = text.partition("\n\n")
        month = 1 + len(lines) % 12
        lines.append(json.dumps({"id": path.stem, "title": title.strip(), "text": body.strip(),
                                 "published": f"2017-{month:02d}-15"}, ensure_ascii=False))
        if len(lines) == DISTRACTORS:
            break
    target = folder / "news.jsonl"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _settings(data_dir: Path, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, embed_model=str(minilm_dir()), ollama_host="http://127.0.0.1:9",
                    ollama_timeout=2.0, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("retrieval")
    seeds = root / "seeds"
    shutil.copytree(SEEDS, seeds)
    news = _distractors(root / "news")
    data_dir = root / "data"
    service = build_service(_settings(data_dir), load_llm=False)
    report = service.ingest([seeds, news])
    assert not report.failed and len(report.added) == 5 + DISTRACTORS
    return {"root": root, "seeds": seeds, "news": news, "data": data_dir}


@pytest.fixture(scope="module")
def service(corpus: dict[str, Path]):  # type: ignore[no-untyped-def]
    return build_service(_settings(corpus["data"]), load_llm=False)


@pytest.mark.parametrize(("question", "doc_id"), VARIANT_QUESTIONS)
def test_variant_spelling_ranks_its_article_first(service, question: str, doc_id: str) -> None:  # type: ignore[no-untyped-def]
    result = service.search(question, k=5)
    assert result.hits[0].chunk.doc_id == doc_id
    assert result.hits[0].keyword_score is not None


@pytest.mark.parametrize(("question", "doc_id"), VARIANT_QUESTIONS[:2])
def test_keyword_mode_alone_also_finds_it(service, question: str, doc_id: str) -> None:  # type: ignore[no-untyped-def]
    result = service.search(question, k=3, mode="keyword")
    assert result.hits[0].chunk.doc_id == doc_id
    assert all(h.dense_score is None for h in result.hits)


def test_hits_point_into_the_article_text(service) -> None:  # type: ignore[no-untyped-def]
    hit = service.search(VARIANT_QUESTIONS[3][0], k=1).hits[0]
    article = service.article(hit.chunk.doc_id)
    assert article.text[hit.chunk.start:hit.chunk.end] == hit.chunk.text


def test_filters_on_both_sides(service, corpus: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    question = "حفتر روسيا ليبيا"
    only = SearchFilters(doc_ids=("003_a8c3a090628d7966",))
    for mode in ("keyword", "dense", "hybrid"):
        hits = service.search(question, k=10, filters=only, mode=mode).hits
        assert hits and {h.chunk.doc_id for h in hits} == {"003_a8c3a090628d7966"}
    source = str(corpus["news"])
    by_source = service.search(question, k=10, filters=SearchFilters(sources=(source,))).hits
    assert by_source and {h.chunk.source for h in by_source} == {source}
    march = SearchFilters(published_from="2017-03-01", published_to="2017-03-31")
    for mode in ("keyword", "dense"):
        hits = service.search(question, k=10, filters=march, mode=mode).hits
        assert hits and all((h.chunk.published or "").startswith("2017-03") for h in hits)


def test_replace_remove_and_other_process_stay_in_sync(corpus: dict[str, Path], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(corpus["data"], data_dir)
    seeds = tmp_path / "seeds"
    shutil.copytree(corpus["seeds"], seeds)
    writer = build_service(_settings(data_dir), load_llm=False)
    reader = build_service(_settings(data_dir), load_llm=False)  # another API process on the same index
    question = "ما الذي يحدث في ملعب رادس بين الترجي والنجم الساحلي؟"
    assert reader.search(question, k=1, mode="keyword").hits[0].chunk.doc_id != "003_a8c3a090628d7966"
    assert not writer.ingest([seeds]).failed  # a copy of the indexed files (same content) takes their place
    target = seeds / "003_a8c3a090628d7966.txt"
    target.write_text("مباراة الترجي والنجم\n\nفاز الترجي على النجم الساحلي في ملعب رادس بهدفين.\n",
                      encoding="utf-8")
    assert "003_a8c3a090628d7966" in writer.ingest([seeds]).updated
    replaced = reader.search(question, k=3)
    assert replaced.hits[0].chunk.doc_id == "003_a8c3a090628d7966"
    assert all("حفتر" not in h.chunk.text for h in reader.search("حفتر يستنجد بروسيا", k=10, mode="keyword").hits
               if h.chunk.doc_id == "003_a8c3a090628d7966")
    writer.remove("003_a8c3a090628d7966")
    gone = reader.search(question, k=10)
    assert "003_a8c3a090628d7966" not in {h.chunk.doc_id for h in gone.hits}
    assert reader.retriever.keyword.version == writer.store.collection_meta()[VERSION_KEY]


def test_lost_keyword_folder_is_rebuilt_from_chroma(corpus: dict[str, Path], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(corpus["data"], data_dir)
    settings = _settings(data_dir)
    shutil.rmtree(settings.keyword_dir)
    result = build_service(settings, load_llm=False).search(VARIANT_QUESTIONS[1][0], k=1, mode="keyword")
    assert result.hits[0].chunk.doc_id == VARIANT_QUESTIONS[1][1]
    assert (settings.keyword_dir / "CURRENT").is_file()


def test_keyword_only_install_searches(corpus: dict[str, Path], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "kw-only", embed_model=str(tmp_path / "no-such-model"),
                        ollama_host="http://127.0.0.1:9")  # type: ignore[arg-type]
    service = build_service(settings, load_llm=False)
    assert service.embedder is None
    service.ingest([corpus["seeds"]])
    result = service.search(VARIANT_QUESTIONS[4][0], k=3)
    assert result.hits[0].chunk.doc_id == VARIANT_QUESTIONS[4][1]
    assert all(h.dense_score is None for h in result.hits)


OFF_TOPIC = ["ما هي وصفة تحضير الكسكسي بالسمك في صفاقس؟", "كم عدد لاعبي فريق كرة السلة؟"]


def _refusal_threshold(service) -> float:  # type: ignore[no-untyped-def]
    """The threshold the service refuses with: the fitted MiniLM profile the composition root gave both the
    retriever (its calibration) and the answerer (its threshold)."""
    profile = service.answerer.profile
    assert profile is service.retriever.profile and profile.known and profile.key == "all-minilm-l6-v2"
    return float(profile.refusal_threshold)


@pytest.mark.parametrize(("question", "doc_id"), VARIANT_QUESTIONS)
def test_answerable_question_clears_the_refusal_threshold(service, question: str, doc_id: str) -> None:  # type: ignore[no-untyped-def]
    result = service.search(question)
    assert result.hits[0].chunk.doc_id == doc_id
    assert result.confidence >= _refusal_threshold(service)
    answer = service.ask(question, extractive=True)
    assert not answer.refused and doc_id in {c.doc_id for c in answer.citations}


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_question_falls_below_the_refusal_threshold_and_is_refused(service, question: str) -> None:  # type: ignore[no-untyped-def]
    result = service.search(question)
    assert result.hits  # the distractors always offer something: the refusal comes from the confidence
    assert result.confidence < _refusal_threshold(service)
    answer = service.ask(question, extractive=True)
    assert answer.refused and not answer.citations
    assert any("refusal threshold" in note for note in answer.notes)


def test_cli_search_json_schema(corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import _register_commands, app

    _register_commands()
    monkeypatch.setenv("SANAD_DATA_DIR", str(corpus["data"]))
    monkeypatch.setenv("SANAD_EMBED_MODEL", str(minilm_dir()))
    monkeypatch.setenv("SANAD_OLLAMA_HOST", "http://127.0.0.1:9")
    result = CliRunner().invoke(app, ["search", VARIANT_QUESTIONS[2][0], "-k", "3", "--json",
                                      "--from", "2000", "--to", "2030-12-31", "--mode", "keyword"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"query", "confidence", "lang", "keyword_query", "hits"}
    assert 0.0 <= data["confidence"] <= 1.0 and data["lang"] == "ar"
    assert all(h["published"] for h in data["hits"])  # the date range drops undated seeds
    keys = {"rank", "chunk_id", "doc_id", "title", "source", "published", "outlet", "start", "end", "text", "score",
            "keyword_score", "dense_score", "also"}
    assert data["hits"] and all(set(h) == keys for h in data["hits"])
    assert [h["rank"] for h in data["hits"]] == list(range(1, len(data["hits"]) + 1))
    plain = CliRunner().invoke(app, ["search", "حفتر", "-k", "2", "--doc", "003_a8c3a090628d7966"])
    assert plain.exit_code == 0 and "003_a8c3a090628d7966" in plain.stdout
    assert re.search(r"\[\d+:\d+\]", plain.stdout)
