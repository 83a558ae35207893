"""Headless Chromium (Debian's, via Playwright) against the served app (in this process: embedded Chroma +
MiniLM + the fake Ollama over HTTP) holding the five sample articles:

- an answer cut by a dropped model stream keeps its checked sentence and says, in Arabic, that it stopped
  early and why; an answer at the length limit says so; each source's outlet and date under the answer;
- the citation card lists the outlet of a re-published copy ("نشرته أيضا");
- the date range: a bad date warns in Arabic and asks nothing; a range the (undated) samples fall outside
  gives a refusal;
- the Timeline tab shows what ``Sanad.timeline`` returns: the summary on top, dated events oldest first with
  the date on the side, undated ones apart with no date, right-to-left, no sideways scroll on a phone.

Screenshots for a person to look at: test-artifacts/cut.png, also.png, timeline.png (also docs/screenshot-timeline.png)
and mobile-timeline.png.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.serve_cmd import build_server
from rag.settings import Settings
from rag.wiring import build_service
from tests.browser.pages import CHROMIUM, ask, open_page, open_tab, shot
from tests.conftest import ROOT, SEEDS, arabic_font_installed, minilm_dir, require_system
from tests.fakes.ollama_server import FakeOllama, Reply, passages_of, prompt_of
from tests.integration.live_server import ServerThread

pytestmark = pytest.mark.browser

SOLDIERS = "000_ffaf197de1d2d33f"
COPY = "libya-observer-copy.txt"
QUESTION = "كم عدد جنود حفتر الذين نقلوا إلى روسيا للعلاج؟"
CUT_QUESTION = "ما الذي دار بين حفتر وروسيا بشأن علاج الجنود؟"
LONG_QUESTION = "ماذا قال المصدر العسكري عن الجنود الذين نقلوا إلى روسيا؟"
TOPIC = "كيف تطورت علاقة حفتر بروسيا؟"
_EVENT = re.compile(r'<event id="(\d+)"[^>]*>\n?(.*?)\n?</event>', re.DOTALL)


def _sentences(passages: dict[int, str]) -> list[tuple[int, str]]:
    return [(n, s.strip()) for n in sorted(passages) for s in re.split(r"[.\n]", passages[n]) if len(s.strip()) > 20]


def scripted_model(body: dict[str, Any]) -> Reply | str:
    """Timeline prompt: a summary quoting the first two events, cited. The cut question: two cited
    sentences, the stream dropped inside the second. The long question: one sentence, stopped at the
    length limit. Otherwise the first sentence of the first passage, cited."""
    prompt = prompt_of(body)
    if events := _EVENT.findall(prompt):
        return " ".join(f"{text.strip().rstrip('.')} [{n}]." for n, text in events[:2])
    passages = passages_of(body)
    if not passages:
        return "NO_ANSWER"
    (n1, first), (n2, second) = (_sentences(passages) * 2)[:2]
    text = f"{first}. [{n1}] {second}. [{n2}]"
    if "بشأن علاج" in prompt:
        return Reply(text=text, cut_after=len(re.findall(r"\S+\s*", f"{first}. [{n1}] ")) + 2)
    if "المصدر العسكري" in prompt:
        return Reply(text=f"{first}. [{n1}]", done_reason="length")
    return f"{first}. [{n1}]"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_system(Path(CHROMIUM).exists(), "chromium", "apt-get install -y chromium")
    require_system(arabic_font_installed(), "an Arabic font", "apt-get install -y fonts-noto-core")
    ollama = FakeOllama().start()
    ollama.default = scripted_model
    settings = Settings(data_dir=tmp_path_factory.mktemp("news-browser") / "data", embed_model=str(minilm_dir()),
                        ollama_host=ollama.url, ollama_timeout=10.0)  # type: ignore[arg-type]
    service = build_service(settings)
    _, results = service.upload([(p.name, p.read_bytes()) for p in sorted(SEEDS.glob("*.txt"))])
    assert {r.status for r in results} == {"added"}, results
    server = ServerThread(build_server(service, settings)).start()
    try:
        yield {"url": server.url, "service": service}
    finally:
        server.stop()
        ollama.stop()


MESSAGES = "#sanad-chat .sanad-msg"


def test_a_cut_answer_keeps_its_checked_sentence_and_says_why_in_arabic(served, browser):
    page = open_page(browser, served["url"], height=900)
    message = ask(page, CUT_QUESTION)
    stopped = page.locator("#sanad-chat .sanad-stopped").last
    assert "sanad-stopped-cut" in (stopped.get_attribute("class") or "") and stopped.get_attribute("dir") == "rtl"
    note = stopped.inner_text()
    assert "توقفت الإجابة قبل اكتمالها" in note and "السبب" in note and "stopped early" not in note
    assert message.locator("a.sanad-cite").count() >= 1 and len(message.inner_text()) > 20  # the checked sentence
    cites = page.locator("#sanad-chat .sanad-cites").last.locator("> div")
    assert cites.count() >= 1 and "تاريخ غير معروف" in cites.first.inner_text()
    assert ".txt" in cites.first.inner_text()
    shot(page, "cut.png")
    ask(page, LONG_QUESTION)
    stopped = page.locator("#sanad-chat .sanad-stopped")
    assert stopped.count() == 2 and "sanad-stopped-length" in (stopped.last.get_attribute("class") or "")
    assert "حدّ الطول" in stopped.last.inner_text()
    page.close()


def test_the_card_lists_the_other_outlet_of_the_same_story(served, browser):
    """A re-published copy of a sample (new headline, a footer) joins its story; removed afterwards, so the
    other tests (and the timeline screenshot) see the five sample articles only."""
    _, body = (SEEDS / f"{SOLDIERS}.txt").read_text(encoding="utf-8").split("\n\n", 1)
    copy = f"حفتر يرسل جنوده إلى روسيا للعلاج\n\n{body}\n\nتابعونا على فيسبوك وتويتر.\n"
    _, results = served["service"].upload([(COPY, copy.encode("utf-8"))])
    page = open_page(browser, served["url"], height=900)
    try:
        ask(page, QUESTION)
        also = page.locator("#sanad-sources .sanad-also")
        also.first.wait_for(timeout=10_000)
        line = also.first.inner_text()
        assert "نشرته أيضا" in line and (COPY in line or f"{SOLDIERS}.txt" in line)
        assert also.first.evaluate("el => getComputedStyle(el).direction") == "rtl"
        shot(page, "also.png")
    finally:
        page.close()
        served["service"].remove(results[0].doc_id)


def test_a_bad_date_warns_in_arabic_and_a_range_outside_the_samples_refuses(served, browser):
    page = open_page(browser, served["url"], height=900)
    page.locator("#sanad-date-from input, #sanad-date-from textarea").first.fill("2016-13")
    page.locator("#sanad-input textarea").fill(QUESTION)
    page.locator("#sanad-ask").click()
    page.get_by_text("تاريخ غير صالح").first.wait_for(timeout=10_000)
    assert page.locator(MESSAGES).count() == 0
    assert page.locator("#sanad-input textarea").input_value() == QUESTION  # nothing lost
    page.locator("#sanad-date-from input, #sanad-date-from textarea").first.fill("2016")
    page.locator("#sanad-date-to input, #sanad-date-to textarea").first.fill("2016")
    message = ask(page, QUESTION)  # the sample articles state no publication date: none is in range
    assert "sanad-refused" in (message.get_attribute("class") or "")
    hint = page.locator("#sanad-chat .sanad-hint").last
    assert "المعروف تاريخ نشرها" in hint.inner_text() and hint.get_attribute("dir") == "rtl"
    shot(page, "date-range.png")
    page.close()


def _show_timeline(page: Any, topic: str) -> Any:
    open_tab(page, "التسلسل الزمني · Timeline")
    page.locator("#sanad-tl-query textarea, #sanad-tl-query input").first.fill(topic)
    page.locator("#sanad-tl-show").click()
    view = page.locator("#sanad-timeline .sanad-timeline:not(.sanad-tl-empty)")
    view.wait_for(timeout=60_000)
    return view


def test_the_timeline_tab_shows_what_the_facade_returns(served, browser):
    expected = served["service"].timeline(TOPIC)
    assert expected.events or expected.undated
    page = open_page(browser, served["url"], height=900)
    view = _show_timeline(page, TOPIC)
    assert view.get_attribute("dir") == "rtl" and view.evaluate("el => getComputedStyle(el).direction") == "rtl"
    dated = view.locator(".sanad-tl-dated li.sanad-tl-event")
    assert dated.evaluate_all("els => els.map(e => e.dataset.date)") == [e.date for e in expected.events]
    for i, event in enumerate(expected.events):
        row = dated.nth(i)
        assert row.locator(".sanad-tl-date bdi").inner_text() == event.date
        assert " ".join(event.citation.quote.split()) in " ".join(row.locator(".sanad-tl-quote").inner_text().split())
    undated = view.locator(".sanad-tl-undated li.sanad-tl-event")
    assert undated.count() == len(expected.undated)
    assert view.locator(".sanad-tl-undated .sanad-tl-date").count() == 0  # never given a date
    if expected.summary:
        summary = view.locator(".sanad-tl-summary")
        assert summary.locator("a.sanad-cite").count() >= 1
        assert summary.evaluate("el => el.getBoundingClientRect().top") < \
            view.locator("li.sanad-tl-event").first.evaluate("el => el.getBoundingClientRect().top")
    if expected.events:  # the date sits on the start (right) side of a right-to-left row
        row = dated.first
        date_box, body_box = row.locator(".sanad-tl-date").bounding_box(), row.locator(".sanad-tl-body").bounding_box()
        assert date_box["x"] > body_box["x"]
    path = shot(page, "timeline.png", full_page=True)
    shutil.copyfile(path, ROOT / "docs" / "screenshot-timeline.png")
    page.close()


def test_the_timeline_fits_a_phone(served, browser):
    page = open_page(browser, served["url"], width=390, height=844)
    _show_timeline(page, TOPIC)  # through the "More tabs" menu: the tab row does not fit a phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    for event in page.locator("#sanad-timeline li.sanad-tl-event").all():
        box = event.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
    shot(page, "mobile-timeline.png", full_page=True)
    page.close()
