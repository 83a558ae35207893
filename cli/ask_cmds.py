"""`sanad ask` and `sanad chat`: stream a grounded answer to the terminal, then list its sources."""

from __future__ import annotations

from typing import Any

import typer

from cli.common import INTERRUPTED_ANSWER, INTERRUPTED_CHAT, err, handle_errors, print_json, state
from rag.errors import RagError
from rag.types import Answer, AnswerDelta, SearchFilters, Turn

__all__ = ["register", "render_sources"]

#: shown under an answer that stopped early (the reason is also among the notes on stderr)
_STOPPED = {"cut": "[answer cut off: the model stopped before finishing; the text above is the checked part]",
            "length": "[answer stopped at the token limit]"}


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("chat")(chat)


def _filters(doc: list[str] | None) -> SearchFilters | None:
    return SearchFilters(doc_ids=tuple(doc)) if doc else None


def render_sources(answer: Answer) -> list[str]:
    """Numbered source lines: title, doc id and the quoted sentence(s); unsupported ones marked."""
    lines = []
    for c in answer.citations:
        flag = "" if c.supported else "  (not supported by this passage)"
        quote = "" if answer.mode == "extractive" else f"\n    «{c.quote}»"  # the answer already quotes it
        lines.append(f"[{c.n}] {c.title} ({c.doc_id}, characters {c.start}-{c.end}){flag}{quote}")
    if answer.refused and answer.passages:
        lines.append("closest passages (they do not answer the question):")
        lines.extend(f"  - {h.chunk.title} ({h.chunk.doc_id}): {h.chunk.text[:160]}…" for h in answer.passages[:3])
    return lines


def _stream_to_terminal(stream: Any) -> Answer:
    """Echo the checked text as it arrives (the answerer releases a sentence once its citations are
    checked, so what is printed is the final answer); say so when the answer stopped early."""
    shown: list[str] = []
    final: Answer | None = None
    for item in stream:
        if isinstance(item, AnswerDelta):
            shown.append(item.text)
            typer.echo(item.text, nl=False)
        elif isinstance(item, Answer):
            final = item
    assert final is not None
    streamed = "".join(shown)
    if not streamed:
        typer.echo(final.answer)
    elif final.answer.startswith(streamed):
        typer.echo(final.answer[len(streamed):])
    else:  # another answerer's draft: the checked text is what counts
        typer.echo("\n\nchecked answer:\n" + final.answer)
    if final.finish_reason != "stop":
        typer.echo(_STOPPED[final.finish_reason])
    sources = render_sources(final)
    if sources:
        typer.echo("\nsources:\n" + "\n".join(sources))
    for note in final.notes:
        err(f"note: {note}")
    for sentence in final.unsupported:
        err(f"unsupported: {sentence}")
    return final


@handle_errors(interrupted=INTERRUPTED_ANSWER)
def ask(
    ctx: typer.Context,
    question: str = typer.Argument(..., help="The question, in Arabic or English."),
    as_json: bool = typer.Option(False, "--json", help="Print the Answer as JSON (no streaming)."),
    extractive: bool = typer.Option(False, "--extractive", help="Quote the articles; use no LLM."),
    k: int | None = typer.Option(None, "-k", "--top-k", min=1, max=50, help="Passages to use."),
    doc: list[str] | None = typer.Option(None, "--doc", help="Only search this document id (repeatable)."),
) -> None:
    """Answer a question from the indexed articles, citing the article and sentence for each claim."""
    service = state(ctx).service(load_llm=not extractive)
    if as_json:
        print_json(service.ask(question, filters=_filters(doc), k=k, extractive=extractive).to_dict())
        return
    _stream_to_terminal(service.stream(question, filters=_filters(doc), k=k, extractive=extractive))


@handle_errors(interrupted=INTERRUPTED_CHAT)
def chat(
    ctx: typer.Context,
    extractive: bool = typer.Option(False, "--extractive", help="Quote the articles; use no LLM."),
    k: int | None = typer.Option(None, "-k", "--top-k", min=1, max=50, help="Passages to use."),
    doc: list[str] | None = typer.Option(None, "--doc", help="Only search this document id (repeatable)."),
) -> None:
    """Ask follow-up questions with history. An empty line, EOF or Ctrl-D ends the session."""
    service = state(ctx).service(load_llm=not extractive)
    history: list[Turn] = []
    err("sanad chat: ask a question (empty line or Ctrl-D to quit)")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            final = _stream_to_terminal(service.stream(question, history=history, filters=_filters(doc), k=k,
                                                       extractive=extractive))
        except RagError as exc:  # one failed turn must not end the session
            err(f"error: {exc}")
            continue
        history.extend([Turn("user", question), Turn("assistant", final.answer)])
