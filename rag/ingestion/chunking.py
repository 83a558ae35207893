"""Sentence-aware chunking with exact character offsets.

Why sentences: a chunk that ends mid-sentence loses the fact a question asks about, and a citation must
quote whole sentences. Why offsets: every chunk is a slice ``article.text[start:end]``, so citations,
highlighting and the paragraph metric all point into the one displayed text. Tokens are counted once per
sentence (not once per candidate chunk), which keeps chunking 3,000 articles with a real tokenizer to
seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from rag.arabic import append_trimmed_span, sentence_spans, tokenize
from rag.errors import ConfigError
from rag.types import Article, Chunk

__all__ = ["chunk_article", "approx_token_count", "paragraph_spans", "body_start"]

# A blank line (possibly holding spaces) separates paragraphs.
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Unit:
    """A sentence (or a piece of an over-long one): the smallest thing a chunk is made of."""

    start: int
    end: int
    tokens: int
    paragraph: int


def approx_token_count(text: str) -> int:
    """Token estimate when no embedder tokenizer is loaded (keyword-only mode): one token per word or
    number plus one per further 6 characters, close to what multilingual sub-word tokenizers give."""
    return sum(1 + (len(token) - 1) // 6 for token in tokenize(text))


def body_start(text: str, title: str) -> int:
    """Offset where the body begins: after the title line and its blank line when the text starts with
    the title (the FORMAT of the corpora: first line the title), else 0."""
    first, sep, _ = text.partition("\n")
    if not sep or not title.strip() or first.strip() != title.strip():
        return 0
    match = _PARAGRAPH_BREAK.match(text, len(first))
    return match.end() if match else 0


def paragraph_spans(text: str, start: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each blank-line-separated paragraph of ``text[start:]``, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    position = start
    for match in _PARAGRAPH_BREAK.finditer(text, start):
        append_trimmed_span(text, position, match.start(), spans)
        position = match.end()
    append_trimmed_span(text, position, len(text), spans)
    return spans


def chunk_article(
    article: Article,
    count_tokens: Callable[[str], int],
    chunk_size: int,
    chunk_overlap: int,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``chunk_size`` tokens, preferring to break at a
    paragraph once a chunk is half full, carrying up to ``chunk_overlap`` tokens of trailing sentences
    into the next chunk when the break falls inside a paragraph."""
    if chunk_size < 1 or chunk_overlap < 0:
        raise ConfigError(f"invalid chunking: chunk_size={chunk_size}, chunk_overlap={chunk_overlap}",
                          hint="use chunk_size >= 1 and 0 <= chunk_overlap < chunk_size")
    units = list(_units(article.text, article.title, count_tokens, chunk_size))
    groups = _pack(units, chunk_size, min(chunk_overlap, chunk_size - 1))
    return [_chunk(article, group, ordinal) for ordinal, group in enumerate(groups)]


def _units(text: str, title: str, count: Callable[[str], int], size: int) -> Iterator[_Unit]:
    """Sentences of the title line (counted with paragraph 0) and of each body paragraph, in order."""
    start = body_start(text, title)
    blocks: list[tuple[int, int, int]] = []
    if start:
        first_line_end = text.index("\n")
        blocks.append((0, first_line_end, 0))
    blocks.extend((s, e, index) for index, (s, e) in enumerate(paragraph_spans(text, start)))
    for block_start, block_end, paragraph in blocks:
        block = text[block_start:block_end]
        for s, e in sentence_spans(block):
            sentence = block[s:e]
            tokens = count(sentence)
            if tokens <= size:
                yield _Unit(block_start + s, block_start + e, tokens, paragraph)
            else:
                yield from _split_long(sentence, block_start + s, count, size, paragraph)


def _split_long(sentence: str, offset: int, count: Callable[[str], int], size: int, paragraph: int) -> Iterator[_Unit]:
    """A sentence over the budget, cut at whitespace by token budget (a single over-long word is cut
    by characters)."""
    piece_start = piece_end = -1
    piece_tokens = 0
    for match in _WORD.finditer(sentence):
        word_tokens = count(match.group())
        if word_tokens > size:
            if piece_start >= 0:
                yield _Unit(offset + piece_start, offset + piece_end, piece_tokens, paragraph)
                piece_start, piece_tokens = -1, 0
            yield from _split_word(match.group(), offset + match.start(), count, size, paragraph)
            continue
        if piece_start >= 0 and piece_tokens + word_tokens > size:
            yield _Unit(offset + piece_start, offset + piece_end, piece_tokens, paragraph)
            piece_start, piece_tokens = -1, 0
        if piece_start < 0:
            piece_start = match.start()
        piece_end, piece_tokens = match.end(), piece_tokens + word_tokens
    if piece_start >= 0:
        yield _Unit(offset + piece_start, offset + piece_end, piece_tokens, paragraph)


def _split_word(word: str, offset: int, count: Callable[[str], int], size: int, paragraph: int) -> Iterator[_Unit]:
    position = 0
    while position < len(word):
        length = max(1, (len(word) - position) * size // max(1, count(word[position:])))
        while length > 1 and count(word[position : position + length]) > size:
            length = max(1, length * 3 // 4)
        piece = word[position : position + length]
        yield _Unit(offset + position, offset + position + len(piece), count(piece), paragraph)
        position += len(piece)


def _pack(units: Sequence[_Unit], size: int, overlap: int) -> list[list[_Unit]]:
    """Greedy packing of whole units; see ``chunk_article`` for the break and overlap rules."""
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    tokens = 0
    for unit in units:
        if current:
            new_paragraph = unit.paragraph != current[-1].paragraph
            if tokens + unit.tokens > size or (new_paragraph and tokens * 2 >= size):
                groups.append(current)
                current = [] if new_paragraph else _overlap(current, overlap, size - unit.tokens)
                tokens = sum(u.tokens for u in current)
        current.append(unit)
        tokens += unit.tokens
    if current:
        groups.append(current)
    return groups


def _overlap(previous: Sequence[_Unit], overlap: int, room: int) -> list[_Unit]:
    """Trailing whole sentences of ``previous`` within ``overlap`` tokens (and the room left), from the
    paragraph the break falls in only, never all of ``previous``, so every chunk moves forward."""
    budget = min(overlap, room)
    carried: list[_Unit] = []
    used = 0
    for unit in reversed(previous[1:]):
        if used + unit.tokens > budget or unit.paragraph != previous[-1].paragraph:
            break
        carried.insert(0, unit)
        used += unit.tokens
    return carried


def _chunk(article: Article, group: Sequence[_Unit], ordinal: int) -> Chunk:
    start, end = group[0].start, group[-1].end
    return Chunk(
        chunk_id=f"{article.doc_id}::{ordinal}",
        doc_id=article.doc_id,
        title=article.title,
        text=article.text[start:end],
        start=start,
        end=end,
        ordinal=ordinal,
        source=article.source,
        published=article.published,
        paragraph=group[0].paragraph,
        paragraph_end=group[-1].paragraph,
        outlet=article.outlet,
    )
