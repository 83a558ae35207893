"""BM25Index: Arabic matching, filters, persistence, versioning across "processes" sharing a store."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from rag.dates import day_number
from rag.retrieval.keyword import VERSION_KEY, BM25Index
from rag.retrieval.keyword_segments import merge_plan
from rag.types import Chunk, SearchFilters
from tests.fakes.memory_store import MemoryStore

DOCS = {
    "libya": ("اشتباكات في طرابلس", "أعلنت حكومة الوفاق الوطني الليبية أن الاشتباكات في العاصمة طرابلس توقفت بعد وساطة.",
              "jawhara", "2017-03-05"),
    "tunis": ("الانتخابات البلدية", "قالت الهيئة العليا المستقلة للانتخابات في تونس إن نسبة المشاركة بلغت ٣٥ بالمائة.",
              "mosaique", "2018-05-07"),
    "nato": ("قمة حلف الناتو", "اجتمع قادة حلف شمال الأطلسي (NATO) في بروكسل لمناقشة الإنفاق العسكري.",
             "jawhara", "2016-07-09"),
    "hospital": ("افتتاح مستشفى جديد", "افتتح وزير الصحة مستشفى جامعياً جديداً في مدينة صفاقس يضم ٢٠٠ سرير.",
                 "mosaique", None),
}


def chunk(doc_id: str, text: str | None = None, ordinal: int = 0) -> Chunk:
    title, body, source, published = DOCS[doc_id]
    body = text if text is not None else body
    return Chunk(f"{doc_id}:{ordinal}", doc_id, title, body, 0, len(body), ordinal, source, published)


def found(index: BM25Index, query: str) -> set[str]:
    """Articles matching more than stray character n-grams."""
    return {c.doc_id for c, score in index.search(query, 10) if score > 0.15}


@pytest.fixture()
def store() -> MemoryStore:
    return MemoryStore()


def build(tmp_path: Path, store: MemoryStore, doc_ids=tuple(DOCS)) -> BM25Index:
    chunks = [chunk(d) for d in doc_ids]
    store.add_chunks(chunks, [[1.0, 0.0]] * len(chunks))
    index = BM25Index(tmp_path / "kw", store)
    index.add(chunks)
    index.commit()
    return index


def top_doc(index: BM25Index, query: str, filters: SearchFilters | None = None) -> str | None:
    hits = index.search(query, 5, filters)
    return hits[0][0].doc_id if hits else None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ماذا حدث في طرابلس؟", "libya"),
        ("الحكومه الليبيه", "libya"),  # ta marbuta written as ha
        ("اعلنت حكومة الوفاق", "libya"),  # hamza dropped
        ("ما نسبة المشاركة في الانتخابات؟", "tunis"),
        ("كم سريراً في المستشفى؟", "hospital"),
        ("بالمستشفى الجامعي", "hospital"),  # clitic بال
        ("NATO", "nato"),
        ("nato summit", "nato"),  # case
        ("كم عدد الاسرة ٢٠٠", "hospital"),
        ("200 سرير", "hospital"),  # Western digits against Arabic-Indic in the text
    ],
)
def test_spelling_variants_find_the_right_article(tmp_path: Path, store: MemoryStore, query: str, expected: str) -> None:
    assert top_doc(build(tmp_path, store), query) == expected


def test_scores_are_normalised_and_off_topic_scores_low(tmp_path: Path, store: MemoryStore) -> None:
    index = build(tmp_path, store)
    on_topic = index.search("اشتباكات العاصمة طرابلس", 1)[0][1]
    off_topic = index.search("طرابلس كرة القدم الدوري الإسباني ريال مدريد", 1)[0][1]
    assert 0 < off_topic < on_topic <= 1.0
    unrelated = index.search("ريال مدريد برشلونة", 3)  # only stray character n-grams match
    assert all(score < 0.1 for _, score in unrelated)
    assert index.search("في من على", 3) == []  # stop words only


def test_filters_doc_source_and_dates(tmp_path: Path, store: MemoryStore) -> None:
    index = build(tmp_path, store)
    query = "الانتخابات طرابلس الناتو المستشفى"
    assert {c.doc_id for c, _ in index.search(query, 10, SearchFilters(doc_ids=("tunis",)))} == {"tunis"}
    assert {c.doc_id for c, _ in index.search(query, 10, SearchFilters(sources=("jawhara",)))} == {"libya", "nato"}
    dated = index.search(query, 10, SearchFilters(published_from="2017-01-01", published_to="2017-12-31"))
    assert {c.doc_id for c, _ in dated} == {"libya"}
    assert {c.doc_id for c, _ in index.search(query, 10, SearchFilters(published_to="2016"))} == {"nato"}


def test_hits_carry_chunk_fields(tmp_path: Path, store: MemoryStore) -> None:
    found, _score = build(tmp_path, store).search("طرابلس", 1)[0]
    assert found == chunk("libya")


def test_replace_and_remove_stay_in_sync(tmp_path: Path, store: MemoryStore) -> None:
    index = build(tmp_path, store)
    index.remove_docs(["libya"])
    index.add([chunk("libya", "مباراة كرة قدم بين الترجي والنجم في ملعب رادس")])
    assert top_doc(index, "حكومة الوفاق") == "libya"  # not visible before commit
    index.commit()
    assert "libya" not in found(index, "حكومة الوفاق")
    assert top_doc(index, "مباراة الترجي") == "libya"
    index.remove_docs(["libya"])
    index.commit()
    assert "libya" not in found(index, "مباراة الترجي")
    assert len(index) == 3


def test_reload_from_disk_in_a_new_process(tmp_path: Path, store: MemoryStore) -> None:
    build(tmp_path, store)
    fresh = BM25Index(tmp_path / "kw", store)
    assert top_doc(fresh, "الحكومه الليبيه") == "libya"
    assert fresh.version == store.meta[VERSION_KEY]


def test_other_process_commit_is_picked_up_by_refresh(tmp_path: Path, store: MemoryStore) -> None:
    reader = build(tmp_path, store)
    writer = BM25Index(tmp_path / "kw", store)
    store.delete_doc_chunks("tunis")
    writer.remove_docs(["tunis"])
    writer.commit()
    assert top_doc(reader, "الانتخابات البلدية") == "tunis"  # stale until refreshed
    reader.refresh_if_stale()
    assert "tunis" not in found(reader, "الانتخابات البلدية")
    assert reader.version == writer.version


def test_missing_disk_copy_is_rebuilt_from_the_store(tmp_path: Path, store: MemoryStore) -> None:
    build(tmp_path, store)
    other_machine = BM25Index(tmp_path / "elsewhere", store)  # same Chroma, empty local folder
    other_machine.refresh_if_stale()
    assert top_doc(other_machine, "طرابلس") == "libya"
    assert (tmp_path / "elsewhere" / "CURRENT").read_text() == store.meta[VERSION_KEY]


def test_half_written_version_is_rebuilt_from_the_store(tmp_path: Path, store: MemoryStore) -> None:
    index = build(tmp_path, store)
    manifest = json.loads((tmp_path / "kw" / f"manifest-{index.version}.json").read_text(encoding="utf-8"))
    (tmp_path / "kw" / f"seg-{manifest['segments'][0]}" / "records.jsonl").write_text("{not json", encoding="utf-8")
    recovered = BM25Index(tmp_path / "kw", store)
    assert top_doc(recovered, "الناتو") == "nato"
    assert recovered.version == store.meta[VERSION_KEY]


def test_unstamped_disk_copy_behind_the_store_is_rebuilt(tmp_path: Path, store: MemoryStore) -> None:
    build(tmp_path, store, doc_ids=("libya", "tunis"))
    del store.meta[VERSION_KEY]  # e.g. a store restored from a backup without metadata
    store.add_chunks([chunk("nato")], [[1.0, 0.0]])
    recovered = BM25Index(tmp_path / "kw", store)
    assert top_doc(recovered, "الناتو") == "nato"
    assert store.meta[VERSION_KEY] == recovered.version


def test_refresh_is_one_metadata_read_when_nothing_moved(tmp_path: Path, store: MemoryStore) -> None:
    index = build(tmp_path, store)
    before = store.meta_reads
    for _ in range(5):
        index.refresh_if_stale()
    assert store.meta_reads - before == 5


def test_empty_index_searches_empty(tmp_path: Path, store: MemoryStore) -> None:
    index = BM25Index(tmp_path / "kw", store)
    assert index.search("طرابلس", 5) == []
    index.add([chunk("libya")])
    index.commit()
    assert top_doc(index, "طرابلس") == "libya"


def test_published_day_parses_iso_and_arabic_digits() -> None:
    assert day_number("2017-03-05T10:00:00") == 20170305
    assert day_number("٢٠١٧-٠٣-٠٥") == 20170305
    assert day_number(None) == 0
    assert day_number("March 2017") == 20170301  # a month counts from its first day
    assert day_number("not a date") == 0


# --- segments: a change costs what it changes ---------------------------------------------------------
WORDS = ("حكومة الوفاق طرابلس اشتباكات الانتخابات البلدية تونس الهيئة المستقلة حلف الناتو بروكسل الإنفاق "
         "العسكري مستشفى صفاقس وزير الصحة روسيا موسكو حفتر بنغازي الجيش الليبي النفط المؤسسة الوطنية "
         "البرلمان مجلس النواب الأمم المتحدة المبعوث الهجرة البحر المتوسط إيطاليا فرنسا مصر القاهرة").split()


def synthetic(doc: int, ordinal: int = 0, version: int = 0) -> Chunk:
    rng = random.Random(doc * 1000 + ordinal * 10 + version)
    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
    return Chunk(f"d{doc}:{ordinal}", f"d{doc}", f"عنوان {doc}", body, 0, len(body), ordinal,
                 "wire" if doc % 2 else "agency", f"2016-0{1 + doc % 9}-01")


def ranked(index: BM25Index, query: str, filters: SearchFilters | None = None) -> list[tuple[str, float]]:
    return [(c.chunk_id, round(score, 5)) for c, score in index.search(query, 20, filters)]


def test_a_commit_writes_one_small_segment_and_leaves_the_rest_alone(tmp_path: Path, store: MemoryStore) -> None:
    index = BM25Index(tmp_path / "kw", store)
    index.add([synthetic(d, o) for d in range(40) for o in range(3)])
    index.commit()
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / "kw").glob("seg-*/*")}
    index.add([synthetic(1000)])
    index.commit()
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (tmp_path / "kw").glob("seg-*/*")}
    assert all(after[p] == stamp for p, stamp in before.items())  # nothing old rewritten
    new_files = set(after) - set(before)
    (records,) = [p for p in new_files if p.name == "records.jsonl"]
    assert len(records.read_text(encoding="utf-8").splitlines()) == 1
    assert len(index) == 121


def test_many_small_commits_rank_exactly_like_one_fresh_build(tmp_path: Path, store: MemoryStore) -> None:
    rng = random.Random(7)
    index = BM25Index(tmp_path / "kw", store)
    live: dict[str, Chunk] = {}
    for step in range(60):
        doc = rng.randrange(25)
        if rng.random() < 0.25:
            index.remove_docs([f"d{doc}"])
            live = {k: c for k, c in live.items() if c.doc_id != f"d{doc}"}
        else:  # add or update (replace every chunk of the doc)
            index.remove_docs([f"d{doc}"])
            live = {k: c for k, c in live.items() if c.doc_id != f"d{doc}"}
            chunks = [synthetic(doc, o, version=step) for o in range(rng.randint(1, 3))]
            index.add(chunks)
            live.update({c.chunk_id: c for c in chunks})
        index.commit()
    fresh = BM25Index(tmp_path / "fresh", MemoryStore())
    fresh.add(list(live.values()))
    fresh.commit()
    assert len(index) == len(fresh) == len(live)
    assert index.segment_count <= 8  # merged as it went, not one segment per commit
    filters = SearchFilters(sources=("wire",), published_from="2016-03")
    for query in ("حكومة الوفاق في طرابلس", "حلف الناتو", "روسيا وحفتر في بنغازي", "عنوان 7"):
        assert ranked(index, query) == ranked(fresh, query)
        assert ranked(index, query, filters) == ranked(fresh, query, filters)
    reopened = BM25Index(tmp_path / "kw", store)  # and the same after a restart
    assert ranked(reopened, "الهجرة البحر المتوسط") == ranked(fresh, "الهجرة البحر المتوسط")


def test_old_segments_and_manifests_are_pruned(tmp_path: Path, store: MemoryStore) -> None:
    index = BM25Index(tmp_path / "kw", store)
    for doc in range(30):
        index.add([synthetic(doc)])
        index.commit()
    assert len(list((tmp_path / "kw").glob("manifest-*.json"))) <= 2
    assert len(list((tmp_path / "kw").glob("seg-*"))) <= 2 * index.segment_count + 2


@pytest.mark.parametrize(("sizes", "take"), [
    ([100], 1), ([100, 1], 1), ([100, 40, 10], 1), ([100, 40, 10, 6], 2), ([100, 40, 10, 30], 4), ([100, 60], 2),
])
def test_merge_plan_keeps_segment_sizes_geometric(sizes: list[int], take: int) -> None:
    assert merge_plan(sizes) == take


# --- several servers on one store: catching up through the change feed --------------------------------
def write(index: BM25Index, store: MemoryStore, add: Sequence[Chunk] = (), remove: Sequence[str] = ()) -> None:
    """What the ingest pipeline does: the store first, then the keyword index."""
    for doc_id in {*remove, *(c.doc_id for c in add)}:
        store.delete_doc_chunks(doc_id)
    index.remove_docs([*remove, *(c.doc_id for c in add)])
    if add:
        store.add_chunks(list(add), [[1.0, 0.0]] * len(add))
        index.add(list(add))
    index.commit()


def test_a_second_server_catches_up_without_a_rebuild(tmp_path: Path, store: MemoryStore) -> None:
    server_a = BM25Index(tmp_path / "a", store)
    write(server_a, store, add=[synthetic(d, o) for d in range(30) for o in range(2)])
    server_b = BM25Index(tmp_path / "b", store)  # its own data folder, the same Chroma
    server_b.refresh_if_stale()
    b_files = {p: p.stat().st_mtime_ns for p in (tmp_path / "b").glob("seg-*/*")}
    write(server_a, store, add=[chunk("libya")])
    write(server_a, store, remove=["d3"])
    write(server_a, store, add=[synthetic(5, 0, version=99)])  # an update: same chunk id, new text
    server_b.refresh_if_stale()
    assert server_b.version == server_a.version
    assert top_doc(server_b, "توقفت بعد وساطة") == "libya"
    assert "d3" not in {c.doc_id for c, _ in server_b.search("عنوان 3", 50)}
    new_segments = {p.parent for p in (tmp_path / "b").glob("seg-*/records.jsonl")} - {p.parent for p in b_files}
    written = sum(len((seg / "records.jsonl").read_text(encoding="utf-8").splitlines()) for seg in new_segments)
    assert written == 2  # caught up by re-reading the touched articles (libya, d5), not all 61 chunks
    for query in ("حكومة الوفاق في طرابلس", "روسيا وحفتر", "عنوان 5"):
        assert ranked(server_b, query) == ranked(server_a, query)


def test_a_server_too_far_behind_rebuilds_and_is_still_right(tmp_path: Path, store: MemoryStore,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rag.retrieval.keyword_feed.KEEP", 3)
    server_a = BM25Index(tmp_path / "a", store)
    write(server_a, store, add=[synthetic(0)])
    server_b = BM25Index(tmp_path / "b", store)
    server_b.refresh_if_stale()
    for doc in range(1, 8):
        write(server_a, store, add=[synthetic(doc)])
    server_b.refresh_if_stale()
    assert len(server_b) == len(server_a) == 8
    assert ranked(server_b, "عنوان 6") == ranked(server_a, "عنوان 6")


def test_segments_analysed_by_an_older_analyzer_are_rebuilt_from_the_store(
        tmp_path: Path, store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    build(tmp_path, store)  # persisted with today's analyzer
    monkeypatch.setattr("rag.arabic.ANALYZER_VERSION", 99)  # a release whose stemmer differs
    monkeypatch.setattr("rag.arabic.stem", lambda token: token[::-1])
    reopened = BM25Index(tmp_path / "kw", store)
    fresh = BM25Index(tmp_path / "fresh", MemoryStore())
    fresh.add([chunk(d) for d in DOCS])
    fresh.commit()
    for query in ("حكومة الوفاق الليبية", "الانتخابات البلدية في تونس"):
        assert ranked(reopened, query) == ranked(fresh, query)
