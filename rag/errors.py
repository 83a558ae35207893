"""One exception tree for the whole library.

Everything Sanad raises on purpose is a ``RagError``; the edges (CLI exit code, HTTP status, UI banner)
translate it and nothing else does. Each error carries a one-line ``hint`` telling the user the fix.
"""

from __future__ import annotations

__all__ = [
    "RagError",
    "ConfigError",
    "IngestError",
    "UnsupportedFileError",
    "ModelMismatchError",
    "DocumentNotFoundError",
    "StoreError",
    "RetrievalError",
    "GenerationError",
    "ModelUnavailableError",
    "LLMTimeoutError",
    "LLMStreamError",
    "InvalidQuestionError",
    "InvalidDateError",
]


class RagError(Exception):
    """Base of every error Sanad raises on purpose."""

    #: stable machine-readable code, used in API error bodies
    code: str = "rag_error"
    #: HTTP status the API maps this error to
    http_status: int = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(RagError):
    """Settings are invalid or point at something that does not exist."""

    code = "config_error"
    http_status = 500


class InvalidQuestionError(RagError):
    """The question is empty, too long, or otherwise unusable."""

    code = "invalid_question"
    http_status = 422


class InvalidDateError(RagError):
    """A date filter or date field that is not a date (never read as 'no filter' or 'nothing matches')."""

    code = "invalid_date"
    http_status = 422


class IngestError(RagError):
    """An article could not be read or indexed."""

    code = "ingest_error"
    http_status = 422


class IndexBusyError(IngestError):
    """Another process held the index's write lock for longer than the wait allowed."""

    code = "index_busy"
    http_status = 503


class UnsupportedFileError(IngestError):
    """A file is binary, empty, or of a type Sanad does not read."""

    code = "unsupported_file"
    http_status = 415


class ModelMismatchError(RagError):
    """The collection was built with another embedding model or settings."""

    code = "model_mismatch"
    http_status = 409


class DocumentNotFoundError(RagError):
    """No document with that id is indexed."""

    code = "document_not_found"
    http_status = 404


class StoreError(RagError):
    """The vector store (Chroma) failed or cannot be reached."""

    code = "store_error"
    http_status = 503


class RetrievalError(RagError):
    """Search failed for a reason other than the store being down."""

    code = "retrieval_error"
    http_status = 500


class GenerationError(RagError):
    """The LLM step failed."""

    code = "generation_error"
    http_status = 502


class ModelUnavailableError(GenerationError):
    """Ollama is unreachable, or the model is not pulled."""

    code = "model_unavailable"
    http_status = 503


class LLMTimeoutError(GenerationError):
    """Ollama did not answer within the configured time-out."""

    code = "llm_timeout"
    http_status = 504


class LLMStreamError(GenerationError):
    """The answer stream broke off before the model finished."""

    code = "llm_stream_broken"
    http_status = 502
