"""Time reaches the answer: the prompt shows each passage's publication date (or 'unknown') with its relative
time resolved, and a citation carries the dates its quote mentions, relative ones resolved and flagged."""

from __future__ import annotations

from dataclasses import replace

from rag.generation.citations import check_citations
from rag.generation.context import build_context, make_passages
from rag.prompts import PromptLibrary
from rag.settings import PROJECT_ROOT
from rag.types import Answer, QuoteDate
from tests.fakes.fixtures import make_hits

ARTICLE = ("العنوان\n\n"
           "وقال وزير الصناعة أمس الخميس إن الإنتاج تراجع العام الماضي بعشرة في المئة منذ قرار 3 مارس 2015.\n\n"
           "وافق البرلمان على القانون الجديد في جلسة عامة.")
P1, P2 = ARTICLE.split("\n\n")[1:]


def _hits(published: str | None):
    return [replace(h, chunk=replace(h.chunk, published=published)) for h in make_hits(ARTICLE, [P1, P2])]


def _user_prompt(published: str | None, lang: str = "ar") -> str:
    context = build_context("كم تراجع الإنتاج؟", _hits(published), PromptLibrary(PROJECT_ROOT / "prompts"),
                            num_ctx=4096, answer_max_tokens=256, select=False, lang=lang)
    return context.messages[1]["content"]


def test_prompt_dates_each_passage_and_resolves_its_relative_time() -> None:
    user = _user_prompt("2017-01-13")  # a Friday: yesterday was Thursday the 12th
    assert 'date="2017-01-13">\ntime: «أمس الخميس» = 2017-01-12; «العام الماضي» = 2016\nوقال وزير' in user
    assert 'id="2" title="عنوان" date="2017-01-13">\nوافق البرلمان' in user  # nothing relative: no time line


def test_prompt_says_unknown_and_resolves_nothing_without_a_publication_date() -> None:
    for lang in ("ar", "en"):
        user = _user_prompt(None, lang)
        assert 'date="unknown">\nوقال وزير' in user and "time:" not in user


def test_system_prompts_explain_the_date_and_time_lines() -> None:
    library = PromptLibrary(PROJECT_ROOT / "prompts")
    assert "time:" in library.render("answer_system_ar", no_answer="X")
    assert "says 'last year'" in library.render("answer_system_en", no_answer="X")


def test_citation_carries_the_dates_its_quote_mentions_in_the_answer_dict() -> None:
    passages = make_passages("", _hits("2017-01-13"), select=False)
    checked = check_citations("قال الوزير إن الإنتاج تراجع العام الماضي بعشرة في المئة [1].", passages)
    [cite] = checked.citations
    assert cite.dates == (QuoteDate("أمس الخميس", "2017-01-12", True), QuoteDate("العام الماضي", "2016", True),
                          QuoteDate("3 مارس 2015", "2015-03-03", False))
    wire = Answer("…", checked.citations, True, False, "llm", None).to_dict()
    assert wire["citations"][0]["dates"][1] == {"text": "العام الماضي", "iso": "2016", "relative": True}


def test_citation_of_an_undated_article_keeps_only_stated_dates() -> None:
    passages = make_passages("", _hits(None), select=False)
    [cite] = check_citations("قال الوزير إن الإنتاج تراجع العام الماضي بعشرة في المئة [1].", passages).citations
    assert cite.dates == (QuoteDate("3 مارس 2015", "2015-03-03", False),)
