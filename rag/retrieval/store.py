"""The one chromadb (and llama-index Chroma) user: chunk vectors plus a registry of whole articles.

Two collections per index: ``{collection}`` holds chunks (cosine space, vectors always passed so Chroma
never tries to download its own embedding model) and ``{collection}__docs`` holds one record per article
(full text, content hash, ingest status) under a constant 1-d vector. The chunk collection's metadata
carries the embedding/chunking signature and the keyword index's version stamp ("sanad:*" keys).
The same code works embedded (PersistentClient) and against a ``chroma run`` server (HttpClient).
Vectors for a collection built keyword-only are staged and swapped in by ``store_vectors.VectorSwap``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from rag.dates import filter_days
from rag.errors import ModelMismatchError, StoreError
from rag.ports import DocRecord
from rag.retrieval.store_rows import ChunkTag, and_where, paged_get, tags_of, visibility_where
from rag.retrieval.store_rows import chunk_meta as _chunk_meta
from rag.retrieval.store_rows import to_chunk as _to_chunk
from rag.retrieval.store_vectors import CHUNK_CONFIGURATION, VectorSwap
from rag.settings import Settings
from rag.types import Article, Chunk, DocInfo, SearchFilters

__all__ = ["ChromaStore", "META_PREFIX"]

META_PREFIX = "sanad:"
_DOC_VECTOR = [1.0]
_T = TypeVar("_T")
_MISMATCH_HINT = "use another SANAD_COLLECTION, or `sanad reset --yes` then ingest again"


class ChromaStore:
    """``rag.ports.VectorStore`` over Chroma; every chromadb failure leaves as a ``StoreError``."""

    def __init__(self, client: Any, collection: str, location: str) -> None:
        self._client = client
        self._batch: int | None = None
        self._name = collection
        self._docs_name = f"{collection}__docs"
        self.location = location
        self._chunks: Any = None
        self._docs: Any = None
        self._lv: Any = None
        self._swap = VectorSwap(client, collection, self._guard)
        self._guard("open the collections", self._open)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChromaStore:
        """Embedded under ``settings.chroma_path``, or a server when ``SANAD_CHROMA_HOST`` is set."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if settings.chroma_host:
            location = f"http://{settings.chroma_host}:{settings.chroma_port}"
            try:
                client = chromadb.HttpClient(
                    host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
                )
            except (ValueError, OSError) as exc:
                raise StoreError(
                    f"cannot reach the Chroma server at {location}",
                    hint="start it (`chroma run --path DIR --port N`) or unset SANAD_CHROMA_HOST",
                ) from exc
            return cls(client, settings.collection, location)
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
        return cls(client, settings.collection, str(settings.chroma_path))

    def _open(self) -> None:
        self._swap.recover()  # a vector swap a crash interrupted is finished (or undone) before any read
        self._chunks = self._client.get_or_create_collection(
            self._name, configuration=CHUNK_CONFIGURATION, embedding_function=None
        )
        self._docs = self._client.get_or_create_collection(self._docs_name, embedding_function=None)
        self._lv = None

    def _vector_store(self) -> Any:
        """llama-index's ChromaVectorStore over the chunk collection, made on first add or query: importing
        llama-index costs ~1 s, which listing, removing and resetting articles never need."""
        if self._lv is None:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._lv = ChromaVectorStore(chroma_collection=self._chunks)
        return self._lv

    def _guard(self, action: str, call: Callable[[], _T]) -> _T:
        """Run one Chroma call; translate its failures (server down, bad input) into StoreError (503).
        A Chroma server that went away raises httpx's errors, which are not OSErrors."""
        import httpx
        from chromadb.errors import ChromaError

        try:
            return call()
        except (ChromaError, ValueError, OSError, httpx.HTTPError) as exc:
            raise StoreError(
                f"Chroma failed to {action}: {_first_line(exc)}",
                hint=f"check that the index at {self.location} is reachable and not used by another version",
            ) from exc

    # --- signature and collection metadata ------------------------------------------------------
    def collection_meta(self) -> dict[str, Any]:
        """Fresh from Chroma each time: another process (ingest, keyword commit) may have changed it, or
        swapped in a collection with vectors (then this one's handles are reopened on the new one)."""
        current = self._guard("read collection metadata", lambda: self._client.get_collection(self._name))
        if current.id != self._chunks.id:
            self._guard("reopen the collections", self._open)
        return {k: v for k, v in (current.metadata or {}).items() if not k.startswith("hnsw:")}

    def update_collection_meta(self, values: Mapping[str, Any]) -> None:
        """Merge ``values`` into the metadata (Chroma's modify replaces it, so unrelated keys are re-sent)."""
        merged = self.collection_meta()
        merged.update({k: ("" if v is None else v) for k, v in values.items()})
        self._guard("update collection metadata", lambda: self._chunks.modify(metadata=merged))

    def ensure_signature(self, signature: Mapping[str, Any]) -> None:
        """Record the signature on first use; refuse an ingest that would mix models or chunking."""
        meta = self.collection_meta()
        stored = {k: meta[META_PREFIX + k] for k in signature if META_PREFIX + k in meta}
        differing = [k for k, v in stored.items() if str(v) != str(signature[k])]
        if differing:
            was = ", ".join(f"{k}={stored[k]!r}" for k in differing)
            now = ", ".join(f"{k}={signature[k]!r}" for k in differing)
            raise ModelMismatchError(
                f"collection {self._name!r} was built with {was}; this run uses {now}", hint=_MISMATCH_HINT
            )
        missing = {META_PREFIX + k: v for k, v in signature.items() if k not in stored}
        if missing:
            self.update_collection_meta(missing)

    # --- chunks ---------------------------------------------------------------------------------
    def add_chunks(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]], *, gen: str = "") -> None:
        """Through llama-index's ChromaVectorStore: TextNodes carrying our flat metadata and vectors;
        ``gen`` names the write (hidden from readers while the journal lists it open, see store_rows)."""
        if len(chunks) != len(embeddings):
            raise StoreError(f"{len(chunks)} chunks but {len(embeddings)} vectors", hint="this is a bug; report it")
        if not chunks:
            return
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        nodes = [
            TextNode(
                id_=chunk.chunk_id,
                text=chunk.text,
                embedding=[float(x) for x in vector],
                metadata=_chunk_meta(chunk, gen),
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id)},
            )
            for chunk, vector in zip(chunks, embeddings)
        ]
        step = self._max_batch()
        for start in range(0, len(nodes), step):  # Chroma refuses one call above its maximum batch size
            self._guard("add chunks", functools.partial(self._vector_store().add, nodes[start : start + step]))

    def _max_batch(self) -> int:
        """Chroma's largest accepted write (5,461 rows for the local SQLite backend), read once."""
        if self._batch is None:
            self._batch = int(self._guard("read the maximum batch size", self._client.get_max_batch_size))
        return self._batch

    def delete_doc_chunks(self, doc_id: str) -> None:
        self._guard("delete chunks", lambda: self._chunks.delete(where={"doc_id": doc_id}))

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        ids, step = list(chunk_ids), self._max_batch()
        for start in range(0, len(ids), step):
            self._guard("delete chunks", functools.partial(self._chunks.delete, ids=ids[start:start + step]))

    def chunk_tags(self, *, doc_ids: Sequence[str] = (), gen: str | None = None) -> list[ChunkTag]:
        """Every stored chunk (hidden ones too) of ``doc_ids`` or written by ``gen``. A row stored before
        versions existed gets its version written into its metadata here, so the journal can hide it."""
        where = and_where({"doc_id": {"$in": list(doc_ids)}} if doc_ids else None,
                          {"gen": gen} if gen is not None else None)
        if where is None:
            return []
        got = self._guard("read chunk versions", lambda: paged_get(self._chunks.get, where=where, include=["metadatas"]))
        tags = tags_of(got["ids"], got["metadatas"])
        legacy = [(t, m) for t, m in zip(tags, got["metadatas"]) if "ver" not in (m or {})]
        if legacy:
            self._guard("record chunk versions", lambda: self._chunks.update(
                ids=[t.chunk_id for t, _ in legacy], metadatas=[{**(m or {}), "ver": t.ver, "gen": ""} for t, m in legacy]))
        return tags

    def _visible(self) -> dict[str, Any] | None:
        return visibility_where(self.collection_meta())

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks that exist, in the order asked for."""
        if not chunk_ids:
            return []
        got = self._guard(
            "read chunks", lambda: self._chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        )
        by_id = {i: _to_chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        return [by_id[i] for i in chunk_ids if i in by_id]

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored embeddings of these chunks (those that exist): the citation check reuses them."""
        if not chunk_ids:
            return {}
        got = self._guard("read chunk vectors", lambda: self._chunks.get(ids=list(chunk_ids), include=["embeddings"]))
        return {i: [float(x) for x in v] for i, v in zip(got["ids"], got["embeddings"])}

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[Chunk]:
        """The chunks readers may see (complete versions only)."""
        offset, visible = 0, self._visible()
        while True:
            got = self._guard("read chunks", functools.partial(
                self._chunks.get, where=visible, limit=batch_size, offset=offset, include=["documents", "metadatas"]))
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"]):
                yield _to_chunk(i, d, m)
            if len(got["ids"]) < batch_size:
                return
            offset += batch_size

    def chunk_ids(self, doc_id: str | None = None) -> list[str]:
        """Ids of all visible chunks (or one article's): cheap, for consistency checks and catching up."""
        where = and_where({"doc_id": doc_id} if doc_id else None, self._visible())
        got = self._guard("read chunk ids", lambda: self._chunks.get(where=where, include=[]))
        return list(got["ids"])

    def query(
        self, embedding: Sequence[float], k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """Dense search through llama-index; score is cosine similarity (1 - cosine distance)."""
        from chromadb.errors import InvalidArgumentError
        from llama_index.core.vector_stores.types import VectorStoreQuery

        request = VectorStoreQuery(query_embedding=[float(x) for x in embedding], similarity_top_k=k)
        where = and_where(filters_to_where(filters), self._visible())
        kwargs = {"where": where} if where else {}
        try:
            result = self._guard("query", lambda: self._vector_store().query(request, **kwargs))
        except StoreError as exc:
            if isinstance(exc.__cause__, InvalidArgumentError) and "dimension" in str(exc.__cause__):
                raise ModelMismatchError(
                    f"the query vector does not fit collection {self._name!r} ({_first_line(exc.__cause__)})",
                    hint=_MISMATCH_HINT,
                ) from exc.__cause__
            raise
        hits = []
        for node, similarity in zip(result.nodes, result.similarities or []):
            chunk = _to_chunk(node.node_id, node.get_content(), node.metadata)
            hits.append((chunk, 1.0 + math.log(max(similarity, 1e-12))))
        return hits

    def count_chunks(self) -> int:
        """Visible chunks (all of them, cheaply, when no write is in flight)."""
        visible = self._visible()
        if visible is None:
            return int(self._guard("count chunks", self._chunks.count))
        return len(self._guard("count chunks", lambda: self._chunks.get(where=visible, include=[]))["ids"])

    # --- vectors for an index built keyword-only (see store_vectors) -----------------------------
    def staged_vector_ids(self, signature: Mapping[str, Any]) -> set[str]:
        return self._swap.staged_ids(signature)

    def stage_vectors(self, chunk_ids: Sequence[str], embeddings: Sequence[Sequence[float]]) -> None:
        self._swap.stage(chunk_ids, embeddings)

    def adopt_staged_vectors(self, signature: Mapping[str, Any]) -> None:
        """The live metadata (keyword version, language, ...) carries over; the signature replaces the
        keyword-only one, exactly as ``ensure_signature`` records it for a collection built with vectors."""
        meta = {**self.collection_meta(), **{META_PREFIX + k: v for k, v in signature.items()}}
        self._swap.adopt(meta)
        self._guard("reopen the collections", self._open)

    # --- article registry -----------------------------------------------------------------------
    def put_doc(self, article: Article, chunks: int, status: str) -> None:
        self.put_docs([(article, chunks)], status)

    def put_docs(self, items: Sequence[tuple[Article, int]], status: str,
                 versions: Mapping[str, tuple[str, str]] | None = None) -> None:
        """Many registry records in one write: each Chroma write is a ~40 ms commit, too slow per article.
        ``versions``: doc id -> (current chunk version, the write that stored it)."""
        if not items:
            return
        metas = [
            {
                "doc_id": article.doc_id,
                "title": article.title,
                "source": article.source,
                "published": article.published or "",
                "published_source": article.published_source or "",
                "outlet": article.outlet or "",
                "url": article.url or "",
                "lang": article.lang,
                "content_hash": article.content_hash,
                "chunks": int(chunks),
                "status": status,
                "ver": (versions or {}).get(article.doc_id, ("", ""))[0],
                "gen": (versions or {}).get(article.doc_id, ("", ""))[1],
            }
            for article, chunks in items
        ]
        self._guard(
            "write the article registry",
            lambda: self._docs.upsert(
                ids=[a.doc_id for a, _ in items],
                embeddings=[_DOC_VECTOR for _ in items],
                documents=[a.text for a, _ in items],
                metadatas=metas,
            ),
        )

    def delete_doc(self, doc_id: str) -> None:
        """Remove an article completely: its registry record first (the article is gone for every reader
        of the registry), then its chunks (a crash in between leaves chunks the next recovery deletes)."""
        self._guard("delete from the article registry", lambda: self._docs.delete(ids=[doc_id]))
        self.delete_doc_chunks(doc_id)

    def doc_records(self) -> dict[str, DocRecord]:
        """Every registry record (any status) without the article text."""
        got = self._guard("read the article registry", lambda: paged_get(self._docs.get, include=["metadatas"]))
        return {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"])}

    def get_article(self, doc_id: str) -> Article | None:
        got = self._guard(
            "read an article", lambda: self._docs.get(ids=[doc_id], include=["documents", "metadatas"])
        )
        if not got["ids"]:
            return None
        meta, text = got["metadatas"][0] or {}, got["documents"][0] or ""
        return Article(
            doc_id=doc_id,
            title=str(meta.get("title", "")),
            text=text,
            source=str(meta.get("source", "")),
            published=str(meta.get("published") or "") or None,
            url=str(meta.get("url") or "") or None,
            lang=str(meta.get("lang") or "ar"),
            published_source=str(meta.get("published_source") or "") or None,
            outlet=str(meta.get("outlet") or "") or None,
        )

    def documents(self) -> list[DocInfo]:
        """Completely ingested articles, newest first (undated last), then by id."""
        infos = [
            DocInfo(
                doc_id=doc_id,
                title=str(rec.get("title", "")),
                chunks=int(rec.get("chunks", 0)),
                published=str(rec.get("published") or "") or None,
                source=str(rec.get("source", "")),
                content_hash=str(rec.get("content_hash", "")),
                published_source=str(rec.get("published_source") or "") or None,
                outlet=str(rec.get("outlet") or "") or None,
            )
            for doc_id, rec in self.doc_records().items()
            if rec.get("status") == "complete"
        ]
        infos.sort(key=lambda d: d.doc_id)
        infos.sort(key=lambda d: d.published or "", reverse=True)
        return infos

    def drop(self) -> None:
        """Delete both collections (chunks, registry, signature, stamps) and start empty ones."""

        def _drop() -> None:
            existing = {getattr(c, "name", c) for c in self._client.list_collections()}
            for name in (self._name, self._docs_name, *self._swap.names):
                if name in existing:
                    self._client.delete_collection(name)
            self._open()

        self._guard("drop the collections", _drop)


def filters_to_where(filters: SearchFilters | None) -> dict[str, Any] | None:
    """SearchFilters -> a Chroma ``where`` (None when empty; undated chunks never match a date range)."""
    if filters is None or filters.empty:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.doc_ids:
        clauses.append({"doc_id": {"$in": list(filters.doc_ids)}})
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    days = filter_days(filters.published_from, filters.published_to)
    if days is not None:
        clauses.append({"published_day": {"$gte": days[0]}})
        clauses.append({"published_day": {"$lte": days[1]}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
