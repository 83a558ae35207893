"""The official ``openai`` SDK against a live Sanad (Chroma + MiniLM + the fake Ollama over HTTP), with a
model that cites in reverse order and cites a passage that does not exist: what the SDK streams is the
checked answer, its markers are the structured citations' numbers, and usage / max_tokens / temperature /
finish_reason are Ollama's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from cli.serve_cmd import build_server
from rag.settings import Settings
from rag.wiring import build_service
from tests.conftest import SEEDS, minilm_dir
from tests.fakes.ollama_server import FakeOllama, Reply, passages_of
from tests.integration.live_server import ServerThread

pytestmark = pytest.mark.integration

QUESTION = "كم عدد جنود حفتر الذين نقلوا إلى روسيا للعلاج؟"
MISSING = 99  # a passage number the prompt never has


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?؟])\s", text.replace(" … ", " ").strip())[0].rstrip(".!?؟")


def reverse_citer(body: dict[str, Any]) -> str:
    """The first sentence of every passage, highest number first, each cited with its own number; the
    first one also cites a passage that does not exist."""
    passages = passages_of(body)
    if not passages:
        return "NO_ANSWER"
    order = sorted(passages, reverse=True)
    parts = [f"{_first_sentence(passages[n])} [{n}]" + (f"[{MISSING}]" if i == 0 else "") + "."
             for i, n in enumerate(order)]
    return " ".join(parts)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ollama = FakeOllama().start()
    ollama.default = reverse_citer
    settings = Settings(data_dir=tmp_path_factory.mktemp("sdk") / "data",  # type: ignore[call-arg]
                        embed_model=str(minilm_dir()), ollama_host=ollama.url, ollama_timeout=10.0,
                        sentence_selection=False, top_k=3)
    service = build_service(settings)
    service.ingest([SEEDS])
    server = ServerThread(build_server(service, settings)).start()
    try:
        yield {"url": server.url, "ollama": ollama}
    finally:
        server.stop()
        ollama.stop()


def _client(live: dict[str, Any]) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=live["url"] + "/v1", api_key="unused", max_retries=0, timeout=60)


def _markers(text: str) -> list[int]:
    return [int(n) for group in re.findall(r"\[(\d+(?:,\s*\d+)*)\]", text) for n in group.split(",")]


def _stream(live: dict[str, Any], **options: Any) -> tuple[str, Any]:
    chunks = list(_client(live).chat.completions.create(
        model="sanad", stream=True, messages=[{"role": "user", "content": QUESTION}], **options))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks[-1]


def test_streamed_text_is_the_checked_answer_and_its_numbers_are_the_citations(live):
    text, last = _stream(live)
    final = (last.model_extra or {})["sanad"]
    answer, _, footer = text.partition("\n\nSources:\n")
    assert answer == final["answer"]  # the SDK's concatenated stream IS the checked text
    numbers = [c["n"] for c in final["citations"]]
    assert len(numbers) >= 2 and sorted(set(_markers(answer))) == sorted(numbers)
    assert MISSING not in _markers(text)
    assert _markers(answer) == sorted(_markers(answer), reverse=True)  # the model's order, never renumbered
    assert [int(line[1:line.index("]")]) for line in footer.splitlines()] == sorted(numbers)
    assert last.choices[0].finish_reason == "stop" and final["finish_reason"] == "stop"
    passages = final["passages"]
    for c in final["citations"]:  # n is the prompt's passage number: its quote comes from that passage
        assert c["doc_id"] == passages[c["n"] - 1]["chunk"]["doc_id"]


def test_non_streaming_usage_is_ollamas_and_content_matches(live):
    live["ollama"].script(lambda body: Reply(reverse_citer(body), prompt_tokens=1234, eval_count=56))
    resp = _client(live).chat.completions.create(model="sanad", messages=[{"role": "user", "content": QUESTION}])
    final = (resp.model_extra or {})["sanad"]
    content = resp.choices[0].message.content or ""
    assert content.startswith(final["answer"] + "\n\nSources:\n")
    assert sorted(set(_markers(final["answer"]))) == sorted(c["n"] for c in final["citations"])
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (1234, 56, 1290)
    assert resp.choices[0].finish_reason == "stop"


def test_max_tokens_and_temperature_reach_ollama_and_length_is_reported(live):
    ollama = live["ollama"]
    text, last = _stream(live, max_tokens=12, temperature=0.6)
    options = ollama.chat_requests()[-1]["options"]
    assert options["num_predict"] == 12 and options["temperature"] == 0.6
    final = (last.model_extra or {})["sanad"]
    assert last.choices[0].finish_reason == "length" and final["finish_reason"] == "length"
    assert final["usage"]["completion_tokens"] == 12 and last.usage.completion_tokens == 12
    assert text.partition("\n\nSources:\n")[0] == final["answer"]


def test_a_stream_cut_after_text_keeps_the_checked_part(live):
    live["ollama"].script(lambda body: Reply(reverse_citer(body) + " " + reverse_citer(body), cut_after=40))
    text, last = _stream(live)
    final = (last.model_extra or {})["sanad"]
    assert final["finish_reason"] == "cut" and final["mode"] == "llm"  # no silent extractive swap
    assert last.choices[0].finish_reason == "length"
    assert text.partition("\n\nSources:\n")[0] == final["answer"] and final["answer"]
    assert any("cut off" in note for note in final["notes"]) or any("انقطعت" in n for n in final["notes"])
