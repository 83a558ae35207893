"""Vectors for an index built keyword-only, added by the first ingest that has an embedding model.

Without this an index built while no model loaded stayed keyword-only for good: its collection records the
keyword-only signature, so a later run with a model was refused (or searched without vectors). The stored
chunks are embedded as they are (ids, text and offsets unchanged, so the keyword index and citations stay
valid), staged beside the live ones and adopted in one store step that also records the model's
signature. Until that step the index is a consistent keyword-only index; after a failure the staged
vectors are kept and the next ingest embeds only the chunks not staged yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rag.errors import IngestError
from rag.ports import VectorStore
from rag.types import Chunk

__all__ = ["backfill_vectors", "STAGE"]

#: the progress stage reported while stored chunks get their vectors
STAGE = "vectors"

Embed = Callable[[Sequence[Chunk]], list[list[float]]]
_EMBED_ERRORS = (RuntimeError, ValueError, OSError, MemoryError)


def backfill_vectors(store: VectorStore, embed: Embed, signature: Mapping[str, Any], *, batch_size: int,
                     progress: Callable[[str, int, int], None] | None = None) -> int:
    """Give every stored chunk a vector, then record ``signature``; returns how many were embedded now.

    Vectors are written first and the signature flipped last (by the store, in one step), so a crash or
    an embedding error never leaves an index that claims vectors some chunks lack."""
    staged = store.staged_vector_ids(signature)
    todo = [chunk for chunk in store.iter_chunks() if chunk.chunk_id not in staged]
    if progress is not None:
        progress(STAGE, 0, len(todo))
    for start in range(0, len(todo), batch_size):
        part = todo[start:start + batch_size]
        try:
            vectors = embed(part)
        except _EMBED_ERRORS as exc:
            raise IngestError(
                f"embedding failed while adding vectors to the index ({type(exc).__name__}: {exc})",
                hint="the index stays keyword-only; run `sanad ingest` again to resume",
            ) from exc
        store.stage_vectors([chunk.chunk_id for chunk in part], vectors)
        if progress is not None:
            progress(STAGE, start + len(part), len(todo))
    store.adopt_staged_vectors(signature)
    return len(todo)
