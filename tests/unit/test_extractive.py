"""The no-LLM answer quotes the best sentences, each cited with an exact article span."""

from __future__ import annotations

from rag.generation.condense import condense_fallback, key_terms
from rag.generation.extractive import extractive_answer, rank_sentences
from rag.types import Turn
from tests.fakes.fixtures import make_hits

ARTICLE = (
    "العنوان\n\n"
    "أكد مصدر عسكري أن نحو 70 جنديا من قوات حفتر نقلوا جوا إلى روسيا للعلاج. وتربط حفتر علاقات جيدة مع مصر.\n\n"
    "ارتفعت أسعار القمح في الأسواق العالمية. وقال تجار إن الطلب قوي.\n\n"
    "وافق حلف شمال الأطلسي على طلب السراج إعادة تأهيل أجهزة الأمن."
)
PARAS = ARTICLE.split("\n\n")[1:]


def test_best_sentence_first_in_reading_order_with_exact_spans() -> None:
    hits = make_hits(ARTICLE, PARAS)
    text, citations = extractive_answer("كم جنديا من قوات حفتر نقلوا إلى روسيا؟", hits, max_sentences=2)
    assert "70 جنديا" in text
    assert [c.n for c in citations] == list(range(1, len(citations) + 1))
    for citation in citations:
        assert ARTICLE[citation.start:citation.end] == citation.quote
        assert f"«{citation.quote}» [{citation.n}]" in text
    assert "القمح" not in text


def test_ranking_prefers_earlier_hits_on_ties() -> None:
    article = "خبر\n\nزار الوفد موسكو.\n\nزار الوفد موسكو."
    hits = make_hits(article, ["زار الوفد موسكو."], doc_id="a") + make_hits(article, ["زار الوفد موسكو."], doc_id="b")
    ranked = rank_sentences("متى زار الوفد موسكو", hits)
    assert ranked[0][1] == 0 and ranked[0][0] > ranked[1][0]


def test_no_overlap_gives_no_answer() -> None:
    assert extractive_answer("ما عاصمة اليابان", make_hits(ARTICLE, PARAS)) == ("", ())


def test_fallback_condense_appends_last_question_terms() -> None:
    history = [Turn("user", "لماذا نقل جنود حفتر إلى روسيا؟"), Turn("assistant", "للعلاج [1].")]
    standalone = condense_fallback("ومن أين سافروا؟", history)
    assert standalone.startswith("ومن أين سافروا؟") and "حفتر" in standalone and "روسيا" in standalone
    assert condense_fallback("سؤال", []) == "سؤال"
    assert "لماذا" not in key_terms("لماذا نقل الجنود")
