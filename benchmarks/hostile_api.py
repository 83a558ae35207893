"""Hostile API inputs (issue 13): fire a fixed set of bad requests at a live server, as `sanad serve` runs it (the
API with the chat mounted at /, uvicorn with ``api.server.server_options()``), and count what came back.

Over the fake service (no models needed). Each request is bad on purpose: lone surrogates, hostile JSON, unknown
routes and wrong methods, traversal ids, every API route without the key or with a wrong one, 64 MB chunked bodies,
over-long URLs and headers, malformed HTTP, foreign-origin preflights, questions with no words, a rebinding Host.
Per category: requests, 5xx answers, tracebacks in the server's log, answers that kept the documented error shape
(and, for preflights, granted no CORS). Every failure column must be 0.

    .venv/bin/python benchmarks/hostile_api.py
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from api.server import server_options  # noqa: E402
from cli.serve_cmd import build_server  # noqa: E402
from rag.settings import Settings  # noqa: E402
from tests.fakes.fake_service import make_fake_service  # noqa: E402
from tests.fakes.raw_http import exchange, head, json_body, multipart_body, push_chunked, split  # noqa: E402
from tests.integration.live_server import ServerThread  # noqa: E402

KEY = "bench-key"
AUTH = {"authorization": f"Bearer {KEY}"}
JSON = {"content-type": "application/json", **AUTH}
ROUTES = [("POST", "/v1/ask"), ("GET", "/v1/search?q=x"), ("POST", "/v1/search"), ("GET", "/v1/documents"),
          ("GET", "/v1/documents/doc0"), ("DELETE", "/v1/documents/doc0"), ("POST", "/v1/documents"),
          ("GET", "/v1/models"), ("GET", "/v1/models/sanad"), ("POST", "/v1/chat/completions"),
          ("POST", "/v1/timeline"), ("GET", "/readyz"), ("GET", "/docs"), ("GET", "/openapi.json")]
SURROGATE_BODIES = [
    ("/v1/ask", '{"question": "\\ud800"}'), ("/v1/ask", '{"question": "\\ud800", "stream": true}'),
    ("/v1/ask", '{"question": "\\udfff", "extractive": true}'),
    ("/v1/ask", '{"question": "x", "history": [{"role": "user", "content": "\\ud800"}]}'),
    ("/v1/ask", '{"question": "x", "filters": {"sources": ["\\ud800"]}}'),
    ("/v1/ask", '{"question": "x", "filters": {"doc_ids": ["\\udc00"]}}'),
    ("/v1/search", '{"q": "\\ud800"}'), ("/v1/timeline", '{"query": "\\ud800"}'),
    ("/v1/chat/completions", '{"model": "sanad", "messages": [{"role": "user", "content": "\\ud800"}]}'),
    ("/v1/chat/completions", '{"model": "sanad", "stream": true, "messages": [{"role": "user", "content": "\\ud800"}]}'),
    ("/v1/chat/completions", '{"model": "sanad", "messages": [{"role": "user", "content": [{"type": "text", '
                             '"text": "\\udc00"}]}]}'),
    ("/v1/chat/completions", '{"model": "\\ud800", "messages": [{"role": "user", "content": "x"}]}'),
]
HOSTILE_JSON = [b'{"question": "\xff\xfe"}', b'{"a":' * 50000 + b"1" + b"}" * 50000, b"[1, 2]", b'{"question": 5}',
                b"nul\x00", b"", b"{", b'{"question": null}', b'{"question": "x", "k": -1}', b'{"question": "x", '
                b'"k": 99999}', b'{"question": "' + b"x" * 5000 + b'"}', b'{"question": ["x"]}']
NO_WORDS = ["\u200b", "\u200f\u200e", "\x01\x02\x7f", "؟؟ !!", "\u0651\u064e", "ـــ"]
UNKNOWN = [("GET", "/v1/nope"), ("POST", "/v1"), ("GET", "/v1/models/sanad/x"), ("GET", "/v1/ask"),
           ("PUT", "/v1/ask"), ("DELETE", "/v1/ask"), ("GET", "/v1/chat/completions"), ("PATCH", "/v1/documents"),
           ("PUT", "/healthz"), ("POST", "/healthz"), ("POST", "/v1/documents/doc0"), ("PUT", "/v1/documents/doc0"),
           ("DELETE", "/v1/documents"), ("GET", "/v1/models/gpt-4o"), ("OPTIONS", "/v1/ask"), ("GET", "/v1/timeline"),
           ("GET", "/v1/documents/..%2f..%2fetc%2fpasswd"), ("DELETE", "/v1/documents/..%2F..%2Fdoc0"),
           ("GET", "/v1/documents/%2e%2e"), ("DELETE", "/v1/documents/..%5cdoc0"), ("GET", "/v1/documents/%ED%A0%80"),
           ("GET", "/v1/documents/" + "d" * 5000), ("GET", "/v1/search?q=x&k=abc"), ("GET", "/v1/search"),
           ("GET", "/v1/search?q=x&k=0")]
HEADS = [b"GET /v1/search?q=" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
         b"GET /v1/documents/" + b"d" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
         b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
         b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(5000)) + b"\r\n",
         b"\x16\x03\x01\x02\x00garbage\r\n\r\n", b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
         b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"G\x00T / HTTP/1.1\r\n\r\n",
         b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
         b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"]
ORIGINS = ["http://evil.example", "http://localhost:3000", "null"]


class Record:
    """Per category: requests, 5xx, answers that lost the error shape (or granted CORS)."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)

    def add(self, category: str, status: int, body: bytes, *, cors: bool = False) -> None:
        count = self.counts[category]
        count["requests"] += 1
        count["5xx"] += status >= 500
        count["shape lost"] += cors or (status >= 400 and not _shaped(body))
        self.statuses[category][status] += 1


def _shaped(body: bytes) -> bool:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return False
    return isinstance(error, dict) and set(error) == {"code", "message", "hint"} and bool(error["hint"])


class Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.found += bool(record.exc_info) or "Traceback" in record.getMessage()


def serve(settings: Settings) -> ServerThread:
    """The app and protocol `sanad serve` runs; log records reach the root logger (tracebacks counted)."""
    app = build_server(make_fake_service(), settings)
    return ServerThread(app, log_config=None, **server_options()).start()


def attack(url: str, record: Record) -> None:
    port = int(url.rsplit(":", 1)[1])
    with httpx.Client(base_url=url, timeout=60) as http:
        def send(category: str, method: str, path: str, **kwargs: object) -> None:
            resp = http.request(method, path, **kwargs)  # type: ignore[arg-type]
            record.add(category, resp.status_code, resp.content)

        for path, text in SURROGATE_BODIES:
            send("lone surrogates", "POST", path, content=text.encode(), headers=JSON)
        for data in HOSTILE_JSON:
            for path in ("/v1/ask", "/v1/search", "/v1/chat/completions"):
                send("hostile JSON bodies", "POST", path, content=data, headers=JSON)
        for text in NO_WORDS:
            send("questions with no words", "POST", "/v1/ask", json={"question": text}, headers=AUTH)
            send("questions with no words", "GET", "/v1/search", params={"q": text}, headers=AUTH)
            send("questions with no words", "POST", "/v1/chat/completions", headers=AUTH,
                 json={"model": "sanad", "messages": [{"role": "user", "content": text}]})
        for method, path in UNKNOWN:
            send("unknown routes, wrong methods, odd ids", method, path, headers=AUTH)
        for method, path in ROUTES:
            for bad in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {KEY}"},
                        {"authorization": "Bearer"}):
                send("every API route without the key", method, path, headers=bad)
        for origin in ORIGINS:
            for path in ("/v1/ask", "/v1/documents/doc0", "/gradio_api/info", "/"):
                resp = http.options(path, headers={"origin": origin, "access-control-request-method": "POST"})
                granted = any(k.startswith("access-control-") for k in resp.headers)
                record.add("foreign-origin preflights", resp.status_code,
                           resp.content if resp.status_code >= 400 else b"", cors=granted)
    for path, ctype, body in [("/v1/ask", "application/json", json_body),
                              ("/v1/documents", "multipart/form-data; boundary=B", multipart_body)]:
        for auth in (None, f"Bearer {KEY}"):
            _, raw = push_chunked(port, head(path, ctype, auth), body())
            status, _, payload = split(raw)
            record.add("64 MB chunked bodies", status, payload)
    for raw in HEADS:
        status, _, payload = split(exchange(port, raw))
        record.add("malformed HTTP, long URLs and headers", status, payload)


def rebinding(url: str, record: Record) -> None:
    for method, path in [("DELETE", "/v1/documents/doc0"), ("GET", "/v1/documents"), ("POST", "/v1/ask"),
                         ("GET", "/"), ("GET", "/gradio_api/info")]:
        resp = httpx.request(method, url + path, headers={"host": "rebind.evil.example"}, json={"question": "x"})
        record.add("rebinding Host (no key)", resp.status_code, resp.content)


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    catcher = Tracebacks()
    logging.getLogger().addHandler(catcher)
    record = Record()
    data = Path(tempfile.mkdtemp(prefix="sanad-hostile-"))
    keyed = serve(Settings(data_dir=data / "keyed", api_key=KEY))  # type: ignore[call-arg]
    bare = serve(Settings(data_dir=data / "open"))  # type: ignore[call-arg]
    run: list[Callable[[], None]] = [lambda: attack(keyed.url, record), lambda: rebinding(bare.url, record)]
    for step in run:
        step()
    keyed.stop()
    bare.stop()  # an error is logged after its response went out: count only once the servers stopped
    print("| bad API inputs | requests | 5xx | shape lost / CORS granted | answers |")
    print("|---|---:|---:|---:|---|")
    total: Counter[str] = Counter()
    for category, count in record.counts.items():
        total.update(count)
        answers = ", ".join(f"{status}×{n}" for status, n in sorted(record.statuses[category].items()))
        print(f"| {category} | {count['requests']} | {count['5xx']} | {count['shape lost']} | {answers} |")
    print(f"| **all** | {total['requests']} | {total['5xx']} | {total['shape lost']} | |")
    print(f"\ntracebacks in the server log: {catcher.found}")
    return 0 if not (total["5xx"] or total["shape lost"] or catcher.found) else 1


if __name__ == "__main__":
    raise SystemExit(main())
