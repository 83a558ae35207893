"""Pure numpy/scipy helpers behind the keyword index: chunk records, BM25 weight matrices, filter masks.

Kept apart from ``keyword.py`` so the arithmetic is testable alone. Two analysed
views of every chunk are stored once, at ``add`` time, as space-joined strings:

* ``terms``: normalised, stop-word-free tokens (title prepended): the source of character n-grams;
* ``stems``: the same tokens stemmed.

Character n-grams are never stored per chunk (hundreds per chunk): the chunk x n-gram frequency matrix
is the product of the chunk x term matrix and a term x n-gram matrix, so a commit never re-analyses text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from rag import arabic
from rag.dates import day_number, filter_days
from rag.types import Chunk, SearchFilters

__all__ = [
    "chunk_record",
    "record_chunk",
    "term_matrix",
    "gram_matrix",
    "idf",
    "FilterColumns",
]


def chunk_record(chunk: Chunk) -> dict[str, Any]:
    """Everything the keyword side needs about a chunk, analysed once."""
    terms = [t for t in arabic.tokenize(f"{chunk.title}\n{chunk.text}") if not arabic.is_stopword(t)]
    return {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "text": chunk.text,
        "start": chunk.start,
        "end": chunk.end,
        "ordinal": chunk.ordinal,
        "source": chunk.source,
        "published": chunk.published,
        "published_day": day_number(chunk.published),
        "paragraph": chunk.paragraph,
        "paragraph_end": chunk.paragraph_end,
        "outlet": chunk.outlet,
        "terms": " ".join(terms),
        "stems": " ".join(arabic.stem(t) for t in terms),
    }


def record_chunk(record: Mapping[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=record["chunk_id"],
        doc_id=record["doc_id"],
        title=record["title"],
        text=record["text"],
        start=int(record["start"]),
        end=int(record["end"]),
        ordinal=int(record["ordinal"]),
        source=record["source"],
        published=record["published"],
        paragraph=int(record.get("paragraph", 0)),
        paragraph_end=int(record.get("paragraph_end", 0)),
        outlet=record.get("outlet") or None,  # absent in segments written before outlets were kept
    )


def term_matrix(docs: Iterable[str]) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Chunk x token frequency matrix from space-joined token strings, plus the token vocabulary."""
    vocab: dict[str, int] = {}
    indptr = [0]
    indices: list[int] = []
    for doc in docs:
        for token in doc.split():
            indices.append(vocab.setdefault(token, len(vocab)))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    matrix = sp.csr_matrix(
        (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(indptr) - 1, max(len(vocab), 1)),
    )
    matrix.sum_duplicates()
    return matrix, vocab


def gram_matrix(terms: sp.csr_matrix, vocab: Mapping[str, int]) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Chunk x character-n-gram frequencies = (chunk x term) @ (term x n-gram)."""
    grams: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for token, row in vocab.items():
        for gram in arabic.word_ngrams(token):
            rows.append(row)
            cols.append(grams.setdefault(gram, len(grams)))
    expand = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(terms.shape[1], max(len(grams), 1))
    )
    return (terms @ expand).tocsr(), grams


def idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """Lucene BM25 idf (always positive, unlike the classic Robertson idf)."""
    return np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)


@dataclass
class FilterColumns:
    """Per-chunk columns for metadata filters, built at commit, so a filter is a numpy mask."""

    doc_ids: np.ndarray
    sources: np.ndarray
    days: np.ndarray

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> FilterColumns:
        return cls(
            doc_ids=np.asarray([r["doc_id"] for r in records], dtype=object),
            sources=np.asarray([r["source"] for r in records], dtype=object),
            days=np.asarray([int(r["published_day"]) for r in records], dtype=np.int64),
        )

    def mask(self, filters: SearchFilters | None) -> np.ndarray | None:
        """Boolean mask of the chunks that pass ``filters``; None when nothing is filtered."""
        if filters is None or filters.empty:
            return None
        keep = np.ones(len(self.days), dtype=bool)
        if filters.doc_ids:
            keep &= np.isin(self.doc_ids, list(filters.doc_ids))
        if filters.sources:
            keep &= np.isin(self.sources, list(filters.sources))
        days = filter_days(filters.published_from, filters.published_to)  # the store's bounds, to the day
        if days is not None:
            keep &= (self.days >= days[0]) & (self.days <= days[1])  # undated (0) never inside
        return keep
