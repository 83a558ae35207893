"""File discovery never blocks or fills memory, and one bad entry never stops the other files (issue 13)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from rag.errors import IngestError
from rag.ingestion.discovery import iter_source_files, read_regular
from rag.ingestion.readers import load_file

ARTICLE = "عنوان الخبر\n\nهذا نص خبر عن الاقتصاد في مصر والأسواق المالية.\n"


def _in_thread(fn, *args, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    """Run ``fn`` with a guard: a hang fails the test instead of blocking the suite for ever."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{fn.__name__} hung for {timeout} s"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


def test_fifo_named_txt_is_a_failure_and_the_others_are_found(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    files, failures = _in_thread(iter_source_files, [tmp_path])
    assert files == [tmp_path / "good.txt"]
    assert [(Path(f.path).name, "not a regular file" in f.error) for f in failures] == [("pipe.txt", True)]


def test_fifo_given_explicitly_is_refused_without_opening(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    files, failures = _in_thread(iter_source_files, [tmp_path / "pipe.txt"])
    assert files == [] and "not a regular file" in failures[0].error


def test_reading_a_fifo_is_refused_not_blocked(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(IngestError, match="not a regular file"):
        _in_thread(load_file, tmp_path / "pipe.txt")


def test_a_character_device_is_never_read(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not a regular file"):
        _in_thread(read_regular, Path("/dev/zero"))
    link = tmp_path / "zero.txt"
    link.symlink_to("/dev/zero")
    files, failures = _in_thread(iter_source_files, [tmp_path])
    assert files == [] and "not a regular file" in failures[0].error


def test_non_utf8_name_is_reported_and_the_others_are_found(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    bad = os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt")
    with open(bad, "wb") as handle:
        handle.write(ARTICLE.encode("utf-8"))
    files, failures = iter_source_files([tmp_path])
    assert files == [tmp_path / "good.txt"]
    assert len(failures) == 1 and "not valid UTF-8" in failures[0].error
    assert "\\xe9" in failures[0].path
    failures[0].path.encode("utf-8")  # printable as text: no lone surrogate left in the report


def test_bounded_read_stops_after_limit_plus_one(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 10_000)
    assert len(read_regular(big, limit=100)) == 101
    assert len(read_regular(big)) == 10_000


def _unreadable_folder(folder: Path) -> None:
    folder.mkdir()
    (folder / "hidden.txt").write_text(ARTICLE, encoding="utf-8")
    folder.chmod(0)


def test_unreadable_subfolder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    _unreadable_folder(tmp_path / "locked")
    try:
        if os.access(tmp_path / "locked", os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop root from reading a folder")
        files, failures = iter_source_files([tmp_path])
    finally:
        (tmp_path / "locked").chmod(stat.S_IRWXU)
    assert files == [tmp_path / "good.txt"]
    assert [Path(f.path).name for f in failures] == ["locked"] and "cannot read the folder" in failures[0].error


def test_subfolder_that_cannot_be_listed_is_reported_even_as_root(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads a chmod-000 folder, so here listing it fails the way it does for a normal user."""
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inside.txt").write_text(ARTICLE, encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, failures = iter_source_files([tmp_path])
    assert files == [tmp_path / "good.txt"]
    assert [Path(f.path).name for f in failures] == ["locked"]
    assert "cannot read the folder (Permission denied)" in failures[0].error
