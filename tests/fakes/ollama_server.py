"""A fake Ollama server: real HTTP on 127.0.0.1 that the unmodified ``ollama`` client talks to.

Scriptable per request (a queue of replies, or a function of the request body), with a delay (slow
server), a stream cut mid-answer, HTTP errors shaped like Ollama's, and a record of every request body
so tests can assert what the prompt contained and how big it was.

Like Ollama, a reply stops after ``options.num_predict`` tokens (one streamed piece = one token here) with
``done_reason: "length"``; the final chunk's ``prompt_eval_count``/``eval_count`` are the tokens read and
written (a scripted ``prompt_tokens`` / ``eval_count`` overrides them).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOllama", "Reply", "passages_of", "prompt_of"]

_PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>\n?(.*?)\n?</passage>', re.DOTALL)


@dataclass
class Reply:
    """One scripted answer. ``cut_after``: stream that many pieces then drop the connection."""

    text: str = ""
    status: int = 200
    error: str | None = None
    delay: float = 0.0
    piece_delay: float = 0.0
    cut_after: int | None = None
    done_reason: str = "stop"
    prompt_tokens: int | None = None
    eval_count: int | None = None
    #: misbehaving Ollama: send these bytes as the whole body (HTML, garbage, JSON of another shape)
    raw: bytes | None = None
    content_type: str = "application/json"


Script = Reply | str | Callable[[dict[str, Any]], "Reply | str"]


def prompt_of(body: dict[str, Any]) -> str:
    """All message contents of a chat request, joined."""
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def passages_of(body: dict[str, Any]) -> dict[int, str]:
    """{n: passage text} as numbered in the prompt of a chat request."""
    return {int(n): text for n, text in _PASSAGE.findall(prompt_of(body))}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeOllama:
    """Start with ``start()``; ``url`` is the host to give the client; ``requests`` records
    {"method", "path", "body"} for every request."""

    def __init__(self, models: list[str] | None = None, context_length: int = 40960) -> None:
        self.models: list[str] = list(models if models is not None else ["qwen3:4b"])
        self.context_length = context_length
        self.replies: deque[Script] = deque()
        self.default: Script = "NO_ANSWER"
        #: when set, GET /api/tags answers these bytes (a misbehaving server's model listing)
        self.tags_raw: bytes | None = None
        self.requests: list[dict[str, Any]] = []
        self._server: _Server | None = None
        self._lock = threading.Lock()

    # --- control -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Script) -> FakeOllama:
        """Queue replies for the next chat requests (then ``default`` answers)."""
        self.replies.extend(replies)
        return self

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == "/api/chat"]

    def start(self) -> FakeOllama:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            script = self.replies.popleft() if self.replies else self.default
        if callable(script):
            script = script(body)
        return Reply(text=script) if isinstance(script, str) else script

    def has_model(self, name: str) -> bool:
        return name in self.models or f"{name}:latest" in self.models


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (time-out tests) is expected; anything else is still printed."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOllama
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        self.owner.requests.append({"method": self.command, "path": self.path, "body": body})
        return body

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _raw(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._body()
        if self.path == "/api/tags" and self.owner.tags_raw is not None:
            self._raw(200, "application/json", self.owner.tags_raw)
        elif self.path == "/api/tags":
            models = [{"name": m, "model": m, "modified_at": _now(), "size": 2_600_000_000,
                       "digest": "0" * 64, "details": {"format": "gguf", "family": "qwen3",
                                                      "parameter_size": "4.0B", "quantization_level": "Q4_K_M"}}
                      for m in self.owner.models]
            self._json(200, {"models": models})
        elif self.path == "/api/version":
            self._json(200, {"version": "0.12.0"})
        else:
            self._json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:
        body = self._body()
        model = str(body.get("model") or body.get("name") or "")
        if self.path not in ("/api/chat", "/api/show"):
            self._json(404, {"error": "404 page not found"})
        elif not self.owner.has_model(model):
            self._json(404, {"error": f"model '{model}' not found"})
        elif self.path == "/api/show":
            self._json(200, {"modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
                             "details": {"family": "qwen3"}, "capabilities": ["completion"],
                             "model_info": {"general.architecture": "qwen3",
                                            "qwen3.context_length": self.owner.context_length}})
        else:
            self._chat(body, model)

    def _chat(self, body: dict[str, Any], model: str) -> None:
        reply = self.owner._next(body)
        time.sleep(reply.delay)
        if reply.raw is not None:
            self._raw(reply.status, reply.content_type, reply.raw)
            return
        if reply.error is not None or reply.status != 200:
            self._json(reply.status if reply.status != 200 else 500, {"error": reply.error or "error"})
            return
        prompt_tokens = reply.prompt_tokens or max(1, len(prompt_of(body)) // 3)
        pieces, done_reason = _limited(re.findall(r"\S+\s*|\s+", reply.text), reply, body)
        if body.get("stream", True):
            self._stream(pieces, reply, model, prompt_tokens, done_reason)
            return
        self._json(200, {**_final(model, reply, prompt_tokens, pieces, done_reason),
                         "message": {"role": "assistant", "content": "".join(pieces)}})

    def _stream(self, pieces: list[str], reply: Reply, model: str, prompt_tokens: int, done_reason: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, piece in enumerate(pieces):
            if reply.cut_after is not None and i >= reply.cut_after:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # drop mid-answer: no done line, no final chunk
                return
            self._chunk({"model": model, "created_at": _now(),
                         "message": {"role": "assistant", "content": piece}, "done": False})
            time.sleep(reply.piece_delay)
        self._chunk({**_final(model, reply, prompt_tokens, pieces, done_reason),
                     "message": {"role": "assistant", "content": ""}})
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, payload: dict[str, Any]) -> None:
        line = (json.dumps(payload, ensure_ascii=False) + "\n").encode("utf-8")
        self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
        self.wfile.flush()


def _limited(pieces: list[str], reply: Reply, body: dict[str, Any]) -> tuple[list[str], str]:
    """The pieces Ollama would send: at most ``options.num_predict`` of them (then done_reason "length")."""
    limit = (body.get("options") or {}).get("num_predict")
    if isinstance(limit, int) and limit >= 0 and len(pieces) > limit:
        return pieces[:limit], "length"
    return pieces, reply.done_reason


def _final(model: str, reply: Reply, prompt_tokens: int, pieces: list[str], done_reason: str) -> dict[str, Any]:
    return {"model": model, "created_at": _now(), "done": True, "done_reason": done_reason,
            "total_duration": 1_000_000, "load_duration": 100_000, "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": 500_000, "eval_count": reply.eval_count or max(1, len(pieces)),
            "eval_duration": 400_000}
