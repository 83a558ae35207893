"""The keyword index's change feed, kept in the store's collection metadata beside the version stamp.

Every commit appends ``{"v": new version, "p": parent version, "docs": [touched doc ids]}``. A process
whose keyword folder lacks the stamped version (another server on the same Chroma committed) replays the
entries from its own version to the stamp: the touched articles' chunks are read back from the store and
become one new segment, so catching up costs the change, not a rebuild. A gap in the chain (too far
behind, or a commit too big to list) falls back to the rebuild from the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FEED_KEY", "appended", "touched_since"]

#: collection-metadata key holding the feed (a JSON list, newest last)
FEED_KEY = "sanad:keyword_feed"
#: entries kept; a process further behind than this rebuilds (the feed is read with every stamp check: keep it small)
KEEP = 32
#: a commit touching more articles than this is recorded as "rebuild" (keeps the metadata small)
MAX_DOCS = 200


def _entries(meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    try:
        entries = json.loads(str(meta.get(FEED_KEY) or "[]"))
    except ValueError:
        return []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def appended(meta: Mapping[str, Any], version: str, parent: str | None, docs: Sequence[str]) -> str:
    """The feed with one more entry, as the JSON string to store."""
    entry: dict[str, Any] = {"v": version, "p": parent}
    if len(docs) <= MAX_DOCS:
        entry["docs"] = sorted(set(docs))
    return json.dumps((_entries(meta) + [entry])[-KEEP:], ensure_ascii=False)


def touched_since(meta: Mapping[str, Any], have: str, want: str) -> set[str] | None:
    """Articles changed between version ``have`` and ``want``; None when the feed cannot tell."""
    entries = {e.get("p"): e for e in _entries(meta)}
    touched: set[str] = set()
    version = have
    for _ in range(KEEP):
        entry = entries.get(version)
        if entry is None or "docs" not in entry:
            return None
        touched |= set(entry["docs"])
        version = str(entry.get("v"))
        if version == want:
            return touched
    return None
