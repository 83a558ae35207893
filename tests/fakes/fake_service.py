"""A real ``Sanad`` facade over tiny in-memory steps, for API/UI tests that must not load models.

The facade's own checks (empty/over-long questions, unknown ids) run for real; only the steps are fakes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.errors import ModelUnavailableError
from rag.service import Sanad
from rag.types import (
    Answer,
    AnswerDelta,
    Article,
    Chunk,
    Citation,
    DocInfo,
    FileFailure,
    Hit,
    IngestReport,
    SearchFilters,
    SearchResult,
    Turn,
)

ARTICLE_TEXT = ("أكد مصدر عسكري أن نحو 70 جنديا نقلوا جوا إلى روسيا للعلاج.\n\n"
                "ويشعر معارضو حفتر بالقلق من هذا التعاون. وقال المصدر إن الرحلة تمت الأسبوع الماضي.")


class FakeStore:
    location = "memory"

    def __init__(self) -> None:
        self.articles: dict[str, Article] = {}

    def documents(self) -> list[DocInfo]:
        return [DocInfo(a.doc_id, a.title, 1, a.published, a.source) for a in self.articles.values()]

    def get_article(self, doc_id: str) -> Article | None:
        return self.articles.get(doc_id)

    def doc_records(self) -> dict[str, Any]:
        return {k: {"doc_id": k} for k in self.articles}

    def count_chunks(self) -> int:
        return len(self.articles)


class FakeIngestor:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.seen_paths: list[Path] = []

    def ingest(self, paths: Sequence[Path], *, prune: bool = False, progress: Any = None,
               sources: Mapping[Path, str] | None = None, published: tuple[str, str] | None = None) -> IngestReport:
        report = IngestReport()
        for path in paths:
            self.seen_paths.append(path)
            raw = path.read_bytes()
            if not raw.strip():
                report.failed.append(FileFailure(str(path), f"{path}: empty file"))
                continue
            title, _, body = raw.decode("utf-8", "replace").partition("\n\n")
            article = Article(path.stem, title.strip(), body.strip(), (sources or {}).get(path, str(path)),
                              published[0] if published else "2017-03-02",
                              published_source=published[1] if published else None)
            before = self.store.articles.get(path.stem)
            status = report.added if before is None else report.unchanged if before == article else report.updated
            self.store.articles[path.stem] = article
            status.append(path.stem)
        return report

    def remove(self, doc_id: str) -> bool:
        return self.store.articles.pop(doc_id, None) is not None


class FakeRetriever:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def search(self, query: str, *, k: int | None = None, filters: SearchFilters | None = None) -> SearchResult:
        hits = []
        for a in self.store.articles.values():
            chunk = Chunk(f"{a.doc_id}:0", a.doc_id, a.title, a.text, 0, len(a.text), 0, a.source, a.published)
            hits.append(Hit(chunk, 1.0, keyword_score=1.0))
        return SearchResult(query, tuple(hits[: k or 5]), 0.9 if hits else 0.0, "ar", mode="keyword")


class FakeAnswerer:
    """Cites the first sentence of the first article; streams the answer word by word."""

    def __init__(self, store: FakeStore, *, fail: bool = False) -> None:
        self.store = store
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    def _answer(self, question: str, history: Sequence[Turn], extractive: bool) -> Answer:
        if self.fail and not extractive:
            raise ModelUnavailableError("Ollama is unreachable", hint="start it with `ollama serve`")
        if not self.store.articles:
            return Answer("لا تتضمن المقالات إجابة.", (), False, True, "extractive" if extractive else "llm", None,
                          question=question)
        a = next(iter(self.store.articles.values()))
        end = a.text.index(".") + 1
        cite = Citation(1, a.doc_id, a.title, a.source, a.text[:end], 0, end, 0.9, a.published)
        return Answer("نقل نحو 70 جنديا إلى روسيا [1].", (cite,), True, False,
                      "extractive" if extractive else "llm", None if extractive else "fake",
                      question=question, timings_ms={"retrieval": 1.0})

    def ask(self, question: str, *, history: Sequence[Turn] = (), filters: Any = None, k: Any = None,
            extractive: bool = False, **generation: Any) -> Answer:
        self.calls.append({"question": question, "history": tuple(history), "k": k, "filters": filters, **generation})
        return self._answer(question, history, extractive)

    def stream(self, question: str, *, history: Sequence[Turn] = (), filters: Any = None, k: Any = None,
               extractive: bool = False, **generation: Any) -> Iterator[AnswerDelta | Answer]:
        self.calls.append({"question": question, "history": tuple(history), "k": k, "filters": filters, **generation})
        answer = self._answer(question, history, extractive)
        words = answer.answer.split(" ")
        for i, word in enumerate(words):  # joined, the deltas are the final text (the answerer's contract)
            yield AnswerDelta(word + (" " if i < len(words) - 1 else ""))
        yield answer


def make_fake_service(*, articles: int = 1, fail_llm: bool = False, max_question_chars: int = 2000) -> Sanad:
    store = FakeStore()
    for i in range(articles):
        doc_id = f"doc{i}"
        store.articles[doc_id] = Article(doc_id, f"الجيش الوطني الليبي {i}", ARTICLE_TEXT, "alwasat", "2017-03-02")
    return Sanad(store=store, ingestor=FakeIngestor(store), retriever=FakeRetriever(store),  # type: ignore[arg-type]
                 answerer=FakeAnswerer(store, fail=fail_llm), embedder=None, llm=None, embed_model="fake",
                 embed_error=None, chroma_mode="embedded", ollama_host="http://fake", ollama_model="fake",
                 max_question_chars=max_question_chars)
