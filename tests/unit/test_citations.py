"""The citation check: invalid markers dropped, unsupported ones re-pointed or flagged, renumbering,
and quote spans that point into the article."""

from __future__ import annotations

from rag.generation.citations import check_citations, strip_markers, support
from rag.generation.context import make_passages
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
    assert "[7]" not in checked.text and checked.text.endswith("[1].")
    assert [c.quote[:10] for c in checked.citations] == [P2[:10]]


def test_wrong_citation_is_repointed_to_the_supporting_passage() -> None:
    checked = check_citations("ارتفعت أسعار القمح في الأسواق العالمية بنسبة عشرة في المئة [1].", passages())
    assert checked.repointed == 1 and checked.unsupported == ()
    assert checked.citations[0].quote == P3


def test_unsupported_sentence_is_flagged() -> None:
    claim = "فاز المنتخب المغربي بكأس أفريقيا لكرة القدم بعد مباراة مثيرة"
    checked = check_citations(f"{claim} [1].", passages())
    assert checked.unsupported == (claim + ".",)
    assert checked.citations and not checked.citations[0].supported


def test_renumbered_in_order_of_first_use_and_markers_after_period_attach_backwards() -> None:
    answer = ("وافق حلف الأطلسي مبدئيا على طلب السراج. [2] "
              "ونقل 70 جنديا من قوات حفتر إلى روسيا للعلاج [1]. "
              "وقال مسؤول في بروكسل إن عراقيل تحول دون التنفيذ [٢].")
    checked = check_citations(answer, passages())
    numbers = [c.n for c in checked.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    assert checked.citations[0].doc_id == "doc1" and "السراج" in checked.citations[0].quote
    assert checked.text.startswith("وافق حلف الأطلسي مبدئيا على طلب السراج [1].")
    assert "للعلاج [2]." in checked.text
    assert "[٢]" not in checked.text


def test_same_sentence_cited_twice_gets_one_number() -> None:
    answer = "وافق حلف الأطلسي على طلب السراج [2]. ووافق الحلف مبدئيا على طلب السراج [2]."
    checked = check_citations(answer, passages())
    assert len(checked.citations) == 1 and checked.text.count("[1]") == 2


def test_uncited_short_connective_is_not_flagged_but_an_uncited_claim_is() -> None:
    checked = check_citations("باختصار:\nنقل 70 جنديا من قوات حفتر إلى روسيا [1].", passages())
    assert checked.unsupported == ()
    assert checked.text.startswith("باختصار:\n")
    uncited = check_citations("نقل 70 جنديا [1]. وفاز فريق الكرة المحلي ببطولة الدوري هذا الموسم.", passages())
    assert uncited.unsupported == ("وفاز فريق الكرة المحلي ببطولة الدوري هذا الموسم.",)


def test_uncited_supported_claim_gets_a_citation() -> None:
    checked = check_citations("ارتفعت أسعار القمح في الأسواق العالمية بنسبة عشرة في المئة.", passages())
    assert checked.text.endswith("[1].") and checked.citations[0].quote == P3


def test_support_is_normalisation_aware() -> None:
    assert support("أكد المصدر العسكري", "اكد مصدر عسكري") > 0.5
    assert support("أسعار القمح", "نقل الجنود إلى روسيا") < 0.2
    assert strip_markers("a [1] b [2, 3]") == "a b"
    assert strip_markers("كلام [1].") == "كلام."


class _OneHot:
    """A toy embedder: sentences mentioning 70 point one way, everything else another."""

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        return [[1.0, 0.0] if "70" in t else [0.0, 1.0] for t in texts]


def test_cross_lingual_claim_keeps_its_marker_and_quotes_the_closest_sentence() -> None:
    claim = "About seventy of Haftar's soldiers were flown to Russia for treatment [1]."
    plain = check_citations(claim, passages())
    assert plain.unsupported == () and plain.citations[0].quote == P1  # what was sent: no check possible
    embedded = check_citations(claim, passages(), _OneHot())  # type: ignore[arg-type]
    assert "70 جنديا" in embedded.citations[0].quote and "مصر" not in embedded.citations[0].quote
    assert embedded.unsupported == ()
    uncited = check_citations("This sentence cites nothing at all here.", passages())
    assert uncited.citations == () and uncited.unsupported == ("This sentence cites nothing at all here.",)


class _Counting(_OneHot):
    def __init__(self) -> None:
        self.passages_embedded: list[str] = []
        self.queries: list[str] = []

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return [1.0, 0.0]

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        self.passages_embedded.extend(texts)
        return super().embed_passages(texts)


def test_paraphrase_is_checked_against_the_stored_passage_vector() -> None:
    claim = "نقل عشرات الجنود الليبيين إلى موسكو لتلقي العلاج [1]."  # half the words: the cosine decides
    given = passages()
    stored = {p.hit.chunk.chunk_id: ([1.0, 0.0] if "70" in p.hit.chunk.text else [0.0, 1.0]) for p in given}
    asked: list[list[str]] = []

    def lookup(ids):  # type: ignore[no-untyped-def]
        asked.append(list(ids))
        return {i: stored[i] for i in ids}

    embedder = _Counting()
    checked = check_citations(claim, given, embedder, lookup)  # type: ignore[arg-type]
    assert checked.unsupported == () and "70 جنديا" in checked.citations[0].quote
    assert embedder.passages_embedded == [] and len(asked) == 1  # one index read, no chunk re-embedded
    assert embedder.queries == [strip_markers(claim)]  # the claim is embedded once, not once per passage
    refuted = check_citations(claim, given, embedder, lambda ids: {i: [0.0, 1.0] for i in ids})  # type: ignore[arg-type]
    assert refuted.unsupported == (strip_markers(claim),)
