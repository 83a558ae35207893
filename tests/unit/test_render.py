"""ui.render alone: direction per message, escaping, linked markers, highlighted quotes, banners."""

from __future__ import annotations

import re

from rag.types import Answer, Article, Citation, DocInfo, Health
from ui import render

TEXT = "العنوان الفرعي.\n\nأكد مصدر عسكري أن نحو 70 جنديا نقلوا إلى روسيا. وقال إن الرحلة تمت.\n\nفقرة أخيرة."
ARTICLE = Article("d1", "الجيش الوطني الليبي", TEXT, "alwasat", "2017-03-02")
QUOTE = "أكد مصدر عسكري أن نحو 70 جنديا نقلوا إلى روسيا."
START = TEXT.index(QUOTE)


def cite(n: int = 1, start: int = START, end: int = START + len(QUOTE)) -> Citation:
    return Citation(n, "d1", ARTICLE.title, "alwasat", QUOTE, start, end, 0.8, "2017-03-02")


def answer(text: str = "نقل 70 جنديا [1] وليس [7].", **kw: object) -> Answer:
    values: dict[str, object] = {"citations": (cite(),), "grounded": True, "refused": False, "mode": "llm",
                                 "model": "m"}
    values.update(kw)
    return Answer(text, **values)  # type: ignore[arg-type]


def test_direction_per_message():
    assert 'dir="rtl"' in render.message_html("كم جنديا؟")
    assert 'dir="ltr"' in render.message_html("How many soldiers?")


def test_message_is_escaped():
    out = render.message_html("<script>alert(1)</script> ما هذا")
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_known_markers_become_links_unknown_stay_text():
    out = render.answer_html(answer())
    assert '<bdi><a class="sanad-cite" href="#sanad-src-1"' in out
    assert "[7]" in out and "sanad-src-7" not in out
    assert 'dir="rtl"' in out and "sanad-banner" not in out


def test_arabic_indic_marker_digits_are_linked():
    assert 'href="#sanad-src-1"' in render.link_citations("جملة [١].", (cite(),))


def test_paragraph_bounds():
    start, end = render.paragraph_bounds(TEXT, START, START + 5)
    assert TEXT[start:end].startswith("أكد") and TEXT[start:end].endswith("تمت.")
    assert render.paragraph_bounds(TEXT, 0, 3) == (0, TEXT.index("\n\n"))


def test_source_card_highlights_exact_span_in_its_paragraph():
    card = render.source_card_html(cite(), ARTICLE)
    assert f"<mark>{QUOTE}</mark>" in card
    assert "وقال إن الرحلة تمت." in card and "فقرة أخيرة" not in card
    assert 'id="sanad-src-1"' in card and "2017-03-02" in card and ARTICLE.title in card


def test_source_card_falls_back_to_quote_when_span_is_off_or_article_missing():
    bad = cite(start=5000, end=5010)
    assert f"<mark>{QUOTE}</mark>" in render.source_card_html(bad, ARTICLE)
    assert f"<mark>{QUOTE}</mark>" in render.source_card_html(cite(), None)


def test_sources_html_orders_cards_and_has_empty_state():
    two = answer(citations=(cite(2), cite(1)))
    html = render.sources_html(two, {"d1": ARTICLE})
    assert html.index("sanad-src-1") < html.index("sanad-src-2")
    assert "Sources appear here" in render.sources_html(None, {})


def test_banners():
    assert "sanad-refused" in render.answer_html(answer(refused=True, citations=()))
    assert "sanad-extractive" in render.answer_html(answer(mode="extractive"))
    assert "sanad-unsupported" in render.banner_html(answer(unsupported=("جملة",)))
    assert render.banner_html(answer()) == ""


def test_refusal_is_shown_once_in_the_questions_language():
    refusal = "لا تتضمن المقالات المتاحة إجابة عن هذا السؤال."
    out = render.answer_html(answer(refusal, refused=True, citations=(), mode="extractive", lang="ar"))
    assert out.count("sanad-refused") == 1 and out.count("تتضمن") == 1
    assert "The indexed articles" not in out and "Extractive" not in out and 'dir="rtl"' in out
    english = render.answer_html(answer("The available articles do not answer this question.", refused=True,
                                        citations=(), lang="en", question="Who won?"))
    assert english.count("do not answer") == 1 and 'dir="ltr"' in english
    assert not any("\u0600" <= ch <= "\u06ff" for ch in english)  # no Arabic in an English refusal


def test_banner_is_in_the_questions_language_only():
    arabic = render.banner_html(answer(mode="extractive", lang="ar"))
    english = render.banner_html(answer("Seventy soldiers [1].", mode="extractive", lang="en"))
    assert "استخراجية" in arabic and "Extractive" not in arabic and 'dir="rtl"' in arabic
    assert "Extractive" in english and "استخراجية" not in english and 'dir="ltr"' in english


def test_partial_html_streams_escaped_text():
    out = render.partial_html("نص <b>")
    assert "&lt;b&gt;" in out and 'dir="rtl"' in out


def test_examples_from_titles():
    docs = [DocInfo("a", "حفتر يستنجد بروسيا", 3, None, "s"), DocInfo("b", "Oil prices", 1, None, "s")]
    questions = render.example_questions(docs)
    assert questions[0] == "ما أبرز ما ورد في خبر «حفتر يستنجد بروسيا»؟"
    assert questions[1] == 'What does the article "Oil prices" report?'


def test_status_line_isolates_every_label_and_value():
    health = Health(5, 40, "e5", "hybrid", None, "embedded", "/x", "http://h", "qwen3:4b", "unreachable")
    out = render.status_html(health)
    values = re.findall(r'<bdi dir="ltr" class="sanad-stat-value">([^<]*)</bdi>', out)
    assert values == ["qwen3:4b ✗ unreachable", "5", "40", "hybrid"]
    assert out.count('<bdi lang="ar" dir="rtl">') == 4 and out.count('<bdi lang="en" dir="ltr">') == 4
    assert out.count('class="sanad-stat"') == 4


def test_documents_rows_and_table_show_dates_or_unknown():
    docs = [DocInfo("a", "حفتر يستنجد بروسيا", 3, None, "upload:000_ab.txt"),
            DocInfo("b", "Oil prices", 1, "2024-05-01", "/news/en/oil.md")]
    assert render.documents_rows(docs) == [["a", "حفتر يستنجد بروسيا", "غير معروف", "000_ab.txt", 3],
                                           ["b", "Oil prices", "2024-05-01", "oil.md", 1]]
    table = render.documents_html(docs)
    assert re.findall(r'data-col="(\w+)"', table) == ["title", "published", "source", "chunks", "id"]
    assert '<td class="sanad-col-title" dir="rtl"><bdi>حفتر يستنجد بروسيا</bdi>' in table
    assert '<td class="sanad-col-title" dir="ltr"><bdi>Oil prices</bdi>' in table
    assert '<td class="sanad-col-published" dir="rtl"><bdi>غير معروف</bdi>' in table
    assert '<td class="sanad-col-published" dir="ltr"><bdi>2024-05-01</bdi>' in table
    assert "/news/en" not in table and "upload:" not in table
    assert "No articles yet" in render.documents_html([])


def test_document_choices_label_titles_and_return_ids():
    docs = [DocInfo("a", "حفتر", 3, None, "s"), DocInfo("b", "", 1, None, "s")]
    assert render.document_choices(docs) == [("حفتر — a", "a"), ("b", "b")]


def test_source_label_shows_file_name_not_folder():
    assert render.source_label("/tmp/sanad-upload-x/000_ab.txt") == "000_ab.txt"
    assert render.source_label("C:\\news\\a.md") == "a.md"
    assert render.source_label("alwasat") == "alwasat"


def test_an_outlet_stands_for_the_source_in_labels_and_the_articles_table():
    assert render.source_label("/data/news/000_ab.txt", "الجزيرة نت") == "الجزيرة نت"
    assert render.source_label("/data/news/000_ab.txt", None) == "000_ab.txt"
    docs = [DocInfo("a", "حفتر في موسكو", 3, "2016-11-29", "/data/a.txt", outlet="الجزيرة نت"),
            DocInfo("b", "Haftar", 2, None, "/data/b.txt")]
    assert [row[3] for row in render.documents_rows(docs)] == ["الجزيرة نت", "b.txt"]
    table = render.documents_html(docs)
    assert '<td class="sanad-col-source" dir="rtl"><bdi>الجزيرة نت</bdi></td>' in table
    assert '<td class="sanad-col-source" dir="ltr"><bdi>b.txt</bdi></td>' in table
    card = render.source_card_html(Citation(1, "d1", "t", "/tmp/up/x.txt", QUOTE, START, START + 3, 0.5), ARTICLE)
    assert "x.txt" in card and "/tmp/up" not in card


# --- the chat handlers over a fake-stepped facade (gradio imported, nothing launched) -----------------
def test_chat_handler_streams_then_links_markers_and_fills_sources():

    from tests.fakes.fake_service import make_fake_service
    from ui.app import _Handlers

    handlers = _Handlers(make_fake_service())
    steps = list(handlers.respond("كم جنديا؟", [], [], False))
    assert "▍" in steps[1][1][-1]["content"]  # a partial, streaming message
    _, messages, turns, sources = steps[-1]
    assert 'href="#sanad-src-1"' in messages[-1]["content"] and 'dir="rtl"' in messages[0]["content"]
    assert turns == [{"role": "user", "content": "كم جنديا؟"},
                     {"role": "assistant", "content": "نقل نحو 70 جنديا إلى روسيا [1]."}]
    assert "<mark>أكد مصدر عسكري أن نحو 70 جنديا نقلوا جوا إلى روسيا للعلاج.</mark>" in sources


def test_chat_handler_falls_back_to_extractive_with_banner_when_llm_is_down():

    from tests.fakes.fake_service import make_fake_service
    from ui.app import _Handlers

    handlers = _Handlers(make_fake_service(fail_llm=True))
    final = list(handlers.respond("كم جنديا؟", [], [], False))[-1]
    assert "sanad-extractive" in final[1][-1]["content"]


def test_upload_and_remove_handlers(tmp_path, monkeypatch):
    import gradio as gr
    import pytest

    from tests.fakes.fake_service import make_fake_service
    from ui.app import _Handlers

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # where Gradio puts what a client uploads
    service = make_fake_service(articles=0)
    handlers = _Handlers(service)
    good = tmp_path / "خبر.txt"
    good.write_text("عنوان\n\nنص.", encoding="utf-8")
    binary = tmp_path / "x.png"
    binary.write_bytes(b"\x89PNG\x00\x00")
    report, results = handlers.upload([str(good), str(binary)], progress=lambda *a, **k: None)
    assert [(r["filename"], r["status"], r["doc_id"]) for r in results] == [("خبر.txt", "added", "خبر"),
                                                                           ("x.png", "failed", None)]
    assert "1 added" in report and "1 failed" in report and "ملف ثنائي" in report
    assert [d.doc_id for d in service.documents()] == ["خبر"]
    message, removed = handlers.remove("خبر", progress=lambda *a, **k: None)
    assert removed == {"removed": "خبر"} and service.documents() == []
    with pytest.raises(gr.Error, match="no document with id"):
        handlers.remove("خبر", progress=lambda *a, **k: None)
    with pytest.raises(gr.Error, match="Choose an article"):
        handlers.remove("  ", progress=lambda *a, **k: None)


class _StreamingService:
    """Streams a draft whose markers the check renumbers and drops, then the checked final answer."""

    def __init__(self, final: Answer, draft: tuple[str, ...]) -> None:
        self.final, self.draft = final, draft

    def stream(self, question, *, history=(), extractive=False):
        from rag.types import AnswerDelta

        yield from (AnswerDelta(piece) for piece in self.draft)
        yield self.final

    def article(self, doc_id):
        return ARTICLE


def test_the_final_message_is_the_checked_answer_not_the_streamed_draft():
    from ui.app import _Handlers

    final = answer("نقل 70 جنديا [2].", citations=(cite(2),))
    steps = list(_Handlers(_StreamingService(final, ("نقل 70 جنديا [1] ", "وزار موسكو [5]."))).respond(
        "كم جنديا؟", [], [], False))
    assert "[5]" in steps[-2][1][-1]["content"]  # the draft was shown while streaming
    last = steps[-1][1][-1]["content"]
    assert "[5]" not in last and "وزار موسكو" not in last and "[1]" not in last
    assert '<bdi><a class="sanad-cite" href="#sanad-src-2" data-n="2">[2]</a></bdi>' in last
    assert steps[-1][2][-1] == {"role": "assistant", "content": "نقل 70 جنديا [2]."}
    assert 'id="sanad-src-2"' in steps[-1][3] and f"<mark>{QUOTE}</mark>" in steps[-1][3]


def test_an_empty_question_warns_and_asks_nothing():
    import warnings

    from tests.fakes.fake_service import make_fake_service
    from ui.app import _Handlers

    service = make_fake_service()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        steps = list(_Handlers(service).respond("   ", [], [], False))
    assert len(steps) == 1 and steps[0][1] == [] and steps[0][2] == []
    assert any("Type a question first" in str(w.message) for w in caught)
    assert service.answerer.calls == []


class _CutService:
    """Streams two pieces, then the stream itself raises (no final Answer comes); counts calls so a silent
    fallback would show. (The facade's answerer ends such an answer itself: see test_ui_news.)"""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def stream(self, question, *, history=(), extractive=False):
        from rag.errors import LLMStreamError
        from rag.types import AnswerDelta

        self.calls.append(extractive)
        yield AnswerDelta("نقل 70 ")
        yield AnswerDelta("جنديا")
        raise LLMStreamError("the model stopped mid-answer")


def test_a_stream_that_raises_after_text_keeps_the_text_says_it_stopped_and_does_not_swap_it():
    from ui.app import _Handlers

    service = _CutService()
    last = list(_Handlers(service).respond("كم جنديا؟", [], [], False))[-1]  # type: ignore[arg-type]
    content = last[1][-1]["content"]
    assert "نقل 70 جنديا …" in content and "sanad-cut" in content
    assert "توقفت الإجابة قبل اكتمالها" in content and "the model stopped mid-answer" in content
    assert "stopped early" not in content  # an Arabic question gets the Arabic note only
    assert service.calls == [False]  # no second, extractive answer put in its place
    assert last[2] == []  # nothing unchecked enters the chat history


def test_a_delta_marked_replace_restates_the_streamed_text():
    from dataclasses import dataclass

    from ui.app import _Handlers

    @dataclass(frozen=True)
    class Replace:
        text: str
        replace: bool = True

    class Service(_StreamingService):
        def stream(self, question, *, history=(), extractive=False):
            from rag.types import AnswerDelta

            yield AnswerDelta("مسودة [9]")
            yield Replace("نقل 70 جنديا [2].")
            yield self.final

    final = answer("نقل 70 جنديا [2].", citations=(cite(2),))
    steps = list(_Handlers(Service(final, ())).respond("كم جنديا؟", [], [], False))  # type: ignore[arg-type]
    assert len(steps) == 4 and "مسودة [9]" in steps[1][1][-1]["content"]
    replaced = steps[2][1][-1]["content"]
    assert "نقل 70 جنديا [2]." in replaced and "مسودة" not in replaced and "[9]" not in replaced
