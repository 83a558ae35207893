"""Reading article files (txt, md, html, pdf, jsonl) in any common encoding into cleaned ``Article``s.

Why one module: every format ends in the same place (``clean_text`` + ``Article``), and every whole-file
problem (binary, empty, undecodable, no text layer) becomes one clear ``UnsupportedFileError`` line so an
ingest run can report it per file and go on with the others.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.arabic import detect_language
from rag.errors import IngestError, UnsupportedFileError
from rag.ingestion.clean import clean_text
from rag.ingestion.discovery import iter_source_files, read_regular  # iter_source_files: re-exported
from rag.ingestion.markup import html_to_text, markdown_to_text, pdf_to_text
from rag.ingestion.outlet import first_outlet, outlet_of
from rag.ingestion.published import best_published, read_sidecar
from rag.types import Article, FileFailure

__all__ = ["SUPPORTED_SUFFIXES", "iter_source_files", "load_file", "decode_bytes", "article_from_text"]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".jsonl"})

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HINT_FILES = "remove it from the articles folder or convert it to UTF-8 text"


def load_file(path: Path) -> tuple[list[Article], list[FileFailure]]:
    """Read one file into cleaned Articles. Whole-file problems raise UnsupportedFileError/IngestError with
    a one-line message; for .jsonl a bad line becomes a FileFailure ('file.jsonl:LINE') and the other
    lines still load."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFileError(f"{path.name}: unsupported file type '{path.suffix}'", hint=_HINT_FILES)
    data = read_regular(path)  # never blocks on a FIFO nor reads a device (rag.ingestion.discovery)
    if suffix == ".jsonl":
        return _load_jsonl(path, data)
    if suffix == ".pdf":
        text, meta = pdf_to_text(data, path.name)
    elif suffix in {".html", ".htm"}:
        text, meta = html_to_text(decode_bytes(data, path.name), path.name)
    elif suffix == ".md":
        text, meta = markdown_to_text(decode_bytes(data, path.name))
    else:
        text, meta = decode_bytes(data, path.name), {}
    explicit = "front_matter" if suffix == ".md" else "html_meta" if suffix in {".html", ".htm"} else "field"
    sidecar = read_sidecar(path)
    dates = [(explicit, meta.pop("published", None)), ("sidecar", sidecar.get("published", sidecar.get("date")))]
    outlets = [meta.pop("outlet", None), outlet_of(sidecar)]
    if explicit == "html_meta":  # the sidecar is the user's word; HTML metadata comes after it
        dates.reverse()
        outlets.reverse()
    article = article_from_text(path.stem, text, str(path), dates=dates, file_name=path.name,
                                outlet=first_outlet(outlets), **meta)
    return [article], []


def decode_bytes(data: bytes, name: str = "file") -> str:
    """Bytes -> text. A BOM decides first; strict UTF-8 next (exact, and by far the most common);
    otherwise charset-normalizer detects the code page (Windows-1256 and the like). Binary data (NUL
    bytes, control characters) and empty or whitespace-only files are refused with a clear message."""
    if not data.strip():
        raise UnsupportedFileError(f"{name}: the file is empty", hint="add article text or remove the file")
    text = _decode_with_bom(data, name)
    if text is None:
        if b"\x00" in data:
            raise UnsupportedFileError(f"{name}: binary file (NUL bytes), not text", hint=_HINT_FILES)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detect(data, name)
    if _looks_binary(text):
        raise UnsupportedFileError(f"{name}: binary file (control characters), not text", hint=_HINT_FILES)
    if not text.strip():
        raise UnsupportedFileError(f"{name}: the file has only whitespace", hint="add article text or remove the file")
    return text


def _decode_with_bom(data: bytes, name: str) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as e:
                raise UnsupportedFileError(f"{name}: cannot decode the file as {encoding} ({e.reason})",
                                           hint=_HINT_FILES) from e
    return None


def _detect(data: bytes, name: str) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnsupportedFileError(f"{name}: not a text file (no known encoding fits)", hint=_HINT_FILES)
    return str(best)


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    controls = sum(1 for ch in sample
                   if (ch < " " and ch not in "\n\r\t\f\v") or ("\x7f" <= ch <= "\x9f" and ch != "\x85"))
    return controls > max(2, len(sample) // 100)


def article_from_text(
    doc_id: str,
    text: str,
    source: str,
    *,
    title: str | None = None,
    published: str | None = None,
    url: str | None = None,
    dates: Sequence[tuple[str, object]] = (),
    file_name: str | None = None,
    outlet: str | None = None,
) -> Article:
    """Clean ``text`` into an Article; ``title`` (metadata) wins over the detected headline. The
    publication date is the first of ``published`` (a record's own field), ``dates`` ((source, value) in
    trust order), a date in ``file_name``, the dateline of the first lines; unknown stays None. ``outlet``
    is the publisher the metadata states (rag.ingestion.outlet), None when it states none."""
    clean_title, body, dropped = clean_text(text, title=title or None)
    if not body.strip() or body == clean_title and title:
        raise UnsupportedFileError(f"{doc_id}: no article text left after cleaning",
                                   hint="the file holds only navigation or boilerplate lines")
    day, day_source = best_published([("field", published), *dates], clean_title, body, file_name)
    return Article(
        doc_id=doc_id,
        title=clean_title,
        text=body,
        source=source,
        published=day,
        url=url or None,
        lang=detect_language(body),
        published_source=day_source,
        dropped=dropped,
        outlet=outlet or None,
    )


# --- jsonl --------------------------------------------------------------------------------------------


def _load_jsonl(path: Path, data: bytes) -> tuple[list[Article], list[FileFailure]]:
    """One article per line: {"id", "title", "text", optional "url", "published", "outlet"}; the outlet may
    also be given as "publisher", "site" or a "source" that names it (not a path or URL)."""
    articles: list[Article] = []
    failures: list[FileFailure] = []
    seen: set[str] = set()
    for number, line in enumerate(decode_bytes(data, path.name).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            article = _jsonl_article(line, str(path))
        except (ValueError, IngestError) as e:
            failures.append(FileFailure(where, _one_line(e)))
            continue
        if article.doc_id in seen:
            failures.append(FileFailure(where, f"duplicate id '{article.doc_id}' (the earlier line was kept)"))
            continue
        seen.add(article.doc_id)
        articles.append(article)
    return articles, failures


def _jsonl_article(line: str, source: str) -> Article:
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e.msg} at column {e.colno}") from e
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object with id, title and text")
    doc_id = record.get("id")
    if isinstance(doc_id, int) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    missing = [k for k, v in (("id", doc_id), ("title", record.get("title")), ("text", record.get("text")))
               if not isinstance(v, str) or not v.strip()]
    if missing or not isinstance(doc_id, str):
        raise ValueError(f"missing or empty field(s): {', '.join(missing)}")
    url = record.get("url") if isinstance(record.get("url"), str) else None
    return article_from_text(doc_id.strip(), record["text"], source, title=record["title"],
                             published=record.get("published"), url=url,
                             outlet=outlet_of(record, source_too=True))


def _one_line(error: Exception) -> str:
    message = error.message if isinstance(error, IngestError) else str(error)
    return " ".join(message.split())
