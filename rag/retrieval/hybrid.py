"""Hybrid retrieval: Arabic-aware BM25 + dense vectors, fused as the model's profile says, optionally reranked.

Cross-lingual questions (an English question over Arabic articles) cannot match keywords; when an LLM is
given the question is translated for the keyword side only (dense embeddings are multilingual), else the
keyword side is down-weighted and the dense side carries the question. An LLM failure never fails search.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Literal, TypeVar

from rag import arabic
from rag.errors import GenerationError, RetrievalError
from rag.ports import LLM, Embedder, KeywordIndex, VectorStore
from rag.profile import ModelProfile, load_profile
from rag.prompts import PromptLibrary
from rag.retrieval.confidence import confidence
from rag.retrieval.embedder import built_without_vectors
from rag.retrieval.fusion import dense_weight_for, fuse, keyword_clarity, limit_per_doc
from rag.retrieval.question_time import prefer_time, question_time
from rag.retrieval.rerank import CrossEncoderReranker
from rag.settings import Settings
from rag.types import Chunk, Hit, SearchFilters, SearchResult

__all__ = ["HybridRetriever", "LANG_KEY"]

#: optional collection-metadata key with the corpus language (set by whoever knows better)
LANG_KEY = "sanad:lang"

Mode = Literal["hybrid", "keyword", "dense"]
Ranked = list[tuple[Chunk, float]]
T = TypeVar("T")


class HybridRetriever:
    """``search`` is the retrieval step of every question; everything it needs is injected."""

    def __init__(self, store: VectorStore, keyword: KeywordIndex, embedder: Embedder | None, settings: Settings,
                 *, llm: LLM | None = None, prompts: PromptLibrary | None = None,
                 reranker: CrossEncoderReranker | None = None, profile: ModelProfile | None = None) -> None:
        self.store = store
        #: the embedder's fitted constants (fusion weights, calibration), explicit settings already applied
        self.profile = profile or load_profile(None).overridden(keyword_weight=settings.keyword_weight,
                                                                dense_weight=settings.dense_weight)
        self.keyword = keyword
        self.embedder = embedder
        self.settings = settings
        self.llm = llm
        self.prompts = prompts
        self._reranker = reranker
        self._corpus: tuple[object, str, bool] | None = None  # (keyword version, corpus lang, keyword-only)
        self._translations: OrderedDict[tuple[str, str], str] = OrderedDict()

    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None,
               mode: Mode = "hybrid") -> SearchResult:
        """Top ``k`` passages for ``query`` with a calibrated confidence; filters apply to both sides."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        k = k or self.settings.top_k
        pool = max(self.settings.candidates, k, self.settings.rerank_candidates if self.settings.rerank else 0)
        self.keyword.refresh_if_stale()
        corpus_lang, keyword_only_store = self._corpus_info()
        lang = arabic.detect_language(query)
        use_dense = mode != "keyword" and self.embedder is not None and not keyword_only_store
        if mode == "dense" and not use_dense:
            raise RetrievalError("dense search needs the embedding model, which is not loaded",
                                 hint="use --mode keyword, or fix SANAD_EMBED_MODEL and re-ingest")
        keyword_hits: Ranked = []
        keyword_query: str | None = None
        keyword_weight = self.profile.keyword_weight
        translated = False
        if mode != "dense":
            text, translated, note = self._keyword_query(query, lang, corpus_lang, timings)
            keyword_query = f"{text} ({note})" if note else text
            if lang != corpus_lang and not translated:
                keyword_weight *= self.profile.untranslated_keyword_factor if use_dense else 1.0
            keyword_hits = self._timed(timings, "keyword_ms", lambda: self.keyword.search(text, pool, filters))
        dense_hits: Ranked = self._dense(query, pool, filters, timings) if use_dense else []
        trust_keyword = bool(keyword_hits) and (lang == corpus_lang or translated or not use_dense)
        hits = self._rank(query, keyword_hits, dense_hits, keyword_weight, trust_keyword, k, timings)
        conf = confidence(keyword_hits[0][1] if trust_keyword else None,
                          dense_hits[0][1] if dense_hits else None,
                          self.profile.calibration) if (keyword_hits or dense_hits) else 0.0
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        return SearchResult(query=query, hits=tuple(hits), confidence=conf, lang=lang,
                            keyword_query=keyword_query, mode=mode, timings_ms=timings)

    # --- steps -------------------------------------------------------------------------------
    def _dense(self, query: str, pool: int, filters: SearchFilters | None, timings: dict[str, float]) -> Ranked:
        assert self.embedder is not None
        vector = self._timed(timings, "embed_ms", lambda: self.embedder.embed_query(query))  # type: ignore[union-attr]
        return self._timed(timings, "dense_ms", lambda: self.store.query(vector, pool, filters))

    def _rank(self, query: str, keyword_hits: Ranked, dense_hits: Ranked, keyword_weight: float, trusted: bool,
              k: int, timings: dict[str, float]) -> list[Hit]:
        """The profile's fusion (dense weight adapted to how clear the keyword match is), the question's
        stated time as a soft preference, rerank, diversity."""
        gap, floor = self.profile.clear_keyword_gap, self.profile.dense_floor
        clarity = keyword_clarity([score for _, score in keyword_hits], gap) if trusted else 0.0
        dense_weight = dense_weight_for(self.profile.dense_weight, clarity, floor)
        fused = fuse(self.profile.fusion, keyword_hits, dense_hits, keyword_weight=keyword_weight,
                     dense_weight=dense_weight, rrf_k=self.settings.rrf_k)
        fused = prefer_time(fused, question_time(query), in_range=self.profile.time_boost,  # soft, never a filter
                            recency=self.profile.recency_boost)
        if self.settings.rerank and fused:
            head = fused[: self.settings.rerank_candidates]
            reranked = self._timed(timings, "rerank_ms", lambda: self._get_reranker().rerank(query, head))
            fused = reranked + fused[len(head):]
        return limit_per_doc(fused, self.settings.max_per_doc)[:k]

    def _keyword_query(self, query: str, lang: str, corpus_lang: str,
                       timings: dict[str, float]) -> tuple[str, bool, str | None]:
        """(text for the keyword side, translated?, note); a failed translation is noted, never raised."""
        if lang == corpus_lang or self.llm is None or self.prompts is None:
            return query, False, None
        key = (query, corpus_lang)
        if key in self._translations:
            return self._translations[key], True, None
        started = time.perf_counter()
        try:
            prompt = self.prompts.render("translate_query", question=query, source_lang=lang, target_lang=corpus_lang)
            text, _usage = self.llm.chat([{"role": "user", "content": prompt}], max_tokens=160)
        except GenerationError as exc:
            return query, False, f"not translated: {exc.code}"
        finally:
            timings["translate_ms"] = (time.perf_counter() - started) * 1000
        translation = _first_line(text)
        if not translation or arabic.detect_language(translation) != corpus_lang:
            return query, False, "not translated: unusable translation"
        self._translations[key] = translation
        if len(self._translations) > 256:
            self._translations.popitem(last=False)
        return translation, True, None

    def _corpus_info(self) -> tuple[str, bool]:
        """(corpus language, store built keyword-only), re-read only when the keyword index version moves,
        or on every search while a loaded model meets a keyword-only store: an ingest (in any process) may
        add the vectors without touching the keyword index."""
        version = getattr(self.keyword, "version", None)
        cached = self._corpus
        if cached is not None and cached[0] == version and version is not None and not (
                cached[2] and self.embedder is not None):
            return cached[1], cached[2]
        meta = self.store.collection_meta()
        keyword_only = built_without_vectors(meta)
        lang = str(meta.get(LANG_KEY) or self._registry_lang() or getattr(self.keyword, "lang", None) or "ar")
        self._corpus = (version, lang, keyword_only)
        return lang, keyword_only

    def _registry_lang(self) -> str | None:
        langs = Counter(str(r["lang"]) for r in self.store.doc_records().values() if r.get("lang"))
        return langs.most_common(1)[0][0] if langs else None

    def _get_reranker(self) -> CrossEncoderReranker:
        if self._reranker is None:
            self._reranker = CrossEncoderReranker(self.settings.rerank_model, device=self.settings.embed_device)
        return self._reranker

    @staticmethod
    def _timed(timings: dict[str, float], name: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return work()
        finally:
            timings[name] = (time.perf_counter() - started) * 1000


def _first_line(text: str) -> str:
    """The translation: first non-empty line, without a "Translation:" echo or quotes."""
    for line in text.strip().splitlines():
        line = line.strip().strip('"“”«»').strip()
        if ":" in line[:20] and line.split(":", 1)[0].strip().lower() in {"translation", "الترجمة"}:
            line = line.split(":", 1)[1].strip()
        if line:
            return line
    return ""
