"""Chunking: exact offsets, full coverage, sentence-aware breaks, overlap and paragraph indices."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from rag.arabic import sentence_spans, split_sentences
from rag.errors import ConfigError
from rag.ingestion.chunking import approx_token_count, body_start, chunk_article, paragraph_spans
from rag.ingestion.readers import load_file
from rag.types import Article, Chunk
from tests.conftest import SEEDS, SHARED, minilm_dir

DEV = SHARED / "eval" / "dev"


def words(text: str) -> int:
    """A transparent counter for tests: one token per whitespace-separated word."""
    return len(text.split())


def _article(text: str, title: str = "", doc_id: str = "doc") -> Article:
    return Article(doc_id=doc_id, title=title, text=text, source=f"{doc_id}.txt")


def _check_invariants(article: Article, chunks: list[Chunk]) -> None:
    covered = [False] * len(article.text)
    for ordinal, chunk in enumerate(chunks):
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.chunk_id == f"{article.doc_id}::{ordinal}" and chunk.ordinal == ordinal
        assert chunk.text == chunk.text.strip() and chunk.text
        assert chunk.paragraph <= chunk.paragraph_end
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    missing = [ch for ch, ok in zip(article.text, covered) if not ok and not ch.isspace()]
    assert missing == []
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def _sample_articles() -> list[Article]:
    paths = sorted(SEEDS.glob("*.txt"))
    if DEV.is_dir():
        for corpus in ("corpus_news_dev", "corpus_tydiqa_ar", "corpus_xquad_ar", "corpus_arcd"):
            paths.extend(sorted((DEV / corpus).glob("*.txt"))[:3])
    return [load_file(p)[0][0] for p in paths]


@pytest.fixture(scope="module")
def minilm_count() -> Callable[[str], int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
    tokenizer.model_max_length = 1_000_000  # counting only: silence the over-length warning
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))


# --- invariants on real articles ------------------------------------------------------------------


@pytest.mark.parametrize(("size", "overlap"), [(256, 32), (64, 16), (12, 4)])
def test_offsets_and_coverage_with_approx_counter(size: int, overlap: int) -> None:
    for article in _sample_articles():
        chunks = chunk_article(article, approx_token_count, size, overlap)
        _check_invariants(article, chunks)
        assert all(approx_token_count(c.text) <= size for c in chunks)


@pytest.mark.parametrize(("size", "overlap"), [(256, 32), (100, 20)])
def test_offsets_and_coverage_with_minilm_tokenizer(minilm_count: Callable[[str], int], size: int,
                                                    overlap: int) -> None:
    for article in _sample_articles():
        chunks = chunk_article(article, minilm_count, size, overlap)
        _check_invariants(article, chunks)
        # sentence counts are summed: the real count of a chunk stays close to the budget
        assert all(minilm_count(c.text) <= size * 1.1 for c in chunks)


def test_seed_chunks_carry_article_metadata() -> None:
    (article,), _ = load_file(sorted(SEEDS.glob("003_*.txt"))[0])
    chunks = chunk_article(article, approx_token_count, 128, 16)
    assert len(chunks) > 3
    assert {c.title for c in chunks} == {article.title} and {c.doc_id for c in chunks} == {article.doc_id}
    assert chunks[0].text.startswith(article.title)  # the title line is chunked with the first paragraph
    assert chunks[-1].paragraph_end == len(paragraph_spans(article.text, body_start(article.text, article.title))) - 1


# --- sentences --------------------------------------------------------------------------------------


def test_sentence_spans_never_split_numbers_or_abbreviations() -> None:
    text = ("بلغ النمو 3.5 في المئة والتضخم ١٢٫٥ بالمئة. وقال د. محمد إن الرقم صحيح؟ نعم! "
            "Dr. Smith met U.S. officials. He said no. Item No. 5 passed.\nسطر جديد")
    assert split_sentences(text) == [
        "بلغ النمو 3.5 في المئة والتضخم ١٢٫٥ بالمئة.",
        "وقال د. محمد إن الرقم صحيح؟",
        "نعم!",
        "Dr. Smith met U.S. officials.",
        "He said no.",
        "Item No. 5 passed.",
        "سطر جديد",
    ]
    for start, end in sentence_spans(text):
        assert text[start:end] == text[start:end].strip()


def test_full_stop_without_a_space_between_arabic_words_ends_a_sentence() -> None:
    # Scraped news often glues sentences ("يناير.والشهر"); initials (د.محمد) and numbers stay whole.
    text = "عاد إلى البلاد.وقال مسؤول إن العدد 3.5 مليون؟وأضاف د.محمد أن الأمر انتهى.example.com"
    assert split_sentences(text) == [
        "عاد إلى البلاد.",
        "وقال مسؤول إن العدد 3.5 مليون؟",
        "وأضاف د.محمد أن الأمر انتهى.example.com",
    ]


def test_chunks_break_between_sentences_not_inside() -> None:
    sentences = ["بلغ النمو 3.5 في المئة هذا العام.", "وقال د. محمد إن الرقم ١٢٫٥ صحيح.",
                 "Dr. Smith agreed with the U.S. view."]
    article = _article(" ".join(sentences))
    chunks = chunk_article(article, words, 8, 0)
    assert [c.text for c in chunks] == sentences


# --- packing, paragraphs, overlap ---------------------------------------------------------------------


def _numbered(paragraphs: list[int], words_per_sentence: int = 5) -> str:
    """Paragraphs of numbered sentences, each sentence exactly ``words_per_sentence`` words."""
    out, n = [], 0
    for count in paragraphs:
        sentences = []
        for _ in range(count):
            n += 1
            sentences.append(" ".join([f"s{n}"] + ["w"] * (words_per_sentence - 2) + ["end."]))
        out.append(" ".join(sentences))
    return "\n\n".join(out)


def test_packs_whole_sentences_up_to_the_budget() -> None:
    chunks = chunk_article(_article(_numbered([6])), words, 12, 0)
    assert [c.text.count("end.") for c in chunks] == [2, 2, 2]
    assert all(words(c.text) <= 12 for c in chunks)


def test_overlap_carries_whole_trailing_sentences() -> None:
    chunks = chunk_article(_article(_numbered([8])), words, 15, 5)
    assert chunks[0].text.count("end.") == 3
    assert chunks[1].text.startswith("s3 ")  # the last sentence of chunk 0 starts chunk 1
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))
    assert all(words(c.text) <= 15 for c in chunks)
    no_overlap = chunk_article(_article(_numbered([8])), words, 15, 0)
    assert all(a.end < b.start for a, b in zip(no_overlap, no_overlap[1:]))


def test_overlap_smaller_than_a_sentence_carries_nothing() -> None:
    chunks = chunk_article(_article(_numbered([8])), words, 15, 4)
    assert all(a.end < b.start for a, b in zip(chunks, chunks[1:]))


def test_breaks_at_paragraph_once_half_full_without_overlap_across() -> None:
    text = _numbered([3, 1, 1])  # 15 words, 5 words, 5 words
    chunks = chunk_article(_article(text), words, 28, 10)
    # 15 >= 28 / 2: paragraph 1 starts a new chunk; 5 < 28 / 2: paragraph 2 joins it
    assert [(c.paragraph, c.paragraph_end) for c in chunks] == [(0, 0), (1, 2)]
    assert chunks[1].text.startswith("s4 ")  # no sentence of paragraph 0 carried over
    small = chunk_article(_article(_numbered([1, 1, 1])), words, 40, 10)
    assert [(c.paragraph, c.paragraph_end) for c in small] == [(0, 2)]  # under half full: keep packing


def test_paragraph_indices_skip_the_title_line() -> None:
    title = "عنوان الخبر"
    text = f"{title}\n\n{_numbered([2, 2, 2])}"
    chunks = chunk_article(_article(text, title=title), words, 10, 0)
    assert chunks[0].text.startswith(title)
    assert [(c.paragraph, c.paragraph_end) for c in chunks] == [(0, 0), (0, 0), (1, 1), (2, 2)]
    paragraphs = paragraph_spans(text, body_start(text, title))
    assert len(paragraphs) == 3 and text[paragraphs[0][0] :].startswith("s1 ")
    for chunk in chunks:
        p_start, p_end = paragraphs[chunk.paragraph]
        assert p_start <= chunk.start <= p_end or chunk.start == 0


def test_without_title_line_first_paragraph_is_zero() -> None:
    text = _numbered([1, 1])
    assert body_start(text, "s1 w w w…") == 0
    chunks = chunk_article(_article(text, title="s1 w w w…"), words, 5, 0)
    assert [c.paragraph for c in chunks] == [0, 1]


def test_long_sentence_split_at_whitespace() -> None:
    sentence = " ".join(f"word{i}" for i in range(50)) + "."
    article = _article(sentence)
    chunks = chunk_article(article, words, 12, 3)
    _check_invariants(article, chunks)
    assert all(words(c.text) <= 12 for c in chunks) and len(chunks) >= 5


def test_giant_word_split_by_characters() -> None:
    article = _article("x" * 500 + " tail.")
    chunks = chunk_article(article, lambda t: len(t.replace(" ", "")), 64, 0)
    _check_invariants(article, chunks)
    assert all(len(c.text.replace(" ", "")) <= 64 for c in chunks)


def test_empty_and_invalid() -> None:
    assert chunk_article(_article(""), words, 10, 0) == []
    with pytest.raises(ConfigError):
        chunk_article(_article("a b."), words, 0, 0)


def test_approx_token_count() -> None:
    assert approx_token_count("") == 0
    assert approx_token_count("one two three") == 3
    assert approx_token_count("الاستراتيجيات") > approx_token_count("في")
    assert approx_token_count("في 3.5 بالمئة") == 3


# --- consistency with the eval format: gold paragraph indices point at our paragraphs -------------------


@pytest.mark.skipif(not DEV.is_dir(), reason="shared dev data not present")
def test_gold_paragraph_holds_the_answer() -> None:
    articles: dict[str, Article] = {}
    checked = 0
    for line in (DEV / "xquad_ar.jsonl").read_text(encoding="utf-8").splitlines():
        question = json.loads(line)
        if question.get("paragraph") is None or not question["sources"]:
            continue
        doc = question["sources"][0]
        if doc not in articles:
            articles[doc] = load_file(DEV / "corpus_xquad_ar" / f"{doc}.txt")[0][0]
        article = articles[doc]
        start, end = paragraph_spans(article.text, body_start(article.text, article.title))[question["paragraph"]]
        assert any(answer in article.text[start:end] for answer in question["answers"]), question["id"]
        checked += 1
    assert checked > 100


def test_chunk_paragraph_matches_paragraph_spans() -> None:
    (article,), _ = load_file(sorted(SEEDS.glob("002_*.txt"))[0])
    spans = paragraph_spans(article.text, body_start(article.text, article.title))
    for chunk in chunk_article(article, approx_token_count, 48, 8):
        if chunk.end <= spans[0][0]:
            assert chunk.ordinal == 0 and chunk.text == article.title  # the title line alone
            continue
        p_start, p_end = spans[chunk.paragraph]
        assert chunk.ordinal == 0 or p_start <= chunk.start < p_end
        e_start, e_end = spans[chunk.paragraph_end]
        assert e_start < chunk.end <= e_end
