"""The facade validates input and delegates; errors come from the one tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.errors import DocumentNotFoundError, InvalidQuestionError, RagError
from rag.service import Sanad


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return {"remove": False, "get_article": None, "doc_records": {}, "count_chunks": 0}.get(name, name)

        return call


def _service(**kw: Any) -> tuple[Sanad, _Recorder]:
    rec = _Recorder()
    values: dict[str, Any] = dict(store=rec, ingestor=rec, retriever=rec, answerer=rec, embedder=None, llm=None,
                                  embed_model="m", embed_error="offline", chroma_mode="embedded",
                                  ollama_host="http://h", ollama_model="q", max_question_chars=50)
    values.update(kw)
    return Sanad(**values), rec


@pytest.mark.parametrize("question", ["", "   ", "x" * 51])
def test_bad_questions_are_rejected_before_any_work(question: str) -> None:
    service, rec = _service()
    with pytest.raises(InvalidQuestionError):
        service.ask(question)
    with pytest.raises(InvalidQuestionError):
        service.search(question)
    assert rec.calls == []


def test_question_is_stripped_and_delegated() -> None:
    service, rec = _service()
    assert service.ask("  سؤال؟ ", k=3) == "ask"
    assert rec.calls[-1] == ("ask", ("سؤال؟",), {"history": (), "filters": None, "k": 3, "extractive": False,
                                                "max_tokens": None, "temperature": None})


def test_ingest_passes_paths() -> None:
    service, rec = _service()
    service.ingest(["a", Path("b")], prune=True)
    assert rec.calls[-1][1] == ([Path("a"), Path("b")],) and rec.calls[-1][2]["prune"] is True


def test_unknown_document_is_a_not_found_error() -> None:
    service, _ = _service()
    with pytest.raises(DocumentNotFoundError) as info:
        service.remove("nope")
    assert isinstance(info.value, RagError) and info.value.http_status == 404 and info.value.hint
    with pytest.raises(DocumentNotFoundError):
        service.article("nope")


def test_health_without_llm_reports_keyword_only_and_unreachable() -> None:
    service, _ = _service()
    health = service.health()
    assert health.embed_mode == "keyword-only" and health.embed_error == "offline"
    assert health.ollama_status == "unreachable"
