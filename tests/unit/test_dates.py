"""rag.dates: Arabic and Latin dates in text and values, filter bounds, the same filter on both sides."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rag.dates import day_number, filter_days, find_dates, parse_bound, parse_date
from rag.errors import InvalidDateError
from rag.retrieval.keyword import BM25Index
from rag.retrieval.store import _chunk_meta, filters_to_where
from rag.types import Chunk, SearchFilters
from tests.fakes.memory_store import MemoryStore


@pytest.mark.parametrize(("text", "iso", "precision"), [
    ("نشر غوغل اليوم الجمعة 18 نوفمبر 2016على النسخة العربية", "2016-11-18", "day"),  # year glued to a word
    ("أكدت الشرطة اليوم الاثنين 20 جويلية 2015 أنها", "2015-07-20", "day"),  # Maghrebi month
    ("ولدت في الـ 18 من نوفمبر عام 1896 في الناصرة", "1896-11-18", "day"),
    ("في ١٨ تشرين الثاني ٢٠١٦ أعلن", "2016-11-18", "day"),  # Levantine month, Arabic-Indic digits
    ("وصل في 3 أيار 2019", "2019-05-03", "day"),
    ("اجتمعوا في شهر شباط من عام 2017", "2017-02", "month"),
    ("منذ كانون الثاني 2017", "2017-01", "month"),
    ("خلال نوفمبر 2016", "2016-11", "month"),
    ("انتهت الحرب عام 2015", "2015", "year"),
    ("صدر القرار بتاريخ 18/11/2016", "2016-11-18", "day"),
    ("the summit on November 18, 2016 in Brussels", "2016-11-18", "day"),
    ("published 2016-11-18 by", "2016-11-18", "day"),
    ("in March 2017 the army", "2017-03", "month"),
    ("الموافق 18 صفر 1438 هـ", "2016-11-18", "day"),  # Hijri, marked
])
def test_find_dates_reads_one_date(text: str, iso: str, precision: str) -> None:
    [mention] = find_dates(text)
    assert (mention.iso, mention.precision) == (iso, precision)
    assert text[mention.span[0]:mention.span[1]] == mention.text


def test_day_and_month_without_a_year_is_partial_never_completed() -> None:
    [mention] = find_dates("الخميس 12 فبراير")
    assert mention.partial and mention.date is None and mention.iso is None
    assert (mention.month, mention.day, mention.weekday) == (2, 12, 3)  # Thursday named before it


@pytest.mark.parametrize("text", [
    "مارس الرياضة 5 ساعات", "قتل 2000 شخص", "31 فبراير 2016", "الرقم 12/15/2016", "في العام الماضي",
])
def test_no_date_where_none_is_stated(text: str) -> None:
    assert find_dates(text) == []


def test_several_dates_in_order_and_not_double_counted() -> None:
    found = find_dates("بين 18 نوفمبر 2016 وعام 2018 ثم ديسمبر 2019")
    assert [m.iso for m in found] == ["2016-11-18", "2018", "2019-12"]


@pytest.mark.parametrize(("value", "iso"), [
    ("2016", "2016"), ("2016-11", "2016-11"), ("2016-11-18T09:30:00Z", "2016-11-18"),
    ("Fri, 18 Nov 2016 09:00:00 +0000", "2016-11-18"), ("الجمعة 18 نوفمبر 2016", "2016-11-18"),
    ("١٨/١١/٢٠١٦", "2016-11-18"), ("  2016-11-18  ", "2016-11-18"),
])
def test_parse_date_values(value: str, iso: str) -> None:
    mention = parse_date(value)
    assert mention is not None and mention.iso == iso


@pytest.mark.parametrize("value", ["", "soon", "2016-13-01", "2016-02-30", "نشر في 18 نوفمبر 2016 وفي 2017"])
def test_parse_date_refuses_what_is_not_exactly_one_date(value: str) -> None:
    assert parse_date(value) is None


def test_parse_date_keeps_a_partial_date_partial() -> None:
    mention = parse_date("18 نوفمبر")
    assert mention is not None and mention.partial and mention.iso is None


def test_bounds_cover_the_stated_period() -> None:
    assert parse_bound("2016", end=False) == dt.date(2016, 1, 1)
    assert parse_bound("2016", end=True) == dt.date(2016, 12, 31)
    assert parse_bound("2016-02", end=True) == dt.date(2016, 2, 29)
    assert parse_bound("نوفمبر 2016", end=True) == dt.date(2016, 11, 30)
    assert filter_days(None, None) is None
    assert filter_days("2016-11", None) == (20161101, 99991231)


@pytest.mark.parametrize(("low", "high"), [("yesterday", None), (None, "2016-13"), ("18 نوفمبر", None),
                                           ("2017", "2016")])
def test_bad_filters_are_errors_not_empty_results(low: str | None, high: str | None) -> None:
    with pytest.raises(InvalidDateError):
        SearchFilters(published_from=low, published_to=high)


def test_day_number_unknown_is_zero() -> None:
    assert day_number(None) == 0 and day_number("غير معروف") == 0 and day_number("2016-11") == 20161101


# --- the same filter, the same documents on the keyword and the dense side ------------------------------
DATED = {"a": "2016-11-18", "b": "2016-12-01", "c": "2017-01-05", "d": "2016", "e": "2016-11", "f": None}


def _chunks() -> list[Chunk]:
    text = "حفتر يزور موسكو"
    return [Chunk(f"{d}:0", d, d, text, 0, len(text), 0, "s", p) for d, p in DATED.items()]


def _dense_side(filters: SearchFilters) -> set[str]:
    """The real Chroma ``where`` evaluated by chromadb itself, in memory."""
    import chromadb

    client = chromadb.EphemeralClient()
    collection = client.get_or_create_collection(f"dates{abs(hash(str(filters))) % 10**8}")
    chunks = _chunks()
    collection.add(ids=[c.chunk_id for c in chunks], embeddings=[[1.0, 0.0]] * len(chunks),
                   metadatas=[_chunk_meta(c) for c in chunks])
    got = collection.get(where=filters_to_where(filters))
    return {i.split(":")[0] for i in got["ids"]}


def _keyword_side(tmp_path: Path, filters: SearchFilters) -> set[str]:
    store, chunks = MemoryStore(), _chunks()
    store.add_chunks(chunks, [[1.0, 0.0]] * len(chunks))
    index = BM25Index(tmp_path / "kw", store)
    index.add(chunks)
    index.commit()
    return {c.doc_id for c, _ in index.search("حفتر موسكو", 20, filters)}


@pytest.mark.parametrize(("low", "high", "expected"), [
    ("2016-11", "2016-11", {"a", "e"}),
    ("2016", None, {"a", "b", "c", "d", "e"}),
    (None, "2016-12-01", {"a", "b", "d", "e"}),
    ("18 نوفمبر 2016", "٢٠١٦-١١-١٨", {"a"}),
    ("2017", None, {"c"}),
])
def test_same_filter_same_documents_on_both_sides(tmp_path: Path, low: str | None, high: str | None,
                                                   expected: set[str]) -> None:
    filters = SearchFilters(published_from=low, published_to=high)
    assert _keyword_side(tmp_path, filters) == expected
    assert _dense_side(filters) == expected
