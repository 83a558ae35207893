"""One `sanad eval` invocation end to end: corpus collection (cached by content hash), run, score, report.

The corpus (one or several folders) goes into its own collection named from its content hash and the embedding
settings, in its own embedded Chroma under ``<data_dir>/eval`` (never the user's index or Chroma server), so
evaluating touches nothing the user searches and re-running costs no embedding. ``rm -r <data_dir>/eval`` frees it.
A corpus (or, with --use-index, an index) lacking some of the suite's sources is refused with their names: those
questions could only score as misses.
"""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from eval.compare import Comparison, compare_runs, failures
from eval.judge import Judge
from eval.metrics import summarize
from eval.report import write_reports, write_summary
from eval.runner import EvalError, Mode, ParagraphLocator, RunConfig, run_suite
from eval.suite import Question, corpus_file, load_suite, missing_sources
from rag.settings import Settings

__all__ = ["corpus_hash", "corpora_hash", "corpus_folders", "eval_collection", "eval_settings", "open_service",
           "EvalOutcome", "run_eval"]

Corpus = Path | Sequence[Path] | None

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


def corpus_folders(corpus: Corpus) -> tuple[Path, ...]:
    """One or several --corpus folders as a tuple, each once (a folder given twice is the same corpus)."""
    if corpus is None:
        return ()
    folders = [Path(corpus)] if isinstance(corpus, str | Path) else [Path(c) for c in corpus]
    unique: dict[Path, Path] = {}
    for folder in folders:
        unique.setdefault(folder.resolve(), folder)
    return tuple(unique.values())


def corpora_hash(folders: Sequence[Path]) -> str:
    """One folder: its ``corpus_hash`` (so existing caches stay valid); several: a hash of their hashes, sorted."""
    hashes = sorted(corpus_hash(folder) for folder in folders)
    return hashes[0] if len(hashes) == 1 else hashlib.sha256("|".join(hashes).encode("ascii")).hexdigest()


def eval_collection(settings: Settings, content_hash: str) -> str:
    """``eval_<hash12>`` from the corpus hash + what decides the vectors (model, prefixes, chunking)."""
    key = "|".join([content_hash, settings.embed_model, settings.passage_prefix, str(settings.chunk_size),
                    str(settings.chunk_overlap)])
    return "eval_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def eval_settings(settings: Settings, content_hash: str) -> Settings:
    """Settings for the corpus collection: embedded Chroma in ``<data_dir>/eval``, sharing the built model folder."""
    data_dir = Path(settings.data_dir) / "eval"
    data_dir.mkdir(parents=True, exist_ok=True)
    models, shared = data_dir / "models", Path(settings.data_dir) / "models"
    if not models.exists() and not models.is_symlink():
        shared.mkdir(parents=True, exist_ok=True)
        models.symlink_to(shared.resolve(), target_is_directory=True)  # the offline e5 weights are built once
    return settings.model_copy(update={"collection": eval_collection(settings, content_hash), "data_dir": data_dir,
                                       "chroma_host": None})


Builder = Callable[..., Any]


def _default_builder(settings: Settings, **kwargs: Any) -> Any:
    from rag.wiring import build_service

    return build_service(settings, **kwargs)


def _refuse_missing(missing: list[str], where: str, total: int) -> None:
    if not missing:
        return
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    raise EvalError(f"{where} lacks {len(missing)} of the suite's {total} source articles: {shown}",
                    hint="pass the suite's corpus folder(s) with --corpus (repeatable); sources are file names "
                         "without .txt (docs/eval.md)")


def open_service(settings: Settings, corpus: Corpus, *, use_index: bool, load_llm: bool,
                 build: Builder = _default_builder, questions: Sequence[Question] = ()) -> tuple[Any, dict[str, Any]]:
    """The service to evaluate and a description of its corpus. With ``use_index`` the configured
    collection is used as is; otherwise the corpus folders are ingested (incrementally) into their own collection.
    Every source of ``questions`` must be in the corpus folders (or the index): otherwise ``EvalError``."""
    folders = corpus_folders(corpus)
    info: dict[str, Any] = {"path": ", ".join(map(str, folders)) or None, "hash": None}
    total = len({doc for q in questions for doc in q.sources})
    if folders:
        info["hash"] = corpora_hash(folders)
        where = f"corpus {info['path']}"
        _refuse_missing(missing_sources(questions, lambda doc: corpus_file(folders, doc) is not None), where, total)
    if use_index:
        info["collection"] = settings.collection
        service = build(settings, load_llm=load_llm)
        indexed = {d.doc_id for d in service.documents()}
        _refuse_missing(missing_sources(questions, indexed.__contains__), f"index {settings.collection!r}", total)
        return service, info
    if not folders:
        raise EvalError("no corpus given", hint="pass --corpus DIR, or --use-index to evaluate the current index")
    own = eval_settings(settings, info["hash"])
    service = build(own, load_llm=load_llm)
    report = service.ingest(list(folders))
    info.update(collection=own.collection, data_dir=str(own.data_dir), ingest=report.to_dict(),
                documents=len(service.documents()))
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


def run_eval(settings: Settings, suite: Path, out: Path, *, corpus: Corpus = None, mode: Mode = "extractive",
             use_index: bool = False, workers: int = 1, judge: bool = False, limit: int | None = None,
             compare: Path | None = None, thresholds: dict[str, float] | None = None,
             build: Builder = _default_builder, progress: bool = False) -> EvalOutcome:
    """Load the suite, prepare the service, run the questions not done yet, then score and report all."""
    questions = load_suite(suite, limit=limit)
    folders = corpus_folders(corpus)
    config = RunConfig(suite=str(suite), mode=mode, corpus=", ".join(map(str, folders)) or None, workers=workers,
                       judge=judge, limit=limit)
    started = time.time()
    service, corpus_info = open_service(settings, folders, use_index=use_index, load_llm=mode == "llm" or judge,
                                        build=build, questions=questions)
    _check_llm(service, mode, judge)
    grader = Judge(service.llm, _prompts(settings)) if judge else None
    rows = run_suite(service, questions, config, out, locator=ParagraphLocator(service, folders), judge=grader,
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

