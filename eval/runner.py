"""The eval runner: asks every suite question through the ``Sanad`` facade and writes one row per question.

Rows are appended and flushed as they finish, so an interrupted run resumes where it stopped (a partly
written last line is dropped). Scoring is separate (``eval.metrics``) so a finished run can be re-scored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from eval.judge import Judge
from eval.metrics import contains, score_row, spans_overlap
from eval.suite import Question, body_paragraphs, read_corpus_doc
from rag.errors import RagError
from rag.types import Answer, SearchResult

__all__ = ["EvalError", "RunConfig", "ParagraphLocator", "evaluate_question", "load_results", "run_suite"]

Mode = Literal["llm", "extractive", "retrieval"]
SEARCH_K = 10


class EvalError(RagError):
    """An eval run cannot start or continue (mismatched resume folder, no LLM for an LLM run...)."""

    code = "eval_error"


class _Service(Protocol):
    def search(self, query: str, *, k: int | None = None) -> SearchResult: ...
    def ask(self, question: str, *, extractive: bool = False) -> Answer: ...
    def article(self, doc_id: str) -> Any: ...


@dataclass(frozen=True)
class RunConfig:
    """What a run is; stored as ``run.json`` so a resume with other settings is refused."""

    suite: str
    mode: Mode = "extractive"
    corpus: str | None = None
    workers: int = 1
    judge: bool = False
    limit: int | None = None

    def key(self) -> dict[str, Any]:
        """The fields that must match for rows of two runs to be mixed."""
        return {"suite": self.suite, "mode": self.mode, "corpus": self.corpus, "judge": self.judge}


class ParagraphLocator:
    """Finds the character span of a gold paragraph inside the indexed article text.

    The gold paragraph is taken from the corpus file (first line title, blank-line separated body) and
    located in ``service.article(doc_id).text`` so chunk spans can be compared, whatever cleaning did."""

    def __init__(self, service: _Service, corpus: Path | Sequence[Path] | None) -> None:
        self.service = service
        self.corpus = corpus
        self._cache: dict[tuple[str, int], tuple[int, int] | None] = {}
        self._lock = threading.Lock()

    def span(self, doc_id: str, index: int) -> tuple[int, int] | None:
        with self._lock:
            if (doc_id, index) not in self._cache:
                self._cache[(doc_id, index)] = self._locate(doc_id, index)
            return self._cache[(doc_id, index)]

    def _locate(self, doc_id: str, index: int) -> tuple[int, int] | None:
        text = self.service.article(doc_id).text
        if self.corpus:
            paragraphs = body_paragraphs(read_corpus_doc(self.corpus, doc_id))
        else:
            paragraphs = body_paragraphs("\n" + text)
        if index >= len(paragraphs):
            return None
        paragraph = paragraphs[index]
        for probe in (paragraph, paragraph[:80]):
            pos = text.find(probe)
            if pos >= 0:
                return pos, pos + len(paragraph)
        return None


def _paragraph_hit(question: Question, result: SearchResult, locator: ParagraphLocator | None) -> float | None:
    """Any of the top 5 passages of the gold document overlaps the gold paragraph's span."""
    if question.paragraph is None or not question.sources or locator is None:
        return None
    doc = question.sources[0]
    gold = locator.span(doc, question.paragraph)
    for hit in result.hits[:5]:
        chunk = hit.chunk
        if chunk.doc_id != doc:
            continue
        if gold is not None and spans_overlap((chunk.start, chunk.end), gold):
            return 1.0
        if gold is None and chunk.paragraph <= question.paragraph <= max(chunk.paragraph, chunk.paragraph_end):
            return 1.0
    return 0.0


def _distinct_docs(result: SearchResult) -> list[str]:
    docs: list[str] = []
    for hit in result.hits:
        if hit.chunk.doc_id not in docs:
            docs.append(hit.chunk.doc_id)
    return docs


def _context_has_answer(question: Question, answer: Answer) -> bool | None:
    if not question.answerable:
        return None
    context = "\n".join(h.chunk.text for h in answer.passages)
    return all(any(contains(context, alt) for alt in part) for part in question.parts)


def _answer_fields(question: Question, answer: Answer, ask_ms: float) -> dict[str, Any]:
    cited: list[str] = []
    for citation in answer.citations:
        if citation.doc_id not in cited:
            cited.append(citation.doc_id)
    return {
        "answer": answer.answer,
        "refused": answer.refused,
        "citations": cited,
        "answer_mode": answer.mode,
        "context_has_answer": _context_has_answer(question, answer),
        "prompt_tokens": answer.usage.prompt_tokens if answer.mode == "llm" else None,
        "ask_ms": round(ask_ms, 2),
        "latency_ms": round(ask_ms, 2),
    }


def evaluate_question(service: _Service, question: Question, mode: Mode, *,
                      locator: ParagraphLocator | None = None, judge: Judge | None = None) -> dict[str, Any]:
    """One results row: retrieval at k=10, then (unless retrieval-only) the answer, then its scores."""
    start = time.perf_counter()
    result = service.search(question.question, k=SEARCH_K)
    search_ms = (time.perf_counter() - start) * 1000
    row: dict[str, Any] = {
        "id": question.id, "question": question.question, "type": question.type, "lang": question.lang,
        "answer": None, "refused": None, "citations": [], "retrieved": _distinct_docs(result),
        "context_has_answer": None, "confidence": round(result.confidence, 4),
        "search_ms": round(search_ms, 2), "latency_ms": round(search_ms, 2),
    }
    answer: Answer | None = None
    if mode != "retrieval":
        start = time.perf_counter()
        answer = service.ask(question.question, extractive=mode == "extractive")
        row.update(_answer_fields(question, answer, (time.perf_counter() - start) * 1000))
    scores = score_row(question, row, mode)
    paragraph_hit = _paragraph_hit(question, result, locator)
    if paragraph_hit is not None:
        scores["paragraph_hit@5"] = paragraph_hit
    row["scores"] = scores
    if judge is not None and answer is not None:
        reference = " / ".join(" ; ".join(part) for part in question.parts)
        row["judge"] = judge.grade(question.question, reference, answer.answer,
                                   [h.chunk.text for h in answer.passages])
    return row


def load_results(path: Path) -> dict[str, dict[str, Any]]:
    """Rows already written, by id. A partly written last line (an interrupted run) is cut off the file."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    rows: dict[str, dict[str, Any]] = {}
    good_end = 0
    for line in data.splitlines(keepends=True):
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            break
        if not line.endswith(b"\n"):
            break
        rows[row["id"]] = row
        good_end += len(line)
    if good_end < len(data):
        with path.open("r+b") as handle:
            handle.truncate(good_end)
    return rows


def _check_resume(out: Path, config: RunConfig) -> None:
    meta = out / "run.json"
    if meta.exists():
        old = json.loads(meta.read_text(encoding="utf-8"))
        if old.get("key") != config.key():
            raise EvalError(f"{out} holds a run with other settings ({old.get('key')})",
                            hint="use another --out folder, or delete it to start over")
    meta.write_text(json.dumps({"key": config.key(), "config": asdict(config)}, ensure_ascii=False, indent=2),
                    encoding="utf-8")


def run_suite(service: _Service, questions: Sequence[Question], config: RunConfig, out: Path, *,
              locator: ParagraphLocator | None = None, judge: Judge | None = None,
              progress: bool = False) -> list[dict[str, Any]]:
    """Evaluate every question not already in ``out/results.jsonl``; return all rows in suite order."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    _check_resume(out, config)
    path = out / "results.jsonl"
    done = load_results(path)
    todo = [q for q in questions if q.id not in done]
    lock = threading.Lock()
    bar = tqdm(total=len(questions), initial=len(questions) - len(todo), desc="eval", unit="q",
               disable=not progress, dynamic_ncols=True)
    with bar, path.open("a", encoding="utf-8") as handle:
        def record(row: dict[str, Any]) -> None:
            with lock:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                handle.flush()
                done[row["id"]] = row
                bar.update(1)

        def work(q: Question) -> dict[str, Any]:
            return evaluate_question(service, q, config.mode, locator=locator, judge=judge)

        if config.workers <= 1:
            for question in todo:
                record(work(question))
        else:
            _run_pool(work, todo, config.workers, record)
    return [done[q.id] for q in questions if q.id in done]


def _run_pool(work: Callable[[Question], dict[str, Any]], todo: Sequence[Question], workers: int,
              record: Callable[[dict[str, Any]], None]) -> None:
    """Thread pool; on the first error (or Ctrl-C) pending questions are cancelled, finished rows kept."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(work, q) for q in todo]
        for future in as_completed(futures):
            record(future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
