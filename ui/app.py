"""The Gradio chat: streaming answers, per-message direction, clickable citations, sources panel, articles tab.

All logic stays in the facade; this module only wires components to it and renders with ``ui.render``.
Gradio 6 takes css/head at launch or mount time, so callers pass ``launch_options()`` there.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from gradio import utils as gr_utils

from rag.errors import DocumentNotFoundError, GenerationError, RagError
from rag.service import Sanad
from rag.settings import Settings
from rag.types import Answer, AnswerDelta, Article, Turn, UploadResult
from ui import render

__all__ = ["build_ui", "mount_ui", "launch_ui", "launch_options", "UI_CSS", "UI_HEAD"]

UI_CSS = """
.sanad-msg[dir=rtl] { text-align: right; font-family: 'Noto Naskh Arabic', 'Noto Sans Arabic', sans-serif; }
.sanad-msg[dir=ltr] { text-align: left; }
#sanad-input textarea { unicode-bidi: plaintext; text-align: start; }
a.sanad-cite { font-weight: 700; text-decoration: none; cursor: pointer; padding: 0 2px; }
.sanad-banner { padding: 6px 10px; border-radius: 6px; margin-bottom: 6px; }
.sanad-refused { background: #fdecea; color: #8a1c13; }
.sanad-extractive, .sanad-unsupported { background: #fff4d6; color: #6b4e00; }
.sanad-source { border: 1px solid #ddd; border-radius: 8px; padding: 8px 12px; margin: 8px 0; line-height: 1.8; }
.sanad-source.sanad-active, .sanad-source:target { border-color: #e0a800; box-shadow: 0 0 0 2px #ffe08a; }
.sanad-source mark { background: #ffe08a; padding: 0 2px; }
.sanad-meta { color: #666; font-size: 0.9em; }
.sanad-error { color: #8a1c13; }
"""

#: clicking a [n] marker scrolls to and marks its source card (works whatever the chat's link handling is)
UI_HEAD = """<script>
document.addEventListener('click', function (ev) {
  var a = ev.target.closest && ev.target.closest('a.sanad-cite');
  if (!a) return;
  ev.preventDefault(); ev.stopPropagation();
  var card = document.getElementById((a.getAttribute('href') || '#').slice(1));
  if (!card) return;
  document.querySelectorAll('.sanad-source.sanad-active').forEach(function (c) { c.classList.remove('sanad-active'); });
  card.classList.add('sanad-active');
  card.scrollIntoView({behavior: 'smooth', block: 'center'});
}, true);
</script>"""


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
    """Mount the chat at / of an ASGI (FastAPI) app the caller built; keeps gradio inside ui/."""
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


def launch_ui(blocks: gr.Blocks, settings: Settings, *, host: str, port: int) -> None:
    """Run the chat alone (blocks until stopped)."""
    blocks.launch(server_name=host, server_port=port, auth=_auth(settings), footer_links=[], **launch_options())


_NOT_UPLOADED = ("✗ رُفض: يُقبل فقط ما رُفع من ملفات · Refused: only files uploaded through this page can be "
                 "indexed, not paths on the server. Nothing was indexed.")


def _error_html(exc: RagError) -> str:
    hint = f" — {exc.hint}" if exc.hint else ""
    return f'<div class="sanad-error" dir="auto">✗ {render.html.escape(exc.message + hint)}</div>'


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

    def _stream(self, question: str, turns: list[dict[str, str]], extractive: bool) -> Iterator[AnswerDelta | Answer]:
        history = tuple(Turn(role=t["role"], content=t["content"]) for t in turns)  # type: ignore[arg-type]
        try:
            yield from self.service.stream(question, history=history, extractive=extractive)
        except GenerationError:
            if extractive:
                raise
            yield from self.service.stream(question, history=history, extractive=True)

    def respond(self, question: str, messages: list[dict[str, Any]], turns: list[dict[str, str]],
                extractive: bool) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat; the final message gets linked markers and the sources panel."""
        if not (question or "").strip():
            yield "", messages, turns, gr.update()
            return
        messages = [*messages, {"role": "user", "content": render.message_html(question)},
                    {"role": "assistant", "content": render.partial_html("")}]
        yield "", messages, turns, render.sources_html(None, {})
        text = ""
        try:
            for item in self._stream(question, turns, extractive):
                if isinstance(item, AnswerDelta):
                    text += item.text
                    messages = [*messages[:-1], {"role": "assistant", "content": render.partial_html(text)}]
                    yield "", messages, turns, gr.update()
                    continue
                messages = [*messages[:-1], {"role": "assistant", "content": render.answer_html(item)}]
                turns = [*turns, {"role": "user", "content": question}, {"role": "assistant", "content": item.answer}]
                yield "", messages, turns, render.sources_html(item, self._articles(item))
        except RagError as exc:
            messages = [*messages[:-1], {"role": "assistant", "content": _error_html(exc)}]
            yield "", messages, turns, gr.update()

    def status(self) -> tuple[str, Any, list[list[object]], Any]:
        docs = self.service.documents()
        health = self.service.health()
        samples = [[q] for q in render.example_questions(docs)]
        ids = [d.doc_id for d in docs]
        return (render.status_line(health), gr.Dataset(samples=samples), render.documents_rows(docs),
                gr.Dropdown(choices=ids, value=None))

    def upload(self, files: list[str] | None) -> str:
        """Ingest uploaded files under sanitised names; one result line per file."""
        if not files:
            return "لم تُختر ملفات · No files chosen"
        if not all(_was_uploaded(f) for f in files):
            return _NOT_UPLOADED
        try:
            report, results = self.service.upload([(Path(f).name, Path(f).read_bytes()) for f in files])
        except RagError as exc:
            return f"✗ {exc}"
        lines = [f"- `{r.filename}`: {_upload_line(r)}" for r in results]
        lines.append(f"\n{len(report.added)} added · {len(report.updated)} updated · "
                     f"{len(report.unchanged)} unchanged · {len(report.failed)} failed")
        return "\n".join(lines)

    def remove(self, doc_id: str | None) -> str:
        if not doc_id:
            return "اختر مقالا · Choose an article"
        try:
            self.service.remove(doc_id)
        except RagError as exc:
            return f"✗ {exc}"
        return f"حُذف · removed `{doc_id}`"


def _upload_line(result: UploadResult) -> str:
    if result.code == "unsupported_file":
        return "✗ ملف ثنائي · binary file, not an article"
    if result.status == "failed":
        return f"✗ {result.error}"
    return f"✓ `{result.doc_id}` ({result.status})" if result.doc_id else f"✓ ({result.status})"


def build_ui(service: Sanad, settings: Settings) -> gr.Blocks:
    """Build (not launch) the chat app; the same Blocks runs alone (`sanad ui`) or mounted at / (`sanad serve`)."""
    handlers = _Handlers(service)
    with gr.Blocks(title="سند · Sanad", analytics_enabled=False) as demo:
        gr.Markdown("# سند · Sanad\nاسأل عن مقالاتك، وكل جملة موثقة بمصدرها · "
                    "Ask your articles; every claim is cited to its sentence.", rtl=True)
        status = gr.Markdown(elem_id="sanad-status", rtl=True)
        with gr.Tab("المحادثة · Chat"):
            chat_parts = _chat_tab(render.example_questions(service.documents()))
        with gr.Tab("المقالات · Articles"):
            docs_parts = _documents_tab()
        _wire(demo, handlers, status, chat_parts, docs_parts)
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
                clear = gr.Button("محادثة جديدة · New chat")
            examples = gr.Dataset(components=[question], samples=[[q] for q in examples_now],
                                  label="أمثلة · Examples", elem_id="sanad-examples")
        with gr.Column(scale=2):
            gr.Markdown("### المصادر · Sources", rtl=True)
            sources = gr.HTML(render.sources_html(None, {}), elem_id="sanad-sources")
    turns = gr.State([])
    return {"chat": chat, "question": question, "ask": ask, "extractive": extractive, "clear": clear,
            "examples": examples, "sources": sources, "turns": turns}


def _documents_tab() -> dict[str, Any]:
    files = gr.File(file_count="multiple", label="رفع مقالات · Upload articles (.txt .md .html .pdf .jsonl)")
    upload = gr.Button("فهرسة · Index", variant="primary")
    upload_result = gr.Markdown(elem_id="sanad-upload-result")
    table = gr.Dataframe(headers=["id", "العنوان · Title", "التاريخ · Date", "المصدر · Source", "مقاطع · Chunks"],
                         interactive=False, elem_id="sanad-docs")
    with gr.Row():
        doc_id = gr.Dropdown(choices=[], label="مقال · Article", allow_custom_value=False)
        remove = gr.Button("حذف · Remove", variant="stop")
    remove_result = gr.Markdown()
    return {"files": files, "upload": upload, "upload_result": upload_result, "table": table, "doc_id": doc_id,
            "remove": remove, "remove_result": remove_result}


def _wire(demo: gr.Blocks, h: _Handlers, status: gr.Markdown, c: dict[str, Any], d: dict[str, Any]) -> None:
    refresh_out = [status, c["examples"], d["table"], d["doc_id"]]
    ask_in = [c["question"], c["chat"], c["turns"], c["extractive"]]
    ask_out = [c["question"], c["chat"], c["turns"], c["sources"]]
    c["ask"].click(h.respond, ask_in, ask_out, api_name="ask")
    c["question"].submit(h.respond, ask_in, ask_out, api_name=False)
    c["clear"].click(lambda: ([], [], render.sources_html(None, {})), None, [c["chat"], c["turns"], c["sources"]],
                     api_name=False)
    c["examples"].click(lambda sample: sample[0], c["examples"], c["question"], api_name=False)
    d["upload"].click(h.upload, d["files"], d["upload_result"], api_name="upload").then(
        h.status, None, refresh_out, api_name=False)
    d["remove"].click(h.remove, d["doc_id"], d["remove_result"], api_name="remove").then(
        h.status, None, refresh_out, api_name=False)
    demo.load(h.status, None, refresh_out, api_name="status")
