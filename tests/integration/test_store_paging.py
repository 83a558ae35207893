"""An archive bigger than one SQLite statement: Chroma answers an unpaged ``get`` of more than 32,766 rows with
metadata by "too many SQL variables", so a registry of 33,000 articles (or one write of 33,000 chunks) must be
read in pages. Before paging, ``doc_records`` and ``documents`` failed here, and so did every ingest past that size
(the pipeline and the near-duplicate index read the registry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.retrieval.store import ChromaStore
from rag.settings import Settings
from rag.types import Article, Chunk

pytestmark = pytest.mark.integration

N = 33_000  # above SQLite's 32,766 bound variables
STEP = 5_000  # below Chroma's maximum batch size for one write


def test_a_registry_and_a_write_larger_than_one_sqlite_statement_read_back_whole(tmp_path: Path) -> None:
    store = ChromaStore.from_settings(Settings(data_dir=tmp_path / "data"))
    articles = [Article(f"a{i:05d}", f"خبر {i}", "نص", f"/data/a{i:05d}.txt") for i in range(N)]
    for start in range(0, N, STEP):
        store.put_docs([(a, 1) for a in articles[start:start + STEP]], "complete")
    records = store.doc_records()
    assert len(records) == N and records["a32999"]["title"] == "خبر 32999"
    assert len(store.documents()) == N

    chunks = [Chunk(f"{a.doc_id}::t::0", a.doc_id, a.title, a.text, 0, 2, 0, a.source) for a in articles]
    for start in range(0, N, STEP):
        store.add_chunks(chunks[start:start + STEP], [[1.0, 0.0, float(i % 7)] for i in range(start, min(N, start + STEP))],
                         gen="g1")
    tags = store.chunk_tags(gen="g1")
    assert len(tags) == N and {t.doc_id for t in tags} == {a.doc_id for a in articles}
