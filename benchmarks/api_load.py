"""Load test: N concurrent clients ask the seed questions over SSE against a live `sanad serve`.

Starts the fake Ollama server (fixed first-token delay) and `sanad serve` in a subprocess, uploads the
sample articles through the API, then sends a fixed number of POST /v1/ask (stream=true) requests.
Reports errors (must be 0), p50/p95 latency, requests/s, and the time Sanad adds before the first token
reaches the client (client time-to-first-delta minus the fake model's delay), alone and under load.

    .venv/bin/python benchmarks/api_load.py --clients 32 --requests 256
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

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


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def row(label: str, samples: list[Sample], seconds: float, delay: float) -> str:
    lat = [s.latency * 1000 for s in samples if s.ok]
    added = [(s.first_delta - delay) * 1000 for s in samples if s.ok and s.first_delta is not None]
    errors = sum(not s.ok for s in samples)
    return (f"| {label} | {len(samples)} | {errors} | {pct(lat, .5):.0f} | {pct(lat, .95):.0f} | "
            f"{len(samples) / seconds:.1f} | {pct(added, .5):.0f} | {pct(added, .95):.0f} |")


def start_server(data_dir: Path, ollama_url: str, embed_model: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "SANAD_DATA_DIR": str(data_dir), "SANAD_OLLAMA_HOST": ollama_url, "SANAD_API_KEY": "",
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    if embed_model:
        env["SANAD_EMBED_MODEL"] = embed_model
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", timeout=180)
    return proc, url


def default_embed_model() -> str | None:
    try:
        from tests.conftest import minilm_dir

        return str(minilm_dir())
    except ImportError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--delay", type=float, default=0.05, help="fake model's delay before its first token (s)")
    parser.add_argument("--embed-model", default=default_embed_model(), help="default: packaged MiniLM")
    args = parser.parse_args()

    ollama = FakeOllama().start()
    ollama.default = lambda body: Reply(text=cite_first_passage(body), delay=args.delay)
    questions = seed_questions()
    with tempfile.TemporaryDirectory(prefix="sanad-bench-") as tmp:
        proc, url = start_server(Path(tmp) / "data", ollama.url, args.embed_model)
        try:
            articles = sorted((REPO / "data" / "articles").glob("*.txt"))
            files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in articles]
            httpx.post(url + "/v1/documents", files=files, timeout=600).raise_for_status()
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


if __name__ == "__main__":
    main()
