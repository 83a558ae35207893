"""Crash-safe updates: a new version of an article is written beside the old one and switched in whole.

Every write (one commit window of an ingest, or one removal) is a *generation* with an entry in the write
journal (``rag.retrieval.store_rows``: chunk-collection metadata, one Chroma write per change). Its steps:

1. ``open``: the entry is written ``open`` with the writer's lease, then its chunks are stored under
   version-tagged ids (``{doc_id}::{tag}::{ordinal}``, the tag from the content hash) beside the old
   ones. Readers hide every chunk of an open generation: dense search, chunk listings and the keyword
   index's rebuild and catch-up all see the old version only, and the registry record is still the old one.
2. The registry records are written with the new version: this one Chroma write is the commit point.
3. ``close``: one journal write makes the generation visible and hides the replaced versions, so dense
   search switches from old to new at once; the keyword commit follows (same switch on its side).
4. ``finish``: the replaced chunks are deleted and the entry dropped.

``recover`` (every ingest and removal, under the write lock) repairs what a dead writer left: for each
article it touched, the registry record says which version is current, everything else of that article
is deleted, and the keyword index is re-synced for those articles from the store. A writer is dead when
its lease says so: same host and its process gone (pid + start time), or no heartbeat for
``LEASE_SECONDS`` from another host. A live writer's entry is never touched.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from rag.ports import DocRecord, KeywordIndex, VectorStore
from rag.retrieval.store_rows import WRITES_KEY, journal, journal_json
from rag.types import Article, Chunk

__all__ = ["Versions", "lease", "lease_alive", "LEASE_SECONDS", "current_version"]

#: a writer on another host that has not renewed its lease for this long is taken for dead
LEASE_SECONDS = 900.0
#: how often a writer renews its lease (at most once per flush)
BEAT_SECONDS = 60.0
_HOST = socket.gethostname()
_ACTIVE: set[str] = set()  # generations this process is writing now
_ACTIVE_LOCK = threading.Lock()


def _started(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), so a reused pid is not taken for the writer;
    None when no such process runs. Without /proc, any running process with that pid counts."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except OSError:
        pass
    return ""


def lease(pid: int | None = None) -> dict[str, Any]:
    """This process's (or ``pid``'s) lease: who writes, and when it was last seen alive."""
    pid = pid or os.getpid()
    return {"pid": pid, "host": _HOST, "start": _started(pid) or "", "beat": time.time()}


def lease_alive(entry: Mapping[str, Any]) -> bool:
    """Whether the writer holding ``entry``'s lease may still be working."""
    if entry.get("host") != _HOST:
        return time.time() - float(entry.get("beat") or 0) < LEASE_SECONDS
    pid = int(entry.get("pid") or 0)
    if pid == os.getpid():
        return False  # this process: its live generations are in _ACTIVE
    started = _started(pid) if pid > 0 else None
    return started is not None and (started == "" or started == str(entry.get("start") or ""))


def current_version(record: DocRecord | None, doc_id: str) -> str | None:
    """The chunk version a registry record names (a record written before versions: ``doc_id``)."""
    if record is None:
        return None
    return str(record.get("ver") or "") or doc_id


class Versions:
    """The write journal's only writer: opens, closes and finishes generations, and recovers dead ones."""

    def __init__(self, store: VectorStore, keyword: KeywordIndex) -> None:
        self.store = store
        self.keyword = keyword
        self._beats: dict[str, float] = {}

    # --- one generation -------------------------------------------------------------------------
    def open(self, hide: Sequence[tuple[str, str]] = (), *, visible: bool = False) -> str:
        """A new generation, registered before any of its chunks is written; ``hide`` (doc id, version)
        pairs disappear from readers at once (a removal)."""
        gen = f"{time.time_ns():x}{uuid.uuid4().hex[:6]}"
        with _ACTIVE_LOCK:
            _ACTIVE.add(gen)
        self._write(gen, {**lease(), "open": not visible, "hide": sorted({tuple(p) for p in hide})})
        self._beats[gen] = time.monotonic()
        return gen

    def beat(self, gen: str) -> None:
        """Renew the lease of a long write (other hosts take it for dead after ``LEASE_SECONDS``)."""
        if time.monotonic() - self._beats.get(gen, 0.0) < BEAT_SECONDS:
            return
        entry = journal(self.store.collection_meta()).get(gen)
        if entry is not None:
            self._write(gen, {**entry, "beat": time.time()})
            self._beats[gen] = time.monotonic()

    def tag_chunks(self, article: Article, chunks: Sequence[Chunk], old: str | None, gen: str) -> list[Chunk]:
        """The chunks under this version's ids; a version id never equals the one it replaces."""
        from dataclasses import replace

        tag = article.content_hash[:12]
        if old == f"{article.doc_id}::{tag}":
            tag = f"{tag}.{gen[-6:]}"
        return [replace(c, chunk_id=f"{article.doc_id}::{tag}::{c.ordinal}") for c in chunks]

    def close(self, gen: str, replaced: Sequence[tuple[str, str]]) -> None:
        """The generation's chunks become visible and the ``replaced`` (doc id, version) pairs hidden,
        in one journal write: readers switch from the old versions to the new ones at once."""
        legacy = [doc_id for doc_id, ver in replaced if ver == doc_id]
        if legacy:  # chunks stored before versions: reading their tags records their version, so it can hide them
            self.store.chunk_tags(doc_ids=legacy)
        entry = journal(self.store.collection_meta()).get(gen) or lease()
        self._write(gen, {**entry, "open": False, "hide": sorted({tuple(p) for p in replaced})})

    def finish(self, gen: str, doc_ids: Sequence[str], current: Mapping[str, str | None]) -> None:
        """Delete the chunks of ``doc_ids`` that are not their ``current`` version; drop the entry."""
        if doc_ids:
            stale = [t.chunk_id for t in self.store.chunk_tags(doc_ids=doc_ids) if t.ver != current.get(t.doc_id)]
            self.store.delete_chunks(stale)
        self._write(gen, None)
        self.release(gen)

    def release(self, gen: str | None, *, abandon: bool = False) -> None:
        """This process no longer writes ``gen``. ``abandon`` (the write failed): its lease is given up, so
        the next recovery of any process repairs it (best effort: the store may be what failed)."""
        if gen is None:
            return
        with _ACTIVE_LOCK:
            _ACTIVE.discard(gen)
        self._beats.pop(gen, None)
        if abandon:
            from rag.errors import RagError

            try:
                entry = journal(self.store.collection_meta()).get(gen)
                if entry is not None:
                    self._write(gen, {**entry, "pid": 0, "beat": 0})
            except RagError:
                pass

    # --- recovery ---------------------------------------------------------------------------------
    def recover(self, records: Mapping[str, DocRecord]) -> list[str]:
        """Repair every generation whose writer is dead; returns the articles it touched."""
        touched: list[str] = []
        for gen, entry in journal(self.store.collection_meta()).items():
            with _ACTIVE_LOCK:
                mine = gen in _ACTIVE
            if mine or lease_alive(entry):
                continue
            touched.extend(self._repair(gen, entry, records))
        return touched

    def _repair(self, gen: str, entry: Mapping[str, Any], records: Mapping[str, DocRecord]) -> list[str]:
        """The registry decides: each touched article keeps the version its record names, readers see
        exactly that, the keyword index is re-synced to it, and every other version is deleted."""
        written = self.store.chunk_tags(gen=gen)
        docs = sorted({t.doc_id for t in written} | {str(p[0]) for p in entry.get("hide") or [] if len(p) == 2})
        tags = self.store.chunk_tags(doc_ids=docs) if docs else []
        current = {d: current_version(records.get(d), d) for d in docs}
        losers = [t for t in tags if t.ver != current[t.doc_id]]
        self._write(gen, {**entry, "open": False, "hide": sorted({(t.doc_id, t.ver) for t in losers})})
        if docs:
            self.keyword.remove_docs(docs)
            self.keyword.add(self.store.get_chunks([cid for d in docs for cid in self.store.chunk_ids(d)]))
            self.keyword.commit()
        self.store.delete_chunks([t.chunk_id for t in losers])
        self._write(gen, None)
        return docs

    def _write(self, gen: str, entry: Mapping[str, Any] | None) -> None:
        """Set or drop one journal entry (read-modify-write of the one metadata key)."""
        entries = journal(self.store.collection_meta())
        if entry is None:
            entries.pop(gen, None)
        else:
            entries[gen] = {k: (list(map(list, v)) if k == "hide" else v) for k, v in entry.items()}
        self.store.update_collection_meta({WRITES_KEY: journal_json(entries)})
