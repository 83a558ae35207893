"""The questions, search results and sentence embeddings that ``answerability.py`` fits and reports on.

Why a separate module with a disk cache: collecting is the slow part (every dev question searched over its
corpus index and every sentence of its top passages embedded: ~2,300 questions, tens of thousands of
sentences on a 2-core CPU), while fitting and reporting take seconds. The cache keeps each question's
``SearchResult`` and the embedding of every text seen, so feature changes are measured without searching
or embedding again; a text the cache lacks is embedded on demand (the model is loaded lazily).

Data: every dev suite over its own corpus index (answerable and off-topic unanswerable questions), plus
near-miss questions (``near_miss.py``: the answer's sentences deleted from its article) over a copy of
the index where only those articles changed.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import near_miss  # noqa: E402

from eval.suite import Question, load_suite  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.types import SearchResult  # noqa: E402
from rag.wiring import build_service  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev"
BENCH = Path(os.environ.get("SANAD_BENCH_CACHE", Path(tempfile.gettempdir()) / "sanad-bench"))
CORPORA = {"corpus_xquad_ar": ("xquad_ar", "xquad_en2ar"), "corpus_arcd": ("arcd",),
           "corpus_mlqa_ar": ("mlqa_ar",), "corpus_tydiqa_ar": ("tydiqa_ar",)}
NO_LLM = "http://127.0.0.1:9"


class CachingEmbedder:
    """An embedder with a memo per text (the same sentences recur across questions and runs); the real
    model is loaded only when a text is not in the memo."""

    def __init__(self, model: str, memo: dict[tuple[str, str], list[float]] | None = None,
                 inner: Any = None) -> None:
        self.model = model
        self.inner = inner
        self.memo: dict[tuple[str, str], list[float]] = memo if memo is not None else {}
        self.model_name, self.backend = model, "cached"

    def _model(self) -> Any:
        if self.inner is None:
            from rag.retrieval.embedder import load_embedder

            self.inner, _ = load_embedder(Settings(embed_model=self.model, ollama_host=NO_LLM))
        return self.inner

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        todo = [t for t in dict.fromkeys(texts) if ("p", t) not in self.memo]
        for t, v in zip(todo, self._model().embed_passages(todo) if todo else [], strict=True):
            self.memo[("p", t)] = [float(x) for x in v]
        return [self.memo[("p", t)] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        if ("q", text) not in self.memo:
            self.memo[("q", text)] = [float(x) for x in self._model().embed_query(text)]
        return self.memo[("q", text)]

    def count_tokens(self, text: str) -> int:
        return int(self._model().count_tokens(text))

    def signature(self) -> dict[str, Any]:
        return {"embed_model": self.model}


@dataclass
class Record:
    """One question as searched: ``origin`` is "answerable", "off-topic" or "near-miss"."""

    suite: str
    origin: str
    question: Question
    result: SearchResult
    fit: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cross(self) -> bool:
        return self.suite.endswith("en2ar")

    @property
    def answerable(self) -> bool:
        return self.origin == "answerable"


def services(corpus: str, model: str, split: near_miss.Split) -> tuple[Any, Any]:
    """The own-corpus index (shared with benchmarks/answers.py) and its near-miss copy."""
    base = BENCH / "answers" / f"{corpus}-{Path(model).name}"
    holed = BENCH / "answerability" / f"{corpus}-{Path(model).name}"
    docs = BENCH / "answerability" / f"{corpus}-docs"
    original = build_service(Settings(data_dir=base, embed_model=model, ollama_host=NO_LLM), load_llm=False)
    original.ingest([DEV / corpus])
    if not holed.exists():
        shutil.copytree(base, holed)
    docs.mkdir(parents=True, exist_ok=True)
    for doc_id, text in split.docs.items():
        (docs / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    changed = build_service(Settings(data_dir=holed, embed_model=model, ollama_host=NO_LLM), load_llm=False)
    changed.ingest([docs])
    return original, changed


def _search(service: Any, q: Question, suite: str, origin: str) -> Record:
    return Record(suite, origin, q, service.search(q.question, k=5), near_miss.is_fit(q.id))


def _collect(model: str, limit: int | None) -> list[Record]:
    records: list[Record] = []
    for corpus, suites in CORPORA.items():
        read = {p.stem: p.read_text(encoding="utf-8") for p in (DEV / corpus).glob("*.txt")}
        for suite in suites:
            questions = load_suite(DEV / f"{suite}.jsonl", limit=limit)
            split = near_miss.build_split(questions, read)
            original, changed = services(corpus, model, split)
            records.extend(_search(original, q, suite, "answerable" if q.answerable else "off-topic")
                           for q in questions)
            records.extend(_search(changed, q, suite, "near-miss")
                           for q in split.questions if split.origin[q.id] == "near-miss")
            print(f"{suite}: {len(records)} records so far", file=sys.stderr)
    return records


def load(model: str, limit: int | None, *, fresh: bool = False) -> tuple[list[Record], CachingEmbedder, Path]:
    """The records and a caching embedder (from the disk cache unless ``fresh``: searched again, since
    retrieval may have changed, while the embeddings of texts already seen are kept) and the cache's path."""
    path = BENCH / "answerability" / f"records-{Path(model).name}-{limit or 'all'}.pkl"
    records, memo = [], {}
    if path.is_file():
        with path.open("rb") as handle:
            records, memo = pickle.load(handle)
        if not fresh:
            return records, CachingEmbedder(model, memo), path
    records, embedder = _collect(model, limit), CachingEmbedder(model, memo)  # embeddings stay valid
    save(path, records, embedder)  # searching is the slow part: keep it even if a later step fails
    return records, embedder, path


def save(path: Path, records: list[Record], embedder: CachingEmbedder) -> None:
    """Store the records and every embedding computed so far (written atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        pickle.dump((records, embedder.memo), handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
