"""Vectors for a chunk collection built keyword-only, added without ever leaving it half-embedded.

Chroma fixes a collection's dimension with its first vector (a keyword-only index holds 1-d placeholders)
and cannot change it, so the chunks are copied, each with its new vector, into ``{name}__vectors`` while
``{name}`` stays the live keyword-only collection. Adopting the copy: its metadata becomes the live one's
plus the new signature (the staging mark removed: "ready"), the live collection is renamed
``{name}__keyword_only``, the copy is renamed ``{name}`` and the old one is deleted. Each step is one Chroma
write; ``recover`` (run whenever the store opens) finishes a swap a crash interrupted, or rolls it back.
A crash before the swap leaves the staged copy; the next backfill keeps its vectors for chunks that have
not changed since and embeds only the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rag.errors import StoreError
from rag.retrieval.store_rows import paged_get

__all__ = ["VectorSwap", "STAGED_KEY", "CHUNK_CONFIGURATION"]

#: the chunk collections' configuration: cosine space for normalised embeddings
CHUNK_CONFIGURATION = {"hnsw": {"space": "cosine"}}
#: staging-collection metadata key: the signature its vectors are for; absent once the copy is ready
STAGED_KEY = "sanad:staged_signature"
_RETRY_HINT = "run `sanad ingest` again: the index stays keyword-only until every chunk has a vector"

Guard = Callable[[str, Callable[[], Any]], Any]


class VectorSwap:
    """Stages vectors for the chunks of collection ``name`` and swaps the staged copy in for it."""

    def __init__(self, client: Any, name: str, guard: Guard) -> None:
        self._client = client
        self._guard = guard
        self.name = name
        self.staged_name = f"{name}__vectors"
        self.old_name = f"{name}__keyword_only"

    @property
    def names(self) -> tuple[str, str]:
        """The collections only a backfill creates (``drop`` removes them too)."""
        return self.staged_name, self.old_name

    def recover(self) -> None:
        """Finish a swap a crash interrupted (the copy was ready) or roll it back; drop the old collection."""
        names = self._names()
        if self.old_name not in names:
            return
        if self.name not in names:
            ready = self.staged_name in names and STAGED_KEY not in self._meta(self.staged_name)
            source = self.staged_name if ready else self.old_name
            self._guard("finish adding vectors", lambda: self._client.get_collection(source).modify(name=self.name))
            if not ready:
                return
        self._guard("drop the keyword-only collection", lambda: self._client.delete_collection(self.old_name))

    def staged_ids(self, signature: Mapping[str, Any]) -> set[str]:
        """Ids staged for ``signature`` that still match the live chunk; other staging is discarded."""
        wanted = _signature_json(signature)
        staging = self._staging()
        if staging is not None and (staging.metadata or {}).get(STAGED_KEY) != wanted:
            self._guard("discard stale staged vectors", lambda: self._client.delete_collection(self.staged_name))
            staging = None
        if staging is None:
            self._guard("stage vectors", lambda: self._client.create_collection(
                self.staged_name, configuration=CHUNK_CONFIGURATION, metadata={STAGED_KEY: wanted},
                embedding_function=None))
            return set()
        return self._matching(staging)

    def stage(self, chunk_ids: Sequence[str], embeddings: Sequence[Sequence[float]]) -> None:
        """Copy these live chunks (text and metadata as stored) into the staging collection with vectors."""
        if len(chunk_ids) != len(embeddings):
            raise StoreError(f"{len(chunk_ids)} chunk ids but {len(embeddings)} vectors", hint="this is a bug")
        if not chunk_ids:
            return
        staging = self._staging()
        if staging is None:
            raise StoreError("no vectors are being staged", hint="this is a bug; report it")
        got = self._guard("read chunks", lambda: self._live().get(ids=list(chunk_ids),
                                                                  include=["documents", "metadatas"]))
        live = {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        missing = [i for i in chunk_ids if i not in live]
        if missing:
            raise StoreError(f"chunk {missing[0]!r} is not in the index", hint=_RETRY_HINT)
        self._guard("stage vectors", lambda: staging.upsert(
            ids=list(chunk_ids), embeddings=[[float(x) for x in v] for v in embeddings],
            documents=[live[i][0] for i in chunk_ids], metadatas=[live[i][1] for i in chunk_ids]))

    def adopt(self, metadata: Mapping[str, Any]) -> None:
        """Swap the staged copy in with ``metadata``; refuses while a live chunk lacks a matching vector."""
        staging = self._staging()
        if staging is None or STAGED_KEY not in (staging.metadata or {}):
            raise StoreError("no vectors are staged", hint=_RETRY_HINT)
        live_ids = set(self._guard("read chunk ids", lambda: self._live().get(include=[]))["ids"])
        matching = self._matching(staging)
        lacking = live_ids - matching
        if lacking:
            raise StoreError(f"{len(lacking)} chunks have no staged vector", hint=_RETRY_HINT)
        staged_ids = set(self._guard("read staged ids", lambda: staging.get(include=[]))["ids"])
        extra = sorted(staged_ids - live_ids)  # chunks deleted since they were staged
        if extra:
            self._guard("drop stale staged vectors", lambda: staging.delete(ids=extra))
        final = {k: ("" if v is None else v) for k, v in metadata.items()}
        self._guard("mark the staged vectors ready", lambda: staging.modify(metadata=final))
        self._guard("retire the keyword-only collection", lambda: self._live().modify(name=self.old_name))
        self.recover()

    def _matching(self, staging: Any) -> set[str]:
        staged = self._guard("read staged vectors", lambda: paged_get(staging.get, include=["documents", "metadatas"]))
        if not staged["ids"]:
            return set()
        got = self._guard("read chunks", lambda: paged_get(self._live().get, ids=staged["ids"],
                                                           include=["documents", "metadatas"]))
        live = {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        return {i for i, d, m in zip(staged["ids"], staged["documents"], staged["metadatas"]) if live.get(i) == (d, m)}

    def _names(self) -> set[str]:
        listed = self._guard("list collections", self._client.list_collections)
        return {getattr(c, "name", c) for c in listed}

    def _meta(self, name: str) -> dict[str, Any]:
        return dict(self._guard("read collection metadata", lambda: self._client.get_collection(name)).metadata or {})

    def _live(self) -> Any:
        return self._guard("open the chunk collection",
                           lambda: self._client.get_collection(self.name, embedding_function=None))

    def _staging(self) -> Any:
        if self.staged_name not in self._names():
            return None
        return self._guard("open the staged vectors",
                           lambda: self._client.get_collection(self.staged_name, embedding_function=None))


def _signature_json(signature: Mapping[str, Any]) -> str:
    return json.dumps({k: signature[k] for k in sorted(signature)}, ensure_ascii=False, default=str)
