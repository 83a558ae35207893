"""Ingest and search through a real `chroma run` server (SANAD_CHROMA_HOST/PORT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.wiring import build_service
from tests.integration.conftest import ChromaServer

pytestmark = pytest.mark.integration


def test_ingest_and_dense_query_through_a_chroma_server(chroma_server: ChromaServer, make_settings, seed_dir: Path) -> None:
    settings = make_settings(chroma_host=chroma_server.host, chroma_port=chroma_server.port)
    service = build_service(settings, load_llm=False)
    assert service.store.location == f"http://{chroma_server.host}:{chroma_server.port}"
    report = service.ingest([seed_dir])
    assert len(report.added) == 5 and not report.failed
    docs = service.documents()
    assert len(docs) == 5 and sum(d.chunks for d in docs) == service.store.count_chunks() > 0

    article = service.article(docs[0].doc_id)
    first = article.text.split("\n\n")[0]
    assert service.embedder is not None
    hits = service.store.query(service.embedder.embed_query(first), k=3)
    assert hits and hits[0][0].doc_id == article.doc_id and hits[0][1] > 0.5

    # the registry and the signature live on the server: a second service sees the same index
    again = build_service(make_settings(chroma_host=chroma_server.host, chroma_port=chroma_server.port,
                                        data_dir=settings.data_dir / "other"), load_llm=False)
    assert {d.doc_id for d in again.documents()} == {d.doc_id for d in docs}
    assert len(again.ingest([seed_dir]).unchanged) == 5
