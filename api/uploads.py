"""POST /v1/documents: read uploads within limits, stage them under safe names, ingest, clean up.

The client's file name only becomes a sanitised basename inside a fresh temp folder (doc id = its stem);
binary files are turned away before they reach the loaders; per-file results mirror ``sanad ingest``.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

from fastapi import UploadFile

from api.errors import ApiError
from rag.service import Sanad
from rag.settings import Settings
from rag.types import IngestReport
from rag.uploads import looks_binary, stage_files

__all__ = ["read_uploads", "ingest_uploads", "raise_if_all_failed"]

_CHUNK = 1 << 16


async def read_uploads(files: list[UploadFile], settings: Settings) -> list[tuple[str, bytes]]:
    """Read every file, refusing the request (413) as soon as a count or size limit is crossed."""
    if not files:
        raise ApiError(422, "validation_error", "no files in the upload", hint="send multipart field 'files'")
    if len(files) > settings.max_upload_files:
        raise ApiError(413, "too_many_files", f"{len(files)} files; the limit is {settings.max_upload_files}",
                       hint="upload in smaller batches or raise SANAD_MAX_UPLOAD_FILES")
    limit = int(settings.max_upload_mb * 1024 * 1024)
    items: list[tuple[str, bytes]] = []
    for upload in files:
        data = bytearray()
        while chunk := await upload.read(_CHUNK):
            data.extend(chunk)
            if len(data) > limit:
                raise ApiError(413, "file_too_large", f"{upload.filename!r} is over {settings.max_upload_mb:g} MB",
                               hint="split the file or raise SANAD_MAX_UPLOAD_MB")
        items.append((upload.filename or "upload", bytes(data)))
    return items


def _status_of(path: Path, report: IngestReport) -> tuple[str, str | None]:
    """Reports name files by doc id or by path depending on the step; accept either."""
    keys = {path.stem, path.name, str(path)}
    for failure in report.failed:
        if keys & {failure.path, Path(failure.path).name, Path(failure.path).stem}:
            return "failed", failure.error.replace(str(path.parent), "").lstrip("/\\")
    for status in ("added", "updated", "unchanged"):
        entries = getattr(report, status)
        if keys & {str(e) for e in entries} or keys & {Path(str(e)).stem for e in entries}:
            return status, None
    return "indexed", None


def ingest_uploads(service: Sanad, items: list[tuple[str, bytes]], lock: threading.Lock) -> dict[str, Any]:
    """Stage + ingest under the write lock; always delete the staging folder."""
    accepted = [(name, data) for name, data in items if not looks_binary(data)]
    results: list[dict[str, Any]] = [
        {"filename": name, "doc_id": None, "status": "failed", "code": "unsupported_file",
         "error": "binary file: Sanad reads text, markdown, HTML, PDF and JSONL articles"}
        for name, data in items if looks_binary(data)
    ]
    report = IngestReport()
    if accepted:
        folder, paths = stage_files(accepted)
        try:
            with lock:
                report = service.ingest(paths)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        for (name, _), path in zip(accepted, paths):
            status, error = _status_of(path, report)
            entry: dict[str, Any] = {"filename": name, "doc_id": path.stem, "status": status}
            if error is not None:
                entry.update(code="ingest_error", error=error)
            results.append(entry)
    summary = report.to_dict()
    summary["failed"] = [r for r in results if r["status"] == "failed"]
    return {"files": results, "summary": summary}


def raise_if_all_failed(outcome: dict[str, Any]) -> None:
    """A request where nothing could be read is an error (415 if every file was of an unreadable type)."""
    files = outcome["files"]
    if not files or any(f["status"] != "failed" for f in files):
        return
    unsupported = all(f.get("code") == "unsupported_file" for f in files)
    status, code = (415, "unsupported_file") if unsupported else (422, "ingest_error")
    error = ApiError(status, code, f"none of the {len(files)} file(s) could be indexed: {files[0]['error']}",
                     hint="upload UTF-8 text, markdown, HTML, PDF or JSONL articles")
    raise error
