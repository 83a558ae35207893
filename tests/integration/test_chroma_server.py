"""Ingest and search through a real `chroma run` server (SANAD_CHROMA_HOST/PORT)."""

from __future__ import annotations

import time
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


def _found_within(service, query: str, doc_id: str, seconds: float = 2.0) -> bool:  # type: ignore[no-untyped-def]
    """Whether a keyword search on ``service`` returns ``doc_id`` within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        if doc_id in {h.chunk.doc_id for h in service.search(query, k=5, mode="keyword").hits}:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def test_two_services_on_one_chroma_server_see_each_others_writes(chroma_server: ChromaServer, make_settings,
                                                                   seed_dir: Path, tmp_path: Path) -> None:
    def service_in(folder: str):  # type: ignore[no-untyped-def]
        return build_service(make_settings(chroma_host=chroma_server.host, chroma_port=chroma_server.port,
                                           data_dir=tmp_path / folder), load_llm=False)

    server_a, server_b = service_in("a"), service_in("b")
    server_a.ingest([seed_dir])
    seeds = {d.doc_id for d in server_a.documents()}
    hits = server_b.search("قائد أفريكوم", k=3, mode="keyword").hits
    assert hits and hits[0].chunk.doc_id in seeds
    extra = tmp_path / "new" / "tunis_elections.txt"
    extra.parent.mkdir()
    extra.write_text("الانتخابات البلدية في تونس\n\nقالت الهيئة العليا المستقلة للانتخابات إن نسبة المشاركة "
                     "في الانتخابات البلدية بلغت خمسة وثلاثين بالمائة في ولاية صفاقس.", encoding="utf-8")
    server_a.ingest([extra.parent])  # written through A ...
    assert _found_within(server_b, "الانتخابات البلدية صفاقس", "tunis_elections")  # ... searchable on B
    server_b.remove("tunis_elections")  # removed through B ...
    deadline = time.monotonic() + 2
    while "tunis_elections" in {h.chunk.doc_id for h in server_a.search("الانتخابات البلدية صفاقس", k=5,
                                                                         mode="keyword").hits}:
        assert time.monotonic() < deadline, "A still serves the article B removed"
        time.sleep(0.1)
