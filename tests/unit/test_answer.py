"""The Answerer's paths with in-process fakes: LLM answer, refusal, extractive, fallback, follow-ups."""

from __future__ import annotations

import pytest

from rag.errors import LLMStreamError, LLMTimeoutError, ModelUnavailableError
from rag.generation.answer import CLOSEST_NOTE, NO_LLM_NOTE, REFUSAL, Answerer
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
    llm = ScriptedLLM(["نقل نحو 70 جنديا من قوات حفتر إلى روسيا للعلاج [1]."])
    items = list(answerer(llm)[0].stream(QUESTION))
    deltas = [i for i in items if isinstance(i, AnswerDelta)]
    final = items[-1]
    assert isinstance(final, Answer) and len(deltas) > 3
    assert "".join(d.text for d in deltas).strip().startswith("نقل نحو 70")
    assert final.mode == "llm" and final.grounded and not final.refused and final.model == "fake:1b"
    assert final.citations[0].quote.startswith("أكد مصدر عسكري") and final.answer.endswith("[1].")
    assert set(final.timings_ms) == {"retrieval", "first_token", "total"}
    assert final.usage.prompt_tokens == 10
    wire = final.to_dict()
    assert wire["citations"][0]["start"] == ARTICLE.index("أكد مصدر") and wire["mode"] == "llm"


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
