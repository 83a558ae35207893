"""Index commands: `sanad ingest`, `docs`, `remove`, `status`, `reset`.

Progress and per-file problems go to stderr so stdout stays a clean summary (or JSON with ``--json``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import typer

from cli.common import err, handle_errors, print_json, state

__all__ = ["register", "summary_line"]


class _Bar:
    """A tqdm bar over files with chunks and chunks/s as postfix (or the vectors being added to an index
    built keyword-only, announced in one line); silent otherwise when stderr is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=0, unit="file", file=sys.stderr, disable=not enabled, dynamic_ncols=True,
                         desc="ingest")
        self._started = time.perf_counter()
        self._chunks = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "files":
            self._bar.total = total
            self._bar.n = done
        elif stage == "chunks":
            self._chunks = done
            rate = done / max(time.perf_counter() - self._started, 1e-9)
            self._bar.set_postfix_str(f"{done}/{total} chunks, {rate:.1f} chunks/s", refresh=False)
        elif stage == "vectors":  # an index built keyword-only: its stored chunks get vectors first
            if done == 0 and total:  # said even without a terminal: this can take a while
                self._bar.write(f"info: the index was built without vectors; adding them to {total} stored chunks",
                                file=sys.stderr)
            rate = done / max(time.perf_counter() - self._started, 1e-9)
            self._bar.set_postfix_str(f"adding vectors: {done}/{total} stored chunks, {rate:.1f}/s", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def summary_line(report: Any) -> str:
    """'added 5 · updated 0 · unchanged 0 · removed 0 · embedded 42 chunks (18.3/s)'."""
    rate = report.chunks_embedded / report.seconds if report.seconds > 0 else 0.0
    return (f"added {len(report.added)} · updated {len(report.updated)} · unchanged {len(report.unchanged)}"
            f" · removed {len(report.removed)} · embedded {report.chunks_embedded} chunks ({rate:.1f}/s)")


@handle_errors
def ingest(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Files or folders of articles (.txt .md .html .pdf .jsonl)."),
    prune: bool = typer.Option(False, "--prune", help="Remove indexed articles from these folders/files that are gone."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    published: str | None = typer.Option(
        None, "--published", metavar="DATE",
        help="Publication date of every article of this run (YYYY, YYYY-MM, YYYY-MM-DD or '18 نوفمبر 2016'); "
             "beats the dates the files hold."),
) -> None:
    """Index articles; unchanged ones cost nothing, changed ones are re-indexed, broken files are skipped."""
    if published is not None:
        from rag.ingestion.published import explicit_date

        explicit_date(published, "cli")  # a bad date is refused before the model loads
    service = state(ctx).service(load_llm=False)
    bar = _Bar(enabled=sys.stderr.isatty())
    try:
        report = service.ingest(paths, prune=prune, progress=bar, published=published)
    finally:
        bar.close()
    for failure in report.failed:
        err(f"skipped {failure.path}: {failure.error}")
    if as_json:
        print_json(report.to_dict())
    else:
        typer.echo(summary_line(report))
    if report.failed:
        raise typer.Exit(code=1)


@handle_errors
def docs(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """List indexed articles (newest first)."""
    infos = state(ctx).service(load_llm=False, load_model=False).documents()
    if as_json:
        print_json([d.to_dict() for d in infos])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "title", "outlet", "chunks", "date", "same story as", title=f"{len(infos)} articles")
    for d in infos:  # "outlet": as the metadata states it, blank when unknown; "same story as": the cluster's
        # representative
        table.add_row(d.doc_id, d.title, d.outlet or "", str(d.chunks), d.published or "",
                      "" if d.cluster in (None, d.doc_id) else d.cluster)
    Console().print(table)


@handle_errors
def remove(ctx: typer.Context, doc_id: str = typer.Argument(..., help="Article id (see `sanad docs`).")) -> None:
    """Remove one article from the index."""
    state(ctx).service(load_llm=False, load_model=False).remove(doc_id)
    typer.echo(f"removed {doc_id}")


@handle_errors
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Index size, embedding model and mode, where Chroma lives, whether Ollama answers."""
    health = state(ctx).service().health()
    if as_json:
        print_json(health.to_dict())
        return
    ollama = health.ollama_status + (f" ({health.ollama_detail})" if health.ollama_detail else "")
    lines = [
        f"documents:  {health.documents} ({health.chunks} chunks)",
        f"embedding:  {health.embed_model} [{health.embed_mode}]",
        f"chroma:     {health.chroma_mode} at {health.chroma_location}",
        f"ollama:     {health.ollama_model} at {health.ollama_host}: {ollama}",
    ]
    # the embedder's failure line was already printed to stderr when the service was built
    typer.echo("\n".join(lines))


@handle_errors
def reset(ctx: typer.Context, yes: bool = typer.Option(False, "--yes", help="Really delete the whole index.")) -> None:
    """Delete the collection (chunks, articles, signature) and the keyword index."""
    if not yes:
        err("error: this deletes the whole index (add --yes to confirm)")
        raise typer.Exit(code=2)
    settings = state(ctx).settings
    state(ctx).service(load_llm=False, load_model=False).ingestor.reset()
    typer.echo(f"reset collection {settings.collection!r}")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("docs")(docs)
    app.command("remove")(remove)
    app.command("status")(status)
    app.command("reset")(reset)
