"""Which chunk size (in the embedding model's tokens) wins, for retrieval and for context recall.

    python benchmarks/chunk_size.py [--embed-model E5_FOLDER] [--sizes 120,150,200,350]

For each size the combined index of the four Arabic dev corpora is built through the real pipeline
(overlap = a fifth of the size; cached by ``benchmarks/retrieval.py``), and every dev suite is searched
in hybrid mode with the model's fitted profile. Printed per size: pooled Arabic doc hit@1 / hit@5, the
English questions' (xquad_en2ar) doc hit@1 / hit@5, and the share of answerable Arabic questions whose
reference answer appears in the top five passages with about how many tokens those passages hold.
The winner goes into the model's profile (``chunk_size``/``chunk_overlap`` in ``rag/profiles/*.json``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retrieval as bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed-model", default=os.environ.get("SANAD_E5_DIR"))
    parser.add_argument("--sizes", default="120,150,200,350")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = args.embed_model or str(bench.minilm_dir())
    vectors: tuple[dict, dict] = ({}, {})  # query vectors are shared by every size
    print("| chunk size (overlap) | chunks | pooled Arabic hit@1 / hit@5 | English hit@1 / hit@5 "
          "| answer in top 5 (Arabic) | tokens in top 5, at most |")
    print("|---|---:|---|---|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        service = bench.build_index("combined", sorted(set(bench.SUITES.values())), vectors, False, model,
                                    chunking=(size, size // 5))
        results = bench.evaluate(service, list(bench.SUITES), ["hybrid"])
        arabic = bench.pooled([acc for (suite, _), acc in results.items() if suite != "xquad_en2ar"])
        english = results[("xquad_en2ar", "hybrid")]
        print(f"| {size} ({size // 5}) | {service.store.count_chunks()} | {arabic.hit1 / arabic.n:.3f} / "
              f"{arabic.hit5 / arabic.n:.3f} | {english.hit1 / english.n:.3f} / {english.hit5 / english.n:.3f} "
              f"| {arabic.recall5 / arabic.n:.3f} | {5 * size} |", flush=True)


if __name__ == "__main__":
    main()
