"""OpenAI-compatible chat: any OpenAI-speaking tool can use Sanad as a model named "sanad".

The last user message is the question and earlier turns are the history. The content is the checked
answer (its ``[n]`` markers are the numbers of the structured citations) followed by a "Sources:" list
(plain chat windows show where claims come from); the full Answer (citations with spans) rides in the
extra ``sanad`` field, on the response or on the stream's final chunk.

Streaming holds back the tail until it is checked: the answerer yields text only after the citation check
has passed each sentence, so the streamed ``delta.content`` pieces joined are exactly the final answer text
(then the "Sources:" footer), never a draft the check later changes. ``usage`` is Ollama's own token count
(``prompt_eval_count``/``eval_count``), ``max_tokens`` (or ``max_completion_tokens``) becomes Ollama's
``num_predict`` and ``temperature`` is passed on; ``finish_reason`` is "length" when the reply stopped at
``max_tokens`` or was cut by a model failure (``sanad.finish_reason`` says which), else "stop".
"""

from __future__ import annotations

import logging
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

__all__ = ["openai_router", "MODEL_ID", "sources_text", "finish_reason"]

MODEL_ID = "sanad"
_MODEL = {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "sanad"}
openai_router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_key)])
log = logging.getLogger("sanad.api")


def sources_text(answer: Answer) -> str:
    """The "Sources:" footer: one line per citation, e.g. "[1] Title — source, 2017-03-02"."""
    if answer.refused or not answer.citations:
        return ""
    lines = []
    for c in sorted(answer.citations, key=lambda c: c.n):
        source = c.outlet or PurePath(c.source.replace("\\", "/")).name  # the outlet, else the file name
        where = ", ".join(part for part in (source, c.published) if part)
        lines.append(f"[{c.n}] {c.title}" + (f" — {where}" if where else ""))
    return "\n\nSources:\n" + "\n".join(lines)


def finish_reason(answer: Answer) -> str:
    """OpenAI's value: an answer that stopped early (max_tokens, or a model failure) is "length"."""
    return "stop" if answer.finish_reason == "stop" else "length"


@openai_router.get("/models", summary="The one model this server offers")
def list_models() -> dict[str, Any]:
    return {"object": "list", "data": [_MODEL]}


@openai_router.get("/models/{model_id}", summary="The model, as OpenAI clients' models.retrieve asks for it")
def retrieve_model(model_id: str) -> dict[str, Any]:
    if model_id != MODEL_ID:
        raise ApiError(404, "model_not_found", f"unknown model {model_id[:100]!r}", hint=f"use model {MODEL_ID!r}")
    return _MODEL


def _question_and_history(body: ChatCompletionRequest) -> tuple[str, tuple[Any, ...]]:
    if body.model != MODEL_ID:
        raise ApiError(404, "model_not_found", f"unknown model {body.model!r}", hint=f"use model {MODEL_ID!r}")
    turns = to_turns(body.messages)
    if not turns or turns[-1].role != "user":
        raise ApiError(422, "validation_error", "the last message must come from the user",
                       hint="end `messages` with {'role': 'user', 'content': <question>}")
    return turns[-1].content, turns[:-1]


def _usage(answer: Answer) -> dict[str, int]:
    usage = answer.usage
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def _completion(answer: Answer, completion_id: str) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [{"index": 0, "finish_reason": finish_reason(answer),
                     "message": {"role": "assistant", "content": answer.answer + sources_text(answer)}}],
        "usage": _usage(answer),
        "sanad": answer.to_dict(),
    }


def _chunk(completion_id: str, created: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _rest(streamed: str, answer: Answer) -> str:
    """What of the final text the client has not been sent. The answerer streams checked text only, so
    this is the whole text for answers that arrive without deltas and empty otherwise; a stream that
    sent something else cannot be taken back in this protocol, so it is logged (the ``sanad`` field holds
    the checked answer either way)."""
    if answer.answer.startswith(streamed):
        return answer.answer[len(streamed):]
    log.warning("streamed text differs from the checked answer; the sanad field holds the checked one")
    return ""


def _chunks(items: Iterator[AnswerDelta | Answer], completion_id: str) -> Iterator[str]:
    created = int(time.time())
    yield sse(None, _chunk(completion_id, created, {"role": "assistant", "content": ""}))
    streamed = ""
    try:
        for item in items:
            if isinstance(item, AnswerDelta):
                if item.text:
                    streamed += item.text
                    yield sse(None, _chunk(completion_id, created, {"content": item.text}))
                continue
            if tail := _rest(streamed, item) + sources_text(item):
                yield sse(None, _chunk(completion_id, created, {"content": tail}))
            final = _chunk(completion_id, created, {}, finish=finish_reason(item))
            final["usage"] = _usage(item)
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
                              "filters": body.filters.to_filters() if body.filters else None,
                              "max_tokens": body.max_completion_tokens or body.max_tokens,
                              "temperature": body.temperature}
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if not body.stream:
        return _completion(service.ask(question, **kwargs), completion_id)
    items = primed(service.stream(question, **kwargs))
    return StreamingResponse(_chunks(items, completion_id), media_type="text/event-stream", headers=SSE_HEADERS)
