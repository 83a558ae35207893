"""OpenAI-compatible chat: any OpenAI-speaking tool can use Sanad as a model named "sanad".

The last user message is the question and earlier turns are the history. The text keeps the ``[n]``
markers and ends with a "Sources:" list (plain chat windows show where claims come from); the full
Answer (citations with spans) rides in the extra ``sanad`` field, on the response or the final chunk.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from api.auth import require_key
from api.errors import ApiError
from api.schemas import ChatCompletionRequest, to_turns
from api.streaming import SSE_HEADERS, error_payload, primed, sse
from rag.service import Sanad
from rag.types import Answer, AnswerDelta

__all__ = ["openai_router", "MODEL_ID", "sources_text"]

MODEL_ID = "sanad"
openai_router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_key)])


def sources_text(answer: Answer) -> str:
    """The "Sources:" footer: one line per citation, e.g. "[1] Title — source, 2017-03-02"."""
    if answer.refused or not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        source = PurePath(c.source.replace("\\", "/")).name  # ingested sources are paths; show the file name
        where = ", ".join(part for part in (source, c.published) if part)
        lines.append(f"[{c.n}] {c.title}" + (f" — {where}" if where else ""))
    return "\n\nSources:\n" + "\n".join(lines)


@openai_router.get("/models", summary="The one model this server offers")
def list_models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "sanad"}]}


def _question_and_history(body: ChatCompletionRequest) -> tuple[str, tuple[Any, ...]]:
    if body.model != MODEL_ID:
        raise ApiError(404, "model_not_found", f"unknown model {body.model!r}", hint=f"use model {MODEL_ID!r}")
    turns = to_turns(body.messages)
    if not turns or turns[-1].role != "user":
        raise ApiError(422, "validation_error", "the last message must come from the user",
                       hint="end `messages` with {'role': 'user', 'content': <question>}")
    return turns[-1].content, turns[:-1]


def _completion(answer: Answer, completion_id: str) -> dict[str, Any]:
    usage = answer.usage
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer.answer + sources_text(answer)}}],
        "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                  "total_tokens": usage.prompt_tokens + usage.completion_tokens},
        "sanad": answer.to_dict(),
    }


def _chunk(completion_id: str, created: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _chunks(items: Iterator[AnswerDelta | Answer], completion_id: str) -> Iterator[str]:
    created = int(time.time())
    yield sse(None, _chunk(completion_id, created, {"role": "assistant", "content": ""}))
    streamed = False
    try:
        for item in items:
            if isinstance(item, AnswerDelta):
                if item.text:
                    streamed = True
                    yield sse(None, _chunk(completion_id, created, {"content": item.text}))
                continue
            if not streamed and item.answer:  # refusals and extractive answers arrive whole, without deltas
                yield sse(None, _chunk(completion_id, created, {"content": item.answer}))
            footer = sources_text(item)
            if footer:
                yield sse(None, _chunk(completion_id, created, {"content": footer}))
            final = _chunk(completion_id, created, {}, finish="stop")
            final["sanad"] = item.to_dict()
            yield sse(None, final)
    except Exception as exc:  # the edge: OpenAI clients raise on an `error` object inside the stream
        yield sse(None, {"error": {**error_payload(exc), "type": "server_error"}})
    yield sse(None, "[DONE]")


@openai_router.post("/chat/completions", summary="OpenAI-compatible chat completion (stream and not)")
def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
    service: Sanad = request.app.state.service
    question, history = _question_and_history(body)
    kwargs: dict[str, Any] = {"history": history, "k": body.k, "extractive": body.extractive,
                              "filters": body.filters.to_filters() if body.filters else None}
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if not body.stream:
        return _completion(service.ask(question, **kwargs), completion_id)
    items = primed(service.stream(question, **kwargs))
    return StreamingResponse(_chunks(items, completion_id), media_type="text/event-stream", headers=SSE_HEADERS)
