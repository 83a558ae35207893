"""``POST /v1/timeline``: dated, cited events about a topic across the articles, oldest first.

A thin call into ``Sanad.timeline``; the response is ``Timeline.to_dict()``. A plain ``def`` handler, so
FastAPI runs it in its thread pool (retrieval and the summary's LLM call never block the event loop).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict, Field, StrictBool, StrictStr

from api.auth import require_key
from api.schemas import _Encodable
from rag.service import Sanad
from rag.types import SearchFilters

__all__ = ["timeline_router", "TimelineRequest"]

timeline_router = APIRouter(prefix="/v1", tags=["sanad"], dependencies=[Depends(require_key)])

_FROM = ("Only events from articles published on or after: YYYY, YYYY-MM, YYYY-MM-DD (or a full date like "
         "'18 نوفمبر 2016'); undated articles are left out. Not a date: 422 invalid_date.")
_TO = "Only articles published on or before, inclusive (YYYY-MM and YYYY mean the end of that month or year)."


class TimelineRequest(_Encodable):
    """The body of POST /v1/timeline; unknown fields are a 422 (typos surface)."""

    model_config = ConfigDict(extra="forbid")

    query: StrictStr = Field(description="The topic or question, e.g. 'كيف تطورت علاقة حفتر بروسيا؟'.")
    k: int | None = Field(None, ge=1, le=100, description="Passages to gather events from (default 30).")
    published_from: StrictStr | None = Field(None, description=_FROM)
    published_to: StrictStr | None = Field(None, description=_TO)
    summarize: StrictBool = Field(True, description="Ask the LLM for a short summary citing the events "
                                  "(none without a reachable LLM: `summary` null, said in `notes`).")

    def to_filters(self) -> SearchFilters | None:
        """The date filter; InvalidDateError (422 invalid_date) for a bound that is not a date."""
        filters = SearchFilters(published_from=self.published_from or None, published_to=self.published_to or None)
        return None if filters.empty else filters


@timeline_router.post("/timeline", summary="Dated, cited events about a topic across articles, oldest first")
def timeline(body: TimelineRequest, request: Request) -> dict[str, Any]:
    service: Sanad = request.app.state.service
    result = service.timeline(body.query, k=body.k, filters=body.to_filters(), summarize=body.summarize)
    return result.to_dict()
