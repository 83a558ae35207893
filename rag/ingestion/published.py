"""Publication date of an article from the best source available, with where it came from.

Why: news is about when, and a wrong date is worse than none. Sources in order of trust: an explicit field
(.jsonl ``published``, front matter, a ``NAME.meta.json`` sidecar, the API upload form, ``sanad ingest
--published``), HTML metadata (trafilatura/htmldate), a date in the file name, a dateline in the first lines
("اليوم الجمعة 18 نوفمبر 2016"). Unknown stays unknown: no date is ever taken from the ingest time, the file's
mtime, or a date somewhere in the body.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rag import arabic
from rag.dates import WEEKDAYS, DateMention, find_dates, iso_or_none
from rag.errors import InvalidDateError

__all__ = ["PUBLISHED_SOURCES", "dateline", "date_from_filename", "read_sidecar", "best_published", "explicit_date"]

#: every value ``Article.published_source`` can take, most trusted first
PUBLISHED_SOURCES = ("cli", "upload", "field", "front_matter", "sidecar", "html_meta", "filename", "dateline")

_LEAD_CHARS = 400
_WEEKDAY_NAMES = "|".join(sorted(WEEKDAYS, key=len, reverse=True))  # a dateline sits in the first lines of the body
# 'اليوم' (today) right before the date, a weekday name between allowed: a weekday alone dates an event
# (news often reports Wednesday's ruling on Thursday), 'today' dates the article
_TODAY_BEFORE = re.compile(rf"(?:^|[^\w])(?:اليوم|لليوم|today)\s*,?\s*(?:(?:{_WEEKDAY_NAMES})\s*,?\s*)?$", re.IGNORECASE)
_DATELINE_AFTER = re.compile(r"\s*[(\-–—:|]")
_FILE_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[-_.]?(?P<m>[01]\d)[-_.]?(?P<d>[0-3]\d)(?!\d)")


def dateline(title: str, text: str) -> DateMention | None:
    """The date the article states for itself in its first lines: a full day-month-year right after 'اليوم'
    / 'today' ('اليوم الجمعة 18 نوفمبر 2016'), or opening the body ('18 نوفمبر 2016 - ...'). A named
    weekday that does not fall on the date makes it unsure, so it is not used."""
    body = text[len(title):] if title and text.startswith(title) else text
    lead = body.lstrip()[:_LEAD_CHARS]
    for mention in find_dates(lead):
        day = mention.date
        if day is None or mention.precision != "day":
            continue
        if mention.weekday is not None and mention.weekday != day.weekday():
            continue
        before = arabic.normalize(lead[max(0, mention.span[0] - 24):mention.span[0]])
        if _TODAY_BEFORE.search(before) or _opens_body(lead, mention):
            return mention
    return None


def _opens_body(lead: str, mention: DateMention) -> bool:
    """A wire dateline: the date first in the body, after at most a place name, and followed by a bracket
    or dash ('تونس 11 ديسمبر 2016 (وات) -', '18 نوفمبر 2016 - ')."""
    head, tail = lead[:mention.span[0]], lead[mention.span[1]:mention.span[1] + 3]
    return len(head.split()) <= 2 and "\n" not in head and bool(_DATELINE_AFTER.match(tail))


def date_from_filename(name: str) -> str | None:
    """'2016-11-18-haftar.txt', 'JA-diverse-110-20161118.txt' -> '2016-11-18'; None when the name holds
    no valid YYYY[-_.]MM[-_.]DD."""
    for match in _FILE_DATE.finditer(Path(name).stem):
        iso = iso_or_none(f"{match['y']}-{match['m']}-{match['d']}")
        if iso is not None:
            return iso
    return None


def read_sidecar(path: Path) -> dict[str, object]:
    """``NAME.meta.json`` beside ``NAME.txt`` (or ``NAME.txt.meta.json``): a JSON object of metadata; an
    absent or unreadable sidecar is just no metadata."""
    for candidate in (path.with_name(path.stem + ".meta.json"), path.with_name(path.name + ".meta.json")):
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def best_published(candidates: list[tuple[str, object]], title: str, text: str,
                   file_name: str | None = None) -> tuple[str | None, str | None]:
    """(published, source): the first explicit candidate that is a date, else the file name's date, else the
    dateline; (None, None) when nothing states one. ``candidates`` are (source, raw value) in trust order."""
    for source, value in candidates:
        iso = iso_or_none(value)
        if iso is not None:
            return iso, source
    if file_name:
        iso = date_from_filename(file_name)
        if iso is not None:
            return iso, "filename"
    mention = dateline(title, text)
    if mention is not None:
        return mention.iso, "dateline"
    return None, None


def explicit_date(value: str | None, source: str) -> tuple[str, str] | None:
    """(published, source) for a date the user states for a whole run (``sanad ingest --published``, the
    upload form's ``published``), which beats every date the files hold; None when none is given. Checked
    before anything is written: a value that is not a date is an InvalidDateError, never ignored."""
    if value is None or not value.strip():
        return None
    iso = iso_or_none(value)
    if iso is None:
        raise InvalidDateError(f"not a publication date: {value!r}",
                               hint="use YYYY, YYYY-MM or YYYY-MM-DD (or a full date like '18 نوفمبر 2016')")
    return iso, source
