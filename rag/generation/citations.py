"""Check the model's ``[n]`` citations against the passages it was given, after generation.

Why: models cite passages that were never given, cite the wrong one, or make claims no passage supports.
Every cited answer sentence is compared with the cited passage (stems + character n-grams after
``rag.arabic`` normalisation; embedding cosine as extra evidence when an embedder is available, and as the
only evidence for cross-lingual claims). Unsupported citations are re-pointed to the passage that does
support the sentence or flagged; the quote is the best supporting article sentence(s), located as an
exact character span in the ARTICLE (``Chunk.start`` + offset) so interfaces can highlight it.

Numbers are stable: a citation's ``n`` is the number of the passage in the prompt (what the model wrote),
never renumbered; markers to passages that were not given are dropped and re-pointed markers name the
passage that supports the claim. ``CitationCheck`` checks an answer sentence by sentence while it streams,
so what a client is shown is the checked text; ``check_citations`` is the same check on a whole text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rag import arabic
from rag.dates import sentence_dates
from rag.generation.context import ContextPassage, QueryTerms
from rag.ports import Embedder
from rag.profile import ModelProfile, load_profile
from rag.types import Citation, Hit, QuoteDate

__all__ = ["CheckedAnswer", "CitationCheck", "check_citations", "support", "best_quote", "make_citation", "strip_markers",
           "quote_dates", "cosine"]

#: chunk ids -> their stored embeddings (``VectorStore.chunk_vectors``); missing ids are re-embedded
StoredVectors = Callable[[Sequence[str]], Mapping[str, Sequence[float]]]

# [1], [1, 2], [١،٢] — \d is Unicode-aware (Arabic-Indic digits parse with int()).
_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,،]\s*\d+)*)\s*\]")
_END_PUNCT = ".!?؟…:;؛"
SUPPORT_THRESHOLD = 0.45
_MIN_CLAIM_TERMS = 3
#: a passage's quote may grow to cover the sentences of several claims citing it, up to this many characters
MAX_MERGED_QUOTE = 500
#: a cited passage that supports a claim is still replaced when another supports it clearly better
#: (shared generic words such as "the military command" pass the threshold; the names decide)
REPOINT_MARGIN = 0.25


def strip_markers(text: str) -> str:
    """The text without ``[n]`` markers (and without the space a marker left before punctuation)."""
    text = " ".join(_MARKER.sub(" ", text).split())
    for mark in _END_PUNCT + ",،":
        text = text.replace(f" {mark}", mark)
    return text


def support(claim: str, sentence: str) -> float:
    """Share of the claim's stems and character n-grams found in ``sentence`` (0..1)."""
    return _support(QueryTerms.of(claim), sentence)


def _support(claim: QueryTerms, sentence: str) -> float:
    if not claim.stems:
        return 0.0
    stem_recall = len(claim.stems & set(arabic.analyze(sentence))) / len(claim.stems)
    return 0.5 * (stem_recall + claim.gram_share(sentence))


def _windows(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_pair): single sentences and pairs of neighbouring sentences (a claim often merges two)."""
    spans = arabic.sentence_spans(text) or [(0, len(text))]
    pairs = [(spans[i][0], spans[i + 1][1], True) for i in range(len(spans) - 1)]
    return [(start, end, False) for start, end in spans] + pairs


def best_quote(claim: str, hit: Hit) -> tuple[float, int, int]:
    """(support, start, end): the best window of the chunk for ``claim``; offsets are chunk-relative.
    A pair only wins over a single sentence when it supports clearly more."""
    text, terms = hit.chunk.text, QueryTerms.of(claim)
    best = (-1.0, 0, len(text))
    for start, end, is_pair in _windows(text):
        score = _support(terms, text[start:end])
        if score > best[0] + (0.1 if is_pair else 0.0):
            best = (score, start, end)
    return best


def make_citation(n: int, hit: Hit, start: int, end: int, *, supported: bool = True) -> Citation:
    """A citation whose quote is ``chunk.text[start:end]``, with the span moved into article offsets."""
    chunk = hit.chunk
    quote = chunk.text[start:end]
    return Citation(n=n, doc_id=chunk.doc_id, title=chunk.title, source=chunk.source,
                    quote=quote, start=chunk.start + start, end=chunk.start + end,
                    score=float(hit.score), published=chunk.published, supported=supported, also=hit.also,
                    dates=quote_dates(quote, chunk.published), outlet=chunk.outlet)


def quote_dates(quote: str, published: str | None) -> tuple[QuoteDate, ...]:
    """The dates a quote mentions with a known year, relative time resolved against the publication date."""
    return tuple(QuoteDate(m.text, m.iso, m.relative is not None) for m in sentence_dates(quote, published) if m.iso)


@dataclass
class CheckedAnswer:
    text: str
    citations: tuple[Citation, ...]
    unsupported: tuple[str, ...]
    dropped: int = 0
    repointed: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Sentence:
    start: int
    end: int
    cites: list[int]
    claim: str
    keys: list[tuple[int, int, int, bool]] = field(default_factory=list)  # (passage n, start, end, supported)


_LEAD = re.compile(r"(?:\s*\[\s*\d+(?:\s*[,،]\s*\d+)*\s*\])+")


def _sentences(text: str, *, lead_taken: bool = False) -> list[_Sentence]:
    """Answer sentences with their markers; markers opening a sentence belong to the previous one
    (``lead_taken``: the text continues a checked one, whose last sentence already took them)."""
    out: list[_Sentence] = []
    for start, end in arabic.sentence_spans(text):
        piece = text[start:end]
        lead = _LEAD.match(piece)
        if lead and (out or lead_taken):
            if out:
                out[-1].cites.extend(_numbers(lead.group()))
            piece_cites = _numbers(piece[lead.end():])
        else:
            piece_cites = _numbers(piece)
        out.append(_Sentence(start, end, piece_cites, strip_markers(piece)))
    return out


def _numbers(text: str) -> list[int]:
    return [int(d) for m in _MARKER.finditer(text) for d in re.split(r"\s*[,،]\s*", m.group(1))]


class _Scorer:
    """Scores a claim against a passage: lexical, plus cosine when an embedder is given. Passage vectors
    come from the index when ``stored`` can read them (re-embedding a chunk costs ~25 ms on a CPU)."""

    def __init__(self, passages: Sequence[ContextPassage], embedder: Embedder | None,
                 stored: StoredVectors | None = None, profile: ModelProfile | None = None) -> None:
        self.profile = profile or load_profile(None)
        self.passages = {p.n: p for p in passages}
        self._sentence_vectors: dict[int, tuple[list[tuple[int, int]], list[list[float]]]] = {}
        self.langs = {n: arabic.detect_language(p.hit.chunk.text) for n, p in self.passages.items()}
        self.embedder = embedder
        self._stored = stored
        self._vectors: dict[int, Sequence[float]] | None = None  # read from the index on first need
        self._claims: dict[str, Sequence[float]] = {}

    def _cosine(self, claim: str, n: int) -> float:
        if self.embedder is None:
            return 0.0
        if self._vectors is None:
            found = self._stored([p.hit.chunk.chunk_id for p in self.passages.values()]) if self._stored else {}
            self._vectors = {m: found[p.hit.chunk.chunk_id] for m, p in self.passages.items()
                             if p.hit.chunk.chunk_id in found}
        if n not in self._vectors:
            self._vectors[n] = self.embedder.embed_passages([self.passages[n].hit.chunk.text])[0]
        if claim not in self._claims:
            self._claims[claim] = self.embedder.embed_query(claim)
        return cosine(self._claims[claim], self._vectors[n])

    def judge(self, claim: str, n: int, *, cited: bool = True) -> tuple[bool, float, int, int]:
        """(supported, strength, start, end) of passage ``n`` for ``claim``; ``cited``: the model cited it."""
        if arabic.detect_language(claim) != self.langs[n]:
            return self._cross_lingual(claim, n, cited)
        score, start, end = best_quote(claim, self.passages[n].hit)
        if score >= SUPPORT_THRESHOLD:
            return True, score, start, end
        if self.embedder is not None and score >= SUPPORT_THRESHOLD / 2:
            cos = self._cosine(claim, n)
            return cos >= self.profile.citation_cosine, score, start, end
        return False, score, start, end

    def _cross_lingual(self, claim: str, n: int, cited: bool) -> tuple[bool, float, int, int]:
        """An English claim over an Arabic passage cannot be checked word by word. It is supported when
        the model cited the passage, its closest sentence reaches the model's cross-lingual cosine, and no
        other given passage has a sentence closer by more than the model's margin (e5's cosines sit in a
        narrow band, so only the comparison between passages separates right from wrong). Uncited
        passages are never re-pointed to; each passage's sentences are embedded once per answer."""
        passage = self.passages[n]
        start, end = passage.spans[0] if passage.spans else (0, len(passage.hit.chunk.text))
        if self.embedder is None or not cited:
            return False, 0.0, start, end
        best = {m: self._closest_sentence(claim, m) for m in self.passages}
        cos, a, b = best[n]
        rival = max(v[0] for v in best.values())
        ok = cos >= self.profile.cross_lingual_cosine and cos >= rival - self.profile.cross_lingual_margin
        return ok, cos, a, b

    def _closest_sentence(self, claim: str, n: int) -> tuple[float, int, int]:
        assert self.embedder is not None
        if n not in self._sentence_vectors:
            text = self.passages[n].hit.chunk.text
            spans = arabic.sentence_spans(text) or [(0, len(text))]
            self._sentence_vectors[n] = (spans, self.embedder.embed_passages([text[a:b] for a, b in spans]))
        spans, vectors = self._sentence_vectors[n]
        if claim not in self._claims:
            self._claims[claim] = self.embedder.embed_query(claim)
        cosines = [cosine(self._claims[claim], v) for v in vectors]
        best = max(range(len(spans)), key=lambda i: cosines[i])
        return cosines[best], spans[best][0], spans[best][1]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(x * x for x in b)) or 1.0
    return sum(x * y for x, y in zip(a, b)) / (na * nb)


def _resolve(sentence: _Sentence, scorer: _Scorer, result: CheckedAnswer) -> None:
    """Decide which passages the sentence really cites (kept, re-pointed, added or flagged)."""
    valid = [n for n in dict.fromkeys(sentence.cites) if n in scorer.passages]
    result.dropped += len(set(sentence.cites)) - len(valid)
    if len(arabic.analyze(sentence.claim)) < _MIN_CLAIM_TERMS and not valid:
        return
    verdicts = {n: scorer.judge(sentence.claim, n) for n in valid}
    others = {n: scorer.judge(sentence.claim, n, cited=False) for n in scorer.passages if n not in verdicts}
    supported = {n: v for n, v in others.items() if v[0]}
    best_other = max(supported.items(), key=lambda item: item[1][1]) if supported else None
    kept = [(n, v) for n, v in verdicts.items() if v[0]]
    best_kept = max((v[1] for _, v in kept), default=-1.0)
    if kept and (best_other is None or best_other[1][1] < best_kept + REPOINT_MARGIN):
        sentence.keys = [(n, v[2], v[3], True) for n, v in kept]
        return
    if best_other is not None:
        n, v = best_other
        sentence.keys = [(n, v[2], v[3], True)]
        result.repointed += 1
        return
    if valid or len(arabic.analyze(sentence.claim)) >= _MIN_CLAIM_TERMS:
        result.unsupported += (sentence.claim,)
        sentence.keys = [(n, v[2], v[3], False) for n, v in verdicts.items()]


class CitationCheck:
    """The citation check, fed the answer as it streams: ``feed`` returns the checked text of every
    sentence that is complete, ``finish`` the rest. A sentence is complete once the next one has begun
    (markers opening a sentence belong to the one before), so what is released is never changed later
    and the released pieces joined are exactly ``result.text``."""

    def __init__(self, passages: Sequence[ContextPassage], embedder: Embedder | None = None,
                 stored: StoredVectors | None = None, *, profile: ModelProfile | None = None) -> None:
        self.scorer = _Scorer(passages, embedder, stored, profile)
        self.result = CheckedAnswer(text="", citations=(), unsupported=())
        self._pending = ""       # received text after the last released sentence
        self._lead_taken = False  # the pending text's opening markers were given to a released sentence
        self._cited: dict[int, Citation] = {}

    def feed(self, text: str) -> str:
        self._pending += text
        sentences = _sentences(self._pending, lead_taken=self._lead_taken)
        ready = len(sentences) - 1 if sentences and _has_body(self._pending[sentences[-1].start:]) else len(sentences) - 2
        return self._release(sentences[:max(ready, 0)], final=False)

    def finish(self, *, cut: bool = False) -> str:
        """The checked text of what is left; afterwards ``result`` is the whole checked answer.
        ``cut``: the reply broke off, so a last sentence without its closing stop is a fragment the model
        never finished ("… حفتر في"); it is dropped rather than shown as if it were a claim."""
        if cut and not _ENDED.search(self._pending):
            self._pending = ""
        released = self._release(_sentences(self._pending, lead_taken=self._lead_taken), final=True)
        self.result.citations = tuple(self._cited[n] for n in sorted(self._cited))
        return released

    def _release(self, sentences: Sequence[_Sentence], *, final: bool) -> str:
        if not sentences and not final:
            return ""
        parts: list[str] = []
        cursor = 0
        for sentence in sentences:
            _resolve(sentence, self.scorer, self.result)
            parts += [self._pending[cursor:sentence.start], _with_marks(sentence.claim, self._marks(sentence))]
            cursor = sentence.end
        if final:
            parts.append(self._pending[cursor:])
            cursor = len(self._pending)
        else:
            self._lead_taken = True
        self._pending = self._pending[cursor:]
        out = "".join(parts)
        if not self.result.text:
            out = out.lstrip()
        out = out.rstrip() if final else out
        self.result.text += out
        return out

    def _marks(self, sentence: _Sentence) -> list[int]:
        """The sentence's passage numbers; each passage's citation is made (or its quote widened) here."""
        marks: list[int] = []
        for n, start, end, ok in sentence.keys:
            hit = self.scorer.passages[n].hit
            known = self._cited.get(n)
            if known is None or (ok and not known.supported):
                self._cited[n] = make_citation(n, hit, start, end, supported=ok)
            elif ok:
                self._cited[n] = _widened(known, hit, start, end)
            if n not in marks:
                marks.append(n)
        return marks


#: a sentence that reached its stop, perhaps followed by its markers ("… للعلاج [1].", "… للعلاج. [1]")
_ENDED = re.compile(r"[.!?؟…](?:\s*\[\d+\])*\s*$")


def _has_body(piece: str) -> bool:
    """Whether a (possibly unfinished) sentence has begun past its opening markers."""
    lead = _LEAD.match(piece)
    rest = piece[lead.end():] if lead else piece
    return bool(re.search(r"[^\s\[\]\d,،]", rest))


def _widened(citation: Citation, hit: Hit, start: int, end: int) -> Citation:
    """The citation's quote grown to cover another supported span of the same passage, when short enough."""
    base = hit.chunk.start
    lo, hi = min(citation.start - base, start), max(citation.end - base, end)
    if (lo, hi) == (citation.start - base, citation.end - base) or hi - lo > MAX_MERGED_QUOTE:
        return citation
    return make_citation(citation.n, hit, lo, hi, supported=citation.supported)


def check_citations(answer: str, passages: Sequence[ContextPassage], embedder: Embedder | None = None,
                    stored: StoredVectors | None = None, *, profile: ModelProfile | None = None) -> CheckedAnswer:
    """Verify, re-point and rewrite the citations of a whole ``answer`` (see module docstring)."""
    check = CitationCheck(passages, embedder, stored, profile=profile)
    check.feed(answer)
    check.finish()
    return check.result


def _with_marks(claim: str, marks: Sequence[int]) -> str:
    """Put the markers after the claim, before its closing punctuation."""
    if not marks:
        return claim
    tags = "".join(f"[{m}]" for m in marks)
    body = claim.rstrip(_END_PUNCT).rstrip()
    tail = claim[len(claim.rstrip(_END_PUNCT)):]
    return f"{body} {tags}{tail}"
