"""Time in questions: the periods a question states, and the soft preference they give in ranking."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rag.profile import load_profile
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.keyword import BM25Index
from rag.retrieval.question_time import QuestionTime, TimeRange, prefer_time, question_time
from rag.settings import Settings
from rag.types import Chunk, Hit
from tests.fakes.memory_store import HashEmbedder, MemoryStore

D = dt.date


@pytest.mark.parametrize(("question", "expected"), [
    ("ماذا حدث في 2018؟", [(D(2018, 1, 1), D(2018, 12, 31))]),
    ("ما الذي جرى عام 2016 بين حفتر وروسيا", [(D(2016, 1, 1), D(2016, 12, 31))]),
    ("in 2019", [(D(2019, 1, 1), D(2019, 12, 31))]),
    ("What happened since March 2017?", [(D(2017, 3, 1), None)]),
    ("منذ ٢٠١٦", [(D(2016, 1, 1), None)]),
    ("ماذا قال حفتر قبل 2020", [(None, D(2019, 12, 31))]),
    ("after 2015", [(D(2016, 1, 1), None)]),
    ("حتى عام 2017", [(None, D(2017, 12, 31))]),
    ("بين 2016 و2018", [(D(2016, 1, 1), D(2018, 12, 31))]),
    ("between 2016 and 2018", [(D(2016, 1, 1), D(2018, 12, 31))]),
    ("من 2016 إلى 2018", [(D(2016, 1, 1), D(2018, 12, 31))]),
    ("خلال شهر نوفمبر 2016", [(D(2016, 11, 1), D(2016, 11, 30))]),
    ("حفتر روسيا 2016", [(D(2016, 1, 1), D(2016, 12, 31))]),
    ("in 2016 and 2018", [(D(2016, 1, 1), D(2016, 12, 31)), (D(2018, 1, 1), D(2018, 12, 31))]),
    ("What was named after Tesla in 1960?", [(D(1960, 1, 1), D(1960, 12, 31))]),  # "in" is nearer than "after"
    ("ماذا حدث بعد الحرب في 2011", [(D(2011, 1, 1), D(2011, 12, 31))]),
])
def test_stated_periods(question: str, expected: list[tuple[D | None, D | None]]) -> None:
    assert [(r.start, r.end) for r in question_time(question).ranges] == expected


@pytest.mark.parametrize("question", ["كم جنديا نقلوا إلى روسيا؟", "نقل 2000 جندي إلى روسيا", "قال مسؤول آخر إن الوفد سافر"])
def test_no_time_stated(question: str) -> None:
    assert question_time(question).empty


@pytest.mark.parametrize("question", ["ما آخر تطورات العلاقة مع روسيا؟", "آخر الأخبار عن حفتر", "ما أحدث تصريحات حفتر",
                                      "ماذا قال حفتر مؤخراً؟", "What is the latest on Haftar?", "most recent visit"])
def test_latest_questions(question: str) -> None:
    when = question_time(question)
    assert when.recent and not when.ranges


def hit(doc_id: str, score: float, published: str | None, text: str = "نص") -> Hit:
    return Hit(Chunk(f"{doc_id}:0", doc_id, doc_id, text, 0, len(text), 0, "src", published), score)


def test_in_period_passage_rises_above_an_equal_one_outside() -> None:
    hits = [hit("y2017", 1.0, "2017-05-02"), hit("y2018", 1.0, "2018-03-01"), hit("undated", 1.0, None)]
    ranked = prefer_time(hits, question_time("ماذا حدث في 2018؟"), in_range=0.05, recency=0.0)
    assert [h.chunk.doc_id for h in ranked] == ["y2018", "y2017", "undated"]
    assert ranked[0].score == pytest.approx(1.05) and ranked[1].score == 1.0


def test_the_preference_is_soft_a_clearly_better_passage_stays_first() -> None:
    hits = [hit("best", 2.0, "2016-01-01"), hit("in_year", 1.5, "2018-01-01")]
    ranked = prefer_time(hits, question_time("in 2018"), in_range=0.05, recency=0.0)
    assert [h.chunk.doc_id for h in ranked] == ["best", "in_year"]  # nothing filtered, nothing overtaken


def test_month_or_year_precision_publication_dates_count_by_their_period() -> None:
    hits = [hit("other", 1.0, "2016-12"), hit("year_only", 1.0, "2017")]
    ranked = prefer_time(hits, question_time("since March 2017"), in_range=0.05, recency=0.0)
    assert [h.chunk.doc_id for h in ranked] == ["year_only", "other"]


def test_an_undated_article_counts_by_a_date_its_text_states() -> None:
    hits = [hit("silent", 1.0, None, "لا تاريخ هنا"), hit("says", 1.0, None, "وصل الوفد في 18 نوفمبر 2016 إلى موسكو")]
    ranked = prefer_time(hits, QuestionTime(ranges=(TimeRange(D(2016, 1, 1), D(2016, 12, 31)),)),
                         in_range=0.1, recency=0.0)
    assert [h.chunk.doc_id for h in ranked] == ["says", "silent"]


def test_a_dated_article_in_the_period_outranks_an_undated_one_that_only_mentions_it() -> None:
    hits = [hit("mentions", 1.0, None, "وقع الاتفاق في مارس 2018"), hit("published", 1.0, "2018-06-01")]
    ranked = prefer_time(hits, question_time("في 2018"), in_range=0.1, recency=0.0)
    assert [h.chunk.doc_id for h in ranked] == ["published", "mentions"]
    assert ranked[1].score == pytest.approx(1.05)  # half the share: a passage may mention any year


def test_latest_prefers_the_newest_of_equally_relevant_articles() -> None:
    hits = [hit("old", 1.0, "2016-01-01"), hit("undated", 1.0, None), hit("new", 1.0, "2019-06-01"),
            hit("mid", 1.0, "2017-06-01")]
    ranked = prefer_time(hits, question_time("ما آخر تطورات الملف؟"), in_range=0.0, recency=0.05)
    assert [h.chunk.doc_id for h in ranked] == ["new", "mid", "old", "undated"]


def test_without_stated_time_the_ranking_is_unchanged() -> None:
    hits = [hit("a", 1.0, "2016-01-01"), hit("b", 2.0, "2019-01-01")]
    assert prefer_time(hits, question_time("كم جنديا؟"), in_range=0.5, recency=0.5) == hits


# --- in the retriever: two copies of one passage, one per year; the question's year decides ----------------
TEXT = "أعلنت حكومة الوفاق الوطني أن الاشتباكات في العاصمة طرابلس توقفت بعد وساطة قبلية."


@pytest.fixture()
def retriever(tmp_path: Path) -> HybridRetriever:
    store, embedder = MemoryStore(), HashEmbedder()
    chunks = [Chunk(f"{d}:0", d, "اشتباكات طرابلس", TEXT, 0, len(TEXT), 0, "src", p)
              for d, p in (("a2016", "2016-04-02"), ("b2018", "2018-04-02"), ("c_undated", None))]
    store.add_chunks(chunks, embedder.embed_passages([c.text for c in chunks]))
    keyword = BM25Index(tmp_path / "kw", store)
    keyword.add(chunks)
    keyword.commit()
    settings = Settings(data_dir=tmp_path, max_per_doc=0)
    return HybridRetriever(store, keyword, embedder, settings, profile=load_profile("multilingual-e5-small"))


@pytest.mark.parametrize(("question", "first"), [
    ("متى توقفت الاشتباكات في طرابلس عام 2016؟", "a2016"),
    ("متى توقفت الاشتباكات في طرابلس عام 2018؟", "b2018"),
    ("ما آخر أخبار الاشتباكات في طرابلس؟", "b2018"),
])
def test_the_retriever_prefers_the_stated_year_among_equal_passages(retriever: HybridRetriever, question: str,
                                                                   first: str) -> None:
    hits = retriever.search(question, k=3).hits
    assert hits[0].chunk.doc_id == first and len(hits) == 3  # preferred, nothing filtered out
