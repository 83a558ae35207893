"""Optional cross-encoder reranking (off by default: slow on CPU). The CrossEncoder import lives here only.

The model is loaded on first use, never at construction, so a disabled reranker costs nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rag.errors import ConfigError
from rag.types import Hit

__all__ = ["CrossEncoderReranker"]


class CrossEncoderReranker:
    """Scores (question, passage) pairs jointly and reorders the fused candidates by that score."""

    def __init__(self, model_name: str, *, device: str = "cpu", model: Any | None = None) -> None:
        self.model_name = model_name
        self.device = device
        self._model = model

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(self.model_name, device=self.device)
            except (OSError, ValueError, RuntimeError, ImportError) as exc:
                raise ConfigError(
                    f"cannot load the reranker {self.model_name!r}: {str(exc).splitlines()[0] if str(exc) else exc}",
                    hint="set SANAD_RERANK=false, or SANAD_RERANK_MODEL to a cached/local cross-encoder",
                ) from exc
        return self._model

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """Hits reordered by cross-encoder score (kept in ``rerank_score``); fused score kept for display."""
        if not hits:
            return []
        model = self._load()
        pairs = [(query, f"{h.chunk.title}\n{h.chunk.text}") for h in hits]
        scores = [float(s) for s in model.predict(pairs, show_progress_bar=False)]
        rescored = [dataclasses.replace(h, rerank_score=s) for h, s in zip(hits, scores, strict=True)]
        return sorted(rescored, key=lambda h: -(h.rerank_score or 0.0))
