"""Near-duplicate articles: copies clustered, shared-lead stories kept apart, hand-over on removal, persistence,
and search that shows one passage per story unless asked for every copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import arabic
from rag.ingestion.near_duplicates import DuplicateParams, NearDuplicateIndex
from rag.ingestion.pipeline import IngestPipeline
from rag.ingestion.readers import load_file
from rag.retrieval.collapse import CollapsingRetriever
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.keyword import BM25Index
from rag.service import Sanad
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Article
from tests.fakes.memory_store import HashEmbedder, MemoryStore

SAMPLES = PROJECT_ROOT / "data" / "articles"
HAFTAR_RUSSIA = "000_ffaf197de1d2d33f"  # 70 soldiers flown to Russia for treatment
NATO = "001_0bab15b94e026df5"
HAFTAR_MOSCOW = "003_a8c3a090628d7966"


def sample(doc_id: str) -> Article:
    return load_file(SAMPLES / f"{doc_id}.txt")[0][0]


def republish(original: Article, n: int) -> str:
    """Another outlet's copy, as a file: its own header, title and footer; one sentence dropped, two
    neighbours swapped, two words changed."""
    spans = arabic.sentence_spans(original.text)
    pieces = [original.text[(spans[i - 1][1] if i else 0):e] for i, (_, e) in enumerate(spans)]
    del pieces[2 + n]
    pieces[4], pieces[5] = pieces[5], pieces[4]
    body = "".join(pieces).replace("روسيا", "موسكو", 1).replace("العسكري", "الحربي", 1)
    return (f"الرئيسية > أخبار > عربي {n}\n\nنقل جنود حفتر إلى روسيا للعلاج ({n})\n\n{body}\n\n"
            f"جميع الحقوق محفوظة © موقع {n}\nتابعونا على فيسبوك\n")


def shared_lead(lead_from: Article, rest_from: Article) -> str:
    """A different story that opens with the same lead: the first ~paragraph of one, the rest of another."""
    lead_paragraphs = lead_from.text.split("\n\n")[:2]  # a caption line, then the lead paragraph
    rest = rest_from.text.split("\n\n")[1:]
    return "\n\n".join([rest_from.title, *lead_paragraphs, *rest]) + "\n"


def article(tmp_path: Path, name: str, text: str) -> Article:
    path = tmp_path / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    return load_file(path)[0][0]


@pytest.fixture()
def story(tmp_path: Path) -> dict[str, Article]:
    original = sample(HAFTAR_RUSSIA)
    return {
        "original": original,
        "copy1": article(tmp_path, "copy1", republish(original, 1)),
        "copy2": article(tmp_path, "copy2", republish(original, 2)),
        "nato": sample(NATO),
        "lead_only": article(tmp_path, "lead_only", shared_lead(original, sample(HAFTAR_MOSCOW))),
    }


def clusters(index: NearDuplicateIndex) -> dict[str, str]:
    return {doc_id: s.cluster for doc_id, s in index.snapshot().items()}


def test_copies_join_the_earliest_article_and_a_shared_lead_does_not(story: dict[str, Article],
                                                                     tmp_path: Path) -> None:
    index = NearDuplicateIndex(tmp_path / "dups.npz")
    index.add([story["original"], story["nato"], story["lead_only"]])
    index.add([story["copy1"], story["copy2"]])
    got = clusters(index)
    assert got["copy1"] == got["copy2"] == got[HAFTAR_RUSSIA] == HAFTAR_RUSSIA
    assert got["lead_only"] == "lead_only"
    assert got[NATO] == NATO


def test_short_stories_sharing_a_long_lead_stay_apart(tmp_path: Path) -> None:
    """The lead is half of each article, so the whole texts look alike; only the lead guard tells them apart
    (without it they are merged, which the second half checks)."""
    original = sample(HAFTAR_RUSSIA).text.split("\n\n")
    lead = original[1]  # the 69-word lead paragraph
    first = article(tmp_path, "first", f"جنود إلى روسيا\n\n{lead}\n\n{' '.join(original[3].split()[:55])}\n")
    other = sample(HAFTAR_MOSCOW).text.split("\n\n")
    second = article(tmp_path, "second", f"حفتر في موسكو\n\n{lead}\n\n{' '.join(other[1].split()[:55])}\n")
    guarded = NearDuplicateIndex(None)
    guarded.add([first, second])
    assert clusters(guarded) == {"first": "first", "second": "second"}
    unguarded = NearDuplicateIndex(None, params=DuplicateParams(rest_threshold=0.0))
    unguarded.add([first, second])
    assert clusters(unguarded) == {"first": "first", "second": "first"}


def test_removing_the_representative_hands_over_to_the_next_member(story: dict[str, Article],
                                                                   tmp_path: Path) -> None:
    index = NearDuplicateIndex(tmp_path / "dups.npz")
    index.add([story["original"], story["copy1"], story["copy2"], story["nato"]])
    index.remove([HAFTAR_RUSSIA])
    got = clusters(index)
    assert HAFTAR_RUSSIA not in got
    assert got["copy1"] == got["copy2"] == "copy1"
    index.remove(["copy1"])
    assert clusters(index)["copy2"] == "copy2"


def test_clusters_persist_across_processes_and_removals(story: dict[str, Article], tmp_path: Path) -> None:
    path = tmp_path / "dups.npz"
    writer, reader = NearDuplicateIndex(path), NearDuplicateIndex(path)
    writer.add([story["original"], story["copy1"]])
    assert clusters(reader) == {HAFTAR_RUSSIA: HAFTAR_RUSSIA, "copy1": HAFTAR_RUSSIA}
    reopened = NearDuplicateIndex(path)  # a later process: the new copy meets the saved signatures
    reopened.add([story["copy2"]])
    reopened.remove([HAFTAR_RUSSIA])
    assert clusters(reader) == {"copy1": "copy1", "copy2": "copy1"}
    NearDuplicateIndex(path).remove(["copy1"])  # a removal is the first thing a process does
    assert clusters(reader) == {"copy2": "copy2"}


def test_state_is_rebuilt_from_the_store_when_its_file_is_lost(story: dict[str, Article], tmp_path: Path) -> None:
    store = MemoryStore()
    for a in (story["original"], story["copy1"], story["copy2"]):
        store.put_doc(a, 1, "complete")
    index = NearDuplicateIndex(tmp_path / "dups.npz", store)
    index.add([story["copy2"]])  # the file never knew the first two: they are signed from the store
    assert set(clusters(index).values()) == {HAFTAR_RUSSIA}
    store.delete_doc(HAFTAR_RUSSIA)  # lost by the store (a crash between the two writes)
    index.remove(["nothing-known"])
    assert clusters(index) == {"copy1": "copy1", "copy2": "copy1"}


# --- search --------------------------------------------------------------------------------------
@pytest.fixture()
def service(story: dict[str, Article], tmp_path: Path) -> Sanad:
    """The real pipeline, retriever and collapse over the memory store, ingesting files in order."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    settings = Settings(data_dir=tmp_path / "data", chunk_size=400, chunk_overlap=0)  # type: ignore[call-arg]
    store, embedder = MemoryStore(), HashEmbedder()
    keyword = BM25Index(tmp_path / "kw", store)
    dups = NearDuplicateIndex(tmp_path / "data" / "dups.npz", store)
    pipeline = IngestPipeline(store, keyword, embedder, settings, near_duplicates=dups)
    for doc_id in (HAFTAR_RUSSIA, NATO, HAFTAR_MOSCOW):
        (folder / f"{doc_id}.txt").write_text((SAMPLES / f"{doc_id}.txt").read_text(encoding="utf-8"), encoding="utf-8")
    pipeline.ingest([folder])
    for n in (1, 2):
        path = folder / f"copy{n}.txt"
        path.write_text(republish(story["original"], n), encoding="utf-8")
        pipeline.ingest([path])
    retriever = CollapsingRetriever(HybridRetriever(store, keyword, embedder, settings), dups.snapshot, top_k=5)
    return Sanad(store=store, ingestor=pipeline, retriever=retriever, answerer=None,  # type: ignore[arg-type]
                 embedder=embedder, llm=None, embed_model="hash", embed_error=None, chroma_mode="embedded",
                 ollama_host="", ollama_model="", clusters=dups.snapshot)


QUESTION = "نقل جنود من قوات حفتر جوا إلى روسيا للعلاج"


def test_top5_holds_one_article_per_story_with_the_other_outlets(service: Sanad) -> None:
    stories = {d.doc_id: d.cluster for d in service.documents()}
    hits = service.search(QUESTION, k=5).hits
    docs = {h.chunk.doc_id for h in hits}
    assert len({stories[d] for d in docs}) == len(docs)
    top = hits[0]
    assert stories[top.chunk.doc_id] == HAFTAR_RUSSIA
    assert {m.doc_id for m in top.also} == {HAFTAR_RUSSIA, "copy1", "copy2"} - {top.chunk.doc_id}


def test_every_copy_when_asked(service: Sanad) -> None:
    hits = service.search(QUESTION, k=5, collapse=False).hits
    assert {"copy1", "copy2", HAFTAR_RUSSIA} <= {h.chunk.doc_id for h in hits}
    assert all(not h.also for h in hits)


def test_docs_show_the_cluster_and_removal_keeps_it_consistent(service: Sanad) -> None:
    assert {d.doc_id: d.cluster for d in service.documents()} == {
        HAFTAR_RUSSIA: HAFTAR_RUSSIA, "copy1": HAFTAR_RUSSIA, "copy2": HAFTAR_RUSSIA,
        NATO: NATO, HAFTAR_MOSCOW: HAFTAR_MOSCOW}
    service.remove(HAFTAR_RUSSIA)
    assert {d.doc_id: d.cluster for d in service.documents() if d.doc_id.startswith("copy")} == {
        "copy1": "copy1", "copy2": "copy1"}
