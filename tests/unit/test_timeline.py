"""Timelines over hand-built passages: which sentences become events, how each is dated (text > publication
date > undated, never a guessed year), the order (oldest first; ties by article then position), one event per
story for copies from several outlets, and the LLM summary whose [n] markers name events (or no summary)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rag.errors import ModelUnavailableError
from rag.prompts import PromptLibrary
from rag.service import Sanad
from rag.timeline import NO_LLM_NOTE, Timeliner, date_event, is_timeline_question, timeline_topic
from rag.types import Chunk, Hit, SameStory, SearchFilters, SearchResult
from tests.fakes.fixtures import FakeRetriever, ScriptedLLM

# Each article: (doc_id, published, text). Every sentence names حفتر or روسيا (the topic), so all are events.
MOSCOW = "وزار حفتر موسكو في نوفمبر 2016 لطلب الدعم."
FRIEND = "وقال حفتر إن روسيا صديق قديم."
DEAL = "ووقع حفتر اتفاقا مع روسيا."
FEBRUARY = "والتقى حفتر وزير الدفاع الروسي يوم 12 فبراير."
SOLDIERS = "ونقل جنود حفتر إلى روسيا للعلاج."
SINCE = "وتتقارب روسيا وحفتر منذ 2014."
ARTICLES = {
    "a": ("2017-01-10", f"{MOSCOW} {FRIEND}"),
    "b": (None, f"{FEBRUARY} {SOLDIERS}"),
    "c": ("2016-03", DEAL),
    "e": ("2017-01-10", SINCE),
}
TOPIC = "علاقة حفتر بروسيا"


def _hits(articles: dict[str, tuple[str | None, str]]) -> list[Hit]:
    hits = []
    for rank, (doc_id, (published, text)) in enumerate(articles.items()):
        chunk = Chunk(chunk_id=f"{doc_id}:0", doc_id=doc_id, title=f"T-{doc_id}", text=text, start=10,
                      end=10 + len(text), ordinal=0, source=f"outlet-{doc_id}", published=published)
        hits.append(Hit(chunk=chunk, score=1.0 - 0.1 * rank))
    return hits


def _timeliner(articles: dict[str, tuple[str | None, str]] = ARTICLES, llm: ScriptedLLM | None = None,
               stories: dict[str, SameStory] | None = None) -> Timeliner:
    return Timeliner(FakeRetriever(_hits(articles)), llm, PromptLibrary(),
                     stories=(lambda: stories) if stories is not None else None)


def _quotes(events: Sequence[object]) -> list[str]:
    return [e.citation.quote for e in events]  # type: ignore[attr-defined]


def test_events_are_oldest_first_dated_by_their_text_before_the_publication_date() -> None:
    timeline = _timeliner().timeline(TOPIC, summarize=False)
    # c: published 2016-03; a's MOSCOW states November 2016 (its article is dated 2017-01-10); FRIEND and
    # SINCE have no date of their own ("since 2014" is no event date) -> 2017-01-10, a before e
    assert _quotes(timeline.events) == [DEAL, MOSCOW, FRIEND, SINCE]
    assert [(e.date, e.precision, e.date_basis) for e in timeline.events] == [
        ("2016-03", "month", "published"), ("2016-11", "month", "text"),
        ("2017-01-10", "day", "published"), ("2017-01-10", "day", "published")]
    assert [e.citation.n for e in (*timeline.events, *timeline.undated)] == [1, 2, 3, 4, 5, 6]


def test_a_day_without_a_year_in_an_undated_article_stays_undated() -> None:
    timeline = _timeliner().timeline(TOPIC, summarize=False)
    assert _quotes(timeline.undated) == [FEBRUARY, SOLDIERS]  # article order, then position
    assert [(e.date, e.precision, e.date_basis, e.stated) for e in timeline.undated] == [
        (None, None, None, "12 فبراير"), (None, None, None, None)]
    assert any("2 event(s) have no date" in note for note in timeline.notes)


def test_citations_point_at_the_sentence_in_the_article() -> None:
    event = _timeliner().timeline(TOPIC, summarize=False).events[1]
    article_text = ARTICLES["a"][1]
    assert (event.citation.doc_id, event.citation.title, event.citation.source, event.citation.published) == (
        "a", "T-a", "outlet-a", "2017-01-10")
    assert article_text[event.citation.start - 10:event.citation.end - 10] == MOSCOW


def test_same_date_ties_go_by_article_then_position() -> None:
    first, second = "وقال حفتر إن روسيا شريك.", "وأكد حفتر أن روسيا حليف."
    articles = {"z": ("2016-05-01", f"{first} {second}"), "m": ("2016-05-01", "ورحب حفتر بدعم روسيا.")}
    timeline = _timeliner(articles).timeline(TOPIC, summarize=False)
    assert _quotes(timeline.events) == ["ورحب حفتر بدعم روسيا.", first, second]


def test_a_year_is_never_guessed_for_a_day_and_month() -> None:
    assert date_event(FEBRUARY, None).date is None
    dated = date_event(FEBRUARY, "2017-02-13")  # the article's date places it; the text's 12 February is kept
    assert (dated.date, dated.basis, dated.stated) == ("2017-02-13", "published", "12 فبراير")
    assert date_event("وفي 18 نوفمبر 2016 وصل حفتر.", "2017-02-13").date == "2016-11-18"


def test_relative_time_is_resolved_against_the_publication_date_only() -> None:
    yesterday = "وقال حفتر أمس إن روسيا صديق قديم."
    dated = date_event(yesterday, "2017-01-10")
    assert (dated.date, dated.precision, dated.basis, dated.stated) == ("2017-01-09", "day", "relative", "أمس")
    last_year = date_event("وزار حفتر موسكو مرتين العام الماضي.", "2017-01-10")
    assert (last_year.date, last_year.precision, last_year.basis) == ("2016", "year", "relative")
    assert date_event(yesterday, None).date is None  # unknown publication date: nothing to resolve against


def test_a_date_after_since_is_no_event_date() -> None:
    assert date_event(SINCE, None).date is None
    assert date_event("وتجددت الاشتباكات منذ عام 2011 ثم في مارس 2014.", None).date == "2014-03"


def test_one_event_per_story_when_outlets_copy_it() -> None:
    copy = "ووقع حفتر اتفاقا مع روسيا."  # outlet d republished c
    articles = {"c": ("2016-03", DEAL), "d": ("2016-03-02", copy), "a": ARTICLES["a"]}
    stories = {"c": SameStory("c", "c", "T-c", "outlet-c", "2016-03"),
               "d": SameStory("d", "c", "T-d", "outlet-d", "2016-03-02")}
    timeline = _timeliner(articles, stories=stories).timeline(TOPIC, summarize=False)
    deal = [e for e in timeline.events if e.citation.quote == DEAL]
    assert len(deal) == 1 and deal[0].citation.doc_id == "c"
    assert [s.doc_id for s in deal[0].citation.also] == ["d"]


def test_the_same_sentence_from_unclustered_outlets_is_one_event_from_the_first_to_publish() -> None:
    articles = {"a": ("2016-04", f"{DEAL} {FRIEND}"), "x": ("2016-03", DEAL), "b": (None, DEAL)}
    timeline = _timeliner(articles).timeline(TOPIC, summarize=False)
    assert [(e.citation.doc_id, e.date, e.citation.quote) for e in timeline.events] == [
        ("x", "2016-03", DEAL), ("a", "2016-04", FRIEND)]
    assert timeline.undated == ()
    assert [(s.doc_id, s.cluster, s.published) for s in timeline.events[0].citation.also] == [
        ("a", "x", "2016-04"), ("b", "x", None)]


def test_summary_cites_events_by_their_numbers() -> None:
    # events: [1] DEAL 2016-03, [2] MOSCOW 2016-11, ...; the model cites [2] and a number that is no event
    reply = "<think>…</think>ووقع حفتر اتفاقا مع روسيا [1]. ثم زار حفتر موسكو في نوفمبر 2016 لطلب الدعم [2][9]."
    llm = ScriptedLLM([reply])
    timeline = _timeliner(llm=llm).timeline(TOPIC)
    assert timeline.summary == "ووقع حفتر اتفاقا مع روسيا [1]. ثم زار حفتر موسكو في نوفمبر 2016 لطلب الدعم [2]."
    assert [(c.n, c.doc_id, c.quote) for c in timeline.summary_citations] == [(1, "c", DEAL), (2, "a", MOSCOW)]
    assert timeline.model == "fake:1b"
    prompt = llm.calls[0][1]["content"]
    assert '<event id="2" date="2016-11"' in prompt and 'date="بلا تاريخ"' in prompt


def test_english_topic_gets_an_english_prompt() -> None:
    llm = ScriptedLLM(["NO_ANSWER"])
    articles = {"en": ("2016-11-20", "Haftar visited Russia in November 2016.")}
    _timeliner(articles, llm=llm).timeline("timeline of Haftar and Russia")
    assert "Summarise how the topic developed" in llm.calls[0][1]["content"]


@pytest.mark.parametrize("llm, note", [
    (None, NO_LLM_NOTE),
    (ScriptedLLM([ModelUnavailableError("connection refused")]), "no summary: the LLM failed (connection refused)"),
    (ScriptedLLM(["NO_ANSWER"]), "no summary: the model's reply cited no event"),
    (ScriptedLLM(["العلاقة تطورت كثيرا عبر السنين."]), "no summary: the model's reply cited no event"),
])
def test_no_summary_without_a_working_model_and_the_timeline_still_comes(llm: ScriptedLLM | None, note: str) -> None:
    timeline = _timeliner(llm=llm).timeline(TOPIC)
    assert timeline.summary is None and timeline.summary_citations == ()
    assert note in timeline.notes
    assert len(timeline.events) == 4


def test_summarize_false_never_calls_the_model() -> None:
    llm = ScriptedLLM(["x [1]."])
    _timeliner(llm=llm).timeline(TOPIC, summarize=False)
    assert llm.calls == []


def test_a_topic_the_articles_do_not_cover_gives_no_events() -> None:
    retriever = FakeRetriever(_hits(ARTICLES), confidence=0.1)
    timeline = Timeliner(retriever, None, PromptLibrary(), min_confidence=0.3).timeline("كرة القدم")
    assert timeline.events == () and timeline.undated == ()
    assert any("do not cover" in note for note in timeline.notes)


def test_filters_and_k_reach_the_retriever() -> None:
    seen: list[tuple[int | None, SearchFilters | None]] = []

    class Recording(FakeRetriever):
        def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None) -> SearchResult:
            seen.append((k, filters))
            return super().search(query, k=k, filters=filters)

    filters = SearchFilters(published_from="2016")
    Timeliner(Recording(_hits(ARTICLES)), None, PromptLibrary()).timeline(TOPIC, k=7, filters=filters)
    Timeliner(Recording(_hits(ARTICLES)), None, PromptLibrary()).timeline(TOPIC)
    assert seen == [(7, filters), (30, None)]


@pytest.mark.parametrize("question", ["كيف تطورت علاقة حفتر بروسيا؟", "timeline of NATO and Libya",
                                      "ما هو التسلسل الزمني للأحداث في ليبيا", "مراحل الأزمة الليبية",
                                      "history of the Libyan crisis", "How did the relationship develop?"])
def test_timeline_questions_are_recognised(question: str) -> None:
    assert is_timeline_question(question)


@pytest.mark.parametrize("question", ["من هو حفتر؟", "كم عدد الجنود الذين نقلوا إلى روسيا للعلاج؟",
                                      "What did Haftar discuss with AFRICOM?", "ما تاريخ الزيارة؟"])
def test_other_questions_are_not_timeline_questions(question: str) -> None:
    assert not is_timeline_question(question)


def test_the_topic_drops_the_timeline_wording() -> None:
    assert timeline_topic("كيف تطورت علاقة حفتر بروسيا؟") == "علاقه حفتر بروسيا"
    assert timeline_topic("timeline of NATO and Libya") == "nato and libya"
    assert timeline_topic("كيف تطورت؟") == "كيف تطورت؟"  # nothing left: the question as asked


def test_the_facade_checks_the_query_and_builds_a_timeliner() -> None:
    service = Sanad(store=None, ingestor=None, retriever=FakeRetriever(_hits(ARTICLES)),  # type: ignore[arg-type]
                    answerer=None, embedder=None, llm=None, embed_model="m", embed_error=None,  # type: ignore[arg-type]
                    chroma_mode="embedded", ollama_host="h", ollama_model="q")
    timeline = service.timeline(f"  {TOPIC} ")
    assert timeline.query == TOPIC and len(timeline.events) == 4
    data = timeline.to_dict()
    assert list(data) == ["query", "events", "undated", "summary", "summary_citations", "model", "notes",
                          "timings_ms"]
    assert list(data["events"][0]) == ["date", "precision", "date_basis", "stated", "citation"]


def test_an_article_gives_at_most_three_events_its_dated_sentences_first() -> None:
    sentences = ["حفتر وروسيا وحفتر وروسيا.", "وقال حفتر إن روسيا شريك.", "وأكد حفتر أن روسيا حليف.",
                 "ورحب حفتر بدعم روسيا.", "وسافر إلى هناك في مارس 2015."]
    timeline = _timeliner({"a": ("2016-01-01", " ".join(sentences))}).timeline(TOPIC, summarize=False)
    quotes = _quotes((*timeline.events, *timeline.undated))
    assert len(quotes) == 3 and "وسافر إلى هناك في مارس 2015." in quotes  # follows a sentence about the topic
    assert timeline.events[0].date == "2015-03"


def test_the_title_is_no_event() -> None:
    title, body = "حفتر وروسيا", "وقال حفتر إن روسيا صديق قديم."
    text = f"{title}\n\n{body}"
    chunk = Chunk(chunk_id="t:0", doc_id="t", title=title, text=text, start=0, end=len(text), ordinal=0,
                  source="t.txt", published="2016-02-02")
    timeline = Timeliner(FakeRetriever([Hit(chunk=chunk, score=1.0)]), None, PromptLibrary()).timeline(TOPIC)
    assert _quotes(timeline.events) == [body]
