"""What one change costs as the archive grows: add / remove one article, search latency, memory, disk.

    python benchmarks/scale.py [--sizes 10000,30000,100000] [--changes 10] [--queries 100]

For each size, a synthetic index of Arabic news-like chunks (``search_latency.py``'s generator: dev news
corpus vocabulary, topic-mixture vectors, no embedder at build time) is built once in a child process
and cached. The timed process then opens it as a server would and, under the index write lock, adds one
8-chunk article (Chroma add + keyword add + commit) and removes it again, ``--changes`` times: wall
seconds and bytes written (``/proc/self/io``) per change, median and worst (the worst includes any
segment merge). Embedding time is excluded (vectors are made up front). Search is timed end to end
through ``HybridRetriever.search`` (MiniLM query embedding + BM25 + Chroma + fusion, no reranker).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_latency import (  # noqa: E402
    CACHE,
    build,
    make_chunks,
    make_vectors,
    minilm_dir,
    retriever_for,
    timed_searches,
    topic_words,
    vocabulary,
)

from rag.ingestion.write_lock import IndexWriteLock  # noqa: E402
from rag.retrieval.embedder import SentenceTransformerEmbedder  # noqa: E402
from rag.retrieval.keyword import BM25Index  # noqa: E402
from rag.retrieval.store import ChromaStore  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.types import Chunk  # noqa: E402


def written_bytes() -> int:
    """Bytes this process has caused to be written to storage so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


@functools.cache
def words() -> list[str]:
    return vocabulary()


def article(n: int, seed: int) -> tuple[list[Chunk], list[list[float]]]:
    """One n-chunk article with a fresh id, and its vectors."""
    rng = random.Random(seed)
    vocab = words()
    chunks, labels = make_chunks(n, vocab, topic_words(vocab, rng), rng)
    doc = f"bench{seed:05d}"
    chunks = [Chunk(f"{doc}::{c.ordinal}", doc, c.title, c.text, c.start, c.end, c.ordinal, "bench", c.published)
              for c in chunks]
    return chunks, make_vectors(labels, np.random.default_rng(seed)).tolist()


def time_changes(settings: Settings, changes: int) -> dict[str, list[float]]:
    """Add then remove one article ``changes`` times, as the ingest pipeline's write path does."""
    store = ChromaStore.from_settings(settings)
    keyword = BM25Index(settings.keyword_dir, store)
    keyword.refresh_if_stale()
    lock = IndexWriteLock(settings.data_dir / "write.lock", timeout=60)
    out: dict[str, list[float]] = {"add_s": [], "add_mb": [], "remove_s": [], "remove_mb": []}
    for i in range(changes):
        chunks, vectors = article(8, 90000 + i)
        for kind in ("add", "remove"):
            before, started = written_bytes(), time.perf_counter()
            with lock:
                keyword.refresh_if_stale()
                if kind == "add":
                    store.add_chunks(chunks, vectors)
                    keyword.add(chunks)
                else:
                    store.delete_doc_chunks(chunks[0].doc_id)
                    keyword.remove_docs([chunks[0].doc_id])
                keyword.commit()
            out[f"{kind}_s"].append(time.perf_counter() - started)
            out[f"{kind}_mb"].append((written_bytes() - before) / 1e6)
    return out


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def measure(size: int, changes: int, queries: int) -> str:
    settings = Settings(data_dir=CACHE / f"index-{size}", embed_model=str(minilm_dir()),
                        ollama_host="http://127.0.0.1:9")
    if not (settings.data_dir / f"built-{size}").exists():
        subprocess.run([sys.executable, str(Path(__file__).with_name("search_latency.py")), "--build-only",
                        "--chunks", str(size)], check=True)
    texts = build(settings, size)
    cost = time_changes(settings, changes)
    embedder = SentenceTransformerEmbedder.from_settings(settings)
    total = timed_searches(retriever_for(settings, embedder), texts, queries)["total"]
    keyword = BM25Index(settings.keyword_dir, ChromaStore.from_settings(settings))
    keyword.refresh_if_stale()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = [f"{size:,}"]
    for kind in ("add", "remove"):
        s, mb = np.asarray(cost[f"{kind}_s"]), np.asarray(cost[f"{kind}_mb"])
        cells.append(f"{np.median(s):.2f} / {s.max():.2f}")
        cells.append(f"{np.median(mb):.1f} / {mb.max():.1f}")
    cells += [f"{np.percentile(total, 50):.0f}", f"{np.percentile(total, 95):.0f}", f"{rss:,.0f}",
              f"{disk_mb(settings.data_dir):,.0f}", str(keyword.segment_count)]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: measure one size
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if args.one:
        print(measure(args.one, args.changes, args.queries), flush=True)
        return
    print(f"\n### one change at scale ({args.changes} adds and removals of an 8-chunk article, {args.queries} "
          "hybrid searches, no reranker)\n")
    print("| chunks | add s (median / worst) | add MB written | remove s | remove MB written | search p50 ms "
          "| search p95 ms | peak RSS MB | disk MB | keyword segments |")
    print("|---:|---|---|---|---|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        # each size in its own process, so peak RSS is that size's
        row = subprocess.run([sys.executable, __file__, "--one", str(size), "--changes", str(args.changes),
                              "--queries", str(args.queries)], check=True, capture_output=True, text=True)
        print(row.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
