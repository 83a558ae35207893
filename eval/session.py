"""One `sanad eval` invocation end to end: corpus collection (cached by content hash), run, score, report.

The corpus goes into its own collection named from its content hash and the embedding settings, under
the configured data dir, so evaluating never touches the user's index and re-running costs no embedding.
"""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from eval.compare import Comparison, compare_runs, failures
from eval.judge import Judge
from eval.metrics import summarize
from eval.report import write_reports, write_summary
from eval.runner import EvalError, Mode, ParagraphLocator, RunConfig, run_suite
from eval.suite import load_suite
from rag.settings import Settings

__all__ = ["corpus_hash", "eval_collection", "open_service", "EvalOutcome", "run_eval"]

_PACKAGES = ("sanad", "llama-index-core", "chromadb", "sentence-transformers", "scipy", "ollama", "torch")


def corpus_hash(corpus: Path) -> str:
    """SHA-256 over the relative paths and bytes of every file in the corpus folder, in sorted order."""
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise EvalError(f"corpus folder not found: {corpus}", hint="pass --corpus DIR with the suite's articles")
    digest = hashlib.sha256()
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise EvalError(f"corpus folder {corpus} is empty", hint="put the suite's .txt articles in it")
    for path in files:
        digest.update(path.relative_to(corpus).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def eval_collection(settings: Settings, content_hash: str) -> str:
    """``eval_<hash12>`` from the corpus hash + what decides the vectors (model, prefixes, chunking)."""
    key = "|".join([content_hash, settings.embed_model, settings.passage_prefix, str(settings.chunk_size),
                    str(settings.chunk_overlap)])
    return "eval_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


Builder = Callable[..., Any]


def _default_builder(settings: Settings, **kwargs: Any) -> Any:
    from rag.wiring import build_service

    return build_service(settings, **kwargs)


def open_service(settings: Settings, corpus: Path | None, *, use_index: bool, load_llm: bool,
                 build: Builder = _default_builder) -> tuple[Any, dict[str, Any]]:
    """The service to evaluate and a description of its corpus. With ``use_index`` the configured
    collection is used as is; otherwise the corpus is ingested (incrementally) into its own collection."""
    info: dict[str, Any] = {"path": str(corpus) if corpus else None, "hash": None}
    if corpus is not None:
        info["hash"] = corpus_hash(corpus)
    if use_index:
        info["collection"] = settings.collection
        return build(settings, load_llm=load_llm), info
    if corpus is None:
        raise EvalError("no corpus given", hint="pass --corpus DIR, or --use-index to evaluate the current index")
    eval_settings = settings.model_copy(update={"collection": eval_collection(settings, info["hash"])})
    service = build(eval_settings, load_llm=load_llm)
    report = service.ingest([corpus])
    info.update(collection=eval_settings.collection, ingest=report.to_dict(), documents=len(service.documents()))
    return service, info


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class EvalOutcome:
    out: Path
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    comparison: Comparison | None = None
    failed: list[str] = field(default_factory=list)


def _check_llm(service: Any, mode: Mode, judge: bool) -> None:
    """An LLM run against an unreachable Ollama would silently score extractive fallbacks: refuse early."""
    if mode != "llm" and not judge:
        return
    health = service.health()
    if health.ollama_status != "ok":
        raise EvalError(f"Ollama is {health.ollama_status} at {health.ollama_host} ({health.ollama_detail or ''})",
                        hint="start Ollama and pull the model, or run with --extractive / --retrieval-only")


def run_eval(settings: Settings, suite: Path, out: Path, *, corpus: Path | None = None, mode: Mode = "extractive",
             use_index: bool = False, workers: int = 1, judge: bool = False, limit: int | None = None,
             compare: Path | None = None, thresholds: dict[str, float] | None = None,
             build: Builder = _default_builder, progress: bool = False) -> EvalOutcome:
    """Load the suite, prepare the service, run the questions not done yet, then score and report all."""
    questions = load_suite(suite, limit=limit)
    config = RunConfig(suite=str(suite), mode=mode, corpus=str(corpus) if corpus else None, workers=workers,
                       judge=judge, limit=limit)
    started = time.time()
    service, corpus_info = open_service(settings, corpus, use_index=use_index, load_llm=mode == "llm" or judge,
                                        build=build)
    _check_llm(service, mode, judge)
    grader = Judge(service.llm, _prompts(settings)) if judge else None
    rows = run_suite(service, questions, config, out, locator=ParagraphLocator(service, corpus), judge=grader,
                     progress=progress)
    by_id = {q.id: q for q in questions}
    summary = summarize([(by_id[r["id"]], r) for r in rows], mode)
    summary.update(
        config=asdict(config), corpus=corpus_info, versions=_versions(),
        models={"embed": service.embed_model, "llm": service.ollama_model if mode == "llm" or judge else None,
                "embed_error": service.embed_error},
        seconds=round(time.time() - started, 2), created=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    comparison = compare_runs(compare, summary["metrics"], rows) if compare else None
    if comparison is not None:
        summary["compare"] = comparison.to_dict()
    write_summary(out, summary)
    write_reports(out, summary, rows, comparison)
    return EvalOutcome(out=out, summary=summary, rows=rows, comparison=comparison,
                       failed=failures(summary["metrics"], thresholds or {}))


def _prompts(settings: Settings) -> Any:
    from rag.prompts import PromptLibrary

    return PromptLibrary(settings.prompts_dir)

