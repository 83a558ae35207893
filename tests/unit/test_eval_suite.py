"""Suite loading/validation, and the shipped seeds suite checked against the five sample articles."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.suite import SuiteError, body_paragraphs, check_evidence, load_suite, read_corpus_doc
from rag.arabic import STOPWORDS, split_sentences, tokenize

ROOT = Path(__file__).resolve().parents[2]
SEEDS_SUITE = ROOT / "eval" / "suites" / "seeds.jsonl"
ARTICLES = ROOT / "data" / "articles"


def test_seeds_suite_covers_every_question_kind() -> None:
    questions = load_suite(SEEDS_SUITE)
    kinds = Counter(q.type for q in questions)
    assert len(questions) >= 30
    assert set(kinds) == {"single", "multi", "variant", "crosslingual", "unanswerable"}
    assert min(kinds.values()) >= 5
    assert all(q.lang == "en" for q in questions if q.type == "crosslingual")
    assert all(len(q.sources) >= 2 and len(q.parts) >= 2 for q in questions if q.type == "multi")
    doc_ids = {p.stem for p in ARTICLES.glob("*.txt")}
    assert {s for q in questions for s in q.sources} == doc_ids  # every article is asked about


def test_seeds_evidence_is_verbatim_and_every_answer_is_in_its_source() -> None:
    questions = load_suite(SEEDS_SUITE)
    assert check_evidence(questions, ARTICLES) == []
    for q in questions:
        if not q.answerable:
            assert not q.evidence
            continue
        assert q.evidence, q.id
        sources = [read_corpus_doc(ARTICLES, doc) for doc in q.sources]
        for part in q.parts:
            assert any(alt in text for alt in part for text in sources), (q.id, part)


def test_seeds_variant_questions_really_spell_differently() -> None:
    """A variant question must contain a word that is absent verbatim from its sources."""
    for q in load_suite(SEEDS_SUITE):
        if q.type != "variant":
            continue
        text = " ".join(read_corpus_doc(ARTICLES, doc) for doc in q.sources)
        words = [w.strip("؟?،,") for w in q.question.split()]
        assert any(w not in text and len(w) > 3 for w in words), q.id


def test_seeds_unanswerables_are_not_answered_by_any_single_sentence() -> None:
    """No sentence of the corpus holds every content word of an unanswerable question (normalised, stopwords
    out): such a sentence would likely answer it, and the 'right' refusal would be a retrieval miss."""
    sentences = [set(tokenize(s)) for p in ARTICLES.glob("*.txt") for s in split_sentences(p.read_text("utf-8"))]
    unanswerable = [q for q in load_suite(SEEDS_SUITE) if not q.answerable]
    assert len(unanswerable) >= 5
    for q in unanswerable:
        words = {t for t in tokenize(q.question) if t not in STOPWORDS}
        assert words and not any(words <= sentence for sentence in sentences), q.id


def _write(tmp_path: Path, rows: list[object]) -> Path:
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    return path


GOOD = {"id": "a", "lang": "ar", "type": "single", "question": "س؟", "answers": ["ج"], "sources": ["d"]}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**GOOD, "type": "odd"}, "type 'odd' is unknown"),
        ({**GOOD, "lang": "fr"}, "lang 'fr'"),
        ({**GOOD, "sources": []}, "needs answers and sources"),
        ({**GOOD, "type": "unanswerable"}, "has no answers or sources"),
        ({**GOOD, "answers": "ج"}, "`answers` must be a list"),
        ({**GOOD, "paragraph": -1}, "`paragraph`"),
        ({**GOOD, "answers_all": []}, "`answers_all`"),
        ({k: v for k, v in GOOD.items() if k != "question"}, "missing or empty `question`"),
        ("{not json", "invalid JSON"),
    ],
)
def test_bad_lines_are_rejected_with_the_line_number(tmp_path: Path, row: object, message: str) -> None:
    path = _write(tmp_path, [GOOD | {"id": "first"}, row])
    with pytest.raises(SuiteError, match=message) as info:
        load_suite(path)
    assert "suite.jsonl:2" in str(info.value)


def test_duplicates_empty_files_and_missing_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="duplicate id"):
        load_suite(_write(tmp_path, [GOOD, GOOD]))
    with pytest.raises(SuiteError, match="no questions"):
        load_suite(_write(tmp_path, ["", "  "]))
    with pytest.raises(SuiteError, match="cannot read"):
        load_suite(tmp_path / "missing.jsonl")


def test_answers_all_becomes_required_parts_and_limit_cuts(tmp_path: Path) -> None:
    multi = {**GOOD, "id": "m", "type": "multi", "answers_all": [["أ", "ب"], ["ج"]], "extra": "ignored"}
    questions = load_suite(_write(tmp_path, [GOOD, multi]))
    assert questions[0].parts == (("ج",),)
    assert questions[1].parts == (("أ", "ب"), ("ج",))
    assert len(load_suite(_write(tmp_path, [GOOD, multi]), limit=1)) == 1


def test_check_evidence_reports_invented_evidence_and_bad_paragraphs(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "d.txt").write_text("العنوان\n\nالفقرة الأولى فيها جواب.\n\nالفقرة الثانية.\n", encoding="utf-8")
    assert body_paragraphs(read_corpus_doc(corpus, "d")) == ["الفقرة الأولى فيها جواب.", "الفقرة الثانية."]
    rows = [
        {**GOOD, "id": "ok", "answers": ["جواب"], "evidence": ["فيها جواب"], "paragraph": 0},
        {**GOOD, "id": "invented", "answers": ["جواب"], "evidence": ["ليست في المقال"]},
        {**GOOD, "id": "wrong-par", "answers": ["جواب"], "evidence": ["فيها جواب"], "paragraph": 1},
        {**GOOD, "id": "far-par", "answers": ["جواب"], "paragraph": 5},
        {**GOOD, "id": "no-answer", "answers": ["غائب"]},
    ]
    problems = check_evidence(load_suite(_write(tmp_path, rows)), corpus)
    assert [p.split(":")[0] for p in problems] == ["invented", "invented", "wrong-par", "far-par", "no-answer"]
