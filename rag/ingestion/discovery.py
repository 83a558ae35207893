"""Finding article files safely: only regular files are ever opened, and nothing in a folder stops the run.

Why its own module: a FIFO named ``x.txt`` would block ``open`` for ever, ``/dev/zero`` would be read until
memory runs out, a file name that is not UTF-8 broke every run, and an unreadable subfolder vanished without a
word. Each of these is now one per-file failure, and every other file in the folder is still indexed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from rag.errors import IngestError
from rag.types import FileFailure

__all__ = ["iter_source_files", "read_regular", "NOT_REGULAR"]

NOT_REGULAR = "not a regular file (a pipe, device or socket); only article files are read"
_HINT = "check that the file exists and is readable"


def _suffixes() -> frozenset[str]:
    from rag.ingestion.readers import SUPPORTED_SUFFIXES  # readers imports read_regular from here

    return SUPPORTED_SUFFIXES


def _shown(path: Path | str) -> str:
    """A path as the user can read it: undecodable bytes of a non-UTF-8 name shown as \\xNN, never a crash."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _name_error(path: Path) -> str | None:
    """A name that is not valid UTF-8 (surrogate-escaped by Python) cannot be stored or shown as text."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8; rename the file (e.g. `convmv -t utf-8`)"
    return None


def iter_source_files(paths: Sequence[Path]) -> tuple[list[Path], list[FileFailure]]:
    """Expand files and folders (recursive, sorted, hidden entries skipped) into supported regular files.
    A missing path, an explicit unsupported suffix, a special file, a non-UTF-8 name and an unreadable
    folder each become a FileFailure; unsupported files inside folders are skipped silently (a folder of
    articles often holds images or notes too)."""
    files: list[Path] = []
    failures: list[FileFailure] = []
    for path in map(Path, paths):
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            missing = isinstance(exc, FileNotFoundError)
            failures.append(FileFailure(_shown(path), "no such file or folder" if missing else
                                        f"cannot read it ({exc.strerror or exc})"))
            continue
        if stat.S_ISDIR(mode):
            found, bad = _walk(path)
            files.extend(found)
            failures.extend(bad)
        elif path.suffix.lower() not in _suffixes():
            supported = ", ".join(sorted(_suffixes()))
            failures.append(FileFailure(_shown(path), f"unsupported file type '{_shown(path.suffix)}' "
                                                      f"(supported: {supported})"))
        else:
            failure = _file_failure(path, mode)
            if failure:
                failures.append(failure)
            else:
                files.append(path)
    return list(dict.fromkeys(files)), failures


def _file_failure(path: Path, mode: int) -> FileFailure | None:
    if not stat.S_ISREG(mode):
        return FileFailure(_shown(path), NOT_REGULAR)
    problem = _name_error(path)
    return FileFailure(_shown(path), problem) if problem else None


def _walk(folder: Path) -> tuple[list[Path], list[FileFailure]]:
    """os.walk with an error callback: an unreadable subfolder is reported, not skipped in silence."""
    found: list[Path] = []
    failures: list[FileFailure] = []

    def unreadable(exc: OSError) -> None:
        failures.append(FileFailure(_shown(exc.filename or folder),
                                    f"cannot read the folder ({exc.strerror or exc}); its files were not indexed"))

    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith(".") or path.suffix.lower() not in _suffixes():
                continue
            try:
                mode = path.stat().st_mode
            except OSError as exc:  # a dangling link, a file removed meanwhile
                failures.append(FileFailure(_shown(path), f"cannot read it ({exc.strerror or exc})"))
                continue
            failure = _file_failure(path, mode)
            if failure:
                failures.append(failure)
            else:
                found.append(path)
    return sorted(found), failures


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file, at most ``limit`` + 1 (enough to see that it is over the limit).
    Opened without blocking and checked with fstat, so a FIFO or device swapped in after discovery is
    refused instead of hanging the run or filling memory."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise IngestError(f"{_shown(path.name)}: cannot read the file ({exc.strerror or exc})", hint=_HINT) from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IngestError(f"{_shown(path.name)}: {NOT_REGULAR}", hint="remove it from the articles folder")
        try:
            return handle.read() if limit is None else handle.read(limit + 1)
        except OSError as exc:
            raise IngestError(f"{_shown(path.name)}: cannot read the file ({exc.strerror or exc})",
                              hint=_HINT) from exc
