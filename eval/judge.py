"""Optional LLM judge: faithfulness to the passages and correctness against the reference (prompts/judge.j2).

It goes through the service's LLM port (never the ollama client directly), so it is off the hot path and
fakeable. A reply that is not the JSON the prompt asks for scores None, not 0: a parsing failure is not a
wrong answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["Judge", "parse_verdict"]

_OBJECT = re.compile(r"\{.*?\}", re.DOTALL)


class _Chat(Protocol):
    def chat(self, messages: Sequence[dict[str, str]], *, max_tokens: int | None = None) -> tuple[str, dict[str, int]]: ...


class _Prompts(Protocol):
    def render(self, name: str, **variables: object) -> str: ...


def _unit(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return min(1.0, max(0.0, float(value)))


def parse_verdict(reply: str) -> dict[str, Any]:
    """The first JSON object in ``reply`` with faithfulness/correctness in [0, 1]; None where missing."""
    for match in _OBJECT.finditer(reply):
        try:
            data = json.loads(match.group())
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return {
                "faithfulness": _unit(data.get("faithfulness")),
                "correctness": _unit(data.get("correctness")),
                "reason": str(data.get("reason", ""))[:300],
            }
    return {"faithfulness": None, "correctness": None, "reason": f"unparsed judge reply: {reply[:120]!r}"}


class Judge:
    """Grades one answer with one chat call."""

    def __init__(self, llm: _Chat, prompts: _Prompts, *, max_tokens: int = 200) -> None:
        self.llm = llm
        self.prompts = prompts
        self.max_tokens = max_tokens

    def grade(self, question: str, reference: str, answer: str, passages: Sequence[str]) -> dict[str, Any]:
        prompt = self.prompts.render("judge", question=question, reference=reference, answer=answer,
                                     passages=list(passages))
        reply, _usage = self.llm.chat([{"role": "user", "content": prompt}], max_tokens=self.max_tokens)
        return parse_verdict(reply)
