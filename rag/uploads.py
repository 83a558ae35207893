"""Uploaded files: turn a client-supplied name into a safe basename, stage the bytes, ingest, clean up.

Shared by the HTTP API and the chat UI (through ``Sanad.upload``) so both ingest uploads the same way: a
client's file name is never used as a path (no traversal, no absolute paths, no hidden files), only as a
readable doc id. An upload's recorded source is ``upload:NAME``, not the temp folder it was staged in, so
uploading the same file again is "unchanged" and folder prunes never touch it.

Nothing uploaded is lost to a crash: the ingest keeps a copy of every upload under
``<data_dir>/uploads/<owner>/`` (with the writer's lease and each file's ``upload:NAME``) until its run is
over; a later run that finds a folder whose writer is dead ingests it again (``interrupted_uploads``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.types import IngestReport, UploadResult

__all__ = ["safe_filename", "stage_files", "looks_binary", "ingest_uploads", "MAX_NAME_CHARS", "UPLOAD_PREFIX",
           "KeptUploads", "keep_uploads", "interrupted_uploads", "PARTIAL_CODE"]

#: the source recorded for uploaded articles: ``upload:`` + the sanitised file name
UPLOAD_PREFIX = "upload:"
BINARY_ERROR = "binary file: Sanad reads text, markdown, HTML, PDF and JSONL articles"

Ingest = Callable[[list[Path], Mapping[Path, str]], IngestReport]

MAX_NAME_CHARS = 120
_KEEP = {"-", "_", "."}
_OWNER = "owner.json"


def _clean(part: str) -> str:
    """Keep letters and digits of any script (Arabic names stay readable); everything else becomes '_'."""
    cleaned = "".join(ch if ch.isalnum() or ch in _KEEP else "_" for ch in part)
    while "__" in cleaned:
        cleaned = cleaned.replace("__", "_")
    return cleaned.strip("._-")


def looks_binary(data: bytes) -> bool:
    """NUL bytes in the head mean an image/executable/archive, unless the readers decode the file as text
    (UTF-16/32 with a BOM, exactly as `sanad ingest` reads it); PDFs are binary but have a loader."""
    if b"\x00" not in data[:8192] or data.startswith(b"%PDF"):
        return False
    from rag.errors import UnsupportedFileError
    from rag.ingestion.readers import decode_bytes

    try:
        decode_bytes(data)
    except UnsupportedFileError:
        return True
    return False


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


def ingest_uploads(ingest: Ingest, items: Sequence[tuple[str | None, bytes]]) -> tuple[IngestReport, list[UploadResult]]:
    """Screen out binaries, stage the rest, ingest them under ``upload:NAME`` sources, always delete the
    staging folder; one result per item, in input order."""
    binary = [looks_binary(data) for _, data in items]
    accepted = [item for item, is_binary in zip(items, binary) if not is_binary]
    report, paths = IngestReport(), list[Path]()
    if accepted:
        folder, paths = stage_files(accepted)
        try:
            report = ingest(paths, {p: f"{UPLOAD_PREFIX}{p.name}" for p in paths})
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    staged = iter(paths)
    results = []
    for (name, data), is_binary in zip(items, binary):
        if is_binary:
            results.append(UploadResult(name or "upload", None, "failed", BINARY_ERROR, "unsupported_file"))
            continue
        path = next(staged)
        status, error = _status_of(path, report, data)
        code = None if error is None else PARTIAL_CODE if status == "partial" else "ingest_error"
        results.append(UploadResult(name or "upload", path.stem, status, error, code))
    return report, results


#: a JSONL upload whose good lines were indexed and some lines failed (the error names those lines)
PARTIAL_CODE = "some_lines_failed"


def _status_of(path: Path, report: IngestReport, data: bytes) -> tuple[str, str | None]:
    """Failures name the staged file ('name' or 'name:LINE' for a JSONL line); the other lists name doc ids
    (the file's stem). A JSONL file where only some lines failed is 'partial': the others were indexed."""
    whole, lines = [], []
    for failure in report.failed:
        failed = Path(failure.path)
        error = failure.error.replace(str(path.parent), "").lstrip("/\\")
        if failed == path or failed.name == path.name:
            whole.append(error)
        elif failed.name.startswith(f"{path.name}:"):
            lines.append((failed.name.rpartition(":")[2], error))
    if whole:
        return "failed", whole[0]
    if lines:
        return _lines_status(lines, _count_lines(data))
    for status in ("added", "updated", "unchanged"):
        if path.stem in getattr(report, status):
            return status, None
    return "indexed", None  # a JSONL file: its articles carry their own ids


def _count_lines(data: bytes) -> int:
    """Non-blank lines of a JSONL upload, decoded the way its reader decodes it."""
    from rag.ingestion.readers import decode_bytes

    return sum(1 for line in decode_bytes(data).splitlines() if line.strip())


def _lines_status(lines: list[tuple[str, str]], total: int) -> tuple[str, str]:
    shown = "; ".join(f"line {number}: {error}" for number, error in lines[:5])
    more = f"; and {len(lines) - 5} more" if len(lines) > 5 else ""
    if len(lines) >= total:
        return "failed", f"none of its {total} lines could be indexed ({shown}{more})"
    return "partial", (f"{len(lines)} of {total} lines failed ({shown}{more}); "
                       f"the other {total - len(lines)} were indexed")


@dataclass
class KeptUploads:
    """The paths of one ingest run (uploads replaced by their kept copies) and the labels of those copies."""

    paths: list[Path]
    sources: dict[Path, str]
    folder: Path | None = None
    _done: bool = field(default=False, repr=False)

    def done(self) -> None:
        """The run is over: its uploads are in the index (or reported as failed); drop the copies."""
        if self.folder is not None and not self._done:
            shutil.rmtree(self.folder, ignore_errors=True)
        self._done = True


def _uploads_root(data_dir: Path) -> Path:
    return Path(data_dir) / "uploads"


def keep_uploads(data_dir: Path, paths: Sequence[Path], sources: Mapping[Path, str] | None) -> KeptUploads:
    """Copy the files labelled ``upload:NAME`` into a folder of their own under ``data_dir/uploads``, with
    this process's lease, before anything is written; other paths pass through unchanged."""
    from rag.ingestion.versions import lease

    labels = dict(sources or {})
    uploads = [Path(p) for p in paths if labels.get(Path(p), "").startswith(UPLOAD_PREFIX)]
    if not uploads:
        return KeptUploads([Path(p) for p in paths], labels)
    folder = _uploads_root(data_dir) / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True)
    copies = {p: folder / f"{n:04d}" / p.name for n, p in enumerate(uploads)}  # the name is the doc id
    for source, copy in copies.items():
        copy.parent.mkdir()
        shutil.copyfile(source, copy)
    names = {str(copy.relative_to(folder)): labels[source] for source, copy in copies.items()}
    owner = folder / f".{_OWNER}"  # written last, by rename: a folder with an owner holds every file whole
    owner.write_text(json.dumps({"lease": lease(), "files": names}, ensure_ascii=False), encoding="utf-8")
    owner.replace(folder / _OWNER)
    kept = {**{p: s for p, s in labels.items() if p not in copies}, **{c: labels[p] for p, c in copies.items()}}
    return KeptUploads([copies.get(Path(p), Path(p)) for p in paths], kept, folder)


def interrupted_uploads(data_dir: Path) -> list[KeptUploads]:
    """Kept uploads whose writer died before its run was over: ingested again by the calling run."""
    from rag.ingestion.versions import lease_alive

    root = _uploads_root(data_dir)
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            owner = json.loads((folder / _OWNER).read_text(encoding="utf-8"))
            names = {str(k): str(v) for k, v in dict(owner["files"]).items()}
            alive = lease_alive(dict(owner["lease"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written right now, or not ours
        if not alive:
            files = {folder / name: label for name, label in names.items() if (folder / name).is_file()}
            found.append(KeptUploads(list(files), files, folder))
    return found
