"""An in-memory ``rag.ports.VectorStore`` for retrieval unit tests (exact cosine, same filter semantics)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from rag.dates import day_number, filter_days
from rag.errors import ModelMismatchError, StoreError
from rag.retrieval.store_rows import ChunkTag, is_visible, version_of
from rag.types import Article, Chunk, DocInfo, SearchFilters


class MemoryStore:
    """Chunks + vectors in dicts; several BM25Index instances may share one to mimic several processes."""

    location = "memory"

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.chunks: dict[str, Chunk] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self.docs: dict[str, dict[str, Any]] = {}
        self.meta_reads = 0
        #: vectors staged for an index built keyword-only: chunk id -> (the chunk as staged, vector)
        self.staged: dict[str, tuple[Chunk, np.ndarray]] = {}
        self.staged_signature: dict[str, Any] | None = None
        self.gens: dict[str, str] = {}  # chunk id -> the write that stored it (see rag.retrieval.store_rows)

    def ensure_signature(self, signature: Mapping[str, Any]) -> None:
        """ChromaStore's rule: record what is missing, refuse what differs."""
        differing = [k for k, v in signature.items() if f"sig:{k}" in self.meta and str(self.meta[f"sig:{k}"]) != str(v)]
        if differing:
            raise ModelMismatchError(f"built with another {', '.join(differing)}", hint="reset")
        self.meta.update({f"sig:{k}": v for k, v in signature.items()})

    def collection_meta(self) -> dict[str, Any]:
        self.meta_reads += 1
        return dict(self.meta)

    def update_collection_meta(self, values: Mapping[str, Any]) -> None:
        self.meta.update(values)

    def add_chunks(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]], *, gen: str = "") -> None:
        for chunk, vector in zip(chunks, embeddings, strict=True):
            self.chunks[chunk.chunk_id] = chunk
            self.gens[chunk.chunk_id] = gen
            v = np.asarray(vector, dtype=np.float32)
            self.vectors[chunk.chunk_id] = v / (np.linalg.norm(v) or 1.0)

    def delete_doc_chunks(self, doc_id: str) -> None:
        self.delete_chunks([c for c, ch in self.chunks.items() if ch.doc_id == doc_id])

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        for cid in chunk_ids:
            self.chunks.pop(cid, None)
            self.vectors.pop(cid, None)

    def chunk_tags(self, *, doc_ids: Sequence[str] = (), gen: str | None = None) -> list[ChunkTag]:
        return [ChunkTag(cid, ch.doc_id, version_of(cid), self.gens.get(cid, "")) for cid, ch in self.chunks.items()
                if (doc_ids or gen is not None) and (not doc_ids or ch.doc_id in doc_ids)
                and (gen is None or self.gens.get(cid, "") == gen)]

    def _visible(self) -> dict[str, Chunk]:
        """ChromaStore's rule: chunks of open writes and retired versions are hidden from readers."""
        seen = is_visible(self.meta)
        return {cid: ch for cid, ch in self.chunks.items() if seen(self.gens.get(cid, ""), version_of(cid))}

    def chunk_ids(self, doc_id: str | None = None) -> list[str]:
        return [c for c, ch in self._visible().items() if doc_id is None or ch.doc_id == doc_id]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        return [self.chunks[c] for c in chunk_ids if c in self.chunks]

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        return {c: [float(x) for x in self.vectors[c]] for c in chunk_ids if c in self.vectors}

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[Chunk]:
        yield from list(self._visible().values())

    def query(self, embedding: Sequence[float], k: int, filters: SearchFilters | None = None) -> list[tuple[Chunk, float]]:
        q = np.asarray(embedding, dtype=np.float32)
        q = q / (np.linalg.norm(q) or 1.0)
        scored = [(ch, float(self.vectors[cid] @ q)) for cid, ch in self._visible().items() if _passes(ch, filters)]
        scored.sort(key=lambda pair: -pair[1])
        return scored[:k]

    def put_doc(self, article: Article, chunks: int, status: str) -> None:
        self.put_docs([(article, chunks)], status)

    def put_docs(self, items: Sequence[tuple[Article, int]], status: str,
                 versions: Mapping[str, tuple[str, str]] | None = None) -> None:
        for article, chunks in items:
            ver, gen = (versions or {}).get(article.doc_id, ("", ""))
            self.docs[article.doc_id] = {"doc_id": article.doc_id, "title": article.title, "source": article.source,
                                         "published": article.published, "chunks": chunks, "status": status,
                                         "lang": article.lang, "content_hash": article.content_hash,
                                         "article": article, "ver": ver, "gen": gen}

    def delete_doc(self, doc_id: str) -> None:
        self.docs.pop(doc_id, None)
        self.delete_doc_chunks(doc_id)

    def doc_records(self) -> dict[str, Mapping[str, Any]]:
        return dict(self.docs)

    def get_article(self, doc_id: str) -> Article | None:
        rec = self.docs.get(doc_id)
        return rec["article"] if rec else None

    def documents(self) -> list[DocInfo]:
        return [DocInfo(d["doc_id"], d["title"], d["chunks"], d["published"], d["source"],
                        published_source=d["article"].published_source, outlet=d["article"].outlet)
                for d in self.docs.values()]

    def count_chunks(self) -> int:
        return len(self._visible())

    def staged_vector_ids(self, signature: Mapping[str, Any]) -> set[str]:
        if self.staged_signature != dict(signature):
            self.staged, self.staged_signature = {}, dict(signature)
        return {cid for cid, (chunk, _) in self.staged.items() if self.chunks.get(cid) == chunk}

    def stage_vectors(self, chunk_ids: Sequence[str], embeddings: Sequence[Sequence[float]]) -> None:
        for cid, vector in zip(chunk_ids, embeddings, strict=True):
            v = np.asarray(vector, dtype=np.float32)
            self.staged[cid] = (self.chunks[cid], v / (np.linalg.norm(v) or 1.0))

    def adopt_staged_vectors(self, signature: Mapping[str, Any]) -> None:
        lacking = [cid for cid, chunk in self.chunks.items() if cid not in self.staged or self.staged[cid][0] != chunk]
        if lacking or self.staged_signature != dict(signature):
            raise StoreError(f"{len(lacking)} chunks have no staged vector", hint="ingest again")
        self.vectors = {cid: self.staged[cid][1] for cid in self.chunks}
        self.meta.update({f"sig:{k}": v for k, v in signature.items()})
        self.staged, self.staged_signature = {}, None


def _passes(chunk: Chunk, filters: SearchFilters | None) -> bool:
    if filters is None or filters.empty:
        return True
    if filters.doc_ids and chunk.doc_id not in filters.doc_ids:
        return False
    if filters.sources and chunk.source not in filters.sources:
        return False
    days = filter_days(filters.published_from, filters.published_to)  # the real stores' bounds
    return days is None or days[0] <= day_number(chunk.published) <= days[1]


class HashEmbedder:
    """A deterministic bag-of-normalised-words embedder: texts sharing words have a high cosine."""

    model_name = "hash-test"
    dim = 64
    max_tokens = 512

    def __init__(self) -> None:
        self.queries: list[str] = []

    def _vector(self, text: str) -> list[float]:
        import zlib

        from rag import arabic

        v = np.zeros(self.dim, dtype=np.float32)
        for token in arabic.tokenize(text):
            v[zlib.crc32(token.encode("utf-8")) % self.dim] += 1.0
        v[0] += 0.01
        return (v / np.linalg.norm(v)).tolist()

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return self._vector(text)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def signature(self) -> dict[str, Any]:
        return {"embed_model": self.model_name, "embed_dim": self.dim}
