"""The Answerer's paths with in-process fakes: LLM answer, refusal, extractive, fallback, follow-ups."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from rag.errors import LLMStreamError, LLMTimeoutError, ModelUnavailableError, RagError
from rag.generation.answer import CLOSEST_NOTE, CUT_NOTE, NO_LLM_NOTE, REFUSAL, Answerer
from rag.prompts import PromptLibrary
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Answer, AnswerDelta, Turn
from tests.fakes.fixtures import FakeRetriever, ScriptedLLM, make_hits

ARTICLE = (
    "الجيش الوطني الليبي\n\n"
    "أكد مصدر عسكري أن نحو 70 جنديا من قوات حفتر نقلوا جوا إلى روسيا للعلاج. وأوضح مسؤول أن الجنود سافروا من مصر.\n\n"
    "وافق حلف شمال الأطلسي مبدئيا على طلب السراج إعادة تأهيل أجهزة الأمن في ليبيا."
)
PARAS = ARTICLE.split("\n\n")[1:]
QUESTION = "كم جنديا من قوات حفتر نقلوا إلى روسيا؟"


def answerer(llm: ScriptedLLM | None, confidence: float = 0.9, **settings: object) -> tuple[Answerer, FakeRetriever]:
    retriever = FakeRetriever(make_hits(ARTICLE, PARAS), confidence=confidence)
    config = Settings(refusal_threshold=0.25, **settings)  # type: ignore[arg-type]
    return Answerer(retriever, llm, None, PromptLibrary(PROJECT_ROOT / "prompts"), config), retriever


def test_streamed_llm_answer_with_checked_citations() -> None:
    llm = ScriptedLLM(["نقل نحو 70 جنديا من قوات حفتر إلى روسيا للعلاج [1]. وسافر الجنود من مصر [1]."])
    items = list(answerer(llm)[0].stream(QUESTION))
    deltas = [i for i in items if isinstance(i, AnswerDelta)]
    final = items[-1]
    assert isinstance(final, Answer) and len(deltas) == 2  # one release per checked sentence
    assert "".join(d.text for d in deltas) == final.answer
    assert final.mode == "llm" and final.grounded and not final.refused and final.model == "fake:1b"
    assert final.citations[0].quote.startswith("أكد مصدر عسكري") and final.answer.endswith("[1].")
    assert set(final.timings_ms) == {"retrieval", "first_token", "total"}
    assert final.usage.prompt_tokens == 10 and final.finish_reason == "stop"
    wire = final.to_dict()
    assert wire["citations"][0]["start"] == ARTICLE.index("أكد مصدر") and wire["mode"] == "llm"


def test_streamed_text_is_the_checked_text_with_passage_numbers() -> None:
    """A model citing in reverse order, a passage that does not exist and the wrong passage: what is
    streamed is already the checked text, and its markers are the structured citations' numbers."""
    reply = ("وافق حلف شمال الأطلسي على طلب السراج إعادة تأهيل أجهزة الأمن في ليبيا [2][9]. "
             "ونقل نحو 70 جنديا من قوات حفتر جوا إلى روسيا للعلاج [2].")
    items = list(answerer(ScriptedLLM([reply]), sentence_selection=False)[0].stream(QUESTION))
    final = items[-1]
    assert isinstance(final, Answer) and len(final.passages) == 2
    streamed = "".join(i.text for i in items if isinstance(i, AnswerDelta))
    assert streamed == final.answer
    assert "[9]" not in streamed and streamed.index("[2]") < streamed.index("[1]")  # n = passage number
    assert sorted(int(m) for m in re.findall(r"\[(\d+)\]", streamed)) == [1, 2]
    assert {c.n for c in final.citations} == {1, 2}
    by_n = {c.n: c for c in final.citations}
    assert "70 جنديا" in by_n[1].quote and "الأطلسي" in by_n[2].quote
    assert any("re-pointed" in n for n in final.notes) and any("not given" in n for n in final.notes)


def test_prompt_sent_to_the_model_holds_the_answer_sentence_and_question() -> None:
    llm = ScriptedLLM(["70 [1]."])
    answerer(llm)[0].ask(QUESTION)
    user = llm.calls[0][1]["content"]
    assert "70 جنديا" in user and QUESTION in user and '<passage id="1"' in user


def test_low_confidence_refuses_without_calling_the_model() -> None:
    llm = ScriptedLLM(["should not be used"])
    answer = answerer(llm, confidence=0.1)[0].ask(QUESTION)
    assert answer.refused and not answer.grounded and answer.answer == REFUSAL["ar"]
    assert llm.calls == [] and CLOSEST_NOTE["ar"] in answer.notes and len(answer.passages) == 2
    assert answer.model is None and answer.usage.prompt_tokens == 0


def test_model_no_answer_marker_becomes_refusal_and_is_never_streamed() -> None:
    items = list(answerer(ScriptedLLM(["NO_ANSWER"]))[0].stream(QUESTION))
    assert not any(isinstance(i, AnswerDelta) for i in items)
    final = items[-1]
    assert isinstance(final, Answer) and final.refused and final.answer == REFUSAL["ar"] and final.mode == "llm"
    assert final.model == "fake:1b" and "the model found no answer in the passages" in final.notes


def test_extractive_when_asked_or_without_llm() -> None:
    for service in (answerer(ScriptedLLM(["unused"]))[0], answerer(None)[0]):
        answer = service.ask(QUESTION, extractive=service.llm is not None)
        assert answer.mode == "extractive" and answer.model is None and NO_LLM_NOTE["ar"] in answer.notes
        assert "70 جنديا" in answer.answer and answer.citations and answer.grounded


def test_unreachable_ollama_falls_back_to_extractive_with_a_note() -> None:
    llm = ScriptedLLM([ModelUnavailableError("cannot reach Ollama at http://x", hint="start it")])
    answer = answerer(llm)[0].ask(QUESTION)
    assert answer.mode == "extractive" and any("Ollama is not available" in n for n in answer.notes)


def test_timeout_and_cut_stream_are_errors_not_answers() -> None:
    with pytest.raises(LLMTimeoutError):
        answerer(ScriptedLLM([LLMTimeoutError("slow", hint="h")]))[0].ask(QUESTION)
    with pytest.raises(LLMStreamError):
        answerer(ScriptedLLM([LLMStreamError("cut", hint="h")]))[0].ask(QUESTION)


def test_follow_up_is_condensed_before_retrieval() -> None:
    llm = ScriptedLLM(["كم جنديا نقلوا إلى روسيا؟", "70 جنديا [1]."])
    service, retriever = answerer(llm)
    history = [Turn("user", "ماذا حدث لقوات حفتر؟"), Turn("assistant", "نقلوا إلى روسيا [1].")]
    answer = service.ask("وكم عددهم؟", history=history)
    assert retriever.queries == ["كم جنديا نقلوا إلى روسيا؟"]
    assert answer.standalone_question == "كم جنديا نقلوا إلى روسيا؟" and answer.question == "وكم عددهم؟"
    assert "ماذا حدث لقوات حفتر؟" in llm.calls[0][0]["content"]


def test_follow_up_without_llm_uses_key_terms() -> None:
    service, retriever = answerer(None)
    service.ask("وكم عددهم؟", history=[Turn("user", "ماذا حدث لقوات حفتر في روسيا؟")])
    assert "حفتر" in retriever.queries[0] and retriever.queries[0].startswith("وكم عددهم؟")


def test_tiny_num_ctx_trims_and_says_so() -> None:
    from rag.generation.context import build_context

    full = build_context(QUESTION, make_hits(ARTICLE, PARAS), PromptLibrary(PROJECT_ROOT / "prompts"),
                         num_ctx=100_000, answer_max_tokens=0, select=False, lang="ar").prompt_tokens
    num_ctx = full - 10 + 200  # ten tokens short of the whole prompt once 200 are kept for the answer
    llm = ScriptedLLM(["70 جنديا [1]."], num_ctx=num_ctx)
    answer = answerer(llm, answer_max_tokens=200, sentence_selection=False)[0].ask(QUESTION)
    assert answer.trimmed >= 1 and any(f"num_ctx={num_ctx}" in n for n in answer.notes)
    assert len(answer.passages) == 1


def test_no_answer_inside_a_partial_answer_keeps_the_answer() -> None:
    reply = "نقل نحو 70 جنديا من قوات حفتر إلى روسيا للعلاج [1]. NO_ANSWER"
    items = list(answerer(ScriptedLLM([reply]))[0].stream(QUESTION))
    final = items[-1]
    assert isinstance(final, Answer) and not final.refused and final.citations
    assert "NO_ANSWER" not in final.answer and final.answer.startswith("نقل نحو 70")
    assert "".join(i.text for i in items if isinstance(i, AnswerDelta)) == final.answer
    assert "the model said part of the question has no answer in the passages" in final.notes


def test_a_reply_that_opens_with_no_answer_is_a_refusal() -> None:
    for reply in ("NO_ANSWER", "  no_answer.", "<think>لا أعرف</think>\nNO_ANSWER: لا تذكر المقاطع العدد"):
        items = list(answerer(ScriptedLLM([reply]))[0].stream(QUESTION))
        assert not any(isinstance(i, AnswerDelta) for i in items), reply
        final = items[-1]
        assert isinstance(final, Answer) and final.refused and final.answer == REFUSAL["ar"], reply


def test_think_blocks_never_reach_the_answer() -> None:
    reply = "<think>السؤال عن الجنود، المقطع [2] لا يفيد.</think> نقل نحو 70 جنديا من قوات حفتر إلى روسيا [1]."
    items = list(answerer(ScriptedLLM([reply]))[0].stream(QUESTION))
    final = items[-1]
    assert isinstance(final, Answer) and not final.refused
    assert "think" not in final.answer and "لا يفيد" not in final.answer and final.answer.startswith("نقل")
    assert "".join(i.text for i in items if isinstance(i, AnswerDelta)) == final.answer


class _PiecesLLM:
    """Streams the given pieces, then ends (usage) or raises ``error``; records the options it was given."""

    model, num_ctx = "fake:1b", 8192

    def __init__(self, pieces: list[str], *, error: RagError | None = None,
                 usage: dict[str, int] | None = None) -> None:
        self.pieces, self.error, self.usage = pieces, error, usage or {"prompt_tokens": 321, "completion_tokens": 12}
        self.options: list[dict[str, Any]] = []

    def stream_chat(self, messages: Any, *, max_tokens: int | None = None,
                    temperature: float | None = None) -> Iterator[str | dict[str, int]]:
        self.options.append({"max_tokens": max_tokens, "temperature": temperature})
        yield from self.pieces
        if self.error is not None:
            raise self.error
        yield self.usage

    def chat(self, messages: Any, *, max_tokens: int | None = None) -> tuple[str, dict[str, int]]:
        raise AssertionError("not used")

    def health(self) -> tuple[str, str | None]:
        return "ok", None


_SENTENCES = ["نقل نحو 70 جنديا من قوات حفتر ", "إلى روسيا للعلاج [1]. ", "وسافر الجنود ", "من مصر [1]. ",
              "ووافق حلف شمال"]


@pytest.mark.parametrize("error", [LLMStreamError("the stream broke off", hint="retry"),
                                   ModelUnavailableError("cannot reach Ollama", hint="start it")])
def test_a_failure_after_text_was_shown_ends_the_answer_there_marked_cut(error: RagError) -> None:
    """No silent switch to the extractive answer: what was checked is kept and the answer says it was cut."""
    items = list(answerer(_PiecesLLM(_SENTENCES, error=error))[0].stream(QUESTION))  # type: ignore[arg-type]
    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "llm" and final.finish_reason == "cut"
    assert "".join(i.text for i in items if isinstance(i, AnswerDelta)) == final.answer
    assert final.answer.startswith("نقل نحو 70 جنديا") and final.answer.endswith("من مصر [1].")
    assert "ووافق حلف شمال" not in final.answer  # the sentence the model never finished is not shown
    assert not any(NO_LLM_NOTE["ar"] == n for n in final.notes)
    assert any(n.startswith(CUT_NOTE["ar"]) and error.message in n for n in final.notes)


def test_a_failure_before_any_text_is_still_an_error() -> None:
    llm = _PiecesLLM(["نقل نحو 70 جنديا "], error=LLMStreamError("cut", hint="h"))
    with pytest.raises(LLMStreamError):
        answerer(llm)[0].ask(QUESTION)  # type: ignore[arg-type]


def test_usage_options_and_length_come_from_the_model() -> None:
    llm = _PiecesLLM(_SENTENCES[:4], usage={"prompt_tokens": 321, "completion_tokens": 12, "length": 1})
    answer = answerer(llm)[0].ask(QUESTION, max_tokens=40, temperature=0.7)  # type: ignore[arg-type]
    assert llm.options == [{"max_tokens": 40, "temperature": 0.7}]
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (321, 12)
    assert answer.finish_reason == "length"
    default = _PiecesLLM(_SENTENCES[:2])
    answerer(default, answer_max_tokens=300)[0].ask(QUESTION)  # type: ignore[arg-type]
    assert default.options == [{"max_tokens": 300, "temperature": None}]
