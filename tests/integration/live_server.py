"""Helpers for tests/benchmarks that talk to a real server: a free port, uvicorn in a thread, and a
fake-Ollama reply that quotes the first passage of the prompt with its marker (a grounded answer)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from tests.fakes.ollama_server import passages_of, prompt_of

__all__ = ["free_port", "ServerThread", "cite_first_passage", "wait_http"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cite_first_passage(body: dict[str, Any]) -> str:
    """Answer with the first sentence of the lowest-numbered passage, cited — what a faithful model does."""
    passages = passages_of(body)
    if not passages:
        prompt = prompt_of(body)
        if "Last question:" in prompt:  # the condense step: echo the question back as the standalone one
            return prompt.rsplit("Last question:", 1)[1].split("Standalone question:")[0].strip()
        return "NO_ANSWER"
    n = min(passages)
    sentence = passages[n].split(".")[0].strip()
    return f"{sentence}. [{n}]"


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"server at {url} did not come up in {timeout:.0f}s")


class ServerThread:
    """uvicorn serving an ASGI app on 127.0.0.1 in a daemon thread; ``stop()`` asks it to exit."""

    def __init__(self, app: Any, port: int | None = None, **options: Any) -> None:
        """``options``: more ``uvicorn.Config`` arguments (``sanad serve``'s ``api.server.server_options()``)."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        wait_http(self.url + "/healthz")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
