"""An index built keyword-only gets vectors on the next ingest with a model: real embedded Chroma.

The CLI path (no model -> keyword-only, then MiniLM -> hybrid with dense search), a failure halfway that
leaves a consistent keyword-only index and is resumed, and a crash inside the collection swap.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rag.errors import IngestError
from rag.retrieval.embedder import built_without_vectors
from rag.retrieval.store import ChromaStore
from rag.retrieval.store_vectors import VectorSwap
from rag.types import Article, Chunk
from rag.wiring import build_service
from tests.conftest import minilm_dir

pytestmark = pytest.mark.integration

BUILT_WITHOUT = "keyword-only (index built without vectors)"


@pytest.fixture()
def articles(tmp_path: Path, seed_dir: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(seed_dir, folder)
    return folder


def _env(data_dir: Path, model: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANAD_")}
    env.update({"SANAD_DATA_DIR": str(data_dir), "SANAD_EMBED_MODEL": model, "SANAD_EMBED_OFFLINE_FALLBACK": "false",
                "SANAD_OLLAMA_HOST": "http://127.0.0.1:9", "SANAD_OLLAMA_TIMEOUT": "2", "HF_HUB_OFFLINE": "1"})
    return env


def _cli(args: list[str], env: dict[str, str]) -> Any:
    from cli.main import _register_commands, app

    if not any(c.name == "ingest" for c in app.registered_commands):
        _register_commands()
    return CliRunner().invoke(app, args, env=env)


def _status(env: dict[str, str]) -> dict[str, Any]:
    result = _cli(["status", "--json"], env)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_cli_keyword_only_build_then_an_ingest_with_the_model_makes_it_hybrid(make_settings, articles: Path,
                                                                            tmp_path: Path) -> None:
    data_dir = make_settings().data_dir
    without = _env(data_dir, str(tmp_path / "no-such-model"))
    built = _cli(["ingest", str(articles)], without)
    assert built.exit_code == 0 and built.stdout.startswith("added 5"), built.output
    status = _status(without)
    assert status["embed_mode"] == "keyword-only" and status["chunks"] > 0
    chunks = status["chunks"]

    with_model = _env(data_dir, str(minilm_dir()))
    assert _status(with_model)["embed_mode"] == BUILT_WITHOUT
    again = _cli(["ingest", str(articles), "--json"], with_model)
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["unchanged"] == 5 and report["added"] == 0 and report["chunks_embedded"] == chunks
    assert f"adding them to {chunks} stored chunks" in again.stderr

    status = _status(with_model)
    assert status["embed_mode"] == "hybrid" and status["chunks"] == chunks and status["documents"] == 5
    dense = _cli(["search", "ماذا قال ستولتنبرغ عن روسيا؟", "--mode", "dense", "--json"], with_model)
    assert dense.exit_code == 0, dense.output
    hits = json.loads(dense.stdout)["hits"]
    assert hits and all(h["dense_score"] is not None for h in hits)
    hybrid = json.loads(_cli(["search", "ماذا قال ستولتنبرغ عن روسيا؟", "--json"], with_model).stdout)
    assert any(h["dense_score"] is not None for h in hybrid["hits"])

    store = ChromaStore.from_settings(make_settings())
    vectors = store.chunk_vectors(store.chunk_ids())
    assert len(vectors) == chunks and {len(v) for v in vectors.values()} == {384}
    meta = store.collection_meta()
    assert meta["sanad:embed_model"] == str(minilm_dir()) and meta["sanad:embed_dim"] == 384
    assert not built_without_vectors(meta)
    assert {c.name for c in store._client.list_collections()} == {"sanad", "sanad__docs"}, "no staging left"
    assert _cli(["ingest", str(articles)], without).exit_code == 2, "now a missing model is refused, not hidden"


class _Failing:
    """Wraps an embedder: passage batches fail (like a model out of memory) after ``ok`` batches."""

    def __init__(self, inner: Any, ok: int) -> None:
        self._inner, self.ok, self.texts = inner, ok, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if self.ok <= 0:
            raise RuntimeError("out of memory")
        self.ok -= 1
        self.texts += len(texts)
        return list(self._inner.embed_passages(texts))


def test_failure_halfway_leaves_a_keyword_only_index_and_the_next_ingest_resumes(make_settings,
                                                                                 articles: Path,
                                                                                 tmp_path: Path) -> None:
    build_service(make_settings(embed_model=str(tmp_path / "none"), embed_offline_fallback=False),
                  load_llm=False).ingest([articles])
    service = build_service(make_settings(), load_llm=False)
    chunks = service.store.count_chunks()
    failing = _Failing(service.ingestor.embedder, ok=1)  # type: ignore[attr-defined]
    service.ingestor.embedder = failing  # type: ignore[attr-defined]
    service.ingestor.flush_chunks = 8  # type: ignore[attr-defined]
    with pytest.raises(IngestError):
        service.ingest([articles])
    assert failing.texts == 8
    assert service.health().embed_mode == BUILT_WITHOUT
    store = ChromaStore.from_settings(make_settings())
    assert {len(v) for v in store.chunk_vectors(store.chunk_ids()).values()} == {1}, "live vectors untouched"
    assert service.search("ستولتنبرغ").hits, "keyword search still works"

    resumed = build_service(make_settings(), load_llm=False)
    report = resumed.ingest([articles])
    assert report.chunks_embedded == chunks - 8 and len(report.unchanged) == 5
    assert resumed.health().embed_mode == "hybrid"
    assert {len(v) for v in resumed.store.chunk_vectors(resumed.store.chunk_ids()).values()} == {384}  # type: ignore[attr-defined]
    assert resumed.search("ستولتنبرغ", mode="dense").hits


class _Killed(BaseException):
    """Stands for the process dying: nothing in Sanad catches it."""


def test_a_swap_interrupted_by_a_crash_is_finished_when_the_store_opens(make_settings,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings()
    store = ChromaStore.from_settings(settings)
    article = Article("a", "عنوان", "نص المقال", "a.txt")
    store.put_doc(article, 2, "complete")
    chunks = [Chunk(f"a::{i}", "a", article.title, f"نص {i}", 0, 4, i, article.source) for i in range(2)]
    store.add_chunks(chunks, [[1.0], [1.0]])
    store.ensure_signature({"embed_model": "none (keyword-only)", "embed_dim": 1})
    store.update_collection_meta({"sanad:keyword_version": "v7"})
    signature = {"embed_model": "m", "embed_dim": 2}
    assert store.staged_vector_ids(signature) == set()
    store.stage_vectors(["a::0", "a::1"], [[1.0, 0.0], [0.0, 1.0]])

    def die(self: VectorSwap) -> None:
        raise _Killed

    monkeypatch.setattr(VectorSwap, "recover", die)  # the process dies right after the first rename
    with pytest.raises(_Killed):
        store.adopt_staged_vectors(signature)
    monkeypatch.undo()
    names = {c.name for c in store._client.list_collections()}
    assert "sanad" not in names and {"sanad__vectors", "sanad__keyword_only"} <= names

    reopened = ChromaStore.from_settings(settings)
    meta = reopened.collection_meta()
    assert meta["sanad:embed_model"] == "m" and meta["sanad:keyword_version"] == "v7"
    assert {c.name for c in reopened._client.list_collections()} == {"sanad", "sanad__docs"}
    assert [c.chunk_id for c, _ in reopened.query([0.0, 1.0], 1)] == ["a::1"]
