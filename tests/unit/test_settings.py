"""Settings: env prefix, config file, derived values, and every field documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.settings import Settings, load_settings


def test_env_prefix_and_names_other_tools_rely_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("SANAD_EMBED_MODEL", "/models/x")
    monkeypatch.setenv("SANAD_CHROMA_HOST", "10.0.0.5")
    monkeypatch.setenv("SANAD_CHROMA_PORT", "9000")
    monkeypatch.setenv("SANAD_OLLAMA_HOST", "http://gpu:11434")
    monkeypatch.setenv("SANAD_OLLAMA_MODEL", "qwen2.5:7b")
    s = Settings()
    assert s.data_dir == tmp_path / "d"
    assert s.embed_model == "/models/x"
    assert (s.chroma_mode, s.chroma_host, s.chroma_port) == ("server", "10.0.0.5", 9000)
    assert (s.ollama_host, s.ollama_model) == ("http://gpu:11434", "qwen2.5:7b")


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.embed_model == "intfloat/multilingual-e5-small"
    assert (s.query_prefix, s.passage_prefix) == ("query: ", "passage: ")
    assert s.chroma_mode == "embedded" and s.data_dir == Path(".sanad")
    assert s.ollama_model == "qwen3:4b"


def test_prefixes_empty_for_non_e5_and_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings(embed_model="/x/minilm").query_prefix == ""
    assert Settings(embed_model="/x/minilm", embed_query_prefix="q: ").query_prefix == "q: "


def test_config_file_and_env_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "custom.toml"
    cfg.write_text('collection = "from_file"\ntop_k = 7\n', encoding="utf-8")
    monkeypatch.setenv("SANAD_TOP_K", "9")
    s = load_settings(cfg)
    assert s.collection == "from_file" and s.top_k == 9


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_blank_chroma_host_means_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANAD_CHROMA_HOST", " ")
    assert Settings().chroma_mode == "embedded"


def test_every_setting_is_documented() -> None:
    missing = [name for name, f in Settings.model_fields.items() if not f.description]
    assert not missing
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    undocumented = [name for name in Settings.model_fields if f"SANAD_{name.upper()}" not in doc]
    assert not undocumented, f"docs/configuration.md lacks {undocumented} (regenerate: python -m rag.settings)"
