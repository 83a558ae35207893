"""Mixed load for `benchmarks/api_load.py --mixed`: asks, searches, uploads and deletes from concurrent clients,
then a check that the index holds exactly what the server acknowledged.

Why a ledger: a write under contention can fail loudly (an error) or silently (acknowledged but lost, listed
twice, or still found after its delete). Each client records every upload and delete the server answered 200
to; afterwards GET /v1/documents and a keyword search by each upload's unique title must agree with it.
Clients delete only their own uploads, so the expected end state is known without coordination.

A 503 ``index_busy`` (the write lock waited past SANAD_WRITE_LOCK_TIMEOUT) is a documented answer, not an
error: it is counted in its own column, and that upload or delete is treated as not done.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import httpx

__all__ = ["Call", "Ledger", "ArticlePool", "run_mixed", "verify", "kind_table", "KINDS"]

#: request kinds and their weights in each client's draw (writes are about one request in six)
KINDS = ("ask", "ask_sse", "search_get", "search_post", "upload", "delete")
WEIGHTS = (3, 3, 3, 3, 2, 1)
LABELS = {"ask": "ask (JSON)", "ask_sse": "ask (SSE)", "search_get": "search GET", "search_post": "search POST"}


@dataclass
class Call:
    kind: str
    status: int  # HTTP status; 0 when no answer came (connection error, timeout)
    latency: float
    outcome: str  # "ok", "busy" (503 index_busy) or "error"
    detail: str = ""


@dataclass
class Ledger:
    """What the server acknowledged, shared by every client (one event loop: no locking needed)."""

    uploaded: dict[str, str] = field(default_factory=dict)  # doc_id -> title, answered 200 "added"
    deleted: set[str] = field(default_factory=set)  # doc ids whose DELETE was answered 200
    unacknowledged: list[str] = field(default_factory=list)  # titles of uploads with no clear answer
    calls: list[Call] = field(default_factory=list)


class ArticlePool:
    """Small unique articles: a unique title line over the opening paragraphs of a distinct news article.

    Distinct sources keep uploads from being near-duplicates of each other (which would fold them into one
    story in search); the title's tag (``mxC07N012``) makes a keyword search by title find exactly one doc."""

    def __init__(self, files: list[Path], max_chars: int = 700) -> None:
        self.files = files
        self.max_chars = max_chars
        self._next = count()

    def take(self, client: int, n: int) -> tuple[str, str, bytes]:
        """(file name, title, UTF-8 text) of the next article; raises IndexError when the pool is used up."""
        text = self.files[next(self._next)].read_text(encoding="utf-8")
        head, _, body = text.partition("\n")
        tag = f"mxC{client:02d}N{n:03d}"
        title = f"{tag} {head.strip()}"
        body = body.strip()[: self.max_chars]
        return f"mixed-{tag}.txt", title, f"{title}\n\n{body}\n".encode()


def classify(kind: str, resp: httpx.Response, started: float) -> Call:
    """200 is ok, a 503 index_busy is 'busy', anything else an error named by status and code."""
    latency = time.perf_counter() - started
    if resp.status_code == 200:
        return Call(kind, 200, latency, "ok")
    try:
        code = resp.json().get("error", {}).get("code", "")
    except (ValueError, AttributeError):
        code = resp.text[:80]
    outcome = "busy" if resp.status_code == 503 and code == "index_busy" else "error"
    return Call(kind, resp.status_code, latency, outcome, f"{resp.status_code} {code}")


async def ask_json(client: httpx.AsyncClient, question: str) -> Call:
    started = time.perf_counter()
    resp = await client.post("/v1/ask", json={"question": question})
    call = classify("ask", resp, started)
    if call.outcome == "ok" and "answer" not in resp.json():
        return Call("ask", 200, call.latency, "error", "200 without an answer")
    return call


async def ask_sse(client: httpx.AsyncClient, question: str) -> Call:
    """An SSE ask is ok when the stream ends with an ``answer`` event; an ``error`` event is an error."""
    started = time.perf_counter()
    async with client.stream("POST", "/v1/ask", json={"question": question, "stream": True}) as resp:
        if resp.status_code != 200:
            await resp.aread()
            return classify("ask_sse", resp, started)
        last = ""
        async for line in resp.aiter_lines():
            if line.startswith("event: "):
                last = line[7:]
    ok = last == "answer"
    return Call("ask_sse", 200, time.perf_counter() - started, "ok" if ok else "error",
                "" if ok else f"200, stream ended with {last or 'nothing'!r}")


async def search(client: httpx.AsyncClient, query: str, post: bool) -> Call:
    started = time.perf_counter()
    if post:
        resp = await client.post("/v1/search", json={"q": query, "k": 5})
        return classify("search_post", resp, started)
    resp = await client.get("/v1/search", params={"q": query, "k": 5})
    return classify("search_get", resp, started)


async def upload(client: httpx.AsyncClient, pool: ArticlePool, ledger: Ledger, cid: int, n: int,
                 mine: list[str]) -> Call:
    """Acknowledged = 200 with this file's status 'added' and a doc id; only then is it in the ledger."""
    name, title, data = pool.take(cid, n)
    started = time.perf_counter()
    try:
        resp = await client.post("/v1/documents", files=[("files", (name, data, "text/plain"))])
    except httpx.HTTPError:
        ledger.unacknowledged.append(title)
        raise
    call = classify("upload", resp, started)
    if call.outcome != "ok":
        return call
    files = resp.json().get("files", [])
    if len(files) != 1 or files[0].get("status") != "added" or not files[0].get("doc_id"):
        ledger.unacknowledged.append(title)
        return Call("upload", 200, call.latency, "error", f"200 but files={json.dumps(files)[:120]}")
    ledger.uploaded[files[0]["doc_id"]] = title
    mine.append(files[0]["doc_id"])
    return call


async def delete(client: httpx.AsyncClient, ledger: Ledger, mine: list[str], rng: random.Random) -> Call:
    doc_id = mine.pop(rng.randrange(len(mine)))
    started = time.perf_counter()
    resp = await client.delete(f"/v1/documents/{doc_id}")
    call = classify("delete", resp, started)
    if call.outcome == "ok":
        ledger.deleted.add(doc_id)
    elif call.outcome == "busy":
        mine.append(doc_id)  # not deleted: still this client's to delete later
    return call


@dataclass
class ClientContext:
    cid: int
    rng: random.Random
    questions: list[str]
    pool: ArticlePool
    ledger: Ledger
    mine: list[str] = field(default_factory=list)  # this client's acknowledged uploads not yet deleted
    uploads: int = 0


async def one_request(client: httpx.AsyncClient, kind: str, ctx: ClientContext) -> Call:
    """Dispatch one request of ``kind``; a transport failure is an error with status 0."""
    started = time.perf_counter()
    try:
        if kind in ("ask", "ask_sse"):
            question = ctx.rng.choice(ctx.questions)
            return await (ask_json if kind == "ask" else ask_sse)(client, question)
        if kind in ("search_get", "search_post"):
            own = [ctx.ledger.uploaded[d] for d in ctx.mine]
            query = ctx.rng.choice(own) if own and ctx.rng.random() < 0.5 else ctx.rng.choice(ctx.questions)
            return await search(client, query, kind == "search_post")
        if kind == "delete":
            return await delete(client, ctx.ledger, ctx.mine, ctx.rng)
        ctx.uploads += 1
        return await upload(client, ctx.pool, ctx.ledger, ctx.cid, ctx.uploads, ctx.mine)
    except httpx.HTTPError as exc:
        return Call(kind, 0, time.perf_counter() - started, "error", type(exc).__name__)


async def client_loop(client: httpx.AsyncClient, ctx: ClientContext, deadline: float) -> None:
    """Draw a kind, send it, repeat until the deadline (the request in flight then still completes)."""
    while time.monotonic() < deadline:
        kind = ctx.rng.choices(KINDS, WEIGHTS)[0]
        if kind == "delete" and not ctx.mine:
            kind = "upload"
        ctx.ledger.calls.append(await one_request(client, kind, ctx))


async def run_mixed(url: str, questions: list[str], pool: ArticlePool, clients: int, seconds: float,
                    seed: int = 13, timeout: float = 300.0) -> tuple[Ledger, float]:
    """Run ``clients`` concurrent clients for ``seconds``; returns the ledger and the wall time."""
    ledger = Ledger()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    contexts = [ClientContext(i, random.Random(seed * 1000 + i), questions, pool, ledger) for i in range(clients)]
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(client_loop(client, ctx, deadline) for ctx in contexts))
        return ledger, time.perf_counter() - started


def title_hits(url: str, title: str, doc_id: str) -> tuple[int, int]:
    """(passages of ``doc_id``, passages listed twice) in a keyword-heavy search by the title, folding off."""
    resp = httpx.get(url + "/v1/search", params={"q": title, "k": 10, "collapse": "false"}, timeout=120)
    resp.raise_for_status()
    chunks = Counter(h["chunk"]["chunk_id"] for h in resp.json()["hits"])
    own = sum(1 for h in resp.json()["hits"] if h["chunk"]["doc_id"] == doc_id)
    return own, sum(c - 1 for c in chunks.values())


def verify(url: str, base_ids: set[str], ledger: Ledger) -> dict[str, int]:
    """Compare the listing and a title search of every upload with the ledger after the load."""
    resp = httpx.get(url + "/v1/documents", timeout=120)
    resp.raise_for_status()
    docs = resp.json()["documents"]
    ids = Counter(d["doc_id"] for d in docs)
    upload_titles = set(ledger.uploaded.values())
    titles = Counter(d["title"] for d in docs if d["title"] in upload_titles)
    alive = set(ledger.uploaded) - ledger.deleted
    lost = {d for d in base_ids | alive if d not in ids}
    stale = {d for d in ledger.deleted if d in ids}
    duplicated = sum(c - 1 for c in ids.values()) + sum(c - 1 for c in titles.values())
    for doc_id, title in ledger.uploaded.items():
        own, twice = title_hits(url, title, doc_id)
        duplicated += twice
        if doc_id in alive and own == 0:
            lost.add(doc_id)
        if doc_id in ledger.deleted and own:
            stale.add(doc_id)
    unexpected = set(ids) - base_ids - set(ledger.uploaded)
    return {"listed": len(docs), "base": len(base_ids), "uploaded": len(ledger.uploaded),
            "deleted": len(ledger.deleted), "unacknowledged": len(ledger.unacknowledged),
            "lost": len(lost), "duplicated": duplicated, "stale": len(stale), "unexpected": len(unexpected)}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def kind_table(calls: list[Call], seconds: float) -> list[str]:
    """Markdown rows: kind / requests / errors / 503 busy / p50 / p95 (ms, over every answered request)."""
    lines = ["| mixed load | requests | errors | 503 index_busy | p50 ms | p95 ms |", "|---|---:|---:|---:|---:|---:|"]
    for kind in (*KINDS, "all"):
        mine = [c for c in calls if kind in (c.kind, "all")]
        lat = [c.latency * 1000 for c in mine if c.status]
        errors = sum(c.outcome == "error" for c in mine)
        busy = sum(c.outcome == "busy" for c in mine)
        label = f"**all** ({len(mine) / seconds:.1f} req/s)" if kind == "all" else LABELS.get(kind, kind)
        lines.append(f"| {label} | {len(mine)} | {errors} | {busy} | {pct(lat, .5):.0f} | {pct(lat, .95):.0f} |")
    return lines
