"""The chat's upload handler reads only what a client uploaded through Gradio (its upload folder), never a server
path a client names (issue 13). The end-to-end check over HTTP is tests/integration/test_ui_paths.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.fake_service import make_fake_service

ARTICLE = "عنوان سري\n\nهذا نص على الخادم لا يجوز أن يقرأه أحد."


@pytest.fixture()
def upload_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "gradio-uploads"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


@pytest.fixture()
def server_file(tmp_path: Path) -> Path:
    secret = tmp_path / "server" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(ARTICLE, encoding="utf-8")
    return secret


def _upload(paths: list[str]) -> tuple[str, list[str]]:
    """The handler's report (or the error a client gets) and the ids indexed afterwards."""
    import gradio as gr

    from ui.app import _Handlers

    service = make_fake_service(articles=0)
    try:
        out, _ = _Handlers(service).upload(paths, progress=lambda *a, **k: None)  # type: ignore[arg-type]
    except gr.Error as exc:
        out = f"✗ {exc.message}"
    return out, [d.doc_id for d in service.documents()]


def test_a_server_path_is_refused_and_nothing_indexed(upload_dir, server_file):
    out, ids = _upload([str(server_file)])
    assert out.startswith("✗") and "Refused" in out and ids == []
    assert ARTICLE.splitlines()[0] not in out


def test_one_foreign_path_refuses_the_whole_batch(upload_dir, server_file):
    genuine = upload_dir / "abc123" / "خبر.txt"
    genuine.parent.mkdir()
    genuine.write_text("عنوان\n\nنص.", encoding="utf-8")
    out, ids = _upload([str(genuine), str(server_file)])
    assert "Refused" in out and ids == []


@pytest.mark.parametrize("trick", ["dotdot", "symlink"])
def test_paths_that_only_look_inside_the_upload_folder_are_refused(upload_dir, server_file, trick):
    if trick == "dotdot":
        path = upload_dir / ".." / "server" / "secret.txt"
    else:
        path = upload_dir / "link.txt"
        path.symlink_to(server_file)
    out, ids = _upload([str(path)])
    assert "Refused" in out and ids == []


def test_a_genuine_upload_is_indexed(upload_dir):
    genuine = upload_dir / "0f3e" / "خبر.txt"
    genuine.parent.mkdir()
    genuine.write_text("عنوان\n\nنص.", encoding="utf-8")
    out, ids = _upload([str(genuine)])
    assert "✓ خبر (added)" in out and "1 added" in out and ids == ["خبر"]


def test_upload_reports_progress_through_the_ingest_stages(upload_dir):
    from ui.app import _Handlers

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[object, str]] = []

        def __call__(self, value: object = None, desc: str = "", **_: object) -> None:
            self.calls.append((value, desc))

    genuine = upload_dir / "0f3e" / "خبر.txt"
    genuine.parent.mkdir()
    genuine.write_text("عنوان\n\nنص.", encoding="utf-8")
    service = make_fake_service(articles=0)

    def ingest(paths, *, prune=False, progress=None, sources=None):  # the real pipeline's progress calls
        for stage, done, total in (("files", 0, 1), ("files", 1, 1), ("chunks", 2, 2)):
            progress(stage, done, total)
        return real(paths, sources=sources)

    real = service.ingestor.ingest
    service.ingestor.ingest = ingest
    progress = Recorder()
    _Handlers(service).upload([str(genuine)], progress=progress)
    assert progress.calls[0] == (0, "قراءة الملفات · reading files")
    assert progress.calls[1:] == [((0, 1), "قراءة الملفات · reading files 0/1"),
                                  ((1, 1), "قراءة الملفات · reading files 1/1"),
                                  ((2, 2), "فهرسة المقاطع · indexing passages 2/2")]
