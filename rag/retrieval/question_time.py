"""Time in a question as a soft preference: "في 2018", "since March 2017", "قبل 2020", "بين 2016 و2018", "latest".

Why soft: a question that names a year usually wants that year's articles, but the best answer may sit in an
article published the year after (news reports on what happened), and an archive's dates are often unknown.
So the stated period only nudges the ranking of already-retrieved passages (``prefer_time``): a passage
whose article is published inside the period gets its fused score raised by the profile's ``time_boost``
share, and a passage of an undated article that states a date inside it half as much; "latest / آخر / أحدث / مؤخرا"
questions raise newer articles by up to ``recency_boost``. A hard filter is the user's explicit
``--since/--until`` / ``published_from/to``, never this. Dates are read by ``rag.dates`` (the one parser);
this module only reads the words around them (since, before, between ... and ...).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag import arabic
from rag.dates import DateMention, find_dates, normalized_with_offsets, parse_date
from rag.types import Hit

__all__ = ["TimeRange", "QuestionTime", "question_time", "prefer_time"]

_SINCE = {"منذ", "من", "since", "from", "starting"}
_AFTER = {"بعد", "after"}
_BEFORE = {"قبل", "before"}
_UNTIL = {"حتي", "until", "till", "through"}
_BETWEEN = {"بين", "between"}
_IN = {"في", "in", "during", "خلال", "on", "of"}  # a plain period: "named after Tesla in 1960" is 1960 itself
#: an undated article's passage stating a date in the period is weaker evidence than a publication date (any
#: passage may mention a year; on the undated dev QA corpora the full share cost doc hit@1, see the benchmark)
UNDATED_SHARE = 0.5
_RANGE_TO = {"الي", "حتي", "to", "till", "until", "through", "-", "–", "—"}
_RANGE_AND = {"و", "and"}
_WORD = re.compile(r"[^\W\d_]+|[-–—]", re.UNICODE)
_BARE_YEAR = re.compile(r"(?<![\d/.])(?:19|20)\d{2}(?![\d/.])")
_RECENT = re.compile(
    r"(?<!\w)(?:latest|newest|most\s+recent|recent|recently|lately|"
    r"[وبفل]?(?:ال)?احدث|[وبفل]?(?:ال)?اخير(?:ه)?|مءخرا|موخرا|حديثا)(?!\w)"
    r"|(?:^|(?<=\s))(?:[وبل]?اخر)(?=\s+(?:ال\w+|اخبار|تطورات|مستجدات|ما|تصريح\w*|موقف))"
    r"|(?:^|(?<=\s)(?:ما|ماذا|ماهي|هي|هو|عن|في)\s+)[وبل]?اخر(?!\w)",
    re.IGNORECASE)


@dataclass(frozen=True)
class TimeRange:
    """An inclusive period (a None side is open) and the words of the question that state it."""

    start: dt.date | None
    end: dt.date | None
    text: str = ""

    def overlaps(self, first: dt.date, last: dt.date) -> bool:
        """Whether a period [first, last] (a day, or a month/year a date is known only to) touches this one."""
        return (self.start is None or last >= self.start) and (self.end is None or first <= self.end)


@dataclass(frozen=True)
class QuestionTime:
    """What a question says about time: the periods it names and whether it asks for the latest."""

    ranges: tuple[TimeRange, ...] = ()
    recent: bool = False

    @property
    def empty(self) -> bool:
        return not self.ranges and not self.recent


def question_time(question: str) -> QuestionTime:
    """The periods and recency a question states; empty when it states none (the usual case)."""
    norm = arabic.normalize(question).lower()
    mentions = _mentions(question)
    return QuestionTime(ranges=_ranges(question, mentions), recent=bool(_RECENT.search(norm)))


def _mentions(question: str) -> list[DateMention]:
    """Dated mentions in order: ``find_dates`` (years need a cue there: "في 2018") plus bare years that end
    the question or sit in a range ("بين 2016 و2018", "2016-2018"), read by ``parse_date``."""
    found = [m for m in find_dates(question) if m.year is not None]
    norm, offsets = normalized_with_offsets(question)
    for match in _BARE_YEAR.finditer(norm):
        span = (offsets[match.start()], offsets[match.end()])
        if any(m.span[0] < span[1] and span[0] < m.span[1] for m in found):
            continue
        mention = parse_date(match.group())
        before, after = _words(norm[:match.start()])[-1:], norm[match.end():].strip(" ?؟.!،,")
        if mention is not None and (not after or before and before[0] in _RANGE_TO | _RANGE_AND | _BETWEEN
                                    or re.match(r"^(?:و|and|to|الي|حتي|-|–)\s*(?:19|20)\d{2}(?!\d)", after)):
            found.append(dataclasses.replace(mention, span=span, text=question[span[0]:span[1]]))
    return sorted(found, key=lambda m: m.span)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _ranges(question: str, mentions: list[DateMention]) -> tuple[TimeRange, ...]:
    """One range per mention, or per pair joined as a range ("من 2016 إلى 2018", "between 2016 and 2018")."""
    ranges: list[TimeRange] = []
    i = 0
    while i < len(mentions):
        first = mentions[i]
        cue = _cue(question, first)
        if i + 1 < len(mentions):
            second = mentions[i + 1]
            joint = _words(arabic.normalize(question[first.span[1]:second.span[0]]))
            inside = _words(arabic.normalize(second.text))[:1]  # "و2018" / "to 2018" may be in the mention
            link = joint or [w for w in inside if w in _RANGE_TO | _RANGE_AND]
            if len(link) == 1 and (link[0] in _RANGE_TO or link[0] in _RANGE_AND and cue in _BETWEEN):
                ranges.append(TimeRange(first.date, second.last_date, question[first.span[0]:second.span[1]]))
                i += 2
                continue
        ranges.append(_single(first, cue))
        i += 1
    return tuple(ranges)


def _cue(question: str, mention: DateMention) -> str | None:
    """The word saying how a date bounds the question (since, before, until, between), within the three
    words before the date itself (a year's cue may be inside the mention: "until 2017")."""
    lead = arabic.normalize(question[max(0, mention.span[0] - 30):mention.span[0]] + " " + mention.text)
    lead = re.split(r"\d|(?<!\w)(?:عام|العام|سنه|السنه|year|شهر|month)(?!\w)", lead.lower(), maxsplit=1)[0]
    words = [w for w in _words(lead) if w not in {"عام", "العام", "سنه", "السنه", "year", "شهر", "month", "of"}]
    for word in reversed(words[-3:]):
        bare = word[1:] if len(word) > 3 and word[0] in "وف" else word
        if bare in _IN:
            return None
        if bare in _SINCE | _AFTER | _BEFORE | _UNTIL | _BETWEEN:
            return bare
    return None


def _single(mention: DateMention, cue: str | None) -> TimeRange:
    first, last = mention.date, mention.last_date
    assert first is not None and last is not None
    if cue in _SINCE:
        return TimeRange(first, None, mention.text)
    if cue in _AFTER:
        return TimeRange(last + dt.timedelta(days=1), None, mention.text)
    if cue in _BEFORE:
        return TimeRange(None, first - dt.timedelta(days=1), mention.text)
    if cue in _UNTIL:
        return TimeRange(None, last, mention.text)
    return TimeRange(first, last, mention.text)


def prefer_time(hits: Sequence[Hit], when: QuestionTime, *, in_range: float, recency: float) -> list[Hit]:
    """``hits`` re-ranked with the question's time as a soft preference: each score is raised by
    ``in_range`` of its size for a passage in a stated period, and by up to ``recency`` (the newest
    article of the list) for "latest" questions. Nothing is dropped; without stated time, unchanged."""
    if when.empty or not hits:
        return list(hits)
    periods = [_period(h.chunk.published) for h in hits]
    days = [p[0].toordinal() for p in periods if p is not None]
    oldest, newest = (min(days), max(days)) if days else (0, 0)
    boosted = []
    for order, (hit, period) in enumerate(zip(hits, periods, strict=True)):
        share = in_range * _in_ranges(hit, period, when.ranges) if when.ranges else 0.0
        if when.recent and period is not None and newest > oldest:
            share += recency * (period[0].toordinal() - oldest) / (newest - oldest)
        score = hit.score + abs(hit.score) * share
        boosted.append((score, order, dataclasses.replace(hit, score=score) if share else hit))
    boosted.sort(key=lambda row: (-row[0], row[1]))
    return [hit for _, _, hit in boosted]


def _period(published: str | None) -> tuple[dt.date, dt.date] | None:
    """First and last day of a publication date known to a day, month or year; None when unknown."""
    mention = parse_date(published) if published else None
    if mention is None or mention.date is None or mention.last_date is None:
        return None
    return mention.date, mention.last_date


def _in_ranges(hit: Hit, period: tuple[dt.date, dt.date] | None, ranges: Sequence[TimeRange]) -> float:
    """How much a passage is in a stated period: 1 for a dated article published in it (0 outside); for an
    undated one ``UNDATED_SHARE`` when its passage states a date (with a year) in it."""
    if period is not None:
        return 1.0 if any(r.overlaps(*period) for r in ranges) else 0.0
    for mention in find_dates(hit.chunk.text):
        if mention.date is not None and mention.last_date is not None and any(
                r.overlaps(mention.date, mention.last_date) for r in ranges):
            return UNDATED_SHARE
    return 0.0
