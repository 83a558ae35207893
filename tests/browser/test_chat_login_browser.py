"""With SANAD_API_KEY set, a reader opens the chat in headless Chromium, sees a login (not a blank 401), logs in
with the key as password and asks a question; a wrong key keeps them at the login (issue 13).
Served as `sanad serve` builds it, over the fake facade (no model needed); screenshot: test-artifacts/login.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cli.serve_cmd import build_server
from tests.browser.pages import ask, shot
from tests.fakes.fake_service import make_fake_service
from tests.integration.live_server import ServerThread

pytestmark = pytest.mark.browser

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from rag.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("login") / "data", api_key=KEY)  # type: ignore[call-arg]
    live = ServerThread(build_server(make_fake_service(), settings)).start()
    try:
        yield live.url
    finally:
        live.stop()


def _login(browser: Any, url: str, password: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(url + "/", wait_until="load")
    page.get_by_label("username").fill("reader")
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    return page


def test_a_wrong_key_stays_at_the_login(served, browser):
    page = _login(browser, served, "not-the-key")
    page.get_by_text("Incorrect Credentials").wait_for(timeout=15_000)
    assert page.locator("#sanad-chat").count() == 0
    shot(page, "login.png")


def test_the_key_logs_in_and_a_question_gets_a_cited_answer(served, browser):
    page = _login(browser, served, KEY)
    page.locator("#sanad-status .sanad-stat").first.wait_for(timeout=30_000)
    answer = ask(page, "كم جنديا نقل إلى روسيا؟")
    assert "70" in answer.inner_text() and answer.locator("a.sanad-cite").count() >= 1
    assert "sanad-" in page.locator("#sanad-sources").inner_html()
