"""Headless Chromium (Debian's, via Playwright) against a real `sanad serve` with the fake Ollama server:
ask an Arabic question about a seed article, wait for the streamed answer, click a citation, and check
the highlighted quote, the right-to-left direction, and save a screenshot (test-artifacts/chat.png)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, SEEDS, minilm_dir
from tests.fakes.ollama_server import FakeOllama
from tests.integration.live_server import cite_first_passage, free_port, wait_http

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
QUESTION = "كم عدد جنود حفتر الذين نقلوا إلى روسيا للعلاج؟"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`sanad serve` in a subprocess; the seed articles go in through the upload route."""
    ollama = FakeOllama().start()
    ollama.default = cite_first_passage
    port = free_port()
    env = {**os.environ, "SANAD_DATA_DIR": str(tmp_path_factory.mktemp("browser") / "data"),
           "SANAD_EMBED_MODEL": str(minilm_dir()), "SANAD_OLLAMA_HOST": ollama.url, "SANAD_API_KEY": "",
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    log = (tmp_path_factory.mktemp("log") / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", timeout=120)
        files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in sorted(SEEDS.glob("*.txt"))]
        assert httpx.post(url + "/v1/documents", files=files, timeout=300).status_code == 200
        yield {"url": url}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        ollama.stop()
        log.close()


def test_arabic_question_streams_rtl_answer_and_citation_highlights_quote(served):
    if not Path(CHROMIUM).exists():
        pytest.skip("apt-get install -y chromium fonts-noto-core")
    from playwright.sync_api import sync_playwright

    expected = httpx.post(served["url"] + "/v1/ask", json={"question": QUESTION}, timeout=60).json()
    quotes = {c["n"]: " ".join(c["quote"].split()) for c in expected["citations"]}
    assert quotes, expected
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(served["url"] + "/", wait_until="load")
        page.locator("#sanad-input textarea").fill(QUESTION)
        page.locator("#sanad-ask").click()
        marker = page.locator("#sanad-chat a.sanad-cite").first
        marker.wait_for(timeout=60_000)
        bubbles = page.locator("#sanad-chat .sanad-msg")
        assert bubbles.count() >= 2
        for i in range(2):  # the Arabic question and the Arabic answer: right-to-left, per message
            assert bubbles.nth(i).get_attribute("dir") == "rtl"
            assert bubbles.nth(i).evaluate("el => getComputedStyle(el).direction") == "rtl"
        n = int((marker.get_attribute("href") or "").rsplit("-", 1)[1])
        marker.click()
        active = page.locator("#sanad-sources .sanad-source.sanad-active")
        active.wait_for(timeout=10_000)
        assert active.get_attribute("id") == f"sanad-src-{n}"
        highlighted = " ".join(active.locator("mark").inner_text().split())
        assert highlighted == quotes[n]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat.png"))
        browser.close()
