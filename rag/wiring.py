"""The composition root: the only place that names concrete adapters and builds the facade from settings."""

from __future__ import annotations

from rag.settings import Settings

__all__ = ["build_service"]


def build_service(settings: Settings, *, llm: object | None = None, load_llm: bool = True) -> "Sanad":
    """Build a ready ``Sanad``. Loads the embedder (or falls back to keyword-only with one clear line),
    opens Chroma (embedded or server), the keyword index, and the Ollama adapter (never contacted here)."""
    from rag.generation.answer import Answerer
    from rag.generation.llm import OllamaLLM
    from rag.ingestion.pipeline import IngestPipeline
    from rag.prompts import PromptLibrary
    from rag.retrieval.embedder import load_embedder
    from rag.retrieval.hybrid import HybridRetriever
    from rag.retrieval.keyword import BM25Index
    from rag.retrieval.store import ChromaStore
    from rag.service import Sanad

    embedder, embed_error = load_embedder(settings)
    store = ChromaStore.from_settings(settings)
    keyword = BM25Index(settings.keyword_dir, store)
    if llm is None and load_llm:
        llm = OllamaLLM.from_settings(settings)
    prompts = PromptLibrary(settings.prompts_dir)
    retriever = HybridRetriever(store, keyword, embedder, settings, llm=llm, prompts=prompts)
    ingestor = IngestPipeline(store, keyword, embedder, settings)
    answerer = Answerer(retriever, llm, embedder, prompts, settings, stored_vectors=store.chunk_vectors)
    return Sanad(
        store=store,
        ingestor=ingestor,
        retriever=retriever,
        answerer=answerer,
        embedder=embedder,
        llm=llm,  # type: ignore[arg-type]
        embed_model=settings.embed_model,
        embed_error=embed_error,
        chroma_mode=settings.chroma_mode,
        ollama_host=settings.ollama_host,
        ollama_model=settings.ollama_model,
        max_question_chars=settings.max_question_chars,
    )
