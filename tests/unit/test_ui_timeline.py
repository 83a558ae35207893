"""The Timeline tab: the view (dated events oldest first with the date on the side, undated ones apart and
never dated, the cited summary on top, direction per block) and its handlers (empty topic, bad dates,
filters, the client endpoint), over hand-made timelines and over the real Timeliner behind the facade."""

from __future__ import annotations

import re
import warnings
from typing import Any

import gradio as gr
import pytest

from rag.errors import ModelUnavailableError
from rag.types import Citation, SameStory, SearchFilters, Timeline, TimelineEvent
from tests.fakes.fake_service import make_fake_service
from ui.timeline_tab import TimelineHandlers
from ui.timeline_view import timeline_html

SENTENCES = {
    1: "وصل المشير خليفة حفتر إلى موسكو في نوفمبر 2016.",
    2: "وزار حفتر حاملة الطائرات الأدميرال كوزنيتسوف في يناير 2017.",
    3: "وقال مصدر إن اللقاء جرى يوم 12 فبراير.",
    4: "ويشعر معارضو حفتر بالقلق من هذا التعاون.",
}


def _cite(n: int, title: str = "حفتر في موسكو", source: str = "upload:alwasat.txt",
           published: str | None = None, also: tuple[SameStory, ...] = ()) -> Citation:
    return Citation(n, f"d{n}", title, source, SENTENCES[n], 0, len(SENTENCES[n]), 0.9, published, also=also)


def _timeline(query: str = "كيف تطورت علاقة حفتر بروسيا؟", summary: str | None = None) -> Timeline:
    copy = SameStory("d9", "d1", "Haftar in Moscow", "/news/libya-observer.txt", "2016-11-29")
    events = (TimelineEvent("2016-11", "month", "text", _cite(1, also=(copy,))),
              TimelineEvent("2017-01-05", "day", "published", _cite(2, "Haftar visits a carrier", "tass.html",
                                                                      "2017-01-05")))
    undated = (TimelineEvent(None, None, None, _cite(3), stated="12 فبراير"),
               TimelineEvent(None, None, None, _cite(4)))
    cites = (events[0].citation, events[1].citation) if summary else ()
    return Timeline(query, events, undated, summary=summary, summary_citations=cites)


def _events(html: str, section: str) -> list[str]:
    part = html.split(f'class="sanad-tl-{section}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<li class="sanad-tl-event"[^>]*>.*?</li>', part)


def test_dated_events_in_order_with_the_date_on_the_side_and_their_sources():
    html = timeline_html(_timeline(), "ar")
    dated = _events(html, "dated")
    assert [re.search(r'data-date="([^"]*)"', e)[1] for e in dated] == ["2016-11", "2017-01-05"]  # type: ignore[index]
    first, second = dated
    assert '<div class="sanad-tl-date"><bdi dir="ltr">2016-11</bdi>' in first
    assert SENTENCES[1] in first and "حفتر في موسكو" in first and "alwasat.txt" in first
    assert "تاريخ غير معروف" in first  # the article's own date is unknown, said so
    assert "نشرته أيضا" in first and "libya-observer.txt" in first
    assert "<bdi>Haftar visits a carrier</bdi>" in second and "tass.html" in second and "تاريخ نشر المقال" in second
    assert 'id="sanad-tl-1"' in first and 'dir="rtl"' in html[:80] and "الأحداث حسب التاريخ" in html


def test_undated_events_stand_apart_and_are_never_given_a_date():
    html = timeline_html(_timeline(), "ar")
    undated = _events(html, "undated")
    assert len(undated) == 2 and "غير مؤرخ" in html
    assert all('data-date=""' in e and "sanad-tl-date" not in e for e in undated)
    assert "يذكر النص: «<bdi>12 فبراير</bdi>» (دون سنة)" in undated[0]
    assert html.index("sanad-tl-dated") < html.index("sanad-tl-undated")


def test_the_summary_sits_on_top_with_its_markers_linked_to_the_events():
    summary = "وصل حفتر إلى موسكو في نوفمبر 2016 [1] ثم زار حاملة الطائرات [2] وليس [7]."
    html = timeline_html(_timeline(summary=summary), "ar")
    assert html.index("sanad-tl-summary") < html.index("sanad-tl-dated")
    top = html.split("</section>", 1)[0]
    assert 'href="#sanad-tl-1"' in top and 'href="#sanad-tl-2"' in top and "[7]" in top and "sanad-tl-7" not in top
    assert "ملخص" in top
    assert "sanad-tl-summary" not in timeline_html(_timeline(), "ar")


def test_an_english_query_gets_english_labels_left_to_right_and_arabic_quotes_stay_rtl():
    html = timeline_html(_timeline("timeline of Haftar and Russia"), "en")
    assert html.startswith('<div class="sanad-timeline" dir="ltr" lang="en">')
    assert "Events by date" in html and "Undated" in html and "date unknown" in html
    assert "Also reported by" in html and "the text says: «<bdi>12 فبراير</bdi>» (no year)" in html
    assert f'<p class="sanad-tl-quote" dir="rtl"><span class="sanad-n">[1]</span> <bdi>{SENTENCES[1]}</bdi>' in html


def test_placeholder_empty_and_escaping():
    assert "Type a topic" in timeline_html(None, "ar") and "اكتب موضوعا" in timeline_html(None, "ar")
    empty = timeline_html(Timeline("x", ()), "en")
    assert "No events found" in empty and "<li" not in empty
    bad = Timeline("q", (TimelineEvent("2016", "year", "text", Citation(1, "d", "<b>t</b>", "s", "<script>x", 0, 1, 1.0)),))
    out = timeline_html(bad, "en")
    assert "<script>" not in out and "&lt;script&gt;" in out and "&lt;b&gt;t&lt;/b&gt;" in out


# --- handlers -------------------------------------------------------------------------------------
class _Timelines:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error = error

    def timeline(self, query: str, **options: Any) -> Timeline:
        self.calls.append({"query": query, **options})
        if self.error is not None:
            raise self.error
        return _timeline(query)


def _handlers(error: Exception | None = None) -> tuple[TimelineHandlers, _Timelines]:
    service = make_fake_service()
    service.timelines = _Timelines(error)
    return TimelineHandlers(service), service.timelines


def _warned(call: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call()
    return out, [str(w.message) for w in caught]


def test_the_view_passes_the_range_and_summary_choice_and_renders_in_the_querys_language():
    handlers, timelines = _handlers()
    html = handlers.view("how did Haftar's ties with Russia develop?", "2016", "2017-06", False)
    assert timelines.calls == [{"query": "how did Haftar's ties with Russia develop?", "k": None,
                                "filters": SearchFilters(published_from="2016", published_to="2017-06"),
                                "summarize": False}]
    assert "Events by date" in html and 'dir="ltr"' in html[:60]


@pytest.mark.parametrize(("query", "bounds", "expected"), [
    ("  ", ("", ""), "Type a topic first"),
    ("علاقة حفتر بروسيا", ("2016-13", ""), "تاريخ غير صالح"),
    ("Haftar and Russia", ("2018", "2016"), "ends before it starts"),
])
def test_an_empty_topic_or_a_bad_date_warns_and_builds_nothing(query, bounds, expected):
    handlers, timelines = _handlers()
    out, messages = _warned(lambda: handlers.view(query, *bounds))
    assert out == gr.update() and timelines.calls == []
    assert len(messages) == 1 and expected in messages[0]


def test_a_library_error_is_shown_in_place_of_the_timeline():
    handlers, _ = _handlers(ModelUnavailableError("Ollama is unreachable", hint="start it"))
    html = handlers.view("علاقة حفتر بروسيا")
    assert "sanad-error" in html and "Ollama is unreachable — start it" in html and 'dir="rtl"' in html


def test_the_client_endpoint_returns_the_timeline_as_data_and_refuses_bad_calls():
    handlers, timelines = _handlers()
    data = handlers.timeline("علاقة حفتر بروسيا", "2016", None)
    assert [e["date"] for e in data["events"]] == ["2016-11", "2017-01-05"]
    assert [e["date"] for e in data["undated"]] == [None, None] and data["undated"][0]["stated"] == "12 فبراير"
    assert timelines.calls[0]["filters"] == SearchFilters(published_from="2016")
    with pytest.raises(gr.Error, match="the query is empty"):
        handlers.timeline(" ")
    with pytest.raises(gr.Error, match="Not a date"):
        handlers.timeline("Haftar", "soon")
    with pytest.raises(gr.Error, match="Ollama is unreachable"):
        _handlers(ModelUnavailableError("Ollama is unreachable"))[0].timeline("Haftar")


def test_the_real_timeliner_behind_the_facade_dates_by_the_article_and_renders_each_event():
    """make_fake_service's article is dated 2017-03-02 and says 'الأسبوع الماضي': no summary (no LLM)."""
    service = make_fake_service(articles=2)
    handlers = TimelineHandlers(service)
    data = handlers.timeline("الجنود روسيا للعلاج")
    events = data["events"] + data["undated"]
    assert events and data["summary"] is None
    assert all(e["date"] and e["date"].startswith("2017") for e in data["events"])
    html = handlers.view("الجنود روسيا للعلاج")
    assert html.count('<li class="sanad-tl-event"') == len(events)
    for e in events:
        assert e["citation"]["quote"] in html


def test_events_show_the_outlet_when_known():
    copy = SameStory("d9", "d1", "Haftar in Moscow", "/news/libya-observer.txt", "2016-11-29", "Libya Observer")
    cite = Citation(1, "d1", "حفتر في موسكو", "/news/alwasat.txt", SENTENCES[1], 0, len(SENTENCES[1]), 0.9,
                    "2016-11-18", also=(copy,), outlet="بوابة الوسط")
    html = timeline_html(Timeline("q", (TimelineEvent("2016-11", "month", "text", cite),)), "ar")
    event = _events(html, "dated")[0]
    assert '<bdi class="sanad-outlet">بوابة الوسط</bdi>' in event and "alwasat.txt" not in event
    assert "Libya Observer" in event and "libya-observer.txt" not in event
