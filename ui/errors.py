"""How the UI turns bad input and library errors into what a client sees, shared by the chat (``ui.app``)
and the Timeline tab (``ui.timeline_tab``): a ``gr.Error`` with a clear message and no traceback in the
server's log, and a library error's message with its hint.
"""

from __future__ import annotations

import gradio as gr

from rag.errors import InvalidDateError, RagError
from rag.types import SearchFilters
from ui import render
from ui.filters import date_error_text, date_filters

__all__ = ["error_text", "client_error", "rag_error", "api_filters"]


def error_text(exc: RagError) -> str:
    """A library error as one line: its message, then its hint when it has one."""
    return exc.message + (f" — {exc.hint}" if exc.hint else "")


def client_error(message: str) -> gr.Error:
    """What a bad call gets: a clear message, and no traceback in the server's log."""
    return gr.Error(message, print_exception=False)


def rag_error(exc: RagError) -> gr.Error:
    return client_error(error_text(exc))


def api_filters(text: object, what: str, published_from: str | None, published_to: str | None) -> SearchFilters | None:
    """A client call's prologue: ``text`` (the question or query, named ``what`` in the message) must be a
    non-empty string, and the optional date range becomes filters; otherwise a ``client_error``, the date
    error in the text's language."""
    if not isinstance(text, str) or not text.strip():
        raise client_error(f"the {what} is empty: pass a non-empty text")
    try:
        return date_filters(published_from, published_to)
    except InvalidDateError:
        raise client_error(date_error_text(published_from, published_to, render.lang_of(text))) from None
