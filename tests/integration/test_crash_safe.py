"""Crash-safe updates with real processes, Chroma and MiniLM: `sanad ingest` of an updated folder of 40
articles (the five sample articles + 35 dev news articles) is SIGKILLed at every step of its switch.

While it is frozen, and after the kill before any re-run, every article is listed and served as one
whole version (the old one until the registry write, and on each search side until that side switched),
never a half-written one; the next `sanad ingest` then leaves exactly what a clean ingest of the folder
gives (doc ids, chunk ids and counts per article, keyword hits). A second writer on the same Chroma
server leaves a live writer's hidden work alone and cleans up a dead one's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.retrieval.keyword import BM25Index
from rag.retrieval.store import ChromaStore
from rag.retrieval.store_rows import journal
from rag.settings import Settings
from tests.conftest import SEEDS, SHARED, minilm_dir

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEV_CORPUS = SHARED / "eval" / "dev" / "corpus_news_dev"
MARK = "فقرة أضيفت في النسخة الثانية من هذا الخبر"
QUERIES = ["الجيش الوطني الليبي", "روسيا", "الحكومة", "الانتخابات", MARK]
STAGES = ["chunks", "records", "switch", "keyword", "delete"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANAD_")}
    env.update({"SANAD_DATA_DIR": str(data_dir), "SANAD_EMBED_MODEL": str(minilm_dir()),
                "SANAD_OLLAMA_HOST": "http://127.0.0.1:9", "SANAD_OLLAMA_TIMEOUT": "2", "HF_HUB_OFFLINE": "1",
                "SANAD_EMBED_BATCH_SIZE": "16"})
    env.update(extra)
    return env


def _ingest(folder: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "cli.main", "ingest", str(folder), "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout))


def _settings(env: dict[str, str]) -> Settings:
    return Settings(data_dir=Path(env["SANAD_DATA_DIR"]), embed_model=env["SANAD_EMBED_MODEL"],
                    chroma_host=env.get("SANAD_CHROMA_HOST") or None,
                    chroma_port=int(env.get("SANAD_CHROMA_PORT") or 8000))


class Index:
    """A reader of one index, as another process sees it; closed (client cache cleared) on exit."""

    def __init__(self, env: dict[str, str]) -> None:
        self.settings = _settings(env)
        self.store = ChromaStore.from_settings(self.settings)
        self.keyword = BM25Index(self.settings.keyword_dir, self.store)

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()

    def served(self) -> dict[str, dict[str, list[str]]]:
        """doc id -> side -> the chunk ids that side serves (dense: what Chroma lets readers see)."""
        out: dict[str, dict[str, list[str]]] = {}
        for chunk in self.store.iter_chunks():
            out.setdefault(chunk.doc_id, {"dense": [], "keyword": []})["dense"].append(chunk.chunk_id)
        self.keyword.refresh_if_stale()
        state = self.keyword._state
        assert state is not None
        for seg, live in zip(state.segments, state.lives):
            for row, alive in enumerate(live):
                if alive:
                    record = seg.records[row]
                    out.setdefault(record["doc_id"], {"dense": [], "keyword": []})["keyword"].append(record["chunk_id"])
        return {d: {side: sorted(ids) for side, ids in sides.items()} for d, sides in out.items()}

    def keyword_hits(self) -> dict[str, list[str]]:
        self.keyword.refresh_if_stale()
        return {q: [c.chunk_id for c, _ in self.keyword.search(q, 10)] for q in QUERIES}

    def summary(self) -> dict[str, Any]:
        """What must equal a clean ingest: records (doc id -> chunks, content hash), chunk ids, keyword hits."""
        records = {d: (r["chunks"], r["content_hash"]) for d, r in self.store.doc_records().items()}
        chunks: dict[str, list[str]] = {}
        for tag in self.store.chunk_tags(doc_ids=sorted(records)):
            chunks.setdefault(tag.doc_id, []).append(tag.chunk_id)
        return {"records": records, "chunks": {d: sorted(ids) for d, ids in chunks.items()},
                "keyword": self.keyword_hits(), "rows": self.store._chunks.count(),
                "journal": journal(self.store.collection_meta())}


def _write_folder(folder: Path, seed_dir: Path, updated: bool) -> None:
    folder.mkdir(exist_ok=True)
    files = sorted(seed_dir.glob("*.txt")) + sorted(DEV_CORPUS.glob("*.txt"))[100:135]
    for n, source in enumerate(files):
        text = source.read_text(encoding="utf-8").rstrip()
        if updated:
            text += f"\n\n{MARK} رقم {n}.\n"
        (folder / source.name).write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def update(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The folder (updated in place after the first ingest), the index of its old version (a template to
    copy), and what a clean ingest of the updated folder gives."""
    if len(list(DEV_CORPUS.glob("*.txt"))) < 135:
        pytest.skip("dev corpus not available")
    root = tmp_path_factory.mktemp("crash")
    folder = root / "articles"
    seed_dir = SEEDS
    _write_folder(folder, seed_dir, updated=False)
    template = _env(root / "old-index")
    assert _ingest(folder, template)["added"] == 40
    with Index(template) as index:
        old, old_hashes = index.served(), {d: r["content_hash"] for d, r in index.store.doc_records().items()}
    clean_folder = root / "clean" / "articles"
    clean_folder.parent.mkdir()
    _write_folder(clean_folder, seed_dir, updated=True)
    clean = _env(root / "clean-index")
    _ingest(clean_folder, clean)
    with Index(clean) as index:
        expected, new = index.summary(), index.served()
    _write_folder(folder, seed_dir, updated=True)
    yield {"folder": folder, "template": Path(template["SANAD_DATA_DIR"]), "expected": expected, "old": old,
           "new": new, "root": root,
           "old_hashes": old_hashes}


def _frozen(stage: str, folder: Path, env: dict[str, str], sentinel: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.integration.freeze_ingest", str(sentinel), stage, "ingest", str(folder)]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 900
    while not sentinel.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if not sentinel.exists():
        proc.kill()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        pytest.fail(f"the ingest never reached stage {stage!r}: {err[-2000:]}")
    return proc


def _one_whole_version(served: dict[str, dict[str, list[str]]], old: dict[str, Any], new: dict[str, Any],
                       *, only_old: bool) -> None:
    """Every article is served on each side as exactly its old or its new chunk set (the old one only,
    when ``only_old``): never neither, never a mix, never a half-written version."""
    assert sorted(served) == sorted(new), "an article is missing from search"
    for doc_id, sides in served.items():
        for side, ids in sides.items():
            allowed = [old[doc_id][side]] if only_old else [old[doc_id][side], new[doc_id][side]]
            assert ids in allowed, (doc_id, side, ids[:3])


@pytest.mark.parametrize("stage", STAGES)
def test_a_killed_update_serves_whole_versions_and_the_next_run_equals_a_clean_ingest(
        update: dict[str, Any], stage: str) -> None:
    data = update["root"] / f"killed-{stage}"
    shutil.copytree(update["template"], data)
    env = _env(data)
    proc = _frozen(stage, update["folder"], env, update["root"] / f"sentinel-{stage}")
    try:
        with Index(env) as index:  # while the update is frozen at this step
            _one_whole_version(index.served(), update["old"], update["new"], only_old=stage == "chunks")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    with Index(env) as index:  # after the kill, before any other run
        docs = index.store.documents()
        served = index.served()
        assert len(docs) == 40 and all(d.chunks > 0 for d in docs)
        _one_whole_version(served, update["old"], update["new"], only_old=stage == "chunks")
        index.keyword.refresh_if_stale()
        for info in docs:  # every article is found by its title
            assert info.doc_id in {c.doc_id for c, _ in index.keyword.search(info.title, 10)}, info.title
        if stage == "chunks":
            assert not [c for c, _ in index.keyword.search(MARK, 40) if MARK in c.text], "a new version is served"
            assert {d.doc_id: d.content_hash for d in docs} == update["old_hashes"], "the old versions are listed"

    report = _ingest(update["folder"], env)
    assert sorted(report) and not report["failed"]
    with Index(env) as index:
        assert index.summary() == update["expected"]


def test_a_live_writers_work_is_left_alone_and_a_dead_ones_cleaned_up(chroma_server: Any, tmp_path: Path,
                                                                    seed_dir: Path) -> None:
    """Two data folders on one `chroma run` (the write lock covers one folder): B's ingests never purge
    A's in-flight update while A lives, and the first one after A died removes what A left."""
    if len(list(DEV_CORPUS.glob("*.txt"))) < 20:
        pytest.skip("dev corpus not available")
    server = {"SANAD_CHROMA_HOST": chroma_server.host, "SANAD_CHROMA_PORT": str(chroma_server.port)}
    a_env, b_env = _env(tmp_path / "a", **server), _env(tmp_path / "b", **server)
    folder_a, folder_b = tmp_path / "in-a", tmp_path / "in-b"
    folder_a.mkdir()
    folder_b.mkdir()
    for n, source in enumerate(sorted(DEV_CORPUS.glob("*.txt"))[200:210]):
        shutil.copy(source, folder_a if n < 6 else folder_b)
    _ingest(folder_a, a_env)
    for path in folder_a.glob("*.txt"):
        path.write_text(path.read_text(encoding="utf-8") + f"\n\n{MARK}\n", encoding="utf-8")
    proc = _frozen("chunks", folder_a, a_env, tmp_path / "sentinel")
    try:
        with Index(a_env) as index:
            open_writes = journal(index.store.collection_meta())
            hidden = len(index.store.chunk_tags(gen=next(iter(open_writes))))
        assert len(open_writes) == 1 and hidden > 0
        assert _ingest(folder_b, b_env)["added"]  # B writes while A is frozen mid-update
        with Index(b_env) as index:
            assert journal(index.store.collection_meta()) == open_writes, "B took over A's live work"
            assert len(index.store.chunk_tags(gen=next(iter(open_writes)))) == hidden
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    report = _ingest(folder_b, b_env)  # A is dead now: B's next run cleans up after it
    assert report["unchanged"] == 4
    with Index(b_env) as index:
        assert not journal(index.store.collection_meta())
        assert not index.store.chunk_tags(gen=next(iter(open_writes)))
        records = index.store.doc_records()
        assert len(records) == 10 and all(MARK not in r["title"] for r in records.values())
        index.keyword.refresh_if_stale()
        assert not [c for c, _ in index.keyword.search(MARK, 40) if MARK in c.text], "A's half-written update"
        assert index.store._chunks.count() == index.store.count_chunks() == sum(r["chunks"] for r in records.values())


def test_chunks_stored_before_versions_are_hidden_when_replaced(tmp_path: Path) -> None:
    """An index written before versions existed (ids ``doc::N``, no version in the metadata): replacing
    or removing such an article hides its old chunks like any other version."""
    from rag.ingestion.versions import Versions
    from rag.types import Article

    store = ChromaStore.from_settings(Settings(data_dir=tmp_path / "data"))
    try:
        article = Article("a", "عنوان", "نص قديم", "a.txt")
        store._chunks.add(ids=["a::0", "a::1"], embeddings=[[1.0, 0.0], [0.0, 1.0]], documents=["نص", "قديم"],
                          metadatas=[{"doc_id": "a", "ordinal": n} for n in range(2)])  # the old layout
        store.put_doc(article, 2, "complete")
        versions = Versions(store, BM25Index(tmp_path / "keyword", store))
        gen = versions.open()
        versions.close(gen, [("a", "a")])  # a new version of "a" switched in: the old chunks are hidden
        assert store.chunk_ids("a") == [] and [c for c, _ in store.query([1.0, 0.0], 5)] == []
        versions.finish(gen, ["a"], {})
        assert store.chunk_tags(doc_ids=["a"]) == [] and not journal(store.collection_meta())
    finally:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()


UPLOAD = """import sys
from pathlib import Path
from tests.integration.freeze_ingest import _freeze
_freeze(Path(sys.argv[1]), "chunks")
from rag.settings import load_settings
from rag.wiring import build_service
service = build_service(load_settings(), load_llm=False)
service.upload([("خبر مرفوع.txt", Path(sys.argv[2]).read_bytes())])
"""


def test_an_upload_killed_mid_write_is_ingested_by_the_next_run(tmp_path: Path) -> None:
    """The API's upload path in a real process, SIGKILLed after its chunk write: nothing half-written is
    listed, the bytes are kept under the data folder, and the next run (any ingest) indexes the upload."""
    env = _env(tmp_path / "data")
    text = sorted(DEV_CORPUS.glob("*.txt"))[300].read_text(encoding="utf-8")
    sent = tmp_path / "sent.txt"
    sent.write_text(text, encoding="utf-8")
    sentinel = tmp_path / "sentinel"
    proc = subprocess.Popen([sys.executable, "-c", UPLOAD, str(sentinel), str(sent)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while not sentinel.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert sentinel.exists(), (proc.stderr.read().decode(errors="replace") if proc.stderr else "")[-2000:]
    kept = list((tmp_path / "data" / "uploads").rglob("خبر_مرفوع.txt"))
    assert [p.read_text(encoding="utf-8") for p in kept] == [text], "the uploaded bytes are kept"
    with Index(env) as index:
        assert index.store.documents() == [] and index.store.count_chunks() == 0

    empty = tmp_path / "nothing-else"
    empty.mkdir()
    assert _ingest(empty, env)["added"] == 1
    with Index(env) as index:
        docs = index.store.documents()
        assert [(d.doc_id, d.source) for d in docs] == [("خبر_مرفوع", "upload:خبر_مرفوع.txt")]
        assert index.store.count_chunks() == index.store._chunks.count() == docs[0].chunks
        index.keyword.refresh_if_stale()
        assert {c.doc_id for c, _ in index.keyword.search(docs[0].title, 5)} == {"خبر_مرفوع"}
    assert not any((tmp_path / "data" / "uploads").iterdir()), "the kept copy goes once it is indexed"
