"""Time in questions on real news: does a year in the question lift the in-year article above an equally relevant
article from another year, and does "آخر" lift the newer one? (rag/retrieval/question_time.py)

Data: ../shared/eval/dev/corpus_news_dev (ANT corpus v1.1, Jawhara FM; Chouigui, Ben Khiroun, Elayeb) with true
dates from docs_news_dev.tsv (the date column, else the YYYYMMDD ending the original ANT path: benchmarks/dates.py).
Pairs: two articles published in different years whose titles share most of their content words (title-word
Jaccard >= --jaccard, >= 3 shared words): recurring stories ("الجزائر : القضاء على ارهابيين اثنين" 2016 /
"القضاء على عنصرين إرهابيين في الجزائر" 2017). Each pair gives two questions, the shared title words + "في YEAR"
for each year, so the question is as relevant to both by construction and only the year differs; and one
"latest" question, "ما آخر أخبار " + the shared words. Index: the paired articles plus --distractors other dev
news articles, ingested as JSONL with their true dates, through the real pipeline (embedded Chroma, BM25, the
model given, its profile's fusion). No LLM.

Columns: boost = the profile's ``time_boost`` / ``recency_boost`` used for that row (0 = no preference);
in-year first = questions whose in-year article ranks above the other year's; both found = both in the top k.

    .venv/bin/python benchmarks/question_time.py [--model /work/e5] [--distractors 400] [--jaccard 0.4]
    .venv/bin/python benchmarks/question_time.py --suites-index /tmp/sanad-bench/retrieval/e5/combined-c120
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.dates import true_dates  # noqa: E402
from rag import arabic  # noqa: E402
from rag.settings import Settings  # noqa: E402

DEV = ROOT.parent / "shared" / "eval" / "dev"
K = 50


def _content_words(title: str) -> list[str]:
    words = [arabic.normalize(w) for w in arabic.tokenize(title)]
    return [w for w in words if len(w) >= 3 and not w.isdigit() and not arabic.is_stopword(w)]


def find_pairs(titles: dict[str, str], truth: dict[str, str], jaccard: float) -> list[tuple[str, str, list[str]]]:
    """(older, newer, shared words in the older title's order) for titles from different years."""
    words = {d: _content_words(t) for d, t in titles.items() if d in truth}
    index: dict[str, set[str]] = collections.defaultdict(set)
    for doc_id, ws in words.items():
        for w in set(ws):
            index[w].add(doc_id)
    pairs = []
    for a in sorted(words):
        shared: collections.Counter[str] = collections.Counter()
        for w in set(words[a]):
            for b in index[w] if len(index[w]) <= 200 else ():
                if b > a and truth[a][:4] != truth[b][:4]:
                    shared[b] += 1
        for b, n in shared.items():
            if n >= 3 and n / len(set(words[a]) | set(words[b])) >= jaccard:
                old, new = sorted((a, b), key=lambda d: truth[d])
                pairs.append((old, new, [w for w in dict.fromkeys(words[a]) if w in set(words[b])]))
    return pairs


def build_index(model: str, docs: list[str], truth: dict[str, str], data_dir: Path) -> Any:
    from rag.wiring import build_service

    lines = []
    for doc_id in docs:
        title, _, body = (DEV / "corpus_news_dev" / f"{doc_id}.txt").read_text(encoding="utf-8").partition("\n\n")
        lines.append(json.dumps({"id": doc_id, "title": title.strip(), "text": body.strip() or title.strip(),
                                 "published": truth[doc_id]}, ensure_ascii=False))
    source = data_dir / "news.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    service = build_service(Settings(data_dir=data_dir / "index", embed_model=model,  # type: ignore[call-arg]
                                     ollama_host="http://127.0.0.1:9", max_per_doc=0), load_llm=False)
    report = service.ingest([source])
    assert not report.failed, report.failed[:3]
    return service


def rank_of(hits: Any, doc_id: str) -> int | None:
    return next((n for n, h in enumerate(hits, start=1) if h.chunk.doc_id == doc_id), None)


def above(hits: Any, first: str, second: str) -> tuple[bool, bool]:
    """(first ranks above second, both found)."""
    a, b = rank_of(hits, first), rank_of(hits, second)
    return a is not None and (b is None or a < b), a is not None and b is not None


def evaluate(service: Any, pairs: list[tuple[str, str, list[str]]], truth: dict[str, str],
             boosts: list[float]) -> list[dict[str, Any]]:
    retriever = service.retriever
    inner = getattr(retriever, "inner", None) or getattr(retriever, "retriever", None) or retriever
    base = inner.profile
    rows = []
    for boost in boosts:
        inner.profile = dataclasses.replace(base, time_boost=boost, recency_boost=boost)
        year = {"questions": 0, "first": 0, "both": 0}
        latest = {"questions": 0, "first": 0, "both": 0}
        for old, new, words in pairs:
            topic = " ".join(words)
            for target, other in ((old, new), (new, old)):
                hits = service.search(f"{topic} في {truth[target][:4]}", k=K, collapse=False).hits
                first, both = above(hits, target, other)
                year["questions"] += 1
                year["first"] += first
                year["both"] += both
            hits = service.search(f"ما آخر أخبار {topic}", k=K, collapse=False).hits
            first, both = above(hits, new, old)
            latest["questions"] += 1
            latest["first"] += first
            latest["both"] += both
        rows.append({"boost": boost, "year": year, "latest": latest})
    inner.profile = base
    return rows


def suites_check(index: Path, model: str, boosts: list[float]) -> None:
    """No harm elsewhere: the dev QA questions (Wikipedia paragraphs, all undated) that state a time, doc hit@1
    and hit@5 with each boost, on an index built by ``benchmarks/retrieval.py`` (combined corpora)."""
    from rag.retrieval.question_time import question_time
    from rag.wiring import build_service

    questions = []
    for suite in ("xquad_ar", "xquad_en2ar", "arcd", "mlqa_ar", "tydiqa_ar"):
        for line in (DEV / f"{suite}.jsonl").read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            if q.get("sources") and not question_time(q["question"]).empty:
                questions.append(q)
    service = build_service(Settings(data_dir=index, embed_model=model,  # type: ignore[call-arg]
                                     ollama_host="http://127.0.0.1:9"), load_llm=False)
    inner = getattr(service.retriever, "inner", service.retriever)
    base = inner.profile
    print(f"\ndev QA questions stating a time: {len(questions)} (index {index}, model {model})\n")
    print("| boost | doc hit@1 | doc hit@5 |")
    print("|---|---|---|")
    for boost in boosts:
        inner.profile = dataclasses.replace(base, time_boost=boost, recency_boost=boost)
        at1 = at5 = 0
        for q in questions:
            docs = [h.chunk.doc_id for h in service.search(q["question"], k=5).hits]
            at1 += bool(docs) and docs[0] in q["sources"]
            at5 += any(d in q["sources"] for d in docs)
        print(f"| {boost:g} | {at1} ({at1 / len(questions):.1%}) | {at5} ({at5 / len(questions):.1%}) |")
    inner.profile = base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("SANAD_E5_DIR", "/work/e5"))
    parser.add_argument("--distractors", type=int, default=400)
    parser.add_argument("--jaccard", type=float, default=0.4)
    parser.add_argument("--boosts", default="0,0.02,0.05,0.1")
    parser.add_argument("--suites-index", type=Path, default=None,
                        help="instead: the dev QA questions that state a time, on this benchmarks/retrieval.py index")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.suites_index is not None:
        suites_check(args.suites_index, args.model, [float(b) for b in args.boosts.split(",")])
        return
    truth = true_dates(DEV / "docs_news_dev.tsv")
    with (DEV / "docs_news_dev.tsv").open(encoding="utf-8") as f:
        titles = {row["id"]: row["title"] for row in csv.DictReader(f, delimiter="\t")}
    pairs = find_pairs(titles, truth, args.jaccard)
    paired = sorted({d for old, new, _ in pairs for d in (old, new)})
    others = [d for d in sorted(truth) if d not in set(paired)]
    step = max(1, len(others) // max(1, args.distractors))
    docs = paired + others[::step][: args.distractors]
    with tempfile.TemporaryDirectory(prefix="sanad-qt-") as tmp:
        service = build_index(args.model, docs, truth, Path(tmp))
        profile = getattr(service.retriever, "profile", None) or service.retriever.inner.profile
        rows = evaluate(service, pairs, truth, [float(b) for b in args.boosts.split(",")])
    print(f"model {args.model} (profile {profile.key}, fusion {profile.fusion}, default time_boost "
          f"{profile.time_boost}, recency_boost {profile.recency_boost}); {len(pairs)} cross-year pairs "
          f"(title Jaccard >= {args.jaccard}), {len(docs)} articles indexed, k={K}\n")
    print("| boost | year questions | in-year first | both found | 'آخر' questions | newer first | both found |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        y, la = r["year"], r["latest"]
        print(f"| {r['boost']:g} | {y['questions']} | {y['first']} ({y['first'] / max(1, y['questions']):.0%}) "
              f"| {y['both']} | {la['questions']} | {la['first']} ({la['first'] / max(1, la['questions']):.0%}) "
              f"| {la['both']} |")


if __name__ == "__main__":
    main()
