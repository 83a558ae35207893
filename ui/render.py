"""Pure functions that turn library objects into chat HTML. No gradio here: tested alone.

Direction is decided per message (Arabic right-to-left, English left-to-right) because Gradio's global
``rtl`` flag flips the whole page; every text piece is HTML-escaped, and the displayed text is never
altered beyond escaping (the highlight wraps the article's own characters, found by Citation.start/end).
Pieces of the other direction (a model name, a file name, an English gloss) sit in ``<bdi>`` so the
bidi algorithm cannot reorder them with their neighbours.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath

from rag.arabic import detect_language
from rag.generation.answer import CUT_NOTE
from rag.types import Answer, Article, Citation, DocInfo, Health, SameStory, UploadResult

__all__ = [
    "direction", "lang_of", "message_html", "answer_html", "partial_html", "cut_html", "banner_html", "paragraph_bounds",
    "source_card_html", "source_label", "sources_html", "status_html", "example_questions",
    "documents_rows", "documents_html", "document_choices", "link_citations", "notice_html", "UNKNOWN_DATE",
    "answer_data", "upload_report_html", "header_html", "upload_hint_html", "stopped_html", "outlet_date",
    "citations_html", "also_html", "hint_html", "DATE_UNKNOWN", "lang_dir",
]

#: a citation marker such as [2] (any script's digits; int() reads Arabic-Indic ones too)
_MARKER = re.compile(r"\[(\d{1,3})\]")

#: shown where an article has no publication date, in the language of its title
UNKNOWN_DATE = {"ar": "غير معروف", "en": "unknown"}

#: shown where a cited source has no publication date, in the answer's language
DATE_UNKNOWN = {"ar": "تاريخ غير معروف", "en": "date unknown"}

#: why an answer stopped before its end (``Answer.finish_reason``), in the question's language
_STOPPED = {
    "cut": {"ar": "⚠ توقفت الإجابة قبل اكتمالها: تعطل النموذج أثناء الكتابة. النص أعلاه هو الجزء الذي تُحقق منه.",
            "en": "⚠ The answer stopped early: the model failed while writing. The text above is the checked part."},
    "length": {"ar": "⚠ توقفت الإجابة قبل اكتمالها: بلغت الإجابة حدّ الطول المسموح. النص أعلاه هو الجزء الذي تُحقق منه.",
               "en": "⚠ The answer stopped early: it hit the length limit. The text above is the checked part."},
}
_WHY = {"ar": "السبب", "en": "reason"}
_ALSO = {"ar": "نشرته أيضا", "en": "Also reported by"}

#: banners for answers that are not normal LLM answers, one language each (the question's)
_BANNERS = {
    "extractive": {"ar": "ℹ إجابة استخراجية: جمل مقتبسة من المقالات دون نموذج لغوي.",
                   "en": "ℹ Extractive answer: sentences quoted from the articles, no LLM."},
    "unsupported": {"ar": "⚠ بعض الجمل غير مدعومة بالمصادر.",
                    "en": "⚠ Some sentences are not supported by the sources."},
    "refused": {"ar": "لا تتضمن المقالات المفهرسة إجابة عن هذا السؤال.",
                "en": "The indexed articles do not answer this question."},
}


def direction(text: str) -> str:
    return "rtl" if detect_language(text) == "ar" else "ltr"


def lang_of(text: str) -> str:
    """"ar" for Arabic-script text, else "en": the language a reply or notice about ``text`` is written in."""
    return "ar" if direction(text) == "rtl" else "en"


def _wrap(body: str, text_for_dir: str, extra_class: str = "") -> str:
    """Blank lines around the body let the chat's markdown renderer still parse it inside the div."""
    cls = f"sanad-msg {extra_class}".strip()
    return f'<div dir="{direction(text_for_dir)}" lang="{lang_of(text_for_dir)}" class="{cls}">\n\n{body}\n\n</div>'


def message_html(text: str) -> str:
    """A user's message: escaped, in its own direction."""
    return _wrap(html.escape(text), text)


def partial_html(text: str) -> str:
    """The answer while it streams (markers become links only once citations are checked)."""
    return _wrap(html.escape(text) + " ▍", text or "ا", "sanad-partial")


def cut_html(text: str) -> str:
    """Streamed text when the stream itself raised after it (no final answer came): shown as is, marked.
    Streamed text is checked text (the answerer releases a sentence once checked), so it stays readable."""
    return _wrap(html.escape(text) + " …", text or "ا", "sanad-cut")


def lang_dir(lang: str) -> str:
    """The text direction of a UI language: "rtl" for Arabic, else "ltr"."""
    return "rtl" if lang == "ar" else "ltr"


def stopped_html(finish_reason: str, lang: str, why: str | None = None) -> str:
    """Under an answer that ended early ("cut": the model failed midway; "length": the token limit): that it
    stopped, why, and that the text above is the checked part; '' for a complete answer ("stop")."""
    texts = _STOPPED.get(finish_reason)
    if texts is None:
        return ""
    detail = f'<span class="sanad-why">{_WHY[lang]}: <bdi dir="auto">{html.escape(why)}</bdi></span>' if why else ""
    return (f'<div class="sanad-stopped sanad-stopped-{finish_reason}" dir="{lang_dir(lang)}" lang="{lang}">'
            f"{html.escape(texts[lang])}{detail}</div>")


def _cut_reason(answer: Answer) -> str | None:
    """The model's failure as the answerer wrote it in its cut note ("<CUT_NOTE> (<why>)"); None if absent."""
    for note in answer.notes:
        head = next((h for h in CUT_NOTE.values() if note.startswith(h)), None)
        if head is not None:
            return note[len(head):].strip().removeprefix("(").removesuffix(")").strip() or None
    return None


def outlet_date(source: str, published: str | None, lang: str, outlet: str | None = None) -> str:
    """"outlet · date" for a cited source, each part isolated; an unknown date is said so in ``lang``. The
    outlet is the one the article's metadata states, else the file name of ``source``."""
    date = f'<bdi dir="ltr">{html.escape(published)}</bdi>' if published else f"<bdi>{DATE_UNKNOWN[lang]}</bdi>"
    name = html.escape(source_label(source, outlet))
    return f'<bdi class="sanad-outlet">{name}</bdi> · <span class="sanad-date">{date}</span>'


def _cite_link(n: int, target: str = "sanad-src") -> str:
    return f'<bdi><a class="sanad-cite" href="#{target}-{n}" data-n="{n}">[{n}]</a></bdi>'


def citations_html(answer: Answer) -> str:
    """Under the answer, one line per cited source: its number, outlet and publication date."""
    if not answer.citations:
        return ""
    lang = _answer_lang(answer)
    rows = "".join(f'<div data-n="{c.n}">{_cite_link(c.n)} {outlet_date(c.source, c.published, lang, c.outlet)}</div>'
                   for c in sorted(answer.citations, key=lambda c: c.n))
    return f'<div class="sanad-cites" dir="{lang_dir(lang)}" lang="{lang}">{rows}</div>'


def also_html(also: Sequence[SameStory], lang: str) -> str:
    """"Also reported by: outlet (date), …" — the same story from other outlets; '' when there are none."""
    if not also:
        return ""
    parts = [f'<bdi class="sanad-outlet" title="{html.escape(s.title)}">{html.escape(source_label(s.source, s.outlet))}</bdi>'
             + (f' (<bdi dir="ltr">{html.escape(s.published)}</bdi>)' if s.published else "") for s in also]
    sep = "، " if lang == "ar" else ", "
    return (f'<div class="sanad-also" dir="{lang_dir(lang)}" lang="{lang}">{_ALSO[lang]}: '
            f"{sep.join(parts)}</div>")


def hint_html(text: str, lang: str) -> str:
    """A quiet one-language line under a chat message (not a message itself)."""
    return f'<div class="sanad-hint" dir="{lang_dir(lang)}" lang="{lang}">{html.escape(text)}</div>'


def notice_html(text: str, lang: str, kind: str = "error") -> str:
    """A one-language notice in the chat (an error, a refusal), in that language's direction."""
    return f'<div class="sanad-msg sanad-{kind}" dir="{lang_dir(lang)}" lang="{lang}">{html.escape(text)}</div>'


def link_citations(text: str, citations: Sequence[Citation], target: str = "sanad-src") -> str:
    """Escape the text and turn each known [n] into a link to the element ``#{target}-{n}`` (a source card,
    a timeline event); unknown markers stay text."""
    known = {c.n for c in citations}

    def repl(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return _cite_link(n, target)

    return _MARKER.sub(repl, html.escape(text))


def _answer_lang(answer: Answer) -> str:
    """The question's language (the answerer sets it); the text's own script when it is unset."""
    if answer.lang in ("ar", "en"):
        return answer.lang
    return lang_of(answer.question or answer.answer)


def banner_html(answer: Answer) -> str:
    """One banner, in the question's language, for extractive or partly unsupported answers; else ''.
    A refusal has no banner: its text is the refusal, shown once as such by ``answer_html``."""
    kind = "extractive" if answer.mode == "extractive" else "unsupported" if answer.unsupported else ""
    if answer.refused or not kind:
        return ""
    lang = _answer_lang(answer)
    return (f'<div class="sanad-banner sanad-{kind}" dir="{lang_dir(lang)}" lang="{lang}">'
            f"{html.escape(_BANNERS[kind][lang])}</div>")


def answer_html(answer: Answer) -> str:
    """The final chat message, from the checked answer: a refusal is one red block in the question's
    language; any other answer is its banner (if any), the text with clickable [n] markers, a note when it
    stopped early (cut or length limit, the checked text kept), and each source's outlet and date."""
    if answer.refused:
        lang = _answer_lang(answer)
        text = answer.answer.strip() or _BANNERS["refused"][lang]
        return notice_html("⚠ " + text, lang, "refused sanad-banner")
    body = link_citations(answer.answer, answer.citations)
    why = _cut_reason(answer) if answer.finish_reason == "cut" else None
    stopped = stopped_html(answer.finish_reason, _answer_lang(answer), why)
    return banner_html(answer) + _wrap(body, answer.answer) + stopped + citations_html(answer)


def answer_data(answer: Answer) -> dict[str, object]:
    """The structured answer a client reads (gradio_client's /ask): checked text, citations as data."""
    data = answer.to_dict()
    data.pop("passages", None)  # retrieval diagnostics: large, and /v1/ask already serves them
    return data


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


def source_label(source: str, outlet: str | None = None) -> str:
    """The outlet when the article's metadata states one; else the source, which is a file path for
    ingested files (``upload:NAME`` for uploads): readers need the file name, not the folder it came from."""
    if outlet:
        return outlet
    source = source.removeprefix("upload:")
    return PurePath(source.replace("\\", "/")).name if ("/" in source or "\\" in source) else source


def source_card_html(citation: Citation, article: Article | None, lang: str | None = None) -> str:
    """One source: title, outlet · date (unknown said so in ``lang``, the answer's language), the cited
    sentence highlighted in its paragraph, and the other outlets that carried the same story."""
    title = html.escape(article.title if article else citation.title)
    lang = lang or lang_of(citation.title or citation.quote)
    published = citation.published or (article.published if article else None)
    check = "" if citation.supported else ' <span class="sanad-unchecked">(غير مؤكد · unverified)</span>'
    dir_ = direction((article.text[:400] if article else citation.quote) or citation.quote)
    return (f'<div class="sanad-source" id="sanad-src-{citation.n}" data-n="{citation.n}" dir="{dir_}">'
            f'<div class="sanad-source-head"><span class="sanad-n">[{citation.n}]</span> <b><bdi>{title}</bdi></b>'
            f'{check}</div><div class="sanad-meta" dir="{lang_dir(lang)}">'
            f"{outlet_date(citation.source, published, lang, citation.outlet)}</div>"
            f"{_highlighted(article, citation)}{also_html(citation.also, lang)}</div>")


def sources_html(answer: Answer | None, articles: Mapping[str, Article]) -> str:
    """The sources panel: one card per citation, in marker order."""
    if answer is None or not answer.citations:
        return ('<div class="sanad-sources-empty" dir="rtl"><bdi>المصادر تظهر هنا</bdi> · '
                '<bdi dir="ltr">Sources appear here</bdi></div>')
    lang = _answer_lang(answer)
    cards = [source_card_html(c, articles.get(c.doc_id), lang) for c in sorted(answer.citations, key=lambda c: c.n)]
    return '<div class="sanad-sources">' + "".join(cards) + "</div>"


def _stat(ar: str, en: str, value: str) -> str:
    """One status item: each label and the value isolated, so no piece reorders with its neighbours."""
    return (f'<span class="sanad-stat"><span class="sanad-stat-label"><bdi lang="ar" dir="rtl">{ar}</bdi> · '
            f'<bdi lang="en" dir="ltr">{en}</bdi></span> '
            f'<bdi dir="ltr" class="sanad-stat-value">{html.escape(value)}</bdi></span>')


def status_html(health: Health) -> str:
    """The header status line: separate, isolated items laid out right-to-left (they wrap on phones)."""
    llm = {"ok": "✓", "unreachable": "✗", "model_missing": "⚠"}.get(health.ollama_status, "⚠")
    mode = "hybrid" if health.embed_mode == "hybrid" else "keyword-only"
    items = [_stat("النموذج", "Model", f"{health.ollama_model} {llm} {health.ollama_status}"),
             _stat("المقالات", "Articles", str(health.documents)),
             _stat("المقاطع", "Chunks", str(health.chunks)),
             _stat("البحث", "Search", mode)]
    return f'<div class="sanad-status" dir="rtl">{"".join(items)}</div>'


def header_html() -> str:
    """The page title and tagline: one line per language, so neither sentence wraps into the other."""
    return ('<div class="sanad-header" dir="rtl"><h1><bdi lang="ar">سند</bdi> · <bdi lang="en" dir="ltr">Sanad</bdi>'
            '</h1><p lang="ar">اسأل عن مقالاتك، وكل جملة موثقة بمصدرها.</p>'
            '<p><bdi lang="en" dir="ltr">Ask your articles; every claim is cited to its sentence.</bdi></p></div>')


def upload_hint_html() -> str:
    """What the upload box takes, in both languages, each isolated (file types read left-to-right)."""
    return ('<div class="sanad-upload-hint" dir="rtl"><p lang="ar">اسحب الملفات إلى المربع أو انقر لاختيارها، ثم '
            'اضغط «فهرسة».</p><p><bdi lang="en" dir="ltr">Drop files on the box or click to choose them, then press '
            'Index.</bdi></p><p><bdi dir="ltr" class="sanad-types">.txt .md .html .pdf .jsonl</bdi></p></div>')


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


def _published(doc: DocInfo) -> str:
    return doc.published or UNKNOWN_DATE[lang_of(doc.title or "ا")]


def documents_rows(docs: Sequence[DocInfo]) -> list[list[object]]:
    """The articles as plain rows (id, title, published or 'unknown', outlet or source file name, chunks)."""
    return [[d.doc_id, d.title, _published(d), source_label(d.source, d.outlet), d.chunks] for d in docs]


_COLUMNS = (("title", "العنوان", "Title"), ("published", "التاريخ", "Published"), ("source", "المصدر", "Source"),
            ("chunks", "مقاطع", "Chunks"), ("id", "المعرف", "id"))


def _cell(column: str, text: str, dir_: str) -> str:
    return f'<td class="sanad-col-{column}" dir="{dir_}"><bdi>{html.escape(text)}</bdi></td>'


def _doc_row(doc: DocInfo) -> str:
    title = doc.title or doc.doc_id
    published = _published(doc)
    date_dir = "ltr" if doc.published else direction(published)
    source_dir = direction(doc.outlet) if doc.outlet else "ltr"  # an outlet may be Arabic; a file name is a path
    cells = [_cell("title", title, direction(title)), _cell("published", published, date_dir),
             _cell("source", source_label(doc.source, doc.outlet), source_dir), _cell("chunks", str(doc.chunks), "ltr"),
             _cell("id", doc.doc_id, "ltr")]
    return f'<tr data-doc-id="{html.escape(doc.doc_id)}">{"".join(cells)}</tr>'


def documents_html(docs: Sequence[DocInfo]) -> str:
    """The Articles table: each cell in its own direction (Arabic titles right-to-left), a date or
    'unknown' in the title's language, the outlet or else the source's file name (wrapping, never widening the
    page)."""
    head = "".join(f'<th class="sanad-col-{key}" data-col="{key}"><bdi>{ar}</bdi> · <bdi dir="ltr">{en}</bdi></th>'
                   for key, ar, en in _COLUMNS)
    if not docs:
        body = ('<tr><td colspan="5" class="sanad-docs-empty"><bdi>لا مقالات بعد</bdi> · '
                '<bdi dir="ltr">No articles yet</bdi></td></tr>')
    else:
        body = "".join(_doc_row(d) for d in docs)
    return (f'<div class="sanad-docs-wrap" dir="rtl"><table class="sanad-docs" dir="rtl"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def document_choices(docs: Sequence[DocInfo]) -> list[tuple[str, str]]:
    """(label, doc id) pairs for the removal picker: the title beside the id it removes."""
    return [(f"{d.title} — {d.doc_id}" if d.title else d.doc_id, d.doc_id) for d in docs]


def _upload_line(result: UploadResult) -> str:
    if result.code == "unsupported_file":
        return "✗ ملف ثنائي، ليس مقالا · binary file, not an article"
    if result.status == "failed":
        return f"✗ {result.error}"
    if result.status == "partial":  # a JSONL file: the failed lines named, the others indexed
        return f"⚠ {result.error}"
    return f"✓ {result.doc_id} ({result.status})" if result.doc_id else f"✓ ({result.status})"


def upload_report_html(results: Sequence[UploadResult], counts: Mapping[str, int]) -> str:
    """One isolated line per uploaded file, then the counts (added · updated · unchanged · failed)."""
    lines = "".join(f'<li><bdi class="sanad-file">{html.escape(r.filename)}</bdi>: '
                    f'<bdi dir="auto">{html.escape(_upload_line(r))}</bdi></li>' for r in results)
    total = " · ".join(f"{counts.get(k, 0)} {k}" for k in ("added", "updated", "unchanged", "failed"))
    return f'<div class="sanad-upload-report" dir="auto"><ul>{lines}</ul><p dir="ltr">{total}</p></div>'
