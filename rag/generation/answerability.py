"""Does some retrieved sentence answer what is asked? A sentence-level judgement after retrieval.

Why: retrieval confidence says "the corpus is about this", not "the corpus holds this fact". A near-miss
question ("how many Russian soldiers were sent to Benghazi?" over articles about Libyan soldiers flown to
Russia) retrieves the right article with high confidence, and only its sentences can show that none of
them says what is asked. Each sentence of the top passages gets features — its e5 similarity to the
question (absolute, relative to the best sentence, and its rank), the share of the question's stems it
contains weighted by their rarity among these sentences (absolute and relative; and for the sentences
around it: answers often follow the sentence that repeats the question), whether it holds an answer of
the asked type (a number for "how many", a date for "when"), its passage's rank, its length, and the
retrieval confidence — and a per-model logistic (``rag/profiles/*.json``: ``answerability``) turns them
into the probability that this sentence answers. The question's score is the best sentence's. Fitted by
``benchmarks/answerability.py`` on dev questions with gold answers (positives: sentences that contain
the answer) and near-miss questions built by deleting the answer's sentences from their article.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rag import arabic
from rag.ports import Embedder
from rag.profile import ModelProfile
from rag.types import Hit

__all__ = ["FEATURES", "Judgement", "ScoredSentence", "judge", "sentence_features", "is_cross_lingual"]

#: feature order shared by the product and the fitter (benchmarks/answerability.py)
FEATURES = ("cosine", "cosine_gap", "coverage", "coverage_gap", "coverage_before", "coverage_after", "typed",
            "untyped_asked", "confidence", "best_cosine", "cosine_rank", "passage", "length")


@dataclass(frozen=True)
class ScoredSentence:
    """One sentence of a retrieved passage: ``hits[hit].chunk.text[start:end]`` and its probability."""

    hit: int
    start: int
    end: int
    score: float
    typed: bool


@dataclass(frozen=True)
class Judgement:
    """The question-level answerability (best sentence's score) and every sentence, best first."""

    score: float
    sentences: tuple[ScoredSentence, ...]


def is_cross_lingual(question: str, hits: Sequence[Hit]) -> bool:
    """True when the question's language differs from the top passage's (words cannot match)."""
    return bool(hits) and arabic.detect_language(question) != arabic.detect_language(hits[0].chunk.text)


def sentence_features(question: str, hits: Sequence[Hit], embedder: Embedder, confidence: float, *,
                      passages: int = 3) -> tuple[list[tuple[int, int, int, bool]], list[list[float]]]:
    """(hit index, start, end, typed) and the ``FEATURES`` row of every sentence of the top passages.
    One embedding batch per question; the question is embedded as a query, sentences as passages."""
    rows = [(index, start, end) for index, hit in enumerate(hits[:passages])
            for start, end in arabic.sentence_spans(hit.chunk.text)]
    if not rows:
        return [], []
    texts = [hits[i].chunk.text[a:b] for i, a, b in rows]
    query = embedder.embed_query(question)
    cosines = [sum(x * y for x, y in zip(query, v, strict=True)) for v in embedder.embed_passages(texts)]
    kind = arabic.question_type(question)
    coverage = weighted_coverage(question, texts)
    best, best_coverage = max(cosines), max(coverage)
    rank = {n: r for r, n in enumerate(sorted(range(len(rows)), key=lambda n: -cosines[n]))}
    spans, features = [], []
    for n, ((index, start, end), text) in enumerate(zip(rows, texts, strict=True)):
        typed = arabic.mentions_type(text, kind)
        before = coverage[n - 1] if n > 0 and rows[n - 1][0] == index else 0.0
        after = coverage[n + 1] if n + 1 < len(rows) and rows[n + 1][0] == index else 0.0
        spans.append((index, start, end, typed))
        features.append([cosines[n], cosines[n] - best, coverage[n], coverage[n] - best_coverage, before, after,
                         float(typed and kind != "other"), float(not typed), confidence,
                         float(rank[n] == 0), 1.0 / (1.0 + rank[n]), float(index), min(len(text), 400) / 400])
    return spans, features


def weighted_coverage(question: str, texts: Sequence[str]) -> list[float]:
    """Share of the question's stems each text contains, each stem weighted by its inverse frequency
    among ``texts``. Why weighted: the topic's words (the entity asked about) recur in every sentence
    of the retrieved passages, near-miss ones included; the rarer words of the question are what only
    the answering sentence repeats."""
    stems = set(arabic.analyze(question))
    if not stems or not texts:
        return [0.0] * len(texts)
    sets = [set(arabic.analyze(t)) for t in texts]
    weight = {w: math.log(1 + len(texts) / (1 + sum(w in s for s in sets))) + 1e-6 for w in stems}
    total = sum(weight.values())
    return [sum(weight[w] for w in stems & s) / total for s in sets]


def judge(question: str, hits: Sequence[Hit], embedder: Embedder | None, profile: ModelProfile,
          confidence: float) -> Judgement | None:
    """The judgement, or None when this model has no answerability weights fitted for ``FEATURES`` or
    there is no embedder (then retrieval confidence alone decides, as before)."""
    key = "cross" if is_cross_lingual(question, hits) else "same"
    weights = profile.answerability.get(key)
    if embedder is None or not weights or len(weights) != len(FEATURES) + 1 or not hits:
        return None  # not fitted, or fitted for another feature set: a stale profile must not judge
    spans, features = sentence_features(question, hits, embedder, confidence)
    scored = [ScoredSentence(i, a, b, _logistic(weights, row), typed)
              for (i, a, b, typed), row in zip(spans, features, strict=True)]
    scored.sort(key=lambda s: -s.score)
    return Judgement(score=scored[0].score if scored else 0.0, sentences=tuple(scored))


def _logistic(weights: Sequence[float], row: Sequence[float]) -> float:
    """``weights`` is one weight per feature, then the bias."""
    z = sum(w * x for w, x in zip(weights, row, strict=False)) + weights[-1]
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
