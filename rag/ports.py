"""The seams between steps, as Protocols: the facade and the steps depend on these, never on adapters.

Concrete adapters (sentence-transformers, chromadb, our segmented BM25, ollama) implement them; tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from rag.retrieval.store_rows import ChunkTag
from rag.types import Article, Chunk, DocInfo, SearchFilters

__all__ = ["Embedder", "VectorStore", "KeywordIndex", "ChatMessage", "LLM", "DocRecord"]


@runtime_checkable
class Embedder(Protocol):
    """Turns text into normalised vectors; knows its own tokenizer (chunk sizes are in its tokens)."""

    model_name: str
    #: what `sanad status` shows: the library and the weights actually in use
    backend: str
    dim: int
    max_tokens: int

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...
    def embed_query(self, text: str) -> list[float]: ...
    def count_tokens(self, text: str) -> int: ...
    def signature(self) -> dict[str, Any]:
        """What must match for two ingests to share a collection (model, dim, prefixes, chunking)."""
        ...


DocRecord = Mapping[str, Any]
"""A document's registry entry: doc_id, title, source, published, content_hash, chunks, status."""


class VectorStore(Protocol):
    """Chunks with their vectors + a registry of whole articles. The only chromadb user implements it."""

    location: str

    def ensure_signature(self, signature: Mapping[str, Any]) -> None: ...
    def collection_meta(self) -> dict[str, Any]: ...
    def update_collection_meta(self, values: Mapping[str, Any]) -> None: ...
    def add_chunks(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]], *, gen: str = "") -> None:
        """``gen``: the write storing them (hidden from readers while the write journal lists it open)."""
        ...
    def delete_doc_chunks(self, doc_id: str) -> None: ...
    def delete_chunks(self, chunk_ids: Sequence[str]) -> None: ...
    def chunk_tags(self, *, doc_ids: Sequence[str] = (), gen: str | None = None) -> list[ChunkTag]:
        """Every stored chunk, hidden ones included, of these articles or of this write."""
        ...
    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]: ...
    def chunk_ids(self, doc_id: str | None = None) -> list[str]:
        """Ids of every chunk, or of one article's."""
        ...
    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]: ...
    def iter_chunks(self, batch_size: int = 1000) -> Iterator[Chunk]: ...
    def query(self, embedding: Sequence[float], k: int, filters: SearchFilters | None = None) -> list[tuple[Chunk, float]]: ...
    def put_doc(self, article: Article, chunks: int, status: str) -> None: ...
    def put_docs(self, items: Sequence[tuple[Article, int]], status: str,
                 versions: Mapping[str, tuple[str, str]] | None = None) -> None: ...
    def delete_doc(self, doc_id: str) -> None: ...
    def doc_records(self) -> dict[str, DocRecord]: ...
    def get_article(self, doc_id: str) -> Article | None: ...
    def documents(self) -> list[DocInfo]: ...
    def count_chunks(self) -> int: ...
    # vectors for an index built keyword-only: staged beside the live chunks, made live in one step
    def staged_vector_ids(self, signature: Mapping[str, Any]) -> set[str]:
        """Chunks already staged for ``signature`` whose text and metadata still match the live chunk (a
        resumed backfill skips them); vectors staged for another signature are discarded first."""
        ...
    def stage_vectors(self, chunk_ids: Sequence[str], embeddings: Sequence[Sequence[float]]) -> None:
        """Stage vectors for existing chunks; searches and the recorded signature do not see them yet."""
        ...
    def adopt_staged_vectors(self, signature: Mapping[str, Any]) -> None:
        """Make the staged vectors live and record ``signature``, as one step; refuses (StoreError) while
        any live chunk has no matching staged vector, so the index never claims vectors it lacks."""
        ...


class KeywordIndex(Protocol):
    """Our own BM25 over Arabic-normalised chunk text, persisted beside Chroma."""

    def add(self, chunks: Sequence[Chunk]) -> None: ...
    def remove_docs(self, doc_ids: Sequence[str]) -> None: ...
    def commit(self) -> None:
        """Persist and stamp a new version into the store's collection metadata."""
        ...
    def refresh_if_stale(self) -> None:
        """Reload (or rebuild from the store) when another process moved the version stamp."""
        ...
    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[tuple[Chunk, float]]: ...


ChatMessage = Mapping[str, str]
"""{"role": "system"|"user"|"assistant", "content": str}"""


class LLM(Protocol):
    """A chat model reached over HTTP. Only rag/generation/llm.py implements it for real."""

    model: str
    num_ctx: int

    def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None) -> tuple[str, dict[str, int]]: ...
    def stream_chat(self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None,
                    temperature: float | None = None) -> Iterator[str | dict[str, int]]:
        """Yields text pieces, then one usage dict {prompt_tokens, completion_tokens, length} at the end
        (``length``: 1 when the reply stopped at ``max_tokens``); ``temperature`` None: the model's own."""
        ...
    def health(self) -> tuple[str, str | None]:
        """("ok"|"unreachable"|"model_missing"|"timeout"|"error", detail)."""
        ...
