"""The one date parser: Arabic and Latin dates in text, metadata values and filters.

Why one module: publication dates come from many places (a .jsonl field, front matter, HTML metadata, a file
name, a dateline such as "اليوم الجمعة 18 نوفمبر 2016") and filters come from the CLI, the API and the UI;
when each parsed dates its own way the keyword and dense sides disagreed on the same filter. Everything
here works on ``arabic.normalize``d text (Western digits, unified letters) while reporting spans in the
original string. Month names: Egyptian/Gulf (يناير), Levantine (كانون الثاني), Maghrebi (جانفي, جويلية),
English; Hijri dates only where marked (هـ, هجري), converted with ``hijridate`` (Umm al-Qura).
Nothing is guessed: a day and month without a year is returned as partial (``year=None``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from rag import arabic
from rag.errors import InvalidDateError

__all__ = ["DateMention", "Precision", "find_dates", "sentence_dates", "parse_date", "MONTH_NAMES", "parse_bound",
           "day_number", "iso_or_none",
           "WEEKDAYS", "normalized_with_offsets", "filter_days"]

Precision = Literal["day", "month", "year"]

_GREGORIAN_RAW = {
    1: "يناير كانون الثاني جانفي january jan", 2: "فبراير شباط فيفري february feb",
    3: "مارس آذار march mar", 4: "أبريل ابريل إبريل نيسان أفريل افريل april apr",
    5: "مايو أيار ماي may", 6: "يونيو يونيه حزيران جوان june jun",
    7: "يوليو يوليه تموز جويلية جويليه جوييلية july jul", 8: "أغسطس اغسطس آب أوت اوت august aug",
    9: "سبتمبر أيلول september sept sep", 10: "أكتوبر اكتوبر تشرين الأول october oct",
    11: "نوفمبر تشرين الثاني نوفمبر november nov", 12: "ديسمبر كانون الأول december dec",
}
# two-word names are listed as one item by joining on "_" below
_TWO_WORD = {"كانون الثاني", "تشرين الأول", "تشرين الثاني", "كانون الأول"}
_HIJRI_RAW = {
    1: "محرم", 2: "صفر", 3: "ربيع الأول", 4: "ربيع الآخر|ربيع الثاني", 5: "جمادى الأولى|جمادى الأول",
    6: "جمادى الآخرة|جمادى الثانية|جمادى الآخر", 7: "رجب", 8: "شعبان", 9: "رمضان", 10: "شوال",
    11: "ذو القعدة|ذي القعدة", 12: "ذو الحجة|ذي الحجة",
}
_WEEKDAYS_RAW = {0: "الاثنين الإثنين monday", 1: "الثلاثاء tuesday", 2: "الأربعاء الاربعاء wednesday",
                 3: "الخميس thursday", 4: "الجمعة friday", 5: "السبت saturday", 6: "الأحد الاحد sunday"}


def _names(raw: dict[int, str], *, split_words: bool) -> dict[str, int]:
    table: dict[str, int] = {}
    for number, names in raw.items():
        items = names.split("|") if not split_words else _split_names(names)
        for name in items:
            table[arabic.normalize(name)] = number
    return table


def _split_names(names: str) -> list[str]:
    words, out, i = names.split(), [], 0
    while i < len(words):
        pair = " ".join(words[i:i + 2])
        if pair in _TWO_WORD:
            out.append(pair)
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


_MONTHS = _names(_GREGORIAN_RAW, split_words=True)
#: normalised Gregorian month name (every series, English included) -> month number
MONTH_NAMES: dict[str, int] = _MONTHS
_HIJRI_MONTHS = _names(_HIJRI_RAW, split_words=False)
#: normalised weekday name -> Python weekday (Monday = 0)
WEEKDAYS: dict[str, int] = {arabic.normalize(n): d for d, names in _WEEKDAYS_RAW.items() for n in names.split()}


def _alternation(names: dict[str, int]) -> str:
    return "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(names, key=len, reverse=True))


_M = _alternation(_MONTHS)
_H = _alternation(_HIJRI_MONTHS)
_WD = _alternation(WEEKDAYS)
_END = r"(?![^\W\d_])"  # a name ends where letters end ("2016على" still ends the year at the digits)
_YEAR_MARK = r"(?:\s*(?P<mark>هـ|ه|هجريه|هجري|م|ميلاديه|ميلادي)(?![^\W\d_]))?"
_YEAR = r"(?P<year>[12]\d{3})(?!\d)"
_DAY = r"(?P<day>[0-3]?\d)(?!\d)"
_OF = r"(?:\s*(?:من\s+)?(?:شهر\s+)?)"
_YEAR_WORD = r"(?:\s*,?\s*(?:من\s+)?(?:عام|العام|سنه|السنه|of)?\s*)"
_FULL_KINDS = frozenset({"iso", "numeric", "hijri", "dmy"})
_YEAR_CUES = "عام|العام|سنه|السنه|year|in|since|before|after|until|منذ|خلال|في|قبل|بعد|حتى"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(p, re.IGNORECASE)) for kind, p in (
    ("iso", rf"(?<!\d){_YEAR}-(?P<month>[01]?\d)-{_DAY}"),
    ("numeric", rf"(?<![\d/.-]){_DAY}\s*[/.-]\s*(?P<month>[01]?\d)\s*[/.-]\s*{_YEAR}"),
    ("hijri", rf"(?<!\d)(?:{_DAY}{_OF})?(?P<hmonth>{_H}){_END}{_YEAR_WORD}{_YEAR}\s*(?P<mark>هـ|ه|هجريه|هجري)"
              rf"(?![^\W\d_])"),
    ("dmy", rf"(?<!\d){_DAY}(?:st|nd|rd|th)?{_OF}(?P<mname>{_M})\.?{_END}(?:{_YEAR_WORD}{_YEAR}{_YEAR_MARK})?"),
    ("mdy", rf"(?<![^\W\d_])(?P<mname>{_M})\.?{_END}\s*{_DAY}(?:st|nd|rd|th)?(?:\s*,\s*{_YEAR})?"),
    ("my", rf"(?<![^\W\d_])(?P<mname>{_M}){_END}{_YEAR_WORD}{_YEAR}{_YEAR_MARK}"),
    ("y", rf"(?<![^\W\d_])[وفبل]?(?:{_YEAR_CUES})\s+{_YEAR}{_YEAR_MARK}"),
    ("y", rf"(?<!\d){_YEAR}\s*(?P<mark>ه|م)(?![^\W\d_])"),
))
_WEEKDAY_BEFORE = re.compile(rf"(?:^|[^\w])(?:يوم\s+)?(?P<wd>{_WD})\s*,?\s*(?:ال)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DateMention:
    """A date stated in text. ``date`` is None for a partial date (day and month, no year); month and year
    precision keep the first day of their period in ``date`` and say so in ``precision``."""

    span: tuple[int, int]
    year: int | None
    month: int | None
    day: int | None
    precision: Precision
    text: str = ""
    weekday: int | None = None  # the weekday the text names before the date, if any
    calendar: Literal["gregorian", "hijri"] = "gregorian"
    #: the words as written when the date was resolved from relative time ('أمس', 'العام الماضي',
    #: '12 فبراير الماضي') against the publication date; None for a date stated in full
    relative: str | None = None

    @property
    def partial(self) -> bool:
        return self.year is None

    @property
    def date(self) -> dt.date | None:
        if self.year is None:
            return None
        return dt.date(self.year, self.month or 1, self.day or 1)

    @property
    def last_date(self) -> dt.date | None:
        """Last day of the stated period (the day itself for day precision)."""
        if self.year is None:
            return None
        month = self.month or 12
        return dt.date(self.year, month, self.day or calendar.monthrange(self.year, month)[1])

    @property
    def iso(self) -> str | None:
        """'YYYY-MM-DD', 'YYYY-MM' or 'YYYY' by precision; None when partial."""
        if self.year is None:
            return None
        if self.precision == "year" or self.month is None:
            return f"{self.year:04d}"
        return f"{self.year:04d}-{self.month:02d}" + (f"-{self.day:02d}" if self.day is not None else "")


def normalized_with_offsets(text: str) -> tuple[str, list[int]]:
    """``arabic.normalize`` character by character, with the original offset of every output character
    (diacritics vanish, so offsets are not the identity), plus one end offset."""
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        piece = arabic.normalize(ch)
        out.append(piece)
        offsets.extend([i] * len(piece))
    offsets.append(len(text))
    return "".join(out), offsets


def find_dates(sentence: str) -> list[DateMention]:
    """Every date stated in ``sentence``, in order, longest reading first (a day-month-year is one mention,
    not also a month-year); impossible dates (31 فبراير) are skipped."""
    norm, offsets = normalized_with_offsets(sentence)
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(norm):
            start, end = match.span()
            if any(start < b and a < end for a, b in taken):
                continue
            mention = _mention(kind, match, norm)
            if mention is None and kind in _FULL_KINDS:
                taken.append((start, end))  # "31 فبراير 2016" is no date, and not "فبراير 2016" either
            if mention is None:
                continue
            o_start, o_end = offsets[start], offsets[end]
            taken.append((start, end))
            found.append(DateMention((o_start, o_end), mention.year, mention.month, mention.day, mention.precision,
                                     sentence[o_start:o_end], mention.weekday, mention.calendar))
    return sorted(found, key=lambda m: m.span)


def sentence_dates(text: str, published: str | None) -> list[DateMention]:
    """Every date ``text`` states (as ``find_dates``) plus its relative time resolved against ``published``
    (ISO day, month or year; None = unknown) where that is sure, in order. A day and month without a year
    gets one only from a modifier ('12 فبراير الماضي'), else stays partial; relative phrases that cannot be
    resolved are left out. Rules and why: ``rag.relative_time``."""
    from rag.relative_time import relative_dates, resolve_partial

    found = find_dates(text)
    anchor = parse_date(published) if published else None
    mentions = [(resolve_partial(text, m, published, anchor=anchor) or m) if m.partial else m for m in found]
    return sorted(mentions + relative_dates(text, published, mentions=found, anchor=anchor), key=lambda m: m.span)


def _mention(kind: str, match: re.Match[str], norm: str) -> DateMention | None:
    groups = {k: v for k, v in match.groupdict().items() if v}
    year = int(groups["year"]) if "year" in groups else None
    day = int(groups["day"]) if "day" in groups else None
    if kind == "hijri":
        return _hijri(year, _HIJRI_MONTHS[_key(groups["hmonth"])], day)
    mark = groups.get("mark", "")
    if kind == "y":
        if mark in {"هـ", "ه", "هجري", "هجريه"} and year is not None:
            return _hijri(year, None, None)
        return DateMention((0, 0), year, None, None, "year")
    if mark in {"هـ", "ه", "هجري", "هجريه"}:
        return None  # a Gregorian month name with a Hijri year mark: not a date we can trust
    month = int(groups["month"]) if "month" in groups else _MONTHS[_key(groups["mname"])]
    if day is None:
        return DateMention((0, 0), year, month, None, "month")
    if not _valid(year or 2000, month, day):  # 2000 is a leap year: 29 فبراير without a year is fine
        return None
    weekday = _weekday_before(norm, match.start())
    return DateMention((0, 0), year, month, day, "day", weekday=weekday)


def _key(name: str) -> str:
    return " ".join(name.lower().split())


def _valid(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and 1000 <= year <= 2999


def _weekday_before(norm: str, start: int) -> int | None:
    match = _WEEKDAY_BEFORE.search(norm[max(0, start - 24):start])
    return WEEKDAYS.get(match.group("wd").lower()) if match else None


def _hijri(year: int | None, month: int | None, day: int | None) -> DateMention | None:
    """A Hijri date converted to the Gregorian calendar; a Hijri month or year spans two Gregorian ones, so
    only a full Hijri date keeps day precision and a Hijri year becomes the Gregorian year it starts in."""
    from hijridate import Hijri

    if year is None:
        return None
    try:
        g = Hijri(year, month or 1, day or 1).to_gregorian()
    except (ValueError, OverflowError):
        return None
    if day is not None:
        return DateMention((0, 0), g.year, g.month, g.day, "day", calendar="hijri")
    return DateMention((0, 0), g.year, g.month if month else None, None, "month" if month else "year",
                       calendar="hijri")


_ISO_VALUE = re.compile(r"^(?P<y>[12]\d{3})(?:-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?)?(?:[T ][\d:.+\-Z ]*)?$", re.IGNORECASE)


def parse_date(value: str) -> DateMention | None:
    """A whole value read as one date (metadata fields, filters): ISO 8601 ('2016', '2016-11', '2016-11-18',
    '2016-11-18T09:00:00Z'), RFC 822 ('Fri, 18 Nov 2016 09:00:00 +0000'), or one stated date that is all
    the value holds besides a weekday and punctuation ('الجمعة 18 نوفمبر 2016', '١٨/١١/٢٠١٦').
    None when the value is not exactly one date."""
    text = " ".join(str(value).split())
    if not text:
        return None
    norm = arabic.normalize(text)
    iso = _ISO_VALUE.match(norm)
    if iso:
        return _from_iso(iso, text)
    rfc = _rfc822(text)
    if rfc is not None:
        return rfc
    mentions = find_dates(text)
    if len(mentions) != 1:
        return None
    m = mentions[0]
    rest = arabic.normalize(text[: m.span[0]] + " " + text[m.span[1]:])
    rest = re.sub(rf"\b(?:{_WD})\b|يوم|[\W_]", " ", rest, flags=re.IGNORECASE)
    return m if not rest.strip() else None


def _from_iso(match: re.Match[str], text: str) -> DateMention | None:
    y, m, d = (int(g) if g else None for g in match.group("y", "m", "d"))
    assert y is not None
    if m is not None and not 1 <= m <= 12 or d is not None and not _valid(y, m or 1, d):
        return None
    precision: Precision = "day" if d else "month" if m else "year"
    return DateMention((0, len(text)), y, m, d, precision, text)


def _rfc822(text: str) -> DateMention | None:
    import email.utils

    if not re.search(r"[A-Za-z]{3}", text) or not re.search(r"\d{1,2}:\d{2}", text):
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return DateMention((0, len(text)), parsed.year, parsed.month, parsed.day, "day", text)


def iso_or_none(value: object) -> str | None:
    """A metadata value as 'YYYY-MM-DD' / 'YYYY-MM' / 'YYYY' (its stated precision); None when it is not a
    complete date (unknown stays unknown)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%Y-%m-%d")
    if not isinstance(value, str):
        return None
    mention = parse_date(value)
    return mention.iso if mention is not None else None


def parse_bound(value: str, *, end: bool) -> dt.date:
    """A filter bound: the first day of the stated period (``end=False``) or its last day (``end=True``), so
    ``--until 2016`` keeps all of 2016. Raises InvalidDateError (HTTP 422, CLI error) for anything else."""
    mention = parse_date(value) if isinstance(value, str) else None
    if mention is None or mention.partial:
        raise InvalidDateError(f"not a date: {value!r}",
                               hint="use YYYY, YYYY-MM or YYYY-MM-DD (or a full date like '18 نوفمبر 2016')")
    bound = mention.last_date if end else mention.date
    assert bound is not None
    return bound


def day_number(value: dt.date | str | None) -> int:
    """YYYYMMDD as an int (stores need numbers for range filters); 0 for unknown or unparseable. A month or
    year (a publication date known only that far) counts from its first day."""
    if value is None:
        return 0
    if isinstance(value, str):
        mention = parse_date(value)
        day = mention.date if mention is not None else None
        if day is None:
            return 0
        value = day
    return value.year * 10000 + value.month * 100 + value.day


def filter_days(published_from: str | None, published_to: str | None) -> tuple[int, int] | None:
    """A date filter as inclusive YYYYMMDD bounds for both retrieval sides (None when there is no date bound;
    a missing side is open). Undated chunks (day 0) never fall inside. Raises InvalidDateError for a bound
    that is not a date, and for a range that ends before it starts (it would silently match nothing)."""
    if not published_from and not published_to:
        return None
    low = day_number(parse_bound(published_from, end=False)) if published_from else 1
    high = day_number(parse_bound(published_to, end=True)) if published_to else 99991231
    if low > high:
        raise InvalidDateError(f"the date range ends before it starts ({published_from} > {published_to})",
                               hint="swap the two dates")
    return low, high
