"""The Timeline tab: a topic box, an optional date range, and the vertical timeline from ``Sanad.timeline``;
``/timeline`` gives gradio_client the Timeline's ``to_dict`` (events, undated, summary, summary_citations).

Kept apart from ``ui.app`` (the chat) so each stays small; it shares the chat's queue for slow work (a
timeline may call the LLM for its summary) and the chat's rules for bad input (a warning in the query's
language, nothing lost, no traceback).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from rag.errors import InvalidDateError, RagError
from rag.service import Sanad
from rag.types import SearchFilters, Timeline
from ui import render
from ui.errors import api_filters, error_text, rag_error
from ui.filters import DATE_HINT, date_error_text, date_filters
from ui.timeline_view import timeline_html

__all__ = ["TimelineHandlers", "timeline_tab", "wire_timeline"]

_EMPTY_TOPIC = "اكتب موضوعا أولا · Type a topic first"


class TimelineHandlers:
    """The tab's view and the client endpoint, over one facade."""

    def __init__(self, service: Sanad) -> None:
        self.service = service

    def _timeline(self, query: str, filters: SearchFilters | None, summarize: bool) -> Timeline:
        return self.service.timeline(query, filters=filters, summarize=bool(summarize))

    def view(self, query: str, date_from: str | None = None, date_to: str | None = None,
             summarize: bool = True) -> Any:
        """The tab's HTML for ``query``; a warning (and the view left as it was) for an empty topic or a bad
        date; an error from the library shown in place of the timeline, in the query's language."""
        if not isinstance(query, str) or not query.strip():
            gr.Warning(_EMPTY_TOPIC)
            return gr.update()
        lang = render.lang_of(query)
        try:
            filters = date_filters(date_from, date_to)
        except InvalidDateError:
            gr.Warning(date_error_text(date_from, date_to, lang))
            return gr.update()
        try:
            timeline = self._timeline(query, filters, summarize)
        except RagError as exc:
            return render.notice_html("✗ " + error_text(exc), lang)
        return timeline_html(timeline, lang)

    def timeline(self, query: str, published_from: str | None = None, published_to: str | None = None,
                 summarize: bool = True) -> dict[str, Any]:
        """Dated events about ``query`` across the articles, oldest first (each a cited sentence with its
        date, precision and date_basis), the undated ones apart, and with an LLM a cited summary.
        published_from/to: an optional date range, YYYY[-MM[-DD]]."""
        filters = api_filters(query, "query", published_from, published_to)
        try:
            return self._timeline(query, filters, summarize).to_dict()
        except RagError as exc:
            raise rag_error(exc) from None


def timeline_tab() -> dict[str, Any]:
    """The tab's components (built inside a ``gr.Tab``)."""
    with gr.Row():
        query = gr.Textbox(lines=1, max_lines=2, show_label=False, scale=4, elem_id="sanad-tl-query",
                           placeholder="موضوع، مثل: علاقة حفتر بروسيا · A topic, e.g. Haftar and Russia")
        show = gr.Button("اعرض · Show", variant="primary", scale=1, elem_id="sanad-tl-show")
    with gr.Row(elem_id="sanad-tl-dates"):
        date_from = gr.Textbox(label="من تاريخ · from", placeholder=DATE_HINT, max_lines=1, min_width=120)
        date_to = gr.Textbox(label="إلى تاريخ · to", placeholder=DATE_HINT, max_lines=1, min_width=120)
    summarize = gr.Checkbox(label="ملخص بالنموذج · LLM summary", value=True, elem_id="sanad-tl-summarize")
    view = gr.HTML(timeline_html(None, "ar"), elem_id="sanad-timeline")
    return {"query": query, "show": show, "date_from": date_from, "date_to": date_to, "summarize": summarize,
            "view": view}


def wire_timeline(handlers: TimelineHandlers, parts: dict[str, Any], queue: dict[str, Any]) -> None:
    """The button and Enter show the view; ``/timeline`` is the documented client endpoint."""
    inputs = [parts["query"], parts["date_from"], parts["date_to"], parts["summarize"]]
    parts["show"].click(handlers.view, inputs, parts["view"], api_visibility="private", **queue)
    parts["query"].submit(handlers.view, inputs, parts["view"], api_visibility="private", **queue)
    gr.api(handlers.timeline, api_name="timeline", **queue)
