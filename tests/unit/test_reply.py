"""The reply filter: think blocks and the no-answer marker, whatever the pieces the model streams."""

from __future__ import annotations

import pytest

from rag.generation.reply import ReplyFilter, strip_think


def run(reply: str, size: int) -> tuple[str, ReplyFilter]:
    """Feed ``reply`` in pieces of ``size`` characters (tags and the marker split every possible way)."""
    f = ReplyFilter("NO_ANSWER")
    out = "".join(f.feed(reply[i:i + size]) for i in range(0, len(reply), size)) + f.flush()
    return out, f


@pytest.mark.parametrize("size", [1, 2, 3, 5, 1000])
def test_think_blocks_are_removed_across_pieces(size: int) -> None:
    out, f = run("<think>reasoning [3]</think>The answer [1]. <think>more</think>Next [2].", size)
    assert out.strip() == "The answer [1]. Next [2]." and not f.refused


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_unclosed_think_and_stray_close_tag(size: int) -> None:
    assert run("Answer [1].</think> more [1].<think>never closed", size)[0] == "Answer [1]. more [1]."


@pytest.mark.parametrize("size", [1, 3, 1000])
def test_the_marker_refuses_only_when_it_opens_the_reply(size: int) -> None:
    out, f = run("  NO_ANSWER. The passages do not say.", size)
    assert f.refused and out == ""
    out, f = run("Seventy soldiers [1]. NO_ANSWER for the rest.", size)
    assert not f.refused and f.marker_inside == 1
    assert " ".join(out.split()) == "Seventy soldiers [1]. for the rest."  # spacing may differ by pieces


def test_text_that_only_looks_like_the_marker_at_first_is_released() -> None:
    out, f = run("NO answer is needed: 70 [1].", 1)
    assert out == "NO answer is needed: 70 [1]." and not f.refused


def test_strip_think() -> None:
    assert strip_think("<think>x</think>\nWho went?") == "Who went?"
    assert strip_think("a</think>b<think>c") == "ab"
