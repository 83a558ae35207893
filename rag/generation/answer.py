"""Grounded answers: condense → retrieve → refuse or build the prompt → stream from the LLM → check
citations → ``Answer``. Falls back to the extractive (no-LLM) answer when Ollama cannot be reached.

Why the order: refusing on low retrieval confidence before calling the model saves a slow LLM call and
stops answers from the model's own knowledge. Streamed text is checked text: the model's reply goes
through ``ReplyFilter`` (no think blocks; the no-answer marker refuses only when it is the reply) and
``CitationCheck`` sentence by sentence, and only checked sentences are yielded, so the ``AnswerDelta``
pieces joined are exactly the final ``Answer.answer`` (citation numbers = the prompt's passage numbers).
A model failure after text was shown ends the answer there, marked ``finish_reason="cut"``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from rag import arabic
from rag.errors import GenerationError, ModelUnavailableError
from rag.generation.answerability import Judgement, judge
from rag.generation.citations import CitationCheck, StoredVectors
from rag.generation.condense import condense_fallback, condense_with_llm
from rag.generation.context import NO_ANSWER, PromptContext, build_context, estimate_tokens
from rag.generation.extractive import extractive_answer
from rag.generation.reply import ReplyFilter
from rag.ports import LLM, Embedder
from rag.profile import ModelProfile, load_profile
from rag.prompts import PromptLibrary
from rag.settings import Settings
from rag.types import Answer, AnswerDelta, Hit, SearchFilters, SearchResult, Turn, Usage

__all__ = ["Answerer", "REFUSAL", "NO_LLM_NOTE", "CLOSEST_NOTE", "QUOTED_NOTE", "CUT_NOTE", "in_lang"]

#: user-facing fixed texts, one per language: a reply is written in the question's language only
REFUSAL = {"ar": "لا تتضمن المقالات المتاحة إجابة عن هذا السؤال.",
           "en": "The articles do not contain the answer to this question."}
NO_LLM_NOTE = {"ar": "لم يُستخدم أي نموذج لغوي: الإجابة جمل مقتبسة من المقالات.",
               "en": "No LLM was used: the answer quotes sentences from the articles."}
CLOSEST_NOTE = {"ar": "المقاطع المعروضة هي الأقرب إلى السؤال لكنها لا تجيب عنه.",
                "en": "The passages shown are the closest ones; they do not answer the question."}
QUOTED_NOTE = {"ar": "الجمل مقتبسة بلغة المقالة الأصلية.",
               "en": "The sentences are quoted in the article's language (Arabic); no translation was made."}
CUT_NOTE = {"ar": "انقطعت الإجابة: توقف النموذج قبل أن يكملها، والمعروض هو ما تحقق منه فقط.",
            "en": "The answer was cut off: the model stopped before finishing; what is shown is the checked part."}


def in_lang(texts: dict[str, str], lang: str) -> str:
    """The text for the question's language; English for any language without its own text."""
    return texts.get(lang, texts["en"])


class _Retriever(Protocol):
    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None) -> SearchResult: ...


@dataclass
class _Run:
    """What one question accumulates on its way to an ``Answer``."""

    question: str
    lang: str
    started: float = field(default_factory=time.perf_counter)
    standalone: str | None = None
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    result: SearchResult | None = None
    max_tokens: int | None = None
    temperature: float | None = None

    def mark(self, name: str) -> None:
        self.timings[name] = round((time.perf_counter() - self.started) * 1000, 1)

    def base(self) -> dict[str, Any]:
        self.mark("total")
        self.timings.setdefault("first_token", self.timings["total"])
        confidence = self.result.confidence if self.result is not None else 0.0
        return {"question": self.question, "standalone_question": self.standalone, "lang": self.lang,
                "timings_ms": dict(self.timings), "confidence": float(confidence)}


class Answerer:
    """Answers questions from retrieved passages, with an LLM when one is reachable, else extractively."""

    def __init__(self, retriever: _Retriever, llm: LLM | None, embedder: Embedder | None,
                 prompts: PromptLibrary, settings: Settings, *, stored_vectors: StoredVectors | None = None,
                 profile: ModelProfile | None = None) -> None:
        self.retriever = retriever
        self.profile = profile or load_profile(None).overridden(refusal_threshold=settings.refusal_threshold)
        self.llm = llm
        self.embedder = embedder
        self.prompts = prompts
        self.settings = settings
        self.stored_vectors = stored_vectors

    def ask(self, question: str, *, history: Sequence[Turn] = (), filters: SearchFilters | None = None,
            k: int | None = None, extractive: bool = False, max_tokens: int | None = None,
            temperature: float | None = None) -> Answer:
        """The complete, citation-checked answer (the stream, consumed)."""
        final: Answer | None = None
        for item in self.stream(question, history=history, filters=filters, k=k, extractive=extractive,
                                max_tokens=max_tokens, temperature=temperature):
            if isinstance(item, Answer):
                final = item
        assert final is not None, "stream() always ends with an Answer"
        return final

    def stream(self, question: str, *, history: Sequence[Turn] = (), filters: SearchFilters | None = None,
               k: int | None = None, extractive: bool = False, max_tokens: int | None = None,
               temperature: float | None = None) -> Iterator[AnswerDelta | Answer]:
        """Checked ``AnswerDelta`` pieces as the model writes (joined: the final text), then the ``Answer``.
        ``max_tokens`` caps the reply (default settings.answer_max_tokens); ``temperature`` overrides the
        model's for this answer."""
        run = _Run(question=question, lang=arabic.detect_language(question), max_tokens=max_tokens,
                   temperature=temperature)
        use_llm = not extractive and self.llm is not None
        query, use_llm = self._standalone(run, history, use_llm)
        run.result = self.retriever.search(query, k=k, filters=filters)
        run.mark("retrieval")
        hits = run.result.hits
        mode = "llm" if use_llm else "extractive"
        if not hits or run.result.confidence < self.profile.refusal_threshold:
            yield self._refusal(run, hits, mode)
            return
        judgement = judge(query, hits, self.embedder, self.profile, run.result.confidence)
        if judgement is not None:
            run.mark("answerability")
        if judgement is not None and judgement.score < self.profile.answerability_threshold:
            yield self._refusal(run, hits, mode, why=_unanswered_note(judgement, self.profile.answerability_threshold))
            return
        if use_llm:
            try:
                yield from self._generate(run, query, hits)
                return
            except ModelUnavailableError as exc:
                run.notes.append(f"Ollama is not available ({exc}); answering without an LLM.")
        yield self._extractive(run, query, hits, judgement)

    # --- steps ---------------------------------------------------------------------------------
    def _standalone(self, run: _Run, history: Sequence[Turn], use_llm: bool) -> tuple[str, bool]:
        """Condense a follow-up into a standalone question; an unreachable LLM switches to extractive."""
        if not history:
            return run.question, use_llm
        if use_llm:
            assert self.llm is not None
            try:
                run.standalone = condense_with_llm(run.question, history, self.llm, self.prompts)
                return run.standalone, True
            except ModelUnavailableError as exc:
                run.notes.append(f"Ollama is not available ({exc}); answering without an LLM.")
                use_llm = False
            except GenerationError as exc:  # a bad reply to the rewrite: search without it, never a 5xx
                run.notes.append(f"the follow-up was not rewritten by the model ({exc.code}); searched with "
                                 "the question and its referent")
        run.standalone = condense_fallback(run.question, history)
        return run.standalone, use_llm

    def _refusal(self, run: _Run, hits: Sequence[Hit], mode: str, *, why: str | None = None,
                 model: str | None = None) -> Answer:
        """The fixed answer in the question's language, the closest passages marked as not answering."""
        notes = [*run.notes, why or _low_confidence_note(run, self.profile.refusal_threshold)]
        if hits:
            notes.append(in_lang(CLOSEST_NOTE, run.lang))
        return Answer(answer=in_lang(REFUSAL, run.lang), citations=(), grounded=False, refused=True, mode=mode,  # type: ignore[arg-type]
                      model=model, notes=tuple(notes), passages=tuple(hits), **run.base())

    def _extractive(self, run: _Run, query: str, hits: Sequence[Hit], judgement: Judgement | None) -> Answer:
        text, citations = extractive_answer(query, hits, embedder=self.embedder, profile=self.profile,
                                            judgement=judgement)
        run.notes.append(in_lang(NO_LLM_NOTE, run.lang))
        if citations and run.lang != arabic.detect_language(citations[0].quote):
            run.notes.append(in_lang(QUOTED_NOTE, run.lang))
        if not citations:
            return self._refusal(run, hits, "extractive", why="no sentence of the passages matches the question")
        return Answer(answer=text, citations=citations, grounded=True, refused=False, mode="extractive",
                      model=None, notes=tuple(run.notes), passages=tuple(hits), **run.base())

    def _generate(self, run: _Run, query: str, hits: Sequence[Hit]) -> Iterator[AnswerDelta | Answer]:
        """Stream the model's reply through the reply filter and the citation check; yield checked text.
        A failure before any text is shown propagates (the caller may answer extractively); after text
        was shown the answer ends there, checked, and says it was cut."""
        assert self.llm is not None
        max_tokens = min(run.max_tokens, self.llm.num_ctx // 2) if run.max_tokens else self.settings.answer_max_tokens
        ctx = build_context(query, hits, self.prompts, num_ctx=self.llm.num_ctx, answer_max_tokens=max_tokens,
                            select=self.settings.sentence_selection, lang=run.lang)
        if ctx.trimmed:
            run.notes.append(f"{ctx.trimmed} passage(s) dropped or shortened to fit num_ctx={self.llm.num_ctx}.")
        reply = ReplyFilter(NO_ANSWER)
        check = CitationCheck(ctx.passages, self.embedder, self.stored_vectors, profile=self.profile)
        usage: dict[str, int] = {}
        shown = False
        try:
            for item in self.llm.stream_chat(ctx.messages, max_tokens=max_tokens, temperature=run.temperature):
                if isinstance(item, dict):
                    usage = item
                    continue
                run.timings.setdefault("first_token", round((time.perf_counter() - run.started) * 1000, 1))
                if text := check.feed(reply.feed(item)):
                    shown = True
                    yield AnswerDelta(text)
        except GenerationError as exc:
            if not shown:
                raise
            run.notes.append(f"{in_lang(CUT_NOTE, run.lang)} ({exc.message})")
            usage = {**usage, "cut": 1}
        if reply.refused:
            yield self._no_answer(run, ctx, usage)
            return
        if rest := check.feed(reply.flush()) + check.finish(cut=bool(usage.get("cut"))):
            yield AnswerDelta(rest)
        yield self._finish(run, ctx, check, reply, usage)

    def _no_answer(self, run: _Run, ctx: PromptContext, usage: dict[str, int]) -> Answer:
        assert self.llm is not None
        answer = self._refusal(run, tuple(p.hit for p in ctx.passages), "llm",
                               why="the model found no answer in the passages", model=self.llm.model)
        return replace(answer, usage=_usage(usage, ctx, ""))

    def _finish(self, run: _Run, ctx: PromptContext, check: CitationCheck, reply: ReplyFilter,
                usage: dict[str, int]) -> Answer:
        assert self.llm is not None
        checked = check.result
        if not checked.text.strip():
            return self._no_answer(run, ctx, usage)
        if reply.marker_inside:
            run.notes.append("the model said part of the question has no answer in the passages")
        run.notes.extend(_check_notes(checked.dropped, checked.repointed, len(checked.unsupported)))
        grounded = bool(checked.citations) and not checked.unsupported
        if not checked.citations:
            run.notes.append("the answer cites no passage; treat it as ungrounded")
        finish: Literal["stop", "length", "cut"] = "cut" if usage.get("cut") else "length" if usage.get("length") else "stop"
        return Answer(answer=checked.text, citations=checked.citations, grounded=grounded, refused=False,
                      mode="llm", model=self.llm.model, usage=_usage(usage, ctx, checked.text),
                      notes=tuple(run.notes), passages=tuple(p.hit for p in ctx.passages),
                      unsupported=checked.unsupported, trimmed=ctx.trimmed, finish_reason=finish, **run.base())


def _usage(reported: dict[str, int], ctx: PromptContext, text: str) -> Usage:
    """Ollama's own token counts; our estimates only where it reported none (a cut stream)."""
    return Usage(prompt_tokens=reported.get("prompt_tokens") or ctx.prompt_tokens,
                 completion_tokens=reported.get("completion_tokens") or estimate_tokens(text))


def _low_confidence_note(run: _Run, threshold: float) -> str:
    confidence = run.result.confidence if run.result is not None else 0.0
    return f"retrieval confidence {confidence:.2f} is below the refusal threshold {threshold:.2f}"


def _unanswered_note(judgement: Judgement, threshold: float) -> str:
    return (f"no retrieved sentence answers what is asked (best sentence judged {judgement.score:.2f}, "
            f"below the answerability threshold {threshold:.2f})")


def _check_notes(dropped: int, repointed: int, unsupported: int) -> list[str]:
    notes = []
    if dropped:
        notes.append(f"{dropped} citation(s) to passages that were not given were removed")
    if repointed:
        notes.append(f"{repointed} citation(s) re-pointed to the passage that supports the sentence")
    if unsupported:
        notes.append(f"{unsupported} sentence(s) not supported by the passages (flagged)")
    return notes
