"""How a chunk is stored in Chroma, and which stored chunks readers may see while a write is in flight.

Every chunk row carries its article's version: ``ver`` is the chunk id without its ordinal
(``{doc_id}::{tag}``; a chunk written before versions existed, ``{doc_id}::N``, has the version
``{doc_id}``), and ``gen`` names the write that stored it. The new version of an article is written beside
the old one, so two versions of one article may be stored at once; the article registry record names the
current one.

The write journal (``WRITES_KEY`` in the chunk collection's metadata, one JSON object: generation ->
entry) says what to hide: the chunks of a generation whose entry is ``open`` (its articles are not
complete yet), and the versions listed in any entry's ``hide`` (replaced or removed, not deleted yet).
A reader applies that as a Chroma ``where`` (``visibility_where``), so dense search, chunk listings and
the keyword index's rebuild and catch-up see complete documents only. An empty journal costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.dates import day_number
from rag.types import Chunk

__all__ = ["WRITES_KEY", "ChunkTag", "chunk_meta", "to_chunk", "version_of", "journal", "journal_json",
           "visibility_where", "and_where", "is_visible", "paged_get", "GET_PAGE"]

#: rows per Chroma ``get`` that returns metadata or text: one unpaged read of more than SQLite's 32,766 bound
#: variables fails ("too many SQL variables"), so a registry of 33k articles could not even be listed
GET_PAGE = 5000

#: collection-metadata key holding the write journal
WRITES_KEY = "sanad:writes"


@dataclass(frozen=True)
class ChunkTag:
    """A stored chunk's identity and version, hidden or not (what recovery works from)."""

    chunk_id: str
    doc_id: str
    ver: str
    gen: str


def version_of(chunk_id: str) -> str:
    """``doc::tag::3`` -> ``doc::tag``; ``doc::3`` (stored before versions) -> ``doc``."""
    return chunk_id.rpartition("::")[0] or chunk_id


def journal(meta: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The write journal in ``meta`` (empty when absent or unreadable)."""
    try:
        entries = json.loads(str(meta.get(WRITES_KEY) or "{}"))
    except ValueError:
        return {}
    if not isinstance(entries, dict):
        return {}
    return {str(g): e for g, e in entries.items() if isinstance(e, dict)}


def journal_json(entries: Mapping[str, Mapping[str, Any]]) -> str:
    return json.dumps(dict(entries), ensure_ascii=False, sort_keys=True)


def _hidden(meta: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    entries = journal(meta)
    open_gens = sorted(g for g, e in entries.items() if e.get("open"))
    vers = sorted({str(pair[1]) for e in entries.values() for pair in e.get("hide") or [] if len(pair) == 2})
    return open_gens, vers


def visibility_where(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Chroma ``where`` that keeps in-flight and retired chunks out; None when nothing is hidden.
    (Chroma's ``$nin`` matches rows without the key, so chunks stored before versions stay visible.)"""
    open_gens, vers = _hidden(meta)
    clauses: list[dict[str, Any]] = []
    if open_gens:
        clauses.append({"gen": {"$nin": open_gens}})
    if vers:
        clauses.append({"ver": {"$nin": vers}})
    return and_where(*clauses)


def is_visible(meta: Mapping[str, Any]) -> Callable[[str, str], bool]:
    """The same rule as a predicate over (gen, ver), for stores that filter in Python."""
    open_gens, vers = _hidden(meta)
    hidden_gens, hidden_vers = set(open_gens), set(vers)
    return lambda gen, ver: gen not in hidden_gens and ver not in hidden_vers


def and_where(*wheres: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chroma ``where`` clauses joined with ``$and`` (None when there are none)."""
    clauses: list[dict[str, Any]] = []
    for where in wheres:
        if where:
            clauses.extend(where["$and"] if set(where) == {"$and"} else [where])
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def chunk_meta(chunk: Chunk, gen: str = "") -> dict[str, Any]:
    return {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "source": chunk.source,
        "published": chunk.published or "",
        "published_day": day_number(chunk.published),
        "start": chunk.start,
        "end": chunk.end,
        "ordinal": chunk.ordinal,
        "paragraph": chunk.paragraph,
        "paragraph_end": chunk.paragraph_end,
        "outlet": chunk.outlet or "",
        "ver": version_of(chunk.chunk_id),
        "gen": gen,
    }


def to_chunk(chunk_id: str, text: str | None, meta: Mapping[str, Any] | None) -> Chunk:
    m = meta or {}
    return Chunk(
        chunk_id=chunk_id,
        doc_id=str(m.get("doc_id", "")),
        title=str(m.get("title", "")),
        text=text or "",
        start=int(m.get("start", 0)),
        end=int(m.get("end", 0)),
        ordinal=int(m.get("ordinal", 0)),
        source=str(m.get("source", "")),
        published=str(m.get("published") or "") or None,
        paragraph=int(m.get("paragraph", 0)),
        paragraph_end=int(m.get("paragraph_end", 0)),
        outlet=str(m.get("outlet") or "") or None,
    )


def tags_of(ids: Sequence[str], metas: Sequence[Mapping[str, Any] | None]) -> list[ChunkTag]:
    """ChunkTags from a Chroma ``get`` (the version derived from the id where the row predates ``ver``)."""
    return [ChunkTag(i, str((m or {}).get("doc_id", "")), str((m or {}).get("ver") or version_of(i)),
                     str((m or {}).get("gen") or "")) for i, m in zip(ids, metas)]


def paged_get(get: Callable[..., Mapping[str, Any]], *, ids: Sequence[str] | None = None,
              page: int = GET_PAGE, **kwargs: Any) -> dict[str, list[Any]]:
    """A Chroma ``get`` read in pages (by ``ids`` slices, else by ``limit``/``offset``) and joined, with the
    same keys as one call; ``get`` is the collection's bound method (or a guarded wrapper of it)."""
    out: dict[str, list[Any]] = {"ids": []}
    fields = ["ids", *kwargs.get("include", [])]
    for key in fields:
        out[key] = []
    calls: Iterator[dict[str, Any]]
    if ids is not None:
        calls = ({"ids": list(ids[start:start + page])} for start in range(0, len(ids), page))
    else:
        calls = ({"limit": page, "offset": start} for start in range(0, 1 << 62, page))
    for call in calls:
        got = get(**kwargs, **call)
        for key in fields:
            out[key].extend(got.get(key) or [])
        if ids is None and len(got["ids"]) < page:
            break
    return out
