"""ui.render alone: direction per message, escaping, linked markers, highlighted quotes, banners."""

from __future__ import annotations

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
    assert '<a class="sanad-cite" href="#sanad-src-1"' in out
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


def test_partial_html_streams_escaped_text():
    out = render.partial_html("نص <b>")
    assert "&lt;b&gt;" in out and 'dir="rtl"' in out


def test_examples_from_titles_and_status_line():
    docs = [DocInfo("a", "حفتر يستنجد بروسيا", 3, None, "s"), DocInfo("b", "Oil prices", 1, None, "s")]
    questions = render.example_questions(docs)
    assert questions[0] == "ما أبرز ما ورد في خبر «حفتر يستنجد بروسيا»؟"
    assert questions[1] == 'What does the article "Oil prices" report?'
    health = Health(5, 40, "e5", "hybrid", None, "embedded", "/x", "http://h", "qwen3:4b", "unreachable")
    line = render.status_line(health)
    assert "qwen3:4b" in line and "unreachable" in line and "5" in line and "40" in line
    assert render.documents_rows(docs)[0] == ["a", "حفتر يستنجد بروسيا", "", "s", 3]


def test_source_label_shows_file_name_not_folder():
    assert render.source_label("/tmp/sanad-upload-x/000_ab.txt") == "000_ab.txt"
    assert render.source_label("C:\\news\\a.md") == "a.md"
    assert render.source_label("alwasat") == "alwasat"
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

    from tests.fakes.fake_service import make_fake_service
    from ui.app import _Handlers

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # where Gradio puts what a client uploads
    service = make_fake_service(articles=0)
    handlers = _Handlers(service)
    good = tmp_path / "خبر.txt"
    good.write_text("عنوان\n\nنص.", encoding="utf-8")
    binary = tmp_path / "x.png"
    binary.write_bytes(b"\x89PNG\x00\x00")
    out = handlers.upload([str(good), str(binary)])
    assert "`x.png`: ✗" in out and "✓ `خبر`" in out and "1 added" in out
    assert [d.doc_id for d in service.documents()] == ["خبر"]
    assert "removed" in handlers.remove("خبر") and "✗" in handlers.remove("خبر")
