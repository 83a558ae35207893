"""The facade every interface calls: ingest · upload · documents · remove · search · ask · stream · timeline ·
health.

It holds no logic of its own beyond validating input and timing; each verb delegates to one step object
built by the composition root (``rag.wiring.build_service``). Tests construct it with fakes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

from rag import arabic
from rag.errors import DocumentNotFoundError, InvalidQuestionError
from rag.ports import LLM, Embedder, VectorStore
from rag.types import (
    Answer,
    AnswerDelta,
    Article,
    DocInfo,
    Health,
    IngestReport,
    SameStory,
    SearchFilters,
    SearchResult,
    Timeline,
    Turn,
    UploadResult,
)
from rag.uploads import ingest_uploads

__all__ = ["Sanad", "Progress"]

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "files", "chunks", or "vectors" (stored chunks of an index built
keyword-only getting their vectors, before any file is read)."""


class _Ingestor(Protocol):
    def ingest(self, paths: Sequence[Path], *, prune: bool = False, progress: Progress | None = None,
               sources: Mapping[Path, str] | None = None, published: tuple[str, str] | None = None) -> IngestReport: ...
    def remove(self, doc_id: str) -> bool: ...


class _Retriever(Protocol):
    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None) -> SearchResult: ...


class _Timelines(Protocol):
    def timeline(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None,
                 summarize: bool = True) -> Timeline: ...


class _Answerer(Protocol):
    def ask(self, question: str, *, history: Sequence[Turn] = (), filters: SearchFilters | None = None,
            k: int | None = None, extractive: bool = False, max_tokens: int | None = None,
            temperature: float | None = None) -> Answer: ...
    def stream(self, question: str, *, history: Sequence[Turn] = (), filters: SearchFilters | None = None,
               k: int | None = None, extractive: bool = False, max_tokens: int | None = None,
               temperature: float | None = None) -> Iterator[AnswerDelta | Answer]: ...


@dataclass
class Sanad:
    """One Sanad instance: an index, the models around it, and the verbs people use."""

    store: VectorStore
    ingestor: _Ingestor
    retriever: _Retriever
    answerer: _Answerer
    embedder: Embedder | None
    llm: LLM | None
    embed_model: str
    embed_error: str | None
    chroma_mode: str
    ollama_host: str
    ollama_model: str
    max_question_chars: int = 2000
    #: near-duplicate clusters (doc id -> its story record), from ingest; None: no detection
    clusters: Callable[[], Mapping[str, SameStory]] | None = None
    #: builds timelines (rag.timeline.Timeliner); None: one over this instance's retriever and LLM
    timelines: _Timelines | None = None
    #: one writer at a time (API, UI and CLI calls in one process share this instance)
    _writing: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- articles ------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[str | Path], *, prune: bool = False, progress: Progress | None = None,
               published: str | None = None) -> IngestReport:
        """Index files and folders; unchanged articles cost nothing, broken files are reported, not fatal.
        ``published`` (``sanad ingest --published``) dates every article of the run, checked before any write."""
        from rag.ingestion.published import explicit_date

        date = explicit_date(published, "cli")
        with self._writing:
            if date is None:  # ingestors that know no explicit dates keep working
                return self.ingestor.ingest([Path(p) for p in paths], prune=prune, progress=progress)
            return self.ingestor.ingest([Path(p) for p in paths], prune=prune, progress=progress, published=date)

    def upload(self, items: Sequence[tuple[str | None, bytes]], *, progress: Progress | None = None,
               published: str | None = None) -> tuple[IngestReport, list[UploadResult]]:
        """Index files sent as (client file name, bytes): names are sanitised, binaries turned away, and
        the source recorded is ``upload:NAME``; one result per item, in order. ``published`` (the upload
        form's date) dates every uploaded article, checked before anything is staged."""
        from rag.ingestion.published import explicit_date

        date = explicit_date(published, "upload")

        def ingest(paths: list[Path], sources: Mapping[Path, str]) -> IngestReport:
            with self._writing:
                if date is None:
                    return self.ingestor.ingest(paths, sources=sources, progress=progress)
                return self.ingestor.ingest(paths, sources=sources, progress=progress, published=date)

        return ingest_uploads(ingest, items)

    def documents(self) -> list[DocInfo]:
        """Every indexed article, each with the representative of its near-duplicate cluster."""
        stories = self.clusters() if self.clusters is not None else {}
        return [replace(d, cluster=stories[d.doc_id].cluster) if d.doc_id in stories else d
                for d in self.store.documents()]

    def article(self, doc_id: str) -> Article:
        article = self.store.get_article(doc_id)
        if article is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}", hint="see `sanad docs` for ids")
        return article

    def remove(self, doc_id: str) -> None:
        with self._writing:
            removed = self.ingestor.remove(doc_id)
        if not removed:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}", hint="see `sanad docs` for ids")

    # --- questions -----------------------------------------------------------------------------
    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None,
               mode: Literal["hybrid", "keyword", "dense"] = "hybrid", collapse: bool = True) -> SearchResult:
        """Ranked passages; ``mode`` picks one retriever alone (diagnostics, keyword-only installs);
        ``collapse=False`` keeps every outlet's copy of a story (else one per story, "also reported by")."""
        extra = ({} if mode == "hybrid" else {"mode": mode}) | ({} if collapse else {"collapse": False})
        return self.retriever.search(self._check_question(query), k=k, filters=filters, **extra)

    def ask(self, question: str, *, history: Sequence[Turn] = (), filters: SearchFilters | None = None,
            k: int | None = None, extractive: bool = False, max_tokens: int | None = None,
            temperature: float | None = None) -> Answer:
        """The checked answer; ``max_tokens`` / ``temperature`` apply to this answer only (None: settings)."""
        return self.answerer.ask(self._check_question(question), history=history, filters=filters, k=k,
                                 extractive=extractive, max_tokens=max_tokens, temperature=temperature)

    def stream(self, question: str, *, history: Sequence[Turn] = (), filters: SearchFilters | None = None,
               k: int | None = None, extractive: bool = False, max_tokens: int | None = None,
               temperature: float | None = None) -> Iterator[AnswerDelta | Answer]:
        """Checked answer text pieces as they come (joined: the final text), then the final ``Answer``."""
        return self.answerer.stream(self._check_question(question), history=history, filters=filters, k=k,
                                    extractive=extractive, max_tokens=max_tokens, temperature=temperature)

    def timeline(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None,
                 summarize: bool = True) -> Timeline:
        """Dated, cited events about ``query`` across articles, oldest first, then the undated ones; with an
        LLM (and ``summarize``) a short summary citing them. ``k``: passages retrieved (default 30)."""
        query = self._check_question(query)
        if self.timelines is None:
            from rag.prompts import PromptLibrary
            from rag.timeline import Timeliner

            self.timelines = Timeliner(self.retriever, self.llm, PromptLibrary(), embedder=self.embedder)
        return self.timelines.timeline(query, k=k, filters=filters, summarize=summarize)

    def health(self) -> Health:
        status, detail = self.llm.health() if self.llm is not None else ("unreachable", "no LLM configured")
        return Health(
            documents=len(self.store.doc_records()),
            chunks=self.store.count_chunks(),
            embed_model=self.embed_model,
            embed_mode=self._embed_mode(),
            embed_error=self.embed_error,
            chroma_mode="server" if self.chroma_mode == "server" else "embedded",
            chroma_location=self.store.location,
            ollama_host=self.ollama_host,
            ollama_model=self.ollama_model,
            ollama_status=status,  # type: ignore[arg-type]
            ollama_detail=detail,
        )

    def _embed_mode(self) -> str:
        """The mode search really runs in: an index built without vectors is keyword-only even when a
        model is loaded now (its chunks have no embeddings to search)."""
        if self.embedder is None:
            return "keyword-only"
        from rag.retrieval.embedder import built_without_vectors

        built = built_without_vectors(self.store.collection_meta())
        return "keyword-only (index built without vectors)" if built else "hybrid"

    def _check_question(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestionError("the question is empty", hint="type a question")
        if not arabic.tokenize(question):  # zero-width or control characters, marks, punctuation: nothing to search
            raise InvalidQuestionError("the question has no words in it", hint="type a question in words")
        if len(question) > self.max_question_chars:
            raise InvalidQuestionError(
                f"the question is {len(question)} characters long; the limit is {self.max_question_chars}",
                hint="shorten it or raise SANAD_MAX_QUESTION_CHARS",
            )
        return question.strip()

