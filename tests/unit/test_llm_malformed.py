"""A misbehaving Ollama (issue 13): whatever comes back that is not Ollama's reply (an HTML page from a proxy,
garbage, JSON of another shape, a JSON array, NDJSON lines that are not chunks) becomes the project's
GenerationError through the one adapter, and ``health()`` reports it instead of raising. Real HTTP to the
fake server, the unmodified ``ollama`` client."""

from __future__ import annotations

import pytest

from rag.errors import GenerationError, LLMStreamError
from rag.generation.llm import OllamaLLM
from tests.fakes.ollama_server import FakeOllama, Reply

HTML = b"<!doctype html><html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
BAD_BODIES = [
    pytest.param(Reply(raw=HTML, content_type="text/html"), id="html-200"),
    pytest.param(Reply(raw=b"\x00\xffgarbage{{{", content_type="application/octet-stream"), id="garbage"),
    pytest.param(Reply(raw=b'{"answer": "42"}'), id="json-without-message"),
    pytest.param(Reply(raw=b'{"message": {"role": "assistant", "content": 7}}'), id="content-not-text"),
    pytest.param(Reply(raw=b'[{"message": {"content": "hi"}}]'), id="json-array"),
    pytest.param(Reply(raw=b'"just a string"'), id="json-string"),
    pytest.param(Reply(raw=b'{"message": {"content": "a"}, "done": true}\nnot json\n',
                       content_type="application/x-ndjson"), id="ndjson-then-garbage"),
    pytest.param(Reply(raw=b"[1, 2]\n[3]\n", content_type="application/x-ndjson"), id="ndjson-arrays"),
    pytest.param(Reply(raw=HTML, content_type="text/html", status=500), id="html-500"),
]
MESSAGES = [{"role": "user", "content": "ترجم: who met Haftar?"}]


def _llm(fake: FakeOllama) -> OllamaLLM:
    return OllamaLLM(fake.url, "qwen3:4b", timeout=5.0)


@pytest.mark.parametrize("reply", BAD_BODIES)
def test_chat_maps_a_reply_that_is_not_ollamas_to_generation_error(fake_ollama: FakeOllama, reply: Reply) -> None:
    fake_ollama.script(reply)
    with pytest.raises(GenerationError) as info:
        _llm(fake_ollama).chat(MESSAGES)
    assert fake_ollama.url in info.value.message and info.value.hint
    assert "<html>" not in info.value.message  # an error page is not echoed into the user's message


@pytest.mark.parametrize("reply", BAD_BODIES)
def test_stream_maps_a_reply_that_is_not_ollamas_to_generation_error(fake_ollama: FakeOllama, reply: Reply) -> None:
    fake_ollama.script(reply)
    with pytest.raises(GenerationError) as info:
        list(_llm(fake_ollama).stream_chat(MESSAGES))
    if reply.status == 200:
        assert isinstance(info.value, LLMStreamError)


@pytest.mark.parametrize("tags, detail", [
    (HTML, "cannot read"),
    (b'{"models": "all of them"}', "cannot read"),
    (b'{"models": [{"model": 5}]}', "cannot read"),
    (b"[]", "cannot read"),
    (b"", "cannot read"),
])
def test_health_reports_an_unreadable_listing_and_never_raises(fake_ollama: FakeOllama, tags: bytes,
                                                               detail: str) -> None:
    fake_ollama.tags_raw = tags
    status, text = _llm(fake_ollama).health()
    assert status == "error" and text is not None and detail in text


def test_health_with_a_host_that_is_not_a_url_is_an_error_not_an_exception() -> None:
    status, text = OllamaLLM("http://[::1", "qwen3:4b", timeout=1.0).health()
    assert status in ("error", "unreachable") and text


def test_a_well_formed_reply_still_reads(fake_ollama: FakeOllama) -> None:
    fake_ollama.script("نص الجواب")
    text, usage = _llm(fake_ollama).chat(MESSAGES)
    assert text == "نص الجواب" and usage["completion_tokens"] == 2  # two words, two pieces


# --- the callers fall back ----------------------------------------------------------------------------------
def test_a_bad_condense_reply_searches_the_follow_up_with_its_referent_and_says_so() -> None:
    from rag.generation.answer import Answerer
    from rag.prompts import PromptLibrary
    from rag.settings import PROJECT_ROOT, Settings
    from rag.types import Turn
    from tests.fakes.fixtures import FakeRetriever, ScriptedLLM, make_hits

    article = "عنوان\n\nنقل 70 جنديا من قوات حفتر إلى روسيا للعلاج."
    retriever = FakeRetriever(make_hits(article, [article.split("\n\n")[1]]))
    bad = GenerationError("Ollama at http://x sent a reply Sanad cannot read (ValidationError)", hint="h")
    llm = ScriptedLLM([bad, "نقل 70 جنديا [1]."])
    answerer = Answerer(retriever, llm, None, PromptLibrary(PROJECT_ROOT / "prompts"),
                        Settings(refusal_threshold=0.25))  # type: ignore[call-arg]
    answer = answerer.ask("وكم عددهم؟", history=[Turn("user", "ماذا حدث لقوات حفتر في روسيا؟")])
    assert retriever.queries[0].startswith("وكم عددهم؟") and "حفتر" in retriever.queries[0]
    assert answer.mode == "llm" and "[1]" in answer.answer
    assert any("not rewritten" in note and "generation_error" in note for note in answer.notes)
