"""Follow-up questions: rewrite "and who received him?" into a question retrieval can answer alone.

Why: retrieval sees one string; without the conversation a follow-up's pronouns retrieve nothing useful.
But a question that stands alone must be searched as written: rewriting it with earlier turns made a change
of topic retrieve the previous answer's article. So ``rag.generation.followup`` decides first; only a
question that needs the conversation is rewritten: by the LLM with ``prompts/condense.j2`` (the model is
not even called otherwise), or without one (extractive mode, Ollama down) by adding its referent, the topic
words of the last question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag import arabic
from rag.generation import followup
from rag.ports import LLM
from rag.prompts import PromptLibrary
from rag.types import Turn

__all__ = ["condense_with_llm", "condense_fallback", "key_terms", "clean_standalone"]

_MAX_HISTORY_TURNS = 6
_MAX_TURN_CHARS = 1200  # long answers are cut: the condense prompt must stay far below num_ctx
_CONDENSE_MAX_TOKENS = 128
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_LABEL = re.compile(r"^(?:standalone question|question|السؤال المستقل|السؤال)\s*[:：]\s*", re.IGNORECASE)
_QUOTES = "\"'«»“”„`"


def key_terms(text: str) -> list[str]:
    """Normalised content words of ``text`` in order, without stop words or duplicates."""
    return list(dict.fromkeys(t for t in arabic.tokenize(text) if not arabic.is_stopword(t) and len(t) > 1))


def condense_fallback(question: str, history: Sequence[Turn]) -> str:
    """Without an LLM: the question unchanged when it stands alone, else the question and its referent."""
    return followup.resolve(question, history)


def clean_standalone(text: str) -> str:
    """The model's standalone question: think blocks (closed or not) dropped, then the first non-empty line
    without a "Standalone question:" label or wrapping quotes."""
    lines = [line.strip() for line in _THINK.sub("\n", text).splitlines() if line.strip()]
    if not lines:
        return ""
    return " ".join(_LABEL.sub("", lines[0]).strip().strip(_QUOTES).split())


def condense_with_llm(question: str, history: Sequence[Turn], llm: LLM, prompts: PromptLibrary) -> str:
    """A standalone question: a self-contained question as written (no model call); else the model's rewrite,
    or ``condense_fallback`` when the reply is empty or too long to be a question (an answer, a ramble)."""
    if not followup.needs_history(question, history):
        return question
    turns = [Turn(t.role, t.content[:_MAX_TURN_CHARS]) for t in list(history)[-_MAX_HISTORY_TURNS:]]
    prompt = prompts.render("condense", question=question, history=turns, lang=arabic.detect_language(question))
    text, _usage = llm.chat([{"role": "user", "content": prompt}], max_tokens=_CONDENSE_MAX_TOKENS)
    standalone = clean_standalone(text)
    if not standalone or len(standalone) > max(300, 4 * len(question)):
        return condense_fallback(question, history)
    return standalone
