"""Incremental, crash-safe ingest: files -> articles -> chunks -> vectors -> Chroma + keyword index.

Incremental: an article whose content hash (and source) is unchanged costs one registry lookup; a changed
one has its chunks replaced. Crash safety: an article's registry record is written "pending" before any of
its chunks are touched and flipped to "complete" only after its chunks are in Chroma AND the keyword index
has been committed with them. Every run (and every remove) first deletes the chunks of any record that is
not complete and drops that record, so a Ctrl-C or kill leaves neither duplicates nor orphans; the article
is simply ingested again if its file is part of the run.

Vectors later: an index built keyword-only (no model loaded) gets vectors for all its stored chunks on the
first ingest that has a model, before any file is read (see ``backfill``), and is then an ordinary index.

Throughput: chunks of many articles are embedded together (large batches sort by length inside
sentence-transformers), so per-article overhead stays small next to the model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rag.errors import IngestError
from rag.ingestion.backfill import backfill_vectors
from rag.ingestion.near_duplicates import NearDuplicateIndex, NullClusters
from rag.ports import DocRecord, Embedder, KeywordIndex, VectorStore
from rag.retrieval.embedder import KEYWORD_ONLY_MODEL, built_without_vectors
from rag.settings import Settings
from rag.types import Article, Chunk, FileFailure, IngestReport
from rag.uploads import UPLOAD_PREFIX

__all__ = ["IngestPipeline", "Progress"]

Progress = Callable[[str, int, int], None]
Discover = Callable[[Sequence[Path]], tuple[list[Path], list[FileFailure]]]
Load = Callable[[Path], tuple[list[Article], list[FileFailure]]]
Chunker = Callable[[Article, Callable[[str], int], int, int], list[Chunk]]
_CHUNKING = ("chunk_size", "chunk_overlap")


@dataclass
class _Batch:
    """Articles read but not yet embedded; flushed once enough chunks are queued."""

    items: list[tuple[Article, list[Chunk], bool]] = field(default_factory=list)
    chunks: int = 0

    def add(self, article: Article, chunks: list[Chunk], update: bool) -> None:
        self.items.append((article, chunks, update))
        self.chunks += len(chunks)


@dataclass
class _Run:
    """State of one ingest run."""

    report: IngestReport
    progress: Progress | None
    awaiting: list[tuple[Article, int, bool]] = field(default_factory=list)  # indexed, not yet complete
    last_commit: float = field(default_factory=time.perf_counter)
    queued: int = 0
    done: int = 0

    def tick(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


class IngestPipeline:
    """Builds and updates the index; the only writer of chunks and registry records."""

    def __init__(
        self,
        store: VectorStore,
        keyword: KeywordIndex,
        embedder: Embedder | None,
        settings: Settings,
        *,
        discover: Discover | None = None,
        load: Load | None = None,
        chunker: Chunker | None = None,
        flush_chunks: int | None = None,
        commit_every: int = 300,
        commit_seconds: float = 60.0,
        write_lock: AbstractContextManager[Any] | None = None,
        near_duplicates: NearDuplicateIndex | NullClusters | None = None,
    ) -> None:
        self.store = store
        self.keyword = keyword
        self.embedder = embedder
        self.settings = settings
        self._discover = discover
        self._load = load
        self._chunker = chunker
        self.flush_chunks = flush_chunks or max(32, settings.embed_batch_size * 4)
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        #: held for a whole ingest, removal or reset (the composition root passes the cross-process one)
        self.write_lock: AbstractContextManager[Any] = write_lock or threading.RLock()
        self.near_duplicates = near_duplicates or NullClusters()  # story clusters, kept beside the index

    # --- public ---------------------------------------------------------------------------------
    def signature(self) -> dict[str, Any]:
        """What an index records and every later ingest must match: embedding model + chunking."""
        if self.embedder is not None:
            base = dict(self.embedder.signature())
        else:
            base = {"embed_model": KEYWORD_ONLY_MODEL, "embed_dim": 1, "query_prefix": "", "passage_prefix": ""}
        return {**base, "chunk_size": self.settings.chunk_size, "chunk_overlap": self.settings.chunk_overlap}

    def ingest(self, paths: Sequence[Path], *, prune: bool = False, progress: Progress | None = None,
               sources: Mapping[Path, str] | None = None, published: tuple[str, str] | None = None) -> IngestReport:
        """Index files and folders; broken files land in ``report.failed`` instead of stopping the run.
        ``sources`` names files whose path means nothing to the user (staged uploads); ``published`` (date, source),
        the user's date for every article. Writers take turns (``write_lock``), each from the latest committed keyword index."""
        with self.write_lock:
            self.keyword.refresh_if_stale()
            return self._ingest(paths, prune, progress, sources, published)

    def _ingest(self, paths: Sequence[Path], prune: bool, progress: Progress | None,
                sources: Mapping[Path, str] | None, published: tuple[str, str] | None = None) -> IngestReport:
        started = time.perf_counter()
        needs_vectors = self._check_signature()
        records = self._recover()
        files, failures = self._discover_fn()([Path(p) for p in paths])
        run = _Run(IngestReport(failed=list(failures)), progress)
        if needs_vectors:
            self._backfill(run)
        seen: dict[str, str] = {}
        failed_files = {f.path for f in failures}
        batch = _Batch()
        run.tick("files", 0, len(files))
        for n, path in enumerate(files, start=1):
            articles = self._read(path, run.report, failed_files, (sources or {}).get(path))
            for article in articles:
                article = replace(article, published=published[0], published_source=published[1]) if published else article
                if article.doc_id in seen:
                    run.report.failed.append(FileFailure(
                        str(path), f"duplicate doc id {article.doc_id!r} (already read from {seen[article.doc_id]})"))
                    continue
                seen[article.doc_id] = str(path)
                self._stage(article, records.get(article.doc_id), batch, run, path)
                if batch.chunks >= self.flush_chunks:
                    batch = self._flush(batch, run)
            run.tick("files", n, len(files))
        self._flush(batch, run)
        self._complete(run)
        if prune:
            self._prune(paths, records, seen, failed_files, run.report)
        run.report.seconds = time.perf_counter() - started
        return run.report

    def remove(self, doc_id: str) -> bool:
        """Remove one article (chunks, keyword entries, record); False when it is not indexed."""
        with self.write_lock:
            self.keyword.refresh_if_stale()
            records = self._recover()
            if doc_id not in records:
                return False
            self._remove_docs([doc_id])
            return True

    def reset(self) -> None:
        """Drop everything: the keyword entries, both Chroma collections, the keyword index folder."""
        with self.write_lock:
            self._reset()

    def _reset(self) -> None:
        import shutil

        ids = list(self.store.doc_records())
        if ids:
            self.keyword.remove_docs(ids)
        drop = getattr(self.store, "drop", None)
        if drop is None:
            raise IngestError("this store cannot be reset", hint="delete the data folder by hand")
        drop()
        if self.settings.keyword_dir.exists():
            shutil.rmtree(self.settings.keyword_dir)
        self.keyword.commit()  # an empty version, stamped into the new collection: no process serves stale hits
        self.near_duplicates.clear()

    # --- steps ----------------------------------------------------------------------------------
    def _check_signature(self) -> bool:
        """Record or check the signature. True when the index was built keyword-only and a model is loaded
        now: then only the chunking must match, and ``_backfill`` records the model once vectors exist."""
        signature = self.signature()
        if self.embedder is not None and built_without_vectors(self.store.collection_meta()):
            self.store.ensure_signature({k: signature[k] for k in _CHUNKING})
            return True
        self.store.ensure_signature(signature)
        return False

    def _backfill(self, run: _Run) -> None:
        """Vectors for every chunk stored without one, then the model's signature (the keyword index keeps
        its chunks: ids and text do not change)."""
        embedded = backfill_vectors(self.store, self._vectors, self.signature(), batch_size=self.flush_chunks,
                                    progress=run.progress)
        run.report.chunks_embedded += embedded
        self.store.ensure_signature(self.signature())

    def _recover(self) -> dict[str, DocRecord]:
        """Undo what an interrupted run left half-done; returns the complete records."""
        records = self.store.doc_records()
        stale = [doc_id for doc_id, rec in records.items() if rec.get("status") != "complete"]
        if stale:
            self._purge(stale)
        dropped = set(stale)
        return {doc_id: rec for doc_id, rec in records.items() if doc_id not in dropped}

    def _read(self, path: Path, report: IngestReport, failed_files: set[str], label: str | None) -> list[Article]:
        try:
            too_big = self._oversized(path)
            articles, failures = ([], [too_big]) if too_big else self._load_fn()(path)
        except (IngestError, OSError, UnicodeError) as exc:
            failures, articles = [FileFailure(str(path), getattr(exc, "message", None) or str(exc))], []
        limit, kept = self.settings.max_article_bytes, []
        for article in articles:  # a JSONL line or a parsed HTML/PDF page: its text is the article
            size = len(article.text.encode("utf-8"))
            if size > limit:
                failures = [*failures, FileFailure(str(path), _size_error(article.doc_id, size, limit))]
            else:
                kept.append(article)
        articles = kept
        report.failed.extend(failures)
        if failures:
            failed_files.add(str(path))
        if label is not None:  # a JSONL record's own "source" is kept
            articles = [replace(a, source=label) if a.source == str(path) else a for a in articles]
        return articles

    def _oversized(self, path: Path) -> FileFailure | None:
        """A plain-text file is its article: one bigger than the limit is refused before it is read."""
        limit = self.settings.max_article_bytes
        if path.suffix.lower() in {".txt", ".md"} and path.is_file() and path.stat().st_size > limit:
            return FileFailure(str(path), _size_error(path.stem, path.stat().st_size, limit))
        return None

    def _stage(self, article: Article, record: DocRecord | None, batch: _Batch, run: _Run, path: Path) -> None:
        """Unchanged -> nothing to do; new or changed -> chunk now, embed with the next flush; an id already
        taken by another file that still exists (or by another upload) -> a per-file error, never a silent
        replacement."""
        other = _clashing_source(record, article)
        if other is not None:
            run.report.failed.append(FileFailure(str(path), (
                f"doc id {article.doc_id!r} is already taken by {other}; rename one of the two files, "
                f"or remove the indexed one first (sanad remove {article.doc_id})")))
            return
        if (record is not None and record.get("content_hash") == article.content_hash
                and _same_source(str(record.get("source", "")), article.source)):
            run.report.unchanged.append(article.doc_id)
            return
        chunks = self._chunk(article)
        batch.add(article, chunks, record is not None)
        run.queued += len(chunks)

    def _chunk(self, article: Article) -> list[Chunk]:
        """Chunk in the embedder's tokens; the size leaves room for prefix + title so nothing is truncated."""
        size, overlap = self.settings.chunk_size, self.settings.chunk_overlap
        if self.embedder is None:
            from rag.ingestion.chunking import approx_token_count

            return self._chunker_fn()(article, approx_token_count, size, overlap)
        prefix = getattr(self.embedder, "passage_prefix", "")
        room = self.embedder.max_tokens - self.embedder.count_tokens(f"{prefix}{article.title}\n") - 2
        size = max(32, min(size, room))
        return self._chunker_fn()(article, self.embedder.count_tokens, size, min(overlap, size // 2))

    def _flush(self, batch: _Batch, run: _Run) -> _Batch:
        """Mark pending, clear old chunks, embed all queued chunks at once, store them, stage keywords."""
        if not batch.items:
            return batch
        self._put_docs([(a, len(cs)) for a, cs, _ in batch.items], "pending")
        for article, _, update in batch.items:
            if update:
                self.store.delete_doc_chunks(article.doc_id)
        updated = [a.doc_id for a, _, update in batch.items if update]
        if updated:
            self.keyword.remove_docs(updated)
        chunks = [c for _, cs, _ in batch.items for c in cs]
        self.store.add_chunks(chunks, self._vectors(chunks))
        self.keyword.add(chunks)
        run.awaiting.extend((a, len(cs), update) for a, cs, update in batch.items)
        run.done += len(chunks)
        run.tick("chunks", run.done, run.queued)
        if len(run.awaiting) >= self.commit_every or time.perf_counter() - run.last_commit >= self.commit_seconds:
            self._complete(run)
        return _Batch()

    def _vectors(self, chunks: Sequence[Chunk]) -> list[list[float]]:
        """Embed text = passage prefix (added by the embedder) + title + newline + chunk text: the title
        carries the article's topic into every passage. Keyword-only mode stores a constant 1-d vector."""
        if self.embedder is None:
            return [[1.0] for _ in chunks]
        return self.embedder.embed_passages([f"{c.title}\n{c.text}" for c in chunks])

    def _complete(self, run: _Run) -> None:
        """Commit the keyword index, then flip the indexed articles to complete."""
        if not run.awaiting:
            return
        self.keyword.commit()
        self._put_docs([(a, n) for a, n, _ in run.awaiting], "complete")
        self.near_duplicates.add([a for a, _, _ in run.awaiting])
        for article, n_chunks, update in run.awaiting:
            (run.report.updated if update else run.report.added).append(article.doc_id)
            if self.embedder is not None:
                run.report.chunks_embedded += n_chunks
        run.awaiting.clear()
        run.last_commit = time.perf_counter()

    def _prune(self, paths: Sequence[Path], records: dict[str, DocRecord], seen: dict[str, str],
               failed_files: set[str], report: IngestReport) -> None:
        """Remove articles from the given folders/files that this run did not find (unreadable files spared)."""
        roots = [Path(p).resolve() for p in paths]
        failed = {Path(f).resolve() for f in failed_files}
        gone = []
        for doc_id, rec in records.items():
            if str(rec.get("source", "")).startswith(UPLOAD_PREFIX):
                continue  # an upload lives in no folder: only `remove` takes it out
            source = Path(str(rec.get("source", ""))).resolve()
            if doc_id in seen or source in failed:
                continue
            if any(source == root or (root.is_dir() and source.is_relative_to(root)) for root in roots):
                gone.append(doc_id)
        if gone:
            self._remove_docs(gone)
            report.removed.extend(gone)

    def _remove_docs(self, doc_ids: Sequence[str]) -> None:
        """Pending first, then chunks, keyword entries (committed), and the records last."""
        articles = [a for a in (self.store.get_article(d) for d in doc_ids) if a is not None]
        self._put_docs([(a, 0) for a in articles], "pending")
        self._purge(doc_ids)

    def _purge(self, doc_ids: Sequence[str]) -> None:
        """Chunks, then keyword entries (committed), then the registry records: a crash leaves pending records."""
        for doc_id in doc_ids:
            self.store.delete_doc_chunks(doc_id)
        self.keyword.remove_docs(doc_ids)
        self.keyword.commit()
        for doc_id in doc_ids:
            self.store.delete_doc(doc_id)
        self.near_duplicates.remove(doc_ids)

    def _put_docs(self, items: Sequence[tuple[Article, int]], status: str) -> None:
        """One registry write per batch when the store offers it (ChromaStore does; a write is ~40 ms)."""
        put_docs = getattr(self.store, "put_docs", None)
        if put_docs is not None:
            put_docs(items, status)
            return
        for article, n_chunks in items:
            self.store.put_doc(article, n_chunks, status)

    # --- collaborators (H1's readers and chunker unless injected) --------------------------------
    def _discover_fn(self) -> Discover:
        if self._discover is None:
            from rag.ingestion.readers import iter_source_files

            return iter_source_files
        return self._discover

    def _load_fn(self) -> Load:
        if self._load is None:
            from rag.ingestion.readers import load_file

            return load_file
        return self._load

    def _chunker_fn(self) -> Chunker:
        if self._chunker is None:
            from rag.ingestion.chunking import chunk_article

            return chunk_article
        return self._chunker


def _same_source(a: str, b: str) -> bool:
    """Same file whether it was named relatively or absolutely (a moved file is re-indexed)."""
    return a == b or Path(a).resolve() == Path(b).resolve()


def _clashing_source(record: DocRecord | None, article: Article) -> str | None:
    """The other source holding ``article``'s doc id, when replacing it would lose an article: a different
    upload name, or a different file that still exists, with other content. A recorded file that is gone
    was moved or renamed, and one with the same content was copied: the new one takes its place."""
    if record is None or record.get("content_hash") == article.content_hash:
        return None
    old = str(record.get("source", ""))
    if not old or _same_source(old, article.source):
        return None
    return old if old.startswith(UPLOAD_PREFIX) or Path(old).is_file() else None


def _size_error(doc_id: str, size: int, limit: int) -> str:
    return (f"article {doc_id!r} is {size / 1e6:.1f} MB, over the {limit / 1e6:g} MB limit per article "
            "(SANAD_MAX_ARTICLE_BYTES); split it into articles or raise the limit")
