"""`sanad` as a real process against hostile files and a misbehaving Ollama (issue 13): a FIFO named .txt, a link
to /dev/zero and a non-UTF-8 name never stop the other files from being indexed nor hang the run; a JSON-array line
from Ollama is one error line in `sanad chat`, and the session goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.ollama_server import FakeOllama, Reply

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ARTICLE = "عنوان الخبر\n\nزار المشير خليفة حفتر موسكو والتقى وزير الدفاع الروسي لبحث الأزمة الليبية.\n"


def _sanad(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "SANAD_DATA_DIR": str(tmp_path / "data"), "SANAD_EMBED_MODEL": str(tmp_path / "none"),
                "SANAD_CONFIG": str(tmp_path / "none.toml"), "PYTHONPATH": str(REPO), **env}
    full_env.pop("SANAD_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=tmp_path, env=full_env, input=stdin,
                          capture_output=True, text=True, timeout=180)  # a hang fails the test, not the suite


def _clean(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "unexpected" not in output, output
    return output


def test_hostile_folder_then_garbage_ollama_in_chat(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "haftar.txt").write_text(ARTICLE, encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(ARTICLE.encode("utf-8"))

    for _ in range(2):  # every run: the good file indexed (then unchanged), the three bad ones reported
        result = _sanad(tmp_path, "ingest", str(folder))
        output = _clean(result)
        assert result.returncode == 1
        assert output.count("not a regular file") == 2 and "caf\\xe9.txt: the file name is not valid UTF-8" in output
    assert "unchanged 1" in output

    ollama = FakeOllama().start()
    ollama.default = lambda body: Reply(raw=b'[1, 2, 3]\n["not", "ollama"]\n', content_type="application/x-ndjson")
    try:
        result = _sanad(tmp_path, "chat", stdin="من زار موسكو؟\nحفتر؟\n\n", SANAD_OLLAMA_HOST=ollama.url)
    finally:
        ollama.stop()
    output = _clean(result)
    assert result.returncode == 0, output
    assert output.count("sent a reply Sanad cannot read") == 2, output  # both turns answered, neither ended the chat
