"""POST /v1/documents: read uploads within limits, hand them to ``Sanad.upload``, shape the results.

The client's file name only becomes a sanitised basename (doc id = its stem, source ``upload:NAME``);
binary files are turned away before they reach the loaders; per-file results mirror ``sanad ingest``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import UploadFile

from api.errors import ApiError
from rag.service import Sanad
from rag.settings import Settings

__all__ = ["read_uploads", "ingest_uploads", "raise_if_all_failed", "check_published"]

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


def check_published(value: str | None) -> str | None:
    """The form's ``published`` as given (None when empty), after checking it is a date: InvalidDateError
    (422 invalid_date) before any file is read."""
    from rag.ingestion.published import explicit_date

    return value if explicit_date(value, "upload") is not None else None


def ingest_uploads(service: Sanad, items: list[tuple[str, bytes]], published: str | None = None) -> dict[str, Any]:
    """The facade stages, ingests and cleans up; this shapes its per-file results for the response."""
    report, results = service.upload(items, published=published)
    files = [asdict(r) for r in results]
    for entry in files:
        if entry["code"] is None:
            del entry["code"], entry["error"]
    summary = report.to_dict()
    summary["failed"] = [f for f in files if f["status"] == "failed"]
    return {"files": files, "summary": summary}


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
