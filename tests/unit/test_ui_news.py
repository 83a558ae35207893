"""The chat's news-aware parts: answers that stopped early (cut, length) shown as such with their checked
text, each source's outlet and date, "also reported by", and the date range (good and bad bounds)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import gradio as gr
import pytest

from rag.errors import LLMStreamError
from rag.generation.answer import Answerer
from rag.prompts import PromptLibrary
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Answer, Article, Citation, SameStory, SearchFilters
from tests.fakes.fake_service import make_fake_service
from tests.fakes.fixtures import FakeRetriever, make_hits
from ui import render
from ui.app import _Handlers
from ui.filters import date_error_text, date_filters

TEXT = ("الجيش الوطني الليبي\n\nأكد مصدر عسكري أن نحو 70 جنديا من قوات حفتر نقلوا جوا إلى روسيا للعلاج. "
        "وأوضح مسؤول أن الجنود سافروا من مصر.")
PARA = TEXT.split("\n\n")[1]
QUOTE = "أكد مصدر عسكري أن نحو 70 جنديا من قوات حفتر نقلوا جوا إلى روسيا للعلاج."
ARTICLE = Article("doc1", "عنوان", TEXT, "doc1.txt")
QUESTION = "كم جنديا من قوات حفتر نقلوا إلى روسيا؟"
ARABIC = ("\u0600", "\u06ff")


def _has_arabic(text: str) -> bool:
    return any(ARABIC[0] <= ch <= ARABIC[1] for ch in text)


class _FailingLLM:
    """Streams two checked-able sentences, then fails like a dropped Ollama stream."""

    model, num_ctx = "fake:1b", 8192

    def stream_chat(self, messages: Any, *, max_tokens: Any = None, temperature: Any = None) -> Iterator[str]:
        yield from ["نقل نحو 70 جنديا من قوات حفتر ", "إلى روسيا للعلاج [1]. ", "وسافر الجنود "]
        raise LLMStreamError("the stream broke off", hint="retry")

    def health(self) -> tuple[str, str | None]:
        return "ok", None


class _AnswererService:
    """The real Answerer behind the two facade calls the chat makes."""

    def __init__(self) -> None:
        retriever = FakeRetriever(make_hits(TEXT, [PARA]), confidence=0.9)
        self.answerer = Answerer(retriever, _FailingLLM(), None, PromptLibrary(PROJECT_ROOT / "prompts"),  # type: ignore[arg-type]
                                 Settings(refusal_threshold=0.25))

    def stream(self, question: str, **options: Any) -> Any:
        return self.answerer.stream(question, **options)

    def article(self, doc_id: str) -> Article:
        return ARTICLE


def test_a_cut_answer_keeps_its_checked_text_and_says_in_arabic_that_it_stopped_and_why():
    *_, last = _Handlers(_AnswererService()).respond(QUESTION, [], [], False)
    _, messages, turns, sources = last
    content = messages[-1]["content"]
    assert "نقل نحو 70 جنديا من قوات حفتر إلى روسيا للعلاج" in content and 'href="#sanad-src-1"' in content
    assert "sanad-stopped-cut" in content and "توقفت الإجابة قبل اكتمالها" in content
    assert "the stream broke off" in content and "stopped early" not in content
    assert "sanad-extractive" not in content  # not swapped for the extractive answer
    assert turns[-1]["role"] == "assistant" and turns[-1]["content"].startswith("نقل نحو 70 جنديا")  # checked: kept
    assert content.count("sanad-stopped-cut") == 1 and content.index("للعلاج") < content.index("sanad-stopped")
    assert f"<mark>{QUOTE}</mark>" in sources


def _answer(text: str = "Seventy soldiers were flown to Russia [1].", **kw: Any) -> Answer:
    values: dict[str, Any] = {"citations": (_cite(),), "grounded": True, "refused": False, "mode": "llm",
                              "model": "m", "lang": "en", "question": "How many soldiers?"}
    values.update(kw)
    return Answer(text, **values)


def _cite(n: int = 1, published: str | None = None, also: tuple[SameStory, ...] = ()) -> Citation:
    start = TEXT.index(QUOTE)
    return Citation(n, "doc1", "عنوان", "/data/news/alwasat.txt", QUOTE, start, start + len(QUOTE), 0.9,
                    published, also=also)


def test_an_english_cut_answer_says_so_in_english_with_the_reason():
    note = ("The answer was cut off: the model stopped before finishing; what is shown is the checked part. "
            "(Ollama closed the stream)")
    out = render.answer_html(_answer(finish_reason="cut", notes=(note,)))
    stopped = out[out.index("sanad-stopped"):]
    assert "The answer stopped early" in stopped and "Ollama closed the stream" in stopped
    assert 'dir="ltr"' in stopped[:80] and not _has_arabic(stopped.split("sanad-cites")[0])


@pytest.mark.parametrize(("lang", "question", "words"), [("en", "How many?", "hit the length limit"),
                                                        ("ar", "كم؟", "بلغت الإجابة حدّ الطول")])
def test_a_length_limited_answer_says_it_hit_the_limit_in_the_questions_language(lang, question, words):
    out = render.answer_html(_answer(finish_reason="length", lang=lang, question=question))
    assert "sanad-stopped-length" in out and words in out
    assert "Seventy soldiers were flown to Russia" in out  # the checked text stays


def test_a_complete_answer_has_no_stopped_note():
    assert "sanad-stopped" not in render.answer_html(_answer())


def test_each_source_shows_its_outlet_and_date_or_date_unknown_in_the_answers_language():
    dated = render.answer_html(_answer(citations=(_cite(1, "2016-11-18"), _cite(2))))
    footer = dated[dated.index("sanad-cites"):]
    assert "alwasat.txt" in footer and "/data/news" not in footer
    assert "2016-11-18" in footer and "date unknown" in footer and footer.index("[1]") < footer.index("[2]")
    arabic = render.answer_html(_answer("نقل 70 جنديا [1].", lang="ar", question="كم؟"))
    assert "تاريخ غير معروف" in arabic and "date unknown" not in arabic
    card = render.source_card_html(_cite(1, "2017-01-05"), ARTICLE, "ar")
    meta = card[card.index("sanad-meta"):card.index("<p>")]
    assert "alwasat.txt" in meta and "2017-01-05" in meta


def test_the_card_lists_the_other_outlets_of_the_same_story():
    also = (SameStory("d2", "doc1", "حفتر في موسكو", "upload:libya-observer.txt", "2016-11-28"),
            SameStory("d3", "doc1", "Haftar in Moscow", "/x/afrigate.html"))
    arabic = render.source_card_html(_cite(also=also), ARTICLE, "ar")
    line = arabic[arabic.index("sanad-also"):]
    assert "نشرته أيضا" in line and "libya-observer.txt" in line and "afrigate.html" in line
    assert "2016-11-28" in line and "upload:" not in line and 'dir="rtl"' in line
    english = render.sources_html(_answer(citations=(_cite(also=also),)), {"doc1": ARTICLE})
    assert "Also reported by: " in english and "نشرته أيضا" not in english
    assert "sanad-also" not in render.source_card_html(_cite(), ARTICLE, "ar")


def test_a_known_outlet_replaces_the_file_name_on_the_card_footer_and_also_line():
    also = (SameStory("d2", "doc1", "حفتر في موسكو", "upload:libya-observer.txt", "2016-11-28", "Libya Observer"),
            SameStory("d3", "doc1", "Haftar in Moscow", "/x/afrigate.html"))  # no outlet known: its file name
    cite = replace(_cite(1, "2017-01-05", also=also), outlet="بوابة الوسط")
    card = render.source_card_html(cite, ARTICLE, "ar")
    meta = card[card.index("sanad-meta"):card.index("<p>")]
    assert '<bdi class="sanad-outlet">بوابة الوسط</bdi>' in meta and "alwasat.txt" not in meta and "2017-01-05" in meta
    line = card[card.index("sanad-also"):]
    assert "Libya Observer" in line and "libya-observer.txt" not in line and "afrigate.html" in line
    footer = render.answer_html(_answer(citations=(cite, _cite(2))))
    footer = footer[footer.index("sanad-cites"):]
    assert "بوابة الوسط" in footer and "alwasat.txt" in footer  # [2] has no outlet: its file name, as before


# --- the date range -----------------------------------------------------------------------------------
BIDI_ISOLATES = re.compile("[\u2066-\u2069]")


def _warned(run: Any) -> tuple[list[Any], list[str]]:
    """The handler's outputs and its warnings, read as a person sees them (isolate marks removed)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        steps = list(run())
    return steps, [BIDI_ISOLATES.sub("", str(w.message)) for w in caught]


@pytest.mark.parametrize(("question", "bounds", "expected"), [
    ("كم جنديا؟", ("2016-13", ""), ["خانة «من»", "«2016-13»"]),
    ("كم جنديا؟", ("", "أمس"), ["خانة «إلى»", "«أمس»"]),
    ("كم جنديا؟", ("2018", "2016"), ["ينتهي قبل أن يبدأ", "بدّل"]),
    ("How many soldiers?", ("2016-02-30", None), ["“from” box", "2016-02-30", "YYYY-MM-DD"]),
    ("How many soldiers?", ("2018", "2016"), ["ends before it starts", "swap"]),
])
def test_a_bad_date_warns_in_the_questions_language_and_asks_nothing(question, bounds, expected):
    service = make_fake_service()
    steps, messages = _warned(lambda: _Handlers(service).respond(question, [], [], False, *bounds))
    assert len(steps) == 1 and steps[0][1] == [] and service.answerer.calls == []
    assert steps[0][0] != ""  # the question stays in the box
    assert len(messages) == 1 and all(e in messages[0] for e in expected), messages
    assert _has_arabic(messages[0]) == _has_arabic(question)


def test_the_date_range_reaches_the_search_as_filters():
    service = make_fake_service()
    handlers = _Handlers(service)
    list(handlers.respond("كم جنديا؟", [], [], False, " 2016 ", "2017-06"))
    list(handlers.respond("كم جنديا؟", [], [], False, "", "  "))
    calls = service.answerer.calls
    assert calls[0]["filters"] == SearchFilters(published_from="2016", published_to="2017-06")
    assert calls[1]["filters"] is None


def test_a_refusal_under_a_range_says_undated_articles_are_outside_it():
    service = make_fake_service(articles=0)  # nothing indexed: the fake answerer refuses
    handlers = _Handlers(service)
    *_, ranged = handlers.respond("كم جنديا؟", [], [], False, "2016", "")
    *_, open_ = handlers.respond("كم جنديا؟", [], [], False)
    assert "sanad-refused" in ranged[1][-1]["content"] and "sanad-hint" in ranged[1][-1]["content"]
    assert "المعروف تاريخ نشرها" in ranged[1][-1]["content"] and "publication date" not in ranged[1][-1]["content"]
    assert "sanad-hint" not in open_[1][-1]["content"]
    *_, answered = _Handlers(make_fake_service()).respond("How many soldiers?", [], [], False, "2016", "")
    assert "sanad-hint" not in answered[1][-1]["content"]  # only under a refusal


def test_the_ask_endpoint_takes_an_optional_range_and_refuses_a_bad_one():
    service = make_fake_service()
    handlers = _Handlers(service)
    assert handlers.ask("كم جنديا؟")["citations"]  # existing callers: no range
    handlers.ask("كم جنديا؟", None, False, "2016-11", None)
    calls = service.answerer.calls
    assert calls[0]["filters"] is None and calls[1]["filters"] == SearchFilters(published_from="2016-11")
    with pytest.raises(gr.Error, match="not a date|Not a date"):
        handlers.ask("How many soldiers?", None, False, "soon", None)
    with pytest.raises(gr.Error, match="بدّل"):
        handlers.ask("كم جنديا؟", None, False, "2020", "2019")
    assert len(calls) == 2


def test_an_arabic_date_message_is_one_rtl_isolate_with_dates_and_input_isolated():
    """The toast is left-to-right plain text: without isolates "2016-11-18" beside Arabic reads 18-11-2016."""
    message = date_error_text("2016-13", None, "ar")
    assert message.startswith("\u2067") and message.endswith("\u2069")
    assert "\u20662016-11-18\u2069" in message and "«\u20682016-13\u2069»" in message
    english = date_error_text("2018", "2016", "en")
    assert "\u20682018\u2069 is after \u20682016\u2069" in english and not english.startswith("\u2067")


def test_date_filters_trim_boxes_and_name_the_wrong_one():
    assert date_filters("", "  ") is None and date_filters(None, None) is None
    assert date_filters(" 2016-11 ", None) == SearchFilters(published_from="2016-11")
    assert "“to” box" in date_error_text("2016", "2016-99", "en")
    assert "ends before" in date_error_text("2017-01-02", "2017-01-01", "en")
