"""Timelines over real indexes (embedded Chroma + the offline multilingual e5 at ``$SANAD_E5_DIR``, default
/work/e5, + BM25):

- the dev news corpus (ANT corpus v1.1, Chouigui, Ben Khiroun, Elayeb; Apache-2.0): the 19 articles that
  mention Khalifa Haftar and 11 other Libya articles, each dated by a sidecar holding its true date from
  ``docs_news_dev.tsv`` (the date in ``original_path``). The events of the nine articles about Haftar's
  role come oldest first, each with its article's date, and cite the article's own sentence.
- the five sample articles, whose publication dates are unknown: events the text dates ("نوفمبر 2016") are
  placed by that date, a day without a year ("12 فبراير") stays undated, and no event gets a date otherwise.

Expected dates and orders are written by hand from the TSV (checked against it below) and the articles."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from rag.settings import Settings
from rag.types import SearchFilters, Timeline
from rag.wiring import build_service
from tests.conftest import SEEDS, SHARED

pytestmark = pytest.mark.integration

E5 = Path(os.environ.get("SANAD_E5_DIR", "/work/e5"))
DEV = SHARED / "eval" / "dev"
#: doc id -> publication date, read by hand off docs_news_dev.tsv's original_path (JA-...-YYYYMMDD.txt;
#: newsdev_00890's path ends DDMMYYYY: 09012017, a Monday, as its "اليوم الاثنين" says)
HAFTAR = {
    "newsdev_00057": "2017-05-29", "newsdev_00578": "2014-10-19", "newsdev_00579": "2015-02-24",
    "newsdev_00580": "2015-04-08", "newsdev_00650": "2014-09-06", "newsdev_00890": "2017-01-09",
    "newsdev_01229": "2017-02-22", "newsdev_01671": "2017-01-20", "newsdev_01709": "2017-01-23",
    "newsdev_01862": "2017-02-03", "newsdev_01864": "2017-02-03", "newsdev_02042": "2017-02-19",
    "newsdev_02083": "2017-02-22", "newsdev_02109": "2017-02-24", "newsdev_02498": "2017-04-15",
    "newsdev_02593": "2017-05-02", "newsdev_02608": "2017-05-03", "newsdev_02620": "2017-05-04",
    "newsdev_02628": "2017-05-04",
}
OTHER_LIBYA = {
    "newsdev_00034": "2015-10-25", "newsdev_00038": "2016-03-05", "newsdev_00056": "2017-05-29",
    "newsdev_00059": "2017-05-26", "newsdev_00105": "2017-06-09", "newsdev_00106": "2017-06-09",
    "newsdev_00107": "2017-06-10", "newsdev_00121": "2017-06-07", "newsdev_00124": "2017-06-07",
    "newsdev_00140": "2016-09-13", "newsdev_00143": "2016-11-05",
}
DATES = HAFTAR | OTHER_LIBYA
ROLE = "كيف تطور دور خليفة حفتر في ليبيا؟"
#: the articles whose titles are about Haftar himself, by date: clashes in Benghazi (2014-09-06), his house
#: bombed (2014-10-19), made commander-in-chief (2015-02-24), wounded (2015-04-08), Ghannouchi ready to meet
#: him (2017-02-03), Marzouk meets him (2017-02-22), agreement with Sarraj (2017-05-02, details 05-03,
#: condemned 05-04)
ROLE_ORDER = [("2014-09-06", "newsdev_00650"), ("2014-10-19", "newsdev_00578"), ("2015-02-24", "newsdev_00579"),
              ("2015-04-08", "newsdev_00580"), ("2017-02-03", "newsdev_01864"), ("2017-02-22", "newsdev_01229"),
              ("2017-05-02", "newsdev_02593"), ("2017-05-03", "newsdev_02608"), ("2017-05-04", "newsdev_02620")]


def _e5_settings(data_dir: Path) -> Settings:
    if not (E5 / "model.safetensors").is_file():
        pytest.skip(f"multilingual-e5-small not found at {E5} (set SANAD_E5_DIR)")
    return Settings(data_dir=data_dir, embed_model=str(E5), ollama_host="http://127.0.0.1:9",
                    ollama_timeout=2.0)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("timeline-news")
    corpus = folder / "articles"
    corpus.mkdir()
    for doc_id, published in DATES.items():
        (corpus / f"{doc_id}.txt").write_bytes((DEV / "corpus_news_dev" / f"{doc_id}.txt").read_bytes())
        (corpus / f"{doc_id}.meta.json").write_text(json.dumps({"published": published}), encoding="utf-8")
    service = build_service(_e5_settings(folder / "data"), load_llm=False)
    report = service.ingest([corpus])
    assert not report.failed and len(report.added) == len(DATES)
    return service


def _order_of(timeline: Timeline, docs: set[str]) -> list[tuple[str | None, str]]:
    """(date, doc id) of the events from ``docs`` in timeline order, one entry per run of one article."""
    runs: list[tuple[str | None, str]] = []
    for event in timeline.events:
        key = (event.date, event.citation.doc_id)
        if event.citation.doc_id in docs and (not runs or runs[-1] != key):
            runs.append(key)
    return runs


def _day_tuple(date: str) -> tuple[int, ...]:
    """'2017-02' -> (2017, 2, 0): a month or a year sorts before the days inside it."""
    parts = [int(part) for part in date.split("-")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_the_hand_listed_dates_are_the_tsv_dates() -> None:
    with (DEV / "docs_news_dev.tsv").open(encoding="utf-8") as handle:
        rows = {row[0]: row[4] for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)}
    for doc_id, published in DATES.items():
        stamp = re.search(r"-(\d{8})\.txt$", rows[doc_id]).group(1)  # type: ignore[union-attr]
        assert published.replace("-", "") in (stamp, stamp[4:] + stamp[2:4] + stamp[:2]), doc_id


def test_haftar_timeline_is_oldest_first_with_the_articles_dates(news: Any) -> None:
    timeline = news.timeline(ROLE, summarize=False)
    assert _order_of(timeline, {doc for _, doc in ROLE_ORDER}) == ROLE_ORDER
    dates = [_day_tuple(e.date) for e in timeline.events]
    assert dates == sorted(dates)
    assert len(timeline.events) >= len(ROLE_ORDER)


def test_haftar_events_cite_their_own_sentence_and_article_date(news: Any) -> None:
    timeline = news.timeline(ROLE, summarize=False)
    for event in (*timeline.events, *timeline.undated):
        c = event.citation
        assert news.article(c.doc_id).text[c.start:c.end] == c.quote
        assert c.published == DATES[c.doc_id]
        if event.date_basis == "published":
            assert event.date == DATES[c.doc_id]
        if event.date_basis == "text":
            assert event.stated and event.stated in c.quote


def test_a_date_filter_keeps_only_the_articles_inside(news: Any) -> None:
    timeline = news.timeline(ROLE, filters=SearchFilters(published_from="2017"), summarize=False)
    assert _order_of(timeline, {doc for _, doc in ROLE_ORDER}) == ROLE_ORDER[4:]
    assert all(DATES[e.citation.doc_id] >= "2017" for e in timeline.events)


# --- the five sample articles (publication dates unknown) ---------------------------------------------------
SAMPLES_NATO = "001_0bab15b94e026df5"


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Any:
    service = build_service(_e5_settings(tmp_path_factory.mktemp("timeline-seeds") / "data"), load_llm=False)
    assert not service.ingest([SEEDS]).failed
    return service


def _assert_nothing_invented(timeline: Timeline) -> None:
    for event in (*timeline.events, *timeline.undated):
        assert event.citation.published is None  # the sample articles are undated
        assert event.date_basis != "published"
    for event in timeline.undated:
        assert (event.date, event.precision, event.date_basis) == (None, None, None)


def test_sample_events_dated_by_their_text_and_the_rest_undated(samples: Any) -> None:
    timeline = samples.timeline("كيف تطورت علاقة حفتر بروسيا؟", summarize=False)
    assert [(e.date, e.precision, e.date_basis, e.stated, e.citation.doc_id) for e in timeline.events] == [
        ("2016-11", "month", "text", "نوفمبر 2016", SAMPLES_NATO)]
    assert timeline.events[0].citation.quote.startswith("وزار موسكو في نوفمبر 2016")
    assert len(timeline.undated) >= 5 and {e.citation.doc_id for e in timeline.undated} >= {
        "000_ffaf197de1d2d33f", "003_a8c3a090628d7966"}
    _assert_nothing_invented(timeline)


def test_sample_day_without_a_year_stays_undated(samples: Any) -> None:
    timeline = samples.timeline("تسلسل علاقة حلف الناتو وليبيا", summarize=False)
    february = [e for e in timeline.undated if e.stated == "12 فبراير"]
    assert len(february) == 1 and february[0].citation.doc_id == SAMPLES_NATO
    assert "12 فبراير" in february[0].citation.quote
    assert all(e.date != "2016-02-12" for e in timeline.events)
    _assert_nothing_invented(timeline)
