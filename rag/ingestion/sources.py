"""Which file an article came from: same-file checks, doc-id clashes, size refusals, prune candidates.

Kept apart from the pipeline so its run logic stays readable; all of it is pure path and record logic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from rag.ports import DocRecord
from rag.types import Article
from rag.uploads import UPLOAD_PREFIX

__all__ = ["same_source", "clashing_source", "size_error", "gone_from"]


def same_source(a: str, b: str) -> bool:
    """Same file whether it was named relatively or absolutely (a moved file is re-indexed)."""
    return a == b or Path(a).resolve() == Path(b).resolve()


def clashing_source(record: DocRecord | None, article: Article) -> str | None:
    """The other source holding ``article``'s doc id, when replacing it would lose an article: a different
    upload name, or a different file that still exists, with other content. A recorded file that is gone
    was moved or renamed, and one with the same content was copied: the new one takes its place."""
    if record is None or record.get("content_hash") == article.content_hash:
        return None
    old = str(record.get("source", ""))
    if not old or same_source(old, article.source):
        return None
    return old if old.startswith(UPLOAD_PREFIX) or Path(old).is_file() else None


def size_error(doc_id: str, size: int, limit: int) -> str:
    return (f"article {doc_id!r} is {size / 1e6:.1f} MB, over the {limit / 1e6:g} MB limit per article "
            "(SANAD_MAX_ARTICLE_BYTES); split it into articles or raise the limit")


def gone_from(paths: Sequence[Path], records: Mapping[str, DocRecord], seen: Mapping[str, str],
              failed_files: set[str]) -> list[str]:
    """Articles recorded under the given folders/files that a run did not find (unreadable files and
    uploads spared: an upload lives in no folder, only `remove` takes it out)."""
    roots = [Path(p).resolve() for p in paths]
    failed = {Path(f).resolve() for f in failed_files}
    gone = []
    for doc_id, rec in records.items():
        if str(rec.get("source", "")).startswith(UPLOAD_PREFIX):
            continue
        source = Path(str(rec.get("source", ""))).resolve()
        if doc_id in seen or source in failed:
            continue
        if any(source == root or (root.is_dir() and source.is_relative_to(root)) for root in roots):
            gone.append(doc_id)
    return gone
