"""`sanad eval` end to end: real Chroma + MiniLM + BM25 over data/articles, answers from the fake Ollama server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eval.metrics import METRIC_KEYS
from eval.session import run_eval
from eval.suite import load_suite
from rag.settings import Settings
from tests.conftest import ROOT, SEEDS, minilm_dir
from tests.fakes.ollama_server import FakeOllama, prompt_of

pytestmark = pytest.mark.integration

# Questions whose retrieval confidence is comfortably above the refusal threshold, one low, one unanswerable.
IDS = ("s08", "s14", "s15", "s16", "v01", "c04", "u03")
QUESTIONS = {q.id: q for q in load_suite(ROOT / "eval" / "suites" / "seeds.jsonl") if q.id in IDS}


def _reference_answer(body: dict[str, Any]) -> str:
    """The fake model 'knows' the reference answer of the suite question in its prompt; judge prompts get JSON."""
    prompt = prompt_of(body)
    if "You grade an answer" in prompt:
        return '{"faithfulness": 1, "correctness": 1, "reason": "fine"}'
    for q in QUESTIONS.values():
        if q.question in prompt and q.answerable:
            return f"{q.parts[0][0]} [1]"
    return "NO_ANSWER"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suite") / "mini.jsonl"
    lines = [line for line in (ROOT / "eval/suites/seeds.jsonl").read_text(encoding="utf-8").splitlines()
             if json.loads(line)["id"] in IDS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by every test here so the corpus is embedded once (the cache is part of what is tested)."""
    return tmp_path_factory.mktemp("sanad-data")


@pytest.fixture()
def ollama(fake_ollama: FakeOllama, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOllama]:
    fake_ollama.default = _reference_answer
    for key, value in {"SANAD_DATA_DIR": str(data_dir), "SANAD_EMBED_MODEL": str(minilm_dir()),
                       "SANAD_OLLAMA_HOST": fake_ollama.url, "SANAD_OLLAMA_TIMEOUT": "20"}.items():
        monkeypatch.setenv(key, value)
    yield fake_ollama


def _cli(*args: str) -> Any:
    import cli.main

    if not any(c.name == "eval" for c in cli.main.app.registered_commands):
        cli.main._register_commands()
    return CliRunner().invoke(cli.main.app, ["eval", *args])


def test_full_answer_run_compare_and_fail_under(ollama: FakeOllama, suite: Path, tmp_path: Path) -> None:
    first = _cli(str(suite), "--corpus", str(SEEDS), "--out", str(tmp_path / "run1"), "--judge")
    assert first.exit_code == 0, first.output
    summary = json.loads((tmp_path / "run1" / "summary.json").read_text(encoding="utf-8"))
    assert set(METRIC_KEYS) <= set(summary["metrics"]) and set(summary["by_type"]) == {
        "single", "variant", "crosslingual", "unanswerable"}
    assert all(set(METRIC_KEYS) <= set(group) for group in summary["by_lang"].values())
    metrics = summary["metrics"]
    assert metrics["prompt_tokens.mean"] > 50 and metrics["judge.faithfulness"] == 1.0
    assert metrics["answer.contains"] >= 0.5  # the fake model answers with the reference when asked
    assert summary["models"]["llm"] == "qwen3:4b" and summary["corpus"]["collection"].startswith("eval_")
    rows = [json.loads(line) for line in (tmp_path / "run1" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["id"] for r in rows} == set(IDS)
    assert all(r["answer_mode"] == "llm" for r in rows)
    right = {r["id"] for r in rows if r["scores"]["correct"] == 1.0 and QUESTIONS[r["id"]].answerable}
    assert right and (tmp_path / "run1" / "report.html").stat().st_size > 20_000

    ollama.default = "NO_ANSWER"  # a "worse model": refuses everything
    second = _cli(str(suite), "--corpus", str(SEEDS), "--out", str(tmp_path / "run2"), "--compare",
                  str(tmp_path / "run1"))
    assert second.exit_code == 0, second.output
    assert "compared with" in second.output
    for qid in right:
        assert f"- {qid}:" in second.output  # flipped right -> wrong, printed
    page = (tmp_path / "run2" / "report.html").read_text(encoding="utf-8")
    assert "right → wrong" in page and "Compared with" in page
    assert json.loads((tmp_path / "run2" / "summary.json").read_text())["compare"]["broken"]

    asked = len(ollama.chat_requests())
    gated = _cli(str(suite), "--corpus", str(SEEDS), "--out", str(tmp_path / "run2"),
                 "--fail-under", "answer.contains=0.9", "--fail-under", "abstention.recall=0.5")
    assert gated.exit_code == 3, gated.output
    assert "answer.contains" in gated.output and "abstention.recall:" not in gated.output
    assert len(ollama.chat_requests()) == asked  # everything resumed: no question asked again


class _Interrupting:
    """The real service, but Ctrl-C arrives during the n-th answer (as a user interrupting a long run)."""

    def __init__(self, service: Any, after: int) -> None:
        self._service, self._left = service, after

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def ask(self, question: str, **kwargs: Any) -> Any:
        if self._left == 0:
            raise KeyboardInterrupt
        self._left -= 1
        return self._service.ask(question, **kwargs)


def test_resume_after_an_interrupted_run(ollama: FakeOllama, suite: Path, tmp_path: Path, data_dir: Path) -> None:
    from rag.wiring import build_service

    settings = Settings(data_dir=data_dir, embed_model=str(minilm_dir()), ollama_host=ollama.url)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_eval(settings, suite, out, corpus=SEEDS, mode="llm",
                 build=lambda s, **kw: _Interrupting(build_service(s, **kw), after=3))
    path = out / "results.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "s1')  # the row being written when the process died
    done = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()[:-1]]
    assert len(done) == 3
    before = len(ollama.chat_requests())

    resumed = _cli(str(suite), "--corpus", str(SEEDS), "--out", str(out))
    assert resumed.exit_code == 0, resumed.output
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(IDS)
    prompts = [prompt_of(body) for body in ollama.chat_requests()[before:]]
    assert not any(QUESTIONS[qid].question in p for qid in done for p in prompts)  # finished ones not re-asked
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["metrics"]["questions"] == len(IDS)
    assert summary["corpus"]["ingest"]["chunks_embedded"] == 0  # corpus collection cached by content hash
