"""`sanad search`: ranked passages with their scores, without asking the LLM to write anything."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from typing import Any

import typer

from cli.common import handle_errors, print_json, state
from rag.types import SearchFilters, SearchResult

__all__ = ["register", "result_json", "render_result", "date_filters", "SINCE_HELP", "UNTIL_HELP"]

#: the hard date filter of search, ask and chat (undated articles never pass it)
SINCE_HELP = ("Only articles published on or after DATE: YYYY, YYYY-MM, YYYY-MM-DD or a full date like "
              "'18 نوفمبر 2016'. Undated articles are left out.")
UNTIL_HELP = "Only articles published on or before DATE (the whole month or year for YYYY-MM / YYYY)."


class Mode(str, Enum):
    hybrid = "hybrid"
    keyword = "keyword"
    dense = "dense"


def register(app: typer.Typer) -> None:
    app.command("search")(search)


def result_json(result: SearchResult) -> dict[str, Any]:
    """The ``--json`` shape: flat hits, character spans into the article text."""
    return {
        "query": result.query,
        "confidence": round(result.confidence, 4),
        "lang": result.lang,
        "keyword_query": result.keyword_query,
        "mode": result.mode,
        "hits": [
            {
                "rank": rank,
                "chunk_id": h.chunk.chunk_id,
                "doc_id": h.chunk.doc_id,
                "title": h.chunk.title,
                "source": h.chunk.source,
                "published": h.chunk.published,
                "outlet": h.chunk.outlet,
                "start": h.chunk.start,
                "end": h.chunk.end,
                "text": h.chunk.text,
                "score": h.score,
                "keyword_score": h.keyword_score,
                "dense_score": h.dense_score,
                "also": [asdict(m) for m in h.also],
            }
            for rank, h in enumerate(result.hits, start=1)
        ],
    }


def date_filters(since: str | None, until: str | None, *, doc: list[str] | None = None,
                 source: list[str] | None = None) -> SearchFilters | None:
    """The command line's filters; a bound that is not a date (or a range that ends before it starts) is an
    InvalidDateError here, before any model loads (CLI exit code 2)."""
    filters = SearchFilters(doc_ids=tuple(doc or ()), sources=tuple(source or ()), published_from=since or None,
                            published_to=until or None)
    return None if filters.empty else filters


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render_result(result: SearchResult, width: int = 240) -> list[str]:
    """Plain lines for the terminal: one header, then each passage with its scores and span."""
    lines = [f"confidence {result.confidence:.2f} · lang {result.lang} · mode {result.mode}"]
    if result.keyword_query and result.keyword_query != result.query:
        lines.append(f"keyword query: {result.keyword_query}")
    if not result.hits:
        lines.append("no passages found")
    for rank, h in enumerate(result.hits, start=1):
        c = h.chunk
        text = c.text if len(c.text) <= width else c.text[:width] + "…"
        lines.append(
            f"\n{rank}. {c.title} ({c.doc_id}) [{c.start}:{c.end}]"
            f"  score {h.score:.4f} · keyword {_fmt(h.keyword_score)} · dense {_fmt(h.dense_score)}"
        )
        lines.append(f"   {text}")
        if h.also and all(o.chunk.doc_id != c.doc_id for o in result.hits[: rank - 1]):  # once per article
            lines.append("   also reported by: " + "; ".join(f"{m.title} ({m.doc_id}, {m.outlet or m.source})" for m in h.also))
    return lines


@handle_errors
def search(
    ctx: typer.Context,
    question: str = typer.Argument(..., help="The question or keywords, in Arabic or English."),
    k: int | None = typer.Option(None, "-k", "--top-k", min=1, max=50, help="Passages to return."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    mode: Mode = typer.Option(Mode.hybrid, "--mode", help="hybrid, keyword (BM25 only) or dense (vectors only)."),
    doc: list[str] | None = typer.Option(None, "--doc", help="Only this document id (repeatable)."),
    source: list[str] | None = typer.Option(None, "--source", help="Only this source (repeatable)."),
    since: str | None = typer.Option(None, "--since", metavar="DATE", help=SINCE_HELP),
    until: str | None = typer.Option(None, "--until", metavar="DATE", help=UNTIL_HELP),
    date_from: str | None = typer.Option(None, "--from", hidden=True, help="Old name of --since."),
    date_to: str | None = typer.Option(None, "--to", hidden=True, help="Old name of --until."),
    all_copies: bool = typer.Option(False, "--all-copies", help="Every outlet's copy of a story, not one per story."),
) -> None:
    """Show the passages retrieval finds for a question, with fused, keyword and dense scores."""
    filters = date_filters(since or date_from, until or date_to, doc=doc, source=source)
    service = state(ctx).service(load_llm=True)
    result = service.search(question, k=k, filters=filters, mode=mode.value, collapse=not all_copies)
    if as_json:
        print_json(result_json(result))
        return
    typer.echo("\n".join(render_result(result)))
