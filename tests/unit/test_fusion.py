"""Weighted RRF, diversity, confidence mapping and its fitting helpers."""

from __future__ import annotations

import pytest

from rag.retrieval.confidence import DEFAULT_CALIBRATION, auroc, confidence, fit_logistic
from rag.retrieval.fusion import fuse, limit_per_doc, linear_fuse, rrf_fuse
from rag.types import Chunk


def c(chunk_id: str, doc_id: str | None = None) -> Chunk:
    return Chunk(chunk_id, doc_id or chunk_id.split(":")[0], "t", "x", 0, 1, 0, "s")


def test_rrf_rewards_agreement_and_keeps_side_scores() -> None:
    keyword = [(c("a:0"), 0.9), (c("b:0"), 0.5), (c("c:0"), 0.1)]
    dense = [(c("b:0"), 0.8), (c("d:0"), 0.7)]
    hits = rrf_fuse(keyword, dense, rrf_k=60)
    assert [h.chunk.chunk_id for h in hits] == ["b:0", "a:0", "d:0", "c:0"]
    top = hits[0]
    assert top.score == pytest.approx(1 / 62 + 1 / 61)
    assert (top.keyword_score, top.dense_score, top.keyword_rank, top.dense_rank) == (0.5, 0.8, 2, 1)
    assert hits[1].dense_score is None and hits[1].dense_rank is None


def test_weights_shift_the_order() -> None:
    keyword = [(c("a:0"), 0.9)]
    dense = [(c("d:0"), 0.7)]
    assert rrf_fuse(keyword, dense, keyword_weight=0.25)[0].chunk.chunk_id == "d:0"
    assert rrf_fuse(keyword, dense, dense_weight=0.25)[0].chunk.chunk_id == "a:0"
    assert rrf_fuse(keyword, dense)[0].chunk.chunk_id == "a:0"  # tie: keyword side first


def test_one_empty_side_and_both_empty() -> None:
    assert [h.chunk.chunk_id for h in rrf_fuse([], [(c("x:0"), 0.3), (c("y:0"), 0.2)])] == ["x:0", "y:0"]
    assert rrf_fuse([], []) == []


def test_linear_keeps_score_margins_that_ranks_lose() -> None:
    """A passage far ahead on one side and barely behind on the other wins the weighted sum, while RRF
    (ranks only) calls it a tie and keeps the keyword side's order."""
    keyword = [(c("a:0"), 0.90), (c("b:0"), 0.88)]
    dense = [(c("b:0"), 0.86), (c("a:0"), 0.70)]
    assert [h.chunk.chunk_id for h in rrf_fuse(keyword, dense)] == ["a:0", "b:0"]
    hits = linear_fuse(keyword, dense, keyword_weight=1.0, dense_weight=2.0)
    assert [h.chunk.chunk_id for h in hits] == ["b:0", "a:0"]
    assert hits[0].score == pytest.approx(0.88 + 2 * 0.86)
    assert (hits[0].keyword_rank, hits[0].dense_rank, hits[0].keyword_score, hits[0].dense_score) == (2, 1, 0.88, 0.86)


def test_linear_gives_a_one_sided_passage_the_other_pools_lowest_score() -> None:
    keyword = [(c("a:0"), 0.6), (c("b:0"), 0.2)]
    dense = [(c("a:0"), 0.80), (c("x:0"), 0.90)]
    hits = {h.chunk.chunk_id: h for h in linear_fuse(keyword, dense, keyword_weight=1.0, dense_weight=2.0)}
    assert hits["x:0"].score == pytest.approx(0.2 + 2 * 0.90)  # keyword side's lowest, not zero
    assert hits["b:0"].score == pytest.approx(0.2 + 2 * 0.80)
    assert hits["x:0"].keyword_score is None and hits["x:0"].keyword_rank is None
    assert [h.chunk.chunk_id for h in linear_fuse([], dense, dense_weight=1.0)] == ["x:0", "a:0"]
    assert linear_fuse([], []) == []


def test_fuse_dispatches_by_name_and_refuses_an_unknown_method() -> None:
    keyword = [(c("a:0"), 0.90), (c("b:0"), 0.88)]
    dense = [(c("b:0"), 0.86), (c("a:0"), 0.70)]
    assert fuse("linear", keyword, dense, keyword_weight=1.0, dense_weight=2.0)[0].chunk.chunk_id == "b:0"
    assert fuse("rrf", keyword, dense, keyword_weight=1.0, dense_weight=2.0)[0].chunk.chunk_id == "b:0"
    assert fuse("rrf", keyword, dense, keyword_weight=1.0, dense_weight=1.0)[0].chunk.chunk_id == "a:0"
    with pytest.raises(ValueError, match="unknown fusion"):
        fuse("max", keyword, dense, keyword_weight=1.0, dense_weight=1.0)


def test_limit_per_doc() -> None:
    hits = rrf_fuse([(c("a:0"), 1.0), (c("a:1"), 0.9), (c("a:2"), 0.8), (c("b:0"), 0.7)], [])
    assert [h.chunk.chunk_id for h in limit_per_doc(hits, 2)] == ["a:0", "a:1", "b:0"]
    assert len(limit_per_doc(hits, 0)) == 4


def test_confidence_is_monotone_and_bounded() -> None:
    assert confidence(None, None) == 0.0
    low, high = confidence(0.05, 0.2), confidence(0.7, 0.6)
    assert 0.0 <= low < 0.5 < high <= 1.0
    assert confidence(0.3, None) < confidence(0.6, None)
    assert confidence(None, 0.2) < confidence(None, 0.7)
    assert set(DEFAULT_CALIBRATION) == {"both", "keyword", "dense"}


def test_fit_logistic_separates_and_auroc() -> None:
    features = [[0.1], [0.15], [0.2], [0.6], [0.7], [0.8]]
    labels = [0, 0, 0, 1, 1, 1]
    (w,), b = fit_logistic(features, labels)
    assert w > 0
    boundary = -b / w
    assert 0.2 < boundary < 0.6
    assert auroc([0.1, 0.2, 0.7, 0.9], [0, 0, 1, 1]) == 1.0
    assert auroc([0.9, 0.2], [0, 1]) == 0.0
    assert auroc([0.5, 0.5], [0, 1]) == 0.5


def test_dense_weight_backs_off_only_for_a_clear_keyword_match() -> None:
    from rag.retrieval.fusion import DENSE_FLOOR, dense_weight_for, keyword_clarity

    clear = keyword_clarity([0.8, 0.2, 0.15, 0.1])
    flat = keyword_clarity([0.12, 0.11, 0.1, 0.1])
    assert clear == 1.0 and flat < 0.15
    assert keyword_clarity([]) == 0.0
    assert dense_weight_for(1.0, clear) == pytest.approx(DENSE_FLOOR)
    assert dense_weight_for(2.0, flat) > 1.7
