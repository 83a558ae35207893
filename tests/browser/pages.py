"""What the browser tests share: the system Chromium and its flags, opening the page, tabs, screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import ROOT

__all__ = ["CHROMIUM", "ARGS", "ARTIFACTS", "open_page", "open_tab", "ask", "shot"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: screenshots for a person to look at (git-ignored; the README's come from here)
ARTIFACTS = ROOT / "test-artifacts"


def open_page(browser: Any, url: str, width: int = 1280, height: int = 860) -> Any:
    """The chat page at ``url``, once its status line has loaded."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url + "/", wait_until="load")
    page.locator("#sanad-status .sanad-stat").first.wait_for(timeout=30_000)
    return page


def open_tab(page: Any, name: str) -> None:
    """Click a tab; on a phone Gradio folds the tabs that do not fit into its "More tabs" menu."""
    tab = page.get_by_role("tab", name=name)
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    page.get_by_role("button", name="More tabs").click()
    page.locator(".overflow-dropdown button", has_text=name).click()


def ask(page: Any, question: str) -> Any:
    """Type and send a question; the last chat message once it is final (no streaming cursor)."""
    before = page.locator("#sanad-chat .sanad-msg, #sanad-chat .sanad-refused").count()
    page.locator("#sanad-input textarea").fill(question)
    page.locator("#sanad-ask").click()
    page.wait_for_function(
        """n => { const all = document.querySelectorAll('#sanad-chat .sanad-msg, #sanad-chat .sanad-refused');
                  return all.length >= n + 2 && !document.querySelector('#sanad-chat .sanad-partial'); }""",
        arg=before, timeout=60_000)
    return page.locator("#sanad-chat .sanad-msg, #sanad-chat .sanad-refused").last


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of the page, scrolled to the top, as test-artifacts/NAME."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)
    return ARTIFACTS / name
