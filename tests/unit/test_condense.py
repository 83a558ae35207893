"""Follow-ups that follow: a change of topic is searched as written (no model call), a question that leans on
the conversation gets its referent, with and without an LLM (scripted in-process fake)."""

from __future__ import annotations

import pytest

from rag.generation.answer import Answerer
from rag.generation.condense import clean_standalone, condense_fallback, condense_with_llm
from rag.generation.followup import needs_history, read, resolve
from rag.prompts import PromptLibrary
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Turn
from tests.fakes.fixtures import FakeRetriever, ScriptedLLM, make_hits

SOLDIERS = "كم عدد الجنود الذين نقلوا إلى روسيا للعلاج؟"
AFRICOM = "ماذا ناقش حفتر مع قائد أفريكوم؟"
RECEIVED = "ومن استقبله؟"
SOLDIERS_CHAT = [Turn("user", SOLDIERS), Turn("assistant", "نقل نحو 70 جنديا إلى روسيا للعلاج [1].")]
AFRICOM_CHAT = [*SOLDIERS_CHAT, Turn("user", AFRICOM), Turn("assistant", "ناقش توحيد المؤسسات العسكرية [1].")]
PROMPTS = PromptLibrary(PROJECT_ROOT / "prompts")


# --- a change of topic --------------------------------------------------------------------------
def test_topic_change_without_llm_is_searched_as_written() -> None:
    assert condense_fallback(AFRICOM, SOLDIERS_CHAT) == AFRICOM
    assert condense_fallback(SOLDIERS, AFRICOM_CHAT) == SOLDIERS


def test_topic_change_with_llm_never_calls_the_model() -> None:
    llm = ScriptedLLM(["كم عدد الجنود الذين نقلوا إلى روسيا وماذا ناقش حفتر؟"])
    assert condense_with_llm(AFRICOM, SOLDIERS_CHAT, llm, PROMPTS) == AFRICOM
    assert llm.calls == []


def test_topic_change_reaches_retrieval_unchanged_on_both_paths() -> None:
    article = "خبر\n\nاستقبل حفتر قائد أفريكوم وناقشا توحيد المؤسسات."
    for llm in (ScriptedLLM(["ناقشا توحيد المؤسسات [1]."]), None):
        retriever = FakeRetriever(make_hits(article, [article.split("\n\n")[1]]))
        service = Answerer(retriever, llm, None, PROMPTS, Settings(refusal_threshold=0.25))
        answer = service.ask(AFRICOM, history=SOLDIERS_CHAT)
        assert retriever.queries == [AFRICOM] and answer.standalone_question == AFRICOM
        assert llm is None or len(llm.calls) == 1  # the answer only: no condense call


# --- a pronoun follow-up ------------------------------------------------------------------------
def test_pronoun_follow_up_without_llm_gets_the_last_questions_referent() -> None:
    standalone = condense_fallback(RECEIVED, AFRICOM_CHAT)
    assert standalone.startswith(RECEIVED)
    assert "حفتر" in standalone and "أفريكوم" in standalone  # as written, not normalised (افريكوم)
    assert "الجنود" not in standalone and "روسيا" not in standalone  # not every earlier turn's words


def test_pronoun_follow_up_with_llm_uses_the_models_rewrite_without_its_thinking() -> None:
    llm = ScriptedLLM(["<think>الضمير يعود إلى قائد أفريكوم</think>\nمن استقبل قائد أفريكوم؟"])
    assert condense_with_llm(RECEIVED, AFRICOM_CHAT, llm, PROMPTS) == "من استقبل قائد أفريكوم؟"
    prompt = llm.calls[0][0]["content"]
    assert f"User: {AFRICOM}" in prompt and f"Last question: {RECEIVED}" in prompt


@pytest.mark.parametrize("reply", ["", "<think>لم أنته من التفكير", "<think></think>  \n ", "جواب " * 200])
def test_unusable_model_reply_falls_back_to_the_referent(reply: str) -> None:
    standalone = condense_with_llm(RECEIVED, AFRICOM_CHAT, ScriptedLLM([reply]), PROMPTS)
    assert standalone == condense_fallback(RECEIVED, AFRICOM_CHAT) != RECEIVED


def test_clean_standalone_drops_think_blocks_labels_and_quotes() -> None:
    assert clean_standalone("<think>\nhmm\n</think>\n\nStandalone question: «متى زار حفتر موسكو؟»\nشرح") == \
        "متى زار حفتر موسكو؟"
    assert clean_standalone("<THINK>x</THINK>السؤال المستقل: من هو السراج؟") == "من هو السراج؟"


def test_follow_up_of_a_follow_up_keeps_the_first_referent() -> None:
    chat = [*AFRICOM_CHAT, Turn("user", RECEIVED), Turn("assistant", "استقبله حفتر [1].")]
    standalone = condense_fallback("ومتى كان ذلك؟", chat)
    assert "أفريكوم" in standalone and "الجنود" not in standalone


def test_title_of_the_cited_article_when_the_last_question_names_nothing() -> None:
    chat = [Turn("user", "لماذا؟"), Turn("assistant", "لتوحيد المؤسسات [1].\n\nSources:\n"
                                                         "[1] حفتر يستقبل قائد أفريكوم — 2024-09-03")]
    assert condense_fallback(RECEIVED, chat) == f"{RECEIVED} حفتر يستقبل قائد أفريكوم"


def test_ellipsis_keeps_the_frame_of_the_last_question_and_its_new_focus() -> None:
    standalone = condense_fallback("وماذا عن روسيا؟", AFRICOM_CHAT)
    assert standalone.startswith("وماذا عن روسيا؟") and "حفتر" in standalone and "أفريكوم" not in standalone


# --- what needs the conversation -----------------------------------------------------------------
@pytest.mark.parametrize("question", [
    "ومن استقبله؟", "وكم عددهم؟", "ماذا قال عنه ستولتنبرغ؟", "وماذا طلب منها؟", "ما موقف روسيا من هذا؟",
    "متى حدث ذلك؟", "من هو؟", "وماذا عن روسيا؟", "لماذا؟", "ومن أين سافروا؟", "وما السبب؟",
    "What did he say about it?", "And when?", "What about Russia?", "Why did they do that?",
])
def test_questions_that_lean_on_the_conversation(question: str) -> None:
    assert needs_history(question, AFRICOM_CHAT)
    assert resolve(question, AFRICOM_CHAT) != question


@pytest.mark.parametrize("question", [
    SOLDIERS, "من هو خليفة حفتر؟", "ماذا قال حفتر عن زيارته إلى موسكو؟", "هل وافق الناتو على طلب السراج؟",
    "What did Haftar say about his visit to Moscow?", "Is it true that Haftar visited Moscow?",
    "What happened this year in Libya?", "ما أهم ملفات التعاون بين ليبيا والولايات المتحدة؟",
])
def test_self_contained_questions_are_left_alone(question: str) -> None:
    assert not needs_history(question, AFRICOM_CHAT)
    assert resolve(question, AFRICOM_CHAT) == question


def test_without_history_nothing_is_a_follow_up() -> None:
    assert not needs_history(RECEIVED, []) and condense_fallback(RECEIVED, []) == RECEIVED
    assert not needs_history(RECEIVED, [Turn("assistant", "مرحبا")])


def test_reading_keeps_words_as_written_and_names_the_dangling_ones() -> None:
    reading = read("ما موقف روسيا من هذا؟")
    assert reading.words == ("موقف", "روسيا") and reading.dangling == ("هذا",)
    assert read("ومن استقبله؟").dangling == ("استقبله",) and read("ومن استقبله؟").continues
    assert read("ما الاتجاه؟").dangling == () and read("ما الجبهة؟").dangling == ()
