"""The timeline view as HTML: a vertical line of dated events (date on the side, the cited sentence, its
article's title, outlet and date), the undated events apart, and the model's cited summary on top.

Pure functions, no gradio (tested alone), with the chat's rules: every piece escaped, each block in its own
direction, and pieces of the other direction (ISO dates, file names, English titles) isolated in ``<bdi>``.
An undated event is never shown with a date: the words its sentence uses ("12 فبراير", no year) are quoted
as what the text says, not as when it happened.
"""

from __future__ import annotations

import html

from rag.types import Timeline, TimelineEvent
from ui.render import also_html, direction, lang_dir, link_citations, outlet_date

__all__ = ["timeline_html", "event_html", "TIMELINE_TARGET"]

#: event ids are ``sanad-tl-{n}``; the summary's [n] markers link to them
TIMELINE_TARGET = "sanad-tl"

_TEXTS = {
    "ar": {"summary": "ملخص", "dated": "الأحداث حسب التاريخ", "undated": "غير مؤرخ",
           "undated_hint": "جمل لا يُعرف تاريخها: لا تذكر تاريخا كاملا، ومقالها غير مؤرخ.",
           "empty": "لم يُعثر على أحداث لهذا الموضوع في المقالات المفهرسة.", "says": "يذكر النص",
           "no_year": "دون سنة", "text": "تاريخ مذكور في الجملة", "relative": "محسوب من تاريخ نشر المقال",
           "published": "تاريخ نشر المقال", "count": "أحداث مؤرخة: {dated} · غير مؤرخة: {undated}"},
    "en": {"summary": "Summary", "dated": "Events by date", "undated": "Undated",
           "undated_hint": "Sentences whose date is unknown: they state no full date and their article is undated.",
           "empty": "No events found for this topic in the indexed articles.", "says": "the text says",
           "no_year": "no year", "text": "date stated in the sentence", "relative": "resolved from the article's date",
           "published": "the article's publication date", "count": "dated events: {dated} · undated: {undated}"},
}

_PLACEHOLDER = ('<div class="sanad-timeline sanad-tl-empty" dir="rtl"><bdi lang="ar">اكتب موضوعا لترى تسلسله الزمني عبر '
                'المقالات</bdi> · <bdi lang="en" dir="ltr">Type a topic to see how it developed across the articles'
                "</bdi></div>")


def event_html(event: TimelineEvent, lang: str) -> str:
    """One event: the date column (or nothing, undated), the numbered sentence in its own direction, and
    the article's title, outlet · date, and the outlets that carried the same story."""
    t, c = _TEXTS[lang], event.citation
    if event.date:
        basis = t.get(event.date_basis or "", "")
        side = (f'<div class="sanad-tl-date"><bdi dir="ltr">{html.escape(event.date)}</bdi>'
                f'<div class="sanad-tl-basis">{html.escape(basis)}</div></div>')
    else:
        side = ""
    stated = ""
    if event.stated and not event.date:
        stated = (f' · <span class="sanad-tl-stated">{t["says"]}: «<bdi>{html.escape(event.stated)}</bdi>» '
                  f'({t["no_year"]})</span>')
    quote = (f'<p class="sanad-tl-quote" dir="{direction(c.quote)}"><span class="sanad-n">[{c.n}]</span> '
             f"<bdi>{html.escape(c.quote)}</bdi></p>")
    meta = (f'<div class="sanad-tl-meta" dir="{lang_dir(lang)}"><b><bdi>{html.escape(c.title)}</bdi></b> · '
            f"{outlet_date(c.source, c.published, lang, c.outlet)}{stated}</div>")
    return (f'<li class="sanad-tl-event" id="{TIMELINE_TARGET}-{c.n}" data-n="{c.n}" data-date="{event.date or ""}">'
            f'{side}<div class="sanad-tl-body">{quote}{meta}{also_html(c.also, lang)}</div></li>')


def _summary_html(timeline: Timeline, lang: str) -> str:
    if not timeline.summary:
        return ""
    body = link_citations(timeline.summary, timeline.summary_citations, TIMELINE_TARGET)
    return (f'<section class="sanad-tl-summary" dir="{direction(timeline.summary)}"><h3 dir="{lang_dir(lang)}">'
            f'{_TEXTS[lang]["summary"]}</h3><p>{body}</p></section>')


def timeline_html(timeline: Timeline | None, lang: str) -> str:
    """The whole view in ``lang`` (the query's language): summary, dated events oldest first, then the
    undated ones in their own section; a placeholder before any query, a clear line when nothing was found."""
    if timeline is None:
        return _PLACEHOLDER
    lang = lang if lang in _TEXTS else "en"
    t = _TEXTS[lang]
    if not (timeline.events or timeline.undated):
        return f'<div class="sanad-timeline" dir="{lang_dir(lang)}" lang="{lang}"><p class="sanad-tl-none">{t["empty"]}</p></div>'
    count = t["count"].format(dated=len(timeline.events), undated=len(timeline.undated))
    parts = [_summary_html(timeline, lang), f'<div class="sanad-tl-count">{count}</div>']
    if timeline.events:
        items = "".join(event_html(e, lang) for e in timeline.events)
        parts.append(f'<section class="sanad-tl-dated"><h3>{t["dated"]}</h3>'
                     f'<ol class="sanad-tl-list">{items}</ol></section>')
    if timeline.undated:
        items = "".join(event_html(e, lang) for e in timeline.undated)
        parts.append(f'<section class="sanad-tl-undated"><h3>{t["undated"]}</h3><p class="sanad-tl-hint">'
                     f'{t["undated_hint"]}</p><ol class="sanad-tl-list">{items}</ol></section>')
    return f'<div class="sanad-timeline" dir="{lang_dir(lang)}" lang="{lang}">{"".join(parts)}</div>'
