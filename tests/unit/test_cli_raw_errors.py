"""Bad settings, a read-only index and non-UTF-8 arguments are one clear line and exit code 2 (issue 13)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import main as cli_main
from cli.common import AppState


class _Failing:
    """Stands in for the facade: every call raises the exception the environment raised."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise self.exc

        return fail


@pytest.fixture()
def run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SANAD_CONFIG", raising=False)
    monkeypatch.delenv("SANAD_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)
    cli_main._register_commands()

    def _run(*args: str, failing: Exception | None = None) -> Any:
        if failing is not None:
            monkeypatch.setattr(AppState, "service", lambda self, **kwargs: _Failing(failing))
        return CliRunner().invoke(cli_main.app, list(args))

    return _run


def _one_clear_line(result: Any) -> str:
    text = result.output.strip()
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in text and "unexpected" not in text
    assert len(text.splitlines()) == 1, text
    return text


@pytest.mark.parametrize("content", ["data_dir = [\n", "= 1\n", "[x\n"])
def test_malformed_toml_is_one_line(run_cli, tmp_path: Path, content: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.toml").write_text(content, encoding="utf-8")
    result = run_cli("--config", str(tmp_path / "bad.toml"), "docs")
    assert result.exit_code == 2
    assert "bad.toml is not valid TOML" in _one_clear_line(result)


def test_default_sanad_toml_that_is_malformed_is_one_line(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "sanad.toml").write_text("chunk_size = \n", encoding="utf-8")
    result = run_cli("docs")
    assert result.exit_code == 2 and "sanad.toml is not valid TOML" in _one_clear_line(result)


def test_binary_toml_is_one_line(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00garbage")
    result = run_cli("--config", str(tmp_path / "bin.toml"), "docs")
    assert result.exit_code == 2 and "cannot read" in _one_clear_line(result)


@pytest.mark.parametrize("host", ["not a url", "ftp://x", "http://[::1", "http://x:abc", "http://", "11434"])
def test_garbage_ollama_host_is_refused_at_start(run_cli, monkeypatch, host: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SANAD_OLLAMA_HOST", host)
    result = run_cli("docs")
    assert result.exit_code == 2
    line = _one_clear_line(result)
    assert "invalid setting ollama_host" in line and "SANAD_OLLAMA_HOST" in line


@pytest.mark.parametrize("host", ["http://127.0.0.1:11434", "https://ollama.example:443/", "http://[::1]:11434"])
def test_good_ollama_hosts_still_load(monkeypatch, host: str) -> None:  # type: ignore[no-untyped-def]
    from rag.settings import load_settings

    monkeypatch.setenv("SANAD_OLLAMA_HOST", host)
    assert load_settings().ollama_host == host


def test_read_only_index_is_a_clear_line(run_cli) -> None:  # type: ignore[no-untyped-def]
    """What Chroma raises on a read-only data folder (its InternalError wraps SQLite's code 8)."""
    exc = sqlite3.OperationalError("error returned from database: (code: 8) attempt to write a readonly database")
    result = run_cli("docs", failing=exc)
    assert result.exit_code == 2 and "index folder is read-only" in _one_clear_line(result)


def test_permission_error_names_the_path(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("docs", failing=PermissionError(13, "Permission denied", "/srv/sanad/chroma"))
    line = _one_clear_line(result)
    assert result.exit_code == 2 and "Permission denied: /srv/sanad/chroma" in line


def test_a_real_bug_is_still_unexpected_with_exit_1(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("docs", failing=ZeroDivisionError("boom"))
    assert result.exit_code == 1 and "unexpected ZeroDivisionError" in result.output


def test_non_utf8_argument_is_refused_before_any_command(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "argv", ["sanad", "ask", "caf\udce9 \udcff"])
    with pytest.raises(SystemExit) as stop:
        cli_main.main()
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: argument 'caf\\xe9 \\xff' is not valid UTF-8 (retype it, rename the file, "
                   "or set a UTF-8 locale such as LANG=C.UTF-8)")
