"""`sanad ask`/`chat` terminal output: the checked stream printed once, and an early stop said out loud."""

from __future__ import annotations

import pytest

from cli.ask_cmds import _stream_to_terminal, render_sources
from rag.generation.answer import Answerer
from rag.prompts import PromptLibrary
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Answer, AnswerDelta, Chunk, Citation, Hit
from tests.fakes.fixtures import FakeRetriever, ScriptedLLM, make_hits

ARTICLE = ("عنوان\n\nأكد مصدر عسكري أن نحو 70 جنديا من قوات حفتر نقلوا جوا إلى روسيا للعلاج.\n\n"
           "وافق حلف شمال الأطلسي مبدئيا على طلب السراج إعادة تأهيل أجهزة الأمن في ليبيا.")


def test_the_printed_answer_is_the_checked_one_printed_once(capsys: pytest.CaptureFixture[str]) -> None:
    draft = ("وافق حلف شمال الأطلسي على طلب السراج إعادة تأهيل أجهزة الأمن في ليبيا [2][9]. "
             "ونقل نحو 70 جنديا من قوات حفتر جوا إلى روسيا للعلاج [2].")
    answerer = Answerer(FakeRetriever(make_hits(ARTICLE, ARTICLE.split("\n\n")[1:])), ScriptedLLM([draft]), None,
                        PromptLibrary(PROJECT_ROOT / "prompts"), Settings(refusal_threshold=0.2, sentence_selection=False))
    final = _stream_to_terminal(answerer.stream("كم جنديا نقلوا إلى روسيا؟"))
    out = capsys.readouterr().out
    body = out.split("\nsources:\n")[0].strip()
    assert body == final.answer and "[9]" not in out and "للعلاج [1]." in body
    assert "\n[1] " in out and "\n[2] " in out  # the sources under the numbers the text uses


def test_a_cut_answer_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    final = Answer("نقل نحو 70 جنديا [1].", (), False, False, "llm", "m", finish_reason="cut",
                   notes=("The answer was cut off",))
    _stream_to_terminal(iter([AnswerDelta("نقل نحو 70 جنديا [1]."), final]))
    captured = capsys.readouterr()
    assert captured.out.count("نقل نحو 70 جنديا") == 1 and "answer cut off" in captured.out
    assert "note: The answer was cut off" in captured.err


def test_source_lines_show_the_outlet_when_known_else_the_file_name() -> None:
    cited = (Citation(1, "a", "حفتر في موسكو", "/data/articles/a.txt", "نص", 0, 2, 0.9, "2016-11-29",
                      outlet="بوابة الوسط"),
             Citation(2, "b", "Haftar", "/data/articles/b.txt", "text", 0, 4, 0.8, None))
    lines = render_sources(Answer("…", cited, True, False, "extractive", None, lang="en"))
    assert lines[0].startswith("[1] حفتر في موسكو — بوابة الوسط, 2016-11-29 · a, characters 0-2")
    assert lines[1].startswith("[2] Haftar — b.txt, date unknown · b, characters 0-4")
    chunk = Chunk("c::0", "c", "عنوان", "نص قريب", 0, 7, 0, "/data/c.txt", outlet="Libya Observer")
    refused = Answer("…", (), False, True, "extractive", None, lang="en", passages=(Hit(chunk, 0.1),))
    assert "  - عنوان — Libya Observer, date unknown (c): نص قريب…" in render_sources(refused)
