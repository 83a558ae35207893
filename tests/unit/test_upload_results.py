"""Uploads and `sanad ingest` agree (issue 13): a JSONL upload with some bad lines says which lines failed and
that the others were indexed; a UTF-16 file with a BOM is text for both; a folder with a FIFO, a device link
and a non-UTF-8 name still has its good files indexed by the real readers."""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from rag.ingestion.pipeline import IngestPipeline
from rag.settings import Settings
from rag.uploads import PARTIAL_CODE, ingest_uploads, looks_binary
from tests.unit.test_pipeline import FakeKeyword, FakeStore, chunker

TEXT = "عنوان الخبر\n\nهذا نص خبر عن الاقتصاد في مصر والأسواق المالية اليوم.\n"


def _line(doc_id: str) -> str:
    return json.dumps({"id": doc_id, "title": f"عنوان {doc_id}", "text": TEXT}, ensure_ascii=False)


@pytest.fixture()
def pipe(tmp_path: Path) -> IngestPipeline:
    """The real discovery and readers; in-memory store, keyword index and chunker."""
    settings = Settings(data_dir=tmp_path / "data", embed_model="fake")
    return IngestPipeline(FakeStore(), FakeKeyword(), None, settings, chunker=chunker)


def _upload(pipe: IngestPipeline, *items: tuple[str, bytes]) -> list[Any]:
    def ingest(paths: list[Path], sources: Mapping[Path, str]) -> Any:
        return pipe.ingest(paths, sources=sources)

    return ingest_uploads(ingest, list(items))[1]


def test_jsonl_with_some_bad_lines_is_partial_and_names_the_lines(pipe: IngestPipeline) -> None:
    body = "\n".join([_line("a1"), "{not json", _line("a2"), '{"id": "x"}', _line("a3")]) + "\n"
    [result] = _upload(pipe, ("batch.jsonl", body.encode("utf-8")))
    assert result.status == "partial" and result.code == PARTIAL_CODE
    assert result.error.startswith("2 of 5 lines failed (line 2: ")
    assert "; line 4: " in result.error and result.error.endswith("the other 3 were indexed")
    assert set(pipe.store.docs) == {"a1", "a2", "a3"}


def test_jsonl_with_only_bad_lines_is_failed(pipe: IngestPipeline) -> None:
    [result] = _upload(pipe, ("bad.jsonl", b"{not json\n[1, 2]\n"))
    assert result.status == "failed" and result.code == "ingest_error"
    assert result.error.startswith("none of its 2 lines could be indexed (line 1: ")
    assert pipe.store.docs == {}


def test_good_jsonl_is_still_indexed(pipe: IngestPipeline) -> None:
    [result] = _upload(pipe, ("ok.jsonl", (_line("b1") + "\n" + _line("b2")).encode("utf-8")))
    assert result.status == "indexed" and result.error is None
    assert set(pipe.store.docs) == {"b1", "b2"}


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_utf16_and_utf32_with_bom_upload_like_ingest_reads_them(pipe: IngestPipeline, tmp_path: Path,
                                                                codec: str) -> None:
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE, "utf-32-le": codecs.BOM_UTF32_LE}
    data = bom[codec] + TEXT.encode(codec)
    assert not looks_binary(data)
    [result] = _upload(pipe, ("wide.txt", data))
    assert result.status == "added", result.error
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "wide2.txt").write_bytes(data)
    assert pipe.ingest([tmp_path / "folder"]).added == ["wide2"]
    assert pipe.store.docs["wide"][0].text == pipe.store.docs["wide2"][0].text


def test_real_binaries_are_still_refused() -> None:
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    assert looks_binary(codecs.BOM_UTF16_LE + bytes(range(256)) * 4)  # a BOM in front of noise
    assert not looks_binary(b"%PDF-1.4\x00")


def test_folder_with_special_files_indexes_the_good_ones(pipe: IngestPipeline, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "good.txt").write_text(TEXT, encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(TEXT.encode("utf-8"))
    report = pipe.ingest([folder])
    assert report.added == ["good"]
    names = sorted(Path(f.path).name for f in report.failed)
    assert names == ["caf\\xe9.txt", "pipe.txt", "zero.txt"]
    again = pipe.ingest([folder])  # every run: the good file stays indexed, nothing is lost
    assert again.unchanged == ["good"] and len(again.failed) == 3


def test_api_answers_a_partial_jsonl_upload_with_per_line_results(pipe: IngestPipeline) -> None:
    """The API's shaping of the facade's results: not 'none could be indexed', the failed lines named."""
    from api.uploads import ingest_uploads as api_ingest_uploads
    from api.uploads import raise_if_all_failed

    class _Service:
        def upload(self, items: list[tuple[str, bytes]], published: str | None = None) -> Any:
            return ingest_uploads(lambda paths, sources: pipe.ingest(paths, sources=sources), items)

    body = (_line("c1") + "\n{broken\n").encode("utf-8")
    outcome = api_ingest_uploads(_Service(), [("mixed.jsonl", body)])  # type: ignore[arg-type]
    raise_if_all_failed(outcome)  # a 422 'none of the 1 file(s) could be indexed' would raise here
    [entry] = outcome["files"]
    assert entry["status"] == "partial" and entry["code"] == PARTIAL_CODE
    assert entry["error"].startswith("1 of 2 lines failed (line 2: ") and "the other 1 were indexed" in entry["error"]
    assert outcome["summary"]["added"] == 1


def test_chat_ui_shows_which_lines_of_a_partial_upload_failed(pipe: IngestPipeline) -> None:
    from ui.render import upload_report_html

    body = (_line("d1") + "\n{broken\n").encode("utf-8")
    results = _upload(pipe, ("mixed.jsonl", body))
    html = upload_report_html(results, {"added": 1})
    assert "⚠ 1 of 2 lines failed (line 2: " in html and "the other 1 were indexed" in html
