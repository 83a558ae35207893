"""The Gradio chat: streaming answers, per-message direction, clickable citations, sources panel, articles tab.

All logic stays in the facade; this module only wires components to it and renders with ``ui.render``.
Gradio 6 takes css/head at launch or mount time, so callers pass ``launch_options()`` there.

Client API (``gradio_client``): ``/ask`` (question, history, extractive, optional published_from/to)
-> the checked answer as data (finish_reason says whether it stopped early; citations carry outlet, date, also),
``/timeline`` (query, optional published_from/to, summarize) -> the Timeline's to_dict (``ui.timeline_tab``),
``/documents`` -> the indexed articles, ``/upload`` (files) -> (report, per-file results), ``/remove``
(doc id, any string) -> (message, {"removed": id}). Bad calls get a ``gr.Error`` with a clear message.
Queues: answers share one group, writes another (one at a time, like the facade's lock), and "New chat"
skips the queue, so it never waits behind an upload or an answer (it cancels an answer in flight).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from gradio import routes as gr_routes
from gradio import utils as gr_utils

from rag.errors import DocumentNotFoundError, GenerationError, InvalidDateError, RagError
from rag.service import Sanad
from rag.settings import Settings
from rag.types import Answer, AnswerDelta, Article, SearchFilters, Turn
from ui import render
from ui.errors import api_filters, client_error, error_text, rag_error
from ui.filters import DATE_HINT, UNDATED_OUTSIDE, date_error_text, date_filters
from ui.style import UI_CSS, UI_HEAD
from ui.timeline_tab import TimelineHandlers, timeline_tab, wire_timeline

__all__ = ["build_ui", "mount_ui", "launch_options", "is_public_chat_path", "has_chat_session",
           "PUBLIC_CHAT_PATHS", "PUBLIC_CHAT_PREFIXES", "UI_CSS", "UI_HEAD"]

#: what the chat answers without a login when a key is set: its login page (Gradio serves it at / to a
#: browser with no session), the login form's POST, logging out, and the page's own static files
PUBLIC_CHAT_PATHS = frozenset({"/", "/login", "/login/", "/logout", "/theme.css", "/favicon.ico", "/robots.txt"})
PUBLIC_CHAT_PREFIXES = ("/assets/", "/static/")

def launch_options() -> dict[str, Any]:
    """css/head for ``Blocks.launch`` or ``gr.mount_gradio_app``."""
    return {"css": UI_CSS, "head": UI_HEAD}


def _auth(settings: Settings) -> Any:
    """With an API key the chat asks for it as the password (any user name), like the API's Bearer check."""
    if not settings.api_key:
        return None
    key = settings.api_key
    return lambda _user, password: secrets.compare_digest(str(password).encode(), key.encode())


def mount_ui(app: Any, blocks: gr.Blocks, settings: Settings, *, host: str, port: int) -> Any:
    """Mount the chat at / of an ASGI (FastAPI) app the caller built (the API's under `sanad serve`, a bare
    guarded one under `sanad ui`); keeps gradio inside ui/. With a key, its login takes the key as password."""
    mounted = gr.mount_gradio_app(app, blocks, path="/", server_name=host, server_port=port, auth=_auth(settings),
                                  footer_links=[], **launch_options())
    _check_client_paths(blocks)
    return mounted


def _check_client_paths(blocks: gr.Blocks) -> None:
    """Turn on Gradio's own "was this file uploaded by the client?" check for the mounted chat.

    Gradio copies every file path a client names in an event's inputs (the Articles tab's File, the
    Chatbot's file messages) into its cache, refusing paths outside its upload folder only once the
    Blocks counts as launched. ``launch()`` marks it so; ``mount_gradio_app`` does not, which let any
    client have the server read, index and serve back any file it can open. Mark it as ``launch()`` does.
    """
    blocks.has_launched = True


def _upload_folder() -> Path:
    """Where Gradio stores the files clients upload (GRADIO_TEMP_DIR, else <tmp>/gradio), symlinks resolved."""
    return Path(gr_utils.get_upload_folder()).resolve()


def _was_uploaded(path: str) -> bool:
    """True only for a file inside Gradio's upload folder (after resolving symlinks and ``..``)."""
    return Path(path).resolve().is_relative_to(_upload_folder())


def is_public_chat_path(path: str) -> bool:
    """Whether the chat answers ``path`` without a login (the key gate's list; docs/api.md documents it)."""
    return path in PUBLIC_CHAT_PATHS or path.startswith(PUBLIC_CHAT_PREFIXES)


def has_chat_session(scope: Any) -> bool:
    """Whether an ASGI request carries the session cookie of a login the mounted chat accepted (its
    password is the key). Gradio keeps its sessions on its app: found among the mounts of ``scope["app"]``."""
    chat = next((r.app for r in getattr(scope.get("app"), "routes", ())
                 if isinstance(getattr(r, "app", None), gr_routes.App)), None)
    if chat is None:
        return False
    raw = b"; ".join(v for k, v in scope.get("headers") or [] if k.lower() == b"cookie").decode("latin-1")
    cookies = dict(part.strip().partition("=")[::2] for part in raw.split(";") if "=" in part)
    token = cookies.get(f"access-token-{chat.cookie_id}") or cookies.get(f"access-token-unsecure-{chat.cookie_id}")
    return token is not None and token in chat.tokens


_NOT_UPLOADED = ("✗ رُفض: يُقبل فقط ما رُفع من ملفات · Refused: only files uploaded through this page can be "
                 "indexed, not paths on the server. Nothing was indexed.")
_EMPTY_QUESTION = "اكتب سؤالا أولا · Type a question first"
_NO_FILES = "لم تُختر ملفات · No files chosen"
_NO_ARTICLE = "اختر مقالا أو اكتب معرّفه · Choose an article or type its id"
#: ingest stages as the upload's progress bar names them
_STAGES = {"files": "قراءة الملفات · reading files", "chunks": "فهرسة المقاطع · indexing passages"}


def _error_html(exc: RagError, lang: str, text: str) -> str:
    """The error in the chat. After streamed text (checked, sentence by sentence) the text stays, marked
    as stopped early with the error as the reason; before any text, the error alone."""
    why = error_text(exc)
    if text:
        return render.cut_html(text) + render.stopped_html("cut", lang, why)
    return render.notice_html(f"✗ {why}", lang)


def _turns(history: Any) -> tuple[Turn, ...]:
    """Chat history from a client: a list of {"role": "user"|"assistant", "content": str}; else a clear error."""
    if history in (None, ""):
        return ()
    if not isinstance(history, list):
        raise client_error("history must be a list of {role, content} messages")
    turns = []
    for item in history:
        if not (isinstance(item, dict) and item.get("role") in ("user", "assistant")
                and isinstance(item.get("content"), str)):
            raise client_error('each history message must be {"role": "user" or "assistant", "content": text}')
        turns.append(Turn(role=item["role"], content=item["content"]))
    return tuple(turns)


def _progress_callback(progress: gr.Progress) -> Callable[[str, int, int], None]:
    def report(stage: str, done: int, total: int) -> None:
        label = _STAGES.get(stage, stage)
        progress((done, total) if total else None, desc=f"{label} {done}/{total}" if total else label)
    return report


class _Handlers:
    """Event handlers bound to one facade (which serialises uploads/removals with the API's)."""

    def __init__(self, service: Sanad) -> None:
        self.service = service

    def _articles(self, answer: Answer) -> dict[str, Article]:
        found: dict[str, Article] = {}
        for c in answer.citations:
            if c.doc_id not in found:
                try:
                    found[c.doc_id] = self.service.article(c.doc_id)
                except DocumentNotFoundError:
                    continue  # removed since the answer was made: the card falls back to the quote alone
        return found

    def _stream(self, question: str, history: tuple[Turn, ...], extractive: bool,
                filters: SearchFilters | None = None) -> Iterator[AnswerDelta | Answer]:
        """The facade's stream; an LLM that fails before any text falls back to the extractive answer.
        A failure after text ends the answer as cut (the answerer's final Answer says so); it is never
        swapped for another answer."""
        streamed = False
        options: dict[str, Any] = {"filters": filters} if filters is not None else {}
        try:
            for item in self.service.stream(question, history=history, extractive=extractive, **options):
                streamed = streamed or isinstance(item, AnswerDelta)
                yield item
        except GenerationError:
            if extractive or streamed:
                raise
            yield from self.service.stream(question, history=history, extractive=True, **options)

    def respond(self, question: str, messages: list[dict[str, Any]], turns: list[dict[str, str]],
                extractive: bool, date_from: str | None = None, date_to: str | None = None) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat. When the stream ends, the message is replaced by the final,
        checked answer (its text and citation numbers, markers linked), and the sources panel is filled.
        A bad date in the range box warns in the question's language and asks nothing (the question stays);
        a refusal under a range says that articles of unknown date are outside it."""
        if not (question or "").strip():
            gr.Warning(_EMPTY_QUESTION)
            yield gr.update(), messages, turns, gr.update()
            return
        lang = render.lang_of(question)
        try:
            filters = date_filters(date_from, date_to)
        except InvalidDateError:
            gr.Warning(date_error_text(date_from, date_to, lang))
            yield gr.update(), messages, turns, gr.update()
            return
        messages = [*messages, {"role": "user", "content": render.message_html(question)},
                    {"role": "assistant", "content": render.partial_html("")}]
        yield "", messages, turns, render.sources_html(None, {})
        text = ""
        try:
            for item in self._stream(question, _turns(turns), extractive, filters):
                if not isinstance(item, Answer):  # a delta; one marked ``replace`` restates the whole text
                    text = item.text if getattr(item, "replace", False) else text + item.text
                    messages = [*messages[:-1], {"role": "assistant", "content": render.partial_html(text)}]
                    yield "", messages, turns, gr.update()
                    continue
                hint = render.hint_html(UNDATED_OUTSIDE[lang], lang) if filters is not None and item.refused else ""
                messages = [*messages[:-1], {"role": "assistant", "content": render.answer_html(item) + hint}]
                turns = [*turns, {"role": "user", "content": question}, {"role": "assistant", "content": item.answer}]
                yield "", messages, turns, render.sources_html(item, self._articles(item))
        except RagError as exc:
            messages = [*messages[:-1], {"role": "assistant", "content": _error_html(exc, lang, text)}]
            yield "", messages, turns, gr.update()

    def ask(self, question: str, history: list[dict[str, str]] | None = None, extractive: bool = False,
            published_from: str | None = None, published_to: str | None = None) -> dict[str, Any]:
        """Answer one question (history: earlier {role, content} messages; published_from/to: an optional
        date range, YYYY[-MM[-DD]], either side open). Returns the checked answer: answer (text), citations
        (n, doc_id, title, source, quote, start, end, published, also, ...), refused, mode, finish_reason."""
        filters = api_filters(question, "question", published_from, published_to)
        final: Answer | None = None
        try:
            for item in self._stream(question, _turns(history), bool(extractive), filters):
                if isinstance(item, Answer):
                    final = item
        except RagError as exc:
            raise rag_error(exc) from None
        if final is None:
            raise client_error("no answer was produced")
        return render.answer_data(final)

    def documents(self) -> list[dict[str, Any]]:
        """The indexed articles: doc_id, title, chunks, published (null when unknown), source."""
        return [d.to_dict() for d in self.service.documents()]

    def refresh(self) -> tuple[str, Any, str, Any]:
        """Status line, examples, articles table and removal picker, after a load or a write."""
        docs = self.service.documents()
        samples = [[q] for q in render.example_questions(docs)]
        return (render.status_html(self.service.health()), gr.Dataset(samples=samples), render.documents_html(docs),
                gr.Dropdown(choices=render.document_choices(docs), value=None))

    def upload(self, files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[str, list[dict[str, Any]]]:
        """Index uploaded files (sanitised names), with progress; a report line and a result per file."""
        if not files:
            raise client_error(_NO_FILES)
        if not isinstance(files, list) or not all(isinstance(f, str) and _was_uploaded(f) for f in files):
            raise client_error(_NOT_UPLOADED)
        progress(0, desc=_STAGES["files"])
        try:
            report, results = self.service.upload([(Path(f).name, Path(f).read_bytes()) for f in files],
                                                  progress=_progress_callback(progress))
        except RagError as exc:
            raise rag_error(exc) from None
        counts = {"added": len(report.added), "updated": len(report.updated), "unchanged": len(report.unchanged),
                  "failed": sum(r.status == "failed" for r in results)}
        data = [{"filename": r.filename, "doc_id": r.doc_id, "status": r.status, "error": r.error} for r in results]
        return render.upload_report_html(results, counts), data

    def remove(self, doc_id: str | None, progress: gr.Progress = gr.Progress()) -> tuple[str, dict[str, str]]:
        """Remove one article by id (any id string: the picker's choices are only a convenience)."""
        if not isinstance(doc_id, str) or not doc_id.strip():
            raise client_error(_NO_ARTICLE)
        doc_id = doc_id.strip()
        progress(None, desc=f"حذف · removing {doc_id}")
        try:
            self.service.remove(doc_id)
        except RagError as exc:
            raise rag_error(exc) from None
        return render.notice_html(f"✓ حُذف · removed: {doc_id}", "ar", "removed"), {"removed": doc_id}


def build_ui(service: Sanad, settings: Settings) -> gr.Blocks:
    """Build (not launch) the chat app; the same Blocks runs alone (`sanad ui`) or mounted at / (`sanad serve`)."""
    handlers = _Handlers(service)
    with gr.Blocks(title="سند · Sanad", analytics_enabled=False) as demo:
        gr.HTML(render.header_html(), elem_id="sanad-header")
        status = gr.HTML(elem_id="sanad-status")
        with gr.Tab("المحادثة · Chat"):
            chat_parts = _chat_tab(render.example_questions(service.documents()))
        with gr.Tab("التسلسل الزمني · Timeline", elem_id="sanad-timeline-tab"):
            timeline_parts = timeline_tab()
        with gr.Tab("المقالات · Articles", elem_id="sanad-articles-tab"):
            docs_parts = _documents_tab()
        _wire(handlers, status, chat_parts, docs_parts)
        wire_timeline(TimelineHandlers(service), timeline_parts, _ANSWERING)
        demo.load(handlers.refresh, None, [status, chat_parts["examples"], docs_parts["table"], docs_parts["doc_id"]],
                  api_visibility="private", concurrency_limit=None, concurrency_id="sanad-read")
    return demo


def _chat_tab(examples_now: list[str]) -> dict[str, Any]:
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(elem_id="sanad-chat", height=520, label="المحادثة · Chat", buttons=["copy"],
                              feedback_options=None)
            question = gr.Textbox(lines=2, elem_id="sanad-input", show_label=False,
                                  placeholder="اكتب سؤالك هنا… · Type your question…")
            with gr.Row():
                ask = gr.Button("اسأل · Ask", variant="primary", elem_id="sanad-ask")
                extractive = gr.Checkbox(label="استخراجي دون نموذج · Extractive (no LLM)", value=False)
                clear = gr.Button("محادثة جديدة · New chat", elem_id="sanad-new-chat")
            with gr.Row(elem_id="sanad-dates"):
                date_from = gr.Textbox(label="من تاريخ · from", placeholder=DATE_HINT, max_lines=1, min_width=120,
                                       elem_id="sanad-date-from")
                date_to = gr.Textbox(label="إلى تاريخ · to", placeholder=DATE_HINT, max_lines=1, min_width=120,
                                     elem_id="sanad-date-to")
            examples = gr.Dataset(components=[question], samples=[[q] for q in examples_now],
                                  label="أمثلة · Examples", elem_id="sanad-examples")
        with gr.Column(scale=2):
            gr.Markdown("### المصادر · Sources", rtl=True)
            sources = gr.HTML(render.sources_html(None, {}), elem_id="sanad-sources")
    turns = gr.State([])
    return {"chat": chat, "question": question, "ask": ask, "extractive": extractive, "clear": clear,
            "examples": examples, "sources": sources, "turns": turns, "date_from": date_from, "date_to": date_to}


def _documents_tab() -> dict[str, Any]:
    gr.HTML(render.upload_hint_html(), elem_id="sanad-upload-hint")
    files = gr.File(file_count="multiple", elem_id="sanad-files", label="رفع مقالات · Upload articles")
    upload = gr.Button("فهرسة · Index", variant="primary", elem_id="sanad-index")
    upload_result = gr.HTML(elem_id="sanad-upload-result", label="report")
    upload_data = gr.JSON(visible=False, label="results")
    table = gr.HTML(render.documents_html([]), elem_id="sanad-docs")
    with gr.Row():
        doc_id = gr.Dropdown(choices=[], label="مقال للحذف · Article to remove", allow_custom_value=True,
                             elem_id="sanad-doc-id")
        remove = gr.Button("حذف · Remove", variant="stop", elem_id="sanad-remove")
    remove_result = gr.HTML(elem_id="sanad-remove-result", label="message")
    removed = gr.JSON(visible=False, label="removed")
    return {"files": files, "upload": upload, "upload_result": upload_result, "upload_data": upload_data,
            "table": table, "doc_id": doc_id, "remove": remove, "remove_result": remove_result, "removed": removed}


#: answers and timelines (both may call the LLM) share one queue group
_ANSWERING: dict[str, Any] = {"concurrency_id": "sanad-ask", "concurrency_limit": 2}


def _wire(h: _Handlers, status: gr.HTML, c: dict[str, Any], d: dict[str, Any]) -> None:
    """Answers share a queue group, writes another (one at a time); reads and "New chat" never wait."""
    refresh_out = [status, c["examples"], d["table"], d["doc_id"]]
    ask_in = [c["question"], c["chat"], c["turns"], c["extractive"], c["date_from"], c["date_to"]]
    ask_out = [c["question"], c["chat"], c["turns"], c["sources"]]
    answering = _ANSWERING
    asked = c["ask"].click(h.respond, ask_in, ask_out, api_name="chat", api_visibility="undocumented", **answering)
    submitted = c["question"].submit(h.respond, ask_in, ask_out, api_visibility="private", **answering)
    c["clear"].click(lambda: ([], [], render.sources_html(None, {})), None, [c["chat"], c["turns"], c["sources"]],
                     queue=False, cancels=[asked, submitted], api_visibility="private")
    c["examples"].click(lambda sample: sample[0], c["examples"], c["question"], queue=False,
                        api_visibility="private")
    writing = {"concurrency_id": "sanad-write", "concurrency_limit": 1}
    reading = {"concurrency_id": "sanad-read", "concurrency_limit": None, "api_visibility": "private"}
    d["upload"].click(h.upload, d["files"], [d["upload_result"], d["upload_data"]], api_name="upload",
                      **writing).then(h.refresh, None, refresh_out, **reading)
    d["remove"].click(h.remove, d["doc_id"], [d["remove_result"], d["removed"]], api_name="remove",
                      **writing).then(h.refresh, None, refresh_out, **reading)
    gr.api(h.ask, api_name="ask", **answering)
    gr.api(h.documents, api_name="documents", concurrency_id="sanad-read", concurrency_limit=None)
