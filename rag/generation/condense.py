"""Follow-up questions: rewrite "and when did he go there?" into a question retrieval can answer alone.

Why: retrieval sees one string; without the conversation a follow-up's pronouns retrieve nothing useful.
With an LLM we use ``prompts/condense.j2``; without one (extractive mode, Ollama down) we append the key
terms of the last user question, which keeps the topic's names in the query.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag import arabic
from rag.ports import LLM
from rag.prompts import PromptLibrary
from rag.types import Turn

__all__ = ["condense_with_llm", "condense_fallback", "key_terms"]

_MAX_HISTORY_TURNS = 6
_MAX_TURN_CHARS = 1200  # long answers are cut: the condense prompt must stay far below num_ctx
_CONDENSE_MAX_TOKENS = 128


def key_terms(text: str) -> list[str]:
    """Normalised content words of ``text`` in order, without stop words or duplicates."""
    return list(dict.fromkeys(t for t in arabic.tokenize(text) if not arabic.is_stopword(t) and len(t) > 1))


def condense_fallback(question: str, history: Sequence[Turn]) -> str:
    """The question plus the last user question's key terms it does not already contain."""
    last = next((t.content for t in reversed(history) if t.role == "user"), "")
    present = set(arabic.tokenize(question))
    extra = [t for t in key_terms(last) if t not in present]
    return f"{question} {' '.join(extra)}".strip() if extra else question


def condense_with_llm(question: str, history: Sequence[Turn], llm: LLM, prompts: PromptLibrary) -> str:
    """A standalone question from the model; falls back to ``condense_fallback`` on an empty reply."""
    turns = [Turn(t.role, t.content[:_MAX_TURN_CHARS]) for t in list(history)[-_MAX_HISTORY_TURNS:]]
    prompt = prompts.render("condense", question=question, history=turns, lang=arabic.detect_language(question))
    text, _usage = llm.chat([{"role": "user", "content": prompt}], max_tokens=_CONDENSE_MAX_TOKENS)
    standalone = " ".join(text.replace("<think>", " ").replace("</think>", " ").split()).strip()
    return standalone or condense_fallback(question, history)
