"""Small plain types passed between the steps of a question's path.

They are frozen dataclasses (no llama-index or chromadb types leave ``rag/``) so every step takes plain
data from the one before and every interface can serialise them with ``to_dict``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "Article",
    "SameStory",
    "UploadResult",
    "Chunk",
    "Hit",
    "SearchFilters",
    "SearchResult",
    "Citation",
    "QuoteDate",
    "Usage",
    "Answer",
    "AnswerDelta",
    "DocInfo",
    "IngestReport",
    "FileFailure",
    "Health",
    "Turn",
    "TimelineEvent",
    "Timeline",
]


@dataclass(frozen=True)
class Article:
    """One cleaned article. ``text`` is what is displayed and what every character offset points into."""

    doc_id: str
    title: str
    text: str
    source: str
    published: str | None = None
    url: str | None = None
    lang: str = "ar"
    #: where ``published`` came from (rag.ingestion.published.PUBLISHED_SOURCES); None when unknown
    published_source: str | None = None
    #: lines dropped as boilerplate (breadcrumbs, share counters, related headlines, footers), for tests/debugging
    dropped: tuple[str, ...] = ()
    #: the publisher as the article's metadata states it (rag.ingestion.outlet); None when unknown. Not
    #: ``source``, which is the file it came from
    outlet: str | None = None

    @property
    def content_hash(self) -> str:
        import hashlib

        parts = [self.title, self.text, self.published or "", self.url or ""]
        payload = "\x1f".join([*parts, self.outlet] if self.outlet else parts)  # hashes without an outlet unchanged
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Chunk:
    """A passage of an article; ``article.text[start:end] == text`` always holds."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    ordinal: int
    source: str
    published: str | None = None
    #: 0-based index of the paragraph (blank-line separated, title excluded) where the chunk starts
    paragraph: int = 0
    #: index of the last paragraph the chunk touches
    paragraph_end: int = 0
    #: the article's outlet (Article.outlet); None when unknown
    outlet: str | None = None


@dataclass(frozen=True)
class SameStory:
    """An article as a member of a near-duplicate cluster (the same story from another outlet);
    ``cluster`` is the doc id of the cluster's representative, its earliest-ingested member."""

    doc_id: str
    cluster: str
    title: str
    source: str
    published: str | None = None
    outlet: str | None = None


@dataclass(frozen=True)
class SearchFilters:
    """Metadata filters applied to both retrievers."""

    doc_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    published_from: str | None = None  # ISO date, inclusive
    published_to: str | None = None  # ISO date, inclusive

    def __post_init__(self) -> None:
        from rag.dates import filter_days

        filter_days(self.published_from, self.published_to)  # a bad date is an error here, not an empty result

    @property
    def empty(self) -> bool:
        return not (self.doc_ids or self.sources or self.published_from or self.published_to)


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with the score from each retriever (None when that retriever did not find it)."""

    chunk: Chunk
    score: float
    keyword_score: float | None = None
    dense_score: float | None = None
    rerank_score: float | None = None
    keyword_rank: int | None = None
    dense_rank: int | None = None
    #: other outlets carrying this passage, folded into it by search ("also reported by"): the other members of
    #: its story cluster, then articles of other stories with the same passage (each with its own cluster)
    also: tuple[SameStory, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["chunk"] = asdict(self.chunk)
        return data


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits plus a calibrated confidence in [0, 1] that the corpus answers the question."""

    query: str
    hits: tuple[Hit, ...]
    confidence: float
    lang: str
    #: the query actually sent to the keyword side (translated for cross-lingual questions)
    keyword_query: str | None = None
    mode: Literal["hybrid", "keyword", "dense"] = "hybrid"
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class QuoteDate:
    """A date a citation's quote mentions: ``iso`` trimmed to its precision (YYYY, YYYY-MM, YYYY-MM-DD);
    ``relative`` when the words (``text``) were relative time ('أمس', 'العام الماضي') resolved against the
    article's publication date, so a reader sees both what the article said and when that was."""

    text: str
    iso: str
    relative: bool = False


@dataclass(frozen=True)
class Citation:
    """One cited source: the exact sentence(s) of the article that support a claim."""

    n: int
    doc_id: str
    title: str
    source: str
    quote: str
    start: int
    end: int
    score: float
    published: str | None = None
    supported: bool = True
    #: the same story from other outlets (near-duplicate articles folded into the cited one)
    also: tuple[SameStory, ...] = ()
    #: the dates the quote mentions, relative ones resolved against ``published`` (rag.dates.sentence_dates)
    dates: tuple[QuoteDate, ...] = ()
    #: the article's outlet as its metadata states it; None when unknown (show the file of ``source`` then)
    outlet: str | None = None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Answer:
    """What ``ask`` returns; ``to_dict`` is the wire shape of ``sanad ask --json`` and the API."""

    answer: str
    citations: tuple[Citation, ...]
    grounded: bool
    refused: bool
    mode: Literal["llm", "extractive"]
    model: str | None
    usage: Usage = field(default_factory=Usage)
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: str = ""
    standalone_question: str | None = None
    lang: str = "ar"
    notes: tuple[str, ...] = ()
    #: passages given as context (or, when refused, the closest passages, marked as such)
    passages: tuple[Hit, ...] = ()
    #: answer sentences the citation check could not support
    unsupported: tuple[str, ...] = ()
    #: passages dropped or trimmed to fit num_ctx
    trimmed: int = 0
    confidence: float = 0.0
    #: why the text ends: "stop" (complete), "length" (max_tokens reached), "cut" (the model failed midway)
    finish_reason: Literal["stop", "length", "cut"] = "stop"

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "citations": [asdict(c) for c in self.citations],
            "grounded": self.grounded,
            "refused": self.refused,
            "mode": self.mode,
            "model": self.model,
            "usage": asdict(self.usage),
            "timings_ms": dict(self.timings_ms),
            "question": self.question,
            "standalone_question": self.standalone_question,
            "lang": self.lang,
            "notes": list(self.notes),
            "unsupported": list(self.unsupported),
            "trimmed": self.trimmed,
            "confidence": self.confidence,
            "finish_reason": self.finish_reason,
            "passages": [h.to_dict() for h in self.passages],
        }


@dataclass(frozen=True)
class AnswerDelta:
    """A piece of streamed answer text; the stream ends with the final ``Answer``."""

    text: str


@dataclass(frozen=True)
class Turn:
    """One message of chat history."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class DocInfo:
    doc_id: str
    title: str
    chunks: int
    published: str | None
    source: str
    content_hash: str = ""
    #: doc id of the representative of its near-duplicate cluster (itself when alone or the representative)
    cluster: str | None = None
    #: where ``published`` came from (field, front_matter, sidecar, upload, cli, html_meta, filename, dateline)
    published_source: str | None = None
    #: the article's outlet as its metadata states it; None when unknown
    outlet: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "title": self.title, "chunks": self.chunks,
                "published": self.published, "published_source": self.published_source,
                "source": self.source, "outlet": self.outlet, "cluster": self.cluster}


@dataclass(frozen=True)
class FileFailure:
    path: str
    error: str


@dataclass
class IngestReport:
    """Counts of one ingest run; ``to_dict`` is the shape of ``sanad ingest --json``."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "chunks_embedded": self.chunks_embedded,
            "failed": [asdict(f) for f in self.failed],
        }


@dataclass(frozen=True)
class UploadResult:
    """What became of one uploaded file: status is added / updated / unchanged / indexed (JSONL) / failed."""

    filename: str
    doc_id: str | None
    status: str
    error: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Health:
    documents: int
    chunks: int
    embed_model: str
    embed_mode: str  # "hybrid", "keyword-only" or "keyword-only (index built without vectors)"
    embed_error: str | None
    chroma_mode: Literal["embedded", "server"]
    chroma_location: str
    ollama_host: str
    ollama_model: str
    ollama_status: Literal["ok", "unreachable", "model_missing", "timeout", "error"]
    ollama_detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TimelineEvent:
    """One event of a timeline: a sentence of an article (``citation``) and the date it is placed at.

    ``date`` is ISO trimmed to its precision ("2016", "2016-11", "2016-11-18"), None for an undated event;
    ``date_basis`` says where it came from: "text" (the sentence states it), "relative" (the sentence says
    "last year" and the article's publication date resolves it) or "published" (the article's date).
    ``stated`` is the date as the sentence words it, also when it alone cannot date the event
    ("12 فبراير" with no year anywhere): shown, never completed by guessing."""

    date: str | None
    precision: Literal["year", "month", "day"] | None
    date_basis: Literal["text", "published", "relative"] | None
    citation: Citation
    stated: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date, "precision": self.precision, "date_basis": self.date_basis,
                "stated": self.stated, "citation": asdict(self.citation)}


@dataclass(frozen=True)
class Timeline:
    """What ``Sanad.timeline`` returns: dated events oldest first, then the undated ones; each event's
    citation number ``n`` is its place in that order (1-based), which the summary's ``[n]`` markers use."""

    query: str
    events: tuple[TimelineEvent, ...]
    undated: tuple[TimelineEvent, ...] = ()
    #: a short cited summary written by the LLM; None without an LLM, when it failed, or when not asked
    summary: str | None = None
    summary_citations: tuple[Citation, ...] = ()
    model: str | None = None
    notes: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "events": [e.to_dict() for e in self.events],
                "undated": [e.to_dict() for e in self.undated], "summary": self.summary,
                "summary_citations": [asdict(c) for c in self.summary_citations], "model": self.model,
                "notes": list(self.notes), "timings_ms": dict(self.timings_ms)}
