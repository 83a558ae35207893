"""Near-miss unanswerable questions built from the dev suites: the question's article stays, the fact goes.

For a deterministic quarter of the answerable questions (by a hash of the id, never by content), every
sentence of the source article that contains one of the reference answers is deleted. The question then
becomes unanswerable while its entities are still in the corpus — the case retrieval confidence cannot
see. A question is kept as near-miss only when no reference answer is left anywhere in its article;
other questions of a changed article stay answerable only when their own answer is still there.

    from near_miss import build_split   # used by benchmarks/answerability.py
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.metrics import contains  # noqa: E402
from eval.suite import Question  # noqa: E402
from rag import arabic  # noqa: E402

SHARE = 4  # one question in SHARE becomes near-miss


def bucket(qid: str, salt: str, n: int) -> int:
    """A stable bucket for an id (the same in every run and on every machine)."""
    return int(hashlib.sha1(f"{salt}:{qid}".encode()).hexdigest()[:8], 16) % n


def is_fit(qid: str) -> bool:
    """Half of the questions fit constants, the other half reports (the same split for every suite)."""
    return bucket(qid, "split", 2) == 1


@dataclass
class Split:
    """The changed articles (doc id -> new text) and the questions over the changed corpus."""

    docs: dict[str, str]
    questions: list[Question]
    origin: dict[str, str]  # question id -> "answerable" | "near-miss" | "off-topic"


def _alternatives(q: Question) -> list[str]:
    return [alt for part in q.parts for alt in part]


def _gold_in(text: str, q: Question) -> bool:
    return all(any(contains(text, alt) for alt in part) for part in q.parts)


def remove_sentences(text: str, answers: Sequence[str]) -> str:
    """``text`` (title line, blank line, paragraphs) without the body sentences that contain an answer."""
    title, _, body = text.partition("\n\n")
    kept = []
    for paragraph in body.split("\n\n"):
        spans = arabic.sentence_spans(paragraph) or [(0, len(paragraph))]
        rest = [paragraph[a:b].strip() for a, b in spans if not any(contains(paragraph[a:b], x) for x in answers)]
        if rest := [r for r in rest if r]:
            kept.append(" ".join(rest))
    return title + "\n\n" + "\n\n".join(kept) + "\n"


def build_split(questions: Sequence[Question], read_doc: dict[str, str]) -> Split:
    """Near-miss questions and the corpus changes they need (see the module docstring)."""
    chosen = [q for q in questions if q.answerable and len(q.sources) == 1 and bucket(q.id, "near-miss", SHARE) == 0]
    removals: dict[str, list[str]] = {}
    for q in chosen:
        removals.setdefault(q.sources[0], []).extend(_alternatives(q))
    docs = {doc: remove_sentences(read_doc[doc], answers) for doc, answers in removals.items()}
    chosen_ids = {q.id for q in chosen}
    kept: list[Question] = []
    origin: dict[str, str] = {}
    for q in questions:
        if not q.answerable:
            kept.append(q)
            origin[q.id] = "off-topic"
            continue
        text = "\n".join(docs.get(s, read_doc[s]) for s in q.sources)
        if q.id in chosen_ids and not any(contains(text, alt) for alt in _alternatives(q)):
            kept.append(replace(q, type="unanswerable", answers=(), parts=(), sources=()))
            origin[q.id] = "near-miss"
        elif q.id not in chosen_ids and _gold_in(text, q):
            kept.append(q)
            origin[q.id] = "answerable"
    return Split(docs=docs, questions=kept, origin=origin)
