"""Cleaning scraped news text: drop boilerplate lines, find the title, lay paragraphs out one way.

Why line-level rules: scraped articles carry navigation, counters, related-article lists and footers as
whole lines of their own, while article text never shares a line with them. So a line is either kept
verbatim (only its outer whitespace trimmed) or dropped whole; the display text is never rewritten.
Rules are patterns of boilerplate (shape and position), kept conservative: a short line without a
full stop is a sub-heading and stays unless its position marks it as navigation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.arabic import arabic_ratio, sentence_spans

__all__ = ["clean_text", "derive_title", "is_headline"]

_LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029\x85\x0b\x0c]")
_SENTENCE_FINAL = tuple(".:;،,؛")
_BREADCRUMB_SEP = re.compile(r"\s+[/>»›|\\]\s+")
_NUMBER = re.compile(r"[\d.,٫٬:/\-+%]+[kKmM]?")
_COPYRIGHT = re.compile(r"©|\(c\)|حقوق\s+\S*\s*محفوظ|الحقوق\s+محفوظ|all rights reserved|copyright", re.IGNORECASE)
_CREDIT = re.compile(
    r"^(?:تصميم|تطوير|برمجة|استضافة|designed by|design by|developed by|powered by|hosted by)\b", re.IGNORECASE
)
_TAGS = re.compile(r"^(?:الوسوم|وسوم|كلمات مفتاحية|الكلمات المفتاحية|tags|keywords)\s*[:：]", re.IGNORECASE)
_BYLINE = re.compile(r"^(?:بقلم|كتب|كتبت|تحرير|إعداد|اعداد|by|author|written by)\s*[:：]?\s+\S", re.IGNORECASE)
_READ_ALSO = re.compile(
    r"^(?:(?:اقرأ|إقرأ|اقرا|طالع|شاهد)\s+(?:أيضا|أيضاً|ايضا|ايضاً|المزيد)|(?:أخبار|مواضيع|مقالات)?\s*ذات\s+صلة"
    r"|read\s+(?:also|more)|related(?:\s+(?:articles|news|stories|posts))?|see\s+also)\s*[:：]?",
    re.IGNORECASE,
)
# Words that, alone or with counters, make up a share/social bar.
_SHARE_WORDS = frozenset(
    """facebook twitter whatsapp telegram linkedin pinterest reddit messenger email e-mail print share shares
    tweet comments comment views likes فيسبوك فيس بوك تويتر واتساب واتس اب تلغرام تيليغرام تليجرام لينكدإن
    طباعة مشاركة مشاركات شارك تغريد تعليق تعليقات مشاهدة مشاهدات إعجاب""".split()
)
_HOME_WORDS = frozenset({"الرئيسية", "الصفحة الرئيسية", "الرئيسيه", "home", "accueil"})
_HEADER_SCAN = 6  # non-blank lines at the top where navigation/bylines are looked for
_TAIL_SCAN = 8  # non-blank lines at the bottom where footers are looked for
_TITLE_CHARS = 90


def clean_text(raw: str, title: str | None = None) -> tuple[str, str, tuple[str, ...]]:
    """-> (title, text, dropped_lines). ``text`` starts with the title line when the article had a headline
    (or ``title`` was given, e.g. from HTML metadata), then paragraphs separated by blank lines."""
    lines = [line.strip() for line in _LINE_BREAKS.sub("\n", raw.replace("\ufeff", "")).split("\n")]
    drop = _boilerplate(lines)
    kept = [i for i, line in enumerate(lines) if line and i not in drop]
    headline = _breadcrumb_headline(lines, drop) if title is None else " ".join(title.split())
    if kept and headline and lines[kept[0]] == headline:
        kept = kept[1:]  # the headline is also a line of its own: keep it verbatim
    elif headline is None and len(kept) > 1 and is_headline(lines[kept[0]]):
        headline, kept = lines[kept[0]], kept[1:]
    if headline and kept and lines[kept[0]] == headline:
        drop.add(kept.pop(0))  # the headline repeated as the first body line
    paragraphs = _paragraphs(lines, kept)
    dropped = tuple(lines[i] for i in sorted(drop) if lines[i])
    if headline:
        return headline, "\n\n".join([headline, *paragraphs]), dropped
    body = "\n\n".join(paragraphs)
    return derive_title(body), body, dropped


def is_headline(line: str) -> bool:
    """A headline is short and does not end like a sentence (a trailing '..' or '…' is a teaser, not a
    full stop); a question or exclamation may still be one."""
    words = len(line.split())
    if not line or words > 20 or len(line) > 200:
        return False
    if line.endswith(_SENTENCE_FINAL) and not line.endswith(".."):
        return False
    return not (line.endswith(("!", "?", "؟")) and words > 15)


def derive_title(body: str) -> str:
    """Title for an article without a headline: its first sentence, cut at a word boundary with '…'."""
    spans = sentence_spans(body[:2000])
    if not spans:
        return ""
    sentence = " ".join(body[spans[0][0] : spans[0][1]].split()).rstrip(".!?؟…:;،, ")
    if len(sentence) <= _TITLE_CHARS:
        return sentence
    cut = sentence.rfind(" ", 0, _TITLE_CHARS)
    return sentence[: cut if cut > _TITLE_CHARS // 2 else _TITLE_CHARS].rstrip("،,;:؛ ") + "…"


# --- which lines are boilerplate ------------------------------------------------------------------


def _boilerplate(lines: Sequence[str]) -> set[int]:
    """Indices of boilerplate lines: anywhere (separators, counters, share bars, related headlines),
    at the top (breadcrumbs, bylines) and at the bottom (copyright, credits, tags)."""
    drop: set[int] = set()
    nonblank = [i for i, line in enumerate(lines) if line]
    for pos, i in enumerate(nonblank):
        line = lines[i]
        if _is_separator(line) or _is_counter_or_share(line) or _TAGS.match(line):
            drop.add(i)
        elif pos and _is_separator(lines[nonblank[pos - 1]]) and _is_short_heading(line):
            drop.add(i)  # a headline set between lone separator lines: a related-articles list
    drop |= _read_also(lines, nonblank)
    drop |= _header(lines, nonblank)
    drop |= _footer(lines, nonblank)
    return drop


def _is_separator(line: str) -> bool:
    """A line of punctuation only ('-', '***', '—', '|'): layout, never text."""
    return bool(line) and len(line) <= 10 and not any(ch.isalnum() for ch in line)


def _is_counter_or_share(line: str) -> bool:
    """A share counter ('0', '1.2k') or a share bar ('Facebook Twitter', '12 تعليق'), no other words."""
    tokens = [t.strip(":|·•()[]").casefold() for t in line.split()]
    tokens = [t for t in tokens if t]
    if not tokens or len(tokens) > 8:
        return False
    numbers = [t for t in tokens if _NUMBER.fullmatch(t) and any(ch.isdigit() for ch in t)]
    words = [t for t in tokens if t in _SHARE_WORDS]
    return len(numbers) + len(words) == len(tokens) and (bool(numbers) or len(words) >= 1)


def _is_short_heading(line: str) -> bool:
    return len(line.split()) <= 15 and len(line) <= 150 and not line.endswith(_SENTENCE_FINAL)


def _is_body(line: str) -> bool:
    """A line that is clearly article prose: long, or a full sentence of several words."""
    words = len(line.split())
    return words >= 25 or (words >= 6 and line.endswith((".", "!", "?", "؟", "…", "”", '"', "»")))


def _read_also(lines: Sequence[str], nonblank: Sequence[int]) -> set[int]:
    """'Read also:' markers, and when the marker stands alone, the short headlines listed under it."""
    drop: set[int] = set()
    for pos, i in enumerate(nonblank):
        match = _READ_ALSO.match(lines[i])
        if not match or len(lines[i].split()) > 16:
            continue
        drop.add(i)
        if lines[i][match.end() :].strip():
            continue  # the headline was on the marker's own line
        for j in nonblank[pos + 1 : pos + 7]:
            if _is_body(lines[j]) or not _is_short_heading(lines[j]):
                break
            drop.add(j)
    return drop


def _header(lines: Sequence[str], nonblank: Sequence[int]) -> set[int]:
    """Breadcrumbs and author/site lines above the first paragraph of prose."""
    drop: set[int] = set()
    arabic = arabic_ratio(" ".join(lines[i] for i in nonblank[:40])) >= 0.5
    for pos, i in enumerate(nonblank[:_HEADER_SCAN]):
        line = lines[i]
        if _is_body(line):
            break
        if _breadcrumb_parts(line) or (_BYLINE.match(line) and len(line.split()) <= 6):
            drop.add(i)
        elif pos and arabic and _is_latin_name(line):
            drop.add(i)  # a lone Latin site/author name under the headline of an Arabic article
    return drop


def _is_latin_name(line: str) -> bool:
    words = line.split()
    return 1 <= len(words) <= 3 and arabic_ratio(line) == 0.0 and any(ch.isalpha() for ch in line) \
        and not line.endswith(_SENTENCE_FINAL + ("!", "?"))


def _breadcrumb_parts(line: str) -> list[str]:
    """The parts of a breadcrumb ('Home / World / Headline'): three or more parts, all short but the
    last; two parts only after a home link ('الرئيسية / دولي'), since 'Headline | Site' is a title.
    Empty when the line is not one."""
    parts = _BREADCRUMB_SEP.split(line)
    if len(parts) < 2 or any(not p or len(p.split()) > 3 or len(p) > 30 for p in parts[:-1]):
        return []
    if len(parts) == 2 and parts[0].casefold() not in _HOME_WORDS:
        return []
    return parts


def _breadcrumb_headline(lines: Sequence[str], drop: set[int]) -> str | None:
    """The headline a breadcrumb ends with ('الرئيسية / دولي / <headline>'), when it is the first line."""
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is None or first not in drop:
        return None
    parts = _breadcrumb_parts(lines[first])
    if parts and len(parts[-1].split()) > 3:
        return parts[-1]
    return None


def _footer(lines: Sequence[str], nonblank: Sequence[int]) -> set[int]:
    """Copyright and credit lines at the end, with the short lines after a copyright notice."""
    drop: set[int] = set()
    tail = list(nonblank[-_TAIL_SCAN:])
    for k, i in enumerate(tail):
        line = lines[i]
        if _COPYRIGHT.search(line) and len(line.split()) <= 15:
            rest = tail[k:]
            if all(len(lines[j].split()) <= 15 and not _is_body(lines[j]) for j in rest):
                drop.update(rest)
                break
    for i in reversed(tail):
        if i in drop or _is_separator(lines[i]) or _is_counter_or_share(lines[i]):
            continue
        if _CREDIT.match(lines[i]) and len(lines[i].split()) <= 6:
            drop.add(i)
            continue
        break
    return drop


# --- layout -----------------------------------------------------------------------------------------


def _paragraphs(lines: Sequence[str], kept: Sequence[int]) -> list[str]:
    """Kept lines as paragraphs. Lines the source separated by blank lines stay in their block; a source
    without blank lines (one paragraph per line, as many scrapes are) gets one paragraph per line,
    unless its lines look hard-wrapped (short, mostly not ending a sentence)."""
    blocks: list[list[str]] = []
    previous = -2
    for i in kept:
        gap = any(not lines[j] for j in range(previous + 1, i)) if previous >= 0 else True
        if gap:
            blocks.append([])
        blocks[-1].append(lines[i])
        previous = i
    if len(blocks) == 1 and len(blocks[0]) > 1 and not _hard_wrapped(blocks[0]):
        return list(blocks[0])
    return ["\n".join(block) for block in blocks]


def _hard_wrapped(block: Sequence[str]) -> bool:
    lengths = sorted(len(line) for line in block)
    ends = sum(line.endswith((".", "!", "?", "؟", "…", "”", '"', "»", ":")) for line in block[:-1])
    return lengths[len(lengths) // 2] < 100 and ends < 0.5 * (len(block) - 1)
