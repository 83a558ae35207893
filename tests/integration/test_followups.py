"""Follow-ups that follow, on every surface, over the five sample articles with the real multilingual e5 model
(``$SANAD_E5_DIR``, default /work/e5): a change of topic is answered from its own article, not the previous
answer's, and a pronoun follow-up ("ومن استقبله؟", which alone is refused) from the article it refers to.
Surfaces: ``/v1/ask`` on a live server (extractive, and with a fake Ollama), ``sanad chat`` and the UI's chat
function, each passing the conversation the way its clients do."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.serve_cmd import build_server
from rag.settings import Settings
from rag.wiring import build_service
from tests.conftest import SEEDS
from tests.fakes.ollama_server import FakeOllama, prompt_of
from tests.integration.live_server import ServerThread, cite_first_passage

pytestmark = pytest.mark.integration

E5 = Path(os.environ.get("SANAD_E5_DIR", "/work/e5"))
SOLDIERS = "كم عدد الجنود الذين نقلوا إلى روسيا للعلاج؟"
AFRICOM = "ماذا ناقش حفتر مع قائد أفريكوم؟"
RECEIVED = "ومن استقبله؟"
CHAT = [SOLDIERS, AFRICOM, RECEIVED]
#: the article each turn must be answered from: soldiers flown to Russia; Haftar receives AFRICOM's commander
EXPECTED = ["000_ffaf197de1d2d33f", "002_7500bd3d4b4e77f2", "002_7500bd3d4b4e77f2"]
REWRITE = "من استقبل قائد أفريكوم؟"  # what a faithful model makes of RECEIVED after AFRICOM


def _model(body: dict[str, Any]) -> str:
    """The fake Ollama's replies: the condense step done as a faithful model does (with a think block to
    strip), answers that quote the first passage with its marker."""
    if "Last question:" in prompt_of(body):
        return f"<think>الضمير يعود إلى قائد أفريكوم</think>{REWRITE}"
    return cite_first_passage(body)


@pytest.fixture(scope="module")
def ollama() -> Iterator[FakeOllama]:
    fake = FakeOllama().start()
    fake.default = _model
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, ollama: FakeOllama) -> Settings:
    if not (E5 / "model.safetensors").is_file():
        pytest.skip(f"multilingual-e5-small not found at {E5} (set SANAD_E5_DIR)")
    data = tmp_path_factory.mktemp("followups") / "data"
    return Settings(data_dir=data, embed_model=str(E5), ollama_host=ollama.url,
                    ollama_timeout=10.0)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def service(settings: Settings) -> Any:
    service = build_service(settings)
    service.ingest([SEEDS])
    return service


def test_the_pronoun_follow_up_alone_is_not_answered(service: Any) -> None:
    """Why the follow-up needs its referent: searched as written, it finds no supporting passage."""
    assert service.ask(RECEIVED, extractive=True).refused


# --- /v1/ask --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live(service: Any, settings: Settings) -> Iterator[str]:
    server = ServerThread(build_server(service, settings)).start()
    try:
        yield server.url
    finally:
        server.stop()


def _ask_chat(url: str, extractive: bool) -> list[dict[str, Any]]:
    history: list[dict[str, str]] = []
    answers = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for question in CHAT:
            resp = client.post("/v1/ask", json={"question": question, "history": history, "extractive": extractive})
            assert resp.status_code == 200, resp.text
            answers.append(resp.json())
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": answers[-1]["answer"]}]
    return answers


def _cited(answer: dict[str, Any]) -> set[str]:
    return {c["doc_id"] for c in answer["citations"]}


def test_v1_ask_extractive_follows_the_conversation(live: str) -> None:
    answers = _ask_chat(live, extractive=True)
    for answer, doc_id in zip(answers, EXPECTED, strict=True):
        assert not answer["refused"] and _cited(answer) == {doc_id}, answer["answer"]
    assert answers[1]["standalone_question"] == AFRICOM  # the topic change is searched as written
    assert answers[2]["standalone_question"].startswith(RECEIVED) and "أفريكوم" in answers[2]["standalone_question"]


def test_v1_ask_with_a_model_condenses_only_the_follow_up(live: str, ollama: FakeOllama) -> None:
    before = len(ollama.chat_requests())
    answers = _ask_chat(live, extractive=False)
    condensed = [prompt_of(b) for b in ollama.chat_requests()[before:] if "Last question:" in prompt_of(b)]
    assert len(condensed) == 1 and f"Last question: {RECEIVED}" in condensed[0]  # none for the topic change
    assert [a["mode"] for a in answers] == ["llm"] * 3
    assert answers[2]["standalone_question"] == REWRITE
    for answer, doc_id in zip(answers, EXPECTED, strict=True):
        assert _cited(answer) == {doc_id}, answer["answer"]


# --- sanad chat -----------------------------------------------------------------------------------
def test_cli_chat_follows_the_conversation(service: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import main

    for key, value in {"SANAD_DATA_DIR": str(settings.data_dir), "SANAD_EMBED_MODEL": settings.embed_model,
                       "SANAD_OLLAMA_HOST": settings.ollama_host,
                       "SANAD_CONFIG": str(Path(settings.data_dir) / "absent.toml")}.items():
        monkeypatch.setenv(key, value)
    if not any(c.name == "chat" for c in main.app.registered_commands):
        main._register_commands()
    result = CliRunner().invoke(main.app, ["chat", "--extractive"], input="\n".join(CHAT) + "\n\n")
    assert result.exit_code == 0, result.output
    blocks = result.stdout.split("\nsources:\n")[1:]
    cited = [set(re.findall(r"^\[\d+\] .* · (\d{3}_[0-9a-f]{16}), characters", b.split("\n\n")[0], re.M))
             for b in blocks]
    assert cited == [{doc_id} for doc_id in EXPECTED], result.stdout


# --- the UI's chat function -------------------------------------------------------------------------
def test_ui_chat_follows_the_conversation(service: Any) -> None:
    from ui.app import _Handlers

    handlers = _Handlers(service)
    titles = {d.doc_id: html.escape(d.title) for d in service.documents()}
    messages: list[dict[str, Any]] = []
    turns: list[dict[str, str]] = []
    for question, doc_id in zip(CHAT, EXPECTED, strict=True):
        *_, last = handlers.respond(question, messages, turns, True)
        _, messages, new_turns, sources = last
        assert len(new_turns) == len(turns) + 2, f"no answer for {question}"
        turns = new_turns
        shown = set(re.findall(r'<span class="sanad-n">\[\d+\]</span> <b><bdi>(.*?)</bdi></b>', sources))
        assert shown == {titles[doc_id]}, (question, shown)
