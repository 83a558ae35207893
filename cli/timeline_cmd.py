"""`sanad timeline`: how a story developed across the articles, as dated and cited sentences, oldest first."""

from __future__ import annotations

import typer

from cli.ask_cmds import dated_source, outlet
from cli.common import err, handle_errors, print_json, state
from cli.search_cmd import SINCE_HELP, UNTIL_HELP, date_filters
from rag.types import Timeline, TimelineEvent

__all__ = ["register", "render_timeline"]

#: what the date column says for an undated event, and how its basis is shown, per language
_UNDATED = {"ar": "بلا تاريخ", "en": "undated"}
_BASIS = {"text": {"ar": "من النص", "en": "stated"}, "relative": {"ar": "محسوب من تاريخ المقال", "en": "resolved"},
          "published": {"ar": "تاريخ النشر", "en": "published"}}


def register(app: typer.Typer) -> None:
    app.command("timeline")(timeline)


def _lang(timeline: Timeline) -> str:
    from rag import arabic

    return arabic.detect_language(timeline.query)


def _event_lines(event: TimelineEvent, lang: str) -> list[str]:
    """'[n] DATE (basis: the words)  title — outlet, published (doc id)' and the quoted sentence."""
    c = event.citation
    when = event.date or _UNDATED[lang]
    how = _BASIS[event.date_basis][lang] if event.date_basis else ""
    words = f": {event.stated}" if event.stated and event.date_basis != "published" else ""
    detail = f" ({how}{words})" if how or words else ""
    also = f"; also reported by {', '.join(outlet(m.source, m.outlet) for m in c.also)}" if c.also else ""
    where = dated_source(c.source, c.published, lang, c.outlet)
    return [f"[{c.n}] {when}{detail}  {c.title} — {where} ({c.doc_id}{also})",
            f"    «{c.quote}»"]


def render_timeline(timeline: Timeline) -> list[str]:
    """Plain lines: the summary (when there is one), the dated events oldest first, then the undated ones."""
    lang = _lang(timeline)
    lines: list[str] = []
    if timeline.summary:
        lines += [timeline.summary, ""]
    if not timeline.events and not timeline.undated:
        lines.append("لا أحداث عن هذا الموضوع في المقالات." if lang == "ar" else "No events about this in the articles.")
    for event in timeline.events:
        lines += _event_lines(event, lang)
    if timeline.undated:
        lines += ["", "أحداث بلا تاريخ:" if lang == "ar" else "Undated events:"]
        for event in timeline.undated:
            lines += _event_lines(event, lang)
    return lines


@handle_errors
def timeline(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="The topic or question, e.g. 'كيف تطورت علاقة حفتر بروسيا؟'."),
    k: int | None = typer.Option(None, "-k", "--top-k", min=1, max=100,
                                 help="Passages to gather events from (default 30)."),
    since: str | None = typer.Option(None, "--since", metavar="DATE", help=SINCE_HELP),
    until: str | None = typer.Option(None, "--until", metavar="DATE", help=UNTIL_HELP),
    no_summary: bool = typer.Option(False, "--no-summary", help="Skip the LLM's summary (events only)."),
    as_json: bool = typer.Option(False, "--json", help="Print the timeline as JSON."),
) -> None:
    """Dated events about a topic across articles, oldest first, each a cited sentence with its article's
    outlet and date; events with no date stated or known are listed apart. With an LLM, a short cited
    summary on top."""
    filters = date_filters(since, until)
    service = state(ctx).service(load_llm=not no_summary)
    result = service.timeline(query, k=k, filters=filters, summarize=not no_summary)
    if as_json:
        print_json(result.to_dict())
        return
    typer.echo("\n".join(render_timeline(result)))
    for note in result.notes:
        err(f"note: {note}")
