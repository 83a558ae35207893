"""The context budget: choose what of each retrieved passage goes into the prompt, and make it fit.

Why sentence selection: on a CPU the prompt is most of the waiting time (a 3-4B model reads ~30 tokens/s
on 2 cores), and most sentences of a retrieved chunk do not bear on the question. We keep the sentences
that share rare (normalised, stemmed) terms or character n-grams with the question, plus neighbours for
coherence: generously in the top passage, sparingly in the others. ``benchmarks/answers.py`` measures it
on the dev suites (context answer recall and prompt tokens, whole chunks vs selected sentences).

Why a conservative token estimate: the embedder's tokenizer is not the LLM's and we do not ship the LLM's
tokenizer. ``estimate_tokens`` over-counts (Arabic-script text ~2.5 chars/token, Latin ~3.5, and never
fewer than 1.5 tokens per word), so a prompt we accept never exceeds ``num_ctx`` on the server, where
Ollama would otherwise cut it silently.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag import arabic
from rag.dates import sentence_dates
from rag.errors import GenerationError
from rag.prompts import PromptLibrary
from rag.types import Hit

__all__ = ["NO_ANSWER", "safe_text", "ContextPassage", "PromptContext", "QueryTerms", "estimate_tokens",
           "select_spans", "sentence_scores", "build_context", "sentence_score", "time_notes"]

#: what the model must reply with when the passages do not contain the answer
NO_ANSWER = "NO_ANSWER"
_MESSAGE_OVERHEAD = 8  # role tags and template tokens per chat message
_GAP = " … "


def estimate_tokens(text: str) -> int:
    """Conservative LLM token count for ``text`` (see module docstring for why it over-counts)."""
    if not text:
        return 0
    chars_per_token = 2.5 if arabic.arabic_ratio(text) >= 0.3 else 3.5
    return max(math.ceil(len(text) / chars_per_token), math.ceil(1.5 * len(text.split())))


@dataclass(frozen=True)
class QueryTerms:
    """The question's matching keys, computed once per question."""

    stems: frozenset[str]
    grams: frozenset[str]

    @classmethod
    def of(cls, question: str) -> QueryTerms:
        return cls(frozenset(arabic.analyze(question)), frozenset(arabic.char_ngrams(question)))

    def gram_share(self, text: str) -> float:
        """Share of the question's character n-grams that ``text`` contains (0 when it has none)."""
        if not self.grams:
            return 0.0
        return len(self.grams & set(arabic.char_ngrams(text))) / len(self.grams)


def sentence_score(terms: QueryTerms, sentence: str) -> float:
    """How much ``sentence`` bears on the question: shared stems count fully, shared char n-grams add
    a fraction (they catch clitics and spelling variants that stems miss)."""
    if not terms.stems and not terms.grams:
        return 0.0
    stem_hits = len(terms.stems & set(arabic.analyze(sentence)))
    return stem_hits + 2.0 * terms.gram_share(sentence)


# Sentence selection knobs, tuned on the dev suites (benchmarks/answers.py): the top passage keeps every
# sentence scoring >= TOP_RATIO of its best, with TOP_BEFORE / TOP_AFTER neighbours; lower passages keep at
# most OTHER_MAX sentences that score >= OTHER_RATIO of the best sentence overall, each with the OTHER_AFTER
# sentence(s) that follow it (the answer tends to follow the sentence that repeats the question's words),
# or nothing. Measured (benchmarks/answers.py, 1,314 answerable dev questions, ~350-token chunks): context
# recall 96.7 -> 95.7 at 0.50x prompt tokens; MiniLM's ~130-token chunks have little to select.
TOP_RATIO, TOP_BEFORE, TOP_AFTER = 0.3, 2, 2
OTHER_RATIO, OTHER_MAX, OTHER_BEFORE, OTHER_AFTER = 0.4, 2, 0, 1
# Short passages (small chunks: one or two sentences) have little to select from, and dropping them costs
# recall; one with a sentence scoring >= SHORT_FLOOR of the best overall keeps that sentence.
SHORT_SENTENCES, SHORT_FLOOR, OTHER_FLOOR = 2, 0.2, 1.0
GRAM_WEIGHT = 2.0


def sentence_scores(question: str, texts: Sequence[str]) -> list[list[tuple[int, int, float]]]:
    """(start, end, score) of every sentence of every text. Shared stems are weighted by their inverse
    frequency among these sentences (a topic word found everywhere says little), plus the share of the
    question's character n-grams the sentence contains."""
    terms = QueryTerms.of(question)
    spans = [arabic.sentence_spans(t) or [(0, len(t))] for t in texts]
    stems = [[set(arabic.analyze(t[s:e])) for s, e in sp] for t, sp in zip(texts, spans)]
    df = Counter(w for passage in stems for sentence in passage for w in sentence)
    total = sum(len(sp) for sp in spans)
    out: list[list[tuple[int, int, float]]] = []
    for text, sp, passage in zip(texts, spans, stems):
        row = []
        for (start, end), sentence in zip(sp, passage):
            weight = sum(math.log(1 + total / df[w]) for w in terms.stems & sentence)
            row.append((start, end, weight + GRAM_WEIGHT * terms.gram_share(text[start:end])))
        out.append(row)
    return out


def select_spans(question: str, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    """For each text (in rank order) the spans of the sentences worth sending; [] drops a passage."""
    scores = sentence_scores(question, texts)
    best_overall = max((score for row in scores for *_, score in row), default=0.0)
    selected: list[list[tuple[int, int]]] = []
    for rank, row in enumerate(scores):
        chosen, before, after = (_choose_top(row) if rank == 0 else _choose_other(row, best_overall))
        keep = {m for j in chosen for m in range(j - before, j + after + 1) if 0 <= m < len(row)}
        if rank == 0 and not keep:
            keep = set(range(min(len(row), 1 + TOP_AFTER)))
        selected.append([row[m][:2] for m in sorted(keep)])
    return selected


def _choose_top(row: Sequence[tuple[int, int, float]]) -> tuple[list[int], int, int]:
    best = max(score for *_, score in row)
    return [j for j, (*_, score) in enumerate(row) if score > 0 and score >= TOP_RATIO * best], TOP_BEFORE, TOP_AFTER


def _choose_other(row: Sequence[tuple[int, int, float]], best_overall: float) -> tuple[list[int], int, int]:
    passing = [j for j, (*_, score) in enumerate(row) if score > 0 and score >= OTHER_RATIO * best_overall]
    if passing:
        return sorted(passing, key=lambda j: -row[j][2])[:OTHER_MAX], OTHER_BEFORE, OTHER_AFTER
    top = max(range(len(row)), key=lambda j: row[j][2])
    floor = SHORT_FLOOR if len(row) <= SHORT_SENTENCES else OTHER_FLOOR
    if row[top][2] > 0 and row[top][2] >= floor * best_overall:
        return [top], 0, 0  # a weaker passage still contributes its best sentence
    return [], 0, 0


def _join_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Contiguous sentences keep their original text; gaps between kept runs become an ellipsis."""
    parts: list[str] = []
    run_start, run_end = spans[0]
    for start, end in spans[1:]:
        if text[run_end:start].strip() == "":
            run_end = end
            continue
        parts.append(text[run_start:run_end])
        run_start, run_end = start, end
    parts.append(text[run_start:run_end])
    return _GAP.join(parts)


@dataclass(frozen=True)
class ContextPassage:
    """One passage as numbered in the prompt: ``spans`` are the chunk-relative sentences sent."""

    n: int
    hit: Hit
    text: str
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PromptContext:
    messages: tuple[dict[str, str], ...]
    passages: tuple[ContextPassage, ...]
    prompt_tokens: int
    trimmed: int
    lang: str


def make_passages(question: str, hits: Sequence[Hit], *, select: bool) -> list[ContextPassage]:
    """Number the hits 1..n and pick the text of each (selected sentences or the whole chunk); with
    selection a lower-ranked passage with no sentence bearing on the question is left out."""
    texts = [hit.chunk.text for hit in hits]
    chosen = _unrepeated(hits, select_spans(question, texts)) if select else [[(0, len(t))] for t in texts]
    passages: list[ContextPassage] = []
    for hit, spans in zip(hits, chosen):
        if spans:
            passages.append(ContextPassage(len(passages) + 1, hit, _join_spans(hit.chunk.text, spans), tuple(spans)))
    return passages


def _unrepeated(hits: Sequence[Hit], chosen: list[list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """Drop sentences an earlier passage already sends: neighbouring chunks of one article overlap by
    whole sentences, and both are often retrieved. Spans are compared in article offsets."""
    sent: dict[str, list[tuple[int, int]]] = {}
    out: list[list[tuple[int, int]]] = []
    for hit, spans in zip(hits, chosen):
        base, seen = hit.chunk.start, sent.setdefault(hit.chunk.doc_id, [])
        fresh = [(s, e) for s, e in spans if not _covered(base + s, base + e, seen)]
        seen.extend((base + s, base + e) for s, e in fresh)
        out.append(fresh)
    return out


def _covered(start: int, end: int, ranges: Sequence[tuple[int, int]]) -> bool:
    """True when one range already sent holds (nearly all of) [start, end): whitespace may differ."""
    length = max(1, end - start)
    return any(min(end, e) - max(start, s) >= 0.9 * length for s, e in ranges)


def safe_text(text: str, tag: str = "passage") -> str:
    """Passage text is data: neutralise anything that could close or open our ``tag`` delimiter tags."""
    return text.replace(f"</{tag}", f"</ {tag}").replace(f"<{tag}", f"< {tag}")


def render_messages(prompts: PromptLibrary, question: str, passages: Sequence[ContextPassage],
                    lang: str) -> tuple[dict[str, str], ...]:
    suffix = "ar" if lang == "ar" else "en"
    rows = [{"n": p.n, "title": safe_text(p.hit.chunk.title).replace('"', "'"), "text": safe_text(p.text),
             "published": p.hit.chunk.published or "unknown", "time": time_notes(p.text, p.hit.chunk.published)}
            for p in passages]
    system = prompts.render(f"answer_system_{suffix}", no_answer=NO_ANSWER)
    user = prompts.render(f"answer_user_{suffix}", question=question, passages=rows, no_answer=NO_ANSWER)
    return ({"role": "system", "content": system}, {"role": "user", "content": user})


def time_notes(text: str, published: str | None) -> str:
    """'«العام الماضي» = 2016; «أمس» = 2017-01-11': the passage's relative time resolved against its
    publication date (rag.relative_time), so the model can write "in 2016 (the article is dated January 2017
    and says 'last year')" instead of repeating 'last year'; '' when there is none or the date is unknown."""
    notes = [f"«{safe_text(m.relative)}» = {m.iso}" for m in sentence_dates(text, published) if m.relative and m.iso]
    return "; ".join(dict.fromkeys(notes))


def count_messages(messages: Sequence[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) + _MESSAGE_OVERHEAD for m in messages)


def build_context(question: str, hits: Sequence[Hit], prompts: PromptLibrary, *, num_ctx: int,
                  answer_max_tokens: int, select: bool, lang: str) -> PromptContext:
    """Render the prompt within ``num_ctx - answer_max_tokens``: drop the lowest-ranked passages, then
    shorten the last one sentence by sentence; ``trimmed`` counts passages dropped or shortened."""
    budget = num_ctx - answer_max_tokens
    passages = make_passages(question, hits, select=select)
    trimmed, shortened = 0, False
    while True:
        messages = render_messages(prompts, question, passages, lang)
        tokens = count_messages(messages)
        if tokens <= budget:
            return PromptContext(messages, tuple(passages), tokens, trimmed, lang)
        if len(passages) > 1:
            passages.pop()
            trimmed += 1
            continue
        shorter = _shorten(passages[0]) if passages else None
        if shorter is None:
            raise GenerationError(
                f"the question alone needs about {tokens} tokens; the budget is {budget}",
                hint="shorten the question or raise SANAD_OLLAMA_NUM_CTX",
            )
        trimmed, shortened = (trimmed, True) if shortened else (trimmed + 1, True)
        passages = [shorter] if shorter.spans else []


def _shorten(passage: ContextPassage) -> ContextPassage | None:
    """Drop the last sentence (or halve a single long sentence); None when nothing is left to cut."""
    text = passage.hit.chunk.text
    spans = list(passage.spans)
    if not spans:
        return None
    if len(spans) > 1:
        spans = spans[:-1]
    else:
        start, end = spans[0]
        if end - start < 20:
            return ContextPassage(passage.n, passage.hit, "", ())
        spans = [(start, start + (end - start) // 2)]
    return ContextPassage(passage.n, passage.hit, _join_spans(text, spans), tuple(spans))
