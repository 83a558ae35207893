"""`sanad eval` corpora: several --corpus folders, a refusal naming the sources a corpus (or index) lacks, and the
corpus collection kept in <data_dir>/eval with an embedded Chroma, never the user's collection or server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eval.runner import EvalError
from eval.session import corpora_hash, corpus_hash, eval_settings, open_service
from eval.suite import parse_question


@dataclass
class _Doc:
    doc_id: str


class _Report:
    def to_dict(self) -> dict[str, Any]:
        return {"files": 2}


class _Service:
    def __init__(self, settings: Any, docs: tuple[str, ...] = ()) -> None:
        self.settings, self.docs, self.ingested = settings, list(docs), []

    def ingest(self, paths: list[Path]) -> _Report:
        self.ingested = list(paths)
        self.docs = [p.stem for folder in paths for p in sorted(folder.glob("*.txt"))]
        return _Report()

    def documents(self) -> list[_Doc]:
        return [_Doc(d) for d in self.docs]


def _question(qid: str, *sources: str) -> Any:
    return parse_question({"id": qid, "lang": "ar", "type": "single", "question": "س؟", "answers": ["ج"],
                           "sources": list(sources)})


@pytest.fixture()
def corpora(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "doc1.txt").write_text("عنوان\n\nنص أول", encoding="utf-8")
    (b / "doc2.txt").write_text("عنوان\n\nنص ثان", encoding="utf-8")
    return a, b


def test_several_corpus_folders_are_all_ingested_into_the_eval_data_dir(make_settings, corpora):
    settings = make_settings(chroma_host="chroma.example", collection="mine")
    built: list[_Service] = []

    def build(s: Any, **kwargs: Any) -> _Service:
        built.append(_Service(s))
        return built[-1]

    questions = [_question("q1", "doc1"), _question("q2", "doc2")]
    service, info = open_service(settings, list(corpora), use_index=False, load_llm=False, build=build,
                                 questions=questions)
    assert service.ingested == list(corpora) and info["documents"] == 2
    used = service.settings
    assert used.data_dir == settings.data_dir / "eval" and used.chroma_host is None
    assert used.collection.startswith("eval_") and used.collection != "mine"
    assert info["path"] == f"{corpora[0]}, {corpora[1]}"


def test_one_folder_keeps_its_cache_key_and_order_does_not_matter(corpora):
    a, b = corpora
    assert corpora_hash([a]) == corpus_hash(a)
    assert corpora_hash([a, b]) == corpora_hash([b, a]) != corpora_hash([a])


def test_corpus_without_the_suites_sources_is_refused_by_name(make_settings, corpora):
    a, _ = corpora
    questions = [_question("q1", "doc1"), _question("q2", "doc2"), _question("q3", "doc9", "doc2")]
    with pytest.raises(EvalError) as caught:
        open_service(make_settings(), [a], use_index=False, load_llm=False, build=_Service, questions=questions)
    assert str(caught.value).startswith(f"corpus {a} lacks 2 of the suite's 3 source articles: doc2, doc9")
    assert "--corpus" in caught.value.hint


def test_index_without_the_suites_sources_is_refused(make_settings):
    questions = [_question("q1", "doc1"), _question("q2", "doc2")]
    with pytest.raises(EvalError, match=r"index 'sanad' lacks 1 of the suite's 2 source articles: doc2"):
        open_service(make_settings(), None, use_index=True, load_llm=False,
                     build=lambda s, **kw: _Service(s, ("doc1",)), questions=questions)
    service, info = open_service(make_settings(), None, use_index=True, load_llm=False,
                                 build=lambda s, **kw: _Service(s, ("doc1", "doc2")), questions=questions)
    assert info["collection"] == "sanad" and service.settings.data_dir.name == "sanad-data"


def test_eval_data_dir_shares_the_built_model_folder(make_settings):
    settings = make_settings()
    own = eval_settings(settings, "0" * 64)
    assert (own.data_dir / "models").resolve() == (settings.data_dir / "models").resolve()
    (settings.data_dir / "models" / "weights.bin").write_bytes(b"x")
    assert (own.data_dir / "models" / "weights.bin").read_bytes() == b"x"
    assert eval_settings(settings, "0" * 64).data_dir == own.data_dir  # a second run reuses it


def test_cli_passes_every_corpus_folder(monkeypatch: pytest.MonkeyPatch, corpora, tmp_path: Path):
    import eval.session
    from cli import main as cli_main

    seen: dict[str, Any] = {}

    def fake_run_eval(settings: Any, suite: Path, out: Path, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise EvalError("stop here", hint="")

    monkeypatch.setattr(eval.session, "run_eval", fake_run_eval)
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    cli_main._register_commands()
    args = ["eval", "suite.jsonl", "--corpus", str(corpora[0]), "--corpus", str(corpora[1]), "--extractive"]
    result = CliRunner().invoke(cli_main.app, args)
    assert result.exit_code == 2 and "stop here" in result.output
    assert seen["corpus"] == [corpora[0], corpora[1]]
