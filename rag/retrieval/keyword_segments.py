"""Immutable keyword segments and BM25 scoring across them, so a change costs what it changes.

A commit never rewrites the archive: new chunks become a new small segment, removed or replaced chunks
become deletion marks on the segment that holds them, and segments are merged geometrically
(``merge_plan``): O(log n) segments, each chunk rewritten O(log n) times. Scores are computed at query
time from per-segment term frequencies with the *global* live statistics (document count, average
length, document frequency), so a segmented index ranks exactly like one built from the same chunks.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from rag import arabic
from rag.retrieval import keyword_matrix as km

__all__ = ["Segment", "Side", "build_segment", "save_segment", "load_segment", "live_average_length",
           "side_scores", "merge_plan"]

_SIDES = ("stems", "grams")


@dataclass(frozen=True)
class Side:
    """One analysed view of a segment: token -> column, CSC term frequencies, row lengths."""

    vocab: dict[str, int]
    tf: sp.csc_matrix
    lengths: np.ndarray

    @classmethod
    def of(cls, matrix: sp.spmatrix, vocab: dict[str, int]) -> Side:
        csc = sp.csc_matrix(matrix, dtype=np.float32)
        csc.sort_indices()
        return cls(vocab, csc, np.asarray(csc.sum(axis=1), dtype=np.float32).ravel())


@dataclass
class Segment:
    """Chunk records plus both analysed sides; never modified after it is written."""

    seg_id: str
    records: list[dict[str, Any]]
    sides: dict[str, Side]
    columns: km.FilterColumns
    langs: dict[str, int]
    rows_of_chunk: dict[str, int] = field(default_factory=dict)
    rows_of_doc: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rows_of_chunk = {r["chunk_id"]: i for i, r in enumerate(self.records)}
        for i, record in enumerate(self.records):
            self.rows_of_doc.setdefault(record["doc_id"], []).append(i)

    def __len__(self) -> int:
        return len(self.records)


def build_segment(records: list[dict[str, Any]], seg_id: str | None = None) -> Segment:
    """Analyse ``records`` (chunk records with ``terms`` and ``stems``) into a new segment."""
    terms, term_vocab = km.term_matrix(r["terms"] for r in records)
    stems, stem_vocab = km.term_matrix(r["stems"] for r in records)
    grams, gram_vocab = km.gram_matrix(terms, term_vocab)
    langs = Counter(arabic.detect_language(r["text"]) for r in records[:: max(1, len(records) // 200)])
    return Segment(seg_id or uuid.uuid4().hex[:12], records,
                   {"stems": Side.of(stems, stem_vocab), "grams": Side.of(grams, gram_vocab)},
                   km.FilterColumns.from_records(records), dict(langs))


def save_segment(directory: Path, segment: Segment) -> None:
    """Write into a temporary folder, then rename: a segment folder is either complete or absent."""
    folder = directory / f"seg-{segment.seg_id}"
    tmp = directory / f".tmp-seg-{segment.seg_id}-{uuid.uuid4().hex[:6]}"
    try:
        tmp.mkdir(parents=True)
        with (tmp / "records.jsonl").open("w", encoding="utf-8") as out:
            for record in segment.records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        for name in _SIDES:
            side = segment.sides[name]
            sp.save_npz(tmp / f"{name}.npz", side.tf, compressed=False)
            vocab = sorted(side.vocab, key=side.vocab.__getitem__)
            (tmp / f"{name}.vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps({"chunks": len(segment), "langs": segment.langs,
                                                   "analyzer": arabic.ANALYZER_VERSION}), encoding="utf-8")
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_segment(directory: Path, seg_id: str) -> Segment | None:
    """The segment as written, or None when it is missing, damaged, or analysed by another version of
    ``rag.arabic`` (its stored stems would not match today's queries): the caller rebuilds from the store."""
    folder = directory / f"seg-{seg_id}"
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if int(meta.get("analyzer", 1)) != arabic.ANALYZER_VERSION:
            return None
        with (folder / "records.jsonl").open(encoding="utf-8") as lines:
            records = [json.loads(line) for line in lines if line.strip()]
        sides = {}
        for name in _SIDES:
            vocab = json.loads((folder / f"{name}.vocab.json").read_text(encoding="utf-8"))
            sides[name] = Side.of(sp.load_npz(folder / f"{name}.npz"), {t: i for i, t in enumerate(vocab)})
    except (OSError, ValueError, KeyError):
        return None
    if len(records) != int(meta.get("chunks", -1)) or any(s.tf.shape[0] != len(records) for s in sides.values()):
        return None
    return Segment(seg_id, records, sides, km.FilterColumns.from_records(records), dict(meta.get("langs") or {}))


def live_average_length(segments: Sequence[Segment], lives: Sequence[np.ndarray], side: str) -> float:
    """Mean token count of the live rows on one side (BM25's average document length)."""
    n_docs = sum(int(live.sum()) for live in lives)
    total = sum(float(seg.sides[side].lengths[live].sum()) for seg, live in zip(segments, lives))
    return max(total / n_docs, 1e-9) if n_docs else 1.0


def side_scores(segments: Sequence[Segment], lives: Sequence[np.ndarray], side: str, tokens: Sequence[str],
                k1: float, b: float, *, n_docs: int, avg: float) -> list[np.ndarray] | None:
    """Per-segment BM25 (Lucene variant) of ``tokens`` over live rows, divided by the query's best score.
    ``n_docs`` and ``avg`` are the live statistics (computed once per committed version, not per query).

    None when the query has no tokens; all zeros when none of them occurs in a live chunk."""
    if not tokens:
        return None
    scores = [np.zeros(len(seg), dtype=np.float32) for seg in segments]
    if n_docs == 0:
        return scores
    best, seen = 0.0, False
    for token, count in Counter(tokens).items():
        postings = [_postings(seg.sides[side], live, token) for seg, live in zip(segments, lives)]
        df = sum(len(rows) for rows, _ in postings)
        weight = float(km.idf(np.asarray([df], dtype=np.float32), n_docs)[0])
        best += weight * count
        seen = seen or df > 0
        for score, seg, (rows, tf) in zip(scores, segments, postings):
            if len(rows):
                dl = seg.sides[side].lengths[rows]
                score[rows] += count * weight * tf / (tf + k1 * (1 - b + b * dl / avg))
    if not seen or best <= 0:
        return [np.zeros(len(seg), dtype=np.float32) for seg in segments]
    return [score / best for score in scores]


def _postings(side: Side, live: np.ndarray, token: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows (live only) containing ``token`` and their term frequencies."""
    col = side.vocab.get(token)
    if col is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    lo, hi = side.tf.indptr[col], side.tf.indptr[col + 1]
    rows, tf = side.tf.indices[lo:hi], side.tf.data[lo:hi]
    keep = live[rows]
    return (rows, tf) if keep.all() else (rows[keep], tf[keep])


def merge_plan(live_counts: Sequence[int]) -> int:
    """How many trailing segments (oldest first order) to merge into one: 0 or 1 means none.

    The newest segments join their older neighbour while together they hold at least half as many live
    chunks. Afterwards every segment holds more than twice the live chunks of all newer ones together:
    O(log n) segments, and each chunk is rewritten O(log n) times over its life."""
    take = 1
    acc = live_counts[-1] if live_counts else 0
    while take < len(live_counts):
        older = len(live_counts) - take - 1
        if acc * 2 < live_counts[older]:
            break
        acc += live_counts[older]
        take += 1
    return take
