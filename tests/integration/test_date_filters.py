"""The same date filter gives the same articles on the keyword and the dense side (issue 14), through the real
pipeline: embedded Chroma + MiniLM (plumbing only: the dense side returns every filtered chunk at this k) +
BM25Index, over a small corpus with known dates: day, month and year precision, dates from a .jsonl field,
a file name, a sidecar and ``--published``, and undated articles, which no date filter ever lets through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import InvalidDateError
from rag.settings import Settings
from rag.types import SearchFilters
from rag.wiring import build_service
from tests.conftest import minilm_dir

pytestmark = pytest.mark.integration

#: doc id -> (published as recorded, text); every text holds "تونس" so the keyword side can see all of them
RECORDS = {
    "day_2016_11_18": ("2016-11-18", "أعلنت بلدية تونس العاصمة تجديد شبكة الإنارة العمومية في الأحياء الشعبية."),
    "month_2016_12": ("2016-12", "افتتح معرض تونس الدولي للكتاب دورته بمشاركة ناشرين من عشرين بلدا."),
    "year_2017": ("2017", "سجلت موانئ تونس ارتفاعا في حركة الحاويات مقارنة بالعام الذي سبقه."),
    "day_2017_03_01": ("2017-03-01", "قررت وزارة التربية في تونس تعديل رزنامة الامتحانات الوطنية."),
    "day_2017_12_31": ("2017-12-31", "احتفل سكان تونس بليلة رأس السنة في شارع الحبيب بورقيبة."),
    "day_2018_01_01": ("2018-01-01", "دخل قانون المالية الجديد حيز التنفيذ في تونس مع بداية السنة."),
    "undated_a": (None, "تحدث خبراء في تونس عن مستقبل الطاقات المتجددة ومشاريع الألواح الشمسية."),
}
FILES = {  # dated outside the JSONL: by file name, by sidecar, by --published, and one undated file
    "2016-05-02-tunis-port.txt": ("2016-05-02", "ميناء رادس\n\nاستقبل ميناء رادس قرب تونس سفينة شحن عملاقة."),
    "sidecar.txt": ("2017-07", "مهرجان قرطاج\n\nانطلقت في تونس فعاليات مهرجان قرطاج الدولي بعرض موسيقي."),
    "undated_b.txt": (None, "حديقة البلفدير\n\nأعادت بلدية تونس فتح حديقة البلفدير بعد أشغال الصيانة."),
}
PUBLISHED_RUN = ("cli-dated.txt", "2018-06-15",
                 "سوق السمك\n\nنظمت بلدية تونس السوق المركزية للسمك من جديد. 2016-01-01-old-name")
QUERY = "تونس"

#: the hand-listed answer for each filter (a month or year publication date counts from its first day)
CASES = [
    ("2017", "2017", {"year_2017", "day_2017_03_01", "day_2017_12_31", "sidecar"}),
    ("2016-12", "2017-03", {"month_2016_12", "year_2017", "day_2017_03_01"}),
    (None, "2016", {"2016-05-02-tunis-port", "day_2016_11_18", "month_2016_12"}),
    ("2018", None, {"day_2018_01_01", "cli-dated"}),
    ("2017-06", "2017-12-30", {"sidecar"}),  # "2017" (year only) counts as 2017-01-01: outside
    ("18 نوفمبر 2016", "2016-11-18", {"day_2016_11_18"}),
    ("2019", None, set()),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("dates")
    articles = root / "articles"
    articles.mkdir()
    lines = [json.dumps({"id": doc_id, "title": text[:20], "text": text, **({"published": day} if day else {})},
                        ensure_ascii=False) for doc_id, (day, text) in RECORDS.items()]
    (articles / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, (_, text) in FILES.items():
        (articles / name).write_text(text, encoding="utf-8")
    (articles / "sidecar.meta.json").write_text(json.dumps({"published": "2017-07"}), encoding="utf-8")
    settings = Settings(data_dir=root / "data", embed_model=str(minilm_dir()), ollama_host="http://127.0.0.1:9",
                        max_per_doc=0)
    sanad = build_service(settings, load_llm=False)
    assert not sanad.ingest([articles]).failed
    extra = root / "run"
    extra.mkdir()
    (extra / PUBLISHED_RUN[0]).write_text(PUBLISHED_RUN[2], encoding="utf-8")
    assert not sanad.ingest([extra], published=PUBLISHED_RUN[1]).failed
    return sanad


def _docs(service, mode: str, filters: SearchFilters | None) -> set[str]:  # type: ignore[no-untyped-def]
    hits = service.search(QUERY, k=50, filters=filters, mode=mode, collapse=False).hits
    return {h.chunk.doc_id for h in hits}


def test_dates_were_recorded_from_the_right_source(service) -> None:  # type: ignore[no-untyped-def]
    docs = {d.doc_id: (d.published, d.published_source) for d in service.documents()}
    assert docs["2016-05-02-tunis-port"] == ("2016-05-02", "filename")
    assert docs["sidecar"] == ("2017-07", "sidecar")
    assert docs["month_2016_12"] == ("2016-12", "field")
    assert docs["cli-dated"] == ("2018-06-15", "cli")
    assert docs["undated_a"] == (None, None) and docs["undated_b"] == (None, None)


def test_without_a_filter_both_sides_see_every_article(service) -> None:  # type: ignore[no-untyped-def]
    everything = {*RECORDS, *(Path(n).stem for n in FILES), "cli-dated"}
    assert _docs(service, "keyword", None) == _docs(service, "dense", None) == everything


@pytest.mark.parametrize(("since", "until", "expected"), CASES)
def test_keyword_and_dense_sides_agree_on_a_date_filter(service, since: str | None, until: str | None,  # type: ignore[no-untyped-def]
                                                         expected: set[str]) -> None:
    filters = SearchFilters(published_from=since, published_to=until)
    keyword, dense, hybrid = (_docs(service, mode, filters) for mode in ("keyword", "dense", "hybrid"))
    assert keyword == dense == hybrid == expected


def test_a_bad_filter_is_an_error_not_an_empty_or_full_result(service) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidDateError):
        SearchFilters(published_from="2017-02-30")
    with pytest.raises(InvalidDateError):
        service.ingest([], published="last week")
