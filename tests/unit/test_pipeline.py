"""IngestPipeline with in-memory fakes: incremental logic, prune, duplicate ids, crash recovery."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from rag.dates import day_number
from rag.errors import ModelMismatchError
from rag.ingestion.pipeline import IngestPipeline
from rag.ingestion.versions import lease
from rag.retrieval.embedder import KEYWORD_ONLY_MODEL
from rag.retrieval.store import filters_to_where
from rag.retrieval.store_rows import WRITES_KEY, ChunkTag, is_visible, journal, journal_json, version_of
from rag.settings import Settings
from rag.types import Article, Chunk, DocInfo, FileFailure, SearchFilters


class FakeStore:
    """The VectorStore protocol over dicts; ensure_signature mirrors ChromaStore's rule."""

    location = "memory"

    def __init__(self) -> None:
        self.chunks: dict[str, tuple[Chunk, list[float]]] = {}
        self.docs: dict[str, tuple[Article, dict[str, Any]]] = {}
        self.meta: dict[str, Any] = {}
        self.gens: dict[str, str] = {}

    def ensure_signature(self, signature: Mapping[str, Any]) -> None:
        for key, value in signature.items():
            if "sanad:" + key in self.meta and self.meta["sanad:" + key] != value:
                raise ModelMismatchError(f"{key} differs", hint="reset")
            self.meta["sanad:" + key] = value

    def collection_meta(self) -> dict[str, Any]:
        return dict(self.meta)

    def update_collection_meta(self, values: Mapping[str, Any]) -> None:
        self.meta.update(values)

    def add_chunks(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]], *, gen: str = "") -> None:
        assert len(chunks) == len(embeddings)
        for chunk, vector in zip(chunks, embeddings):
            assert chunk.chunk_id not in self.chunks, f"duplicate chunk id {chunk.chunk_id}"
            self.chunks[chunk.chunk_id] = (chunk, list(vector))
            self.gens[chunk.chunk_id] = gen

    def delete_doc_chunks(self, doc_id: str) -> None:
        self.delete_chunks([cid for cid, (c, _) in self.chunks.items() if c.doc_id == doc_id])

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        for cid in chunk_ids:
            self.chunks.pop(cid, None)

    def chunk_tags(self, *, doc_ids: Sequence[str] = (), gen: str | None = None) -> list[ChunkTag]:
        return [ChunkTag(cid, c.doc_id, version_of(cid), self.gens.get(cid, "")) for cid, (c, _) in self.chunks.items()
                if (doc_ids or gen is not None) and (not doc_ids or c.doc_id in doc_ids)
                and (gen is None or self.gens.get(cid, "") == gen)]

    def visible(self) -> list[Chunk]:
        """What readers see: ChromaStore's journal rule (store_rows.is_visible)."""
        seen = is_visible(self.meta)
        return [c for cid, (c, _) in self.chunks.items() if seen(self.gens.get(cid, ""), version_of(cid))]

    def chunk_ids(self, doc_id: str | None = None) -> list[str]:
        return [c.chunk_id for c in self.visible() if doc_id is None or c.doc_id == doc_id]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        return [self.chunks[c][0] for c in chunk_ids if c in self.chunks]

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[Chunk]:
        return iter(self.visible())

    def query(self, embedding: Sequence[float], k: int, filters: SearchFilters | None = None) -> list[tuple[Chunk, float]]:
        return []

    def put_doc(self, article: Article, chunks: int, status: str) -> None:
        self.put_docs([(article, chunks)], status)

    def put_docs(self, items: Sequence[tuple[Article, int]], status: str,
                 versions: Mapping[str, tuple[str, str]] | None = None) -> None:
        for article, chunks in items:
            ver, gen = (versions or {}).get(article.doc_id, ("", ""))
            self.docs[article.doc_id] = (article, {"doc_id": article.doc_id, "title": article.title,
                                                   "source": article.source, "content_hash": article.content_hash,
                                                   "chunks": chunks, "status": status, "ver": ver, "gen": gen})

    def delete_doc(self, doc_id: str) -> None:
        self.delete_doc_chunks(doc_id)
        self.docs.pop(doc_id, None)

    def doc_records(self) -> dict[str, dict[str, Any]]:
        return {k: dict(rec) for k, (_, rec) in self.docs.items()}

    def get_article(self, doc_id: str) -> Article | None:
        return self.docs[doc_id][0] if doc_id in self.docs else None

    def documents(self) -> list[DocInfo]:
        return [DocInfo(a.doc_id, a.title, r["chunks"], a.published, a.source) for a, r in self.docs.values()]

    def count_chunks(self) -> int:
        return len(self.visible())

    def drop(self) -> None:
        self.chunks.clear()
        self.docs.clear()
        self.meta.clear()


class FakeKeyword:
    """Staged vs committed chunk ids, like the real index: only ``commit`` makes changes durable."""

    def __init__(self) -> None:
        self.staged: dict[str, str] = {}
        self.committed: dict[str, str] = {}
        self.commits = 0

    def add(self, chunks: Sequence[Chunk]) -> None:
        self.staged.update({c.chunk_id: c.doc_id for c in chunks})

    def remove_docs(self, doc_ids: Sequence[str]) -> None:
        self.staged = {c: d for c, d in self.staged.items() if d not in set(doc_ids)}

    def commit(self) -> None:
        self.committed = dict(self.staged)
        self.commits += 1

    def crash(self) -> None:
        """What a killed process leaves: the committed state only."""
        self.staged = dict(self.committed)

    def refresh_if_stale(self) -> None: ...

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[tuple[Chunk, float]]:
        return []


class FakeEmbedder:
    model_name = "fake-model"
    dim = 3
    max_tokens = 512
    passage_prefix = ""

    def __init__(self, fail_after_calls: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_after_calls = fail_after_calls

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if self.fail_after_calls is not None and len(self.calls) >= self.fail_after_calls:
            raise KeyboardInterrupt
        self.calls.append(list(texts))
        return [[1.0, float(len(t)), 0.0] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0, 0.0]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def signature(self) -> dict[str, Any]:
        return {"embed_model": self.model_name, "embed_dim": self.dim, "query_prefix": "", "passage_prefix": ""}

    @property
    def embedded(self) -> int:
        return sum(len(c) for c in self.calls)


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[FileFailure]]:
    files, failures = [], []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.rglob("*.txt")))
        elif p.exists():
            files.append(p)
        else:
            failures.append(FileFailure(str(p), "no such file or folder"))
    return files, failures


def load(path: Path) -> tuple[list[Article], list[FileFailure]]:
    """Title line, then the body; a file starting with BROKEN fails; 'id:' on line 1 overrides the id."""
    raw = path.read_text(encoding="utf-8")
    if raw.startswith("BROKEN"):
        return [], [FileFailure(str(path), "cannot decode")]
    title, _, body = raw.partition("\n")
    doc_id = title[3:].strip() if title.startswith("id:") else path.stem
    return [Article(doc_id=doc_id, title=title, text=body.strip(), source=str(path))], []


def chunker(article: Article, count: Any, size: int, overlap: int) -> list[Chunk]:
    """One chunk per paragraph (enough to exercise replacement and batching)."""
    chunks, pos = [], 0
    for i, para in enumerate(p for p in article.text.split("\n\n") if p.strip()):
        start = article.text.index(para, pos)
        pos = start + len(para)
        chunks.append(Chunk(f"{article.doc_id}::{i}", article.doc_id, article.title, para, start, pos, i,
                            article.source, paragraph=i, paragraph_end=i))
    return chunks


def write(folder: Path, name: str, paragraphs: int, word: str = "خبر") -> Path:
    path = folder / f"{name}.txt"
    path.write_text(f"عنوان {name}\n" + "\n\n".join(f"{word} {name} فقرة {i}" for i in range(paragraphs)),
                    encoding="utf-8")
    return path


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(6):
        write(folder, f"doc{i}", 2 + i % 3)
    return folder


DATA_DIR: list[Path] = []  # this test's data folder (uploads are kept there while their run lasts)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path) -> Iterator[Path]:
    DATA_DIR.append(tmp_path / "data")
    yield DATA_DIR[-1]
    DATA_DIR.clear()


def make(embedder: FakeEmbedder | None = None, store: FakeStore | None = None, keyword: FakeKeyword | None = None,
         **kwargs: Any) -> IngestPipeline:
    settings = Settings(data_dir=DATA_DIR[-1], embed_model="fake")
    return IngestPipeline(store or FakeStore(), keyword or FakeKeyword(), embedder, settings,
                          discover=discover, load=load, chunker=chunker, **kwargs)


def assert_consistent(pipe: IngestPipeline) -> None:
    """No orphans, every record complete, keyword index == chunk set, chunk counts match the records."""
    store, keyword = pipe.store, pipe.keyword
    assert isinstance(store, FakeStore) and isinstance(keyword, FakeKeyword)
    records = store.doc_records()
    assert all(r["status"] == "complete" for r in records.values())
    assert {c.doc_id for c, _ in store.chunks.values()} <= set(records)
    assert set(keyword.committed) == set(store.chunks)
    for doc_id, rec in records.items():
        assert rec["chunks"] == sum(1 for c, _ in store.chunks.values() if c.doc_id == doc_id)


def test_first_ingest_adds_everything_and_batches_across_articles(corpus: Path) -> None:
    embedder = FakeEmbedder()
    pipe = make(embedder, flush_chunks=100)
    report = pipe.ingest([corpus])
    assert sorted(report.added) == [f"doc{i}" for i in range(6)]
    assert report.chunks_embedded == embedder.embedded == len(pipe.store.chunks) == 18
    assert len(embedder.calls) == 1, "all articles' chunks should be embedded together"
    assert embedder.calls[0][0].startswith("عنوان doc0\n"), "embed text is title + newline + chunk"
    assert_consistent(pipe)


def test_reingest_unchanged_embeds_nothing(corpus: Path) -> None:
    embedder = FakeEmbedder()
    pipe = make(embedder)
    pipe.ingest([corpus])
    before = embedder.embedded
    report = pipe.ingest([corpus])
    assert len(report.unchanged) == 6 and not report.added and not report.updated
    assert embedder.embedded == before and report.chunks_embedded == 0


def test_changed_article_has_its_chunks_replaced(corpus: Path) -> None:
    embedder = FakeEmbedder()
    pipe = make(embedder)
    pipe.ingest([corpus])
    write(corpus, "doc4", 1, word="تحديث")  # 3 paragraphs -> 1
    report = pipe.ingest([corpus])
    assert report.updated == ["doc4"] and len(report.unchanged) == 5
    assert report.chunks_embedded == 1
    doc4 = [c for c, _ in pipe.store.chunks.values() if c.doc_id == "doc4"]
    assert len(doc4) == 1 and doc4[0].ordinal == 0 and "تحديث" in doc4[0].text
    assert doc4[0].chunk_id.startswith("doc4::") and doc4[0].chunk_id.endswith("::0")  # doc::version::ordinal
    assert_consistent(pipe)


def test_prune_removes_only_missing_articles_under_given_folders(corpus: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    write(other, "keep", 1)
    pipe = make(FakeEmbedder())
    pipe.ingest([corpus, other])
    (corpus / "doc1.txt").unlink()
    assert not pipe.ingest([corpus]).removed, "without --prune nothing is removed"
    report = pipe.ingest([corpus], prune=True)
    assert report.removed == ["doc1"]
    assert "doc1" not in pipe.store.docs and "keep" in pipe.store.docs
    assert_consistent(pipe)


def test_prune_spares_articles_whose_file_failed_to_read(corpus: Path) -> None:
    pipe = make(FakeEmbedder())
    pipe.ingest([corpus])
    (corpus / "doc2.txt").write_text("BROKEN", encoding="utf-8")
    report = pipe.ingest([corpus], prune=True)
    assert not report.removed and [f.error for f in report.failed] == ["cannot decode"]
    assert "doc2" in pipe.store.docs


def test_duplicate_doc_id_in_one_run_is_a_failure_for_the_second(corpus: Path) -> None:
    (corpus / "zz.txt").write_text("id:doc0\nنص آخر", encoding="utf-8")
    pipe = make(FakeEmbedder())
    report = pipe.ingest([corpus])
    assert len(report.added) == 6
    assert [f.path for f in report.failed] == [str(corpus / "zz.txt")]
    assert "duplicate doc id 'doc0'" in report.failed[0].error
    assert pipe.store.docs["doc0"][0].source == str(corpus / "doc0.txt")


def test_same_stem_in_another_folder_is_a_clear_failure_not_a_replacement(corpus: Path, tmp_path: Path) -> None:
    pipe = make(FakeEmbedder())
    pipe.ingest([corpus])
    other = tmp_path / "elsewhere"
    other.mkdir()
    write(other, "doc0", 1, word="مختلف")
    report = pipe.ingest([other])
    assert not report.added and not report.updated
    assert [f.path for f in report.failed] == [str(other / "doc0.txt")]
    assert "already taken by" in report.failed[0].error and "sanad remove doc0" in report.failed[0].error
    assert pipe.store.docs["doc0"][0].source == str(corpus / "doc0.txt")
    assert "مختلف" not in " ".join(c.text for c, _ in pipe.store.chunks.values())


def test_a_moved_file_takes_its_old_place(corpus: Path, tmp_path: Path) -> None:
    pipe = make(FakeEmbedder())
    pipe.ingest([corpus])
    moved = tmp_path / "moved"
    moved.mkdir()
    (corpus / "doc0.txt").rename(moved / "doc0.txt")
    report = pipe.ingest([moved])
    assert report.updated == ["doc0"] and not report.failed
    assert pipe.store.docs["doc0"][0].source == str(moved / "doc0.txt")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "doc0.txt").write_bytes((moved / "doc0.txt").read_bytes())  # a copy loses nothing: it takes over
    assert pipe.ingest([copy]).updated == ["doc0"] and pipe.store.docs["doc0"][0].source == str(copy / "doc0.txt")
    assert_consistent(pipe)


def test_interrupted_ingest_leaves_no_duplicates_or_orphans(corpus: Path) -> None:
    store, keyword = FakeStore(), FakeKeyword()
    crashing = make(FakeEmbedder(fail_after_calls=2), store, keyword, flush_chunks=3, commit_every=2)
    with pytest.raises(KeyboardInterrupt):
        crashing.ingest([corpus])
    keyword.crash()
    records = store.doc_records()
    assert 0 < len(records) < 6 and all(r["status"] == "complete" for r in records.values())
    assert len(store.chunks) > sum(r["chunks"] for r in records.values()), "no half-written article left"
    assert {c.doc_id for c in store.visible()} == set(records), "readers see only complete articles"
    assert [e["pid"] for e in journal(store.meta).values()] == [0], "a failed write gives up its lease"
    embedder = FakeEmbedder()
    pipe = make(embedder, store, keyword)
    report = pipe.ingest([corpus])
    assert len(report.added) + len(report.unchanged) == 6
    assert embedder.embedded == sum(r["chunks"] for d, r in store.doc_records().items() if d in report.added)
    assert_consistent(pipe)


class Killed(BaseException):
    """A kill -9 stand-in: nothing after it runs (no except clause of the pipeline catches it)."""


class KillableStore(FakeStore):
    """Dies before its ``kill_at``-th write (counted once ``armed``), as a killed process would."""

    def __init__(self) -> None:
        super().__init__()
        self.writes, self.kill_at, self.armed = 0, 0, False

    def _write(self) -> None:
        if self.armed:
            self.writes += 1
            if self.writes == self.kill_at:
                raise Killed

    def add_chunks(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]], *, gen: str = "") -> None:
        self._write()
        super().add_chunks(chunks, embeddings, gen=gen)

    def put_docs(self, items: Sequence[tuple[Article, int]], status: str,
                 versions: Mapping[str, tuple[str, str]] | None = None) -> None:
        self._write()
        super().put_docs(items, status, versions)

    def update_collection_meta(self, values: Mapping[str, Any]) -> None:
        self._write()
        super().update_collection_meta(values)

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        self._write()
        super().delete_chunks(chunk_ids)


def _versions(folder: Path) -> dict[str, dict[str, list[str]]]:
    """doc id -> chunk texts by chunk id, from a clean ingest of ``folder`` (what every run must end as)."""
    pipe = make(FakeEmbedder())
    pipe.ingest([folder])
    store = pipe.store
    assert isinstance(store, FakeStore)
    return {d: sorted(cid for cid, (c, _) in store.chunks.items() if c.doc_id == d) for d in store.docs}


def test_a_kill_at_any_write_of_an_update_serves_one_whole_version_then_the_next_run_equals_a_clean_ingest(
        tmp_path: Path) -> None:
    old_folder, new_folder = tmp_path / "old", tmp_path / "new"
    for folder, word in ((old_folder, "خبر"), (new_folder, "تحديث")):
        folder.mkdir()
        for i in range(6):
            write(folder, f"doc{i}", 2 + i % 3, word=word if i < 4 else "خبر")  # doc0-3 change, doc4-5 do not
    write(new_folder, "doc6", 2)  # and one article is new
    old, new = _versions(old_folder), _versions(new_folder)
    kill_at, outcomes = 0, []
    while True:
        kill_at += 1
        folder = tmp_path / f"run{kill_at}"
        shutil.copytree(old_folder, folder)
        store, keyword = KillableStore(), FakeKeyword()
        make(FakeEmbedder(), store, keyword, flush_chunks=3, commit_every=2).ingest([folder])
        shutil.rmtree(folder)
        shutil.copytree(new_folder, folder)
        store.kill_at, store.armed = kill_at, True
        try:
            make(FakeEmbedder(), store, keyword, flush_chunks=3, commit_every=2).ingest([folder])
            break  # no write left to die before
        except Killed:
            keyword.crash()
        store.armed = False
        for doc_id in new:  # each article: exactly its old or its new version, on both search sides, never neither
            dense = sorted(c.chunk_id for c in store.visible() if c.doc_id == doc_id)
            words = sorted(cid for cid, d in keyword.committed.items() if d == doc_id)
            assert dense in (old.get(doc_id, []), new[doc_id]) and words in (old.get(doc_id, []), new[doc_id])
            record = store.doc_records().get(doc_id)  # the registry names a version whose chunks are all stored
            stored = sorted(cid for cid in store.chunks if record and version_of(cid) == record["ver"])
            assert (record is None and doc_id not in old) or stored in (old.get(doc_id), new[doc_id])
        outcomes.append(sum(1 for d in new if version_of(new[d][0]) == store.doc_records().get(d, {}).get("ver")))
        again = make(FakeEmbedder(), store, keyword).ingest([folder])
        assert not again.failed and sorted(again.added + again.updated + again.unchanged) == sorted(new)
        assert {d: sorted(cid for cid, (c, _) in store.chunks.items() if c.doc_id == d) for d in store.docs} == new
        assert sorted(keyword.committed) == sorted(cid for ids in new.values() for cid in ids)
        assert not journal(store.meta), "every generation finished or repaired"
    assert kill_at > 10 and len(set(outcomes)) > 2, "kills landed before, inside and after the switch"


def test_a_live_writers_generation_is_left_alone_and_a_dead_ones_repaired(corpus: Path) -> None:
    store, keyword = FakeStore(), FakeKeyword()
    make(FakeEmbedder(), store, keyword).ingest([corpus])
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        article = Article("other", "عنوان آخر", "نص مقال آخر", "elsewhere.txt")
        chunk = Chunk("other::v1::0", "other", article.title, article.text, 0, len(article.text), 0, article.source)
        store.add_chunks([chunk], [[1.0, 0.0, 0.0]], gen="g-live")
        store.update_collection_meta({WRITES_KEY: journal_json({"g-live": {**lease(writer.pid), "open": True}})})
        make(FakeEmbedder(), store, keyword).ingest([corpus])  # another process's writer is working: hands off
        assert "other::v1::0" in store.chunks and "g-live" in journal(store.meta)
        assert "other" not in {c.doc_id for c in store.visible()}, "its half-written article stays hidden"
    finally:
        writer.kill()
        writer.wait()
    make(FakeEmbedder(), store, keyword).ingest([corpus])  # now its writer is dead: its leftovers go
    assert "other::v1::0" not in store.chunks and not journal(store.meta)
    assert_consistent(make(FakeEmbedder(), store, keyword))


def test_pending_article_whose_file_is_gone_is_removed(corpus: Path) -> None:
    store, keyword = FakeStore(), FakeKeyword()
    pipe = make(FakeEmbedder(), store, keyword)
    pipe.ingest([corpus])
    article = store.get_article("doc3")
    assert article is not None
    store.put_doc(article, 3, "pending")  # as if killed while re-indexing doc3
    (corpus / "doc3.txt").unlink()
    pipe.ingest([corpus])
    assert "doc3" not in store.docs and not any(c.doc_id == "doc3" for c, _ in store.chunks.values())
    assert_consistent(pipe)


def test_remove(corpus: Path) -> None:
    pipe = make(FakeEmbedder())
    pipe.ingest([corpus])
    assert pipe.remove("doc5") is True
    assert pipe.remove("doc5") is False
    assert "doc5" not in pipe.store.docs
    assert_consistent(pipe)


def test_keyword_only_mode_records_the_keyword_only_signature(corpus: Path) -> None:
    """A later ingest with a model adds the vectors: tests/unit/test_backfill.py."""
    store, keyword = FakeStore(), FakeKeyword()
    report = make(None, store, keyword).ingest([corpus])
    assert len(report.added) == 6 and report.chunks_embedded == 0
    assert store.meta["sanad:embed_model"] == KEYWORD_ONLY_MODEL
    assert all(vector == [1.0] for _, vector in store.chunks.values())


def test_an_index_with_vectors_refuses_a_keyword_only_ingest(corpus: Path) -> None:
    store = FakeStore()
    make(FakeEmbedder(), store).ingest([corpus])
    with pytest.raises(ModelMismatchError):
        make(None, store).ingest([corpus])


def test_signature_includes_chunking() -> None:
    sig = make(FakeEmbedder()).signature()
    assert sig["embed_model"] == "fake-model" and sig["chunk_size"] == 200 and sig["chunk_overlap"] == 40


def test_progress_reports_files_and_chunks(corpus: Path) -> None:
    events: list[tuple[str, int, int]] = []
    make(FakeEmbedder(), flush_chunks=5).ingest([corpus], progress=lambda s, d, t: events.append((s, d, t)))
    assert ("files", 6, 6) in events
    chunk_events = [e for e in events if e[0] == "chunks"]
    assert chunk_events and chunk_events[-1][1] == chunk_events[-1][2] == 18


def test_reset_drops_store_and_keyword(corpus: Path) -> None:
    pipe = make(FakeEmbedder())
    pipe.ingest([corpus])
    pipe.reset()
    assert not pipe.store.docs and not pipe.store.chunks and not pipe.keyword.staged


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-03-05", 20240305), ("2024-03-05T10:00:00", 20240305), ("2024", 20240101), (None, 0), ("غير معروف", 0),
])
def test_published_day(value: str | None, expected: int) -> None:
    assert day_number(value) == expected


def test_filters_to_where() -> None:
    assert filters_to_where(None) is None and filters_to_where(SearchFilters()) is None
    assert filters_to_where(SearchFilters(doc_ids=("a",))) == {"doc_id": {"$in": ["a"]}}
    where = filters_to_where(SearchFilters(sources=("s",), published_to="2024-01-31"))
    assert where == {"$and": [{"source": {"$in": ["s"]}}, {"published_day": {"$gte": 1}},
                              {"published_day": {"$lte": 20240131}}]}


# --- the embedder adapter, with a stand-in model (no torch) ---------------------------------------
class StubModel:
    max_seq_length = 128

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.tokenizer = lambda text, **kw: {"input_ids": text.split()}

    def get_embedding_dimension(self) -> int:
        return 2

    def encode(self, texts: list[str], **kwargs: Any) -> Any:
        import numpy as np

        assert kwargs["normalize_embeddings"] is True
        self.seen.extend(texts)
        return np.array([[0.6, 0.8] for _ in texts])


def test_embedder_adds_prefixes_and_reports_its_signature() -> None:
    from rag.retrieval.embedder import SentenceTransformerEmbedder

    model = StubModel()
    embedder = SentenceTransformerEmbedder(model, "m", query_prefix="query: ", passage_prefix="passage: ")  # type: ignore[arg-type]
    assert embedder.embed_passages(["أ", "ب"]) == [[0.6, 0.8], [0.6, 0.8]]
    assert embedder.embed_query("س") == [0.6, 0.8]
    assert model.seen == ["passage: أ", "passage: ب", "query: س"]
    assert embedder.count_tokens("كلمة وكلمة أخرى") == 3 and embedder.max_tokens == 128
    assert embedder.signature() == {"embed_model": "m", "embed_dim": 2, "query_prefix": "query: ",
                                    "passage_prefix": "passage: ", "embed_weights": "m"}


def test_missing_model_folder_falls_back_to_keyword_only(tmp_path: Path) -> None:
    from rag.retrieval.embedder import load_embedder

    embedder, message = load_embedder(Settings(data_dir=tmp_path, embed_model=str(tmp_path / "no-model")))
    assert embedder is None and message is not None
    assert "keyword-only" in message and "SANAD_EMBED_MODEL" in message and "\n" not in message


def test_uploads_record_their_name_not_the_temp_folder(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.uploads import ingest_uploads

    embedder = FakeEmbedder()
    pipe = make(embedder)

    def ingest(paths: list[Path], sources: Mapping[Path, str]) -> Any:
        return pipe.ingest(paths, sources=sources)

    item = ("../تقرير اليوم.txt", "عنوان تقرير\nخبر أول\n\nخبر ثان".encode())
    report, results = ingest_uploads(ingest, [item, ("logo.png", b"\x89PNG\x00\x00")])
    assert report.added == ["تقرير_اليوم"] and results[0].status == "added"
    assert results[1].status == "failed" and results[1].code == "unsupported_file"
    assert pipe.store.docs["تقرير_اليوم"][0].source == "upload:تقرير_اليوم.txt"
    assert {c.source for c, _ in pipe.store.chunks.values() if c.doc_id == "تقرير_اليوم"} == {"upload:تقرير_اليوم.txt"}
    embedded = embedder.embedded
    _, again = ingest_uploads(ingest, [item])  # staged in a new temp folder: still the same upload
    assert again[0].status == "unchanged" and embedder.embedded == embedded

    monkeypatch.chdir(corpus)  # a prune over the working folder must not take uploads for vanished files
    pipe.ingest([corpus], prune=True)
    assert "تقرير_اليوم" in pipe.store.docs
    assert_consistent(pipe)


def test_an_upload_never_replaces_a_folder_file_or_another_upload_of_that_stem(corpus: Path) -> None:
    from rag.uploads import ingest_uploads

    pipe = make(FakeEmbedder())

    def ingest(paths: list[Path], sources: Mapping[Path, str]) -> Any:
        return pipe.ingest(paths, sources=sources)

    pipe.ingest([corpus])
    _, clash = ingest_uploads(ingest, [("doc0.md", "عنوان\nنص مرفوع".encode())])
    assert clash[0].status == "failed" and "already taken by" in (clash[0].error or "")
    _, first = ingest_uploads(ingest, [("note.txt", "عنوان\nالأول".encode())])
    _, second = ingest_uploads(ingest, [("note.md", "عنوان\nالثاني".encode())])
    assert first[0].status == "added" and second[0].status == "failed"
    assert "upload:note.txt" in (second[0].error or "")
    _, again = ingest_uploads(ingest, [("note.txt", "عنوان\nالأول معدل".encode())])
    assert again[0].status == "updated"  # the same upload name is an update
    assert pipe.store.docs["doc0"][0].source == str(corpus / "doc0.txt")
    assert_consistent(pipe)


def test_an_upload_killed_mid_run_is_ingested_by_the_next_run(corpus: Path, tmp_path: Path) -> None:
    import json

    from rag.uploads import keep_uploads

    pipe = make(FakeEmbedder())
    staged = tmp_path / "staged" / "تقرير.txt"
    staged.parent.mkdir()
    staged.write_text("عنوان تقرير\nخبر مرفوع", encoding="utf-8")
    kept = keep_uploads(DATA_DIR[-1], [staged], {staged: "upload:تقرير.txt"})  # a run that then died
    shutil.rmtree(staged.parent)  # the API's temp folder is gone with it
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        live = keep_uploads(DATA_DIR[-1], [kept.paths[0]], {kept.paths[0]: "upload:آخر.txt"})
        assert live.folder is not None
        owner = json.loads((live.folder / "owner.json").read_text(encoding="utf-8"))
        (live.folder / "owner.json").write_text(json.dumps({**owner, "lease": lease(writer.pid)}), encoding="utf-8")
        report = pipe.ingest([corpus])
    finally:
        writer.kill()
        writer.wait()
    assert "تقرير" in report.added and pipe.store.docs["تقرير"][0].source == "upload:تقرير.txt"
    assert kept.folder is not None and not kept.folder.exists(), "the kept copy goes once it is in the index"
    assert live.folder.exists(), "an upload whose writer still runs is not taken over"
    assert_consistent(pipe)
