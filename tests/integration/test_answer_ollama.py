"""Grounded answers end to end: real Chroma + real MiniLM + the real ``ollama`` client over HTTP to the
fake Ollama server, over the five sample articles in data/articles.

MiniLM is an English-only stand-in whose dense list is noise on Arabic (STACK-NOTES), so the service here
weighs the keyword side only (``dense_weight=0``); the generation path under test is unchanged by that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.errors import LLMStreamError, LLMTimeoutError
from rag.generation.answer import NO_LLM_NOTE, REFUSAL, Answerer
from rag.generation.context import count_messages
from rag.generation.llm import OllamaLLM
from rag.settings import Settings
from rag.types import Answer, AnswerDelta
from rag.wiring import build_service
from tests.conftest import SEEDS, minilm_dir
from tests.fakes.ollama_server import FakeOllama, Reply, passages_of, prompt_of

pytestmark = pytest.mark.integration

LANGLEY_Q = "من هو قائد القيادة العسكرية الأمريكية في أفريقيا الذي استقبله حفتر؟"
LANGLEY = "مايكل لانجلي"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOllama]:
    fake = FakeOllama().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def settings(server: FakeOllama, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("answers") / "data", embed_model=str(minilm_dir()),
                    ollama_host=server.url, ollama_timeout=5.0, dense_weight=0.0)


@pytest.fixture(scope="module")
def service(settings: Settings) -> Any:
    svc = build_service(settings)
    report = svc.ingest([SEEDS])
    assert len(report.added) == 5 and not report.failed
    return svc


@pytest.fixture()
def fake(server: FakeOllama) -> Iterator[FakeOllama]:
    """The shared server, reset for each test."""
    server.replies.clear()
    server.requests.clear()
    server.models[:] = ["qwen3:4b"]
    server.default = "NO_ANSWER"
    yield server


def answerer(service: Any, settings: Settings, **llm: Any) -> Answerer:
    """The service's own retriever with a differently configured Ollama adapter."""
    args: dict[str, Any] = {"timeout": 5.0, "num_ctx": settings.ollama_num_ctx}
    args.update(llm)
    host = args.pop("host", settings.ollama_host)
    overrides = args.pop("overrides", {})
    config = settings.model_copy(update=overrides)
    return Answerer(service.retriever, OllamaLLM(host, settings.ollama_model, **args), service.embedder,
                    service.answerer.prompts, config)


def cite_passage_with(text: str, claim: str, extra: str = "") -> Any:
    """A reply function: cite the passage (as numbered in the prompt) that contains ``text``."""
    def reply(body: dict[str, Any]) -> str:
        found = [n for n, passage in passages_of(body).items() if text in passage]
        return f"{claim} [{found[0] if found else 1}]{extra}." if found else "NO_ANSWER"
    return reply


def test_streamed_answer_with_verified_citation(service: Any, fake: FakeOllama) -> None:
    fake.script(cite_passage_with(LANGLEY, "استقبل حفتر الفريق أول مايكل لانجلي قائد القيادة العسكرية في أفريقيا"))
    items = list(service.stream(LANGLEY_Q))
    deltas, final = [i for i in items if isinstance(i, AnswerDelta)], items[-1]
    assert deltas and isinstance(final, Answer) and "".join(d.text for d in deltas) == final.answer  # checked text
    assert final.mode == "llm" and final.grounded and not final.refused and final.model == "qwen3:4b"
    citation = final.citations[0]
    assert citation.n == 1 and LANGLEY in citation.quote and final.answer.endswith("[1].")
    assert service.article(citation.doc_id).text[citation.start:citation.end] == citation.quote
    assert final.usage.prompt_tokens > 0 and {"retrieval", "first_token", "total"} <= set(final.timings_ms)
    body = fake.chat_requests()[-1]
    assert body["think"] is False and body["keep_alive"] == "30m" and body["options"]["num_ctx"] == 8192


def test_citation_to_a_passage_not_given_is_dropped(service: Any, fake: FakeOllama) -> None:
    fake.script(cite_passage_with(LANGLEY, "استقبل حفتر الفريق أول مايكل لانجلي", extra="[42]"))
    answer = service.ask(LANGLEY_Q)
    assert "[42]" not in answer.answer and len(answer.citations) == 1
    assert any("not given were removed" in note for note in answer.notes)


def test_unsupported_citation_is_repointed_and_invented_claim_flagged(service: Any, fake: FakeOllama) -> None:
    def reply(body: dict[str, Any]) -> str:
        passages = passages_of(body)
        right = next(n for n, p in passages.items() if LANGLEY in p)
        wrong = next(n for n in passages if n != right)
        return (f"استقبل حفتر الفريق أول مايكل لانجلي قائد القيادة العسكرية في أفريقيا [{wrong}]. "
                f"وفاز المنتخب الليبي بكأس العالم لكرة القدم في البرازيل [{right}].")
    fake.script(reply)
    answer = service.ask(LANGLEY_Q)
    assert LANGLEY in answer.citations[0].quote and answer.citations[0].supported
    assert answer.unsupported and "كأس العالم" in answer.unsupported[0]
    assert not answer.grounded and any("re-pointed" in note for note in answer.notes)


def test_model_says_not_in_passages_gives_refusal(service: Any, fake: FakeOllama) -> None:
    fake.script("NO_ANSWER")
    items = list(service.stream("ما موقف حفتر من نتائج الانتخابات البلدية في طرابلس؟"))
    final = items[-1]
    assert not any(isinstance(i, AnswerDelta) for i in items)
    assert final.refused and final.answer == REFUSAL["ar"] and not final.grounded and final.passages


def test_ollama_down_gives_extractive_answer_with_note(service: Any, settings: Settings, fake: FakeOllama) -> None:
    down = answerer(service, settings, host="http://127.0.0.1:9")
    answer = down.ask(LANGLEY_Q)
    assert answer.mode == "extractive" and NO_LLM_NOTE["ar"] in answer.notes and answer.model is None
    assert any("cannot reach Ollama at http://127.0.0.1:9" in note for note in answer.notes)
    assert LANGLEY in answer.answer and answer.citations
    assert down.llm is not None and down.llm.health()[0] == "unreachable"


def test_model_not_pulled_falls_back_with_pull_hint(service: Any, settings: Settings, fake: FakeOllama) -> None:
    fake.models[:] = ["llama3.2:1b"]
    answer = service.ask(LANGLEY_Q)
    assert answer.mode == "extractive" and any("ollama pull qwen3:4b" in note for note in answer.notes)
    status, detail = service.health().ollama_status, service.health().ollama_detail
    assert status == "model_missing" and "ollama pull qwen3:4b" in (detail or "")


def test_slow_server_times_out(service: Any, settings: Settings, fake: FakeOllama) -> None:
    fake.script(Reply("استقبل حفتر لانجلي [1].", delay=3.0))
    with pytest.raises(LLMTimeoutError) as info:
        answerer(service, settings, timeout=0.5).ask(LANGLEY_Q)
    assert "0.5 s" in info.value.message and info.value.hint


def test_stream_cut_mid_answer_is_an_error(service: Any, fake: FakeOllama) -> None:
    fake.script(Reply("استقبل حفتر الفريق أول مايكل لانجلي قائد القيادة العسكرية [1].", cut_after=3))
    seen: list[Any] = []
    with pytest.raises(LLMStreamError):
        for item in service.stream(LANGLEY_Q):
            seen.append(item)
    assert seen == []  # cut before a sentence was checked: nothing was shown, and no Answer


def test_stream_cut_after_a_checked_sentence_is_a_cut_answer(service: Any, fake: FakeOllama) -> None:
    sentence = "استقبل حفتر الفريق أول مايكل لانجلي قائد القيادة العسكرية [1]. "
    fake.script(Reply(sentence * 3, cut_after=20))
    items = list(service.stream(LANGLEY_Q))
    final = items[-1]
    assert isinstance(final, Answer) and final.finish_reason == "cut" and final.mode == "llm"
    assert "".join(i.text for i in items if isinstance(i, AnswerDelta)) == final.answer
    assert final.answer.startswith(sentence.strip()) and final.citations


def test_prompt_over_num_ctx_is_trimmed_before_sending(service: Any, settings: Settings, fake: FakeOllama) -> None:
    fake.script(cite_passage_with(LANGLEY, "لانجلي"))
    small = answerer(service, settings, num_ctx=1100,
                     overrides={"answer_max_tokens": 300, "sentence_selection": False})
    answer = small.ask(LANGLEY_Q, k=10)
    body = fake.chat_requests()[-1]
    assert body["options"]["num_ctx"] == 1100 and body["options"]["num_predict"] == 300
    assert count_messages(body["messages"]) <= 1100 - 300
    assert answer.trimmed >= 1 and len(passages_of(body)) == len(answer.passages) < 10
    assert any("num_ctx=1100" in note for note in answer.notes)


SEED_QUESTIONS = [
    (LANGLEY_Q, "الفريق أول مايكل لانجلي"),
    ("كم جنديا من قوات حفتر نقلوا جوا إلى روسيا للعلاج؟", "نحو 70 جنديًا من قوات القائد العسكري الليبي خليفة حفتر"),
    ("من أي مطار أقلعت الطائرة التي نقلت الجنود إلى مصر؟", "بطائرة أقلعت من مطار بنينة في بنغازي"),
    ("من هو نائب قائد أفريكوم الذي أجرى محادثات مع حفتر؟", "الفريق جون برينان"),
    ("Who is the AFRICOM deputy commander who held talks with Haftar?", "الفريق جون برينان"),
]


@pytest.mark.parametrize(("question", "answer_sentence"), SEED_QUESTIONS)
def test_prompt_contains_the_answering_sentence(service: Any, fake: FakeOllama, question: str,
                                                answer_sentence: str) -> None:
    def reply(body: dict[str, Any]) -> str:
        if "<passage" not in prompt_of(body):  # the keyword-side translation of an English question
            return "نائب قائد القيادة العسكرية الأميركية في أفريقيا أفريكوم الذي أجرى محادثات مع حفتر"
        return "NO_ANSWER"
    fake.default = reply
    service.ask(question)
    prompt = prompt_of(fake.chat_requests()[-1])
    assert answer_sentence in prompt
    assert re.search(r'<passage id="1"', prompt) and question in prompt
    expected = "Answer in English" if question.isascii() else "تجيب بالعربية"
    assert expected in prompt


# --- the CLI over the same index --------------------------------------------------------------
def _cli(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Any:
    from typer.testing import CliRunner

    from cli import main

    for key, value in {"SANAD_DATA_DIR": str(settings.data_dir), "SANAD_EMBED_MODEL": settings.embed_model,
                       "SANAD_OLLAMA_HOST": settings.ollama_host, "SANAD_DENSE_WEIGHT": "0",
                       "SANAD_CONFIG": str(Path(settings.data_dir) / "absent.toml")}.items():
        monkeypatch.setenv(key, value)
    if not any(c.name == "ask" for c in main.app.registered_commands):
        main._register_commands()
    return lambda *args, **kw: CliRunner().invoke(main.app, list(args), **kw)


def test_cli_ask_json_and_streamed_text(service: Any, settings: Settings, fake: FakeOllama,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    run = _cli(monkeypatch, settings)
    fake.default = cite_passage_with(LANGLEY, "استقبل حفتر الفريق أول مايكل لانجلي")
    result = run("ask", LANGLEY_Q, "--json")
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert {"answer", "citations", "grounded", "refused", "mode", "model", "usage", "timings_ms"} <= set(data)
    assert data["mode"] == "llm" and data["citations"][0]["n"] == 1 and LANGLEY in data["citations"][0]["quote"]
    text = run("ask", LANGLEY_Q, "-k", "3")
    assert text.exit_code == 0 and "استقبل حفتر الفريق أول مايكل لانجلي [1]." in text.stdout
    assert "sources:" in text.stdout and "[1] " in text.stdout and LANGLEY in text.stdout.split("sources:")[1]


def test_cli_chat_condenses_follow_up(service: Any, settings: Settings, fake: FakeOllama,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    run = _cli(monkeypatch, settings)
    fake.script(cite_passage_with(LANGLEY, "استقبل حفتر مايكل لانجلي"), LANGLEY_Q,
                cite_passage_with(LANGLEY, "ناقش معه توحيد المؤسسات"))
    result = run("chat", input="من استقبل حفتر من أفريكوم؟\nوماذا ناقشا؟\n\n")
    assert result.exit_code == 0, result.output
    bodies = fake.chat_requests()
    assert len(bodies) == 3 and "وماذا ناقشا؟" in prompt_of(bodies[1]) and "من استقبل حفتر" in prompt_of(bodies[1])
    assert LANGLEY_Q in prompt_of(bodies[2])  # retrieval and the answer used the standalone question
    assert "ناقش معه توحيد المؤسسات" in result.stdout


# --- the adapter alone ------------------------------------------------------------------------
def test_adapter_from_settings_contacts_nothing_and_health_reports_each_state(fake: FakeOllama) -> None:
    settings = Settings(ollama_host=fake.url, ollama_timeout=0.5)
    llm = OllamaLLM.from_settings(settings)
    assert fake.requests == [] and llm.num_ctx == settings.ollama_num_ctx
    assert llm.health() == ("ok", None)
    fake.models[:] = []
    assert llm.health()[0] == "model_missing"
    assert OllamaLLM("http://127.0.0.1:9", "qwen3:4b").health()[0] == "unreachable"
    assert [r["path"] for r in fake.requests] == ["/api/tags", "/api/tags"]


def test_adapter_chat_sends_every_option_and_reports_usage(fake: FakeOllama) -> None:
    fake.script("جواب قصير [1].")
    llm = OllamaLLM(fake.url, "qwen3:4b", num_ctx=4096, keep_alive="5m", temperature=0.0)
    text, usage = llm.chat([{"role": "user", "content": "سؤال"}], max_tokens=64)
    assert text == "جواب قصير [1]." and usage["prompt_tokens"] > 0 and usage["completion_tokens"] == 3
    body = fake.chat_requests()[0]
    assert body["options"] == {"num_ctx": 4096, "temperature": 0.0, "num_predict": 64}
    assert body["think"] is False and body["keep_alive"] == "5m" and body["stream"] is False
