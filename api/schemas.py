"""Request bodies (the wire contract). Responses are the library's own ``to_dict`` shapes.

Unknown fields are rejected on our native routes (typos surface as 422) and ignored on the
OpenAI-compatible route (clients send top_p, n, ... that Sanad does not use; ``max_tokens`` and
``temperature`` are honoured).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from rag.types import SearchFilters, Turn

__all__ = ["Filters", "HistoryMessage", "AskRequest", "SearchRequest", "ChatMessageIn", "ChatCompletionRequest", "to_turns",
           "INVALID_UNICODE"]

#: pydantic error type for text that cannot be encoded as UTF-8 (a lone surrogate such as "\\ud800")
INVALID_UNICODE = "invalid_unicode"


def _unencodable(value: Any, where: str) -> str | None:
    """Where the first string that UTF-8 cannot encode sits ("messages.0.content"), or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "body"
        return None
    items: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _unencodable(key, where) or _unencodable(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


class _Encodable(BaseModel):
    """Refuses, before any field is read, a body holding text that is not valid Unicode (JSON allows "\\ud800")."""

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        where = _unencodable(data, "")
        if where:
            raise PydanticCustomError(INVALID_UNICODE, "{where} holds a lone surrogate (e.g. \\ud800): text that "
                                      "is not valid Unicode", {"where": where})
        return data


_FROM = ("Published on or after: YYYY, YYYY-MM, YYYY-MM-DD (or a full date like '18 نوفمبر 2016'), inclusive; "
         "undated articles are left out. Not a date: 422 invalid_date.")
_TO = "Published on or before, inclusive (YYYY-MM and YYYY mean the end of that month or year)."


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_ids: list[StrictStr] = Field(default_factory=list, description="Only these documents.")
    sources: list[StrictStr] = Field(default_factory=list, description="Only articles from these sources.")
    published_from: StrictStr | None = Field(None, description=_FROM)
    published_to: StrictStr | None = Field(None, description=_TO)

    def to_filters(self) -> SearchFilters:
        return SearchFilters(doc_ids=tuple(self.doc_ids), sources=tuple(self.sources),
                             published_from=self.published_from, published_to=self.published_to)


class HistoryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: StrictStr


class AskRequest(_Encodable):
    model_config = ConfigDict(extra="forbid")

    question: StrictStr = Field(description="The question, Arabic or English.")
    history: list[HistoryMessage] = Field(default_factory=list, description="Earlier turns, oldest first.")
    filters: Filters | None = None
    k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (default: settings.top_k).")
    extractive: StrictBool = Field(False, description="Answer with quoted sentences only, without the LLM.")
    stream: StrictBool = Field(False, description="Server-Sent Events: `delta` events (checked text), then "
                               "`answer` (the final Answer; its text replaces the deltas).")


class SearchRequest(_Encodable):
    """POST /v1/search: the same query as GET ?q=&k=, for clients that send JSON (long or non-ASCII queries)."""

    model_config = ConfigDict(extra="forbid")

    q: StrictStr = Field(description="The query.")
    k: int | None = Field(None, ge=1, le=50, description="Passages to return (default: settings.top_k).")
    collapse: StrictBool = Field(True, description="One passage per story, other outlets under `also`; "
                                 "false: every outlet's copy.")
    published_from: StrictStr | None = Field(None, description=_FROM)
    published_to: StrictStr | None = Field(None, description=_TO)

    def to_filters(self) -> SearchFilters | None:
        """The date filter (same as GET's query parameters); InvalidDateError (422) for a bad bound."""
        filters = SearchFilters(published_from=self.published_from or None, published_to=self.published_to or None)
        return None if filters.empty else filters


class ChatMessageIn(BaseModel):
    """OpenAI message; ``content`` may be a string or a list of parts ({"type": "text", "text": ...})."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: StrictStr | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")


class ChatCompletionRequest(_Encodable):
    model_config = ConfigDict(extra="ignore")

    model: StrictStr = "sanad"
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: StrictBool = False
    max_tokens: int | None = Field(None, ge=1, description="Cap on the answer's tokens (Ollama num_predict).")
    max_completion_tokens: int | None = Field(None, ge=1, description="The newer name of max_tokens.")
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature for this answer.")
    # Sanad extensions (ignored by clients that do not know them)
    filters: Filters | None = None
    k: int | None = Field(None, ge=1, le=50)
    extractive: StrictBool = False


def to_turns(messages: list[HistoryMessage] | list[ChatMessageIn]) -> tuple[Turn, ...]:
    """Keep user/assistant turns only: system prompts from chat clients must not steer the grounded prompt."""
    turns: list[Turn] = []
    for message in messages:
        if message.role in ("user", "assistant"):
            text = message.text() if isinstance(message, ChatMessageIn) else message.content
            turns.append(Turn(role=message.role, content=text))
    return tuple(turns)
