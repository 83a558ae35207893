"""Fit one embedding model's profile (``rag/profiles/<key>.json``) on the dev suites.

    python benchmarks/fit_profile.py [--embed-model DIR] [--write]

Each question's keyword and dense candidate lists are read once from the combined index (built by
``benchmarks/retrieval.py``'s cached pipeline), then fusion constants are chosen by grid search on the
odd-numbered questions of every suite and reported on the even-numbered ones (fit and report apart).
The confidence logistic and the refusal threshold are fitted on the own-corpus indexes of the odd
questions: the threshold is the highest one that keeps false refusals of answerable questions <= 4%.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retrieval as bench  # noqa: E402

from rag import arabic  # noqa: E402
from rag.profile import PROFILES_DIR, load_profile, profile_key  # noqa: E402
from rag.retrieval.confidence import auroc, confidence, fit_logistic  # noqa: E402
from rag.retrieval.fusion import dense_weight_for, fuse, keyword_clarity  # noqa: E402

#: per fusion method, the values tried (a weighted sum adds raw cosines, so its dense weights are larger)
GRIDS = {
    "rrf": {"dense_floor": (0.0, 0.25, 0.5, 0.75, 1.0), "clear_keyword_gap": (0.1, 0.15, 0.25),
            "untranslated_keyword_factor": (0.0, 0.1, 0.25), "dense_weight": (0.75, 1.0, 1.5)},
    "linear": {"dense_floor": (0.25, 0.5, 1.0), "clear_keyword_gap": (0.15, 0.25, 0.4),
               "untranslated_keyword_factor": (0.0, 0.05, 0.1, 0.25), "dense_weight": (1.0, 1.5, 2.0, 2.5, 3.0, 4.0)},
}
FITTED = ("fusion", *GRIDS["rrf"])


def candidates(service: Any, suites: list[str]) -> list[dict[str, Any]]:
    """Per question: suite, index, gold docs, keyword and dense lists (chunk doc id, score)."""
    rows = []
    for suite in suites:
        lines = (bench.DEV / f"{suite}.jsonl").read_text(encoding="utf-8").splitlines()
        for i, q in enumerate(json.loads(line) for line in lines if line.strip()):
            kw = service.retriever.keyword.search(q["question"], 40, None)
            dense = service.store.query(service.retriever.embedder.embed_query(q["question"]), 40, None)
            rows.append({"suite": suite, "i": i, "gold": set(q["sources"]),
                         "answerable": q["type"] != "unanswerable" and bool(q["sources"]),
                         "cross": arabic.detect_language(q["question"]) != "ar", "kw": kw, "dense": dense})
    return rows


def fused_top(row: dict[str, Any], p: dict[str, Any]) -> list[str]:
    """The product's fusion (rag/retrieval/fusion.py), as HybridRetriever._rank applies it."""
    kw_weight = p["untranslated_keyword_factor"] if row["cross"] else 1.0
    trusted = bool(row["kw"]) and not row["cross"]
    clarity = keyword_clarity([s for _, s in row["kw"]], p["clear_keyword_gap"]) if trusted else 0.0
    hits = fuse(p["fusion"], row["kw"], row["dense"], keyword_weight=kw_weight,
                dense_weight=dense_weight_for(p["dense_weight"], clarity, p["dense_floor"]))
    return [h.chunk.doc_id for h in hits[:5]]


def score(rows: list[dict[str, Any]], p: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """suite -> (doc hit@1, doc hit@5), plus "pooled" over the Arabic suites."""
    acc: dict[str, list[int]] = {}
    for row in rows:
        if not row["answerable"]:
            continue
        top = fused_top(row, p)
        for key in (row["suite"], "pooled" if not row["cross"] else "cross"):
            a = acc.setdefault(key, [0, 0, 0])
            a[0] += 1
            a[1] += bool(top) and top[0] in row["gold"]
            a[2] += any(d in row["gold"] for d in top)
    return {k: (v[1] / v[0], v[2] / v[0]) for k, v in acc.items()}


def objective(s: dict[str, tuple[float, float]]) -> float:
    return sum(s["pooled"]) + sum(s.get("cross", (0.0, 0.0)))


def fit_fusion(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The method and constants with the best objective on the odd-numbered questions."""
    fit_rows = [r for r in rows if r["i"] % 2 == 1]
    best: tuple[float, dict[str, Any]] | None = None
    trials = [{"fusion": method, **dict(zip(grid, values, strict=True))}
              for method, grid in GRIDS.items() for values in itertools.product(*grid.values())]
    for p in trials:
        o = objective(score(fit_rows, p))
        if best is None or o > best[0] + 1e-9:
            best = (o, p)
    assert best is not None
    return best[1]


def fit_confidence(own: dict[tuple[str, str], Any]) -> tuple[dict[str, list[float]], float, dict[str, float]]:
    """Logistic per signal set on odd questions; threshold keeping false refusals <= 4% there."""
    calib: dict[str, list[float]] = {}
    rows = [(f, y, s) for (suite, mode), acc in own.items() if mode == "hybrid"
            for j, (f, y) in enumerate(zip(acc.features, acc.labels, strict=True)) if j % 2 == 1
            for s in [suite]]
    for name, pick, arabic_only in (("both", lambda f: [f[0] or 0.0, f[1] or 0.0], True),
                                    ("keyword", lambda f: [f[0] or 0.0], True),
                                    ("dense", lambda f: [f[1] or 0.0], False)):
        part = [(f, y) for f, y, s in rows if (s != "xquad_en2ar") == arabic_only]
        weights, bias = fit_logistic([pick(f) for f, _ in part], [y for _, y in part])
        calib[name] = ([*weights, 0.0] if name == "keyword" else [0.0, *weights] if name == "dense"
                       else weights) + [bias]
    confs = [(confidence(f[0], f[1], {k: tuple(v) for k, v in calib.items()}), y)  # type: ignore[misc]
             for f, y, s in rows if s != "xquad_en2ar"]
    answerable = sorted(c for c, y in confs if y)
    threshold = answerable[int(0.04 * len(answerable))] if answerable else 0.3
    refused = sum(c < threshold for c, y in confs if not y) / max(1, sum(1 for _, y in confs if not y))
    return calib, round(threshold, 3), {"refusal_recall_fit": round(refused, 3),
                                        "auroc_fit": round(auroc([c for c, _ in confs], [y for _, y in confs]), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed-model", default=os.environ.get("SANAD_E5_DIR"))
    parser.add_argument("--write", action="store_true", help="write rag/profiles/<key>.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = args.embed_model or str(bench.minilm_dir())
    suites = list(bench.SUITES)
    vectors: tuple[dict, dict] = ({}, {})
    own: dict[tuple[str, str], Any] = {}
    for corpus in dict.fromkeys(bench.SUITES.values()):
        service = bench.build_index(corpus, [corpus], vectors, False, model)
        own.update(bench.evaluate(service, [s for s in suites if bench.SUITES[s] == corpus], ["hybrid"]))
    combined = bench.build_index("combined", sorted(set(bench.SUITES.values())), vectors, False, model)
    rows = candidates(combined, suites)
    key = profile_key(model, combined.embedder.signature())
    old = load_profile(key)
    params = fit_fusion(rows)
    held = [r for r in rows if r["i"] % 2 == 0]
    for name, p in (("previous", {k: getattr(old, k) for k in FITTED}), ("fitted", params)):
        print(name, p, {k: (round(a, 3), round(b, 3)) for k, (a, b) in sorted(score(held, p).items())})
    calib, threshold, stats = fit_confidence(own)
    print("calibration", calib, "refusal threshold", threshold, stats)
    if args.write:
        profile = {**old.to_json(), **params, "key": key, "calibration": calib, "refusal_threshold": threshold,
                   "fitted_on": f"benchmarks/fit_profile.py ({combined.embedder.signature()}): fusion grid and "
                                "calibration on the odd-numbered dev questions (xquad_ar, xquad_en2ar, arcd, mlqa_ar, "
                                "tydiqa_ar), combined and own-corpus indexes; answerability weights and both "
                                "thresholds: benchmarks/answerability.py"}
        (PROFILES_DIR / f"{key}.json").write_text(json.dumps(profile, indent=2, ensure_ascii=False) + "\n")
        print("wrote", PROFILES_DIR / f"{key}.json")


if __name__ == "__main__":
    main()
