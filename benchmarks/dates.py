"""Publication dates read from the articles themselves, against the true dates of the dev news corpus.

Data: ../shared/eval/dev/corpus_news_dev (3,000 ANT corpus v1.1 articles, Jawhara FM 2016-2017; Chouigui,
Ben Khiroun, Elayeb). The true date is the TSV ``date`` column where filled, else the YYYYMMDD that ends the
article's original ANT path; neither is shown to the extractor, which reads only the cleaned article text
(``rag.ingestion.published.dateline``: its first lines). No model is involved.

The TSV is read with quoting off: titles hold stray double quotes, and the csv module's default quoting
merged 34 rows into their neighbours (2,966 of 3,000 articles were counted before).

Columns: articles; stating = the true date is written as a full date in the first lines; extracted = a
dateline was found; matched = extracted and equal to the truth; wrong = extracted and different; missed =
stating but not extracted. Precision counts every extraction, recall only the stating articles. A "wrong"
may be the corpus's date rather than the article's: newsdev_02162 says 'اليوم الاثنين 27 فيفري 2017' (a
Monday) where the TSV says 2017-02-28; the hand-checked sample (tests/fixtures/published_sample.jsonl)
expects what the article says.

The second table scores relative time ("أمس", "الشهر الماضي", "12 فيفري الماضي") on real dev news sentences
whose expected dates were written by hand (tests/fixtures/relative_time.jsonl, scored as in
tests/unit/test_relative_time.py): matched = resolved to the expected date, missed = a date was expected and
none given, wrong = a different date or one where none may be given, kept unresolved = phrases that must stay
unresolved and did. The third table asks what a year rule for a month or day-month written bare ("15 ديسمبر",
"شهر جويلية") would do on the same sentences; Sanad gives them no year.

    .venv/bin/python benchmarks/dates.py [--corpus DIR] [--tsv FILE] [--show-wrong]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag import arabic  # noqa: E402
from rag.dates import MONTH_NAMES, find_dates, iso_or_none  # noqa: E402
from rag.ingestion.published import dateline  # noqa: E402
from rag.ingestion.readers import load_file  # noqa: E402
from tests.unit.test_relative_time import load_fixture, score  # noqa: E402

DEV = ROOT.parent / "shared" / "eval" / "dev"
_LEAD = 400
_OWN = re.compile(r"(?:اليوم|لليوم|today)\W+(?:\w+\W+)?$", re.IGNORECASE)


def true_dates(tsv: Path) -> dict[str, str]:
    """doc id -> 'YYYY-MM-DD' from the TSV date column, else from the original path's trailing YYYYMMDD."""
    truth: dict[str, str] = {}
    with tsv.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            date = (row.get("date") or "").strip()
            if not date:
                date = _path_date(row.get("original_path") or "")
            if date:
                truth[row["id"]] = date
    return truth


def _path_date(path: str) -> str:
    """The 8 digits ending an ANT path: YYYYMMDD for most, DDMMYYYY for some (JA-...-23112016.txt)."""
    m = re.search(r"(\d{8})\.txt$", path)
    if not m:
        return ""
    digits = m[1]
    for iso in (f"{digits[:4]}-{digits[4:6]}-{digits[6:]}", f"{digits[4:]}-{digits[2:4]}-{digits[:2]}"):
        if iso_or_none(iso) == iso:
            return iso
    return ""


def states(title: str, text: str, truth: str) -> bool:
    """Whether the truth is written as a full date in the first lines (what a reader could see)."""
    return any(m.iso == truth for m in find_dates(_lead(title, text)))


def states_own(title: str, text: str) -> bool:
    """Whether the first lines date the article itself: 'today' (اليوم/لليوم/today), a weekday at most, then a
    full date; a looser test than the extractor's (no weekday check, no dateline rule), written apart."""
    lead = _lead(title, text)
    return any(m.date is not None and m.precision == "day" and _OWN.search(lead[max(0, m.span[0] - 20):m.span[0]])
               for m in find_dates(lead))


def _lead(title: str, text: str) -> str:
    body = text[len(title):] if text.startswith(title) else text
    return body.lstrip()[:_LEAD]


def run(corpus: Path, tsv: Path, show_wrong: bool) -> dict[str, int]:
    truth = true_dates(tsv)
    counts = dict.fromkeys(("articles", "stating", "own", "own_matched", "extracted", "matched", "wrong", "missed"), 0)
    for path in sorted(corpus.glob("*.txt")):
        if path.stem not in truth:
            continue
        article = load_file(path)[0][0]
        counts["articles"] += 1
        stated = states(article.title, article.text, truth[path.stem])
        found = dateline(article.title, article.text)
        counts["stating"] += stated
        own = states_own(article.title, article.text)
        counts["own"] += own
        counts["own_matched"] += own and found is not None and found.iso == truth[path.stem]
        if found is not None:
            counts["extracted"] += 1
            ok = found.iso == truth[path.stem]
            counts["matched" if ok else "wrong"] += 1
            if not ok and show_wrong:
                print(f"WRONG {path.stem}: {found.iso} (true {truth[path.stem]}): {found.text!r}")
        elif stated:
            counts["missed"] += 1
    return counts


def bare_year_rules(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The fixture's months and day-months written with no year and no الماضي/الجاري/المقبل, given a year by
    two candidate rules: [right, wrong] each (a date where the fixture expects none is wrong). Sanad uses
    neither: it leaves them without a year."""
    out = {"most recent on or before publication": [0, 0], "nearest to publication": [0, 0]}
    for row in rows:
        pub = dt.date.fromisoformat(row["published"])
        for item in row["expected"]:
            bare = _bare(item["words"])
            if bare is None:
                continue
            month, day = bare
            if month == 2 and day == 29:
                continue  # not every year has one
            dates = [dt.date(pub.year + k, month, day or 1) for k in (-1, 0, 1)]
            recent = max(d for d in dates if d <= pub or (day is None and (d.year, d.month) == (pub.year, pub.month)))
            nearest = min(dates, key=lambda d: abs((d - pub).days))
            for rule, got in zip(out, (recent, nearest)):
                iso = got.isoformat() if day else got.isoformat()[:7]
                out[rule][iso != item["iso"]] += 1
    return out


def _bare(words: str) -> tuple[int, int | None] | None:
    """(month, day or None) when ``words`` state a month or day-month without a year or a modifier."""
    norm = arabic.normalize(words)
    if re.search(r"الماضي|الجاري|الحالي|المقبل|القادم|الفارط|[12]\d{3}", norm):
        return None
    partial = [m for m in find_dates(words) if m.partial and m.month]
    if partial:
        return partial[0].month or 0, partial[0].day
    months = [MONTH_NAMES[w] for w in norm.split() if w in MONTH_NAMES and not w.isascii()]
    return (months[0], None) if months else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEV / "corpus_news_dev")
    parser.add_argument("--tsv", type=Path, default=DEV / "docs_news_dev.tsv")
    parser.add_argument("--show-wrong", action="store_true")
    args = parser.parse_args()
    c = run(args.corpus, args.tsv, args.show_wrong)
    print("| articles | true date in first lines | dated 'today' in first lines | extracted | matched | wrong "
          "| missed | matched / 'today' | matched / true date in first lines | precision |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {c['articles']} | {c['stating']} | {c['own']} | {c['extracted']} | {c['matched']} | {c['wrong']} "
          f"| {c['missed']} | {c['own_matched'] / max(1, c['own']):.3f} | {c['matched'] / max(1, c['stating']):.3f} "
          f"| {c['matched'] / max(1, c['extracted']):.3f} |")
    rows = load_fixture()
    r = score(rows)
    print("\n| relative time: real sentences | dated phrases | matched | missed | wrong | kept unresolved |")
    print("|---|---|---|---|---|---|")
    print(f"| {len(rows)} | {len(r['matched']) + len(r['missed'])} | {len(r['matched'])} | {len(r['missed'])} "
          f"| {len(r['wrong'])} | {len(r['unresolved_ok'])} |")
    if args.show_wrong:
        print("\n".join(f"RELATIVE {line}" for line in r["wrong"] + r["missed"]))
    print("\n| a month or day-month with no year, given one by | right | wrong |\n|---|---|---|")
    for rule, (right, wrong) in bare_year_rules(rows).items():
        print(f"| {rule} | {right} | {wrong} |")


if __name__ == "__main__":
    main()
