"""One passage per story: search folds the other outlets' copies of a story into its best-ranked hit.

Near-duplicate clusters come from ingest (``rag.ingestion.near_duplicates``) as a snapshot: doc id -> its
``SameStory`` record. In a result, the best-ranked article of a cluster stands for the cluster (the passage
that matched best, which need not be the earliest copy); hits from its other members are dropped and every
other member is listed on the kept hits as ``also`` ("also reported by …"), so citations can name every
outlet. Several passages of the kept article stay: they are one outlet's text. ``collapse=False`` returns
every copy (the CLI's ``--all-copies``, the API's ``collapse=false``).

Then passages: different stories (clustered apart) often carry the same paragraph — a wire paragraph, an
official statement quoted verbatim, a standard background paragraph. After the article-level collapse, a hit
from another article whose passage adds nothing to a better-ranked hit's passage (at least ``PASSAGE_THRESHOLD``
of its normalised word 2-shingles are in it) is folded into that hit: its article (and that article's own
``also``) joins the kept hit's ``also`` as another outlet carrying the passage, and further candidates fill
the k places. Containment of the lower-ranked passage, not plain Jaccard: it folds near-identical passages
(both directions score high) and a copy that sits inside a longer better-ranked passage, but never a
lower-ranked passage that holds text of its own beyond the shared part. This runs at query time, not at
ingest: the candidates are a few dozen passages, so exact overlap costs well under a millisecond and needs no
stored state — no per-chunk signatures to persist and keep in step with re-chunking and removals, no MinHash
estimation error. A folded copy's ``SameStory`` keeps its own article's cluster, so ``cluster`` still names a story.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from rag import arabic
from rag.types import Hit, SameStory, SearchFilters, SearchResult

__all__ = ["PASSAGE_SHINGLE", "PASSAGE_THRESHOLD", "CollapsingRetriever", "collapse_hits", "fold_passages",
           "passage_containment"]

Stories = Callable[[], Mapping[str, SameStory]]

#: word shingle size for passages: 2 (as for articles) — one changed word costs two shingles, not three
PASSAGE_SHINGLE = 2
#: share of a passage's shingles found in a better-ranked passage at or above which it is folded into it. A copy
#: with other punctuation, diacritics and hamza carriers scores 1.0 after normalisation; each changed word costs
#: at most 2 of the ~50-150 shingles of a passage, so a few edits still score > 0.9; passages that share an
#: opening clause or a stock phrase score < 0.3 (tests/unit/test_passage_duplicates.py).
PASSAGE_THRESHOLD = 0.8
#: a passage with fewer shingles (a title line, a caption) is never folded: too short to be "the same passage"
PASSAGE_MIN_SHINGLES = 8


def collapse_hits(hits: Sequence[Hit], stories: Mapping[str, SameStory]) -> list[Hit]:
    """``hits`` in order with at most one article per cluster; kept hits carry the other members."""
    members: dict[str, list[SameStory]] = defaultdict(list)
    for member in stories.values():
        members[member.cluster].append(member)
    chosen: dict[str, str] = {}  # cluster -> the doc id standing for it
    kept: list[Hit] = []
    for hit in hits:
        story = stories.get(hit.chunk.doc_id)
        if story is None or len(members[story.cluster]) < 2:
            kept.append(hit)
            continue
        doc_id = chosen.setdefault(story.cluster, hit.chunk.doc_id)
        if doc_id != hit.chunk.doc_id:
            continue
        others = sorted((m for m in members[story.cluster] if m.doc_id != doc_id), key=lambda m: m.doc_id)
        kept.append(replace(hit, also=tuple(others)))
    return kept


def _shingles(text: str) -> frozenset[tuple[str, ...]]:
    """Normalised word shingles (``rag.arabic.tokenize``: no diacritics, unified hamza carriers, no punctuation)."""
    tokens = arabic.tokenize(text)
    size = min(PASSAGE_SHINGLE, len(tokens))
    return frozenset(tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1)) if tokens else frozenset()


def passage_containment(passage: str, within: str) -> float:
    """Exact share of ``passage``'s normalised word 2-shingles that ``within`` also has (0.0 when it has none)."""
    return _contained(_shingles(passage), _shingles(within))


def fold_passages(hits: Sequence[Hit], stories: Mapping[str, SameStory],
                  threshold: float = PASSAGE_THRESHOLD) -> list[Hit]:
    """``hits`` in order, each passage once: a hit whose passage adds nothing to a better-ranked hit of another
    article is folded into it (its article and that article's ``also`` added to the kept hit's ``also``)."""
    kept: list[tuple[Hit, frozenset[tuple[str, ...]]]] = []
    for hit in hits:
        shingles = _shingles(hit.chunk.text)
        for i, (best, best_shingles) in enumerate(kept):
            if (best.chunk.doc_id != hit.chunk.doc_id and len(shingles) >= PASSAGE_MIN_SHINGLES
                    and _contained(shingles, best_shingles) >= threshold):
                kept[i] = (_fold(best, hit, stories), best_shingles)
                break
        else:
            kept.append((hit, shingles))
    return [hit for hit, _ in kept]


def _contained(x: frozenset[tuple[str, ...]], y: frozenset[tuple[str, ...]]) -> float:
    return len(x & y) / len(x) if x else 0.0


def _fold(best: Hit, copy: Hit, stories: Mapping[str, SameStory]) -> Hit:
    """``best`` with ``copy``'s article and its story's other outlets under ``also``, each once, never itself."""
    c = copy.chunk
    record = stories.get(c.doc_id) or SameStory(c.doc_id, c.doc_id, c.title, c.source, c.published, c.outlet)
    seen = {best.chunk.doc_id, *(m.doc_id for m in best.also)}
    added: list[SameStory] = []
    for member in (record, *copy.also):
        if member.doc_id not in seen:
            seen.add(member.doc_id)
            added.append(member)
    return replace(best, also=(*best.also, *added)) if added else best


class CollapsingRetriever:
    """Wraps the hybrid retriever: asks it for a few more passages than wanted, then collapses clusters
    and folds repeated passages. Everything else (``profile``, ``keyword`` …) is the wrapped retriever's."""

    def __init__(self, inner: Any, stories: Stories, *, top_k: int, overfetch: int = 3) -> None:
        self.inner = inner
        self.stories = stories
        self.top_k = top_k
        self.overfetch = overfetch

    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None,
               mode: str = "hybrid", collapse: bool = True) -> SearchResult:
        """Top ``k``; the wrapped ranking is a prefix-stable list, so over-fetching changes no kept hit's rank."""
        want = k or self.top_k
        extra = {} if mode == "hybrid" else {"mode": mode}
        if not collapse:
            result: SearchResult = self.inner.search(query, k=want, filters=filters, **extra)
            return result
        result = self.inner.search(query, k=want * self.overfetch, filters=filters, **extra)
        stories = self.stories()
        hits = collapse_hits(result.hits, stories) if _has_clusters(stories) else list(result.hits)
        return replace(result, hits=tuple(fold_passages(hits, stories)[:want]))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _has_clusters(stories: Mapping[str, SameStory]) -> bool:
    return any(story.cluster != doc_id for doc_id, story in stories.items())
