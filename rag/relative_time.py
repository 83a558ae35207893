"""Relative time ("أمس", "اليوم الخميس", "الشهر الماضي", "last year") resolved against a publication date.

Why: news says "yesterday" and "last year" far more often than it writes a full date, and an answer that
repeats "last year" from a 2017 article is wrong by the time it is read. Resolution happens only where it is
sure; everything else is left out (a relative phrase) or left partial (a day and month without a year):

- days: أمس / البارحة / يوم أمس (day-1), أول أمس / أمس الأول (day-2), اليوم (the day), غدا / يوم الغد (day+1),
  بعد غد (day+2), English yesterday / today / tomorrow. A weekday named with them ("اليوم الخميس", "أمس
  الأربعاء") must fall on that day, else nothing is resolved. "اليوم" followed by another definite word
  ("اليوم العالمي", "اليوم الأول"), after "ذلك / نفس / ذات / هذا", "في" ("ألف عملية في اليوم": per day),
  "خلال / طوال" (during the day) or in a media name ("روسيا اليوم") is not today.
- a weekday with الماضي / الفارط / المنقضي (the most recent such weekday strictly before the date) or المقبل /
  القادم (the next one strictly after); a bare weekday ("يوم الخميس") is never resolved: news reports
  Wednesday's ruling on Thursday and Monday's on Friday.
- الأسبوع / الشهر / العام / السنة with الماضي / الفارط / المنقضي / المنصرم, المقبل / القادم, الجاري / الحالي
  (and هذا / هذه ...; English last / next / this week, month, year). A week becomes the month it lies in when
  every reading of it (calendar weeks starting Saturday, Sunday or Monday, and the seven days before or
  after) falls in one month, else nothing. "العام" after a definite noun is the adjective "general"
  ("الأمين العام الحالي"): not resolved.
- a month name, or a day and month, with الماضي (the most recent one strictly before the publication month),
  الجاري / الحالي (the publication month itself), المقبل / القادم (the next one strictly after). The
  publication month's own name with الماضي or المقبل is ambiguous (this month or a year away): not resolved.
- a month or a day and month WITHOUT such a word is never given a year: Tunisian news writes "14 جانفي" and
  "17 ديسمبر" for the 2011 revolution in articles of any year, so "the nearest such date" would be wrong.

- nothing inside a direct quotation («...», "..."): the speaker's "today" may be days before the article.

Every resolved mention keeps ``relative`` = the words as written, so an answer can say what the article said.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import replace

from rag.dates import MONTH_NAMES, WEEKDAYS, DateMention, Precision, find_dates, normalized_with_offsets, parse_date

__all__ = ["relative_dates", "resolve_partial"]

_PAST = r"الماضي|الماضيه|الفارط|الفارطه|المنقضي|المنقضيه|المنصرم|المنصرمه"
_NEXT = r"المقبل|المقبله|القادم|القادمه"
_THIS = r"الجاري|الجاريه|الحالي|الحاليه"
_WD = "|".join(sorted((w for w in WEEKDAYS if not w.isascii()), key=len, reverse=True))
_WD_EN = "|".join(w for w in WEEKDAYS if w.isascii())
_MN = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(MONTH_NAMES, key=len, reverse=True)
               if not n.isascii())
_B, _E = r"(?<![^\W\d_])", r"(?![^\W\d_])"  # word boundaries that treat digits as boundaries too
_WEEKDAY_TAIL = rf"(?:\s*[,(]?\s*(?P<wd>{_WD}){_E}\)?)?"
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(p, re.IGNORECASE)) for kind, p in (
    ("day-2", rf"{_B}(?:يوم\s+)?(?:اول\s+امس|امس\s+الاول){_E}{_WEEKDAY_TAIL}"
              rf"|{_B}the\s+day\s+before\s+yesterday{_E}"),
    ("day+2", rf"{_B}(?:يوم\s+)?بعد\s+غد{_E}{_WEEKDAY_TAIL}|{_B}the\s+day\s+after\s+tomorrow{_E}"),
    ("day-1", rf"{_B}[وف]?(?:يوم\s+)?(?:امس|البارحه){_E}{_WEEKDAY_TAIL}|{_B}yesterday{_E}"),
    ("day+0", rf"{_B}[وفل]?(?:اليوم|لليوم){_E}{_WEEKDAY_TAIL}|{_B}today{_E}"),
    ("day+1", rf"{_B}[وف]?(?:غدا|يوم\s+الغد){_E}{_WEEKDAY_TAIL}|{_B}tomorrow{_E}"),
    ("weekday", rf"{_B}(?:يوم\s+)?(?P<wd>{_WD})\s+(?P<mod>{_PAST}|{_NEXT}){_E}"
                rf"|{_B}(?P<mod_en>last|next)\s+(?P<wd_en>{_WD_EN}){_E}"),
    ("unit", rf"{_B}(?:[وفب]?ال|لل)(?P<unit>اسبوع|شهر|عام|سنه)\s+(?P<mod>{_PAST}|{_NEXT}|{_THIS}){_E}"),
    ("unit", rf"{_B}[وفب]?(?P<this>هذا|هذه)\s+ال(?P<unit>اسبوع|شهر|عام|سنه){_E}"),
    ("unit", rf"{_B}(?P<mod_en>last|next|this)\s+(?P<unit>week|month|year){_E}"),
    ("month", rf"{_B}(?:شهر\s+)?(?P<mname>{_MN})\s+(?P<mod>{_PAST}|{_NEXT}|{_THIS}){_E}"),
))
# 'ذلك اليوم' (that day), 'في اليوم' (per day: 'ألف عملية في اليوم'), 'خلال اليوم' (during the day, any day),
# media named '... اليوم' (روسيا اليوم)
_NOT_TODAY_BEFORE = re.compile(r"(?:^|\s)(?:ذلك|نفس|ذات|هذا|تلك|في|خلال|طوال|طيله|روسيا|اخبار|المصري|فلسطين|المغرب)\s*$")
_DEFINITE_AFTER = re.compile(r"\s+(?!الي\b)(?:[وفبل]?ال|لل)\w")  # 'اليوم إلى' is still today
_DEFINITE_BEFORE = re.compile(r"(?:^|\s)(?:[وفبلك]?ال|لل)\w+\s+$")
_MODIFIER_AFTER = re.compile(rf"\s+(?P<mod>{_PAST}|{_NEXT}|{_THIS}){_E}")
_UNIT_EN = {"week": "اسبوع", "month": "شهر", "year": "عام"}
_QUOTES = re.compile(r'[«»"“”]')


def _mod(word: str | None) -> str | None:
    """'past', 'next' or 'this' for a modifier word (Arabic or English)."""
    if not word:
        return None
    word = word.lower()
    if word == "last" or re.fullmatch(_PAST, word):
        return "past"
    if word == "next" or re.fullmatch(_NEXT, word):
        return "next"
    return "this"


def relative_dates(text: str, published: str | None, *, mentions: list[DateMention] | None = None,
                   anchor: DateMention | None = None) -> list[DateMention]:
    """The relative phrases of ``text`` that ``published`` (ISO: day, month or year) resolves, as
    DateMentions with ``relative`` set; [] when the publication date is unknown. Phrases inside or right
    before an explicit date ("اليوم الجمعة 18 نوفمبر 2016") are the explicit date's, not relative ones.
    ``mentions`` (``find_dates(text)``) and ``anchor`` (``parse_date(published)``): already computed, if given."""
    anchor = anchor if anchor is not None else parse_date(published) if published else None
    if anchor is None or anchor.year is None:
        return []
    norm, offsets = normalized_with_offsets(text)
    explicit = [m.span for m in (mentions if mentions is not None else find_dates(text))]
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for kind, pattern in _RULES:
        for match in pattern.finditer(norm):
            start, end = offsets[match.start()], offsets[match.end()]
            if any(start < b and a < end for a, b in taken + explicit) or _before_explicit(text, end, explicit):
                continue
            if kind != "month" and _quoted(text, start):
                continue  # a quote's 'today' is the speaker's, who may have spoken days before
            taken.append((start, end))
            resolved = _resolve(kind, match, norm, anchor)
            if resolved is not None:
                found.append(replace(resolved, span=(start, end), text=text[start:end], relative=text[start:end]))
    return sorted(found, key=lambda m: m.span)


def _before_explicit(text: str, end: int, explicit: list[tuple[int, int]]) -> bool:
    return any(0 <= a - end <= 3 and not text[end:a].strip(" ,،") for a, _ in explicit)


def _quoted(text: str, start: int) -> bool:
    """Whether ``start`` lies inside a direct quotation («...» or "...")."""
    marks = _QUOTES.findall(text[:start])
    depth = marks.count("«") - marks.count("»")
    return depth > 0 or (marks.count('"') + marks.count("“") + marks.count("”")) % 2 == 1


def _resolve(kind: str, match: re.Match[str], norm: str, anchor: DateMention) -> DateMention | None:
    groups = {k: v for k, v in match.groupdict().items() if v}
    if kind.startswith("day"):
        if kind == "day+0" and not _is_today(match, norm):
            return None
        return _day(anchor, int(kind[3:]), groups.get("wd"))
    if kind == "weekday":
        name = groups.get("wd") or groups.get("wd_en", "")
        return _weekday(anchor, WEEKDAYS[name.lower()], _mod(groups.get("mod") or groups.get("mod_en")))
    if kind == "unit":
        unit = _UNIT_EN.get(groups["unit"].lower(), groups["unit"])
        if unit == "عام" and "mod" in groups and _DEFINITE_BEFORE.search(norm[max(0, match.start() - 30):match.start()]):
            return None  # "الأمين العام الحالي": the adjective "general"
        mod = "this" if "this" in groups else _mod(groups.get("mod") or groups.get("mod_en"))
        return _unit(anchor, unit, mod or "this")
    month = MONTH_NAMES[" ".join(groups["mname"].split())]
    return _month(anchor, month, None, _mod(groups["mod"]))


def _is_today(match: re.Match[str], norm: str) -> bool:
    """'اليوم' is today unless a definite word qualifies it ('اليوم العالمي') or a demonstrative points
    elsewhere ('ذلك اليوم', 'نفس اليوم'); a weekday after it is checked against the date instead."""
    if match.group("wd"):
        return True
    if _NOT_TODAY_BEFORE.search(norm[max(0, match.start() - 10):match.start()]):
        return False
    return not _DEFINITE_AFTER.match(norm, match.end())


def _day(anchor: DateMention, delta: int, weekday_name: str | None) -> DateMention | None:
    if anchor.precision != "day" or anchor.date is None:
        return None
    day = anchor.date + dt.timedelta(days=delta)
    if weekday_name and WEEKDAYS[weekday_name] != day.weekday():
        return None  # "اليوم الخميس" on a Friday: one of the two is wrong, so neither is used
    return _at(day, "day", weekday=day.weekday() if weekday_name else None)


def _weekday(anchor: DateMention, weekday: int, mod: str | None) -> DateMention | None:
    if anchor.precision != "day" or anchor.date is None or mod not in {"past", "next"}:
        return None
    if mod == "past":
        day = anchor.date - dt.timedelta(days=(anchor.date.weekday() - weekday) % 7 or 7)
    else:
        day = anchor.date + dt.timedelta(days=(weekday - anchor.date.weekday()) % 7 or 7)
    return _at(day, "day", weekday=weekday)


def _unit(anchor: DateMention, unit: str, mod: str) -> DateMention | None:
    step = {"past": -1, "next": 1, "this": 0}[mod]
    assert anchor.year is not None
    if unit in {"عام", "سنه"}:
        return DateMention((0, 0), anchor.year + step, None, None, "year")
    if anchor.month is None or anchor.precision == "year":
        return None
    if unit == "شهر":
        year, month = divmod(anchor.year * 12 + anchor.month - 1 + step, 12)
        return DateMention((0, 0), year, month + 1, None, "month")
    if anchor.precision != "day" or anchor.date is None:
        return None
    low, high = _week_window(anchor.date, mod)
    if (low.year, low.month) != (high.year, high.month):
        return None  # the week straddles two months: no month we can name
    return DateMention((0, 0), low.year, low.month, None, "month")


def _week_window(day: dt.date, mod: str) -> tuple[dt.date, dt.date]:
    """The days 'last / this / next week' can mean, seen from ``day``: the calendar week before, of or after
    ``day`` whether weeks start on Saturday, Sunday or Monday (all are used), and for last / next week
    also the seven days before / after."""
    starts = [day - dt.timedelta(days=(day.weekday() - first) % 7) for first in (5, 6, 0)]
    if mod == "past":
        return min(starts) - dt.timedelta(days=7), day - dt.timedelta(days=1)
    if mod == "next":
        return day + dt.timedelta(days=1), max(starts) + dt.timedelta(days=13)
    return min(starts), max(starts) + dt.timedelta(days=6)


def _month(anchor: DateMention, month: int, day: int | None, mod: str | None) -> DateMention | None:
    """A month (or day and month) placed by its modifier relative to the publication month."""
    if anchor.month is None or anchor.precision == "year" or mod is None:
        return None
    assert anchor.year is not None
    if mod == "this":
        year = anchor.year if month == anchor.month else None
    elif month == anchor.month:
        year = None  # 'مارس الماضي' written in March: earlier this month, or a year ago
    elif mod == "past":
        year = anchor.year if month < anchor.month else anchor.year - 1
    else:
        year = anchor.year if month > anchor.month else anchor.year + 1
    if year is None or day is not None and day > calendar.monthrange(year, month)[1]:
        return None
    return DateMention((0, 0), year, month, day, "day" if day is not None else "month")


def _at(day: dt.date, precision: Precision, weekday: int | None = None) -> DateMention:
    return DateMention((0, 0), day.year, day.month, day.day, precision, weekday=weekday)


def resolve_partial(text: str, mention: DateMention, published: str | None, *,
                    anchor: DateMention | None = None) -> DateMention | None:
    """A day and month without a year ('12 فبراير الماضي') given its year by the modifier that follows it in
    ``text``; None without a modifier or a known publication month (see the module docstring for why).
    ``anchor``: ``parse_date(published)`` already computed, if given."""
    anchor = anchor if anchor is not None else parse_date(published) if published else None
    norm, offsets = normalized_with_offsets(text)
    end = offsets.index(mention.span[1]) if mention.span[1] in offsets else -1
    after = _MODIFIER_AFTER.match(norm, end) if anchor is not None and end >= 0 else None
    if anchor is None or after is None or mention.month is None:
        return None
    resolved = _month(anchor, mention.month, mention.day, _mod(after["mod"]))
    if resolved is None:
        return None
    stop = offsets[after.end()]
    return replace(resolved, span=(mention.span[0], stop), text=text[mention.span[0]:stop],
                   relative=text[mention.span[0]:stop], weekday=mention.weekday)
