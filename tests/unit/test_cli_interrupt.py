"""Ctrl-C names what it interrupted: `sanad chat` ends the chat, `sanad ask` the answer; neither talks of ingest."""

from __future__ import annotations

import builtins
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import main as cli_main
from cli.common import AppState


class _Interrupting:
    """Stands in for the facade: the answer stream is cut by Ctrl-C."""

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt


@pytest.fixture()
def run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(AppState, "service", lambda self, **kwargs: _Interrupting())
    cli_main._register_commands()

    def _run(*args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(cli_main.app, list(args), input=input)

    return _run


def _says_ingest(text: str) -> bool:
    return "index is consistent" in text or "run the same command again" in text


def test_ctrl_c_during_a_chat_answer(run_cli):
    result = run_cli("chat", input="من زار موسكو؟\n")
    assert result.exit_code == 130
    assert "chat ended (Ctrl-C)" in result.output and not _says_ingest(result.output)


def test_ctrl_c_at_the_chat_prompt(run_cli, monkeypatch: pytest.MonkeyPatch):
    def interrupted(prompt: str = "") -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(builtins, "input", interrupted)
    result = run_cli("chat")
    assert result.exit_code == 130
    assert "chat ended (Ctrl-C)" in result.output and not _says_ingest(result.output)


def test_ctrl_c_during_ask(run_cli):
    result = run_cli("ask", "من زار موسكو؟")
    assert result.exit_code == 130
    assert "answer interrupted (Ctrl-C)" in result.output and not _says_ingest(result.output)
