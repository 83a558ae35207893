"""A test skipped for a missing system package is listed with its fix at the end of the run, and is an error
under CI=true (tests/conftest.py), so `make test` cannot pass silently without chromium or the chroma binary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

_CONFTEST = "from tests.conftest import pytest_terminal_summary  # noqa: F401\n"
_TESTS = '''
from tests.conftest import require_system

def test_needs_a_missing_tool():
    require_system(False, "frobnicator", "apt-get install -y frobnicator")

def test_needs_a_present_tool():
    require_system(True, "python", "never shown")

def test_ordinary_skip():
    import pytest
    pytest.skip("not a system package")
'''


def _pytest(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"CI", "SANAD_SKIP_REPORT"}}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(folder)],
                          cwd=folder, capture_output=True, text=True, timeout=120,
                          env=base | {"PYTHONPATH": str(ROOT)} | env)


@pytest.fixture()
def suite(tmp_path: Path) -> Path:
    (tmp_path / "conftest.py").write_text(_CONFTEST)
    (tmp_path / "test_tools.py").write_text(_TESTS)
    return tmp_path


def test_skip_is_reported_with_its_fix_at_the_end(suite: Path, tmp_path: Path):
    report = tmp_path / "skips.txt"
    done = _pytest(suite, SANAD_SKIP_REPORT=str(report))
    assert done.returncode == 0, done.stdout
    tail = done.stdout[done.stdout.index("skipped for missing system packages"):]
    assert done.stdout.index("short test summary info") < done.stdout.index("skipped for missing system packages")
    assert "1 test(s) NOT RUN, missing system package: frobnicator (fix: apt-get install -y frobnicator)" in tail
    assert "not a system package" not in tail and "never shown" not in done.stdout
    assert report.read_text() == ("1 test(s) NOT RUN, missing system package: frobnicator "
                                  "(fix: apt-get install -y frobnicator)\n")


@pytest.mark.parametrize("ci", ["true", "1"])
def test_ci_turns_the_skip_into_an_error(suite: Path, ci: str):
    done = _pytest(suite, CI=ci)
    assert done.returncode == 1, done.stdout
    assert "1 failed, 1 passed, 1 skipped" in done.stdout
    assert "frobnicator (fix: apt-get install -y frobnicator); CI=true turns this skip into an error" in done.stdout


def test_no_section_when_nothing_is_missing(tmp_path: Path):
    (tmp_path / "conftest.py").write_text(_CONFTEST)
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    done = _pytest(tmp_path)
    assert done.returncode == 0 and "missing system packages" not in done.stdout
