"""The Ollama adapter: the ONLY module that imports ``ollama`` (and the httpx errors it lets through).

Why we talk to the ``ollama`` client directly rather than llama-index's ``Ollama`` class: we need
``think=False`` (qwen3), ``num_ctx``/``keep_alive`` on every request and exact error mapping, and we never
want a hidden ``/api/show`` call. Construction never contacts the server; the first request does.

Ollama silently cuts prompts longer than ``num_ctx`` (HTTP 200). The client (0.6.3) has no ``truncate``
field for chat, so the guard is ours: ``options.num_ctx`` is sent on every request and the caller
(``rag.generation.context``) counts prompt tokens conservatively before sending, never exceeding
``num_ctx - max_tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from rag.errors import GenerationError, LLMStreamError, LLMTimeoutError, ModelUnavailableError
from rag.generation.reply import strip_think
from rag.ports import ChatMessage
from rag.settings import Settings

__all__ = ["OllamaLLM"]

_TAG = re.compile(r"<[^>]*>")


class OllamaLLM:
    """Implements ``rag.ports.LLM`` over Ollama's HTTP API (chat, streaming chat, health)."""

    def __init__(self, host: str, model: str, *, timeout: float = 120.0, keep_alive: str = "30m",
                 num_ctx: int = 8192, temperature: float = 0.1, think: bool = False) -> None:
        self.host = host
        self.model = model
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.num_ctx = num_ctx
        self.temperature = temperature
        self.think = think
        self._client: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OllamaLLM:
        """Build from settings; does NOT contact the server (the product starts with Ollama down)."""
        return cls(settings.ollama_host, settings.ollama_model, timeout=settings.ollama_timeout,
                   keep_alive=settings.ollama_keep_alive, num_ctx=settings.ollama_num_ctx,
                   temperature=settings.temperature)

    # --- requests ------------------------------------------------------------------------------
    def _ollama(self) -> Any:
        if self._client is None:
            import ollama

            self._client = ollama.Client(host=self.host, timeout=self.timeout)
        return self._client

    def _options(self, max_tokens: int | None, temperature: float | None = None) -> dict[str, Any]:
        """Ollama's options: ``num_predict`` caps the reply, ``temperature`` None keeps the configured one."""
        options: dict[str, Any] = {"num_ctx": self.num_ctx,
                                   "temperature": self.temperature if temperature is None else temperature}
        if max_tokens is not None:
            options["num_predict"] = max_tokens
        return options

    def _request(self, messages: Sequence[ChatMessage], max_tokens: int | None, stream: bool,
                 temperature: float | None = None) -> Any:
        return self._ollama().chat(
            model=self.model, messages=[dict(m) for m in messages], stream=stream, think=self.think,
            options=self._options(max_tokens, temperature), keep_alive=self.keep_alive,
        )

    def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None) -> tuple[str, dict[str, int]]:
        """One complete reply (think blocks removed: reasoning is not the reply) and its token usage."""
        try:
            response = self._request(messages, max_tokens, stream=False)
            content = response.message.content or ""
            usage = _usage(response)
        except Exception as exc:  # mapped to our tree, re-raised; nothing swallowed
            raise self._map_error(exc) from exc
        return strip_think(content), usage

    def stream_chat(self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None,
                    temperature: float | None = None) -> Iterator[str | dict[str, int]]:
        """Text pieces as they arrive (raw: the caller filters think blocks across pieces), then one
        usage dict from Ollama's final chunk. A stream that ends before ``done`` raises
        ``LLMStreamError`` so a cut answer is never mistaken for a complete one."""
        done = False
        try:
            for part in self._request(messages, max_tokens, stream=True, temperature=temperature):
                piece = part.message.content if part.message is not None else ""
                if piece:
                    yield piece
                if part.done:
                    done = True
                    yield _usage(part)
                    break
        except GenerationError:
            raise
        except Exception as exc:
            raise self._map_error(exc, streaming=True) from exc
        if not done:
            raise LLMStreamError(
                f"the answer stream from {self.host} ended before the model finished",
                hint="retry; if it keeps happening check the Ollama server log (out of memory?)",
            )

    # --- health --------------------------------------------------------------------------------
    def health(self) -> tuple[str, str | None]:
        """("ok"|"unreachable"|"model_missing"|"timeout"|"error", detail) from ``GET /api/tags``."""
        try:
            names = {m.model for m in self._ollama().list().models if m.model}
        except Exception as exc:  # never raises: /readyz and `sanad status` report it
            mapped = self._map_error(exc)
            status = {ModelUnavailableError: "unreachable", LLMTimeoutError: "timeout"}.get(type(mapped), "error")
            return status, str(mapped)
        if self.model in names or f"{self.model}:latest" in names:
            return "ok", None
        return "model_missing", f"model {self.model!r} is not pulled on {self.host} (run `ollama pull {self.model}`)"

    # --- errors --------------------------------------------------------------------------------
    def _map_error(self, exc: Exception, *, streaming: bool = False) -> GenerationError:
        """Translate ollama/httpx/builtin errors into the library's tree, with the fix as a hint."""
        import httpx
        import ollama

        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404 and "not found" in str(exc.error).lower():
                return ModelUnavailableError(f"model {self.model!r} is not available on {self.host}",
                                             hint=f"run `ollama pull {self.model}`")
            detail = " ".join(_TAG.sub(" ", str(exc.error)).split())[:200]  # a proxy's HTML page, as text
            return GenerationError(f"Ollama at {self.host} answered with an error: {detail}",
                                   hint="check the Ollama server log")
        if isinstance(exc, httpx.TimeoutException):
            return LLMTimeoutError(f"Ollama at {self.host} did not answer within {self.timeout:g} s",
                                   hint="raise SANAD_OLLAMA_TIMEOUT or use a smaller model")
        if isinstance(exc, (ConnectionError, httpx.ConnectError)):
            return ModelUnavailableError(f"cannot reach Ollama at {self.host}",
                                         hint="start it with `ollama serve` or set SANAD_OLLAMA_HOST")
        if isinstance(exc, httpx.HTTPError) and streaming:
            return LLMStreamError(f"the answer stream from {self.host} broke off: {exc}",
                                  hint="retry; if it keeps happening check the Ollama server log")
        if isinstance(exc, httpx.HTTPError):
            return GenerationError(f"HTTP error talking to Ollama at {self.host}: {exc}", hint="check the server")
        return self._unreadable(exc, streaming)

    def _unreadable(self, exc: Exception, streaming: bool) -> GenerationError:
        """Anything else the client raised: a reply that is not Ollama's (HTML from a proxy, garbage, JSON of
        another shape, a bad host string). Mapped, so every caller's fallback (no condensing, no translation,
        extractive answer) takes over instead of a 500."""
        message = f"Ollama at {self.host} sent a reply Sanad cannot read ({type(exc).__name__})"
        hint = "check that SANAD_OLLAMA_HOST points at Ollama itself (not a proxy or another service)"
        return LLMStreamError(message, hint=hint) if streaming else GenerationError(message, hint=hint)


def _usage(response: Any) -> dict[str, int]:
    """Token counts from Ollama's final chunk (``prompt_eval_count``, ``eval_count``); ``length`` is 1 when
    its ``done_reason`` says the reply stopped at ``num_predict``."""
    return {"prompt_tokens": int(response.prompt_eval_count or 0),
            "completion_tokens": int(response.eval_count or 0),
            "length": int(getattr(response, "done_reason", None) == "length")}
