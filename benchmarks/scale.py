"""What one change costs as the archive grows: add / remove one article, search latency, memory, disk.

    python benchmarks/scale.py [--sizes 10000,30000,100000,300000] [--changes 10] [--queries 100]

Everything goes through the product: ``rag.wiring.build_service`` builds the ``Sanad`` facade (ChromaStore,
segmented BM25 keyword index, the cross-process write lock, near-duplicate clusters, the e5 profile's
chunking), and the only thing swapped is the ingest pipeline's embedder: ``CachedEmbedder`` (the
``rag.ports.Embedder`` port) answers passages from a pool of real multilingual-e5-small vectors, computed
once for ``POOL`` real articles of the dev news corpus (ANT, Chouigui et al.) and cached, each passage's
vector its source article's vector plus a small seeded perturbation. So embedding time is excluded while
chunking (e5's tokenizer), versioned chunk ids, the write journal, the registry commit point, the keyword
commit and the near-duplicate update all run as in ``sanad ingest`` / ``sanad remove``.

Base index (built once per size in a child process, cached): synthetic articles made from real ones
(sentences shuffled, about one word in eight swapped for a word of another article, new id and date),
written as JSONL files and ingested by the same facade with a larger flush and commit window, so the
stored chunks, registry records, journal and keyword segments are exactly what an ingest leaves.

Timed, in a fresh process per size (as a server starts): ``--changes`` times, ``Sanad.ingest`` of one new
real article file (about 8 chunks), then ``Sanad.remove`` of it: wall seconds and bytes written
(``/proc/self/io``), median and worst. Then ``--queries`` hybrid searches through ``Sanad.search`` (real e5
query embedding + BM25 + Chroma + fusion + story collapse, no reranker), p50 / p95 ms; peak RSS; disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NEWS = ROOT.parent / "shared" / "eval" / "dev" / "corpus_news_dev"
E5 = Path(os.environ.get("SANAD_E5_DIR", str(ROOT.parent / "e5")))
CACHE = Path(os.environ.get("SANAD_BENCH_CACHE", Path(tempfile.gettempdir()) / "sanad-bench")) / "scale"
POOL = 1200  # real articles with e5 vectors; the synthetic archive is made from them
CHANGE_FILES = 2800  # changed articles come from the corpus files after this index (not in the pool)
NOISE = 0.25  # perturbation of a pooled vector (cosine to its source ~0.97)
ARTICLE_CHARS = 2800  # about 7 e5 chunks of 120 tokens (the dev news articles average 4.3 KB)


def written_bytes() -> int:
    """Bytes this process has caused to be written to storage so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def news_articles(start: int, count: int) -> list[tuple[str, str]]:
    """(title, body) of real dev-news articles, read by the product's own reader."""
    from rag.ingestion.readers import load_file

    out: list[tuple[str, str]] = []
    for path in sorted(NEWS.glob("*.txt"))[start:start + count]:
        articles, _ = load_file(path)
        out.extend((a.title, a.text) for a in articles)
    return out


def settings_for(data_dir: Path) -> Any:
    from rag.settings import Settings

    values: dict[str, Any] = {"data_dir": data_dir, "embed_model": str(E5), "ollama_host": "http://127.0.0.1:9"}
    return Settings(**values)


class CachedEmbedder:
    """``rag.ports.Embedder`` whose passages cost no model time: the real e5 embedder's tokenizer,
    signature and query embedding, and for a passage its source article's pooled e5 vector (found by the
    title line) plus seeded noise. Passages of unknown titles get a seeded mixture of two pool vectors."""

    def __init__(self, real: Any, titles: Sequence[str], vectors: np.ndarray) -> None:
        self.real = real
        self.model_name, self.backend = real.model_name, real.backend
        self.dim, self.max_tokens = real.dim, real.max_tokens
        self.passage_prefix = getattr(real, "passage_prefix", "")
        self.query_prefix = getattr(real, "query_prefix", "")
        self.index = {t: i for i, t in enumerate(titles)}
        self.vectors = vectors

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            seed = zlib.crc32(text.encode("utf-8"))
            rng = np.random.default_rng(seed)
            title = text.partition("\n")[0].rpartition(" ·")[0] or text.partition("\n")[0]
            source = self.index.get(title)
            base = self.vectors[source] if source is not None else (
                self.vectors[seed % len(self.vectors)] + self.vectors[(seed // 7) % len(self.vectors)])
            vec = base + NOISE * rng.normal(size=self.dim) / np.sqrt(self.dim)
            out.append((vec / np.linalg.norm(vec)).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        return list(self.real.embed_query(text))

    def count_tokens(self, text: str) -> int:
        return int(self.real.count_tokens(text))

    def signature(self) -> dict[str, Any]:
        return dict(self.real.signature())


def pool(embedder: Any) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The pool's articles and their real e5 passage vectors (title + lead), cached on disk."""
    articles = news_articles(0, POOL)
    cache = CACHE / f"pool-{len(articles)}.npy"
    if cache.exists():
        return articles, np.load(cache)
    started = time.perf_counter()
    vectors = np.asarray(embedder.embed_passages([f"{t}\n{b[:600]}" for t, b in articles]), dtype=np.float32)
    print(f"pool: {len(articles)} e5 vectors in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return articles, vectors


def service(data_dir: Path) -> tuple[Any, CachedEmbedder, list[tuple[str, str]]]:
    """The product's facade from the composition root, its ingest embedder swapped for the cached one."""
    from rag.wiring import build_service

    sanad = build_service(settings_for(data_dir), load_llm=False)
    articles, vectors = pool(sanad.embedder)
    cached = CachedEmbedder(sanad.embedder, [t for t, _ in articles], vectors)
    pipeline: Any = sanad.ingestor  # rag.ingestion.pipeline.IngestPipeline, as wiring builds it
    pipeline.embedder = cached
    return sanad, cached, articles


def synthetic(n: int, articles: list[tuple[str, str]], rng: random.Random) -> dict[str, str]:
    """One JSONL record: a real article's sentences shuffled, ~1/8 of words from another article."""
    title, body = articles[n % len(articles)]
    other = articles[rng.randrange(len(articles))][1].split()
    sentences = [s for s in body[:ARTICLE_CHARS * 2].replace("\n", " ").split(". ") if s.strip()]
    rng.shuffle(sentences)
    words = ". ".join(sentences).split()
    words = [rng.choice(other) if other and rng.random() < 0.125 else w for w in words]
    text = " ".join(words)[:ARTICLE_CHARS]
    return {"id": f"s{n:06d}", "title": f"{title} · {n}", "text": text,
            "published": f"{2010 + n % 12}-{1 + n % 12:02d}-{1 + n % 28:02d}"}


def grow_from(size: int, data_dir: Path) -> tuple[int, float]:
    """Start from a copy of the largest smaller index already built (a bigger archive grows from a smaller
    one, as a real one does); returns how many synthetic articles it holds and the seconds they took."""
    built = sorted((int(p.parent.name.split("-")[1]), p) for p in CACHE.glob("index-*/built")
                   if int(p.parent.name.split("-")[1]) < size)
    shutil.rmtree(data_dir, ignore_errors=True)
    if not built:
        return 0, 0.0
    source = built[-1][1].parent
    shutil.copytree(source, data_dir, ignore=shutil.ignore_patterns("built", "changes", "jsonl"))
    done = json.loads((source / "built").read_text())
    return int(done["articles"]), float(done["seconds"])


def build(size: int) -> None:
    """Ingest synthetic JSONL batches through the facade until the index holds ``size`` chunks."""
    data_dir = CACHE / f"index-{size}"
    n, before_s = grow_from(size, data_dir)
    sanad, _, articles = service(data_dir)
    sanad.ingestor.flush_chunks, sanad.ingestor.commit_every = 4096, 4000
    sanad.ingestor.commit_seconds = 1e9
    rng, chunks, started = random.Random(size), sanad.store.count_chunks(), time.perf_counter() - before_s
    per_article = 7.0
    while chunks < size:
        batch = max(1, min(4000, int((size - chunks) / per_article)))
        path = data_dir / "jsonl" / f"batch-{n:06d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(json.dumps(synthetic(n + i, articles, rng), ensure_ascii=False)
                                  for i in range(batch)), encoding="utf-8")
        report = sanad.ingest([path])
        if report.failed:
            raise SystemExit(f"build failed: {report.failed[:3]}")
        path.unlink()
        n, before, chunks = n + batch, chunks, sanad.store.count_chunks()
        per_article = max(1.0, (chunks - before) / batch)
        print(f"build {size}: {n} articles, {chunks} chunks, {time.perf_counter() - started:.0f}s",
              file=sys.stderr, flush=True)
    (data_dir / "built").write_text(json.dumps({"chunks": chunks, "articles": n,
                                                "seconds": round(time.perf_counter() - started)}))


def time_changes(sanad: Any, data_dir: Path, changes: int) -> dict[str, list[float]]:
    """Add one new article file through ``Sanad.ingest``, then remove it through ``Sanad.remove``."""
    folder = data_dir / "changes"
    folder.mkdir(exist_ok=True)
    out: dict[str, list[float]] = {"add_s": [], "add_mb": [], "remove_s": [], "remove_mb": [], "chunks": []}
    for i, (title, body) in enumerate(news_articles(CHANGE_FILES, changes)):
        path = folder / f"change{i:03d}.txt"
        path.write_text(f"{title}\n\n{body[:ARTICLE_CHARS]}", encoding="utf-8")
        before, started = written_bytes(), time.perf_counter()
        report = sanad.ingest([path])
        out["add_s"].append(time.perf_counter() - started)
        out["add_mb"].append((written_bytes() - before) / 1e6)
        if report.added != [path.stem]:
            raise SystemExit(f"add of {path.stem} failed: {report}")
        out["chunks"].append(report.chunks_embedded)
        before, started = written_bytes(), time.perf_counter()
        sanad.remove(path.stem)
        out["remove_s"].append(time.perf_counter() - started)
        out["remove_mb"].append((written_bytes() - before) / 1e6)
        path.unlink()
    return out


def timed_searches(sanad: Any, articles: list[tuple[str, str]], count: int) -> dict[str, np.ndarray]:
    """End-to-end ms of hybrid searches (no reranker) as "total", plus each stage's own timing from the
    SearchResult; queries are 3-7 words of a pooled article's lead."""
    rng = random.Random(11)
    queries = []
    for _ in range(count + 5):
        words = articles[rng.randrange(len(articles))][1].split()[:40]
        queries.append(" ".join(rng.sample(words, min(len(words), rng.randint(3, 7)))))
    for q in queries[:5]:
        sanad.search(q)  # warm-up: first HNSW load, caches
    stages: dict[str, list[float]] = {}
    for q in queries[5:]:
        started = time.perf_counter()
        result = sanad.search(q)
        stages.setdefault("total", []).append((time.perf_counter() - started) * 1000)
        for name, ms in result.timings_ms.items():
            if name != "total_ms":
                stages.setdefault(name.removesuffix("_ms"), []).append(ms)
    return {name: np.asarray(values) for name, values in stages.items()}


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def measure(size: int, changes: int, queries: int) -> str:
    """One table row, in this (fresh) process."""
    data_dir = CACHE / f"index-{size}"
    built = json.loads((data_dir / "built").read_text())
    sanad, _, articles = service(data_dir)
    cost = time_changes(sanad, data_dir, changes)
    stages = timed_searches(sanad, articles, queries)
    total = stages.pop("total")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = [f"{built['chunks']:,}", f"{built['articles']:,}", f"{np.median(cost['chunks']):.0f}"]
    for kind in ("add", "remove"):
        s, mb = np.asarray(cost[f"{kind}_s"]), np.asarray(cost[f"{kind}_mb"])
        cells += [f"{np.median(s):.2f} / {s.max():.2f}", f"{np.median(mb):.1f} / {mb.max():.1f}"]
    cells += [f"{np.percentile(total, 50):.0f}", f"{np.percentile(total, 95):.0f}", f"{rss:,.0f}",
              f"{disk_mb(data_dir):,.0f}", f"{built['seconds']:,}",
              ", ".join(f"{k} {np.percentile(v, 50):.0f}/{np.percentile(v, 95):.0f}" for k, v in stages.items())]
    return "| " + " | ".join(cells) + " |"


def child(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000,300000")
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)  # child: build one size
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: measure one size
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if args.build:
        build(args.build)
        return
    if args.one:
        print(measure(args.one, args.changes, args.queries), flush=True)
        return
    print(f"\n### one change at scale ({args.changes} adds and removals of one article through Sanad.ingest / "
          f"Sanad.remove, {args.queries} hybrid searches through Sanad.search, no reranker; e5-small)\n")
    print("| chunks | articles | chunks per added article | add s (median / worst) | add MB written | remove s "
          "| remove MB written | search p50 ms | search p95 ms | peak RSS MB | disk MB | build s |")
    print("|---:|---:|---:|---|---|---|---|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        if not (CACHE / f"index-{size}" / "built").exists():
            child("--build", str(size))
        # each size in its own process, so peak RSS is that size's and the index is opened as a server would
        row = child("--one", str(size), "--changes", str(args.changes), "--queries", str(args.queries))
        print(row.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
