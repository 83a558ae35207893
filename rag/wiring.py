"""The composition root: the only place that names concrete adapters and builds the facade from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.settings import Settings

if TYPE_CHECKING:
    from rag.ports import LLM, Embedder
    from rag.profile import ModelProfile
    from rag.service import Sanad

__all__ = ["build_service"]


def build_service(settings: Settings, *, llm: LLM | None = None, load_llm: bool = True,
                  load_model: bool = True) -> Sanad:
    """Build a ready ``Sanad``. Loads the embedder (or falls back to keyword-only with one clear line),
    opens Chroma (embedded or server), the keyword index, and the Ollama adapter (never contacted here).
    ``load_model=False`` is for the verbs that touch no vector (list, remove, reset): they start in a
    second instead of loading torch and the model; such a service must not ingest or search."""
    from rag.generation.answer import Answerer
    from rag.generation.llm import OllamaLLM
    from rag.ingestion.near_duplicates import NearDuplicateIndex
    from rag.ingestion.pipeline import IngestPipeline
    from rag.ingestion.write_lock import IndexWriteLock
    from rag.prompts import PromptLibrary
    from rag.retrieval.collapse import CollapsingRetriever
    from rag.retrieval.embedder import load_embedder
    from rag.retrieval.hybrid import HybridRetriever
    from rag.retrieval.keyword import BM25Index
    from rag.retrieval.store import ChromaStore
    from rag.service import Sanad
    from rag.timeline import Timeliner

    embedder, embed_error = load_embedder(settings) if load_model else (None, None)
    profile = _profile(settings, embedder)
    settings = _with_profile_chunking(settings, profile)
    if not profile.known and load_model:
        warning = (f"warning: no fitted profile for embedding model {profile.key!r}: conservative fusion and refusal "
                   "constants are used; fix: run benchmarks/fit_profile.py --write for this model")
        embed_error = f"{embed_error}\n{warning}" if embed_error else warning
    store = ChromaStore.from_settings(settings)
    keyword = BM25Index(settings.keyword_dir, store)
    if llm is None and load_llm:
        llm = OllamaLLM.from_settings(settings)
    prompts = PromptLibrary(settings.prompts_dir)
    stories = NearDuplicateIndex(settings.data_dir / "near_duplicates" / f"{settings.collection}.npz", store)
    retriever = CollapsingRetriever(
        HybridRetriever(store, keyword, embedder, settings, llm=llm, prompts=prompts, profile=profile),
        stories.snapshot, top_k=settings.top_k)
    ingestor = IngestPipeline(store, keyword, embedder, settings, near_duplicates=stories,
                              write_lock=IndexWriteLock(settings.data_dir / "write.lock", settings.write_lock_timeout))
    answerer = Answerer(retriever, llm, embedder, prompts, settings, stored_vectors=store.chunk_vectors,
                        profile=profile)
    return Sanad(
        store=store,
        ingestor=ingestor,
        retriever=retriever,
        answerer=answerer,
        embedder=embedder,
        llm=llm,
        embed_model=embedder.backend if embedder is not None else settings.embed_model,
        embed_error=embed_error,
        chroma_mode=settings.chroma_mode,
        ollama_host=settings.ollama_host,
        ollama_model=settings.ollama_model,
        max_question_chars=settings.max_question_chars,
        clusters=stories.snapshot,
        timelines=Timeliner(retriever, llm, prompts, embedder=embedder,
                            min_confidence=profile.refusal_threshold),
    )


def _profile(settings: Settings, embedder: Embedder | None) -> ModelProfile:
    """The fitted constants for the embedder in use (an explicit ``embed_profile`` wins), with the
    weights and threshold the user set explicitly applied once, here."""
    from rag.profile import load_profile, profile_key

    if settings.embed_profile:
        profile = load_profile(settings.embed_profile)
    elif embedder is None:
        profile = load_profile(None)
    else:
        profile = load_profile(profile_key(embedder.model_name, embedder.signature()))
    return profile.overridden(keyword_weight=settings.keyword_weight, dense_weight=settings.dense_weight,
                              refusal_threshold=settings.refusal_threshold)


def _with_profile_chunking(settings: Settings, profile: ModelProfile) -> Settings:
    """``settings`` with the profile's chunk size and overlap where the user set none (environment,
    config file or argument): the best chunk size is measured per model, in that model's tokens."""
    update = {name: getattr(profile, name) for name in ("chunk_size", "chunk_overlap")
              if name not in settings.model_fields_set and getattr(profile, name) is not None}
    return settings.model_copy(update=update) if update else settings
