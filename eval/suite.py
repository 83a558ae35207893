"""Eval suites: load and validate the JSON Lines format of docs/eval.md, and check evidence against a corpus.

Validation is strict on purpose: a typo in a suite silently scores as a wrong answer otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import RagError

__all__ = [
    "QUESTION_TYPES",
    "Question",
    "SuiteError",
    "load_suite",
    "parse_question",
    "read_corpus_doc",
    "corpus_file",
    "missing_sources",
    "body_paragraphs",
    "check_evidence",
]

QUESTION_TYPES = ("single", "multi", "variant", "crosslingual", "unanswerable")
_LANGS = ("ar", "en")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u00a0]*\n")


class SuiteError(RagError):
    """An eval suite (or the corpus it points at) is malformed."""

    code = "eval_suite_error"
    http_status = 422


@dataclass(frozen=True)
class Question:
    """One suite line. ``parts`` is the normalised form of answers/answers_all: a list of required parts,
    each a tuple of alternatives (a plain ``answers`` list is one part)."""

    id: str
    lang: str
    type: str
    question: str
    answers: tuple[str, ...]
    parts: tuple[tuple[str, ...], ...]
    sources: tuple[str, ...]
    paragraph: int | None = None
    evidence: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


def _strings(value: Any, field: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SuiteError(f"{where}: `{field}` must be a list of non-empty strings", hint="see docs/eval.md")
    return tuple(value)


def parse_question(data: Any, where: str = "question") -> Question:
    """Validate one decoded line and turn it into a ``Question``."""
    if not isinstance(data, dict):
        raise SuiteError(f"{where}: not a JSON object", hint="one JSON object per line")
    for key in ("id", "lang", "type", "question"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise SuiteError(f"{where}: missing or empty `{key}`", hint="see docs/eval.md for the fields")
    if data["lang"] not in _LANGS:
        raise SuiteError(f"{where}: lang {data['lang']!r} is not one of {_LANGS}", hint="use 'ar' or 'en'")
    if data["type"] not in QUESTION_TYPES:
        raise SuiteError(f"{where}: type {data['type']!r} is unknown", hint=f"use one of {', '.join(QUESTION_TYPES)}")
    answers = _strings(data.get("answers", []), "answers", where)
    sources = _strings(data.get("sources", []), "sources", where)
    parts = _parts(data, answers, where)
    answerable = data["type"] != "unanswerable"
    if answerable and not (parts and sources):
        raise SuiteError(f"{where}: an answerable question needs answers and sources", hint="fill both lists")
    if not answerable and (answers or sources or data.get("answers_all")):
        raise SuiteError(f"{where}: an unanswerable question has no answers or sources", hint="empty both lists")
    paragraph = data.get("paragraph")
    if paragraph is not None and (not isinstance(paragraph, int) or isinstance(paragraph, bool) or paragraph < 0):
        raise SuiteError(f"{where}: `paragraph` must be a non-negative integer or null", hint="0-based index")
    evidence = _strings(data.get("evidence", []), "evidence", where)
    return Question(id=data["id"], lang=data["lang"], type=data["type"], question=data["question"].strip(),
                    answers=answers, parts=parts, sources=sources, paragraph=paragraph, evidence=evidence)


def _parts(data: dict[str, Any], answers: tuple[str, ...], where: str) -> tuple[tuple[str, ...], ...]:
    raw = data.get("answers_all")
    if raw is None:
        return (answers,) if answers else ()
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{where}: `answers_all` must be a non-empty list of lists", hint="see docs/eval.md")
    return tuple(_strings(part, "answers_all", where) for part in raw)


def load_suite(path: str | Path, *, limit: int | None = None) -> list[Question]:
    """Read a suite; blank lines are skipped, duplicate ids and bad lines are errors naming the line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SuiteError(f"cannot read suite {path}: {exc.strerror or exc}", hint="pass an existing .jsonl file") from exc
    except UnicodeDecodeError as exc:
        raise SuiteError(f"suite {path} is not UTF-8", hint="save it as UTF-8") from exc
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{where}: invalid JSON ({exc.msg})", hint="one JSON object per line") from exc
        question = parse_question(data, where)
        if question.id in seen:
            raise SuiteError(f"{where}: duplicate id {question.id!r}", hint="ids must be unique in a suite")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise SuiteError(f"suite {path} has no questions", hint="add JSON lines")
    return questions[:limit] if limit else questions


def corpus_file(corpora: Path | Sequence[Path], doc_id: str) -> Path | None:
    """``<folder>/<doc_id>.txt`` in the first corpus folder that holds it, or None."""
    folders = [Path(corpora)] if isinstance(corpora, str | Path) else [Path(c) for c in corpora]
    return next((f / f"{doc_id}.txt" for f in folders if (f / f"{doc_id}.txt").is_file()), None)


def missing_sources(questions: Sequence[Question], present: Callable[[str], bool]) -> list[str]:
    """The suite's source ids (sorted, once each) for which ``present`` is false."""
    return sorted({doc for q in questions for doc in q.sources if not present(doc)})


def read_corpus_doc(corpus: Path | Sequence[Path], doc_id: str) -> str:
    """The raw text of ``<corpus>/<doc_id>.txt`` (the corpus format of docs/eval.md), from any of the folders."""
    path = corpus_file(corpus, doc_id) or Path(corpus if isinstance(corpus, str | Path) else corpus[0]) / f"{doc_id}.txt"
    try:
        return path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except OSError as exc:
        raise SuiteError(f"source {doc_id!r} not found in {corpus}", hint="sources are file names without .txt") from exc


def body_paragraphs(raw: str) -> list[str]:
    """Body paragraphs of a corpus file: the first line is the title, paragraphs are blank-line separated."""
    body = raw.split("\n", 1)[1] if "\n" in raw else ""
    return [p.strip() for p in _PARAGRAPH_BREAK.split(body) if p.strip()]


def check_evidence(questions: list[Question], corpus: Path) -> list[str]:
    """Problems that make a suite untrustworthy: evidence not verbatim in a source, an answer found in
    neither its evidence nor its sources, a paragraph index past the end. Empty list = clean."""
    problems: list[str] = []
    for q in questions:
        texts = {doc: read_corpus_doc(corpus, doc) for doc in q.sources}
        for ev in q.evidence:
            if not any(ev in text for text in texts.values()):
                problems.append(f"{q.id}: evidence not verbatim in {', '.join(q.sources)}: {ev[:60]!r}")
        haystack = q.evidence or tuple(texts.values())
        for part in q.parts:
            if not any(alt in h for alt in part for h in haystack):
                problems.append(f"{q.id}: no answer of {list(part)} occurs in its evidence/sources")
        if q.paragraph is not None and q.sources:
            paragraphs = body_paragraphs(texts[q.sources[0]])
            if q.paragraph >= len(paragraphs):
                problems.append(f"{q.id}: paragraph {q.paragraph} but {q.sources[0]} has {len(paragraphs)}")
            elif q.evidence and not any(ev in paragraphs[q.paragraph] for ev in q.evidence):
                problems.append(f"{q.id}: no evidence string lies in paragraph {q.paragraph}")
    return problems
