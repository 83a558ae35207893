"""Two writers in two real processes at once (issue 11): `sanad ingest` of a folder while a live `sanad serve`
takes uploads over HTTP, both on one data folder. Nothing may be lost: every article of both is listed and
found by a keyword search for its own title, and the index is consistent (no journal entry, no orphan)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rag.retrieval.store import ChromaStore
from rag.wiring import build_service
from tests.conftest import SHARED, minilm_dir
from tests.integration.live_server import free_port, wait_http
from tests.integration.test_ingest import assert_consistent

pytestmark = pytest.mark.integration

DEV_CORPUS = SHARED / "eval" / "dev" / "corpus_news_dev"
ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANAD_")}
    env.update({"SANAD_DATA_DIR": str(data_dir), "SANAD_EMBED_MODEL": str(minilm_dir()),
                "SANAD_OLLAMA_HOST": "http://127.0.0.1:9", "SANAD_OLLAMA_TIMEOUT": "2", "HF_HUB_OFFLINE": "1",
                "SANAD_EMBED_BATCH_SIZE": "4"})
    return env


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", timeout=180)
    except TimeoutError:
        proc.kill()
        raise
    return proc, url


def _upload_all(url: str, files: list[Path]) -> list[dict[str, str]]:
    """One upload request per article (each its own write), as a newsroom tool would send them."""
    results = []
    with httpx.Client(base_url=url, timeout=300) as http:
        for f in files:
            resp = http.post("/v1/documents", files=[("files", (f.name, f.read_bytes(), "text/plain"))])
            assert resp.status_code == 200, resp.text
            results.extend(resp.json()["files"])
    return results


def test_cli_ingest_and_api_uploads_at_once_lose_nothing(make_settings, tmp_path: Path) -> None:
    files = sorted(DEV_CORPUS.glob("*.txt"))[100:130]
    folder, uploads = tmp_path / "folder", files[1::2]
    folder.mkdir()
    for f in files[0::2]:
        shutil.copy(f, folder)
    settings = make_settings()
    env = _env(settings.data_dir)
    server, url = _serve(env)
    try:
        ingest = subprocess.Popen([sys.executable, "-m", "cli.main", "ingest", str(folder)], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        uploaded = _upload_all(url, uploads[:1])
        raced = ingest.poll() is None  # the CLI writer was still at work when the API's first write landed
        uploaded += _upload_all(url, uploads[1:])
        out, errors = ingest.communicate(timeout=600)
        assert ingest.returncode == 0, (out, errors)
        assert raced, "the CLI ingest ended before the first upload: the two writers did not overlap"
        assert out.startswith("added 15"), out
        assert [(r["doc_id"], r["status"]) for r in uploaded] == [(f.stem, "added") for f in uploads], uploaded
        listed_ids = {d["doc_id"] for d in httpx.get(url + "/v1/documents", timeout=60).json()["documents"]}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    expected = {f.stem for f in files}
    assert listed_ids == expected  # the server's own listing, after both writers finished
    store = ChromaStore.from_settings(settings)
    assert set(store.doc_records()) == expected
    assert_consistent(store, settings)
    service = build_service(settings, load_llm=False)
    for info in service.documents():
        hits = service.search(info.title, k=5, mode="keyword").hits
        assert info.doc_id in {h.chunk.doc_id for h in hits}, info.title
