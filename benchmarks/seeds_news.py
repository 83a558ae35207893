"""The seeds suite among 3,000 news distractors: the five sample articles hidden in one index with the
ANT news articles, the whole suite asked in extractive mode (no LLM), and one markdown table.

    python benchmarks/seeds_news.py [--embed-model DIR] [--suite eval/suites/seeds.jsonl] [--build-only]
                                    [--indexes news,alone] [--news DIR] [--seeds DIR] [--out DIR] [--workers N]

The index is built once through the real pipeline (``rag.wiring.build_service``: cleaning, chunking,
embedding, embedded Chroma, BM25) from ``../shared/eval/dev/corpus_news_dev`` (3,000 articles) plus
``data/articles`` (the five seeds), and cached under ``$SANAD_BENCH_CACHE`` (default
``/tmp/sanad-bench``) ``/seeds_news``; a later run re-ingests incrementally (nothing to embed) and reports
the first build's ingest time and chunk count, kept in ``build.json`` beside the index. The five seeds alone
get their own small cached index for comparison (``--indexes news`` skips it).

Questions are scored by the project's eval runner (``eval.session.run_eval`` with ``use_index=True``, the
same code as ``sanad eval --use-index --extractive``), into a fresh output folder per run; the metrics are
those of docs/eval.md: document hit@1 and hit@5 (answerable questions), ``answer.contains`` (the reference
in the extractive answer), refusal recall (unanswerables refused) and false refusals (answerables refused).
Rows: per question type, Arabic and English questions, all. Misses are listed below the table.

The distractors are the ANT corpus v1.1 (Arabic news, Jawhara FM, 2016–2017, Apache-2.0): A. Chouigui,
O. Ben Khiroun, B. Elayeb, "ANT Corpus: An Arabic News Text Collection for Textual Classification", IEEE/ACS
AICCSA 2017 (github.com/antcorpus/antcorpus.data).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NEWS = ROOT.parent / "shared" / "eval" / "dev" / "corpus_news_dev"
SEEDS = ROOT / "data" / "articles"
SUITE = ROOT / "eval" / "suites" / "seeds.jsonl"
CACHE = Path(os.environ.get("SANAD_BENCH_CACHE", Path(tempfile.gettempdir()) / "sanad-bench"))

sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from eval.report import format_metric  # noqa: E402
from eval.session import run_eval  # noqa: E402
from rag.settings import Settings, load_settings  # noqa: E402
from rag.wiring import build_service  # noqa: E402

#: (column title, summary metric key)
COLUMNS = (
    ("n", "questions"),
    ("doc hit@1", "retrieval.doc_hit@1"),
    ("doc hit@5", "retrieval.doc_hit@5"),
    ("answer contains", "answer.contains"),
    ("refusal recall", "abstention.recall"),
    ("false refusals", "abstention.false_refusal_rate"),
)
TYPES = ("single", "multi", "variant", "crosslingual", "unanswerable")
#: issue 10's bars: (label, group, metric key, bar, higher is better); group "ar"/"en" = by_lang, "all" = overall
BARS = (
    ("Arabic doc hit@1", "ar", "retrieval.doc_hit@1", 0.93, True),
    ("Arabic doc hit@5", "ar", "retrieval.doc_hit@5", 0.98, True),
    ("English doc hit@1", "en", "retrieval.doc_hit@1", 0.80, True),
    ("English doc hit@5", "en", "retrieval.doc_hit@5", 0.95, True),
    ("Arabic answer contains (extractive)", "ar", "answer.contains", 0.85, True),
    ("refusal recall", "all", "abstention.recall", 0.80, True),
    ("false refusals", "all", "abstention.false_refusal_rate", 0.05, False),
)


def commit() -> str:
    """The checked-out commit (with ``+dirty`` when tracked files differ from it)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def build_index(name: str, corpora: list[Path], embed_model: str,
                chunking: dict[str, int]) -> tuple[Settings, dict[str, Any]]:
    """Ingest ``corpora`` into the cached index ``name`` (incremental); the first build's numbers are kept."""
    suffix = f"-c{chunking['chunk_size']}-{chunking['chunk_overlap']}" if chunking else ""
    data_dir = CACHE / (name + suffix)  # one folder per chunking: the index records it and refuses another
    overrides: dict[str, Any] = {"data_dir": data_dir, "collection": name, "embed_model": embed_model, **chunking}
    settings = load_settings(None, **overrides)
    meta_path = data_dir / "build.json"
    service = build_service(settings, load_llm=False)
    if service.embedder is None:
        raise SystemExit(f"no embedding model loaded ({service.embed_error}): the benchmark needs {embed_model}")
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 30 or done == total:
            last[0] = now
            print(f"  [{name}] {stage} {done}/{total}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    report = service.ingest(corpora, progress=progress)
    seconds = time.perf_counter() - started
    if report.failed:
        for failure in report.failed:
            print(f"  [{name}] skipped {failure.path}: {failure.error}", file=sys.stderr)
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    if report.chunks_embedded or not meta:
        meta = {"ingest_seconds": round(seconds + meta.get("ingest_seconds", 0.0), 1),
                "chunks_embedded": report.chunks_embedded + meta.get("chunks_embedded", 0),
                "commit": commit(), "embed_model": service.embed_model}
    chunk_settings = service.ingestor.settings  # type: ignore[attr-defined]
    meta.update(documents=len(service.documents()), chunks=service.store.count_chunks(),
                chunking=f"{chunk_settings.chunk_size}/{chunk_settings.chunk_overlap} tokens", data_dir=str(data_dir),
                last_ingest_seconds=round(seconds, 1), last_ingest=report.to_dict())
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return settings, meta


def table(summary: dict[str, Any]) -> list[str]:
    lines = ["| questions | " + " | ".join(title for title, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    groups = [(t, summary["by_type"][t]) for t in TYPES if t in summary["by_type"]]
    groups += [(f"lang={lang}", m) for lang, m in sorted(summary["by_lang"].items())]
    groups.append(("**all**", summary["metrics"]))
    for label, metrics in groups:
        cells = [str(int(metrics["questions"]))] + [format_metric(metrics.get(key), key) for _, key in COLUMNS[1:]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def bars(summary: dict[str, Any]) -> list[str]:
    lines = ["| bar | value | target | met |", "|---|---:|---:|---|"]
    for label, group, key, target, higher in BARS:
        metrics = summary["metrics"] if group == "all" else summary["by_lang"].get(group, {})
        value = metrics.get(key)
        met = value is not None and (value >= target if higher else value <= target)
        sign = ">=" if higher else "<="
        lines.append(f"| {label} | {format_metric(value, key)} | {sign} {target:.2f} | {'yes' if met else 'NO'} |")
    return lines


def misses(rows: list[dict[str, Any]]) -> list[str]:
    """One line per question that missed a bar: not first, not in the top 5, answer missing, wrong refusal."""
    lines = []
    for row in rows:
        s = row.get("scores", {})
        problems = []
        if row["type"] == "unanswerable":
            if not row.get("refused"):
                problems.append("answered")
        else:
            if not s.get("doc_hit@1"):
                problems.append("hit@5" if s.get("doc_hit@5") else "not in top 5")
            if row.get("refused"):
                problems.append("refused")
            elif not s.get("contains"):
                problems.append("answer missing")
        if problems:
            top = ", ".join(row.get("retrieved", [])[:3])
            lines.append(f"- {row['id']} ({row['type']}/{row['lang']}, conf {row.get('confidence', 0):.2f}): "
                         f"{'; '.join(problems)} — {row['question']} — top: {top}")
    return lines


def evaluate(label: str, settings: Settings, suite: Path, seeds: Path, out: Path, workers: int) -> dict[str, Any]:
    if out.exists():
        shutil.rmtree(out)  # a fresh run: the code under test may have changed since the last one
    started = time.perf_counter()
    outcome = run_eval(settings, suite, out, corpus=seeds, mode="extractive", use_index=True, workers=workers)
    print(f"\n### {label}: {len(outcome.rows)} questions, extractive, {time.perf_counter() - started:.0f} s "
          f"(rows: {out / 'results.jsonl'})\n")
    print("\n".join(table(outcome.summary)))
    print()
    print("\n".join(bars(outcome.summary)))
    lost = misses(outcome.rows)
    print(f"\nmisses ({len(lost)}):" if lost else "\nno misses")
    print("\n".join(lost), flush=True)
    return outcome.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed-model", default=os.environ.get("SANAD_EMBED_MODEL", "intfloat/multilingual-e5-small"))
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--news", type=Path, default=NEWS, help="the distractor articles (default: %(default)s)")
    parser.add_argument("--seeds", type=Path, default=SEEDS, help="the five sample articles (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=CACHE / "seeds_news_eval")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--build-only", action="store_true", help="build (or update) the indexes and stop")
    parser.add_argument("--chunk-size", type=int, default=None, help="default: the model profile's")
    parser.add_argument("--chunk-overlap", type=int, default=None, help="default: the model profile's")
    parser.add_argument("--indexes", default="news,alone",
                        help="news (the seeds among the 3,000 news articles), alone (the five seeds), or both")
    args = parser.parse_args()
    indexes = set(args.indexes.split(","))
    if not indexes or not indexes <= {"news", "alone"}:
        parser.error("--indexes takes news, alone or news,alone")

    chunking = {k: v for k, v in (("chunk_size", args.chunk_size), ("chunk_overlap", args.chunk_overlap))
                if v is not None}
    if len(chunking) == 1:
        parser.error("give both --chunk-size and --chunk-overlap, or neither")
    print(f"commit {commit()} · embed model {args.embed_model} · suite {args.suite} · cache {CACHE}")
    runs: list[tuple[str, Settings, str]] = []
    if "news" in indexes:
        settings, news = build_index("seeds_news", [args.news, args.seeds], args.embed_model, chunking)
        print(f"index seeds + 3,000 news: {news['documents']} documents, {news['chunks']} chunks of "
              f"{news['chunking']}; first build "
              f"{news['ingest_seconds']:.0f} s for {news['chunks_embedded']} chunks "
              f"({news['chunks_embedded'] / max(news['ingest_seconds'], 1e-9):.1f} chunks/s, commit {news['commit']});"
              f" this run's ingest {news['last_ingest_seconds']:.1f} s ({news['last_ingest']['unchanged']} unchanged)")
        runs.append(("seeds + 3,000 news", settings, "news"))
    if "alone" in indexes:
        settings, alone = build_index("seeds_alone", [args.seeds], args.embed_model, chunking)
        print(f"index seeds alone: {alone['documents']} documents, {alone['chunks']} chunks of {alone['chunking']}")
        runs.append(("seeds alone", settings, "alone"))
    if args.build_only:
        return
    for label, settings, folder in runs:
        evaluate(label, settings, args.suite, args.seeds, args.out / folder, args.workers)


if __name__ == "__main__":
    main()
