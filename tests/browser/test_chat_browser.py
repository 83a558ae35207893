"""Headless Chromium (Debian's, via Playwright) against a real `sanad serve` with the fake Ollama server.

Each test asserts what a reader sees (direction attributes, computed styles, text counts, table columns)
and saves a screenshot to test-artifacts/ for a person to look at: chat.png (a cited Arabic answer with its
highlighted quote), refusal.png, mixed.png (Arabic answer with English names), articles.png, mobile.png and
mobile-articles.png (390x844)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.pages import ask, open_page, open_tab, shot
from tests.conftest import ROOT, SEEDS, minilm_dir
from tests.fakes.ollama_server import FakeOllama, passages_of, prompt_of
from tests.integration.live_server import cite_first_passage, free_port, wait_http

pytestmark = pytest.mark.browser

QUESTION = "كم عدد جنود حفتر الذين نقلوا إلى روسيا للعلاج؟"
OFF_TOPIC_AR = "ما هي عاصمة أستراليا وكم عدد سكانها؟"
OFF_TOPIC_EN = "What is the capital of Australia?"
MIXED_QUESTION = "من هو قائد قوات الجيش الوطني الليبي الذي نقل جنوده إلى روسيا؟"
GLOSS = "Khalifa Haftar, Libyan National Army (LNA)"


def scripted_model(body: dict[str, Any]) -> str:
    """NO_ANSWER for the off-topic questions; an Arabic sentence with an English gloss for the mixed one;
    otherwise the first passage's first sentence, cited (a faithful model)."""
    prompt, passages = prompt_of(body), passages_of(body)
    if not passages:  # the condense step (or nothing retrieved): as the faithful model does
        return cite_first_passage(body)
    if "أستراليا" in prompt or "Australia" in prompt:
        return "NO_ANSWER"
    n, sentence = _first_sentence(passages, "روسيا")
    if "قائد قوات" in prompt:
        return f"{sentence} — {GLOSS}. [{n}]"
    return f"{sentence}. [{n}]"


def _first_sentence(passages: dict[int, str], word: str) -> tuple[int, str]:
    """The first sentence (of the lowest-numbered passage that has one) containing ``word``."""
    for n in sorted(passages):
        for sentence in re.split(r"[.\n]", passages[n]):
            if word in sentence:
                return n, sentence.strip()
    n = min(passages)
    return n, re.split(r"[.\n]", passages[n].strip())[0].strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`sanad serve` in a subprocess; the seed articles go in through the upload route."""
    ollama = FakeOllama().start()
    ollama.default = scripted_model
    port = free_port()
    env = {**os.environ, "SANAD_DATA_DIR": str(tmp_path_factory.mktemp("browser") / "data"),
           "SANAD_EMBED_MODEL": str(minilm_dir()), "SANAD_OLLAMA_HOST": ollama.url, "SANAD_API_KEY": "",
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    log_path = tmp_path_factory.mktemp("log") / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", timeout=120)
        files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in sorted(SEEDS.glob("*.txt"))]
        assert httpx.post(url + "/v1/documents", files=files, timeout=300).status_code == 200
        yield {"url": url, "log": log_path}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        ollama.stop()
        log.close()


def test_arabic_question_streams_rtl_answer_and_citation_highlights_quote(served, browser):
    expected = httpx.post(served["url"] + "/v1/ask", json={"question": QUESTION}, timeout=60).json()
    quotes = {c["n"]: " ".join(c["quote"].split()) for c in expected["citations"]}
    assert quotes, expected
    page = open_page(browser, served["url"])
    answer = ask(page, QUESTION)
    bubbles = page.locator("#sanad-chat .sanad-msg")
    for i in range(2):  # the Arabic question and the Arabic answer: right-to-left, per message
        assert bubbles.nth(i).get_attribute("dir") == "rtl"
        assert bubbles.nth(i).evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert " ".join(answer.inner_text().split()) == " ".join(expected["answer"].split())  # the checked text
    marker = page.locator("#sanad-chat a.sanad-cite").first
    n = int((marker.get_attribute("href") or "").rsplit("-", 1)[1])
    marker.click()
    active = page.locator("#sanad-sources .sanad-source.sanad-active")
    active.wait_for(timeout=10_000)
    assert active.get_attribute("id") == f"sanad-src-{n}"
    assert " ".join(active.locator("mark").inner_text().split()) == quotes[n]
    shot(page, "chat.png")
    page.close()


def test_a_refusal_is_shown_once_in_the_questions_language(served, browser):
    page = open_page(browser, served["url"])
    arabic = ask(page, OFF_TOPIC_AR)
    assert "sanad-refused" in (arabic.get_attribute("class") or "")
    assert arabic.get_attribute("dir") == "rtl" and arabic.get_attribute("lang") == "ar"
    chat_text = page.locator("#sanad-chat").inner_text()
    assert chat_text.count("لا تتضمن") == 1 and "do not" not in chat_text
    assert page.locator("#sanad-chat .sanad-refused").count() == 1
    english = ask(page, OFF_TOPIC_EN)
    assert english.get_attribute("dir") == "ltr" and english.get_attribute("lang") == "en"
    assert english.inner_text().count("do not") == 1
    assert not any("\u0600" <= ch <= "\u06ff" for ch in english.inner_text())
    assert page.locator("#sanad-chat .sanad-refused").count() == 2
    shot(page, "refusal.png")
    page.close()


def test_a_mixed_arabic_english_answer_keeps_its_direction(served, browser):
    page = open_page(browser, served["url"])
    answer = ask(page, MIXED_QUESTION)
    assert answer.get_attribute("dir") == "rtl"
    assert GLOSS in answer.inner_text()
    assert page.locator("#sanad-chat a.sanad-cite").count() >= 1
    assert page.locator("#sanad-sources .sanad-source").count() >= 1
    stats = page.locator("#sanad-status .sanad-stat")
    assert stats.count() == 4
    assert stats.first.locator("bdi").count() == 3  # Arabic label, English label, value: each isolated
    shot(page, "mixed.png")
    page.close()


def test_empty_ask_says_why_nothing_happened(served, browser):
    page = open_page(browser, served["url"])
    page.locator("#sanad-ask").click()
    page.get_by_text("Type a question first").first.wait_for(timeout=10_000)
    assert page.locator("#sanad-chat .sanad-msg").count() == 0
    page.close()


def _articles(page: Any) -> Any:
    open_tab(page, "المقالات · Articles")
    table = page.locator("#sanad-docs table.sanad-docs")
    table.wait_for(timeout=10_000)
    page.locator("#sanad-docs tbody tr[data-doc-id]").first.wait_for(timeout=10_000)
    return table


def test_articles_tab_table_columns_direction_and_fit(served, browser):
    page = open_page(browser, served["url"])
    table = _articles(page)
    columns = table.locator("th").evaluate_all("ths => ths.map(th => th.dataset.col)")
    assert columns == ["title", "published", "source", "chunks", "id"]
    rows = page.locator("#sanad-docs tbody tr[data-doc-id]")
    assert rows.count() == len(list(SEEDS.glob("*.txt")))
    title = rows.first.locator("td.sanad-col-title")
    assert title.get_attribute("dir") == "rtl"
    assert title.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert "Noto Naskh Arabic" in title.evaluate("el => getComputedStyle(el).fontFamily")
    dates = rows.locator("td.sanad-col-published").all_inner_texts()
    assert all(d.strip() for d in dates)  # a date, or "غير معروف" / "unknown"
    wrap = page.locator("#sanad-docs .sanad-docs-wrap")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth + 1")  # the source column fits
    label = page.locator("#sanad-files").inner_text()
    assert "رفع مقالات" in label and "Upload articles" in label
    shot(page, "articles.png", full_page=True)
    page.close()


def test_mobile_width_has_no_sideways_scroll(served, browser):
    page = open_page(browser, served["url"], width=390, height=844)
    answer = ask(page, QUESTION)
    assert answer.get_attribute("dir") == "rtl"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "mobile.png")
    _articles(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    wrap = page.locator("#sanad-docs .sanad-docs-wrap")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth + 1")  # no column hidden off to the side
    for cell in page.locator("#sanad-docs tbody tr[data-doc-id] td.sanad-col-title").all():
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
    shot(page, "mobile-articles.png", full_page=True)
    page.close()


def test_no_traceback_in_the_server_log(served):
    assert "Traceback" not in served["log"].read_text(errors="replace")
