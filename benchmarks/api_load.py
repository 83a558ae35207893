"""Load test against a live `sanad serve` (a subprocess) with the fake Ollama server.

Default: N concurrent clients ask the seed questions over SSE (a fixed number of POST /v1/ask stream=true);
reports errors (must be 0), p50/p95 latency, requests/s, and the time Sanad adds before the first token
reaches the client (client time-to-first-delta minus the fake model's delay), alone and under load.

``--mixed``: N clients for a bounded time, each mixing asks (JSON and SSE), searches (GET and POST), uploads of
small unique articles and deletes of articles that client uploaded (benchmarks/mixed_load.py). Afterwards the
listing and a keyword search by each upload's title must show every acknowledged upload once and no
acknowledged delete: lost / duplicated / stale counts must be 0, like the errors.

    .venv/bin/python benchmarks/api_load.py --clients 32 --requests 256
    .venv/bin/python benchmarks/api_load.py --mixed --clients 32 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from benchmarks.mixed_load import ArticlePool, Ledger, kind_table, pct, run_mixed, verify  # noqa: E402
from tests.fakes.ollama_server import FakeOllama, Reply  # noqa: E402
from tests.integration.live_server import cite_first_passage, free_port, wait_http  # noqa: E402


@dataclass
class Sample:
    ok: bool
    latency: float
    first_delta: float | None
    error: str = ""


def seed_questions() -> list[str]:
    """Arabic seed questions (English ones add a translation call, which would blur the overhead figure)."""
    suite = REPO / "eval" / "suites" / "seeds.jsonl"
    rows = [json.loads(line) for line in suite.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows if r.get("lang") == "ar"]


async def ask_once(client: httpx.AsyncClient, question: str) -> Sample:
    started = time.perf_counter()
    first: float | None = None
    event = ""
    try:
        async with client.stream("POST", "/v1/ask", json={"question": question, "stream": True}) as resp:
            if resp.status_code != 200:
                return Sample(False, time.perf_counter() - started, None, f"HTTP {resp.status_code}")
            async for line in resp.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "delta" and first is None:
                        first = time.perf_counter() - started
                    if event == "error":
                        return Sample(False, time.perf_counter() - started, first, "error event")
    except httpx.HTTPError as exc:
        return Sample(False, time.perf_counter() - started, first, type(exc).__name__)
    return Sample(event == "answer", time.perf_counter() - started, first, "" if event == "answer" else "no answer")


async def run_load(url: str, questions: list[str], clients: int, requests: int) -> tuple[list[Sample], float]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(questions[i % len(questions)])
    samples: list[Sample] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            samples.append(await ask_once(client, queue.get_nowait()))

    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        return samples, time.perf_counter() - started


def row(label: str, samples: list[Sample], seconds: float, delay: float) -> str:
    lat = [s.latency * 1000 for s in samples if s.ok]
    added = [(s.first_delta - delay) * 1000 for s in samples if s.ok and s.first_delta is not None]
    errors = sum(not s.ok for s in samples)
    return (f"| {label} | {len(samples)} | {errors} | {pct(lat, .5):.0f} | {pct(lat, .95):.0f} | "
            f"{len(samples) / seconds:.1f} | {pct(added, .5):.0f} | {pct(added, .95):.0f} |")


def start_server(data_dir: Path, ollama_url: str, embed_model: str | None,
                 log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`sanad serve` on a free port in a subprocess; its output goes to ``log`` (discarded when None)."""
    port = free_port()
    env = {**os.environ, "SANAD_DATA_DIR": str(data_dir), "SANAD_OLLAMA_HOST": ollama_url, "SANAD_API_KEY": "",
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    if embed_model:
        env["SANAD_EMBED_MODEL"] = embed_model
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)], cwd=REPO, env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", timeout=180)
    except TimeoutError:
        proc.kill()
        raise
    return proc, url


def upload_base(url: str, paths: list[Path]) -> set[str]:
    """Index the base articles through the API (batches within the file-count limit); their doc ids."""
    ids: set[str] = set()
    for start in range(0, len(paths), 40):
        files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in paths[start:start + 40]]
        resp = httpx.post(url + "/v1/documents", files=files, timeout=900)
        resp.raise_for_status()
        ids |= {f["doc_id"] for f in resp.json()["files"] if f["status"] != "failed"}
    return ids


def default_embed_model() -> str | None:
    try:
        from tests.conftest import minilm_dir

        return str(minilm_dir())
    except ImportError:
        return None


@dataclass
class MixedRun:
    ledger: Ledger
    seconds: float
    counts: dict[str, int]
    model: str
    tracebacks: int
    log: Path | None = None  # the server's log, kept when it holds tracebacks


def mixed_run(clients: int, seconds: float, news: int, embed_model: str | None, delay: float = 0.05,
              seed: int = 13) -> MixedRun:
    """Serve the sample articles + ``news`` dev news articles, run the mixed load, verify the index after it."""
    news_files = sorted((SHARED / "eval" / "dev" / "corpus_news_dev").glob("*.txt"))
    base = sorted((REPO / "data" / "articles").glob("*.txt")) + news_files[:news]
    pool = ArticlePool(news_files[news:])
    ollama = FakeOllama().start()
    ollama.default = lambda body: Reply(text=cite_first_passage(body), delay=delay)
    questions = seed_questions()
    with tempfile.TemporaryDirectory(prefix="sanad-mixed-") as tmp:
        log = Path(tmp) / "serve.log"
        proc, url = start_server(Path(tmp) / "data", ollama.url, embed_model, log)
        try:
            base_ids = upload_base(url, base)
            model = str(httpx.get(url + "/readyz", timeout=60).json().get("embed_model", embed_model))
            asyncio.run(run_load(url, questions, 2, 4))  # warm-up: first embeds, lazy loads
            ledger, took = asyncio.run(run_mixed(url, questions, pool, clients, seconds, seed))
            counts = verify(url, base_ids, ledger)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            ollama.stop()
        tracebacks = log.read_text(encoding="utf-8", errors="replace").count("Traceback (most recent call last)")
        kept = Path(tempfile.gettempdir()) / f"sanad-mixed-serve-{os.getpid()}.log" if tracebacks else None
        if kept:
            shutil.copyfile(log, kept)
    return MixedRun(ledger, took, counts, model, tracebacks, kept)


def mixed_failures(run: MixedRun) -> int:
    """Errors + lost + duplicated + stale-after-delete + tracebacks: 0 is a pass."""
    errors = sum(c.outcome == "error" for c in run.ledger.calls)
    return errors + run.counts["lost"] + run.counts["duplicated"] + run.counts["stale"] + run.tracebacks


def mixed_main(args: argparse.Namespace) -> int:
    run = mixed_run(args.clients, args.seconds, args.news, args.embed_model, args.delay, args.seed)
    c = run.counts
    print(f"\nsanad serve (subprocess) + fake Ollama ({args.delay * 1000:.0f} ms to first token), embedder "
          f"{run.model}; index: the 5 sample articles + {args.news} news dev articles; {args.clients} clients for "
          f"{args.seconds:g} s (ran {run.seconds:.1f} s), {os.cpu_count()} CPU cores\n")
    print("\n".join(kind_table(run.ledger.calls, run.seconds)))
    print(f"\n| documents after the load | base | uploaded (200) | deleted (200) | listed | lost | duplicated | "
          f"stale after delete | unacknowledged | tracebacks in server log |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
          f"---:|\n| | {c['base']} | {c['uploaded']} | {c['deleted']} | {c['listed']} | {c['lost']} | "
          f"{c['duplicated']} | {c['stale']} | {c['unacknowledged']} | {run.tracebacks} |")
    details = Counter(f"{call.kind}: {call.detail}" for call in run.ledger.calls if call.outcome != "ok")
    for detail, n in details.most_common():
        print(f"  {n} x {detail}")
    if run.log:
        print(f"\nserver log with the tracebacks: {run.log}")
    return 1 if mixed_failures(run) else 0


def ask_main(args: argparse.Namespace) -> None:
    ollama = FakeOllama().start()
    ollama.default = lambda body: Reply(text=cite_first_passage(body), delay=args.delay)
    questions = seed_questions()
    with tempfile.TemporaryDirectory(prefix="sanad-bench-") as tmp:
        proc, url = start_server(Path(tmp) / "data", ollama.url, args.embed_model)
        try:
            upload_base(url, sorted((REPO / "data" / "articles").glob("*.txt")))
            asyncio.run(run_load(url, questions, 4, 8))  # warm-up: first embeds, lazy loads
            single, single_s = asyncio.run(run_load(url, questions, 1, min(32, args.requests)))
            loaded, loaded_s = asyncio.run(run_load(url, questions, args.clients, args.requests))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            ollama.stop()
    print(f"\nsanad serve + fake Ollama (first-token delay {args.delay * 1000:.0f} ms), {len(questions)} Arabic seed "
          f"questions, POST /v1/ask stream=true, {os.cpu_count()} CPU cores\n")
    print("| clients | requests | errors | p50 ms | p95 ms | req/s | added before 1st token p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    print(row("1", single, single_s, args.delay))
    print(row(str(args.clients), loaded, loaded_s, args.delay))
    failures = [s.error for s in single + loaded if not s.ok]
    if failures:
        print(f"\nerrors: {statistics.multimode(failures)} ({len(failures)} total)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=256, help="ask-only mode: asks to send")
    parser.add_argument("--delay", type=float, default=0.05, help="fake model's delay before its first token (s)")
    parser.add_argument("--embed-model", default=default_embed_model(), help="default: packaged MiniLM")
    parser.add_argument("--mixed", action="store_true", help="mixed asks/searches/uploads/deletes for --seconds")
    parser.add_argument("--seconds", type=float, default=60.0, help="mixed mode: how long clients send requests")
    parser.add_argument("--news", type=int, default=40, help="mixed mode: news dev articles indexed beforehand")
    parser.add_argument("--seed", type=int, default=13, help="mixed mode: seed of the clients' draws")
    args = parser.parse_args()
    if args.mixed:
        sys.exit(mixed_main(args))
    ask_main(args)


if __name__ == "__main__":
    main()
