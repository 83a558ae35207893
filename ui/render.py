"""Pure functions that turn library objects into chat HTML/markdown. No gradio here: tested alone.

Direction is decided per message (Arabic right-to-left, English left-to-right) because Gradio's global
``rtl`` flag flips the whole page; every text piece is HTML-escaped, and the displayed text is never
altered beyond escaping (the highlight wraps the article's own characters, found by Citation.start/end).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath

from rag.arabic import detect_language
from rag.types import Answer, Article, Citation, DocInfo, Health

__all__ = [
    "direction", "message_html", "answer_html", "partial_html", "banner_html", "paragraph_bounds",
    "source_card_html", "source_label", "sources_html", "status_line", "example_questions", "documents_rows",
    "link_citations",
]

#: a citation marker such as [2] (any script's digits; int() reads Arabic-Indic ones too)
_MARKER = re.compile(r"\[(\d{1,3})\]")


def direction(text: str) -> str:
    return "rtl" if detect_language(text) == "ar" else "ltr"


def _wrap(body: str, text_for_dir: str, extra_class: str = "") -> str:
    """Blank lines around the body let the chat's markdown renderer still parse it inside the div."""
    lang = "ar" if direction(text_for_dir) == "rtl" else "en"
    cls = f"sanad-msg {extra_class}".strip()
    return f'<div dir="{direction(text_for_dir)}" lang="{lang}" class="{cls}">\n\n{body}\n\n</div>'


def message_html(text: str) -> str:
    """A user's message: escaped, in its own direction."""
    return _wrap(html.escape(text), text)


def partial_html(text: str) -> str:
    """The answer while it streams (markers become links only once citations are checked)."""
    return _wrap(html.escape(text) + " ▍", text or "ا")


def link_citations(text: str, citations: Sequence[Citation]) -> str:
    """Escape the text and turn each known [n] into a link to its source card; unknown markers stay text."""
    known = {c.n for c in citations}

    def repl(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return f'<a class="sanad-cite" href="#sanad-src-{n}" data-n="{n}">[{n}]</a>'

    return _MARKER.sub(repl, html.escape(text))


def banner_html(answer: Answer) -> str:
    """A clear banner for answers that are not normal LLM answers; empty string otherwise."""
    if answer.refused:
        return ('<div class="sanad-banner sanad-refused" dir="rtl">⚠ لا تتضمن المقالات المفهرسة إجابة عن هذا السؤال'
                ' · <span dir="ltr">The indexed articles do not answer this question</span></div>')
    if answer.mode == "extractive":
        return ('<div class="sanad-banner sanad-extractive" dir="rtl">ℹ إجابة استخراجية: جمل مقتبسة دون نموذج لغوي'
                ' · <span dir="ltr">Extractive answer: quoted sentences, no LLM</span></div>')
    if answer.unsupported:
        return ('<div class="sanad-banner sanad-unsupported" dir="rtl">⚠ بعض الجمل غير مدعومة بالمصادر'
                ' · <span dir="ltr">Some sentences are not supported by the sources</span></div>')
    return ""


def answer_html(answer: Answer) -> str:
    """The final chat message: banner, then the answer with clickable [n] markers, in its own direction."""
    body = link_citations(answer.answer, answer.citations)
    return banner_html(answer) + _wrap(body, answer.answer)


def paragraph_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The blank-line separated paragraph(s) around [start, end) — the reader sees the quote in context."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    p_start = text.rfind("\n\n", 0, start)
    p_end = text.find("\n\n", end)
    return (0 if p_start < 0 else p_start + 2), (len(text) if p_end < 0 else p_end)


def _highlighted(article: Article | None, citation: Citation) -> str:
    """The paragraph with the cited span in <mark>; falls back to the quote alone if the span is off."""
    text = article.text if article else ""
    if article is None or not (0 <= citation.start < citation.end <= len(text)):
        return f"<p><mark>{html.escape(citation.quote)}</mark></p>"
    p_start, p_end = paragraph_bounds(text, citation.start, citation.end)
    before = html.escape(text[p_start:citation.start])
    quote = html.escape(text[citation.start:citation.end])
    after = html.escape(text[citation.end:p_end])
    return f"<p>{before}<mark>{quote}</mark>{after}</p>"


def source_label(source: str) -> str:
    """Sources are file paths for ingested files; readers need the file name, not the folder it came from."""
    return PurePath(source.replace("\\", "/")).name if ("/" in source or "\\" in source) else source


def source_card_html(citation: Citation, article: Article | None) -> str:
    title = html.escape(article.title if article else citation.title)
    published = citation.published or (article.published if article else None)
    meta = " · ".join(f"<bdi>{html.escape(p)}</bdi>" for p in (published or "", source_label(citation.source)) if p)
    check = "" if citation.supported else ' <span class="sanad-unchecked">(غير مؤكد · unverified)</span>'
    dir_ = direction((article.text[:400] if article else citation.quote) or citation.quote)
    return (f'<div class="sanad-source" id="sanad-src-{citation.n}" data-n="{citation.n}" dir="{dir_}">'
            f'<div class="sanad-source-head"><span class="sanad-n">[{citation.n}]</span> <b>{title}</b>{check}</div>'
            f'<div class="sanad-meta">{meta}</div>{_highlighted(article, citation)}</div>')


def sources_html(answer: Answer | None, articles: Mapping[str, Article]) -> str:
    """The sources panel: one card per citation, in marker order."""
    if answer is None or not answer.citations:
        return '<div class="sanad-sources-empty" dir="rtl">المصادر تظهر هنا · <span dir="ltr">Sources appear here</span></div>'
    cards = [source_card_html(c, articles.get(c.doc_id)) for c in sorted(answer.citations, key=lambda c: c.n)]
    return '<div class="sanad-sources">' + "".join(cards) + "</div>"


def status_line(health: Health) -> str:
    llm = {"ok": "✓", "unreachable": "✗", "model_missing": "⚠"}.get(health.ollama_status, "⚠")
    mode = "هجين · hybrid" if health.embed_mode == "hybrid" else "كلمات فقط · keyword-only"
    return (f"**النموذج · Model:** `{health.ollama_model}` {llm} {health.ollama_status} · "
            f"**المقالات · Articles:** {health.documents} · **المقاطع · Chunks:** {health.chunks} · "
            f"**البحث · Search:** {mode}")


def example_questions(docs: Sequence[DocInfo], limit: int = 4) -> list[str]:
    """Questions drawn from indexed titles, so examples always fit the user's own corpus."""
    questions = []
    for doc in docs[:limit]:
        title = doc.title.strip()
        if not title:
            continue
        if detect_language(title) == "ar":
            questions.append(f"ما أبرز ما ورد في خبر «{title}»؟")
        else:
            questions.append(f'What does the article "{title}" report?')
    return questions


def documents_rows(docs: Sequence[DocInfo]) -> list[list[object]]:
    return [[d.doc_id, d.title, d.published or "", d.source, d.chunks] for d in docs]
