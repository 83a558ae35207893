"""Arabic-aware BM25 over chunks, in segments: a change costs what it changes, not the archive.

Two analysed sides are scored and fused per question: Snowball-stemmed words (precise) and character
3-4-grams inside space-padded words (absorb clitics و/ف/ب/ل/ال and spelling variants; +4-9 points hit@1 on
the dev corpora, see STACK-NOTES). Each side's score is divided by the query's best possible score, so a
keyword score is in [0, 1] and doubles as an "is this answered" signal.

Persistence (``keyword_segments`` holds the arithmetic): ``<directory>/seg-<id>/`` folders are immutable
segments; ``manifest-<version>.json`` lists a version's segments and the deleted rows in each;
``CURRENT`` names the live version, which ``commit`` also stamps into the store's collection metadata.
A commit writes one small segment for the added chunks, deletion marks for removed or replaced ones, and
occasionally a merge (``merge_plan``). ``refresh_if_stale`` compares the stamp (one metadata read) and
loads only the segments it lacks; a version missing on this machine is rebuilt from the store's chunks.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag import arabic
from rag.errors import RetrievalError
from rag.ports import VectorStore
from rag.retrieval import keyword_feed as feed
from rag.retrieval import keyword_matrix as km
from rag.retrieval import keyword_segments as ks
from rag.types import Chunk, SearchFilters

__all__ = ["BM25Index", "VERSION_KEY"]

#: collection-metadata key holding the committed keyword-index version
VERSION_KEY = "sanad:keyword_version"
_CURRENT = "CURRENT"


@dataclass(frozen=True)
class _State:
    """One committed version: its segments (oldest first) and which of their rows are live."""

    version: str
    segments: tuple[ks.Segment, ...]
    lives: tuple[np.ndarray, ...]

    @cached_property
    def size(self) -> int:
        return int(sum(int(live.sum()) for live in self.lives))

    @cached_property
    def average_lengths(self) -> dict[str, float]:
        """BM25's average document length per side, over live rows: fixed for a version."""
        return {side: ks.live_average_length(self.segments, self.lives, side) for side in BM25Index.PARAMS}

    def deleted(self) -> dict[str, list[int]]:
        return {seg.seg_id: np.flatnonzero(~live).tolist() for seg, live in zip(self.segments, self.lives)}


class BM25Index:
    """Implements ``rag.ports.KeywordIndex``; persisted under ``directory``, versioned through ``store``."""

    #: BM25 parameters per side (STACK-NOTES: n-grams best at k1 0.9, b 0.6; words are not sensitive)
    PARAMS = {"stems": (1.2, 0.75), "grams": (0.9, 0.6)}

    def __init__(self, directory: Path, store: VectorStore, *, gram_weight: float = 0.75) -> None:
        self.directory = Path(directory)
        self.store = store
        self.gram_weight = gram_weight
        self._state: _State | None = None
        self._added: dict[str, dict[str, Any]] = {}  # staged chunk records, by chunk id
        self._removed: set[str] = set()  # staged doc ids to drop (before the staged additions)
        self._lock = threading.RLock()

    # --- writing -----------------------------------------------------------------------------
    def add(self, chunks: Sequence[Chunk]) -> None:
        """Analyse and stage chunks (replacing any with the same id); visible after ``commit``."""
        with self._lock:
            for chunk in chunks:
                self._added[chunk.chunk_id] = km.chunk_record(chunk)

    def remove_docs(self, doc_ids: Sequence[str]) -> None:
        """Stage the removal of every chunk of ``doc_ids``, including chunks staged before this call."""
        with self._lock:
            drop = set(doc_ids)
            self._removed |= drop
            self._added = {cid: rec for cid, rec in self._added.items() if rec["doc_id"] not in drop}

    def commit(self) -> None:
        """Apply the staged changes on top of the latest committed version; persist and stamp it, with a
        change-feed entry other processes replay to catch up."""
        with self._lock:
            meta = self.store.collection_meta()
            stamp = meta.get(VERSION_KEY)
            if self._state is None or (stamp is not None and stamp != self._state.version):
                self._sync(stamp, meta)
            state = self._state
            assert state is not None
            if not self._added and not self._removed:
                return
            touched = self._removed | {r["doc_id"] for r in self._added.values()}
            segments, lives = self._merge(*self._apply_changes(state, self._added, self._removed))
            new = _State(f"{time.time_ns():x}-{uuid.uuid4().hex[:6]}", tuple(segments), tuple(lives))
            self._publish(new)
            self.store.update_collection_meta({
                VERSION_KEY: new.version,
                feed.FEED_KEY: feed.appended(meta, new.version, state.version, sorted(touched))})
            self._state, self._added, self._removed = new, {}, set()

    # --- reading -----------------------------------------------------------------------------
    def refresh_if_stale(self) -> None:
        """One metadata read when nothing changed; load the new segments when another process committed."""
        meta = self.store.collection_meta()
        stamp = meta.get(VERSION_KEY)
        if self._state is not None and (stamp is None or stamp == self._state.version):
            return
        with self._lock:
            if self._state is not None and stamp == self._state.version:
                return
            self._sync(stamp, meta)

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by fused word + n-gram score in [0, 1]; chunks outside ``filters`` never come back."""
        if self._state is None:
            self.refresh_if_stale()
        state = self._state
        if state is None or state.size == 0 or k <= 0:
            return []
        per_segment = self._scores(state, query)
        if per_segment is None:
            return []
        for i, (seg, live) in enumerate(zip(state.segments, state.lives)):
            mask = seg.columns.mask(filters)
            keep = live if mask is None else live & mask
            per_segment[i] = np.where(keep, per_segment[i], 0.0)
        scores = np.concatenate(per_segment)
        starts = np.cumsum([0] + [len(seg) for seg in state.segments])
        hits = []
        for i in _top_k(scores, k):
            s = int(np.searchsorted(starts, i, side="right")) - 1
            hits.append((km.record_chunk(state.segments[s].records[i - starts[s]]), float(scores[i])))
        return hits

    @property
    def lang(self) -> str | None:
        """Majority language of the indexed chunks (None before anything is loaded)."""
        if self._state is None:
            return None
        votes: dict[str, int] = {}
        for seg in self._state.segments:
            for lang, n in seg.langs.items():
                votes[lang] = votes.get(lang, 0) + n
        return max(votes, key=votes.__getitem__) if votes else "ar"

    @property
    def version(self) -> str | None:
        return self._state.version if self._state is not None else None

    @property
    def segment_count(self) -> int:
        """Segments in the live version (stays logarithmic in the number of commits)."""
        return len(self._state.segments) if self._state is not None else 0

    def __len__(self) -> int:
        return self._state.size if self._state is not None else 0

    # --- internals: scoring ------------------------------------------------------------------
    def _scores(self, state: _State, query: str) -> list[np.ndarray] | None:
        terms = [t for t in arabic.tokenize(query) if not arabic.is_stopword(t)]
        tokens = {"stems": [arabic.stem(t) for t in terms], "grams": [g for t in terms for g in arabic.word_ngrams(t)]}
        words, grams = (ks.side_scores(state.segments, state.lives, side, tokens[side], *self.PARAMS[side],
                                       n_docs=state.size, avg=state.average_lengths[side])
                        for side in ("stems", "grams"))
        if words is None or grams is None:
            return None
        return [(1 - self.gram_weight) * w + self.gram_weight * g for w, g in zip(words, grams)]

    # --- internals: committing ---------------------------------------------------------------
    def _apply_changes(self, state: _State, added: dict[str, dict[str, Any]],
                       removed: set[str]) -> tuple[list[ks.Segment], list[np.ndarray]]:
        """Deletion marks for removed and replaced chunks, plus one new segment for the additions."""
        segments, lives = list(state.segments), [live.copy() for live in state.lives]
        for seg, live in zip(segments, lives):
            for doc_id in removed:
                live[seg.rows_of_doc.get(doc_id, [])] = False
            for chunk_id in added:
                row = seg.rows_of_chunk.get(chunk_id)
                if row is not None:
                    live[row] = False
        if added:
            segment = ks.build_segment(list(added.values()))
            self._save_segment(segment)
            segments.append(segment)
            lives.append(np.ones(len(segment), dtype=bool))
        kept = [(s, live) for s, live in zip(segments, lives) if live.any()]
        return [s for s, _ in kept], [live for _, live in kept]

    def _merge(self, segments: list[ks.Segment], lives: list[np.ndarray]) -> tuple[list[ks.Segment], list[np.ndarray]]:
        """Compact mostly-deleted segments, then merge the tail as ``merge_plan`` says."""
        for i, (segment, live) in enumerate(zip(segments, lives)):
            if 2 * int(live.sum()) < len(segment):
                segments[i], lives[i] = self._rewrite([(segment, live)])
        take = ks.merge_plan([int(live.sum()) for live in lives])
        if take <= 1:
            return segments, lives
        keep = len(segments) - take
        merged, live = self._rewrite(list(zip(segments[keep:], lives[keep:])))
        return segments[:keep] + [merged], lives[:keep] + [live]

    def _rewrite(self, parts: list[tuple[ks.Segment, np.ndarray]]) -> tuple[ks.Segment, np.ndarray]:
        """One new segment holding the live rows of ``parts``, oldest first."""
        records = [seg.records[r] for seg, live in parts for r in np.flatnonzero(live)]
        merged = ks.build_segment(records)
        self._save_segment(merged)
        return merged, np.ones(len(merged), dtype=bool)

    def _save_segment(self, segment: ks.Segment) -> None:
        with self._writing():
            ks.save_segment(self.directory, segment)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The data folder exists; a failed write is a RetrievalError that says what to check."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            yield
        except OSError as exc:
            raise RetrievalError(f"cannot write the keyword index under {self.directory}: {exc}",
                                 hint="check free disk space and permissions of the data folder") from exc

    def _publish(self, state: _State) -> None:
        """Manifest, then CURRENT, each by atomic rename; then drop what no recent version needs."""
        manifest = {"version": state.version, "segments": [s.seg_id for s in state.segments],
                    "deleted": {k: v for k, v in state.deleted().items() if v}}
        with self._writing():
            _write_atomic(self.directory / f"manifest-{state.version}.json", json.dumps(manifest))
            _write_atomic(self.directory / _CURRENT, state.version)
        self._prune(state.version)

    def _prune(self, current: str) -> None:
        """Keep the two newest manifests and their segments, so a reader mid-load in another process survives."""
        manifests = sorted(self.directory.glob("manifest-*.json"), key=lambda p: p.stat().st_mtime)
        keep = [p for p in manifests if p.name == f"manifest-{current}.json"] + manifests[-2:]
        wanted: set[str] = set()
        for path in set(keep):
            try:
                wanted |= set(json.loads(path.read_text(encoding="utf-8"))["segments"])
            except (OSError, ValueError, KeyError):
                continue
        for path in manifests:
            if path not in keep:
                path.unlink(missing_ok=True)
        for folder in self.directory.glob("seg-*"):
            if folder.name[4:] not in wanted:
                shutil.rmtree(folder, ignore_errors=True)
        for old in self.directory.glob("v-*"):  # the single-file layout of earlier versions
            shutil.rmtree(old, ignore_errors=True)

    # --- internals: loading ------------------------------------------------------------------
    def _sync(self, stamp: str | None, meta: dict[str, Any] | None = None) -> None:
        """Load the stamped version (reusing segments already in memory), else catch up through the change
        feed, else rebuild from the store.

        A stamped version on disk is trusted (the pipeline marks articles complete only after a keyword
        commit, and undoes incomplete ones); without a stamp the disk copy must match the store's chunk
        count. A stamped version missing here (another server committed, or a damaged folder) is reached
        by replaying the feed from this folder's version, or rebuilt from the store under the same stamp."""
        wanted = stamp or self._disk_version()
        loaded = self._load(wanted) if wanted else None
        if loaded is not None and (stamp is not None or loaded.size == self.store.count_chunks()):
            self._state = loaded
            return
        if stamp is not None and self._catch_up(str(stamp), meta or self.store.collection_meta()):
            return
        records = [km.chunk_record(chunk) for chunk in self.store.iter_chunks()]
        if not records and stamp is None:
            self._state = _State("empty", (), ())
            return
        segments = [ks.build_segment(records)] if records else []
        for segment in segments:
            self._save_segment(segment)
        state = _State(str(stamp) if stamp else f"{time.time_ns():x}-rebuilt", tuple(segments),
                       tuple(np.ones(len(s), dtype=bool) for s in segments))
        self._publish(state)
        if stamp is None:
            self.store.update_collection_meta({VERSION_KEY: state.version})
        self._state = state

    def _catch_up(self, stamp: str, meta: dict[str, Any]) -> bool:
        """Replay the feed from this folder's version to ``stamp``: re-read the touched articles' chunks."""
        base = self._state
        if base is None:
            disk = self._disk_version()
            base = self._load(disk) if disk else None
        docs = feed.touched_since(meta, base.version, stamp) if base is not None else None
        if base is None or docs is None:
            return False
        chunks = self.store.get_chunks([cid for doc in sorted(docs) for cid in self.store.chunk_ids(doc)])
        added = {c.chunk_id: km.chunk_record(c) for c in chunks}
        segments, lives = self._merge(*self._apply_changes(base, added, set(docs)))
        state = _State(stamp, tuple(segments), tuple(lives))
        self._publish(state)
        self._state = state
        return True

    def _load(self, version: str) -> _State | None:
        try:
            manifest = json.loads((self.directory / f"manifest-{version}.json").read_text(encoding="utf-8"))
            seg_ids, deleted = list(manifest["segments"]), dict(manifest.get("deleted") or {})
        except (OSError, ValueError, KeyError, TypeError):
            return None
        have = {s.seg_id: s for s in self._state.segments} if self._state is not None else {}
        segments, lives = [], []
        for seg_id in seg_ids:
            segment = have.get(seg_id) or ks.load_segment(self.directory, seg_id)
            if segment is None:
                return None  # half-written or pruned: the caller rebuilds from the store
            live = np.ones(len(segment), dtype=bool)
            rows = [r for r in deleted.get(seg_id, []) if 0 <= int(r) < len(segment)]
            live[np.asarray(rows, dtype=np.int64)] = False
            segments.append(segment)
            lives.append(live)
        return _State(version, tuple(segments), tuple(lives))

    def _disk_version(self) -> str | None:
        try:
            return (self.directory / _CURRENT).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _top_k(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` best positive scores, best first."""
    k = min(k, int(np.count_nonzero(scores > 0)))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in part[np.argsort(-scores[part], kind="stable")]]
