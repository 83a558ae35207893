"""Metrics: per-question scores and their aggregates (defined in docs/eval.md).

Pure functions over plain data so the numbers can be checked by hand. A metric that does not apply
(no question it could be computed on, or a mode that does not produce it) is ``None``, never 0.
All Arabic normalisation goes through ``rag.arabic``.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eval.suite import Question
from rag.arabic import tokenize

__all__ = [
    "METRIC_KEYS",
    "answer_tokens",
    "exact_match",
    "token_f1",
    "contains",
    "score_answer",
    "rank_scores",
    "spans_overlap",
    "citation_scores",
    "score_row",
    "percentile",
    "aggregate",
    "summarize",
]

#: the keys every summary has, in report order (more follow them)
METRIC_KEYS = (
    "retrieval.doc_hit@1", "retrieval.doc_hit@5", "retrieval.mrr@10", "retrieval.paragraph_hit@5",
    "context.answer_recall", "answer.em", "answer.f1", "answer.contains", "citation.precision",
    "citation.recall", "abstention.precision", "abstention.recall", "latency_ms.p50", "latency_ms.p95",
    "prompt_tokens.mean",
)
EXTRA_KEYS = (
    "answer.correct", "answer.em_raw", "answer.f1_raw", "answer.contains_raw", "abstention.false_refusal_rate",
    "judge.faithfulness", "judge.correctness", "questions", "answerable",
)

# Clitics that may be glued to the first word of a reference inside an answer (و ف ب ل ك + article).
_CLITICS = ("", "و", "ف", "ب", "ل", "ك", "ال", "وال", "فال", "بال", "كال", "لل", "ولل", "وب", "ول", "فب", "فل")


# --- answers --------------------------------------------------------------------------------------

def _raw_tokens(text: str) -> list[str]:
    """Whitespace tokens with punctuation trimmed from their edges, spelling untouched (the raw variant)."""
    tokens = []
    for word in text.split():
        start, end = 0, len(word)
        while start < end and unicodedata.category(word[start])[0] in "PS":
            start += 1
        while end > start and unicodedata.category(word[end - 1])[0] in "PS":
            end -= 1
        if end > start:
            tokens.append(word[start:end].lower())
    return tokens


def answer_tokens(text: str, *, raw: bool = False) -> list[str]:
    """Tokens compared by EM/F1: ``rag.arabic.tokenize`` (normalised) or the raw variant."""
    return _raw_tokens(text) if raw else tokenize(text)


def exact_match(prediction: str, reference: str, *, raw: bool = False) -> bool:
    return answer_tokens(prediction, raw=raw) == answer_tokens(reference, raw=raw)


def token_f1(prediction: str, reference: str, *, raw: bool = False) -> float:
    """SQuAD-style token F1 over bags of tokens."""
    pred, ref = answer_tokens(prediction, raw=raw), answer_tokens(reference, raw=raw)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return float(pred == ref)
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(text: str, reference: str, *, raw: bool = False) -> bool:
    """The reference occurs in ``text``: raw = plain substring; normalised = its token sequence occurs,
    the first token allowed to carry a clitic prefix (بروسيا contains روسيا)."""
    if raw:
        return bool(reference.strip()) and reference.strip() in text
    ref, toks = tokenize(reference), tokenize(text)
    if not ref:
        return False
    n = len(ref)
    for i in range(len(toks) - n + 1):
        if toks[i + 1 : i + n] == ref[1:] and any(toks[i] == c + ref[0] for c in _CLITICS):
            return True
    return False


def _best(prediction: str, alternatives: Sequence[str], raw: bool) -> str:
    return max(alternatives, key=lambda alt: (token_f1(prediction, alt, raw=raw), -len(alt)))


def score_answer(prediction: str, parts: Sequence[Sequence[str]]) -> dict[str, float]:
    """em/f1/contains (normalised and raw). Several parts: contains needs every part; em/f1 compare with the
    best alternative of each part joined in order."""
    scores: dict[str, float] = {}
    for raw, suffix in ((False, ""), (True, "_raw")):
        if len(parts) == 1:
            scores["em" + suffix] = float(any(exact_match(prediction, a, raw=raw) for a in parts[0]))
            scores["f1" + suffix] = max(token_f1(prediction, a, raw=raw) for a in parts[0])
        else:
            reference = " ".join(_best(prediction, part, raw) for part in parts)
            scores["em" + suffix] = float(exact_match(prediction, reference, raw=raw))
            scores["f1" + suffix] = token_f1(prediction, reference, raw=raw)
        scores["contains" + suffix] = float(all(any(contains(prediction, a, raw=raw) for a in p) for p in parts))
    return scores


# --- retrieval ------------------------------------------------------------------------------------

def rank_scores(retrieved: Sequence[str], sources: Iterable[str]) -> dict[str, float]:
    """Document hit@1/@5 and reciprocal rank within 10 over distinct documents in rank order."""
    gold = set(sources)
    rank = next((i for i, doc in enumerate(retrieved[:10], start=1) if doc in gold), None)
    return {
        "doc_hit@1": float(rank is not None and rank <= 1),
        "doc_hit@5": float(rank is not None and rank <= 5),
        "rr@10": 1.0 / rank if rank else 0.0,
    }


def spans_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Half-open character spans share at least one character."""
    return a[0] < b[1] and b[0] < a[1]


def citation_scores(cited: Sequence[str], sources: Sequence[str]) -> dict[str, float | None]:
    """Precision: share of distinct cited documents that are gold (None when nothing is cited);
    recall: share of gold documents cited."""
    cited_set, gold = set(cited), set(sources)
    hits = len(cited_set & gold)
    return {
        "citation_precision": hits / len(cited_set) if cited_set else None,
        "citation_recall": hits / len(gold) if gold else None,
    }


def score_row(question: Question, row: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """Per-question scores from one results row (answer, refused, citations, retrieved, context_has_answer)."""
    scores: dict[str, Any] = {}
    if question.answerable:
        scores.update(rank_scores(row.get("retrieved") or [], question.sources))
    if mode == "retrieval":
        return scores
    answer, refused = row.get("answer") or "", bool(row.get("refused"))
    if question.answerable:
        scores.update(score_answer(answer, question.parts))
        scores.update(citation_scores(row.get("citations") or [], question.sources))
        scores["correct"] = float(scores["contains"] and not refused)
    else:
        scores["correct"] = float(refused)
    return scores


# --- aggregation ----------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (numpy's default); None for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


def _mean(values: Iterable[Any]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def aggregate(pairs: Sequence[tuple[Question, Mapping[str, Any]]], mode: str) -> dict[str, float | None]:
    """The flat metrics object for a set of (question, row) pairs."""
    answerable = [(q, r) for q, r in pairs if q.answerable]
    s = [r.get("scores", {}) for _, r in answerable]
    metrics: dict[str, float | None] = {
        "retrieval.doc_hit@1": _mean(x.get("doc_hit@1") for x in s),
        "retrieval.doc_hit@5": _mean(x.get("doc_hit@5") for x in s),
        "retrieval.mrr@10": _mean(x.get("rr@10") for x in s),
        "retrieval.paragraph_hit@5": _mean(x.get("paragraph_hit@5") for x in s),
    }
    answers = mode != "retrieval"
    for key, name in (("context.answer_recall", "context_has_answer"),):
        metrics[key] = _mean(r.get(name) for _, r in answerable) if answers else None
    for key in ("em", "f1", "contains", "em_raw", "f1_raw", "contains_raw"):
        metrics[f"answer.{key}"] = _mean(x.get(key) for x in s) if answers else None
    metrics["citation.precision"] = _mean(x.get("citation_precision") for x in s) if answers else None
    metrics["citation.recall"] = _mean(x.get("citation_recall") for x in s) if answers else None
    metrics.update(_abstention(pairs) if answers else dict.fromkeys(
        ("abstention.precision", "abstention.recall", "abstention.false_refusal_rate")))
    metrics["answer.correct"] = _mean(r.get("scores", {}).get("correct") for _, r in pairs) if answers else None
    latencies = [float(r["latency_ms"]) for _, r in pairs if r.get("latency_ms") is not None]
    metrics["latency_ms.p50"] = percentile(latencies, 50)
    metrics["latency_ms.p95"] = percentile(latencies, 95)
    metrics["prompt_tokens.mean"] = _mean(r.get("prompt_tokens") for _, r in pairs) if mode == "llm" else None
    metrics["judge.faithfulness"] = _mean(r.get("judge", {}).get("faithfulness") for _, r in pairs)
    metrics["judge.correctness"] = _mean(r.get("judge", {}).get("correctness") for _, r in pairs)
    metrics["questions"] = float(len(pairs))
    metrics["answerable"] = float(len(answerable))
    return metrics


def _abstention(pairs: Sequence[tuple[Question, Mapping[str, Any]]]) -> dict[str, float | None]:
    refused = [q for q, r in pairs if r.get("refused")]
    unanswerable = [q for q, _ in pairs if not q.answerable]
    answerable = len(pairs) - len(unanswerable)
    right = sum(1 for q in refused if not q.answerable)
    return {
        "abstention.precision": _ratio(right, len(refused)),
        "abstention.recall": _ratio(right, len(unanswerable)),
        "abstention.false_refusal_rate": _ratio(len(refused) - right, answerable),
    }


def summarize(pairs: Sequence[tuple[Question, Mapping[str, Any]]], mode: str) -> dict[str, Any]:
    """Overall metrics plus the same keys ``by_type`` and ``by_lang``."""
    def grouped(attr: str) -> dict[str, dict[str, float | None]]:
        keys = sorted({getattr(q, attr) for q, _ in pairs})
        return {k: aggregate([(q, r) for q, r in pairs if getattr(q, attr) == k], mode) for k in keys}

    return {"metrics": aggregate(pairs, mode), "by_type": grouped("type"), "by_lang": grouped("lang")}
