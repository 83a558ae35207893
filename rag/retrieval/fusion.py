"""Fusion of the keyword and dense lists (weighted reciprocal ranks, or a weighted sum of scores) and
per-article diversity.

RRF only looks at ranks, so BM25 scores and cosines never need a common scale: it is what a model
without a fitted profile gets. A weighted sum of the scores keeps how much better the best passage is
than the next, which ranks throw away; it is only safe where the weights were fitted for the model's
score range (``rag/profiles/*.json``: ``"fusion": "linear"``). Measured with multilingual-e5-small on
the dev suites (combined index, 1,314 Arabic questions): doc hit@1 .916 with adaptive RRF, .938 with
keyword + 2 x cosine (``benchmarks/fit_profile.py``). The weights let a side that is known to be weak
for this question (keyword side on an untranslated cross-lingual question) count less.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.types import Chunk, Hit

__all__ = ["rrf_fuse", "linear_fuse", "fuse", "limit_per_doc", "keyword_clarity", "dense_weight_for",
           "CLEAR_KEYWORD_GAP", "DENSE_FLOOR"]

#: a keyword top score this far (in max-score units) above the mean of its pool is a clear lexical match
CLEAR_KEYWORD_GAP = 0.15
#: the dense list never counts less than this share of its configured weight
DENSE_FLOOR = 0.0


def rrf_fuse(
    keyword: Sequence[tuple[Chunk, float]],
    dense: Sequence[tuple[Chunk, float]],
    *,
    keyword_weight: float = 1.0,
    dense_weight: float = 1.0,
    rrf_k: int = 60,
) -> list[Hit]:
    """Fuse two ranked lists into hits sorted by sum of weight / (rrf_k + rank), rank starting at 1.

    Ties keep the keyword side's order first (it is the stronger retriever on Arabic)."""
    table: dict[str, dict[str, Any]] = {}
    for side, ranked, weight in (("keyword", keyword, keyword_weight), ("dense", dense, dense_weight)):
        for rank, (chunk, score) in enumerate(ranked, start=1):
            entry = table.setdefault(chunk.chunk_id, {"chunk": chunk, "score": 0.0, "order": len(table)})
            entry["score"] = float(entry["score"]) + weight / (rrf_k + rank)
            entry[f"{side}_score"] = score
            entry[f"{side}_rank"] = rank
    ordered = sorted(table.values(), key=lambda e: (-float(e["score"]), int(e["order"])))
    return [
        Hit(
            chunk=e["chunk"],
            score=float(e["score"]),
            keyword_score=e.get("keyword_score"),
            dense_score=e.get("dense_score"),
            keyword_rank=e.get("keyword_rank"),
            dense_rank=e.get("dense_rank"),
        )
        for e in ordered
    ]


def linear_fuse(
    keyword: Sequence[tuple[Chunk, float]],
    dense: Sequence[tuple[Chunk, float]],
    *,
    keyword_weight: float = 1.0,
    dense_weight: float = 1.0,
) -> list[Hit]:
    """Hits sorted by ``keyword_weight * keyword score + dense_weight * cosine``.

    Keyword scores are already on a fixed scale (divided by the question's maximum possible score), so
    only the model's cosine range needs fitting. A passage only one side found gets the other side's
    lowest pool score: it fell outside that pool, so this bounds what it would have scored."""
    kw_scores = {chunk.chunk_id: score for chunk, score in keyword}
    dense_scores = {chunk.chunk_id: score for chunk, score in dense}
    kw_floor = min(kw_scores.values(), default=0.0)
    dense_floor = min(dense_scores.values(), default=0.0)
    ranks = {side: {chunk.chunk_id: rank for rank, (chunk, _) in enumerate(ranked, start=1)}
             for side, ranked in (("keyword", keyword), ("dense", dense))}
    chunks = {chunk.chunk_id: chunk for chunk, _ in (*keyword, *dense)}
    scored = [(keyword_weight * kw_scores.get(cid, kw_floor) + dense_weight * dense_scores.get(cid, dense_floor),
               order, chunk) for order, (cid, chunk) in enumerate(chunks.items())]
    scored.sort(key=lambda row: (-row[0], row[1]))
    return [Hit(chunk=chunk, score=float(score), keyword_score=kw_scores.get(chunk.chunk_id),
                dense_score=dense_scores.get(chunk.chunk_id), keyword_rank=ranks["keyword"].get(chunk.chunk_id),
                dense_rank=ranks["dense"].get(chunk.chunk_id))
            for score, _, chunk in scored]


def fuse(method: str, keyword: Sequence[tuple[Chunk, float]], dense: Sequence[tuple[Chunk, float]], *,
         keyword_weight: float, dense_weight: float, rrf_k: int = 60) -> list[Hit]:
    """The profile's fusion method by name (``"linear"`` or ``"rrf"``)."""
    if method == "linear":
        return linear_fuse(keyword, dense, keyword_weight=keyword_weight, dense_weight=dense_weight)
    if method == "rrf":
        return rrf_fuse(keyword, dense, keyword_weight=keyword_weight, dense_weight=dense_weight, rrf_k=rrf_k)
    raise ValueError(f"unknown fusion method {method!r} (expected 'linear' or 'rrf')")


def limit_per_doc(hits: Sequence[Hit], max_per_doc: int) -> list[Hit]:
    """Keep at most ``max_per_doc`` hits of each article (0 = no limit), preserving order."""
    if max_per_doc <= 0:
        return list(hits)
    seen: dict[str, int] = {}
    kept: list[Hit] = []
    for hit in hits:
        count = seen.get(hit.chunk.doc_id, 0)
        if count < max_per_doc:
            kept.append(hit)
            seen[hit.chunk.doc_id] = count + 1
    return kept


def keyword_clarity(scores: Sequence[float], gap: float = CLEAR_KEYWORD_GAP) -> float:
    """How clearly the keyword side singled out its best passage, in [0, 1]: the top normalised score's
    lead over the mean of the rest of the pool, relative to ``CLEAR_KEYWORD_GAP``."""
    if not scores:
        return 0.0
    rest = scores[1:]
    lead = scores[0] - (sum(rest) / len(rest) if rest else 0.0)
    return max(0.0, min(1.0, lead / gap))


def dense_weight_for(base: float, clarity: float, floor: float = DENSE_FLOOR) -> float:
    """Dense weight for one question: full when the keyword side is unsure (paraphrase, another language),
    down to ``DENSE_FLOOR`` when it found a clear lexical match, so a weak embedder cannot bury it.

    Measured on the dev suites (combined index, MiniLM stand-in): paragraph hit@5 pooled over all five
    suites 1,398 of 1,678 vs 1,339 with fixed weights and 1,362 keyword-only (a 0.2 gap / 0.1 floor gave
    1,394); see benchmarks/retrieval.py."""
    return base * max(floor, 1.0 - clarity)
