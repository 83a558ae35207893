"""Native routes: ask (JSON or SSE), search, documents, health. Each is a thin call into the facade.

Handlers are plain ``def`` functions on purpose: FastAPI runs them in its thread pool, so the
embedder, Chroma and Ollama calls never block the event loop and questions are served concurrently.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from api.auth import require_key
from api.errors import error_body
from api.schemas import AskRequest, SearchRequest, to_turns
from api.streaming import SSE_HEADERS, error_payload, primed, sse
from api.uploads import check_published, ingest_uploads, raise_if_all_failed, read_uploads
from rag.errors import RagError
from rag.service import Sanad
from rag.types import Answer, AnswerDelta, SearchFilters

__all__ = ["health_router", "native_router"]

health_router = APIRouter(tags=["health"])
native_router = APIRouter(prefix="/v1", tags=["sanad"], dependencies=[Depends(require_key)])


def _service(request: Request) -> Sanad:
    return request.app.state.service



@health_router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health_router.get("/readyz", summary="The index is loaded; Ollama's state is reported, not required")
def readyz(request: Request) -> JSONResponse:
    try:
        health = _service(request).health()
    except RagError as exc:
        return JSONResponse({"status": "not_ready", **error_body(exc.code, exc.message, exc.hint)}, status_code=503)
    body = {"status": "ready", "ollama_ready": health.ollama_status == "ok", **health.to_dict()}
    return JSONResponse(body)


def _ask_events(items: Any) -> Any:
    """SSE for /v1/ask: ``delta`` events carry checked text (each sentence is released once its citations
    are checked, so the deltas joined equal the final text), then one ``answer`` event: the complete
    Answer, whose ``answer`` field REPLACES whatever was streamed (clients display it and its citations).
    A model failure after text was sent ends in an ``answer`` with ``finish_reason`` "cut", not an error."""
    try:
        for item in items:
            if isinstance(item, AnswerDelta):
                yield sse("delta", {"text": item.text})
            elif isinstance(item, Answer):
                yield sse("answer", item.to_dict())
    except Exception as exc:  # the edge: a broken stream becomes an `error` event, logged server-side
        yield sse("error", error_payload(exc))


@native_router.post("/ask", summary="Answer a question with citations (JSON, or SSE with stream=true)")
def ask(body: AskRequest, request: Request) -> Any:
    service = _service(request)
    kwargs: dict[str, Any] = {
        "history": to_turns(body.history),
        "filters": body.filters.to_filters() if body.filters else None,
        "k": body.k,
        "extractive": body.extractive,
    }
    if not body.stream:
        return service.ask(body.question, **kwargs).to_dict()
    items = primed(service.stream(body.question, **kwargs))
    return StreamingResponse(_ask_events(items), media_type="text/event-stream", headers=SSE_HEADERS)


@native_router.get("/search", summary="Ranked passages for a query (no LLM)")
def search(request: Request, q: str = Query(..., description="The query."),
           k: int | None = Query(None, ge=1, le=50),
           collapse: bool = Query(True, description="One passage per story (false: every outlet's copy)."),
           published_from: str | None = Query(None, description="Published on or after (YYYY[-MM[-DD]]); "
                                              "undated articles are left out."),
           published_to: str | None = Query(None, description="Published on or before (YYYY[-MM[-DD]]).")
           ) -> dict[str, Any]:
    filters = SearchFilters(published_from=published_from or None, published_to=published_to or None)
    return _search(request, q, k, collapse, None if filters.empty else filters)


@native_router.post("/search", summary="Ranked passages for a query (no LLM), JSON body {q, k, ...}")
def search_post(body: SearchRequest, request: Request) -> dict[str, Any]:
    return _search(request, body.q, body.k, body.collapse, body.to_filters())


def _search(request: Request, q: str, k: int | None, collapse: bool = True,
            filters: SearchFilters | None = None) -> dict[str, Any]:
    result = _service(request).search(q, k=k, collapse=collapse, filters=filters)
    return {
        "query": result.query,
        "confidence": result.confidence,
        "lang": result.lang,
        "mode": result.mode,
        "keyword_query": result.keyword_query,
        "timings_ms": dict(result.timings_ms),
        "hits": [hit.to_dict() for hit in result.hits],
    }


@native_router.get("/documents", summary="Indexed articles")
def list_documents(request: Request) -> dict[str, Any]:
    docs = _service(request).documents()
    return {"documents": [d.to_dict() for d in docs], "count": len(docs)}


@native_router.get("/documents/{doc_id}", summary="One article's full text (for the sources panel)")
def get_document(doc_id: str, request: Request) -> dict[str, Any]:
    article = _service(request).article(doc_id)
    return {"doc_id": article.doc_id, "title": article.title, "text": article.text, "source": article.source,
            "published": article.published, "outlet": article.outlet, "url": article.url, "lang": article.lang}


@native_router.delete("/documents/{doc_id}", summary="Remove an article from the index")
def delete_document(doc_id: str, request: Request) -> dict[str, Any]:
    _service(request).remove(doc_id)
    return {"removed": doc_id}


@native_router.post("/documents", summary="Upload and index one or many articles (multipart field 'files')")
async def upload_documents(request: Request, files: list[UploadFile] = File(...),
                           published: str | None = Form(None, description="Publication date of every uploaded "
                                                        "article (YYYY[-MM[-DD]]); beats the dates the files hold."
                                                        )) -> dict[str, Any]:
    settings = request.app.state.settings
    date = check_published(published)  # a bad date is a 422 before anything is read or written
    items = await read_uploads(files, settings)
    outcome = await run_in_threadpool(ingest_uploads, _service(request), items, date)
    raise_if_all_failed(outcome)
    return outcome
