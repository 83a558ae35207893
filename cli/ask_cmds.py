"""`sanad ask` and `sanad chat`: stream a grounded answer to the terminal, then list its sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cli.common import INTERRUPTED_ANSWER, INTERRUPTED_CHAT, err, handle_errors, print_json, state
from cli.search_cmd import SINCE_HELP, UNTIL_HELP, date_filters
from rag.errors import RagError
from rag.types import Answer, AnswerDelta, Turn

__all__ = ["register", "render_sources", "outlet", "dated_source"]

#: shown for a source whose publication date is unknown, in the answer's language
_UNKNOWN_DATE = {"ar": "تاريخ غير معروف", "en": "date unknown"}

#: shown under an answer that stopped early (the reason is also among the notes on stderr)
_STOPPED = {"cut": "[answer cut off: the model stopped before finishing; the text above is the checked part]",
            "length": "[answer stopped at the token limit]"}


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("chat")(chat)


def outlet(source: str, name: str | None = None) -> str:
    """The name a reader knows an article's source by: its outlet (``name``, as its metadata states it),
    else the file it came from ('upload:خبر.txt' and '/data/articles/خبر.txt' are both 'خبر.txt')."""
    from rag.uploads import UPLOAD_PREFIX

    if name:
        return name
    if source.startswith(UPLOAD_PREFIX):
        return source[len(UPLOAD_PREFIX):]
    return Path(source).name if "/" in source or "\\" in source else source


def dated_source(source: str, published: str | None, lang: str, name: str | None = None) -> str:
    """'outlet, 2016-11-18', or the outlet with 'date unknown' / 'تاريخ غير معروف' in the answer's language;
    the outlet is ``name`` when known, else the file name of ``source``."""
    return f"{outlet(source, name)}, {published or _UNKNOWN_DATE.get(lang, _UNKNOWN_DATE['en'])}"


def render_sources(answer: Answer) -> list[str]:
    """Numbered source lines: title, outlet and date, doc id and the quoted sentence(s); unsupported ones
    marked."""
    lines = []
    for c in answer.citations:
        flag = "" if c.supported else "  (not supported by this passage)"
        quote = "" if answer.mode == "extractive" else f"\n    «{c.quote}»"  # the answer already quotes it
        where = dated_source(c.source, c.published, answer.lang, c.outlet)
        # no brackets after the Latin run: an Arabic line ending in "…0-58)" shows its ")" at the far left
        lines.append(f"[{c.n}] {c.title} — {where} · {c.doc_id}, characters {c.start}-{c.end}{flag}{quote}")
    if answer.refused and answer.passages:
        lines.append("closest passages (they do not answer the question):")
        for h in answer.passages[:3]:
            where = dated_source(h.chunk.source, h.chunk.published, answer.lang, h.chunk.outlet)
            lines.append(f"  - {h.chunk.title} — {where} ({h.chunk.doc_id}): {h.chunk.text[:160]}…")
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
    since: str | None = typer.Option(None, "--since", metavar="DATE", help=SINCE_HELP),
    until: str | None = typer.Option(None, "--until", metavar="DATE", help=UNTIL_HELP),
) -> None:
    """Answer a question from the indexed articles, citing the article and sentence for each claim."""
    filters = date_filters(since, until, doc=doc)
    service = state(ctx).service(load_llm=not extractive)
    if as_json:
        print_json(service.ask(question, filters=filters, k=k, extractive=extractive).to_dict())
        return
    _stream_to_terminal(service.stream(question, filters=filters, k=k, extractive=extractive))
    from rag.timeline import is_timeline_question

    if is_timeline_question(question):  # "how did X develop": the dated events answer it better
        err(f'tip: for the dated events, oldest first: sanad timeline "{question}"')


@handle_errors(interrupted=INTERRUPTED_CHAT)
def chat(
    ctx: typer.Context,
    extractive: bool = typer.Option(False, "--extractive", help="Quote the articles; use no LLM."),
    k: int | None = typer.Option(None, "-k", "--top-k", min=1, max=50, help="Passages to use."),
    doc: list[str] | None = typer.Option(None, "--doc", help="Only search this document id (repeatable)."),
    since: str | None = typer.Option(None, "--since", metavar="DATE", help=SINCE_HELP),
    until: str | None = typer.Option(None, "--until", metavar="DATE", help=UNTIL_HELP),
) -> None:
    """Ask follow-up questions with history. An empty line, EOF or Ctrl-D ends the session."""
    filters = date_filters(since, until, doc=doc)
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
            final = _stream_to_terminal(service.stream(question, history=history, filters=filters, k=k,
                                                       extractive=extractive))
        except RagError as exc:  # one failed turn must not end the session
            err(f"error: {exc}")
            continue
        history.extend([Turn("user", question), Turn("assistant", final.answer)])
