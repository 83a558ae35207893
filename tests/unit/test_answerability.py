"""The sentence-level answerability judgement, its refusal gate and the extractive quotes it chooses.

Weights here are hand-set (one feature switched on) so that each test states what that feature must do;
the fitted e5 weights are measured by benchmarks/answerability.py, not here.
"""

from __future__ import annotations

from dataclasses import replace

from rag.generation.answer import REFUSAL, Answerer
from rag.generation.answerability import FEATURES, Judgement, ScoredSentence, judge, sentence_features, weighted_coverage
from rag.generation.extractive import answering_sentences
from rag.profile import ModelProfile
from rag.prompts import PromptLibrary
from rag.settings import PROJECT_ROOT, Settings
from tests.fakes.fixtures import FakeRetriever, make_hits

ARTICLE = (
    "الجيش الوطني الليبي\n\n"
    "أكد مصدر عسكري أن جنودا من قوات حفتر نقلوا جوا إلى روسيا للعلاج. وقال المصدر إن عددهم 70 جنديا.\n\n"
    "وافق حلف شمال الأطلسي مبدئيا على طلب السراج إعادة تأهيل أجهزة الأمن في ليبيا."
)
PARAS = ARTICLE.split("\n\n")[1:]
HOW_MANY = "كم جنديا من قوات حفتر نقلوا إلى روسيا؟"


class FlatEmbedder:
    """Every text gets the same unit vector: cosines cannot tell sentences apart, so only the word and
    type features decide (what these tests isolate)."""

    model_name, backend, dim, max_tokens = "flat", "flat", 2, 512

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]


def weights(**on: float) -> tuple[float, ...]:
    """One weight per feature (0 unless named) and the bias last."""
    bias = on.pop("bias", 0.0)
    assert set(on) <= set(FEATURES)
    return (*(on.get(name, 0.0) for name in FEATURES), bias)


def profile(same: tuple[float, ...], threshold: float = 0.5) -> ModelProfile:
    return ModelProfile(key="test", answerability={"same": same, "cross": same}, answerability_threshold=threshold,
                        refusal_threshold=0.2)


def test_rare_question_words_weigh_more_than_the_topic_words_every_sentence_repeats() -> None:
    # "حفتر" is in all three sentences, "روسيا" in one: a sentence with only the rare word covers more
    texts = ["قوات حفتر في بنغازي", "قوات حفتر في طرابلس", "نقل جنود الى روسيا"]
    coverage = weighted_coverage("حفتر روسيا", texts)
    assert coverage[2] > coverage[0] == coverage[1] > 0.0
    assert weighted_coverage("", texts) == [0.0, 0.0, 0.0]


def test_every_sentence_gets_a_full_feature_row_and_neighbours_only_within_its_passage() -> None:
    hits = make_hits(ARTICLE, PARAS)
    spans, rows = sentence_features(HOW_MANY, hits, FlatEmbedder(), 0.7)
    assert [(i, ARTICLE[hits[i].chunk.start + a:hits[i].chunk.start + b][:8]) for i, a, b, _ in spans] == [
        (0, "أكد مصدر"), (0, "وقال الم"), (1, "وافق حلف")]
    assert all(len(row) == len(FEATURES) for row in rows)
    col = {name: FEATURES.index(name) for name in FEATURES}
    assert [row[col["typed"]] for row in rows] == [0.0, 1.0, 0.0]  # only "70 جنديا" answers "how many"
    assert [row[col["untyped_asked"]] for row in rows] == [1.0, 0.0, 1.0]
    assert rows[2][col["coverage_before"]] == 0.0  # its predecessor is in another passage
    assert rows[1][col["coverage_before"]] == rows[0][col["coverage"]] > 0.0
    assert [row[col["passage"]] for row in rows] == [0.0, 0.0, 1.0] and rows[0][col["confidence"]] == 0.7


def test_a_sentence_with_an_answer_of_the_asked_type_is_judged_best() -> None:
    hits = make_hits(ARTICLE, PARAS)
    judgement = judge(HOW_MANY, hits, FlatEmbedder(), profile(weights(typed=4.0, bias=-2.0)), 0.9)
    assert judgement is not None
    best = judgement.sentences[0]
    assert "70" in hits[best.hit].chunk.text[best.start:best.end] and best.typed
    assert judgement.score == best.score > 0.8 > judgement.sentences[1].score


def test_no_judgement_without_weights_for_these_features_or_without_an_embedder() -> None:
    hits = make_hits(ARTICLE, PARAS)
    stale = profile((1.0, 2.0, 3.0, -1.0))  # fitted for an older, shorter feature list
    assert judge(HOW_MANY, hits, FlatEmbedder(), stale, 0.9) is None
    assert judge(HOW_MANY, hits, None, profile(weights(typed=1.0)), 0.9) is None
    assert judge(HOW_MANY, hits, FlatEmbedder(), replace(stale, answerability={}), 0.9) is None


def _judgement(*scores: float) -> Judgement:
    return Judgement(scores[0], tuple(ScoredSentence(0, 10 * n, 10 * n + 5, s, False) for n, s in enumerate(scores)))


def test_runner_up_is_quoted_only_when_judged_nearly_as_likely() -> None:
    assert [row[2] for row in answering_sentences(_judgement(0.9, 0.4, 0.35))] == [0, 10]  # 0.4 >= 0.3 x 0.9
    assert [row[2] for row in answering_sentences(_judgement(0.9, 0.2, 0.1))] == [0]  # 0.2 < 0.27
    assert answering_sentences(Judgement(0.0, ())) == []


def _answerer(same: tuple[float, ...], threshold: float) -> Answerer:
    retriever = FakeRetriever(make_hits(ARTICLE, PARAS), confidence=0.9)
    return Answerer(retriever, None, FlatEmbedder(), PromptLibrary(PROJECT_ROOT / "prompts"), Settings(),
                    profile=profile(same, threshold))


def test_confident_retrieval_is_still_refused_when_no_sentence_answers() -> None:
    # "when": no sentence holds a date, so every sentence scores sigmoid(-3) ~ 0.05 < 0.5
    answer = _answerer(weights(typed=6.0, bias=-3.0), 0.5).ask("متى وافق حلف شمال الأطلسي على طلب السراج؟",
                                                               extractive=True)
    assert answer.refused and answer.answer == REFUSAL["ar"] and not answer.citations
    assert any("answerability threshold" in note for note in answer.notes)


def test_answered_question_quotes_the_typed_sentence_only() -> None:
    answer = _answerer(weights(typed=6.0, bias=-3.0), 0.5).ask(HOW_MANY, extractive=True)
    assert not answer.refused and [c.quote for c in answer.citations] == ["وقال المصدر إن عددهم 70 جنديا."]
