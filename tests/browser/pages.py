"""Helpers the browser tests share for driving the Gradio page."""

from __future__ import annotations

from typing import Any

__all__ = ["open_tab"]


def open_tab(page: Any, name: str) -> None:
    """Click a tab; on a phone Gradio folds the tabs that do not fit into its "More tabs" menu."""
    tab = page.get_by_role("tab", name=name)
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    page.get_by_role("button", name="More tabs").click()
    page.locator(".overflow-dropdown button", has_text=name).click()
