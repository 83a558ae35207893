"""An index built keyword-only gets vectors on the next ingest with a model (the "keyword-only index trap").

Real pipeline, keyword index, retriever and facade over the in-memory store; the store's staging rule
(vectors written aside, adopted with the signature in one step) is the one ChromaStore follows.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.errors import IngestError, ModelMismatchError, RagError, RetrievalError
from rag.ingestion.pipeline import IngestPipeline
from rag.retrieval.embedder import KEYWORD_ONLY_MODEL, built_without_vectors
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.keyword import BM25Index
from rag.service import Sanad
from rag.settings import Settings
from tests.conftest import SEEDS
from tests.fakes.memory_store import HashEmbedder, MemoryStore

BUILT_WITHOUT = "keyword-only (index built without vectors)"


class FlakyEmbedder(HashEmbedder):
    """HashEmbedder that fails (like a model running out of memory) after ``fail_after`` batches."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        self.fail_after = fail_after
        self.batches: list[list[str]] = []

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise RuntimeError("out of memory")
        self.batches.append(list(texts))
        return super().embed_passages(texts)

    @property
    def embedded(self) -> int:
        return sum(len(b) for b in self.batches)


class OtherModel(HashEmbedder):
    model_name = "another-model"


@pytest.fixture()
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


def service(tmp_path: Path, store: MemoryStore, embedder: HashEmbedder | None, **values: Any) -> Sanad:
    """The facade as build_service wires it, with the in-memory store and the hash embedder."""
    settings = Settings(data_dir=tmp_path / "data", embed_model="hash-test", **values)
    keyword = BM25Index(settings.keyword_dir, store)
    flush = values.pop("flush_chunks", None)
    return Sanad(store=store, ingestor=IngestPipeline(store, keyword, embedder, settings, flush_chunks=flush),
                 retriever=HybridRetriever(store, keyword, embedder, settings), answerer=None,  # type: ignore[arg-type]
                 embedder=embedder, llm=None, embed_model="hash-test", embed_error=None, chroma_mode="embedded",
                 ollama_host="http://127.0.0.1:9", ollama_model="none")


def keyword_only_index(tmp_path: Path, articles: Path) -> MemoryStore:
    store = MemoryStore()
    report = service(tmp_path, store, None).ingest([articles])
    assert len(report.added) == 5 and report.chunks_embedded == 0
    assert built_without_vectors(store.collection_meta())
    return store


def expected_vectors(store: MemoryStore, embedder: HashEmbedder) -> dict[str, list[float]]:
    return {cid: embedder._vector(f"{c.title}\n{c.text}") for cid, c in store.chunks.items()}


def assert_has_all_vectors(store: MemoryStore, embedder: HashEmbedder) -> None:
    expected = expected_vectors(store, embedder)
    assert set(store.vectors) == set(store.chunks)
    for cid, vector in store.vectors.items():
        assert vector.shape == (embedder.dim,)
        np.testing.assert_allclose(vector, expected[cid], atol=1e-6)


def test_unchanged_ingest_with_a_model_adds_vectors_to_every_stored_chunk(tmp_path: Path, articles: Path) -> None:
    store = keyword_only_index(tmp_path, articles)
    chunks_before = dict(store.chunks)
    embedder = FlakyEmbedder()
    sanad = service(tmp_path, store, embedder)
    assert sanad.health().embed_mode == BUILT_WITHOUT
    with pytest.raises(RetrievalError):
        sanad.search("الانتخابات", mode="dense")

    events: list[tuple[str, int, int]] = []
    report = sanad.ingest([articles], progress=lambda stage, done, total: events.append((stage, done, total)))

    n = len(chunks_before)
    assert len(report.unchanged) == 5 and not report.added and report.chunks_embedded == n == embedder.embedded
    vectors = [e for e in events if e[0] == "vectors"]
    assert vectors[0] == ("vectors", 0, n) and vectors[-1] == ("vectors", n, n)
    assert events.index(vectors[-1]) < events.index(("files", 0, 5)), "vectors come before the files"
    assert store.chunks == chunks_before, "the stored chunks themselves are untouched"
    assert_has_all_vectors(store, embedder)
    meta = store.collection_meta()
    assert meta["sig:embed_model"] == "hash-test" and meta["sig:embed_dim"] == 64 and not built_without_vectors(meta)
    assert sanad.health().embed_mode == "hybrid"


def test_dense_search_works_after_the_backfill_even_in_a_retriever_that_searched_before(
        tmp_path: Path, articles: Path) -> None:
    store = keyword_only_index(tmp_path, articles)
    sanad = service(tmp_path, store, FlakyEmbedder())
    target = sorted(store.chunks.values(), key=lambda c: c.chunk_id)[3]
    query = " ".join(target.text.split()[:12])
    before = sanad.search(query)
    assert before.hits and all(h.dense_score is None for h in before.hits), "keyword-only before"

    sanad.ingest([articles])

    dense = sanad.search(query, mode="dense")
    assert dense.hits and dense.hits[0].chunk.chunk_id == target.chunk_id
    hybrid = sanad.search(query)
    assert any(h.dense_score is not None for h in hybrid.hits), "the cached keyword-only flag was refreshed"
    assert hybrid.hits[0].chunk.chunk_id == target.chunk_id


def test_failure_mid_backfill_stays_keyword_only_and_the_next_ingest_completes(tmp_path: Path,
                                                                               articles: Path) -> None:
    store = keyword_only_index(tmp_path, articles)
    n = store.count_chunks()
    assert n > 6
    flaky = FlakyEmbedder(fail_after=2)
    sanad = service(tmp_path, store, flaky, flush_chunks=3)
    with pytest.raises(IngestError) as info:
        sanad.ingest([articles])
    assert isinstance(info.value, RagError) and "keyword-only" in (info.value.hint or "")
    assert flaky.embedded == 6
    assert sanad.health().embed_mode == BUILT_WITHOUT
    assert store.collection_meta()["sig:embed_model"] == KEYWORD_ONLY_MODEL
    assert all(v.shape == (1,) for v in store.vectors.values()), "live vectors untouched"
    with pytest.raises(RetrievalError):
        sanad.search("الانتخابات", mode="dense")
    assert sanad.search("الانتخابات").hits, "keyword search still works"

    resumed = FlakyEmbedder()
    report = service(tmp_path, store, resumed, flush_chunks=3).ingest([articles])
    assert report.chunks_embedded == resumed.embedded == n - 6, "only the chunks not staged yet"
    assert_has_all_vectors(store, resumed)
    assert service(tmp_path, store, resumed).health().embed_mode == "hybrid"


def test_chunks_changed_after_a_failed_backfill_get_fresh_vectors(tmp_path: Path, articles: Path) -> None:
    store = keyword_only_index(tmp_path, articles)
    with pytest.raises(IngestError):
        service(tmp_path, store, FlakyEmbedder(fail_after=2), flush_chunks=3).ingest([articles])
    first = sorted(articles.glob("*.txt"))[0]
    first.write_text("مقال معدل\n\nنص جديد تماما عن الاقتصاد والزراعة في المغرب.", encoding="utf-8")
    (sorted(articles.glob("*.txt"))[-1]).unlink()
    report = service(tmp_path, store, None).ingest([articles], prune=True)  # the model is gone again
    assert report.updated and report.removed and built_without_vectors(store.collection_meta())

    embedder = FlakyEmbedder()
    service(tmp_path, store, embedder, flush_chunks=3).ingest([articles])
    assert_has_all_vectors(store, embedder)
    dense = service(tmp_path, store, embedder).search("نص جديد تماما عن الاقتصاد والزراعة", mode="dense")
    assert dense.hits[0].chunk.doc_id == first.stem


def test_an_index_with_vectors_from_one_model_still_refuses_another(tmp_path: Path, articles: Path) -> None:
    store = MemoryStore()
    service(tmp_path, store, HashEmbedder()).ingest([articles])
    meta = store.collection_meta()
    with pytest.raises(ModelMismatchError):
        service(tmp_path, store, OtherModel()).ingest([articles])
    with pytest.raises(ModelMismatchError):
        service(tmp_path, store, None).ingest([articles])  # no model now: not silently keyword-only
    assert store.collection_meta() == meta and not store.staged


def test_a_keyword_only_index_still_refuses_other_chunking(tmp_path: Path, articles: Path) -> None:
    store = keyword_only_index(tmp_path, articles)
    embedder = FlakyEmbedder()
    with pytest.raises(ModelMismatchError):
        service(tmp_path, store, embedder, chunk_size=120).ingest([articles])
    assert embedder.embedded == 0 and built_without_vectors(store.collection_meta())
