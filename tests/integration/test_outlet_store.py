"""The outlet survives the real Chroma store: the article registry (documents, get_article) and the chunk rows
(what the dense side returns); an article without one reads back as unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.retrieval.store import ChromaStore
from rag.settings import Settings
from rag.types import Article, Chunk

pytestmark = pytest.mark.integration

TEXT = "حفتر في موسكو\n\nوصل حفتر إلى موسكو لبحث الدعم الروسي لقواته."


def test_registry_and_chunk_rows_keep_the_outlet(tmp_path: Path) -> None:
    store = ChromaStore.from_settings(Settings(data_dir=tmp_path / "data"))
    known = Article("a", "حفتر في موسكو", TEXT, "/data/a.txt", "2016-11-29", outlet="بوابة الوسط")
    unknown = Article("b", "حفتر في موسكو", TEXT, "/data/b.txt")
    store.put_docs([(known, 1), (unknown, 1)], "complete")
    assert {d.doc_id: d.outlet for d in store.documents()} == {"a": "بوابة الوسط", "b": None}
    assert store.get_article("a") == known and store.get_article("b") == unknown
    chunks = [Chunk(f"{a.doc_id}::0", a.doc_id, a.title, a.text, 0, len(a.text), 0, a.source, a.published,
                    outlet=a.outlet) for a in (known, unknown)]
    store.add_chunks(chunks, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert {c.chunk_id: c.outlet for c in store.iter_chunks()} == {"a::0": "بوابة الوسط", "b::0": None}
    assert store.get_chunks(["a::0"]) == [chunks[0]]
