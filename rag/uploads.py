"""Uploaded files: turn a client-supplied name into a safe basename and stage bytes in a fresh folder.

Shared by the HTTP API and the chat UI so both ingest uploads the same way: a client's file name is
never used as a path (no traversal, no absolute paths, no hidden files), only as a readable doc id.
"""

from __future__ import annotations

import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

__all__ = ["safe_filename", "stage_files", "looks_binary", "MAX_NAME_CHARS"]

MAX_NAME_CHARS = 120
_KEEP = {"-", "_", "."}


def _clean(part: str) -> str:
    """Keep letters and digits of any script (Arabic names stay readable); everything else becomes '_'."""
    cleaned = "".join(ch if ch.isalnum() or ch in _KEEP else "_" for ch in part)
    while "__" in cleaned:
        cleaned = cleaned.replace("__", "_")
    return cleaned.strip("._-")


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the head mean an image/executable/archive; PDFs are binary but have a loader."""
    return b"\x00" in data[:8192] and not data.startswith(b"%PDF")


def safe_filename(name: str | None, *, default: str = "upload") -> str:
    """A basename safe to create in a temp folder: 'x/../../etc/passwd.txt' -> 'passwd.txt'."""
    raw = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    raw = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    stem, dot, ext = raw.rpartition(".")
    if not dot:
        stem, ext = raw, ""
    stem = _clean(stem)[:MAX_NAME_CHARS] or default
    ext = "".join(ch for ch in ext.lower() if ch.isascii() and ch.isalnum())[:10]
    return f"{stem}.{ext}" if ext else stem


def stage_files(items: Iterable[tuple[str | None, bytes]], folder: Path | None = None) -> tuple[Path, list[Path]]:
    """Write (client name, bytes) pairs under sanitised, de-duplicated names in a fresh folder.

    Returns the folder (the caller deletes it) and the staged paths in input order.
    """
    root = folder or Path(tempfile.mkdtemp(prefix="sanad-upload-"))
    paths: list[Path] = []
    used: set[str] = set()
    for name, data in items:
        safe = safe_filename(name)
        stem, dot, ext = safe.rpartition(".")
        if not dot:
            stem, ext = safe, ""
        candidate, n = safe, 2
        while candidate.lower() in used:
            candidate = f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}"
            n += 1
        used.add(candidate.lower())
        target = root / candidate
        target.write_bytes(data)
        paths.append(target)
    return root, paths
