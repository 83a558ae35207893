"""Pytest fixtures around the fakes (registered from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.ollama_server import FakeOllama


@pytest.fixture()
def fake_ollama() -> Iterator[FakeOllama]:
    """A running fake Ollama (model ``qwen3:4b`` pulled); ``.script(...)`` its replies."""
    server = FakeOllama().start()
    try:
        yield server
    finally:
        server.stop()


# --- plain helpers for unit tests (no server, no models) ---------------------------------------
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from rag.errors import RagError  # noqa: E402
from rag.types import Chunk, Hit, SearchFilters, SearchResult  # noqa: E402


def make_hits(article: str, pieces: Sequence[str], *, doc_id: str = "doc1", title: str = "عنوان",
              score: float = 1.0) -> list[Hit]:
    """Hits over ``article`` for each piece (which must occur in it), with true article offsets."""
    hits = []
    for ordinal, piece in enumerate(pieces):
        start = article.index(piece)
        chunk = Chunk(chunk_id=f"{doc_id}:{ordinal}", doc_id=doc_id, title=title, text=piece, start=start,
                      end=start + len(piece), ordinal=ordinal, source=f"{doc_id}.txt")
        hits.append(Hit(chunk=chunk, score=score - 0.1 * ordinal))
    return hits


@dataclass
class FakeRetriever:
    """Returns the same hits and confidence for every query; records the queries."""

    hits: list[Hit]
    confidence: float = 0.9
    queries: list[str] = field(default_factory=list)

    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None) -> SearchResult:
        self.queries.append(query)
        hits = self.hits[: k or len(self.hits)]
        return SearchResult(query=query, hits=tuple(hits), confidence=self.confidence, lang="ar")


@dataclass
class ScriptedLLM:
    """An in-process ``rag.ports.LLM``: replies from a list (or raises a scripted error)."""

    replies: list[str | RagError]
    model: str = "fake:1b"
    num_ctx: int = 8192
    calls: list[list[dict[str, str]]] = field(default_factory=list)

    def _next(self, messages: Sequence[dict[str, str]]) -> str:
        self.calls.append([dict(m) for m in messages])
        reply = self.replies.pop(0) if self.replies else "NO_ANSWER"
        if isinstance(reply, RagError):
            raise reply
        return reply

    def chat(self, messages, *, max_tokens=None):  # type: ignore[no-untyped-def]
        text = self._next(messages)
        return text, {"prompt_tokens": 10, "completion_tokens": len(text.split())}

    def stream_chat(self, messages, *, max_tokens=None, temperature=None):  # type: ignore[no-untyped-def]
        text = self._next(messages)
        for word in text.split(" "):
            yield word + " "
        yield {"prompt_tokens": 10, "completion_tokens": len(text.split())}

    def health(self) -> tuple[str, str | None]:
        return "ok", None
