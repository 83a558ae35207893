"""Run `sanad eval` (extractive and retrieval-only) on every dev suite and print one markdown table.

Usage: python benchmarks/eval_dev.py [--every K] [--limit N] [--workers N] [--out DIR] [--embed-model NAME_OR_DIR]
--every K keeps every K-th question (a spread sample: the suites end with their unanswerables, so --limit
alone would drop them all).
The dev data is looked up beside the repository: ../shared/eval/dev/. Each suite's corpus is ingested
into its own cached eval collection under the data dir, so a second run costs no embedding.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "dev"
SUITES = {
    "xquad_ar": "corpus_xquad_ar",
    "xquad_en2ar": "corpus_xquad_ar",
    "arcd": "corpus_arcd",
    "mlqa_ar": "corpus_mlqa_ar",
    "tydiqa_ar": "corpus_tydiqa_ar",
}
COLUMNS = ("retrieval.doc_hit@1", "retrieval.doc_hit@5", "retrieval.mrr@10", "retrieval.paragraph_hit@5",
           "context.answer_recall", "answer.contains", "answer.f1", "abstention.recall",
           "abstention.false_refusal_rate", "latency_ms.p50", "latency_ms.p95")


def _sample(suite: Path, every: int, out: Path) -> Path:
    """Every ``every``-th line of the suite, written beside the outputs (the suite itself when 1)."""
    if every <= 1:
        return suite
    lines = suite.read_text(encoding="utf-8").splitlines()[::every]
    path = out / f"{suite.stem}.every{every}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--every", type=int, default=1, help="keep every K-th question of each suite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/tmp/sanad-eval-dev"))
    parser.add_argument("--embed-model", default=None, help="default: the configured SANAD_EMBED_MODEL")
    parser.add_argument("--modes", default="extractive,retrieval")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from eval.report import format_metric
    from eval.session import run_eval
    from rag.settings import load_settings

    overrides = {"embed_model": args.embed_model} if args.embed_model else {}
    settings = load_settings(**overrides)
    print(f"embed model: {settings.embed_model} · data dir: {settings.data_dir} · every: {args.every} · "
          f"limit: {args.limit}")
    print("| suite | mode | n | " + " | ".join(COLUMNS) + " | seconds |")
    print("|---|---|---|" + "---|" * (len(COLUMNS) + 1))
    for suite, corpus in SUITES.items():
        for mode in args.modes.split(","):
            start = time.perf_counter()
            sample = _sample(DEV / f"{suite}.jsonl", args.every, args.out)
            outcome = run_eval(settings, sample, args.out / f"{suite}-{mode}", corpus=DEV / corpus, mode=mode,
                               workers=args.workers, limit=args.limit)  # type: ignore[arg-type]
            m = outcome.summary["metrics"]
            cells = " | ".join(format_metric(m.get(c), c) for c in COLUMNS)
            print(f"| {suite} | {mode} | {len(outcome.rows)} | {cells} | {time.perf_counter() - start:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
