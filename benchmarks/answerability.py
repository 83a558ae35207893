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
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import near_miss  # noqa: E402
from answers import CachedRetriever, gold_in  # noqa: E402

from eval.metrics import contains  # noqa: E402
from eval.suite import Question, load_suite  # noqa: E402
from rag.generation.answer import Answerer  # noqa: E402
from rag.generation.answerability import FEATURES, sentence_features  # noqa: E402
from rag.profile import PROFILES_DIR, ModelProfile  # noqa: E402
from rag.retrieval.confidence import auroc, fit_logistic  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.wiring import build_service  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev"
BENCH = Path(os.environ.get("SANAD_BENCH_CACHE", Path(tempfile.gettempdir()) / "sanad-bench"))
CORPORA = {"corpus_xquad_ar": ("xquad_ar", "xquad_en2ar"), "corpus_arcd": ("arcd",),
           "corpus_mlqa_ar": ("mlqa_ar",), "corpus_tydiqa_ar": ("tydiqa_ar",)}
MAX_FALSE_REFUSALS = 0.04


class CachingEmbedder:
    """The service's embedder with a memo per text: the same sentences recur across questions."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_name, self.backend, self.dim, self.max_tokens = inner.model_name, inner.backend, inner.dim, inner.max_tokens
        self.memo: dict[tuple[str, str], list[float]] = {}

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        todo = [t for t in dict.fromkeys(texts) if ("p", t) not in self.memo]
        for t, v in zip(todo, self.inner.embed_passages(todo) if todo else [], strict=True):
            self.memo[("p", t)] = v
        return [self.memo[("p", t)] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        if ("q", text) not in self.memo:
            self.memo[("q", text)] = self.inner.embed_query(text)
        return self.memo[("q", text)]

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def signature(self) -> dict[str, Any]:
        return dict(self.inner.signature())


def services(corpus: str, model: str, split: near_miss.Split) -> tuple[Any, Any]:
    """The own-corpus index (shared with benchmarks/answers.py) and its near-miss copy."""
    base = BENCH / "answers" / f"{corpus}-{Path(model).name}"
    holed = BENCH / "answerability" / f"{corpus}-{Path(model).name}"
    docs = BENCH / "answerability" / f"{corpus}-docs"
    original = build_service(Settings(data_dir=base, embed_model=model, ollama_host="http://127.0.0.1:9"), load_llm=False)
    original.ingest([DEV / corpus])
    if not holed.exists():
        shutil.copytree(base, holed)
    docs.mkdir(parents=True, exist_ok=True)
    for doc_id, text in split.docs.items():
        (docs / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    changed = build_service(Settings(data_dir=holed, embed_model=model, ollama_host="http://127.0.0.1:9"), load_llm=False)
    changed.ingest([docs])
    return original, changed


def record(service: Any, embedder: CachingEmbedder, q: Question, suite: str, origin: str) -> dict[str, Any]:
    """One question's search result, sentence features and sentence labels."""
    result = service.search(q.question, k=5)
    spans, rows = sentence_features(q.question, result.hits, embedder, result.confidence)
    texts = [result.hits[i].chunk.text[a:b] for i, a, b, _ in spans]
    labels = [int(q.answerable and any(contains(t, alt) for part in q.parts for alt in part)) for t in texts]
    return {"id": q.id, "suite": suite, "origin": origin, "fit": near_miss.is_fit(q.id), "q": q, "result": result,
            "cross": suite.endswith("en2ar"), "confidence": result.confidence, "features": rows, "labels": labels}


def collect(model: str, limit: int | None) -> tuple[list[dict[str, Any]], CachingEmbedder, Any]:
    records: list[dict[str, Any]] = []
    embedder = service = None
    for corpus, suites in CORPORA.items():
        read = {p.stem: p.read_text(encoding="utf-8") for p in (DEV / corpus).glob("*.txt")}
        for suite in suites:
            questions = load_suite(DEV / f"{suite}.jsonl", limit=limit)
            split = near_miss.build_split(questions, read)
            original, changed = services(corpus, model, split)
            embedder = embedder or CachingEmbedder(original.embedder)
            service = original
            for q in questions:
                records.append(record(original, embedder, q, suite, "off-topic" if not q.answerable else "answerable"))
            for q in split.questions:
                if split.origin[q.id] == "near-miss":
                    records.append(record(changed, embedder, q, suite, "near-miss"))
            print(f"{suite}: {len(records)} records so far", file=sys.stderr)
    return records, embedder, service  # type: ignore[return-value]


def fit(records: list[dict[str, Any]], key: str) -> tuple[float, ...]:
    """Sentence-level logistic on the fit half's sentences (answerable: gold sentences positive)."""
    xs, ys = [], []
    for r in records:
        if r["fit"] and r["cross"] == (key == "cross"):
            xs.extend(r["features"])
            ys.extend(r["labels"])
    weights, bias = fit_logistic(xs, ys)
    return (*(round(w, 3) for w in weights), round(bias, 3))


def question_score(r: dict[str, Any], weights: tuple[float, ...]) -> float:
    import math

    best = max((sum(w * x for w, x in zip(weights, row, strict=False)) + weights[-1] for row in r["features"]),
               default=-60.0)
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, best))))


def thresholds(records: list[dict[str, Any]], weights: dict[str, tuple[float, ...]]) -> tuple[float, float]:
    """(refusal_threshold, answerability_threshold) refusing the most fit-half unanswerables while at
    most MAX_FALSE_REFUSALS of the fit-half answerables are refused by either gate."""
    rows = [(r["confidence"], question_score(r, weights["cross" if r["cross"] else "same"]), r["origin"] == "answerable")
            for r in records if r["fit"]]
    best = (-1.0, 0.0, 0.0)
    for t1 in (0.1, 0.15, 0.2, 0.25, 0.287):
        for t2 in [i / 100 for i in range(0, 96)]:
            refused = [(c < t1 or s < t2, a) for c, s, a in rows]
            false = sum(r for r, a in refused if a) / max(1, sum(a for _, a in refused))
            recall = sum(r for r, a in refused if not a) / max(1, sum(not a for _, a in refused))
            if false <= MAX_FALSE_REFUSALS and recall > best[0]:
                best = (recall, t1, t2)
    return best[1], best[2]


def report(records: list[dict[str, Any]], embedder: Any, service: Any, profile: ModelProfile, label: str) -> None:
    """Extractive answers and refusals on the report half, through the product's Answerer."""
    cached = CachedRetriever()
    answerer = Answerer(cached, None, embedder, service.answerer.prompts, Settings(), profile=profile)
    table: dict[str, dict[str, int]] = {}
    for r in records:
        if r["fit"]:
            continue
        cached.results[r["q"].question] = r["result"]
        answer = answerer.ask(r["q"].question, extractive=True)
        cell = table.setdefault(f"{r['suite']}/{r['origin']}", {"n": 0, "refused": 0, "contains": 0, "quotes": 0})
        cell["n"] += 1
        cell["refused"] += answer.refused
        cell["contains"] += (not answer.refused) and r["origin"] == "answerable" and gold_in(answer.answer, r["q"])
        cell["quotes"] += len(answer.citations)
    print(f"\n{label}\n| suite / questions | n | refused | answer contains | quotes per answer |\n|---|---|---|---|---|")
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
            print(f"{scope} {origin}: n={n} refused {100 * sum(c['refused'] for c in cells) / n:.1f}%"
                  f" answer contains {100 * sum(c['contains'] for c in cells) / n:.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed-model", default=os.environ.get("SANAD_E5_DIR", "/tmp/e5"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--write", action="store_true", help="store the fitted values in the model's profile")
    args = parser.parse_args()
    records, embedder, service = collect(args.embed_model, args.limit)
    before = service.answerer.profile
    weights = {key: fit(records, key) for key in ("same", "cross")}
    for key in ("same", "cross"):
        rs = [r for r in records if not r["fit"] and r["cross"] == (key == "cross")]
        labels = [r["origin"] == "answerable" for r in rs]
        print(f"{key}: weights {dict(zip((*FEATURES, 'bias'), weights[key], strict=True))}; report-half AUROC "
              f"confidence {auroc([r['confidence'] for r in rs], labels):.3f}, "
              f"sentence gate {auroc([question_score(r, weights[key]) for r in rs], labels):.3f}")
    t1, t2 = thresholds(records, weights)
    after = replace(before, answerability=weights, answerability_threshold=t2, refusal_threshold=t1)
    print(f"fitted on the fit half: refusal_threshold {t1}, answerability_threshold {t2}")
    report(records, embedder, service, replace(before, answerability={}), f"before (profile {before.key}, confidence only)")
    report(records, embedder, service, after, "after (sentence gate)")
    if args.write:
        path = PROFILES_DIR / f"{before.key}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        data.update({"answerability": {k: list(v) for k, v in weights.items()}, "answerability_threshold": t2,
                     "refusal_threshold": t1})
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
