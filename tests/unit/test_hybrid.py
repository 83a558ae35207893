"""HybridRetriever with in-memory fakes: modes, filters on both sides, cross-lingual routing, LLM failure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from rag.errors import ModelUnavailableError, RetrievalError
from rag.generation.answer import Answerer
from rag.profile import CONSERVATIVE, ModelProfile
from rag.prompts import PromptLibrary
from rag.retrieval.hybrid import LANG_KEY, HybridRetriever
from rag.retrieval.keyword import BM25Index
from rag.settings import PROJECT_ROOT, Settings
from rag.types import Chunk, SearchFilters
from rag.wiring import _profile
from tests.fakes.memory_store import HashEmbedder, MemoryStore

ARTICLES = [
    ("libya", "اشتباكات في طرابلس", "أعلنت حكومة الوفاق الوطني أن الاشتباكات في العاصمة طرابلس توقفت.", "a", "2017-03-05"),
    ("tunis", "الانتخابات البلدية", "قالت هيئة الانتخابات في تونس إن نسبة المشاركة بلغت 35 بالمائة.", "b", "2018-05-07"),
    ("sfax", "مستشفى جديد", "افتتح وزير الصحة مستشفى جامعيا جديدا في مدينة صفاقس.", "b", "2016-01-02"),
    ("english", "Health minister visit", "The health minister opened a new hospital in Sfax on Monday.", "c", None),
]


class ScriptedLLM:
    """Answers each chat with the next scripted reply, or raises it when it is an exception."""

    model = "scripted"
    num_ctx = 4096

    def __init__(self, *replies: str | Exception) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    def chat(self, messages: Sequence[dict[str, str]], *, max_tokens: int | None = None) -> tuple[str, dict[str, int]]:
        self.prompts.append(messages[-1]["content"])
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply, {"prompt_tokens": 1, "completion_tokens": 1}


@pytest.fixture()
def parts(tmp_path: Path) -> tuple[MemoryStore, BM25Index, HashEmbedder]:
    store, embedder = MemoryStore(), HashEmbedder()
    chunks = [Chunk(f"{d}:0", d, t, x, 0, len(x), 0, s, p) for d, t, x, s, p in ARTICLES]
    store.add_chunks(chunks, embedder.embed_passages([f"{c.title}\n{c.text}" for c in chunks]))
    keyword = BM25Index(tmp_path / "kw", store)
    keyword.add(chunks)
    keyword.commit()
    return store, keyword, embedder


def settings(**values: object) -> Settings:
    return Settings(data_dir=Path("/nonexistent"), **values)  # type: ignore[arg-type]


def retriever(parts, llm=None, profile: ModelProfile | None = None,  # type: ignore[no-untyped-def]
              **values: object) -> HybridRetriever:
    store, keyword, embedder = parts
    return HybridRetriever(store, keyword, embedder, settings(**values), llm=llm,
                           prompts=PromptLibrary(PROJECT_ROOT / "prompts"), profile=profile)


def doc_ids(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.chunk.doc_id for h in result.hits]


def test_hybrid_finds_variant_spelling_first_with_both_scores(parts) -> None:  # type: ignore[no-untyped-def]
    result = retriever(parts).search("الحكومه في طرابلس", k=3)
    assert doc_ids(result)[0] == "libya"
    top = result.hits[0]
    assert top.keyword_score is not None and top.dense_score is not None
    assert result.lang == "ar" and result.keyword_query == "الحكومه في طرابلس"
    assert 0.5 < result.confidence <= 1.0
    assert {"keyword_ms", "embed_ms", "dense_ms", "total_ms"} <= set(result.timings_ms)


def test_modes(parts) -> None:  # type: ignore[no-untyped-def]
    r = retriever(parts)
    keyword_only = r.search("نسبة المشاركة في الانتخابات", mode="keyword")
    assert doc_ids(keyword_only)[0] == "tunis"
    assert all(h.dense_score is None for h in keyword_only.hits)
    dense_only = r.search("نسبة المشاركة في الانتخابات", mode="dense")
    assert all(h.keyword_score is None for h in dense_only.hits) and dense_only.keyword_query is None
    assert doc_ids(dense_only)[0] == "tunis"


def test_no_embedder_is_keyword_only_and_dense_mode_says_why(parts) -> None:  # type: ignore[no-untyped-def]
    store, keyword, _ = parts
    r = HybridRetriever(store, keyword, None, settings())
    assert doc_ids(r.search("مستشفى صفاقس"))[0] == "sfax"
    with pytest.raises(RetrievalError) as caught:
        r.search("مستشفى صفاقس", mode="dense")
    assert caught.value.hint


def test_keyword_only_store_signature_skips_dense(parts) -> None:  # type: ignore[no-untyped-def]
    store, keyword, embedder = parts
    store.update_collection_meta({"sanad:embed_model": "none (keyword-only)"})
    result = HybridRetriever(store, keyword, embedder, settings()).search("مستشفى صفاقس")
    assert doc_ids(result)[0] == "sfax"  # keyword hits found, so the checks below are not vacuous
    assert embedder.queries == [] and all(h.dense_score is None for h in result.hits)
    assert "embed_ms" not in result.timings_ms and "dense_ms" not in result.timings_ms


@pytest.mark.parametrize(
    "filters, allowed",
    [
        (SearchFilters(doc_ids=("sfax",)), {"sfax"}),
        (SearchFilters(sources=("b",)), {"tunis", "sfax"}),
        (SearchFilters(published_from="2017-01-01"), {"libya", "tunis"}),
        (SearchFilters(published_to="2016-12-31"), {"sfax"}),
    ],
)
def test_filters_apply_to_both_sides(parts, filters: SearchFilters, allowed: set[str]) -> None:  # type: ignore[no-untyped-def]
    result = retriever(parts).search("طرابلس الانتخابات مستشفى hospital", k=10, filters=filters)
    assert result.hits and set(doc_ids(result)) <= allowed


def test_k_and_diversity(parts) -> None:  # type: ignore[no-untyped-def]
    r = retriever(parts, max_per_doc=1)
    result = r.search("مستشفى صفاقس الانتخابات طرابلس", k=2)
    assert len(result.hits) == 2 and len(set(doc_ids(result))) == 2


def test_cross_lingual_question_is_translated_for_the_keyword_side(parts) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM("الترجمة: ما نسبة المشاركة في الانتخابات؟")
    r = retriever(parts, llm=llm)
    result = r.search("What was the turnout in the elections?")
    assert result.lang == "en" and result.keyword_query == "ما نسبة المشاركة في الانتخابات؟"
    assert doc_ids(result)[0] == "tunis"
    assert "What was the turnout" in llm.prompts[0] and "Arabic" in llm.prompts[0]
    r.search("What was the turnout in the elections?")
    assert len(llm.prompts) == 1  # cached


def test_llm_failure_falls_back_and_is_noted(parts) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(ModelUnavailableError("ollama down", hint="start it"))
    result = retriever(parts, llm=llm).search("new hospital opened by the health minister")
    assert result.hits and result.keyword_query is not None and "not translated" in result.keyword_query


def test_corpus_language_from_collection_meta(parts) -> None:  # type: ignore[no-untyped-def]
    store, keyword, embedder = parts
    store.update_collection_meta({LANG_KEY: "en"})
    llm = ScriptedLLM("should not be called")
    r = HybridRetriever(store, keyword, embedder, settings(), llm=llm, prompts=PromptLibrary(PROJECT_ROOT / "prompts"))
    result = r.search("health minister hospital")
    assert llm.prompts == [] and doc_ids(result)[0] == "english"


def test_other_process_commit_is_seen_by_search(parts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, keyword, embedder = parts
    r = HybridRetriever(store, keyword, embedder, settings())
    assert doc_ids(r.search("الانتخابات البلدية", mode="keyword"))[0] == "tunis"
    writer = BM25Index(tmp_path / "kw", store)
    store.delete_doc_chunks("tunis")
    writer.remove_docs(["tunis"])
    writer.commit()
    assert "tunis" not in doc_ids(r.search("الانتخابات البلدية", mode="keyword"))


# Answerable questions (each about one article, worded differently from it) and off-topic ones.
ON_TOPIC = [
    ("اشتباكات العاصمة طرابلس", "libya"),
    ("ما نسبة المشاركة في الانتخابات البلدية في تونس؟", "tunis"),
    ("من افتتح المستشفى الجامعي في صفاقس؟", "sfax"),
]
OFF_TOPIC = ["من فاز بكأس العالم لكرة القدم عام ١٩٩٨؟", "ما هي وصفة الكسكسي بالسمك؟"]


def service_profile(embedder: HashEmbedder) -> ModelProfile:
    """The profile the service would run this embedder with (``rag.wiring._profile``, no explicit settings).

    The hash test embedder has no fitted profile, so this is CONSERVATIVE (known=False): its calibration
    and its refusal threshold are the ones a real install with an unfitted embedding model refuses with."""
    profile = _profile(settings(), embedder)
    assert not profile.known and profile.key == embedder.model_name
    assert profile.calibration == CONSERVATIVE.calibration
    assert profile.refusal_threshold == CONSERVATIVE.refusal_threshold
    return profile


@pytest.mark.parametrize(("question", "doc_id"), ON_TOPIC)
def test_answerable_question_clears_the_refusal_threshold(parts, question: str, doc_id: str) -> None:  # type: ignore[no-untyped-def]
    store, _, embedder = parts
    profile = service_profile(embedder)
    r = retriever(parts, profile=profile)
    result = r.search(question)
    assert doc_ids(result)[0] == doc_id
    assert result.confidence >= profile.refusal_threshold
    answer = Answerer(r, None, embedder, PromptLibrary(PROJECT_ROOT / "prompts"), settings(),
                      stored_vectors=store.chunk_vectors, profile=profile).ask(question, extractive=True)
    assert not answer.refused and answer.citations and answer.citations[0].doc_id == doc_id


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_question_falls_below_the_refusal_threshold_and_is_refused(parts, question: str) -> None:  # type: ignore[no-untyped-def]
    store, _, embedder = parts
    profile = service_profile(embedder)
    r = retriever(parts, profile=profile)
    result = r.search(question)
    assert result.hits  # something was retrieved: the refusal comes from the confidence, not from no hits
    assert result.confidence < profile.refusal_threshold
    answer = Answerer(r, None, embedder, PromptLibrary(PROJECT_ROOT / "prompts"), settings(),
                      stored_vectors=store.chunk_vectors, profile=profile).ask(question, extractive=True)
    assert answer.refused and not answer.citations
    assert any("refusal threshold" in note for note in answer.notes)  # refused by the threshold gate


def test_failed_translation_searches_the_original_words(parts) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(ModelUnavailableError("ollama down", hint="start it"))
    result = retriever(parts, llm=llm).search("Health minister visit Sfax hospital")
    assert result.keyword_query == "Health minister visit Sfax hospital (not translated: model_unavailable)"
    english = [h for h in result.hits if h.chunk.doc_id == "english"]
    assert english and english[0].keyword_score is not None and english[0].keyword_score > 0.3


def test_unusable_translation_is_not_used(parts) -> None:  # type: ignore[no-untyped-def]
    result = retriever(parts, llm=ScriptedLLM("Sorry, I cannot help.")).search("turnout in the elections")
    assert result.keyword_query is not None and "unusable translation" in result.keyword_query
