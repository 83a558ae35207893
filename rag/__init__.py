"""Sanad's library: Arabic-first, cited question answering over news articles.

Public surface only; importing this package does no work (models load in ``build_service``).
"""

from rag.errors import RagError
from rag.service import Sanad
from rag.settings import Settings, load_settings
from rag.types import Answer, AnswerDelta, Citation, Hit, SearchFilters, SearchResult, Turn
from rag.wiring import build_service

__all__ = [
    "Answer",
    "AnswerDelta",
    "Citation",
    "Hit",
    "RagError",
    "Sanad",
    "SearchFilters",
    "SearchResult",
    "Settings",
    "Turn",
    "build_service",
    "load_settings",
]
