"""`sanad eval`: score a suite against reference answers; exit code 3 when a --fail-under gate fails."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import INTERRUPTED_EVAL, err, handle_errors, state

__all__ = ["register", "FAIL_UNDER_EXIT"]

FAIL_UNDER_EXIT = 3
_SHOWN = ("retrieval.doc_hit@1", "retrieval.doc_hit@5", "retrieval.mrr@10", "retrieval.paragraph_hit@5",
          "context.answer_recall", "answer.em", "answer.f1", "answer.contains", "answer.correct",
          "citation.precision", "citation.recall", "abstention.precision", "abstention.recall",
          "latency_ms.p50", "latency_ms.p95", "prompt_tokens.mean")


@handle_errors(interrupted=INTERRUPTED_EVAL)
def eval_command(
    ctx: typer.Context,
    suite: Path = typer.Argument(..., help="Suite file (.jsonl); format in docs/eval.md."),
    corpus: list[Path] = typer.Option([], "--corpus", help="Folder of the suite's articles (.txt); repeat it for a "
                                                          "suite whose sources span several folders."),
    use_index: bool = typer.Option(False, "--use-index", help="Evaluate the current index instead of ingesting --corpus."),
    extractive: bool = typer.Option(False, "--extractive", help="No LLM: score extractive answers."),
    retrieval_only: bool = typer.Option(False, "--retrieval-only", help="Score retrieval only (no answers)."),
    out: Path = typer.Option(Path("eval-out"), "--out", help="Output folder; re-running resumes it."),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Questions evaluated in parallel."),
    compare: Path | None = typer.Option(None, "--compare", help="A previous run's --out folder to compare with."),
    fail_under: list[str] = typer.Option([], "--fail-under", help="metric=value; exit 3 when below (repeatable)."),
    judge: bool = typer.Option(False, "--judge", help="Grade answers with the LLM judge (prompts/judge.j2)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
) -> None:
    """Ask every suite question, score it, and write results.jsonl, summary.json, report.md and report.html."""
    from eval.compare import parse_thresholds
    from eval.report import comparison_lines, format_metric
    from eval.session import run_eval

    if extractive and retrieval_only:
        err("error: choose one of --extractive and --retrieval-only")
        raise typer.Exit(code=2)
    mode = "retrieval" if retrieval_only else "extractive" if extractive else "llm"
    thresholds = parse_thresholds(fail_under)
    outcome = run_eval(state(ctx).settings, suite, out, corpus=corpus or None, mode=mode, use_index=use_index,  # type: ignore[arg-type]
                       workers=workers, judge=judge, limit=limit, compare=compare, thresholds=thresholds,
                       progress=True)
    metrics = outcome.summary["metrics"]
    typer.echo(f"{len(outcome.rows)} questions · mode {mode} · {outcome.out}")
    for key in _SHOWN + (("judge.faithfulness", "judge.correctness") if judge else ()):
        typer.echo(f"  {key:28} {format_metric(metrics.get(key), key)}")
    if outcome.comparison is not None:
        typer.echo("\n".join(comparison_lines(outcome.comparison)))
    typer.echo(f"report: {outcome.out / 'report.html'}")
    if outcome.failed:
        err("fail-under: " + "; ".join(outcome.failed))
        raise typer.Exit(code=FAIL_UNDER_EXIT)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
