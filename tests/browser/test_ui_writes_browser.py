"""The chat while an upload is still being written (headless Chromium against the served app in this process,
over a facade whose ingest waits until the test lets it go): the upload shows its progress, "New chat" clears
the conversation and a question is answered before the write finishes, and Remove drops the article's row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.serve_cmd import build_server
from rag.settings import Settings
from tests.browser.pages import ARGS, CHROMIUM
from tests.conftest import arabic_font_installed, require_system
from tests.fakes.fake_service import make_fake_service
from tests.integration.live_server import ServerThread

pytestmark = pytest.mark.browser



@pytest.fixture()
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    require_system(Path(CHROMIUM).exists(), "chromium", "apt-get install -y chromium")
    require_system(arabic_font_installed(), "an Arabic font", "apt-get install -y fonts-noto-core")
    service = make_fake_service(articles=1)
    gate, writing = threading.Event(), threading.Event()
    ingest = service.ingestor.ingest

    def slow_ingest(paths: Any, **kwargs: Any) -> Any:
        writing.set()
        assert gate.wait(timeout=60), "the test never released the write"
        return ingest(paths, **kwargs)

    monkeypatch.setattr(service.ingestor, "ingest", slow_ingest)
    settings = Settings(data_dir=tmp_path / "data")  # type: ignore[call-arg]
    server = ServerThread(build_server(service, settings)).start()
    article = tmp_path / "slow_news.txt"
    article.write_text("خبر بطيء\n\nأعلنت البلدية افتتاح حديقة جديدة.", encoding="utf-8")
    try:
        yield {"url": server.url, "gate": gate, "writing": writing, "article": article}
    finally:
        gate.set()
        server.stop()


def test_new_chat_and_questions_do_not_wait_behind_an_upload(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served["url"] + "/", wait_until="load")
        page.locator("#sanad-status .sanad-stat").first.wait_for(timeout=30_000)
        page.locator("#sanad-input textarea").fill("كم جنديا؟")
        page.locator("#sanad-ask").click()
        page.locator("#sanad-chat a.sanad-cite").first.wait_for(timeout=30_000)

        page.get_by_role("tab", name="المقالات · Articles").click()
        page.locator("#sanad-files input[type=file]").set_input_files(str(served["article"]))
        page.locator("#sanad-index").click()
        assert served["writing"].wait(timeout=30), "the upload never reached the index"
        page.get_by_text("reading files").first.wait_for(timeout=10_000)  # the upload shows its progress

        page.get_by_role("tab", name="المحادثة · Chat").click()
        page.locator("#sanad-new-chat").click()
        page.wait_for_function("!document.querySelector('#sanad-chat .sanad-msg')", timeout=10_000)
        page.locator("#sanad-input textarea").fill("ما الخبر؟")
        page.locator("#sanad-ask").click()
        page.locator("#sanad-chat a.sanad-cite").first.wait_for(timeout=30_000)
        assert not served["gate"].is_set()  # all of this happened while the write was still held

        served["gate"].set()
        page.get_by_role("tab", name="المقالات · Articles").click()
        page.locator("#sanad-docs tr[data-doc-id='slow_news']").wait_for(timeout=30_000)
        assert "1 added" in page.locator("#sanad-upload-result").inner_text()

        picker = page.locator("#sanad-doc-id input")
        picker.fill("slow_news")
        picker.press("Enter")
        page.locator("#sanad-remove").click()
        page.locator("#sanad-docs tr[data-doc-id='slow_news']").wait_for(state="detached", timeout=30_000)
        assert "slow_news" in page.locator("#sanad-remove-result").inner_text()
        browser.close()
