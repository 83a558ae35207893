"""The same story from many outlets: near-duplicate articles found at ingest with MinHash LSH.

Each article gets two MinHash signatures over normalised word shingles (``rag.arabic.tokenize``) of its
cleaned body (the readers already dropped boilerplate lines and the title is not part of it): one of the
whole body and one of the body without its lead paragraph. A candidate from the LSH index is the same story
only when the estimated Jaccard similarity of the whole bodies AND of the lead-less bodies both reach their
thresholds, so two different stories that open with the same wire lead are never merged.

Clusters: articles are placed in ingest order; a new article joins the cluster of its most similar verified
earlier article, else it starts its own. A cluster's id is its representative's doc id, the earliest-ingested
member. Removing a member re-places the later members of its cluster in order, so a removed representative
hands over to the next earliest member that still matches.

Persistence: the signatures, order and clusters live in one file beside the keyword index
(``data_dir/near_duplicates/COLLECTION.npz``), replaced atomically by the writer, which holds the index write
lock. Readers (search, ``sanad docs``) reload it when it changes on disk. The file is a cache of the store: on
every write the state is reconciled with the store's complete records (an article the store holds but the file
lacks, e.g. after a crash between the two writes, is signed from its stored text; one the store lost is
removed), so it can be deleted at any time and is rebuilt by the next ingest.

This is the only module that imports ``datasketch``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag import arabic
from rag.ports import DocRecord, VectorStore
from rag.types import Article, SameStory

__all__ = ["DuplicateParams", "NearDuplicateIndex", "NullClusters", "article_body", "body_shingles", "signatures"]

_FORMAT = 1
#: a lead paragraph has at least this many words (news leads run 20-60; titles and captions fewer)
LEAD_WORDS = 15
#: the most of a body its lead may be
LEAD_SHARE = 0.6
#: datasketch's hashing scheme, named explicitly: signatures saved by one scheme never meet another's
_SCHEME = "affine32"


@dataclass(frozen=True)
class DuplicateParams:
    """Fitted on half of the planted dev-news set (benchmarks/near_duplicates.py); see README."""

    shingle: int = 2
    num_perm: int = 128
    #: estimated Jaccard of the whole bodies
    threshold: float = 0.3
    #: estimated Jaccard of the bodies without their lead paragraphs (the shared-lead guard)
    rest_threshold: float = 0.1
    seed: int = 1


def _shingles(tokens: Sequence[str], size: int) -> set[bytes]:
    if len(tokens) < size:
        return {" ".join(tokens).encode("utf-8")} if tokens else set()
    return {" ".join(tokens[i:i + size]).encode("utf-8") for i in range(len(tokens) - size + 1)}


def body_shingles(text: str, size: int) -> tuple[set[bytes], set[bytes]]:
    """(whole-body shingles, shingles of the body without its lead). The lead is the first paragraph of at
    least ``LEAD_WORDS`` words, with any shorter lines before it (a kicker, a caption, a title the reader
    kept), but never more than ``LEAD_SHARE`` of the words: a copy that merged its paragraphs keeps a tail to
    compare; a one-paragraph body loses its first sentence instead."""
    tokens = arabic.tokenize(text)
    lead = 0
    paragraphs = [p for p in (q.strip() for q in text.split("\n\n")) if p]
    if len(paragraphs) > 1:
        for paragraph in paragraphs:
            words = len(arabic.tokenize(paragraph))
            lead += words
            if words >= LEAD_WORDS:
                break
    else:
        spans = arabic.sentence_spans(text)
        lead = len(arabic.tokenize(text[: spans[0][1]])) if len(spans) > 1 else len(tokens) // 3
    lead = min(lead, int(LEAD_SHARE * len(tokens)))
    return _shingles(tokens, size), _shingles(tokens[lead:], size)


def article_body(article: Article) -> str:
    """The cleaned text without the title line the readers keep at its top (outlets retitle a story)."""
    text = article.text.lstrip()
    if article.title and text.startswith(article.title):
        text = text[len(article.title):]
    return text.strip()


def _minhash(shingles: Iterable[bytes], params: DuplicateParams) -> np.ndarray:
    from datasketch import MinHash

    sig = MinHash(num_perm=params.num_perm, seed=params.seed, scheme=_SCHEME)
    sig.update_batch(list(shingles))
    return np.asarray(sig.hashvalues, dtype=np.uint32)


def signatures(text: str, params: DuplicateParams) -> np.ndarray:
    """A (2, num_perm) array: the whole body's MinHash and the lead-less body's."""
    whole, rest = body_shingles(text, params.shingle)
    return np.stack([_minhash(whole, params), _minhash(rest, params)])


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Estimated Jaccard (whole, lead-less) of two signature pairs."""
    return float(np.mean(a[0] == b[0])), float(np.mean(a[1] == b[1]))


@dataclass
class _Doc:
    order: int
    cluster: str
    sig: np.ndarray
    info: SameStory


class NullClusters:
    """No near-duplicate detection (tests, stores without a data folder): every hook does nothing."""

    def add(self, articles: Sequence[Article]) -> None:
        return None

    def remove(self, doc_ids: Sequence[str]) -> None:
        return None

    def clear(self) -> None:
        return None


class NearDuplicateIndex:
    """Clusters of near-duplicate articles, written by the ingest pipeline, read by search and ``docs``."""

    def __init__(self, path: Path | None, store: VectorStore | None = None,
                 params: DuplicateParams | None = None) -> None:
        self.path = path
        self.store = store
        self.params = params or DuplicateParams()
        self._docs: dict[str, _Doc] = {}
        self._next = 0
        self._stamp: tuple[int, int] | None = None
        self._lsh: Any = None

    # --- reading -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, SameStory]:
        """doc id -> (cluster, title, source, published, outlet), as stored now (reloaded when the file moved)."""
        self._refresh()
        return {doc_id: doc.info for doc_id, doc in self._docs.items()}

    def cluster_of(self, doc_id: str) -> str | None:
        self._refresh()
        doc = self._docs.get(doc_id)
        return doc.cluster if doc else None

    # --- writing (under the index write lock) ----------------------------------------------------
    def add(self, articles: Sequence[Article]) -> None:
        """Place new or changed articles (a changed one is re-placed as the newest) and save."""
        self.add_signed([(a, signatures(article_body(a), self.params)) for a in articles])

    def add_signed(self, items: Sequence[tuple[Article, np.ndarray]]) -> None:
        """``add`` with the signatures already computed (the benchmark signs once per shingle size)."""
        self._refresh()
        self._reconcile(skip={a.doc_id for a, _ in items})
        for article, sig in items:
            if article.doc_id in self._docs:
                self._drop(article.doc_id)
            self._place(article, sig)
        self._save()

    def remove(self, doc_ids: Sequence[str]) -> None:
        """Forget removed articles; the later members of their clusters are re-placed (hand-over)."""
        self._refresh()
        gone = [d for d in doc_ids if d in self._docs]
        for doc_id in gone:
            self._drop(doc_id)
        before = len(self._docs)
        self._reconcile(skip=set())
        if gone or len(self._docs) != before:
            self._save()

    def clear(self) -> None:
        self._docs, self._next, self._lsh = {}, 0, None
        if self.path is not None and self.path.exists():
            self.path.unlink()
        self._stamp = None

    # --- steps ---------------------------------------------------------------------------------
    def _place(self, article: Article, sig: np.ndarray, order: int | None = None) -> None:
        """Join the cluster of the most similar verified earlier article, or start one."""
        if order is None:
            order, self._next = self._next, self._next + 1
        match = self._best_match(sig, order)
        cluster = self._docs[match].cluster if match else article.doc_id
        info = SameStory(doc_id=article.doc_id, cluster=cluster, title=article.title, source=article.source,
                         published=article.published, outlet=article.outlet)
        self._docs[article.doc_id] = _Doc(order, cluster, sig, info)
        self._index().insert(article.doc_id, self._lean(sig[0]))

    def _best_match(self, sig: np.ndarray, before: int) -> str | None:
        best: tuple[float, str] | None = None
        for key in self._index().query(self._lean(sig[0])):
            doc = self._docs.get(key)
            if doc is None or doc.order >= before:
                continue
            whole, rest = similarity(sig, doc.sig)
            if whole >= self.params.threshold and rest >= self.params.rest_threshold and (
                    best is None or whole > best[0]):
                best = (whole, key)
        return best[1] if best else None

    def _drop(self, doc_id: str) -> None:
        """Remove one member; re-place the later members of its cluster in ingest order."""
        self._index().remove(doc_id)  # built (from the loaded state) before the member leaves it
        doc = self._docs.pop(doc_id)
        later = sorted((d for d in self._docs.values() if d.cluster == doc.cluster and d.order > doc.order),
                       key=lambda d: d.order)
        for member in later:
            self._index().remove(member.info.doc_id)
            del self._docs[member.info.doc_id]
        for member in later:
            article = Article(doc_id=member.info.doc_id, title=member.info.title, text="",
                              source=member.info.source, published=member.info.published, outlet=member.info.outlet)
            self._place(article, member.sig, order=member.order)

    def _reconcile(self, skip: set[str]) -> None:
        """Make the state match the store's complete records (see the module docstring)."""
        if self.store is None:
            return
        records: Mapping[str, DocRecord] = self.store.doc_records()
        complete = {d for d, r in records.items() if r.get("status") == "complete"}
        for doc_id in [d for d in self._docs if d not in records]:
            self._drop(doc_id)
        for doc_id in sorted(complete - set(self._docs) - skip):
            article = self.store.get_article(doc_id)
            if article is not None:
                self._place(article, signatures(article_body(article), self.params))

    def _index(self) -> Any:
        if self._lsh is None:
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=self.params.threshold, num_perm=self.params.num_perm)
            for doc_id, doc in self._docs.items():
                self._lsh.insert(doc_id, self._lean(doc.sig[0]))
        return self._lsh

    def _lean(self, hashvalues: np.ndarray) -> Any:
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.params.seed, hashvalues=hashvalues, scheme=_SCHEME)

    # --- file ----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Load the file when it changed since we last read or wrote it."""
        if self.path is None:
            return
        try:
            st = self.path.stat()
        except FileNotFoundError:
            if self._stamp is not None:
                self._docs, self._next, self._lsh, self._stamp = {}, 0, None, None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._load()
            self._stamp = stamp

    def _load(self) -> None:
        assert self.path is not None
        with np.load(self.path, allow_pickle=False) as data:
            meta = [str(x) for x in data["meta"]]
            if int(data["format"]) != _FORMAT or meta != self._meta():
                self._docs, self._next, self._lsh = {}, 0, None  # other parameters: re-signed on the next write
                return
            ids, text = data["ids"], data["text"]
            orders, sigs = data["order"], data["sigs"]
            self._next = int(data["next"])
        self._docs = {}
        for i, doc_id in enumerate(str(x) for x in ids):
            cluster, title, source, published, *outlet = (str(x) for x in text[i])  # no outlet column before
            info = SameStory(doc_id, cluster, title, source, published or None, (outlet or [""])[0] or None)
            self._docs[doc_id] = _Doc(int(orders[i]), cluster, sigs[i], info)
        self._lsh = None

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        docs = list(self._docs.values())
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, format=np.int64(_FORMAT), meta=np.array(self._meta()), next=np.int64(self._next),
                 ids=np.array([d.info.doc_id for d in docs], dtype=str),
                 text=np.array([[d.cluster, d.info.title, d.info.source, d.info.published or "", d.info.outlet or ""]
                                for d in docs], dtype=str).reshape(len(docs), 5),
                 order=np.array([d.order for d in docs], dtype=np.int64),
                 sigs=np.array([d.sig for d in docs], dtype=np.uint32).reshape(len(docs), 2, self.params.num_perm))
        os.replace(tmp, self.path)
        st = self.path.stat()
        self._stamp = (st.st_mtime_ns, st.st_size)

    def _meta(self) -> list[str]:
        p = self.params
        return [f"shingle={p.shingle}", f"num_perm={p.num_perm}", f"seed={p.seed}", f"scheme={_SCHEME}"]

