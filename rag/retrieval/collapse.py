"""One passage per story: search folds the other outlets' copies of a story into its best-ranked hit.

Near-duplicate clusters come from ingest (``rag.ingestion.near_duplicates``) as a snapshot: doc id -> its
``SameStory`` record. In a result, the best-ranked article of a cluster stands for the cluster (the passage
that matched best, which need not be the earliest copy); hits from its other members are dropped and every
other member is listed on the kept hits as ``also`` ("also reported by …"), so citations can name every
outlet. Several passages of the kept article stay: they are one outlet's text. ``collapse=False`` returns
every copy (the CLI's ``--all-copies``, the API's ``collapse=false``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from rag.types import Hit, SameStory, SearchFilters, SearchResult

__all__ = ["CollapsingRetriever", "collapse_hits"]

Stories = Callable[[], Mapping[str, SameStory]]


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


class CollapsingRetriever:
    """Wraps the hybrid retriever: asks it for a few more passages than wanted, then collapses clusters.
    Everything else (``profile``, ``keyword`` …) is the wrapped retriever's."""

    def __init__(self, inner: Any, stories: Stories, *, top_k: int, overfetch: int = 3) -> None:
        self.inner = inner
        self.stories = stories
        self.top_k = top_k
        self.overfetch = overfetch

    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None,
               mode: str = "hybrid", collapse: bool = True) -> SearchResult:
        want = k or self.top_k
        extra = {} if mode == "hybrid" else {"mode": mode}
        stories = self.stories() if collapse else {}
        if not _has_clusters(stories):
            result: SearchResult = self.inner.search(query, k=want, filters=filters, **extra)
            return result
        result = self.inner.search(query, k=want * self.overfetch, filters=filters, **extra)
        return replace(result, hits=tuple(collapse_hits(result.hits, stories)[:want]))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _has_clusters(stories: Mapping[str, SameStory]) -> bool:
    return any(story.cluster != doc_id for doc_id, story in stories.items())
