"""The no-LLM answer: the sentences of the top passages that bear most on the question, quoted and cited.

Why: the product must stay usable with no model beyond the embedder (Ollama down, a laptop without a GPU,
or a user who wants the article's own words). Quotes are never paraphrased, so they are grounded by
construction; each carries the same ``Citation`` object (article span) as an LLM answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag import arabic
from rag.generation.answerability import Judgement, is_cross_lingual
from rag.generation.citations import make_citation
from rag.generation.context import QueryTerms, sentence_score
from rag.ports import Embedder
from rag.profile import ModelProfile
from rag.types import Citation, Hit

__all__ = ["extractive_answer", "rank_sentences", "rank_by_meaning", "answering_sentences"]

#: below this a sentence shares only stray character n-grams with the question (no stem, < 30% of grams)
_MIN_SCORE = 0.6
#: the runner-up is quoted too when judged at least this fraction as likely to answer as the best: on the
#: dev suites the judge's best sentence holds the answer ~73% of the time, its best two ~84%
#: (benchmarks/answerability.py); a lower runner-up is noise
SECOND_RATIO = 0.3


def rank_sentences(question: str, hits: Sequence[Hit], *, passages: int = 3) -> list[tuple[float, int, int, int]]:
    """(score, hit index, start, end) for every sentence of the top ``passages`` hits, best first.
    Earlier hits get a small prior: retrieval already judged them more relevant."""
    terms = QueryTerms.of(question)
    ranked: list[tuple[float, int, int, int]] = []
    for index, hit in enumerate(hits[:passages]):
        text = hit.chunk.text
        for start, end in arabic.sentence_spans(text):
            score = sentence_score(terms, text[start:end])
            if score >= _MIN_SCORE:
                ranked.append((score / (1.0 + 0.15 * index), index, start, end))
    ranked.sort(key=lambda row: -row[0])
    return ranked


def rank_by_meaning(question: str, hits: Sequence[Hit], embedder: Embedder, threshold: float, *,
                    passages: int = 3) -> list[tuple[float, int, int, int]]:
    """Like ``rank_sentences`` for a question in another language than the articles: words cannot
    match, so each sentence of the top passages is scored by its cosine with the question (one batch),
    and only sentences at or above the model's cross-lingual threshold are kept."""
    rows = [(index, start, end) for index, hit in enumerate(hits[:passages])
            for start, end in arabic.sentence_spans(hit.chunk.text)]
    if not rows:
        return []
    query = embedder.embed_query(question)
    vectors = embedder.embed_passages([hits[i].chunk.text[a:b] for i, a, b in rows])
    scored = [(sum(x * y for x, y in zip(query, v)), i, a, b) for (i, a, b), v in zip(rows, vectors, strict=True)]
    return sorted((row for row in scored if row[0] >= threshold), key=lambda row: -row[0])


def answering_sentences(judgement: Judgement) -> list[tuple[float, int, int, int]]:
    """The one or two sentences that answer: the best-judged one, and the runner-up when it is judged at
    least ``SECOND_RATIO`` as likely (quoting the neighbourhood buries the answer). The answerability
    threshold is no floor for the runner-up: it decided that the question is answered at all, and the
    best sentence is often the one that repeats the question while the next one holds the answer."""
    ranked = judgement.sentences
    if not ranked:
        return []
    chosen = [ranked[0]]
    if len(ranked) > 1 and ranked[1].score >= SECOND_RATIO * ranked[0].score:
        chosen.append(ranked[1])
    return [(s.score, s.hit, s.start, s.end) for s in chosen]


def extractive_answer(question: str, hits: Sequence[Hit], *, max_sentences: int = 3, passages: int = 3,
                      embedder: Embedder | None = None, profile: ModelProfile | None = None,
                      judgement: Judgement | None = None) -> tuple[str, tuple[Citation, ...]]:
    """Answer text (one quoted sentence per line, each followed by ``[n]``) and its citations;
    ("", ()) when no sentence shares anything with the question. With an answerability judgement the
    sentences it scores best are quoted; otherwise a question in another language than the passages is
    matched by meaning (the embedder) and gets at most two sentences, and a same-language one by words."""
    cross = is_cross_lingual(question, hits)
    if judgement is not None and profile is not None:
        chosen = answering_sentences(judgement)
    elif cross and embedder is not None and profile is not None:
        chosen = rank_by_meaning(question, hits, embedder, profile.answerable_cosine, passages=passages)[:2]
    else:
        chosen = rank_sentences(question, hits, passages=passages)[:max_sentences]
    chosen.sort(key=lambda row: (row[1], row[2]))  # reading order: by passage, then position
    lines: list[str] = []
    citations: list[Citation] = []
    for _score, index, start, end in chosen:
        n = len(citations) + 1
        citation = make_citation(n, hits[index], start, end)
        citations.append(citation)
        lines.append(f"«{citation.quote}» [{n}]")
    return "\n".join(lines), tuple(citations)
