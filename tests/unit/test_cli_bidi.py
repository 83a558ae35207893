"""`--bidi visual` / SANAD_BIDI=visual: Arabic lines printed in visual order for terminals without bidi support;
the default leaves output as stored. Expected strings are written out by hand (reversed runs, joined forms)."""

from __future__ import annotations

import io
import sys

import pytest
from typer.testing import CliRunner

from cli import main as cli_main
from cli.bidi import VisualStream, install, visual_line
from cli.common import AppState
from tests.fakes.fake_service import make_fake_service

# "قال" in joined presentation forms, read left to right: final lam, medial alef... i.e. ﻝﺎﻗ
QAL_VISUAL = "\ufedd\ufe8e\ufed7"


def test_latin_only_lines_are_untouched():
    assert visual_line("[1] NATO (2016), 3.5%") == "[1] NATO (2016), 3.5%"


def test_arabic_line_is_shaped_reversed_and_keeps_numbers_and_latin_in_order():
    # logical: قال [1] إن NATO 2016  ->  visual (right-to-left paragraph): NATO 2016 نإ [1] لاق; the number
    # after a Latin word joins its left-to-right run (rule W7), the ن after non-joining إ is isolated
    shown = visual_line("قال [1] إن NATO 2016")
    assert shown == "NATO 2016 " + "\ufee5\ufe87" + " [1] " + QAL_VISUAL


def test_english_paragraph_with_an_arabic_word():
    # a left-to-right paragraph keeps its order; only the Arabic run is reversed and shaped
    assert visual_line("He said قال today") == f"He said {QAL_VISUAL} today"


def test_wrapped_rows_are_each_reordered_and_right_aligned():
    shown = visual_line("قال قال قال", width=8).split("\n")
    assert shown == [f" {QAL_VISUAL} {QAL_VISUAL}".rjust(8), QAL_VISUAL.rjust(8)]


def test_stream_rewrites_complete_lines_and_passes_prompts_through():
    inner = io.StringIO()
    stream = VisualStream(inner)
    stream.write("قا")
    stream.flush()
    assert inner.getvalue() == ""  # an Arabic partial line waits for its newline
    stream.write("ل\n> ")
    stream.flush()
    assert inner.getvalue() == QAL_VISUAL + "\n> "  # the prompt has no Arabic: shown at once
    stream.write("hello قال")
    stream.finish()
    assert inner.getvalue() == QAL_VISUAL + "\n> hello قال"  # the rest of a started line stays as typed


def test_logical_mode_installs_nothing(monkeypatch: pytest.MonkeyPatch):
    original = io.StringIO()
    monkeypatch.setattr(sys, "stdout", original)
    install("logical")
    assert sys.stdout is original
    install("visual")
    assert isinstance(sys.stdout, VisualStream) and sys.stdout.inner is original


@pytest.fixture()
def run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("SANAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SANAD_BIDI", raising=False)
    monkeypatch.setattr(AppState, "service", lambda self, **kwargs: make_fake_service())
    cli_main._register_commands()
    return lambda *args, env=None: CliRunner().invoke(cli_main.app, list(args), env=env)


TITLE = "الجيش الوطني الليبي 0"  # the fake article's title


def test_cli_default_prints_arabic_as_stored(run_cli):
    result = run_cli("ask", "--extractive", "كم جنديا نقل إلى روسيا؟")
    assert result.exit_code == 0, result.output
    assert TITLE in result.output


@pytest.mark.parametrize("how", ["option", "env"])
def test_cli_visual_prints_arabic_in_visual_order(run_cli, how):
    args = ("--bidi", "visual") if how == "option" else ()
    result = run_cli(*args, "ask", "--extractive", "كم جنديا نقل إلى روسيا؟",
                     env={"SANAD_BIDI": "visual"} if how == "env" else None)
    assert result.exit_code == 0, result.output
    assert TITLE not in result.output
    # the source line "[1] الجيش الوطني الليبي 0 — alwasat, 2017-03-02 · doc0, …" read right to left, letters
    # joined (word-initial alef isolated), the marker [1] at the right end
    title = "0 \ufef2\ufe92\ufef4\ufee0\ufedf\ufe8d \ufef2\ufee8\ufec3\ufeee\ufedf\ufe8d \ufeb6\ufef4\ufea0\ufedf\ufe8d"
    assert f"alwasat, 2017-03-02 · doc0, characters 0-58 — {title} [1]\n" in result.output
