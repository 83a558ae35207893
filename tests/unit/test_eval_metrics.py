"""Eval metrics and runner against a scripted fake service: the numbers are checked by hand."""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy
import pytest

from eval.compare import compare_runs, failures, parse_thresholds
from eval.metrics import (
    contains,
    exact_match,
    percentile,
    rank_scores,
    score_answer,
    summarize,
    token_f1,
)
from eval.report import write_reports, write_summary
from eval.runner import EvalError, ParagraphLocator, RunConfig, load_results, run_suite
from eval.suite import parse_question
from rag.types import Answer, Article, Chunk, Citation, Hit, SearchResult

# --- pure metrics -----------------------------------------------------------------------------------


def test_normalised_match_absorbs_hamza_and_ta_marbuta_but_raw_does_not() -> None:
    assert exact_match("إلى أحمد المسماري", "الى احمد المسماري")
    assert not exact_match("إلى أحمد المسماري", "الى احمد المسماري", raw=True)
    assert exact_match("مدينة طرابلس.", "مدينه طرابلس")
    assert token_f1("نقل نحو 70 جنديا", "70") == pytest.approx(0.4)
    assert token_f1("x", "") == 0.0


def test_contains_allows_clitics_but_not_partial_numbers() -> None:
    assert contains("سافروا بروسيا أمس", "روسيا")
    assert contains("وصل إلى العاصمة الروسية موسكو", "موسكو")
    assert not contains("نحو 700 جندي", "70")
    assert contains("نحو 70 جنديا", "70")
    assert not contains("any text", "")
    assert contains("قال: مطار بنينة", "مطار بنينة", raw=True)
    assert not contains("مطار بنينه", "مطار بنينة", raw=True)


def test_multi_part_answers_need_every_part() -> None:
    parts = (("جون برينان", "برينان"), ("مايكل لانجلي", "لانجلي"))
    both = score_answer("التقى برينان ثم لانجلي", parts)
    one = score_answer("التقى برينان وحده", parts)
    assert both["contains"] == 1.0 and one["contains"] == 0.0
    assert score_answer("برينان لانجلي", parts)["em"] == 1.0
    # the reference joins each part's best alternative: "برينان" (f1 .4 beats "جون برينان" 1/3), and for the
    # missing part the shorter "لانجلي" (a tie at 0). both: 2 of 4 tokens, all 2 reference tokens -> 2/3;
    # one: 1 of 3 tokens, 1 of 2 reference tokens -> 2 * (1/3 * 1/2) / (1/3 + 1/2) = 0.4
    assert both["f1"] == pytest.approx(2 / 3) and one["f1"] == pytest.approx(0.4)


def test_rank_scores_use_the_first_gold_document() -> None:
    assert rank_scores(["a", "b", "c"], ["b"]) == {"doc_hit@1": 0.0, "doc_hit@5": 1.0, "rr@10": 0.5}
    assert rank_scores(["a", "b", "c", "d", "e", "f"], ["f", "x"])["doc_hit@5"] == 0.0
    assert rank_scores([], ["a"])["rr@10"] == 0.0


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([10, 20, 30, 40], 50) == pytest.approx(25)
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([], 50) is None


# --- a scripted fake service --------------------------------------------------------------------------

BODY = {
    "d1": "para zero: 70 soldiers flew to Russia.\n\npara one: nothing else.",
    "d2": "NATO opens a centre in نابولي.\n\nsecond paragraph.",
    "d3": "روسيا تملك قاعدة في طرطوس.",
}


@dataclass
class Script:
    retrieved: list[str]
    answer: str
    refused: bool = False
    cited: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)


def _chunk(doc: str, start: int = 0, end: int | None = None) -> Chunk:
    text = BODY[doc][start:end]
    return Chunk(chunk_id=f"{doc}:{start}", doc_id=doc, title=doc, text=text, start=start,
                 end=start + len(text), ordinal=0, source=f"{doc}.txt")


class FakeService:
    """Answers from a script keyed by question; counts calls so resume can be asserted."""

    def __init__(self, script: dict[str, Script]) -> None:
        self.script = script
        self.asked: list[str] = []

    def search(self, query: str, *, k: int | None = None) -> SearchResult:
        s = self.script[query]
        hits = tuple(Hit(chunk=_chunk(doc, 0, BODY[doc].find("\n\n") if "\n\n" in BODY[doc] else None), score=1.0)
                     for doc in s.retrieved)
        return SearchResult(query=query, hits=hits, confidence=0.5, lang="ar")

    def ask(self, question: str, *, extractive: bool = False) -> Answer:
        self.asked.append(question)
        s = self.script[question]
        cites = tuple(Citation(n=i + 1, doc_id=d, title=d, source=d, quote="q", start=0, end=1, score=1.0)
                      for i, d in enumerate(s.cited))
        passages = tuple(Hit(chunk=Chunk(chunk_id=f"c{i}", doc_id="d1", title="t", text=t, start=0, end=len(t),
                                         ordinal=i, source="s"), score=1.0) for i, t in enumerate(s.context))
        return Answer(answer=s.answer, citations=cites, grounded=not s.refused, refused=s.refused,
                      mode="extractive", model=None, passages=passages)

    def article(self, doc_id: str) -> Article:
        return Article(doc_id=doc_id, title=doc_id, text=BODY[doc_id], source=f"{doc_id}.txt")


QUESTIONS = [
    {"id": "q1", "lang": "ar", "type": "single", "question": "كم جنديا؟", "answers": ["70"], "sources": ["d1"],
     "paragraph": 0},
    {"id": "q2", "lang": "ar", "type": "single", "question": "أين المركز؟", "answers": ["نابولي"], "sources": ["d2"]},
    {"id": "q3", "lang": "en", "type": "crosslingual", "question": "Naval base?", "answers": ["طرطوس"],
     "sources": ["d3"]},
    {"id": "q4", "lang": "ar", "type": "unanswerable", "question": "سؤال بلا جواب؟", "answers": [], "sources": []},
    {"id": "q5", "lang": "en", "type": "unanswerable", "question": "No answer?", "answers": [], "sources": []},
]
SCRIPT = {
    "كم جنديا؟": Script(["d1", "d2"], "نقل نحو 70 جنديا", cited=["d1"], context=["about 70 soldiers"]),
    "أين المركز؟": Script(["d1", "d2"], "نابولي", cited=["d1", "d2"], context=["مركز في نابولي"]),
    "Naval base?": Script(["d1", "d2"], "I cannot tell.", refused=True, context=["nothing"]),
    "سؤال بلا جواب؟": Script(["d1"], "لا تتضمن المقالات", refused=True),
    "No answer?": Script(["d2"], "an invented answer", cited=["d1"]),
}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for doc, body in BODY.items():
        (folder / f"{doc}.txt").write_text(f"Title {doc}\n\n{body}\n", encoding="utf-8")
    return folder


def _run(tmp_path: Path, corpus: Path, service: FakeService, mode: str = "extractive", out: str = "out") -> list[dict]:
    questions = [parse_question(q) for q in QUESTIONS]
    config = RunConfig(suite="tiny.jsonl", mode=mode, corpus=str(corpus))  # type: ignore[arg-type]
    return run_suite(service, questions, config, tmp_path / out, locator=ParagraphLocator(service, corpus))


def test_summary_matches_a_hand_check_of_five_questions(tmp_path: Path, corpus: Path) -> None:
    rows = _run(tmp_path, corpus, FakeService(SCRIPT))
    questions = {q["id"]: parse_question(q) for q in QUESTIONS}
    summary = summarize([(questions[r["id"]], r) for r in rows], "extractive")
    m = summary["metrics"]
    expected = {
        "retrieval.doc_hit@1": 1 / 3, "retrieval.doc_hit@5": 2 / 3, "retrieval.mrr@10": 0.5,
        "retrieval.paragraph_hit@5": 1.0, "context.answer_recall": 2 / 3, "answer.em": 1 / 3,
        "answer.f1": (0.4 + 1 + 0) / 3, "answer.contains": 2 / 3, "citation.precision": 0.75,
        "citation.recall": 2 / 3, "abstention.precision": 0.5, "abstention.recall": 0.5,
        "abstention.false_refusal_rate": 1 / 3, "answer.correct": 0.6,
    }
    for key, value in expected.items():
        assert m[key] == pytest.approx(value), key
    assert m["prompt_tokens.mean"] is None  # no LLM in extractive mode
    latencies = [r["latency_ms"] for r in rows]  # measured, so compared with independent implementations
    assert m["latency_ms.p50"] == pytest.approx(statistics.median(latencies))
    assert m["latency_ms.p95"] == pytest.approx(float(numpy.percentile(latencies, 95)))
    en = summary["by_lang"]["en"]
    assert en["abstention.precision"] == 0.0 and en["abstention.recall"] == 0.0 and en["retrieval.doc_hit@5"] == 0.0
    assert summary["by_type"]["unanswerable"]["retrieval.doc_hit@1"] is None
    assert [r["retrieved"] for r in rows][0] == ["d1", "d2"] and rows[1]["citations"] == ["d1", "d2"]


def test_retrieval_only_mode_leaves_answer_metrics_null(tmp_path: Path, corpus: Path) -> None:
    service = FakeService(SCRIPT)
    rows = _run(tmp_path, corpus, service, mode="retrieval")
    questions = {q["id"]: parse_question(q) for q in QUESTIONS}
    m = summarize([(questions[r["id"]], r) for r in rows], "retrieval")["metrics"]
    assert service.asked == []
    assert m["retrieval.doc_hit@1"] == pytest.approx(1 / 3)
    for key in ("answer.em", "answer.f1", "answer.contains", "citation.precision", "abstention.recall",
                "context.answer_recall"):
        assert m[key] is None, key


def test_resume_skips_finished_rows_and_drops_a_torn_last_line(tmp_path: Path, corpus: Path) -> None:
    first = FakeService(SCRIPT)
    _run(tmp_path, corpus, first)
    path = tmp_path / "out" / "results.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + lines[2][:25], encoding="utf-8")  # interrupted mid-row 3
    assert list(load_results(path)) == ["q1", "q2"]
    second = FakeService(SCRIPT)
    rows = _run(tmp_path, corpus, second)
    assert second.asked == ["Naval base?", "سؤال بلا جواب؟", "No answer?"]
    assert [r["id"] for r in rows] == ["q1", "q2", "q3", "q4", "q5"]
    assert len(path.read_text(encoding="utf-8").splitlines()) == 5


def test_resume_with_another_mode_is_refused(tmp_path: Path, corpus: Path) -> None:
    _run(tmp_path, corpus, FakeService(SCRIPT))
    with pytest.raises(EvalError, match="other settings"):
        _run(tmp_path, corpus, FakeService(SCRIPT), mode="retrieval")


def test_workers_give_the_same_rows_as_one_thread(tmp_path: Path, corpus: Path) -> None:
    questions = [parse_question(q) for q in QUESTIONS]
    config = RunConfig(suite="tiny.jsonl", mode="extractive", workers=3)
    rows = run_suite(FakeService(SCRIPT), questions, config, tmp_path / "pool")
    assert [r["id"] for r in rows] == [q.id for q in questions]
    assert {r["id"]: r["scores"].get("correct") for r in rows} == {"q1": 1.0, "q2": 1.0, "q3": 0.0, "q4": 1.0,
                                                                   "q5": 0.0}


def _finish(out: Path, rows: list[dict]) -> dict:
    questions = {q["id"]: parse_question(q) for q in QUESTIONS}
    summary = summarize([(questions[r["id"]], r) for r in rows], "extractive")
    summary["config"] = {"suite": "tiny.jsonl", "mode": "extractive"}
    write_summary(out, summary)
    return summary


def test_compare_lists_deltas_and_flips(tmp_path: Path, corpus: Path) -> None:
    old_rows = _run(tmp_path, corpus, FakeService(SCRIPT), out="old")
    _finish(tmp_path / "old", old_rows)
    changed = dict(SCRIPT)
    changed["Naval base?"] = Script(["d3"], "في طرطوس", cited=["d3"], context=["طرطوس"])
    changed["أين المركز؟"] = Script(["d2"], "لا أعرف", refused=True)
    new_rows = _run(tmp_path, corpus, FakeService(changed), out="new")
    summary = _finish(tmp_path / "new", new_rows)
    comparison = compare_runs(tmp_path / "old", summary["metrics"], new_rows)
    assert [f.id for f in comparison.fixed] == ["q3"] and [f.id for f in comparison.broken] == ["q2"]
    old, new, delta = comparison.deltas["retrieval.doc_hit@1"]
    assert (old, new) == (pytest.approx(1 / 3), pytest.approx(1.0)) and delta == pytest.approx(2 / 3)
    paths = write_reports(tmp_path / "new", summary, new_rows, comparison)
    page = paths["html"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5 and "right → wrong" in page
    assert "![latency](plots/latency.png)" in paths["markdown"].read_text(encoding="utf-8")
    assert (tmp_path / "new" / "plots" / "by_type.png").stat().st_size > 1000


def test_fail_under_names_each_metric_below_its_threshold() -> None:
    thresholds = parse_thresholds(["answer.f1=0.5", "retrieval.doc_hit@1=0.2", "answer.em=0.1"])
    metrics = {"answer.f1": 0.4, "retrieval.doc_hit@1": 0.3, "answer.em": None}
    lines = failures(metrics, thresholds)
    assert len(lines) == 2 and lines[0].startswith("answer.f1: 0.4000 < 0.5") and "not measured" in lines[1]
    assert failures(metrics, {"nope": 1.0})[0].startswith("nope: unknown metric")
    with pytest.raises(EvalError):
        parse_thresholds(["answer.f1"])
    with pytest.raises(EvalError):
        parse_thresholds(["answer.f1=high"])


def test_results_rows_carry_the_documented_fields(tmp_path: Path, corpus: Path) -> None:
    _run(tmp_path, corpus, FakeService(SCRIPT))
    row = json.loads((tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert {k: row[k] for k in ("id", "question", "type", "lang", "answer", "refused", "citations", "retrieved",
                                "context_has_answer")} == {
        "id": "q1", "question": "كم جنديا؟", "type": "single", "lang": "ar", "answer": "نقل نحو 70 جنديا",
        "refused": False, "citations": ["d1"], "retrieved": ["d1", "d2"], "context_has_answer": True}
    # "نقل نحو 70 جنديا" vs "70": 1 of 4 tokens, the whole reference -> f1 = 2 * (1/4 * 1) / (1/4 + 1) = 0.4
    assert (row["scores"]["doc_hit@1"], row["scores"]["em"], row["scores"]["contains"]) == (1.0, 0.0, 1.0)
    assert row["scores"]["f1"] == pytest.approx(0.4) and row["scores"]["paragraph_hit@5"] == 1.0
    assert isinstance(row["latency_ms"], float) and row["latency_ms"] >= 0


def test_judge_verdicts_are_parsed_and_garbage_is_null_not_zero() -> None:
    from eval.judge import parse_verdict

    verdict = parse_verdict('Sure.\n{"faithfulness": 1, "correctness": 0, "reason": "wrong city"}')
    assert (verdict["faithfulness"], verdict["correctness"]) == (1.0, 0.0)
    assert parse_verdict("I think it is fine")["faithfulness"] is None
    assert parse_verdict('{"faithfulness": "yes"}')["faithfulness"] is None


def test_corpus_collection_name_follows_content_and_embedding(tmp_path: Path, corpus: Path) -> None:
    from eval.session import corpus_hash, eval_collection
    from rag.settings import Settings

    # the documented format, restated: SHA-256 over "<relative path>\0" + SHA-256(bytes) of each file, sorted
    digest = hashlib.sha256()
    for name in ("d1.txt", "d2.txt", "d3.txt"):
        digest.update(name.encode() + b"\0" + hashlib.sha256((corpus / name).read_bytes()).digest())
    assert corpus_hash(corpus) == digest.hexdigest()
    settings = Settings(data_dir=tmp_path / "d", embed_model="model-a")
    first = eval_collection(settings, corpus_hash(corpus))
    assert first.startswith("eval_") and len(first) == 17
    assert eval_collection(settings.model_copy(update={"embed_model": "model-b"}), corpus_hash(corpus)) != first
    (corpus / "d1.txt").write_text("Title d1\n\nchanged\n", encoding="utf-8")
    assert eval_collection(settings, corpus_hash(corpus)) != first
    with pytest.raises(EvalError, match="not found"):
        corpus_hash(tmp_path / "missing")


def test_cli_rejects_two_modes_and_bad_gates_before_building_anything(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import cli.main

    if not any(c.name == "eval" for c in cli.main.app.registered_commands):
        cli.main._register_commands()
    suite = tmp_path / "s.jsonl"
    suite.write_text(json.dumps(QUESTIONS[0]) + "\n", encoding="utf-8")
    both = CliRunner().invoke(cli.main.app, ["eval", str(suite), "--extractive", "--retrieval-only"])
    assert both.exit_code == 2 and "choose one" in both.output
    gate = CliRunner().invoke(cli.main.app, ["eval", str(suite), "--extractive", "--fail-under", "answer.f1"])
    assert gate.exit_code == 2 and "bad --fail-under" in gate.output
    missing = CliRunner().invoke(cli.main.app, ["eval", str(suite), "--extractive", "--corpus",
                                                str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "corpus folder not found" in missing.output
