"""Timelines: how a story developed across articles, as dated, cited sentences, oldest first.

Why sentences and not passages: an event is one statement ("وصل حفتر إلى موسكو في نوفمبر 2016"), and its
date is either stated in that sentence or, failing that, the article's publication date; a passage mixes
several events and several dates. Why the text's date wins over the publication date: an article dated
2017 that recalls "نوفمبر 2016" places the event in 2016. Nothing is guessed: a sentence saying "12 فبراير"
with no year and an article of unknown date is an undated event (its stated words kept in ``stated``).

Steps: retrieve more passages than an answer needs (one article per near-duplicate story) → keep the
sentences that bear on the topic (``context.sentence_scores``) → date each (``rag.dates``) → drop the same
sentence reported by several outlets → sort → optionally ask the LLM for a short summary whose ``[n]``
markers name events, checked by the answerer's own citation check.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from rag import arabic
from rag.dates import DateMention, find_dates, parse_date, sentence_dates
from rag.errors import GenerationError
from rag.generation.citations import check_citations, cosine, make_citation
from rag.generation.context import NO_ANSWER, ContextPassage, count_messages, safe_text, sentence_scores
from rag.generation.reply import ReplyFilter
from rag.ports import LLM, Embedder
from rag.prompts import PromptLibrary
from rag.retrieval.collapse import collapse_hits
from rag.types import Chunk, Hit, SameStory, SearchFilters, SearchResult, Timeline, TimelineEvent

__all__ = ["Timeliner", "is_timeline_question", "timeline_topic", "date_event", "DEFAULT_K"]

#: passages retrieved for a timeline (an answer uses a handful; a timeline spans many articles)
DEFAULT_K = 30
#: a sentence is an event when it scores at least this share of the best sentence's score
EVENT_RATIO = 0.35
#: at most this many events from one article (a long article must not fill the timeline)
PER_ARTICLE = 3
MAX_EVENTS = 40
#: with no shared word (another language, no translation): the top passages' sentences within this
#: cosine of the best one are events
MEANING_PASSAGES, MEANING_MARGIN = 12, 0.04
#: events given to the LLM for the summary, and the summary's length cap
SUMMARY_EVENTS = 24
SUMMARY_MAX_TOKENS = 300

NO_LLM_NOTE = "no LLM configured: no summary"
_PRECISION_RANK = {"year": 0, "month": 1, "day": 2}

# "how did X develop", "timeline of", "history of", تطور, تسلسل, مراحل … on normalised, lower-cased text
_CUES = re.compile(
    r"(?:^|\s)(?:كيف\s+)?(?:ت|ي)?تطور(?:ت|ه|ات)?|(?:^|\s)(?:ال)?تسلسل(?:\s+(?:ال)?زمني)?|(?:^|\s)(?:ال)?خط\s+(?:ال)?زمني"
    r"|(?:^|\s)(?:ال)?مراحل|(?:^|\s)(?:ال)?تاريخ\s+(?:ال)?علاق[هة]"
    r"|\btimeline\s+(?:of|for)\b|\btimeline\b|\bhistory\s+of\b|\bchronolog\w*"
    r"|\bhow\s+(?:did|has|have|does|do)\b.*\b(?:develop|evolve|change|unfold)\w*")
_STRIP = re.compile(
    r"(?:^|\s)(?:كيف|ما|ماهي|ماهو|هي|هو)(?=\s)|(?:^|\s)(?:ت|ي)?تطور(?:ت|ه|ات)?(?=[\s؟?]|$)|(?:^|\s)(?:ال)?تسلسل(?:\s+(?:ال)?زمني)?"
    r"|(?:^|\s)(?:ال)?خط\s+(?:ال)?زمني|(?:^|\s)(?:ال)?مراحل|\btimeline\s+(?:of|for)\b|\btimeline\b|\bhistory\s+of\b"
    r"|\bchronology\s+of\b|\bhow\s+(?:did|has|have|does|do)\b|\b(?:develop|evolve|change|unfold)(?:ed|s)?\b"
    r"|\bover\s+time\b|[؟?]")


def is_timeline_question(question: str) -> bool:
    """Whether a question asks how something developed over time (UI and ask hints offer a timeline)."""
    return bool(_CUES.search(arabic.normalize(question).lower()))


def timeline_topic(question: str) -> str:
    """The question without its timeline wording ("كيف تطورت علاقة حفتر بروسيا؟" -> "علاقة حفتر بروسيا"):
    the cue words would otherwise weigh on which sentences count as events. Falls back to the question."""
    topic = " ".join(_STRIP.sub(" ", arabic.normalize(question)).split())
    return topic if len(arabic.analyze(topic)) else question.strip()


class _Retriever(Protocol):
    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None) -> SearchResult: ...


@dataclass(frozen=True)
class _Dating:
    date: str | None
    precision: Literal["year", "month", "day"] | None
    basis: Literal["text", "published", "relative"] | None
    stated: str | None
    key: tuple[int, int, int] = (0, 0, 0)


_SINCE = re.compile(r"(?:^|\s)[وف]?(?:منذ|since)\s*(?:عام|العام|سنه|السنه|year)?\s*$", re.IGNORECASE)
_SINCE_START = re.compile(r"[وف]?(?:منذ|since)\s", re.IGNORECASE)


def _best_mention(sentence: str, mentions: Sequence[DateMention]) -> DateMention | None:
    """The finest complete date the sentence states (the first of equals). A date after "منذ" / "since"
    is a reference point ("the worst fighting since 2011"), never when the event happened."""
    events = [m for m in mentions if not m.partial and not _since(sentence, m)]
    return max(events, key=lambda m: _PRECISION_RANK[m.precision], default=None)


def _since(sentence: str, mention: DateMention) -> bool:
    before = arabic.normalize(sentence[max(0, mention.span[0] - 20):mention.span[0]])
    return bool(_SINCE.search(before) or _SINCE_START.match(arabic.normalize(mention.text)))


def date_event(sentence: str, published: str | None) -> _Dating:
    """Date one event: a complete date the sentence states, else the article's publication date, else none.
    A partial date (day and month, no year) is kept as ``stated`` but never completed by guessing."""
    mentions = sentence_dates(sentence, published)
    best = _best_mention(sentence, mentions)
    stated = mentions[0].text.rstrip(".،,") if mentions else None
    if best is not None:
        basis: Literal["text", "relative"] = "relative" if best.relative is not None else "text"
        return _Dating(best.iso, best.precision, basis, best.text.rstrip(".،,") or stated, _key(best))
    known = parse_date(published) if published else None
    if known is not None and not known.partial:
        return _Dating(known.iso, known.precision, "published", stated, _key(known))
    return _Dating(None, None, None, stated)


def _key(mention: DateMention) -> tuple[int, int, int]:
    return (mention.year or 0, mention.month or 0, mention.day or 0)


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    start: int  # chunk-relative sentence span
    end: int
    score: float
    dated: bool = False  # the sentence states a date (even partly)

    @property
    def span(self) -> tuple[int, int]:
        return self.hit.chunk.start + self.start, self.hit.chunk.start + self.end


def pick_sentences(topic: str, hits: Sequence[Hit], *, translated: str | None = None,
                   embedder: Embedder | None = None) -> list[_Candidate]:
    """The body sentences of ``hits`` that bear on the topic (scoring >= EVENT_RATIO of the best one), at
    most PER_ARTICLE per article, those stating a date first (they are what a timeline is made of), each
    article sentence once (chunks overlap). Words decide (the translated query too); with no shared word
    at all (another language, no translation) the embedder does. Titles are no events: they restate one."""
    texts = [hit.chunk.text for hit in hits]
    rows = _by_words(topic, translated, texts)
    if embedder is not None and not any(score > 0 for row in rows for *_, score in row):
        rows = _by_meaning(topic, texts[:MEANING_PASSAGES], embedder)
    found = [c for hit, row in zip(hits, rows) for c in _carried(hit, row) if c.score > 0 and not _is_title(c)]
    best = max((c.score for c in found), default=0.0)
    kept = _unrepeated(sorted((c for c in found if c.score >= EVENT_RATIO * best), key=lambda c: (not c.dated, -c.score)))
    return sorted(kept, key=lambda c: -c.score)[:MAX_EVENTS]


def _carried(hit: Hit, row: Sequence[tuple[int, int, float]]) -> list[_Candidate]:
    """A sentence stating a date is as relevant as the sentence before it when that is more: news sentences
    continue their subject ("وسعى حفتر إلى تعزيز علاقاته بالكرملين. وزار موسكو في نوفمبر 2016 …" is about
    Haftar though only the first names him)."""
    out: list[_Candidate] = []
    for i, (start, end, score) in enumerate(row):
        dated = bool(find_dates(hit.chunk.text[start:end]))
        if dated and i:
            score = max(score, row[i - 1][2])
        out.append(_Candidate(hit, start, end, score, dated))
    return out


def _is_title(cand: _Candidate) -> bool:
    chunk = cand.hit.chunk
    return chunk.start + cand.start == 0 and _same_text(chunk.text[cand.start:cand.end]) == _same_text(chunk.title)


def _by_words(topic: str, translated: str | None, texts: Sequence[str]) -> list[list[tuple[int, int, float]]]:
    rows = sentence_scores(topic, texts)
    if translated and translated != topic:
        other = sentence_scores(translated, texts)
        rows = [[(s, e, max(a, b[2])) for (s, e, a), b in zip(row, alt)] for row, alt in zip(rows, other)]
    return rows


def _by_meaning(topic: str, texts: Sequence[str], embedder: Embedder) -> list[list[tuple[int, int, float]]]:
    """Sentences scored by cosine with the topic; those within MEANING_MARGIN of the best keep their
    cosine, the rest 0 (e5's cosines sit in a narrow band: only the distance from the best separates)."""
    spans = [arabic.sentence_spans(t) or [(0, len(t))] for t in texts]
    flat = [t[s:e] for t, sp in zip(texts, spans) for s, e in sp]
    if not flat:
        return []
    query = embedder.embed_query(topic)
    cosines = iter([cosine(query, v) for v in embedder.embed_passages(flat)])
    rows = [[(s, e, next(cosines)) for s, e in sp] for sp in spans]
    best = max(score for row in rows for *_, score in row)
    return [[(s, e, score if score >= best - MEANING_MARGIN else 0.0) for s, e, score in row] for row in rows]


def _unrepeated(ranked: Sequence[_Candidate]) -> list[_Candidate]:
    seen: dict[str, list[tuple[int, int]]] = {}
    kept: list[_Candidate] = []
    for cand in ranked:
        spans = seen.setdefault(cand.hit.chunk.doc_id, [])
        start, end = cand.span
        if len(spans) >= PER_ARTICLE or any(min(end, b) - max(start, a) > 0 for a, b in spans):
            continue
        spans.append((start, end))
        kept.append(cand)
    return kept


def _same_text(sentence: str) -> str:
    return " ".join(arabic.normalize(sentence).split())


def make_events(candidates: Sequence[_Candidate]) -> tuple[list[TimelineEvent], list[TimelineEvent]]:
    """(dated oldest first, undated in article order); citations numbered 1.. across both, in that order."""
    rows = [(date_event(c.hit.chunk.text[c.start:c.end], c.hit.chunk.published), c) for c in _one_per_sentence(candidates)]
    dated = sorted((r for r in rows if r[0].date is not None), key=lambda r: (r[0].key, r[1].hit.chunk.doc_id, r[1].span))
    undated = sorted((r for r in rows if r[0].date is None), key=lambda r: (r[1].hit.chunk.doc_id, r[1].span))
    events = [_event(n, dating, cand) for n, (dating, cand) in enumerate([*dated, *undated], start=1)]
    return events[:len(dated)], events[len(dated):]


def _one_per_sentence(candidates: Sequence[_Candidate]) -> list[_Candidate]:
    """The same sentence from several outlets (copies that near-duplicate detection did not cluster, e.g. a
    wire sentence inside different articles) is one event: the earliest-published copy (then the lowest
    doc id), the others listed as its ``also``."""
    first: dict[str, _Candidate] = {}
    for cand in sorted(candidates, key=lambda c: (c.hit.chunk.published is None, c.hit.chunk.published or "",
                                                   c.hit.chunk.doc_id, c.span)):
        norm = _same_text(cand.hit.chunk.text[cand.start:cand.end])
        kept = first.setdefault(norm, cand)
        doc_ids = {kept.hit.chunk.doc_id, *(m.doc_id for m in kept.hit.also)}
        if cand.hit.chunk.doc_id not in doc_ids:
            c = cand.hit.chunk
            copy = SameStory(c.doc_id, kept.hit.chunk.doc_id, c.title, c.source, c.published, c.outlet)
            first[norm] = replace(kept, hit=replace(kept.hit, also=(*kept.hit.also, copy)))
    return list(first.values())


def _event(n: int, dating: _Dating, cand: _Candidate) -> TimelineEvent:
    citation = make_citation(n, cand.hit, cand.start, cand.end)
    return TimelineEvent(dating.date, dating.precision, dating.basis, citation, dating.stated)


def _event_passage(event: TimelineEvent) -> ContextPassage:
    """An event as a numbered prompt passage whose chunk is its sentence, so the citation check quotes it."""
    c = event.citation
    chunk = Chunk(chunk_id=f"{c.doc_id}@{c.start}", doc_id=c.doc_id, title=c.title, text=c.quote, start=c.start,
                  end=c.end, ordinal=0, source=c.source, published=c.published, outlet=c.outlet)
    return ContextPassage(c.n, Hit(chunk=chunk, score=c.score, also=c.also), c.quote, ((0, len(c.quote)),))


class Timeliner:
    """Builds ``Timeline``s from the retriever's passages, with an LLM summary when a model is reachable."""

    def __init__(self, retriever: _Retriever, llm: LLM | None, prompts: PromptLibrary, *,
                 embedder: Embedder | None = None, stories: Callable[[], Mapping[str, SameStory]] | None = None,
                 min_confidence: float = 0.0) -> None:
        self.retriever = retriever
        self.llm = llm
        self.prompts = prompts
        self.embedder = embedder
        self.stories = stories
        self.min_confidence = min_confidence

    def timeline(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None,
                 summarize: bool = True) -> Timeline:
        started = time.perf_counter()
        topic = timeline_topic(query)
        result = self.retriever.search(topic, k=k or DEFAULT_K, filters=filters)
        timings = {"retrieval": _ms(started)}
        notes: list[str] = []
        hits = collapse_hits(result.hits, self.stories()) if self.stories is not None else list(result.hits)
        if not hits or result.confidence < self.min_confidence:
            notes.append(f"the articles do not cover this topic (retrieval confidence {result.confidence:.2f})")
            hits = []
        dated, undated = make_events(pick_sentences(topic, hits, translated=result.keyword_query,
                                                    embedder=self.embedder))
        if undated:
            notes.append(f"{len(undated)} event(s) have no date in their sentence or article; listed as undated")
        timeline = Timeline(query=query, events=tuple(dated), undated=tuple(undated))
        if summarize and (dated or undated):
            timeline = self._summarize(timeline, notes)
        timings["total"] = _ms(started)
        return replace(timeline, notes=tuple(notes), timings_ms=timings)

    def _summarize(self, timeline: Timeline, notes: list[str]) -> Timeline:
        """The LLM's short summary, its [n] checked against the events; on any model failure: none, said."""
        if self.llm is None:
            notes.append(NO_LLM_NOTE)
            return timeline
        events = [*timeline.events, *timeline.undated][:SUMMARY_EVENTS]
        messages, events = self._messages(timeline.query, events)
        passages = [_event_passage(e) for e in events]
        try:
            raw, _usage = self.llm.chat(messages, max_tokens=SUMMARY_MAX_TOKENS)
        except GenerationError as exc:
            notes.append(f"no summary: the LLM failed ({exc.message})")
            return timeline
        reply = ReplyFilter(NO_ANSWER)
        text = reply.feed(raw) + reply.flush()
        checked = check_citations(text, passages, self.embedder) if not reply.refused else None
        if checked is None or not checked.text.strip() or not checked.citations:
            notes.append("no summary: the model's reply cited no event")
            return timeline
        if checked.unsupported:
            notes.append(f"{len(checked.unsupported)} summary sentence(s) not supported by the events (flagged)")
        return replace(timeline, summary=checked.text, summary_citations=checked.citations, model=self.llm.model)

    def _messages(self, query: str, events: list[TimelineEvent]) -> tuple[tuple[dict[str, str], ...], list[TimelineEvent]]:
        """The summary prompt (in the question's language), dropping the last events until it fits the
        model's context; returns the events it holds."""
        assert self.llm is not None
        suffix = "ar" if arabic.detect_language(query) == "ar" else "en"
        budget = self.llm.num_ctx - SUMMARY_MAX_TOKENS
        system = self.prompts.render(f"timeline_system_{suffix}", no_answer=NO_ANSWER)
        while True:
            rows = [{"n": e.citation.n, "date": e.date, "title": safe_text(e.citation.title, "event").replace('"', "'"),
                     "text": safe_text(e.citation.quote, "event")} for e in events]
            user = self.prompts.render(f"timeline_user_{suffix}", question=query, events=rows, no_answer=NO_ANSWER)
            messages = ({"role": "system", "content": system}, {"role": "user", "content": user})
            if count_messages(messages) <= budget or len(events) <= 1:
                return messages, events
            events = events[:-1]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

