"""The headless system Chromium the browser tests drive (one per test module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.pages import ARGS, CHROMIUM
from tests.conftest import arabic_font_installed, require_system


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_system(Path(CHROMIUM).exists(), "chromium", "apt-get install -y chromium")
    require_system(arabic_font_installed(), "an Arabic font", "apt-get install -y fonts-noto-core")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
