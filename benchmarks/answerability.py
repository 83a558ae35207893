"""Fit and measure the sentence-level answerability gate (``rag/generation/answerability.py``).

    python benchmarks/answerability.py [--embed-model DIR] [--write]

Data: every dev suite over its own corpus index (answerable and off-topic unanswerable questions), plus
near-miss questions (``near_miss.py``: the answer's sentences deleted from its article) over a copy of
the index where only those articles changed. Features come from the product's own ``sentence_features``;
labels from the gold answers (a sentence is positive when it contains one). The logistic is fitted on the
fit half (``near_miss.is_fit``), then the two thresholds (retrieval confidence, sentence score) are chosen
there to refuse the most unanswerables with at most 4% of answerables refused. Everything printed is
measured on the other half, through ``Answerer.ask(extractive=True)`` with the new profile.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import answerability_data as data  # noqa: E402
from answerability_data import Record  # noqa: E402
from answers import CachedRetriever, gold_in  # noqa: E402

from eval.metrics import contains  # noqa: E402
from rag.generation.answer import Answerer  # noqa: E402
from rag.generation.answerability import FEATURES, sentence_features  # noqa: E402
from rag.profile import PROFILES_DIR, ModelProfile, load_profile  # noqa: E402
from rag.prompts import PromptLibrary  # noqa: E402
from rag.retrieval.confidence import auroc, fit_logistic  # noqa: E402
from rag.settings import Settings  # noqa: E402

MAX_FALSE_REFUSALS = 0.04
PROFILE = "multilingual-e5-small"


def featurise(records: list[Record], embedder: Any) -> None:
    """Sentence features (the product's own ``sentence_features``) and labels (a sentence is positive
    when it contains a reference answer) of every record, stored in ``record.extra``."""
    for r in records:
        q = r.question
        spans, rows = sentence_features(q.question, r.result.hits, embedder, r.result.confidence)
        texts = [r.result.hits[i].chunk.text[a:b] for i, a, b, _ in spans]
        r.extra["features"] = rows
        r.extra["labels"] = [int(r.answerable and any(contains(t, alt) for part in q.parts for alt in part))
                             for t in texts]


def fit(records: list[Record], key: str) -> tuple[float, ...]:
    """Sentence-level logistic on the fit half's sentences (answerable: gold sentences positive)."""
    xs, ys = [], []
    for r in records:
        if r.fit and r.cross == (key == "cross"):
            xs.extend(r.extra["features"])
            ys.extend(r.extra["labels"])
    weights, bias = fit_logistic(xs, ys)
    return (*(round(w, 3) for w in weights), round(bias, 3))


def question_score(r: Record, weights: tuple[float, ...]) -> float:
    best = max((sum(w * x for w, x in zip(weights, row, strict=False)) + weights[-1] for row in r.extra["features"]),
               default=-60.0)
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, best))))


def thresholds(records: list[Record], weights: dict[str, tuple[float, ...]]) -> tuple[float, float]:
    """(refusal_threshold, answerability_threshold) refusing the most fit-half unanswerables while at
    most MAX_FALSE_REFUSALS of the fit-half answerables are refused by either gate."""
    rows = [(r.result.confidence, question_score(r, weights["cross" if r.cross else "same"]), r.answerable)
            for r in records if r.fit]
    best = (-1.0, 0.0, 0.0)
    for t1 in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.287):
        for t2 in [i / 100 for i in range(0, 96)]:
            refused = [(c < t1 or s < t2, a) for c, s, a in rows]
            false = sum(r for r, a in refused if a) / max(1, sum(a for _, a in refused))
            recall = sum(r for r, a in refused if not a) / max(1, sum(not a for _, a in refused))
            if false <= MAX_FALSE_REFUSALS and recall > best[0]:
                best = (recall, t1, t2)
    return best[1], best[2]


def report(records: list[Record], embedder: Any, profile: ModelProfile, label: str) -> None:
    """Extractive answers and refusals on the report half, through the product's Answerer."""
    cached = CachedRetriever()
    settings = Settings(ollama_host=data.NO_LLM)
    answerer = Answerer(cached, None, embedder, PromptLibrary(settings.prompts_dir), settings, profile=profile)
    table: dict[str, dict[str, int]] = {}
    for r in records:
        if r.fit:
            continue
        cached.results[r.question.question] = r.result
        answer = answerer.ask(r.question.question, extractive=True)
        cell = table.setdefault(f"{r.suite}/{r.origin}", {"n": 0, "refused": 0, "contains": 0, "quotes": 0})
        cell["n"] += 1
        cell["refused"] += answer.refused
        cell["contains"] += (not answer.refused) and r.answerable and gold_in(answer.answer, r.question)
        cell["quotes"] += len(answer.citations)
    print(f"\n{label}\n| suite / questions | n | refused % | answer contains % | quotes per answer |"
          "\n|---|---|---|---|---|")
    for name, c in sorted(table.items()):
        answered = max(1, c["n"] - c["refused"])
        print(f"| {name} | {c['n']} | {100 * c['refused'] / c['n']:.1f} | {100 * c['contains'] / c['n']:.1f}"
              f" | {c['quotes'] / answered:.2f} |")
    _pooled(table)


def _pooled(table: dict[str, dict[str, int]]) -> None:
    for origin in ("answerable", "off-topic", "near-miss"):
        for scope, english in (("Arabic", False), ("English", True)):
            cells = [c for n, c in table.items() if n.endswith("/" + origin) and n.startswith("xquad_en2ar") == english]
            n = sum(c["n"] for c in cells) or 1
            print(f"| {scope} {origin} (pooled) | {n} | {100 * sum(c['refused'] for c in cells) / n:.1f}"
                  f" | {100 * sum(c['contains'] for c in cells) / n:.1f} | |")


def write_profile(weights: dict[str, tuple[float, ...]], t1: float, t2: float) -> Path:
    """Read-modify-write of the profile: only the keys this benchmark fits are touched (others fit the
    fusion keys of the same file), and the file is read right before writing."""
    path = PROFILES_DIR / f"{PROFILE}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw.update({"answerability": {k: list(v) for k, v in weights.items()}, "answerability_threshold": t2,
                "refusal_threshold": t1})
    path.write_text(json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed-model", default=os.environ.get("SANAD_E5_DIR", "/tmp/e5"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--fresh", action="store_true", help="search and embed again (ignore the cache)")
    parser.add_argument("--write", action="store_true", help="store the fitted values in the model's profile")
    args = parser.parse_args()
    records, embedder, path = data.load(args.embed_model, args.limit, fresh=args.fresh)
    featurise(records, embedder)
    data.save(path, records, embedder)
    before = load_profile(PROFILE)
    weights = {key: fit(records, key) for key in ("same", "cross")}
    for key in ("same", "cross"):
        rs = [r for r in records if not r.fit and r.cross == (key == "cross")]
        labels = [r.answerable for r in rs]
        print(f"{key}: weights {dict(zip((*FEATURES, 'bias'), weights[key], strict=True))}; report-half AUROC "
              f"confidence {auroc([r.result.confidence for r in rs], labels):.3f}, "
              f"sentence gate {auroc([question_score(r, weights[key]) for r in rs], labels):.3f}")
    t1, t2 = thresholds(records, weights)
    after = replace(before, answerability=weights, answerability_threshold=t2, refusal_threshold=t1)
    print(f"fitted on the fit half: refusal_threshold {t1}, answerability_threshold {t2}")
    report(records, embedder, replace(before, answerability={}), f"before (profile {before.key}, confidence only)")
    report(records, embedder, after, "after (sentence gate)")
    if args.write:
        print(f"wrote {write_profile(weights, t1, t2)}")


if __name__ == "__main__":
    main()
