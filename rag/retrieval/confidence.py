"""Retrieval confidence: "does the corpus answer this question?" as a number in [0, 1].

Signals (general, never per question):
* ``keyword``: the best keyword score, already divided by the query's maximum possible BM25 score
  (how much of the question's weight one passage covers; AUROC ~0.94 on the dev data, STACK-NOTES);
* ``dense``: the best cosine between the question and a passage.

They go through a logistic ``1 / (1 + exp(-(w_kw * keyword + w_dense * dense + bias)))``. The constants
are fitted by ``benchmarks/retrieval.py --fit`` (``fit_logistic`` below: plain logistic regression on
the answerable vs unanswerable questions of every dev suite, pooled, Arabic questions over the combined
index) and copied here. One set per available signal combination, since keyword-only or dense-only
searches see only one of them. The dense constants are fitted with the MiniLM test stand-in; re-fit
with ``--fit`` after changing the embedding model (cosine scales differ between models).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Calibration", "DEFAULT_CALIBRATION", "confidence", "fit_logistic", "auroc"]

Calibration = dict[str, tuple[float, float, float]]
"""signals -> (w_keyword, w_dense, bias); keys "both", "keyword", "dense"."""

DEFAULT_CALIBRATION: Calibration = {
    "both": (14.0, 4.0, -6.5),
    "keyword": (14.0, 0.0, -4.5),
    "dense": (0.0, 12.0, -5.0),
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
                 steps: int = 4000, lr: float = 0.5) -> tuple[list[float], float]:
    """Weights and bias of a logistic regression by gradient descent (small data; no extra dependency)."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        grad = p - y
        w -= lr * (x.T @ grad / len(y) + l2 * w)
        b -= lr * float(grad.mean())
    return [float(v) for v in w], float(b)


def auroc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))
