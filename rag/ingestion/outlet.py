"""The outlet (the publisher: 'الجزيرة نت', 'BBC Arabic') of an article, from what its metadata states.

Why apart from ``Article.source``: the source is the file an article came from (pruning and id clashes need
it), the outlet is what a reader knows the story by, shown beside every citation. Sources in order of trust:
a record's own field (``.jsonl`` ``outlet``, then ``publisher``, then ``site``, then its ``source`` when that
is a name rather than a path or URL), front matter, a ``NAME.meta.json`` sidecar, HTML metadata (og:site_name,
article:publisher, JSON-LD ``publisher.name``). Unknown stays unknown: never taken from a file name, a URL's
host or a page title, so the CLI and UI fall back to showing the file name as the file name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["OUTLET_KEYS", "outlet_name", "first_outlet", "outlet_of"]

#: metadata keys that name the outlet, most specific first (front matter, sidecars, .jsonl records)
OUTLET_KEYS = ("outlet", "publisher", "site", "site_name")

_MAX_CHARS = 120  # longer than any outlet's name: such a value is text, not a name
_FILE_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl", ".json")


def outlet_name(value: object) -> str | None:
    """A cleaned outlet name (whitespace folded, a Twitter '@' dropped), or None when ``value`` is not one:
    empty, not a string, too long, or a path, URL or file name (those say where a file was, not who
    published it)."""
    if isinstance(value, Mapping):  # JSON-LD style {"name": "..."}
        value = value.get("name")
    if not isinstance(value, str):
        return None
    name = " ".join(value.split()).lstrip("@").strip()
    if (not name or len(name) > _MAX_CHARS or "/" in name or "\\" in name or "://" in name
            or name.lower().endswith(_FILE_SUFFIXES)):
        return None
    return name


def first_outlet(values: Iterable[object]) -> str | None:
    """The first value that is an outlet name (candidates in trust order)."""
    for value in values:
        name = outlet_name(value)
        if name is not None:
            return name
    return None


def outlet_of(record: Mapping[str, object], *, source_too: bool = False) -> str | None:
    """The outlet a metadata mapping states under ``OUTLET_KEYS`` (case-insensitive keys); with
    ``source_too`` (a .jsonl record) its ``source`` counts last, when it is a name and not a path."""
    lowered = {str(k).lower(): v for k, v in record.items()}
    keys = (*OUTLET_KEYS, "source") if source_too else OUTLET_KEYS
    return first_outlet(lowered.get(k) for k in keys)
