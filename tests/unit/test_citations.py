"""The citation check: invalid markers dropped, unsupported ones re-pointed or flagged, stable numbers
(n = the prompt's passage number), quote spans that point into the article, and the streamed check."""

from __future__ import annotations

from rag.generation.citations import check_citations, strip_markers, support
from rag.generation.context import make_passages
from rag.profile import ModelProfile
from tests.fakes.fixtures import make_hits

ARTICLE = (
    "العنوان\n\n"
    "أكد مصدر عسكري أن نحو 70 جنديا من قوات حفتر نقلوا جوا إلى روسيا للعلاج. "
    "وأوضح مسؤول أن الجنود سافروا من مصر.\n\n"
    "وافق حلف شمال الأطلسي مبدئيا على طلب السراج إعادة تأهيل أجهزة الأمن في ليبيا. "
    "وقال مسؤول في بروكسل إن عراقيل تحول دون التنفيذ.\n\n"
    "ارتفعت أسعار القمح في الأسواق العالمية بنسبة عشرة في المئة."
)
P1, P2, P3 = ARTICLE.split("\n\n")[1:]


def passages():
    return make_passages("", make_hits(ARTICLE, [P1, P2, P3]), select=False)


def test_supported_citation_kept_with_exact_article_span() -> None:
    checked = check_citations("نقل نحو 70 جنديا من قوات حفتر إلى روسيا للعلاج [1].", passages())
    assert checked.unsupported == () and len(checked.citations) == 1
    cite = checked.citations[0]
    assert cite.n == 1 and cite.supported
    assert ARTICLE[cite.start:cite.end] == cite.quote
    assert "70 جنديا" in cite.quote and "مصر" not in cite.quote  # the sentence, not the whole passage


def test_citation_to_a_passage_not_given_is_dropped() -> None:
    checked = check_citations("وافق حلف الأطلسي على طلب السراج تأهيل أجهزة الأمن [2][7].", passages())
    assert checked.dropped == 1
    assert "[7]" not in checked.text and checked.text.endswith("[2].")
    assert [(c.n, c.quote[:10]) for c in checked.citations] == [(2, P2[:10])]


def test_wrong_citation_is_repointed_to_the_supporting_passage() -> None:
    checked = check_citations("ارتفعت أسعار القمح في الأسواق العالمية بنسبة عشرة في المئة [1].", passages())
    assert checked.repointed == 1 and checked.unsupported == ()
    assert checked.citations[0].quote == P3 and checked.text.endswith("[3].") and "[1]" not in checked.text


def test_unsupported_sentence_is_flagged() -> None:
    claim = "فاز المنتخب المغربي بكأس أفريقيا لكرة القدم بعد مباراة مثيرة"
    checked = check_citations(f"{claim} [1].", passages())
    assert checked.unsupported == (claim + ".",)
    assert checked.citations and not checked.citations[0].supported


def test_numbers_are_the_passage_numbers_and_markers_after_period_attach_backwards() -> None:
    answer = ("وافق حلف الأطلسي مبدئيا على طلب السراج. [2] "
              "ونقل 70 جنديا من قوات حفتر إلى روسيا للعلاج [1]. "
              "وقال مسؤول في بروكسل إن عراقيل تحول دون التنفيذ [٢].")
    checked = check_citations(answer, passages())
    assert [c.n for c in checked.citations] == [1, 2]  # never renumbered by order of use
    by_n = {c.n: c for c in checked.citations}
    assert "السراج" in by_n[2].quote and "70 جنديا" in by_n[1].quote
    assert checked.text.startswith("وافق حلف الأطلسي مبدئيا على طلب السراج [2].")
    assert "للعلاج [1]." in checked.text and checked.text.endswith("التنفيذ [2].")
    assert "[٢]" not in checked.text
    assert "بروكسل" in by_n[2].quote  # two claims citing one passage: its quote covers both sentences


def test_same_sentence_cited_twice_gets_one_number() -> None:
    answer = "وافق حلف الأطلسي على طلب السراج [2]. ووافق الحلف مبدئيا على طلب السراج [2]."
    checked = check_citations(answer, passages())
    assert len(checked.citations) == 1 and checked.text.count("[2]") == 2 and checked.citations[0].n == 2


def test_uncited_short_connective_is_not_flagged_but_an_uncited_claim_is() -> None:
    checked = check_citations("باختصار:\nنقل 70 جنديا من قوات حفتر إلى روسيا [1].", passages())
    assert checked.unsupported == ()
    assert checked.text.startswith("باختصار:\n")
    uncited = check_citations("نقل 70 جنديا [1]. وفاز فريق الكرة المحلي ببطولة الدوري هذا الموسم.", passages())
    assert uncited.unsupported == ("وفاز فريق الكرة المحلي ببطولة الدوري هذا الموسم.",)


def test_uncited_supported_claim_gets_a_citation() -> None:
    checked = check_citations("ارتفعت أسعار القمح في الأسواق العالمية بنسبة عشرة في المئة.", passages())
    assert checked.text.endswith("[3].") and checked.citations[0].quote == P3 and checked.citations[0].n == 3


def test_support_is_normalisation_aware() -> None:
    assert support("أكد المصدر العسكري", "اكد مصدر عسكري") > 0.5
    assert support("أسعار القمح", "نقل الجنود إلى روسيا") < 0.2
    assert strip_markers("a [1] b [2, 3]") == "a b"
    assert strip_markers("كلام [1].") == "كلام."


_TOPICS = (("soldier", "russia", "جندي", "جنود", "روسيا"), ("nato", "الأطلسي", "السراج"),
           ("wheat", "price", "القمح", "أسعار"))
PROFILE = ModelProfile(key="test", citation_cosine=0.8, cross_lingual_cosine=0.8)


class _Topics:
    """A bilingual toy embedder: one axis per topic, set when the text names it in either language.
    A claim is close only to sentences of its own topic, so a wrong citation really is far."""

    def _vector(self, text: str) -> list[float]:
        low = text.lower()
        vector = [1.0 if any(w in low for w in words) else 0.0 for words in _TOPICS] + [0.1]
        norm = sum(x * x for x in vector) ** 0.5
        return [x / norm for x in vector]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        return [self._vector(t) for t in texts]


def test_cross_lingual_claim_is_judged_by_meaning_and_quotes_the_closest_sentence() -> None:
    claim = "About seventy of Haftar's soldiers were flown to Russia for treatment"
    right = check_citations(f"{claim} [1].", passages(), _Topics(), profile=PROFILE)  # type: ignore[arg-type]
    assert right.unsupported == () and right.citations[0].supported
    assert "70 جنديا" in right.citations[0].quote and "مصر" not in right.citations[0].quote


def test_cross_lingual_claim_citing_the_wrong_passage_is_unsupported() -> None:
    claim = "About seventy of Haftar's soldiers were flown to Russia for treatment"
    wrong = check_citations(f"{claim} [3].", passages(), _Topics(), profile=PROFILE)  # type: ignore[arg-type]
    assert wrong.unsupported == (claim + ".",) and not wrong.citations[0].supported


def test_cross_lingual_claim_without_an_embedder_is_not_taken_on_trust() -> None:
    claim = "About seventy of Haftar's soldiers were flown to Russia for treatment"
    plain = check_citations(f"{claim} [1].", passages())
    assert plain.unsupported == (claim + ".",)
    uncited = check_citations("This sentence cites nothing at all here.", passages())
    assert uncited.citations == () and uncited.unsupported == ("This sentence cites nothing at all here.",)


class _Counting(_Topics):
    def __init__(self) -> None:
        self.passages_embedded: list[str] = []
        self.queries: list[str] = []

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return [1.0, 0.0, 0.0, 0.0]

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        self.passages_embedded.extend(texts)
        return super().embed_passages(texts)


def test_paraphrase_is_checked_against_the_stored_passage_vector() -> None:
    claim = "نقل عشرات الجنود الليبيين إلى موسكو لتلقي العلاج [1]."  # half the words: the cosine decides
    given = passages()
    stored = {p.hit.chunk.chunk_id: ([1.0, 0.0, 0.0, 0.0] if "70" in p.hit.chunk.text else [0.0, 1.0, 0.0, 0.0])
              for p in given}
    asked: list[list[str]] = []

    def lookup(ids):  # type: ignore[no-untyped-def]
        asked.append(list(ids))
        return {i: stored[i] for i in ids}

    embedder = _Counting()
    checked = check_citations(claim, given, embedder, lookup, profile=PROFILE)  # type: ignore[arg-type]
    assert checked.unsupported == () and "70 جنديا" in checked.citations[0].quote
    assert embedder.passages_embedded == [] and len(asked) == 1  # one index read, no chunk re-embedded
    assert embedder.queries == [strip_markers(claim)]  # the claim is embedded once, not once per passage
    refuted = check_citations(claim, given, embedder, lambda ids: {i: [0.0, 1.0, 0.0, 0.0] for i in ids},  # type: ignore[arg-type]
                              profile=PROFILE)
    assert refuted.unsupported == (strip_markers(claim),)


def test_streamed_check_releases_only_final_sentences_and_joins_to_the_result() -> None:
    """Fed character by character, the check never releases a sentence before the next one has begun
    (its markers may still come), and the released pieces joined are the checked text."""
    from rag.generation.citations import CitationCheck

    answer = ("وافق حلف الأطلسي مبدئيا على طلب السراج. [2] "
              "ونقل 70 جنديا من قوات حفتر إلى روسيا للعلاج [1][7]. "
              "ارتفعت أسعار القمح في الأسواق العالمية بنسبة عشرة في المئة [1].")
    check = CitationCheck(passages())
    released = [check.feed(ch) for ch in answer]
    released.append(check.finish())
    whole = check_citations(answer, passages())
    assert "".join(released) == check.result.text == whole.text
    first = next(i for i, piece in enumerate(released) if piece)
    assert released[first] == "وافق حلف الأطلسي مبدئيا على طلب السراج [2]."
    assert first >= answer.index("ونقل")  # held until the next sentence began past the "[2]" that is its own
    assert "[7]" not in check.result.text and check.result.text.endswith("المئة [3].")
    assert [c.n for c in check.result.citations] == [c.n for c in whole.citations] == [1, 2, 3]
