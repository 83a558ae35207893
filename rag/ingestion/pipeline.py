"""Incremental, crash-safe ingest: files -> articles -> chunks -> vectors -> Chroma + keyword index.

Incremental: an article whose content hash (and source) is unchanged costs one registry lookup; a changed
one gets a new version. Crash safety (``versions``): a new version's chunks are written beside the old
ones, hidden from every reader until all of them and the keyword index are in; its registry record is the
commit point, then both search sides switch at once and the old chunks are deleted. Every run (and every
remove) first repairs what a dead writer left (its lease tells), back to what the registry says; a live
writer's work is never touched. Uploads are kept under ``<data_dir>/uploads`` until their run completes,
so a killed upload is ingested again by the next run.

Vectors later: an index built keyword-only (no model loaded) gets vectors for all its stored chunks on the
first ingest that has a model, before any file is read (see ``backfill``), and is then an ordinary index.

Throughput: chunks of many articles are embedded together (large batches sort by length inside
sentence-transformers), so per-article overhead stays small next to the model.
"""

from __future__ import annotations

import shutil
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
from rag.ingestion.sources import clashing_source, gone_from, same_source, size_error
from rag.ingestion.versions import Versions, current_version
from rag.ports import DocRecord, Embedder, KeywordIndex, VectorStore
from rag.retrieval.embedder import KEYWORD_ONLY_MODEL, built_without_vectors
from rag.retrieval.store_rows import version_of
from rag.settings import Settings
from rag.types import Article, Chunk, FileFailure, IngestReport
from rag.uploads import interrupted_uploads, keep_uploads

__all__ = ["IngestPipeline", "Progress"]

Progress = Callable[[str, int, int], None]
Discover = Callable[[Sequence[Path]], tuple[list[Path], list[FileFailure]]]
Load = Callable[[Path], tuple[list[Article], list[FileFailure]]]
Chunker = Callable[[Article, Callable[[str], int], int, int], list[Chunk]]
_CHUNKING = ("chunk_size", "chunk_overlap")


@dataclass
class _Batch:
    """Articles read but not yet embedded; flushed once enough chunks are queued."""

    items: list[tuple[Article, list[Chunk], str | None]] = field(default_factory=list)  # (.., replaced version)
    chunks: int = 0

    def add(self, article: Article, chunks: list[Chunk], old: str | None) -> None:
        self.items.append((article, chunks, old))
        self.chunks += len(chunks)


@dataclass
class _Run:
    """State of one ingest run."""

    report: IngestReport
    progress: Progress | None
    awaiting: list[tuple[Article, list[Chunk], str | None]] = field(default_factory=list)  # stored, not complete
    gen: str | None = None  # the open generation (versions.Versions) of the current commit window
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
        self.versions = Versions(store, keyword)

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
        run = _Run(IngestReport(), progress)
        if needs_vectors:
            self._backfill(run)
        kept = [*interrupted_uploads(self.settings.data_dir), keep_uploads(self.settings.data_dir, paths, sources)]
        files, failures = self._discover_fn()([p for k in kept for p in k.paths])
        run.report.failed.extend(failures)
        try:
            seen, failed_files = self._read_all(files, records, run, {p: s for k in kept for p, s in k.sources.items()},
                                                published)
        finally:  # a failed window is repaired by the next run; only a kill leaves uploads to redo
            self.versions.release(run.gen, abandon=True)  # set only while a window is unfinished
            for upload in kept:
                upload.done()
        if prune:
            self._prune(paths, records, seen, failed_files, run.report)
        run.report.seconds = time.perf_counter() - started
        return run.report

    def _read_all(self, files: Sequence[Path], records: dict[str, DocRecord], run: _Run,
                  sources: Mapping[Path, str], published: tuple[str, str] | None) -> tuple[dict[str, str], set[str]]:
        """Read, stage, flush and complete every file; returns (doc id -> file, failed files)."""
        seen: dict[str, str] = {}
        failed_files = {f.path for f in run.report.failed}
        batch = _Batch()
        run.tick("files", 0, len(files))
        for n, path in enumerate(files, start=1):
            articles = self._read(path, run.report, failed_files, sources.get(path))
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
        return seen, failed_files

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
        """Repair what dead writers left (``versions``); returns the registry. A "pending" record comes from
        an index written before versions existed: its article is dropped, as that version's recovery did."""
        records = self.store.doc_records()
        stale = [doc_id for doc_id, rec in records.items() if rec.get("status") != "complete"]
        if stale:
            self._purge(stale)
        records = {doc_id: rec for doc_id, rec in records.items() if doc_id not in set(stale)}
        self.versions.recover(records)
        return records

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
                failures = [*failures, FileFailure(str(path), size_error(article.doc_id, size, limit))]
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
        size = path.stat().st_size if path.suffix.lower() in {".txt", ".md"} and path.is_file() else 0
        return FileFailure(str(path), size_error(path.stem, size, limit)) if size > limit else None

    def _stage(self, article: Article, record: DocRecord | None, batch: _Batch, run: _Run, path: Path) -> None:
        """Unchanged -> nothing to do; new or changed -> chunk now, embed with the next flush; an id already
        taken by another file that still exists (or by another upload) -> a per-file error, never a silent
        replacement."""
        other = clashing_source(record, article)
        if other is not None:
            run.report.failed.append(FileFailure(str(path), (
                f"doc id {article.doc_id!r} is already taken by {other}; rename one of the two files, "
                f"or remove the indexed one first (sanad remove {article.doc_id})")))
            return
        if (record is not None and record.get("content_hash") == article.content_hash
                and same_source(str(record.get("source", "")), article.source)):
            run.report.unchanged.append(article.doc_id)
            return
        chunks = self._chunk(article)
        batch.add(article, chunks, current_version(record, article.doc_id))
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
        """Embed all queued chunks at once and store them as new versions of their articles, hidden from
        readers (their generation is open) until ``_complete``; stage the keyword changes."""
        if not batch.items:
            return batch
        if run.gen is None:
            run.gen = self.versions.open()
        self.versions.beat(run.gen)
        items = [(a, self.versions.tag_chunks(a, cs, old, run.gen), old) for a, cs, old in batch.items]
        updated = [a.doc_id for a, _, old in items if old is not None]
        if updated:
            self.keyword.remove_docs(updated)
        chunks = [c for _, cs, _ in items for c in cs]
        self.store.add_chunks(chunks, self._vectors(chunks), gen=run.gen)
        self.keyword.add(chunks)
        run.awaiting.extend(items)
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
        """Switch the window's articles to their new versions: registry records (the commit point), then
        the journal (dense search switches), the keyword commit, and the old chunks' deletion."""
        if not run.awaiting or run.gen is None:
            return
        gen, versions = run.gen, {a.doc_id: (_version(a, cs), run.gen) for a, cs, _ in run.awaiting}
        self.store.put_docs([(a, len(cs)) for a, cs, _ in run.awaiting], "complete", versions)
        replaced = [(a.doc_id, old) for a, _, old in run.awaiting if old is not None and old != versions[a.doc_id][0]]
        self.versions.close(gen, replaced)
        self.keyword.commit()
        self.versions.finish(gen, [d for d, _ in replaced], {d: v for d, (v, _) in versions.items()})
        run.gen = None
        self.near_duplicates.add([a for a, _, _ in run.awaiting])
        for article, chunks, old in run.awaiting:
            (run.report.updated if old is not None else run.report.added).append(article.doc_id)
            if self.embedder is not None:
                run.report.chunks_embedded += len(chunks)
        run.awaiting.clear()
        run.last_commit = time.perf_counter()

    def _prune(self, paths: Sequence[Path], records: dict[str, DocRecord], seen: dict[str, str],
               failed_files: set[str], report: IngestReport) -> None:
        """Remove articles from the given folders/files that this run did not find (unreadable files spared)."""
        gone = gone_from(paths, records, seen, failed_files)
        if gone:
            self._remove_docs(gone)
            report.removed.extend(gone)

    def _remove_docs(self, doc_ids: Sequence[str]) -> None:
        """Hide the articles (one journal write), commit the keyword index without them, delete their
        records (the commit point), then their chunks; a kill in between is repaired by ``_recover``."""
        tags = self.store.chunk_tags(doc_ids=doc_ids)
        gen = self.versions.open([(t.doc_id, t.ver) for t in tags], visible=True)
        try:
            self.keyword.remove_docs(doc_ids)
            self.keyword.commit()
            for doc_id in doc_ids:
                self.store.delete_doc(doc_id)
            self.versions.finish(gen, (), {})  # delete_doc took every chunk of theirs, hidden ones too
        finally:
            self.versions.release(gen, abandon=True)
        self.near_duplicates.remove(doc_ids)

    def _purge(self, doc_ids: Sequence[str]) -> None:
        """Chunks, then keyword entries (committed), then the registry records (pre-version "pending" ones)."""
        for doc_id in doc_ids:
            self.store.delete_doc_chunks(doc_id)
        self.keyword.remove_docs(doc_ids)
        self.keyword.commit()
        for doc_id in doc_ids:
            self.store.delete_doc(doc_id)
        self.near_duplicates.remove(doc_ids)

    # --- collaborators (H1's readers and chunker unless injected) --------------------------------
    def _discover_fn(self) -> Discover:
        if self._discover is None:
            from rag.ingestion.discovery import iter_source_files

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


def _version(article: Article, chunks: Sequence[Chunk]) -> str:
    """The version its chunk ids carry (``doc::tag``); an article without chunks has its own."""
    return version_of(chunks[0].chunk_id) if chunks else f"{article.doc_id}::{article.content_hash[:12]}"
