"""Ingest with real Chroma + MiniLM: incremental runs, prune, kill -9 recovery, model mismatch, CLI shapes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rag.errors import ModelMismatchError
from rag.retrieval.keyword import BM25Index
from rag.retrieval.store import ChromaStore
from rag.wiring import build_service
from tests.conftest import SHARED, minilm_dir

pytestmark = pytest.mark.integration

DEV_CORPUS = SHARED / "eval" / "dev" / "corpus_news_dev"  # short articles: a quick test


@pytest.fixture()
def articles(tmp_path: Path, seed_dir: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(seed_dir, folder)
    return folder


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANAD_")}
    env.update({"SANAD_DATA_DIR": str(data_dir), "SANAD_EMBED_MODEL": str(minilm_dir()),
                "SANAD_OLLAMA_HOST": "http://127.0.0.1:9", "SANAD_OLLAMA_TIMEOUT": "2", "HF_HUB_OFFLINE": "1"})
    env.update(extra)
    return env


def _cli(args: list[str], env: dict[str, str]) -> Any:
    from cli.main import _register_commands, app

    if not any(c.name == "ingest" for c in app.registered_commands):
        _register_commands()
    return CliRunner().invoke(app, args, env=env)


def assert_consistent(store: ChromaStore, settings: Any) -> None:
    """Every record complete, every chunk belongs to one, counts agree, keyword index == chunk set,
    no write left in the journal (nothing hidden, nothing half-written)."""
    from rag.retrieval.store_rows import journal

    assert not journal(store.collection_meta())
    assert store.count_chunks() == store._chunks.count()
    records = store.doc_records()
    assert all(r["status"] == "complete" for r in records.values()), records
    chunks = list(store.iter_chunks())
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids))
    assert len({(c.doc_id, c.ordinal) for c in chunks}) == len(chunks), "duplicate chunks"
    assert {c.doc_id for c in chunks} <= set(records), "orphan chunks"
    for doc_id, rec in records.items():
        assert rec["chunks"] == sum(1 for c in chunks if c.doc_id == doc_id), doc_id
    keyword = BM25Index(settings.keyword_dir, store)
    keyword.refresh_if_stale()
    assert len(keyword) == len(chunks)


def test_incremental_ingest_update_and_prune(make_settings, articles: Path) -> None:
    settings = make_settings()
    service = build_service(settings, load_llm=False)
    first = service.ingest([articles])
    assert len(first.added) == 5 and first.chunks_embedded == service.store.count_chunks() > 0

    again = service.ingest([articles])
    assert len(again.unchanged) == 5 and again.chunks_embedded == 0

    target = sorted(articles.glob("*.txt"))[1]
    doc_id = target.stem
    old_ids = set(service.store.chunk_ids(doc_id))
    target.write_text(target.read_text(encoding="utf-8")[:1500] + "\n\nفقرة جديدة أضيفت للتحديث.\n", encoding="utf-8")
    updated = service.ingest([articles])
    assert updated.updated == [doc_id] and len(updated.unchanged) == 4
    article = service.article(doc_id)
    assert article.text.endswith("فقرة جديدة أضيفت للتحديث.")
    fresh = build_service(make_settings(data_dir=settings.data_dir.parent / "fresh"), load_llm=False)
    fresh.ingest([target])  # what a clean ingest of the new version gives
    new_ids = set(service.store.chunk_ids(doc_id))
    assert new_ids == set(fresh.store.chunk_ids(doc_id)) and len(new_ids) < len(old_ids), "stale chunks left"
    assert [c.text for c in service.store.get_chunks(sorted(new_ids))] == \
        [c.text for c in fresh.store.get_chunks(sorted(new_ids))]
    assert updated.chunks_embedded == len(new_ids)

    removed_file = sorted(articles.glob("*.txt"))[0]
    removed_file.unlink()
    assert not service.ingest([articles]).removed
    pruned = service.ingest([articles], prune=True)
    assert pruned.removed == [removed_file.stem]
    assert len(service.documents()) == 4
    assert_consistent(service.store, settings)


def test_killed_ingest_recovers_without_duplicates_or_orphans(make_settings, tmp_path: Path) -> None:
    files = sorted(DEV_CORPUS.glob("*.txt"))[:40]
    if len(files) < 40:
        pytest.skip("dev corpus not available")
    folder = tmp_path / "dev"
    folder.mkdir()
    for f in files[:12]:
        shutil.copy(f, folder)
    settings = make_settings()
    env = _env(settings.data_dir, SANAD_EMBED_BATCH_SIZE="4")
    command = [sys.executable, "-m", "cli.main", "ingest", str(folder)]
    root = Path(__file__).resolve().parents[2]
    subprocess.run(command, env=env, cwd=root, check=True, capture_output=True, timeout=600)

    for f in files[12:]:
        shutil.copy(f, folder)
    sentinel = tmp_path / "frozen"
    frozen = [sys.executable, "-m", "tests.integration.freeze_ingest", str(sentinel), "chunks", "ingest", str(folder)]
    log = tmp_path / "frozen.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(frozen, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 600
    while not sentinel.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sentinel.exists(), f"the ingest never reached its first chunk write: {log.read_text()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    store = ChromaStore.from_settings(settings)
    records = store.doc_records()
    assert len(records) == 12 and all(r["status"] == "complete" for r in records.values())
    half_indexed = sorted({t.doc_id for t in store.chunk_tags(doc_ids=[f.stem for f in files])} - set(records))
    assert half_indexed, "the kill left no half-written article to clean up"
    assert not {c.doc_id for c in store.iter_chunks()} - set(records), "a half-written article is served"
    (folder / f"{half_indexed[0]}.txt").unlink()  # deleted while Sanad was down: its chunks must go
    del store

    result = subprocess.run(command + ["--json"], env=env, cwd=root, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == 27 and report["unchanged"] == 12
    store = ChromaStore.from_settings(settings)
    assert len(store.doc_records()) == 39 and half_indexed[0] not in store.doc_records()
    assert not store.chunk_tags(doc_ids=[half_indexed[0]]), "its chunks are gone"
    assert_consistent(store, settings)


def test_model_mismatch_is_refused(make_settings, articles: Path, tmp_path: Path) -> None:
    settings = make_settings()
    build_service(settings, load_llm=False).ingest([articles])
    with pytest.raises(ModelMismatchError) as info:
        build_service(make_settings(embed_passage_prefix="passage: "), load_llm=False).ingest([articles])
    assert "passage_prefix" in str(info.value) and "sanad reset --yes" in (info.value.hint or "")

    result = _cli(["ingest", str(articles)], _env(settings.data_dir, SANAD_CHUNK_SIZE="120"))
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and "Loading weights" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "chunk_size" in lines[0]


def test_cli_json_shapes_and_failure_exit_code(make_settings, articles: Path) -> None:
    env = _env(make_settings().data_dir)
    (articles / "broken.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    result = _cli(["ingest", str(articles), "--json"], env)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"added", "updated", "unchanged", "removed", "chunks_embedded", "failed"}
    assert report["added"] == 5 and report["failed"][0]["path"].endswith("broken.txt")
    assert any(line.startswith("skipped ") and "broken.txt" in line for line in result.stderr.splitlines())

    docs = json.loads(_cli(["docs", "--json"], env).stdout)
    assert len(docs) == 5 and set(docs[0]) == {"doc_id", "title", "chunks", "published", "published_source", "source",
                                                  "outlet", "cluster"}
    no_model = _cli(["docs", "--json"], {**env, "SANAD_EMBED_MODEL": "/no/such/model"})
    assert json.loads(no_model.stdout) == docs and not no_model.stderr.strip(), "listing loads no model"

    status = json.loads(_cli(["status", "--json"], env).stdout)
    assert status["documents"] == 5 and status["embed_mode"] == "hybrid" and status["chroma_mode"] == "embedded"
    assert status["ollama_status"] == "unreachable"

    (articles / "broken.txt").unlink()
    summary = _cli(["ingest", str(articles)], env)
    assert summary.exit_code == 0 and summary.stdout.startswith("added 0 · updated 0 · unchanged 5 · removed 0")

    assert _cli(["remove", docs[0]["doc_id"]], env).exit_code == 0
    assert _cli(["remove", docs[0]["doc_id"]], env).exit_code == 2
    assert _cli(["reset"], env).exit_code == 2
    assert _cli(["reset", "--yes"], env).exit_code == 0
    assert json.loads(_cli(["docs", "--json"], env).stdout) == []


def test_keyword_only_mode_when_the_model_is_missing(make_settings, articles: Path, tmp_path: Path) -> None:
    env = _env(make_settings().data_dir, SANAD_EMBED_MODEL=str(tmp_path / "no-such-model"))
    result = _cli(["ingest", str(articles)], env)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "keyword-only" in warnings[0] and "SANAD_EMBED_MODEL" in warnings[0]
    assert result.stdout.startswith("added 5")
    status = json.loads(_cli(["status", "--json"], env).stdout)
    assert status["embed_mode"] == "keyword-only" and status["chunks"] > 0

    upgraded = _cli(["ingest", str(articles)], _env(make_settings().data_dir))  # tests/integration/test_backfill.py
    assert upgraded.exit_code == 0 and "adding them to" in upgraded.stderr


def test_chroma_store_filters_meta_and_registry(make_settings) -> None:
    from rag.types import Article, Chunk, SearchFilters

    store = ChromaStore.from_settings(make_settings())
    dated = {"a": "2024-01-10", "b": "2024-06-01", "c": None}
    for doc_id, published in dated.items():
        article = Article(doc_id, f"عنوان {doc_id}", f"نص {doc_id}", f"{doc_id}.txt", published)
        store.put_doc(article, 1, "complete")
        chunk = Chunk(f"{doc_id}::0", doc_id, article.title, article.text, 0, len(article.text), 0, article.source,
                      published)
        store.add_chunks([chunk], [[1.0, 0.0] if doc_id == "a" else [0.6, 0.8]])

    def ids(filters: SearchFilters | None = None) -> list[str]:
        return [c.doc_id for c, _ in store.query([1.0, 0.0], 5, filters)]

    assert ids()[0] == "a" and sorted(ids()) == ["a", "b", "c"]
    assert store.query([1.0, 0.0], 1)[0][1] == pytest.approx(1.0, abs=1e-4), "score is cosine similarity"
    assert sorted(ids(SearchFilters(doc_ids=("b", "c")))) == ["b", "c"]
    assert ids(SearchFilters(sources=("c.txt",))) == ["c"]
    assert ids(SearchFilters(published_from="2024-02-01")) == ["b"]
    assert ids(SearchFilters(published_to="2024-03")) == ["a"], "undated chunks never match a date range"

    store.update_collection_meta({"sanad:keyword_version": "v1"})
    store.ensure_signature({"embed_model": "m", "chunk_size": 200})
    store.update_collection_meta({"other": 1})
    meta = store.collection_meta()
    assert meta["sanad:keyword_version"] == "v1" and meta["sanad:embed_model"] == "m" and meta["other"] == 1
    with pytest.raises(ModelMismatchError):
        store.ensure_signature({"embed_model": "m", "chunk_size": 100})
    with pytest.raises(ModelMismatchError):
        store.query([1.0, 0.0, 0.0], 3)

    article = store.get_article("c")
    assert article is not None and article.published is None and article.url is None and article.text == "نص c"
    assert [d.doc_id for d in store.documents()] == ["b", "a", "c"], "newest first, undated last"
    store.delete_doc("a")
    assert store.get_article("a") is None and store.chunk_ids("a") == [] and store.count_chunks() == 2
    store.drop()
    assert store.count_chunks() == 0 and store.doc_records() == {} and store.collection_meta() == {}


def test_stored_vectors_are_read_back_for_the_citation_check(make_settings, articles: Path) -> None:
    service = build_service(make_settings(), load_llm=False)
    service.ingest([articles])
    ids = service.store.chunk_ids()[:3]
    vectors = service.store.chunk_vectors([*ids, "no-such-chunk"])
    assert set(vectors) == set(ids)
    chunk = service.store.get_chunks(ids[:1])[0]
    assert service.embedder is not None
    fresh = service.embedder.embed_passages([f"{chunk.title}\n{chunk.text}"])[0]
    assert sum(a * b for a, b in zip(vectors[ids[0]], fresh)) > 0.999  # the very vector the index holds


def test_one_write_larger_than_chromas_maximum_batch_is_split(make_settings) -> None:
    from rag.types import Chunk

    store = ChromaStore.from_settings(make_settings())
    n = 6000  # > 5,461: the local backend's maximum batch size
    chunks = [Chunk(f"big::{i}", "big", "عنوان", f"نص {i}", 0, 5, i, "big.txt") for i in range(n)]
    store.add_chunks(chunks, [[1.0, float(i % 7)] for i in range(n)])
    assert store.count_chunks() == n and store.chunk_ids("big")[-1] == f"big::{n - 1}"


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_oversized_articles_are_refused_before_any_write(make_settings, articles: Path, tmp_path: Path) -> None:
    settings = make_settings()
    service = build_service(settings, load_llm=False)
    service.ingest([articles])
    before = (_tree_bytes(settings.data_dir), service.store.count_chunks(), sorted(service.store.doc_records()))
    dump = tmp_path / "dump.txt"
    with dump.open("w", encoding="utf-8") as out:  # 50 MB of Arabic text, within no article limit
        line = "قال المتحدث إن الاجتماع سيعقد غدا في العاصمة لبحث الأوضاع. " * 20 + "\n"
        while out.tell() < 50_000_000:
            out.write(line)
    feed = tmp_path / "feed.jsonl"
    big = json.dumps({"id": "huge", "title": "ضخم", "text": "كلمة " * 1_200_000}, ensure_ascii=False)
    small = json.dumps({"id": "small", "title": "صغير", "text": "خبر قصير عن الاجتماع."}, ensure_ascii=False)
    feed.write_text(big + "\n" + small + "\n", encoding="utf-8")
    report = service.ingest([dump, feed])
    errors = {Path(f.path).name: f.error for f in report.failed}
    assert set(errors) == {"dump.txt", "feed.jsonl"} and report.added == ["small"]
    assert all("SANAD_MAX_ARTICLE_BYTES" in e and "MB limit" in e for e in errors.values())
    service.remove("small")
    after = (_tree_bytes(settings.data_dir), service.store.count_chunks(), sorted(service.store.doc_records()))
    assert after[1:] == before[1:] and after[0] < before[0] + 2_000_000  # no 300 MB of orphaned rows


def test_two_ingest_processes_on_one_data_folder_lose_nothing(make_settings, tmp_path: Path) -> None:
    """Two `sanad ingest` runs of disjoint halves at once: both finish, every chunk is in both indexes,
    and every article is found by its own title (before the cross-process lock, ~140 chunks went missing
    from the keyword index)."""
    files = sorted(DEV_CORPUS.glob("*.txt"))[40:80]
    halves = [tmp_path / "half0", tmp_path / "half1"]
    for n, folder in enumerate(halves):
        folder.mkdir()
        for f in files[n::2]:
            shutil.copy(f, folder)
    settings = make_settings()
    env = _env(settings.data_dir, SANAD_EMBED_BATCH_SIZE="4")
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-m", "cli.main", "ingest", str(folder)], env=env, cwd=root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for folder in halves]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all(out.startswith("added 20") for out, _ in outputs), outputs
    store = ChromaStore.from_settings(settings)
    assert len(store.doc_records()) == 40
    assert_consistent(store, settings)
    service = build_service(settings, load_llm=False)
    for info in service.documents():
        hits = service.search(info.title, k=5, mode="keyword").hits
        assert info.doc_id in {h.chunk.doc_id for h in hits}, info.title
