"""Formats with markup -> plain article text plus metadata (title, published, url, outlet).

HTML goes through trafilatura (main-text extraction and date/title metadata: regexes over HTML lose
text and keep menus); PDF through pypdf; Markdown loses only its markers. Each returns ``(text, meta)``
where ``meta`` holds keyword arguments for ``readers.article_from_text``.
"""

from __future__ import annotations

import io
import re
import unicodedata

from rag.errors import IngestError, UnsupportedFileError
from rag.ingestion.outlet import OUTLET_KEYS, outlet_name, outlet_of

__all__ = ["html_to_text", "markdown_to_text", "pdf_to_text"]

Meta = dict[str, str | None]

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_KEY = re.compile(r"^([A-Za-z_]+)\s*:\s*(.*?)\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_=])(?:\s*\1){2,}\s*$")
_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
# Single * or _ emphasis only when not inside a word (\w is Unicode: Arabic letters count as word chars).
_EMPHASIS = re.compile(r"(?<!\w)([*_])(?=\S)(.+?)(?<=\S)\1(?!\w)")
_CODE = re.compile(r"`([^`\n]+)`")
_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff\ufb00-\ufb06]")


def markdown_to_text(source: str) -> tuple[str, Meta]:
    """Strip heading markers, emphasis, links and images; keep every word. Front matter gives metadata."""
    meta: Meta = {}
    match = _FRONT_MATTER.match(source.replace("\r\n", "\n"))
    if match:
        meta = _front_matter(match.group(1))
        source = source.replace("\r\n", "\n")[match.end() :]
    lines = []
    for line in source.splitlines():
        if _FENCE.match(line) or _RULE.match(line):
            lines.append("")  # fences and rules (and setext underlines) are layout
            continue
        heading = _HEADING.match(line)
        line = heading.group(1) if heading else _QUOTE.sub("", line)
        line = _IMAGE.sub("", line)
        line = _LINK.sub(r"\1", line)
        line = _CODE.sub(r"\1", line)
        line = _EMPHASIS.sub(r"\2", _STRONG.sub(r"\2", line))
        lines.append(line)
    return "\n".join(lines), meta


def _front_matter(block: str) -> Meta:
    meta: Meta = {}
    names: dict[str, object] = {}
    for line in block.splitlines():
        match = _FRONT_KEY.match(line)
        if not match:
            continue
        key, value = match.group(1).lower(), match.group(2).strip().strip("\"'")
        if key == "title" and value:
            meta["title"] = value
        elif key in {"date", "published"} and value:
            meta["published"] = value
        elif key in {"url", "link", "source_url"} and value:
            meta["url"] = value
        elif key in OUTLET_KEYS and value:
            names[key] = value
    outlet = outlet_of(names)  # 'outlet' wins over 'publisher', 'site', whatever their order
    if outlet:
        meta["outlet"] = outlet
    return meta


def html_to_text(html: str, name: str = "file") -> tuple[str, Meta]:
    """Main article text and metadata through trafilatura (boilerplate, menus and comments left out)."""
    import trafilatura

    document = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                           include_tables=True, include_images=False)
    text = getattr(document, "text", None) if document is not None else None
    if not text or not text.strip():
        raise UnsupportedFileError(f"{name}: no article text found in the HTML",
                                   hint="save the article page itself, not an index or a script-only page")
    # trafilatura separates paragraphs with single newlines: make them blank-line paragraphs.
    text = "\n\n".join(line for line in text.splitlines() if line.strip())
    meta: Meta = {
        "title": _clean_meta(getattr(document, "title", None)),
        "published": _clean_meta(getattr(document, "date", None)),
        "url": _clean_meta(getattr(document, "url", None)),
        "outlet": stated_sitename(html),
    }
    return text, meta


def stated_sitename(html: str) -> str | None:
    """The outlet the page states about itself: og:site_name, article:publisher, a publisher meta tag,
    twitter:site, JSON-LD ``publisher.name`` (trafilatura's meta-tag and JSON-LD readers). Not the
    ``sitename`` of ``bare_extraction``: that falls back to a part of the <title> or the URL's host,
    which are guesses, and an outlet is never guessed."""
    from trafilatura.metadata import examine_meta, extract_meta_json
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return None
    try:
        document = extract_meta_json(tree, examine_meta(tree))
    except (ValueError, TypeError, AttributeError):  # malformed metadata is no metadata
        return None
    return outlet_name(getattr(document, "sitename", None))


def _clean_meta(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(value.split())


def pdf_to_text(data: bytes, name: str = "file") -> tuple[str, Meta]:
    """Text layer of every page, pages separated by blank lines (a page is a paragraph unless the
    extraction kept blank lines). Arabic presentation forms and ligatures
    that PDF extraction yields are folded back to ordinary letters (NFKC) so search can match them."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedFileError(f"{name}: the PDF is password-protected", hint="save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise IngestError(f"{name}: cannot read the PDF ({' '.join(str(e).split())[:120]})",
                          hint="check that the file is a complete, valid PDF") from e
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise UnsupportedFileError(f"{name}: the PDF has no text layer; OCR it first",
                                   hint="run OCR (e.g. ocrmypdf) and ingest the result")
    if _PRESENTATION_FORMS.search(text):
        text = unicodedata.normalize("NFKC", text)
    # PDF metadata is left out on purpose: its title is often the authoring file's name and its
    # creation date is not the publication date; the headline comes from the text like for .txt.
    return text, {}
