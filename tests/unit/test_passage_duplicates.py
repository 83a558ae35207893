"""The same passage in different stories: search shows a wire paragraph or an official statement quoted verbatim
once, the other articles that carry it under ``also``; passages that only share a few words stay apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import arabic
from rag.ingestion.near_duplicates import NearDuplicateIndex
from rag.ingestion.pipeline import IngestPipeline
from rag.retrieval.collapse import PASSAGE_THRESHOLD, CollapsingRetriever, fold_passages, passage_containment
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.keyword import BM25Index
from rag.service import Sanad
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Chunk, Hit, SameStory
from tests.fakes.memory_store import HashEmbedder, MemoryStore

SAMPLES = PROJECT_ROOT / "data" / "articles"
NATO = "001_0bab15b94e026df5"  # NATO and Sarraj's security forces
HAFTAR_MOSCOW = "003_a8c3a090628d7966"  # Haftar asks Russia for support: a different story
OTHER = "004_be4ab16bc62865bc"

STATEMENT = ("وقالت وزارة الخارجية في بيان رسمي إن الحكومة تؤكد التزامها الكامل بالحل السياسي للأزمة الليبية، "
             "وتدعو جميع الأطراف إلى وقف إطلاق النار فوراً والعودة إلى طاولة الحوار تحت رعاية الأمم المتحدة، "
             "مشددة على أن أي تدخل عسكري أجنبي لن يؤدي إلا إلى إطالة أمد الصراع وزيادة معاناة المدنيين.")
#: the statement as another outlet printed it: other punctuation, diacritics, hamza carriers, one word changed
EDITED = ("وقالت وزارة الخارجية في بيانٍ رسمي: ان الحكومة تؤكد التزامها التام بالحل السياسي للازمة الليبية "
          "وتدعو جميع الاطراف الى وقف اطلاق النار فورا، والعودة الى طاولة الحوار تحت رعاية الامم المتحدة؛ "
          "مشدّدة على ان اي تدخل عسكري اجنبي لن يؤدي الا الى اطالة امد الصراع وزيادة معاناة المدنيين")
#: opens like the statement, then says something else
FEW_WORDS = ("وقالت وزارة الخارجية في بيان رسمي إن الوزير سيزور القاهرة الأسبوع المقبل لبحث التعاون الاقتصادي "
             "وتوقيع اتفاقيات في مجالات الطاقة والنقل مع نظيره المصري، على أن تعقد اللجنة المشتركة اجتماعها في الربيع.")
QUESTION = "ماذا قالت وزارة الخارجية في بيان رسمي عن وقف إطلاق النار والعودة إلى طاولة الحوار"


def with_paragraph(doc_id: str, paragraph: str) -> str:
    """The sample article with ``paragraph`` inserted as its fourth paragraph."""
    paragraphs = (SAMPLES / f"{doc_id}.txt").read_text(encoding="utf-8").split("\n\n")
    return "\n\n".join([*paragraphs[:3], paragraph, *paragraphs[3:]])


@pytest.fixture()
def service(tmp_path: Path) -> Sanad:
    """The real pipeline, near-duplicate clusters, retriever and collapse over the memory store."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for doc_id, paragraph in ((NATO, STATEMENT), (HAFTAR_MOSCOW, EDITED), (OTHER, FEW_WORDS)):
        (folder / f"{doc_id}.txt").write_text(with_paragraph(doc_id, paragraph), encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", chunk_size=80, chunk_overlap=0)  # type: ignore[call-arg]
    store, embedder = MemoryStore(), HashEmbedder()
    keyword = BM25Index(tmp_path / "kw", store)
    dups = NearDuplicateIndex(tmp_path / "data" / "dups.npz", store)
    pipeline = IngestPipeline(store, keyword, embedder, settings, near_duplicates=dups)
    pipeline.ingest([folder])
    retriever = CollapsingRetriever(HybridRetriever(store, keyword, embedder, settings), dups.snapshot, top_k=5)
    return Sanad(store=store, ingestor=pipeline, retriever=retriever, answerer=None,  # type: ignore[arg-type]
                 embedder=embedder, llm=None, embed_model="hash", embed_error=None, chroma_mode="embedded",
                 ollama_host="", ollama_model="", clusters=dups.snapshot)


def carries(hit: Hit, phrase: str) -> bool:
    return arabic.normalize(phrase) in arabic.normalize(hit.chunk.text)


def test_a_shared_paragraph_is_shown_once_with_the_other_article(service: Sanad) -> None:
    assert len({d.cluster for d in service.documents()}) == 3  # three different stories
    every = service.search(QUESTION, k=5, collapse=False).hits
    copies = [h.chunk.doc_id for h in every if carries(h, "طاولة الحوار")]
    assert sorted(copies) == sorted([NATO, HAFTAR_MOSCOW])
    hits = service.search(QUESTION, k=5).hits
    shown = [h for h in hits if carries(h, "طاولة الحوار")]
    assert [h.chunk.doc_id for h in shown] == copies[:1]  # the better-ranked copy stands for both
    assert [m.doc_id for m in shown[0].also] == copies[1:]
    assert shown[0].also[0].title and shown[0].also[0].source.endswith(f"{copies[1]}.txt")
    assert len(hits) == 5 and len({h.chunk.chunk_id for h in hits}) == 5  # the freed place is filled


def test_passages_sharing_a_few_words_stay_separate(service: Sanad) -> None:
    hits = service.search(QUESTION, k=5).hits
    assert [h.chunk.doc_id for h in hits if carries(h, "اللجنة المشتركة")] == [OTHER]
    assert all(m.doc_id != OTHER for h in hits for m in h.also)


def test_every_copy_when_asked(service: Sanad) -> None:
    hits = service.search(QUESTION, k=5, collapse=False).hits
    assert {NATO, HAFTAR_MOSCOW} <= {h.chunk.doc_id for h in hits if carries(h, "طاولة الحوار")}
    assert all(not h.also for h in hits)


def test_light_edits_stay_above_the_threshold_and_a_shared_opening_far_below() -> None:
    assert passage_containment(EDITED, STATEMENT) >= PASSAGE_THRESHOLD
    assert passage_containment(STATEMENT, EDITED) >= PASSAGE_THRESHOLD
    assert passage_containment(FEW_WORDS, STATEMENT) < PASSAGE_THRESHOLD / 2
    assert passage_containment("", STATEMENT) == 0.0


def hit(doc_id: str, text: str, score: float, also: tuple[SameStory, ...] = ()) -> Hit:
    chunk = Chunk(f"{doc_id}:0", doc_id, f"title {doc_id}", text, 0, len(text), 0, f"{doc_id}.txt", outlet=doc_id)
    return Hit(chunk=chunk, score=score, also=also)


def test_a_folded_copy_brings_its_own_story_outlets_once() -> None:
    """The copy's article stood for a cluster (its other outlets in ``also``): they carry the passage too."""
    syndicated = SameStory("b2", "b", "title b2", "b2.txt", None, "b2")
    hits = [hit("a", STATEMENT, 3.0), hit("c", FEW_WORDS, 2.0), hit("b", EDITED, 1.0, (syndicated,)),
            hit("d", STATEMENT, 0.5)]
    folded = fold_passages(hits, {})
    assert [h.chunk.doc_id for h in folded] == ["a", "c"]
    assert [(m.doc_id, m.cluster, m.outlet) for m in folded[0].also] == [("b", "b", "b"), ("b2", "b", "b2"),
                                                                         ("d", "d", "d")]
    assert folded[1].also == ()


def test_a_copy_inside_a_longer_passage_folds_but_a_longer_one_below_keeps_its_own_text() -> None:
    longer = f"{FEW_WORDS} {STATEMENT}"
    assert [h.chunk.doc_id for h in fold_passages([hit("a", longer, 2.0), hit("b", EDITED, 1.0)], {})] == ["a"]
    assert [h.chunk.doc_id for h in fold_passages([hit("b", EDITED, 2.0), hit("a", longer, 1.0)], {})] == ["b", "a"]


def test_a_short_line_is_never_folded_and_one_article_keeps_its_passages() -> None:
    title = "بيان وزارة الخارجية"
    assert len(fold_passages([hit("a", f"{title} {STATEMENT}", 2.0), hit("b", title, 1.0)], {})) == 2
    same_doc = [hit("a", STATEMENT, 2.0), hit("a", EDITED, 1.0)]
    assert len(fold_passages(same_doc, {})) == 2
