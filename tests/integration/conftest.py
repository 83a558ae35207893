"""Integration fixtures: a real `chroma run` server in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_system


@dataclass(frozen=True)
class ChromaServer:
    host: str
    port: int
    path: Path
    pid: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM by PID, then SIGKILL if a draining write keeps it alive too long."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """`chroma run --host 127.0.0.1 --port FREE --path TMP`, ready when its heartbeat answers."""
    chroma = Path(sys.executable).parent / "chroma"
    require_system(chroma.exists(), "the `chroma` command", "pip install -e '.[test]' (chromadb installs it)")
    port, path = _free_port(), tmp_path / "chroma-server"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            if proc.poll() is not None:
                stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.fail(f"chroma run exited with {proc.returncode}: {stderr[-500:]}")
            if time.monotonic() > deadline:
                pytest.fail("chroma run did not answer within 60 s")
            time.sleep(0.2)
        yield ChromaServer("127.0.0.1", port, path, proc.pid)
    finally:
        _stop(proc)
        if proc.stderr:
            proc.stderr.close()
