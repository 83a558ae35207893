"""Relative time resolved against the publication date: rules on hand-made sentences, then real sentences
from the ANT dev news corpus (tests/fixtures/relative_time.jsonl, expected values written by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rag.dates import find_dates, sentence_dates

FRIDAY = "2016-11-18"  # a Friday
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "relative_time.jsonl"
#: hand-counted: phrases in the fixture whose expected date the rules can reach (the rest are misses by rule)
REACHABLE = 50


def _resolved(text: str, published: str | None) -> list[tuple[str | None, str | None]]:
    return [(m.iso, m.relative) for m in sentence_dates(text, published)]


@pytest.mark.parametrize(("text", "iso", "words"), [
    ("قال أمس الخميس إن", "2016-11-17", "أمس الخميس"),
    ("أعلن اليوم وزير الخارجية", "2016-11-18", "اليوم"),
    ("ووصل أول أمس إلى", "2016-11-16", "أول أمس"),
    ("تنطلق غدا السبت", "2016-11-19", "غدا السبت"),
    ("يوم الجمعة الماضي", "2016-11-11", "يوم الجمعة الماضي"),  # strictly before: not the day itself
    ("يوم الأحد القادم", "2016-11-20", "يوم الأحد القادم"),
    ("خلال الأسبوع الماضي", "2016-11", "الأسبوع الماضي"),  # 5-17 Nov: one month
    ("منذ الشهر الماضي", "2016-10", "الشهر الماضي"),
    ("خلال السنة الفارطة", "2015", "السنة الفارطة"),
    ("نهاية العام المقبل", "2017", "العام المقبل"),
    ("هذا العام", "2016", "هذا العام"),
    ("يوم 12 فيفري الماضي", "2016-02-12", "12 فيفري الماضي"),
    ("يوم 25 نوفمبر الجاري", "2016-11-25", "25 نوفمبر الجاري"),
    ("في مارس المقبل", "2017-03", "مارس المقبل"),
    ("في ديسمبر الماضي", "2015-12", "ديسمبر الماضي"),
    ("he said yesterday", "2016-11-17", "yesterday"),
    ("sales fell last year", "2015", "last year"),
    ("talks resume next week", "2016-11", "next week"),  # 19-27 Nov whether weeks start Sat, Sun or Mon
])
def test_relative_phrase_is_resolved_against_the_publication_date(text: str, iso: str, words: str) -> None:
    assert _resolved(text, FRIDAY) == [(iso, words)]


@pytest.mark.parametrize("text", [
    "قال أمس الأربعاء إن",  # yesterday was Thursday: the weekday disagrees, so neither is trusted
    "أعلن اليوم الخميس",  # today is Friday
    "احتفل العالم باليوم العالمي للطفل",
    "في ذلك اليوم",
    "تنفذ الفرق أكثر من ألف عملية مراقبة في اليوم",  # per day
    "أفادت وكالة أنباء روسيا اليوم أن",  # a media name
    "أهم وجبة غذائية خلال اليوم هي الفطور",  # during the day, any day
    "الأمين العام الحالي للأمم المتحدة",  # 'العام' = general
    "اجتمعوا يوم الخميس",  # a bare weekday: news reports Thursday's meeting on Friday
    "في نوفمبر الماضي",  # the publication month itself: this month or a year ago
])
def test_unsure_relative_phrase_is_left_out(text: str) -> None:
    assert _resolved(text, FRIDAY) == []


def test_week_straddling_two_months_is_left_out() -> None:
    assert _resolved("talks resume next week", "2016-11-25") == []  # 26 Nov - 4 Dec
    assert _resolved("خلال الأسبوع الماضي", "2014-07-07") == []  # a Monday: 30 Jun - 6 Jul


def test_relative_time_inside_a_quotation_is_the_speaker_s_not_resolved() -> None:
    assert _resolved('قال: "نحن أطفال اليوم وسنكون غدا رؤساء"', FRIDAY) == []
    assert _resolved('قال "بوليتيكا" اليوم إن', FRIDAY) == [("2016-11-18", "اليوم")]


def test_day_and_month_without_a_modifier_stays_partial() -> None:
    # Tunisian news writes '14 جانفي' for the 2011 revolution in articles of any year
    [mention] = sentence_dates("ذكرى ثورة 14 جانفي", "2017-01-10")
    assert (mention.year, mention.month, mention.day, mention.relative) == (None, 1, 14, None)


def test_unknown_publication_date_resolves_nothing_relative() -> None:
    text = "قال أمس إن الإنتاج تراجع العام الماضي بعد قرار 18 نوفمبر 2016"
    assert sentence_dates(text, None) == find_dates(text)
    assert [m.iso for m in sentence_dates(text, None)] == ["2016-11-18"]


def test_publication_date_precision_limits_what_resolves() -> None:
    text = "قال أمس إن الإنتاج تراجع العام الماضي"
    assert _resolved(text, "2016") == [("2015", "العام الماضي")]
    assert _resolved("الشهر الماضي وأمس", "2016-11") == [("2016-10", "الشهر الماضي")]


def test_dateline_today_is_the_explicit_date_not_a_second_mention() -> None:
    [mention] = sentence_dates("نشر اليوم الجمعة 18 نوفمبر 2016 على", "2016-11-18")
    assert (mention.iso, mention.relative) == ("2016-11-18", None)


def test_spans_point_into_the_original_text() -> None:
    text = "وأكّد أمسِ الخميسَ أنّ"
    [mention] = sentence_dates(text, FRIDAY)
    assert text[mention.span[0]:mention.span[1]] == mention.text == mention.relative


def load_fixture(path: Path = FIXTURE) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each expected phrase of each real sentence: matched (resolved to the expected date), missed (a date
    was expected, none given), wrong (a different date, or a date where none may be given, or a resolved
    relative phrase the fixture does not list). Shared with benchmarks/dates.py."""
    out: dict[str, list[str]] = {"matched": [], "missed": [], "wrong": [], "unresolved_ok": []}
    for row in rows:
        mentions = sentence_dates(row["text"], row["published"])
        spans = []
        for item in row["expected"]:
            start = row["text"].index(item["words"])
            span = (start, start + len(item["words"]))
            spans.append(span)
            got = {m.iso for m in mentions if m.iso is not None and m.span[0] < span[1] and span[0] < m.span[1]}
            label = f"{row['doc']} {item['words']!r}: expected {item['iso']}, got {sorted(got)}"
            kind = ("matched" if got == {item["iso"]} else "missed" if not got else "wrong") if item["iso"] \
                else ("wrong" if got else "unresolved_ok")
            out[kind].append(label)
        out["wrong"] += [f"{row['doc']} {m.relative!r}: unlisted, got {m.iso}" for m in mentions
                         if m.relative and not any(m.span[0] < b and a < m.span[1] for a, b in spans)]
    return out


def test_real_news_sentences_resolve_with_no_wrong_date() -> None:
    rows = load_fixture()
    result = score(rows)
    assert len(rows) >= 30
    assert result["wrong"] == []
    assert len(result["matched"]) >= REACHABLE, result["missed"]
