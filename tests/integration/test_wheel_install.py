"""A wheel, installed outside the repository, renders prompts and runs `sanad`: the templates are package data.

The wheel goes into a fresh venv with ``--no-deps``; the dependencies come from the project venv's site-packages
through a plain path line in a .pth file (no download, and no editable finder, since .pth files inside an added
path are not executed). Every command runs from a temporary folder, so nothing resolves to the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

_SKIP = shutil.ignore_patterns(".venv", ".git", ".sanad", "test-artifacts", "build", "dist", "*.egg-info",
                               "__pycache__", "eval-out", "data", "benchmarks", "tests", "docs")

_RENDER = """
import rag, rag.prompts
from rag.settings import Settings
lib = rag.prompts.PromptLibrary(Settings().prompts_dir)
print(rag.__file__)
print(lib.directory)
print(",".join(lib.names()))
print(lib.render("translate_query", source_lang="ar", target_lang="en", question="QQQ"), end="")
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{cmd[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the sanad wheel (built from a copy of the source tree)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_SKIP)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(base / "dist"),
          str(source)], cwd=base)
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    python = venv / "bin" / "python"
    wheel = next((base / "dist").glob("sanad-*.whl"))
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
          str(wheel)], cwd=base)
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base)
    Path(site.stdout.strip(), "_project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return base


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANAD_") and k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1")
    return env


def test_wheel_ships_every_template(installed: Path):
    wheel = next((installed / "dist").glob("sanad-*.whl"))
    shipped = {Path(n).name for n in zipfile.ZipFile(wheel).namelist() if n.startswith("rag/prompt_templates/")}
    assert shipped == {p.name for p in (ROOT / "prompts").iterdir() if p.is_file()}


def test_installed_package_renders_prompts_outside_the_repo(installed: Path, tmp_path: Path):
    out = _run([str(installed / "venv" / "bin" / "python"), "-c", _RENDER], cwd=tmp_path, env=_env()).stdout
    module, directory, names, rendered = out.split("\n", 3)
    assert Path(module).is_relative_to(installed / "venv") and not Path(module).is_relative_to(ROOT)
    assert Path(directory).is_relative_to(installed / "venv") and Path(directory).is_dir()
    assert names.split(",") == sorted(p.stem for p in (ROOT / "prompts").glob("*.j2"))
    assert rendered.startswith("Translate the search question below from Arabic into English.")
    assert "Question: QQQ\nTranslation:" in rendered


def test_installed_cli_runs_outside_the_repo(installed: Path, tmp_path: Path):
    out = _run([str(installed / "venv" / "bin" / "sanad"), "--help"], cwd=tmp_path, env=_env()).stdout
    for command in ("ingest", "ask", "chat", "search", "serve", "eval"):
        assert command in out
    docs = _run([str(installed / "venv" / "bin" / "sanad"), "docs"], cwd=tmp_path,
                env=_env() | {"SANAD_DATA_DIR": str(tmp_path / "data")})
    assert "error" not in docs.stderr.lower()
