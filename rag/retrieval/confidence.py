"""Retrieval confidence: "does the corpus answer this question?" as a number in [0, 1].

Signals (general, never per question):
* ``keyword``: the best keyword score, already divided by the query's maximum possible BM25 score
  (how much of the question's weight one passage covers; AUROC ~0.94 on the dev data, STACK-NOTES);
* ``dense``: the best cosine between the question and a passage.

They go through a logistic ``1 / (1 + exp(-(w_kw * keyword + w_dense * dense + bias)))``, one set of
constants per available signal combination (keyword-only installs and dense-only searches see one).
How they were fitted (``benchmarks/retrieval.py --fit``; ``fit_logistic`` below, class-balanced so 0.5
is even odds): every dev suite against its OWN corpus index (on the combined index the "unanswerable"
questions, drawn from sibling datasets, are often answered by another corpus), Arabic suites pooled
(1,314 answerable / 146 unanswerable) for "keyword" and "both"; the cross-lingual suite for "dense".
Results: keyword AUROC 0.933; at the default refusal threshold 0.25, 65% of unanswerable and 3% of
answerable questions are refused. With the MiniLM stand-in the dense cosine carries no signal on Arabic
(AUROC 0.51; fitted weight slightly negative), so "both" uses the keyword term alone until re-fitted
with the multilingual model (cosine scales differ between models); "dense" (AUROC 0.71, English
questions over Arabic articles) is fitted on MiniLM too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Calibration", "DEFAULT_CALIBRATION", "confidence", "fit_logistic", "auroc"]

Calibration = dict[str, tuple[float, float, float]]
"""signals -> (w_keyword, w_dense, bias); keys "both", "keyword", "dense"."""

DEFAULT_CALIBRATION: Calibration = {
    "both": (10.32, 0.0, -2.66),
    "keyword": (10.32, 0.0, -2.66),
    "dense": (0.0, 5.9, -1.92),
}


def confidence(keyword: float | None, dense: float | None, calibration: Calibration | None = None) -> float:
    """Map the available signals to [0, 1]; 0 when neither retriever found anything."""
    table = calibration or DEFAULT_CALIBRATION
    if keyword is None and dense is None:
        return 0.0
    key = "both" if keyword is not None and dense is not None else ("keyword" if keyword is not None else "dense")
    w_kw, w_dense, bias = table[key]
    z = w_kw * (keyword or 0.0) + w_dense * (dense or 0.0) + bias
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def fit_logistic(features: Sequence[Sequence[float]], labels: Sequence[int], *, l2: float = 1e-3,
                 steps: int = 50, balanced: bool = True) -> tuple[list[float], float]:
    """Weights and bias of a logistic regression (Newton steps; small data, no extra dependency).

    ``balanced`` weighs both classes equally, so 0.5 is the even-odds point whatever the share of
    unanswerable questions in the fitting data (about 10% on the dev suites)."""
    x = np.hstack([np.asarray(features, dtype=np.float64), np.ones((len(labels), 1))])
    y = np.asarray(labels, dtype=np.float64)
    pos = max(float(y.sum()), 1.0)
    neg = max(float(len(y) - y.sum()), 1.0)
    weight = np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * neg)) if balanced else np.ones(len(y))
    beta = np.zeros(x.shape[1])
    ridge = l2 * np.eye(x.shape[1])
    ridge[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        grad = x.T @ (weight * (p - y)) / len(y) + ridge @ beta
        hess = (x * (weight * p * (1 - p))[:, None]).T @ x / len(y) + ridge
        step = np.linalg.solve(hess + 1e-9 * np.eye(x.shape[1]), grad)
        beta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return [float(v) for v in beta[:-1]], float(beta[-1])


def auroc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))
