"""Answer-side quality on the dev suites with NO LLM: what the prompt would contain, and the extractive mode.

    python benchmarks/answers.py [--suites xquad_ar,arcd] [--k 5] [--limit N] [--embed-model DIR] [--fresh] [--half report]

For every question the real retriever (``rag.wiring.build_service``, embedded Chroma) returns the top ``k``
passages; the real prompt is then rendered twice — whole chunks vs sentence-selected — with the real budget
(``num_ctx`` 8192, 768 answer tokens). Columns:

- ``recall``: share of answerable questions whose gold answer (every part, ``eval.metrics.contains``,
  normalised) occurs in the passages of the prompt ("context answer recall"); ``tokens``: mean prompt tokens
  (``rag.generation.context.estimate_tokens``, conservative);
- ``extractive``: share of answerable questions whose gold answer is in the extractive answer
  (``Answerer.ask(extractive=True)``, refusal included);
- ``refused unanswerable``: share of unanswerable questions the extractive ``Answerer`` refuses (both gates:
  retrieval confidence, then sentence answerability), and ``false refusal``: answerable questions refused.
  A sweep of the confidence gate alone helps choose ``SANAD_REFUSAL_THRESHOLD``. ``--half report`` keeps
  only the questions ``benchmarks/answerability.py`` does not fit on (``near_miss.is_fit``).

Default is keyword-only retrieval (no embedding model: fast, and MiniLM — the only offline model — is
English-only, so its dense list is noise on Arabic); pass ``--embed-model`` for hybrid.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV = SHARED / "eval" / "dev"
SUITES = {"xquad_ar": "corpus_xquad_ar", "arcd": "corpus_arcd", "mlqa_ar": "corpus_mlqa_ar",
          "tydiqa_ar": "corpus_tydiqa_ar", "xquad_en2ar": "corpus_xquad_ar"}
CACHE = Path(os.environ.get("SANAD_BENCH_CACHE", Path(tempfile.gettempdir()) / "sanad-bench")) / "answers"
THRESHOLDS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)

sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from near_miss import is_fit  # noqa: E402

from eval.metrics import contains  # noqa: E402
from eval.suite import Question, load_suite  # noqa: E402
from rag.generation.answer import Answerer  # noqa: E402
from rag.generation.context import PromptContext, build_context  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.types import SearchFilters, SearchResult  # noqa: E402
from rag.wiring import build_service  # noqa: E402


class CachedRetriever:
    """Serves the search result already computed for a question (the Answerer searches again)."""

    def __init__(self) -> None:
        self.results: dict[str, SearchResult] = {}

    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None) -> SearchResult:
        return self.results[query]


@dataclass
class Row:
    suite: str
    answerable: int = 0
    unanswerable: int = 0
    recall: dict[str, int] = field(default_factory=lambda: {"whole": 0, "selected": 0})
    tokens: dict[str, list[int]] = field(default_factory=lambda: {"whole": [], "selected": []})
    trimmed: dict[str, int] = field(default_factory=lambda: {"whole": 0, "selected": 0})
    extractive: int = 0
    refused: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})  # by answerable
    confidences: list[tuple[float, bool]] = field(default_factory=list)  # (confidence, answerable)
    seconds: float = 0.0


def gold_in(text: str, question: Question) -> bool:
    return all(any(contains(text, alt) for alt in part) for part in question.parts)


def service_for(corpus: str, embed_model: str | None, fresh: bool) -> Any:
    """An index of one corpus through the real pipeline, cached between runs."""
    key = corpus + ("-" + Path(embed_model).name if embed_model else "-keyword")
    settings = Settings(data_dir=CACHE / key, embed_model=embed_model or str(CACHE / "no-embedder"),
                        ollama_host="http://127.0.0.1:9")
    if fresh and settings.data_dir.exists():
        import shutil

        shutil.rmtree(settings.data_dir)
    service = build_service(settings, load_llm=False)
    service.ingest([DEV / corpus])
    return service


def measure(suite: str, service: Any, questions: Sequence[Question], k: int, settings: Settings) -> Row:
    """One suite's row. The extractive answers go through the product's ``Answerer`` with the service's
    embedder and model profile (both refusal gates: retrieval confidence, then sentence answerability)."""
    row = Row(suite)
    cached = CachedRetriever()
    profile = service.answerer.profile.overridden(refusal_threshold=settings.refusal_threshold)
    extractive = Answerer(cached, None, service.embedder, service.answerer.prompts, settings, profile=profile)
    started = time.perf_counter()
    for q in questions:
        result = service.search(q.question, k=k)
        cached.results[q.question] = result
        row.confidences.append((result.confidence, q.answerable))
        answer = extractive.ask(q.question, extractive=True)
        row.refused[q.answerable] += answer.refused
        if not q.answerable:
            row.unanswerable += 1
            continue
        row.answerable += 1
        for arm, select in (("whole", False), ("selected", True)):
            ctx = context(service, q.question, result, settings, select)
            row.tokens[arm].append(ctx.prompt_tokens)
            row.trimmed[arm] += ctx.trimmed
            row.recall[arm] += gold_in("\n".join(p.text for p in ctx.passages), q)
        row.extractive += (not answer.refused) and gold_in(answer.answer, q)
    row.seconds = time.perf_counter() - started
    return row


def context(service: Any, question: str, result: SearchResult, settings: Settings, select: bool) -> PromptContext:
    from rag import arabic

    return build_context(question, result.hits, service.answerer.prompts, num_ctx=settings.ollama_num_ctx,
                         answer_max_tokens=settings.answer_max_tokens, select=select,
                         lang=arabic.detect_language(question))


def refusal(row: Row, threshold: float) -> tuple[float | None, float | None]:
    """(share of unanswerables refused, share of answerables refused) at ``threshold``."""
    un = [c for c, answerable in row.confidences if not answerable]
    an = [c for c, answerable in row.confidences if answerable]
    refused_un = sum(c < threshold for c in un) / len(un) if un else None
    refused_an = sum(c < threshold for c in an) / len(an) if an else None
    return refused_un, refused_an


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def print_tables(rows: Sequence[Row], threshold: float) -> None:
    print("\n| suite | answerable | recall whole | recall selected | tokens whole | tokens selected | token ratio"
          " | extractive acc | refused unanswerable | false refusal | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    total = Row("ALL")
    for row in [*rows, total]:
        if row is not total:
            _add(total, row)
        mean = {arm: (sum(v) / len(v) if v else 0.0) for arm, v in row.tokens.items()}
        un = row.refused[False] / row.unanswerable if row.unanswerable else None
        an = row.refused[True] / row.answerable if row.answerable else None
        n = row.answerable or 1
        print(f"| {row.suite} | {row.answerable} | {pct(row.recall['whole'] / n)} | {pct(row.recall['selected'] / n)}"
              f" | {mean['whole']:.0f} | {mean['selected']:.0f} | {mean['selected'] / (mean['whole'] or 1):.2f}"
              f" | {pct(row.extractive / n)} | {pct(un)} | {pct(an)} | {row.seconds:.0f} |")
    print(f"\nretrieval-confidence gate alone, swept (the profile's threshold is {threshold:g}):")
    print("| threshold | " + " | ".join(f"{t:g}" for t in THRESHOLDS) + " |")
    print("|---|" + "---|" * len(THRESHOLDS))
    cells = [refusal(total, t) for t in THRESHOLDS]
    print("| unanswerable refused | " + " | ".join(pct(c[0]) for c in cells) + " |")
    print("| answerable refused | " + " | ".join(pct(c[1]) for c in cells) + " |")


def _add(total: Row, row: Row) -> None:
    total.answerable += row.answerable
    total.unanswerable += row.unanswerable
    total.extractive += row.extractive
    for key in (True, False):
        total.refused[key] += row.refused[key]
    total.seconds += row.seconds
    total.confidences.extend(row.confidences)
    for arm in ("whole", "selected"):
        total.recall[arm] += row.recall[arm]
        total.tokens[arm].extend(row.tokens[arm])
        total.trimmed[arm] += row.trimmed[arm]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default="xquad_ar,arcd,mlqa_ar,tydiqa_ar")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="first N questions of each suite")
    parser.add_argument("--embed-model", default=None, help="embedding model folder (default: keyword-only)")
    parser.add_argument("--threshold", type=float, default=None, help="refusal threshold (default: the model's profile)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached indexes")
    parser.add_argument("--half", choices=("all", "report"), default="all",
                        help="report: only the questions the answerability benchmark does not fit on")
    args = parser.parse_args()
    settings = Settings(ollama_host="http://127.0.0.1:9")
    threshold = args.threshold
    rows = []
    for suite in args.suites.split(","):
        service = service_for(SUITES[suite], args.embed_model, args.fresh)
        if threshold is None:  # the threshold fitted for this embedder (rag/profiles/)
            threshold = float(service.answerer.profile.refusal_threshold)
        settings = settings.model_copy(update={"refusal_threshold": threshold})
        questions = load_suite(DEV / f"{suite}.jsonl", limit=args.limit)
        if args.half == "report":
            questions = [q for q in questions if not is_fit(q.id)]
        rows.append(measure(suite, service, questions, args.k, settings))
        print(f"{suite}: {len(questions)} questions in {rows[-1].seconds:.0f} s", file=sys.stderr)
    print(f"k={args.k}, retrieval={'hybrid ' + args.embed_model if args.embed_model else 'keyword-only'},"
          f" num_ctx={settings.ollama_num_ctx}, answer budget={settings.answer_max_tokens}")
    print_tables(rows, threshold if threshold is not None else 0.0)


if __name__ == "__main__":
    main()
